"""Preference data: PreferencePair JSONL tokenized into TRL's `prompt_ids / chosen_ids / rejected_ids`.

Pairs are rendered with the base's chat template and tokenized here (as SFT data is) because
their tool calls carry argument objects of differing shapes that an Arrow table would unify into
one struct, adding `null` arguments; TRL's DPO collator takes the token ids as they are.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from jinja2.exceptions import TemplateError

from apprentice.agent.tools import schema_ordered
from apprentice.errors import StageError

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("prompt", "chosen", "rejected")


def read_pairs(path: Path | None) -> list[dict]:
    """Every preference pair in a JSONL file; StageError for a missing file, a bad line, or no pairs."""
    if path is None or not path.is_file():
        raise StageError(f"preference data '{path}' does not exist; build it with the data step (PreferencePair JSONL)")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            pairs.append(_parse_pair(line, f"{path}:{number}"))
    if not pairs:
        raise StageError(f"preference data '{path}' holds no pairs; rebuild it: IPO needs at least one chosen/rejected pair")
    return pairs


def _parse_pair(line: str, where: str) -> dict:
    try:
        pair = json.loads(line)
    except json.JSONDecodeError as error:
        raise StageError(f"{where} is not JSON ({error.msg}); fix or drop that line") from None
    missing = [key for key in REQUIRED_KEYS if not isinstance(pair.get(key), list) or not pair.get(key)]
    if missing:
        raise StageError(f"{where}: pair without a non-empty message list for {', '.join(missing)}; "
                         "each pair needs prompt, chosen and rejected message lists")
    return pair


def tokenize_pair(tokenizer, pair: dict) -> dict[str, list[int]]:
    """`prompt_ids`, `chosen_ids`, `rejected_ids`: the completions start where the token ids part."""
    tools = pair.get("tools") or None
    prompt = _ids(tokenizer, pair["prompt"], tools, generation_prompt=True)
    chosen = _ids(tokenizer, pair["prompt"] + pair["chosen"], tools)
    rejected = _ids(tokenizer, pair["prompt"] + pair["rejected"], tools)
    # As TRL does: the prompt is the longest prefix the three renderings share (templates may re-render its end).
    split = min(_common_prefix(prompt, chosen), _common_prefix(prompt, rejected))
    return {"prompt_ids": prompt[:split], "chosen_ids": chosen[split:], "rejected_ids": rejected[split:]}


def tokenized_pairs(tokenizer, pairs: list[dict], max_length: int):
    """A `datasets.Dataset` of tokenized pairs; pairs whose prompt alone fills `max_length` are dropped."""
    from datasets import Dataset

    rows, unrenderable = [], 0
    for pair in pairs:
        try:
            rows.append(tokenize_pair(tokenizer, pair))
        except TemplateError:  # a sampled turn holding chat control text the template refuses to render
            unrenderable += 1
    kept = [row for row in rows if len(row["prompt_ids"]) < max_length and row["chosen_ids"] and row["rejected_ids"]]
    if not kept:
        raise StageError(f"no preference pair fits preference.max_length={max_length} with a non-empty chosen and "
                         f"rejected completion ({unrenderable} of {len(pairs)} could not be rendered by the chat "
                         "template); raise preference.max_length or rebuild the pairs")
    if unrenderable:
        logger.warning("%d of %d preference pairs dropped: a sampled turn holds chat control text the template "
                       "refuses to render", unrenderable, len(pairs))
    return Dataset.from_list(kept)


def _ids(tokenizer, messages: list[dict], tools, generation_prompt: bool = False) -> list[int]:
    rendered = tokenizer.apply_chat_template(schema_ordered(messages), tools=tools, add_generation_prompt=generation_prompt,
                                             tokenize=True, return_dict=True)
    return list(rendered["input_ids"])


def _common_prefix(first: list[int], second: list[int]) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length
