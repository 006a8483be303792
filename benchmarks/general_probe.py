"""General code ability: pass rate of a base and of base + adapter on the held-out stdlib probe.

    .venv/bin/python benchmarks/general_probe.py [--base DIR] [--adapter DIR] [--items 40] [--seed 0]

Each item is a held-out standard-library function (HELD_OUT_MODULES) whose body the model
writes from its signature and docstring, graded by the module's own CPython tests in the
sandbox. Measured in the same run: the reference bodies (the ceiling, 100% by construction) and
the base, the baseline an adapter must stay within 5% of (SPEC §7). Without --base the embedded
miniature gpt-oss is built into a temporary directory; without --adapter the base is probed
twice, which must give a relative loss of exactly 0 (greedy decoding is deterministic).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from apprentice.evaluation.probe import build_probe, compare, grade_bodies, run_probe


def main() -> None:
    """Print the reference, base and adapter pass rates and the adapter's relative loss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="local causal LM directory (default: embedded tiny base)")
    parser.add_argument("--adapter", type=Path, help="PEFT adapter directory (default: the base again)")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write both results and the comparison here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apprentice-probe-base-") as scratch:
        base_dir = args.base or _embedded_base(Path(scratch) / "tiny")
        items = build_probe(args.items, args.seed, workers=args.workers)
        reference = grade_bodies(items, [item.reference_body for item in items], args.workers)
        started = time.perf_counter()
        base = run_probe(base_dir, None, items, args.max_new_tokens, args.workers)
        base_seconds = time.perf_counter() - started
        tuned = run_probe(base_dir, args.adapter, items, args.max_new_tokens, args.workers)
    comparison = compare(base, tuned)
    modules = sorted({item.module for item in items})
    print(f"items:                    {len(items)} from {', '.join(modules)} (seed {args.seed})")
    print(f"reference bodies:         {sum(o.passed for o in reference)}/{len(items)} passed")
    print(f"base pass rate:           {base.pass_rate:.3f}  ({base.passed}/{len(items)}, "
          f"{base_seconds:.0f} s)  {base_dir}")
    print(f"adapter pass rate:        {tuned.pass_rate:.3f}  ({tuned.passed}/{len(items)})  "
          f"{args.adapter or '(none: the base again)'}")
    print(f"relative loss:            {comparison['relative_loss']:+.3f}  "
          f"(regression above {comparison['max_relative_loss']:.2f}: {comparison['regression']})")
    if args.json:
        args.json.write_text(json.dumps({"base": base.to_dict(), "adapter": tuned.to_dict(),
                                         "compare": comparison}, indent=1))


def _embedded_base(out: Path) -> Path:
    from apprentice.base.tiny import build_tiny_base

    build_tiny_base(out, size="tiny", seed=0)
    return out


if __name__ == "__main__":
    main()
