"""Issue 15: `check_tree`'s pass without paths decides exactly as the walk that names them.

`_clean_tree` answers "would the rule pass this document?" without building a path string per
node; when it says no, the full walk runs and raises with the path. The two must agree on every
document: a clean one passed by the fast pass but refused by the walk would let a forbidden
character through. Hypothesis builds JSON-like trees with hostile strings, long keys and deep
nesting; the suite runs it derandomized in CI (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from shared.contracts import types
from shared.contracts.types import MAX_DEPTH, MAX_KEY, MAX_STRING, check_tree

HOSTILE = ["ok", "a\tb", "a\nb", "a\x00b", "a\x7fb", "\x85", "a\ud800", "\u2028", "\ufffe", "名字", "x" * (MAX_KEY + 1)]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
keys = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6), st.integers(0, 3))
scalars = st.one_of(text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.tuples(children, children),
    ),
    max_leaves=30,
)


def _walk_passes(value: Any) -> bool:
    """The full walk's verdict (the path-naming one: called with a path, the fast pass is skipped)."""
    try:
        check_tree(value, path="(root)")
    except PydanticCustomError:
        return False
    return True


@given(trees)
def test_the_fast_pass_agrees_with_the_walk(value: Any) -> None:
    walked = _walk_passes(value)
    if isinstance(value, dict | list | tuple):
        assert types._clean_tree(value, 0) == walked
    assert _walk_passes(value) == walked  # check_tree itself (fast pass first) gives the same verdict
    if not walked:
        with pytest.raises(PydanticCustomError):
            check_tree(value)


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("document", "passes"),
    [
        ({"a": "x" * MAX_STRING}, True),
        ({"a": "x" * (MAX_STRING + 1)}, False),
        ({"k" * MAX_KEY: 1}, True),
        ({"k" * (MAX_KEY + 1): 1}, False),
        ({"a\tb": 1}, False),  # keys are single-line
        ({"a": "line one\nline two\tend"}, True),  # values are free text
        ([{"a": ["x", {"b": "\x00"}]}], False),
        (_nested(MAX_DEPTH), True),
        (_nested(MAX_DEPTH + 1), True),  # a string may sit one level below the deepest container
        ({"k": _nested(MAX_DEPTH)}, True),
        ([[[[0]]]] if MAX_DEPTH > 4 else [], True),
    ],
)
def test_the_limits_at_their_edges(document: Any, passes: bool) -> None:
    assert types._clean_tree(document, 0) is passes
    assert _walk_passes(document) is passes


def test_a_scalar_below_the_deepest_level_is_refused_by_both() -> None:
    value: Any = 7
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    assert types._clean_tree(value, 0) is False
    assert _walk_passes(value) is False
