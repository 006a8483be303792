"""The model card of a trained adapter (or pretrained model): `README.md` in the Hugging Face convention.

YAML front matter (`base_model`, `library_name`, `tags`) that the Hub and `huggingface_hub.ModelCard`
read, then what produced the weights: base and its hash, target, the stage chain with the adapter each
stage started from, the hashes of its data and config, its metrics (intervals included), each gate's
verdict and the command that ran it. It replaces PEFT's blank template ("More Information Needed").
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from apprentice.artifacts import atomic_write_text
from apprentice.numbers import short_number

CARD_FILE = "README.md"


def write_model_card(directory: Path, stage: str, target: str, base_dir: Path, hashes: dict[str, str],
                     metrics: dict[str, Any], gate: dict | None, chain: list[dict[str, str]]) -> Path:
    """Write `directory/README.md`; `chain` is [{"stage", "adapter"}, ...] up to and including this stage."""
    front = {"base_model": str(base_dir), "library_name": "peft" if stage != "pretrain" else "transformers",
             "tags": ["apprentice", stage, target, *(["lora"] if stage != "pretrain" else [])]}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "",
             f"# {target} · {stage}", "",
             f"Trained by apprentice's `{stage}` stage for the target `{target}` on the base `{base_dir}`.", "",
             "## Stage chain", ""]
    lines += [f"{number}. `{link['stage']}` — `{link['adapter']}`" for number, link in enumerate(chain, 1)]
    lines += ["", "## Inputs", "", "| input | sha256 |", "|---|---|"]
    lines += [f"| {name} | `{value}` |" for name, value in hashes.items()]
    lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in card_metrics(metrics)]
    lines += ["", "## Gates", ""]
    if gate is None:
        lines.append("This stage has no promotion gate.")
    else:
        verdict = "passed" if gate["passed"] else "failed (forced on)" if gate.get("forced") else "failed"
        lines += [f"Verdict: **{verdict}**.", "", "| check | value | threshold | verdict | detail |", "|---|---|---|---|---|"]
        lines += [f"| {check['name']} | {short_number(check['value'])} | {short_number(check['threshold'])} | "
                  f"{'pass' if check['passed'] else 'FAIL'} | {check['message']} |" for check in gate["checks"]]
    lines += ["", "## Reproduce", "", "```bash", reproducing_command(), "```", ""]
    path = directory / CARD_FILE
    atomic_write_text(path, "\n".join(lines))
    return path


def card_metrics(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar metrics, and each interval (`*_interval`: [low, high]) beside them; curves left out."""
    rows = []
    for name, value in sorted(metrics.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((name, short_number(value)))
        elif name.endswith("interval") and isinstance(value, list) and len(value) == 2:
            rows.append((name, f"{short_number(value[0])} – {short_number(value[1])} (95%)"))
    return rows


def reproducing_command() -> str:
    """The command line of this process, as `apprentice ...` when it is the CLI."""
    program = Path(sys.argv[0]).name if sys.argv else "apprentice"
    arguments = sys.argv[1:]
    if program in ("apprentice", "__main__.py"):
        return shlex.join(["apprentice", *arguments])
    return shlex.join([sys.executable, *sys.argv])
