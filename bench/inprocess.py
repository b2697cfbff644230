"""What the in-process benchmarks share: a Store on a temporary SQLite file, the server's
Pipeline over it, and request contexts for api.invoke (bench/reads.py, writes.py, mix.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from opencases.config import Settings
from opencases.server.pipeline import Pipeline
from opencases.services.context import RequestContext
from opencases.store.store import Store

ACCOUNT = "123456789012"


@contextmanager
def in_process(name: str) -> Iterator[tuple[Store, Pipeline, Callable[[], RequestContext]]]:
    """(store, pipeline, ctx): `ctx()` is a fresh RequestContext of ACCOUNT in us-east-1."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/{name}.db"
        settings = Settings(database_url=url)
        store = Store(url)

        def ctx() -> RequestContext:
            return RequestContext(store=store, settings=settings, account=ACCOUNT, region="us-east-1")

        try:
            yield store, Pipeline(store, settings), ctx
        finally:
            store.close()
