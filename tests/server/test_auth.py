"""Auth mode `strict` over real HTTP: boto3 and botocore-signed httpx requests against a live
server with a credentials file; refusals change nothing; accounts are isolated; the audit
history names the configured principal; the credentials file reloads; secrets stay out of logs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.utils import percent_encode

from opencases.config import Settings
from opencases.errors import ProtocolError
from opencases.server.credentials import CredentialsError, CredentialStore, load_credentials
from opencases.server.identity import Authenticator
from tests.support import LiveServer, make_client

ALPHA = {"accessKeyId": "AKIDALPHA00000001", "secretAccessKey": "alpha-Secret/with+chars=",
         "accountId": "111111111111", "principalArn": "arn:aws:iam::111111111111:user/alice"}
BRAVO = {"accessKeyId": "AKIDBRAVO00000002", "secretAccessKey": "bravo-secret-2",
         "accountId": "222222222222", "principalArn": "arn:aws:iam::222222222222:role/bob"}
SECRETS = [ALPHA["secretAccessKey"], BRAVO["secretAccessKey"]]


def write_credentials(path: Path, *entries: dict[str, str]) -> Path:
    path.write_text(json.dumps({"credentials": list(entries)}))
    return path


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = Path(tmp_path_factory.mktemp("strict"))
    creds = write_credentials(workdir / "credentials.json", ALPHA, BRAVO)
    live = LiveServer(f"sqlite:///{workdir / 'strict.db'}", workdir,
                      ["--auth", "strict", "--credentials", str(creds), "--log-level", "debug"]).start()
    yield live
    live.stop()


def client_for(server: LiveServer, entry: dict[str, str], secret: str | None = None, region: str = "us-east-1") -> Any:
    return make_client(server.endpoint, account=entry["accessKeyId"], region=region,
                       secret=secret if secret is not None else entry["secretAccessKey"])


@pytest.fixture
def alpha(strict: LiveServer) -> Iterator[Any]:
    client = client_for(strict, ALPHA)
    yield client
    # Keep under the 5-domains-per-account quota across the module.
    for domain in client.list_domains()["domains"]:
        client.delete_domain(domainId=domain["domainId"])


@pytest.fixture
def bravo(strict: LiveServer) -> Iterator[Any]:
    client = client_for(strict, BRAVO)
    yield client
    for domain in client.list_domains()["domains"]:
        client.delete_domain(domainId=domain["domainId"])


def domain_ids(client: Any) -> set[str]:
    return {d["domainId"] for d in client.list_domains()["domains"]}


def code_of(exc: ClientError) -> tuple[str, int]:
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


def sign(server: LiveServer, method: str, path: str, body: bytes = b"", entry: dict[str, str] = ALPHA,
         at: datetime | None = None) -> AWSRequest:
    """A request signed by botocore's SigV4Auth (optionally as if at time `at`)."""
    request = AWSRequest(method=method, url=server.endpoint + path, data=body,
                         headers={"Content-Type": "application/json"})
    signer = SigV4Auth(Credentials(entry["accessKeyId"], entry["secretAccessKey"]), "cases", "us-east-1")
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at.astimezone(UTC).replace(tzinfo=None)):
            signer.add_auth(request)
    return request


def send(request: AWSRequest, *, url: str | None = None, body: bytes | None = None) -> httpx.Response:
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    return httpx.request(request.method, url or request.url, headers=headers,
                         content=request.body if body is None else body)


def assert_refused(response: httpx.Response, code: str) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == code
    assert response.headers["x-amzn-RequestId"]
    return str(response.json()["message"])


# --- the right key works; every kind of wrong one is refused and changes nothing -------------


def test_right_key_works(alpha: Any) -> None:
    domain = alpha.create_domain(name="Support")["domainId"]
    assert domain in domain_ids(alpha)
    assert alpha.get_domain(domainId=domain)["domainArn"].split(":")[4] == ALPHA["accountId"]


