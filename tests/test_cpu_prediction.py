"""The CPU path: llama.cpp memory from the GGUF file (gguf package), decode ceiling, bandwidth probe."""

import json
import subprocess
import sys

import pytest

from rklab.errors import RklabError
from rklab.measure.hostinfo import host_snapshot
from rklab.measure.membw import probe_bandwidth
from rklab.predict.catalog import get_model
from rklab.predict.cpu import (MIB, decode_ceiling, facts_from_spec, ggml_type, head_type, llamacpp_memory,
                               read_gguf)
from rklab.predict.measured import llamacpp_run_prediction, npu_vs_cpu


@pytest.fixture(scope="module")
def facts(demo_gguf):
    return read_gguf(demo_gguf)


def test_gguf_facts_of_the_demo_model(facts, demo_gguf):
    assert (facts.layers, facts.hidden, facts.heads, facts.kv_heads, facts.key_length) == (30, 576, 9, 3, 64)
    assert facts.tied and facts.vocab == 49152 and facts.context_length == 8192
    assert facts.file_bytes == demo_gguf.stat().st_size
    assert set(facts.types) == {"Q4_1", "Q8_0", "F32"}
    assert facts.kv_bytes_per_token == 30 * 3 * (64 + 64) * 2            # f16 K and V: 23,040 B


def test_architecture_facts_match_the_real_file(facts):
    """From data/models.yaml at q4_1 (output head at Q8_0: width 576 is no multiple of 256) = the file's tensors."""
    est = facts_from_spec(get_model("SmolLM2-135M-Instruct"), "q4_1")
    assert est.tensor_bytes == pytest.approx(facts.tensor_bytes, rel=0.005)
    assert est.file_bytes == pytest.approx(facts.file_bytes, rel=0.01)
    assert head_type(ggml_type("q4_0"), 1024).name == "Q6_K" and head_type(ggml_type("q8_0"), 576).name == "Q8_0"
    assert ggml_type("Q4_K_M").name == "Q4_K"
    with pytest.raises(RklabError, match="unknown GGUF type"):
        ggml_type("q3_weird")


def test_memory_parts(facts):
    small, big = llamacpp_memory(facts, 512, 128, 32), llamacpp_memory(facts, 4096, 128, 32)
    assert big.kv_mb - small.kv_mb == pytest.approx((4096 - 512) * 23040 / MIB)   # the whole n_ctx is resident
    assert small.weights_mb == pytest.approx(facts.file_bytes / MIB)
    long = llamacpp_memory(facts, 4096, 2000, 32)
    assert long.compute_mb > 5 * big.compute_mb                                  # attention scores grow with the KV
    assert llamacpp_memory(facts, 512, 128, baseline_mb=100).memory_mb == pytest.approx(small.model_mb + 100)


def test_decode_ceiling(facts):
    c = decode_ceiling(facts, 100, 10.0)
    assert c.bytes_per_token == facts.tensor_bytes + 100 * 23040                 # tied: the table is the head
    assert c.ceiling_tps == pytest.approx(10e9 / c.bytes_per_token)
    with pytest.raises(RklabError, match="bandwidth"):
        decode_ceiling(facts, 100, None)


MEASURE = """
import json, sys
def status():
    out = {}
    for line in open('/proc/self/status'):
        k, _, v = line.partition(':')
        if k in ('VmHWM', 'VmRSS'):
            out[k] = int(v.split()[0]) / 1024
    return out
from rklab.measure.runtimes.llamacpp import LlamaCpp
before = status()['VmRSS']          # as the harness: after the imports, right before the model loads
m = LlamaCpp(sys.argv[1], max_context=512, n_threads=1)
m.generate(token_ids=list(range(200, 328)), max_new_tokens=32)
print(json.dumps({'before': before, 'vmhwm': status()['VmHWM']}))
"""


def test_demo_memory_within_10_percent_of_measured_vmhwm(demo_gguf):
    """The real process: RSS before load + the GGUF prediction vs the VmHWM llama.cpp reached."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(demo_gguf)], capture_output=True, text=True,
                         timeout=300, check=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    p = llamacpp_run_prediction(demo_gguf, n_ctx=512, prompt_tokens=128, new_tokens=32,
                                rss_before_load_mb=m["before"], measured_vmhwm_mb=m["vmhwm"])
    assert abs(p["memory_residual_pct"]) < 10, (m, p["predicted_memory_mb"])
    model_part = m["vmhwm"] - m["before"]
    assert p["predicted_model_mb"] == pytest.approx(model_part, rel=0.15)


def test_bandwidth_probe_is_short_and_recorded():
    r = probe_bandwidth(total_mb=16, threads=1, passes=1)
    assert r["gbs"] > 0.1 and r["threads"] == 1 and r["buffer_mb"] == 16 and "numpy" in r["method"]
    snap = host_snapshot()
    assert snap["mem_bandwidth"]["gbs"] > 0


def test_fake_board_snapshot_does_not_probe(rk3588_tree):
    assert "mem_bandwidth" not in host_snapshot(rk3588_tree.proc_root, rk3588_tree.sys_root)


def test_npu_vs_cpu_before_anything_is_measured():
    row = npu_vs_cpu("Qwen3-1.7B", "rk3588-8gb", gguf_type="q8_0")
    assert row["npu_verdict"] == "fits" and row["npu_decode_tps"] > 10
    # the board's quoted CPU bandwidth (20 GB/s) over ~1.8 GB of Q8_0 weights
    assert 8 < row["cpu_decode_ceiling_tps"] < 12 and "STREAM" in row["cpu_bandwidth_source"]
    assert row["cpu_memory_mb"] > 1700
    other = npu_vs_cpu("Qwen3-0.6B", "rk3576-8gb", npu_dtype="w4a16")
    assert other["cpu_decode_ceiling_tps"] is None                  # RK3576's CPU bandwidth is not published
