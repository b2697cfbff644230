"""The least a GetCase can cost in Python on this machine: a bare ASGI app for bench/wire.py.

Served by the same uvicorn and HTTP protocol as `opencases serve`, it answers the no-op route
and a GetCase with one SQLite statement (the case's template and values) turned into JSON:
no authentication, validation, domain check, tags or metrics. bench/wire.py --ceiling
times it beside the real server, so a ratio to the floor can be set against what any Python
handler that reads the database per request reaches here.

    .venv/bin/python bench/ceiling.py --database FILE --port PORT
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from opencases.server.http_protocol import BoundedHttpToolsProtocol

Message = MutableMapping[str, Any]

CASE_VALUES = (
    "SELECT c.template_id, v.field_id, v.s_value, v.n_value, v.b_value, v.u_value FROM cases c "
    "JOIN case_values v ON v.domain_id = c.domain_id AND v.case_id = c.case_id "
    "WHERE c.domain_id = ? AND c.case_id = ?"
)


def value_of(row: tuple[Any, ...]) -> dict[str, Any]:
    s_value, n_value, b_value, u_value = row[2:]
    if s_value is not None:
        return {"stringValue": s_value}
    if n_value is not None:
        return {"doubleValue": n_value}
    if b_value is not None:
        return {"booleanValue": bool(b_value)}
    return {"userArnValue": u_value}


class CeilingApp:
    def __init__(self, database: str) -> None:
        self.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        parts = scope["path"].split("/")
        if len(parts) == 5 and parts[1] == "domains" and parts[3] == "cases":
            wanted = [f["id"] for f in json.loads(body)["fields"]]
            rows = self.conn.execute(CASE_VALUES, (parts[2], parts[4])).fetchall()
            stored = {row[1]: row for row in rows}
            fields = [{"id": f, "value": value_of(stored[f])} for f in wanted if f in stored]
            out = json.dumps({"fields": fields, "templateId": rows[0][0] if rows else "", "tags": {}}).encode()
        else:
            out = b"{}"
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", required=True)
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    config = uvicorn.Config(CeilingApp(args.database), host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False, lifespan="off", http=BoundedHttpToolsProtocol)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
