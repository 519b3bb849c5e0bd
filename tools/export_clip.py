#!/usr/bin/python3
"""Export CLIP image and text towers to ONNX (plus a tokenizer.json) for `vsdlab clip-score`.

Real model (needs open_clip and its weights in the local cache; not runnable in vsdlab's CI):
  /usr/bin/python3 tools/export_clip.py --model ViT-g-14 --pretrained laion2b_s12b_b42k --out models/clip-vit-g-14
The true architecture on seeded random weights (open_clip on PYTHONPATH, no download), one tower per process so a
~1.37 B-parameter model never holds both towers, its export and onnxruntime's copy at once:
  PYTHONPATH=/tmp/open_clip/src /usr/bin/python3 tools/export_clip.py --model ViT-g-14 --random-weights 0 \
      --tower image --out /tmp/clip-g --check-images a.png b.jpg
  (same with --tower text)
Tiny random CLIP-like model (no open_clip; exercises the same export, external-data and check path):
  /usr/bin/python3 tools/export_clip.py --tiny 0 --out /tmp/tiny-clip [--external-data]

Writes OUT/image.onnx  (pixel_values N x 3 x S x S float32, CLIP-normalised -> image_embeds N x D)
       OUT/text.onnx   (input_ids N x 77 int64 -> text_embeds N x D; EOT pooling by argmax of the ids, as CLIP)
       OUT/tokenizer.json  (CLIP byte-level BPE with '</w>' word ends, <|startoftext|> / <|endoftext|> last)
       OUT/export.json (sha256 of each file, embedding size, image size, onnxruntime-vs-torch differences,
                        CPU time and peak RSS per tower)
Embeddings are unnormalised (open_clip encode_image / encode_text with normalize=False); vsdlab normalises.
Models over 2 GB (ViT-g-14 is ~1.37 B parameters) are saved with ONNX external data: image.onnx + image.onnx.data
(one file per tower, gathered from torch's file-per-tensor output without loading the weights into memory).
The check runs the torch reference before the export and onnxruntime after the torch model is freed.
"""
import argparse
import gc
import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT = 77
TWO_GB = 2 * 1024**3
# initializers smaller than this stay inside the .onnx graph (onnx.save_model's size_threshold default)
INLINE_BYTES = 1024
# peak RSS of each onnxruntime-node check process
ORT_PEAK_RSS_MIB = []


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


def real(name, pretrained, seed=None, tower="both"):
    """open_clip's model by name: pretrained weights, or seeded random ones (pretrained=None, open_clip's own
    initialisation after torch.manual_seed). `tower` drops the other tower's modules to halve the memory held."""
    import open_clip

    if seed is not None:
        torch.manual_seed(seed)
        pretrained = None
    model = open_clip.create_model(name, pretrained=pretrained)
    if tower == "image":
        for attr in ("transformer", "token_embedding", "ln_final"):
            delattr(model, attr)
    elif tower == "text":
        del model.visual
    # parameters that require grad keep nn.MultiheadAttention off its fused inference fast path, which has no
    # ONNX export in torch 1.13 (the export runs with grad enabled)
    model = model.float().eval().requires_grad_(True)
    size = open_clip.get_model_config(name)["vision_cfg"]["image_size"]
    size = size[0] if isinstance(size, (tuple, list)) else size
    image = OpenClipImage(model).eval() if tower != "text" else None
    text = OpenClipText(model).eval() if tower != "image" else None
    return image, text, open_clip_merges(), size


