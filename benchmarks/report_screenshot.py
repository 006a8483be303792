"""Render a run's reports and screenshot them with headless Chromium, the network cut.

    .venv/bin/python benchmarks/report_screenshot.py [RUN_DIR] [--out DIR]

Without RUN_DIR it writes a sample run into a temporary directory: two targets (python, rust),
evaluations base / sft / grpo / <target>-v1 with episodes and conversations, and the four stages'
training curves. It renders every report (what `apprentice report` does), then for the run's
comparison page and the first evaluation page:

- screenshots it with `chromium --headless` inside `unshare -n` (a network namespace with no
  interface: nothing can be fetched), falling back to `--host-resolver-rules` when unshare is
  not permitted;
- dumps the DOM Chromium built offline and counts its tables and charts against the file's, so a
  page that needed something from the network would show up as missing pieces.

Prints each screenshot's path, byte size, pixel size, and seconds taken. Needs Debian's chromium
(`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apprentice.artifacts import METRICS_FILE, RunDir
from apprentice.evaluation.report import report_from_cli

METRIC_TARGETS = {  # SPEC §7 (python column): name -> (target, direction)
    "build_pass_rate": (0.90, "max"), "test_pass_rate": (0.70, "max"), "lint_clean_rate": (0.70, "max"),
    "tool_call_format_accuracy": (0.99, "max"), "hallucinated_api_rate": (0.05, "min"),
    "median_iterations_to_green": (3, "min"), "median_diff_lines": (50, "min"),
    "pass_at_1": (0.70, "max"), "pass_at_k": (0.70, "max"),
}
VERSIONS = ("base", "sft", "grpo", "v1")


def write_sample_run(run_dir: Path, seed: int = 0) -> Path:
    """A plausible run directory: evaluations for two targets and four versions, and stage curves."""
    rng = random.Random(seed)
    for target in ("python", "rust"):
        for step, version in enumerate(VERSIONS):
            name = f"{target}-{version}" if version == "v1" else version
            _write_evaluation(RunDir(run_dir).eval_dir(target, name), target, name, step, rng)
    _write_stages(run_dir, rng)
    return run_dir


def _write_evaluation(directory: Path, target: str, version: str, step: int, rng: random.Random) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    episodes = [_episode(target, task, attempt, step, rng) for task in range(6) for attempt in range(2)]
    with (directory / "results.jsonl").open("w", encoding="utf-8") as stream:
        for episode in episodes:
            stream.write(json.dumps(episode) + "\n")
    quality = 0.25 + 0.2 * step
    values = {"build_pass_rate": min(1.0, quality + 0.3), "test_pass_rate": quality, "lint_clean_rate": quality + 0.1,
              "tool_call_format_accuracy": min(1.0, 0.6 + 0.13 * step), "hallucinated_api_rate": 0.2 / (step + 1),
              "median_iterations_to_green": 5 - step, "median_diff_lines": 80 - 15 * step,
              "pass_at_1": quality, "pass_at_k": min(1.0, quality + 0.15)}
    metrics = {name: {"value": value, "target": METRIC_TARGETS[name][0], "direction": METRIC_TARGETS[name][1],
                      "meets": value >= METRIC_TARGETS[name][0] if METRIC_TARGETS[name][1] == "max"
                      else value <= METRIC_TARGETS[name][0]} for name, value in values.items()}
    regressions = {"against_base": [] if version == "base" else [
        {"metric": "test_pass_rate", "reference": 0.25, "value": quality, "delta": quality - 0.25, "flag": False},
        {"metric": "tool_call_format_accuracy", "reference": 0.6, "value": values["tool_call_format_accuracy"],
         "delta": values["tool_call_format_accuracy"] - 0.6, "flag": False}], "against_production": []}
    record = {"target": target, "version": version, "adapter": None if version == "base" else
              f"runs/sample/stages/{target}/{version}/adapter", "base": "runs/sample/base/tiny",
              "base_hash": f"sha256:{rng.getrandbits(256):064x}",
              "task_set_hash": f"sha256:{rng.getrandbits(256):064x}", "tasks": 6, "attempts": 2,
              "metrics": metrics, "regressions": regressions, "created": f"2025-01-0{step + 1}T12:00:00+00:00"}
    (directory / METRICS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")


def _episode(target: str, task: int, attempt: int, step: int, rng: random.Random) -> dict:
    total = rng.randint(2, 9)
    passed = total if rng.random() < 0.25 + 0.2 * step else rng.randint(0, total - 1)
    task_id = f"mutant-{target}-{task:04x}"
    messages = [
        {"role": "system", "content": "You are a coding agent. Use the tools; finish when the tests pass."},
        {"role": "user", "content": f"Task {task_id}: `parse_header` returns the wrong length for '<b>' tags."},
        {"role": "assistant", "thinking": "Read the parser first.",
         "tool_calls": [{"type": "function", "function": {"name": "read_file", "arguments": {"path": "src/parse.py"}}}]},
        {"role": "tool", "name": "read_file", "content": "def parse_header(text):\n    return len(text) - 1  # <script>alert(1)</script>\n"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "run_tests", "arguments": {}}}]},
        {"role": "tool", "name": "run_tests", "content": f"{passed} passed, {total - passed} failed"},
        {"role": "assistant", "content": "Fixed the off-by-one in `parse_header`."},
    ]
    return {"task_id": task_id, "attempt": attempt, "language": target, "reward": round(passed / total - 0.1, 3),
            "build_ok": rng.random() > 0.1, "tests_total": total, "tests_passed": passed,
            "all_tests_pass": passed == total, "lint_clean": rng.random() > 0.3 if target == "python" else None,
            "lint_skipped": "" if target == "python" else "clippy not installed", "diff_lines": rng.randint(2, 90),
            "turns": 4, "tool_calls": 2, "format_errors": int(rng.random() < 0.2), "assistant_turns": 3,
            "iterations_to_green": 1 if passed == total else None, "api_calls": 3, "hallucinated_calls": [],
            "error": "" if rng.random() > 0.1 else "sandbox timeout after 60 s", "seconds": round(rng.uniform(2, 40), 1),
            "messages": messages}


def _write_stages(run_dir: Path, rng: random.Random) -> None:
    def curve(start: float, end: float, steps: int, every: int = 1) -> list[list[float]]:
        """[[step, value], ...] decaying from `start` towards `end`, with a little noise."""
        return [[s, end + (start - end) * 0.93 ** s + rng.uniform(-0.08, 0.08)] for s in range(1, steps + 1, every)]

    stages = {("base", "pretrain"): {"losses": curve(9.1, 6.2, 60), "first_loss": 9.1, "final_loss": 6.3},
              ("python", "sft"): {"train_losses": curve(7.9, 3.2, 36), "eval_losses": curve(5.0, 3.5, 36, 12)},
              ("python", "preference"): {"losses": curve(0.69, 0.41, 20), "kl_history": [[s, 0.02 * s] for s in range(1, 21)]},
              ("python", "grpo"): {"rewards": [round(-0.15 + 0.04 * s + rng.uniform(-0.05, 0.05), 3) for s in range(12)]},
              ("rust", "sft"): {"train_losses": curve(8.1, 3.6, 36)}}  # no eval_losses: the report notes it
    for (target, stage), metrics in stages.items():
        stage_dir = RunDir(run_dir).stage_dir(target, stage)
        stage_dir.mkdir(parents=True, exist_ok=True)
        (stage_dir / METRICS_FILE).write_text(json.dumps(metrics), encoding="utf-8")


def screenshot(page: Path, out: Path) -> tuple[float, str, str]:
    """Screenshot `page` to `out` with the network cut: seconds taken, the DOM Chromium built, how it was cut."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2000"]
    started = time.perf_counter()
    _, isolation = _chromium([*flags, f"--screenshot={out}", page.resolve().as_uri()])
    seconds = time.perf_counter() - started
    dom, _ = _chromium([*flags, "--dump-dom", page.resolve().as_uri()])
    return seconds, dom, isolation


