"""Plan texts and commits the handler tables share."""

from __future__ import annotations

HEAD = "a" * 40
OLD = "b" * 40
NEWER = "c" * 40

PLAN = (
    "check_name: Golden Path\n"
    "phases:\n"
    "  - {id: auth, suites: [tests/test_auth.py]}\n"
    "  - {id: pay, suites: [tests/test_pay.py]}\n"
)
AUTO_RUN_PLAN = "auto_run: true\n" + PLAN
MERGE_QUEUE_RUN_PLAN = "merge_queue: run\n" + PLAN
BROKEN_PLAN = "phases: []\n"
