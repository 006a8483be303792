"""Evaluation figures reach the run's tracker through transformers' integration callbacks."""

from apprentice.evaluation.tracking import evaluation_scalars, log_evaluation

METRICS = {
    "metrics": {"test_pass_rate": {"value": 0.25}, "median_diff_lines": {"value": None}},
    "report_card": {"rungs": {"format": {"rate": 1.0}, "fail_to_pass": {"rate": 0.25}, "builds": {"rate": None}},
                    "by_level": {"0": {"rungs": {"fail_to_pass": {"rate": 0.5}}}}},
}


def test_the_scalars_are_the_metrics_rungs_and_level_fix_rates_that_have_a_value():
    assert evaluation_scalars(METRICS) == {"eval_test_pass_rate": 0.25, "eval_rung_format": 1.0,
                                           "eval_rung_fail_to_pass": 0.25, "eval_fail_to_pass_L0": 0.5}


def test_tensorboard_gets_each_version_at_its_place_in_the_chain_and_none_gets_nothing(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_evaluation("none", tmp_path / "none", "sft", METRICS)
    assert not (tmp_path / "none").exists()
    log_evaluation("tensorboard", tmp_path / "tb", "base", {**METRICS, "metrics": {"test_pass_rate": {"value": 0.0}}})
    log_evaluation("tensorboard", tmp_path / "tb", "grpo", METRICS)
    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    assert [(event.step, event.value) for event in accumulator.Scalars("eval/test_pass_rate")] == [(0, 0.0), (3, 0.25)]
