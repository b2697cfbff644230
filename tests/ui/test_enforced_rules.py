"""With --enforce-case-rules the API itself refuses a save that breaks a rule; the workspace
then shows the API's message next to the field it names, as it does for its own check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import LiveServer
from tests.ui.conftest import ACCOUNT, Seed, seed_domain
from tests.ui.test_admin import error_near
from tests.ui.test_auth import csrf_of


@pytest.fixture(scope="module")
def enforcing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Seed]]:
    workdir = Path(tmp_path_factory.mktemp("ui-enforcing"))
    live = LiveServer(f"sqlite:///{workdir / 'ui.db'}", workdir, extra_args=["--enforce-case-rules"]).start()
    try:
        yield live, seed_domain(live.endpoint)
    finally:
        live.stop()


def test_api_rule_error_is_placed_at_the_field(enforcing: tuple[LiveServer, Seed]) -> None:
    live, seed = enforcing
    case_id = seed.new_case("Wifi keeps dropping", category="billing")
    with httpx.Client(base_url=live.endpoint) as http:
        token = csrf_of(http.get("/ui/signin").text)
        http.post("/ui/signin", data={"csrf": token, "account": ACCOUNT, "region": "us-east-1"})
        path = f"/ui/d/{seed.domain_id}/cases/{case_id}"
        token = csrf_of(http.get(path).text)
        category, escalation, sub = (seed.fields[k] for k in ("category", "escalation", "subcategory"))
        refused = http.post(path, data={"csrf": token, "f.title": "Wifi keeps dropping", "f.status": "open",
                                        f"f.{category}": "technical", f"f.{escalation}": ""})
        assert refused.status_code == 400
        message = error_near(refused.text, f"f-{escalation}")
        assert "Case rules not met" in message and "'Escalation notes' is required" in message
        assert seed.values(case_id)["category"] == {"stringValue": "billing"}

        wrong_option = http.post(path, data={"csrf": token, "f.title": "Wifi keeps dropping", "f.status": "open",
                                             f"f.{category}": "billing", f"f.{sub}": "outage"})
        assert wrong_option.status_code == 400
        assert "cannot be 'outage'" in error_near(wrong_option.text, f"f-{sub}")
        # The parent named in the message is not where the error is shown.
        assert error_near(wrong_option.text, f"f-{category}") == ""
