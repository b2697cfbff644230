"""Emulator controls under /_opencases/: reset the data, and summarise what the server holds.

    POST /_opencases/reset                          every account's data
    POST /_opencases/reset?account=123456789012     one account's (all its regions)
    GET  /_opencases/summary                        domains and their counts per account and region

These are for a server used as a development emulator. They answer 403 unless the server runs
with auth `open` (the default), so that a deployment with real credentials (auth `strict`)
cannot be wiped by anyone who can reach the port. The functions `reset` and `summary` are
also what the in-process mock calls.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opencases.server.pipeline import Pipeline
from opencases.store.store import Store

_ACCOUNT = re.compile(r"^\d{12}$")


def reset(pipeline: Pipeline, account: str | None = None) -> dict[str, Any]:
    """Delete all data (or one account's) and refill the throttling buckets it used."""
    with pipeline.store.write() as tx:
        deleted = tx.reset_data(account)
    if pipeline.throttle is not None:
        pipeline.throttle.reset(account)
    return {"domainsDeleted": deleted, "account": account}


def summary(store: Store) -> dict[str, Any]:
    """`{"accounts": {account: {region: {"domains": [...]}}}}`, domains oldest first."""
    with store.read() as tx:
        rows = tx.summary()
    accounts: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    for row in rows:
        regions = accounts.setdefault(row.pop("account"), {})
        regions.setdefault(row.pop("region"), {"domains": []})["domains"].append(row)
    return {"accounts": accounts}


def _forbidden(pipeline: Pipeline) -> JSONResponse | None:
    if pipeline.settings.auth != "open":
        return JSONResponse({"message": "emulator controls are disabled unless auth is 'open'"}, status_code=403)
    return None


def routes(pipeline: Pipeline) -> list[Route]:
    async def reset_endpoint(request: Request) -> JSONResponse:
        refused = _forbidden(pipeline)
        if refused is not None:
            return refused
        account = request.query_params.get("account")
        if account is not None and not _ACCOUNT.match(account):
            return JSONResponse({"message": "account must be a 12-digit account id"}, status_code=400)
        return JSONResponse(await run_in_threadpool(reset, pipeline, account))

    async def summary_endpoint(_request: Request) -> JSONResponse:
        refused = _forbidden(pipeline)
        if refused is not None:
            return refused
        return JSONResponse(await run_in_threadpool(summary, pipeline.store))

    return [
        Route("/_opencases/reset", reset_endpoint, methods=["POST"]),
        Route("/_opencases/summary", summary_endpoint, methods=["GET"]),
    ]
