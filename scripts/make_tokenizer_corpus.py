#!/usr/bin/env python3
"""Writes tests/golden/tokenizers/corpus.txt: the text the tokenizer goldens are made from.

    python3 scripts/make_tokenizer_corpus.py

Deterministic (fixed seed, no data from outside). Each line of the file is one test string in a small
escape format: a backslash introduces \\n (LF), \\r (CR) or \\\\ (a backslash); every other byte,
tabs included, is itself. tests/tokenizers and scripts/make_tokenizer_goldens.py share the decoder.

The lines mix: Latin with accents, Cyrillic, Greek, Arabic, Hebrew, Devanagari, CJK, Thai, Korean,
emoji (ZWJ sequences, skin tones, flags, keycaps), combining marks (decomposed accents, Zalgo stacks),
tabs, runs of spaces, newlines and CRs inside a line, very long words, numbers, code and URLs, odd
whitespace (NBSP, ideographic space, U+2028), control and format characters (ZWSP, soft hyphen, BOM),
BERT's special tokens written in text, and contractions in both cases.
"""
import pathlib
import random

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "tokenizers" / "corpus.txt"

WORDS = {
    "en": "the quick brown fox jumps over lazy dog tokenizer attention model weights training "
          "Hello World don't it's we're they've I'm you'll he'd DON'T IT'S WE'RE".split(),
    "fr": "élève café naïve déjà façade crème brûlée où garçon Noël août cœur".split(),
    "de": "Straße Müller Größe übermäßig Äpfel Öl Fußgänger Donaudampfschifffahrt".split(),
    "es": "niño señor acción pingüino ¿Qué ¡Hola! corazón mañana".split(),
    "pl": "zażółć gęślą jaźń Łódź źdźbło".split(),
    "vi": "Tiếng Việt người được những trường".split(),
    "ru": "Привет мир съешь же ещё этих мягких французских булок ЁЛКА Ёж".split(),
    "el": "Καλημέρα κόσμε ΣΟΦΙΑ σοφός ΟΔΥΣΣΕΥΣ άλφα ΐ".split(),
    "ar": "مرحبا بالعالم اللغة العربية كتاب مُحَمَّد".split(),
    "he": "שלום עולם עִבְרִית ספר".split(),
    "hi": "नमस्ते दुनिया हिन्दी भाषा क्षत्रिय".split(),
    "zh": "你好世界 中文分词 机器学习 注意力机制 汉字".split(),
    "ja": "こんにちは世界 カタカナ ひらがな 東京都 ｶﾀｶﾅ".split(),
    "th": "สวัสดีชาวโลก ภาษาไทย กรุงเทพมหานคร".split(),
    "ko": "안녕하세요 세계 한국어 토크나이저 ᄒᆞᆫ글".split(),
}
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇩🇪🇫🇷", "1️⃣", "❤️", "🧑🏿‍💻", "🤖", "🥰", "🫠",
         "👩‍❤️‍💋‍👨", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "✔︎"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "Z\u0351\u0334\u0353\u0347\u0330",
             "\u0301lone", "i\u0307", "A\u030a"]
SPACES = [" ", "  ", "    ", "\t", "\t\t", " \t ", "\u00a0", "\u3000", "\u2003", "\u2028", "\u200b",
          "\u00ad", "\ufeff", "\u202f", "\n", "\r\n", " \n ", "\n\n"]
CODE = ["def f(x):\n    return x**2 + 1", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "if x != None and y >= 3:", "#include <vector>", "const auto& [k, v] = *it;",
        "SELECT * FROM users WHERE id = 42;", "x => x.map(y => y * 2)", "let s = \"quoted \\\" string\";",
        "<div class=\"a\">&amp;&lt;</div>", "$HOME/.cache/attn", "C:\\Users\\attn\\file.txt"]
