"""The printed public notice (公示): one NoticeDocument rendered as HTML and as an A4 PDF.

Both use Noto Sans SC from the `pylopdf-fonts-zh-cn` wheel (SIL OFL), so Chinese never prints as
boxes on a machine without Chinese fonts: the PDF embeds the subset of glyphs it uses (fpdf2
subsets through fontTools); the HTML carries the same subset as a data URL in its @font-face and
names the full font, served by the service at `/fonts/`, as the next source, then the usual
Chinese system fonts. Up to ROWS_PER_PAGE rows on a page; more continue on the next page under
the same header (title with 续, village, window, page i / n, table header).
"""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF

from services.claims.domain.notice import NoticeDocument, NoticeLine

FONT_FILE = "NotoSansSC-Regular.otf"
FONT_FAMILY = "Noto Sans SC"
FONTS_PATH = "/fonts"  # where the service serves the font (services/claims/app.py)
CSS_FONT_STACK = (
    f'"Fangpin Notice", "{FONT_FAMILY}", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", '
    '"PingFang SC", "SimSun", sans-serif'
)
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("序号", 12, "C"),
    ("户主", 26, "C"),
    ("当事人", 26, "C"),
    ("身份证号", 46, "C"),
    ("理赔类别", 32, "C"),
    ("拟赔付金额（元）", 38, "R"),
)
ROW_HEIGHT = 7.0
logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetter logs every glyph at INFO


def font_directory() -> Path:
    return pylopdf_fonts_zh_cn.sans_path().parent


def font_path() -> Path:
    return pylopdf_fonts_zh_cn.sans_path()


def _cells(line: NoticeLine) -> tuple[str, ...]:
    return (str(line.number), line.household_head, line.person, line.national_id, line.category, line.payout)


def _header_text(doc: NoticeDocument, page: int, pages: int) -> tuple[str, str, str]:
    title = doc.title if page == 1 else f"{doc.title}（续）"
    return title, f"公示村：{doc.place}（{doc.village_code}）", f"公示期：{doc.window}　第 {page} 页 / 共 {pages} 页"


# ------------------------------------------------------------------ PDF


def render_pdf(doc: NoticeDocument) -> bytes:
    """The notice as an A4 PDF with the glyphs it uses embedded."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(15, 15, 15)
    pdf.add_font(FONT_FAMILY, "", str(font_path()))
    pdf.set_title(f"{doc.title} {doc.place}")
    pdf.set_creator("Fangpin claims")
    pages = doc.pages()
    for number, rows in enumerate(pages, start=1):
        pdf.add_page()
        title, place, window = _header_text(doc, number, len(pages))
        pdf.set_font(FONT_FAMILY, size=18)
        pdf.cell(0, 11, title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, size=10.5)
        pdf.cell(0, 6.5, place, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6.5, window, new_x="LMARGIN", new_y="NEXT")
        if number == 1:
            pdf.set_font(FONT_FAMILY, size=8.5)
            for cover in doc.cover_lines:
                pdf.multi_cell(0, 4.5, cover, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font(FONT_FAMILY, size=10)
        pdf.set_fill_color(235, 235, 235)
        for label, width, _ in COLUMNS:
            pdf.cell(width, ROW_HEIGHT + 1, label, border=1, align="C", fill=True)
        pdf.ln(ROW_HEIGHT + 1)
        for line in rows:
            for value, (_, width, align) in zip(_cells(line), COLUMNS, strict=True):
                pdf.cell(width, ROW_HEIGHT, value, border=1, align=align)
            pdf.ln(ROW_HEIGHT)
        if not rows:
            pdf.cell(sum(c[1] for c in COLUMNS), ROW_HEIGHT, "（本村本期无公示事项）", border=1, align="C")
            pdf.ln(ROW_HEIGHT)
        if number == len(pages):
            _pdf_closing(pdf, doc)
        pdf.set_font(FONT_FAMILY, size=8)
        pdf.set_xy(15, 285)
        pdf.cell(0, 4, f"公示编号 {doc.notice_id}　第 {number} 页 / 共 {len(pages)} 页", align="C")
    return bytes(pdf.output())


def _pdf_closing(pdf: FPDF, doc: NoticeDocument) -> None:
    """How to object, the issuing office and phone, and the seal area (last page)."""
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.multi_cell(0, 5.5, f"异议方式：{doc.how_to_object}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(0, 6, f"投诉电话：{doc.complaint_phone}", new_x="LMARGIN", new_y="NEXT")
    top = max(pdf.get_y() + 4, 215.0)
    # the seal area (盖章处): a dashed circle the office stamps, its name and the date beside it
    pdf.set_draw_color(150, 150, 150)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    pdf.circle(x=170, y=top + 22, radius=19)
    pdf.set_dash_pattern()
    pdf.set_draw_color(0, 0, 0)
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.set_xy(151, top + 19)
    pdf.cell(38, 6, "（盖章处）", align="C")
    pdf.set_font(FONT_FAMILY, size=10.5)
    pdf.set_xy(60, top + 14)
    pdf.cell(88, 6, f"出具单位：{doc.issuing_office}", align="R")
    pdf.set_xy(60, top + 22)
    day = doc.published_on
    pdf.cell(88, 6, f"{day.year} 年 {day.month} 月 {day.day} 日", align="R")


# ------------------------------------------------------------------ HTML


def _font_subset_data_url(text: str) -> str:
    """The glyphs `text` uses, as an OpenType font in a data: URL (a few KB instead of 8 MB)."""
    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    options.name_IDs = ["*"]
    font = TTFont(str(font_path()), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + "0123456789-—（）：／/续页共第盖章处")
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return "data:font/otf;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def render_html(doc: NoticeDocument, *, font_url: str | None = None) -> str:
    """The notice as a printable HTML page (pages of ROWS_PER_PAGE rows, the header repeated)."""
    e = html.escape
    pages = doc.pages()
    sections = []
    for number, rows in enumerate(pages, start=1):
        title, place, window = _header_text(doc, number, len(pages))
        body = (
            "\n".join(
                "<tr>"
                + "".join(f"<td class={a}>{e(v)}</td>" for v, (_, _, a) in zip(_cells(r), COLUMNS, strict=True))
                + "</tr>"
                for r in rows
            )
            or "<tr><td colspan=6 class=C>（本村本期无公示事项）</td></tr>"
        )
        covers = "".join(f"<p class=cover>{e(c)}</p>" for c in doc.cover_lines) if number == 1 else ""
        closing = ""
        if number == len(pages):
            closing = f"""<p class=object>异议方式：{e(doc.how_to_object)}</p>
