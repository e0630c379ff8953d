"""Drift detection: each signal on realistic text, silence on ordinary text, determinism,
the incremental session, the guardrail form and drift in a run."""

from __future__ import annotations

import base64
import random
import string
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.drift import (
    DRIFT_TYPES,
    Drift,
    DriftConfig,
    DriftDetector,
    DriftFinding,
    DriftResult,
    DriftSession,
)
from l0.guardrails import _windows
from l0.guardrails.presets import Guardrails
from l0.testing.scripted import Script, ScriptedFactory
from l0.types import State

sys.path.insert(0, str(Path(__file__).parent / "guardrails"))
from sample_texts import ALL, CODE_ANSWER, PROSE, STORY

RUSSIAN = (
    "Потоковые ответы приходят небольшими частями, и каждая часть обычно содержит несколько "
    "символов текста. Клиент, который хочет показывать прогресс, должен также справляться с "
    "обрывами соединения, ошибками сервера и паузами модели. Обычный ответ на это — повтор "
    "запроса с экспоненциальной задержкой, чтобы перегруженный сервер успел восстановиться."
)
CHINESE = (
    "流式响应以一系列小块的形式到达，每个块通常携带几个字符的文本。希望向用户显示进度的客户端可以在"
    "每个块到达时立即呈现，但它还必须应对网络：连接断开、服务器返回错误，有时模型只是暂时停止发送"
    "令牌。常见的答案是指数退避重试，每次失败后等待更长时间，以便服务器有时间恢复。"
)


def garbage(size: int, seed: int) -> str:
    rnd = random.Random(seed)
    return "".join(rnd.choice(string.ascii_letters + string.digits + string.punctuation + " ")
                   for _ in range(size))


# -- no drift in ordinary text ------------------------------------------------------------------

