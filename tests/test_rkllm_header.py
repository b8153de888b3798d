"""The ctypes header mirrors equal Rockchip's REAL rkllm.h of 1.2.3 and 1.3.0, one to one.

For each release in ``../shared/vendor/rknn-llm/v*/rkllm.h``:

- a C program compiled with gcc against that header prints ``sizeof``/``_Alignof`` of every struct
  and union and ``offsetof``/``sizeof`` of every field, and the numbers must equal the ctypes
  classes of :mod:`rklab.measure.runtimes.rkllm_h_1_2_3` / ``rkllm_h_1_3_0``;
- the header is parsed: every typedef'd struct has a class with the same field names in the same
  order and field types that map to the C types; every enum value, every callback typedef and
  all 15 function prototypes (argument and result types) match.

Skipped (with that reason) where ``../shared`` is absent; CI has it.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from ctypes import POINTER
from pathlib import Path

import pytest

from rklab.measure.runtimes import rkllm_h_1_2_3, rkllm_h_1_3_0
from tests.vendor import RELEASES, header_dir, require_vendor

MODULES = {"1.2.3": rkllm_h_1_2_3, "1.3.0": rkllm_h_1_3_0}
SHIM = Path(__file__).parent / "fakes" / "rkllm" / "include"  # <cstdint> for a C compiler


# --------------------------------------------------------------------------- a small parser of rkllm.h

def _source(release: str) -> str:
    text = (require_vendor(f"v{release}", "rkllm.h")).read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _block(text: str, start: int) -> tuple[str, int]:
    """The text between the brace at ``start`` and its match, and the index after the match."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i], i + 1
    raise ValueError("unbalanced braces")


