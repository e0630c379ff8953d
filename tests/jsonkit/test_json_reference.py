"""The reference's JSON examples ("JSON Auto-Correction" and "Utility Functions"), verbatim."""

from __future__ import annotations

from l0._utils import auto_correct_json, extract_json_from_markdown


def test_auto_correction_section_examples() -> None:
    """Trailing commas, braces, brackets and whitespace, as in "JSON Auto-Correction"."""
    # Remove trailing commas
    assert auto_correct_json('{"a": 1,}') == '{"a": 1}'
    # Balance braces
    assert auto_correct_json('{"a": {"b": 1}') == '{"a": {"b": 1}}'
    # Balance brackets
    assert auto_correct_json("[1, 2, 3") == "[1, 2, 3]"
    # Strip whitespace
    assert auto_correct_json('  {"a": 1}  ') == '{"a": 1}'


def test_auto_correction_section_markdown_example_as_printed() -> None:
    """The example as the reference prints it, with the closing fence missing."""
    # Extract from markdown fences
    assert (
        extract_json_from_markdown("""
Here's the data:
```json
{"key": "value"}

""")
        == '{"key": "value"}'
    )


def test_auto_correction_section_markdown_example_with_closing_fence() -> None:
    """The same example with its closing fence, as a model would write it."""
    assert (
        extract_json_from_markdown("""
Here's the data:
```json
{"key": "value"}
```
""")
        == '{"key": "value"}'
    )


def test_utility_functions_section_examples() -> None:
    """The "JSON Utilities" block of "Utility Functions"."""
    # Fix common JSON errors
    fixed = auto_correct_json('{"a": 1,}')
    assert fixed == '{"a": 1}'
    fixed = auto_correct_json('{"a": {"b": 1}')
    assert fixed == '{"a": {"b": 1}}'
    fixed = auto_correct_json("[1, 2")
    assert fixed == "[1, 2]"

    # Extract JSON from markdown
    json_str = extract_json_from_markdown("""
```json
{"key": "value"}

""")
    assert json_str == '{"key": "value"}'