def open_clip_inputs(size, images, captions):
    """the check inputs as open_clip prepares them: its eval transform (resize, centre crop, normalise) on the
    image files, open_clip.tokenize on the captions."""
    import open_clip
    from PIL import Image

    preprocess = open_clip.image_transform(size, is_train=False)
    pixels = torch.stack([preprocess(Image.open(p)) for p in images]).numpy() if images else None
    return pixels, open_clip.tokenize(list(captions)).numpy()


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

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as tmp:
        raw = os.path.join(tmp, "model.onnx")
        torch.onnx.export(module, example, raw, input_names=[input_name], output_names=[output_name],
                          dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=14,
                          do_constant_folding=True)
        size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
        for f in (path, path + ".data"):
            if os.path.exists(f):
                os.remove(f)
        if external or size > TWO_GB * 0.9:
            gather_external_data(raw, path)
        else:
            onnx.save_model(onnx.load(raw), path)


def gather_external_data(raw, path):
    """Rewrites the model at `raw` (torch writes a model over 2 GB as one file per tensor beside it) as `path`
    with every tensor's bytes in one `path`.data file, tensor by tensor: the weights are never all in memory."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, _get_initializer_tensors, uses_external_data

    model = onnx.load(raw, load_external_data=False)
    location = os.path.basename(path) + ".data"
    with open(path + ".data", "wb") as out:
        for t in _get_initializer_tensors(model):
            if uses_external_data(t):
                info = ExternalDataInfo(t)
                with open(os.path.join(os.path.dirname(raw), info.location), "rb") as f:
                    f.seek(info.offset or 0)
                    data = f.read(info.length) if info.length else f.read()
            elif t.HasField("raw_data"):
                data = t.raw_data
            else:
                continue  # typed fields (float_data, ...) stay inline
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
            if len(data) < INLINE_BYTES:
                t.raw_data = data  # small constants (shapes, slice bounds) stay inline: shape inference reads them
                continue
            t.ClearField("raw_data")
            out.write(b"\0" * (-out.tell() % 4096))  # page-aligned, so onnxruntime may map the tensors
            offset = out.tell()
            out.write(data)
            for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(data)))):
                t.external_data.add(key=key, value=value)
            t.data_location = onnx.TensorProto.EXTERNAL
    onnx.save_model(model, path)


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
        peak = re.search(r"peak_rss_kib (\d+)", res.stderr)
        if peak:
            ORT_PEAK_RSS_MIB.append(round(int(peak.group(1)) / 1024))
        return np.fromfile(os.path.join(tmp, name + ".f32"), dtype="<f4").reshape(shape)


def vsdlab_identity(files, onnx_name):
    """the sha256 vsdlab records for a tower (src/metrics/extract/onnx-external-data.ts): the .onnx file's own
    when it has no external data, else that of the JSON list [["", graph], [data file, its sha256]]"""
    data = onnx_name + ".data"
    if data not in files:
        return files[onnx_name]
    return hashlib.sha256(json.dumps([["", files[onnx_name]], [data, files[data]]], separators=(",", ":")).encode()).hexdigest()


def torch_reference(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def check(ref, path, x, input_name):
    """onnxruntime's output for x against the torch output `ref`: max |diff|, and relative to max |ref|."""
    got = run_onnxruntime(path, x, input_name)
    diff = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max())
    scale = float(np.abs(ref).max())
    if not diff <= 1e-4 * max(1.0, scale):
        raise SystemExit(f"onnxruntime and pytorch disagree on {os.path.basename(path)}: max |diff| {diff:.3g} (max |value| {scale:.3g})")
    return {"rows": int(x.shape[0]), "max_abs_diff": diff, "max_abs_value": scale, "max_rel_diff": diff / scale if scale else 0.0}


