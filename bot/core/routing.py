"""Route typed events to the handlers registered for their (GitHub event, action) (pure).

Shaped after gidgethub's `routing.Router`: each behaviour module owns a router, the entry point
composes them with `Router(comments.router, pull_requests.router, ...)`. Differences: handlers are
plain functions (they run in a Celery worker), keys are checked against what `bot.core.events` can
produce so a typo fails at import instead of never firing, and composition is live (a handler
registered on a child after composing is still found).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from bot.core.events import ROUTED_ACTIONS, Event

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
Route = tuple[str, str | None]  # (GitHub event name, action or None for every action)


class Router:
    def __init__(self, *other_routers: Router) -> None:
        self._routes: dict[Route, list[Handler]] = {}
        self._children: tuple[Router, ...] = other_routers

    def add(self, handler: Handler, event: str, action: str | None = None) -> None:
        """Register `handler` for `event` (and `action`, or every action we route when None)."""
        _check_route(event, action)
        self._routes.setdefault((event, action), []).append(handler)

    def register(self, event: str, action: str | None = None) -> Callable[[H], H]:
        """Decorator form of `add`; stack it to answer several actions with one handler."""
        _check_route(event, action)

        def decorator(handler: H) -> H:
            self.add(handler, event, action)
            return handler

        return decorator

    def handlers_for(self, event: Event) -> list[Handler]:
        """Matching handlers, own before children's, each once, in registration order."""
        found: list[Handler] = []
        for key in ((event.github_event, event.action), (event.github_event, None)):
            found.extend(self._routes.get(key, ()))
        for child in self._children:
            found.extend(child.handlers_for(event))
        return list(dict.fromkeys(found))

    def dispatch(self, event: Event, *args: Any, **kwargs: Any) -> int:
        """Call every matching handler with `(event, *args, **kwargs)`; return how many ran."""
        handlers = self.handlers_for(event)
        for handler in handlers:
            handler(event, *args, **kwargs)
        return len(handlers)

    def routes(self) -> list[Route]:
        """Every (event, action) registered here or in a child, sorted (None sorts first)."""
        keys = set(self._routes)
        for child in self._children:
            keys.update(child.routes())
        return sorted(keys, key=lambda route: (route[0], route[1] or ""))


def _check_route(event: str, action: str | None) -> None:
    """A route `bot.core.events` can never produce is a typo: fail at import, not in silence."""
    actions = ROUTED_ACTIONS.get(event)
    if actions is None:
        raise ValueError(
            f"bot.core.events never produces {event!r}; known: {sorted(ROUTED_ACTIONS)}"
        )
    if action is not None and action not in actions:
        raise ValueError(f"events never produces {event!r} {action!r}: {sorted(actions)}")
