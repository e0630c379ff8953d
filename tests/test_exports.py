"""The public names: every name of the reference's Direct Imports list is exported, and the
lazy export table agrees with what type checkers see."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import l0

HERE = Path(__file__).resolve().parent
REFERENCE = [
    line.strip()
    for line in (HERE / "reference_exports.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def test_every_reference_name_is_in_all_and_importable() -> None:
    """`from l0 import X` works for each X of the reference's list (extra names allowed)."""
    missing = [name for name in REFERENCE if name not in l0.__all__]
    assert missing == []
    for name in REFERENCE:
        assert getattr(l0, name) is not None, name


def test_every_name_in_all_resolves() -> None:
    """Nothing in __all__ is a dangling promise."""
    assert [name for name in l0.__all__ if not hasattr(l0, name)] == []


def test_the_reference_module_paths_work() -> None:
    """l0.errors, l0.types, l0._utils, l0.pipeline and l0.guardrails, with the names shown."""
    from l0._utils import auto_correct_json, extract_json_from_markdown
    from l0.errors import categorize_error
    from l0.guardrails import Guardrails
    from l0.pipeline import FAST_PIPELINE, PRODUCTION_PIPELINE, RELIABLE_PIPELINE
    from l0.types import ErrorCategory, State

    assert callable(auto_correct_json) and callable(extract_json_from_markdown)
    assert callable(categorize_error) and Guardrails is l0.Guardrails
    assert FAST_PIPELINE and RELIABLE_PIPELINE and PRODUCTION_PIPELINE
    assert ErrorCategory is l0.ErrorCategory and State is l0.State


def test_lazy_table_matches_the_type_checking_imports() -> None:
    """Each lazily exported name is imported under TYPE_CHECKING from the same module."""
    tree = ast.parse((Path(l0.__file__)).read_text())
    seen: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                if statement.module == "typing":  # annotations of the module itself
                    continue
                for alias in statement.names:
                    seen[alias.name] = statement.module or ""
    lazy = l0._LAZY
    assert seen.keys() == lazy.keys()
    for name, module in lazy.items():
        assert getattr(importlib.import_module(module), name) is getattr(l0, name), name


def test_importing_l0_loads_no_provider_or_heavy_package() -> None:
    """`import l0` pulls in neither provider SDKs nor pydantic."""
    code = (
        "import sys, l0; "
        "print(','.join(m for m in ('openai', 'litellm', 'pydantic', 'httpx', 'aiohttp') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
