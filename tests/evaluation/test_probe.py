"""The general-capability probe: items, test selection, grading through the real sandbox, compare."""

from pathlib import Path

import pytest

from apprentice.errors import ProbeError
from apprentice.evaluation import probe
from apprentice.evaluation.probe import (
    ProbeOutcome,
    ProbeResult,
    build_probe,
    compare,
    grade_bodies,
    run_probe,
)
from apprentice.evaluation.probe_items import candidate_items, cut_body, module_source

# Two small held-out modules keep the first (uncached) test selection to a few seconds.
MODULES = ("fnmatch", "shlex")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture(scope="module")
def items(cache_dir):
    return build_probe(max_items=20, seed=0, modules=MODULES, cache_dir=cache_dir)


def test_reference_body_in_place_gives_back_the_module():
    for item in candidate_items("graphlib"):
        assert item.patched_source(item.reference_body) == module_source("graphlib")
        assert item.prompt.rstrip().endswith('"""')  # the model starts writing after the docstring


def test_prompt_shows_module_context_and_the_enclosing_class():
    split = next(item for item in candidate_items("textwrap") if item.function == "TextWrapper._split")
    assert "import re\n" in split.prompt
    assert "class TextWrapper:\n" in split.prompt and "wordsep_re = re.compile(" in split.prompt
    assert "chunks = self.wordsep_re.split(text)" not in split.prompt  # the answer is not shown


def test_cut_body_stops_at_the_first_line_leaving_the_function():
    completion = "        if x:\n            return 1\n\n        return 2\n    def other(self):\n        pass\n"
    assert cut_body(completion, indent=4) == "        if x:\n            return 1\n\n        return 2\n"
    assert cut_body("def f():\n    pass\n", indent=0) == ""


def test_every_item_has_tests_that_depend_on_its_function(items):
    assert {item.module for item in items} == set(MODULES)
    assert all(item.tests and item.test_command[-len(item.tests):] == item.tests for item in items)
    # shlex.push_token is documented but no CPython test calls it: it cannot be graded, so not kept
    assert "shlex.shlex.push_token" not in {item.name for item in items}


def test_reference_bodies_pass_and_sabotaged_bodies_fail_in_the_sandbox(items):
    reference = grade_bodies(items, [item.reference_body for item in items])
    sabotaged = grade_bodies(items, [item.sabotaged_body() for item in items])
    assert [outcome.verdict for outcome in reference] == ["passed"] * len(items)
    assert not any(outcome.passed for outcome in sabotaged)
    assert all(outcome.verdict.endswith("tests failed") for outcome in sabotaged)


def test_a_body_that_does_not_compile_fails_with_no_test_run(items):
    (outcome,) = grade_bodies(items[:1], ["    return (\n"])
    assert not outcome.passed and outcome.verdict.startswith("no test ran")


def test_selection_is_cached_and_draws_are_seeded(items, cache_dir, monkeypatch):
    def no_sandbox(*args, **kwargs):
        raise AssertionError("the cached selection should have been read")

    monkeypatch.setattr(probe, "run_module_tests", no_sandbox)
    again = build_probe(max_items=20, seed=0, modules=MODULES, cache_dir=cache_dir)
    assert again == items
    first_two = build_probe(max_items=2, seed=0, modules=MODULES, cache_dir=cache_dir)
    assert [item.module for item in first_two] == list(MODULES)  # one from each module in turn
    other_seed = build_probe(max_items=20, seed=1, modules=MODULES, cache_dir=cache_dir)
    assert sorted(item.name for item in other_seed) == sorted(item.name for item in items)


def test_build_probe_refuses_modules_training_may_have_seen(cache_dir):
    with pytest.raises(ProbeError, match="not held out"):
        build_probe(max_items=5, seed=0, modules=("bisect",), cache_dir=cache_dir)
    with pytest.raises(ProbeError, match="max_items=0"):
        build_probe(max_items=0, seed=0, cache_dir=cache_dir)


def _result(passed: list[bool]) -> ProbeResult:
    outcomes = tuple(ProbeOutcome(f"m.f{index}", ok, "passed" if ok else "1 of 1 tests failed", "")
                     for index, ok in enumerate(passed))
    return ProbeResult("base", None, outcomes)


def test_compare_flags_a_loss_above_five_percent():
    base = _result([True] * 20)
    assert compare(base, _result([True] * 19 + [False]))["regression"] is False  # exactly 5%
    lost = compare(base, _result([True] * 18 + [False] * 2))
    assert lost["relative_loss"] == pytest.approx(0.10) and lost["regression"] is True
    assert compare(_result([False] * 20), _result([False] * 20))["relative_loss"] == 0.0
    with pytest.raises(ProbeError, match="different items"):
        compare(base, _result([True] * 19))


def test_tiny_model_end_to_end_is_generated_and_graded(tiny_base, items):
    result = run_probe(tiny_base, None, items[:2], max_new_tokens=24, workers=2)
    assert [outcome.item for outcome in result.outcomes] == [item.name for item in items[:2]]
    for outcome in result.outcomes:
        assert outcome.passed == (outcome.verdict == "passed")
        assert outcome.verdict == "passed" or "fail" in outcome.verdict or "no test ran" in outcome.verdict
    assert result.pass_rate == result.passed / 2 and result.to_dict()["total"] == 2
