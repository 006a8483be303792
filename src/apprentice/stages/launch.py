"""Training stages under `accelerate launch`: several GPUs (DDP, FSDP, DeepSpeed) for the stage, one
process for everything else.

    apprentice run examples/gpt-oss-20b.yaml --launcher accelerate launch.config_file=examples/accelerate/fsdp.yaml

The pipeline stays one process: tasks, data and grading never run once per GPU. For each training
stage it prepares the stage directory itself (so no two ranks race to clear it), then starts

    accelerate launch [--config_file F] [--num_processes N] -m apprentice.stages.launch RUN_DIR STAGE TARGET BASE [--parent P] [--data D]

Every rank runs the stage module on the run's own `run.yaml`; the Trainer keeps them in step and
only rank 0 writes (`stages.result.is_main_process`). The pipeline then reads the finished stage
from its directory, exactly as a resumed run does.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

from apprentice.artifacts import RunDir
from apprentice.config.models import RunConfig, load_config
from apprentice.errors import StageError
from apprentice.stages.result import (
    ADAPTER_DIR,
    MODEL_DIR,
    StageInputs,
    StageResult,
    input_hashes,
    prepare_stage_dir,
    reuse_if_done,
)

LAUNCH_LOG = "launch.log"


def stage_module(stage: str):
    """The module that trains `stage` (pretrain, sft, preference, grpo)."""
    from apprentice.stages import grpo, preference, pretrain, sft

    modules = {"pretrain": pretrain, "sft": sft, "preference": preference, "grpo": grpo}
    if stage not in modules:
        raise StageError(f"stage '{stage}' is not a training stage; use one of {', '.join(modules)}")
    return modules[stage]


def launch_command(config: RunConfig, stage: str, inputs: StageInputs) -> list[str]:
    """The `accelerate launch ...` command line that trains `stage` for `inputs` on every rank."""
    accelerate = shutil.which("accelerate") or str(Path(sys.executable).with_name("accelerate"))
    command = [accelerate, "launch"]
    if config.launch.config_file is not None:
        command += ["--config_file", str(config.launch.config_file)]
    if config.launch.num_processes is not None:
        command += ["--num_processes", str(config.launch.num_processes)]
    command += ["-m", "apprentice.stages.launch", str(config.run_dir), stage, inputs.target, str(inputs.base_dir)]
    if inputs.parent_adapter is not None:
        command += ["--parent", str(inputs.parent_adapter)]
    if inputs.data is not None:
        command += ["--data", str(inputs.data)]
    return command


def run_launched(config: RunConfig, stage: str, inputs: StageInputs) -> StageResult:
    """Train `stage` under accelerate (or reuse it when finished); StageError naming the log on failure."""
    module = stage_module(stage)
    hashes = input_hashes(inputs, module.stage_config(config))
    if (finished := reuse_if_done(stage, inputs, hashes, _output(stage))) is not None:
        return finished
    if config.launch.config_file is not None and not config.launch.config_file.is_file():
        raise StageError(f"launch.config_file '{config.launch.config_file}' does not exist; "
                         "pass one of examples/accelerate/*.yaml or leave it empty for accelerate's default")
    prepare_stage_dir(inputs, hashes)
    log = inputs.stage_dir / LAUNCH_LOG
    with log.open("a", encoding="utf-8") as sink:
        done = subprocess.run(launch_command(config, stage, inputs), stdout=sink, stderr=subprocess.STDOUT)
    result = reuse_if_done(stage, inputs, hashes, _output(stage))
    if done.returncode != 0 or result is None:
        raise StageError(f"{stage} under accelerate exited with {done.returncode} and left no finished stage; "
                         f"see {log} (a re-run resumes from the last checkpoint)")
    return dataclasses.replace(result, skipped=False)


def _output(stage: str) -> str:
    return MODEL_DIR if stage == "pretrain" else ADAPTER_DIR


def main(argv: list[str] | None = None) -> None:
    """One rank's work: the stage module on the run's resolved config."""
    parser = argparse.ArgumentParser(prog="python -m apprentice.stages.launch", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("stage")
    parser.add_argument("target")
    parser.add_argument("base_dir", type=Path)
    parser.add_argument("--parent", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    config = load_config(run.config_file, [])
    inputs = StageInputs(args.target, run.stage_dir(args.target, args.stage, config.round), args.base_dir,
                         args.parent, args.data, run.log_dir(args.target, args.stage, config.round))
    stage_module(args.stage).run(config, inputs)


if __name__ == "__main__":
    main()
