"""Settings: numbers from the environment, and the bounds `serve` checks before it starts."""

from __future__ import annotations

import math

import pytest

from opencases.config import Settings, SettingsError


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPENCASES_PORT", "http", "OPENCASES_PORT must be a whole number, not 'http'"),
        ("OPENCASES_WORKERS", "2.5", "OPENCASES_WORKERS must be a whole number, not '2.5'"),
        ("OPENCASES_EVENT_TIMEOUT", "soon", "OPENCASES_EVENT_TIMEOUT must be a number, not 'soon'"),
        ("OPENCASES_QUOTA_DOMAINS_PER_ACCOUNT", "many", "OPENCASES_QUOTA_DOMAINS_PER_ACCOUNT must be a whole number"),
    ],
)
def test_a_variable_that_is_not_a_number_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_numbers_from_the_environment_are_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Zero is a value, not "unset": it must reach the bounds check rather than become the default.
    monkeypatch.setenv("OPENCASES_WORKERS", "0")
    monkeypatch.setenv("OPENCASES_PORT", "9001")
    monkeypatch.setenv("OPENCASES_EVENT_RETRY_BASE", "0.25")
    monkeypatch.setenv("OPENCASES_QUOTA_TAGS_PER_RESOURCE", "0")
    s = Settings.from_env()
    assert (s.workers, s.port, s.event_retry_base, s.quotas["tags_per_resource"]) == (0, 9001, 0.25, 0)
    assert s.problem() == "--workers (OPENCASES_WORKERS) must be at least 1, not 0"


def test_empty_variables_leave_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "WORKERS", "EVENT_TIMEOUT", "QUOTA_FILES_PER_CASE"):
        monkeypatch.setenv(f"OPENCASES_{name}", "")
    s = Settings.from_env()
    assert (s.port, s.workers, s.event_timeout, s.quotas["files_per_case"]) == (8000, 1, 10.0, 50)
    assert s.problem() is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 0}, "--port (OPENCASES_PORT) must be at least 1, not 0"),
        ({"port": 65536}, "--port (OPENCASES_PORT) must be at most 65535, not 65536"),
        ({"workers": -2}, "--workers (OPENCASES_WORKERS) must be at least 1, not -2"),
        ({"event_max_attempts": 0}, "--event-max-attempts (OPENCASES_EVENT_MAX_ATTEMPTS) must be at least 1, not 0"),
        ({"event_retry_base": -1.0}, "--event-retry-base (OPENCASES_EVENT_RETRY_BASE) must be at least 0, not -1.0"),
        ({"event_retry_max": -0.5}, "--event-retry-max (OPENCASES_EVENT_RETRY_MAX) must be at least 0, not -0.5"),
        ({"event_timeout": 0.0}, "--event-timeout (OPENCASES_EVENT_TIMEOUT) must be more than 0, not 0.0"),
        ({"event_timeout": math.nan}, "--event-timeout (OPENCASES_EVENT_TIMEOUT) must be a finite number, not nan"),
        ({"event_lease": 0.0}, "OPENCASES_EVENT_LEASE must be more than 0, not 0.0"),
        ({"event_poll": -1.0}, "OPENCASES_EVENT_POLL must be more than 0, not -1.0"),
        ({"event_batch": 0}, "OPENCASES_EVENT_BATCH must be at least 1, not 0"),
        ({"event_concurrency": 0}, "OPENCASES_EVENT_CONCURRENCY must be at least 1, not 0"),
    ],
)
def test_out_of_bounds_settings_are_refused_with_their_names(change: dict[str, float], message: str) -> None:
    assert Settings(**change).problem() == message  # type: ignore[arg-type]


def test_negative_quota_is_refused_and_the_edges_are_accepted() -> None:
    s = Settings()
    s.quotas["fields_per_domain"] = -1
    assert s.problem() == "OPENCASES_QUOTA_FIELDS_PER_DOMAIN must be at least 0, not -1"
    edges = Settings(port=1, workers=1, event_max_attempts=1, event_retry_base=0.0, event_retry_max=0.0,
                     event_timeout=0.001, event_batch=1, event_concurrency=1)
    assert edges.problem() is None
    assert Settings(port=65535).problem() is None
