"""The ASGI application: the AWS API on every path, emulator endpoints under /_opencases/.

The API path is a bare ASGI handler rather than a Starlette route: every request pays for
routing once (our model-driven router). The synchronous core runs in a worker thread, except
on SQLite for operations bounded by one case or page (pipeline.INLINE_OPERATIONS), which run
on the event loop as long as they need not wait for SQLite's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from opencases import __version__
from opencases.config import Settings
from opencases.server import admin
from opencases.server.delivery import DeliveryWorker, start_delivery
from opencases.server.metrics import CONTENT_TYPE, Metrics
from opencases.server.pipeline import MAX_BODY_BYTES, Pipeline
from opencases.server.pipeline import Response as PipelineResponse
from opencases.services.context import new_id
from opencases.store.db import WriterBusy
from opencases.store.store import Store
from opencases.ui.app import create_ui

# An inline write finding SQLite's writer taken waits for it on the loop, for INLINE_WAIT at
# most; the writer's other users (WAL checkpoints, the event worker, batch requests) hold it
# for milliseconds. It is woken when the writer is given back (Database.on_writer_released),
# or after INLINE_POLL at the latest: running the request again every half millisecond
# instead cost one rerun per write under load, a checkpoint holding the writer every 50.
INLINE_POLL = 0.005
INLINE_WAIT = 0.05

# The GIL's switch interval (Python's default is 5 ms). A worker thread gives the GIL up around
# every SQLite call and waits up to one interval to get it back from the event loop, so a
# 20-statement write in a thread took 100 ms under load with the default.
SWITCH_INTERVAL = 0.0005

T = TypeVar("T")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _admin_app(store: Store, pipeline: Pipeline, app_metrics: Metrics) -> Starlette:
    async def health(_request: Request) -> JSONResponse:
        # The pid tells which process answered when `--workers N` runs several.
        return JSONResponse({"status": "ok", "version": __version__, "database": store.dialect, "pid": os.getpid()})

    # The agent workspace (opencases.ui) shares the API's credential store for its sign-in.
    ui = create_ui(store, pipeline.settings, pipeline.auth.credentials)
    async def metrics(_request: Request) -> Response:
        # Read-only and free of case data, so served in every auth mode, as scrapers expect.
        body = await run_in_threadpool(app_metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/_opencases/health", health, methods=["GET"]), *admin.routes(pipeline),
                             Route("/_opencases/metrics", metrics, methods=["GET"]), Mount("/ui", app=ui)])


class OpenCasesApp:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.pipeline = Pipeline(store, settings)
        self.metrics = Metrics(store)
        self.admin = _admin_app(store, self.pipeline, self.metrics)
        self.delivery: DeliveryWorker | None = None
        self._writer_waiters = 0
        self._writer_free: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        if path == "/_opencases/noop":
            await self._noop(receive, send)
            return
        # "/ui" itself or below it: an API path that merely starts with "ui" is the API's to refuse.
        if path.startswith("/_opencases/") or path == "/ui" or path.startswith("/ui/"):
            await self.admin(scope, receive, send)
            return
        started = time.perf_counter()
        body, size = await self._read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
        method = scope["method"]
        request = (method, raw_path, scope.get("query_string", b"").decode("latin-1"), headers, body, size)
        response: PipelineResponse | None = None
        if self.pipeline.runs_inline(method, raw_path):
            response = await self._handle_inline(request)
        if response is None:
            response = await run_in_threadpool(self.pipeline.handle, *request)
        out_headers = [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        out_headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": response.body})
        self.metrics.observe(response.operation, response.status, time.perf_counter() - started)

    async def _handle_inline(self, request: tuple[Any, ...]) -> PipelineResponse | None:
        """Run the request on the event loop; None when SQLite's writer stays taken past
        INLINE_WAIT: the request then waits in a thread."""
        try:
            return await self._inline(partial(self.pipeline.handle, *request), INLINE_WAIT)
        except WriterBusy:
            return None

    async def _inline(self, fn: Callable[[], T], wait: float | None) -> T:
        """Run `fn` on the event loop. While SQLite's writer is taken (the event worker, or a
        request running in a thread), poll for it rather than block the loop; WriterBusy after
        `wait` seconds (never, for None)."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                with self.store.db.no_wait():
                    return fn()
            except WriterBusy:
                if deadline is not None and time.monotonic() > deadline:
                    raise
                await self._writer_given_back()

    async def _writer_given_back(self) -> None:
        """Return once SQLite's writer was given back (or after INLINE_POLL)."""
        free = self._writer_free
        if free is None:
            await asyncio.sleep(INLINE_POLL)
            return
        self._writer_waiters += 1
        try:
            free.clear()
            # Given back between the refusal and here: nothing to wait for. Otherwise the
            # release runs free.set on the loop, which can only come after this await starts.
            if self.store.db.writer_taken():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(INLINE_POLL):
                        await free.wait()
        finally:
            self._writer_waiters -= 1

    def _watch_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake inline writes waiting for SQLite's writer when it is given back."""
        free = self._writer_free = asyncio.Event()

        def released() -> None:
            if self._writer_waiters:
                loop.call_soon_threadsafe(free.set)

        self.store.db.on_writer_released = released

    def _on_loop(self, loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], T]], T]:
        """For another thread: run a function of database work on the event loop (as requests
        run there) and wait for its result."""

        def run(fn: Callable[[], T]) -> T:
            return asyncio.run_coroutine_threadsafe(self._inline(fn, None), loop).result()

        return run

    async def _noop(self, receive: Receive, send: Send) -> None:
        """The floor of bench/wire.py: the same HTTP stack, no routing, thread hop or database."""
        await self._read_body(receive)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2"),
                   (b"x-amzn-requestid", new_id().encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async def _read_body(self, receive: Receive) -> tuple[bytes, int]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            # Keep reading past the limit without storing, so the pipeline can refuse it
            # with a modeled error instead of a dropped connection.
            if size <= MAX_BODY_BYTES + 1:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), size

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                sys.setswitchinterval(SWITCH_INTERVAL)
                _limit_malloc_arenas()
                # What is loaded by now (the service model, routes, compiled plans) lives as long
                # as the process: kept out of the collector's sight, a full collection during
                # bench/load.py's open loop paused the loop ~4 ms instead of 48.
                gc.collect()
                gc.freeze()
                if self.store.db.is_sqlite:
                    # Most reads run here, on the event loop's thread: they keep one connection.
                    self.store.db.keep_reader()
                    self._watch_writer(asyncio.get_running_loop())
                    self.store.db.serving(one_process=self.settings.workers == 1)
                # Events committed before a crash or while no sink was configured go out now.
                self.delivery = start_delivery(self.store, self.settings)
                if self.delivery is not None and self.store.db.is_sqlite:
                    self.delivery.run_db = self._on_loop(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.delivery is not None:
                    await run_in_threadpool(self.delivery.stop)
                self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _limit_malloc_arenas() -> None:
    """At most two glibc malloc arenas (as MALLOC_ARENA_MAX=2 would), before the worker threads
    start: glibc gives threads arenas of their own, up to 8 per core, and a minute of mixed load
    left 40 MB more resident in their fragments (bench/load.py: 176 MB instead of 139 MB)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX (malloc.h)
    except (OSError, AttributeError):
        pass  # not glibc (musl has no arenas to limit)


def create_app(settings: Settings, store: Store | None = None) -> OpenCasesApp:
    return OpenCasesApp(store or Store(settings.database_url, settings.sqlite_synchronous), settings)


# `opencases serve --workers N`: the CLI puts its Settings here as JSON, and each worker
# process (uvicorn starts them fresh, by import string) builds its app from them.
SETTINGS_ENV = "OPENCASES_SETTINGS_JSON"


def settings_to_env(settings: Settings) -> str:
    return json.dumps(dataclasses.asdict(settings))


def create_app_from_env() -> OpenCasesApp:
    """uvicorn's app factory for worker processes; the parent has applied the migrations."""
    from opencases.server import logging_setup

    raw = os.environ.get(SETTINGS_ENV)
    settings = Settings(**json.loads(raw)) if raw else Settings.from_env()
    # Workers are spawned, not forked: the parent's logging setup did not come along.
    logging_setup.configure(settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = Store(settings.database_url, settings.sqlite_synchronous, migrate_schema=False)
    return OpenCasesApp(store, settings)
