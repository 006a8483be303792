"""Which language a chat request is about, so the router can pick that language's adapter (SPEC §9).

`detect_language(messages)` weighs the evidence in every message — file names and extensions,
fenced blocks' info strings, imports, toolchain diagnostics, syntax one language owns, tool-call
arguments — and returns a `Detection`: the language (or `None` when nothing points anywhere, so
the router falls back to its default), how much of the evidence agrees, and the reasons. Recent
user messages count most: each older user turn is worth `TURN_DECAY` of the one after it. When
the two best languages are close, the code itself is parsed with both tree-sitter grammars and
the one that parses it with fewer errors gets a bonus. The patterns live in `detect_signals.py`.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import re._constants as sre_ops
import re._parser as sre_parser
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Language as Grammar
from tree_sitter import Parser

from apprentice.errors import DetectionInputError
from apprentice.languages.registry import get_language
from apprentice.serving.detect_signals import (
    EXTENSION_WEIGHT,
    EXTRA_EXTENSION_WEIGHT,
    EXTRA_EXTENSIONS,
    FENCE_LANGUAGES,
    FENCE_WEIGHT,
    SIGNALS,
    Signal,
)

DEFAULT_LANGUAGES = ("python", "rust", "typescript", "go")
ROLE_WEIGHTS = {"user": 1.0, "assistant": 0.6, "tool": 0.6, "function": 0.6, "system": 0.5, "developer": 0.5}
TOOL_CALL_WEIGHT = 0.8  # paths in read_file/write_file arguments name the repository's own files
TURN_DECAY = 0.6  # each older user turn counts this much of the next one: the latest question leads
MIN_SCORE = 2.0  # below this the best language rests on one weak hint (a lone `let`): no detection
TIE_RATIO = 0.7  # runner-up within 70% of the best: ask the grammars
TIE_WEIGHT = 2.0
MAX_MESSAGES = 16  # older turns have decayed to nothing, and long agent transcripts must stay fast
HEAD_CHARS, TAIL_CHARS = 4000, 2000  # the question and code come first, a traceback's cause last
CHAR_BUDGET = 10_000  # newest first; regexes cost ~2 ms per 1000 chars of code, so a transcript is bounded
MAX_LINE_CHARS = 300  # code lines are short; longer ones (minified bundles, base64, logs) make `[^\n]*` quadratic
MAX_PARSE_CHARS = 800  # error recovery on a foreign grammar costs ~1 ms per KB
EVIDENCE_SIZE = 5

_FENCE_INFO = re.compile(r"^\s*```[ \t]*([\w+#.-]+)", re.MULTILINE)
_FENCE_BODY = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LONG_LINE = re.compile(rf"[^\n]{{{MAX_LINE_CHARS + 1}}}")
_CODE_LINE = re.compile(r"[;{}()=:,\]]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Detection:
    """The detected `language` (`None`: no evidence), its share of the evidence, scores, reasons."""

    language: str | None
    confidence: float  # best score / sum of scores, in [0, 1]; 0.0 when there is no detection
    scores: dict[str, float]  # every candidate language, evidence weight after recency weighting
    evidence: tuple[str, ...]  # the strongest reasons for `language`, strongest first


def detect_language(messages: list[dict], languages: Sequence[str] = DEFAULT_LANGUAGES) -> Detection:
    """Detect the programming language of a chat request (OpenAI-style `messages`) among `languages`.

    Messages may carry string content or a list of content parts; assistant `tool_calls` may carry
    arguments as a dict or as JSON text. Raises `UnknownNameError` for an unregistered language and
    `DetectionInputError` for a message that is not a chat message.
    """
    signals = _signals_for(tuple(languages))
    scores = dict.fromkeys(languages, 0.0)
    reasons: dict[tuple[str, str], float] = defaultdict(float)
    code = ""
    for text, weight in _weighted_texts(messages):
        _score_text(text, weight, signals, scores, reasons)
        code = code or _code_of(text)
    _break_tie(scores, code, reasons)
    return _decide(scores, reasons)


def _weighted_texts(messages: list[dict]) -> Iterator[tuple[str, float]]:
    """(text, weight) for each message content and tool-call argument, newest first."""
    if not isinstance(messages, list):
        raise DetectionInputError(f"messages must be a list of chat messages, got {type(messages).__name__}")
    decay, budget = 1.0, CHAR_BUDGET
    for message in reversed(messages[-MAX_MESSAGES:]):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLE_WEIGHTS:
            raise DetectionInputError(
                f"not a chat message: {str(message)[:80]!r} (need a dict whose role is one of {', '.join(ROLE_WEIGHTS)})")
        texts = [(_content_text(message.get("content")), ROLE_WEIGHTS[role] * decay)]
        texts += [(argument, TOOL_CALL_WEIGHT * decay) for argument in _tool_call_arguments(message)]
        for text, weight in texts:
            text = _clip(text)[:budget]
            if text:
                budget -= len(text)
                yield text, weight
        if role == "user":
            decay *= TURN_DECAY


def _content_text(content: object) -> str:
    """The text of a message's content: a string, `None`, or a list of parts (only text parts count)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "\n".join(part.get("text") or "" for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    raise DetectionInputError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def _tool_call_arguments(message: dict) -> Iterator[str]:
    """Every string argument of the message's tool calls (paths, patches, file contents)."""
    for call in message.get("tool_calls") or ():
        arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                # A model's broken JSON is still text naming files: read it as it is.
                yield arguments
                continue
        if isinstance(arguments, dict):
            yield from (value for value in arguments.values() if isinstance(value, str))


