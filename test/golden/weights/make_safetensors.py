# Writes a small safetensors file by the format's specification (8-byte LE header size, JSON header with
# dtype/shape/data_offsets, raw LE data) with numpy, so the TypeScript reader is checked against an
# independent writer. Run: /usr/bin/python3 test/golden/weights/make_safetensors.py
import json, struct, pathlib
import numpy as np

here = pathlib.Path(__file__).parent
a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
b = np.array([[-1, 2], [3, -4]], dtype=np.int32)
blobs, header, offset = [], {"__metadata__": {"format": "pt"}}, 0
for name, arr, dtype in [("layer.a", a, "F32"), ("layer.b", b, "I32")]:
    raw = arr.tobytes(order="C")
    header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
h = json.dumps(header).encode()
(here / "small.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
(here / "small.json").write_text(json.dumps({"layer.a": a.tolist(), "layer.b": b.tolist()}))
