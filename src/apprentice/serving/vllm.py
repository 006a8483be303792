"""The `vllm serve` command that serves the same registry on a GPU: the base plus every production LoRA.

vLLM's multi-LoRA server (`--enable-lora`) takes `--lora-modules name=path` pairs and needs the
largest rank up front (`--max-lora-rank`, one of vLLM's allowed values, so the adapters' largest
rank is rounded up to the next of them) and how many adapters one batch may mix (`--max-loras`).
Requests then name a target in `model` exactly as with apprentice's own router, which stays the
place for language detection and hot reload.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from apprentice.errors import ServingError

# vLLM's LoRAConfig.max_lora_rank accepts only these (vllm/config/lora.py, MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def lora_rank(adapter_dir: Path) -> int:
    """The LoRA rank `r` recorded in an adapter's adapter_config.json (the largest, with rank_pattern)."""
    config_file = Path(adapter_dir) / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ServingError(f"cannot read the LoRA rank from '{config_file}' ({error}); "
                           "pass the adapter/ directory of a finished stage") from error
    ranks = [config.get("r"), *(config.get("rank_pattern") or {}).values()]
    ranks = [rank for rank in ranks if isinstance(rank, int) and rank > 0]
    if not ranks:
        raise ServingError(f"'{config_file}' records no LoRA rank 'r'; it is not a LoRA adapter config")
    return max(ranks)


def vllm_max_lora_rank(rank: int) -> int:
    """The smallest rank vLLM accepts for `--max-lora-rank` that holds `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ServingError(f"LoRA rank {rank} is above vLLM's largest --max-lora-rank {VLLM_LORA_RANKS[-1]}; "
                       "serve it with apprentice's router or retrain with a smaller rank")


def vllm_command(base_model: str | Path, adapters: dict[str, Path], max_loras: int | None = None) -> str:
    """`vllm serve <base> --enable-lora --lora-modules name=path ... --max-loras N --max-lora-rank R`.

    `adapters` maps the served name (a target) to its adapter directory; `max_loras` defaults to
    all of them, so any mix of targets can share a batch.
    """
    if not adapters:
        raise ServingError("no production adapters to serve; promote one first (apprentice registry promote <version>)")
    rank = vllm_max_lora_rank(max(lora_rank(path) for path in adapters.values()))
    modules = [shlex.quote(f"{name}={Path(path).resolve()}") for name, path in sorted(adapters.items())]
    parts = ["vllm", "serve", shlex.quote(str(base_model)), "--enable-lora", "--lora-modules", *modules,
             "--max-loras", str(max_loras or len(adapters)), "--max-lora-rank", str(rank)]
    return " ".join(parts)
