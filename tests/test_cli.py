"""The `opencases` command line: settings it refuses before doing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencases.cli import main


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "opencases: --workers (OPENCASES_WORKERS) must be at least 1, not 0"),
        (["--port", "-1"], "opencases: --port (OPENCASES_PORT) must be at least 1, not -1"),
        (["--port", "70000"], "opencases: --port (OPENCASES_PORT) must be at most 65535, not 70000"),
        (["--event-timeout", "0"], "opencases: --event-timeout (OPENCASES_EVENT_TIMEOUT) must be more than 0, not 0.0"),
        (["--event-retry-base", "nan"], "must be a finite number, not nan"),
        (["--event-max-attempts", "0"], "must be at least 1, not 0"),
    ],
)
def test_serve_refuses_out_of_bounds_numbers_before_opening_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    db = tmp_path / "never.db"
    assert main(["serve", "--database-url", f"sqlite:///{db}", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not db.exists()


def test_a_variable_that_is_not_a_number_stops_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCASES_PORT", "eighty")
    db = tmp_path / "never.db"
    assert main(["migrate", "--database-url", f"sqlite:///{db}"]) == 2
    assert "opencases: OPENCASES_PORT must be a whole number, not 'eighty'" in capsys.readouterr().err
    assert not db.exists()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("0", "must be at least 1, not 0"),
        ("-5", "must be at least 1, not -5"),
        ("all", "must be a whole number, not 'all'"),
    ],
)
def test_events_list_refuses_a_limit_below_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, message: str
) -> None:
    # SQLite reads LIMIT -5 as "no limit": the flag is checked before it reaches the query.
    with pytest.raises(SystemExit) as exit_:
        main(["events", "list", "--limit", given, "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert exit_.value.code == 2
    assert f"argument --limit: {message}" in capsys.readouterr().err
