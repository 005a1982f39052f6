"""Each queue's visibility timeout: short for `events`, long for `runs` (kombu's Redis transport
keeps one per connection, so each worker of `bin/worker` gets its own options)."""

from __future__ import annotations

from workers.celery_app import (
    EVENTS_VISIBILITY_SECONDS,
    RUNS_VISIBILITY_SECONDS,
    app,
    transport_options_for,
)
from workers.tasks import EVENT_RETRY_MAX_SECONDS

BASE = {"visibility_timeout": RUNS_VISIBILITY_SECONDS, "socket_timeout": 5}


def test_events_worker_gets_a_short_timeout_and_its_own_unacked_index() -> None:
    options = transport_options_for(["events"], BASE)
    assert options["visibility_timeout"] == EVENTS_VISIBILITY_SECONDS < 600
    # its own index: its short timeout never restores a run that is still going on
    assert options["unacked_index_key"] != "unacked_index"
    assert options["socket_timeout"] == 5


def test_runs_worker_keeps_the_long_timeout() -> None:
    assert transport_options_for(["runs"], BASE)["visibility_timeout"] == 6 * 3600
    assert "unacked_index_key" not in transport_options_for(["runs"], BASE)
    assert transport_options_for([], BASE) == BASE  # beat, send-only uses


def test_an_event_retry_is_never_held_past_the_events_visibility() -> None:
    assert EVENT_RETRY_MAX_SECONDS * 2 < EVENTS_VISIBILITY_SECONDS


def test_the_worker_runs_the_reconcile_bootstep() -> None:
    assert any(step.__name__ == "Reconcile" for step in app.steps["worker"])