<p>投诉电话：{e(doc.complaint_phone)}</p>
<div class=sign><div class=office>出具单位：{e(doc.issuing_office)}<br>
{doc.published_on.year} 年 {doc.published_on.month} 月 {doc.published_on.day} 日</div>
<div class=seal>（盖章处）</div></div>"""
        head = "".join(f"<th>{e(label)}</th>" for label, _, _ in COLUMNS)
        sections.append(f"""<section class=page>
<h1>{e(title)}</h1>
<p>{e(place)}</p>
<p>{e(window)}</p>
{covers}
<table><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
{closing}
<p class=foot>公示编号 {e(doc.notice_id)}　第 {number} 页 / 共 {len(pages)} 页</p>
</section>""")
    sources = [f'url("{_font_subset_data_url(doc.text())}") format("opentype")']
    if font_url:
        sources.append(f'url("{e(font_url)}") format("opentype")')
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{e(doc.title)} {e(doc.place)}</title>
<style>
 @font-face {{ font-family: "Fangpin Notice"; src: {", ".join(sources)}; }}
 @page {{ size: A4; margin: 15mm; }}
 body {{ font-family: {CSS_FONT_STACK}; margin: 2em; }}
 h1 {{ text-align: center; font-size: 1.6em; margin: .2em 0; }}
 table {{ border-collapse: collapse; width: 100%; }}
 thead {{ display: table-header-group; }}
 th, td {{ border: 1px solid #000; padding: .3em .5em; }}
 th {{ background: #eee; }}
 td.C {{ text-align: center; }} td.R {{ text-align: right; }}
 .cover {{ font-size: .85em; margin: .1em 0; }}
 .sign {{ display: flex; justify-content: flex-end; align-items: center; gap: 1.5em; margin-top: 1.5em; }}
 .office {{ text-align: right; }}
 .seal {{ width: 38mm; height: 38mm; border: 1px dashed #999; border-radius: 50%;
          display: flex; align-items: center; justify-content: center; color: #999; }}
 .foot {{ text-align: center; font-size: .8em; color: #444; }}
 section.page {{ page-break-after: always; break-after: page; }}
 section.page:last-child {{ page-break-after: auto; break-after: auto; }}
 @media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
{"".join(sections)}
</body></html>
"""
