"""Helpers shared by the workspace's views: the per-request `Web` object (session, form,
RequestContext, invoke), rendering, form parsing, and placing API errors next to the field
they concern.

Views are synchronous functions run in Starlette's threadpool (the core is synchronous); the
async wrapper in `page()` does the parts that need the event loop: reading the body, the
session and the CSRF check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from opencases.api import invoke
from opencases.errors import ServiceError
from opencases.services.context import RequestContext

if TYPE_CHECKING:
    from opencases.ui.app import UI
    from opencases.ui.auth import Session

# Forms are small; anything larger is refused before it is parsed.
MAX_FORM_BYTES = 1024 * 1024
BASE = "/ui"

# Fixed notices a redirect may name (?notice=...): user data is never reflected this way.
NOTICES = {
    "saved": "Case saved.",
    "created": "Case created.",
    "comment": "Comment added.",
    "merged": "Merge finished: this case now holds the other case's data.",
    "domain": "Domain created.",
    "domain-deleted": "Domain deleted.",
    "updated": "Saved.",
    "created-item": "Created.",
    "deleted": "Deleted.",
}


class Form:
    """An application/x-www-form-urlencoded body: name -> values, in order."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def names(self) -> list[str]:
        return list(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values


async def read_form(request: Request) -> Form:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", ""):
        return Form()
    return Form(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


class FormTooLarge(Exception):
    pass


@dataclass
class Web:
    """One request as a view sees it."""

    ui: UI
    request: Request
    session: Session | None
    form: Form = field(default_factory=Form)

    def ctx(self) -> RequestContext:
        assert self.session is not None
        return RequestContext(
            store=self.ui.store,
            settings=self.ui.settings,
            account=self.session.account,
            region=self.session.region,
            principal_arn=self.session.principal_arn,
            request_id=str(uuid.uuid4()),
        )

    def invoke(self, operation: str, **params: Any) -> dict[str, Any]:
        return invoke(self.ctx(), operation, params)

    def performed_by(self) -> dict[str, Any] | None:
        """The request's performedBy: the Connect user ARN the agent gave at sign-in, if any."""
        if self.session is not None and self.session.user_arn:
            return {"userArn": self.session.user_arn}
        return None

    def param(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def render(self, name: str, /, status: int = 200, **context: Any) -> HTMLResponse:
        notice = NOTICES.get(self.param("notice"))
        html = self.ui.env.get_template(name).render(
            session=self.session,
            csrf=self.session.csrf if self.session else "",
            notice=notice,
            auth_mode=self.ui.settings.auth,
            **context,
        )
        return HTMLResponse(html, status_code=status)


def url(*parts: str, **query: Any) -> str:
    """A workspace URL: url("d", domain_id, "cases", notice="saved") -> /ui/d/<id>/cases?notice=saved."""
    # Ids are quoted: a case id may hold "/", "#" or "?" (the model's CaseId pattern allows them).
    path = BASE + "/" + "/".join(quote(p, safe="") for p in parts if p)
    wanted = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(wanted) if wanted else "")


def redirect(location: str) -> RedirectResponse:
    # 303 so that a browser follows a POST's redirect with a GET (Post/Redirect/Get).
    return RedirectResponse(location, status_code=303)


View = Callable[[Web], Response]


def page(ui: UI, view: View, *, public: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """An async endpoint around a synchronous view: session, form body and CSRF check first."""

    async def endpoint(request: Request) -> Response:
        session = ui.sessions.load(request)
        if session is None and not public:
            return redirect(url("signin", next=request.url.path))
        form = Form()
        if request.method == "POST":
            try:
                form = await read_form(request)
            except FormTooLarge:
                return HTMLResponse("Form too large", status_code=413)
            # The sign-in form has no session yet: it is checked against its own cookie.
            refusal = ui.sessions.check_post(request, None if public else session, form)
            if refusal is not None:
                return refusal
        return await run_in_threadpool(_run, view, Web(ui, request, session, form))

    return endpoint


def _run(view: View, w: Web) -> Response:
    try:
        return view(w)
    except ServiceError as err:
        # Whatever a view did not handle itself (an unknown domain or case, mostly).
        status = err.status if 400 <= err.status < 600 else 500
        return w.render("error.html", status=status, title=err.code, message=error_text(err))


def all_pages(w: Web, operation: str, key: str, limit: int = 40, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged operation, up to `limit` pages."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(limit):
        page = w.invoke(operation, **params, **({"nextToken": token} if token else {}))
        items += page.get(key) or []
        token = page.get("nextToken")
        if not token:
            break
    return items


# -- API errors next to fields -----------------------------------------------------------------

_PATH_INDEX = re.compile(r"fields\[(\d+)\]")


def _mentions(message: str, field_ids: Iterable[str]) -> list[str]:
    found = []
    for fid in field_ids:
        m = re.search(r"(?<![\w-])" + re.escape(fid) + r"(?![\w-])", message)
        if m:
            found.append((m.start(), fid))
    return [fid for _, fid in sorted(found)]


def place_errors(
    message: str, request_order: list[str], known_ids: Iterable[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Split an error message into (field id -> messages, messages for the top of the form).

    A segment naming `fields[i]` belongs to the i-th field of the request; otherwise to the
    fields it names (only the first when it names a parent too, as a FieldOptions violation
    does: the child is the one to change). A segment naming none goes to the top."""
    known = list(known_ids)
    by_field: dict[str, list[str]] = {}
    top: list[str] = []
    prefix, _, rest = message.partition(": ") if message.startswith("Case rules not met") else ("", "", message)
    segments = [s.strip() for s in rest.split("; ") if s.strip()] or [message]
    for segment in segments:
        text = f"{prefix}: {segment}" if prefix else segment
        targets: list[str] = []
        m = _PATH_INDEX.search(segment)
        if m and int(m.group(1)) < len(request_order):
            targets = [request_order[int(m.group(1))]]
        else:
            targets = _mentions(segment, known)
            if len(targets) > 1 and "while field" in segment:
                targets = targets[:1]
        if not targets:
            top.append(text)
        for fid in targets:
            by_field.setdefault(fid, []).append(text)
    return by_field, top


def humanize(message: str, names: dict[str, str]) -> str:
    """Replace custom field ids (UUIDs, unreadable) in a message with the fields' names."""
    for fid, name in names.items():
        if len(fid) >= 32 and fid in message:
            message = message.replace(fid, f"'{name}'")
    return message


def error_text(err: ServiceError) -> str:
    return f"{err.message}" if err.code == "ValidationException" else f"{err.code}: {err.message}"


def form_member_errors(err: ServiceError, members: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """For admin forms: a model validation message names members as "at 'name'"; put each
    such part next to the form input of that member, the rest at the top."""
    by_member: dict[str, list[str]] = {}
    top: list[str] = []
    wanted = list(members)
    parts = err.message.split(": ", 1)
    segments = parts[1].split("; ") if len(parts) == 2 and "validation error" in parts[0] else [err.message]
    for segment in segments:
        m = re.search(r"at '([A-Za-z]+)", segment)
        member = m.group(1) if m else None
        if member in wanted:
            by_member.setdefault(member, []).append(segment)
        else:
            top.append(error_text(err) if len(segments) == 1 else segment)
    return by_member, top


# -- formatting for templates ------------------------------------------------------------------


def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def fmt_time(value: Any) -> str:
    moment = as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def iso_time(value: Any) -> str:
    moment = as_datetime(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def duration(seconds: float) -> str:
    """A short human duration: 2d 3h, 3h 20m, 12m."""
    seconds = abs(int(seconds))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{max(minutes, 1)}m"
