"""Language detection for routing: accuracy on the labelled requests, speed, and each signal alone."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from apprentice.errors import DetectionInputError, UnknownNameError
from apprentice.serving.detect import DEFAULT_LANGUAGES, Detection, detect_language, needles
from apprentice.serving.detect_signals import SIGNALS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "detect"


def load_requests(directory: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


def confusion_of(requests: list[dict]) -> Counter:
    return Counter((request["expected"], detect_language(request["messages"]).language) for request in requests)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# --- the labelled set

def test_labelled_set_is_large_and_varied():
    requests = load_requests(FIXTURES)
    per_label = Counter(request["expected"] for request in requests)
    assert all(per_label[name] >= 60 for name in DEFAULT_LANGUAGES), per_label
    assert per_label[None] >= 20
    kinds = {request["kind"] for request in requests if request["expected"] == "rust"}
    assert {"code", "error", "prose_file", "prose_named", "tool", "snippet", "hard", "multi"} <= kinds


def test_accuracy_per_language_and_overall_is_at_least_95_percent():
    requests = load_requests(FIXTURES)
    confusion = confusion_of(requests)
    for label in (*DEFAULT_LANGUAGES, None):
        total = sum(count for (expected, _), count in confusion.items() if expected == label)
        assert confusion[label, label] / total >= 0.95, (label, confusion)
    assert sum(confusion[label, label] for label in (*DEFAULT_LANGUAGES, None)) / len(requests) >= 0.95


def test_unseen_requests_never_get_a_wrong_language():
    # Written after the signals were tuned and measured once (84.1%): a regression guard. A miss
    # there falls back to the default adapter; naming another language would be worse, so none may.
    confusion = confusion_of(load_requests(FIXTURES / "unseen"))
    wrong = {pair: count for pair, count in confusion.items() if pair[1] not in (pair[0], None)}
    assert not wrong
    assert sum(count for (expected, got), count in confusion.items() if expected == got) / confusion.total() >= 0.8


def test_detection_takes_under_2_ms_per_request_on_average():
    requests = load_requests(FIXTURES)
    detect_language(requests[0]["messages"])  # patterns compiled, grammars loaded
    passes = []
    for _ in range(3):  # the best pass: the machine is shared, contention is not detection's cost
        start = time.perf_counter()
        for request in requests:
            detect_language(request["messages"])
        passes.append((time.perf_counter() - start) / len(requests))
    assert min(passes) < 0.002, passes


def test_needles_never_skip_a_pattern_that_would_match():
    texts = [message["content"] for request in load_requests(FIXTURES) for message in request["messages"]
             if isinstance(message.get("content"), str)]
    for signal in SIGNALS:
        literals = needles(signal.pattern)
        for text in texts:
            if signal.pattern.search(text):
                assert not literals or any(literal in text for literal in literals), (signal.pattern.pattern, text)
    assert needles(SIGNALS[0].pattern)  # the table's patterns do yield needles


# --- each signal on its own

@pytest.mark.parametrize(("text", "language", "reason"), [
    ("Why is src/engine/world.rs so slow to compile?", "rust", "file extension .rs"),
    ("the handler in api/users.go returns 404", "go", "file extension .go"),
    ("tests/test_money.py fails on CI", "python", "file extension .py"),
    ("components/Card.tsx re-renders twice", "typescript", "file extension .tsx"),
    ("go.mod says 1.21 but CI has 1.20", "go", "project file go.mod"),
    ("my tsconfig.json has strict on", "typescript", "project file tsconfig.json"),
    ("Cargo.toml: how do I enable a feature", "rust", "project file Cargo.toml"),
])
def test_file_names_and_extensions(text, language, reason):
    detection = detect_language([user(text)])
    assert detection.language == language
    assert reason in detection.evidence


def test_extensions_come_from_the_requested_languages_only():
    assert detect_language([user("look at main.rs")], languages=("python", "go")).language is None
    with pytest.raises(UnknownNameError, match="rustt"):
        detect_language([user("main.rs")], languages=("rustt",))


@pytest.mark.parametrize(("info", "language"), [("rust", "rust"), ("py", "python"), ("ts", "typescript"),
                                                ("golang", "go"), ("js", "typescript")])
def test_fenced_block_info_string(info, language):
    detection = detect_language([user(f"what does this do?\n```{info}\nx\n```")])
    assert detection.language == language
    assert f"fenced code block ```{info}" in detection.evidence


@pytest.mark.parametrize(("code", "language"), [
    ("use std::collections::HashMap;", "rust"),
    ('import (\n\t"fmt"\n\t"os"\n)', "go"),
    ("from collections import OrderedDict", "python"),
    ("import { useState } from 'react';", "typescript"),
])
def test_import_statements(code, language):
    assert detect_language([user(code)]).language == language


@pytest.mark.parametrize(("code", "language"), [
    ("fn main() {\n    let mut total = 0;\n    total += 1;\n}", "rust"),
    ("func main() {\n\tx := 5\n\tfmt.Println(x)\n}", "go"),
    ("def area(self):\n    return self.w * self.h", "python"),
    ("interface User {\n  name: string;\n}\nconst f = (u: User) => u.name;", "typescript"),
    ("def parse(items: list[str], limit: int | None = None) -> dict[str, int]:\n    return {}", "python"),
    ("type Point struct {\n\tX, Y int\n}", "go"),
    ("for (i, c) in s.chars().enumerate() {\n    count += 1;\n}", "rust"),
])
def test_syntax_one_language_owns(code, language):
    assert detect_language([user(code)]).language == language


@pytest.mark.parametrize(("output", "language"), [
    ("error[E0382]: borrow of moved value: `v`", "rust"),
    ("panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:", "go"),
    ('Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nKeyError: 1', "python"),
    ("TypeError: user.getName is not a function", "typescript"),
    ("error TS2322: Type 'number' is not assignable to type 'string'.", "typescript"),
])
def test_toolchain_diagnostics(output, language):
    assert detect_language([user(output)]).language == language


def test_tool_call_arguments_as_dict_and_as_json_text():
    as_dict = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "read_file", "arguments": {"path": "pkg/queue/queue.go"}}}]}
    as_json = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": "write_file", "arguments": json.dumps({"path": "src/lib.rs", "content": ""})}}]}
    assert detect_language([user("fix the bug"), as_dict]).language == "go"
    assert detect_language([user("fix the bug"), as_json]).language == "rust"


def test_recent_user_messages_outweigh_older_ones():
    python = user("def total(xs):\n    return sum(x for x in xs if x is not None)")
    rust = user("fn total(xs: &[i64]) -> i64 {\n    xs.iter().sum()\n}")
    assert detect_language([python, {"role": "assistant", "content": "ok"}, rust]).language == "rust"
    assert detect_language([rust, {"role": "assistant", "content": "ok"}, python]).language == "python"


def test_the_language_the_user_comes_from_is_not_the_one_asked_about():
    assert detect_language([user("What's the Go equivalent of Python's defaultdict?")]).language == "go"


def test_grammars_break_a_close_tie():
    older = user("my python version of this is way slower")
    latest = user("fn sum_squares(v: &[i64]) -> i64 {\n    v.iter().map(|x| x * x).sum()\n}\nwhy is this faster than "
                  "the python loop?")
    detection = detect_language([older, {"role": "assistant", "content": "Can you share it?"}, latest])
    assert detection.language == "rust"
    assert any(reason.startswith("parses as rust with fewer errors") for reason in detection.evidence)


def test_no_evidence_is_no_detection():
    detection = detect_language([user("Let's go over the plan for the design review.")])
    assert detection == Detection(None, 0.0, dict.fromkeys(DEFAULT_LANGUAGES, 0.0), ())


def test_confidence_is_the_share_of_the_evidence():
    detection = detect_language([user("```rust\nfn main() {}\n```")])
    assert detection.confidence == 1.0
    assert detection.scores["rust"] > 0 and detection.scores["python"] == 0


def test_content_parts_are_read():
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}},
                                           {"type": "text", "text": "panic: runtime error: nil map"}]}
    assert detect_language([message]).language == "go"


@pytest.mark.parametrize("messages", [["hello"], [{"role": "robot", "content": "x"}],
                                      [{"role": "user", "content": 5}], {"role": "user"}])
def test_malformed_requests_are_rejected(messages):
    with pytest.raises(DetectionInputError):
        detect_language(messages)
