"""Pretraining data: the stdlib corpus (held-out modules excluded) as one token stream cut into blocks.

Files are tokenized one after another, each followed by the end-of-text token, until the stream
holds enough tokens for every phase of the context-length curriculum; each phase takes its own
consecutive stretch of the stream, so no block is seen in two phases.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from apprentice.errors import StageError
from apprentice.tasks.corpus import stdlib_sources


def token_stream(tokenizer, files: Iterable[Path], needed: int) -> list[int]:
    """At least `needed` tokens (or the whole corpus if it is smaller) from `files`, in order."""
    separator = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stream: list[int] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        stream.extend(tokenizer(text, add_special_tokens=False).input_ids)
        stream.append(separator)
        if len(stream) >= needed:
            break
    return stream


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


def corpus_files() -> list[Path]:
    """The pretraining corpus: the stdlib source minus held-out modules; StageError when empty."""
    files = list(stdlib_sources())
    if not files:
        raise StageError("the stdlib corpus is empty (no .py files found); check the Python installation")
    return files
