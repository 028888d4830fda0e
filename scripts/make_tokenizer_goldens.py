#!/usr/bin/env python3
"""Makes the tokenizer goldens in tests/golden/tokenizers/ with the Hugging Face `tokenizers` library.

    scripts/fetch-models.sh                  # the real tokenizers (MiniLM tokenizer.json, SmolLM2 GGUF)
    pip install tokenizers==0.23.3 gguf      # the reference and a GGUF reader
    python3 scripts/make_tokenizer_corpus.py # corpus.txt (committed)
    python3 scripts/make_tokenizer_goldens.py

Writes, for each tokenizer NAME, NAME.ids (one line per corpus line: the ids, space-separated, no
special tokens added) and NAME.decoded (HF's decode of those ids, escaped like corpus.txt):
  minilm        all-MiniLM-L6-v2's tokenizer.json (WordPiece, BERT uncased), truncation/padding off
  minilm_cased  the same vocabulary with BertNormalizer(lowercase=False, strip_accents=False)
  smollm2       SmolLM2-135M-Instruct's byte-level BPE, rebuilt from the GGUF's tokenizer.ggml.*
                metadata exactly as its tokenizer.json has it (Digits(individual) + ByteLevel)
  gpt2_small    a small GPT-2-style byte-level BPE trained here on the corpus   (gpt2_small.json)
  llama3_small  a small Llama-3-style BPE (Split regex + ByteLevel, ignore_merges) (llama3_small.json)
  llama2_small  a small Llama-2-style SentencePiece BPE (Prepend/Replace ▁, byte fallback) (llama2_small.json)
  marian_small  a small Marian-style BPE with the Metaspace pre-tokenizer           (marian_small.json)
(NAME.decoded only where decode is not the identity) and special.txt: a few lines encoded with add_special_tokens=True.
"""
import os
import pathlib

import gguf
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "golden" / "tokenizers"
GPT2_RE = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_RE = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
             r"""\s*[\r\n]+|\s+(?!\S)|\s+""")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "r": "\r", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def escape(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def corpus():
    text = (GOLD / "corpus.txt").read_text(encoding="utf-8")
    return [unescape(line) for line in text.split("\n")[:-1]]


def model_paths():
    d = pathlib.Path(os.environ.get("ATTN_MODEL_DIR", pathlib.Path.home() / ".cache" / "attn" / "models"))
    env = {}
    for line in (d / "paths.env").read_text().splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


def smollm2_from_gguf(path):
    """SmolLM2's tokenizer.json, rebuilt from the GGUF metadata."""
    r = gguf.GGUFReader(path)
    f = r.fields
    tokens = f["tokenizer.ggml.tokens"].contents()
    merges = f["tokenizer.ggml.merges"].contents()
    types = f["tokenizer.ggml.token_type"].contents()
    assert f["tokenizer.ggml.model"].contents() == "gpt2" and f["tokenizer.ggml.pre"].contents() == "smollm"
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab, [tuple(m.split(" ")) for m in merges], fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([tokens[i] for i, t in enumerate(types) if t == 3])
    return tok


def train(tok, lines, vocab_size, special, **kw):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False, **kw)
    tok.train_from_iterator(lines, trainer)
    return tok


def gpt2_small(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return train(tok, lines, 1200, ["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def llama3_small(lines):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok = train(tok, lines, 1200, ["<|begin_of_text|>", "<|end_of_text|>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[
        ("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    return tok


def llama2_small(lines):
    """Llama-2 layout: <unk> <s> </s>, then <0x00>..<0xFF>, then the merged pieces; byte fallback."""
    norm = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    base = Tokenizer(models.BPE())
    base.normalizer = norm
    base = train(base, lines, 900, [], limit_alphabet=120)
    learned = base.get_vocab()
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, _ in sorted(learned.items(), key=lambda kv: kv[1]):
        vocab.setdefault(t, len(vocab))
    import json
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
              for m in json.loads(base.to_str())["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = norm
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def marian_small(lines):
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok = train(tok, lines, 1000, ["<pad>", "</s>", "<unk>"], limit_alphabet=150)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return tok


def write(name, tok, lines):
    """NAME.ids always; NAME.decoded only when HF's decode is not the identity on the corpus (the
    byte-level tokenizers round-trip every line: asserted here, checked again by the C++ tests)."""
    encs = tok.encode_batch(lines, add_special_tokens=False)
    with open(GOLD / f"{name}.ids", "w") as f:
        f.write("".join(" ".join(map(str, e.ids)) + "\n" for e in encs))
    decoded = [tok.decode(e.ids) for e in encs]
    path = GOLD / f"{name}.decoded"
    if decoded == lines:
        path.unlink(missing_ok=True)
        print(f"{name}: decode(encode(x)) == x on all {len(lines)} lines")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(escape(d) + "\n" for d in decoded))


def main():
    lines = corpus()
    paths = model_paths()
    minilm = Tokenizer.from_file(paths["ATTN_MINILM_TOKENIZER"])
    minilm.no_truncation()
    minilm.no_padding()
    cased = Tokenizer.from_str(minilm.to_str())
    cased.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    small = {"gpt2_small": gpt2_small(lines), "llama3_small": llama3_small(lines),
             "llama2_small": llama2_small(lines), "marian_small": marian_small(lines)}
    for name, tok in small.items():
        tok.save(str(GOLD / f"{name}.json"))
        small[name] = Tokenizer.from_file(str(GOLD / f"{name}.json"))  # goldens from the file as committed
        write(name, small[name], lines)
    write("minilm", minilm, lines)
    write("minilm_cased", cased, lines)
    smol = smollm2_from_gguf(paths["ATTN_SMOLLM2_GGUF"])
    write("smollm2", smol, lines)
    with open(GOLD / "special.txt", "w", encoding="utf-8") as f:
        f.write("# name<TAB>escaped text<TAB>ids with add_special_tokens=True\n")
        for name, tok in [("minilm", minilm), *small.items()]:
            for text in lines[:6] + ["[CLS] x [SEP]", "<s></s>"]:
                ids = tok.encode(text, add_special_tokens=True).ids
                f.write(f"{name}\t{escape(text)}\t{' '.join(map(str, ids))}\n")
    print("wrote goldens to", GOLD)


if __name__ == "__main__":
    main()
