#!/usr/bin/python3
"""Export CLIP image and text towers to ONNX (plus a tokenizer.json) for `vsdlab clip-score`.

Real model (needs open_clip and its weights in the local cache; not runnable in vsdlab's CI):
  /usr/bin/python3 tools/export_clip.py --model ViT-g-14 --pretrained laion2b_s12b_b42k --out models/clip-vit-g-14
Tiny random CLIP-like model (no open_clip; exercises the same export, external-data and check path):
  /usr/bin/python3 tools/export_clip.py --tiny 0 --out /tmp/tiny-clip [--external-data]

Writes OUT/image.onnx  (pixel_values N x 3 x S x S float32, CLIP-normalised -> image_embeds N x D)
       OUT/text.onnx   (input_ids N x 77 int64 -> text_embeds N x D; EOT pooling by argmax of the ids, as CLIP)
       OUT/tokenizer.json  (CLIP byte-level BPE with '</w>' word ends, <|startoftext|> / <|endoftext|> last)
       OUT/export.json (sha256 of each file, embedding size, image size, onnxruntime-vs-torch differences)
Embeddings are unnormalised (open_clip encode_image / encode_text with normalize=False); vsdlab normalises.
Models over 2 GB (ViT-g-14 is ~1.37 B parameters) are saved with ONNX external data: image.onnx + image.onnx.data.
"""
import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT = 77
TWO_GB = 2 * 1024**3


# ---------------------------------------------------------------------------------------------------------------
# CLIP byte-level BPE: the vocabulary layout of OpenAI CLIP / open_clip's SimpleTokenizer, written as tokenizer.json


def bytes_to_unicode():
    """the reversible byte -> printable unicode map gpt-2 and CLIP use for byte-level BPE."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def clip_vocab(merges):
    """CLIP's id order: 256 byte symbols, the same with '</w>', one entry per merge, then SOT and EOT."""
    base = list(bytes_to_unicode().values())
    vocab = base + [v + "</w>" for v in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}


def tokenizer_json(merges):
    vocab = clip_vocab(merges)
    sot, eot = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    special = lambda i, c: {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}  # noqa: E731
    split = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(sot, "<|startoftext|>"), special(eot, "<|endoftext|>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": split}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", eot], "cls": ["<|startoftext|>", sot],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [" ".join(m) for m in merges]},
    }


def open_clip_merges():
    """the merges open_clip ships (bpe_simple_vocab_16e6.txt.gz), cut as its SimpleTokenizer cuts them."""
    import open_clip.tokenizer as tk

    path = tk.default_bpe()
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    return [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]


# a tiny reference encoder (CLIP's bpe() with ascii-only word splitting) for checking tokenizer.json users
WORD = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)


def bpe_encode(text, merges):
    vocab = clip_vocab(merges)
    ranks = {m: i for i, m in enumerate(merges)}
    b2u = bytes_to_unicode()
    text = re.sub(r"\s+", " ", text).strip().lower()
    ids = []
    for word in WORD.findall(text):
        sym = [b2u[b] for b in word.encode("utf-8")]
        sym[-1] += "</w>"
        while len(sym) > 1:
            pairs = [(ranks.get((sym[i], sym[i + 1]), 1 << 30), i) for i in range(len(sym) - 1)]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            a, b = merges[rank]
            out, i = [], 0
            while i < len(sym):
                if i < len(sym) - 1 and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            sym = out
        ids += [vocab[s] for s in sym]
    return ids


def tokenize(texts, merges):
    """open_clip.tokenize layout: [SOT] + ids + [EOT], truncated with EOT kept last, zero padded to 77."""
    vocab = clip_vocab(merges)
    sot, eot = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    out = np.zeros((len(texts), CONTEXT), dtype=np.int64)
    for r, t in enumerate(texts):
        ids = [sot] + bpe_encode(t, merges) + [eot]
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = eot
        out[r, : len(ids)] = ids
    return out


def learn_merges(corpus, n):
    """a toy BPE training (most frequent pair first) so the tiny tokenizer has real multi-byte tokens."""
    b2u = bytes_to_unicode()
    words = {}
    for w in WORD.findall(corpus.lower()):
        sym = tuple([b2u[b] for b in w.encode("utf-8")][:-1] + [b2u[w.encode("utf-8")[-1]] + "</w>"])
        words[sym] = words.get(sym, 0) + 1
    merges = []
    for _ in range(n):
        counts = {}
        for sym, c in words.items():
            for p in zip(sym, sym[1:]):
                counts[p] = counts.get(p, 0) + c
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        nxt = {}
        for sym, c in words.items():
            out, i = [], 0
            while i < len(sym):
                if i < len(sym) - 1 and (sym[i], sym[i + 1]) == best:
                    out.append(sym[i] + sym[i + 1])
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            nxt[tuple(out)] = nxt.get(tuple(out), 0) + c
        words = nxt
    return merges


TINY_CORPUS = ("a photo depicts a red cat on a mat. a photo of a dog in the park. two dogs and a cat. "
               "a blue car next to a red house. the cat sleeps. photos of dogs, cats and cars.")


# ---------------------------------------------------------------------------------------------------------------
# towers


