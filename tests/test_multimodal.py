"""Multimodal DATA and PROGRESS events: built, carried as plain data, read back."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from l0.errors import Error, ErrorCode
from l0.multimodal import ContentType, DataPayload, Multimodal, Progress
from l0.stream_utils import consume_stream
from l0.types import Event, EventType

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


def test_image_from_bytes_is_a_data_event_with_base64_payload() -> None:
    event = Multimodal.image(PNG, mime_type="image/png", width=2, height=3)
    assert event.type is EventType.DATA and event.is_data
    assert event.data == {
        "content_type": "image",
        "mime_type": "image/png",
        "base64": base64.b64encode(PNG).decode(),
        "metadata": {"width": 2, "height": 3},
    }
    payload = Multimodal.payload(event)
    assert payload is not None
    assert payload.content_type is ContentType.IMAGE
    assert payload.to_bytes() == PNG
    assert payload.data_url == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_event_data_is_plain_json_and_survives_a_round_trip() -> None:
    events = [
        Multimodal.audio(base64="AAEC", mime_type="audio/wav", duration=1.5),
        Multimodal.video(url="https://x/v.mp4", duration=3.0, width=640, height=480),
        Multimodal.file(b"%PDF", mime_type="application/pdf", filename="a.pdf"),
        Multimodal.json({"rows": [1, 2]}, metadata={"source": "db"}),
        Multimodal.data(DataPayload(ContentType.TEXT, data="caption")),
    ]
    for event in events:
        assert event.data is not None
        restored = Event(type=EventType.DATA, data=json.loads(json.dumps(event.data)))
        assert Multimodal.payload(restored) == Multimodal.payload(event)


def test_payload_fields_by_kind() -> None:
    audio = Multimodal.payload(Multimodal.audio(base64="AAEC", duration=1.5))
    assert audio == DataPayload(ContentType.AUDIO, base64="AAEC", metadata={"duration": 1.5})
    video = Multimodal.payload(Multimodal.video(url="https://x/v.mp4"))
    assert video is not None and video.data_url == "https://x/v.mp4" and video.to_bytes() is None
    file = Multimodal.payload(Multimodal.file(b"%PDF", filename="a.pdf"))
    assert (
        file is not None and file.metadata == {"filename": "a.pdf"} and file.to_bytes() == b"%PDF"
    )
    data = Multimodal.payload(Multimodal.json([1, None]))
    assert data == DataPayload(ContentType.JSON, "application/json", data=[1, None])


def test_progress_event_and_reader() -> None:
    event = Multimodal.progress(40, step=2, total_steps=5, message="rendering", eta=3.0)
    assert event.type is EventType.PROGRESS and event.is_progress
    assert event.data == {
        "percent": 40,
        "step": 2,
        "total_steps": 5,
        "message": "rendering",
        "eta": 3.0,
    }
    progress = Multimodal.get_progress(event)
    assert progress == Progress(40, 2, 5, "rendering", 3.0)
    assert progress.fraction == 0.4


def test_progress_fraction_from_steps_and_unknown() -> None:
    assert Progress(step=1, total_steps=4).fraction == 0.25
    assert Progress(message="working").fraction is None


def test_readers_return_none_for_other_events() -> None:
    token = Event(type=EventType.TOKEN, text="hi")
    foreign = Event(type=EventType.DATA, data={"rows": 3})  # someone else's DATA event
    assert Multimodal.payload(token) is None
    assert Multimodal.payload(foreign) is None
    assert Multimodal.get_progress(token) is None
    assert Multimodal.get_progress(Event(type=EventType.PROGRESS)) == Progress()


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: Multimodal.image(), "exactly one of"),
        (lambda: Multimodal.image(PNG, url="https://x"), "data, url"),
        (lambda: Multimodal.image("not bytes"), "bytes"),  # type: ignore[arg-type]
        (lambda: Multimodal.progress(150), "between 0 and 100"),
        (lambda: Multimodal.progress(step=-1), "step"),
        (lambda: Multimodal.progress(total_steps=0), "total_steps"),
        (lambda: Multimodal.progress(eta=-1), "eta"),
        (lambda: Multimodal.data({"content_type": "image"}), "DataPayload"),  # type: ignore[arg-type]
        (
            lambda: Multimodal.payload(Event(type=EventType.DATA, data={"content_type": "smell"})),
            "unknown content_type",
        ),
        (lambda: DataPayload(ContentType.IMAGE, base64="%%%").to_bytes(), "base64"),
    ],
)
def test_bad_input_is_an_invalid_argument(call: Any, fragment: str) -> None:
    with pytest.raises(Error) as info:
        call()
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    assert fragment in info.value.message


class _ImageChunk:
    def __init__(self, kind: str, value: Any) -> None:
        self.kind = kind
        self.value = value


class ImageAdapter:
    """An adapter for a made-up image API, written the way the reference's adapters are."""

    name = "images"

    def detect(self, stream: Any) -> bool:
        return isinstance(stream, list) and all(isinstance(c, _ImageChunk) for c in stream)

    async def wrap(self, stream: Any) -> AsyncIterator[Event]:
        for chunk in stream:
            if chunk.kind == "progress":
                yield Multimodal.progress(chunk.value)
            elif chunk.kind == "image":
                yield Multimodal.image(chunk.value, mime_type="image/png")
            elif chunk.kind == "caption":
                yield Event(type=EventType.TOKEN, text=chunk.value)
        yield Event(type=EventType.COMPLETE)


@pytest.mark.anyio
async def test_an_adapter_emits_multimodal_events_a_consumer_reads_back() -> None:
    provider = [
        _ImageChunk("progress", 50),
        _ImageChunk("image", PNG),
        _ImageChunk("progress", 100),
        _ImageChunk("caption", "A cat"),
    ]
    adapter = ImageAdapter()
    assert adapter.detect(provider)
    images, percents = [], []
    async for event in adapter.wrap(provider):
        if (payload := Multimodal.payload(event)) is not None:
            images.append(payload.to_bytes())
        elif (progress := Multimodal.get_progress(event)) is not None:
            percents.append(progress.percent)
    assert images == [PNG]
    assert percents == [50, 100]
    # The text helpers skip the non-text events.
    assert await consume_stream(adapter.wrap(provider)) == "A cat"
