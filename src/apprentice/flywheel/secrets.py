"""The content checks of flywheel curation: secrets that must never reach training data, and novelty.

`secret_kinds(text)` names every kind of credential found in a text. Vendor keys are matched by
their published shapes (AWS `AKIA...`, GitHub `ghp_...`/`github_pat_...`, OpenAI `sk-...`, Slack
`xox?-...`, PEM private-key headers, JWTs). A generic assignment (`api_key = "..."`,
`token: ...`, `password=...`) counts only when its value looks random (Shannon entropy of at
least 3.5 bits per character over 16+ characters), so `token = get_token()` or
`password: changeme` in ordinary code does not drop an episode.

`conversation_hash(messages)` is the novelty key: two conversations that differ only in the
developer persona (SPEC §6 rotates it), case, whitespace, or the volatile parts of tool outputs
(absolute paths, hex ids, numbers such as timings, line numbers and counts) hash the same.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable

_VENDOR_PATTERNS = {
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "openai_key": re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    "slack_token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "private_key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
_ASSIGNMENT = re.compile(
    r"(?i)\b[\w-]*(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|credential)s?\b[\"']?"
    r"\s*[:=]\s*[\"']?([A-Za-z0-9_\-+/=.~]{16,})"
)
MIN_ENTROPY_BITS = 3.5  # random 16+ character keys score 3.8-5; words and identifiers mostly under 3.5

_PATH = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)*[\w.+-]+")
_HEX = re.compile(r"\b[0-9a-f]{8,}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


def secret_kinds(text: str) -> tuple[str, ...]:
    """The kinds of credential found in `text`, sorted; empty when it looks secret-free."""
    found = {kind for kind, pattern in _VENDOR_PATTERNS.items() if pattern.search(text)}
    if any(shannon_entropy(match.group(1)) >= MIN_ENTROPY_BITS for match in _ASSIGNMENT.finditer(text)):
        found.add("generic_secret")
    return tuple(sorted(found))


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s character distribution (0 for an empty string)."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def message_texts(messages: Iterable[dict]) -> Iterable[str]:
    """Every text a conversation carries: contents, reasoning, and tool-call arguments as JSON."""
    for message in messages:
        yield message.get("content") or ""
        yield message.get("thinking") or ""
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            yield str(function.get("name", ""))
            yield json.dumps(function.get("arguments"), sort_keys=True, ensure_ascii=False)


def conversation_hash(messages: Iterable[dict]) -> str:
    """The normalised content hash of a conversation (system and developer messages left out)."""
    parts = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            continue  # the rotating persona must not make a repeated episode look new
        texts = [_normalised(text, volatile=role == "tool") for text in message_texts([message])]
        parts.append(f"{role}:{'|'.join(texts)}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _normalised(text: str, volatile: bool) -> str:
    """Lowercased with whitespace collapsed; in tool outputs, paths, hex ids and numbers made generic."""
    if volatile:
        # Tool outputs carry timings, temporary paths and line numbers that differ run to run.
        text = _PATH.sub("<path>", text)
        text = _HEX.sub("<hex>", text.lower())
        text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text.lower()).strip()
