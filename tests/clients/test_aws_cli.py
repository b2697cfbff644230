"""The smoke scenario through the AWS CLI (awscli v1 from PyPI) against a live server.

awscli v1 pins an exact botocore, so it lives in its own virtualenv under the user's cache
directory (created once, reused; OPENCASES_TEST_CLIENTS_CACHE overrides the location), never
in the project's environment. The test is skipped, saying why, only when that install fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer

# The newest awscli when written; its botocore has every connectcases operation used here.
AWSCLI_VERSION = "1.46.3"
ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/i-1/agent/a-1"
INSTALL_TIMEOUT = 300
COMMAND_TIMEOUT = 60


def cache_dir() -> Path:
    base = os.environ.get("OPENCASES_TEST_CLIENTS_CACHE")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opencases-test-clients"


def _tail(text: str | bytes | None, lines: int = 15) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").strip().splitlines()[-lines:])


def install_awscli() -> Path:
    """The `aws` executable of the cached virtualenv, installing it first if needed.

    A marker file naming the version is written last, so an interrupted install is redone;
    a lock file keeps concurrent test processes from installing at the same time.
    """
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / "awscli-venv"
    aws = venv / "bin" / "aws"
    marker = venv / f".installed-awscli-{AWSCLI_VERSION}"
    with open(root / "awscli.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and aws.exists():
            return aws
        shutil.rmtree(venv, ignore_errors=True)
        steps = [
            ("create the virtualenv", [sys.executable, "-m", "venv", str(venv)]),
            (f"pip install awscli=={AWSCLI_VERSION}",
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
              f"awscli=={AWSCLI_VERSION}"]),
        ]
        for what, cmd in steps:
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                pytest.skip(f"AWS CLI not installable: `{what}` timed out after {INSTALL_TIMEOUT}s "
                            f"(no access to PyPI?)\n{_tail(exc.stderr)}")
            except OSError as exc:
                pytest.skip(f"AWS CLI not installable: `{what}` could not run: {exc}")
            if done.returncode != 0:
                pytest.skip(f"AWS CLI not installable: `{what}` failed with exit code {done.returncode} "
                            f"(no access to PyPI?)\n{_tail(done.stderr)}")
        if not aws.exists():
            pytest.skip(f"AWS CLI not installable: {aws} missing after pip install awscli=={AWSCLI_VERSION}")
        marker.write_text(AWSCLI_VERSION + "\n")
        return aws


@pytest.fixture(scope="module")
def aws() -> Path:
    return install_awscli()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("aws-cli")
    server = LiveServer(f"sqlite:///{tmp_path / 'x.db'}", tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


class Cli:
    """Runs `aws connectcases ...` against the server, with no user configuration involved."""

    def __init__(self, aws: Path, server: LiveServer) -> None:
        self.aws = aws
        self.server = server
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({
            "AWS_ACCESS_KEY_ID": ACCOUNT,  # 12 digits: selects the account
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
        })

    def run(self, command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.aws), "connectcases", command, *args, "--endpoint-url", self.server.endpoint,
               "--region", "us-east-1", "--output", "json"]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        if check and done.returncode != 0:
            pytest.fail(f"`aws connectcases {command}` exited with {done.returncode}\n"
                        f"stderr:\n{_tail(done.stderr, 30)}\nserver log:\n{_tail(self.server.log(), 30)}")
        return done

    def __call__(self, command: str, *args: str) -> dict[str, Any]:
        out = self.run(command, *args).stdout
        return dict(json.loads(out)) if out.strip() else {}


def js(value: Any) -> str:
    return json.dumps(value)


def test_smoke_scenario(aws: Path, live: LiveServer) -> None:
    cli = Cli(aws, live)
    domain = cli("create-domain", "--name", "CLI smoke")["domainId"]
    field = cli("create-field", "--domain-id", domain, "--name", "Notes", "--type", "Text")["fieldId"]
    template = cli("create-template", "--domain-id", domain, "--name", "Basic",
                   "--required-fields", js([{"fieldId": "title"}]))["templateId"]
    case = cli("create-case", "--domain-id", domain, "--template-id", template, "--fields",
               js([{"id": "title", "value": {"stringValue": "Printer on fire"}},
                   {"id": field, "value": {"stringValue": "first"}}]))["caseId"]
    cli("update-case", "--domain-id", domain, "--case-id", case,
        "--fields", js([{"id": field, "value": {"stringValue": "second"}}]),
        "--performed-by", js({"userArn": USER_ARN}))
    item = cli("create-related-item", "--domain-id", domain, "--case-id", case, "--type", "Comment",
               "--content", js({"comment": {"body": "Called the customer", "contentType": "Text/Plain"}}))
    assert item["relatedItemId"] and item["relatedItemArn"].endswith(item["relatedItemId"])

    events = cli("get-case-audit-events", "--domain-id", domain, "--case-id", case)["auditEvents"]
    assert [e["type"] for e in events] == ["Case.Created", "Case.Updated", "RelatedItem.Created"]
    created, updated, commented = events
    assert {f["eventFieldId"]: f["newValue"] for f in created["fields"]}[field] == {"stringValue": "first"}
    [change] = [f for f in updated["fields"] if f["eventFieldId"] == field]
    assert change["oldValue"] == {"stringValue": "first"} and change["newValue"] == {"stringValue": "second"}
    assert updated["performedBy"]["user"] == {"userArn": USER_ARN}
    assert commented["relatedItemType"] == "Comment"
    assert all(e["eventId"] and e["performedTime"] for e in events)

    got = cli("get-case", "--domain-id", domain, "--case-id", case,
              "--fields", js([{"id": "title"}, {"id": field}]))
    assert {f["id"]: f["value"] for f in got["fields"]} == {
        "title": {"stringValue": "Printer on fire"}, field: {"stringValue": "second"}}
    assert got["templateId"] == template


def test_modeled_error(aws: Path, live: LiveServer) -> None:
    """A modeled error reaches the CLI by its code, with a non-zero exit status."""
    cli = Cli(aws, live)
    done = cli.run("get-domain", "--domain-id", "no-such-domain", check=False)
    assert done.returncode != 0
    assert "ResourceNotFoundException" in done.stderr, done.stderr
