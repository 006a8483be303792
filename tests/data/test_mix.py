"""Data mix: SPEC §6 shares, rounds accumulated without replacing, replay from earlier rounds."""

import pytest
from trajectory_factory import make_trajectory

from apprentice.data.mix import (
    accumulate,
    existing_rounds,
    mix_round,
    replay_count,
    replay_draw,
    round_path,
    round_rng,
)
from apprentice.errors import DataError


def _batch(prefix: str, gold: int, generated: int, template: int) -> list:
    sources = [("gold", gold), ("self", generated // 2), ("teacher", generated - generated // 2), ("template", template)]
    return [make_trajectory(f"{prefix}-{source}-{n}", source=source, answer=f"{prefix}{source}{n}")
            for source, count in sources for n in range(count)]


def test_round_is_cut_to_target_shares(tmp_path):
    number = accumulate(tmp_path, _batch("r1", gold=30, generated=45, template=60))
    mixed, report = mix_round(tmp_path, number)
    # Generated is the scarcest against its 45% target: 45 / 0.45 = 100 in all.
    assert report.counts == {"gold": 15, "generated": 45, "template": 40}
    assert len(mixed) == 100 and report.replayed == 0
    assert report.problems == ()
    assert "gold: 15 of 30 (15% of new data; SPEC 10%-20%)" in report.text()


def test_rounds_accumulate_and_replay_earlier_ones(tmp_path):
    accumulate(tmp_path, _batch("r1", gold=15, generated=45, template=40))
    second = accumulate(tmp_path, _batch("r2", gold=15, generated=45, template=40))
    assert existing_rounds(tmp_path) == [1, 2] and second == 2
    first_text = round_path(tmp_path, 1).read_text()
    mixed, report = mix_round(tmp_path, 2, replay_share=0.15, seed=3)
    assert round_path(tmp_path, 1).read_text() == first_text  # never replaced
    replayed = [t for t in mixed if t.task_id.startswith("r1-")]
    assert len(replayed) == report.replayed == 18  # 0.15 * 100 / 0.85
    assert 0.10 <= report.shares["replay"] <= 0.20
    again, _ = mix_round(tmp_path, 2, replay_share=0.15, seed=3)
    assert [t.task_id for t in again] == [t.task_id for t in mixed]  # seeded: reproducible


def test_missing_template_bucket_is_reported_not_faked(tmp_path):
    accumulate(tmp_path, _batch("r1", gold=10, generated=30, template=0))
    mixed, report = mix_round(tmp_path, 1)
    assert report.counts["template"] == 0 and report.shares["template"] == 0.0
    assert any(p.startswith("template: none available; 18 template trajectories") for p in report.problems)
    assert any(p.startswith("gold share 25%") for p in report.problems)
    assert len(mixed) == 40


def test_bad_replay_share_and_empty_round_are_errors(tmp_path):
    accumulate(tmp_path, [])
    with pytest.raises(DataError, match="no trajectories"):
        mix_round(tmp_path, 1)
    with pytest.raises(DataError, match="replay share 0.5 is outside"):
        mix_round(tmp_path, 1, replay_share=0.5)


def test_replay_count_rounds_half_up_and_the_draw_skips_repeats_of_new_data():
    assert [replay_count(0.2, new) for new in (2, 6, 10, 17)] == [1, 2, 3, 4]  # 0.5, 1.5, 2.5, 4.25
    old, repeated = make_trajectory("old", answer="old"), make_trajectory("new", answer="new")
    replay, wanted = replay_draw([old, repeated], [repeated] * 8, 0.2, round_rng(0, 2))
    assert replay == [old] and wanted == 2
    assert round_rng("python", 2).random() == round_rng("python", 2).random() != round_rng("python", 3).random()
