"""The ctypes mirror of rkllm.h equals the fact sheet, row by row, for runtime 1.2.3 and 1.3.0."""

from __future__ import annotations

import csv
import ctypes
from ctypes import POINTER
from pathlib import Path

import pytest

from rklab.errors import RklabError, RuntimeLibraryError
from rklab.measure.runtimes import rkllm_abi
from rklab.measure.runtimes.rkllm import abi_for

LAYOUT_CSV = Path(__file__).parent / "data" / "rkllm_abi_layout.csv"


def _layout_rows() -> list[dict]:
    with open(LAYOUT_CSV, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


ROWS = _layout_rows()


def _field_type(cls, name):
    for fname, ftype in cls._fields_:
        if fname == name:
            return ftype
    for anon in getattr(cls, "_anonymous_", ()):
        try:
            return _field_type(dict(cls._fields_)[anon], name)
        except KeyError:
            pass
    raise KeyError(f"{cls.__name__} has no field {name}")


def _resolve(abi, struct: str, dotted: str):
    """(offset from the start of ``struct``, ctypes type) of a possibly nested field."""
    cls, offset = getattr(abi, struct), 0
    for part in dotted.split("."):
        offset += getattr(cls, part).offset
        cls = _field_type(cls, part)
    return offset, cls


def _expected_ctype(abi, ctype: str):
    simple = {
        "int32_t": ctypes.c_int32, "int8_t": ctypes.c_int8, "uint8_t": ctypes.c_uint8,
        "uint32_t": ctypes.c_uint32, "float": ctypes.c_float, "bool": ctypes.c_bool,
        "const char*": ctypes.c_char_p, "char*": ctypes.c_char_p, "size_t": ctypes.c_size_t,
        "int": ctypes.c_int, "enum RKLLMInputType": ctypes.c_int, "enum RKLLMInferMode": ctypes.c_int,
        "float*": POINTER(ctypes.c_float), "int32_t*": POINTER(ctypes.c_int32),
        "uint8_t[104]": ctypes.c_uint8 * 104,
        "RKLLMLoraParam*": ctypes.c_void_p, "RKLLMPromptCacheParam*": ctypes.c_void_p,  # opaque here
    }
    if ctype in simple:
        return simple[ctype]
    if ctype.endswith("*"):
        return POINTER(getattr(abi, ctype[:-1]))
    if ctype == "struct":
        return None  # a nested block: only offset and size are on the sheet
    return getattr(abi, ctype)


def test_layout_csv_covers_both_releases_and_every_struct():
    abis = {r["abi"] for r in ROWS}
    assert abis == {"1.2.3", "1.3.0"}
    structs_130 = {r["struct"] for r in ROWS if r["abi"] == "1.3.0" and not r["field"]}
    assert {"RKLLMSamplingParam", "RKLLMCallback", "RKLLMParam", "RKLLMInput", "RKLLMResult"} <= structs_130
    assert len(ROWS) == 143


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['abi']}:{r['struct']}.{r['field'] or '*'}")
def test_layout_row_matches_fact_sheet(row):
    abi = abi_for(row["abi"])
    if not row["field"]:
        assert ctypes.sizeof(getattr(abi, row["struct"])) == int(row["size"])
        return
    offset, ftype = _resolve(abi, row["struct"], row["field"])
    assert offset == int(row["offset"])
    assert ctypes.sizeof(ftype) == int(row["size"])
    want = _expected_ctype(abi, row["ctype"])
    if want is not None:
        assert ftype is want


# Declaration orders the fact sheet gives in prose rather than in the tables.
PROSE_FIELDS = {
    ("1.3.0", "RKLLMSamplingParam"): ["top_k", "top_p", "temperature", "repeat_penalty", "frequency_penalty",
                                      "presence_penalty", "mirostat", "mirostat_tau", "mirostat_eta"],
    ("1.3.0", "RKLLMCallback"): ["result_callback", "result_userdata", "tokenizer_callback", "tokenizer_userdata",
                                 "embed_callback", "embed_userdata"],
    ("1.3.0", "RKLLMMultiModalVideo"): ["video_embed", "n_frame_tokens", "n_frame_per_video", "n_video", "video_start",
                                        "video_end", "video_content", "frame_width", "frame_height"],
    ("1.2.3", "RKLLMResultLastHiddenLayer"): ["hidden_states", "embd_size", "num_tokens"],
    ("1.3.0", "RKLLMResultLogits"): ["logits", "vocab_size", "num_tokens"],
}


