"""The Chinese detail texts of shared/i18n.py's catalogue match what the code really says (issue 14).

A catalogue entry's `en` is the English detail a service raises, with `{placeholders}`; the Chinese
detail is used only when the English matches it. If a service's wording drifts, the Chinese caller
silently gets the English detail again, so these tests read the details raised in services/ and
shared/ (the first argument of every call with `code="…"`, f-strings with their values as `X`) and
require each entry's `en` to match at least one of them, and each template to fill.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from shared.errors import Problem
from shared.i18n import CATALOGUE, _as_tuple, _compiled, localize

ROOT = Path(__file__).resolve().parents[2]


def _sample(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "X" for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "…: " + "; ".join(…)
        left = _sample(node.left)
        return None if left is None else left + "X"
    return None


def _raised_details() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for root in ("services", "shared"):
        for path in (ROOT / root).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                keywords = {k.arg: k.value for k in node.keywords}
                code = keywords.get("code")
                if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                    continue
                detail = node.args[0] if node.args else keywords.get("detail")
                text = _sample(detail) if detail is not None else None
                if text is not None:
                    found.setdefault(code.value, []).append(text)
    return found


RAISED = _raised_details()
WITH_EN = sorted(code for code, entry in CATALOGUE.items() if entry.detail is not None and entry.en is not None)


def test_most_codes_have_a_chinese_detail() -> None:
    """The codes raised with an English detail mostly have a Chinese one (title-only entries are the exception:
    where the title says all, or the English varies too much for one template)."""
    raised = [code for code in RAISED if code in CATALOGUE]
    detailed = [code for code in raised if CATALOGUE[code].detail is not None]
    assert len(detailed) >= 0.7 * len(raised), sorted(set(raised) - set(detailed))


@pytest.mark.parametrize("code", WITH_EN)
def test_the_english_pattern_is_what_the_code_raises(code: str) -> None:
    entry = CATALOGUE[code]
    raised = RAISED.get(code, [])
    if not raised:
        pytest.skip(f"{code}: raised without a literal detail here (kernel handlers, pydantic)")
    patterns = [_compiled(p) for p in _as_tuple(entry.en)]
    assert any(p.match(text) for p in patterns for text in raised), (
        f"{code}: no raised detail matches {entry.en!r}; the code says {raised!r}"
    )


@pytest.mark.parametrize("code", WITH_EN)
def test_the_chinese_detail_fills_from_the_english(code: str) -> None:
    entry = CATALOGUE[code]
    for pattern in _as_tuple(entry.en):
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name]
        english = pattern.format(**{name: f"v{i}" for i, name in enumerate(names)})
        zh = localize(Problem(title="t", status=409, code=code, detail=english), "zh")
        assert zh.detail != english, f"{code}: the Chinese detail was not used for {english!r}"
        assert "{" not in (zh.detail or ""), zh.detail
        wanted = {n for _, n, _, _ in string.Formatter().parse(entry.detail or "") if n}
        for i, name in enumerate(names):
            if name in wanted:
                assert f"v{i}" in (zh.detail or ""), (code, name, zh.detail)


def test_role_not_allowed_and_header_too_large_in_chinese() -> None:
    forbidden = Problem(
        title="Not allowed",
        status=403,
        code="role_not_allowed",
        detail="this action needs one of the roles: county_officer, service",
    )
    assert localize(forbidden, "zh").detail == "此操作需要以下角色之一：county_officer, service"
    header = Problem(
        title="Request header fields too large",
        status=431,
        code="header_too_large",
        detail="the request line and headers may have at most 65536 bytes",
    )
    assert localize(header, "zh").detail == "请求行和请求头最多 65536 字节"
