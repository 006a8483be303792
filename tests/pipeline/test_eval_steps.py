"""The learning signal along the chain: each evaluated version against the one before it."""

import json
from pathlib import Path

from apprentice.config.models import load_config
from apprentice.evaluation.harness import EvalSummary
from apprentice.evaluation.report_card import RUNGS, report_card
from apprentice.pipeline.eval_steps import learning_signal
from apprentice.pipeline.run import RunSummary


def evaluated(accuracy: float | None, reward: float | None) -> EvalSummary:
    metrics = {"metrics": {"tool_call_format_accuracy": {"value": accuracy}}, "mean_reward": reward}
    return EvalSummary(Path("unused"), metrics, ran=1, reused=0, seconds=0.1)


def test_a_stage_losing_more_than_five_percent_is_named(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=r"])
    signal = learning_signal(config, "python", {
        "base": evaluated(0.0, -1.0),
        "sft": evaluated(0.80, -0.30),
        "preference": evaluated(0.77, -0.45),  # accuracy -3.75% (kept); reward -0.15 (over 0.1 of the range)
        "grpo": evaluated(0.70, -0.36),  # accuracy -9.1% of 0.77 (regresses); reward up
    })
    assert signal.regressions == ["preference regresses mean reward -0.3 -> -0.45",
                                  "grpo regresses tool call format accuracy 0.77 -> 0.7"]
    assert "format base 0% -> sft 80% -> preference 77% -> grpo 70%" in signal.line
    assert "reward base -1.00 -> sft -0.30" in signal.line and "grpo regresses" in signal.line
    written = json.loads((tmp_path / "r" / "eval" / "python" / "signal.json").read_text())
    assert written["regressions"] == signal.regressions
    assert [(e["version"], e["mean_reward"]) for e in written["chain"]] == [
        ("base", -1.0), ("sft", -0.30), ("preference", -0.45), ("grpo", -0.36)]


def test_a_chain_that_holds_says_so_and_missing_values_are_skipped(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=r", "round=2"])
    signal = learning_signal(config, "python", {"base": evaluated(None, None), "grpo": evaluated(0.5, 0.2)})
    assert signal.regressions == [] and "no stage regresses" in signal.line and "base n/a" in signal.line
    assert (tmp_path / "r" / "eval" / "python" / "round-2-signal.json").is_file()


def carded(format_count: int, fixed: int, of: int = 8) -> EvalSummary:
    rows = [{"rungs": {**dict.fromkeys(RUNGS, False), "format": i < format_count, "fail_to_pass": i < fixed}}
            for i in range(of)]
    metrics = {"metrics": {"tool_call_format_accuracy": {"value": format_count / of}}, "mean_reward": -0.5,
               "report_card": report_card(rows)}
    return EvalSummary(Path("unused"), metrics, ran=1, reused=0, seconds=0.1)


def test_the_report_card_names_the_rungs_each_stage_lifts_and_the_stages_that_lift_none(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=r"])
    signal = learning_signal(config, "python", {"base": carded(0, 0), "sft": carded(8, 0), "preference": carded(8, 1),
                                                "grpo": carded(8, 6)})
    assert signal.lifted == {"sft": ["format"], "preference": [], "grpo": ["fail_to_pass"]}
    assert signal.helps_nothing == ["preference"]
    assert "sft lifts format, preference lifts no rung, grpo lifts fail_to_pass" in signal.line
    assert signal.rung_table.splitlines()[0].split() == ["base", "sft", "preference", "grpo"]
    written = json.loads((tmp_path / "r" / "eval" / "python" / "signal.json").read_text())
    assert written["helps_no_rung"] == ["preference"] and written["rungs_lifted"]["grpo"] == ["fail_to_pass"]
    assert written["report_card"]["grpo"]["rungs"]["fail_to_pass"]["count"] == 6
    summary = RunSummary(tmp_path, rung_tables={"python": signal.rung_table})
    rendered = summary.render().splitlines()
    assert rendered[-len(RUNGS) - 2] == "  python: held-out episodes reaching each rung (SPEC §10)"
    assert rendered[-1].split()[:2] == ["all_green", "0/8"]


def test_evaluations_without_a_report_card_leave_it_out(tmp_path):
    signal = learning_signal(load_config(None, [f"runs_dir={tmp_path}", "name=r"]), "python",
                             {"base": evaluated(0.0, -1.0), "sft": evaluated(1.0, -0.3)})
    assert signal.cards == {} and signal.lifted == {} and signal.helps_nothing == [] and "lifts" not in signal.line
