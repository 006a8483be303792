"""kill -9 in the middle of SFT, then run again: finished steps are reused and SFT resumes from its checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_run import MICRO

# More SFT steps than the micro run, with a checkpoint every step, so the kill lands between two of them.
LONGER_SFT = ["sft.max_steps=8", "sft.save_steps=1", "pretrain.enabled=false"]


def _wait_for(path: Path, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"the run ended (rc {process.returncode}) before {path} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear within {seconds:.0f}s"
        time.sleep(0.2)


@pytest.mark.slow
def test_kill_9_during_sft_then_rerun_resumes(tmp_path):
    overrides = [f"runs_dir={tmp_path}", "name=killed", *MICRO, *LONGER_SFT]
    command = [sys.executable, "-m", "apprentice", "run", *overrides, "--force"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sft_dir = tmp_path / "killed" / "stages" / "python" / "sft"
    _wait_for(sft_dir / "checkpoints" / "checkpoint-2", process, seconds=900)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (sft_dir / "DONE").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    metrics = json.loads((sft_dir / "metrics.json").read_text())
    assert metrics["resumed"] is True and metrics["steps"] == 8
    table = rerun.stdout
    assert "tasks" in table and "reused" in table  # the steps finished before the kill were not redone
