"""What the embedded corpus's pytest options save per test run: its tests with the repository's own
`addopts` (anyio's and pytest-timeout's plugins not loaded) against the same runs with them cleared.

    .venv/bin/python benchmarks/corpus_pytest_startup.py [--modules 6] [--rounds 3]

Builds the stdlib corpus repository in a temporary directory and runs `tests/test_<module>.py` of the
first --modules modules in the sandbox, as grading does (same interpreter, same sandbox environment),
alternating the two settings within each round and keeping each run's best. It stops if the two
settings ever report different results (some stdlib tests fail in the copy either way: each task's
baseline lists the tests that pass). Every mutant validation, replayed gold episode and grade pays
this start-up once or more. Measured figures: docs/log.md (2026-11-23).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from apprentice.languages.language import resolve_tools
from apprentice.languages.python import LANGUAGE
from apprentice.sandbox import run_sandboxed
from apprentice.tasks.corpus import CORPUS_MODULES, build_corpus_repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    python = resolve_tools(LANGUAGE)["python"]
    with tempfile.TemporaryDirectory() as holder:
        repo = build_corpus_repo(Path(holder) / "corpus")
        tests = [f"tests/test_{module}.py" for module in CORPUS_MODULES[: args.modules]]
        settings = {"repository addopts": [], "plugins loaded": ["-o", "addopts="]}
        best = {name: [float("inf")] * len(tests) for name in settings}
        for _ in range(args.rounds):
            for index, test in enumerate(tests):
                outcomes = set()
                for name, extra in settings.items():
                    command = (python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, test)
                    result = run_sandboxed(command, repo, env=LANGUAGE.environment())
                    # the tally line (e.g. "21 failed, 42 passed in 0.34s") without its time
                    tally = result.stdout.strip().splitlines()[-1].rsplit(" in ", 1)[0]
                    outcomes.add((result.returncode, tally))
                    best[name][index] = min(best[name][index], result.duration_s)
                if len(outcomes) != 1:
                    raise SystemExit(f"{test}: the plugins change the outcome: {sorted(outcomes)}")
    for index, test in enumerate(tests):
        print(f"{test:32s} " + "  ".join(f"{name} {best[name][index]:.2f}s" for name in settings))
    with_opts, without = sum(best["repository addopts"]), sum(best["plugins loaded"])
    print(f"{len(tests)} test files: {with_opts:.2f}s with the repository's addopts, {without:.2f}s with the plugins "
          f"loaded: {without / with_opts:.2f}x faster, {(without - with_opts) / len(tests):.2f}s saved per run")


if __name__ == "__main__":
    main()
