"""rklab's GGUF header reader against the gguf package's own GGUFReader, on the real demo model."""

import gguf
import pytest

from rklab.errors import ModelFileError
from rklab.predict.gguf_file import GGUF_FILE_TYPE_NAMES, file_type_name, read_gguf_header


def test_header_equals_gguf_reader_on_the_demo_model(demo_gguf):
    ours = read_gguf_header(demo_gguf)
    ref = gguf.GGUFReader(str(demo_gguf), "r")  # slow (parses every token string): once, here
    assert [(t.name, t.shape, t.type) for t in ours.tensors] == \
        [(t.name, tuple(int(d) for d in t.shape), t.tensor_type) for t in ref.tensors]
    assert [t.n_bytes for t in ours.tensors] == [int(t.n_bytes) for t in ref.tensors]
    assert set(ours.metadata) == {k for k in ref.fields if not k.startswith("GGUF.")}
    for key, fld in ref.fields.items():
        if key.startswith("GGUF."):
            continue
        mine = ours.metadata[key]
        if isinstance(mine, dict):  # a long or string array: its length
            assert mine == {"array_of": len(fld.data)}, key
        else:
            want = fld.contents()
            assert mine == (pytest.approx(want) if isinstance(want, float) else want), key
    assert ours.n_params == 134_515_008


def test_file_type_names():
    assert file_type_name(3) == "q4_1" and file_type_name(0) == "f32" and file_type_name(15) == "q4_k_m"
    assert file_type_name(None) is None and file_type_name(9999) is None
    assert {"q4_1", "q8_0", "f16", "q4_k_m"} <= GGUF_FILE_TYPE_NAMES


@pytest.mark.parametrize("content, message", [
    (b"", "is empty or unreadable"),
    (b"NOPE" + bytes(64), "is not a GGUF file"),
    (b"GGUF\x01\x00\x00\x00" + bytes(64), "is GGUF version 1"),
    (b"GGUF\x03\x00\x00\x00" + (5).to_bytes(8, "little") + (1).to_bytes(8, "little"), "ends inside its GGUF header"),
])
def test_bad_headers_are_one_line(tmp_path, content, message):
    p = tmp_path / "m.gguf"
    p.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        read_gguf_header(p)
