"""The OpenAI-compatible router on the embedded base: routing, hot reload, error shapes, a real HTTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import openai
import pytest
import uvicorn
from fastapi.testclient import TestClient
from test_adapters import METRICS, adapter_dirs, base_hash, corrupt, promoted_registry  # noqa: F401 (fixtures)

from apprentice.agent.backends import Reply
from apprentice.agent.chat import parse_completion, render_prompt
from apprentice.serving.router import ServeLimits, create_app

PYTHON_CODE = "Fix this:\n```python\nimport os\n\ndef median(values: list[int]) -> float:\n    return sorted(values)[0]\n```"
RUST_CODE = ("The test fails in src/lib.rs:\n```rust\nuse std::collections::HashMap;\n\n"
             "pub fn median(values: &mut Vec<i32>) -> Option<i32> {\n    let mut seen: HashMap<i32, u32> = HashMap::new();\n"
             "    values.sort();\n    values.first().copied()\n}\n```")
READ_FILE = {"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the repository.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}
# What a trained model emits for a tool call in the Harmony format; parsed by the project's parser.
HARMONY_CALL = ' to=functions.read_file<|channel|>commentary json<|message|>{"path": "stats.py"}<|call|>'


def harmony_tool_call(model, tokenizer, messages, tools, settings) -> Reply:
    """A stand-in for a trained model: always the same tool call, read back by `parse_completion`."""
    prompt = render_prompt(tokenizer, messages, tools)
    parsed = parse_completion(tokenizer, HARMONY_CALL, prompt)
    assert parsed.format_error is None, parsed.format_error
    count = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    return Reply(parsed.message, None, HARMONY_CALL, count, len(tokenizer(HARMONY_CALL)["input_ids"]))


def chat(content: str, **fields) -> dict:
    return {"messages": [{"role": "user", "content": content}], "max_tokens": 4, **fields}


@pytest.fixture()
def registry(tmp_path, adapter_dirs, base_hash):  # noqa: F811
    return promoted_registry(tmp_path / "registry.db", adapter_dirs, base_hash)


@pytest.fixture()
def make_client(registry, tiny_base, base_hash):  # noqa: F811
    def make(**options) -> TestClient:
        options.setdefault("poll_interval_s", None)
        return TestClient(create_app(registry, tiny_base, base_hash=base_hash, **options))
    return make


@contextmanager
def serving(app):
    """The app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_models_lists_targets_and_resident_versions(make_client):
    cards = make_client().get("/v1/models").json()["data"]
    assert [(c["id"], c["adapter"]) for c in cards] == [
        ("python", "python-v1"), ("rust", "rust-v1"), ("python-v1", "python-v1"), ("rust-v1", "rust-v1")]


