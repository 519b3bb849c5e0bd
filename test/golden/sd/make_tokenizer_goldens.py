"""Goldens for src/models/sd/clip-bpe-tokenizer.ts: the ids Stable Diffusion pipelines feed their text encoder.

The pipelines call transformers' (slow) CLIPTokenizer as
    tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True)
transformers is not importable here, so the reference is assembled from the real parts it is made of:
  * the BPE, byte-to-unicode table and vocabulary: open_clip v2.20.0's SimpleTokenizer (the file transformers'
    CLIPTokenizer was copied from; it builds the vocabulary from bpe_simple_vocab_16e6.txt.gz),
  * the text cleaning: ftfy 6.3.1's fix_text (transformers takes that path when ftfy is installed, as it is wherever
    open_clip_torch is: SwiftBrush's environments), then whitespace_clean and lower(), as CLIPTokenizer._tokenize,
  * the glue, transcribed from transformers' PreTrainedTokenizer: every special token string (bos, eos, unk, pad:
    SD 2.x's pad "!") is split out of the text first and maps straight to its id; each piece between is cleaned and
    BPE'd on its own; truncation keeps bos + the first max_length-2 tokens + eos; padding appends the pad id.
open_clip's own tokenize() result is kept beside it ("open_clip") to show where the two differ.

Also checks that test/fixtures/sd/tiny-sd2/tokenizer (vocab.json, merges.txt), which the tests read, is this vocabulary.

Usage (Debian: apt-get install python3-regex python3-torch; ftfy and wcwidth wheels unpacked on PYTHONPATH):
  git --git-dir=<open_clip mirror> show v2.20.0:src/open_clip/tokenizer.py > /tmp/oc/tokenizer.py
  git --git-dir=<open_clip mirror> show v2.20.0:src/open_clip/bpe_simple_vocab_16e6.txt.gz > /tmp/oc/bpe_simple_vocab_16e6.txt.gz
  PYTHONPATH=/tmp/pylib /usr/bin/python3 test/golden/sd/make_tokenizer_goldens.py /tmp/oc
"""

import gzip
import importlib.util
import json
import os
import sys

import ftfy
import regex as re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURE = os.path.join(ROOT, "test", "fixtures", "sd", "tiny-sd2", "tokenizer")  # written by tools/sd/make_sd_goldens.py

oc_dir = sys.argv[1]
spec = importlib.util.spec_from_file_location("oc_tokenizer", os.path.join(oc_dir, "tokenizer.py"))
oc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oc)
bpe_path = os.path.join(oc_dir, "bpe_simple_vocab_16e6.txt.gz")
simple = oc.SimpleTokenizer(bpe_path)

# transformers' files: the same vocabulary with its special tokens spelled <|startoftext|> / <|endoftext|>
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
byte_chars = list(oc.bytes_to_unicode().values())
vocab_list = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m.split()) for m in merges] + [BOS, EOS]
vocab = {tok: i for i, tok in enumerate(vocab_list)}
assert len(vocab) == 49408 and vocab[BOS] == 49406 and vocab[EOS] == 49407
# the tests read the tiny SD 2 folder's files: they must be this vocabulary
with open(os.path.join(FIXTURE, "vocab.json"), encoding="utf-8") as f:
    assert json.load(f) == vocab, "tiny-sd2/tokenizer/vocab.json is not open_clip's vocabulary"
with open(os.path.join(FIXTURE, "merges.txt"), encoding="utf-8") as f:
    assert f.read().split("\n")[1:1 + len(merges)] == merges, "tiny-sd2/tokenizer/merges.txt is not open_clip's merges"

pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)
transformers_cache = {BOS: BOS, EOS: EOS}


def whitespace_clean(text):
    return re.sub(r"\s+", " ", text).strip()


def transformers_pieces(text):
    """CLIPTokenizer._tokenize (ftfy installed) with open_clip's bpe()"""
    out = []
    text = whitespace_clean(ftfy.fix_text(text)).lower()
    for token in re.findall(pat, text):
        token = "".join(simple.byte_encoder[b] for b in token.encode("utf-8"))
        bpe = transformers_cache[token] if token in transformers_cache else simple.bpe(token)
        out.extend(bpe.split(" "))
    return out


