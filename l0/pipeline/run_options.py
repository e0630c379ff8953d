"""How pipelines and pools hand their reliability options to `l0.run`, and read a run's text.

`RunOptions` names the keyword arguments of `l0.run` other than `stream`. Options are
checked where they are given (a step, a pipeline, a pool, a submitted operation) by building
the runtime's own plan from them, so a wrong value fails at once with the runtime's message,
not later inside a run. Layers merge key by key: the more specific layer wins.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from l0.errors import Error, ErrorCode

if TYPE_CHECKING:
    from l0.continuation import ContinuationConfig
    from l0.guardrails.types import GuardrailRule
    from l0.observability import EventHandler
    from l0.retry import Retry
    from l0.runtime.plan import StreamFactory
    from l0.timeout import Timeout


class RunOptions(TypedDict, total=False):
    """The keyword arguments of `l0.run` besides `stream` (every key optional)."""

    fallbacks: Sequence[StreamFactory]
    guardrails: Sequence[GuardrailRule]
    retry: Retry
    timeout: Timeout
    adapter: Any
    on_event: EventHandler
    context: dict[str, Any]
    continue_from_last_good_token: bool | ContinuationConfig
    build_continuation_prompt: Callable[[str], str]
    check_interval: int


RUN_OPTION_NAMES = frozenset(RunOptions.__optional_keys__)


def check_run_options(options: Mapping[str, Any] | None, *, where: str) -> RunOptions:
    """A checked copy of `options` (raises `l0.Error(INVALID_ARGUMENT)` naming `where`)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise Error(
            f"{where} must be a dict of l0.run options, got {type(options).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    unknown = sorted(set(options) - RUN_OPTION_NAMES)
    if unknown:
        raise Error(
            f"{where} has unknown l0.run options {unknown}; known options: "
            f"{', '.join(sorted(RUN_OPTION_NAMES))}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    from l0.adapters.registry import check_adapter_name
    from l0.runtime.plan import make_plan

    try:
        check_adapter_name(options.get("adapter"))
        make_plan(stream=_no_stream, **options)
    except Error as exc:
        raise Error(f"{where}: {exc.message}", code=exc.code) from exc
    checked: RunOptions = {}
    checked.update(options)  # type: ignore[typeddict-item]  # keys checked above
    return checked


def _no_stream() -> None:  # pragma: no cover - a stand-in factory, never called
    return None


def merge_run_options(*layers: RunOptions) -> RunOptions:
    """Later layers override earlier ones key by key."""
    merged: RunOptions = {}
    for layer in layers:
        merged.update(layer)
    return merged


def is_stream_object(value: object) -> bool:
    """An already-open provider stream (not a factory): it cannot be re-created on retry."""
    return hasattr(value, "__aiter__") or inspect.iscoroutine(value)


async def read_run(factory: StreamFactory, options: RunOptions) -> str:
    """Run `factory` through `l0.run` with `options`; return the text. The stream is closed
    on the way out, whether the run finished, failed or was cancelled."""
    from l0.runtime.api import run

    stream = await run(factory, **options)
    async with stream:
        text = await stream.read()
    return text


__all__ = [
    "RUN_OPTION_NAMES",
    "RunOptions",
    "check_run_options",
    "is_stream_object",
    "merge_run_options",
    "read_run",
]
