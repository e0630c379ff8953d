"""`SerializedError`: an exception as plain data, and back, classified exactly as before.

Replay must route a recorded failure the way the live run did: the same category, failure
type, network type, reason, retry-after and message. l0's classification looks at an
exception's class (standard-library bases such as `ConnectionResetError`, and class *names*
anywhere in its MRO, like `APIConnectionError`), its HTTP status, a server's Retry-After,
its message, and the chain of causes. So a serialized error keeps exactly those:

- l0's own errors (`l0.Error` and subclasses) come back as instances of the same class with
  the same code, category, status, network type, timeout details, context and violations;
- any other exception comes back as a *replica*: a class with the same name and module,
  built on the same standard-library base, with the same names in between, carrying the
  same `status_code`, `retry_after`, arguments and message.

Messages and attribute values are scrubbed of credentials (see `l0.monitoring.redact`).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any

from l0.errors import (
    Error,
    ErrorCode,
    ErrorContext,
    NetworkErrorType,
    categorize_error,
    network_error_type,
    provider_error_code,
    retry_after_of,
    status_code_of,
)
from l0.eventsourcing.limits import MAX_BASES, MAX_CAUSES, check_length, check_name, refuse
from l0.guardrails.types import GuardrailViolation
from l0.monitoring.redact import redact, scrub
from l0.types import ErrorCategory

# Modules whose exception classes are rebuilt as themselves (the bases classification checks).
_STDLIB_MODULES = frozenset({"builtins", "ssl", "socket", "json.decoder", "asyncio.exceptions"})
_MAX_CAUSES = 5


@dataclass(frozen=True, slots=True)
class SerializedError:
    """An exception as data (see the module docstring)."""

    type: str  # class name
    module: str
    message: str  # str(error), scrubbed
    base: str = "builtins.Exception"  # the standard-library class it is built on
    bases: tuple[str, ...] = ()  # class names between `type` and `base`, nearest first
    args: tuple[Any, ...] | None = None  # the exception's args as plain, redacted data
    category: str | None = None
    code: str | None = None  # l0.ErrorCode, for l0's errors
    status_code: int | None = None
    network_type: str | None = None
    retry_after: float | None = None
    provider_code: str | None = None  # a provider's machine-readable code (body or `code`)
    timeout_type: str | None = None
    timeout_seconds: float | None = None
    context: dict[str, Any] | None = None  # l0.ErrorContext, for l0's errors
    violations: tuple[dict[str, Any], ...] = ()
    cause: SerializedError | None = field(default=None, compare=True)

    # -- from an exception ----------------------------------------------------------------

    @classmethod
    def from_exception(cls, error: BaseException, *, _depth: int = 0) -> SerializedError:
        kind = type(error)
        link = error.__cause__ or error.__context__
        cause = (
            cls.from_exception(link, _depth=_depth + 1)
            if link is not None and _depth < _MAX_CAUSES
            else None
        )
        base, between = _split_mro(kind)
        # Every argument as plain, redacted data (an exception among them as its dict), so
        # the rebuilt exception serializes to exactly the same record again.
        args = tuple(redact_record(a) for a in _args_of(error))
        common: dict[str, Any] = {
            "type": kind.__name__,
            "module": kind.__module__,
            "message": scrub(str(error)),
            "base": base,
            "bases": between,
            "args": args,
            "cause": cause,
        }
        if isinstance(error, Error):
            return cls(
                **common,
                category=error.category.value,
                code=error.code.value,
                status_code=error.status_code,
                network_type=_enum_value(getattr(error, "network_type", None)),
                timeout_type=getattr(error, "timeout_type", None),
                timeout_seconds=getattr(error, "timeout_seconds", None),
                context=redact_record(error.context),
                violations=tuple(redact_record(v) for v in error.violations),
            )
        kind_of_network = network_error_type(error)
        return cls(
            **common,
            category=categorize_error(error).value,
            status_code=status_code_of(error),
            network_type=kind_of_network.value if kind_of_network else None,
            retry_after=retry_after_of(error),
            provider_code=_own_provider_code(error),
        )

    # -- back to an exception ---------------------------------------------------------------

    def rebuild(self) -> BaseException:
        """An exception that l0 classifies exactly as the original (module docstring)."""
        error = self._rebuild_own() if self.code is not None else self._rebuild_foreign()
        if self.cause is not None:
            error.__cause__ = self.cause.rebuild()
        return error

    def _rebuild_own(self) -> Error:
        kind = _l0_class(self.module, self.type)
        error = kind.__new__(kind)
        error.args = (self.message,)
        error.message = self.message
        error.code = ErrorCode(self.code)
        error._category = ErrorCategory(self.category) if self.category else None
        error.status_code = self.status_code
        error.context = ErrorContext(**self.context) if self.context else ErrorContext()
        error.violations = [GuardrailViolation(**v) for v in self.violations]
        if self.network_type is not None:
            error.network_type = NetworkErrorType(self.network_type)
        if self.timeout_type is not None:
            error.timeout_type = self.timeout_type  # type: ignore[attr-defined]
            error.timeout_seconds = self.timeout_seconds  # type: ignore[attr-defined]
        return error

    def _rebuild_foreign(self) -> BaseException:
        kind = _replica(self.module, self.type, self.bases, self.base)
        error: BaseException = kind.__new__(kind)
        error.args = self.args if self.args is not None else (self.message,)
        error._l0_message = self.message  # type: ignore[attr-defined]
        if self.status_code is not None:
            error.status_code = self.status_code  # type: ignore[attr-defined]
        if self.retry_after is not None:
            error.retry_after = self.retry_after  # type: ignore[attr-defined]
        if self.provider_code is not None:
            error.code = self.provider_code  # type: ignore[attr-defined]
        return error

    # -- plain data -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "module": self.module,
            "message": self.message,
            "base": self.base,
            "bases": list(self.bases),
            "args": list(self.args) if self.args is not None else None,
            "category": self.category,
            "code": self.code,
            "status_code": self.status_code,
            "network_type": self.network_type,
            "retry_after": self.retry_after,
            "provider_code": self.provider_code,
            "timeout_type": self.timeout_type,
            "timeout_seconds": self.timeout_seconds,
            "context": self.context,
            "violations": list(self.violations),
            "cause": self.cause.to_dict() if self.cause is not None else None,
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, _depth: int = 0) -> SerializedError:
        """From plain data, within `l0.eventsourcing.limits` (a recording may be hostile)."""
        if _depth > MAX_CAUSES:
            raise refuse(f"a chain of more than {MAX_CAUSES} causes")
        if not isinstance(data, dict):
            raise refuse("an error that is not an object")
        cause = data.get("cause")
        args = data.get("args")
        bases = check_length(data.get("bases", ()), MAX_BASES, "an error's bases")
        return cls(
            type=check_name(data["type"], "an error's class name"),
            module=check_name(data["module"], "an error's module", dotted=True),
            message=str(data["message"]),
            base=check_name(data.get("base", "builtins.Exception"), "a base", dotted=True),
            bases=tuple(check_name(name, "a base class name") for name in bases),
            args=tuple(args) if args is not None else None,
            category=data.get("category"),
            code=data.get("code"),
            status_code=data.get("status_code"),
            network_type=data.get("network_type"),
            retry_after=data.get("retry_after"),
            provider_code=data.get("provider_code"),
            timeout_type=data.get("timeout_type"),
            timeout_seconds=data.get("timeout_seconds"),
            context=data.get("context"),
            violations=tuple(data.get("violations", ())),
            cause=cls.from_dict(cause, _depth=_depth + 1) if cause is not None else None,
        )

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


def _own_provider_code(error: BaseException) -> str | None:
    """The code `l0.errors.provider_error_code` reads from this exception itself (its
    causes are serialized, and read, on their own)."""
    return provider_error_code(_Alone(error))


class _Alone(Exception):
    """`error` without its causes and its class, for reading its own provider code."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.body = getattr(error, "body", None)
        self.code = getattr(error, "code", None)


