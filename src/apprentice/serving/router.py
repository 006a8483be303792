"""The OpenAI-compatible router: one base, every production adapter resident, one adapter per request.

Routing (SPEC §9): an explicit `model` (a target `python`, a version `python-v3`, an alias
`python@candidate`; only a named version may be non-production, loaded on demand) -> the request's
`language` field -> the language detected in the messages -> the registry's default target.
`model: "auto"` (or no model) skips the first step. The adapter that answered is the response's
`model` and its `x-apprentice-adapter` header; `x-apprentice-route` says which step chose it.

`stream: true` sends the finished, parsed answer as SSE chunks (role, reasoning, content, one chunk
per tool call, finish): a Harmony reply cannot be told apart as content or tool call before it
ends, and clients get complete tool-call arguments in one delta.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from apprentice.agent.backends import LocalBackend, Reply
from apprentice.agent.chat import render_prompt
from apprentice.errors import RegistryError, ServingError
from apprentice.flywheel.capture import InteractionLog, router_interaction
from apprentice.languages.registry import LANGUAGES
from apprentice.registry.registry import Registry
from apprentice.serving import openai_api as wire
from apprentice.serving.adapters import AdapterPool

log = logging.getLogger(__name__)
ADAPTER_HEADER = "x-apprentice-adapter"
ROUTE_HEADER = "x-apprentice-route"


class ApiError(ServingError):
    """A request the router answers with an OpenAI-shaped error: its HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for; above these it is refused with 413."""

    max_request_bytes: int = 1_000_000
    max_context_tokens: int = 4096  # prompt tokens + the completion budget asked for
    default_max_tokens: int = 256  # when the request names neither max_tokens nor max_completion_tokens


@dataclass(frozen=True)
class GenerationSettings:
    """The sampling a request asked for."""

    temperature: float
    max_tokens: int
    seed: int


# The model call: (model, tokenizer, messages, tools, settings) -> Reply, run with the adapter set.
Responder = Callable[[object, object, list, list, GenerationSettings], Reply]


def local_respond(model, tokenizer, messages: list[dict], tools: list[dict], settings: GenerationSettings) -> Reply:
    """Generate one assistant turn with the project's LocalBackend (template, stop tokens, parser)."""
    backend = LocalBackend.from_model(model, tokenizer, settings.temperature, settings.max_tokens, settings.seed)
    return backend.respond(messages, tools)


def create_app(registry, base_dir: Path, api_key: str | None = None, *, limits: ServeLimits = ServeLimits(),
               base_hash: str | None = None, respond: Responder = local_respond, detect: Callable | None = None,
               poll_interval_s: float | None = 1.0, max_on_demand: int = 4,
               capture: InteractionLog | None = None) -> FastAPI:
    """The router app for the adapters of `registry` (a Registry, or the path of its .db) on `base_dir`.

    The base is loaded and every production adapter made resident before this returns. `respond`
    and `detect` default to the local model and `apprentice.serving.detect.detect_language`;
    `poll_interval_s` is how often a background thread looks for registry changes (every request
    also looks), None for none. With `capture`, every completion is appended to that log (flywheel).
    """
    # A Registry opens one SQLite connection per thread itself, so the worker threads and the poller share it.
    registry = Registry(Path(registry)) if isinstance(registry, str | Path) else registry
    pool = AdapterPool(registry, Path(base_dir), base_hash, max_on_demand)
    router = _Router(pool, limits, respond, detect or _detect_language, capture)
    app = FastAPI(title="apprentice router", lifespan=_poller(pool, poll_interval_s))
    app.state.pool, app.state.router = pool, router
    _install_errors(app)
    _install_key_check(app, api_key)
    app.add_api_route("/health", router.health, methods=["GET"])
    app.add_api_route("/v1/models", router.models, methods=["GET"])
    app.add_api_route("/v1/chat/completions", router.chat_completions, methods=["POST"])
    return app


