"""Multimodal events: images, audio, video, files and JSON data, and progress, as `l0.Event`s.

Non-text streams use the same `Event` as text: a payload travels in an ``EventType.DATA``
event, progress in an ``EventType.PROGRESS`` event. `Event.data` holds plain, JSON-ready data
(so recorded events serialize and replay without custom types):

- DATA: ``{"content_type": "image", "mime_type": "image/png", "base64": "...",
  "url": ..., "data": ..., "metadata": {...}}``, keys whose value is None left out.
  Binary content is always base64 text, never ``bytes``.
- PROGRESS: ``{"percent": 40.0, "step": 2, "total_steps": 5, "message": ..., "eta": ...}``,
  keys whose value is None left out.

An adapter yields the events the constructors build (``yield Multimodal.image(url=...)``);
a consumer reads them back with `Multimodal.payload(event)` and `Multimodal.get_progress`.
A DATA event whose data has no ``content_type`` is someone else's data: `payload` is None.
"""

from __future__ import annotations

import base64 as _b64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from l0.errors import Error, ErrorCode
from l0.types import Event, EventType


class ContentType(str, Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    JSON = "json"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class DataPayload:
    """Content of a DATA event: inline (`base64`), by reference (`url`), or a value (`data`).

    `metadata` holds facts about the content: ``width``/``height`` (pixels),
    ``duration`` (seconds), ``filename``, or anything an adapter adds.
    """

    content_type: ContentType
    mime_type: str | None = None
    base64: str | None = None
    url: str | None = None
    data: Any = None  # the value of a JSON payload, or the text of a TEXT payload
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes | None:
        """The inline content decoded, or None when the payload has none."""
        if self.base64 is None:
            return None
        try:
            return _b64.b64decode(self.base64, validate=True)
        except binascii.Error as exc:
            raise _invalid(f"DataPayload.base64 is not valid base64: {exc}") from exc

    @property
    def data_url(self) -> str | None:
        """`url`, or a ``data:`` URL of the inline content (what chat APIs accept)."""
        if self.url is not None:
            return self.url
        if self.base64 is None:
            return None
        return f"data:{self.mime_type or 'application/octet-stream'};base64,{self.base64}"

    def to_dict(self) -> dict[str, Any]:
        """The payload as `Event.data`: plain data, None values left out."""
        out: dict[str, Any] = {"content_type": self.content_type.value}
        for key in ("mime_type", "base64", "url", "data"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataPayload:
        """Read back `to_dict` (unknown keys are ignored)."""
        raw_type = data.get("content_type")
        try:
            content_type = ContentType(raw_type)
        except ValueError:
            known = ", ".join(t.value for t in ContentType)
            raise _invalid(f"unknown content_type {raw_type!r}; expected one of {known}") from None
        return cls(
            content_type,
            mime_type=data.get("mime_type"),
            base64=data.get("base64"),
            url=data.get("url"),
            data=data.get("data"),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a long, non-text operation has come. `eta` is seconds remaining."""

    percent: float | None = None  # 0 to 100
    step: int | None = None
    total_steps: int | None = None
    message: str | None = None
    eta: float | None = None

    def __post_init__(self) -> None:
        if self.percent is not None and not 0 <= self.percent <= 100:
            raise _invalid(f"Progress.percent must be between 0 and 100, got {self.percent!r}")
        if self.step is not None and self.step < 0:
            raise _invalid(f"Progress.step must be >= 0, got {self.step!r}")
        if self.total_steps is not None and self.total_steps < 1:
            raise _invalid(f"Progress.total_steps must be >= 1, got {self.total_steps!r}")
        if self.eta is not None and self.eta < 0:
            raise _invalid(f"Progress.eta must be >= 0 seconds, got {self.eta!r}")

    @property
    def fraction(self) -> float | None:
        """Progress as 0.0-1.0: from `percent`, else from `step` / `total_steps`."""
        if self.percent is not None:
            return self.percent / 100
        if self.step is not None and self.total_steps:
            return min(1.0, self.step / self.total_steps)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The progress as `Event.data`: plain data, None values left out."""
        fields = ("percent", "step", "total_steps", "message", "eta")
        return {key: getattr(self, key) for key in fields if getattr(self, key) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Progress:
        """Read back `to_dict` (unknown keys are ignored)."""
        return cls(
            percent=data.get("percent"),
            step=data.get("step"),
            total_steps=data.get("total_steps"),
            message=data.get("message"),
            eta=data.get("eta"),
        )


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _binary_event(
    content_type: ContentType,
    where: str,
    data: bytes | None,
    base64: str | None,
    url: str | None,
    mime_type: str | None,
    metadata: Mapping[str, Any] | None,
    **facts: Any,
) -> Event:
    sources = (("data", data), ("base64", base64), ("url", url))
    given = [name for name, value in sources if value is not None]
    if len(given) != 1:
        raise _invalid(
            f"{where} needs exactly one of data (bytes), base64 (str) or url (str); "
            f"got {', '.join(given) or 'none'}"
        )
    if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
        raise _invalid(f"{where}: data must be bytes, got {type(data).__name__}")
    encoded = _b64.b64encode(data).decode("ascii") if data is not None else base64
    meta = {**(metadata or {}), **{k: v for k, v in facts.items() if v is not None}}
    payload = DataPayload(content_type, mime_type, encoded, url, metadata=meta)
    return Event(type=EventType.DATA, data=payload.to_dict())


class Multimodal:
    """Build DATA and PROGRESS events, and read them back."""

    @staticmethod
    def image(
        data: bytes | None = None,
        *,
        base64: str | None = None,
        url: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        """A DATA event carrying an image: raw bytes, base64 text, or a URL."""
        return _binary_event(
            ContentType.IMAGE,
            "Multimodal.image",
            data,
            base64,
            url,
            mime_type,
            metadata,
            width=width,
            height=height,
        )

    @staticmethod
    def audio(
        data: bytes | None = None,
        *,
        base64: str | None = None,
        url: str | None = None,
        mime_type: str | None = None,
        duration: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        """A DATA event carrying audio; `duration` in seconds."""
        return _binary_event(
            ContentType.AUDIO,
            "Multimodal.audio",
            data,
            base64,
            url,
            mime_type,
            metadata,
            duration=duration,
        )

    @staticmethod
    def video(
        data: bytes | None = None,
        *,
        base64: str | None = None,
        url: str | None = None,
        mime_type: str | None = None,
        duration: float | None = None,
        width: int | None = None,
        height: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        """A DATA event carrying video; `duration` in seconds."""
        return _binary_event(
            ContentType.VIDEO,
            "Multimodal.video",
            data,
            base64,
            url,
            mime_type,
            metadata,
            duration=duration,
            width=width,
            height=height,
        )

    @staticmethod
    def file(
        data: bytes | None = None,
        *,
        base64: str | None = None,
        url: str | None = None,
        mime_type: str | None = None,
        filename: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        """A DATA event carrying a file."""
        return _binary_event(
            ContentType.FILE,
            "Multimodal.file",
            data,
            base64,
            url,
            mime_type,
            metadata,
            filename=filename,
        )

    @staticmethod
    def json(value: Any, *, metadata: Mapping[str, Any] | None = None) -> Event:
        """A DATA event carrying a JSON value (dicts, lists, str, numbers, bools, None)."""
        payload = DataPayload(
            ContentType.JSON, "application/json", data=value, metadata=dict(metadata or {})
        )
        return Event(type=EventType.DATA, data=payload.to_dict())

    @staticmethod
    def data(payload: DataPayload) -> Event:
        """A DATA event carrying `payload`."""
        if not isinstance(payload, DataPayload):
            raise _invalid(f"Multimodal.data needs a DataPayload, got {type(payload).__name__}")
        return Event(type=EventType.DATA, data=payload.to_dict())

    @staticmethod
    def progress(
        percent: float | None = None,
        *,
        step: int | None = None,
        total_steps: int | None = None,
        message: str | None = None,
        eta: float | None = None,
    ) -> Event:
        """A PROGRESS event; `percent` from 0 to 100, `eta` in seconds."""
        progress = Progress(percent, step, total_steps, message, eta)
        return Event(type=EventType.PROGRESS, data=progress.to_dict())

    @staticmethod
    def payload(event: Event) -> DataPayload | None:
        """The payload of a DATA event built by `Multimodal`; None for any other event."""
        if event.type is not EventType.DATA or not event.data or "content_type" not in event.data:
            return None
        return DataPayload.from_dict(event.data)

    @staticmethod
    def get_progress(event: Event) -> Progress | None:
        """The progress a PROGRESS event reports; None for any other event."""
        if event.type is not EventType.PROGRESS:
            return None
        return Progress.from_dict(event.data or {})


__all__ = ["ContentType", "DataPayload", "Multimodal", "Progress"]