def split_specials(text, specials):
    """PreTrainedTokenizer.tokenize's trie split: the earliest, then longest, special token string is cut out"""
    pieces, pos, start = [], 0, 0
    ordered = sorted(set(specials), key=len, reverse=True)
    while pos < len(text):
        hit = next((s for s in ordered if text.startswith(s, pos)), None)
        if hit is None:
            pos += 1
            continue
        pieces.append((False, text[start:pos]))
        pieces.append((True, hit))
        pos += len(hit)
        start = pos
    pieces.append((False, text[start:]))
    return [(special, p) for special, p in pieces if p]


def transformers_ids(text, pad, max_length=77):
    specials = [BOS, EOS, EOS, pad]  # bos, eos, unk (= eos), pad
    ids = []
    for special, piece in split_specials(text, specials):
        tokens = [piece] if special else transformers_pieces(piece)
        ids.extend(vocab.get(t, vocab[EOS]) for t in tokens)
    ids = [vocab[BOS]] + ids[: max_length - 2] + [vocab[EOS]]
    mask = [1] * len(ids) + [0] * (max_length - len(ids))
    return ids + [vocab[pad]] * (max_length - len(ids)), mask


def open_clip_ids(text):
    ids = [49406] + simple.encode(text) + [49407]
    if len(ids) > 77:
        ids = ids[:77]
        ids[-1] = 49407
    return ids + [0] * (77 - len(ids))


long_prompt = " ".join(
    "a photograph of an astronaut riding a horse on the moon with dramatic lighting and a very detailed background".split() * 6
)
PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "A PHOTOGRAPH Of An Astronaut",
    "hello, world! how are you?",
    "Hello!!! Wow!? ...yes",
    "! !! !!!",
    "it's the cat's toy; they're here, we've seen, I'm sure, you'll see, he'd go",
    "IT'S THE CAT'S TOY",
    "don't won't can't",
    "café naïve résumé Über straße",
    "Ελληνικά Русский текст",
    "東京タワーの夜景 and 北京",
    "한국어 텍스트",
    "a cute 🐱 cat with 🎉 confetti 👩‍🚀",
    "the year 2024 and 3.14159",
    "  lots   of\tspaces\nand\nnewlines \r\n here  ",
    "rock &amp; roll &lt;3 &quot;quoted&quot; &#39;single&#39; &eacute;t&eacute; &amp;amp;",
    "a <b>bold</b> &amp; move",
    "tom &amp jerry &copy 2020",
    "“curly quotes” and ‘single’ ones",
    "ﬁne ﬂowers",
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ １２３",
    "ends with <|endoftext|> inside",
    "<|startoftext|>starts with bos",
    "CASE <|ENDOFTEXT|> upper",
    "a—dash–en…ellipsis",
    "snake_case and kebab-case and CamelCase",
    "e-mail: someone@example.com #hashtag $100 50% a+b=c",
    "",
    "   ",
    "x",
    long_prompt,
    "Ⅻ ½ ² ٣ numbers",
    "a\u00a0non-breaking\u2009thin space",
    "control\u0007chars\u200bzero width",
]

SD2_PAD, SD1_PAD = "!", EOS
cases = []
for prompt in PROMPTS:
    sd2, mask2 = transformers_ids(prompt, SD2_PAD)
    sd1, mask1 = transformers_ids(prompt, SD1_PAD)
    cases.append(
        {
            "prompt": prompt,
            "cleaned": whitespace_clean(ftfy.fix_text(prompt)).lower(),
            "sd2": sd2,
            "sd1": sd1,
            "attention_mask_sd2": mask2,
            "attention_mask_sd1": mask1,
            "open_clip": open_clip_ids(prompt),
        }
    )

out = {
    "source": "open_clip v2.20.0 SimpleTokenizer (bpe, vocabulary) + ftfy "
    + ftfy.__version__
    + " fix_text, glued as transformers' CLIPTokenizer(padding='max_length', max_length=77, truncation=True)",
    "max_length": 77,
    "pad": {"sd2": SD2_PAD, "sd1": SD1_PAD},
    "cases": cases,
}
with open(os.path.join(HERE, "clip-tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(len(cases), "prompts;", sum(c["sd2"] != c["open_clip"] for c in cases), "differ from open_clip (sd2 layout)")
