#!/usr/bin/env python3
"""scripts/make_io_fixtures.py — golden and hostile files for the io tests (safetensors, GGUF).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r scripts/requirements-goldens.txt
    /tmp/venv/bin/python scripts/make_io_fixtures.py          # rewrites tests/golden/io, tests/hostile

Writes, with a fixed seed (the output is deterministic):
  tests/golden/io/st_python.safetensors    made by the `safetensors` package: many dtypes + metadata;
                                           values follow formulas the C++ test recomputes
  tests/golden/io/st_roundtrip.safetensors made by the package from attn-writable dtypes only; attn's
                                           writer must reproduce it byte for byte
  tests/golden/io/dequant.gguf             made by the `gguf` package: one tensor per dequantisable
                                           type (random blocks, sane scales) + every metadata type
  tests/golden/io/dequant.v2.gguf          the same file with version 2 in the header
  tests/golden/io/dequant_expected.safetensors  gguf.quants.dequantize of each tensor (f32)
  tests/hostile/safetensors/*.safetensors, tests/hostile/gguf/*.gguf  malformed files, and
  tests/hostile/<format>/expected.tsv      file<TAB>field<TAB>value that the FormatError must name
The tests never run Python; they read these committed files.
"""
import json
import os
import struct
import sys

import numpy as np
import safetensors.numpy as stn
import gguf
from gguf import GGMLQuantizationType as Q

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "io")
HOSTILE = os.path.join(ROOT, "tests", "hostile")
U64 = 2**64 - 1


