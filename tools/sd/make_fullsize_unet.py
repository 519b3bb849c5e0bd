#!/usr/bin/env python3
"""The full-size check: a random-weight UNet2DConditionModel with SD 2.1-base's published unet/config.json
(865,910,724 parameters), written as a diffusers folder (F32 + the fp16 variant), and diffusers' output on it.

What it writes
  OUT/unet/config.json                                   SD 2.1-base's unet/config.json (SD21_BASE_UNET below)
  OUT/unet/diffusion_pytorch_model.safetensors           F32, ~3.46 GB
  OUT/unet/diffusion_pytorch_model.fp16.safetensors      F16 (diffusers' fp16 variant), ~1.73 GB
  GOLDEN (default bench/sd/fullsize-golden.json, ~100 KB): sample = unet(latents [1,4,S,S], t,
      encoder_hidden_states [1,77,1024]).sample for t = 999 and t = 500, computed by diffusers on each file
      loaded back with from_pretrained (the fp16 variant into the float32 model, i.e. F16 values upcast to
      float32, as vsdlab computes F16 files), plus PyTorch's load / forward times and peak RSS.
  OUT is never inside the repository (default /tmp/sd21-fullsize): it holds 5.2 GB.

Needs what tools/sd/make_sd_goldens.py needs (Debian /usr/bin/python3 with python3-torch, diffusers v0.27.2 and
huggingface_hub v0.22.2 on PYTHONPATH, tools/sd/pystub for `safetensors`); not open_clip.

How to run (from the repository root; ~2 min and ~7 GB of RAM at peak on 2 cores)
  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/make_fullsize_unet.py \
      --out /tmp/sd21-fullsize --golden bench/sd/fullsize-golden.json
  then: npm run build && node dist/bench/sd/fullsize-unet.js --dir /tmp/sd21-fullsize
  --forward f32|fp16 (used by the bench): load the folder, run the two forwards, print one JSON line of
  timings (no outputs unless --print-outputs); each variant runs in its own process so its peak RSS is its own.

Inputs: not torch.randn, so the golden stays small and the TypeScript side makes the same float32 values
bit for bit: xorshift32 (13, 17, 5) from a seed, value = ((x >> 8) / 2**24 - 0.5) * sqrt(12) (uniform, mean 0,
variance 1), computed in float64 and rounded to float32 (bench/sd/fullsize-inputs.ts is the same generator).
The golden records each input's sha256 over its float32 little-endian bytes.

Weights: every parameter from one seeded torch.Generator, in sorted-name order (as make_sd_goldens.py's
init_weights: norm scales 1 + 0.1 N(0,1), biases 0.05 N(0,1), matrices and kernels N(0,1)/sqrt(fan_in)).

upcast_attention: SD 2.1-base's config does not set it (diffusers' default False); only SD 2.1-768 was
converted with upcast_attention true (convert_from_ckpt.py sets it for the v2.1 v-model, global_step
110000). In float32 it changes nothing: it casts query and key to float32 before the scores.

Attention runs with AttnProcessor and the NaN-safe baddbmm input of make_sd_goldens.py (patch_attention).
"""
import argparse
import gc
import hashlib
import json
import math
import os
import platform
import resource
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pystub"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diffusers  # noqa: E402
import huggingface_hub  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402
from make_sd_goldens import patch_attention  # noqa: E402  (diffusers' attention with a zeros baddbmm input)

torch.set_grad_enabled(False)
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

VERSIONS = {
    "diffusers": "v0.27.2 (" + diffusers.__version__ + ")",
    "huggingface_hub": "v0.22.2 (" + huggingface_hub.__version__ + ")",
    "torch": torch.__version__,
    "numpy": np.__version__,
    "python": platform.python_version(),
    "safetensors": "tools/sd/pystub (vsdlab stand-in) to read; this script's streaming writer to write",
}

# stabilityai/stable-diffusion-2-1-base unet/config.json as published (written by diffusers 0.10.0.dev0's converter;
# transcribed, since this machine cannot reach the Hub to re-download it). No upcast_attention key: diffusers' default
# False applies (see the module docstring); the 768 model's config adds "upcast_attention": true and sample_size 96.
SD21_BASE_UNET = {
    "_class_name": "UNet2DConditionModel",
    "_diffusers_version": "0.10.0.dev0",
    "act_fn": "silu",
    "attention_head_dim": [5, 10, 20, 20],
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 1024,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "dual_cross_attention": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": True,
}

SEEDS = {"weights": 3001, "latents": 3002, "encoder_hidden_states": 3003}
TIMESTEPS = (999, 500)
SQRT12 = 3.4641016151377544  # float64 sqrt(12), the same literal in bench/sd/fullsize-inputs.ts


def xorshift_inputs(shape, seed):
    """uniform(-sqrt(3), sqrt(3)) float32 values from xorshift32; bench/sd/fullsize-inputs.ts makes the same bits"""
    n = int(np.prod(shape))
    x = seed & 0xFFFFFFFF
    assert x != 0
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = ((x >> 8) / 16777216.0 - 0.5) * SQRT12
    return torch.from_numpy(out.astype(np.float32).reshape(shape))


