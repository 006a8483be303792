"""The general-capability probe (SPEC §7: no adapter may lose more than 5% against the base).

    items = build_probe(max_items=40, seed=0)          # test selection cached per Python version
    base = run_probe(base_dir, None, items)
    tuned = run_probe(base_dir, adapter_dir, items)
    compare(base, tuned)                               # {"relative_loss": 0.02, "regression": False, ...}

The model continues a completion-style prompt (a held-out stdlib function's module context,
signature and docstring, see probe_items.py) greedily; the body it writes is graded by the
module's own CPython tests in the sandbox. Base and adapter get the same prompt and no chat
template, so what is compared is the code ability of the weights, not a conversational format.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from apprentice.errors import ProbeError
from apprentice.evaluation import probe_items
from apprentice.evaluation.probe_items import ProbeItem, candidate_items, run_module_tests
from apprentice.sandbox import SandboxFailure, SandboxPool
from apprentice.tasks.corpus import HELD_OUT_MODULES, stdlib_dir

MAX_RELATIVE_LOSS = 0.05  # SPEC §7: more than 5% below the base is a regression

__all__ = ["MAX_RELATIVE_LOSS", "ProbeItem", "ProbeOutcome", "ProbeResult", "build_probe", "compare",
           "generate_bodies", "grade_bodies", "run_probe"]


def build_probe(max_items: int, seed: int, modules: tuple[str, ...] = HELD_OUT_MODULES,
                cache_dir: Path | None = None, workers: int = 2) -> list[ProbeItem]:
    """Up to `max_items` probe items from the held-out `modules`, shuffled with `seed` and taken
    in turn from each module (so difflib's 31 functions do not crowd out the rest). The first call
    per Python version selects each function's tests by running them (~20 s on 2 cores); later
    calls read the cache under `cache_dir` (default `$XDG_CACHE_HOME/apprentice/probe`)."""
    if max_items < 1:
        raise ProbeError(f"max_items={max_items} must be at least 1")
    outside = sorted(set(modules) - set(HELD_OUT_MODULES))
    if outside:
        raise ProbeError(f"probe modules {outside} are not held out (training may have seen them); "
                         f"pick from {', '.join(HELD_OUT_MODULES)}")
    cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    rng = random.Random(seed)
    queues = []
    for module in modules:
        items = _select_items(module, cache_dir, workers)
        rng.shuffle(items)
        queues.append(items)
    # Round-robin over the modules: item k of every module before item k+1 of any.
    drawn = [queue[k] for k in range(max(map(len, queues), default=0)) for queue in queues if k < len(queue)]
    if not drawn:
        raise ProbeError(f"no probe item could be built from {list(modules)}; add held-out modules "
                         f"with documented, tested functions")
    return drawn[:max_items]


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "apprentice" / "probe"


def _select_items(module: str, cache_dir: Path, workers: int) -> list[ProbeItem]:
    """The candidates of `module` the grading can tell apart, each with the tests that fail when
    its body is sabotaged (and pass unpatched), kept only if, run alone, those tests pass with the
    reference body and fail with the sabotaged one."""
    source = probe_items.module_source(module)
    cache = cache_dir / f"{sys.implementation.name}-{sys.version.split()[0]}" / f"{module}.json"
    key = {"source_sha256": probe_items.sha256(source), "max_body_lines": probe_items.MAX_BODY_LINES,
           "runner_sha256": probe_items.sha256(probe_items.RUNNER_SOURCE)}
    if cache.is_file() and (cached := json.loads(cache.read_text()))["key"] == key:
        selected = cached["tests"]
    else:
        selected = _select_tests(module, source, workers)
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"key": key, "tests": selected}, indent=1))
        temporary.replace(cache)  # atomic: a concurrent reader sees the old file or the new one
    return [replace(item, tests=tuple(selected[item.function]),
                    test_command=probe_items.test_command(module, tuple(selected[item.function])))
            for item in candidate_items(module) if item.function in selected]


def _select_tests(module: str, source: str, workers: int) -> dict[str, list[str]]:
    if not (stdlib_dir() / "test" / f"test_{module}.py").is_file():
        raise ProbeError(f"probe module {module!r} has no tests in {stdlib_dir() / 'test'}; this "
                         f"interpreter ships without its test package (Debian: apt-get install "
                         f"libpython3-testsuite)")
    with tempfile.TemporaryDirectory(prefix="apprentice-probe-") as scratch:
        unpatched = run_module_tests(module, source, probe_items.test_command(module), Path(scratch))
        if not unpatched.ran:
            raise ProbeError(f"the tests of {module!r} did not run in the sandbox; run "
                             f"`python -m unittest test.test_{module}` to see why")
        with SandboxPool(workers) as pool:
            verdicts = pool.map(lambda item: _tests_telling_apart(item, set(unpatched.failed), Path(scratch)),
                                candidate_items(module))
    _raise_failures(verdicts, f"selecting the tests of {module!r}")
    return {function: tests for function, tests in verdicts if tests}


def _tests_telling_apart(item: ProbeItem, failing_unpatched: set[str], scratch: Path) -> tuple[str, list[str]]:
    sabotaged = item.patched_source(item.sabotaged_body())
    run = run_module_tests(item.module, sabotaged, probe_items.test_command(item.module), scratch)
    tests = tuple(sorted(set(run.failed) - failing_unpatched))
    if not tests:
        return item.function, []
    command = probe_items.test_command(item.module, tests)
    reference = run_module_tests(item.module, item.patched_source(item.reference_body), command, scratch)
    broken = run_module_tests(item.module, sabotaged, command, scratch)
    return item.function, list(tests) if reference.passed and not broken.passed else []


def _raise_failures(results: list, doing: str) -> None:
    # A job that raised is the grading machinery failing, not the model: never score it as a fail.
    failures = [str(result) for result in results if isinstance(result, SandboxFailure)]
    if failures:
        raise ProbeError(f"{doing} failed in the sandbox ({len(failures)} jobs): {failures[0]}")


# --- running a model on the probe ---------------------------------------------------------------

@dataclass(frozen=True)
class ProbeOutcome:
    """One item's grading: the body the model wrote and whether the item's tests passed with it."""

    item: str  # `module.function`
    passed: bool
    verdict: str  # "passed", "timed out", "3 of 11 tests failed", "no test ran: ..."
    body: str


@dataclass(frozen=True)
class ProbeResult:
    """A model's (base, or base + adapter) outcomes on a list of probe items."""

    model: str
    adapter: str | None
    outcomes: tuple[ProbeOutcome, ...]

    @property
    def passed(self) -> int:
        """Items whose tests passed."""
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def pass_rate(self) -> float:
        """Passed items over all items (what metrics.json records as `general_probe_pass_rate`)."""
        return self.passed / len(self.outcomes)

    def to_dict(self) -> dict:
        """A JSON-ready summary with every outcome."""
        return {"model": self.model, "adapter": self.adapter, "pass_rate": self.pass_rate,
                "passed": self.passed, "total": len(self.outcomes),
                "outcomes": [asdict(outcome) for outcome in self.outcomes]}


def run_probe(model_dir: Path, adapter: Path | None, items: list[ProbeItem], max_new_tokens: int = 384,
              workers: int = 2) -> ProbeResult:
    """Greedy bodies for `items` from the model at `model_dir` (plus `adapter`, a PEFT directory,
    when given), each graded by its tests in the sandbox, `workers` gradings at a time."""
    if not items:
        raise ProbeError("no probe items; build them with build_probe(max_items, seed)")
    bodies = generate_bodies(Path(model_dir), Path(adapter) if adapter else None, items, max_new_tokens)
    return ProbeResult(str(model_dir), str(adapter) if adapter else None,
                       grade_bodies(items, bodies, workers))


def grade_bodies(items: list[ProbeItem], bodies: list[str], workers: int = 2) -> tuple[ProbeOutcome, ...]:
    """Each body substituted into a copy of its item's module, the item's tests run in the sandbox."""
    if len(items) != len(bodies):
        raise ProbeError(f"{len(items)} items but {len(bodies)} bodies; pass one body per item")

    def grade(pair: tuple[ProbeItem, str]) -> ProbeOutcome:
        item, body = pair
        run = run_module_tests(item.module, item.patched_source(body), item.test_command, Path(scratch))
        return ProbeOutcome(item.name, run.passed, _verdict(run, len(item.tests)), body)

    with tempfile.TemporaryDirectory(prefix="apprentice-probe-") as scratch, SandboxPool(workers) as pool:
        outcomes = pool.map(grade, list(zip(items, bodies, strict=True)))
    _raise_failures(outcomes, "grading the probe")
    return tuple(outcomes)


def _verdict(run: probe_items.TestRun, selected: int) -> str:
    if run.passed:
        return "passed"
    if run.timed_out:
        return "timed out"
    if not run.ran:
        return "no test ran: the patched module does not import, or the body crashed the runner"
    return f"{len(run.failed)} of {selected} tests failed"


def generate_bodies(model_dir: Path, adapter: Path | None, items: list[ProbeItem],
                    max_new_tokens: int) -> list[str]:
    """The body the model writes after each item's prompt: greedy, stopped at the first line that
    leaves the function (or at `max_new_tokens`), cut there."""
    import torch
    from transformers import StoppingCriteriaList

    if max_new_tokens < 1:
        raise ProbeError(f"max_new_tokens={max_new_tokens} must be at least 1")
    model, tokenizer = _load(model_dir, adapter)
    bodies = []
    for item in items:
        inputs = tokenizer(item.prompt, return_tensors="pt").to(model.device)
        start = inputs["input_ids"].shape[1]
        with torch.no_grad():
            output = model.generate(
                **inputs, do_sample=False, max_new_tokens=max_new_tokens,
                stopping_criteria=StoppingCriteriaList([_BodyEnd(tokenizer, start, item.body_indent)]),
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
        text = tokenizer.decode(output[0, start:], skip_special_tokens=True)
        bodies.append(probe_items.cut_body(text, item.body_indent))
    return bodies


class _BodyEnd:
    """Stops generation once a line leaves the function body (it would be cut anyway)."""

    def __init__(self, tokenizer, prompt_length: int, indent: int):
        self.tokenizer, self.prompt_length, self.indent = tokenizer, prompt_length, indent

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_length:], skip_special_tokens=True)
        done = any(probe_items.ends_body(line, self.indent) for line in text.splitlines())
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def _load(model_dir: Path, adapter: Path | None):
    import torch

    from apprentice.base.load import load_base

    model, tokenizer = load_base(model_dir)
    if adapter is not None:
        from peft import PeftModel

        if not (adapter / "adapter_config.json").is_file():
            raise ProbeError(f"adapter '{adapter}' has no adapter_config.json; give a directory a stage saved")
        model = PeftModel.from_pretrained(model, adapter).eval()
    return model.to("cuda" if torch.cuda.is_available() else "cpu"), tokenizer


def compare(base: ProbeResult, adapter: ProbeResult, max_relative_loss: float = MAX_RELATIVE_LOSS) -> dict:
    """The adapter's relative loss against the base on the same items, and whether it is a
    regression (loss above `max_relative_loss`). A gain is a negative loss; a base at 0% can
    only be matched or beaten, so its loss is 0."""
    base_items, adapter_items = [o.item for o in base.outcomes], [o.item for o in adapter.outcomes]
    if base_items != adapter_items:
        raise ProbeError("base and adapter were probed on different items; run both on the same "
                         "build_probe(max_items, seed) list")
    loss = (base.pass_rate - adapter.pass_rate) / base.pass_rate if base.pass_rate > 0 else 0.0
    return {"items": len(base_items), "base_pass_rate": base.pass_rate,
            "adapter_pass_rate": adapter.pass_rate, "relative_loss": loss,
            # rounded: 19/20 against 20/20 is a loss of exactly 5%, not of 5.000000000000004%
            "max_relative_loss": max_relative_loss, "regression": round(loss, 9) > max_relative_loss}
