"""The last step of a sweep, and ``rklab report``: execute notebook 04 over a run folder, then
export it to the offline HTML report (:func:`rklab.report.html.export_html`)."""

from __future__ import annotations

import os
from pathlib import Path

from rklab import paths
from rklab.errors import RklabError
from rklab.i18n import check_lang, text
from rklab.orchestrate.notebooks import KERNEL_NAME, execute_notebook
from rklab.report.html import export_html
from rklab.report.load import load_sweep_records
from rklab.runfolder import REPORT_HTML, REPORT_LOG, REPORT_MD, REPORT_NOTEBOOK, Status, partial_name

REPORT_TIMEOUT_S = 900.0


def default_results_md() -> Path:
    """``results/benchmark_log.md`` in the project (the seed report links to it; env ``RKLAB_RESULTS_MD``)."""
    return Path(os.environ.get("RKLAB_RESULTS_MD", paths.PROJECT_ROOT / "results" / REPORT_MD))


def build_html_report(
    run_dir: str | os.PathLike,
    *,
    html_path: str | os.PathLike | None = None,
    lang: str = "zh",
    board: str = "rk3588-8gb",
    results_md: str | os.PathLike | None = None,
    kernel_name: str = KERNEL_NAME,
    timeout_s: float = REPORT_TIMEOUT_S,
) -> Path:
    """Execute notebook 04 over ``run_dir`` (papermill) and export it: returns the HTML path.

    The notebook is executed under a temporary name, so a failed re-run never replaces the last
    good report notebook; the HTML is replaced only when the new one is complete.
    """
    run_dir = Path(run_dir).expanduser().absolute()
    if not run_dir.is_dir():
        raise RklabError(f"run folder {run_dir} does not exist; give a folder made by `rklab sweep`")
    check_lang(lang, "--lang")
    html_path = Path(html_path).expanduser().absolute() if html_path else run_dir / REPORT_HTML
    check_output(html_path, "--html", HTML_MARKER, REPORT_HTML)
    if results_md:
        check_output(Path(results_md).expanduser().absolute(), "--results-md", MD_MARKER, REPORT_MD)
    load_sweep_records([run_dir])  # no records, or records of a newer schema: one line, before a kernel starts
    params = {
        "run_dirs": [str(run_dir.resolve())],
        "board": board,
        "lang": lang,
        "results_md": str(Path(results_md).resolve()) if results_md else str(run_dir.resolve() / REPORT_MD),
    }
    nb_out = run_dir / REPORT_NOTEBOOK
    nb_tmp = run_dir / partial_name(REPORT_NOTEBOOK)
    run = execute_notebook(paths.notebooks_dir() / REPORT_NOTEBOOK, nb_tmp, params, timeout_s=timeout_s, cwd=run_dir,
                           kernel_name=kernel_name, log_path=run_dir / REPORT_LOG)
    if run.status != Status.OK:
        err = run.error or {}
        raise RklabError(f"notebook 04 failed on {run_dir} ({err.get('type')}: {err.get('message')}); "
                         f"see {nb_tmp} and {run.log}")
    os.replace(nb_tmp, nb_out)
    return export_html(nb_out, html_path, title=text("report.html_title", lang), lang=lang)


HTML_MARKER = 'id="rklab-plotlyjs"'  # rklab.report.html.plotlyjs_html: in every report rklab exported
MD_MARKER = "benchmark_log"  # the first line of rklab.report.render.benchmark_log_markdown


def check_output(path: Path, option: str, marker: str, example: str) -> None:
    """A report is written only where nothing is, or over a previous report of rklab's: never over
    the measurements (``--html RUN_DIR/records.jsonl``), a plan, a notebook or a folder."""
    if path.is_dir():
        raise RklabError(f"{option} {path} is a folder; give a file path, e.g. {path / example}")
    if not path.exists():
        return
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            head = fh.read() if marker == HTML_MARKER else fh.readline()  # an HTML report is at most 8 MB
    except OSError as exc:
        raise RklabError(f"{option} {path} cannot be read ({exc.strerror}); give another file path") from exc
    if marker not in head:
        raise RklabError(f"{option} {path} exists and is not a report written by rklab, so it is not overwritten; "
                         f"give a new file path, e.g. {path.with_name('rklab-' + example)}")