class _Router:
    """The endpoints, over one adapter pool."""

    def __init__(self, pool: AdapterPool, limits: ServeLimits, respond: Responder, detect: Callable,
                 capture: InteractionLog | None = None):
        self.pool, self.limits, self.respond, self.detect = pool, limits, respond, detect
        self.capture = capture

    def health(self) -> dict:
        """Base, resident adapters, refused ones with their reasons, registry generation."""
        self._sync()
        status = self.pool.status()
        return {
            "status": "degraded" if status.refused else "ok", "base": status.base, "base_hash": status.base_hash,
            "generation": status.generation, "default_target": self.pool.registry.default_target(),
            "adapters": {target: {"version": version, "path": status.resident[version]}
                         for target, version in status.targets.items()},
            "resident": sorted(status.resident), "on_demand": list(status.on_demand),
            "refused": [asdict(refusal) for refusal in status.refused],
        }

    def models(self) -> dict:
        """Every served name: each target (its production version) and each resident version."""
        self._sync()
        status = self.pool.status()
        cards = [wire.model_card(target, version, target) for target, version in sorted(status.targets.items())]
        records = {v: self.pool.registry.get(v) for v in status.resident}
        cards += [wire.model_card(v, v, records[v].target) for v in sorted(status.resident)]
        return {"object": "list", "data": cards}

    async def chat_completions(self, request: Request):
        """Route, generate with the chosen adapter, answer in the chat-completions shape (or as SSE)."""
        chat = wire.ChatCompletionRequest.model_validate_json(await self._body(request))
        messages, tools = wire.to_our_messages(chat.messages), chat.offered_tools()
        settings = GenerationSettings(chat.temperature, chat.completion_limit(self.limits.default_max_tokens),
                                      chat.seed or 0)
        body, how = await run_in_threadpool(self._complete, chat, messages, tools, settings)
        headers = {ADAPTER_HEADER: body["model"], ROUTE_HEADER: how}
        if not chat.stream:
            return JSONResponse(body, headers=headers)
        return StreamingResponse(_sse(wire.stream_chunks(body)), media_type="text/event-stream", headers=headers)

    def _complete(self, chat: wire.ChatCompletionRequest, messages: list[dict], tools: list[dict],
                  settings: GenerationSettings) -> tuple[dict, str]:
        self._sync()
        name, how = self._route(chat, messages)
        started = time.perf_counter()
        try:
            with self.pool.lease(name) as version:
                reply = self.pool.run(version, lambda model, tokenizer: self._generate(
                    model, tokenizer, messages, tools, settings))
        except ServingError as error:
            if isinstance(error, ApiError):
                raise
            raise ApiError(503, "adapter_unavailable", str(error)) from error
        body = wire.completion_body(reply, version, settings.max_tokens)
        self._capture(messages, tools, reply, version, time.perf_counter() - started)
        return body, how

    def _capture(self, messages: list[dict], tools: list[dict], reply: Reply, version: str, latency_s: float) -> None:
        if self.capture is None:
            return
        try:
            self.capture.append(router_interaction(messages, tools, reply, version, latency_s))
        except OSError as error:
            # The answer is made: a full or read-only disk must not turn it into an error for the client.
            log.error("flywheel capture to %s failed, completion served uncaptured: %s", self.capture.path, error)

    def _generate(self, model, tokenizer, messages, tools, settings: GenerationSettings) -> Reply:
        from jinja2 import TemplateError

        try:
            prompt = render_prompt(tokenizer, messages, tools)
        except TemplateError as error:
            raise ApiError(422, "invalid_messages", f"the chat template refuses these messages: {error}") from error
        prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if prompt_tokens + settings.max_tokens > self.limits.max_context_tokens:
            raise ApiError(413, "context_length_exceeded",
                           f"{prompt_tokens} prompt tokens + max_tokens {settings.max_tokens} exceed the limit of "
                           f"{self.limits.max_context_tokens} tokens; shorten the messages or lower max_tokens")
        return self.respond(model, tokenizer, messages, tools, settings)

    def _route(self, chat: wire.ChatCompletionRequest, messages: list[dict]) -> tuple[str, str]:
        """(target or version to lease, which routing step chose it)."""
        if chat.model and chat.model != wire.AUTO_MODEL:
            return self._named(chat.model), "model"
        if chat.language:
            if self.pool.target_version(chat.language) is None:
                self._unknown(f"no production adapter for language {chat.language!r}")
            return chat.language, "language"
        languages = tuple(t for t in self.pool.status().targets if t in LANGUAGES)
        detected = self.detect(messages, languages).language if languages else None
        if detected is not None and self.pool.target_version(detected) is not None:
            return detected, "detected"
        default = self.pool.registry.default_target()
        if default is None:
            raise ApiError(404, "model_not_found", "no model named, no language detected and no default target; "
                           f"name one of: {', '.join(self.pool.served_names()) or 'none (promote an adapter)'}")
        return default, "default"

    def _named(self, name: str) -> str:
        if name in self.pool.served_names():
            return name
        try:
            record = self.pool.registry.resolve(name)
        except RegistryError:
            self._unknown(f"unknown model {name!r}")
        if record.status == "retired":
            self._unknown(f"{record.version} is retired and never served")
        try:
            return self.pool.load_named(record)
        except ServingError as error:
            raise ApiError(503, "adapter_refused", str(error)) from error

    def _unknown(self, problem: str):
        served = ", ".join(self.pool.served_names()) or "none"
        raise ApiError(404, "model_not_found", f"{problem}; served models: {served} (or 'auto')")

    def _sync(self) -> None:
        try:
            self.pool.sync()
        except RegistryError as error:
            raise ApiError(503, "registry_unavailable", str(error)) from error

    async def _body(self, request: Request) -> bytes:
        """The request body, refused with 413 past the byte limit (without reading all of a huge one)."""
        limit, size = self.limits.max_request_bytes, request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > limit:
            raise ApiError(413, "request_too_large", f"request body of {size} bytes exceeds the {limit}-byte limit")
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise ApiError(413, "request_too_large", f"request body exceeds the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


def _sse(chunks: list[dict]) -> Iterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _detect_language(messages: list[dict], languages: tuple[str, ...]):
    from apprentice.serving.detect import detect_language

    return detect_language(messages, languages)


def _install_errors(app: FastAPI) -> None:
    """Every error in OpenAI's shape: ours, malformed bodies (422), unknown paths and methods."""

    @app.exception_handler(ApiError)
    async def api_error(_request, error: ApiError):
        return JSONResponse(wire.error_body(error.status, str(error), error.code), status_code=error.status)

    @app.exception_handler(ValidationError)
    async def invalid_body(_request, error: ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        return JSONResponse(wire.error_body(422, f"malformed request: {problems}", "invalid_request"), status_code=422)

    @app.exception_handler(wire.WireError)
    async def invalid_messages(_request, error: wire.WireError):
        return JSONResponse(wire.error_body(422, str(error), "invalid_messages"), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request, error: HTTPException):
        return JSONResponse(wire.error_body(error.status_code, str(error.detail), "http_error"),
                            status_code=error.status_code)


def _install_key_check(app: FastAPI, api_key: str | None) -> None:
    """With a key configured, every endpoint wants `Authorization: Bearer <key>` (401 otherwise)."""
    if not api_key:
        return
    expected = f"Bearer {api_key}".encode()

    @app.middleware("http")
    async def require_key(request: Request, call_next):
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            body = wire.error_body(401, "missing or wrong API key; send 'Authorization: Bearer <key>'", "invalid_api_key")
            return JSONResponse(body, status_code=401)
        return await call_next(request)


def _poller(pool: AdapterPool, interval_s: float | None):
    """A lifespan that polls the registry every `interval_s` on a thread of its own while the app runs."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        stop = threading.Event()
        thread = threading.Thread(target=_poll, args=(pool, interval_s, stop), daemon=True, name="registry-poll")
        if interval_s:
            thread.start()
        yield
        stop.set()
        if interval_s:
            thread.join()

    return lifespan


def _poll(pool: AdapterPool, interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        try:
            pool.sync()
        except (RegistryError, ServingError) as error:
            # The poll retries next interval, and the next request syncs and reports the error itself.
            log.warning("registry poll failed: %s", error)
