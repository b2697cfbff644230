"""A live `opencases serve` in a subprocess on a free port, for tests that need real HTTP.

Used by the `connectcases_server` pytest fixture and by opencases' own test suite. Other
languages' SDKs (or boto3 through `AWS_ENDPOINT_URL_CONNECTCASES`) reach it at `.endpoint`.
boto3 is imported only by `client()`, so this module works without it.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def random_account() -> str:
    return "".join(random.choice("0123456789") for _ in range(12))


def make_client(
    endpoint: str | None, account: str | None = None, region: str = "us-east-1", secret: str = "secret", **kwargs: Any
) -> Any:
    """A boto3 connectcases client; a 12-digit access key id selects the account (auth `open`).

    With auth `strict`, `account` is the access key id of a credentials entry and `secret` its key.

    Retries are off (one attempt) unless `config` says otherwise, so a test sees every error.
    """
    import boto3
    from botocore.config import Config

    kwargs.setdefault("config", Config(retries={"total_max_attempts": 1}))
    if endpoint is not None:
        kwargs["endpoint_url"] = endpoint
    return boto3.client(
        "connectcases",
        region_name=region,
        aws_access_key_id=account or random_account(),
        aws_secret_access_key=secret,
        **kwargs,
    )


class LiveServer:
    """`opencases serve` on a free port; start() waits until /_opencases/health answers."""

    def __init__(self, database_url: str, workdir: Path, extra_args: list[str] | None = None) -> None:
        self.database_url = database_url
        self.workdir = Path(workdir)
        self.extra_args = extra_args or []
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"server-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> LiveServer:
        cmd = [sys.executable, "-m", "opencases", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--database-url", self.database_url, *self.extra_args]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_opencases/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server not healthy after {timeout}s:\n{self.log()}")

    def stop(self, sig: int | None = None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def restart(self) -> LiveServer:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> LiveServer:
        return self.start() if self.proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- conveniences for tests ---------------------------------------------------------------
    def client(self, account: str | None = None, region: str = "us-east-1", **kwargs: Any) -> Any:
        """A boto3 client bound to this server (needs boto3)."""
        return make_client(self.endpoint, account, region, **kwargs)

    def reset(self, account: str | None = None) -> dict[str, Any]:
        """POST /_opencases/reset: all data, or one account's."""
        query = "?" + urllib.parse.urlencode({"account": account}) if account else ""
        return self._admin("POST", "/_opencases/reset" + query)

    def summary(self) -> dict[str, Any]:
        """GET /_opencases/summary."""
        return self._admin("GET", "/_opencases/summary")

    def _admin(self, method: str, path: str) -> dict[str, Any]:
        req = urllib.request.Request(self.endpoint + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return dict(json.loads(r.read()))