def _chromium(arguments: list[str]) -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    result = subprocess.run(["unshare", "-n", chromium, *arguments], capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        return result.stdout, "unshare -n"
    # unshare needs CAP_SYS_ADMIN; without it, refuse to resolve any host name instead.
    offline = [chromium, "--host-resolver-rules=MAP * ~NOTFOUND", *arguments]
    result = subprocess.run(offline, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout, "host-resolver-rules"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", header[16:24])


def main() -> None:
    """Render the reports of RUN_DIR (or of a sample run), screenshot two pages offline, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="runs/<name>; default: a sample run written here")
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="report-shots-")))
    args = parser.parse_args()
    run_dir = args.run_dir or write_sample_run(Path(tempfile.mkdtemp(prefix="report-run-")) / "sample")
    pages = report_from_cli(run_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    for page, name in ((pages[0], "run.png"), (pages[1], "evaluation.png")):
        shot = args.out / name
        seconds, dom, isolation = screenshot(page, shot)
        source = page.read_text(encoding="utf-8")
        counts = {tag: (source.count(f"<{tag}"), dom.count(f"<{tag}")) for tag in ("table", "svg", "details")}
        width, height = png_size(shot)
        print(f"{page} -> {shot}: {shot.stat().st_size} bytes, {width}x{height} px, {seconds:.1f} s, network cut by {isolation}; "
              + ", ".join(f"{tag} {file}/{built} (file/rendered)" for tag, (file, built) in counts.items()))
        if any(file != built for file, built in counts.values()):
            sys.exit(f"{page} did not render fully offline: {counts}")


if __name__ == "__main__":
    main()
