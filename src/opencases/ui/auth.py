"""Sign-in, sessions and CSRF protection for the workspace.

Sign-in follows the server's auth mode. `open`: the agent picks an account (12 digits) and a
region, as any SigV4 signature would in that mode. `strict`: an access key id and its secret
from the server's credential store (server/credentials.py); the account and principal ARN come
from the entry, so the UI can act as nobody the API would not accept.

The session is a signed cookie (HMAC-SHA256 over a JSON payload, with an issue time checked
against MAX_AGE), HttpOnly and SameSite=Lax. The key is OPENCASES_UI_SECRET when set, so that
sessions survive a restart or work across several servers; otherwise one generated at start.
In strict mode every request looks the access key up again, so removing a key from the
credentials file ends its sessions.

CSRF: each session carries a random token that every form posts back and every POST must
match (constant-time compare); the sign-in form, which has no session yet, uses a
double-submit cookie instead. A POST whose Origin header names another host is refused too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from opencases.server.credentials import CredentialStore
from opencases.ui.web import BASE, Form, Web, redirect, url

if TYPE_CHECKING:
    from opencases.ui.app import UI

COOKIE = "opencases_session"
SIGNIN_COOKIE = "opencases_signin"
MAX_AGE = 12 * 3600
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_USER_ARN = re.compile(r"^arn:[\w-]+:connect:[\w-]+:\d{12}:instance/[^/]+/(agent|user)/[^/]+$")


@dataclass(frozen=True)
class Session:
    account: str
    region: str
    principal_arn: str
    access_key: str | None
    user_arn: str | None
    csrf: str
    issued: int


class Signer:
    """`payload.signature`, both base64url: tamper-evident, not secret (no secrets inside)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, data: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload.encode())}"

    def loads(self, value: str) -> dict[str, Any] | None:
        payload, _, signature = value.partition(".")
        if not payload or not hmac.compare_digest(signature.encode(), self._sign(payload.encode()).encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _secret_key() -> bytes:
    configured = os.environ.get("OPENCASES_UI_SECRET")
    return configured.encode() if configured else secrets.token_bytes(32)


class Sessions:
    def __init__(self, mode: str, credentials: CredentialStore | None) -> None:
        self.mode = mode
        self.credentials = credentials
        self.signer = Signer(_secret_key())

    def load(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        data = self.signer.loads(raw) if raw else None
        if data is None:
            return None
        try:
            session = Session(**data)
        except TypeError:
            return None
        if not 0 <= time.time() - session.issued <= MAX_AGE:
            return None
        if self.mode == "strict":
            entry = self.credentials.lookup(session.access_key or "") if self.credentials else None
            if entry is None or entry.account_id != session.account or entry.principal_arn != session.principal_arn:
                return None
        return session

    def check_post(self, request: Request, session: Session | None, form: Form) -> Response | None:
        """None when the POST may proceed; else the refusal."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            return HTMLResponse("Cross-site request refused", status_code=403)
        if session is not None:
            expected = session.csrf
        else:
            pending = self.signer.loads(request.cookies.get(SIGNIN_COOKIE, "")) or {}
            expected = str(pending.get("t", ""))
        sent = form.get("csrf")
        if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            return HTMLResponse(
                "The form expired or did not come from this site; go back, reload and try again.",
                status_code=403,
            )
        return None

    def set_cookie(self, response: Response, request: Request, session: Session) -> None:
        response.set_cookie(
            COOKIE, self.signer.dumps(asdict(session)), max_age=MAX_AGE, path=BASE, httponly=True,
            samesite="lax", secure=request.url.scheme == "https",
        )


def _safe_next(target: str) -> str:
    # Only our own paths: an open redirect would turn sign-in into a phishing aid.
    if target.startswith(BASE + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return url()


def signin_page(w: Web, *, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = w.ui.env.get_template("signin.html").render(
        session=None, csrf=token, notice=None, auth_mode=w.ui.settings.auth, errors=errors or {},
        form=w.form, next=_safe_next(w.form.get("next") or w.param("next")),
    )
    out = HTMLResponse(response, status_code=status)
    out.set_cookie(
        SIGNIN_COOKIE, w.ui.sessions.signer.dumps({"t": token}), max_age=3600, path=BASE, httponly=True,
        samesite="lax", secure=w.request.url.scheme == "https",
    )
    return out


def signin(w: Web) -> Response:
    if w.request.method == "GET":
        return signin_page(w)
    ui: UI = w.ui
    form = w.form
    errors: dict[str, str] = {}
    region = form.get("region").strip() or "us-east-1"
    if not _REGION.match(region):
        errors["region"] = "A region looks like us-east-1."
    user_arn = form.get("userArn").strip() or None
    if user_arn and not _USER_ARN.match(user_arn):
        errors["userArn"] = "A Connect user ARN: arn:aws:connect:<region>:<account>:instance/<id>/agent/<id>"
    access_key: str | None = None
    if ui.settings.auth == "strict":
        access_key = form.get("accessKeyId").strip()
        entry = ui.credentials.lookup(access_key) if ui.credentials and access_key else None
        # One message for an unknown key and a wrong secret: which one was wrong is not told.
        if entry is None or not hmac.compare_digest(form.get("secretAccessKey").encode(),
                                                    entry.secret_access_key.encode()):
            errors["accessKeyId"] = "Unknown access key or wrong secret."
        else:
            account, principal = entry.account_id, entry.principal_arn
    else:
        account = form.get("account").strip()
        if not _ACCOUNT.match(account):
            errors["account"] = "An account id is 12 digits."
        principal = f"arn:aws:iam::{account}:root"
    if errors:
        return signin_page(w, errors=errors, status=400)
    session = Session(account, region, principal, access_key, user_arn, secrets.token_urlsafe(24), int(time.time()))
    response = redirect(_safe_next(form.get("next")))
    ui.sessions.set_cookie(response, w.request, session)
    response.delete_cookie(SIGNIN_COOKIE, path=BASE)
    return response


def signout(w: Web) -> Response:
    response = redirect(url("signin"))
    response.delete_cookie(COOKIE, path=BASE)
    return response
