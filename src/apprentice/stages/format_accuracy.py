"""Tool-call format accuracy (SPEC §5, §7): does the model write assistant turns that parse?

For held-out conversation prefixes the model generates the next assistant turn (greedy); the
agent's parser reads it back. The share that parses without a format error is the accuracy the
SFT gate checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch

from apprentice.evaluation.report_card import wilson_interval
from apprentice.stages.sft_data import FormatProbe

# parse(tokenizer, completion_text, prompt_text) -> an object with `format_error: str | None`
Parser = Callable[[object, str, str], object]


@dataclass(frozen=True)
class FormatReport:
    """How many generated turns parsed (in all and per held-out task), and a few of the errors for the logs."""

    probes: int
    parsed: int
    examples: tuple[str, ...]
    by_task: tuple[tuple[str, int, int], ...] = ()  # (task id, parsed, probes), in probe order

    @property
    def accuracy(self) -> float:
        """Share of generated turns that parsed (0.0 for no probes)."""
        return self.parsed / self.probes if self.probes else 0.0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval of the accuracy (95% by default), turns counted as independent draws.

        They are not: the turns of one task tend to fail together, so the real spread is wider (`by_task`
        shows it). A few dozen probes cannot tell 92% from 97%; the interval says so next to the figure.
        """
        return wilson_interval(self.parsed, self.probes, z)


def default_parser() -> Parser:
    """The agent's completion parser (`apprentice.agent.chat.parse_completion`)."""
    from apprentice.agent.chat import parse_completion

    return parse_completion


@torch.no_grad()
def measure_format_accuracy(model, tokenizer, probes: list[FormatProbe], max_new_tokens: int,
                            parse: Parser | None = None, batch_size: int = 8) -> FormatReport:
    """Generate the next assistant turn for every probe (greedy, `batch_size` at once) and count those that parse."""
    parse = parse or default_parser()
    was_training = model.training
    model.eval()
    tried, parsed, errors = Counter(), Counter(), []
    for start in range(0, len(probes), batch_size):
        chunk = probes[start:start + batch_size]
        for probe, (prompt, completion) in zip(chunk, generate_turns(model, tokenizer, chunk, max_new_tokens), strict=True):
            error = parse(tokenizer, completion, prompt).format_error
            tried[probe.task_id] += 1
            if error is None:
                parsed[probe.task_id] += 1
            elif len(errors) < 5:
                errors.append(f"{probe.task_id}: {error}")
    model.train(was_training)
    by_task = tuple((task, parsed[task], count) for task, count in tried.items())
    return FormatReport(len(probes), sum(parsed.values()), tuple(errors), by_task)


def generate_turns(model, tokenizer, probes: list[FormatProbe], max_new_tokens: int) -> list[tuple[str, str]]:
    """(prompt text, completion text with special tokens) per probe, decoded greedily in one left-padded batch.

    Each row stops at its own end token; rows that finished early are padded, and the pad token is
    cut from their completion (it is not a token the model wrote).
    """
    prompts = [tokenizer.apply_chat_template(list(probe.messages), tools=list(probe.tools) or None,
                                             add_generation_prompt=True, tokenize=False) for probe in probes]
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    finally:
        tokenizer.padding_side = side
    # No router logits: SFTTrainer turns them on in the config for the MoE auxiliary loss, and transformers then
    # computes that loss at every decoding step against the whole attention mask (a shape error once batched).
    output = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                            output_router_logits=False)
    width = batch["input_ids"].shape[1]
    completions = []
    for row in output[:, width:].tolist():
        while row and row[-1] == tokenizer.pad_token_id:
            row.pop()
        completions.append(tokenizer.decode(row, skip_special_tokens=False))
    return list(zip(prompts, completions, strict=True))