def sha256_f32(t):
    return hashlib.sha256(t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()).hexdigest()


def inputs(size):
    lat = xorshift_inputs((1, 4, size, size), SEEDS["latents"])
    ehs = xorshift_inputs((1, 77, SD21_BASE_UNET["cross_attention_dim"]), SEEDS["encoder_hidden_states"])
    return lat, ehs


def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if p.dim() == 1:
            if name.endswith("weight"):  # norm scales
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))


def st_write_streaming(named, path, dtype, metadata):
    """safetensors layout as tools/sd/pystub and make_sd_goldens.py write it (u64 LE header length, JSON header
    space-padded to a multiple of 8, tensors sorted by name, raw LE data), one tensor in memory at a time"""
    names = {torch.float32: "F32", torch.float16: "F16"}
    items = sorted(named.items())
    header, off = {"__metadata__": metadata}, 0
    for name, t in items:
        n = t.numel() * torch.tensor([], dtype=dtype).element_size()
        header[name] = {"dtype": names[dtype], "shape": list(t.shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, t in items:
            f.write(t.detach().to(dtype).contiguous().numpy().tobytes())
    return off


def write_folder(out):
    unet_dir = os.path.join(out, "unet")
    os.makedirs(unet_dir, exist_ok=True)
    t0 = time.perf_counter()
    cfg = {k: v for k, v in SD21_BASE_UNET.items() if not k.startswith("_")}
    model = UNet2DConditionModel(**cfg).eval()
    init_weights(model, SEEDS["weights"])
    n_params = sum(p.numel() for p in model.parameters())
    sd = model.state_dict()
    print(f"built UNet2DConditionModel: {n_params:,} parameters, {len(sd)} tensors ({time.perf_counter() - t0:.1f} s)", flush=True)
    with open(os.path.join(unet_dir, "config.json"), "w") as f:
        json.dump(SD21_BASE_UNET, f, indent=2, sort_keys=True)
        f.write("\n")
    for fname, dtype in (("diffusion_pytorch_model.safetensors", torch.float32),
                         ("diffusion_pytorch_model.fp16.safetensors", torch.float16)):
        t1 = time.perf_counter()
        nbytes = st_write_streaming(sd, os.path.join(unet_dir, fname), dtype, {"format": "pt"})
        print(f"wrote {fname}: {nbytes:,} bytes of tensors ({time.perf_counter() - t1:.1f} s)", flush=True)
    del sd, model
    gc.collect()
    return n_params


def mmap_load_file(filename, device="cpu"):
    """safetensors.torch.load_file as the real package does it: tensors over a memory map of the file, no copy
    (the pystub reads the whole file and copies each tensor, which would double PyTorch's load time and RSS)"""
    import safetensors
    n, header = safetensors.read_header(filename)
    header.pop("__metadata__", None)
    mm = np.memmap(filename, dtype=np.uint8, mode="r", offset=8 + n)
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = mm[b:e].view(dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr)  # read-only map: load_state_dict copies it into the parameters
    return out


def forward(out, variant, size, print_outputs):
    """a fresh process: from_pretrained, then the two forwards; one JSON line on stdout"""
    import warnings
    import safetensors.torch
    patch_attention()
    safetensors.torch.load_file = mmap_load_file
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    unet_dir = os.path.join(out, "unet")
    t0 = time.perf_counter()
    model = UNet2DConditionModel.from_pretrained(unet_dir, variant=None if variant == "f32" else "fp16",
                                                 low_cpu_mem_usage=False).eval()
    load_s = time.perf_counter() - t0
    for name, proc in model.attn_processors.items():
        if type(proc).__name__ != "AttnProcessor":
            raise SystemExit(f"unexpected attention processor {type(proc).__name__} at {name}")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not model.config.upcast_attention
    lat, ehs = inputs(size)
    times, outs = [], {}
    for t in TIMESTEPS:
        t1 = time.perf_counter()
        y = model(lat, torch.tensor([t], dtype=torch.int64), encoder_hidden_states=ehs).sample
        times.append(time.perf_counter() - t1)
        if not torch.isfinite(y).all():
            raise SystemExit(f"non-finite output at t={t}")
        outs[f"t{t}"] = y
    again = model(lat, torch.tensor([TIMESTEPS[0]], dtype=torch.int64), encoder_hidden_states=ehs).sample
    assert torch.equal(again, outs[f"t{TIMESTEPS[0]}"]), "UNet not deterministic"
    res = {
        "engine": "pytorch-cpu (diffusers)", "variant": variant, "size": size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "load_s": load_s, "first_forward_s": times[0], "second_forward_s": times[1],
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads": torch.get_num_threads(),
        "max_abs": {k: float(v.abs().max()) for k, v in outs.items()},
    }
    if print_outputs:
        res["outputs"] = {k: [float(x) for x in v.reshape(-1).tolist()] for k, v in outs.items()}
    print(json.dumps(res), flush=True)


def count_flops(size):
    """FLOPs of one forward at this latent size: 2*MACs of every Conv2d and Linear (forward hooks on a model with
    untouched init; no weights needed) plus the attention products as torch.profiler counts them"""
    from torch.profiler import ProfilerActivity, profile
    patch_attention()
    model = UNet2DConditionModel(**{k: v for k, v in SD21_BASE_UNET.items() if not k.startswith("_")}).eval()
    macs = {"conv": 0, "linear": 0}

    def hook(kind):
        def f(mod, _inp, out):
            per_out = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1] if kind == "conv" else mod.in_features
            macs[kind] += out.numel() * per_out
        return f

    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            mod.register_forward_hook(hook("conv"))
        elif isinstance(mod, torch.nn.Linear):
            mod.register_forward_hook(hook("linear"))
    lat, ehs = inputs(size)
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as p:
        model(lat, torch.tensor([999], dtype=torch.int64), encoder_hidden_states=ehs)
    attn = sum(e.flops for e in p.key_averages() if e.key in ("aten::bmm", "aten::baddbmm"))
    res = {"size": size, "conv_gflop": 2 * macs["conv"] / 1e9, "linear_gflop": 2 * macs["linear"] / 1e9,
           "attention_gflop": attn / 1e9}
    res["total_gflop"] = res["conv_gflop"] + res["linear_gflop"] + res["attention_gflop"]
    print(json.dumps(res), flush=True)


def run_forward_process(out, variant, size):
    cmd = [sys.executable, os.path.abspath(__file__), "--out", out, "--size", str(size), "--forward", variant,
           "--print-outputs"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/sd21-fullsize")
    ap.add_argument("--golden", default="bench/sd/fullsize-golden.json")
    ap.add_argument("--size", type=int, default=16, help="latent height = width")
    ap.add_argument("--skip-write", action="store_true", help="reuse the folder already in --out")
    ap.add_argument("--forward", choices=["f32", "fp16"], help="only time one variant's forwards (one JSON line)")
    ap.add_argument("--print-outputs", action="store_true")
    ap.add_argument("--flops", action="store_true", help="only print the forward's FLOP count (no folder needed)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: min(2, cores))")
    args = ap.parse_args()
    here = os.path.realpath(os.path.join(HERE, "..", ".."))
    if os.path.realpath(args.out).startswith(here + os.sep):
        raise SystemExit(f"--out {args.out} is inside the repository; use e.g. /tmp/sd21-fullsize (5.2 GB)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.flops:
        count_flops(args.size)
        return
    if args.forward:
        forward(args.out, args.forward, args.size, args.print_outputs)
        return
    n_params = None if args.skip_write else write_folder(args.out)
    results = {v: run_forward_process(args.out, v, args.size) for v in ("f32", "fp16")}
    lat, ehs = inputs(args.size)
    tensors = {"latents": lat.reshape(-1).tolist()}
    for v, r in results.items():
        for t in TIMESTEPS:
            tensors[f"sample_t{t}_{v}"] = r["outputs"][f"t{t}"]
    shape = [1, SD21_BASE_UNET["out_channels"], args.size, args.size]
    doc = {
        "meta": {
            "what": "sample = UNet2DConditionModel(SD 2.1-base unet/config.json, random weights).forward(latents, "
                    "timesteps=[t] (int64), encoder_hidden_states).sample, for t in 999, 500; diffusers "
                    "from_pretrained of the F32 file (_f32) and of the fp16 variant loaded into the float32 model "
                    "(_fp16: F16 values upcast to float32); AttnProcessor, 2 torch threads, CPU",
            "config": SD21_BASE_UNET,
            "parameters": results["f32"]["parameters"],
            "seeds": SEEDS,
            "inputs": {
                "generator": "xorshift32 (x ^= x<<13; x ^= x>>17; x ^= x<<5, 32-bit) from the seed; value = "
                             "float32(((x >> 8) / 2**24 - 0.5) * 3.4641016151377544), row-major",
                "latents": {"shape": [1, 4, args.size, args.size], "sha256_f32le": sha256_f32(lat)},
                "encoder_hidden_states": {"shape": list(ehs.shape), "sha256_f32le": sha256_f32(ehs)},
                "timesteps": list(TIMESTEPS),
            },
            "torch": {v: {k: r[k] for k in r if k != "outputs"} for v, r in results.items()},
            "versions": VERSIONS,
        },
        "tensors": {k: {"shape": [1, 4, args.size, args.size] if k == "latents" else shape, "dtype": "float32",
                        "data": [float(x) for x in v]} for k, v in tensors.items()},
    }
    if n_params is not None:
        assert n_params == doc["meta"]["parameters"]
    with open(args.golden, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {args.golden} ({os.path.getsize(args.golden)} bytes)")
    for v, r in results.items():
        print(f"torch {v}: load {r['load_s']:.1f} s, forwards {r['first_forward_s']:.2f} / {r['second_forward_s']:.2f} s, "
              f"peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB, max |out| {r['max_abs']}")


if __name__ == "__main__":
    main()
