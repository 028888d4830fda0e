#!/usr/bin/env python3
"""Generates src/tokenizers/unicode_tables.inc: the Unicode data attn's tokenizers need.

    pip install tokenizers==0.23.3 && python3 scripts/make_unicode_tables.py

What the tables hold, per code point:
  * property bits (see kProp* in src/tokenizers/unicode.h): \\p{L}, \\p{N} and \\s as the pre-tokenizer
    regexes see them; BERT's whitespace, punctuation and control classes; the marks BERT's accent stripping removes (Mn)
    and those the StripAccents normalizer removes (any M);
  * the canonical combining class (for NFD's canonical reordering);
  * the full canonical decomposition (NFD of the single code point; Hangul syllables are left to the
    algorithm in unicode.cpp);
  * the simple-or-full lowercase mapping of the single code point (Rust's char::to_lowercase).

Why probe the `tokenizers` library instead of reading only `unicodedata`: the goal is ids identical to
that library, and it does not use one Unicode version. Its BERT normalizer and pre-tokenizer use the
frozen tables of the `unicode_categories` crate (about Unicode 8: e.g. U+2E4F is punctuation in Python's
tables but not in BERT's), its regexes use Oniguruma's tables, and its lowercase and NFD come from
Rust's std and the unicode-normalization crate. So each class is read off the library itself, one code
point at a time, and `unicodedata` supplies only what the library does not expose (combining classes).
No third-party code is vendored: the output is data.
"""
import pathlib
import sys
import unicodedata

from tokenizers import normalizers, pre_tokenizers

OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "tokenizers" / "unicode_tables.inc"

# Bit numbers: keep in sync with src/tokenizers/unicode.h.
L, N, S, BERT_SPACE, BERT_PUNCT, BERT_CONTROL, MN, MARK = (1 << i for i in range(8))


def code_points():
    return [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]


def probe_props(cps):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bert_pre = pre_tokenizers.BertPreTokenizer()
    bert_clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                            strip_accents=False, lowercase=False)
    bert_strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                            strip_accents=True, lowercase=False)
    strip = normalizers.StripAccents()
    props = bytearray(0x110000)
    for c in cps:
        ch = chr(c)
        p = 0
        if len(byte_level.pre_tokenize_str("a" + ch)) == 1:
            p |= L
        elif len(byte_level.pre_tokenize_str("1" + ch)) == 1:
            p |= N
        elif c == 0x20 or len(byte_level.pre_tokenize_str("x" + ch + ch + "y")) == 4:
            p |= S
        pieces = bert_pre.pre_tokenize_str("a" + ch + "b")
        if len(pieces) == 2 and pieces[0][0] == "a" and pieces[1][0] == "b":
            p |= BERT_SPACE
        elif len(pieces) == 3:
            p |= BERT_PUNCT
        if bert_clean.normalize_str("a" + ch + "b") == "ab":
            p |= BERT_CONTROL
        if bert_strip.normalize_str(ch) == "":
            p |= MN
        if strip.normalize_str(ch) == "":
            p |= MARK
        props[c] = p
    return props


def two_stage(values, block=256):
    """Deduplicated blocks: stage1[cp >> 8] is a block index, stage2[block * 256 + (cp & 255)]."""
    blocks, index, stage1 = [], {}, []
    for start in range(0, 0x110000, block):
        key = bytes(values[start:start + block])
        if key not in index:
            index[key] = len(blocks)
            blocks.append(key)
        stage1.append(index[key])
    return stage1, b"".join(blocks)


def c_array(ctype, name, values, per_line=24):
    lines = [f"constexpr {ctype} {name}[{len(values)}] = {{"]
    for i in range(0, len(values), per_line):
        lines.append("  " + ",".join(str(v) for v in values[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    cps = code_points()
    props = probe_props(cps)
    ccc = bytearray(0x110000)
    for c in cps:
        ccc[c] = unicodedata.combining(chr(c))
    nfd, lower = normalizers.NFD(), normalizers.Lowercase()
    decomp_cps, decomp_ranges, pool = [], [], []
    lower_pairs, lower_multi = [], []
    for c in cps:
        ch = chr(c)
        if not 0xAC00 <= c <= 0xD7A3:
            d = nfd.normalize_str(ch)
            if d != ch:
                decomp_cps.append(c)
                decomp_ranges.append(len(pool) << 4 | len(d))
                pool.extend(ord(x) for x in d)
        lo = lower.normalize_str(ch)
        if lo != ch:
            if len(lo) == 1:
                lower_pairs.append((c, ord(lo)))
            else:
                lower_multi.append((c, [ord(x) for x in lo]))
    assert max(len(m) for _, m in lower_multi) <= 3 and all(r & 15 for r in decomp_ranges)
    p1, p2 = two_stage(props)
    c1, c2 = two_stage(ccc)
    parts = [
        "// Generated by scripts/make_unicode_tables.py from the `tokenizers` library and Python's",
        f"// unicodedata {unicodedata.unidata_version}. Do not edit: rerun the script.",
        "// clang-format off",
        c_array("uint16_t", "kPropStage1", p1),
        c_array("uint8_t", "kPropStage2", list(p2), 64),
        c_array("uint16_t", "kCccStage1", c1),
        c_array("uint8_t", "kCccStage2", list(c2), 64),
        c_array("uint32_t", "kDecompCodePoints", decomp_cps, 12),
        c_array("uint32_t", "kDecompRanges", decomp_ranges, 12),
        c_array("uint32_t", "kDecompPool", pool, 12),
        c_array("uint32_t", "kLowerFrom", [a for a, _ in lower_pairs], 12),
        c_array("uint32_t", "kLowerTo", [b for _, b in lower_pairs], 12),
        c_array("uint32_t", "kLowerMultiFrom", [a for a, _ in lower_multi], 12),
        c_array("uint32_t", "kLowerMultiTo", [x for _, m in lower_multi for x in (m + [0, 0, 0])[:3]], 12),
        "// clang-format on",
        "",
    ]
    OUT.write_text("\n".join(parts))
    print(f"wrote {OUT}: {len(p2) // 256} property blocks, {len(decomp_cps)} decompositions, "
          f"{len(lower_pairs)}+{len(lower_multi)} lowercase mappings", file=sys.stderr)


if __name__ == "__main__":
    main()
