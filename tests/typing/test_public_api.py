"""What a user's type checker infers from l0's public API, checked by mypy, never run.

Each `assert_type(expression, T)` fails the type check when the expression's inferred type
is not exactly T, so a change that loses a type (an `Any` leaking out of an entry point, a
generic that stops carrying its parameter) is caught before users see it. The functions are
never called: pytest does not collect this directory (see conftest.py), and nothing here
runs at import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from openai import AsyncOpenAI
from pydantic import BaseModel
from typing_extensions import assert_type

import l0
from l0.client import WrappedClient
from l0.progress import ProgressBar
from l0.retry import Failover
from l0.routes import Admission, InMemoryRouteHealth, RouteHealthPolicy, with_route


class Person(BaseModel):
    name: str
    age: int


def factory() -> Any:
    """A stream factory as users write it: `lambda: client.chat.completions.create(...)`."""
    return AsyncOpenAI().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True
    )


async def raw_stream() -> AsyncIterator[str]:
    yield "token"


async def run_and_read() -> None:
    result = await l0.run(
        stream=factory,
        fallbacks=[factory],
        guardrails=l0.Guardrails.recommended(),
        retry=l0.Retry(attempts=3, base_delay=0.5, strategy=l0.BackoffStrategy.EXPONENTIAL),
        timeout=l0.Timeout(initial_token=5000, inter_token=10000),
        continue_from_last_good_token=True,
    )
    assert_type(result, l0.Stream)
    async for event in result:
        assert_type(event, l0.Event)
        assert_type(event.type, l0.EventType)
        assert_type(event.text, str | None)
        assert_type(event.is_token, bool)
    assert_type(result.state, l0.State)
    assert_type(result.state.content, str)
    assert_type(result.state.fallback_index, int)
    assert_type(result.errors, list[BaseException])
    assert_type(await result.read(), str)
    assert_type(result.diagram(), str)
    assert_type(result.state_machine.get(), l0.RuntimeState)
    assert_type(await l0.l0(stream=factory), l0.Stream)
    health = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=2, cool_down=10.0))
    fast = l0.Retry(failover=Failover(same_failure_limit=2, retry_after_limit=None))
    routed = with_route(factory, "gpt-4o", "https://api.openai.com/v1")
    hedged = await l0.run(
        stream=routed, fallbacks=[factory], retry=fast, route_health=health, hedge_after=500
    )
    assert_type(hedged, l0.Stream)
    assert_type(await health.admit("gpt-4o", now=0.0), Admission)
    assert_type(await l0.run(stream=factory, fallbacks=[factory], route_health=False), l0.Stream)
    assert_type(await l0.get_text(result), str)
    assert_type(await l0.consume_stream(result), str)


def configuration() -> None:
    assert_type(l0.Retry(attempts=3), l0.Retry)
    assert_type(l0.Retry.recommended(), l0.Retry)
    assert_type(l0.RECOMMENDED_RETRY, l0.Retry)
    assert_type(l0.Timeout(initial_token=5000), l0.Timeout)
    assert_type(l0.ContinuationConfig(checkpoint_interval=5), l0.ContinuationConfig)
    assert_type(l0.Guardrails.json(), l0.GuardrailRule)
    assert_type(l0.Guardrails.recommended(), list[l0.GuardrailRule])
    assert_type(l0.Guardrails.strict(), list[l0.GuardrailRule])
    assert_type(l0.Guardrails.json_only(), list[l0.GuardrailRule])
    assert_type(l0.Guardrails.none(), list[l0.GuardrailRule])
    assert_type(l0.Error("bad", code=l0.ErrorCode.INVALID_ARGUMENT).code, l0.ErrorCode)
    breaker = l0.CircuitBreaker(failure_threshold=5, cool_down=30.0)
    assert_type(breaker.state, l0.CircuitState)


def on_event(event: l0.ObservabilityEvent) -> None:
    assert_type(event.type, l0.ObservabilityEventType)
    assert_type(event.meta, dict[str, Any])


async def wrapping() -> None:
    client = l0.wrap(AsyncOpenAI(), retry=l0.Retry(attempts=5), on_event=on_event)
    assert_type(client, WrappedClient)
    assert_type(client, l0.WrappedClient)
    response = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    assert_type(response, l0.Stream)
    assert_type(client.with_options(guardrails=[]), WrappedClient)
    one_off = l0.wrap(raw_stream())
    assert_type(one_off, l0.LazyStream)
    async for event in one_off:
        assert_type(event, l0.Event)
    sdk_stream = await AsyncOpenAI().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    assert_type(l0.wrap(sdk_stream), l0.LazyStream)


async def structured_output() -> None:
    result = await l0.structured(Person, factory, retry=l0.Retry(attempts=2))
    assert_type(result, l0.StructuredResult[Person])
    assert_type(result.data, Person)
    assert_type(result.raw, str)
    assert_type(result.state, l0.State)
    by_keyword = await l0.structured(schema=Person, stream=factory)
    assert_type(by_keyword.data, Person)
    as_dict = await l0.structured({"type": "object"}, factory)
    assert_type(as_dict, l0.StructuredResult[Any])
    people = await l0.structured_array(Person, factory)
    assert_type(people.data, list[Person])
    streamed = await l0.structured_stream(Person, factory)
    assert_type(streamed, l0.StructuredStreamResult[Person])
    async for item in streamed:
        assert_type(item, l0.StructuredPartial | l0.StructuredResult[Person])
    assert_type(await streamed.result(), l0.StructuredResult[Person])


async def fetch(url: str) -> bytes:
    return url.encode()


async def concurrency() -> None:
    urls = ["a", "b"]
    assert_type(await l0.parallel([partial(fetch, u) for u in urls], concurrency=2), list[bytes])
    assert_type(await l0.sequential([lambda: fetch("a")]), list[bytes])
    assert_type(await l0.race([lambda: fetch("a"), lambda: fetch("b")]), bytes)
    assert_type(await l0.batched(urls, fetch, 10, progress=True), list[bytes])
    detailed = await l0.Parallel.run(
        [lambda: fetch("a")], l0.ParallelOptions(concurrency=3, on_progress=print)
    )
    assert_type(detailed, l0.ParallelResult[bytes])
    assert_type(detailed.results, list[bytes | None])
    assert_type(detailed.unwrap(), list[bytes])
    assert_type(await l0.Parallel.race([lambda: fetch("a")]), l0.RaceResult[bytes])
    batches = await l0.Parallel.batched(urls, fetch, 5, progress=ProgressBar(backend="text"))
    assert_type(batches, l0.ParallelResult[bytes])
    assert_type(await l0.consensus([lambda: fetch("a")] * 3), bytes)
    assert_type(await l0.Consensus.run([lambda: fetch("a")]), l0.ConsensusResult[bytes])


async def pipelines_and_pools() -> None:
    async def step(text: Any, ctx: l0.StepContext) -> Any:
        return factory

    steps = [l0.create_step("summarize", step), l0.PipelineStep(name="refine", fn=step)]
    assert_type(steps[0], l0.PipelineStep)
    result = await l0.pipe(steps, "input", l0.PipelineOptions(stop_on_error=True))
    assert_type(result, l0.PipelineResult)
    assert_type(result.steps, list[l0.StepResult])
    pipeline = l0.create_pipeline(steps)
    assert_type(pipeline, l0.Pipeline)
    assert_type(await pipeline.run("input"), l0.PipelineResult)
    assert_type(l0.chain_pipelines(pipeline, pipeline), l0.Pipeline)
    assert_type(await l0.parallel_pipelines([pipeline, pipeline], "input"), list[l0.PipelineResult])
    assert_type(await l0.parallel_pipelines([pipeline], "input", lambda results: len(results)), int)
    async with l0.create_pool(3, on_progress=print, progress=True) as pool:
        assert_type(pool, l0.OperationPool)
        assert_type(await pool.run(factory), str)
        operation = await pool.submit(factory)
        assert_type(await operation.result(), str)
        assert_type(pool.stats, l0.PoolStats)


async def windows() -> None:
    window = l0.Window.create("document", size=2000, overlap=200, strategy="paragraph")
    assert_type(window, l0.DocumentWindow)
    assert_type(window.get_all_chunks(), list[l0.DocumentChunk])
    results = await window.process_all(
        lambda chunk: l0.ChunkProcessConfig(stream=factory),
        concurrency=3,
        on_progress=lambda done, total: None,
        progress=True,
    )
    assert_type(results, list[l0.ChunkResult])
    assert_type(l0.Window.get_stats(results), l0.ProcessingStats)
    assert_type(l0.Window.merge_results(results), str)


def json_helpers() -> None:
    assert_type(l0.JSON.auto_correct('{"a": 1,}'), l0.AutoCorrectResult)
    assert_type(l0.JSON.extract("text {}"), str)
    assert_type(l0.JSON.auto_correct("{}").corrections, tuple[l0.CorrectionType, ...])


async def run_options() -> None:
    options = l0.RunOptions(retry=l0.Retry(attempts=2), guardrails=[], check_interval=5)
    assert_type(options, l0.RunOptions)
    assert_type(options.merge(l0.RunOptions(context={"k": 1})), l0.RunOptions)
    assert_type(options.guardrails, tuple[l0.GuardrailRule, ...])
    assert_type(options.check_interval, int)
    client = l0.wrap(AsyncOpenAI(), fallbacks=[factory], hedge_after=200.0)
    assert_type(client.options, l0.RunOptions)
    assert_type(client.with_options(breaker=l0.CircuitBreaker()), WrappedClient)
    assert_type(
        l0.PipelineStep(name="s", fn=lambda v, ctx: v, run_options=options), l0.PipelineStep
    )
    async with l0.create_pool(2, run_options=options) as pool:
        operation = await pool.submit(factory, retry=l0.Retry(), check_interval=3)
        assert_type(operation.run_options, l0.RunOptions)
        await pool.submit(factory, retries=3)  # type: ignore[call-arg]
        await pool.submit(factory, check_interval="3")  # type: ignore[arg-type]
    result = await l0.structured(Person, factory, guardrails=l0.Guardrails.recommended())
    assert_type(result, l0.StructuredResult[Person])
