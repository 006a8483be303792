"""Model backends: something that answers a conversation with one assistant turn.

`LocalBackend` generates with a transformers model (optionally with PEFT adapters) through the
base's own chat template, stopping at the format's end-of-turn tokens, and parses the result with
`apprentice.agent.chat`. `OpenAIBackend` asks an OpenAI-compatible server (a teacher API, vLLM,
LM Studio, Ollama, llama.cpp) with the tools in the request and reads its tool calls back.
Either way a reply that does not parse is a `Reply` with `format_error` set, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from apprentice.agent.chat import parse_completion, render_prompt, stop_strings
from apprentice.agent.openai_messages import from_openai_message, to_openai_messages
from apprentice.errors import BackendError, DataError


@dataclass(frozen=True)
class Reply:
    """One assistant turn: the parsed message, why it is malformed (None if not), the raw text, token counts."""

    message: dict
    format_error: str | None
    completion_text: str
    prompt_tokens: int
    completion_tokens: int


class Backend(Protocol):
    """Anything that answers `messages` (our message shape) with one assistant turn, `tools` offered."""

    def respond(self, messages: list[dict], tools: list[dict]) -> Reply: ...


class LocalBackend:
    """A local transformers model (plus optional PEFT adapter), greedy at temperature 0, sampled above."""

    source = "self"  # the Trajectory.source of episodes it plays

    def __init__(self, model_dir: Path, adapter: Path | None = None, temperature: float = 0.0,
                 max_new_tokens: int = 256, seed: int = 0):
        import torch

        from apprentice.base.attention import fused_attention_for
        from apprentice.base.load import load_base, read_model_config

        # gpt-oss off CUDA: the fused sink kernel, the same tokens out as eager, evaluations 1.2x faster (batched_turns.py).
        attention = fused_attention_for(read_model_config(Path(model_dir)), torch.cuda.is_available())
        model, tokenizer = load_base(Path(model_dir), attn_implementation=attention)
        if adapter is not None:
            model = _with_adapter(model, Path(adapter))
        self._setup(model, tokenizer, temperature, max_new_tokens, seed)

    @classmethod
    def from_model(cls, model, tokenizer, temperature: float = 0.0, max_new_tokens: int = 256,
                   seed: int = 0) -> LocalBackend:
        """A backend around an already-loaded model and tokenizer (GRPO rollouts, evaluation)."""
        backend = cls.__new__(cls)
        backend._setup(model, tokenizer, temperature, max_new_tokens, seed)
        return backend

    def _setup(self, model, tokenizer, temperature: float, max_new_tokens: int, seed: int) -> None:
        if temperature < 0 or max_new_tokens <= 0:
            raise BackendError(f"temperature {temperature} must be >= 0 and max_new_tokens {max_new_tokens} > 0")
        self.model, self.tokenizer = model, tokenizer
        self.temperature, self.max_new_tokens, self.seed = temperature, max_new_tokens, seed
        self.stop_token_ids = stop_token_ids(model, tokenizer)
        self._calls = 0

    def respond(self, messages: list[dict], tools: list[dict]) -> Reply:
        """Generate one turn after the rendered conversation and parse it."""
        return self.respond_many([(messages, tools)])[0]

    def respond_many(self, conversations: list[tuple[list[dict], list[dict]]]) -> list[Reply]:
        """One turn for each (messages, tools), decoded together in one left-padded batch.

        Greedy rows come out as they would one at a time (padding is masked), up to float rounding; a
        batch costs little more than its longest row on a small model, so concurrent episodes share one
        (`apprentice.agent.batching`). Sampled calls draw from one seed per call, for the whole batch.
        """
        import torch

        prompts = [render_prompt(self.tokenizer, messages, tools) for messages, tools in conversations]
        rows = [self.tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_token_ids[0]
        width = max(len(row) for row in rows)
        input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows], device=self.model.device)
        sampling = {"do_sample": False}
        if self.temperature > 0:
            # One seed per call: a rerun of the same episode samples the same turns.
            torch.manual_seed(self.seed + self._calls)
            sampling = {"do_sample": True, "temperature": self.temperature, "top_p": 1.0}
        self._calls += 1
        with torch.no_grad():
            output = self.model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=self.max_new_tokens,
                                         eos_token_id=self.stop_token_ids, pad_token_id=pad, **sampling)
        replies = []
        for prompt, row, generated in zip(prompts, rows, output[:, width:].tolist(), strict=True):
            completion = _through_first_stop(generated, self.stop_token_ids)
            text = self.tokenizer.decode(completion, skip_special_tokens=False)
            parsed = parse_completion(self.tokenizer, text, prompt)
            replies.append(Reply(parsed.message, parsed.format_error, text, len(row), len(completion)))
        return replies


def _through_first_stop(generated: list[int], stops: list[int]) -> list[int]:
    """The tokens a row generated up to its first stop token (kept); what follows is the batch's padding."""
    for index, token in enumerate(generated):
        if token in stops:
            return generated[:index + 1]
    return generated


