from typing import Any
from tests.ui.test_workspace import box, open_case
from tests.ui.conftest import Seed

def test_debug(page: Any, seed: Seed) -> None:
    case_id = seed.new_case("Dashboard is slow", category="technical", escalation="x")
    open_case(page, seed, case_id)
    page.screenshot(path="/tmp/dbg.png", full_page=True)
    print(page.evaluate("""() => Array.from(document.querySelectorAll('.field[data-field-id]')).map(e => [e.dataset.fieldId.slice(0,8), e.getBoundingClientRect().width, e.getBoundingClientRect().x])"""))
    assert False