class TinyImageTower(nn.Module):
    """patch embedding + one nn.MultiheadAttention block (batch_first, as open_clip's ViT) + mean pool +
    projection: a CLIP-like image encoder for tests."""

    def __init__(self, size=32, patch=8, width=16, dim=12):
        super().__init__()
        self.size = size
        self.patch = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.pos = nn.Parameter(torch.zeros((size // patch) ** 2, width))
        self.ln = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, 2, batch_first=True)
        self.proj = nn.Linear(width, dim, bias=False)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2) + self.pos
        y = self.ln(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return self.proj(x.mean(1))


class TinyTextTower(nn.Module):
    """token + position embedding, one causal nn.MultiheadAttention block, EOT pooling by argmax of the ids, projection."""

    def __init__(self, vocab, width=16, dim=12):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.zeros(CONTEXT, width))
        self.ln = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, 2, batch_first=True)
        self.proj = nn.Linear(width, dim, bias=False)
        self.register_buffer("mask", torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1))

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos
        y = self.ln(x)
        x = x + self.attn(y, y, y, attn_mask=self.mask, need_weights=False)[0]
        eot = input_ids.argmax(dim=-1)  # as CLIP: the end-of-text token has the largest id
        return self.proj(x[torch.arange(x.shape[0]), eot])


class OpenClipImage(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model.encode_image(pixel_values)


class OpenClipText(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.encode_text(input_ids)


def tiny(seed):
    torch.manual_seed(seed)
    merges = learn_merges(TINY_CORPUS, 40)
    image, text = TinyImageTower(), TinyTextTower(len(clip_vocab(merges)))
    with torch.no_grad():
        for p in list(image.parameters()) + list(text.parameters()):
            p.copy_(torch.randn(p.shape) * 0.3)
    return image.eval(), text.eval(), merges, image.size


def real(name, pretrained):
    import open_clip

    model, _, _ = open_clip.create_model_and_transforms(name, pretrained=pretrained)
    # parameters that require grad keep nn.MultiheadAttention off its fused inference fast path, which has no
    # ONNX export in torch 1.13 (the export runs with grad enabled)
    model = model.float().eval().requires_grad_(True)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    return OpenClipImage(model).eval(), OpenClipText(model).eval(), open_clip_merges(), size


# ---------------------------------------------------------------------------------------------------------------
# export and check


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(module, example, path, input_name, output_name, external):
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "model.onnx")
        torch.onnx.export(module, example, raw, input_names=[input_name], output_names=[output_name],
                          dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=14,
                          do_constant_folding=True)
        size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
        m = onnx.load(raw)  # pulls any external data torch wrote back in
        for f in (path, path + ".data"):
            if os.path.exists(f):
                os.remove(f)
        if external or size > TWO_GB * 0.9:
            onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(path) + ".data", size_threshold=0)
        else:
            onnx.save_model(m, path)


def run_onnxruntime(path, x, input_name):
    try:
        import onnxruntime

        sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return sess.run(None, {input_name: x})[0]
    except ImportError:
        pass
    node = shutil.which("node")
    if node is None:
        raise SystemExit("neither the onnxruntime python package nor node (for onnxruntime-node) is available")
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "input.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(inp)
        kind = ":int64" if x.dtype == np.int64 else ""
        res = subprocess.run([node, os.path.join(HERE, "ort_run.mjs"), path, inp, ",".join(map(str, x.shape)), tmp, input_name + kind],
                             capture_output=True, text=True, cwd=os.path.dirname(HERE))
        if res.returncode != 0:
            raise SystemExit(f"onnxruntime-node failed: {res.stderr.strip()}")
        name, shape = next(iter(json.loads(res.stdout).items()))
        return np.fromfile(os.path.join(tmp, name + ".f32"), dtype="<f4").reshape(shape)


def check(module, path, x, input_name):
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    got = run_onnxruntime(path, x, input_name)
    diff = float(np.abs(got.astype(np.float64) - ref).max())
    scale = float(np.abs(ref).max())
    if not diff <= 1e-4 * max(1.0, scale):
        raise SystemExit(f"onnxruntime and pytorch disagree on {os.path.basename(path)}: max |diff| {diff:.3g} (max |value| {scale:.3g})")
    return {"max_abs_diff": diff, "max_abs_value": scale}


CHECK_CAPTIONS = ["A photo depicts a red cat on a mat.", "two dogs", "a blue car " * 40]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="open_clip model name, e.g. ViT-g-14")
    src.add_argument("--tiny", type=int, metavar="SEED", help="a tiny random CLIP-like model instead (tests)")
    ap.add_argument("--pretrained", default="laion2b_s12b_b42k", help="open_clip pretrained tag (with --model)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--external-data", action="store_true", help="always store weights as external data (automatic over 2 GB)")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    image, text, merges, size = tiny(args.tiny) if args.tiny is not None else real(args.model, args.pretrained)
    os.makedirs(args.out, exist_ok=True)
    paths = {k: os.path.join(args.out, k + ".onnx") for k in ("image", "text")}
    export(image, torch.zeros(2, 3, size, size), paths["image"], "pixel_values", "image_embeds", args.external_data)
    ids = torch.from_numpy(tokenize(CHECK_CAPTIONS, merges))
    export(text, ids[:2], paths["text"], "input_ids", "text_embeds", args.external_data)
    tok_path = os.path.join(args.out, "tokenizer.json")
    with open(tok_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(merges), f, ensure_ascii=False)
    info = {"source": f"open_clip {args.model} {args.pretrained}" if args.model else f"tiny random CLIP-like model, seed {args.tiny}",
            "image_size": size, "files": {}}
    for f in sorted(os.listdir(args.out)):
        if f.endswith((".onnx", ".data", ".json")) and f != "export.json":
            info["files"][f] = sha256_of(os.path.join(args.out, f))
    if not args.no_check:
        g = np.random.RandomState(0)
        info["check"] = {
            "image": check(image, paths["image"], g.randn(3, 3, size, size).astype(np.float32), "pixel_values"),
            "text": check(text, paths["text"], ids.numpy(), "input_ids"),
        }
    with open(os.path.join(args.out, "export.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
