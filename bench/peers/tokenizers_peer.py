#!/usr/bin/env python3
"""Peer for bench/tokenizer.cpp: the Hugging Face `tokenizers` library on one thread.

    RAYON_NUM_THREADS=1 python3 bench/peers/tokenizers_peer.py CORPUS NAME=PATH...

PATH is a tokenizer.json or (for SmolLM2) a GGUF file, rebuilt into the library's tokenizer exactly as
scripts/make_tokenizer_goldens.py does. For each NAME it encodes the corpus lines with encode_batch
(parallelism off, so one thread) until at least --seconds have passed, after one warm-up pass (the
library caches words, as attn does), and prints one JSON line:
{"name": ..., "bytes_per_s": ..., "tokens_per_s": ..., "tokens": ..., "passes": ...}.
"""
import json
import os
import pathlib
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from make_tokenizer_goldens import smollm2_from_gguf, unescape  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402


def load(path):
    if path.endswith(".gguf"):
        return smollm2_from_gguf(path)
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    return tok


def main():
    args = sys.argv[1:]
    seconds = 1.0
    if args and args[0].startswith("--seconds="):
        seconds = float(args.pop(0).split("=")[1])
    corpus = pathlib.Path(args[0]).read_text(encoding="utf-8").split("\n")[:-1]
    lines = [unescape(line) for line in corpus]
    nbytes = sum(len(s.encode("utf-8")) for s in lines)
    for spec in args[1:]:
        name, _, path = spec.partition("=")
        tok = load(path)
        tokens = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
        passes, start = 0, time.perf_counter()
        while True:
            tok.encode_batch(lines, add_special_tokens=False)
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        print(json.dumps({"name": name, "bytes_per_s": nbytes * passes / elapsed,
                          "tokens_per_s": tokens * passes / elapsed, "tokens": tokens, "passes": passes}), flush=True)


if __name__ == "__main__":
    main()
