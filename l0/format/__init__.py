"""`Format`: helpers that build prompt text and clean model output.

`Format` is a namespace: every helper is a static method, also importable as a function
from its topic module (context, memory, output, tools, strings). Content placed inside
delimiters is escaped by default so it cannot close its block early; see `l0.format.context`.
"""

from __future__ import annotations

from l0.format import (
    context as _context,
    memory as _memory,
    output as _output,
    strings as _strings,
    tools as _tools,
)
from l0.format.context import ContextItem, Delimiter
from l0.format.memory import MemoryEntry, MemoryOptions, MemoryStyle
from l0.format.output import OutputConstraints, OutputFormatOptions, StructuredFormat
from l0.format.tools import (
    FunctionCall,
    ParameterType,
    ToolDefinition,
    ToolFormatOptions,
    ToolParameter,
    ToolStyle,
)


class Format:
    """Prompt formatting helpers: context, memory, output, tools and strings."""

    # context
    context = staticmethod(_context.context)
    contexts = staticmethod(_context.contexts)
    document = staticmethod(_context.document)
    instructions = staticmethod(_context.instructions)

    # memory
    memory = staticmethod(_memory.memory)
    memory_entry = staticmethod(_memory.memory_entry)
    filter_memory = staticmethod(_memory.filter_memory)
    last_n_entries = staticmethod(_memory.last_n_entries)
    memory_size = staticmethod(_memory.memory_size)
    truncate_memory = staticmethod(_memory.truncate_memory)

    # output
    json_output = staticmethod(_output.json_output)
    structured_output = staticmethod(_output.structured_output)
    output_constraints = staticmethod(_output.output_constraints)
    clean_output = staticmethod(_output.clean_output)
    extract_json = staticmethod(_output.extract_json)
    validate_json = staticmethod(_output.validate_json)

    # tools
    create_tool = staticmethod(_tools.create_tool)
    parameter = staticmethod(_tools.parameter)
    tool = staticmethod(_tools.tool)
    tools = staticmethod(_tools.tools)
    parse_function_call = staticmethod(_tools.parse_function_call)

    # strings
    trim = staticmethod(_strings.trim)
    truncate = staticmethod(_strings.truncate)
    truncate_words = staticmethod(_strings.truncate_words)
    wrap = staticmethod(_strings.wrap)
    pad = staticmethod(_strings.pad)
    escape = staticmethod(_strings.escape)
    unescape = staticmethod(_strings.unescape)
    escape_html = staticmethod(_strings.escape_html)
    unescape_html = staticmethod(_strings.unescape_html)
    escape_regex = staticmethod(_strings.escape_regex)
    sanitize = staticmethod(_strings.sanitize)
    remove_ansi = staticmethod(_strings.remove_ansi)


__all__ = [
    "ContextItem",
    "Delimiter",
    "Format",
    "FunctionCall",
    "MemoryEntry",
    "MemoryOptions",
    "MemoryStyle",
    "OutputConstraints",
    "OutputFormatOptions",
    "ParameterType",
    "StructuredFormat",
    "ToolDefinition",
    "ToolFormatOptions",
    "ToolParameter",
    "ToolStyle",
]
