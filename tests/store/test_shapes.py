"""store/shapes.py: statements built once per key, a bounded number kept."""

from __future__ import annotations

from opencases.store.search import Cond
from opencases.store.shapes import Shapes, frozen


def test_built_once_per_key_and_bounded() -> None:
    shapes = Shapes(size=3)
    built: list[str] = []

    def build(name: str) -> str:
        built.append(name)
        return name.upper()

    assert shapes.get("a", lambda: build("a")) == "A"
    assert shapes.get("a", lambda: build("again")) == "A"
    assert built == ["a"]
    for name in "bcd":
        shapes.get(name, lambda n=name: build(n))
    assert len(shapes) == 3
    # The oldest built ("a") made room for "d": asking again builds it again.
    assert shapes.get("a", lambda: build("a2")) == "A2"
    assert built == ["a", "b", "c", "d", "a2"]


def test_frozen_trees_are_keys_that_tell_values_apart() -> None:
    open_ = Cond("status", "s_value", "eq", "open")
    closed = Cond("status", "s_value", "eq", "closed")
    tree = ("and", [open_, ("not", ("or", [closed, ("tag", "k", "v")]))])
    key = frozen(tree)
    assert hash(key) == hash(frozen(("and", [open_, ("not", ("or", [closed, ("tag", "k", "v")]))])))
    assert key != frozen(("and", [closed, ("not", ("or", [open_, ("tag", "k", "v")]))]))
    assert key != frozen(("and", [open_, ("not", ("or", [closed, ("tag", "k", "w")]))]))
