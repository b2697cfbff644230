"""Server logging: the text format (one readable line per request) or JSON lines.

`--log-format json` writes one JSON object per line. A request's line carries the fields the
pipeline passes as `extra={"request": {...}}` (method, path, operation, status, ms,
request_id) at the top level, next to `time`, `level` and `logger`; any other record has
`message` (and `exc_info` text when there is one), so a log shipper needs no second parser.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# A path may be as long as the HTTP server accepts; a log line should stay a line.
MAX_PATH = 2048


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        request = getattr(record, "request", None)
        if isinstance(request, dict):
            out.update(request)
            path = out.get("path")
            if isinstance(path, str) and len(path) > MAX_PATH:
                out["path"] = path[:MAX_PATH] + "..."
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        # ensure_ascii: a lone surrogate from a hostile path still makes valid JSON.
        return json.dumps(out, ensure_ascii=True, default=str)


def configure(level: str, fmt: str = "text") -> None:
    """Root logging to standard error, in `fmt` ("text" or "json")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
