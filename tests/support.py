"""Test support: a live opencases server in a subprocess, and boto3 clients bound to it."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from sqlalchemy import create_engine, text

PG_ENV = "OPENCASES_TEST_DATABASE_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`opencases serve` on a free port; start() waits until /_opencases/health answers."""

    def __init__(self, database_url: str, workdir: Path, extra_args: list[str] | None = None) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.extra_args = extra_args or []
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"server-{self.port}.log"

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


def random_account() -> str:
    return "".join(random.choice("0123456789") for _ in range(12))


def make_client(endpoint: str, account: str | None = None, region: str = "us-east-1") -> Any:
    """A boto3 connectcases client; a 12-digit access key id selects the account (auth `open`)."""
    return boto3.client(
        "connectcases",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=account or random_account(),
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


class PostgresSchema:
    """A private schema in the test PostgreSQL database, dropped afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = "t_" + uuid.uuid4().hex[:12]
        url = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine = create_engine(url)
        with self.engine.begin() as conn:
            # pg_trgm lives in public so that dropping test schemas never drops it.
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{sep}options=-csearch_path%3D{self.name},public"

    def drop(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.engine.dispose()


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None
