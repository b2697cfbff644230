"""mock_connectcases(): serve every botocore `connectcases` client in process, no network.

How it reaches clients. botocore emits `before-call.connectcases.<Operation>` once it has
validated and serialized the parameters into a request dict; a handler that returns
`(http_response, parsed)` there ends the call: botocore skips signing, sending, retrying and
parsing, as it does for its own Stubber. The mock answers there: it runs the request dict's
method, path, query and body through the server's steps (route, parse, validate, invoke)
and hands back the result as botocore's parser would have made it from our serialized
response (parsed.py). The account and region are what the SigV4 credential scope would
carry: the client's access key and signing region.

Everything else takes the HTTP-level path, at `before-send.connectcases.<Operation>` with
the signed request, through the server's whole Pipeline: error responses (the before-call
handler keeps the response it made and passes it on at before-send, so botocore parses it,
raises the modeled exception and retries exactly as it would for a server), requests the
mock cannot attribute without the signature (auth `strict`, unsigned clients, per-request
credentials), and results whose round trip the shortcut cannot promise. Handlers that
clients register for events after before-call therefore run only on that path.

Every botocore Session copies `botocore.handlers.BUILTIN_HANDLERS` into its event emitter when
it is created, and every client copies its session's emitter. So importing this module appends
its two handlers to BUILTIN_HANDLERS (the before-call one last, so that a Stubber on the same
client still answers first): all sessions (and their clients) created afterwards carry them,
including clients created before a mock starts. The handlers are inert (return None, so
botocore sends as usual) unless a mock is active, and the active mock is process-wide rather
than per thread, so clients used from worker threads are served too. Sessions created before
this module was imported do not carry the handlers; import `opencases.testing` early (the
pytest plugin does so at start-up). If boto3's default session already exists at import, the
handlers are added to it as well.

Each mock owns a Pipeline (the server's route-parse-invoke-serialize path) on a private
in-memory SQLite store: fresh state per `start()`, `reset()` to empty it. Nested mocks: the
innermost active one serves; stopping it restores the outer one.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
import unittest
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from botocore import handlers as _botocore_handlers
from botocore.awsrequest import AWSResponse

if TYPE_CHECKING:
    from opencases.config import Settings
    from opencases.server.pipeline import Pipeline
    from opencases.server.throttle import Throttle
    from opencases.store.store import Store
    from opencases.testing.shortcut import Shortcut

T = TypeVar("T")

EVENT = "before-send.connectcases"
CALL_EVENT = "before-call.connectcases"
# Where the before-call handler leaves a response for the before-send handler of the same
# call (the request context travels from the request dict to the prepared request).
_PENDING = "opencases_mock_response"
# The account a mock's fake credentials select (the 12-digit key id is the account, auth `open`).
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Innermost last. A plain list guarded by a lock: the handler reads it on every request from
# any thread, start/stop change it rarely.
_active: list[mock_connectcases] = []
_active_lock = threading.Lock()


class _Body:
    """The `raw` of an AWSResponse: botocore reads a non-streaming body through stream()."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_args: Any, **_kwargs: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def _innermost() -> mock_connectcases | None:
    active = _active
    if not active:
        return None
    try:
        return active[-1]
    except IndexError:  # the last mock stopped between the two lines, in another thread
        return None