def _with_adapter(model, adapter: Path):
    from peft import PeftModel

    if not (adapter / "adapter_config.json").is_file():
        raise BackendError(f"adapter '{adapter}' has no adapter_config.json; give a directory a stage saved")
    return PeftModel.from_pretrained(model, adapter).eval()


def stop_token_ids(model, tokenizer) -> list[int]:
    """The format's end-of-turn tokens, then the model's own end-of-sequence ids (which also stop it)."""
    ids = []
    for token in stop_strings(tokenizer):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.append(token_id)
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for token_id in eos if isinstance(eos, list) else [eos]:
        if token_id is not None and token_id not in ids:
            ids.append(token_id)
    if not ids:
        raise BackendError("the tokenizer has no end-of-turn token; give the base a chat template with one")
    return ids


class OpenAIBackend:
    """An OpenAI-compatible chat-completions server; the key is read from the environment variable named."""

    source = "teacher"

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 temperature: float = 0.0, max_tokens: int = 2048, timeout_s: float = 120.0):
        import os

        import openai

        key = os.environ.get(api_key_env) if api_key_env else "no-key"  # local servers take any key
        if not key:
            raise BackendError(
                f"environment variable {api_key_env} is not set; export it, or pass api_key_env=None for a "
                f"local server that needs no key"
            )
        self.model, self.temperature, self.max_tokens = model, temperature, max_tokens
        self._client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=1)

    def respond(self, messages: list[dict], tools: list[dict]) -> Reply:
        """One chat-completions request; a server that cannot be reached raises `BackendError`."""
        import openai

        try:
            completion = self._client.chat.completions.create(
                model=self.model, messages=to_openai_messages(messages), tools=list(tools) or openai.omit,
                temperature=self.temperature, max_tokens=self.max_tokens,
            )
        except openai.APIError as error:
            raise BackendError(f"chat completion from {self._client.base_url} failed: {error}") from error
        choice = completion.choices[0]
        message, problem = from_openai_message(choice.message.model_dump(), choice.finish_reason)
        usage = completion.usage
        return Reply(message, problem, choice.message.model_dump_json(),
                     usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)


def make_backend(base_url: str | None, model: str | None, model_dir: Path | None, *, api_key_env: str | None,
                 temperature: float) -> Backend:
    """An OpenAI-compatible backend (`base_url` + `model`) or a local one (`model_dir`), exactly one."""
    if (base_url is None) == (model_dir is None):
        raise DataError("give either --base-url (with --model) for an OpenAI-compatible server "
                        "or --model-dir for a local model, not both and not neither")
    if base_url is not None:
        if not model:
            raise DataError("--base-url needs --model (the model name the server serves)")
        return OpenAIBackend(base_url, model, api_key_env=api_key_env, temperature=temperature)
    return LocalBackend(model_dir, temperature=temperature)
