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
                            parse: Parser | None = None) -> FormatReport:
    """Generate the next assistant turn for every probe and count those that parse cleanly."""
    parse = parse or default_parser()
    was_training = model.training
    model.eval()
    parsed, errors = 0, []
    for probe in probes:
        prompt, completion = generate_turn(model, tokenizer, probe, max_new_tokens)
        error = parse(tokenizer, completion, prompt).format_error
        if error is None:
            parsed += 1
        elif len(errors) < 5:
            errors.append(f"{probe.task_id}: {error}")
    model.train(was_training)
    return FormatReport(len(probes), parsed, tuple(errors))


def generate_turn(model, tokenizer, probe: FormatProbe, max_new_tokens: int) -> tuple[str, str]:
    """(prompt text, completion text with special tokens) for one probe, decoded greedily."""
    prompt = tokenizer.apply_chat_template(list(probe.messages), tools=list(probe.tools) or None,
                                           add_generation_prompt=True, tokenize=False)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(model.device)
    output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                            do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return prompt, tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=False)
