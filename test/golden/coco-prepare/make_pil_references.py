"""Golden reference pixels of the mini COCO-2014 (test/helpers/mini-coco.ts) as the COCO-30K evaluations make them.

SwiftBrush v2 tools/resize.py (PhiHoc/SwiftBrushV2 @ 1f141de, from GigaGAN/DMD2): torchvision
center_crop(img, min(img.size)) then img.resize((side, side), Image.LANCZOS); clean-fid then reads the PNGs with
Image.open(f).convert('RGB'). Here the source is read with convert('RGB') first (what vsdlab does; for grey
images the pixels are the same either way, for CMYK SBv2's np.array(Image.open(f)) would read the CMYK samples
as RGBA, see the README), cropped with torchvision's int(round((H - s) / 2.0)) offsets and resized by Pillow.

Usage (Debian's python3 with Pillow 9.4, numpy):
  node scripts/make-mini-coco.js /tmp/mini-coco
  /usr/bin/python3 test/golden/coco-prepare/make_pil_references.py /tmp/mini-coco > test/golden/coco-prepare/pil-references.json
"""
import hashlib
import json
import os
import sys

import numpy as np
import PIL
from PIL import Image


def reference(path, side):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    top, left = int(round((h - s) / 2.0)), int(round((w - s) / 2.0))
    return np.ascontiguousarray(np.array(im.crop((left, top, left + s, top + s)).resize((side, side), Image.LANCZOS)))


def main():
    root = sys.argv[1]
    coco = json.load(open(os.path.join(root, "annotations", "captions_val2014.json")))
    out = {"pillow": PIL.__version__, "images": {}, "unreadable": []}
    for img in sorted(coco["images"], key=lambda i: i["file_name"]):
        path = os.path.join(root, "val2014", img["file_name"])
        if not os.path.exists(path):
            continue
        source = hashlib.sha256(open(path, "rb").read()).hexdigest()
        try:
            entry = {"source_sha256": source}
            for side in (256, 512):
                entry[str(side)] = hashlib.sha256(reference(path, side).tobytes()).hexdigest()
            out["images"][img["file_name"]] = entry
        except Exception as e:  # truncated or not an image: Pillow refuses it without LOAD_TRUNCATED_IMAGES
            out["unreadable"].append({"file_name": img["file_name"], "source_sha256": source, "error": type(e).__name__})
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
