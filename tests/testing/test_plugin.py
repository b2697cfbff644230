"""The pytest plugin, as a user's project sees it: a separate pytest run that loads it by its
entry point, running the README's examples and each fixture."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

FIXTURE_TESTS = '''
import pytest

def test_client_fixture(connectcases_client, connectcases_mock):
    connectcases_client.create_domain(name="x")
    assert [d["name"] for d in connectcases_client.list_domains()["domains"]] == ["x"]
    connectcases_mock.reset()
    assert connectcases_client.list_domains()["domains"] == []

def test_client_fixture_starts_fresh(connectcases_client):
    assert connectcases_client.list_domains()["domains"] == []

def test_server_fixture(connectcases_server):
    client = connectcases_server.client("111111111111")
    client.create_domain(name="kept-until-the-next-test")
    assert connectcases_server.endpoint.startswith("http://127.0.0.1:")

def test_server_fixture_is_emptied_between_tests(connectcases_server):
    assert connectcases_server.summary() == {"accounts": {}}
'''

NO_BOTO3 = '''
import sys
sys.modules["boto3"] = None  # as if boto3 were not installed

def test_needs_boto3(connectcases_client):
    pass
'''


def readme_examples() -> list[str]:
    text = README.read_text()
    section = text.split("## Testing with opencases", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def run_pytest(tmp_path: Path, files: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args, str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )


def test_readme_examples_and_fixtures_pass(tmp_path: Path) -> None:
    examples = readme_examples()
    assert len(examples) == 2
    files = {f"test_readme_{i}.py": code for i, code in enumerate(examples)}
    files["test_fixtures.py"] = FIXTURE_TESTS
    out = run_pytest(tmp_path, files)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 passed" in out.stdout, out.stdout


def test_client_fixture_skips_without_boto3(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, {"test_no_boto3.py": NO_BOTO3})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "needs boto3" in out.stdout, out.stdout
