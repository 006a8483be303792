# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch lies on this machine's disk; an unpinned torch pulls a multi-GB CUDA build.
TORCH_CPU := torch==2.13.0
STAMP := $(VENV)/.setup-done

# TypeScript grading uses tsc and eslint from a tool cache filled once (offline afterwards).
NODE_TOOLS := $(HOME)/.cache/apprentice/node-tools
NODE_PACKAGES := typescript@5.9.3 eslint@9.39.5

.PHONY: setup toolchains demo test test-all lint clean

setup: $(STAMP) toolchains

$(STAMP): pyproject.toml requirements/constraints-cpu.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_CPU)
	$(BIN)/pip install -q -c requirements/constraints-cpu.txt -e '.[dev]'
	touch $(STAMP)

# Best effort: a language whose toolchain is missing is skipped by grading and its tests, by name.
toolchains:
	@command -v go >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq golang-go >/dev/null) || \
	  echo "toolchains: go not installed (apt-get install golang-go); go grading will be skipped"; }
	@[ -x $(NODE_TOOLS)/node_modules/.bin/tsc ] || { command -v npm >/dev/null && \
	  npm install --silent --prefix $(NODE_TOOLS) $(NODE_PACKAGES) || \
	  echo "toolchains: tsc/eslint not installed; typescript type-check and lint will be skipped"; }

# --force: the miniature cannot pass the real gates in 15 CPU minutes; every stage still runs and the
# summary shows each gate's verdict (FAIL (forced) is recorded in that stage's meta.json).
demo: setup
	$(BIN)/apprentice run examples/demo.yaml --force

test: setup
	$(BIN)/python -m pytest

test-all: setup
	$(BIN)/python -m pytest -m ''

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