def test_wrong_secret(strict: LiveServer, alpha: Any) -> None:
    before = domain_ids(alpha)
    with pytest.raises(ClientError) as info:
        client_for(strict, ALPHA, secret="not-the-secret").create_domain(name="nope")
    assert code_of(info.value) == ("InvalidSignatureException", 403)
    assert domain_ids(alpha) == before


def test_unknown_access_key(strict: LiveServer, alpha: Any) -> None:
    before = domain_ids(alpha)
    stranger = make_client(strict.endpoint, account="AKIDNOBODY0000000", secret="whatever")
    with pytest.raises(ClientError) as info:
        stranger.create_domain(name="nope")
    assert code_of(info.value) == ("UnrecognizedClientException", 403)
    # A 12-digit key id selects an account in auth `open` only.
    with pytest.raises(ClientError) as info:
        make_client(strict.endpoint, account=ALPHA["accountId"]).list_domains()
    assert code_of(info.value) == ("UnrecognizedClientException", 403)
    assert domain_ids(alpha) == before


def test_missing_authorization(strict: LiveServer, alpha: Any) -> None:
    before = domain_ids(alpha)
    r = httpx.post(strict.endpoint + "/domains", json={"name": "unsigned"})
    assert assert_refused(r, "MissingAuthenticationTokenException") == "Missing Authentication Token"
    # Unknown routes too: nothing about the API is revealed before authentication.
    assert_refused(httpx.post(strict.endpoint + "/no/such/route"), "MissingAuthenticationTokenException")
    assert domain_ids(alpha) == before


def test_malformed_authorization(strict: LiveServer, alpha: Any) -> None:
    r = httpx.post(strict.endpoint + "/domains-list",
                   headers={"Authorization": f"AWS4-HMAC-SHA256 Credential={ALPHA['accessKeyId']}/20240101"})
    assert "'Signature'" in assert_refused(r, "IncompleteSignatureException")


def test_expired_date(strict: LiveServer, alpha: Any) -> None:
    before = domain_ids(alpha)
    old = datetime.now(UTC) - timedelta(minutes=20)
    r = send(sign(strict, "POST", "/domains", b'{"name": "stale"}', at=old))
    message = assert_refused(r, "InvalidSignatureException")
    assert message.startswith("Signature expired: " + old.strftime("%Y%m%dT%H%M%SZ"))
    assert domain_ids(alpha) == before
    # The same request signed now goes through: only the date was wrong.
    assert send(sign(strict, "POST", "/domains", b'{"name": "fresh"}')).status_code == 200


def test_tampered_body(strict: LiveServer, alpha: Any) -> None:
    before = domain_ids(alpha)
    request = sign(strict, "POST", "/domains", b'{"name": "signed"}')
    assert_refused(send(request, body=b'{"name": "tampered"}'), "InvalidSignatureException")
    assert domain_ids(alpha) == before


def test_tampered_path(strict: LiveServer, alpha: Any) -> None:
    keep = alpha.create_domain(name="keep")["domainId"]
    target = alpha.create_domain(name="target")["domainId"]
    request = sign(strict, "DELETE", f"/domains/{target}")
    assert_refused(send(request, url=f"{strict.endpoint}/domains/{keep}"), "InvalidSignatureException")
    assert domain_ids(alpha) == {keep, target}
    assert send(request).status_code == 200
    assert domain_ids(alpha) == {keep}


# --- presigned URLs --------------------------------------------------------------------------


def presign(server: LiveServer, method: str, path: str, expires: int = 300, secret: str | None = None,
            at: datetime | None = None) -> str:
    request = AWSRequest(method=method, url=server.endpoint + path)
    signer = SigV4QueryAuth(Credentials(ALPHA["accessKeyId"], secret or ALPHA["secretAccessKey"]), "cases",
                            "us-east-1", expires=expires)
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at.astimezone(UTC).replace(tzinfo=None)):
            signer.add_auth(request)
    return str(request.url)


