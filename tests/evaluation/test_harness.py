"""The evaluation harness: scripted backends on the python fixture task, resume, stamps, errors, the tiny model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from apprentice.agent.backends import Reply
from apprentice.agent.loop import LoopConfig
from apprentice.errors import BackendError, EvaluationError
from apprentice.evaluation import harness
from apprentice.evaluation.harness import EvalStamp, evaluate, final_patch, read_rows
from apprentice.tasks.task import RepoRef, Task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@pytest.fixture(scope="module")
def python_task() -> Task:
    task = Task.from_json((REPOS / "python" / "task.json").read_text())
    return dataclasses.replace(task, repo=RepoRef(path=str(REPOS / "python" / "repo")))


@pytest.fixture(scope="module")
def python_fix() -> str:
    return (REPOS / "python" / "fix.patch").read_text()


def call(name: str, arguments: dict) -> Reply:
    message = {"role": "assistant", "content": "",
               "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}
    return Reply(message, None, "", 10, 5)


def final() -> Reply:
    return Reply({"role": "assistant", "content": "Done."}, None, "", 10, 2)


def garbage() -> Reply:
    return Reply({"role": "assistant", "content": "zzz"}, "no final answer and no tool call", "zzz", 10, 3)


class Scripted:
    """Replies from a script; raises BackendError `failures` times first (a server that is down)."""

    source = "template"

    def __init__(self, replies: list[Reply], failures: int = 0):
        self.replies, self.failures = list(replies), failures

    def respond(self, messages, tools):
        if self.failures:
            self.failures -= 1
            raise BackendError("connection refused")
        return self.replies.pop(0)


def scripted_factory(scripts: dict[int, list[Reply]], failures: dict[int, int] | None = None, seen=None):
    def factory(temperature: float, seed: int) -> Scripted:
        if seen is not None:
            seen.append((temperature, seed))
        return Scripted(scripts[seed], (failures or {}).get(seed, 0))
    return factory


def stamp_for(tasks, version="sft", adapter="/adapters/a") -> EvalStamp:
    return EvalStamp.build("python", version, adapter, "/models/base", tasks, base_hash="sha256:base")


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(harness, "RETRY_BACKOFF_S", 0.0)


def test_evaluate_resumes_after_a_failure_and_writes_metrics(tmp_path, python_task, python_fix):
    fixing = [call("read_file", {"path": "tinystats/stats.py"}), call("apply_patch", {"diff": python_fix}),
              call("run_tests", {}), final()]
    scripts = {0: fixing, 1: [garbage(), final()]}
    out = tmp_path / "eval" / "python" / "sft"
    stamp = stamp_for([python_task])
    base_dir = out.parent / "base"
    base_dir.mkdir(parents=True)
    (base_dir / "metrics.json").write_text(json.dumps({"metrics": {"tool_call_format_accuracy": {"value": 1.0},
                                                                   "test_pass_rate": {"value": 0.25}}}))
    # Attempt 1's server stays down past the retries: attempt 0's row is kept, the error says how to resume.
    with pytest.raises(EvaluationError, match=r"attempt 1 of task 'fixture-python-median'.*failed 4 times.*rerun"):
        evaluate([python_task], scripted_factory(scripts, failures={1: 4}), out, stamp, attempts=2, workers=1)
    assert [(row["attempt"], row["all_tests_pass"]) for row in read_rows(out / "results.jsonl")] == [(0, True)]
    assert not (out / "metrics.json").exists()
    with (out / "results.jsonl").open("a") as stream:
        stream.write('{"task_id": "fixture-python-me')  # a torn line from a kill mid-write

    seen = []
    # Three failures are retried away this time; only attempt 1 runs (sampled, its own seed).
    summary = evaluate([python_task], scripted_factory(scripts, failures={1: 3}, seen=seen), out, stamp,
                       attempts=2, workers=2)
    assert (summary.ran, summary.reused) == (1, 1) and seen == [(0.7, 1)]
    rows = read_rows(out / "results.jsonl")
    assert [row["attempt"] for row in rows] == [0, 1]
    first = rows[0]
    assert (first["build_ok"], first["tests_passed"], first["tests_total"], first["iterations_to_green"]) == (True, 5, 5, 1)
    assert first["diff_lines"] == 2 and first["api_calls"] == 1 and first["hallucinated_calls"] == []
    assert first["assistant_turns"] == 4 and first["messages"][0]["role"] == "system"
    assert rows[1]["format_errors"] == 1 and rows[1]["error"] == "patch is empty"
    assert rows[0]["rungs"] == {"format": True, "reads_named_file": True, "edit_applies": True, "builds": True,
                                "fail_to_pass": True, "all_green": True}
    assert not any(rows[1]["rungs"].values())  # a reply that did not parse, then an answer: no rung reached

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == summary.metrics
    values = {name: entry["value"] for name, entry in metrics["metrics"].items()}
    assert values["test_pass_rate"] == 0.5 and values["pass_at_1"] == 0.5 and values["pass_at_k"] == 1.0
    assert values["tool_call_format_accuracy"] == pytest.approx(5 / 6)
    assert values["median_iterations_to_green"] == 1.0 and values["median_diff_lines"] == 2.0
    assert metrics["mean_reward"] == pytest.approx((rows[0]["reward"] + rows[1]["reward"]) / 2, abs=1e-4)
    assert rows[0]["reward"] != rows[1]["reward"]
    assert (metrics["tasks"], metrics["attempts"], metrics["version"], metrics["base_hash"]) == (1, 2, "sft", "sha256:base")
    against_base = {row["metric"]: row for row in metrics["regressions"]["against_base"]}
    assert against_base["tool_call_format_accuracy"]["flag"] is True  # 1.0 -> 0.83
    assert against_base["test_pass_rate"]["flag"] is False  # 0.25 -> 0.5
    assert metrics["regressions"]["against_production"] == []
    card = metrics["report_card"]
    assert (card["episodes"], card["without_rungs"]) == (2, 0)
    assert {rung: (entry["count"], entry["of"]) for rung, entry in card["rungs"].items()} == {
        rung: (1, 2) for rung in ("format", "reads_named_file", "edit_applies", "builds", "fail_to_pass", "all_green")}


def test_parallel_workers_write_every_attempt_once(tmp_path, python_task):
    scripts = {seed: [final()] for seed in range(4)}
    summary = evaluate([python_task], scripted_factory(scripts), tmp_path, stamp_for([python_task]),
                       attempts=4, workers=2)
    assert sorted(row["attempt"] for row in read_rows(tmp_path / "results.jsonl")) == [0, 1, 2, 3]
    assert summary.metrics["metrics"]["test_pass_rate"]["value"] == 0.0
    assert summary.metrics["metrics"]["median_diff_lines"]["value"] is None  # no attempt changed anything
    # A rerun with everything done runs nothing and rewrites the same metrics.
    again = evaluate([python_task], scripted_factory({}), tmp_path, stamp_for([python_task]), attempts=4, workers=2)
    assert (again.ran, again.reused) == (0, 4)


def test_a_stamp_mismatch_names_both_and_the_fix(tmp_path, python_task):
    evaluate([python_task], scripted_factory({0: [final()]}), tmp_path, stamp_for([python_task]))
    other = stamp_for([python_task], adapter="/adapters/other")
    with pytest.raises(EvaluationError, match=r"adapter /adapters/a.*adapter /adapters/other.*delete"):
        evaluate([python_task], scripted_factory({0: [final()]}), tmp_path, other)


def test_bad_inputs_are_one_line_errors(tmp_path, python_task):
    factory = scripted_factory({})
    with pytest.raises(EvaluationError, match="task set is empty"):
        evaluate([], factory, tmp_path, stamp_for([]))
    gone = dataclasses.replace(python_task, repo=RepoRef(path=str(tmp_path / "gone")))
    with pytest.raises(EvaluationError, match=r"repository missing for task\(s\) 'fixture-python-median'"):
        evaluate([gone], factory, tmp_path, stamp_for([gone]))
    with pytest.raises(EvaluationError, match="attempts=0"):
        evaluate([python_task], factory, tmp_path, stamp_for([python_task]), attempts=0)


def test_final_patch_replays_only_executed_edits(python_task, python_fix):
    applied = call("apply_patch", {"diff": python_fix}).message
    capped = call("write_file", {"path": "tinystats/stats.py", "content": "oops\n"}).message
    messages = [applied, {"role": "tool", "name": "apply_patch", "content": "ok"}, capped]  # capped never ran
    patch = final_patch(python_task, messages)
    assert "+    if len(ordered) % 2 == 0:" in patch and "oops" not in patch
    assert final_patch(python_task, [{"role": "assistant", "content": "nothing"}]) == ""


def test_the_embedded_base_through_the_local_factory(tmp_path, tiny_base, python_task):
    from apprentice.evaluation.targets import local_factory

    factory = local_factory(tiny_base, None, max_new_tokens=8)
    batcher = factory.__self__  # the GenerationBatcher whose episodes the factory hands out
    tasks = [python_task, dataclasses.replace(python_task, id=python_task.id + "-2")]
    summary = evaluate(tasks, factory, tmp_path, stamp_for(tasks, "base", None), attempts=1, workers=2,
                       loop=LoopConfig(max_turns=1, max_new_tokens=8))
    rows = read_rows(tmp_path / "results.jsonl")
    assert [row["assistant_turns"] for row in rows] == [1, 1] and not any(row["all_tests_pass"] for row in rows)
    assert summary.metrics["metrics"]["tool_call_format_accuracy"]["value"] in (0.0, 0.5, 1.0)
    # Both episodes' one turn decoded in one round; both episodes closed when they ended.
    assert batcher.rounds == [2] and batcher.open_episodes == 0


def test_cli_resolution_of_base_adapter_tasks_and_table(tmp_path, python_task):
    from rich.console import Console

    from apprentice.cli.eval import metric_table
    from apprentice.evaluation.targets import load_tasks, resolve_base, resolve_target

    run = tmp_path / "run"
    with pytest.raises(EvaluationError, match="has no base"):
        resolve_base(run)
    (run / "base").mkdir(parents=True)
    assert resolve_base(run) == run / "base"
    (run / "base" / "POINTER").write_text("/models/real\n")
    assert resolve_base(run) == Path("/models/real")
    (run / "stages" / "base" / "pretrain" / "model").mkdir(parents=True)
    assert resolve_base(run) == run / "stages" / "base" / "pretrain" / "model"
    with pytest.raises(EvaluationError, match="no GRPO adapter for 'python'.*--version base"):
        resolve_target(run, "python", None, None, None, None)
    (run / "stages" / "python" / "grpo" / "adapter").mkdir(parents=True)
    assert resolve_target(run, "python", None, None, None, None).version == "grpo"
    assert resolve_target(run, "python", None, "base", None, None).adapter is None
    with pytest.raises(EvaluationError, match="does not exist"):
        resolve_target(run, "python", tmp_path / "nope", None, None, None)

    tasks_file = tmp_path / "eval.jsonl"
    relative = dataclasses.replace(python_task, repo=RepoRef(path="repo"))
    tasks_file.write_text(relative.to_json() + "\n\n")
    assert load_tasks(tasks_file)[0].repo.path == str(tmp_path / "repo")
    with pytest.raises(EvaluationError, match="does not exist"):
        load_tasks(tmp_path / "missing.jsonl")

    evaluate([python_task], scripted_factory({0: [final()]}), tmp_path / "out", stamp_for([python_task]))
    console = Console(record=True, width=120)
    console.print(metric_table(json.loads((tmp_path / "out" / "metrics.json").read_text())))
    text = console.export_text()
    assert "test_pass_rate" in text and "0.0%" in text and ">= 70.0%" in text and "below" in text
