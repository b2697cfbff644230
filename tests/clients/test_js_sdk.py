"""The smoke scenario through the AWS SDK for JavaScript v3 (`@aws-sdk/client-connectcases`).

The package is npm-installed once into the user's cache directory (reused afterwards;
OPENCASES_TEST_CLIENTS_CACHE overrides the location) and driven by smoke.mjs, which prints a
JSON summary asserted on here. Skipped, saying why, only when Node/npm is missing or the
install fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer

PACKAGE = "@aws-sdk/client-connectcases"
# Pinned so that runs are reproducible; the newest release when written (needs Node >= 20).
SDK_VERSION = "3.1138.0"
MIN_NODE = 20
ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/i-1/agent/a-1"
SCRIPT = Path(__file__).with_name("smoke.mjs")
INSTALL_TIMEOUT = 300
COMMAND_TIMEOUT = 60


def cache_dir() -> Path:
    base = os.environ.get("OPENCASES_TEST_CLIENTS_CACHE")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opencases-test-clients"


def _tail(text: str | bytes | None, lines: int = 15) -> str:
    """The last lines of a tool's output, without JavaScript stack frames."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    kept = [line for line in (text or "").strip().splitlines() if not re.match(r"^(npm error)?\s+at ", line)]
    return "\n".join(kept[-lines:])


def find_node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        pytest.skip(f"JavaScript SDK test needs Node.js and npm: {missing} not found on PATH")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"JavaScript SDK test: `node --version` failed: {exc}")
    match = re.match(r"v(\d+)\.", version.strip())
    if match is None or int(match.group(1)) < MIN_NODE:
        pytest.skip(f"JavaScript SDK test: {PACKAGE}@{SDK_VERSION} needs Node >= {MIN_NODE}, "
                    f"found {version.strip() or 'unknown'}")
    return node


def install_sdk() -> Path:
    """The directory holding node_modules/@aws-sdk/client-connectcases, installing it if needed.

    A marker naming the version is written last, so an interrupted install is redone; a lock
    file keeps concurrent test processes from installing at the same time.
    """
    npm = shutil.which("npm")
    assert npm is not None  # find_node() ran first
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    js_dir = root / "js"
    marker = js_dir / f".installed-client-connectcases-{SDK_VERSION}"
    with open(root / "js.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and (js_dir / "node_modules" / PACKAGE / "package.json").exists():
            return js_dir
        js_dir.mkdir(exist_ok=True)
        for stale in js_dir.glob(".installed-*"):
            stale.unlink()
        # A package.json of its own keeps npm from walking up to some enclosing project.
        (js_dir / "package.json").write_text(json.dumps({"name": "opencases-test-clients", "private": True}) + "\n")
        cmd = [npm, "install", "--no-audit", "--no-fund", "--save-exact", f"{PACKAGE}@{SDK_VERSION}"]
        what = " ".join(["npm", *cmd[1:]])
        try:
            done = subprocess.run(cmd, cwd=js_dir, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            pytest.skip(f"JavaScript SDK not installable: `{what}` timed out after {INSTALL_TIMEOUT}s "
                        f"(no access to the npm registry?)\n{_tail(exc.stderr)}")
        except OSError as exc:
            pytest.skip(f"JavaScript SDK not installable: `{what}` could not run: {exc}")
        if done.returncode != 0:
            pytest.skip(f"JavaScript SDK not installable: `{what}` failed with exit code {done.returncode} "
                        f"(no access to the npm registry?)\n{_tail(done.stderr)}")
        if not (js_dir / "node_modules" / PACKAGE / "package.json").exists():
            pytest.skip(f"JavaScript SDK not installable: {PACKAGE} missing from {js_dir}/node_modules after `{what}`")
        marker.write_text(SDK_VERSION + "\n")
        return js_dir


@pytest.fixture(scope="module")
def sdk() -> tuple[str, Path]:
    node = find_node()
    return node, install_sdk()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("js-sdk")
    server = LiveServer(f"sqlite:///{tmp_path / 'x.db'}", tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def run_scenario(node: str, js_dir: Path, server: LiveServer) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true"})
    done = subprocess.run([node, str(SCRIPT), server.endpoint, str(js_dir)], env=env, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"smoke.mjs exited with {done.returncode}\nstderr:\n{_tail(done.stderr, 40)}\n"
                    f"server log:\n{_tail(server.log(), 30)}")
    return dict(json.loads(done.stdout))


def test_smoke_scenario(sdk: tuple[str, Path], live: LiveServer) -> None:
    node, js_dir = sdk
    summary = run_scenario(node, js_dir, live)
    assert summary["sdkVersion"] == SDK_VERSION
    field, case = summary["fieldId"], summary["caseId"]
    item = summary["relatedItem"]
    assert item["relatedItemId"] and item["relatedItemArn"].endswith(item["relatedItemId"])
    assert case in item["relatedItemArn"]

    events = summary["auditEvents"]
    assert [e["type"] for e in events] == ["Case.Created", "Case.Updated", "RelatedItem.Created"]
    created, updated, commented = events
    assert {f["eventFieldId"]: f["newValue"] for f in created["fields"]}[field] == {"stringValue": "first"}
    [change] = [f for f in updated["fields"] if f["eventFieldId"] == field]
    assert change["oldValue"] == {"stringValue": "first"} and change["newValue"] == {"stringValue": "second"}
    assert updated["performedBy"]["user"] == {"userArn": USER_ARN}
    assert commented["relatedItemType"] == "Comment"
    assert all(e["eventId"] for e in events)
    # The SDK parsed performedTime into a Date.
    assert summary["performedTimeIsDate"] == [True, True, True]

    got = summary["getCase"]
    assert got["templateId"] == summary["templateId"]
    assert {f["id"]: f["value"] for f in got["fields"]} == {
        "title": {"stringValue": "Printer on fire"}, field: {"stringValue": "second"}}

    # A modeled error comes back as the SDK's typed exception.
    assert summary["error"] is not None, "GetDomain of an unknown domain succeeded"
    assert summary["error"]["name"] == "ResourceNotFoundException" and summary["error"]["typed"] is True
    assert summary["error"]["status"] == 404
