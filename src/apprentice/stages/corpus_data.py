"""Pretraining data: the stdlib corpus (held-out modules excluded) as one token stream cut into blocks.

Files are tokenized one after another, each followed by the end-of-text token, until the stream
holds enough tokens for every phase of the context-length curriculum; each phase takes its own
consecutive stretch of the stream, so no block is seen in two phases.

With `copy_fraction` > 0, that share of each file's stretches of lines is followed by a copy
exercise: a few of its lines again, as a JSON string. An agent's edit quotes lines it has just
read, inside a tool call's JSON arguments; in plain code a line seldom repeats, so a miniature
trained on code alone never learns to copy from its context (the copy probe measures it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from apprentice.errors import StageError
from apprentice.tasks.corpus import stdlib_sources

STRETCH_LINES = 24  # lines of a file between copy exercises
QUOTED_LINES = (1, 3)  # lines a copy exercise quotes, fewest to most
FROM_TOP = 0.5  # share of exercises that quote the stretch's first lines: a read that starts at the named line


def token_stream(tokenizer, files: Iterable[Path], needed: int, copy_fraction: float = 0.0, seed: int = 0) -> list[int]:
    """At least `needed` tokens (or the whole corpus if it is smaller) from `files`, in order."""
    separator = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rng = random.Random(seed)
    stream: list[int] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if copy_fraction > 0:
            text = with_copy_exercises(text, copy_fraction, rng)
        stream.extend(tokenizer(text, add_special_tokens=False).input_ids)
        stream.append(separator)
        if len(stream) >= needed:
            break
    return stream


def with_copy_exercises(text: str, fraction: float, rng: random.Random) -> str:
    """`text` with a share `fraction` of its stretches of lines each followed by a quote of some of its lines."""
    lines = text.splitlines(keepends=True)
    pieces: list[str] = []
    for start in range(0, len(lines), STRETCH_LINES):
        stretch = lines[start:start + STRETCH_LINES]
        pieces.extend(stretch)
        if rng.random() < fraction and (exercise := copy_exercise(stretch, rng)):
            pieces.append(exercise)
    return "".join(pieces)


def copy_exercise(stretch: list[str], rng: random.Random) -> str:
    """One quote of 1-3 non-blank lines of `stretch`, as a JSON string on a line of its own; "" if all are blank."""
    candidates = [n for n, line in enumerate(stretch) if line.strip()]
    if not candidates:
        return ""
    first = candidates[0] if rng.random() < FROM_TOP else rng.choice(candidates)
    quoted = "".join(stretch[first:first + rng.randint(*QUOTED_LINES)])
    ending = "" if stretch[-1].endswith("\n") else "\n"
    return f"{ending}{json.dumps({'quote': quoted})}\n"


def curriculum_blocks(stream: list[int], lengths: list[int], blocks_per_length: int) -> Iterator[tuple[int, list[list[int]]]]:
    """(length, blocks) per curriculum phase: up to `blocks_per_length` consecutive blocks each."""
    offset = 0
    for length in lengths:
        available = (len(stream) - offset) // length
        count = min(blocks_per_length, available)
        if count == 0:
            raise StageError(f"the corpus ran out at {len(stream):,} tokens before the {length}-token phase; "
                             "lower pretrain.steps_per_length or pretrain.batch_size, or add files to the corpus")
        yield length, [stream[offset + i * length: offset + (i + 1) * length] for i in range(count)]
        offset += count * length


def corpus_files(seed: int | None = None) -> list[Path]:
    """The pretraining corpus: the stdlib source minus held-out modules (shuffled by `seed` if given)."""
    files = list(stdlib_sources())
    if not files:
        raise StageError("the stdlib corpus is empty (no .py files found); check the Python installation")
    if seed is not None:
        random.Random(seed).shuffle(files)
    return files
