# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch lies on this machine's disk; an unpinned torch pulls a multi-GB CUDA build.
TORCH_CPU := torch==2.13.0
STAMP := $(VENV)/.setup-done

.PHONY: setup demo test test-all lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints-cpu.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -c requirements/constraints-cpu.txt -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/apprentice run examples/demo.yaml

test: setup
	$(BIN)/python -m pytest

test-all: setup
	$(BIN)/python -m pytest -m ''

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
