"""The pretrained miniature: built once by `apprentice base pretrain`, shipped, checked by its record.

A random miniature learns to copy from its context only after millions of tokens, an hour on two
CPU cores: more than a 15-minute demo has. So the pretrained base is built once, with a committed
command and seed, and shipped inside the package (`base/shipped/<size>-seed<seed>/`, ~16 MB of
safetensors). Its `record.json` holds the command that rebuilt it, the settings, what it measured
(held-out LM loss, the copy probe) and the sha256 of every file; a base whose files do not match
its record is refused.

    held-out LM loss  nats/token on the held-out stdlib modules (never in the tokenizer nor corpus)
    copy probe        share of held-out stretches of lines whose first line the model repeats
                      exactly, greedily, as the JSON string of a copy exercise (stages/corpus_data.py)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from apprentice.artifacts import atomic_directory, atomic_write_json, hash_bytes
from apprentice.errors import BaseModelError

RECORD_FILE = "record.json"
SHIPPED_DIR = Path(__file__).parent / "shipped"
PROBE_BLOCK = 512  # tokens per held-out LM loss block
PROBE_BLOCKS = 64
COPY_PROBES = 60
COPY_STRETCH = 12  # lines of context before each copy probe
# The recipe of the shipped base (`apprentice base pretrain`'s defaults): 8.2M tokens (3.2M distinct), an hour on 2 CPU
# cores (batch 8 against the demo's batch 2: benchmarks/pretrain_sft_throughput.py).
RECIPE: dict[str, Any] = {"context_lengths": [256, 1024], "steps_per_length": 800, "batch_size": 8,
                          "learning_rate": 1.5e-3, "copy_fraction": 0.3, "save_steps": 100}


def shipped_dir(size: str, seed: int) -> Path:
    """Where the pretrained miniature of `size` and `seed` is shipped (may not exist)."""
    return SHIPPED_DIR / f"{size}-seed{seed}"


def shipped_base(size: str, seed: int) -> Path:
    """The shipped pretrained miniature, checked against its record; BaseModelError when absent or altered."""
    directory = shipped_dir(size, seed)
    if not (directory / RECORD_FILE).is_file():
        raise BaseModelError(f"no pretrained base is shipped for size={size}, seed={seed} ('{directory}'); build it with "
                             f"`apprentice base pretrain --size {size} --seed {seed}` or set base.shipped: false")
    verify_record(directory)
    return directory


def file_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file of a model directory but its record, by name."""
    return {path.name: hash_bytes(path.read_bytes())
            for path in sorted(directory.iterdir()) if path.is_file() and path.name != RECORD_FILE}


