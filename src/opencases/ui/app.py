"""The workspace's Starlette app, mounted at /ui by server/app.py: routes, templates, static
files, and the security headers every response carries.

Jinja2 autoescapes everything; JSON for the page scripts goes through `tojson`, which escapes
<, >, & and ' so that no value can close the <script> element it sits in. The CSP allows our
own scripts and styles only, so even markup that slipped through could not run inline code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from opencases import __version__
from opencases.config import Settings
from opencases.server.credentials import CredentialStore
from opencases.store.store import Store
from opencases.ui import admin, auth, cases
from opencases.ui.web import BASE, View, fmt_time, iso_time, page, url

HERE = Path(__file__).parent

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class UI:
    """What every view needs: the store, settings, credentials, templates and sessions."""

    def __init__(self, store: Store, settings: Settings, credentials: CredentialStore | None = None) -> None:
        self.store = store
        self.settings = settings
        self.credentials = credentials
        self.sessions = auth.Sessions(settings.auth, credentials)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined if settings.log_level == "debug" else jinja2.Undefined,
        )
        self.env.globals.update(url=url, version=__version__, base=BASE)
        self.env.filters.update(time=fmt_time, iso=iso_time)


class SecurityHeaders:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                if scope.get("path", "").startswith(BASE + "/static/"):
                    extra.append((b"cache-control", b"public, max-age=300"))
                else:
                    # Pages hold case data: never from a shared cache, never from history after sign-out.
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_ui(store: Store, settings: Settings, credentials: CredentialStore | None = None) -> SecurityHeaders:
    ui = UI(store, settings, credentials)

    def route(path: str, view: View, methods: tuple[str, ...] = ("GET",), public: bool = False) -> Route:
        return Route(path, page(ui, view, public=public), methods=list(methods))

    both = ("GET", "POST")
    d = "/d/{domain_id}"
    routes = [
        Route("/", page(ui, cases.home), methods=["GET"]),
        route("/signin", auth.signin, both, public=True),
        route("/signout", auth.signout, ("POST",)),
        route("/domains", cases.domains_page, both),
        route(f"{d}/cases", cases.case_list),
        route(f"{d}/cases/new", cases.new_case, both),
        route(f"{d}/cases/{{case_id}}", cases.case_page, both),
        route(f"{d}/cases/{{case_id}}/comments", cases.add_comment, ("POST",)),
        route(f"{d}/cases/{{case_id}}/merge", cases.merge_case, ("POST",)),
        route(f"{d}/admin", admin.overview, both),
        route(f"{d}/admin/fields", admin.fields_page, both),
        route(f"{d}/admin/fields/{{field_id}}", admin.field_page, both),
        route(f"{d}/admin/templates", admin.templates_page, both),
        route(f"{d}/admin/templates/{{template_id}}", admin.template_page, both),
        route(f"{d}/admin/layouts", admin.layouts_page, both),
        route(f"{d}/admin/layouts/{{item_id}}", admin.layout_page, both),
        route(f"{d}/admin/rules", admin.rules_page, both),
        route(f"{d}/admin/rules/{{item_id}}", admin.rule_page, both),
        route(f"{d}/admin/events", admin.events_page, both),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def not_found(_request: Any, _exc: Exception) -> Response:
        html = ui.env.get_template("error.html").render(
            session=None, csrf="", notice=None, auth_mode=settings.auth, title="Not found",
            message="There is no page at this address.")
        return Response(html, status_code=404, media_type="text/html")

    return SecurityHeaders(Starlette(routes=routes, exception_handlers={404: not_found}))
