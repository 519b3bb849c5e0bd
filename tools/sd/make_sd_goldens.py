#!/usr/bin/env python3
"""Make vsdlab's Stable Diffusion fixtures and goldens from the REAL reference code.

What it writes
  test/fixtures/sd/...   tiny random-weight diffusers folders (real layouts: model_index.json,
                         unet/, vae/, text_encoder/, tokenizer/, scheduler/, an fp16 variant file,
                         a sharded component)
  test/golden/sd/*.json  outputs of diffusers / open_clip run on weights loaded back FROM those
                         folders (see test/golden/sd/README.md for every file, shape and semantics)

What it needs (nothing of it is committed; fetch it outside the repo)
  * Debian's interpreter /usr/bin/python3 with python3-torch (1.13), python3-numpy, python3-regex,
    python3-packaging, python3-requests, python3-filelock, python3-yaml, python3-tqdm, python3-pil,
    python3-torchvision (open_clip's transformer.py imports torchvision).
  * huggingface/diffusers at tag v0.27.2          -> e.g. /tmp/diffusers   (use its src/)
  * huggingface/huggingface_hub at tag v0.22.2    -> e.g. /tmp/hub         (use its src/)
  * mlfoundations/open_clip at tag v2.20.0 (src/) -> e.g. /tmp/open_clip   (--open-clip)
  * tools/sd/pystub/ (committed, our own code): a minimal `safetensors` stand-in, because Debian
    has no python3-safetensors; this script puts it on sys.path itself.

  git --git-dir=<mirror of diffusers> archive v0.27.2 | tar -x -C /tmp/diffusers
  git --git-dir=<mirror of huggingface_hub> archive v0.22.2 | tar -x -C /tmp/hub
  git --git-dir=<mirror of open_clip> archive v2.20.0 src | tar -x -C /tmp/open_clip

How to run (from the repository root; ~1-2 min on 2 cores)
  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/make_sd_goldens.py \
      --out test/golden/sd --fixtures test/fixtures/sd --open-clip /tmp/open_clip/src

Determinism: every random input/weight comes from its own torch.Generator with a fixed seed
(recorded in each golden's "meta.seeds"). Every golden is checked finite before it is written;
a non-finite value aborts the run (nothing is written for that golden).

Attention: on Debian's torch 1.13 diffusers uses `AttnProcessor` (no SDPA), whose
`Attention.get_attention_scores` calls `torch.baddbmm(torch.empty(...), q, k^T, beta=0, alpha=scale)`;
on this build that intermittently yields NaN (uninitialised buffer). We replace only the `torch.empty`
by `torch.zeros` (same math: beta=0), see `patch_attention()`.
"""
import argparse
import ast
import gzip
import html
import json
import math
import os
import platform
import shutil
import struct
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pystub"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import diffusers  # noqa: E402
import huggingface_hub  # noqa: E402
from diffusers import AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel  # noqa: E402
from diffusers.models import attention_processor as _ap  # noqa: E402

VERSIONS = {
    "diffusers": "v0.27.2 (" + diffusers.__version__ + ")",
    "huggingface_hub": "v0.22.2 (" + huggingface_hub.__version__ + ")",
    "open_clip": "v2.20.0",
    "torch": torch.__version__,
    "numpy": np.__version__,
    "python": platform.python_version(),
    "safetensors": "tools/sd/pystub (vsdlab stand-in)",
}

torch.set_grad_enabled(False)
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


# ----------------------------------------------------------------------------- helpers

def patch_attention():
    """Same computation as diffusers v0.27.2 Attention.get_attention_scores, but the beta=0 input
    of baddbmm is a zeros tensor instead of torch.empty (NaN garbage on this torch build)."""

    def get_attention_scores(self, query, key, attention_mask=None):
        dtype = query.dtype
        if self.upcast_attention:
            query = query.float()
            key = key.float()
        if attention_mask is None:
            baddbmm_input = torch.zeros(query.shape[0], query.shape[1], key.shape[1], dtype=query.dtype)
            beta = 0
        else:
            baddbmm_input = attention_mask
            beta = 1
        attention_scores = torch.baddbmm(baddbmm_input, query, key.transpose(-1, -2), beta=beta, alpha=self.scale)
        if self.upcast_softmax:
            attention_scores = attention_scores.float()
        attention_probs = attention_scores.softmax(dim=-1)
        return attention_probs.to(dtype)

    _ap.Attention.get_attention_scores = get_attention_scores


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(shape, seed, scale=1.0):
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float32) * scale