def _clip(text: str) -> str:
    """The head and tail of a long text, every line cut to `MAX_LINE_CHARS`: bounded work per message."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]
    if _LONG_LINE.search(text):
        text = "\n".join(line[:MAX_LINE_CHARS] for line in text.split("\n"))
    return text


@functools.cache
def _signals_for(languages: tuple[str, ...]) -> tuple[tuple[Signal, frozenset[str]], ...]:
    """The signals of `languages` (registry extensions, extra extensions, the table), each with its needles."""
    signals = []
    for name in languages:
        extensions = get_language(name).extensions  # raises UnknownNameError with the known names
        signals.append(_extension_signal(name, extensions, EXTENSION_WEIGHT))
        if EXTRA_EXTENSIONS.get(name):
            signals.append(_extension_signal(name, EXTRA_EXTENSIONS[name], EXTRA_EXTENSION_WEIGHT))
    signals.extend(signal for signal in SIGNALS if signal.language in languages)
    return tuple((signal, needles(signal.pattern)) for signal in signals)


def needles(pattern: re.Pattern[str]) -> frozenset[str]:
    """Literal strings one of which every match of `pattern` contains; empty when none is known.

    Why: `re` scans a pattern that opens with `\\b` or an alternation position by position (~30 µs
    per KB), but `str.__contains__` finds a literal at memory speed, so a text that holds none of
    a signal's needles skips its regex. Read from the parsed pattern, so they cannot drift from it.
    """
    found = _sequence_needles(sre_parser.parse(pattern.pattern, pattern.flags).data)
    return frozenset(found or ())


def _sequence_needles(items: list) -> set[str] | None:
    """The best needle set of a sequence: its longest literal run, or a group every branch of which has one."""
    candidates, run = [], ""
    for op, argument in items:
        if op is sre_ops.LITERAL:
            run += chr(argument)
            continue
        candidates.append({run} if run else None)
        run = ""
        if op is sre_ops.SUBPATTERN:
            candidates.append(_sequence_needles(argument[3].data))
        elif op is sre_ops.BRANCH:
            branches = [_sequence_needles(branch.data) for branch in argument[1]]
            candidates.append(set().union(*branches) if all(branches) else None)
        elif op is sre_ops.IN and all(kind is sre_ops.LITERAL for kind, _ in argument):
            candidates.append({chr(code) for _, code in argument})  # `[Gg]`: one of these characters
        elif op in (sre_ops.MAX_REPEAT, sre_ops.MIN_REPEAT) and argument[0] >= 1:
            candidates.append(_sequence_needles(argument[2].data))
    candidates.append({run} if run else None)
    usable = [candidate for candidate in candidates if candidate]
    return max(usable, key=lambda candidate: min(map(len, candidate)), default=None)


def _extension_signal(language: str, extensions: Sequence[str], weight: float) -> Signal:
    alternatives = "|".join(re.escape(extension) for extension in sorted(extensions, key=len, reverse=True))
    # a file name, not an attribute access or a call: `main.rs`, `src/app.py:12`, never `self.ts(`
    pattern = re.compile(rf"(?<![\w.])[\w./@-]*\w({alternatives})(?![\w(]|\.\w)")
    return Signal(language, pattern, weight, "file extension {}")


def _score_text(text: str, weight: float, signals: tuple[tuple[Signal, frozenset[str]], ...],
                scores: dict[str, float], reasons: dict[tuple[str, str], float]) -> None:
    """Add the weighted evidence of one text to `scores`, and each reason's share to `reasons`."""
    for info in _FENCE_INFO.findall(text):
        language = FENCE_LANGUAGES.get(info.lower())
        if language in scores:
            scores[language] += FENCE_WEIGHT * weight
            reasons[language, f"fenced code block ```{info}"] += FENCE_WEIGHT * weight
    for signal, literals in signals:
        if literals and not any(literal in text for literal in literals):
            continue
        matches = {match.group(match.lastindex or 0) for match in signal.pattern.finditer(text)}
        if matches:
            # distinct matches saturate: forty `self.x` say no more than three different idioms
            gained = signal.weight * weight * (1 + 0.5 * (min(len(matches), 5) - 1))
            scores[signal.language] += gained
            reasons[signal.language, signal.reason.format(min(matches, key=len).strip()[:40])] += gained


