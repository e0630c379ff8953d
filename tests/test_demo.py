"""`make demo` tells its five-chapter story to the end, against the local fault server.

The demo talks to a real socket (`l0.testing.FaultServer`), so it runs on the real clock; its
waits (a 1 s Retry-After, a 0.6 s first-token timeout, short backoffs) take about two seconds.
Each chapter is checked from what the demo returns, never from how long it took.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import l0
from l0.demo import (
    CONTINUED_ANSWER,
    EXPECTED_CITY,
    FALLBACK_ANSWER,
    FALLBACK_MODEL,
    MODEL,
    RATE_LIMITED_ANSWER,
    DemoResult,
    main,
)

Obs = l0.ObservabilityEventType


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # the demo's entry point runs on asyncio (the SDK works on both)


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, str]:
    out = io.StringIO()
    diagram = tmp_path_factory.mktemp("demo") / "diagrams" / "last-demo.md"
    result = await main(["--diagram", str(diagram)], out)
    return result, out.getvalue()


pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_every_chapter_runs_to_completion(demo: tuple[DemoResult, str]) -> None:
    """Five chapters, none failed, each run completed."""
    result, _ = demo
    assert not result.live
    assert [chapter.number for chapter in result.chapters] == [1, 2, 3, 4, 5]
    for chapter in result.chapters:
        assert chapter.error is None, chapter.title
        assert chapter.state is not None and chapter.state.completed, chapter.title
        assert chapter.path[0] == "init" and chapter.path[-1] == "complete", chapter.title
    assert result.ok


async def test_chapter_1_honours_the_retry_after_of_a_429(demo: tuple[DemoResult, str]) -> None:
    """The 429's Retry-After (1 s) is the retry's delay, not the demo's 0.25 s backoff."""
    chapter = demo[0].chapters[0]
    errors = chapter.of_type(Obs.ERROR)
    assert [meta["reason"] for meta in errors] == ["rate_limit"]
    assert [meta["delay"] for meta in chapter.of_type(Obs.RETRY_ATTEMPT)] == [1.0]
    assert chapter.state is not None
    assert chapter.state.content == "".join(RATE_LIMITED_ANSWER)
    assert chapter.state.network_retry_count == 1
    assert chapter.path.count("retrying") == 1


async def test_chapter_2_continues_a_dropped_stream_without_duplicates(
    demo: tuple[DemoResult, str],
) -> None:
    """The drop is retried from the checkpoint, the repeated words are removed, nothing is
    reset, and the text is exactly the expected answer."""
    chapter = demo[0].chapters[1]
    state = chapter.state
    assert state is not None
    assert [meta["network_type"] for meta in chapter.of_type(Obs.NETWORK_ERROR)] == [
        "connection_dropped"
    ]
    assert chapter.of_type(Obs.CHECKPOINT_SAVED)
    assert state.continuation_used and state.resumed
    assert state.overlap_removed == "where it "
    assert chapter.resets == []
    assert state.content == CONTINUED_ANSWER
    assert "continuation_matching" in chapter.path


async def test_chapter_3_moves_a_silent_primary_to_the_fallback(
    demo: tuple[DemoResult, str],
) -> None:
    """The first-token timeout moves the run to the fallback model, which answers."""
    chapter = demo[0].chapters[2]
    assert [meta["reason"] for meta in chapter.of_type(Obs.FALLBACK_START)] == [
        "initial_token_timeout"
    ]
    assert chapter.of_type(Obs.RETRY_ATTEMPT) == []  # no retry of the silent route
    assert chapter.state is not None
    assert chapter.state.fallback_index == 1
    assert chapter.state.model == FALLBACK_MODEL
    assert chapter.state.content == "".join(FALLBACK_ANSWER)


async def test_chapter_4_guardrail_rejects_prose_around_json_and_retries(
    demo: tuple[DemoResult, str],
) -> None:
    """strict_json fails the first answer; the retry resets the text and returns pure JSON."""
    chapter = demo[0].chapters[3]
    failed = [m for m in chapter.of_type(Obs.GUARDRAIL_RULE_RESULT) if not m["passed"]]
    assert [meta["rule"] for meta in failed] == ["strict_json"]
    assert [reset["reason"] for reset in chapter.resets] == ["guardrail_violation"]
    assert chapter.resets[0]["kept"] == 0
    state = chapter.state
    assert state is not None
    assert state.model_retry_count == 1
    assert json.loads(state.content) == {"city": "Paris", "country": "France"}


