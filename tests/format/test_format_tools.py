"""Tool definitions: styles, validation, and reading calls back from model output."""

from __future__ import annotations

import pytest

from l0.errors import Error, ErrorCode
from l0.format import Format, FunctionCall, ToolDefinition


def _weather() -> ToolDefinition:
    return Format.create_tool(
        "get_weather",
        "Get weather for a location",
        [
            Format.parameter("location", "string", "City name", required=True),
            Format.parameter("unit", "string", enum=["c", "f"], default="c"),
            Format.parameter("days", "array", items={"type": "integer"}),
        ],
    )


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
        "days": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["location"],
}


def test_openai_style_is_the_openai_tools_format() -> None:
    assert Format.tool(_weather(), style="openai") == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get weather for a location",
            "parameters": WEATHER_SCHEMA,
        },
    }


def test_anthropic_style_uses_input_schema() -> None:
    assert Format.tool(_weather(), {"style": "anthropic"}) == {
        "name": "get_weather",
        "description": "Get weather for a location",
        "input_schema": WEATHER_SCHEMA,
    }


def test_natural_style_describes_the_tool_in_text() -> None:
    assert Format.tool(_weather(), style="natural") == (
        "get_weather: Get weather for a location\n"
        "Parameters:\n"
        "- location (string, required): City name\n"
        '- unit (string, optional, default: "c", one of: "c", "f")\n'
        "- days (array, optional)"
    )


def test_tools_natural_joins_with_blank_line_and_default_is_json_schema() -> None:
    ping = Format.create_tool("ping", "Ping")
    assert Format.tools([ping, ping], style="natural") == "ping: Ping\n\nping: Ping"
    assert Format.tools([ping]) == [Format.tool(ping)]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: Format.create_tool("bad name", "x"), "1-64 characters"),
        (lambda: Format.create_tool("t", "x", [Format.parameter("a", "string")] * 2), "'a'"),
        (lambda: Format.parameter("a", "str"), "string, number"),  # type: ignore[arg-type]
        (lambda: Format.parameter("", "string"), "empty"),
        (lambda: Format.tool(Format.create_tool("t", "x"), style="xml"), "json-schema"),  # type: ignore[arg-type]
        (lambda: Format.tool({"name": "t"}), "ToolDefinition"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_are_invalid_arguments(call: object, fragment: str) -> None:
    with pytest.raises(Error) as info:
        call()  # type: ignore[operator]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            '{"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}',
            FunctionCall("search", {"q": "x"}),
        ),
        ('{"name": "search", "arguments": ""}', FunctionCall("search", {})),
        ('{"tool": "search", "input": {"q": 1}}', FunctionCall("search", {"q": 1})),
        ('{"function_call": {"name": "f", "args": {}}}', FunctionCall("f", {})),
        (
            '{"tool_calls": [{"id": "c1", "type": "function", '
            '"function": {"name": "f", "arguments": "{\\"a\\": [1]}"}}]}',
            FunctionCall("f", {"a": [1]}),
        ),
        ('Calling:\n```json\n{"name": "f"}\n```', FunctionCall("f", {})),
        (
            'I\'ll run search(query="cats (big)", limit=5).',
            FunctionCall("search", {"query": "cats (big)", "limit": 5}),
        ),
        ('search({"query": "x"})', FunctionCall("search", {"query": "x"})),
        ("get_time()", FunctionCall("get_time", {})),
        ('{"name": "f", "arguments": "not json"}', None),
        ('{"name": "f", "arguments": [1]}', None),
        ("just prose (with a remark)", None),
        ("print('hi')", None),
        ("run(x=os.system('rm -rf /'))", None),
        ("f(**kw)", None),
        ("no call at all", None),
    ],
)
def test_parse_function_call(output: str, expected: FunctionCall | None) -> None:
    assert Format.parse_function_call(output) == expected


def test_parse_function_call_only_known_tools() -> None:
    output = 'search(query="x")'
    assert Format.parse_function_call(output, tools=["lookup"]) is None
    assert Format.parse_function_call(output, tools=[Format.create_tool("search", "S")]) == (
        FunctionCall("search", {"query": "x"})
    )
