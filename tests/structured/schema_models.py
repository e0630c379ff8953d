"""Pydantic models with constraints, strategies for their valid JSON documents, and mutations
that make documents invalid in the ways models get them wrong."""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import strategies as st
from pydantic import BaseModel, Field


class Address(BaseModel):
    street: str = Field(min_length=1)
    city: str
    zip: str | None = None


class User(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    age: int = Field(ge=0, le=150)
    score: float
    active: bool
    role: Literal["admin", "user"]
    tags: list[str] = Field(default_factory=list, max_length=3)
    address: Address


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Inventory(BaseModel):
    warehouse: str
    counts: dict[str, int]
    items: list[Item] = Field(min_length=1)


MODELS: list[type[BaseModel]] = [User, Inventory, Address]

texts = st.text(max_size=8)
finite = st.floats(allow_nan=False, allow_infinity=False)

_address_docs = st.fixed_dictionaries(
    {"street": st.text(min_size=1, max_size=8), "city": texts},
    optional={"zip": st.none() | texts},
)
_DOCUMENTS: dict[type[BaseModel], st.SearchStrategy[dict[str, Any]]] = {
    Address: _address_docs,
    User: st.fixed_dictionaries(
        {
            "name": st.text(min_size=1, max_size=20),
            "age": st.integers(0, 150),
            "score": finite | st.integers(-1000, 1000),
            "active": st.booleans(),
            "role": st.sampled_from(["admin", "user"]),
            "address": _address_docs,
        },
        optional={"tags": st.lists(texts, max_size=3)},
    ),
    Inventory: st.fixed_dictionaries(
        {
            "warehouse": texts,
            "counts": st.dictionaries(texts, st.integers(), max_size=3),
            "items": st.lists(
                st.fixed_dictionaries({"sku": texts, "quantity": st.integers(1, 10**6)}),
                min_size=1,
                max_size=3,
            ),
        }
    ),
}


def valid_documents(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    return _DOCUMENTS[model]


# Values of every JSON type. Integral floats (3.0) are left out: Pydantic's strict mode
# refuses them for an int where JSON Schema accepts them (a documented difference).
wrong_values = (
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | finite.filter(lambda number: not number.is_integer())
    | texts
    | st.sampled_from(["admin", "user", ""])
    | st.lists(st.integers() | texts, max_size=2)
    | st.dictionaries(texts, st.integers(), max_size=2)
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """`document` with one to three values replaced or removed (anywhere below the root)."""
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(wrong_values)
    return document
