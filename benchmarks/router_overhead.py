"""Router overhead over HTTP against calling the model in-process, and routing accuracy under mixed load.

    .venv/bin/python benchmarks/router_overhead.py [--requests 60] [--mixed 1000] [--max-tokens 8]

On the embedded base with one adapter per language (built into a temporary directory):
1. The same prompts, greedy, `--max-tokens` each, answered (a) in-process by the project's
   `LocalBackend` on the pool's model with the python adapter set, and (b) through the router
   over HTTP on loopback (uvicorn in a thread, one client, sequential), one after the other for
   each prompt so machine load hits both alike. Target: router overhead <= 10% of requests/s.
2. `--mixed` requests spread over the four languages, from four client threads, half naming
   `language`, half left to detection on code with clear signals; each answer's
   `x-apprentice-adapter` header is checked against that language's production version.
   Target: 0 answered by the wrong adapter. These generate 1 token each: routing is what is measured.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from adapter_switch import build_fixture, production_registry  # noqa: E402

PROMPTS = {
    "python": "Fix median in stats.py:\n```python\nimport statistics\n\ndef median(values: list[float]) -> float:\n"
              "    return sorted(values)[len(values) // 2]\n```",
    "rust": "cargo test fails in src/lib.rs:\n```rust\nuse std::collections::HashMap;\n\npub fn count(words: &[&str]) -> "
            "HashMap<String, usize> {\n    let mut seen = HashMap::new();\n    for w in words { *seen.entry(w.to_string())"
            ".or_insert(0) += 1; }\n    seen\n}\n```",
    "typescript": "tsc reports an error in src/index.ts:\n```typescript\nimport { readFileSync } from 'fs';\n\n"
                  "export function total(xs: number[]): number {\n  const sum: number = xs.reduce((a, b) => a + b, 0);\n"
                  "  return sum;\n}\n```",
    "go": "go test fails in stats.go:\n```go\npackage stats\n\nimport \"fmt\"\n\nfunc Median(xs []float64) float64 {\n"
          "\tfmt.Println(len(xs))\n\treturn xs[len(xs)/2]\n}\n```",
}


def _serve(app) -> tuple[str, object, threading.Thread]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def _paired_seconds(pool, client: httpx.Client, prompts: list[str], max_tokens: int) -> tuple[list[float], list[float]]:
    """Per prompt, the in-process time then the router's time: pairs, so machine load hits both alike."""
    from apprentice.agent.backends import LocalBackend

    version = pool.target_version("python")
    backend = LocalBackend.from_model(pool.model, pool.tokenizer, max_new_tokens=max_tokens)
    local, routed = [], []
    for prompt in prompts:
        messages = [{"role": "user", "content": prompt}]
        started = time.perf_counter()
        pool.run(version, lambda _model, _tokenizer, asked=messages: backend.respond(asked, []))
        local.append(time.perf_counter() - started)
        started = time.perf_counter()
        response = client.post("/v1/chat/completions", json={
            "model": "python", "max_tokens": max_tokens, "messages": messages})
        response.raise_for_status()
        routed.append(time.perf_counter() - started)
    return local, routed


def _mixed_load(client: httpx.Client, expected: dict[str, str], count: int) -> tuple[int, int, float]:
    """(wrong adapter, failed, seconds) for `count` requests over the four languages."""
    languages = list(PROMPTS)

    def ask(index: int) -> str:
        language = languages[index % len(languages)]
        body = {"model": "auto", "max_tokens": 1, "messages": [{"role": "user", "content": PROMPTS[language]}]}
        if index % 2:
            body["language"] = language
        response = client.post("/v1/chat/completions", json=body)
        if response.status_code != 200:
            return "failed"
        return "right" if response.headers["x-apprentice-adapter"] == expected[language] else "wrong"

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as workers:
        outcomes = list(workers.map(ask, range(count)))
    return outcomes.count("wrong"), outcomes.count("failed"), time.perf_counter() - started


def main() -> None:
    from apprentice.serving.router import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="per side, for the overhead comparison")
    parser.add_argument("--mixed", type=int, default=1000)
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base, base_hash, adapters = build_fixture(Path(scratch))
        registry = production_registry(Path(scratch) / "registry.db", base_hash, adapters)
        app = create_app(registry, base, base_hash=base_hash)
        pool = app.state.pool
        url, server, thread = _serve(app)
        prompts = [f"{PROMPTS['python']}\n# request {index}" for index in range(args.requests)]
        with httpx.Client(base_url=url, timeout=120) as client:
            _paired_seconds(pool, client, prompts[:3], args.max_tokens)  # warm-up
            local, routed = _paired_seconds(pool, client, prompts, args.max_tokens)
            expected = {language: pool.target_version(language) for language in PROMPTS}
            wrong, failed, mixed_seconds = _mixed_load(client, expected, args.mixed)
        server.should_exit = True
        thread.join()
    local_rps, routed_rps = len(local) / sum(local), len(routed) / sum(routed)
    local_ms, routed_ms = 1000 * statistics.median(local), 1000 * statistics.median(routed)
    print(f"{args.requests} requests of {args.max_tokens} tokens each, python adapter, greedy, in pairs")
    print(f"in-process: {local_rps:.2f} requests/s (median {local_ms:.1f} ms); router over HTTP: {routed_rps:.2f} "
          f"requests/s (median {routed_ms:.1f} ms); overhead {100 * (local_rps - routed_rps) / local_rps:.1f}% of "
          f"requests/s, {100 * (routed_ms - local_ms) / local_ms:.1f}% of the median (target <= 10%)")
    print(f"mixed load: {args.mixed} requests over {len(PROMPTS)} languages (half by language field, half detected), "
          f"4 client threads, {args.mixed / mixed_seconds:.1f} requests/s: {wrong} answered by the wrong adapter "
          f"(target 0), {failed} failed")


if __name__ == "__main__":
    main()
