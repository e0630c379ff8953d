"""How pipelines and pools hand their reliability options to a run, and read a run's text.

A step, a pipeline, a pool and a submitted operation each hold an `l0.RunOptions` (given as
one, or as a dict of `l0.run` keyword arguments, checked where it is given so that a wrong
value fails at once). Layers merge with `RunOptions.merge`: the more specific layer's given
options win, key by key.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from l0.errors import Error
from l0.runtime.options import RunOptions

if TYPE_CHECKING:
    from l0.runtime.plan import StreamFactory


def checked_run_options(value: RunOptions | Mapping[str, Any] | None, *, where: str) -> RunOptions:
    """`RunOptions.parse(value)`, and an adapter given by name must be registered now, as at
    `l0.run` (the options module cannot ask the registry: it is part of the core)."""
    from l0.adapters.registry import check_adapter_name

    options = RunOptions.parse(value, where=where)
    try:
        check_adapter_name(options.adapter)
    except Error as exc:
        raise Error(f"{where}: {exc.message}", code=exc.code) from exc
    return options


def is_stream_object(value: object) -> bool:
    """An already-open provider stream (not a factory): it cannot be re-created on retry."""
    return hasattr(value, "__aiter__") or inspect.iscoroutine(value)


async def read_run(factory: StreamFactory, options: RunOptions) -> str:
    """Run `factory` as `l0.run` would with `options`; return the text. The stream is closed
    on the way out, whether the run finished, failed or was cancelled."""
    from l0.runtime.plan import make_plan
    from l0.runtime.stream import Stream

    stream = Stream(make_plan(factory, options))
    async with stream:
        text = await stream.read()
    return text


__all__ = ["RunOptions", "checked_run_options", "is_stream_object", "read_run"]