async def test_chapter_5_validates_a_structured_object_after_a_retry(
    demo: tuple[DemoResult, str],
) -> None:
    """The first object fails the schema; the second is repaired (fence, trailing comma) and
    validated into the Pydantic model."""
    chapter = demo[0].chapters[4]
    assert chapter.data == EXPECTED_CITY
    structured = chapter.structured
    assert isinstance(structured, l0.StructuredResult)
    assert structured.attempts == 2
    assert [failure.attempt for failure in structured.failures] == [1]
    assert set(structured.corrections) == {
        l0.CorrectionType.MARKDOWN_FENCE_REMOVED,
        l0.CorrectionType.TRAILING_COMMA_REMOVED,
    }


async def test_the_output_shows_tokens_and_recovery_events_in_order(
    demo: tuple[DemoResult, str],
) -> None:
    """Chapter titles, tokens, and the recovery notes between them are printed."""
    _, text = demo
    for chapter in demo[0].chapters:
        assert chapter.title in text
    assert text.index("retry 1 in 1.00s (rate_limit)") < text.index("A 429 is a request")
    assert text.index("network error (connection_dropped)") < text.index("stopped, without")
    assert "switching to fallback 1 (initial_token_timeout)" in text
    assert "RESET (guardrail_violation)" in text
    assert "auto-corrected: markdown_fence_removed, trailing_comma_removed" in text


async def test_the_diagram_page_holds_every_chapters_path(demo: tuple[DemoResult, str]) -> None:
    """diagrams/last-demo.md gets one marked runtime diagram per chapter."""
    result, _ = demo
    assert result.diagram_path is not None
    page = Path(result.diagram_path).read_text(encoding="utf-8")
    assert page.count("```mermaid") == 5
    for chapter in result.chapters:
        assert f"## {chapter.title}" in page
        assert chapter.diagram is not None and chapter.diagram in page
    assert "class complete current" in page
    # the fallback chapter's diagram counts its switch
    assert "waiting_for_token --> fallback: fail [fallback_available] / switch_fallback (x1)" in (
        result.chapters[2].diagram or ""
    )


async def test_live_without_an_api_key_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--live needs OPENAI_API_KEY; without it the demo says so before doing anything."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="OPENAI_API_KEY"):
        await main(["--live"], io.StringIO())


def test_help_explains_what_live_can_and_cannot_show(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` says --live uses the real API, where failures cannot be injected."""
    from l0.demo import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--live" in help_text
    assert "OPENAI_API_KEY" in help_text
    assert "cannot be injected" in help_text


async def test_live_sends_the_same_requests_to_the_configured_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--live scripts nothing: the chapters' requests go to the API the SDK is configured for
    (here a fault server that answers every request cleanly), and each run completes.
    Without --diagram (as when run from an installed wheel) nothing is written to the
    current directory."""
    from l0.testing import FaultServer, Reply

    city = '{"name": "Paris", "country": "France", "population": 2102650}'
    async with FaultServer(default=Reply([city[:20], city[20:]])) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.chdir(tmp_path)
        out = io.StringIO()
        result = await main(["--live"], out)
    assert result.live and result.ok
    assert result.diagram_path is None and list(tmp_path.iterdir()) == []
    assert [request.model for request in server.requests] == [MODEL] * 5
    assert all(chapter.state and chapter.state.content == city for chapter in result.chapters)
    assert result.chapters[4].data == EXPECTED_CITY
    assert "no failure is injected" in out.getvalue()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_only_what_the_demo_needs(tmp_path: Path) -> None:
    """`make demo` on a fresh clone installs l0 with the openai and testing extras (the SDK
    and aiohttp), not the dev toolchain, and writes the diagram page where the README says."""
    root = Path(__file__).resolve().parents[1]
    planned = subprocess.run(
        ["make", "-n", "-C", str(root), "demo", f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in planned.splitlines() if " pip install" in line]
    assert installs and all("[openai,testing]" in line for line in installs), planned
    assert "dev" not in planned
    assert "-m l0.demo --diagram diagrams/last-demo.md" in planned
