"""Run inputs and outputs as plain data, and back: chunks, events, guardrail outcomes, plans.

The plan of a recorded run keeps what decides its behaviour — retry budget and backoff,
timeouts, continuation, the shape of its guardrail rules, the check interval — and not what
cannot be kept (stream factories, user callbacks): replay needs no provider, and the answers
of user code are recorded beside the facts. `replay_plan` builds a plan with stand-ins in
their places.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from l0.continuation import ContinuationConfig, DeduplicationOptions
from l0.eventsourcing.errors import SerializedError, redact_record
from l0.eventsourcing.limits import (
    MAX_FALLBACKS,
    MAX_RULES,
    check_count,
    check_length,
    check_name,
)
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.observability import EventHandler, ObservabilityEvent, ObservabilityEventType
from l0.retry import BackoffStrategy, ErrorTypeDelays, Retry, RetryableErrorType
from l0.runtime.options import RunOptions
from l0.runtime.plan import RunPlan, make_plan
from l0.timeout import Timeout
from l0.types import Event, EventType

# -- stream events -----------------------------------------------------------------------------


def event_to_dict(event: Event) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "text": event.text,
        "data": redact_record(event.data),
        "error": SerializedError.from_exception(event.error).to_dict() if event.error else None,
        "usage": redact_record(event.usage),
        "timestamp": event.timestamp,
    }


def event_from_dict(data: Mapping[str, Any]) -> Event:
    error = data.get("error")
    return Event(
        type=EventType(data["type"]),
        text=data.get("text"),
        data=data.get("data"),
        error=SerializedError.from_dict(error).rebuild() if error else None,
        usage=data.get("usage"),
        timestamp=data.get("timestamp"),
    )


def chunk_to_dict(chunk: object) -> dict[str, Any]:
    """A non-text chunk: an l0.Event, or the name of a type l0 cannot read."""
    if isinstance(chunk, Event):
        return {"event": event_to_dict(chunk)}
    kind = type(chunk)
    return {"foreign": {"module": kind.__module__, "qualname": kind.__qualname__}}


def chunk_from_dict(data: Mapping[str, Any]) -> object:
    if "event" in data:
        return event_from_dict(data["event"])
    foreign = data["foreign"]
    qualname = foreign["qualname"]
    # a qualified name, where a class defined in a function has "<locals>" in its path
    check_name(str(qualname).replace("<locals>", "locals"), "a chunk type", dotted=True)
    replica = type(qualname.rpartition(".")[2], (), {})
    replica.__module__ = check_name(foreign["module"], "a chunk type's module", dotted=True)
    replica.__qualname__ = qualname
    return replica()


# -- lifecycle events --------------------------------------------------------------------------


def lifecycle_to_dict(event: ObservabilityEvent) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "ts": event.ts,
        "stream_id": event.stream_id,
        "context": redact_record(event.context),
        "meta": redact_record(event.meta),
    }


def lifecycle_from_dict(data: Mapping[str, Any]) -> ObservabilityEvent:
    return ObservabilityEvent(
        type=ObservabilityEventType(data["type"]),
        ts=float(data["ts"]),
        stream_id=data["stream_id"],
        context=dict(data.get("context") or {}),
        meta=dict(data.get("meta") or {}),
    )


# -- guardrail outcomes ------------------------------------------------------------------------

Found = list[tuple[GuardrailRule, list[GuardrailViolation]]]


def found_to_dict(phase: str, found: Found, rules: Sequence[GuardrailRule]) -> dict[str, Any]:
    index = {id(rule): i for i, rule in enumerate(rules)}
    return {
        "phase": phase,
        "results": [[index[id(rule)], [redact_record(v) for v in vs]] for rule, vs in found],
    }


def found_from_dict(data: Mapping[str, Any], rules: Sequence[GuardrailRule]) -> Found:
    return [
        (rules[i], [GuardrailViolation(**v) for v in violations])
        for i, violations in data["results"]
    ]


# -- the plan ---------------------------------------------------------------------------------


def plan_to_dict(plan: RunPlan) -> dict[str, Any]:
    retry, timeout, continuation = plan.retry, plan.timeout, plan.continuation
    return {
        "fallbacks": plan.fallback_count,
        "retry": {
            "attempts": retry.attempts,
            "max_retries": retry.max_retries,
            "base_delay": retry.base_delay,
            "max_delay": retry.max_delay,
            "strategy": retry.strategy.value,
            "error_type_delays": redact_record(retry.error_type_delays),
            "retry_on": [kind.value for kind in retry.retry_on]
            if retry.retry_on is not None
            else None,
            "should_retry": retry.should_retry is not None,
            "calculate_delay": retry.calculate_delay is not None,
        },
        "timeout": {
            "initial_token": timeout.initial_token,
            "inter_token": timeout.inter_token,
            "total": timeout.total,
        },
        "continuation": None
        if continuation is None
        else {
            "checkpoint_interval": continuation.checkpoint_interval,
            "deduplicate": continuation.deduplicate,
            "validate_checkpoint": continuation.validate_checkpoint,
            "deduplication_options": redact_record(continuation.deduplication_options),
        },
        "guardrails": [
            {
                "name": rule.name,
                "streaming": rule.streaming,
                "incremental": rule.session is not None,
                "severity": rule.severity,
                "recoverable": rule.recoverable,
                "check_every": getattr(rule, "check_every", None),
            }
            for rule in plan.guardrails
        ],
        "check_interval": plan.check_interval,
        "adapter": plan.adapter
        if isinstance(plan.adapter, str) or plan.adapter is None
        else type(plan.adapter).__name__,
    }


def _not_replayed(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("replay never calls the run's stream factories or user callbacks")


class _ReplaySession:
    """A stand-in incremental session: replay takes rule outcomes from the recording."""

    def feed(self, delta: str, state: Any) -> list[GuardrailViolation]:
        return _not_replayed()  # type: ignore[no-any-return]

    def finish(self, state: Any) -> list[GuardrailViolation]:
        return _not_replayed()  # type: ignore[no-any-return]


def replay_rules(data: Mapping[str, Any]) -> list[GuardrailRule]:
    """Stand-ins with the recorded rules' names and shapes (never called)."""
    check_length(data["guardrails"], MAX_RULES, "the plan's guardrails")
    return [
        GuardrailRule(
            name=rule["name"],
            check=_not_replayed,
            streaming=rule["streaming"],
            severity=rule["severity"],
            recoverable=rule["recoverable"],
            session=_ReplaySession if rule["incremental"] else None,
            # how often the rule runs decides when the core checks
            **({"check_every": rule["check_every"]} if rule.get("check_every") else {}),
        )
        for rule in data["guardrails"]
    ]


