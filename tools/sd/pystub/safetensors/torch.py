"""`safetensors.torch` stand-in: load_file / save_file / load / save (see package docstring)."""
import json
import struct

import torch

from . import safe_open

_TORCH = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAME = {v: k for k, v in _TORCH.items()}


def _tensor_from_bytes(buf, dtype, shape):
    dt = _TORCH[dtype]
    if len(buf) == 0:
        return torch.zeros(shape, dtype=dt)
    t = torch.frombuffer(bytearray(buf), dtype=dt)
    return t.reshape(shape).clone()


def load_file(filename, device="cpu"):
    with safe_open(filename) as f:
        return {k: f.get_tensor(k).to(device) for k in f.keys()}


def _serialize(tensors, metadata=None):
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    off = 0
    for name in sorted(tensors.keys()):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        if t.dtype == torch.bool:
            raw = t.to(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    return struct.pack("<Q", len(hb)) + hb + b"".join(chunks)


def save_file(tensors, filename, metadata=None):
    with open(filename, "wb") as f:
        f.write(_serialize(tensors, metadata))


def save(tensors, metadata=None):
    return _serialize(tensors, metadata)


def load(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    body = data[8 + n:]
    return {k: _tensor_from_bytes(body[v["data_offsets"][0]:v["data_offsets"][1]], v["dtype"], v["shape"])
            for k, v in header.items()}
