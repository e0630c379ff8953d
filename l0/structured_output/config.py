"""`StructuredConfig` and its presets: the options of a structured run that do not depend on
the schema or the stream, bundled so they can be chosen once and reused.

Arguments given to `structured(...)` directly win over the config's; the config's win over
the defaults. With no config the defaults are those of `RECOMMENDED_STRUCTURED`.
"""

from __future__ import annotations

from dataclasses import dataclass

from l0.errors import Error, ErrorCode
from l0.retry import BackoffStrategy, Retry
from l0.timeout import Timeout


@dataclass(frozen=True, slots=True)
class StructuredConfig:
    """How a structured run parses, validates and retries.

    `auto_correct`: repair common JSON faults (fences, prose, trailing commas...) before
    validating; a text that was cut short is never accepted, repaired or not. `strict`:
    validate a Pydantic model in strict mode (no "3" for an int); JSON Schema is always
    strict. `retry`: the run's retry budget, shared by validation failures (which count toward
    `attempts`) and network failures (which do not); None means `l0.Retry()`. `timeout`: the
    run's token timeouts; None means `l0.Timeout()`.
    """

    auto_correct: bool = True
    strict: bool = False
    retry: Retry | None = None
    timeout: Timeout | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("auto_correct", "strict"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.retry is not None and not isinstance(self.retry, Retry):
            problems.append(f"retry must be an l0.Retry, got {type(self.retry).__name__}")
        if self.timeout is not None and not isinstance(self.timeout, Timeout):
            problems.append(f"timeout must be an l0.Timeout, got {type(self.timeout).__name__}")
        if problems:
            raise Error(
                "Invalid StructuredConfig: " + "; ".join(problems),
                code=ErrorCode.INVALID_ARGUMENT,
            )


# One validation retry, quick backoff: for interactive use where a second failure means
# the prompt needs work, not more attempts.
MINIMAL_STRUCTURED = StructuredConfig(
    auto_correct=True,
    retry=Retry(attempts=1, max_retries=3, base_delay=0.5, strategy=BackoffStrategy.LINEAR),
)
# The defaults: auto-correction, lax Pydantic validation, the recommended retry budget.
RECOMMENDED_STRUCTURED = StructuredConfig(auto_correct=True, retry=Retry.recommended())
# Exact JSON only, strict types, and the budget to ask again until the model gets it right.
STRICT_STRUCTURED = StructuredConfig(
    auto_correct=False,
    strict=True,
    retry=Retry(attempts=3, max_retries=6, strategy=BackoffStrategy.FULL_JITTER),
)

__all__ = [
    "MINIMAL_STRUCTURED",
    "RECOMMENDED_STRUCTURED",
    "STRICT_STRUCTURED",
    "StructuredConfig",
]
