"""Tool-call render -> parse round trip on random conversations, per chat format and parser.

    .venv/bin/python benchmarks/chat_round_trip.py [--conversations 1000] [--seed 0]

For each chat format (harmony: the embedded base's tokenizer, TRL's gpt-oss template; qwen: the
same vocabulary with TRL's qwen3 template) it renders `--conversations` random assistant turns
(reasoning, final answers, tool calls whose arguments hold unicode, quotes, newlines and nested
JSON) after a short conversation, parses each completion back, and counts exact matches. Both
parsers are measured: TRL's response template and our strict parser. Target (SPEC): 100%.
Baseline in the same run: the rate of a naive parser (one `json.loads` of the text between the
first `{` and the last `}`), to show the figure is not trivially reached.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from transformers import AutoTokenizer
from trl.chat_template_utils import qwen3_chat_template

from apprentice.agent.chat import chat_format, render_conversation, render_prompt
from apprentice.agent.roundtrip import random_turn, round_trip
from apprentice.base.tiny import build_tiny_base


def tokenizers(holder: Path) -> dict:
    """The harmony and the qwen tokenizer, both on the embedded base's vocabulary."""
    base = holder / "tiny"
    build_tiny_base(base, size="tiny", seed=0)
    harmony = AutoTokenizer.from_pretrained(base, local_files_only=True)
    qwen = AutoTokenizer.from_pretrained(base, local_files_only=True)
    qwen.chat_template = qwen3_chat_template
    return {"harmony": harmony, "qwen": qwen}


def naive_exact(tokenizer, message: dict) -> bool:
    """The baseline: does one json.loads of the outermost braces recover the first call's arguments?"""
    context = [{"role": "system", "content": "Fix the bug."}, {"role": "user", "content": "The tests fail."}]
    prompt = render_prompt(tokenizer, context, ())
    completion = render_conversation(tokenizer, [*context, message], ())[len(prompt):]
    calls = message.get("tool_calls") or []
    if not calls:
        return "{" not in completion
    try:
        parsed = json.loads(completion[completion.index("{"):completion.rindex("}") + 1])
    except (ValueError, json.JSONDecodeError):
        return False
    return parsed in (calls[0]["function"]["arguments"], {"name": calls[0]["function"]["name"],
                                                          "arguments": calls[0]["function"]["arguments"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as holder:
        formats = tokenizers(Path(holder))
    figures = []
    for name, tokenizer in formats.items():
        turns = [random_turn(random.Random(f"{args.seed}-{index}"), chat_format(tokenizer))
                 for index in range(args.conversations)]
        naive = sum(naive_exact(tokenizer, turn) for turn in turns)
        for which in ("trl", "strict"):
            started = time.perf_counter()
            failures = [trip for trip in (round_trip(tokenizer, turn, which) for turn in turns) if not trip.exact]
            seconds = time.perf_counter() - started
            exact = args.conversations - len(failures)
            print(f"{name} ({which} parser): {exact}/{args.conversations} exact "
                  f"({100 * exact / args.conversations:.1f}%), {args.conversations / seconds:.0f} turns/s; "
                  f"naive baseline {naive}/{args.conversations}")
            for trip in failures[:3]:
                print(f"  mismatch: {trip.format_error or ''} sent={trip.sent!r:.200} got={trip.received!r:.200}")
            figures.append(f"{name}: {exact}/{args.conversations}" if which == "trl" else "")
    print(", ".join(figure for figure in figures if figure))


if __name__ == "__main__":
    main()
