"""Gates (SPEC §5): each gate on passing and failing metrics, stage dirs, thresholds from run.yaml, --force."""

import json

import pytest

from apprentice.artifacts import read_meta, write_meta
from apprentice.config.models import RunConfig, dump_config, load_config
from apprentice.errors import GateError
from apprentice.gates import GateVerdict, check_stage, enforce, evaluate, reward_window, thresholds_for

GATES = RunConfig(profile="real").gates

SFT_GOOD = {"final_train_loss": 0.3, "format_accuracy": 0.97, "eval_losses": [[10, 1.0], [80, 0.6], [100, 0.5]]}
PREF_GOOD = {"kl": 0.2, "chosen_win_rate": 0.9, "chosen_logp_drop": 0.1, "losses": [[1, 0.7], [2, 0.5]]}
GRPO_GOOD = {"rewards": [0.0] * 80 + [0.5] * 20, "reward_stds": [0.2] * 100, "max_reward": 1.0}


def names_failed(verdict: GateVerdict) -> set[str]:
    return {check.name for check in verdict.checks if not check.passed}


def test_sft_gates_pass_on_good_metrics():
    verdict = evaluate("sft", SFT_GOOD, GATES)
    assert verdict.passed and len(verdict.checks) == 3


@pytest.mark.parametrize(("change", "failed"), [
    ({"final_train_loss": 0.5}, "final_loss"),
    ({"final_train_loss": float("nan")}, "final_loss"),
    ({"format_accuracy": 0.95}, "format_accuracy"),
    ({"eval_losses": [[10, 1.0], [80, 0.5], [100, 0.55]]}, "eval_loss_falling"),
    ({"eval_losses": [[100, 0.5]]}, "eval_loss_falling"),
])
def test_sft_gate_failures(change, failed):
    verdict = evaluate("sft", {**SFT_GOOD, **change}, GATES)
    assert not verdict.passed and names_failed(verdict) == {failed}


def test_format_gate_names_the_count_tasks_and_interval():
    metrics = {**SFT_GOOD, "format_accuracy": 33 / 36, "format_parsed": 33, "format_probes": 36,
               "format_interval": [0.7817, 0.9713], "format_by_task": {"a": [9, 9], "b": [6, 9], "c": [9, 9], "d": [9, 9]}}
    check = next(c for c in evaluate("sft", metrics, GATES).checks if c.name == "format_accuracy")
    assert not check.passed
    assert check.message == "91.7% (33/36 of 4 tasks, 95% interval 78%-97%) of held-out turns parsed (<= 95%)"
    bare = next(c for c in evaluate("sft", SFT_GOOD, GATES).checks if c.name == "format_accuracy")
    assert bare.message == "97.0% of held-out turns parsed (> 95%)"  # metrics written before the counts were kept


def test_missing_metric_fails_with_its_name():
    verdict = evaluate("sft", {k: v for k, v in SFT_GOOD.items() if k != "format_accuracy"}, GATES)
    check = next(c for c in verdict.checks if c.name == "format_accuracy")
    assert not check.passed and check.value is None and "format_accuracy" in check.message


@pytest.mark.parametrize(("change", "failed"), [
    ({"kl": 0.5}, "kl"),
    ({"chosen_win_rate": 0.8}, "chosen_win_rate"),
    ({"chosen_logp_drop": 6.0}, "no_collapse"),
    ({"losses": [[1, 0.7], [2, float("inf")]]}, "no_collapse"),
])
def test_preference_gate_failures(change, failed):
    assert evaluate("preference", PREF_GOOD, GATES).passed
    assert names_failed(evaluate("preference", {**PREF_GOOD, **change}, GATES)) == {failed}


def test_preference_kl_between_warn_and_abort_passes_with_a_warning():
    check = next(c for c in evaluate("preference", {**PREF_GOOD, "kl": 0.4}, GATES).checks if c.name == "kl")
    assert check.passed and "warning" in check.message


def test_grpo_gates_use_the_last_window():
    assert evaluate("grpo", GRPO_GOOD, GATES).passed
    late_drop = {**GRPO_GOOD, "rewards": [0.5] * 600 + [0.1] * 500}
    assert names_failed(evaluate("grpo", late_drop, GATES)) == {"mean_reward"}
    assert names_failed(evaluate("grpo", {**GRPO_GOOD, "reward_stds": [0.005] * 10}, GATES)) == {"reward_std"}
    assert names_failed(evaluate("grpo", {**GRPO_GOOD, "max_reward": 0.69}, GATES)) == {"max_reward"}


def test_reward_window_is_window_steps_or_the_last_fifth():
    assert reward_window(5000, 500) == 500
    assert reward_window(100, 500) == 20
    assert reward_window(3, 500) == 1


def test_unknown_stage_is_an_error():
    with pytest.raises(GateError, match="no gates for stage 'pretrain'"):
        evaluate("pretrain", {}, GATES)


def make_stage_dir(tmp_path, metrics, run_overrides=()):
    run_dir = tmp_path / "runs" / "demo"
    stage_dir = run_dir / "stages" / "python" / "sft"
    stage_dir.mkdir(parents=True)
    (run_dir / "run.yaml").write_text(dump_config(load_config(None, list(run_overrides))))
    (stage_dir / "metrics.json").write_text(json.dumps(metrics))
    write_meta(stage_dir, {"stage": "sft"}, {"data": "x"}, metrics)
    return stage_dir


def test_check_stage_reads_thresholds_from_run_yaml(tmp_path):
    metrics = {**SFT_GOOD, "final_train_loss": 1.5}
    stage_dir = make_stage_dir(tmp_path, metrics)  # tiny profile: max_final_loss 2.0
    assert thresholds_for(stage_dir).sft.max_final_loss == 2.0
    assert check_stage(stage_dir).passed
    assert not check_stage(stage_dir, GATES).passed  # the real profile's 0.5


def test_check_stage_without_metrics_names_the_fix(tmp_path):
    with pytest.raises(GateError, match="no metrics.json"):
        check_stage(tmp_path)


def test_enforce_stops_or_records_force(tmp_path):
    stage_dir = make_stage_dir(tmp_path, {**SFT_GOOD, "format_accuracy": 0.5})
    verdict = check_stage(stage_dir)
    with pytest.raises(GateError, match="format_accuracy|held-out turns parsed"):
        enforce(verdict, stage_dir, force=False)
    forced = enforce(verdict, stage_dir, force=True)
    assert forced.forced and not forced.passed
    assert json.loads((stage_dir / "gate.json").read_text())["forced"] is True
    assert read_meta(stage_dir)["config"]["gate_forced"] is True


def test_verdict_round_trips_and_renders():
    verdict = evaluate("sft", SFT_GOOD, GATES)
    assert GateVerdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict
    assert verdict.render().row_count == 3