def _args_of(error: BaseException) -> tuple[Any, ...]:
    args = error.args
    return args if isinstance(args, tuple) else ()


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _split_mro(kind: type[BaseException]) -> tuple[str, tuple[str, ...]]:
    """The nearest standard-library class of `kind`'s MRO, and the names before it."""
    between: list[str] = []
    for klass in kind.__mro__:
        if klass.__module__ in _STDLIB_MODULES:
            return f"{klass.__module__}.{klass.__qualname__}", tuple(between)
        if klass is not kind:
            between.append(klass.__name__)
    return "builtins.BaseException", tuple(between)  # pragma: no cover - every MRO has one


def _l0_class(module: str, name: str) -> type[Error]:
    """One of l0's own error classes (only l0 modules are imported, never others)."""
    if module == "l0" or module.startswith("l0."):
        found = getattr(importlib.import_module(module), name, None)
        if isinstance(found, type) and issubclass(found, Error):
            return found
    return Error


def _stdlib_class(path: str) -> type[BaseException]:
    module, _, name = path.rpartition(".")
    if module in _STDLIB_MODULES:
        found = getattr(importlib.import_module(module), name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return Exception


def _replica_str(self: BaseException) -> str:
    return str(getattr(self, "_l0_message", ""))


@functools.lru_cache(maxsize=256)
def _replica(module: str, name: str, bases: tuple[str, ...], base: str) -> type[BaseException]:
    """A class named like the original, on the same standard-library base, with the same
    class names in its MRO (cached: the same recording always yields the same classes)."""
    parent = _stdlib_class(base)
    for between in reversed(bases):
        parent = type(between, (parent,), {"__module__": module})
    return type(name, (parent,), {"__module__": module, "__str__": _replica_str})


def error_as_data(error: BaseException, /) -> dict[str, Any]:
    """The `ErrorWriter` recordings use: the exception as a `SerializedError` dict."""
    return SerializedError.from_exception(error).to_dict()


def redact_record(value: Any) -> Any:
    """`redact` for recordings: exceptions inside `value` become `SerializedError` dicts,
    which replay can rebuild into exceptions l0 classifies as the originals."""
    return redact(value, write_error=error_as_data)


__all__ = ["SerializedError", "error_as_data", "redact_record"]