ORDINARY = {
    **ALL,
    "everything": "\n\n".join(ALL.values()),
    "translation": PROSE[:600] + "\n\nIn Chinese:\n\n" + CHINESE * 2,
    "russian": PROSE[:600] + "\n\nПо-русски:\n\n" + RUSSIAN,
    "data uri": PROSE[:600] + "\n\nThe image as a data URI:\n\ndata:image/png;base64,"
    + base64.b64encode(random.Random(1).randbytes(600)).decode() + "\n\nPaste it in.",
    "casual from the start": (
        "hey!! so yeah lol, this library is kinda neat 😂 gonna try it tonight. "
        "ok so first you grab the client, then you wrap it, nah it's not hard haha. "
        "honestly the retries are the best bit, yep!! the docs are sorta thin tho :) "
        "anyway ping me if it breaks, dude, i'll prob be up late lmao. "
    ),
    "about ai": "As an AI researcher, I have spent years on language models. " + STORY,
    "exclamations": PROSE[:700] + " Warning! Do not run this in production! " + STORY[:400],
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_text_has_no_drift(name: str) -> None:
    result = Drift.detect(ORDINARY[name])
    assert result == DriftResult(), result.details


# -- each signal --------------------------------------------------------------------------------


def test_meta_commentary() -> None:
    text = PROSE[:500] + " As an AI language model, I don't have personal opinions, but " + STORY
    result = Drift.detect(text)
    assert result.detected
    assert result.types == ["meta_commentary"]
    assert result.confidence == 0.9
    [finding] = result.findings
    assert finding.position == 501
    assert "As an AI" in finding.details


@pytest.mark.parametrize(
    "phrase",
    ["As a language model, I", "I'm just an AI, so", "my training data ends",
     "As of my last knowledge update,", "I don't have personal feelings about",
     "I was trained by OpenAI and"],
)
def test_meta_commentary_phrases(phrase: str) -> None:
    assert Drift.detect(f"{STORY[:300]} {phrase} it goes on.").types == ["meta_commentary"]


def test_tone_shift_from_formal_to_casual() -> None:
    text = PROSE[:800] + " lol omg this is sooo cool!! 😂😂 gonna try it tonight, dude. " + STORY
    result = Drift.detect(text)
    assert result.types == ["tone_shift"]
    assert result.findings[0].position == 800  # the window [800, 1000) holds the markers
    assert 0.5 < result.confidence <= 1.0


def test_repetition_loop() -> None:
    text = PROSE[:400] + " The answer is that we need to check the logs." * 8
    result = Drift.detect(text)
    assert result.types == ["repetition"]
    assert "check the logs" in result.details


def test_entropy_spike_on_garbage_after_prose() -> None:
    for seed in range(5):
        result = Drift.detect(PROSE[:800] + " " + garbage(400, seed))
        assert result.types == ["entropy_spike"], seed
        assert result.findings[0].position >= 600


def test_entropy_spike_needs_a_baseline() -> None:
    assert Drift.detect(garbage(150, 0) + " " + PROSE).detected is False


def test_several_kinds_in_one_text_are_all_reported_once() -> None:
    text = (PROSE[:800] + " lol omg this is sooo cool!! 😂😂 gonna try it, dude!! "
            + "As an AI, I cannot say more. " + "Try again later please now. " * 6)
    result = Drift.detect(text)
    assert sorted(result.types) == sorted(["tone_shift", "meta_commentary", "repetition"])
    assert result.confidence == max(f.confidence for f in result.findings)
    assert result.details.count("; ") == 2


# -- configuration ------------------------------------------------------------------------------


def test_each_signal_can_be_switched_off() -> None:
    texts = {
        "meta_commentary": PROSE[:500] + " As an AI, I think. " + STORY,
        "tone_shift": PROSE[:800] + " lol omg this is sooo cool!! 😂😂 gonna try it. " + STORY,
        "repetition": PROSE[:400] + " We must check the logs again now." * 8,
        "entropy_spike": PROSE[:800] + " " + garbage(400, 1),
    }
    switches = {
        "meta_commentary": "detect_meta_commentary",
        "tone_shift": "detect_tone_shift",
        "repetition": "detect_repetition",
        "entropy_spike": "detect_entropy_spike",
    }
    for kind, text in texts.items():
        assert Drift.detect(text).types == [kind]
        off = DriftConfig(**{switches[kind]: False})  # type: ignore[arg-type]
        assert Drift.detect(text, off).detected is False, kind


def test_thresholds_are_honoured() -> None:
    loop = PROSE[:400] + " We must check the logs again now." * 3
    assert Drift.detect(loop).types == ["repetition"]
    assert Drift.detect(loop, DriftConfig(repetition_threshold=4)).detected is False
    tone = PROSE[:800] + " lol omg this is cool!! " + STORY
    assert Drift.detect(tone).types == ["tone_shift"]
    assert Drift.detect(tone, DriftConfig(tone_threshold=4)).detected is False
    spike = PROSE[:800] + " " + garbage(400, 2)
    assert Drift.detect(spike, DriftConfig(entropy_threshold=3.0)).detected is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": 10}, "window_size"),
        ({"tone_threshold": 0}, "tone_threshold"),
        ({"repetition_threshold": 1}, "repetition_threshold"),
        ({"repetition_window": 5}, "repetition_window"),
        ({"entropy_threshold": 0}, "entropy_threshold"),
        ({"entropy_threshold": "high"}, "entropy_threshold"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(l0.Error, match=message) as caught:
        DriftConfig(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_drift_namespace() -> None:
    detector = Drift.create(window_size=300)
    assert isinstance(detector, DriftDetector)
    assert detector.config.window_size == 300
    assert Drift.create(DriftConfig(tone_threshold=5)).config.tone_threshold == 5
    assert Drift.create().config == DriftConfig()
    with pytest.raises(l0.Error, match="not both"):
        Drift.create(DriftConfig(), window_size=300)
    with pytest.raises(l0.Error, match="unexpected keyword"):
        Drift.create(windowsize=300)
    assert Drift.rule().name == "drift"
    with pytest.raises(l0.Error, match="DriftConfig"):
        DriftDetector({"window_size": 300})  # type: ignore[arg-type]


def test_drift_types_are_the_four_signals() -> None:
    assert DRIFT_TYPES == ("meta_commentary", "repetition", "tone_shift", "entropy_spike")


# -- the incremental session --------------------------------------------------------------------


DRIFTY = st.lists(
    st.sampled_from([
        PROSE[:180], STORY[:150], CODE_ANSWER[:160], " As an AI, I cannot. ",
        " lol omg so cool!! 😂 gonna ", " Check the logs again now. ", garbage(120, 3), "\n\n",
    ]),
    max_size=14,
).map("".join)


@settings(max_examples=120, deadline=None)
@given(DRIFTY, st.lists(st.integers(1, 60), max_size=40))
def test_session_over_any_split_equals_detect(text: str, sizes: list[int]) -> None:
    session = DriftDetector().session()
    at = 0
    for size in sizes:
        session.feed(text[at : at + size])
        at += size
    session.feed(text[at:])
    session.finish()
    assert session.result == Drift.detect(text)


# Pieces whose windows fall on both sides of the distinct-character bound: prose (about 30
# distinct characters), code and punctuated text (40-50), garbage and data (60 and more).
MIXED = st.lists(
    st.sampled_from([
        PROSE[:180], STORY[:150], CODE_ANSWER[:160], garbage(120, 3), garbage(60, 4),
        base64.b64encode(random.Random(2).randbytes(90)).decode(), CHINESE[:80], RUSSIAN[:90],
        " lol omg so cool!! 😂 gonna ", "\n\n", string.punctuation, string.digits,
    ]),
    max_size=16,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    text=MIXED,
    sizes=st.lists(st.integers(1, 90), max_size=30),
    window_size=st.sampled_from([50, 64, 200]),
    entropy_threshold=st.sampled_from([0.25, 1.5]),
    max_unmeasured=st.sampled_from([1, 100, 300, 100_000]),  # characters
)
def test_lazy_entropy_finds_what_measuring_every_window_finds(
    text: str, sizes: list[int], window_size: int, entropy_threshold: float, max_unmeasured: int
) -> None:
    """Windows too plain to spike are measured only when a later one could spike: every
    feed reports what a session measuring every window at once reports, to the float."""
    config = DriftConfig(window_size=window_size, entropy_threshold=entropy_threshold)
    with mock.patch.object(_windows, "MAX_UNMEASURED", max_unmeasured):
        lazy = DriftSession(config)
        eager = DriftSession(config, lazy_entropy=False)
        at = 0
        for size in [*sizes, len(text)]:
            piece = text[at : at + size]
            at += size
            assert lazy.feed(piece) == eager.feed(piece)
        assert lazy.finish() == eager.finish()
    assert lazy.result == eager.result


def test_session_reports_each_finding_once_as_it_appears() -> None:
    text = PROSE[:500] + " As an AI, I think. " + STORY
    session = DriftDetector().session()
    new: list[list[DriftFinding]] = [
        session.feed(text[i : i + 10]) for i in range(0, len(text), 10)
    ]
    reported = [batch for batch in new if batch]
    assert len(reported) == 1
    assert reported[0][0].type == "meta_commentary"
    assert session.finish() == []
    assert session.result.types == ["meta_commentary"]


def test_detection_is_deterministic() -> None:
    text = PROSE[:800] + " lol omg so cool!! 😂 gonna " + " Check the logs again now." * 6
    assert all(Drift.detect(text) == Drift.detect(text) for _ in range(3))


# -- the guardrail form -------------------------------------------------------------------------


def test_as_rule_is_the_drift_rule() -> None:
    rule = DriftDetector().as_rule()
    assert (rule.name, rule.severity, rule.recoverable, rule.streaming) == (
        "drift", "error", True, True,
    )
    text = PROSE[:500] + " As an AI, I think. " + STORY
    [violation] = rule.check(State(content=text, completed=True))
    assert (violation.rule, violation.severity, violation.recoverable) == ("drift", "error", True)
    assert violation.position == 501
    assert violation.context is not None
    assert violation.context["types"] == ["meta_commentary"]
    assert violation.context["confidence"] == 0.9
    assert "As an AI" in violation.context["details"]


def test_strict_preset_includes_drift() -> None:
    [drift] = [rule for rule in Guardrails.strict() if rule.name == "drift"]
    assert drift.session is not None


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_drift_in_a_run_retries_and_is_recorded() -> None:
    drifting = PROSE[:300] + " As an AI language model, I must say " + STORY[:200]
    factory = ScriptedFactory(Script.tokens(drifting, size=4), Script.tokens(STORY, size=4))
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        stream=factory,
        guardrails=[DriftDetector().as_rule()],
        retry=l0.Retry(attempts=2, calculate_delay=lambda context: 0.0),
        on_event=seen.append,
    )
    assert await result.read() == STORY
    assert factory.calls == 2
    assert result.state.drift_detected is True
    assert [v.rule for v in result.state.violations] == ["drift"]
    drift_events = [e for e in seen if e.type is l0.ObservabilityEventType.DRIFT_CHECK_RESULT]
    assert any(e.meta.get("detected") for e in drift_events)
