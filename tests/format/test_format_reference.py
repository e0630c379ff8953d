"""The "Formatting Helpers" examples of the reference, call for call, with their outputs."""

from __future__ import annotations

import contextlib
import io
import json

from l0.format import Format, FunctionCall, ToolDefinition

MEMORY = [
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there!"},
    {"role": "user", "content": "How are you?"},
]


# -- Context Formatting -------------------------------------------------------------------------


def test_context_xml_example() -> None:
    context = Format.context(
        "User manual content here",
        label="documentation",
        delimiter="xml",  # "xml" | "markdown" | "brackets" | "none"
    )
    assert context == "<documentation>\nUser manual content here\n</documentation>"


def test_contexts_example() -> None:
    contexts = Format.contexts(
        [
            {"content": "Doc 1", "label": "doc1"},
            {"content": "Doc 2", "label": "doc2"},
        ]
    )
    assert contexts == "<doc1>\nDoc 1\n</doc1>\n\n<doc2>\nDoc 2\n</doc2>"


def test_document_example() -> None:
    content = "Quarterly numbers are up."
    doc = Format.document(content, {"title": "Report", "author": "User"})
    assert doc == (
        "<document>\ntitle: Report\nauthor: User\n\nQuarterly numbers are up.\n</document>"
    )


def test_instructions_example() -> None:
    instructions = Format.instructions("You are a helpful assistant")
    assert instructions == "<instructions>\nYou are a helpful assistant\n</instructions>"


# -- Memory Formatting --------------------------------------------------------------------------


def test_memory_conversational_example() -> None:
    memory = MEMORY
    formatted = Format.memory(memory, {"style": "conversational", "max_entries": 10})
    assert formatted == "User: Hello\nAssistant: Hi there!\nUser: How are you?"


def test_memory_entry_example_is_timestamped() -> None:
    entry = Format.memory_entry("user", "New message")
    assert entry["role"] == "user"
    assert entry["content"] == "New message"
    assert isinstance(entry["timestamp"], float)


def test_memory_utilities_example() -> None:
    memory = MEMORY
    filtered = Format.filter_memory(memory, "user")  # Only user messages
    last_5 = Format.last_n_entries(memory, 5)
    size = Format.memory_size(memory)  # Character count
    truncated = Format.truncate_memory(memory, max_size=1000)

    assert filtered == [MEMORY[0], MEMORY[2]]
    assert last_5 == MEMORY
    assert size == len("Hello") + len("Hi there!") + len("How are you?")
    assert truncated == MEMORY


# -- Output Formatting --------------------------------------------------------------------------


def test_json_output_example() -> None:
    instruction = Format.json_output({"strict": True, "schema": "..."})
    assert instruction == (
        "Respond with valid JSON only: no explanations and no text before or after it. "
        "Do not wrap it in code fences.\n\nThe JSON must match this schema:\n..."
    )


def test_structured_output_example() -> None:
    instruction = Format.structured_output("yaml", {"strict": True})
    assert instruction == (
        "Respond with valid YAML only: no explanations and no text before or after it. "
        "Do not wrap it in code fences."
    )


def test_output_constraints_example() -> None:
    constraints = Format.output_constraints(
        {
            "max_length": 500,
            "format": "bullet_points",
        }
    )
    assert constraints == (
        "Output constraints:\n"
        "- Keep the response under 500 characters.\n"
        "- Format the response as bullet points."
    )


def test_clean_output_example() -> None:
    cleaned = Format.clean_output("Sure! Here's the JSON: {...}")
    assert cleaned == "{...}"


def test_extract_json_example() -> None:
    model_output = 'Here you go: {"name": "Ada", "tags": ["x", "}"]} Anything else?'
    json_str = Format.extract_json(model_output)
    assert json_str == '{"name": "Ada", "tags": ["x", "}"]}'


def test_validate_json_example() -> None:
    output = '{"a": 1,}'
    is_valid, error = Format.validate_json(output)
    assert is_valid is False
    assert error is not None and "line 1" in error

    output = '{"a": 1}'
    is_valid, error = Format.validate_json(output)
    assert (is_valid, error) == (True, None)


# -- Tool Formatting ----------------------------------------------------------------------------


def _search_tool() -> ToolDefinition:
    tool = Format.create_tool(
        "search",
        "Search the web for information",
        [
            Format.parameter("query", "string", "Search query", required=True),
            Format.parameter("limit", "integer", "Max results", default=10),
        ],
    )
    return tool


SEARCH_SCHEMA = {
    "name": "search",
    "description": "Search the web for information",
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Search query"},
            "limit": {"type": "integer", "description": "Max results", "default": 10},
        },
        "required": ["query"],
    },
}


def test_create_tool_and_format_example() -> None:
    tool = _search_tool()
    formatted = Format.tool(tool, {"style": "json-schema"})
    assert formatted == SEARCH_SCHEMA


def test_tools_example() -> None:
    tool1 = _search_tool()
    tool2 = Format.create_tool("get_time", "Current time")
    formatted_tools = Format.tools([tool1, tool2])
    assert formatted_tools == [
        SEARCH_SCHEMA,
        {
            "name": "get_time",
            "description": "Current time",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    ]


def test_parse_function_call_example() -> None:
    model_output = json.dumps({"name": "search", "arguments": {"query": "l0", "limit": 3}})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        fn_call = Format.parse_function_call(model_output)
        if fn_call:
            print(f"Function: {fn_call.name}, Args: {fn_call.arguments}")
    assert fn_call == FunctionCall("search", {"query": "l0", "limit": 3})
    assert printed.getvalue() == "Function: search, Args: {'query': 'l0', 'limit': 3}\n"


# -- String Utilities ---------------------------------------------------------------------------


def test_basic_operations_example() -> None:
    assert Format.trim("  hello  ") == "hello"
    assert Format.truncate("Hello World", 8) == "Hello..."
    assert Format.truncate_words("Hello World", 8) == "Hello..."
    assert Format.wrap("Long text...", 80) == "Long text..."
    assert Format.pad("hello", 10, align="center") == "  hello   "


def test_wrap_wraps_long_text() -> None:
    text = "word " * 30
    wrapped = Format.wrap(text, 80)
    assert all(len(line) <= 80 for line in wrapped.split("\n"))
    assert len(wrapped.split("\n")) == 2


def test_escaping_example() -> None:
    assert Format.escape("Hello\nWorld") == "Hello\\nWorld"
    assert Format.unescape("Hello\\nWorld") == "Hello\nWorld"
    assert Format.escape_html("<div>") == "&lt;div&gt;"
    assert Format.unescape_html("&lt;div&gt;") == "<div>"
    assert Format.escape_regex("foo.*bar") == "foo\\.\\*bar"
    assert Format.sanitize("text\x00here") == "texthere"
    assert Format.remove_ansi("\x1b[31mred\x1b[0m") == "red"