URLS = ["https://example.com/path?q=1&lang=en#frag", "http://localhost:8080/api/v1/",
        "mailto:someone@example.org", "ftp://files.example.net/pub/README.md", "www.wikipedia.org/wiki/Ünïcode"]
NUMBERS = ["0", "42", "3.14159", "1,000,000", "-273.15", "6.022e23", "0x1F600", "2026-11-30", "12:34:56",
           "١٢٣٤", "४२", "一二三", "Ⅻ", "½", "²³", "1234567890123456789"]
SPECIAL = ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
           "<s>", "</s>", "<unk>"]
PUNCT = [".", ",", "!", "?", "...", "—", "–", "«", "»", "“", "”", "‘", "’", "¿", "¡", "、", "。", "；",
         "(", ")", "[", "]", "{", "}", "@", "#", "$", "%", "^", "&", "*", "~", "`", "|", "\\", "/"]


def escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 14)):
        r = rng.random()
        if r < 0.55:
            lang = rng.choice(list(WORDS))
            parts.append(rng.choice(WORDS[lang]))
        elif r < 0.62:
            parts.append(rng.choice(EMOJI))
        elif r < 0.67:
            parts.append(rng.choice(COMBINING))
        elif r < 0.75:
            parts.append(rng.choice(NUMBERS))
        elif r < 0.85:
            parts.append(rng.choice(PUNCT))
        elif r < 0.88:
            parts.append(rng.choice(SPECIAL))
        elif r < 0.91:
            parts.append(rng.choice(URLS))
        else:
            parts.append(rng.choice(CODE))
    out = parts[0]
    for p in parts[1:]:
        out += (rng.choice(SPACES) if rng.random() < 0.25 else " ") + p
    if rng.random() < 0.1:
        out = rng.choice(SPACES) + out
    if rng.random() < 0.1:
        out += rng.choice(SPACES)
    return out


def fixed_lines():
    return [
        "Hello, world!", "", " ", "   leading and trailing   ", "\t\ttabs\tinside\t", "line one\nline two\r\nline three",
        "a" * 99, "b" * 100, "c" * 101, "supercalifragilisticexpialidocious" * 6, "x" * 600,
        "🤖" * 40, "日本語" * 50, "ab" + "\u0301" * 30, "I'm sure it's what they'd've wanted, isn't it? I'M SURE.",
        "naïve café résumé coöperate", "ΟΔΥΣΣΕΥΣ", "İstanbul ıi", "ß ẞ ǅ ǈ ﬁ ﬀ", "\u0000nul\u0001ctl\u007fdel",
        "\ufffdreplacement", "\U0001d400\U0001d401 math bold", "Ⓐ ⓑ ⅷ ㈠", "１２３ ＡＢＣ ｱｲｳ",
        "12345678901234567890", "3.14 2.71 1e-9", "  \n  \n  ", "\n", "\r", "\u2028\u2029", "\u00a0\u00a0x",
        "[CLS] hello [SEP] world [MASK]", "<|im_start|>user\nHi there<|im_end|>", "<|endoftext|><|endoftext|>",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE",
        "BERT's CJK gap: \U0002b820\U0002b883\U0002b8dd|\U0002b91f|\U0002b920\U0002ceaf \u4e00\u9fff",
        "tags\U000e0023\U000e0037 cf\u061c\u200e\u2066 pua\ue000 noncharacter\ufdd0 unassigned\u0378", "\u0e01\u0e34\u0e19\u0e02\u0e49\u0e32\u0e27", "한국어 ᄀᆞ 가각",
    ]


def main():
    rng = random.Random(20261130)
    lines = fixed_lines()
    while len(lines) < 1200:
        n = 1 if rng.random() < 0.8 else rng.randint(2, 4)
        lines.append(rng.choice(SPACES[:3]).join(sentence(rng) for _ in range(n)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(escape(s) + "\n" for s in lines), encoding="utf-8")
    print(f"wrote {OUT}: {len(lines)} lines")


if __name__ == "__main__":
    main()
