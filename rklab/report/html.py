"""A self-contained HTML report from an executed notebook 04: offline, code hidden, plotly.js once.

This module only converts; executing notebook 04 and then exporting it is
:func:`rklab.orchestrate.publish.build_html_report`.

Why the care: the board is often offline and the boss opens the file from an e-mail, so the
page must not fetch anything. nbconvert's ``lab`` template loads require.js, MathJax and
mermaid from a CDN; :data:`REPORT_TEMPLATE` extends it with those blocks emptied. Plotly
figures are shown with :func:`show_figure`, which renders each one with
``include_plotlyjs=False``; :func:`plotlyjs_html` (displayed once, at the top of notebook 04)
carries the library itself. :func:`check_self_contained` enforces all of it on the result.
"""

from __future__ import annotations

import html as _html
import json
import os
import re
from pathlib import Path
from typing import Any

from rklab.display import FONT_STACK, TABLE_CSS
from rklab.errors import RklabError
from rklab.i18n import text

MAX_HTML_BYTES = 8 * 1024 * 1024
HTML_LANG = {"zh": "zh-CN", "en": "en"}

REPORT_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
  :root { --jp-content-font-family: @FONTS@; --jp-ui-font-family: @FONTS@; }
  body, body.jp-Notebook, .jp-RenderedHTMLCommon { font-family: @FONTS@; }
  body.jp-Notebook { max-width: 1240px; margin: 0 auto; padding: 1em 2em; overflow-x: hidden; }
  .jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { max-width: 100%; min-width: 0; }
  .jp-OutputArea-output pre { white-space: pre-wrap; word-break: break-word; }
  .jp-RenderedHTMLCommon h1 { font-size: 1.9em; margin-top: 0.4em; }
  .jp-RenderedHTMLCommon h2 { margin-top: 1.6em; border-bottom: 1px solid #e5e5e5; padding-bottom: 0.2em; }
  ul.rklab-answer { font-size: 15px; line-height: 1.6; }
  .rklab-warn { background: #fff4e5; border-left: 4px solid #f0a000; padding: 4px 10px; margin: 4px 0; }
  .rklab-ok { background: #eef8ee; border-left: 4px solid #3a3; padding: 4px 10px; margin: 4px 0; }
  .rklab-note { color: #555; font-size: 13px; }
  .rklab-empty { color: #555; font-size: 14px; background: #f6f6f6; border-left: 4px solid #bbb;
                 padding: 6px 10px; margin: 6px 0 1em 0; }
  .plotly-graph-div { max-width: 100%; }
@TABLE_CSS@
</style>
{%- endblock extra_css -%}
"""


def report_template() -> str:
    """:data:`REPORT_TEMPLATE` with rklab's font stack and table styles filled in."""
    return REPORT_TEMPLATE.replace("@FONTS@", FONT_STACK).replace("@TABLE_CSS@", TABLE_CSS)


# A reference to the network in a tag that the browser loads by itself (not <a href>).
_NETWORK_RE = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
_IMPORT_RE = re.compile(r"@import\s+(?:url\()?[\"']?(?:https?:)?//", re.IGNORECASE)


def plotlyjs_html() -> str:
    """plotly.js inline, for one output at the top of the report (defines ``window.Plotly``)."""
    from plotly.offline import get_plotlyjs

    return (
        '<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};</script>\n'
        f'<script type="text/javascript" id="rklab-plotlyjs">{get_plotlyjs()}</script>'
    )


def plotlyjs_marker() -> str:
    """A string that occurs once per embedded copy of plotly.js (its first 120 characters)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()[:120]


def figure_html(fig, *, div_id: str | None = None) -> str:
    """One figure as a ``<div>`` + script that needs ``window.Plotly`` to exist already."""
    height = fig.layout.height or 450
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        default_height=f"{int(height)}px",
        default_width="100%",
        config={"displaylogo": False, "responsive": True},
    )


def show_figure(fig, lang: str = "zh", empty: str | None = None) -> None:
    """Display a figure in notebook 04: plotly's JSON (JupyterLab) + offline HTML (export).

    ``fig`` None (nothing to draw) shows one line instead: ``empty`` (why, and what would fill the
    section; :func:`rklab.report.render.why_empty`), else "no data"; ``empty=""`` shows nothing.
    """
    from IPython.display import display

    if fig is None:
        if empty != "":  # "": the section shows its table, nothing to say
            show_html(empty_html(empty or text("report.no_data", lang)))
        return
    bundle = {
        "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
        "text/html": figure_html(fig),
    }
    display(bundle, raw=True)


def empty_html(line: str) -> str:
    """The one line of a section with nothing to show."""
    return f'<p class="rklab-empty">{_html.escape(line)}</p>'


def show_html(html: str) -> None:
    from IPython.display import HTML, display

    display(HTML(html))


def check_self_contained(html: str, *, max_bytes: int = MAX_HTML_BYTES) -> dict[str, Any]:
    """Raise :class:`RklabError` unless the page is offline, has plotly.js once and is small enough.

    Returns ``{bytes, plotlyjs_copies, plot_divs}`` for the caller to report.
    """
    size = len(html.encode("utf-8"))
    m = _NETWORK_RE.search(html) or _IMPORT_RE.search(html)
    if m:
        snippet = html[m.start(): m.start() + 120].replace("\n", " ")
        raise RklabError(f"HTML report would fetch from the network ({snippet!r}); report this as an rklab bug")
    copies = html.count(plotlyjs_marker())
    divs = html.count('class="plotly-graph-div"')
    if divs and copies != 1:
        raise RklabError(f"HTML report holds plotly.js {copies} times (expected once); report this as an rklab bug")
    if size > max_bytes:
        raise RklabError(f"HTML report is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
                         "report fewer runs (rklab report on a smaller folder)")
    return {"bytes": size, "plotlyjs_copies": copies, "plot_divs": divs}


def export_html(notebook: str | os.PathLike, html_path: str | os.PathLike, *, title: str | None = None,
                lang: str | None = None) -> Path:
    """Executed notebook -> one offline HTML file without code, prompts or stderr noise.

    Works for any rklab notebook whose headings come from code output (01 and 04): markdown cells
    are developer notes and stay out. ``lang`` sets ``<html lang>`` (zh-CN lets the browser pick
    Chinese glyph shapes for Han characters)."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"rklab_report.html.j2": report_template()})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_markdown=True,  # the notebook's developer notes; headings come from code output
        exclude_output_prompt=True,
    )
    exporter.template_file = "rklab_report.html.j2"
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or "rklab report"}})
    if lang:
        body = re.sub(r"<html\b[^>]*>", f'<html lang="{HTML_LANG.get(lang, lang)}">', body, count=1)
    check_self_contained(body)
    out = Path(html_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, out)  # an old report stays intact until the new one is complete
    return out