def replay_plan(
    data: Mapping[str, Any],
    *,
    rules: Sequence[GuardrailRule],
    calculate_delay: Callable[[dict[str, Any]], float] | None,
    on_event: EventHandler | None,
    context: dict[str, Any] | None,
) -> RunPlan:
    retry = data["retry"]
    delays = retry["error_type_delays"]
    continuation = data["continuation"]
    timeout = data["timeout"]
    return make_plan(
        _not_replayed,
        RunOptions(
            fallbacks=[_not_replayed] * check_count(data["fallbacks"], MAX_FALLBACKS, "fallbacks"),
            guardrails=rules,
            retry=Retry(
                attempts=retry["attempts"],
                max_retries=retry["max_retries"],
                base_delay=retry["base_delay"],
                max_delay=retry["max_delay"],
                strategy=BackoffStrategy(retry["strategy"]),
                error_type_delays=ErrorTypeDelays(**delays) if delays is not None else None,
                retry_on=[RetryableErrorType(kind) for kind in retry["retry_on"]]
                if retry["retry_on"] is not None
                else None,
                should_retry=_not_replayed if retry["should_retry"] else None,
                calculate_delay=calculate_delay if retry["calculate_delay"] else None,
            ),
            timeout=Timeout(
                initial_token=timeout["initial_token"],
                inter_token=timeout["inter_token"],
                total=timeout["total"],
            ),
            continue_from_last_good_token=False
            if continuation is None
            else ContinuationConfig(
                checkpoint_interval=continuation["checkpoint_interval"],
                deduplicate=continuation["deduplicate"],
                validate_checkpoint=continuation["validate_checkpoint"],
                deduplication_options=DeduplicationOptions(**continuation["deduplication_options"]),
            ),
            on_event=on_event,
            context=context,
            check_interval=data["check_interval"],
        ),
    )


__all__ = [
    "chunk_from_dict",
    "chunk_to_dict",
    "event_from_dict",
    "event_to_dict",
    "found_from_dict",
    "found_to_dict",
    "lifecycle_from_dict",
    "lifecycle_to_dict",
    "plan_to_dict",
    "replay_plan",
    "replay_rules",
]
