"""`ReplayComparison`: how two runs differ — their stream events, lifecycle events, final state.

Both runs are compared as plain, redacted data (`event_to_dict`, `lifecycle_to_dict`,
`ReplayedState`) with l0's deep diff (`l0.compare.objects.differences`), so each difference
has a path like `lifecycle[7].meta.reason`. Stream ids always differ between two runs and
are ignored; so are clock readings (timestamps, durations) unless `ignore_timing=False`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from l0.compare.objects import differences
from l0.compare.types import Difference, ObjectComparisonOptions
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.replayer import ReplayResult

TIMING_KEYS = ("ts", "timestamp", "first_token_at", "last_token_at", "duration")


@dataclass(frozen=True, slots=True)
class ReplayComparison:
    """The differences between two runs, by part. Empty everywhere: `identical`."""

    events: tuple[Difference, ...]
    lifecycle: tuple[Difference, ...]
    state: tuple[Difference, ...]

    @property
    def identical(self) -> bool:
        return not (self.events or self.lifecycle or self.state)

    @classmethod
    def between(
        cls,
        expected: ReplayResult,
        actual: ReplayResult,
        *,
        ignore_timing: bool = True,
        ignore_keys: Sequence[str] = (),
    ) -> ReplayComparison:
        """Compare two replayed (or replayed and live-recorded) runs."""
        keys = ("stream_id", *(TIMING_KEYS if ignore_timing else ()), *ignore_keys)
        options = ObjectComparisonOptions(ignore_keys=tuple(keys))
        return cls(
            events=tuple(
                differences(
                    [event_to_dict(e) for e in expected.events],
                    [event_to_dict(e) for e in actual.events],
                    options,
                )
            ),
            lifecycle=tuple(
                differences(
                    [lifecycle_to_dict(e) for e in expected.lifecycle],
                    [lifecycle_to_dict(e) for e in actual.lifecycle],
                    options,
                )
            ),
            state=tuple(
                differences(
                    expected.replayed_state.to_dict(), actual.replayed_state.to_dict(), options
                )
            ),
        )

    def summary(self) -> str:
        """A readable report: one line per difference, grouped by part."""
        if self.identical:
            return "The runs are identical."
        lines: list[str] = []
        for title, found in (
            ("stream events", self.events),
            ("lifecycle events", self.lifecycle),
            ("final state", self.state),
        ):
            if found:
                lines.append(f"{title}: {len(found)} difference(s)")
                lines.extend(f"  {d.message}" for d in found)
        return "\n".join(lines)


__all__ = ["TIMING_KEYS", "ReplayComparison"]
