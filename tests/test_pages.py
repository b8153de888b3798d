"""The pages a reader gets, read the way a reader reads them: headless Chromium at 1,400 px.

Pages (tests/fixtures/browser.py): notebook 01 exported in zh and en, the report of a real demo
sweep (SmolLM2 on llama.cpp + the synthetic encoder) in zh and en, and the report of the TEST DATA
sweep (NPU rows, an OOM, an excluded model) in zh. For each: no program output in the visible text,
nothing wider than the page outside its own scroll container, a reason on every verdict row and
every seed-comparison row, and Chinese drawn with a real font. Screenshots of every page go to
``test-artifacts/pages/`` (or ``$RKLAB_TEST_ARTIFACTS/pages``); the test prints where.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from rklab.i18n import text
from tests.fixtures.browser import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, open_page

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=BROWSER_MISSING)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("RKLAB_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "pages"
PAGES = ["01-zh", "01-en", "demo-zh", "demo-en", "fixture-zh"]
REPORTS = [p for p in PAGES if not p.startswith("01")]
# program output that must never reach a reader
RAW = {
    "NaN": r"\bNaN\b", "nan": r"\bnan\b", "None": r"\bNone\b", "np.float64": r"np\.float\d+|numpy\.",
    "True/False": r"\b(?:True|False)\b", "raw dict": r"\{\s*['\"][^'\"]+['\"]\s*:",
}

VISIBLE_TEXT = """
const svg = [...document.querySelectorAll('svg text')].map(t => t.textContent);
return document.body.innerText + '\\n' + svg.join('\\n');
"""

# Elements whose right edge is beyond the page, unless an ancestor scrolls (or clips) them inside the page.
OVERFLOW = """
const W = document.documentElement.clientWidth;
const bad = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= W + 1) continue;
  let p = el.parentElement, inside = false;
  while (p && p !== document.body) {
    const o = getComputedStyle(p).overflowX;
    if ((o === 'auto' || o === 'scroll' || o === 'hidden') && p.getBoundingClientRect().right <= W + 1) {
      inside = true; break;
    }
    p = p.parentElement;
  }
  if (!inside) bad.push(el.tagName + '.' + (el.getAttribute('class') || '') + ' right=' + Math.round(r.right));
}
return {width: W, scroll: document.documentElement.scrollWidth, bad: bad.slice(0, 10)};
"""

# The cells of one column (by its header text) of the table marked data-table=<name>.
COLUMN = """
const [name, header] = arguments;
const t = document.querySelector(`[data-table="${name}"] table`);
if (!t) return null;
const heads = [...t.querySelectorAll('thead th')].map(h => h.innerText.trim());
const i = heads.indexOf(header);
if (i < 0) return {heads};
return {rows: [...t.querySelectorAll('tbody tr')].map(r => r.children[i].innerText.trim())};
"""

# Two different Han characters drawn in the page's font must differ from each other and from a
# character no font has (the missing-glyph box): else Chinese is drawn as boxes.
GLYPHS = """
const family = getComputedStyle(document.querySelector('h1, h2')).fontFamily;
function draw(ch) {
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const x = c.getContext('2d'); x.font = '40px ' + family; x.fillStyle = '#000'; x.fillText(ch, 4, 48);
  return x.getImageData(0, 0, 64, 64).data.join(',');
}
const a = draw('报'), b = draw('告'), box = draw(String.fromCodePoint(0x10FFFD));
return {family, differ: a !== b, not_box: a !== box && b !== box, body: getComputedStyle(document.body).fontFamily};
"""


@pytest.fixture(scope="module")
def shown(browser, page):
    """``shown(name)``: the page loaded in the browser (screenshots taken once per page)."""
    taken: set[str] = set()

    def get(name: str):
        path = page(name)
        open_page(browser, path, n_plots_min=1)
        if name not in taken:
            _screenshots(browser, name)
            taken.add(name)
        return browser

    return get


def _screenshots(driver, name: str) -> None:
    """The whole page as 1,400 x 1,600 px screenshots, top to bottom: <name>-00.png, -01.png, ..."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    total = driver.execute_script("return document.documentElement.scrollHeight")
    step = driver.execute_script("return window.innerHeight")
    for i, y in enumerate(range(0, total, step)):
        driver.execute_script("window.scrollTo(0, arguments[0])", y)
        time.sleep(0.3)
        driver.save_screenshot(str(ARTIFACTS / f"{name}-{i:02d}.png"))
    driver.execute_script("window.scrollTo(0, 0)")


@pytest.mark.parametrize("name", PAGES)
def test_no_program_output_in_the_visible_text(shown, name, capsys):
    body = shown(name).execute_script(VISIBLE_TEXT)
    found = {what: sorted(set(re.findall(rx, body)))[:5] for what, rx in RAW.items() if re.search(rx, body)}
    assert not found, found
    with capsys.disabled():
        print(f"\n[pages] screenshots of {name}: {ARTIFACTS}/{name}-NN.png")


@pytest.mark.parametrize("name", PAGES)
def test_nothing_is_wider_than_the_page_without_its_own_scroll(shown, name):
    got = shown(name).execute_script(OVERFLOW)
    assert got["scroll"] <= got["width"], got
    assert not got["bad"], got


@pytest.mark.parametrize("name", REPORTS)
def test_every_verdict_row_says_why(shown, name):
    lang = name.rsplit("-", 1)[1]
    got = shown(name).execute_script(COLUMN, "verdicts", text("report.verdict_reason", lang))
    assert got and "rows" in got, got
    assert len(got["rows"]) >= 17 and all(r and r != "-" for r in got["rows"]), got["rows"]


@pytest.mark.parametrize("name", ["01-zh", "01-en"])
def test_every_seed_comparison_row_says_why(shown, name):
    lang = name.rsplit("-", 1)[1]
    for table in ("seed", "seed_speed"):
        got = shown(name).execute_script(COLUMN, table, text("engine.reason", lang))
        assert got and "rows" in got, (table, got)
        assert got["rows"] and all(r and r != "-" for r in got["rows"]), (table, got["rows"])


@pytest.mark.parametrize("name", ["01-zh", "demo-zh", "fixture-zh"])
def test_chinese_is_drawn_with_a_real_font(shown, name):
    got = shown(name).execute_script(GLYPHS)
    for font in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC"):
        assert font in got["body"], got  # the stack names the fonts of Windows, macOS and Linux
    assert got["differ"] and got["not_box"], f"Chinese is drawn as missing-glyph boxes with {got['family']}"


@pytest.mark.parametrize("name", ["demo-zh", "demo-en"])
def test_the_report_answers_first(shown, name):
    """The answer (heading, sentences, one chart of every model) comes before the details."""
    lang = name.rsplit("-", 1)[1]
    order = shown(name).execute_script("""
        const hs = [...document.querySelectorAll('h2')].map(h => h.innerText.trim());
        const answer = document.querySelector('#rklab-answer');
        const first_plot = document.querySelector('.plotly-graph-div');
        const verdicts = document.querySelector('[data-table="verdicts"]');
        return {hs, answer_li: answer ? answer.nextElementSibling.querySelectorAll('li').length : 0,
                plot_before_verdicts: !!(first_plot && verdicts &&
                    (first_plot.compareDocumentPosition(verdicts) & Node.DOCUMENT_POSITION_FOLLOWING))};""")
    assert order["hs"][0] == text("report.answer.heading", lang), order
    assert 3 <= order["answer_li"] <= 4 and order["plot_before_verdicts"], order
