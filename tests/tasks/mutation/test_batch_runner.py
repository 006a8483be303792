"""The batch path (one sandboxed pytest, a fork per mutant) against the one-run-per-mutant path."""

import json
import textwrap
from pathlib import Path

import pytest

from apprentice.languages.registry import get_language
from apprentice.tasks.mutation.batch_validation import batches, validate_batch
from apprentice.tasks.mutation.engine import Mutant, mutants_for_repo
from apprentice.tasks.mutation.validation import WorkerWorkspace, run_baseline, validate_mutant

FIXTURES = Path(__file__).parents[2] / "fixtures" / "mutation"

# A docstring first: the traced run records a module's own code at line 1, like a function there.
MODULE = textwrap.dedent("""\
    \"\"\"A module to mutate.\"\"\"


    def add(a, b):
        return a + b


    def scale(x, k=2):
        return x * k


    def limit():
        return 10


    LIMIT = limit()
""")
TESTS = textwrap.dedent("""\
    from pkg.m import LIMIT, add, scale


    def test_add():
        assert add(1, 2) == 3


    def test_add_zero():
        assert add(0, 0) == 0


    def test_scale():
        assert scale(2) == 4


    def test_limit():
        assert LIMIT == 10
""")


def _edit(line_text, original, replacement, function="add"):
    line = next(number for number, text in enumerate(MODULE.splitlines(), 1) if text.strip() == line_text)
    column = MODULE.splitlines()[line - 1].index(original) + 1
    return Mutant("python", "pkg/m.py", function, "hand", line, column, original, replacement, "", "", "sha")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    repo = tmp_path_factory.mktemp("tiny")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "m.py").write_text(MODULE)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_m.py").write_text(TESTS)
    worker = WorkerWorkspace(repo, get_language("python"))
    baseline = run_baseline(worker)
    yield worker, baseline
    worker.close()


def _same(fast, slow):
    return (fast.status, set(fast.fail_to_pass), set(fast.pass_to_pass)) == \
        (slow.status, set(slow.fail_to_pass), set(slow.pass_to_pass))


def test_batch_verdicts_equal_the_per_mutant_path_on_the_fixture_repository():
    repo = FIXTURES / "python"
    mutants = list(mutants_for_repo(repo, "python", max_per_function=10_000))[::3]
    worker = WorkerWorkspace(repo, get_language("python"))
    try:
        baseline = run_baseline(worker)
        fast = validate_batch(worker, mutants, baseline)
        slow = [validate_mutant(worker, mutant, baseline) for mutant in mutants]
        clean = {path.name: path.read_bytes() for path in (worker.path / "tinystats").iterdir() if path.is_file()}
    finally:
        worker.close()
    assert len(mutants) >= 8 and sum(verdict.batched for verdict in fast) == len(mutants)
    assert {verdict.status for verdict in fast} >= {"killed"}
    for fast_verdict, slow_verdict in zip(fast, slow, strict=True):
        assert _same(fast_verdict, slow_verdict), (fast_verdict, slow_verdict)
        if fast_verdict.status == "killed":
            assert [case.status for case in fast_verdict.failures] == \
                [case.status for case in slow_verdict.failures]
    assert clean == {path.name: path.read_bytes() for path in (repo / "tinystats").iterdir() if path.is_file()}


def test_poison_mutants_cost_only_themselves(tiny):
    worker, baseline = tiny
    body = ("return a + b", "return a + b")
    mutants = [
        _edit(*body, "__import__('os').kill(__import__('os').getppid(), 9)"),  # kills the batch process
        _edit("return a + b", "a + b", "a - b"),
        _edit(*body, "while True: pass"),
        _edit(*body, "__import__('os')._exit(0)"),
        _edit("return a + b", "a + b", "a * b"),
    ]
    verdicts = validate_batch(worker, mutants, baseline)
    assert not verdicts[0].batched  # the batch died on it: judged alone, then a fresh batch
    assert all(verdict.batched for verdict in verdicts[1:])
    minus, loop, exits, times = verdicts[1:]
    assert minus.status == "killed" and minus.fail_to_pass == ("tests/test_m.py::test_add",)
    assert minus.pass_to_pass == ("tests/test_m.py::test_add_zero",)
    assert loop.status == "timeout" and exits.status == "broken" and "no test report" in exits.detail
    assert times.status == "killed" and times.fail_to_pass == ("tests/test_m.py::test_add",)  # 0 * 0 == 0
    assert (worker.path / "pkg" / "m.py").read_text() == MODULE


def test_edits_a_code_swap_cannot_reproduce_run_alone(tiny):
    worker, baseline = tiny
    default = _edit("def scale(x, k=2):", "2", "3", function="scale")  # a default value: evaluated when `def` runs
    on_import = _edit("return 10", "10", "11", function="limit")  # ran while the test module imported
    verdicts = validate_batch(worker, [default, on_import], baseline)
    assert [v.batched for v in verdicts] == [False, False]
    assert verdicts[0].status == "killed" and verdicts[0].fail_to_pass == ("tests/test_m.py::test_scale",)
    assert verdicts[1].status == "killed" and verdicts[1].fail_to_pass == ("tests/test_m.py::test_limit",)


def test_campaign_log_says_which_verdicts_were_batched(tmp_path):
    from apprentice.tasks.mutation.campaign import CampaignConfig, log_path, run_campaign

    out = tmp_path / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(FIXTURES / "python", "python", out, max_tasks=4, workers=1))
    entries = [json.loads(line) for line in log_path(out).read_text().splitlines()]
    assert summary.counts.kept == 4 and entries
    assert all(entry["batched"] for entry in entries if entry["status"] != "uncovered")


def test_batches_hold_one_file_each_and_take_the_files_in_turn():
    mutants = [Mutant("python", path, "f", "op", n, 1, "a", "b", "", "", "sha")
               for n, path in enumerate(["a.py", "b.py", "a.py", "a.py", "b.py", "a.py", "c.py"])]
    cut = batches(mutants, "python", size=2)
    assert [[m.path for m in batch] for batch in cut] == [["a.py", "a.py"], ["b.py", "b.py"], ["c.py"], ["a.py", "a.py"]]
    assert [m.line for m in cut[0] + cut[3]] == [0, 2, 3, 5]  # each file's own order kept
    assert batches(mutants, "rust", size=2) == [[m] for m in mutants]
