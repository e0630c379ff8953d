"""Tool definitions: build them, render them for a model, read a call back from its output.

A `ToolDefinition` is plain data rendered in one of four styles:

- ``json-schema``: ``{"name", "description", "parameters": <JSON Schema object>}``
- ``openai``: the OpenAI tools format, ``{"type": "function", "function": <json-schema>}``
- ``anthropic``: ``{"name", "description", "input_schema": <JSON Schema object>}``
- ``natural``: a short text description, for models prompted to call tools in prose.

`parse_function_call` understands a JSON object (``{"name": ..., "arguments": ...}``, with
``arguments`` as an object or a JSON string, also nested under ``function``/``function_call``
or in a ``tool_calls`` list) and a call written as code, ``search(query="cats", limit=5)``,
whose arguments must be literals (read with `ast.literal_eval`, never evaluated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from l0.format._options import invalid, merge_options, require_str
from l0.format.output import extract_json

if TYPE_CHECKING:
    import ast

    from typing_extensions import Unpack

ParameterType = Literal["string", "number", "integer", "boolean", "array", "object", "null"]
PARAMETER_TYPES: tuple[ParameterType, ...] = (
    "string",
    "number",
    "integer",
    "boolean",
    "array",
    "object",
    "null",
)
ToolStyle = Literal["json-schema", "openai", "anthropic", "natural"]
TOOL_STYLES: tuple[ToolStyle, ...] = ("json-schema", "openai", "anthropic", "natural")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # what the OpenAI and Anthropic APIs accept


@dataclass(frozen=True, slots=True)
class ToolParameter:
    """One parameter of a tool. `default=None` means "no default"."""

    name: str
    type: ParameterType
    description: str = ""
    required: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None
    items: Mapping[str, Any] | None = None  # JSON Schema of array items

    def schema(self) -> dict[str, Any]:
        """This parameter's JSON Schema."""
        schema: dict[str, Any] = {"type": self.type}
        if self.description:
            schema["description"] = self.description
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.items is not None:
            schema["items"] = dict(self.items)
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    name: str
    description: str
    parameters: tuple[ToolParameter, ...] = ()

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the tool's arguments (an object)."""
        return {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
        }


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A tool call found in model output."""

    name: str
    arguments: dict[str, Any]


class ToolFormatOptions(TypedDict, total=False):
    style: ToolStyle  # default "json-schema"


_TOOL_FORMAT_OPTIONS = frozenset(ToolFormatOptions.__optional_keys__)


def parameter(
    name: str,
    type: ParameterType,
    description: str = "",
    *,
    required: bool = False,
    default: Any = None,
    enum: Iterable[Any] | None = None,
    items: Mapping[str, Any] | None = None,
) -> ToolParameter:
    """A tool parameter of JSON Schema `type`."""
    require_str("Format.parameter", "name", name)
    if not name:
        raise invalid("Format.parameter: name must not be empty")
    if type not in PARAMETER_TYPES:
        raise invalid(
            f"Format.parameter: type of {name!r} must be one of {', '.join(PARAMETER_TYPES)}, "
            f"got {type!r}"
        )
    return ToolParameter(
        name, type, description, required, default, None if enum is None else tuple(enum), items
    )


def create_tool(
    name: str, description: str, parameters: Iterable[ToolParameter] = ()
) -> ToolDefinition:
    """A tool definition; `name` must be 1-64 letters, digits, '_' or '-'."""
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise invalid(
            f"Format.create_tool: tool name {name!r} must be 1-64 characters of letters, "
            "digits, '_' or '-'"
        )
    require_str("Format.create_tool", "description", description)
    params = tuple(parameters)
    names = [p.name for p in params]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise invalid(f"Format.create_tool: duplicate parameter(s) {duplicates} in {name!r}")
    return ToolDefinition(name, description, params)


def tool(
    definition: ToolDefinition,
    options: ToolFormatOptions | None = None,
    /,
    **overrides: Unpack[ToolFormatOptions],
) -> dict[str, Any] | str:
    """`definition` rendered in a style (a dict, or text for ``natural``)."""
    style = _style("Format.tool", options, overrides)
    _check_definition(definition)
    return _natural(definition) if style == "natural" else _as_dict(definition, style)


def tools(
    definitions: Iterable[ToolDefinition],
    options: ToolFormatOptions | None = None,
    /,
    **overrides: Unpack[ToolFormatOptions],
) -> list[dict[str, Any]] | str:
    """Several tools: a list of dicts, or for ``natural`` one text with a blank line between."""
    style = _style("Format.tools", options, overrides)
    checked = [_check_definition(d) for d in definitions]
    if style == "natural":
        return "\n\n".join(_natural(d) for d in checked)
    return [_as_dict(d, style) for d in checked]


def parse_function_call(
    output: str, *, tools: Iterable[ToolDefinition | str] | None = None
) -> FunctionCall | None:
    """The first tool call in `output`, or None. With `tools`, only calls to one of them."""
    known = None if tools is None else {t if isinstance(t, str) else t.name for t in tools}
    call = _call_from_json(output) or _call_from_code(output)
    if call is None or (known is not None and call.name not in known):
        return None
    return call


# -- rendering ----------------------------------------------------------------------------------


def _style(
    where: str, options: Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> ToolStyle:
    opts = merge_options(where, _TOOL_FORMAT_OPTIONS, options, overrides)
    style: ToolStyle = opts.get("style", "json-schema")
    if style not in TOOL_STYLES:
        raise invalid(f"{where}: style must be one of {', '.join(TOOL_STYLES)}, got {style!r}")
    return style


def _check_definition(definition: object) -> ToolDefinition:
    if not isinstance(definition, ToolDefinition):
        raise invalid(
            f"expected a ToolDefinition from Format.create_tool, got {type(definition).__name__}"
        )
    return definition


def _as_dict(definition: ToolDefinition, style: ToolStyle) -> dict[str, Any]:
    if style == "anthropic":
        return {
            "name": definition.name,
            "description": definition.description,
            "input_schema": definition.schema(),
        }
    function = {
        "name": definition.name,
        "description": definition.description,
        "parameters": definition.schema(),
    }
    return {"type": "function", "function": function} if style == "openai" else function


def _natural(definition: ToolDefinition) -> str:
    lines = [f"{definition.name}: {definition.description}"]
    if definition.parameters:
        lines.append("Parameters:")
    for p in definition.parameters:
        facts = [p.type, "required" if p.required else "optional"]
        if p.default is not None:
            facts.append(f"default: {json.dumps(p.default, default=str)}")
        if p.enum is not None:
            facts.append("one of: " + ", ".join(json.dumps(v, default=str) for v in p.enum))
        described = f": {p.description}" if p.description else ""
        lines.append(f"- {p.name} ({', '.join(facts)}){described}")
    return "\n".join(lines)


# -- parsing ------------------------------------------------------------------------------------

_ARGUMENT_KEYS = ("arguments", "args", "parameters", "input")
_NESTED_KEYS = ("function_call", "function", "tool_call")
# Code style: no space before the parenthesis, which keeps prose like "note (see above)" out.
_CALL_START = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")


def _call_from_json(output: str) -> FunctionCall | None:
    found = extract_json(output)
    return _call_from_object(json.loads(found)) if found is not None else None


def _call_from_object(obj: Any) -> FunctionCall | None:
    if not isinstance(obj, dict):
        return None
    calls = obj.get("tool_calls")
    if isinstance(calls, list) and calls:
        return _call_from_object(calls[0])
    for key in _NESTED_KEYS:
        if isinstance(obj.get(key), dict):
            return _call_from_object(obj[key])
    name = next((obj[k] for k in ("name", "tool", "function") if isinstance(obj.get(k), str)), None)
    if not name:
        return None
    arguments: Any = next((obj[k] for k in _ARGUMENT_KEYS if k in obj), {})
    if isinstance(arguments, str):  # OpenAI sends arguments as a JSON string
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    return FunctionCall(name, arguments) if isinstance(arguments, dict) else None


def _call_from_code(output: str) -> FunctionCall | None:
    import ast  # only needed for this form; keeps `import l0` light

    for match in _CALL_START.finditer(output):
        close = match.end()
        while (close := output.find(")", close)) != -1:
            try:
                tree = ast.parse(output[match.start() : close + 1], mode="eval")
            except SyntaxError:
                close += 1
                continue
            call = _literal_call(tree.body)
            if call is not None:
                return call
            break  # a complete expression, but not a call with literal arguments
    return None


def _literal_call(node: ast.expr) -> FunctionCall | None:
    import ast

    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    try:
        if node.args:
            # Only `name({...})`: a single dict of arguments.
            if len(node.args) != 1 or node.keywords:
                return None
            arguments = ast.literal_eval(node.args[0])
        else:
            arguments = {
                kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None
            }
            if len(arguments) != len(node.keywords):  # a **kwargs splat
                return None
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    return FunctionCall(node.func.id, arguments) if isinstance(arguments, dict) else None


__all__ = [
    "PARAMETER_TYPES",
    "TOOL_STYLES",
    "FunctionCall",
    "ParameterType",
    "ToolDefinition",
    "ToolFormatOptions",
    "ToolParameter",
    "ToolStyle",
    "create_tool",
    "parameter",
    "parse_function_call",
    "tool",
    "tools",
]
