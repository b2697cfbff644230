"""server/sinks.py: sending a delivery round, in process and through the sender process."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from opencases.config import Settings
from opencases.server.sinks import Item, Sender, SenderProcess, signature
from opencases.testing.webhook import WebhookReceiver


def item(seq: int, case: str, done: frozenset[str] = frozenset()) -> Item:
    return (seq, f"event-{seq}", {"id": f"event-{seq}", "detail": {"case": {"caseId": case}}}, done)


def test_a_round_sends_each_case_in_order_to_every_sink(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    with WebhookReceiver() as hook:
        sender = Sender(Settings(event_webhooks=[hook.url], event_webhook_secret="s3", event_log=str(log)))
        try:
            outcomes, took = sender.send_round([[item(1, "a"), item(2, "a")], [item(3, "b")]])
        finally:
            sender.close()
        received = hook.wait_for(3)
        deliveries = hook.deliveries
    assert sorted(outcomes) == [([1, 2], None, []), ([3], None, [])]
    assert took == {seq: [hook.url, f"file:{log}"] for seq in (1, 2, 3)}
    # Per case in order; the body is the payload, signed, with the event id in a header.
    assert [e["id"] for e in received if e["detail"]["case"]["caseId"] == "a"] == ["event-1", "event-2"]
    for d in deliveries:
        assert d.headers["x-opencases-signature"] == signature("s3", d.body)
        assert d.headers["x-opencases-event-id"] == json.loads(d.body)["id"]
    assert sorted(json.loads(line)["id"] for line in log.read_text().splitlines()) == ["event-1", "event-2", "event-3"]


def test_an_unreachable_sink_fails_the_round_once_and_sinks_that_have_an_event_are_skipped(
    tmp_path: Path,
) -> None:
    log = tmp_path / "events.jsonl"
    with WebhookReceiver() as hook:
        url = hook.url
    # The receiver is gone: refused. The file sink still takes what it has not had.
    sender = Sender(Settings(event_webhooks=[url], event_log=str(log), event_timeout=2))
    try:
        outcomes, took = sender.send_round([
            [item(1, "a"), item(2, "a")],
            [item(3, "b", done=frozenset({f"file:{log}"}))],
        ])
    finally:
        sender.close()
    by_case = {o[1][0] if o[1] else None: o for o in outcomes}
    assert by_case[1][0] == [] and by_case[1][2] == [2]  # case a stops at its first failure
    assert by_case[3][0] == [] and url in by_case[3][1][1]
    assert took == {1: [f"file:{log}"]}  # event 3 was in the file already: not written twice
    assert [json.loads(line)["id"] for line in log.read_text().splitlines()] == ["event-1"]


def test_the_sender_process_sends_and_survives_its_child_dying() -> None:
    with WebhookReceiver() as hook:
        sender = SenderProcess(Settings(event_webhooks=[hook.url]))
        try:
            outcomes, took = sender.send_round([[item(1, "a")]])
            assert outcomes == [([1], None, [])] and took == {1: [hook.url]}
            assert sender._executor is not None
            child = next(iter(sender._executor._processes))
            assert child != os.getpid()
            os.kill(child, signal.SIGKILL)
            outcomes, _ = sender.send_round([[item(2, "a"), item(3, "a")]])
            assert outcomes == [([], (2, "the event sender process died"), [3])]
            outcomes, _ = sender.send_round([[item(2, "a"), item(3, "a")]])  # a new child
            assert outcomes == [([2, 3], None, [])]
        finally:
            sender.close()
        assert [e["id"] for e in hook.wait_for(3)] == ["event-1", "event-2", "event-3"]
