"""Test doubles of notebooks 01/02/03 for the sweep tests (written into a tmp folder).

They take the real notebooks' parameters and behave according to the file name in
``model_path`` / ``llm_path`` (its part after the last ``:``):

``ok``       write two TEST DATA run records (not measurements) and finish
``boom``     raise ValueError("TEST boom") after printing a line
``hang``     sleep for 10 minutes (the sweep's timeout must kill it)
``die``      SIGKILL its own kernel (what the OOM killer does)
``skip``     write one record with status skipped_predicted_oom and finish
``norecord`` finish without writing anything
``partial``  write two ok TEST DATA runs, then one aborted_memory record (the memory guard stopped it)
"""

from __future__ import annotations

from pathlib import Path

import nbformat

PARAMS_LLM = """\
entry = None
model = None
backend = "llamacpp"
model_path = "demo"
dtype = None
max_context = 4096
cases = [[8, 4]]
reps = 1
warmup = 0
adaptive = True
out_dir = None
lang = "zh"
mem_floor_mb = 300
force = False
"""

PARAMS_VLM = """\
entry = None
model = None
encoder_path = "demo"
llm_path = "demo"
llm_backend = "llamacpp"
vision_backend = "onnx"
images = []
image_size = 448
core_mask = "NPU_CORE_0_1_2"
max_context = 4096
new_tokens = 4
reps = 1
warmup = 0
out_dir = None
lang = "zh"
mem_floor_mb = 300
force = False
"""

BODY = """\
import os, signal, time, sys
from rklab.records import RecordWriter
kind = "{kind}"
path = {path_var}
mode = str(path).rsplit(":", 1)[-1]
w = RecordWriter(out_dir)
base = dict(kind=kind, entry=entry, backend={backend_var}, test_data=True,
            model=dict(name=model, dtype=(dtype if kind == "llm" else "w8a8"), kind=kind),
            host=dict(hostname="TEST-FIXTURE", soc="TEST"))
print("fake notebook", kind, entry, mode)
if mode == "boom":
    print("about to fail", file=sys.stderr)
    raise ValueError("TEST boom in " + str(entry))
if mode == "hang":
    time.sleep(600)
if mode == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "skip":
    w.append(dict(base, status="skipped_predicted_oom", error=dict(type="PredictedOOM", message="TEST predicted 9999 MB")))
if mode in ("ok", "partial"):
    for rep in range(2):
        w.append(dict(base, status="ok", metrics=dict(case="pp8/tg4", prompt_tokens=8, new_tokens=4, rep=rep,
                                                      decode_tps=10.0 + rep, ttft_ms=100.0, vmhwm_mb=200.0)))
if mode == "partial":
    w.append(dict(base, status="aborted_memory", error=dict(type="MemoryAbort", message="TEST MemAvailable 250 MB < floor")))
"""


def _nb(params: str, body: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_fake_notebooks(folder: Path) -> Path:
    """Write 01_feasibility / 02_llm_bench / 03_vlm_bench doubles into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(_nb('board = "rk3588-8gb"\ncontext = 4096\nlang = "zh"\n', 'print("fake 01", board, context)'),
                   str(folder / "01_feasibility.ipynb"))
    nbformat.write(_nb(PARAMS_LLM, BODY.format(kind="llm", path_var="model_path", backend_var="backend")),
                   str(folder / "02_llm_bench.ipynb"))
    nbformat.write(_nb(PARAMS_VLM, BODY.format(kind="vlm", path_var="llm_path", backend_var="llm_backend")),
                   str(folder / "03_vlm_bench.ipynb"))
    return folder