def _code_of(text: str) -> str:
    """The code in a text for the grammar tie-break: its fenced blocks, or the text if it reads as code."""
    blocks = _FENCE_BODY.findall(text)
    if blocks:
        return "\n".join(blocks)[:MAX_PARSE_CHARS]
    return text[:MAX_PARSE_CHARS] if len(_CODE_LINE.findall(text)) >= 2 else ""


def _break_tie(scores: dict[str, float], code: str, reasons: dict[tuple[str, str], float]) -> None:
    """When the runner-up is close to the best, favour the grammar that parses the code with fewer errors."""
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    if len(ranked) < 2 or not code or scores[ranked[0]] == 0 or scores[ranked[1]] < TIE_RATIO * scores[ranked[0]]:
        return
    errors = {name: _parse_errors(name, code) for name in ranked[:2]}
    better, worse = sorted(errors, key=errors.__getitem__)
    if errors[better] < errors[worse]:
        scores[better] += TIE_WEIGHT
        reasons[better, f"parses as {better} with fewer errors ({errors[better]} vs {errors[worse]})"] += TIE_WEIGHT


def _parse_errors(language: str, code: str) -> int:
    """How many ERROR and MISSING nodes the language's grammar leaves in `code`."""
    stack, errors = [_parser(language).parse(code.encode()).root_node], 0
    while stack:
        node = stack.pop()
        errors += node.is_error or node.is_missing
        if node.has_error:
            stack.extend(node.children)
    return errors


@functools.cache
def _parser(language: str) -> Parser:
    definition = get_language(language)
    # the mutation rules name the grammar's entry point (TypeScript has two: `language_typescript`, tsx)
    module, entry = definition.mutation.grammar if definition.mutation else (definition.grammar, "language")
    return Parser(Grammar(getattr(importlib.import_module(module), entry)()))


def _decide(scores: dict[str, float], reasons: dict[tuple[str, str], float]) -> Detection:
    """The best-scoring language if its evidence reaches `MIN_SCORE`, else no detection."""
    scores = {name: round(score, 3) for name, score in scores.items()}
    best = max(scores, key=scores.__getitem__) if scores else None
    if best is None or scores[best] < MIN_SCORE:
        return Detection(None, 0.0, scores, ())
    ranked = sorted(((share, reason) for (name, reason), share in reasons.items() if name == best), reverse=True)
    confidence = round(scores[best] / sum(scores.values()), 3)
    return Detection(best, confidence, scores, tuple(reason for _, reason in ranked[:EVIDENCE_SIZE]))
