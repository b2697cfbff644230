"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol (a C parser; uvicorn's
pure-Python h11 took a third of the server's time per request under load) with the two
guards h11 had and httptools lacks: a bounded request head, and refusals of what is not
HTTP answered as modeled JSON errors rather than plain text; and one send per response.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# As h11's default: a request line and headers beyond this are refused, before the app runs.
HEAD_LIMIT = 16 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol for `uvicorn.Config(http=...)`, with the guards above."""

    def connection_made(self, transport: Any) -> None:
        self._head_bytes = 0
        self._refused = False
        # Duck-typed: what the wrapper does not define is the transport's own (__getattr__).
        super().connection_made(cast(asyncio.Transport, OneSendPerTurn(transport)))

    # The head's size is counted as the parser hands out its parts.
    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_bytes > HEAD_LIMIT:
            self._refused = True  # the app never sees it; data_received answers
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Also a head still arriving: the parser holds at most one read beyond the limit.
        if (self._refused or self._head_bytes > HEAD_LIMIT) and not self.transport.is_closing():
            self.send_400_response(f"Request head over {HEAD_LIMIT // 1024} KiB")

    def send_400_response(self, msg: str) -> None:
        # The parser's refusals (a request that is not HTTP/1.1, an unknown method, a head
        # over the limit) as the modeled error every SDK parses.
        body = json.dumps({"message": msg}).encode()
        head = (
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            f"x-amzn-ErrorType: ValidationException\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


class OneSendPerTurn:
    """A transport whose writes made in one turn of the event loop go out in one send.

    uvicorn writes a response's head and its body with two writes, each a send() on the
    socket there and then: on loopback under bench/load.py the head's send alone held the
    event loop ~8% of its time. Both writes come in the same turn (the app's `send` calls do
    not wait), so the head waits for the body and they leave together, before the loop next
    polls for I/O. Everything else is the transport's own.
    """

    __slots__ = ("_transport", "_pending", "_loop")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # a response with `connection: close` goes out before the close
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return int(self._transport.get_write_buffer_size()) + sum(len(c) for c in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
