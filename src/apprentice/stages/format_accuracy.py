"""Tool-call format accuracy (SPEC §5, §7): does the model write assistant turns that parse?

For held-out conversation prefixes the model generates the next assistant turn (greedy); the
agent's parser reads it back. The share that parses without a format error is the accuracy the
SFT gate checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from apprentice.stages.sft_data import FormatProbe

# parse(tokenizer, completion_text, prompt_text) -> an object with `format_error: str | None`
Parser = Callable[[object, str, str], object]


@dataclass(frozen=True)
class FormatReport:
    """How many generated turns parsed, and a few of the errors for the logs."""

    probes: int
    parsed: int
    examples: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        """Share of generated turns that parsed (0.0 for no probes)."""
        return self.parsed / self.probes if self.probes else 0.0


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
    parsed, errors = 0, []
    for start in range(0, len(probes), batch_size):
        chunk = probes[start:start + batch_size]
        for probe, (prompt, completion) in zip(chunk, generate_turns(model, tokenizer, chunk, max_new_tokens), strict=True):
            error = parse(tokenizer, completion, prompt).format_error
            if error is None:
                parsed += 1
            elif len(errors) < 5:
                errors.append(f"{probe.task_id}: {error}")
    model.train(was_training)
    return FormatReport(len(probes), parsed, tuple(errors))


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
