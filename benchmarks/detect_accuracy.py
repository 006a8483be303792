"""Language detection on the labelled chat requests: accuracy per language, confusion, time per request.

    .venv/bin/python benchmarks/detect_accuracy.py [--fixtures tests/fixtures/detect] [--repeat 20]

Reads every `*.jsonl` under `--fixtures` (one request a line: `messages`, `expected` language or
null), runs `detect_language` on each, and prints per-language accuracy, the confusion matrix
(rows: expected, columns: detected) and the mean wall time per request over `--repeat` passes.
Target (issue 9): >= 95% per language and overall, < 2 ms per request. Baseline in the same run:
a detector that only reads fenced blocks' info strings and file extensions (what a router that
looks at names alone would do), to show what the other signals add.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from apprentice.languages.registry import get_language
from apprentice.serving.detect import DEFAULT_LANGUAGES, detect_language
from apprentice.serving.detect_signals import FENCE_LANGUAGES

NONE = "none"


def load_requests(directory: Path) -> list[dict]:
    """Every labelled request under `directory`, in file then line order."""
    requests = []
    for path in sorted(directory.glob("*.jsonl")):
        requests.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return requests


def names_only(messages: list[dict]) -> str | None:
    """The baseline: the first fenced info string or registered file extension found, newest message first."""
    text = "\n".join(json.dumps(message) for message in reversed(messages))
    for info in re.findall(r"```([\w+-]+)", text):
        if info.lower() in FENCE_LANGUAGES:
            return FENCE_LANGUAGES[info.lower()]
    for name in DEFAULT_LANGUAGES:
        for extension in get_language(name).extensions:
            if re.search(rf"\w{re.escape(extension)}\b", text):
                return name
    return None


def accuracy_table(requests: list[dict], detect) -> tuple[dict[str, float], float, Counter]:
    """Accuracy per expected label, overall accuracy, and (expected, detected) counts."""
    confusion = Counter((request["expected"] or NONE, detect(request["messages"]) or NONE) for request in requests)
    labels = sorted({expected for expected, _ in confusion})
    per_label = {}
    for label in labels:
        total = sum(count for (expected, _), count in confusion.items() if expected == label)
        per_label[label] = confusion[label, label] / total
    overall = sum(confusion[label, label] for label in labels) / len(requests)
    return per_label, overall, confusion


def print_confusion(confusion: Counter) -> None:
    labels = [*DEFAULT_LANGUAGES, NONE]
    print("confusion (rows: expected, columns: detected)")
    print(f"{'':>12}" + "".join(f"{label:>12}" for label in labels))
    for expected in labels:
        print(f"{expected:>12}" + "".join(f"{confusion[expected, detected]:>12}" for detected in labels))


def mean_time_ms(requests: list[dict], repeat: int) -> float:
    """Mean wall time of one `detect_language` call, over `repeat` passes of the whole set."""
    detect_language(requests[0]["messages"])  # compile patterns and load grammars outside the timing
    start = time.perf_counter()
    for _ in range(repeat):
        for request in requests:
            detect_language(request["messages"])
    return (time.perf_counter() - start) / (repeat * len(requests)) * 1000


def longest_request(requests: list[dict]) -> list[dict]:
    """The worst case the caps allow: 16 messages of 6000 characters each, cut from the labelled texts."""
    corpus = "\n".join(message.get("content") or "" for request in requests for message in request["messages"]
                       if isinstance(message.get("content"), str))
    return [{"role": "user" if index % 2 else "tool", "content": corpus[index * 6000:(index + 1) * 6000]}
            for index in range(16)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path(__file__).parents[1] / "tests/fixtures/detect")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    requests = load_requests(args.fixtures)
    per_label, overall, confusion = accuracy_table(requests, lambda m: detect_language(m).language)
    base_label, base_overall, _ = accuracy_table(requests, names_only)
    print(f"{len(requests)} labelled requests from {args.fixtures}")
    print(f"{'label':>12}{'n':>6}{'detect':>10}{'names-only':>12}")
    for label, value in per_label.items():
        count = sum(n for (expected, _), n in confusion.items() if expected == label)
        print(f"{label:>12}{count:>6}{value:>10.1%}{base_label[label]:>12.1%}")
    print(f"{'overall':>12}{len(requests):>6}{overall:>10.1%}{base_overall:>12.1%}"
          f"   (detect / names-only: {overall / base_overall:.2f}x)")
    print_confusion(confusion)
    print(f"mean time per request: {mean_time_ms(requests, args.repeat):.3f} ms ({args.repeat} passes)")
    worst = longest_request(requests)
    print(f"worst case (16 messages x 6000 chars): {mean_time_ms([{'messages': worst}], args.repeat):.3f} ms")
    one_line = [{"role": "user", "content": json.dumps(worst)[:6000]}] * 16  # no newlines: a minified file
    print(f"worst case, one 6000-char line per message: {mean_time_ms([{'messages': one_line}], args.repeat):.3f} ms")
    for request in requests:
        detection = detect_language(request["messages"])
        if detection.language != request["expected"]:
            print(f"miss {request['id']} ({request['kind']}): expected {request['expected']}, "
                  f"got {detection.language} {detection.scores} {list(detection.evidence)}")


if __name__ == "__main__":
    main()