@pytest.mark.parametrize("key", sorted(PROSE_FIELDS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_prose_declared_field_order(key):
    abi = abi_for(key[0])
    assert [name for name, _ in getattr(abi, key[1])._fields_] == PROSE_FIELDS[key]


def test_sampling_param_types_and_callback_type():
    abi = abi_for("1.3.0")
    types = dict(abi.RKLLMSamplingParam._fields_)
    assert types["top_k"] is ctypes.c_int32 and types["mirostat"] is ctypes.c_int32
    assert all(types[k] is ctypes.c_float for k in ("top_p", "temperature", "mirostat_eta"))
    assert dict(abi.RKLLMCallback._fields_)["result_callback"] is abi.LLMResultCallback
    assert abi.LLMResultCallback._restype_ is ctypes.c_int
    assert abi.LLMResultCallback._argtypes_ == (POINTER(abi.RKLLMResult), ctypes.c_void_p, ctypes.c_int)


def test_namespaces_name_the_c_typedefs():
    common = ["RKLLMExtendParam", "RKLLMParam", "RKLLMEmbedInput", "RKLLMTokenInput", "RKLLMMultiModalInput",
              "RKLLMInput", "RKLLMInferParam", "RKLLMResultLastHiddenLayer", "RKLLMResultLogits",
              "RKLLMPerfStat", "RKLLMResult"]
    for version in ("1.2.3", "1.3.0"):
        abi = abi_for(version)
        for name in common:
            assert getattr(abi, name).__name__ == name
    assert hasattr(abi_for("1.3.0"), "RKLLMSamplingParam") and hasattr(abi_for("1.3.0"), "RKLLMCallback")
    assert not hasattr(abi_for("1.2.3"), "RKLLMSamplingParam")
    assert not hasattr(abi_for("1.2.3"), "RKLLMCallback")
    # The two releases never share struct classes (they are not binary compatible).
    assert abi_for("1.2.3").RKLLMParam is not abi_for("1.3.0").RKLLMParam
    assert abi_for("1.3.0") is abi_for("v1.3.0")


def test_enum_values_match_fact_sheet():
    assert (rkllm_abi.RKLLM_RUN_NORMAL, rkllm_abi.RKLLM_RUN_WAITING, rkllm_abi.RKLLM_RUN_FINISH,
            rkllm_abi.RKLLM_RUN_ERROR) == (0, 1, 2, 3)
    assert (rkllm_abi.RKLLM_INPUT_PROMPT, rkllm_abi.RKLLM_INPUT_TOKEN, rkllm_abi.RKLLM_INPUT_EMBED,
            rkllm_abi.RKLLM_INPUT_MULTIMODAL) == (0, 1, 2, 3)
    assert (rkllm_abi.RKLLM_INFER_GENERATE, rkllm_abi.RKLLM_INFER_GET_LAST_HIDDEN_LAYER,
            rkllm_abi.RKLLM_INFER_GET_LOGITS) == (0, 1, 2)


def test_init_prototype_differs_between_releases():
    p123 = rkllm_abi.prototypes(abi_for("1.2.3"))
    p130 = rkllm_abi.prototypes(abi_for("1.3.0"))
    assert p123["rkllm_init"][0][2] is abi_for("1.2.3").LLMResultCallback
    assert p130["rkllm_init"][0][2] is POINTER(abi_for("1.3.0").RKLLMCallback)
    assert p123["rkllm_createDefaultParam"] == ([], abi_for("1.2.3").RKLLMParam)
    assert len(p130["rkllm_run"][0]) == 4


@pytest.mark.parametrize("version", ["1.1.4", "1.2.0", "2.0.0", "banana"])
def test_unknown_version_refused_with_supported_list(version):
    with pytest.raises(RuntimeLibraryError) as err:
        abi_for(version)
    msg = str(err.value)
    assert "\n" not in msg and version in msg and "1.2.3, 1.3.0" in msg
    assert isinstance(err.value, RklabError)
