"""Format accuracy: per-task tallies and the Wilson interval printed next to the SFT gate's figure."""

from types import SimpleNamespace

import pytest
import torch

from apprentice.stages import format_accuracy
from apprentice.stages.format_accuracy import FormatReport, measure_format_accuracy
from apprentice.stages.sft_data import FormatProbe


@pytest.mark.parametrize(("parsed", "probes", "low", "high"), [
    (33, 36, 0.7817, 0.9713),  # worked by hand: centre 0.8765, half-width 0.0948
    (36, 36, 0.9036, 1.0),  # every probe parsed still leaves ~10 points of doubt at 36 probes
    (0, 10, 0.0, 0.2775),
])
def test_wilson_interval(parsed, probes, low, high):
    bounds = FormatReport(probes, parsed, ()).interval()
    assert bounds == pytest.approx((low, high), abs=1e-4)
    assert bounds[0] <= parsed / probes <= bounds[1]


def test_no_probes_know_nothing():
    assert FormatReport(0, 0, ()).interval() == (0.0, 1.0) and FormatReport(0, 0, ()).accuracy == 0.0


def test_measure_tallies_each_task_and_restores_training_mode(monkeypatch):
    probes = [FormatProbe(task, (), ()) for task in ("a", "a", "b", "a", "c", "b")]
    completions = iter(["ok", "bad", "ok", "ok", "bad", "bad"])
    monkeypatch.setattr(format_accuracy, "generate_turns",
                        lambda model, tokenizer, chunk, limit: [("prompt", next(completions)) for _ in chunk])
    model = torch.nn.Linear(1, 1).train()

    def parse(tokenizer, completion, prompt):
        return SimpleNamespace(format_error=None if completion == "ok" else "json parser could not parse")

    report = measure_format_accuracy(model, None, probes, 8, parse, batch_size=4)
    assert (report.probes, report.parsed) == (6, 3) and model.training
    assert report.by_task == (("a", 2, 3), ("b", 1, 2), ("c", 0, 1))
    assert report.examples == ("a: json parser could not parse", "c: json parser could not parse",
                               "b: json parser could not parse")
