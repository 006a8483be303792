"""SFT data: Trajectory JSONL rendered with the base's chat template, loss on assistant tokens only.

Trajectories are tokenized here rather than by TRL from a conversational dataset: their tool
calls carry argument objects of differing shapes, which Arrow would unify into one struct (adding
`null` arguments a tool never had). Tokenizing with TRL's training template
(`get_training_chat_template`: the same template plus `{% generation %}` markers) gives the same
`assistant_masks` TRL would compute, and SFTTrainer builds labels and packs from them as usual.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from apprentice.agent.tools import schema_ordered
from apprentice.agent.trajectory import Trajectory
from apprentice.data.records import read_records
from apprentice.errors import StageError, TrajectoryFormatError


@dataclass(frozen=True)
class FormatProbe:
    """A held-out conversation prefix ending just before an assistant turn the model must write."""

    task_id: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...]


def read_trajectories(path: Path | None) -> list[Trajectory]:
    """Every trajectory in a JSONL file; StageError when the file is missing or holds none."""
    if path is None or not path.is_file():
        raise StageError(f"SFT data '{path}' does not exist; build it with the data step (Trajectory JSONL)")
    trajectories = read_records(path, Trajectory.from_json, error=TrajectoryFormatError)
    usable = [t for t in trajectories if any(m["role"] == "assistant" for m in t.messages)]
    if not usable:
        raise StageError(f"SFT data '{path}' holds no trajectory with an assistant turn ({len(trajectories)} lines); "
                         "rebuild the dataset: there is nothing to learn from")
    return usable


def training_template(tokenizer) -> str:
    """The chat template with `{% generation %}` markers, so only assistant tokens carry loss."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if has_generation_markers(tokenizer.chat_template):
        return tokenizer.chat_template
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError as error:
        raise StageError(f"the base's chat template has no {{% generation %}} markers and TRL has no training "
                         f"version of it ({error}); add the markers around assistant turns in chat_template.jinja") from None
    return patched or tokenizer.chat_template


def tokenize_trajectory(tokenizer, template: str, trajectory: Trajectory) -> dict[str, list[int]]:
    """`input_ids` and `assistant_masks` (1 on tokens the model is trained to write) of one trajectory.

    Rendered as the model meets it during the episode. gpt-oss's template drops the thinking of every
    tool-call turn once a final answer follows (history after an answer carries no chain of thought),
    so a whole trajectory rendered at once would teach tool calls with no thinking before them. The
    episode up to the answer is rendered alone (every turn's thinking kept, as it is in context while
    the agent works), then the answer is appended as the template renders it.
    """
    ids, mask = _episode_render(tokenizer, template, trajectory)
    return {"input_ids": ids, "assistant_masks": _unweighted(tokenizer, template, trajectory, ids, mask)}


def _episode_render(tokenizer, template: str, trajectory: Trajectory) -> tuple[list[int], list[int]]:
    messages = list(trajectory.messages)
    ids, mask = _render(tokenizer, template, trajectory, messages)
    final = messages[-1]
    if len(messages) < 2 or final["role"] != "assistant" or final.get("tool_calls"):
        return ids, mask
    history, history_mask = _render(tokenizer, template, trajectory, messages[:-1])
    without_thinking = [_drop_call_thinking(message) for message in messages[:-1]]
    shown, _ = _render(tokenizer, template, trajectory, without_thinking)
    if ids[: len(shown)] != shown:  # the answer does not extend the history it was rendered with: keep the whole render
        return ids, mask
    return history + ids[len(shown):], history_mask + mask[len(shown):]


def _unweighted(tokenizer, template: str, trajectory: Trajectory, ids: list[int], mask: list[int]) -> list[int]:
    """`mask` with the tokens of every assistant turn marked `"weight": 0` taken out of the loss.

    OpenAI's fine-tuning convention: a turn kept as context but not trained, such as the wrong first
    edit of a retry trajectory (the model learns the recovery, not the mistake). A turn's tokens are
    those its render adds to the render of the turns before it.
    """
    mask = list(mask)
    for index, message in enumerate(trajectory.messages):
        if message["role"] != "assistant" or message.get("weight", 1) != 0:
            continue
        before, _ = _render(tokenizer, template, trajectory, list(trajectory.messages[:index]))
        through, _ = _render(tokenizer, template, trajectory, list(trajectory.messages[:index + 1]))
        if ids[:len(through)] != through or through[:len(before)] != before:
            raise StageError(f"{trajectory.task_id}: the chat template does not render turn {index} (weight 0) "
                             "as an extension of the turns before it; drop its `weight` key to train it")
        mask[len(before):len(through)] = [0] * (len(through) - len(before))
    return mask


def _render(tokenizer, template: str, trajectory: Trajectory, messages: list[dict]) -> tuple[list[int], list[int]]:
    rendered = tokenizer.apply_chat_template(
        schema_ordered(messages), tools=list(trajectory.tools) or None, chat_template=template,
        tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
    )
    return list(rendered["input_ids"]), list(rendered["assistant_masks"])


def _drop_call_thinking(message: dict) -> dict:
    """A tool-call turn without its thinking (what the template renders once an answer follows)."""
    if message["role"] != "assistant" or not message.get("tool_calls"):
        return message
    return {key: value for key, value in message.items() if key != "thinking"}


def tokenized_dataset(tokenizer, trajectories: list[Trajectory], max_length: int):
    """A `datasets.Dataset` of tokenized trajectories; ones longer than `max_length` are dropped."""
    from datasets import Dataset

    template = training_template(tokenizer)
    rows = [tokenize_trajectory(tokenizer, template, t) for t in trajectories]
    kept = [row for row in rows if len(row["input_ids"]) <= max_length and any(row["assistant_masks"])]
    if not kept:
        longest = max(len(row["input_ids"]) for row in rows)
        raise StageError(f"no trajectory fits sft.max_seq_length={max_length} tokens (longest {longest}) "
                         "or has assistant tokens; raise sft.max_seq_length or shorten the trajectories")
    return Dataset.from_list(kept)


def split_held_out(trajectories: list[Trajectory], share: float) -> tuple[list[Trajectory], list[Trajectory]]:
    """(train, held_out), split by a hash of the task id: stable across runs, no task on both sides."""
    def bucket(task_id: str) -> float:
        return int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    held_out = [t for t in trajectories if bucket(t.task_id) < share]
    train = [t for t in trajectories if bucket(t.task_id) >= share]
    if not held_out or not train:  # a handful of tasks can all hash to one side; keep both non-empty
        ordered = sorted(trajectories, key=lambda t: bucket(t.task_id))
        cut = max(1, min(len(ordered) - 1, round(share * len(ordered))))
        held_out, train = ordered[:cut], ordered[cut:]
    if not train:
        raise StageError(f"{len(trajectories)} trajectory is too few to hold some out; SFT needs at least 2")
    return train, held_out


def format_probes(trajectories: list[Trajectory], limit: int) -> list[FormatProbe]:
    """Up to `limit` prefixes, one per assistant turn of the held-out trajectories, in order."""
    probes = []
    for trajectory in trajectories:
        for index, message in enumerate(trajectory.messages):
            if message["role"] == "assistant" and index > 0:
                prefix = tuple(schema_ordered(list(trajectory.messages[:index])))
                probes.append(FormatProbe(trajectory.task_id, prefix, trajectory.tools))
    return probes[:limit]
