"""Minimal stand-in for the `safetensors` package (vsdlab's own code, not a copy).

Debian has no python3-safetensors, and diffusers imports `safetensors` and
`safetensors.torch`. This implements just what diffusers v0.27.2 calls:
`safetensors.torch.load_file`, `safetensors.torch.save_file`, and `safe_open`.

Format: u64 little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor bytes (offsets relative to the end of the header).
"""
import json
import struct

__version__ = "0.0.0+vsdlab.stub"

_DTYPES = {
    "F64": ("float64", 8), "F32": ("float32", 4), "F16": ("float16", 2), "BF16": ("bfloat16", 2),
    "I64": ("int64", 8), "I32": ("int32", 4), "I16": ("int16", 2), "I8": ("int8", 1),
    "U8": ("uint8", 1), "BOOL": ("bool", 1),
}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
    return n, header


class safe_open:
    def __init__(self, filename, framework="pt", device="cpu"):
        self._path = filename
        self._n, self._header = read_header(filename)
        self._meta = self._header.pop("__metadata__", None)
        with open(filename, "rb") as f:
            f.seek(8 + self._n)
            self._data = f.read()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def keys(self):
        return list(self._header.keys())

    def metadata(self):
        return self._meta

    def get_tensor(self, name):
        from .torch import _tensor_from_bytes
        info = self._header[name]
        b, e = info["data_offsets"]
        return _tensor_from_bytes(self._data[b:e], info["dtype"], info["shape"])


# diffusers calls `safetensors.torch.*` after a bare `import safetensors`
from . import torch  # noqa: E402,F401