def test_presigned_requests(strict: LiveServer, alpha: Any) -> None:
    domain = alpha.create_domain(name="Presigned")["domainId"]
    r = httpx.post(presign(strict, "POST", "/domains-list?maxResults=5"))
    assert r.status_code == 200, r.text
    assert domain in {d["domainId"] for d in r.json()["domains"]}
    r = httpx.post(presign(strict, "POST", f"/domains/{domain}"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Presigned"

    assert_refused(httpx.post(presign(strict, "POST", "/domains-list", secret="wrong")), "InvalidSignatureException")
    url = presign(strict, "POST", "/domains-list?maxResults=5")
    assert_refused(httpx.post(url.replace("maxResults=5", "maxResults=6")), "InvalidSignatureException")
    stale = presign(strict, "POST", "/domains-list", expires=60, at=datetime.now(UTC) - timedelta(minutes=5))
    assert assert_refused(httpx.post(stale), "InvalidSignatureException").startswith("Signature expired")


# --- percent-encoded ARNs in the path (/tags/{arn}) ------------------------------------------


def test_tag_operations_with_encoded_arns(strict: LiveServer, alpha: Any) -> None:
    domain = alpha.create_domain(name="Tagged")["domainId"]
    arn = alpha.get_domain(domainId=domain)["domainArn"]
    field_arn = alpha.create_field(domainId=domain, name="Priority", type="Text")["fieldArn"]
    for resource in (arn, field_arn):
        alpha.tag_resource(arn=resource, tags={"team": "blue", "cost center": "a/b:c"})
        assert alpha.list_tags_for_resource(arn=resource)["tags"] == {"team": "blue", "cost center": "a/b:c"}
        alpha.untag_resource(arn=resource, tagKeys=["team", "cost center"])
        assert alpha.list_tags_for_resource(arn=resource)["tags"] == {}
    # The same path, signed by hand and sent by httpx exactly as botocore encoded it.
    path = "/tags/" + percent_encode(arn)
    r = send(sign(strict, "POST", path, json.dumps({"tags": {"k": "v"}}).encode()))
    assert r.status_code == 200, r.text
    r = send(sign(strict, "GET", path))
    assert r.status_code == 200 and r.json()["tags"] == {"k": "v"}
    # Signed for the ARN, sent for the decoded ARN: a different canonical path.
    r = send(sign(strict, "GET", path), url=strict.endpoint + "/tags/" + arn.replace("/", "%2F"))
    assert_refused(r, "InvalidSignatureException")


# --- accounts ---------------------------------------------------------------------------------


def expect_404(call: Any, **params: Any) -> None:
    with pytest.raises(ClientError) as info:
        call(**params)
    assert code_of(info.value) == ("ResourceNotFoundException", 404)


def test_accounts_never_see_each_other(alpha: Any, bravo: Any) -> None:
    domain = alpha.create_domain(name="Alpha only")["domainId"]
    arn = alpha.get_domain(domainId=domain)["domainArn"]
    field = alpha.create_field(domainId=domain, name="Secret field", type="Text")["fieldId"]
    layout = alpha.create_layout(domainId=domain, name="L", content={
        "basic": {"topPanel": {"sections": [{"fieldGroup": {"fields": [{"id": field}]}}]}}})["layoutId"]
    template = alpha.create_template(domainId=domain, name="T")["templateId"]
    own = bravo.create_domain(name="Bravo only")["domainId"]

    assert domain_ids(alpha) == {domain}
    assert domain_ids(bravo) == {own}
    expect_404(bravo.get_domain, domainId=domain)
    expect_404(bravo.list_fields, domainId=domain)
    expect_404(bravo.get_layout, domainId=domain, layoutId=layout)
    expect_404(bravo.get_template, domainId=domain, templateId=template)
    expect_404(bravo.list_tags_for_resource, arn=arn)
    expect_404(bravo.delete_domain, domainId=domain)
    expect_404(alpha.get_domain, domainId=own)
    # Still there for its owner.
    assert alpha.get_template(domainId=domain, templateId=template)["name"] == "T"
    assert bravo.get_domain(domainId=own)["domainArn"].split(":")[4] == BRAVO["accountId"]


# --- who did what -----------------------------------------------------------------------------


def test_audit_names_the_configured_principal(alpha: Any, bravo: Any) -> None:
    for client, entry in ((alpha, ALPHA), (bravo, BRAVO)):
        domain = client.create_domain(name="Audited")["domainId"]
        template = client.create_template(domainId=domain, name="Basic", status="Active")["templateId"]
        try:
            case = client.create_case(domainId=domain, templateId=template,
                                      fields=[{"id": "title", "value": {"stringValue": "Printer on fire"}}])["caseId"]
        except ClientError as exc:
            if "not implemented" in str(exc):
                pytest.skip("CreateCase is not built yet; see test_pipeline_context_carries_the_principal")
            raise
        events = client.get_case_audit_events(domainId=domain, caseId=case)["auditEvents"]
        assert events
        assert {e["performedBy"]["iamPrincipalArn"] for e in events} == {entry["principalArn"]}


def test_pipeline_context_carries_the_principal(tmp_path: Path) -> None:
    """In-process: the RequestContext the pipeline builds names the credentials entry."""
    from opencases.server.pipeline import Pipeline
    from opencases.services import registry
    from opencases.store.store import Store

    creds = write_credentials(tmp_path / "c.json", ALPHA)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", auth="strict", credentials_file=str(creds))
    store = Store(settings.database_url)
    pipeline = Pipeline(store, settings)
    seen: list[Any] = []
    real = registry.HANDLERS["ListDomains"]

    def spy(ctx: Any, params: dict[str, Any]) -> Any:
        seen.append(ctx)
        return real(ctx, params)

    signed = AWSRequest(method="POST", url="http://opencases.test/domains-list", data=b"")
    SigV4Auth(Credentials(ALPHA["accessKeyId"], ALPHA["secretAccessKey"]), "cases", "eu-central-1").add_auth(signed)
    headers = {k.lower(): v for k, v in signed.headers.items()} | {"host": "opencases.test"}
    with mock.patch.dict(registry.HANDLERS, {"ListDomains": spy}):
        response = pipeline.handle("POST", "/domains-list", "", headers, b"")
    store.close()
    assert response.status == 200
    (ctx,) = seen
    assert (ctx.account, ctx.region, ctx.principal_arn) == (
        ALPHA["accountId"], "eu-central-1", ALPHA["principalArn"])


# --- the credential store: reuse, reload, bad files, secrets out of logs -----------------------


def test_authenticator_for_other_endpoints(tmp_path: Path) -> None:
    """identify_scope(): what the web UI and admin endpoints call with an ASGI scope."""
    auth = Authenticator("strict", CredentialStore(write_credentials(tmp_path / "c.json", ALPHA, BRAVO)))
    signed = AWSRequest(method="GET", url="http://opencases.test/ui/cases?q=a%20b", data=b"")
    SigV4Auth(Credentials(BRAVO["accessKeyId"], BRAVO["secretAccessKey"]), "cases", "us-east-1").add_auth(signed)
    headers = [(k.lower().encode(), v.encode()) for k, v in signed.headers.items()] + [(b"host", b"opencases.test")]
    scope = {"type": "http", "method": "GET", "path": "/ui/cases", "raw_path": b"/ui/cases",
             "query_string": b"q=a%20b", "headers": headers}
    who = auth.identify_scope(scope, b"")
    assert (who.account, who.principal_arn) == (BRAVO["accountId"], BRAVO["principalArn"])
    with pytest.raises(ProtocolError) as info:
        auth.identify_scope({**scope, "query_string": b"q=other"}, b"")
    assert info.value.code == "InvalidSignatureException"
    # Open mode answers as before: a 12-digit key id is the account.
    assert Authenticator("open").identify("GET", "/", "", {}, b"").account == "000000000000"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"credentials": []}', "empty"),
        ('{"keys": []}', '"credentials"'),
        (json.dumps({"credentials": [{**ALPHA, "accountId": "12"}]}), "accountId must be 12 digits"),
        (json.dumps({"credentials": [{**ALPHA, "principalArn": "alice"}]}), "principalArn"),
        (json.dumps({"credentials": [ALPHA, {**BRAVO, "accessKeyId": ALPHA["accessKeyId"]}]}), "appears twice"),
        (json.dumps({"credentials": [{k: v for k, v in ALPHA.items() if k != "secretAccessKey"}]}),
         "secretAccessKey is required"),
    ],
)
def test_bad_credentials_files(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CredentialsError) as info:
        load_credentials(path)
    assert fragment in str(info.value)
    assert all(secret not in str(info.value) for secret in SECRETS)


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "opencases", "serve", "--port", "1",
           "--database-url", f"sqlite:///{tmp_path / 'x.db'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_serve_refuses_to_start_without_good_credentials(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--auth", "strict")
    assert result.returncode != 0 and "credentials file" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"credentials": [{**ALPHA, "accountId": "x"}]}))
    result = run_serve(tmp_path, "--auth", "strict", "--credentials", str(bad))
    assert result.returncode != 0
    assert "bad credentials file" in result.stderr and "accountId" in result.stderr
    assert ALPHA["secretAccessKey"] not in result.stderr + result.stdout
    # The environment variables work too.
    env = {**os.environ, "OPENCASES_AUTH": "strict", "OPENCASES_CREDENTIALS": str(tmp_path / "missing.json")}
    cmd = [sys.executable, "-m", "opencases", "serve", "--port", "1", "--database-url", f"sqlite:///{tmp_path}/y.db"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert result.returncode != 0 and "cannot read" in result.stderr


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def accepted(server: LiveServer, entry: dict[str, str]) -> bool:
    try:
        client_for(server, entry).list_domains()
    except ClientError as exc:
        assert code_of(exc) == ("UnrecognizedClientException", 403)
        return False
    return True


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_and_mtime_reload(tmp_path: Path) -> None:
    creds = write_credentials(tmp_path / "credentials.json", ALPHA)
    live = LiveServer(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, ["--auth", "strict", "--credentials", str(creds)])
    live.start()
    try:
        assert accepted(live, ALPHA) and not accepted(live, BRAVO)
        # Rewrite the file but keep its mtime, so only SIGHUP can make the server notice.
        stat = creds.stat()
        write_credentials(creds, BRAVO)
        os.utime(creds, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        time.sleep(1.2)
        assert accepted(live, ALPHA)
        assert live.proc is not None
        live.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: accepted(live, BRAVO))
        assert not accepted(live, ALPHA)
        # A broken file on SIGHUP keeps the keys in force, and the server keeps running.
        stat = creds.stat()
        creds.write_text("{broken")
        os.utime(creds, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        live.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "credentials not reloaded" in live.log())
        assert accepted(live, BRAVO) and live.proc.poll() is None
        # A changed mtime is noticed without a signal.
        write_credentials(creds, ALPHA, BRAVO)
        os.utime(creds, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        assert wait_for(lambda: accepted(live, ALPHA))
    finally:
        live.stop()


def test_secrets_never_logged(strict: LiveServer, alpha: Any) -> None:
    alpha.list_domains()
    with pytest.raises(ClientError):
        client_for(strict, ALPHA, secret="wrong-secret-value").list_domains()
    httpx.post(presign(strict, "POST", "/domains-list"))
    signature = sign(strict, "POST", "/domains-list").headers["Authorization"].rsplit("Signature=", 1)[1]
    log = strict.log()
    assert "POST /domains-list" in log  # the request log is there, at debug level
    for secret in [*SECRETS, "wrong-secret-value"]:
        assert secret not in log
    assert "Signature=" not in log and "X-Amz-Signature" not in log and "Authorization" not in log
    assert str(signature) not in log
