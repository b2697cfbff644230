"""Prometheus metrics of one server: `GET /_opencases/metrics` in the text exposition format.

    opencases_requests_total{operation,status}          API requests answered
    opencases_request_duration_seconds{operation}       histogram, body read to response ready
    opencases_outbox_pending                            outbox rows waiting for delivery
    opencases_db_pool_checked_out / _size / _overflow   SQLAlchemy pool status of this process

Each app owns a registry (tests run several apps in one process, and the default global
registry would mix them). Request counters and histograms are recorded per request; the
outbox and pool figures are read when scraped, so an idle server costs nothing.

With `--workers N` every worker is a process of its own. The CLI then points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start, prometheus_client
keeps counters and histograms in files there, and a scrape (answered by any one worker) adds
up every worker's. The outbox depth is the database's, so any worker tells it; the pool
figures are the answering worker's own, labelled with its pid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from opencases.store import schema
from opencases.store.store import Store

log = logging.getLogger("opencases.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds; most API calls take a few milliseconds, searches and merges longer.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _LiveGauges(Collector):
    """Figures read at scrape time: the outbox depth and this process's connection pool."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        pending = GaugeMetricFamily("opencases_outbox_pending", "Outbox rows (case events) waiting for delivery")
        try:
            with self.store.read() as tx:
                count = tx.conn.execute(
                    select(func.count()).select_from(schema.outbox).where(schema.outbox.c.state == "pending")
                ).scalar_one()
            pending.add_metric([], float(count))
        except Exception:  # a scrape must answer even while the database is unreachable
            log.warning("metrics: cannot read the outbox depth", exc_info=True)
        yield pending
        yield from self._pool()

    def _pool(self) -> Iterable[Metric]:
        pool = self.store.db.engine.pool
        labels = ["pid"]
        pid = [str(os.getpid())]
        for name, what, reader in (
            ("checked_out", "Connections in use", "checkedout"),
            ("size", "Connections the pool keeps", "size"),
            ("overflow", "Connections beyond the pool size (negative: not yet opened)", "overflow"),
        ):
            family = GaugeMetricFamily(f"opencases_db_pool_{name}", what, labels=labels)
            method = getattr(pool, reader, None)
            # SQLite's in-memory StaticPool has none of these: report nothing rather than guess.
            if callable(method):
                family.add_metric(pid, float(method()))
            yield family


class Metrics:
    """The registry of one app and the request instruments recorded into it."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # (operation, status) -> the children of both metrics; operations come from the
        # router (the model's 47 or "-") and statuses from our own answers, so it stays small.
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "opencases_requests",
            "API requests answered, by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "opencases_request_duration_seconds",
            "Time from the request's arrival to its response, by operation",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.live = _LiveGauges(store)
        self.registry.register(self.live)

    def observe(self, operation: str, status: int, seconds: float) -> None:
        children = self._children.get((operation, status))
        if children is None:
            # labels() builds and locks per call; a request's worth of time at the floor.
            children = self._children[(operation, status)] = (
                self.requests.labels(operation, str(status)), self.latency.labels(operation)
            )
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        # Several workers: their counters live in files; the live gauges are ours to add.
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=directory)
        combined.register(self.live)
        return generate_latest(combined)