def read_record(directory: Path) -> dict[str, Any]:
    """The record of a pretrained base; BaseModelError naming the file when it is unreadable."""
    try:
        record = json.loads((directory / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BaseModelError(f"'{directory / RECORD_FILE}' is not a readable base record ({error}); rebuild the base "
                             "with `apprentice base pretrain`") from error
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise BaseModelError(f"'{directory / RECORD_FILE}' lists no file hashes; rebuild the base with `apprentice base pretrain`")
    return record


def verify_record(directory: Path) -> dict[str, Any]:
    """The record, when every file it lists is there with its sha256; BaseModelError naming the first that is not."""
    record = read_record(directory)
    actual = file_hashes(directory)
    for name, expected in sorted(record["files"].items()):
        if actual.get(name) != expected:
            found = actual.get(name, "missing")
            raise BaseModelError(f"base '{directory}': {name} is {found[:19]}..., its record says {expected[:19]}...; "
                                 f"rebuild it with `{record.get('command', 'apprentice base pretrain')}`")
    return record


def pretrain_base(out: Path, size: str, seed: int, section, command: str) -> dict[str, Any]:
    """Build the miniature of `size`/`seed`, pretrain it with `section` (a PretrainSection), measure it, ship it to `out`.

    The work (random base, stage directory with checkpoints) lies next to `out` in `.<name>.work/`, so a
    killed build resumes from its last checkpoint; `out` appears whole or not at all. Returns the record.
    """
    from apprentice.base.tiny import build_tiny_base
    from apprentice.config.models import RunConfig
    from apprentice.stages import pretrain
    from apprentice.stages.result import StageInputs

    if out.exists() and any(out.iterdir()):
        raise BaseModelError(f"'{out}' exists; remove it to rebuild the pretrained base, or pass another --out")
    work = out.parent / f".{out.name}.work"
    build_tiny_base(work / "base", size=size, seed=seed)
    config = RunConfig(name="base-pretrain", pretrain=section)
    result = pretrain.run(config, StageInputs("-", work / "pretrain", work / "base"))
    measured = measure_base(result.adapter_path)
    with atomic_directory(out) as staging:
        for path in sorted(result.adapter_path.iterdir()):
            if path.is_file():
                shutil.copy2(path, staging / path.name)
        record = {
            "command": command, "size": size, "seed": seed, "python": sys.version.split()[0],
            "pretrain": section.model_dump(mode="json"),
            "training": {key: result.metrics.get(key) for key in ("first_loss", "final_loss", "tokens")},
            **measured, "files": file_hashes(staging),
        }
        atomic_write_json(staging / RECORD_FILE, record)
    shutil.rmtree(work, ignore_errors=True)
    return record


def measure_base(model_dir: Path) -> dict[str, Any]:
    """The held-out LM loss (nats/token) and the copy probe (exact repeats, with a Wilson 95% interval)."""
    import torch

    from apprentice.base.load import load_base
    from apprentice.evaluation.report_card import wilson_interval

    model, tokenizer = load_base(model_dir, dtype="float32")
    model.eval()
    with torch.no_grad():
        loss = held_out_loss(model, tokenizer)
        copied, probes = copy_probe(model, tokenizer)
    low, high = wilson_interval(copied, probes)
    return {"held_out_loss": round(loss, 4),
            "copy_probe": {"copied": copied, "probes": probes, "rate": round(copied / probes, 4) if probes else 0.0,
                           "interval": [round(low, 4), round(high, 4)]}}


def held_out_texts() -> list[str]:
    """The source of the held-out stdlib modules, in a fixed order."""
    from apprentice.tasks.corpus import is_held_out, stdlib_sources

    return [path.read_text(encoding="utf-8", errors="replace")
            for path in stdlib_sources(include_held_out=True) if is_held_out(path)]


def held_out_loss(model, tokenizer) -> float:
    """Mean next-token loss, in nats, over up to PROBE_BLOCKS blocks of the held-out modules."""
    import torch

    stream: list[int] = []
    for text in held_out_texts():
        stream.extend(tokenizer(text, add_special_tokens=False).input_ids)
    blocks = [stream[i:i + PROBE_BLOCK] for i in range(0, len(stream) - PROBE_BLOCK, PROBE_BLOCK)][:PROBE_BLOCKS]
    if not blocks:
        raise BaseModelError("the held-out modules hold too little text for a loss; check the Python installation")
    losses = [model(input_ids=torch.tensor([block]), labels=torch.tensor([block])).loss.item() for block in blocks]
    return sum(losses) / len(losses)


def copy_prompts() -> list[tuple[str, str]]:
    """(prompt, expected continuation) pairs: held-out stretches of lines, then the start of a quote of the first one."""
    prompts = []
    for text in held_out_texts():
        lines = text.splitlines(keepends=True)
        for start in range(0, len(lines) - COPY_STRETCH, COPY_STRETCH * 2):
            stretch = lines[start:start + COPY_STRETCH]
            if not stretch[0].strip():
                continue
            quote = json.dumps({"quote": stretch[0]})
            opening = '{"quote": "'
            prompts.append(("".join(stretch) + opening, quote[len(opening):]))
    step = max(1, len(prompts) // COPY_PROBES)
    return prompts[::step][:COPY_PROBES]


def copy_probe(model, tokenizer) -> tuple[int, int]:
    """(exact repeats, probes): greedy continuations that reproduce the quoted line through its closing quote."""

    copied = 0
    prompts = copy_prompts()
    for prompt, expected in prompts:
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        wanted = len(tokenizer(expected, add_special_tokens=False).input_ids) + 2
        output = model.generate(ids, max_new_tokens=wanted, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=False)
        copied += text.startswith(expected)
    return copied, len(prompts)