def test_real_tiny_model_answers_in_openai_shape(make_client):
    response = make_client().post("/v1/chat/completions", json=chat("hello", model="rust"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == response.headers["x-apprentice-adapter"] == "rust-v1"
    assert response.headers["x-apprentice-route"] == "model"
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    assert 1 <= body["usage"]["completion_tokens"] <= 4 and body["usage"]["prompt_tokens"] > 10


@pytest.mark.parametrize("fields, adapter, route", [
    ({"messages": [{"role": "user", "content": PYTHON_CODE}]}, "python-v1", "detected"),
    ({"messages": [{"role": "user", "content": RUST_CODE}]}, "rust-v1", "detected"),
    ({"messages": [{"role": "user", "content": PYTHON_CODE}], "language": "rust"}, "rust-v1", "language"),
    ({"messages": [{"role": "user", "content": RUST_CODE}], "model": "python"}, "python-v1", "model"),
    ({"messages": [{"role": "user", "content": "What time is it?"}], "model": "auto"}, "python-v1", "default"),
])
def test_routing_order(make_client, fields, adapter, route):
    response = make_client(respond=harmony_tool_call).post("/v1/chat/completions", json=fields)
    assert response.status_code == 200, response.text
    assert (response.headers["x-apprentice-adapter"], response.headers["x-apprentice-route"]) == (adapter, route)
    assert response.json()["model"] == adapter


def test_tool_call_parsed_from_the_model_reply_and_streamed(make_client):
    client = make_client(respond=harmony_tool_call)
    body = client.post("/v1/chat/completions", json=chat(PYTHON_CODE, tools=[READ_FILE])).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "stats.py"}'}}]
    stream = client.post("/v1/chat/completions", json=chat(PYTHON_CODE, tools=[READ_FILE], stream=True))
    events = [line[len("data: "):] for line in stream.text.splitlines() if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "read_file"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert {chunk["model"] for chunk in chunks} == {"python-v1"}


def test_named_non_production_version_loaded_on_demand(make_client):
    client = make_client(respond=harmony_tool_call)
    response = client.post("/v1/chat/completions", json=chat("hi", model="python-v2"))
    assert response.headers["x-apprentice-adapter"] == "python-v2"
    assert "python-v2" in [card["id"] for card in client.get("/v1/models").json()["data"]]
    assert client.post("/v1/chat/completions", json=chat("hi", model="python")).json()["model"] == "python-v1"


def test_promote_and_rollback_picked_up_without_restart(make_client, registry):
    client = make_client(respond=harmony_tool_call)
    assert client.post("/v1/chat/completions", json=chat("hi", model="python")).json()["model"] == "python-v1"
    registry.promote("python-v2")
    assert client.post("/v1/chat/completions", json=chat("hi", model="python")).json()["model"] == "python-v2"
    registry.rollback("python")
    assert client.post("/v1/chat/completions", json=chat("hi", model="python")).json()["model"] == "python-v1"
    assert client.get("/health").json()["adapters"]["python"]["version"] == "python-v1"


def test_background_poll_loads_a_promotion_before_any_request(make_client, registry):
    with make_client(poll_interval_s=0.05) as client:
        registry.promote("python-v2")
        deadline = time.monotonic() + 10
        while client.app.state.pool.target_version("python") != "python-v2" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.app.state.pool.target_version("python") == "python-v2"


def test_corrupted_adapter_refused_on_health_while_others_served(make_client, registry, adapter_dirs, base_hash, tmp_path):  # noqa: F811
    broken = corrupt(adapter_dirs["go"], tmp_path / "go-broken", "truncated")
    registry.promote(registry.register("go", broken, base_hash, metrics=METRICS).version)
    client = make_client(respond=harmony_tool_call)
    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert [(r["version"], r["path"]) for r in health["refused"]] == [("go-v1", str(broken))]
    assert "unreadable" in health["refused"][0]["reason"]
    assert set(health["adapters"]) == {"python", "rust"}
    assert client.post("/v1/chat/completions", json=chat("hi", model="rust")).status_code == 200
    refused = client.post("/v1/chat/completions", json=chat("hi", model="go"))
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "adapter_refused"


def _assert_error(response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code
    for word in words:
        assert word in error["message"]


def test_unknown_model_404_lists_served_names(make_client):
    client = make_client()
    _assert_error(client.post("/v1/chat/completions", json=chat("hi", model="cobol")), 404, "model_not_found",
                  "'cobol'", "python, rust, python-v1, rust-v1")
    _assert_error(client.post("/v1/chat/completions", json=chat("hi", language="go")), 404, "model_not_found", "'go'")
    _assert_error(client.get("/v1/nothing"), 404, "http_error")


@pytest.mark.parametrize("body, words", [
    ({"model": "python"}, ["messages", "Field required"]),
    ({**chat("hi"), "temperature": "hot"}, ["temperature"]),
    ({**chat("hi"), "frequency_penalty": 1}, ["frequency_penalty", "Extra inputs"]),
    ({"messages": [{"role": "tool", "content": "42"}]}, ["tool result names no call"]),
    ({**chat("hi"), "tools": [READ_FILE], "tool_choice": {"type": "function", "function": {"name": "x"}}}, ["'x'"]),
])
def test_malformed_request_422(make_client, body, words):
    code = "invalid_messages" if "tool" in json.dumps(body) and "temperature" not in body else "invalid_request"
    _assert_error(make_client().post("/v1/chat/completions", json=body), 422, code, *words)


def test_oversize_request_413_by_bytes_and_by_tokens(make_client):
    client = make_client(limits=ServeLimits(max_request_bytes=4000, max_context_tokens=200), respond=harmony_tool_call)
    _assert_error(client.post("/v1/chat/completions", json=chat("x" * 5000)), 413, "request_too_large", "4000-byte")
    _assert_error(client.post("/v1/chat/completions", json=chat(PYTHON_CODE * 8)), 413, "context_length_exceeded",
                  "limit of 200 tokens")
    assert client.post("/v1/chat/completions", json=chat("hi", model="python")).status_code == 200


def test_api_key_required_when_configured(make_client):
    client = make_client(api_key="s3cret")
    _assert_error(client.get("/v1/models"), 401, "invalid_api_key")
    _assert_error(client.get("/health", headers={"Authorization": "Bearer wrong"}), 401, "invalid_api_key")
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_openai_client_over_http_gets_a_parsed_tool_call(registry, tiny_base, base_hash):  # noqa: F811
    app = create_app(registry, tiny_base, api_key="k", base_hash=base_hash, respond=harmony_tool_call)
    with serving(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": RUST_CODE}], tools=[READ_FILE], max_tokens=8)
        completion = raw.parse()
        assert raw.headers["x-apprentice-adapter"] == completion.model == "rust-v1"
        call = completion.choices[0].message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("read_file", {"path": "stats.py"})
        assert completion.choices[0].finish_reason == "tool_calls"
        with pytest.raises(openai.NotFoundError, match="served models"):
            client.chat.completions.create(model="cobol", messages=[{"role": "user", "content": "hi"}])


def test_concurrent_requests_during_a_promotion_all_answered(registry, tiny_base, base_hash):  # noqa: F811
    app = create_app(registry, tiny_base, base_hash=base_hash, poll_interval_s=0.05)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        def ask(index: int) -> tuple[int, str]:
            response = client.post("/v1/chat/completions", json=chat(f"request {index}", model="python"))
            return response.status_code, response.headers.get("x-apprentice-adapter", "")
        with ThreadPoolExecutor(max_workers=4) as workers:
            before = [workers.submit(ask, index) for index in range(6)]
            before[0].result()
            registry.promote("python-v2")  # while the other requests are queued or generating
            after = [workers.submit(ask, index) for index in range(6, 12)]
            answers = [future.result() for future in before + after]
        assert [status for status, _ in answers] == [200] * 12
        assert answers[0][1] == "python-v1"
        assert {adapter for _, adapter in answers} <= {"python-v1", "python-v2"}
        assert client.post("/v1/chat/completions", json=chat("after", model="python")).headers[
            "x-apprentice-adapter"] == "python-v2"
        assert "python-v1" not in client.get("/health").json()["resident"]
