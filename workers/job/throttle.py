"""In-progress check-run updates at most every few seconds, never losing the latest state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Throttled(Generic[T]):
    """At most one call every `interval` seconds, and the latest value always delivered: a value
    offered too soon is held and sent when the interval has passed (a trailing update), so a
    long phase that starts right after a short one still shows up within seconds."""

    def __init__(self, send: Callable[[T], None], interval: float) -> None:
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._held: T | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def offer(self, value: T) -> None:
        with self._lock:
            if self._closed:
                return
            wait = self._last + self._interval - time.monotonic()
            if wait > 0:
                self._held = value
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._held = None
            self._last = time.monotonic()
            self._send(value)

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or self._held is None:
                return
            value, self._held = self._held, None
            self._last = time.monotonic()
            self._send(value)

    def close(self) -> None:
        """Drop what is held and send nothing more (waits for a send under way)."""
        with self._lock:
            self._closed = True
            self._held = None
            if self._timer is not None:
                self._timer.cancel()