CHECK_CAPTIONS = ["A photo depicts a red cat on a mat.", "two dogs", "a blue car " * 40]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="open_clip model name, e.g. ViT-g-14")
    src.add_argument("--tiny", type=int, metavar="SEED", help="a tiny random CLIP-like model instead (tests)")
    ap.add_argument("--pretrained", default="laion2b_s12b_b42k", help="open_clip pretrained tag (with --model)")
    ap.add_argument("--random-weights", type=int, metavar="SEED", help="with --model: open_clip's random initialisation, seeded (pretrained=None)")
    ap.add_argument("--tower", choices=("both", "image", "text"), default="both", help="export one tower (a process each for big models)")
    ap.add_argument("--check-images", nargs="+", default=[], metavar="IMAGE",
                    help="with --model: images for the image-tower check, through open_clip's eval transform (default: random normalised input)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--external-data", action="store_true", help="always store weights as external data (automatic over 2 GB)")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    t0 = time.process_time()
    if args.tiny is not None:
        image, text, merges, size = tiny(args.tiny)
        image = image if args.tower != "text" else None
        text = text if args.tower != "image" else None
        source = f"tiny random CLIP-like model, seed {args.tiny}"
    else:
        image, text, merges, size = real(args.model, args.pretrained, args.random_weights, args.tower)
        source = f"open_clip {args.model} " + (f"random weights, seed {args.random_weights}" if args.random_weights is not None else args.pretrained)
    built_s = time.process_time() - t0
    os.makedirs(args.out, exist_ok=True)
    ids = tokenize(CHECK_CAPTIONS, merges)
    checks = {}
    g = np.random.RandomState(0)
    pixels = g.randn(3, 3, size, size).astype(np.float32)
    if args.model is not None:
        oc_pixels, oc_ids = open_clip_inputs(size, args.check_images, CHECK_CAPTIONS)
        if oc_pixels is not None:
            pixels = oc_pixels
        # tokenizer.json is written from this script's BPE; it must give open_clip's ids
        if not np.array_equal(oc_ids, ids):
            raise SystemExit("this script's CLIP tokenization differs from open_clip.tokenize on the check captions")
        ids = oc_ids
        checks["tokenizer_equal_to_open_clip"] = True
    towers = []
    if image is not None:
        towers.append(("image", image, pixels, "pixel_values", "image_embeds", torch.zeros(2, 3, size, size)))
    if text is not None:
        towers.append(("text", text, ids, "input_ids", "text_embeds", torch.from_numpy(ids[:2])))
    refs = {name: torch_reference(module, x) for name, module, x, *_ in towers} if not args.no_check else {}
    times = {}
    for name, module, x, input_name, output_name, example in towers:
        t = time.process_time()
        export(module, example, os.path.join(args.out, name + ".onnx"), input_name, output_name, args.external_data)
        times[name] = round(time.process_time() - t, 1)
    # free the torch weights before onnxruntime loads its own copy (the loop's names hold the last tower too)
    del image, text, towers, module, example
    gc.collect()
    for name, x, input_name in ((n, x, i) for n, x, i in (("image", pixels, "pixel_values"), ("text", ids, "input_ids")) if n in refs):
        checks[name] = check(refs[name], os.path.join(args.out, name + ".onnx"), x, input_name)
    if args.tower != "image":
        with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(merges), f, ensure_ascii=False)
    info_path = os.path.join(args.out, "export.json")
    info = {}
    if os.path.exists(info_path) and args.tower != "both":  # the other tower's process wrote its part
        with open(info_path) as f:
            info = json.load(f)
    info.update({"source": source, "image_size": size})
    info["files"] = {f: sha256_of(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))
                     if f.endswith((".onnx", ".data", ".json")) and f != "export.json"}
    info["sizes"] = {f: os.path.getsize(os.path.join(args.out, f)) for f in info["files"]}
    info["vsdlab_sha256"] = {t: vsdlab_identity(info["files"], t + ".onnx") for t in ("image", "text") if t + ".onnx" in info["files"]}
    info.setdefault("check", {}).update(checks)
    run = {"build_cpu_s": round(built_s, 1), "export_cpu_s": times, "total_cpu_s": round(time.process_time() - t0, 1),
           "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           "onnxruntime_peak_rss_mib": max(ORT_PEAK_RSS_MIB, default=None)}
    info.setdefault("runs", {})[args.tower] = run
    with open(info_path, "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