def _split_top(body: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            out.append(" ".join(cur.split()))
            cur = ""
        else:
            cur += ch
    return [d for d in out if d]


def _fields(body: str) -> list[tuple]:
    """``[(name, ctype)]``; a nested block is ``(name or None, ("struct"|"union", fields))``."""
    out = []
    for decl in _split_top(body):
        m = re.match(r"(struct|union)\s*\{", decl)
        if m:
            inner, end = _block(decl, decl.index("{"))
            name = decl[end:].strip() or None
            out.append((name, (m.group(1), _fields(inner))))
            continue
        m = re.match(r"(.+?)\s*\b(\w+)\s*(\[\s*(\d+)\s*\])?$", decl)
        ctype = " ".join(m.group(1).replace("*", " * ").split())
        out.append((m.group(2), f"{ctype}[{m.group(4)}]" if m.group(3) else ctype))
    return out


def parse_header(release: str) -> dict:
    text = _source(release)
    structs, enums = {}, {}
    for m in re.finditer(r"typedef\s+(struct|enum)\s*\{", text):
        body, end = _block(text, text.index("{", m.start()))
        name = re.match(r"\s*(\w+)\s*;", text[end:]).group(1)
        if m.group(1) == "struct":
            structs[name] = _fields(body)
        else:
            enums[name] = {k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    callbacks = {name: [a.strip() for a in args.split(",")]
                 for name, args in re.findall(r"typedef\s+int\s*\(\s*\*\s*(\w+)\s*\)\s*\(([^)]*)\)\s*;", text)}
    functions = {name: (" ".join(ret.replace("*", " * ").split()), [a.strip() for a in args.split(",") if a.strip()])
                 for ret, name, args in re.findall(r"^\s*([A-Za-z_][\w\s\*]*?)\s*\b(rkllm_\w+)\s*\(([^)]*)\)\s*;",
                                                  text, flags=re.M)}
    defines = {k: int(v) for k, v in re.findall(r"#define\s+(CPU\d)\s+\(1\s*<<\s*(\d)\)", text)}
    return {"structs": structs, "enums": enums, "callbacks": callbacks, "functions": functions, "defines": defines}


# --------------------------------------------------------------------------- C type -> ctypes

SIMPLE = {"int32_t": ctypes.c_int32, "int8_t": ctypes.c_int8, "uint8_t": ctypes.c_uint8, "uint32_t": ctypes.c_uint32,
          "uint64_t": ctypes.c_uint64, "float": ctypes.c_float, "bool": ctypes.c_bool, "size_t": ctypes.c_size_t,
          "int": ctypes.c_int}


def expected_ctype(h, ctype: str, enums):
    t = ctype.replace("const ", "").strip()
    if t in ("char *",):
        return ctypes.c_char_p
    if t == "void *":
        return ctypes.c_void_p
    if t in enums:
        return ctypes.c_int  # a C enum is an int
    if t.endswith(" *"):
        return POINTER(expected_ctype(h, t[:-2], enums))
    m = re.match(r"(\w+)\[(\d+)\]$", t)
    if m:
        return SIMPLE[m.group(1)] * int(m.group(2))
    if t in SIMPLE:
        return SIMPLE[t]
    return getattr(h, t)  # a typedef: struct, LLMHandle or a callback type


def _same_type(got, want) -> bool:
    if got is want:
        return True
    if isinstance(want, type) and issubclass(want, ctypes.Array):
        return issubclass(got, ctypes.Array) and got._type_ is want._type_ and got._length_ == want._length_
    return False


def _param_type(arg: str) -> str:
    """The C type of one parameter declaration (``const char* text`` -> ``const char *``)."""
    arg = " ".join(arg.replace("*", " * ").split())
    return re.sub(r"\s*\b\w+$", "", arg) if len(arg.split()) > 1 and not arg.endswith("*") else arg


@pytest.fixture(scope="module", params=RELEASES)
def release(request):
    return request.param


# --------------------------------------------------------------------------- names, order, types

def test_every_struct_of_the_header_is_mirrored_field_by_field(release):
    h, hdr = MODULES[release], parse_header(release)
    assert sorted(hdr["structs"]) == sorted(c.__name__ for c in h.STRUCTS if "_" not in c.__name__)

    def check(cls, fields, where):
        names = [n for n, _ in cls._fields_]
        anon = set(getattr(cls, "_anonymous_", ()))
        want_names = [n if n is not None else next(iter(anon)) for n, _ in fields]
        assert names == want_names, where
        for (name, ctype), (fname, ftype) in zip(fields, cls._fields_):
            if isinstance(ctype, tuple):  # a nested block: struct image {...} / union {...}
                kind, inner = ctype
                assert issubclass(ftype, ctypes.Union if kind == "union" else ctypes.Structure), where
                assert ftype.__name__ == f"{cls.__name__}_{name or 'union'}"
                check(ftype, inner, f"{where}.{fname}")
            else:
                want = expected_ctype(h, ctype, hdr["enums"])
                assert _same_type(ftype, want), f"{where}.{name}: {ftype} is not {ctype}"

    for name, fields in hdr["structs"].items():
        check(getattr(h, name), fields, f"{release}:{name}")


def test_enums_defines_and_callbacks(release):
    h, hdr = MODULES[release], parse_header(release)
    assert set(hdr["enums"]) == {"LLMCallState", "RKLLMInputType", "RKLLMInferMode"}
    for values in hdr["enums"].values():
        for const, value in values.items():
            assert getattr(h, const) == value, const
    assert hdr["defines"] == {f"CPU{i}": i for i in range(8)}
    assert all(getattr(h, f"CPU{i}") == 1 << i for i in range(8))
    expected = {"1.2.3": {"LLMResultCallback"},
                "1.3.0": {"LLMResultCallback", "LLMGetEmbedCallback", "LLMTokenizerCallback"}}[release]
    assert set(hdr["callbacks"]) == expected
    for name, args in hdr["callbacks"].items():
        cb = getattr(h, name)
        assert cb._restype_ is ctypes.c_int
        assert list(cb._argtypes_) == [expected_ctype(h, _param_type(a), hdr["enums"]) for a in args], name
    # 1.3.0's tokenizer / embedding callbacks are typed, not void*
    if release == "1.3.0":
        assert dict(h.RKLLMCallback._fields_)["tokenizer_callback"] is h.LLMTokenizerCallback
        assert dict(h.RKLLMCallback._fields_)["embed_callback"] is h.LLMGetEmbedCallback


def test_all_fifteen_functions_with_the_header_signatures(release):
    h, hdr = MODULES[release], parse_header(release)
    assert len(hdr["functions"]) == 15
    assert list(h.FUNCTIONS) == list(hdr["functions"])  # same names, header order
    for name, (ret, args) in hdr["functions"].items():
        argtypes, restype = h.FUNCTIONS[name]
        want = [expected_ctype(h, _param_type(a), hdr["enums"]) for a in args]
        assert list(argtypes) == want, name
        assert restype is expected_ctype(h, ret, hdr["enums"]), name


# --------------------------------------------------------------------------- sizeof / offsetof / _Alignof by gcc

def _c_probe(h) -> str:
    """C statements printing the layout of every class in ``h.STRUCTS`` (names as ctypes sees them)."""
    lines = []

    def emit(cls, container: str, member: str | None):
        """``member`` None: the typedef itself; "": the anonymous union; else the nested struct member."""
        name = cls.__name__
        if member is None:
            size, align, base = f"sizeof({container})", f"_Alignof({container})", "0"
        elif member == "":  # anonymous union: its members are the container's; it is the last member
            first = cls._fields_[0][0]
            base = f"offsetof({container}, {first})"
            size, align = f"(sizeof({container}) - {base})", f"_Alignof({container})"
        else:
            base = f"offsetof({container}, {member})"
            size = f"sizeof((({container}*)0)->{member})"
            align = f"_Alignof(__typeof__((({container}*)0)->{member}))"
        lines.append(f'printf("S {name} %zu %zu\\n", (size_t){size}, (size_t){align});')
        prefix = f"{member}." if member else ""
        for fname, ftype in cls._fields_:
            if fname in getattr(cls, "_anonymous_", ()):
                emit(ftype, container, "")
                lines.append(f'printf("F {name}.{fname} %zu %zu\\n", (size_t)offsetof({container}, '
                             f'{ftype._fields_[0][0]}), (size_t)(sizeof({container}) - offsetof({container}, '
                             f'{ftype._fields_[0][0]})));')
                continue
            off = f"(offsetof({container}, {prefix}{fname}) - {base})"
            lines.append(f'printf("F {name}.{fname} %zu %zu\\n", (size_t){off}, '
                         f'(size_t)sizeof((({container}*)0)->{prefix}{fname}));')

    for cls in h.STRUCTS:
        if "_" in cls.__name__:
            continue  # nested blocks are emitted through their container
        emit(cls, cls.__name__, None)
        for fname, ftype in cls._fields_:
            if fname not in getattr(cls, "_anonymous_", ()) and ftype.__name__ == f"{cls.__name__}_{fname}":
                emit(ftype, cls.__name__, fname)
    return ("#include <stddef.h>\n#include <stdio.h>\n#include \"rkllm.h\"\nint main(void) {\n    "
            + "\n    ".join(lines) + "\n    return 0;\n}\n")


def _ctypes_layout(h) -> set[tuple]:
    out = set()
    for cls in h.STRUCTS:
        out.add(("S", cls.__name__, ctypes.sizeof(cls), ctypes.alignment(cls)))
        for fname, ftype in cls._fields_:
            out.add(("F", f"{cls.__name__}.{fname}", getattr(cls, fname).offset, ctypes.sizeof(ftype)))
    return out


@pytest.fixture(scope="module")
def gcc_layout(release, tmp_path_factory):
    require_vendor(f"v{release}", "rkllm.h")
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed: cannot compile the layout probe")
    d = tmp_path_factory.mktemp(f"layout_{release.replace('.', '_')}")
    src, exe = d / "probe.c", d / "probe"
    src.write_text(_c_probe(MODULES[release]))
    proc = subprocess.run([gcc, "-std=gnu11", f"-I{SHIM}", f"-I{header_dir(release)}", "-o", str(exe), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = set()
    for line in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines():
        kind, name, a, b = line.split()
        rows.add((kind, name, int(a), int(b)))
    return rows


def test_sizeof_offsetof_alignof_equal_gcc_on_the_real_header(release, gcc_layout):
    mine = _ctypes_layout(MODULES[release])
    assert {r[:2] for r in mine} == {r[:2] for r in gcc_layout}  # every struct and field probed
    assert mine == gcc_layout, sorted(mine ^ gcc_layout)


def test_known_anchor_sizes(release, gcc_layout):
    """The two numbers the ABI detection relies on, straight from gcc."""
    sizes = {name: size for kind, name, size, _ in gcc_layout if kind == "S"}
    assert sizes["RKLLMParam"] == {"1.2.3": 208, "1.3.0": 184}[release]
    offsets = {name: off for kind, name, off, _ in gcc_layout if kind == "F"}
    assert offsets["RKLLMParam.extend_param"] == {"1.2.3": 88, "1.3.0": 60}[release]