def check_finite(name, t):
    t = torch.as_tensor(t)
    if t.is_floating_point() and not torch.isfinite(t).all():
        raise SystemExit(f"REFUSING to write golden {name}: non-finite values")


def tensor_entry(t):
    t = torch.as_tensor(t).detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float32)
        # float32 -> python float (exact double) -> repr: round-trips bit-exactly through Math.fround
        return {"shape": list(t.shape), "dtype": "float32", "data": [float(x) for x in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "dtype": "int64", "data": [int(x) for x in t.reshape(-1).tolist()]}


def write_golden(out_dir, fname, meta, tensors, extra=None):
    for k, v in tensors.items():
        check_finite(f"{fname}:{k}", v)
    doc = {"meta": dict(meta, versions=VERSIONS)}
    if extra:
        doc.update(extra)
    doc["tensors"] = {k: tensor_entry(v) for k, v in tensors.items()}
    path = os.path.join(out_dir, fname)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def st_write(tensors, path, metadata=None):
    """Our own safetensors writer (same layout as safetensors' serializer: 8-byte LE header length,
    JSON header padded with spaces to a multiple of 8, tensors sorted by name, raw LE data)."""
    import torch as _t
    names = {_t.float64: "F64", _t.float32: "F32", _t.float16: "F16", _t.bfloat16: "BF16",
             _t.int64: "I64", _t.int32: "I32", _t.int16: "I16", _t.int8: "I8", _t.uint8: "U8"}
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    chunks, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.view(_t.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)


def st_read(path):
    from safetensors.torch import load_file
    return load_file(path)


def init_weights(model, seed):
    """Deterministic, well-scaled random weights (diffusers' default init zero-inits nothing here,
    but we want every parameter non-trivial and every activation O(1))."""
    g = gen(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if p.dim() == 1:
            if name.endswith("weight"):  # norm scales
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
        else:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


# ----------------------------------------------------------------------------- tiny configs

UNET_SD2 = dict(  # SD 2.x-like: linear proj_in/out, per-block attention_head_dim, upcast_attention
    sample_size=8, in_channels=4, out_channels=4, center_input_sample=False,
    flip_sin_to_cos=True, freq_shift=0,
    down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
    block_out_channels=[8, 16], layers_per_block=2,
    downsample_padding=1, mid_block_scale_factor=1, act_fn="silu",
    norm_num_groups=4, norm_eps=1e-5, cross_attention_dim=8,
    attention_head_dim=[2, 4], use_linear_projection=True, upcast_attention=True,
    dual_cross_attention=False, only_cross_attention=False, resnet_time_scale_shift="default",
)
UNET_SD1 = dict(  # SD 1.x-like: conv proj_in/out, int attention_head_dim; freq/flip/eps deliberately
    # NOT SD's values (SD uses flip_sin_to_cos=True, freq_shift=0) so both branches are covered
    sample_size=8, in_channels=4, out_channels=4,
    flip_sin_to_cos=False, freq_shift=1,
    down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
    block_out_channels=[8, 12], layers_per_block=1,
    norm_num_groups=2, norm_eps=1e-6, cross_attention_dim=8,
    attention_head_dim=2, use_linear_projection=False, upcast_attention=False,
)
VAE = dict(
    in_channels=3, out_channels=3,
    down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
    up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
    block_out_channels=[8, 16], layers_per_block=1, act_fn="silu", latent_channels=4,
    norm_num_groups=4, sample_size=16, scaling_factor=0.18215,
)

# SD 2.1-base's scheduler/scheduler_config.json (PNDMScheduler; as published, timestep_spacing absent
# -> diffusers' default "leading")
SCHEDULER_SD21_BASE = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.10.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}

SEEDS = {
    "unet_sd2_weights": 1001, "unet_sd1_weights": 1002, "vae_weights": 1003,
    "te_sd2_weights": 1004, "te_sd1_weights": 1005,
    "unet_latents": 2001, "unet_ehs_sd2": 2002, "unet_ehs_sd1": 2003,
    "vae_latents": 2004, "vae_image": 2005, "vae_eps": 2006,
    "sample_latents": 2007, "onestep_noise": 2008,
}


# ----------------------------------------------------------------------------- UNet / VAE

def build_unet(cfg, seed):
    m = UNet2DConditionModel(**cfg).eval()
    init_weights(m, seed)
    return m


def build_vae(seed):
    m = AutoencoderKL(**VAE).eval()
    init_weights(m, seed)
    return m


def assert_attn_processor(model):
    for name, proc in model.attn_processors.items():
        if type(proc).__name__ != "AttnProcessor":
            raise SystemExit(f"unexpected attention processor {type(proc).__name__} at {name}")


def write_sharded(state_dict, folder, base="diffusion_pytorch_model"):
    """Sharded layout as diffusers >= 0.28 / transformers write it:
    <base>.safetensors.index.json {"metadata": {"total_size": bytes}, "weight_map": {name: shard}}
    and <base>-0000i-of-0000n.safetensors. Split in two halves of the sorted names."""
    names = sorted(state_dict)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    weight_map, total = {}, 0
    for i, part in enumerate(shards):
        fname = f"{base}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        st_write({n: state_dict[n] for n in part}, os.path.join(folder, fname), metadata={"format": "pt"})
        for n in part:
            weight_map[n] = fname
            total += state_dict[n].numel() * state_dict[n].element_size()
    dump_json(os.path.join(folder, f"{base}.safetensors.index.json"),
              {"metadata": {"total_size": total}, "weight_map": weight_map})


def load_sharded(folder, base="diffusion_pytorch_model"):
    with open(os.path.join(folder, f"{base}.safetensors.index.json")) as f:
        idx = json.load(f)
    sd = {}
    for shard in sorted(set(idx["weight_map"].values())):
        sd.update(st_read(os.path.join(folder, shard)))
    return sd


def make_unet_vae(args):
    fx = args.fixtures
    sd2 = os.path.join(fx, "tiny-sd2")
    os.makedirs(sd2, exist_ok=True)

    # --- write folders with diffusers' own save_pretrained (config.json exactly as diffusers writes it)
    unet2 = build_unet(UNET_SD2, SEEDS["unet_sd2_weights"])
    unet2.save_pretrained(os.path.join(sd2, "unet"))
    vae = build_vae(SEEDS["vae_weights"])
    vae.save_pretrained(os.path.join(sd2, "vae"))
    # fp16 variant of the VAE (diffusers variant naming: diffusion_pytorch_model.fp16.safetensors)
    vae16 = build_vae(SEEDS["vae_weights"]).half()
    vae16.save_pretrained(os.path.join(sd2, "vae"), variant="fp16")
    unet1 = build_unet(UNET_SD1, SEEDS["unet_sd1_weights"])
    unet1.save_pretrained(os.path.join(fx, "sd1-parts", "unet"))
    # sharded copy of the VAE in its own folder (diffusers 0.27.2 cannot load shards; >= 0.28 can)
    vsh = os.path.join(fx, "vae-sharded")
    os.makedirs(vsh, exist_ok=True)
    shutil.copy(os.path.join(sd2, "vae", "config.json"), os.path.join(vsh, "config.json"))
    write_sharded(vae.state_dict(), vsh)

    # --- reload FROM the folders with diffusers' from_pretrained (proves they are valid folders)
    unet2 = UNet2DConditionModel.from_pretrained(os.path.join(sd2, "unet"), low_cpu_mem_usage=False).eval()
    unet1 = UNet2DConditionModel.from_pretrained(os.path.join(fx, "sd1-parts", "unet"), low_cpu_mem_usage=False).eval()
    vae = AutoencoderKL.from_pretrained(os.path.join(sd2, "vae"), low_cpu_mem_usage=False).eval()
    vae16 = AutoencoderKL.from_pretrained(os.path.join(sd2, "vae"), variant="fp16", low_cpu_mem_usage=False).eval()  # F16 -> F32 model
    for m in (unet2, unet1, vae, vae16):
        assert_attn_processor(m)
    # shards == single file
    sh = load_sharded(vsh)
    single = st_read(os.path.join(sd2, "vae", "diffusion_pytorch_model.safetensors"))
    assert sh.keys() == single.keys() and all(torch.equal(sh[k], single[k]) for k in sh), "shards differ"

    # --- UNet goldens
    lat = randn((2, 4, 8, 8), SEEDS["unet_latents"])
    tsteps = torch.tensor([999, 37], dtype=torch.int64)
    for tag, unet, cfg, ehs_seed in (("sd2", unet2, UNET_SD2, "unet_ehs_sd2"), ("sd1", unet1, UNET_SD1, "unet_ehs_sd1")):
        ehs = randn((2, 77, cfg["cross_attention_dim"]), SEEDS[ehs_seed])
        out = unet(lat, tsteps, encoder_hidden_states=ehs).sample
        out_again = unet(lat, tsteps, encoder_hidden_states=ehs).sample
        assert torch.equal(out, out_again), "UNet not deterministic"
        # scalar timestep broadcast (the pipeline passes a 0-d tensor t)
        out_scalar = unet(lat, torch.tensor(500), encoder_hidden_states=ehs).sample
        folder = "test/fixtures/sd/tiny-sd2/unet" if tag == "sd2" else "test/fixtures/sd/sd1-parts/unet"
        write_golden(args.out, f"unet_{tag}.json", {
            "what": f"UNet2DConditionModel({tag}-like tiny config) forward: sample = unet(latents, timesteps, "
                    "encoder_hidden_states).sample; also with a 0-d timestep 500 broadcast to the batch",
            "weights": folder,
            "seeds": {"latents": SEEDS["unet_latents"], "encoder_hidden_states": SEEDS[ehs_seed]},
            "config": cfg,
        }, {"latents": lat, "timesteps": tsteps, "encoder_hidden_states": ehs, "sample": out,
            "sample_t500": out_scalar})

    # --- VAE goldens
    sf = vae.config.scaling_factor
    z = randn((2, 4, 8, 8), SEEDS["vae_latents"])
    dec = vae.decode(z / sf).sample
    img01 = (dec / 2 + 0.5).clamp(0, 1)  # VaeImageProcessor.denormalize
    dec16 = vae16.decode(z / sf).sample
    x = torch.rand(1, 3, 16, 16, generator=gen(SEEDS["vae_image"])) * 2 - 1
    dist = vae.encode(x).latent_dist
    eps = randn(dist.mean.shape, SEEDS["vae_eps"])
    sample = dist.mean + dist.std * eps  # DiagonalGaussianDistribution.sample with this eps
    write_golden(args.out, "vae.json", {
        "what": "AutoencoderKL tiny. decode: image = vae.decode(latents / scaling_factor).sample (the SD pipeline "
                "divides by scaling_factor before decode); image01 = (image/2+0.5).clamp(0,1). "
                "decode_fp16_weights: same with the F16 variant file loaded into an F32 model. "
                "encode: latent_dist = vae.encode(x).latent_dist (x in [-1,1]); mean, std, logvar (clamped to "
                "[-30,20] as diffusers does), latents = mean * scaling_factor, and sample = mean + std*eps "
                "(DiagonalGaussianDistribution.sample with the given eps), sample_scaled = sample*scaling_factor",
        "weights": "test/fixtures/sd/tiny-sd2/vae",
        "scaling_factor": sf,
        "seeds": {"latents": SEEDS["vae_latents"], "image (torch.rand*2-1)": SEEDS["vae_image"], "eps": SEEDS["vae_eps"]},
        "config": VAE,
    }, {"latents": z, "image": dec, "image01": img01, "decode_fp16_weights": dec16,
        "x": x, "mean": dist.mean, "std": dist.std, "logvar": dist.logvar, "mean_scaled": dist.mean * sf,
        "eps": eps, "sample": sample, "sample_scaled": sample * sf})
    return {"unet2": unet2, "unet1": unet1, "vae": vae}


def make_pipeline_files(args):
    """model_index.json as diffusers v0.27.2's StableDiffusionPipeline.save_pretrained writes it for a
    pipeline without safety checker / feature extractor, and SD 2.1-base's published scheduler config."""
    sd2 = os.path.join(args.fixtures, "tiny-sd2")
    dump_json(os.path.join(sd2, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.27.2",
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    })
    os.makedirs(os.path.join(sd2, "scheduler"), exist_ok=True)
    dump_json(os.path.join(sd2, "scheduler", "scheduler_config.json"), SCHEDULER_SD21_BASE)
    # self-check: diffusers reads it
    from diffusers import PNDMScheduler
    s = PNDMScheduler.from_pretrained(os.path.join(sd2, "scheduler"))
    assert s.config.timestep_spacing == "leading" and s.config.steps_offset == 1


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="test/golden/sd")
    ap.add_argument("--fixtures", default="test/fixtures/sd")
    ap.add_argument("--open-clip", default="/tmp/open_clip/src", help="open_clip v2.20.0 src/ directory")
    ap.add_argument("--only", default="all", help="comma list: unet_vae,text,tokenizer,sched (default all)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.fixtures, exist_ok=True)
    patch_attention()
    only = set(args.only.split(","))
    ctx = {}
    if "all" in only or "unet_vae" in only:
        ctx.update(make_unet_vae(args))
        make_pipeline_files(args)


if __name__ == "__main__":
    main()
