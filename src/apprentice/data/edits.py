"""The gold fix as the smallest search/replace blocks that still apply, instead of a unified diff.

A unified diff carries three context lines on each side of every change and line-numbered hunk
headers; the agent must write all of it as one JSON string. The same edit as search/replace
blocks (`apprentice.agent.patching`) keeps only as much context as makes each SEARCH text occur
once in its file: a one-line fix is usually one line of SEARCH and one of REPLACE. Shorter gold
edits are shorter assistant turns to learn, and the same tool call a model is asked to make.

    blocks = search_replace_fix(fix_diff, read=lambda path: (workspace / path).read_text())

Returns None when the diff cannot be expressed as blocks (a new or deleted file, a missing final
newline, a hunk that does not match the file): the caller keeps the unified diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apprentice.agent.patching import SEARCH_MARK


@dataclass(frozen=True)
class _Hunk:
    path: str
    lines: tuple[tuple[str, str], ...]  # (tag, text): tag is " ", "-" or "+"


def search_replace_fix(fix: str, read: Callable[[str], str | None], trailing: bool = False) -> str | None:
    """`fix` (a unified diff) as search/replace blocks with minimal unique context, or None.

    Ties between as many lines of context before as after go to the lines before. With `trailing`, lines
    after come first, however many: a block that starts at the changed line, the line a level-0 statement names.
    """
    hunks = _hunks(fix)
    if not hunks:
        return None
    texts: dict[str, str] = {}
    blocks = []
    for hunk in hunks:
        if hunk.path not in texts:
            text = read(hunk.path)
            if text is None:
                return None
            texts[hunk.path] = text
        block = _smallest_block(hunk, texts[hunk.path], trailing)
        if block is None:
            return None
        search, replace = block
        texts[hunk.path] = texts[hunk.path].replace(search, replace, 1)
        blocks.append(f"{hunk.path}\n{SEARCH_MARK}\n{search}=======\n{replace}>>>>>>> REPLACE")
    return "\n".join(blocks)


def _smallest_block(hunk: _Hunk, text: str, trailing: bool = False) -> tuple[str, str] | None:
    """(search, replace) with the fewest context lines whose search occurs exactly once in `text`."""
    lead = _context_run(hunk.lines)
    trail = _context_run(tuple(reversed(hunk.lines)))
    if lead == len(hunk.lines):  # a hunk of context only changes nothing
        return None
    options = sorted(((k, j) for k in range(lead + 1) for j in range(trail + 1)), key=lambda kj: kj if trailing else (kj[0] + kj[1], kj[1]))
    for keep_lead, keep_trail in options:
        body = hunk.lines[lead - keep_lead:len(hunk.lines) - (trail - keep_trail)]
        search = "".join(line + "\n" for tag, line in body if tag != "+")
        replace = "".join(line + "\n" for tag, line in body if tag != "-")
        if search and text.count(search) == 1:
            return search, replace
    return None


def _context_run(lines: tuple[tuple[str, str], ...]) -> int:
    count = 0
    for tag, _ in lines:
        if tag != " ":
            break
        count += 1
    return count


def _hunks(fix: str) -> list[_Hunk] | None:
    """The hunks of a unified diff; None for anything blocks cannot express."""
    hunks: list[_Hunk] = []
    path, current = "", None
    for line in fix.splitlines():
        if line.startswith(("new file mode", "deleted file mode", "\\ No newline")):
            return None
        if line.startswith("--- "):
            continue
        if line.startswith("+++ "):
            target = line[4:].strip()
            if target == "/dev/null":
                return None
            path = target[2:] if target.startswith("b/") else target
        elif line.startswith("@@"):
            current = []
            hunks.append(_Hunk(path, current))  # filled in place below, frozen once returned
        elif current is not None and line[:1] in (" ", "-", "+"):
            current.append((line[:1], line[1:]))
        elif current is not None and line == "":
            current.append((" ", ""))  # a blank context line whose leading space was stripped
    return [_Hunk(h.path, tuple(h.lines)) for h in hunks] or None
