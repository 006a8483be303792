"""Mutants generated per second over the stdlib training modules, against tree-sitter parsing alone.

    .venv/bin/python benchmarks/mutant_generation.py [--repeat 3]

The baseline, measured in the same run on the same files, is one tree-sitter parse of each file:
the least any tree-sitter mutation engine must do. The ratio (engine time / parse time) is the
engine's own cost: its walk, its operators, one incremental re-parse per candidate mutant to drop
the ones that no longer parse, and two diffs per mutant.
"""

import argparse
import time
from collections import Counter

from apprentice.tasks import corpus
from apprentice.tasks.mutation.engine import MutationStats, mutants_for_repo, parser_for


def _best_of(repeat: int, run) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    repeat = arguments.parse_args().repeat
    root, files = corpus.stdlib_dir(), corpus.train_module_sources()
    sources = [path.read_bytes() for path in files]
    parser = parser_for("python")
    parse_s, _ = _best_of(repeat, lambda: [parser.parse(source) for source in sources])
    print(f"files: {len(files)} ({sum(map(len, sources)) / 1e6:.2f} MB) from TRAIN_MODULES of {root}")
    print(f"baseline: tree-sitter parse of every file: {parse_s:.3f} s")
    for cap in (10**9, 10):
        stats = MutationStats()
        engine_s, mutants = _best_of(repeat, lambda cap=cap: list(mutants_for_repo(root, "python", files, cap)))
        list(mutants_for_repo(root, "python", files, cap, stats=stats))
        label = "no cap" if cap == 10**9 else f"max {cap} per function"
        print(f"engine ({label}): {len(mutants)} mutants in {engine_s:.2f} s = {len(mutants) / engine_s:,.0f} "
              f"mutants/s; engine/parse time ratio {engine_s / parse_s:.0f}x")
    print(f"kept per operator (capped): {dict(Counter(m.operator for m in mutants).most_common())}")
    print(f"dropped: unparseable {dict(stats.dropped_unparseable)}, identical {sum(stats.dropped_identical.values())}, "
          f"duplicate {stats.dropped_duplicate}, by cap {stats.dropped_by_cap}, skipped files {len(stats.skipped_files)}")


if __name__ == "__main__":
    main()
