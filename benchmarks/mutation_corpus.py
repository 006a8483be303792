"""Mutation campaigns end to end: the embedded stdlib corpus and the smoke repository of each language.

Per campaign: mutants tried and their verdicts, tasks kept, survival rate (survived and
uncovered over killed, survived and uncovered), how many verdicts came from the batch path,
wall time (task repository, clean traced run and validation included).

    .venv/bin/python benchmarks/mutation_corpus.py --max 300 --workers 2
    .venv/bin/python benchmarks/mutation_corpus.py --skip-stdlib --smoke-max 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from apprentice.languages.language import missing_tools
from apprentice.languages.registry import get_language
from apprentice.tasks.mutation.campaign import STDLIB, CampaignConfig, CampaignSummary, log_path, run_campaign

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "mutation"
LANGUAGES = ("python", "go", "rust", "typescript")


def describe(name: str, summary: CampaignSummary) -> str:
    """One printed line of a finished campaign."""
    counts = summary.counts
    verdicts = counts.verdicts
    judged = verdicts["killed"] + verdicts["survived"] + verdicts["uncovered"]
    survival = (verdicts["survived"] + verdicts["uncovered"]) / judged if judged else 0.0
    entries = [json.loads(line) for line in log_path(summary.out).read_text(encoding="utf-8").splitlines()]
    batched = sum(1 for entry in entries if entry.get("batched"))
    return (f"{name}: {counts.tried} mutants tried {dict(verdicts)}; {counts.kept} tasks kept; "
            f"survival rate {survival:.1%}; {batched} verdicts batched; wall {summary.wall_s:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=300, help="task cap of the stdlib campaign")
    parser.add_argument("--smoke-max", type=int, default=None, help="task cap of each smoke campaign")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-stdlib", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mutation-corpus-") as holder:
        if not args.skip_stdlib:
            out = Path(holder) / "stdlib" / "tasks.jsonl"
            out.parent.mkdir()
            print(describe("stdlib corpus", run_campaign(CampaignConfig(Path(STDLIB), "python", out, args.max,
                                                                         args.workers))), flush=True)
        for language in LANGUAGES:
            missing = missing_tools(get_language(language), get_language(language).toolchain)
            if missing:
                print(f"smoke {language}: skipped ({'; '.join(missing)})")
                continue
            out = Path(holder) / language / "tasks.jsonl"
            out.parent.mkdir()
            summary = run_campaign(CampaignConfig(FIXTURES / language, language, out, args.smoke_max, args.workers))
            print(describe(f"smoke {language}", summary), flush=True)


if __name__ == "__main__":
    main()