def st_python():
    n = np.arange(24)
    tensors = {
        "f32": (n.reshape(2, 3, 4) * 0.25 - 1).astype(np.float32),
        "f16": (n[:6].reshape(3, 2) * 0.5).astype(np.float16),
        "f64": (n[:5] / 3).astype(np.float64),
        "i64": (n[:4] * -1000000007).astype(np.int64),
        "i32": (n[:6] - 3).astype(np.int32),
        "i16": (n[:3] - 1).astype(np.int16),
        "i8": (n[:4] - 2).astype(np.int8),
        "u8": (n[:5] * 50).astype(np.uint8),
        "bool": (n[:4] % 2 == 0),
        "scalar": np.array(7.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    stn.save_file(tensors, os.path.join(GOLDEN, "st_python.safetensors"), metadata={"format": "pt", "note": "ünïcode ✓"})
    rt = {
        "weight": (np.arange(12).reshape(3, 4) * 0.125).astype(np.float32),
        "bias": np.array([1.5, -2.0], dtype=np.float16),
        "ids": np.array([1, 2, 3], dtype=np.int64),
        "mask": np.array([[1, 0], [0, 1]], dtype=np.int32),
        "a.b": np.array([3.0], dtype=np.float32),
    }
    stn.save_file(rt, os.path.join(GOLDEN, "st_roundtrip.safetensors"), metadata={"format": "pt"})


def random_blocks(qtype, n_blocks, rng):
    """Random quantised blocks whose fp16 scale fields hold small finite values."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)

    def put_f16(col, lo, hi):
        vals = rng.uniform(lo, hi, size=n_blocks).astype(np.float16)
        raw[:, col:col + 2] = vals.view(np.uint8).reshape(n_blocks, 2)

    if qtype in (Q.Q8_0, Q.Q4_0):
        put_f16(0, -0.05, 0.05)
    elif qtype == Q.Q4_1:
        put_f16(0, 0.001, 0.05)
        put_f16(2, -1.0, 1.0)
    elif qtype == Q.Q4_K:
        put_f16(0, 0.0001, 0.01)
        put_f16(2, 0.0001, 0.01)
    elif qtype == Q.Q6_K:
        put_f16(208, -0.01, 0.01)
    return raw


def gguf_fixture():
    rng = np.random.default_rng(1234)
    path = os.path.join(GOLDEN, "dequant.gguf")
    w = gguf.GGUFWriter(path, "llama")
    # Every metadata value type, and nested arrays.
    w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.15625); w.add_bool("t.bool", True)
    w.add_string("t.string", "héllo ✓")
    w.add_uint64("t.u64", 2**63 + 5); w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 1.0 / 3.0)
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_str", ["a", "", "ß"])
    w.add_array("t.arr_f32", [0.5, -1.25])
    w.add_array("t.arr_nested", [[1, 2], [3], [4, 5, 6]])
    w.add_key_value("t.arr_bool", [True, False, True], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.BOOL)
    expected = {}
    rows = 3
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q6_K):
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        ne0 = 512
        raw = random_blocks(qtype, rows * ne0 // block, rng).reshape(rows, ne0 // block * size)
        name = "w." + qtype.name.lower()
        w.add_tensor(name, raw, raw_dtype=qtype)
        expected[name] = gguf.quants.dequantize(raw, qtype).astype(np.float32)
    f32 = rng.standard_normal((rows, 40)).astype(np.float32)
    w.add_tensor("w.f32", f32)
    expected["w.f32"] = f32
    f16 = rng.standard_normal((2, 2, 10)).astype(np.float16)
    w.add_tensor("w.f16", f16)
    expected["w.f16"] = f16.astype(np.float32)
    bf16_bits = (rng.standard_normal((rows, 8)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    w.add_tensor("w.bf16", bf16_bits.view(np.uint8).reshape(rows, 16), raw_dtype=Q.BF16)
    expected["w.bf16"] = gguf.quants.dequantize(bf16_bits.view(np.uint8).reshape(rows, 16), Q.BF16).astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    stn.save_file({k: np.ascontiguousarray(v) for k, v in expected.items()},
                  os.path.join(GOLDEN, "dequant_expected.safetensors"))
    data = bytearray(open(path, "rb").read())
    data[4:8] = struct.pack("<I", 2)
    open(os.path.join(GOLDEN, "dequant.v2.gguf"), "wb").write(bytes(data))


# ---------------------------------------------------------------- hostile safetensors

def st_bytes(header, data=b"\0" * 8, length=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def ent(dtype="F32", shape=(2,), offs=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offs)}


def hostile_safetensors():
    a = {"a": ent()}
    cases = [
        ("empty", b"", "header length", "0 bytes"),
        ("short_prefix", b"\x10\0\0\0\0\0\0", "header length", "7 bytes"),
        ("len_u64_max", st_bytes(a, length=U64), "header length", "18446744073709551615"),
        ("len_over_limit", st_bytes(a, length=100_000_001), "header length", "100000001"),
        ("len_past_end", st_bytes(a, length=1000), "header length", "1000"),
        ("len_zero", st_bytes(b"", b"", length=0), "header", "length 0"),
        ("not_brace", st_bytes(b"[1,2]   "), "header", "0x5b"),
        ("bad_json", st_bytes(b'{"a":   '), "header", "invalid JSON"),
        ("bad_utf8_key", st_bytes(b'{"\xff":{}}'), "header", "invalid JSON"),
        ("lone_surrogate", st_bytes(b'{"\\ud800":{}}'), "header", "surrogate"),
        ("duplicate_name", st_bytes(b'{"a":' + json.dumps(ent()).encode() + b',"a":' + json.dumps(ent()).encode() + b'}'),
         "header", "duplicate key 'a'"),
        ("duplicate_field", st_bytes(b'{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}'),
         "header", "duplicate key 'dtype'"),
        ("deep_nesting", st_bytes({"__metadata__": {"x": {"y": {"z": {"w": {}}}}}}), "header", "nesting"),
        ("unknown_dtype", st_bytes({"a": ent(dtype="F33")}), "tensor 'a'.dtype", "F33"),
        ("dtype_number", st_bytes({"a": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}}), "tensor 'a'.dtype", "5"),
        ("missing_dtype", st_bytes({"a": {"shape": [2], "data_offsets": [0, 8]}}), "tensor 'a'.dtype", "missing"),
        ("missing_shape", st_bytes({"a": {"dtype": "F32", "data_offsets": [0, 8]}}), "tensor 'a'.shape", "missing"),
        ("missing_offsets", st_bytes({"a": {"dtype": "F32", "shape": [2]}}), "tensor 'a'.data_offsets", "missing"),
        ("shape_not_array", st_bytes({"a": {"dtype": "F32", "shape": 3, "data_offsets": [0, 8]}}), "tensor 'a'.shape", "3"),
        ("shape_negative", st_bytes({"a": ent(shape=(-1,))}), "tensor 'a'.shape[0]", "-1"),
        ("shape_float", st_bytes({"a": ent(shape=(2.5,))}), "tensor 'a'.shape[0]", "2.5"),
        ("shape_u64_max", st_bytes({"a": ent(shape=(U64,))}), "tensor 'a'.shape", "18446744073709551615"),
        ("shape_product_overflow", st_bytes({"a": ent(shape=(2**32, 2**32))}), "tensor 'a'.shape", "4294967296"),
        ("bytes_overflow", st_bytes({"a": ent(shape=(2**62,))}), "tensor 'a'.shape", "4611686018427387904"),
        # fuzz finding: a zero dimension hides an extent that overflows the strides
        ("zero_dim_extent_overflow", st_bytes({"a": ent(shape=(0, 2**62, 2**62), offs=(0, 0))}, b""), "tensor 'a'.shape",
         "4611686018427387904"),
        ("offsets_arity", st_bytes({"a": ent(offs=(0,))}), "tensor 'a'.data_offsets", "[0]"),
        ("offsets_negative", st_bytes({"a": ent(offs=(-8, 0))}), "tensor 'a'.data_offsets[0]", "-8"),
        ("number_overflow", st_bytes(b'{"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,8]}}'), "header",
         "number overflow"),
        ("offsets_float", st_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1e30]}}),
         "tensor 'a'.data_offsets[1]", "1e+30"),
        ("begin_after_end", st_bytes({"a": ent(offs=(8, 0))}), "tensor 'a'.data_offsets", "begin 8 > end 0"),
        ("end_past_data", st_bytes({"a": ent(offs=(0, 16))}), "tensor 'a'.data_offsets", "end 16"),
        ("end_u64_max", st_bytes({"a": ent(offs=(0, U64))}), "tensor 'a'.data_offsets", "18446744073709551615"),
        ("truncated_data", st_bytes(a, b"\0" * 4), "tensor 'a'.data_offsets", "end 8"),
        ("size_mismatch", st_bytes({"a": ent(shape=(3,))}), "tensor 'a'.data_offsets", "needs 12"),
        ("overlap", st_bytes({"a": ent(), "b": ent(offs=(4, 12))}, b"\0" * 12), "tensor 'b'.data_offsets", "overlaps"),
        ("gap", st_bytes({"a": ent(), "b": ent(offs=(12, 20))}, b"\0" * 20), "tensor 'b'.data_offsets", "gap"),
        ("trailing_bytes", st_bytes(a, b"\0" * 12), "data section", "12 bytes"),
        ("metadata_not_object", st_bytes({"__metadata__": "x", "a": ent()}), "__metadata__", '"x"'),
        ("metadata_value_number", st_bytes({"__metadata__": {"k": 1}, "a": ent()}), "__metadata__.k", "1"),
        ("entry_not_object", st_bytes({"a": 5}), "tensor 'a'", "5"),
        ("truncated_header", st_bytes(a)[:20], "header length", "past the end"),
    ]
    return cases


# ---------------------------------------------------------------- hostile GGUF

def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def tinfo(name, ne, ttype=0, offset=0, n_dims=None):
    n = len(ne) if n_dims is None else n_dims
    return gstr(name) + struct.pack("<I", n) + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", ttype, offset)


def gguf_bytes(kvs, infos, data=b"\0" * 16, version=3, n_tensors=None, n_kv=None, align=32):
    head = b"GGUF" + struct.pack("<IQQ", version, len(infos) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(infos)
    pad = (-len(body)) % align
    return body + b"\0" * pad + data


ARCH = kv("general.architecture", 8, gstr("llama"))
W = tinfo("w", [4])


def g(kvs=None, infos=None, **kw):
    return gguf_bytes([ARCH] if kvs is None else kvs, [W] if infos is None else infos, **kw)


def hostile_gguf():
    u32 = lambda v: struct.pack("<I", v)
    u64 = lambda v: struct.pack("<Q", v)
    nested = b""
    for _ in range(12):
        nested += u32(9) + u64(1)
    nested = u32(9) + u64(1) + nested + u32(0) + u64(0)
    cases = [
        ("empty", b"", "magic", "truncated"),
        ("bad_magic", b"GGML" + g()[4:], "magic", "GGML"),
        ("version_1", g(version=1), "version", "1 is not supported"),
        ("version_4", g(version=4), "version", "4 is not supported"),
        ("version_big_endian", g(version=0x03000000), "version", "50331648"),
        ("truncated_counts", g()[:12], "n_tensors", "truncated"),
        ("n_tensors_u64_max", g(n_tensors=U64), "n_tensors", "18446744073709551615"),
        ("n_tensors_2_60", g(n_tensors=2**60), "n_tensors", "1152921504606846976"),
        ("n_kv_u64_max", g(n_kv=U64), "n_kv", "18446744073709551615"),
        ("n_kv_too_many", g(n_kv=1000), "n_kv", "1000"),
        ("key_len_u64_max", g(kvs=[u64(U64) + b"x"]), "kv[0].key", "18446744073709551615"),
        ("key_len_wraps", g(kvs=[u64(U64 - 7) + b"x"]), "kv[0].key", "18446744073709551608"),
        ("key_len_past_end", g(kvs=[u64(1000) + b"abc"]), "kv[0].key", "string length 1000"),
        ("key_empty", g(kvs=[kv("", 4, u32(1))]), "kv[0].key", "empty key"),
        ("key_bad_utf8", g(kvs=[kv(b"k\xc0\xaf", 4, u32(1))]), "kv[0].key", "invalid UTF-8"),
        ("key_duplicate", g(kvs=[ARCH, ARCH]), "kv 'general.architecture'", "duplicate"),
        ("value_type_13", g(kvs=[kv("x", 13, u32(1))]), "kv 'x'.type", "13"),
        ("value_type_u32_max", g(kvs=[kv("x", 2**32 - 1, u32(1))]), "kv 'x'.type", "4294967295"),
        ("string_len_u64_max", g(kvs=[kv("x", 8, u64(U64) + b"abc")]), "kv 'x'", "18446744073709551615"),
        ("string_bad_utf8", g(kvs=[kv("x", 8, gstr(b"\xed\xa0\x80"))]), "kv 'x'", "invalid UTF-8"),
        ("array_count_u64_max", g(kvs=[kv("x", 9, u32(0) + u64(U64))]), "kv 'x'.count", "18446744073709551615"),
        ("array_count_overflow_u64", g(kvs=[kv("x", 9, u32(10) + u64(2**61))]), "kv 'x'.count", "2305843009213693952"),
        ("array_strings_count", g(kvs=[kv("x", 9, u32(8) + u64(2**59))]), "kv 'x'.count", "576460752303423488"),
        ("array_string_len", g(kvs=[kv("x", 9, u32(8) + u64(2) + gstr("a") + u64(U64))]), "kv 'x'", "18446744073709551615"),
        ("array_elem_type", g(kvs=[kv("x", 9, u32(99) + u64(1) + u32(0))]), "kv 'x'.elem_type", "99"),
        ("array_nesting", g(kvs=[kv("x", 9, nested)]), "kv 'x'", "nested 9 deep"),
        ("array_inner_count", g(kvs=[kv("x", 9, u32(9) + u64(1) + u32(4) + u64(2**62))]), "kv 'x'.count", "4611686018427387904"),
        ("bool_value_2", g(kvs=[kv("x", 7, b"\x02")]), "kv 'x'", "bool value 2"),
        ("bool_array_elem", g(kvs=[kv("x", 9, u32(7) + u64(2) + b"\x01\x05")]), "kv 'x'", "bool element 1 has value 5"),
        ("truncated_value", g(kvs=[kv("x", 10, b"\1\2\3")], infos=[], data=b"", align=1), "kv 'x'", "truncated"),
        ("alignment_zero", g(kvs=[kv("general.alignment", 4, u32(0))]), "kv 'general.alignment'", "0 is not a power of two"),
        ("alignment_48", g(kvs=[kv("general.alignment", 4, u32(48))]), "kv 'general.alignment'", "48 is not a power of two"),
        ("alignment_type", g(kvs=[kv("general.alignment", 8, gstr("32"))]), "kv 'general.alignment'", "type string"),
        ("tensor_name_len", g(infos=[u64(U64) + b"w"]), "tensor[0].name", "18446744073709551615"),
        ("tensor_name_bad_utf8", g(infos=[tinfo(b"w\xff", [4])]), "tensor[0].name", "invalid UTF-8"),
        ("tensor_duplicate", g(infos=[W, tinfo("w", [4], offset=32)], data=b"\0" * 48), "tensor 'w'", "duplicate"),
        ("n_dims_0", g(infos=[tinfo("w", [], n_dims=0)]), "tensor 'w'.n_dims", "0 is outside"),
        ("n_dims_5", g(infos=[tinfo("w", [1, 1, 1, 1, 4])]), "tensor 'w'.n_dims", "5 is outside"),
        ("n_dims_u32_max", g(infos=[tinfo("w", [4], n_dims=2**32 - 1)]), "tensor 'w'.n_dims", "4294967295"),
        ("ne_negative", g(infos=[tinfo("w", [2**63])]), "tensor 'w'.ne[0]", "9223372036854775808"),
        ("ne_product_overflow", g(infos=[tinfo("w", [2**32, 2**32])]), "tensor 'w'.ne[1]", "4294967296"),
        # fuzz finding (fuzz_gguf, UBSan in contiguous_strides): ne = [0, 2^62, 2^62] has 0 elements but
        # an extent past int64
        ("ne_zero_dim_extent_overflow", g(infos=[tinfo("w", [0, 2**62, 2**62])], data=b""), "tensor 'w'.ne[2]",
         "4611686018427387904"),
        ("ne_product_overflow_4d", g(infos=[tinfo("w", [2**31] * 4)]), "tensor 'w'.ne[2]", "2147483648"),
        ("type_42", g(infos=[tinfo("w", [4], ttype=42)]), "tensor 'w'.type", "42"),
        ("type_removed_4", g(infos=[tinfo("w", [32], ttype=4)]), "tensor 'w'.type", "4 is unknown"),
        ("type_u32_max", g(infos=[tinfo("w", [4], ttype=2**32 - 1)]), "tensor 'w'.type", "4294967295"),
        ("ne0_not_block_multiple", g(infos=[tinfo("w", [31], ttype=2)]), "tensor 'w'.ne[0]", "31 is not a multiple"),
        ("offset_misaligned", g(infos=[tinfo("w", [4], offset=4)]), "tensor 'w'.offset", "4 is not a multiple"),
        ("offset_past_end", g(infos=[tinfo("w", [4], offset=2**63)]), "tensor 'w'.offset", "9223372036854775808"),
        ("offset_plus_size_wraps", g(infos=[tinfo("w", [16], offset=2**64 - 32)], data=b"\0" * 64), "tensor 'w'.offset",
         "18446744073709551584"),
        ("data_truncated", g(data=b"\0" * 8), "tensor 'w'.offset", "runs past"),
        ("huge_tensor", g(infos=[tinfo("w", [2**40])]), "tensor 'w'.offset", "4398046511104"),
        ("tensors_overlap", g(infos=[tinfo("w", [8]), tinfo("v", [8])], data=b"\0" * 32), "tensor '", "overlaps"),
        ("truncated_tensor_info", g(infos=[W[:-10]], data=b"", align=1), "tensor 'w'.type", "truncated"),
        ("no_data_section", g(data=b"", align=1), "data section", "past the end"),
    ]
    return cases


# Inputs the fuzzers found (committed as found, kept across regenerations): file, field, value.
FUZZ_REGRESSIONS = {
    "gguf": [("fuzz_crash_zero_dim_extent.gguf", "tensor 'w'.ne[3]", "171798691840")],
    "safetensors": [("fuzz_crash_number_overflow.safetensors", "header", "number overflow")],
}


def write_cases(fmt, ext, cases):
    d = os.path.join(HOSTILE, fmt)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("fuzz_crash_"):
            os.remove(os.path.join(d, f))
    with open(os.path.join(d, "expected.tsv"), "w") as tsv:
        tsv.write("# file\tfield the FormatError names\tvalue it names (made by scripts/make_io_fixtures.py)\n")
        for name, data, field, value in cases:
            open(os.path.join(d, name + ext), "wb").write(data)
            tsv.write(f"{name}{ext}\t{field}\t{value}\n")
        for name, field, value in FUZZ_REGRESSIONS[fmt]:
            tsv.write(f"{name}\t{field}\t{value}\n")


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    st_python()
    gguf_fixture()
    write_cases("safetensors", ".safetensors", hostile_safetensors())
    write_cases("gguf", ".gguf", hostile_gguf())
    print("wrote", GOLDEN, "and", HOSTILE, file=sys.stderr)


if __name__ == "__main__":
    main()
