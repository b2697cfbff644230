"""store/selectivity.py: remembered condition sizes expire and stay bounded."""

from __future__ import annotations

import pytest

from opencases.store import selectivity
from opencases.store.selectivity import Sizes


def test_a_size_is_remembered_until_it_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(selectivity.time, "monotonic", lambda: now[0])
    sizes = Sizes(size=4, max_age_s=60)
    assert sizes.get(("d", "a")) is None
    sizes.remember(("d", "a"), 1234)
    now[0] += 59
    assert sizes.get(("d", "a")) == 1234
    now[0] += 2
    assert sizes.get(("d", "a")) is None
    sizes.remember(("d", "a"), 99)  # measured again
    assert sizes.get(("d", "a")) == 99


def test_the_oldest_size_is_dropped_past_the_bound() -> None:
    sizes = Sizes(size=3)
    for i in range(5):
        sizes.remember(i, i * 10)
    assert [sizes.get(i) for i in range(5)] == [None, None, 20, 30, 40]
