"""Hypothesis strategies for JSON documents, and a serializer that injects the faults models
make (trailing commas, single quotes, comments, missing closers, fences, prose), recording
which ones it actually injected."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from l0.jsonkit import CorrectionType

C = CorrectionType


def _no_fence(text: str) -> bool:
    # A fence marker inside a JSON string would be taken for the end of the fence.
    return "```" not in text and "~~~" not in text


texts = st.text(max_size=12).filter(_no_fence)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=16,
)
# What a model is asked for: an object or an array at the top.
json_documents = st.lists(json_values, max_size=5) | st.dictionaries(texts, json_values, max_size=5)


class Address(BaseModel):
    street: str
    city: str
    zip: str | None = None


class UserProfile(BaseModel):
    name: str
    age: int
    email: str
    tags: list[str] = []
    address: Address | None = None
    active: bool = True


class LineItem(BaseModel):
    sku: str
    quantity: int
    price: float


class Order(BaseModel):
    id: int
    items: list[LineItem]
    notes: dict[str, str] = {}


finite = st.floats(allow_nan=False, allow_infinity=False)
addresses = st.builds(Address, street=texts, city=texts, zip=st.none() | texts)
users = st.builds(
    UserProfile,
    name=texts,
    age=st.integers(0, 130),
    email=texts,
    tags=st.lists(texts, max_size=4),
    address=st.none() | addresses,
    active=st.booleans(),
)
orders = st.builds(
    Order,
    id=st.integers(),
    items=st.lists(st.builds(LineItem, sku=texts, quantity=st.integers(), price=finite)),
    notes=st.dictionaries(texts, texts, max_size=3),
)
model_instances: st.SearchStrategy[BaseModel] = users | orders
model_documents = model_instances.map(lambda model: model.model_dump(mode="json"))


@dataclass(frozen=True)
class Faults:
    trailing_commas: bool = False
    single_quotes: bool = False
    comments: bool = False
    cut: int = 0  # closing brackets/braces removed from the end
    fence: str | None = None  # the fence's language label ("" for none)
    prose_before: bool = False
    prose_after: bool = False


fault_plans = st.builds(
    Faults,
    trailing_commas=st.booleans(),
    single_quotes=st.booleans(),
    comments=st.booleans(),
    cut=st.integers(0, 3),
    fence=st.none() | st.sampled_from(["json", ""]),
    prose_before=st.booleans(),
    prose_after=st.booleans(),
)

_COMMENTS = ("/* note */", "// note\n", "# note\n")
_BEFORE = ("Here is the JSON you asked for:", "Sure! Here's the result.")
_AFTER = ("Let me know if you need anything else.", "Hope this helps (it's valid).")


@dataclass
class Damaged:
    text: str
    corrections: set[CorrectionType] = field(default_factory=set)
    truncated: bool = False


class _Writer:
    def __init__(self, faults: Faults, rng: random.Random) -> None:
        self.faults = faults
        self.rng = rng
        self.applied: set[CorrectionType] = set()

    def string(self, text: str) -> str:
        quoted = json.dumps(text, ensure_ascii=False)
        if self.faults.single_quotes and self.rng.random() < 0.5:
            self.applied.add(C.SINGLE_QUOTES_REPLACED)
            return "'" + quoted[1:-1].replace("'", "\\'") + "'"
        return quoted

    def tokens(self, value: Any) -> list[str]:
        if isinstance(value, dict):
            members = [[self.string(k), ":", *self.tokens(v)] for k, v in value.items()]
            return self.container("{", members, "}")
        if isinstance(value, list):
            return self.container("[", [self.tokens(item) for item in value], "]")
        if isinstance(value, str):
            return [self.string(value)]
        return [json.dumps(value)]

    def container(self, opener: str, members: list[list[str]], closer: str) -> list[str]:
        out = [opener]
        for index, member in enumerate(members):
            if index:
                out.append(",")
            out.extend(member)
        if members and self.faults.trailing_commas and self.rng.random() < 0.5:
            self.applied.add(C.TRAILING_COMMA_REMOVED)
            out.append(",")
        out.append(closer)
        return out


def damage(document: Any, faults: Faults, rng: random.Random) -> Damaged:
    """`document` serialized with `faults` injected; `corrections` are the ones injected."""
    writer = _Writer(faults, rng)
    tokens = writer.tokens(document)
    cut = 0
    while cut < faults.cut and tokens and tokens[-1] in ("}", "]"):
        closer = tokens.pop()
        writer.applied.add(C.MISSING_BRACE_ADDED if closer == "}" else C.MISSING_BRACKET_ADDED)
        cut += 1
    if faults.comments:
        for index in range(len(tokens), 0, -1):
            if rng.random() < 0.2:
                tokens.insert(index, rng.choice(_COMMENTS))
                writer.applied.add(C.COMMENT_REMOVED)
    text = "".join(token + rng.choice(("", " ", "\n")) for token in tokens)
    if faults.fence is not None:
        writer.applied.add(C.MARKDOWN_FENCE_REMOVED)
        text = f"```{faults.fence}\n{text}\n```"
    # Prose after a cut-off document without a fence would read as more of the document.
    prose_after = faults.prose_after and (cut == 0 or faults.fence is not None)
    if faults.prose_before:
        text = rng.choice(_BEFORE) + "\n" + text
    if prose_after:
        text = text + "\n" + rng.choice(_AFTER)
    if faults.prose_before or prose_after:
        writer.applied.add(C.SURROUNDING_TEXT_REMOVED)
    return Damaged(text, writer.applied, truncated=cut > 0)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: 1, 1.0 and True differ."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
