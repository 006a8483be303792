"""GRPO: the share of step time spent computing rewards, as the policy leaves its workspaces and when every one is fixed.

    .venv/bin/python benchmarks/grpo_reward_share.py [--run runs/demo] [--steps 3]

Runs the GRPO stage's own trainer (`stages.grpo.setup`: the run's pretrained base, its IPO adapter,
the train tasks in curriculum order, the sandboxed environments, `ExecutionReward`) for `--steps`
steps, twice from the same start:
- as generated: each rollout is graded as the policy leaves its workspace (the demo's figure). A
  miniature that patches nothing leaves empty diffs, which grade without running a test;
- every rollout fixed: before grading, the task's known fix (its bug reversed) is applied in the
  rollout's workspace and the format check is skipped, so every grade builds and runs the tests in
  the sandbox, as when a policy solves its tasks. This is the cost a working policy pays.

Prints, for each run, the training seconds, the seconds spent in the reward function, their ratio
(the share), and the seconds per graded rollout; then the fixed run's share over the first's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from apprentice.artifacts import RunDir
from apprentice.config.models import load_config
from apprentice.data.diffs import fix_from_bug
from apprentice.stages import grpo
from apprentice.stages.common import Hardware
from apprentice.stages.result import StageInputs


def measure(run: Path, steps: int, fixed: bool, work: Path) -> dict:
    """Train `steps` GRPO steps; the reward's seconds, the training seconds and the rollouts graded."""
    run_dir = RunDir(run)
    config = load_config(run_dir.config_file, [f"runs_dir={work}", f"grpo.steps={steps}"])
    parent = run_dir.stage_dir("python", "preference") / "adapter"
    inputs = StageInputs("python", work / ("fixed" if fixed else "generated"), run_dir.pretrained_model,
                         parent if parent.is_dir() else None, run_dir.tasks_file("python", "train"))
    inputs.stage_dir.mkdir(parents=True)
    environments: list = []
    trainer, reward = grpo.setup(config, inputs, grpo.read_tasks(inputs.data, "python"), Hardware(), environments)
    if fixed:
        def graded_fixed(rollout):
            completion, environment, _ids = rollout
            environment._box.call("apply_patch", {"diff": fix_from_bug(environment._task.bug)})
            return reward.graded_reward(completion, environment)
        reward._score = graded_fixed  # no format check: every rollout is graded
    started = time.perf_counter()
    try:
        trainer.train()
    finally:
        for environment in environments:
            environment._close()
    seconds = time.perf_counter() - started
    return {"train": seconds, "reward": reward.seconds, "graded": reward.graded, "best": reward.best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/demo"), help="a finished demo run (its base, IPO adapter, tasks)")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for fixed in (False, True):
            results[fixed] = measure(args.run, args.steps, fixed, Path(work))
    for fixed, r in results.items():
        label = "every rollout fixed" if fixed else "as generated"
        print(f"{label:<20} train {r['train']:6.1f} s, reward {r['reward']:5.2f} s: share {r['reward'] / r['train']:.1%} "
              f"({r['graded']} rollouts, {r['reward'] / max(r['graded'], 1):.2f} s each, best {r['best']})")
    generated, fixed = (results[key]["reward"] / results[key]["train"] for key in (False, True))
    print(f"share, fixed / as generated: {fixed / generated:.0f}x" if generated else "share as generated: 0")


if __name__ == "__main__":
    main()
