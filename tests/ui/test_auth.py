"""Workspace sign-in, sessions and CSRF over plain HTTP (no browser needed): strict mode signs in
with a key from the credentials file, every POST needs the session's token, and a session ends
when its key leaves the file."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import LiveServer, make_client

KEY, SECRET, ACCOUNT = "AKIDUITEST", "s3cret-for-the-ui", "444455556666"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/agent"


def write_credentials(path: Path, entries: list[dict[str, str]]) -> None:
    path.write_text(json.dumps({"credentials": entries}))


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    workdir = Path(tmp_path_factory.mktemp("ui-strict"))
    creds = workdir / "credentials.json"
    write_credentials(creds, [
        {"accessKeyId": KEY, "secretAccessKey": SECRET, "accountId": ACCOUNT, "principalArn": PRINCIPAL},
        {"accessKeyId": "AKIDOTHER", "secretAccessKey": "other", "accountId": "777788889999",
         "principalArn": "arn:aws:iam::777788889999:user/other"},
    ])
    live = LiveServer(f"sqlite:///{workdir / 'strict.db'}", workdir,
                      extra_args=["--auth", "strict", "--credentials", str(creds)]).start()
    try:
        yield live, creds
    finally:
        live.stop()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(http: httpx.Client, key: str = KEY, secret: str = SECRET) -> httpx.Response:
    token = csrf_of(http.get("/ui/signin").text)
    return http.post("/ui/signin", data={"csrf": token, "accessKeyId": key, "secretAccessKey": secret,
                                         "region": "eu-west-1", "next": "/ui/domains"})


def test_strict_sign_in_and_csrf(strict_server: tuple[LiveServer, Path]) -> None:
    live, _ = strict_server
    with httpx.Client(base_url=live.endpoint) as http:
        assert http.get("/ui/domains").headers["location"].startswith("/ui/signin")
        page = http.get("/ui/signin").text
        assert 'name="accessKeyId"' in page and 'name="account"' not in page

        refused = sign_in(http, secret="wrong")
        assert refused.status_code == 400
        assert "Unknown access key or wrong secret." in refused.text
        assert sign_in(http, key="AKIDNOBODY").status_code == 400
        # Without the sign-in form's token (login CSRF), nothing is checked at all.
        assert http.post("/ui/signin", data={"accessKeyId": KEY, "secretAccessKey": SECRET}).status_code == 403

        done = sign_in(http)
        assert done.status_code == 303 and done.headers["location"] == "/ui/domains"
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie

        domains = http.get("/ui/domains")
        assert domains.status_code == 200
        assert f"{ACCOUNT} · eu-west-1" in domains.text
        assert "default-src 'self'" in domains.headers["content-security-policy"]

        assert http.post("/ui/domains", data={"name": "no-token"}).status_code == 403
        assert http.post("/ui/domains", data={"name": "bad-token", "csrf": "x"}).status_code == 403
        cross = http.post("/ui/domains", data={"name": "cross", "csrf": csrf_of(domains.text)},
                          headers={"origin": "https://evil.example"})
        assert cross.status_code == 403
        created = http.post("/ui/domains", data={"name": "Strict desk", "csrf": csrf_of(domains.text)})
        assert created.status_code == 303

    # The domain belongs to the key's account and region, as an API call with that key would.
    client = make_client(live.endpoint, account=KEY, secret=SECRET, region="eu-west-1")
    assert [d["name"] for d in client.list_domains()["domains"]] == ["Strict desk"]


def test_tampered_session_is_refused(strict_server: tuple[LiveServer, Path]) -> None:
    live, _ = strict_server
    with httpx.Client(base_url=live.endpoint) as http:
        sign_in(http)
        value = http.cookies["opencases_session"]
        payload, signature = value.split(".")
        forged = json.loads(_b64decode(payload)) | {"account": "777788889999"}
        http.cookies.clear()
        http.cookies.set("opencases_session", _b64encode(json.dumps(forged)) + "." + signature, path="/ui")
        assert http.get("/ui/domains").status_code == 303


def test_session_ends_when_key_is_removed(strict_server: tuple[LiveServer, Path]) -> None:
    live, creds = strict_server
    original = creds.read_text()
    with httpx.Client(base_url=live.endpoint) as http:
        assert sign_in(http, key="AKIDOTHER", secret="other").status_code == 303
        assert http.get("/ui/domains").status_code == 200
        entries = [e for e in json.loads(original)["credentials"] if e["accessKeyId"] != "AKIDOTHER"]
        try:
            time.sleep(1.1)  # the store looks at the file's mtime at most once a second
            write_credentials(creds, entries)
            deadline = time.monotonic() + 10
            while http.get("/ui/domains").status_code == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert http.get("/ui/domains").status_code == 303
        finally:
            time.sleep(1.1)
            creds.write_text(original)


def test_open_mode_sign_in_validates_account(ui_server: LiveServer) -> None:
    with httpx.Client(base_url=ui_server.endpoint) as http:
        token = csrf_of(http.get("/ui/signin").text)
        bad = http.post("/ui/signin", data={"csrf": token, "account": "12345", "region": "us-east-1"})
        assert bad.status_code == 400 and "An account id is 12 digits." in bad.text
        token = csrf_of(bad.text)
        evil = http.post("/ui/signin", data={"csrf": token, "account": "111122223333", "region": "us-east-1",
                                             "next": "//evil.example/"})
        assert evil.status_code == 303 and evil.headers["location"] == "/ui/"


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
