"""A wrapped client's l0 options: what `l0.wrap(client, ...)` was given, checked once.

`ClientOptions` holds the keyword arguments of `l0.wrap` that shape every run the client
makes. `merged` is `with_options`: a value of None means "keep", anything else replaces
(pass `guardrails=[]` to drop guardrails). `run_arguments` is what each streaming
`create(...)` hands to `l0.run`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from l0.adapters.registry import check_adapter_name
from l0.continuation import ContinuationConfig
from l0.guardrails.types import GuardrailRule
from l0.observability import EventHandler
from l0.retry import Retry
from l0.runtime.plan import DEFAULT_CHECK_INTERVAL, make_plan
from l0.timeout import Timeout


def _never_called() -> Any:  # the stand-in stream of the plan that validates the options
    raise AssertionError("not a stream")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    guardrails: tuple[GuardrailRule, ...] = ()
    retry: Retry | None = None
    timeout: Timeout | None = None
    continue_from_last_good_token: bool | ContinuationConfig = False
    adapter: Any = None
    on_event: EventHandler | None = None
    context: dict[str, Any] | None = None
    build_continuation_prompt: Callable[[str], str] | None = None
    check_interval: int = DEFAULT_CHECK_INTERVAL
    event_store: Any = None
    drift_detector: Any = None
    route_health: Any = None  # None: on when a run has fallbacks; True, False or a store

    @classmethod
    def checked(
        cls,
        *,
        guardrails: Sequence[GuardrailRule] | None = None,
        retry: Retry | None = None,
        timeout: Timeout | None = None,
        continue_from_last_good_token: bool | ContinuationConfig = False,
        adapter: Any = None,
        on_event: EventHandler | None = None,
        context: dict[str, Any] | None = None,
        build_continuation_prompt: Callable[[str], str] | None = None,
        check_interval: int = DEFAULT_CHECK_INTERVAL,
        event_store: Any = None,
        drift_detector: Any = None,
        route_health: Any = None,
    ) -> ClientOptions:
        """Build the options, raising `l0.Error(INVALID_ARGUMENT)` for a bad one now rather
        than at the first request."""
        if guardrails is not None and not isinstance(guardrails, (list, tuple)):
            make_plan(stream=_never_called, guardrails=guardrails)  # raises run()'s own error
        options = cls(
            guardrails=tuple(guardrails or ()),
            retry=retry,
            timeout=timeout,
            continue_from_last_good_token=continue_from_last_good_token,
            adapter=adapter,
            on_event=on_event,
            context=context,
            build_continuation_prompt=build_continuation_prompt,
            check_interval=check_interval,
            event_store=event_store,
            drift_detector=drift_detector,
            route_health=route_health,
        )
        check_adapter_name(adapter)  # the same checks as run()
        make_plan(stream=_never_called, **options.run_arguments())
        return options

    def merged(self, changes: dict[str, Any]) -> ClientOptions:
        """These options with `changes` applied; None values keep what was set."""
        given = {name: value for name, value in changes.items() if value is not None}
        current = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return ClientOptions.checked(**{**current, **given})

    def run_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `l0.run` for one request."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


__all__ = ["ClientOptions"]
