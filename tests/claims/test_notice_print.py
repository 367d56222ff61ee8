"""The printed notice (公示) as HTML and PDF (issue 14, acceptance 1).

The PDF is read back with pdftotext/pdfinfo (poppler-utils) and its embedded font with fontTools:
every character pdftotext extracts must map (ToUnicode) to a glyph the embedded CFF subset
really has. Names follow the county's policy (default 张*国), IDs stay masked; 20 rows fit one A4
page, the 21st continues on a second page under the same header.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.pens.boundsPen import BoundsPen

from services.claims.config import NoticeCounty
from services.claims.domain.notice import ROWS_PER_PAGE, NoticeDocument, NoticeLine, mask_notice_name
from services.claims.service.notice_print import CSS_FONT_STACK, render_html, render_pdf
from tests.claims.conftest import COUNTY, VILLAGE, FakeRegistry, create_reference_scheme
from tests.claims.test_notices import assessed_claim, publish
from tests.conftest import AppHarness

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils (pdftotext, pdfinfo) is not installed: apt-get install -y poppler-utils",
)


def pdf_text(pdf: bytes, tmp_path: Path, *, first: int | None = None, last: int | None = None) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *pages, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert match, info
    return int(match.group(1))


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream or None)."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for match in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, re.DOTALL):
        body = match.group(2)
        stream = None
        head = body
        streamed = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.DOTALL)
        if streamed:
            head = body[: streamed.start()]
            stream = streamed.group(1)
            if b"/FlateDecode" in head:
                stream = zlib.decompress(stream)
        found[int(match.group(1))] = (head, stream)
    return found


def embedded_coverage(pdf: bytes) -> tuple[set[str], int]:
    """(the characters the embedded font has a real glyph for, number of embedded fonts)."""
    objects = _objects(pdf)
    covered: set[str] = set()
    fonts = 0
    for head, _ in objects.values():
        if b"/Subtype /Type0" not in head:
            continue
        to_unicode = int(re.search(rb"/ToUnicode (\d+) 0 R", head).group(1))  # type: ignore[union-attr]
        descendant = int(re.search(rb"/DescendantFonts \[\s*(\d+) 0 R", head).group(1))  # type: ignore[union-attr]
        descriptor = int(re.search(rb"/FontDescriptor (\d+) 0 R", objects[descendant][0]).group(1))  # type: ignore[union-attr]
        file_ref = re.search(rb"/FontFile[23]? (\d+) 0 R", objects[descriptor][0])
        assert file_ref, "the font is not embedded"
        cff_data = objects[int(file_ref.group(1))][1]
        assert cff_data
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(cff_data), otFont=None)
        top = cff[cff.fontNames[0]]
        charstrings = top.CharStrings
        glyph_names = list(top.charset)
        fonts += 1
        # content code → CID (the /Encoding CMap), code → Unicode (ToUnicode), CID → the glyph in the CFF
        encoding = int(re.search(rb"/Encoding (\d+) 0 R", head).group(1))  # type: ignore[union-attr]
        cids = {
            int(code, 16): int(cid)
            for code, cid in re.findall(rb"<([0-9A-Fa-f]{4})>\s+(\d+)\s", objects[encoding][1] or b"")
        }
        cmap = objects[to_unicode][1] or b""
        for code_hex, uni_hex in re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4,8})>", cmap):
            char = bytes.fromhex(uni_hex.decode()).decode("utf-16-be")
            cid = cids.get(int(code_hex, 16))
            if cid is None or f"cid{cid:05d}" not in glyph_names:
                continue
            pen = BoundsPen(None)
            charstrings[f"cid{cid:05d}"].draw(pen)  # runs the subroutines too
            if char.isspace() or pen.bounds is not None:  # a real outline, not an empty glyph
                covered.add(char)
    return covered, fonts


def document(rows: int, *, policy: str = "first_last") -> NoticeDocument:
    names = ["张三国", "李四", "欧阳小明", "王五"]
    return NoticeDocument(
        notice_id="0d9e3c1a-0000-4000-8000-000000000001",
        county_code="410602",
        county_name="鹤山区",
        township_code="410602100",
        township_name="鹤壁集镇",
        village_code="410602100201",
        village_name="鹤壁集村",
        published_on=date(2026, 4, 1),
        last_day=date(2026, 4, 10),
        notice_days=10,
        issuing_office="鹤山区防贫保险工作领导小组办公室",
        complaint_phone="0392-2612345",
        objection_place="村民委员会或乡镇人民政府",
        cover_lines=("保险方案：reference-2026 第 1 版",),
        lines=tuple(
            NoticeLine(
                number=i,
                household_head=mask_notice_name(names[i % 4], policy) or "",  # type: ignore[arg-type]
                person="—",
                national_id="410602********1234",
                category="因病",
                payout="16,000.00",
            )
            for i in range(1, rows + 1)
        ),
    )


# ---------------------------------------------------------------- the name policy


def test_name_policy_first_and_last_character_by_default() -> None:
    assert mask_notice_name("张三国") == "张*国"
    assert mask_notice_name("欧阳小明") == "欧**明"
    assert mask_notice_name("李四") == "李*"
    assert mask_notice_name("张") == "张"
    assert mask_notice_name(None) is None
    assert mask_notice_name("张三国", "surname") == "张**"
    assert mask_notice_name("李四", "surname") == "李*"


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize(("rows", "pages"), [(1, 1), (ROWS_PER_PAGE, 1), (ROWS_PER_PAGE + 1, 2), (41, 3)])
def test_twenty_rows_to_an_a4_page_then_continued(rows: int, pages: int, tmp_path: Path) -> None:
    pdf = render_pdf(document(rows))
    assert pdf_pages(pdf, tmp_path) == pages
    size = subprocess.run(["pdfinfo", str(tmp_path / "pages.pdf")], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in size
    if pages > 1:
        second = pdf_text(pdf, tmp_path, first=2, last=2)
        assert "防贫保险理赔公示（续）" in second  # the header is repeated
        assert "公示村：鹤山区鹤壁集镇鹤壁集村" in second
        assert "拟赔付金额（元）" in second
        assert f"第2页/共{pages}页" in re.sub(r"\s", "", second)
        first = pdf_text(pdf, tmp_path, first=1, last=1)
        assert first.count("410602********1234") == ROWS_PER_PAGE
        assert pdf_text(pdf, tmp_path).count("410602********1234") == rows
        assert "异议方式" not in first  # the closing (objections, seal) is on the last page only
        assert "异议方式" in pdf_text(pdf, tmp_path, first=pages, last=pages)


def test_html_pages_and_font_stack() -> None:
    page = render_html(document(ROWS_PER_PAGE + 1), font_url="../../../fonts/NotoSansSC-Regular.otf")
    assert page.count("<section class=page>") == 2
    assert "防贫保险理赔公示（续）" in page
    assert page.count("<thead>") == 2
    assert '"Noto Sans SC"' in CSS_FONT_STACK
    assert f"font-family: {CSS_FONT_STACK}" in page
    assert 'src: url("data:font/otf;base64,' in page
    assert "../../../fonts/NotoSansSC-Regular.otf" in page
    assert "Songti SC" not in page


# ---------------------------------------------------------------- over HTTP, the demo village


async def test_demo_village_notice_pdf(claims_client: httpx.AsyncClient, setup: FakeRegistry, tmp_path: Path) -> None:
    await assessed_claim(claims_client, setup)
    await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    response = await claims_client.get(f"/v1/notices/{notice['id']}/print.pdf", headers=VILLAGE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "防贫保险理赔公示",
        "公示村：鹤山区鹤壁集镇鹤壁集村（410602100201）",
        "公示期：2026-04-01 至 2026-04-10（10 天）",
        "序号",
        "户主",
        "当事人",
        "身份证号",
        "拟赔付金额（元）",
        "张*丰",  # 张三丰, first and last character shown (the default policy)
        "410602********1234",
        "因病",
        "16,000.00",
        "异议方式",
        "村民委员会或乡镇人民政府",
        "投诉电话：12345",
        "出具单位：鹤山区防贫保险工作领导小组办公室",
        "盖章处",
        "2026 年 4 月 1 日",
        "保险方案：reference-2026",
    ):
        assert expected in text, expected
    assert "张三丰" not in text
    assert "张**" not in text
    assert pdf_pages(pdf, tmp_path) == 1
    covered, fonts = embedded_coverage(pdf)
    assert fonts == 1
    used = {c for c in text if not c.isspace()}
    missing = sorted(used - covered)
    assert not missing, f"characters without a glyph in the embedded font: {missing}"
    # the HTML of the same notice names the same things and carries the font
    page = await claims_client.get(f"/v1/notices/{notice['id']}/print", headers=VILLAGE)
    assert page.status_code == 200
    for expected in ("鹤山区鹤壁集镇鹤壁集村", "张*丰", "出具单位：鹤山区防贫保险工作领导小组办公室", "盖章处"):
        assert expected in page.text
    font = await claims_client.get("/fonts/NotoSansSC-Regular.otf")
    assert font.status_code == 200
    assert font.content[:4] == b"OTTO"


async def test_county_settings_name_the_office_phone_and_policy(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, app_harness: AppHarness, tmp_path: Path
) -> None:
    app = await app_harness.get("claims")
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={
            "notice_counties": {
                "410602": NoticeCounty(
                    issuing_office="鹤山区乡村振兴局", complaint_phone="0392-2612345", name_policy="surname"
                )
            }
        }
    )
    try:
        await assessed_claim(claims_client, setup)
        notice = await publish(claims_client)
        assert notice["entries"][0]["household_head"] == "张**"
        pdf = (await claims_client.get(f"/v1/notices/{notice['id']}/print.pdf", headers=COUNTY)).content
        text = pdf_text(pdf, tmp_path)
        assert "出具单位：鹤山区乡村振兴局" in text
        assert "投诉电话：0392-2612345" in text
        assert "张**" in text
        assert "张*丰" not in text
    finally:
        app.state.settings = original


async def test_registry_down_prints_codes(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, tmp_path: Path
) -> None:
    await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    setup.down = True
    response = await claims_client.get(f"/v1/notices/{notice['id']}/print.pdf", headers=VILLAGE)
    assert response.status_code == 200
    assert "公示村：410602100201（410602100201）" in pdf_text(response.content, tmp_path)


async def test_pdf_out_of_region_is_404(claims_client: httpx.AsyncClient, setup: FakeRegistry) -> None:
    from tests.claims.conftest import OTHER_VILLAGE, auth

    await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    response = await claims_client.get(
        f"/v1/notices/{notice['id']}/print.pdf", headers=auth("village_cadre", OTHER_VILLAGE)
    )
    assert response.status_code == 404


@pytest.fixture
async def setup(claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any) -> FakeRegistry:
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    return registry
