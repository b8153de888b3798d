"""The HTML report in a real browser: headless Chromium (Debian's chromium + chromium-driver).

`make test` installs them (scripts/ensure-chromium.sh). The report is built from TEST DATA
records (tests/fixtures/report_records.py) through the real notebook 04 + nbconvert path.
"""

from __future__ import annotations

import pytest

from tests.fixtures.browser import (BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, open_page as _open, plots_without_svg,
                                    severe_console_entries)

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=BROWSER_MISSING)


@pytest.fixture(scope="module")
def report_html(fake_report):
    return fake_report[1]


def test_every_plot_renders_an_svg_without_console_errors(browser, report_html):
    _open(browser, report_html, n_plots_min=5)
    plots, missing = plots_without_svg(browser)
    assert len(plots) >= 5, plots  # 3 comparison bars, predicted, memory, bandwidth, npu-cpu, vlm stages
    assert not missing, f"plots without an SVG: {missing}"
    assert browser.execute_script("return typeof window.Plotly") == "object"
    severe = severe_console_entries(browser)
    assert not severe, severe


def test_the_page_fetches_nothing_from_the_network(browser, report_html):
    _open(browser, report_html)
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    remote = [u for u in urls if u.startswith(("http:", "https:"))]
    assert remote == [], remote


def test_report_shows_no_code_and_readable_chinese_labels(browser, report_html):
    _open(browser, report_html)
    assert browser.execute_script("return document.querySelectorAll('.jp-InputArea, .jp-InputPrompt').length") == 0
    text = browser.find_element("tag name", "body").text
    assert "RK3588 大模型测试报告" in text
    assert "最终可行性表" in text
    assert "import " not in text and "rr.build_report" not in text
    # the bars carry the measured TEST DATA: 25.00 tok/s for Qwen3-0.6B on rkllm (median of 24.8/25.0/25.2)
    assert "25.00" in text
