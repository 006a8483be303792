"""Stage-test fixtures: one finished SFT stage, shared by the tests that need an adapter."""

import pytest
from stage_data import small_config, write_trajectories


@pytest.fixture(scope="session")
def sft_run(tiny_base, tmp_path_factory):
    """One finished SFT stage on 8 tiny trajectories (4 steps), shared by the stage tests."""
    from apprentice.stages import sft
    from apprentice.stages.result import StageInputs

    root = tmp_path_factory.mktemp("sft_run")
    data = write_trajectories(root / "sft.jsonl", 8)
    inputs = StageInputs("python", root / "stages" / "python" / "sft", tiny_base, data=data)
    return sft.run(small_config(), inputs), inputs
