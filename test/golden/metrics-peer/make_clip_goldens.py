#!/usr/bin/python3
"""CLIP score goldens for `vsdlab clip-score`, on a tiny random CLIP-like model (tools/export_clip.py --tiny 0).

Writes into clip/ next to this script: image.onnx(+.data), text.onnx(+.data), tokenizer.json, export.json (the
export and its onnxruntime-vs-torch check), images/*.png, captions.txt and goldens.json with, per convention, the
token ids, the per-pair cosines and the score computed here in PyTorch:
  cosine-mean   open_clip's image path (torchvision Resize(S, BICUBIC) on PIL, CenterCrop, ToTensor, Normalize),
                open_clip.tokenize layout of "A photo depicts " + caption, F.cosine_similarity, mean
  torchmetrics  transformers' slow CLIPImageProcessor steps (PIL bicubic shortest edge int(S*long/short), floor
                centre crop, float64 rescale, normalise), the caption as is, 100 * cos after L2-normalising each
                embedding, max(mean, 0)  (metrics.md §3.6: the clamp is on the mean)
Token ids come from a small reference byte-level BPE (export_clip.bpe_encode, CLIP's bpe() algorithm), so the
test also checks @huggingface/tokenizers on the tokenizer.json against it.
Needs python3-torch, python3-torchvision, python3-pil, python3-onnx; node for the onnxruntime check.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_clip as ec  # noqa: E402

OUT = os.path.join(HERE, "clip")
MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
STD = np.array([0.26862954, 0.26130258, 0.27577711])
# natural order img1 .. img10 differs from the plain sort (img10 before img2)
IMAGES = [("img1.png", 48, 40), ("img2.png", 30, 52), ("img3.png", 32, 32), ("img4.png", 75, 33), ("img5.png", 64, 64), ("img10.png", 20, 28)]
CAPTIONS = [
    "A red cat on a mat.",
    "two dogs in the park",
    "a blue car next to a red house",
    "The cat sleeps.",
    " ".join(["a photo of dogs, cats and cars"] * 12),  # far over 77 tokens: end-of-text must stay last
    "photos of dogs",
]


def write_inputs():
    rng = np.random.RandomState(5)
    d = os.path.join(OUT, "images")
    os.makedirs(d, exist_ok=True)
    for name, w, h in IMAGES:
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * rng.uniform(2, 6) + yy * rng.uniform(-3, 3) + rng.uniform(0, 255)) % 256 for _ in range(3)], -1)
        img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(d, name))
    with open(os.path.join(OUT, "captions.txt"), "w") as f:
        f.write("\n".join(CAPTIONS) + "\n")


def open_clip_pixels(path, size):
    import torchvision.transforms as T

    t = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size), T.ToTensor(),
                   T.Normalize(MEAN.tolist(), STD.tolist())])
    return t(Image.open(path).convert("RGB"))


def hf_pixels(path, size):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    nw, nh = (size, new_long) if w <= h else (new_long, size)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = np.asarray(img)[top : top + size, left : left + size]
    x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - MEAN.astype(np.float32)) / STD.astype(np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())


def main():
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export_clip.py"), "--tiny", "0", "--out", OUT, "--external-data"], check=True)
    write_inputs()
    image, text, merges, size = ec.tiny(0)
    paths = [os.path.join(OUT, "images", n) for n, _, _ in IMAGES]
    out = {"about": "make_clip_goldens.py: tiny random CLIP-like model, references computed in PyTorch", "images": [n for n, _, _ in IMAGES],
           "image_size": size}
    with torch.no_grad():
        # cosine-mean (GigaGAN / SwiftBrush)
        ids = ec.tokenize(["A photo depicts " + c for c in CAPTIONS], merges)
        img = image(torch.stack([open_clip_pixels(p, size) for p in paths]))
        txt = text(torch.from_numpy(ids))
        cos = F.cosine_similarity(img, txt)
        out["cosine-mean"] = {"token_ids": [[int(v) for v in row if v] for row in ids], "cosines": cos.tolist(), "score": float(cos.mean())}
        # torchmetrics
        ids = ec.tokenize(CAPTIONS, merges)
        img = image(torch.stack([hf_pixels(p, size) for p in paths]))
        txt = text(torch.from_numpy(ids))
        img, txt = img / img.norm(p=2, dim=-1, keepdim=True), txt / txt.norm(p=2, dim=-1, keepdim=True)
        score = 100 * (img * txt).sum(-1)
        out["torchmetrics"] = {"token_ids": [[int(v) for v in row if v] for row in ids], "cosines": (score / 100).tolist(),
                               "score": float(torch.clamp(score.mean(), min=0))}
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
