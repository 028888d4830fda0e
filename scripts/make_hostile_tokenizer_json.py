#!/usr/bin/env python3
"""Writes tests/hostile/tokenizer_json/: malformed tokenizer.json files and EXPECT.tsv.

    python3 scripts/make_hostile_tokenizer_json.py

Each file breaks one rule; EXPECT.tsv says, per file, a piece of the field path and a piece of the
bad value that the FormatError message must name (besides the file's own name). tests/tokenizers/
hostile_test.cpp loads every file listed and checks exactly that. Files found by the fuzzer are added
by hand to the same folder and manifest.
"""
import copy
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "hostile" / "tokenizer_json"

BASE = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [{"id": 3, "content": "<unk>", "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": None,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
              "vocab": {"a": 0, "b": 1, "ab": 2, "<unk>": 3}, "merges": ["a b"]},
}
WORDPIECE = {
    "added_tokens": [],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "a": 1, "##b": 2}},
}


def edit(base, fn):
    j = copy.deepcopy(base)
    fn(j)
    return json.dumps(j, ensure_ascii=False).encode()


def setk(path, value, base=BASE):
    def fn(j):
        node = j
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return edit(base, fn)


def delk(path, base=BASE):
    def fn(j):
        node = j
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return edit(base, fn)


def cases():
    valid = json.dumps(BASE).encode()
    c = {}
    # name: (bytes, field piece, value piece)
    c["not_json.json"] = (b"hello, tokenizer", "(root)", "not valid JSON")
    c["truncated.json"] = (valid[: len(valid) // 2], "(root)", "not valid JSON")
    c["empty.json"] = (b"", "(root)", "not valid JSON")
    c["deep_nesting.json"] = (b"[" * 5000 + b"]" * 5000, "nesting", "64")
    c["deep_object_nesting.json"] = (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nesting", "64")
    c["root_array.json"] = (b"[1, 2, 3]", "(root)", "[1,2,3]")
    c["invalid_utf8_token.json"] = (valid.replace(b'"ab"', b'"a\xff"'), "(root)", "UTF-8")
    c["lone_surrogate.json"] = (valid.replace(b'"ab"', b'"\\ud800"'), "(root)", "surrogate")
    c["missing_model.json"] = (delk(["model"]), "model", "missing")
    c["model_number.json"] = (setk(["model"], 5), "model", "5")
    c["model_unigram.json"] = (setk(["model", "type"], "Unigram"), "model.type", "Unigram")
    c["model_type_number.json"] = (setk(["model", "type"], 7), "model.type", "7")
    c["vocab_array.json"] = (setk(["model", "vocab"], ["a", "b"]), "model.vocab", '["a","b"]')
    c["vocab_negative_id.json"] = (setk(["model", "vocab", "a"], -1), 'model.vocab["a"]', "-1")
    c["vocab_id_2pow64.json"] = (valid.replace(b'"a": 0', b'"a": 18446744073709551615'), 'model.vocab["a"]',
                                 "18446744073709551615")
    c["vocab_id_float.json"] = (setk(["model", "vocab", "a"], 1.5), 'model.vocab["a"]', "1.5")
    c["vocab_id_string.json"] = (setk(["model", "vocab", "a"], "0"), 'model.vocab["a"]', '"0"')
    c["vocab_duplicate_id.json"] = (setk(["model", "vocab", "b"], 0), "already belongs", "0")
    c["vocab_id_gap.json"] = (setk(["model", "vocab", "ab"], 7), 'model.vocab["ab"]', "7")
    c["vocab_empty_token.json"] = (edit(BASE, lambda j: j["model"]["vocab"].update({"": 4})), "model.vocab", "empty token")
    c["merges_not_array.json"] = (setk(["model", "merges"], "a b"), "model.merges", '"a b"')
    c["merge_no_space.json"] = (setk(["model", "merges"], ["ab"]), "model.merges[0]", '"ab"')
    c["merge_three_parts.json"] = (setk(["model", "merges"], ["a b c"]), "model.merges[0]", '"a b c"')
    c["merge_unknown_token.json"] = (setk(["model", "merges"], ["a z"]), "model.merges[0]", '"a z"')
    c["merge_result_missing.json"] = (setk(["model", "merges"], ["a b", "b a"]), "model.merges[1]", '"b a"')
    c["merge_number.json"] = (setk(["model", "merges"], [7]), "model.merges[0]", "7")
    c["unk_not_in_vocab.json"] = (setk(["model", "unk_token"], "<oov>"), "model.unk_token", "<oov>")
    c["dropout.json"] = (setk(["model", "dropout"], 0.1), "model.dropout", "0.1")
    c["fuse_unk_string.json"] = (setk(["model", "fuse_unk"], "yes"), "model.fuse_unk", '"yes"')
    c["wordpiece_no_unk.json"] = (delk(["model", "unk_token"], WORDPIECE), "model.unk_token", "null")
    c["wordpiece_max_chars_zero.json"] = (setk(["model", "max_input_chars_per_word"], 0, WORDPIECE),
                                          "model.max_input_chars_per_word", "0")
    c["wordpiece_byte_level.json"] = (setk(["pre_tokenizer"], {"type": "ByteLevel"}, WORDPIECE), "pre_tokenizer", "ByteLevel")
    c["added_tokens_object.json"] = (setk(["added_tokens"], {"id": 1}), "added_tokens", '{"id":1}')
    c["added_token_negative_id.json"] = (setk(["added_tokens", 0, "id"], -5), "added_tokens[0].id", "-5")
    c["added_token_empty.json"] = (setk(["added_tokens", 0, "content"], ""), "added_tokens[0].content", "empty")
    c["added_token_mismatch.json"] = (setk(["added_tokens", 0, "content"], "<mask>"), "added_tokens[0]", "<mask>")
    c["added_token_special_string.json"] = (setk(["added_tokens", 0, "special"], "true"), "added_tokens[0].special", '"true"')
    c["added_token_id_far.json"] = (setk(["added_tokens", 0, "id"], 1 << 40), "added_tokens[0].id", str(1 << 40))
    c["added_token_id_gap.json"] = (setk(["added_tokens", 0, "id"], (1 << 24) - 1), "added_tokens[0].id",
                                    str((1 << 24) - 1))
    c["normalizer_nfkc.json"] = (setk(["normalizer"], {"type": "NFKC"}), "normalizer.type", "NFKC")
    c["normalizer_sequence_not_array.json"] = (setk(["normalizer"], {"type": "Sequence", "normalizers": {}}),
                                               "normalizer.normalizers", "{}")
    c["bert_normalizer_lowercase_int.json"] = (setk(["normalizer", "lowercase"], 1, WORDPIECE), "normalizer.lowercase", "1")
    c["replace_regex.json"] = (setk(["normalizer"], {"type": "Replace", "pattern": {"Regex": "a+"}, "content": "b"}),
                               "normalizer.pattern", "Regex")
    c["split_unknown_regex.json"] = (setk(["pre_tokenizer"], {"type": "Split", "pattern": {"Regex": "\\w+"},
                                                             "behavior": "Isolated", "invert": False}),
                                     "pre_tokenizer.pattern.Regex", "\\\\w+")
    c["split_behavior.json"] = (setk(["pre_tokenizer"], {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
                                                        "behavior": "Removed", "invert": False}),
                                "pre_tokenizer.behavior", "Removed")
    c["metaspace_scheme.json"] = (setk(["pre_tokenizer"], {"type": "Metaspace", "replacement": "▁",
                                                          "prepend_scheme": "sometimes", "split": True}),
                                  "pre_tokenizer.prepend_scheme", "sometimes")
    c["metaspace_empty_replacement.json"] = (setk(["pre_tokenizer"], {"type": "Metaspace", "replacement": "",
                                                                     "prepend_scheme": "always"}),
                                             "pre_tokenizer.replacement", '""')
    c["pre_tokenizer_no_type.json"] = (setk(["pre_tokenizer"], {"add_prefix_space": True}), "pre_tokenizer.type", "missing")
    c["pre_tokenizer_unknown.json"] = (setk(["pre_tokenizer"], {"type": "UnicodeScripts"}), "pre_tokenizer.type", "UnicodeScripts")
    c["decoder_strip_negative.json"] = (setk(["decoder"], {"type": "Strip", "content": " ", "start": -1, "stop": 0}),
                                        "decoder.start", "-1")
    c["decoder_unknown.json"] = (setk(["decoder"], {"type": "CTC"}), "decoder.type", "CTC")
    c["template_unknown_special.json"] = (setk(["post_processor"], {
        "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {}}), "post_processor.single[0].SpecialToken.id", "<s>")
    c["template_id_out_of_vocab.json"] = (setk(["post_processor"], {
        "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [99999], "tokens": ["<s>"]}}}), "post_processor", "99999")
    c["template_no_sequence.json"] = (setk(["post_processor"], {
        "type": "TemplateProcessing", "single": [], "special_tokens": {}}), "post_processor.single", "[]")
    c["bert_processing_bad_pair.json"] = (setk(["post_processor"], {"type": "BertProcessing", "sep": ["[SEP]"],
                                                                   "cls": ["[CLS]", 1]}), "post_processor.sep", '["[SEP]"]')
    c["deep_sequence.json"] = (setk(["normalizer"], json.loads('{"type":"Sequence","normalizers":[' * 80 + ']}' * 80)),
                               "nesting", "64")
    return c


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rows = ["# file\tfield (a piece of the FormatError message)\tvalue (another piece)"]
    for name, (data, field, value) in sorted(cases().items()):
        (OUT / name).write_bytes(data)
        rows.append(f"{name}\t{field}\t{value}")
    (OUT / "EXPECT.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows) - 1} files to {OUT}")


if __name__ == "__main__":
    main()
