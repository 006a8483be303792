"""Validated tasks (killed mutants) per minute: apprentice's campaign against mutmut 3, one run.

Both work on the same standard-library module laid out with its own tests (`build_corpus_repo`),
on this machine, one after the other (apprentice validates python mutants in batches: one
sandboxed pytest start per batch, a fork per mutant; `tasks/mutation/batch_validation.py`); the figure is killed mutants per minute of wall time
(setup, clean run, coverage and all), and distinct killed mutants per function.

    python -m venv /tmp/mutmut-venv && /tmp/mutmut-venv/bin/pip install 'mutmut>=3' pytest
    .venv/bin/python benchmarks/mutation_vs_mutmut.py --module graphlib --workers 2
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from apprentice.tasks.corpus import build_corpus_repo
from apprentice.tasks.mutation.campaign import CampaignConfig, iter_tasks, log_path, run_campaign

MUTMUT_CONFIG = """
[tool.mutmut]
paths_to_mutate = ["src/{module}.py"]
tests_dir = ["tests/"]
also_copy = ["conftest.py"]
max_children = {workers}
"""


def run_mutmut(mutmut: Path, repo: Path) -> tuple[float, Counter[str], Counter[str]]:
    """(wall seconds, verdict counts, killed per function) of `mutmut run` in `repo`."""
    started = time.monotonic()
    subprocess.run([str(mutmut), "run"], cwd=repo, capture_output=True, check=True)
    wall = time.monotonic() - started
    listing = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout
    verdicts, killed = Counter(), Counter()
    for name, status in re.findall(r"^\s*(\S+__mutmut_\d+): (\w+)", listing, re.MULTILINE):
        verdicts[status] += 1
        if status == "killed":
            # graphlib.xǁTopologicalSorterǁ_find_cycle__mutmut_7 -> TopologicalSorter._find_cycle
            function = name.split(".", 1)[1].rsplit("__mutmut_", 1)[0].lstrip("xǁ").replace("ǁ", ".")
            killed[function.removeprefix("x_")] += 1
    return wall, verdicts, killed


def run_ours(repo: Path, out: Path, workers: int) -> tuple[float, Counter[str], Counter[str]]:
    """(wall seconds, verdict counts, killed per function) of apprentice's campaign, no caps."""
    started = time.monotonic()
    summary = run_campaign(CampaignConfig(repo, "python", out, workers=workers, max_per_function=10_000))
    wall = time.monotonic() - started
    killed = Counter(task.statement.split("`", 2)[1].removesuffix("()") for task in iter_tasks(out))
    assert sum(killed.values()) == summary.counts.kept
    entries = [json.loads(line) for line in log_path(out).read_text().splitlines()]
    verdicts = Counter(entry["status"] for entry in entries)
    print(f"apprentice: {sum(1 for entry in entries if entry.get('batched'))} of {len(entries)} verdicts from "
          f"the batch path (one sandboxed pytest per batch, a fork per mutant)")
    return wall, verdicts, killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="graphlib")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mutmut", type=Path, default=Path("/tmp/mutmut-venv/bin/mutmut"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mutation-bench-") as holder:
        mutmut_repo = build_corpus_repo(Path(holder) / "for-mutmut", (args.module,))
        with (mutmut_repo / "pyproject.toml").open("a") as handle:
            handle.write(MUTMUT_CONFIG.format(module=args.module, workers=args.workers))
        our_repo = build_corpus_repo(Path(holder) / "for-apprentice", (args.module,))
        ours = run_ours(our_repo, Path(holder) / "tasks.jsonl", args.workers)
        theirs = run_mutmut(args.mutmut, mutmut_repo)
    rates = {}
    for name, (wall, verdicts, killed) in (("apprentice", ours), ("mutmut 3", theirs)):
        rates[name] = sum(killed.values()) / wall * 60
        per_function = sum(killed.values()) / max(1, len(killed))
        print(f"{name:10s} module {args.module}: {sum(verdicts.values())} mutants {dict(verdicts)}; "
              f"{sum(killed.values())} killed in {wall:.1f} s = {rates[name]:.1f} killed/min; "
              f"{len(killed)} functions with a kill, {per_function:.2f} killed per such function")
    print(f"killed mutants per minute, apprentice / mutmut 3: {rates['apprentice'] / rates['mutmut 3']:.2f}x "
          f"(target >= 2x)")


if __name__ == "__main__":
    main()