def _before_call(
    model: Any = None, params: Any = None, request_signer: Any = None, context: Any = None, **_kwargs: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    mock = _innermost()
    if mock is None or not isinstance(params, dict) or not isinstance(context, dict):
        return None
    return mock._answer(model, params, request_signer, context)


def _before_send(request: Any, **_kwargs: Any) -> AWSResponse | None:
    context = getattr(request, "context", None)
    pending = context.pop(_PENDING, None) if isinstance(context, dict) else None
    if pending is not None:
        status, headers, body = pending
        return AWSResponse(request.url, status, headers, _Body(body))
    mock = _innermost()
    if mock is None:
        return None
    return mock._serve(request)


def _host(url: Any) -> str:
    """The Host header an HTTP client sends for a URL: the port only if not the scheme's default."""
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if url.port is not None and url.port != {"http": 80, "https": 443}.get(url.scheme):
        host = f"{host}:{url.port}"
    return host


def _call_with_optional_method(fn: Callable[..., Any], instance: Any, method: Any) -> Any:
    """pytest passes `method` to setup_method/teardown_method only if they accept it."""
    try:
        takes_method = len(inspect.signature(fn).parameters) >= 2
    except (TypeError, ValueError):
        takes_method = True
    return fn(instance, method) if takes_method else fn(instance)


def current_mock() -> mock_connectcases | None:
    """The mock serving requests right now (the innermost active one), if any."""
    with _active_lock:
        return _active[-1] if _active else None


def _installed(name: str) -> bool:
    return any(
        getattr(spec[1], "__module__", None) == __name__ and getattr(spec[1], "__name__", None) == name
        for spec in _botocore_handlers.BUILTIN_HANDLERS
    )


def _install() -> None:
    if not _installed("_before_send"):
        _botocore_handlers.BUILTIN_HANDLERS.append((EVENT, _before_send))
    if not _installed("_before_call"):
        # Last: a Stubber (or any handler a test adds) on the same client answers first.
        _botocore_handlers.BUILTIN_HANDLERS.append((CALL_EVENT, _before_call, _botocore_handlers.REGISTER_LAST))
    # boto3.client() uses a lazily created default session; if it exists already it was
    # built from BUILTIN_HANDLERS without us. Don't import boto3 just to look.
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 is not None else None
    if session is not None:
        session.events.register(EVENT, _before_send, unique_id="opencases-mock")
        session.events.register_last(CALL_EVENT, _before_call, unique_id="opencases-mock-call")


_install()


class mock_connectcases:  # noqa: N801 - named like the moto decorators it stands in for
    """Serve botocore/boto3 `connectcases` clients in process while active.

    Use as a context manager (`with mock_connectcases() as m:`), a decorator of plain or
    async functions, or of a class (its `test*` methods; for a unittest.TestCase, setUp to
    cleanup; for a pytest class with setup_method, setup_method to teardown_method), or call
    start()/stop(). `settings` are the server settings (rate_limits="aws" throttles like
    AWS); `throttle` injects a Throttle (e.g. with a fake clock).

    While active, and only if the environment names no credentials (AWS_ACCESS_KEY_ID,
    AWS_PROFILE) or region (AWS_DEFAULT_REGION, AWS_REGION), fake ones are put in the
    environment, so that clients created inside need none and never look for instance
    credentials on the network; they select account 123456789012 in us-east-1.
    """

    def __init__(self, settings: Settings | None = None, *, throttle: Throttle | None = None) -> None:
        self._settings = settings
        self._throttle = throttle
        self._depth = 0
        self._lock = threading.RLock()
        self._env_set: dict[str, str] = {}
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self._shortcut: Shortcut | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> mock_connectcases:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                # Re-entering the same mock (a decorated function calling another) shares state.
                return self
            from opencases.config import Settings
            from opencases.server.pipeline import Pipeline
            from opencases.store.store import Store
            from opencases.testing.shortcut import Shortcut

            settings = self._settings or Settings(database_url="sqlite://")
            self.store = Store("sqlite://", settings.sqlite_synchronous)
            self.pipeline = Pipeline(self.store, settings, self._throttle)
            self._shortcut = Shortcut(self.pipeline, self._lock, _PENDING)
            self._set_fake_environment()
        with _active_lock:
            _active.append(self)
        return self

    def stop(self) -> None:
        with self._lock:
            if self._depth == 0:
                raise RuntimeError("mock_connectcases.stop() without a matching start()")
            self._depth -= 1
            if self._depth > 0:
                return
            with _active_lock:
                # Not necessarily the last: mocks started in different threads may stop in any order.
                for i in range(len(_active) - 1, -1, -1):
                    if _active[i] is self:
                        del _active[i]
                        break
            self._restore_environment()
            if self.store is not None:
                self.store.close()
            self.store = None
            self.pipeline = None
            self._shortcut = None

    @property
    def active(self) -> bool:
        return self._depth > 0

    def reset(self, account: str | None = None) -> None:
        """Delete all data (or one account's), as POST /_opencases/reset does on a server."""
        from opencases.server import admin

        with self._lock:
            admin.reset(self._require_pipeline(), account)

    def summary(self) -> dict[str, Any]:
        """What GET /_opencases/summary would answer."""
        from opencases.server import admin

        with self._lock:
            return admin.summary(self._require_pipeline().store)

    def __enter__(self) -> mock_connectcases:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------
    def _serve(self, request: Any) -> AWSResponse:
        url = urlsplit(request.url)
        headers = {
            k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        # The HTTP client would add Host, and SigV4 signs it (auth `strict` verifies it).
        headers.setdefault("host", _host(url))
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes | bytearray):
            body = body.read()
            if isinstance(body, str):
                body = body.encode("utf-8")
        # The in-memory database is one shared SQLite connection: requests from several
        # threads must not interleave their transactions on it, so they take turns.
        with self._lock:
            pipeline = self._require_pipeline()
            response = pipeline.handle(request.method, url.path or "/", url.query, headers, bytes(body))
        return AWSResponse(request.url, response.status, response.headers, _Body(response.body))

    def _answer(
        self, model: Any, request_dict: dict[str, Any], signer: Any, context: dict[str, Any]
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        shortcut = self._shortcut
        if shortcut is None:
            return None
        return shortcut.answer(model, request_dict, signer, context)

    def _require_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise RuntimeError("mock_connectcases is not active")
        return self.pipeline

    def _set_fake_environment(self) -> None:
        env = os.environ
        fake: dict[str, str] = {}
        if not any(env.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")):
            fake["AWS_ACCESS_KEY_ID"] = DEFAULT_ACCOUNT
            fake["AWS_SECRET_ACCESS_KEY"] = "opencases-mock"
        if not any(env.get(k) for k in ("AWS_DEFAULT_REGION", "AWS_REGION")):
            fake["AWS_DEFAULT_REGION"] = DEFAULT_REGION
        env.update(fake)
        self._env_set = fake

    def _restore_environment(self) -> None:
        for key, value in self._env_set.items():
            # Leave alone what the test itself changed meanwhile.
            if os.environ.get(key) == value:
                del os.environ[key]
        self._env_set = {}

    # -- decorating --------------------------------------------------------------------------
    def __call__(self, target: T) -> T:
        if isinstance(target, type):
            return cast(T, self._decorate_class(target))
        if not callable(target):
            raise TypeError("mock_connectcases decorates functions and classes")
        return cast(T, self._wrap(target))

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await fn(*args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            # Cover setUp, the test and tearDown: cleanups run even when setUp fails.
            original_setup = cls.setUp
            mock = self

            def setUp(test: unittest.TestCase) -> None:  # noqa: N802 - unittest's name
                mock.start()
                test.addCleanup(mock.stop)
                original_setup(test)

            setattr(cls, "setUp", setUp)  # noqa: B010 - assigning a method is what we mean
            return cls
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and inspect.isfunction(value):
                setattr(cls, name, self._wrap(value))
        if "setup_method" in vars(cls):
            self._span_setup_method(cls)
        return cls

    def _span_setup_method(self, cls: type) -> None:
        """pytest runs setup_method before the test: keep one mock from setup to teardown."""
        mock = self
        original_setup = vars(cls)["setup_method"]
        original_teardown = getattr(cls, "teardown_method", None)

        def setup_method(instance: Any, method: Any = None) -> None:
            mock.start()
            try:
                _call_with_optional_method(original_setup, instance, method)
            except BaseException:
                # pytest skips teardown_method when setup_method fails.
                mock.stop()
                raise

        def teardown_method(instance: Any, method: Any = None) -> None:
            try:
                if original_teardown is not None:
                    _call_with_optional_method(original_teardown, instance, method)
            finally:
                mock.stop()

        setattr(cls, "setup_method", setup_method)  # noqa: B010
        setattr(cls, "teardown_method", teardown_method)  # noqa: B010
