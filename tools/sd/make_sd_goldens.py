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
    # JSON has no infinities: a config value such as lambda_min_clipped = -inf is written as the string "-Infinity"
    doc["meta"] = json.loads(json.dumps(doc["meta"]).replace("-Infinity", '"-Infinity"').replace("Infinity", '"Infinity"'))
    path = os.path.join(out_dir, fname)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
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


# ----------------------------------------------------------------------------- open_clip (text side)

def import_open_clip(src):
    """Import open_clip v2.20.0's transformer.py and tokenizer.py WITHOUT its __init__ (which pulls
    factory/pretrained). ftfy is not in Debian: tokenizer.py imports it, so a stand-in whose fix_text is
    the identity is installed (only used for the open_clip *comparison* ids, see tokenizer notes)."""
    pkg = types.ModuleType("open_clip")
    pkg.__path__ = [os.path.join(src, "open_clip")]
    sys.modules["open_clip"] = pkg
    if "ftfy" not in sys.modules:
        try:
            import ftfy  # noqa: F401
        except ImportError:
            ft = types.ModuleType("ftfy")
            ft.fix_text = lambda t: t
            ft.__vsdlab_identity_stub__ = True
            sys.modules["ftfy"] = ft
    import importlib
    T = importlib.import_module("open_clip.transformer")
    tok = importlib.import_module("open_clip.tokenizer")
    return T, tok


# ----------------------------------------------------------------------------- tokenizer

BOS, EOS = 49406, 49407
TOKENIZER_SPECIAL = {"content": None, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


def _special(content, with_type):
    d = dict(TOKENIZER_SPECIAL, content=content)
    if with_type:
        d = dict({"__type": "AddedToken"}, **d)
    return d


def write_tokenizer(folder, tok_mod, pad_token, full=True):
    """vocab.json / merges.txt derived from open_clip's bpe_simple_vocab_16e6.txt.gz exactly as
    open_clip's SimpleTokenizer builds its vocabulary (ids identical), written the way transformers'
    CLIPTokenizer.save_vocabulary writes them; tokenizer_config.json / special_tokens_map.json in the
    layout SD's published tokenizer folders use (pad "!" for SD 2.x, "<|endoftext|>" for SD 1.x)."""
    os.makedirs(folder, exist_ok=True)
    if full:
        st = tok_mod.SimpleTokenizer()
        enc = dict(st.encoder)
        enc["<|startoftext|>"] = enc.pop("<start_of_text>")
        enc["<|endoftext|>"] = enc.pop("<end_of_text>")
        assert enc["<|startoftext|>"] == BOS and enc["<|endoftext|>"] == EOS and len(enc) == 49408
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(enc, ensure_ascii=False, separators=(",", ":")) + "\n")
        merges = sorted(st.bpe_ranks.items(), key=lambda kv: kv[1])
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for pair, _ in merges:
                f.write(" ".join(pair) + "\n")
    dump_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": _special("<|startoftext|>", False),
        "eos_token": _special("<|endoftext|>", False),
        "pad_token": pad_token,
        "unk_token": _special("<|endoftext|>", False),
    })
    dump_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "bos_token": _special("<|startoftext|>", True),
        "do_lower_case": True,
        "eos_token": _special("<|endoftext|>", True),
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": pad_token,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": _special("<|endoftext|>", True),
    })


class HFCLIPTokenizerRef:
    """transformers' slow CLIPTokenizer as StableDiffusionPipeline calls it
    (tokenizer(prompt, padding="max_length", max_length=77, truncation=True)), in the usual
    environment WITHOUT ftfy (ftfy is a dependency of neither transformers nor diffusers):

      1. PreTrainedTokenizer.tokenize splits the text on the special ("no-split") tokens
         <|startoftext|>, <|endoftext|> and the pad token (SD 2.x: "!" !), leftmost-longest; the
         pieces keep their surrounding spaces (AddedToken lstrip/rstrip false).
      2. each other piece -> CLIPTokenizer._tokenize: text = " ".join(BasicTokenizer(
         strip_accents=False, do_split_on_punc=False).tokenize(piece)); then regex findall with
         <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
         (IGNORECASE), bytes_to_unicode, BPE (same merges/ranks and algorithm as open_clip).
      3. ids: special token -> its id ("!" -> 0); else vocab id.
      4. truncation to 77-2 = 75 ids, then [49406] + ids + [49407], then right-pad with pad id to 77.
    BasicTokenizer (transformers, models/clip/tokenization_clip.py): drop chars with cp 0, U+FFFD or
    unicode category C* (except \t \n \r); whitespace (\t \n \r ' ' or Zs) -> ' '; spaces around CJK
    ideographs; NFC normalisation; split on whitespace; lower() each word (no accent stripping).
    BPE/bytes_to_unicode come from open_clip's SimpleTokenizer (identical code), vocab/merges are read
    back from the written files exactly as CLIPTokenizer.__init__ reads them."""

    def __init__(self, folder, tok_mod, pad_token):
        import regex
        self.re = regex
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            bpe_merges = f.read().strip().split("\n")[1: 49152 - 256 - 2 + 1]
        self.bpe_ranks = dict(zip([tuple(m.split()) for m in bpe_merges], range(len(bpe_merges))))
        self.st = tok_mod.SimpleTokenizer()
        assert self.st.bpe_ranks == self.bpe_ranks, "merges.txt does not reproduce open_clip's ranks"
        self.byte_encoder = tok_mod.bytes_to_unicode()
        self.pat = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)
        self.pad_token = pad_token
        self.pad_id = self.encoder[pad_token]
        self.specials = sorted({"<|startoftext|>", "<|endoftext|>", pad_token}, key=len, reverse=True)

    # --- BasicTokenizer(strip_accents=False, do_split_on_punc=False), do_lower_case=True
    @staticmethod
    def _is_whitespace(ch):
        import unicodedata
        return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"

    @staticmethod
    def _is_control(ch):
        import unicodedata
        if ch in ("\t", "\n", "\r"):
            return False
        return unicodedata.category(ch).startswith("C")

    @staticmethod
    def _is_cjk(cp):
        return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
                or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
                or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))

    def basic_tokenize(self, text):
        import unicodedata
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or self._is_control(ch):
                continue
            out.append(" " if self._is_whitespace(ch) else ch)
        text = "".join(out)
        text = "".join((" " + ch + " ") if self._is_cjk(ord(ch)) else ch for ch in text)
        text = unicodedata.normalize("NFC", text)
        words = text.strip().split()
        words = [w.lower() for w in words]
        return " ".join(words).strip().split()

    def _tokenize(self, piece):
        text = " ".join(self.basic_tokenize(piece))
        toks = []
        for token in self.re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            toks.extend(self.st.bpe(token).split(" "))
        return toks

    def split_specials(self, text):
        pieces, i, start = [], 0, 0
        while i < len(text):
            hit = next((s for s in self.specials if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            if i > start:
                pieces.append((text[start:i], False))
            pieces.append((hit, True))
            i += len(hit)
            start = i
        if start < len(text):
            pieces.append((text[start:], False))
        return pieces

    def tokens(self, text):
        out = []
        for piece, special in self.split_specials(text):
            if special:
                out.append(piece)
            elif piece.strip():
                out.extend(self._tokenize(piece))
        return out

    def __call__(self, text):
        toks = self.tokens(text)
        ids = [self.encoder.get(t, self.encoder["<|endoftext|>"]) for t in toks]
        n = len(ids)
        ids = [BOS] + ids[:75] + [EOS]
        ids += [self.pad_id] * (77 - len(ids))
        return ids, toks, n


def open_clip_ids(tok_mod, text):
    return tok_mod.tokenize([text], context_length=77)[0].tolist()


LONG_PROMPT = ("a highly detailed matte painting of a vast ancient city built on the back of a giant turtle "
               "swimming through a sea of clouds at golden hour, intricate architecture, towering spires, "
               "hanging gardens, waterfalls spilling into the sky, flocks of birds, volumetric lighting, "
               "trending on artstation, by greg rutkowski and thomas kinkade, octane render, 8k, unreal engine, "
               "cinematic composition, dramatic sky, ultra wide angle lens, award winning photograph")
PROMPTS = [
    "a photo of an astronaut riding a horse on mars",
    "",
    "A Photo Of An ASTRONAUT Riding A HORSE",
    "Hello, world! How's it going?",
    "! !! !!!",
    "don't won't I'm we'll they've she'd it's JOHN'S",
    "café naïve résumé Zürich façade",
    "cafe\u0301 (decomposed e + U+0301)",
    "a cat \U0001F431 and a dog \U0001F436 \U0001F680",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467 with zero-width joiners",
    "1234567890 3.14159 1,000,000 2nd 21st",
    "  leading   and\ttrailing\n\nwhitespace   runs  ",
    "Tom &amp; Jerry &lt;3 &quot;quoted&quot;",
    "日本語のテキスト 中文 한국어",
    "ÜNÏCÖDÉ ÀÉÎÕ straße ﬁne",
    LONG_PROMPT,
    "<|endoftext|> inside <|startoftext|> text",
    "email@example.com https://example.com/path?q=1#frag",
    "8k uhd, highly detailed, (masterpiece:1.2), [bad hands], {blue|red}",
    "\u201ccurly quotes\u201d \u2018single\u2019 \u2014 em dash \u2026 ellipsis",
    "zero\u200bwidth space and soft\u00adhyphen",
    " ".join(["a"] * 75),
    " ".join(["a"] * 76),
]


def make_tokenizer(args, tok_mod):
    fx = args.fixtures
    sd2_tok = os.path.join(fx, "tiny-sd2", "tokenizer")
    write_tokenizer(sd2_tok, tok_mod, "!")
    # SD 1.x: only the two config files differ (pad "<|endoftext|>"); vocab.json/merges.txt are byte-identical
    # to tiny-sd2/tokenizer's and are not duplicated (copy them next to these to get a complete folder)
    write_tokenizer(os.path.join(fx, "sd1-parts", "tokenizer"), tok_mod, "<|endoftext|>", full=False)
    ref2 = HFCLIPTokenizerRef(sd2_tok, tok_mod, "!")
    ref1 = HFCLIPTokenizerRef(sd2_tok, tok_mod, "<|endoftext|>")
    cases = []
    for p in PROMPTS:
        ids2, toks2, n2 = ref2(p)
        ids1, toks1, n1 = ref1(p)
        oc = open_clip_ids(tok_mod, p)
        cases.append({
            "prompt": p,
            "sd2_ids": ids2, "sd1_ids": ids1,
            "n_tokens_before_truncation": {"sd2": n2, "sd1": n1},
            "truncated": n2 > 75,
            "bpe_tokens_sd1": toks1,
            "open_clip_ids": oc,
            "open_clip_equals_sd2": oc == ids2,
        })
    # published check (diffusers issue #4153): SD2/SDXL tokenizer_2 maps every "!" to the pad id 0,
    # open_clip.tokenize gives 256, 748, 995 for "! !! !!!"
    c = next(c for c in cases if c["prompt"] == "! !! !!!")
    assert c["sd2_ids"][:8] == [BOS, 0, 0, 0, 0, 0, 0, EOS], c["sd2_ids"][:8]
    assert c["open_clip_ids"][:5] == [BOS, 256, 748, 995, EOS], c["open_clip_ids"][:5]
    assert c["sd1_ids"][:5] == [BOS, 256, 748, 995, EOS]
    doc = {
        "meta": {
            "what": "CLIP BPE token ids (length 77) as StableDiffusionPipeline gets them from transformers' slow "
                    "CLIPTokenizer: tokenizer(prompt, padding='max_length', max_length=77, truncation=True). "
                    "sd2_ids: tiny-sd2/tokenizer (pad_token '!' -> pad id 0, and '!' is a special no-split token); "
                    "sd1_ids: sd1-parts/tokenizer (pad_token '<|endoftext|>' -> 49407). open_clip_ids: "
                    "open_clip.tokenize (pads with 0, no '!' special), computed with ftfy.fix_text = identity.",
            "reference": HFCLIPTokenizerRef.__doc__,
            "bos_id": BOS, "eos_id": EOS, "pad_id": {"sd2": 0, "sd1": EOS},
            "vocab_files": "test/fixtures/sd/tiny-sd2/tokenizer/{vocab.json,merges.txt}",
            "ftfy_available": not getattr(sys.modules.get("ftfy"), "__vsdlab_identity_stub__", False),
            "versions": VERSIONS,
        },
        "cases": cases,
    }
    path = os.path.join(args.out, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    return {"tok2": ref2, "tok1": ref1}


# ----------------------------------------------------------------------------- text encoder

def _conversion_tables():
    """diffusers' own open_clip -> CLIPTextModel name tables, read from
    src/diffusers/pipelines/stable_diffusion/convert_from_ckpt.py (v0.27.2) with ast (the module itself
    imports transformers)."""
    path = os.path.join(os.path.dirname(diffusers.__file__), "pipelines", "stable_diffusion", "convert_from_ckpt.py")
    tree = ast.parse(open(path).read())
    vals = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("textenc_conversion_lst", "textenc_transformer_conversion_lst"):
                vals[node.targets[0].id] = ast.literal_eval(node.value)
    import re as _re
    conv_map = {a: b for a, b in vals["textenc_conversion_lst"]}
    protected = {_re.escape(a): b for a, b in vals["textenc_transformer_conversion_lst"]}
    pattern = _re.compile("|".join(protected.keys()))
    return conv_map, protected, pattern


def convert_open_clip(ckpt, prefix, keep_layers, d_model):
    """The loop of diffusers' convert_open_clip_checkpoint (v0.27.2): resblocks >= keep_layers and
    text_projection are dropped for SD 2 (there: resblocks.23 and text_projection, num_hidden_layers=23),
    in_proj split into q/k/v, names mapped with diffusers' tables."""
    import re as _re
    conv_map, protected, pattern = _conversion_tables()
    ignore = [k for k in ckpt if any(k.startswith(f"{prefix}transformer.resblocks.{i}.") for i in range(keep_layers, 1000))]
    ignore += [prefix + "text_projection"]
    out = {}
    for key in ckpt:
        if key in ignore:
            continue
        if key[len(prefix):] in conv_map:
            out[conv_map[key[len(prefix):]]] = ckpt[key]
        if key.startswith(prefix + "transformer."):
            nk = key[len(prefix + "transformer."):]
            sub = lambda s: pattern.sub(lambda m: protected[_re.escape(m.group(0))], s)  # noqa: E731
            if nk.endswith(".in_proj_weight"):
                nk = sub(nk[: -len(".in_proj_weight")])
                w = ckpt[key]
                out[nk + ".q_proj.weight"], out[nk + ".k_proj.weight"], out[nk + ".v_proj.weight"] = (
                    w[:d_model], w[d_model:2 * d_model], w[2 * d_model:])
            elif nk.endswith(".in_proj_bias"):
                nk = sub(nk[: -len(".in_proj_bias")])
                b = ckpt[key]
                out[nk + ".q_proj.bias"], out[nk + ".k_proj.bias"], out[nk + ".v_proj.bias"] = (
                    b[:d_model], b[d_model:2 * d_model], b[2 * d_model:])
            else:
                out[sub(nk)] = ckpt[key]
    return {k: v.contiguous() for k, v in out.items()}


def clip_to_open_clip(sd, n_layers):
    """Inverse map (CLIPTextModel names -> open_clip TextTransformer names) to run the written file."""
    o = {
        "token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"],
        "positional_embedding": sd["text_model.embeddings.position_embedding.weight"],
        "ln_final.weight": sd["text_model.final_layer_norm.weight"],
        "ln_final.bias": sd["text_model.final_layer_norm.bias"],
    }
    for i in range(n_layers):
        p = f"text_model.encoder.layers.{i}."
        q = f"transformer.resblocks.{i}."
        o[q + "attn.in_proj_weight"] = torch.cat([sd[p + f"self_attn.{n}_proj.weight"] for n in "qkv"])
        o[q + "attn.in_proj_bias"] = torch.cat([sd[p + f"self_attn.{n}_proj.bias"] for n in "qkv"])
        o[q + "attn.out_proj.weight"] = sd[p + "self_attn.out_proj.weight"]
        o[q + "attn.out_proj.bias"] = sd[p + "self_attn.out_proj.bias"]
        o[q + "ln_1.weight"], o[q + "ln_1.bias"] = sd[p + "layer_norm1.weight"], sd[p + "layer_norm1.bias"]
        o[q + "ln_2.weight"], o[q + "ln_2.bias"] = sd[p + "layer_norm2.weight"], sd[p + "layer_norm2.bias"]
        o[q + "mlp.c_fc.weight"], o[q + "mlp.c_fc.bias"] = sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]
        o[q + "mlp.c_proj.weight"], o[q + "mlp.c_proj.bias"] = sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"]
    return {k: v.float() for k, v in o.items()}


TE_SD2 = dict(width=8, heads=2, layers_open_clip=3, hidden_layers=2, act="gelu", projection_dim=512,
              transformers_version="4.25.0.dev0", keep_position_ids=True)
TE_SD1 = dict(width=8, heads=2, layers_open_clip=2, hidden_layers=2, act="quick_gelu", projection_dim=768,
              transformers_version="4.22.0.dev0", keep_position_ids=False)


def te_config(c):
    # CLIPTextConfig as transformers (4.2x) wrote SD's text_encoder/config.json; bos/eos/pad_token_id are
    # CLIPTextConfig's defaults 0/2/1 exactly as in the published SD files (they are NOT the tokenizer's ids)
    return {
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "dropout": 0.0,
        "eos_token_id": 2,
        "hidden_act": c["act"],
        "hidden_size": c["width"],
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": 4 * c["width"],
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": c["heads"],
        "num_hidden_layers": c["hidden_layers"],
        "pad_token_id": 1,
        "projection_dim": c["projection_dim"],
        "torch_dtype": "float16",
        "transformers_version": c["transformers_version"],
        "vocab_size": 49408,
    }


def build_open_clip_text(T, c, layers):
    act = T.QuickGELU if c["act"] == "quick_gelu" else torch.nn.GELU
    m = T.TextTransformer(context_length=77, vocab_size=49408, width=c["width"], heads=c["heads"], layers=layers,
                          output_dim=c["width"], act_layer=act, output_tokens=True).eval()
    return m


def open_clip_hidden(m, ids, n_blocks):
    """open_clip text tower up to resblock n_blocks, then ln_final -- exactly LDM's FrozenOpenCLIPEmbedder
    encode_with_transformer with layer="penultimate" when n_blocks = layers-1."""
    x = m.token_embedding(ids) + m.positional_embedding
    x = x.permute(1, 0, 2)
    for r in m.transformer.resblocks[:n_blocks]:
        x = r(x, attn_mask=m.attn_mask)
    x = x.permute(1, 0, 2)
    return m.ln_final(x)


def make_text_encoders(args, T, toks):
    res = {}
    for tag, c, folder, seed, tok in (
            ("sd2", TE_SD2, os.path.join(args.fixtures, "tiny-sd2", "text_encoder"), SEEDS["te_sd2_weights"], toks["tok2"]),
            ("sd1", TE_SD1, os.path.join(args.fixtures, "sd1-parts", "text_encoder"), SEEDS["te_sd1_weights"], toks["tok1"])):
        m = build_open_clip_text(T, c, c["layers_open_clip"])
        init_weights(m, seed)
        for p in m.parameters():  # the committed file is F16: make the reference weights exactly F16 values
            p.copy_(p.half().float())
        ckpt = {"cond_stage_model.model." + k: v for k, v in m.state_dict().items()}
        sd = convert_open_clip(ckpt, "cond_stage_model.model.", c["hidden_layers"], c["width"])
        if c["keep_position_ids"]:
            sd["text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
        sd = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
        os.makedirs(folder, exist_ok=True)
        st_write(sd, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        dump_json(os.path.join(folder, "config.json"), te_config(c))

        # reload FROM the folder, inverse-map into a fresh open_clip tower with hidden_layers blocks
        back = st_read(os.path.join(folder, "model.safetensors"))
        m2 = build_open_clip_text(T, c, c["hidden_layers"])
        missing, unexpected = m2.load_state_dict(clip_to_open_clip(back, c["hidden_layers"]), strict=False)
        assert set(missing) <= {"text_projection"} and not unexpected, (missing, unexpected)
        prompts = [PROMPTS[0], "", "Hello, world! How's it going?", LONG_PROMPT]
        ids = torch.tensor([tok(p)[0] for p in prompts], dtype=torch.int64)
        _, hidden = m2(ids)  # open_clip forward: all blocks of the written model, then ln_final
        ref = open_clip_hidden(m, ids, c["hidden_layers"])  # original tower (penultimate for sd2)
        assert torch.allclose(hidden, ref, atol=1e-6, rtol=0), (hidden - ref).abs().max()
        write_golden(args.out, f"text_encoder_{tag}.json", {
            "what": f"CLIPTextModel({tag}) last_hidden_state = what StableDiffusionPipeline passes to the UNet "
                    "(text_encoder(input_ids)[0]; no attention_mask, SD configs have no use_attention_mask). "
                    "Computed by open_clip v2.20.0's text tower loaded from the written model.safetensors (names "
                    "mapped back); F16 weights, F32 compute. " + (
                        "SD 2 semantics: the reference open_clip tower has 3 blocks; diffusers' conversion keeps "
                        "blocks 0..1 (like ViT-H's 24 -> num_hidden_layers 23) and the output is "
                        "final_layer_norm(output of the last kept block) = LDM's layer='penultimate' + ln_final."
                        if tag == "sd2" else
                        "SD 1 semantics: last layer + final_layer_norm (transformers' last_hidden_state), quick_gelu."),
            "weights": folder.replace(os.sep, "/"),
            "prompts": prompts,
            "seeds": {"weights": seed},
            "config": te_config(c),
        }, {"input_ids": ids, "last_hidden_state": hidden})
        res[f"te_{tag}"] = (m2, tok)
    return res


# ----------------------------------------------------------------------------- schedulers and sampling

SCHEDULER_SD21_768 = dict(SCHEDULER_SD21_BASE, _class_name="DDIMScheduler", prediction_type="v_prediction")


def resolved(s):
    return {k: v for k, v in dict(s.config).items() if not k.startswith("_")}


def make_schedules(args):
    out = {"meta": {"what": "DDIMScheduler.from_config(SD 2.1-base scheduler_config, timestep_spacing=...)"
                            ".set_timesteps(n): timesteps, alphas_cumprod at them, and the 'previous' alpha "
                            "DDIM uses (alphas_cumprod[t - 1000//n] or final_alpha_cumprod = alphas_cumprod[0] "
                            "since set_alpha_to_one=false); DPMSolverMultistepScheduler timesteps too.",
                    "versions": VERSIONS, "scheduler_config": SCHEDULER_SD21_BASE},
           "cases": []}
    base = DDIMScheduler.from_config(SCHEDULER_SD21_BASE)
    ac = base.alphas_cumprod
    out["alphas_cumprod"] = tensor_entry(ac)
    out["betas"] = tensor_entry(base.betas)
    out["final_alpha_cumprod"] = float(base.final_alpha_cumprod)
    for sp in ("leading", "trailing", "linspace"):
        for n in (1, 4, 25):
            s = DDIMScheduler.from_config(SCHEDULER_SD21_BASE, timestep_spacing=sp)
            s.set_timesteps(n)
            ts = s.timesteps.tolist()
            prev = [t - 1000 // n for t in ts]
            out["cases"].append({
                "scheduler": "DDIMScheduler", "timestep_spacing": sp, "steps": n, "timesteps": ts,
                "alphas_cumprod_t": [float(ac[t]) for t in ts],
                "prev_timesteps": prev,
                "alphas_cumprod_prev": [float(ac[p]) if p >= 0 else float(s.final_alpha_cumprod) for p in prev],
            })
            d = DPMSolverMultistepScheduler.from_config(SCHEDULER_SD21_BASE, timestep_spacing=sp)
            d.set_timesteps(n)
            out["cases"].append({"scheduler": "DPMSolverMultistepScheduler", "timestep_spacing": sp, "steps": n,
                                 "timesteps": d.timesteps.tolist(), "sigmas": [float(x) for x in d.sigmas]})
    check_finite("schedules", ac)
    path = os.path.join(args.out, "schedules.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def pipeline_loop(unet, scheduler, latents, embeds_uncond, embeds_text, g, steps, record=False):
    """StableDiffusionPipeline.__call__'s denoising loop (v0.27.2, guidance_rescale=0, eta=0):
    prompt_embeds = cat([negative, positive]); latents *= init_noise_sigma; for t in timesteps:
    x = scheduler.scale_model_input(cat([latents]*2), t); eps = unet(x, t, prompt_embeds).sample;
    uncond, text = eps.chunk(2); eps = uncond + g*(text - uncond); latents = scheduler.step(eps, t, latents).prev_sample"""
    scheduler.set_timesteps(steps)
    prompt_embeds = torch.cat([embeds_uncond, embeds_text])
    latents = latents * scheduler.init_noise_sigma
    traj = []
    for t in scheduler.timesteps:
        x = torch.cat([latents] * 2)
        x = scheduler.scale_model_input(x, t)
        eps = unet(x, t, encoder_hidden_states=prompt_embeds).sample
        u, c = eps.chunk(2)
        eps = u + g * (c - u)
        latents = scheduler.step(eps, t, latents, return_dict=False)[0]
        check_finite("loop", latents)
        if record:
            traj.append(latents.clone())
    return latents, traj


def make_sampling(args, ctx):
    unet, vae = ctx["unet2"], ctx["vae"]
    te, tok = ctx["te_sd2"]
    sf = vae.config.scaling_factor
    prompt = PROMPTS[0]
    ids = torch.tensor([tok(prompt)[0], tok("")[0]], dtype=torch.int64)
    _, hid = te(ids)
    emb_text, emb_uncond = hid[0:1], hid[1:2]
    z0 = randn((1, 4, 8, 8), SEEDS["sample_latents"])
    g = 4.5
    common = {"weights": "test/fixtures/sd/tiny-sd2 (unet, vae, text_encoder, tokenizer)",
              "prompt": prompt, "negative_prompt": "", "guidance_scale": g,
              "seeds": {"initial_latents": SEEDS["sample_latents"]}}
    # DDIM 25
    ddim = DDIMScheduler.from_config(SCHEDULER_SD21_BASE)
    lat, traj = pipeline_loop(unet, ddim, z0, emb_uncond, emb_text, g, 25, record=True)
    img = vae.decode(lat / sf).sample
    write_golden(args.out, "sample_ddim25.json", dict(common, **{
        "what": "DDIM 25 steps, CFG 4.5, eta 0, the StableDiffusionPipeline loop (see pipeline_loop), then "
                "image = vae.decode(latents / scaling_factor).sample; image01 = (image/2+0.5).clamp(0,1). "
                "trajectory[i] = latents after step i. text embeddings = text_encoder_sd2 of prompt / ''.",
        "scheduler": "DDIMScheduler", "scheduler_config_resolved": resolved(ddim),
        "timesteps": ddim.timesteps.tolist()}),
        {"input_ids": ids, "prompt_embeds": emb_text, "negative_prompt_embeds": emb_uncond,
         "initial_latents": z0, "trajectory": torch.stack(traj), "latents": lat, "image": img,
         "image01": (img / 2 + 0.5).clamp(0, 1)})
    # DPM-Solver++ 2M, 25
    dpm = DPMSolverMultistepScheduler.from_config(SCHEDULER_SD21_BASE)
    lat, _ = pipeline_loop(unet, dpm, z0, emb_uncond, emb_text, g, 25)
    img = vae.decode(lat / sf).sample
    write_golden(args.out, "sample_dpmpp2m25.json", dict(common, **{
        "what": "DPMSolverMultistepScheduler.from_config(SD 2.1-base config) (dpmsolver++, solver_order 2, "
                "lower_order_final, midpoint; timestep_spacing falls back to this class's default 'linspace' "
                "because the published config has no timestep_spacing), 25 steps, same loop/inputs as DDIM.",
        "scheduler": "DPMSolverMultistepScheduler", "scheduler_config_resolved": resolved(dpm),
        "timesteps": dpm.timesteps.tolist()}),
        {"initial_latents": z0, "latents": lat, "image": img})
    # v-prediction DDIM (SD 2.1-768's scheduler config), 4 steps
    vs = DDIMScheduler.from_config(SCHEDULER_SD21_768)
    lat, traj = pipeline_loop(unet, vs, z0, emb_uncond, emb_text, g, 4, record=True)
    write_golden(args.out, "sample_ddim4_vpred.json", dict(common, **{
        "what": "DDIM 4 steps with prediction_type v_prediction (SD 2.1-768's DDIMScheduler config; the tiny "
                "UNet's output is interpreted as v), CFG 4.5, same loop/inputs. trajectory[i] = latents after step i.",
        "scheduler": "DDIMScheduler", "scheduler_config": SCHEDULER_SD21_768,
        "scheduler_config_resolved": resolved(vs), "timesteps": vs.timesteps.tolist()}),
        {"initial_latents": z0, "trajectory": torch.stack(traj), "latents": lat})
    # SwiftBrush one step
    noise = randn((1, 4, 8, 8), SEEDS["onestep_noise"])
    t = torch.full((1,), 999, dtype=torch.int64)  # num_train_timesteps - 1
    eps = unet(noise, t, emb_text).sample
    ac999 = float(ddim.alphas_cumprod[999])
    x0_sched = (noise - math.sqrt(1 - ac999) * eps) / math.sqrt(ac999)
    alpha_T, sigma_T = 0.0047 ** 0.5, (1 - 0.0047) ** 0.5
    x0_off = (noise - sigma_T * eps) / alpha_T
    img_off = vae.decode(x0_off / sf).sample.float()
    img_sched = vae.decode(x0_sched / sf).sample.float()
    write_golden(args.out, "sample_onestep.json", dict(common, **{
        "what": "SwiftBrush one-step sample (VinAIResearch/SwiftBrush infer.py predict_original/inference): "
                "eps = unet(noise, t=999, prompt_embeds).sample; latents = (noise - sigma_T*eps)/alpha_T with "
                "alpha_T = 0.0047**0.5, sigma_T = (1-0.0047)**0.5 (hard-coded, infer.py:54); image = "
                "vae.decode(latents / scaling_factor).sample (infer.py:41-43); infer.py returns (image+1)/2 "
                "(save_image clamps to [0,1]); train_swiftbrush.py's validation uses "
                "(image*127.5+128).clamp(0,255).to(uint8). *_sched variants use alphas_cumprod[999] from the "
                "schedule instead of 0.0047. No CFG, no negative prompt.",
        "alphas_cumprod_999": ac999, "alpha_T_official": 0.0047,
        "seeds": {"noise": SEEDS["onestep_noise"]}}),
        {"prompt_embeds": emb_text, "noise": noise, "timestep": t, "eps": eps,
         "latents": x0_off, "image": img_off, "image01": ((img_off + 1) / 2).clamp(0, 1),
         "image_uint8": (img_off * 127.5 + 128).clamp(0, 255).to(torch.uint8).to(torch.int64),
         "latents_sched": x0_sched, "image_sched": img_sched})


def self_check(args):
    """Reload the folders with diffusers' own from_pretrained; try the whole pipeline."""
    sd2 = os.path.join(args.fixtures, "tiny-sd2")
    UNet2DConditionModel.from_pretrained(os.path.join(sd2, "unet"), low_cpu_mem_usage=False)
    UNet2DConditionModel.from_pretrained(os.path.join(args.fixtures, "sd1-parts", "unet"), low_cpu_mem_usage=False)
    AutoencoderKL.from_pretrained(os.path.join(sd2, "vae"), low_cpu_mem_usage=False)
    AutoencoderKL.from_pretrained(os.path.join(sd2, "vae"), variant="fp16", low_cpu_mem_usage=False)
    from diffusers import PNDMScheduler
    PNDMScheduler.from_pretrained(os.path.join(sd2, "scheduler"))
    try:
        from diffusers import DiffusionPipeline
        DiffusionPipeline.from_pretrained(sd2)
        print("self-check: DiffusionPipeline.from_pretrained(tiny-sd2) OK")
    except Exception as e:  # expected here: transformers is not installed
        print(f"self-check: DiffusionPipeline.from_pretrained(tiny-sd2) not possible here: {type(e).__name__}: "
              f"{str(e).strip()[:300]!r}")
    print("self-check: unet/vae/vae(fp16)/scheduler folders load with diffusers' from_pretrained")


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
    if only & {"all", "text", "tokenizer", "sched"}:
        T, tok_mod = import_open_clip(args.open_clip)
        ctx.update(make_tokenizer(args, tok_mod))
        ctx.update(make_text_encoders(args, T, ctx))
    if only & {"all", "sched"}:
        make_schedules(args)
        if "unet2" not in ctx:
            ctx.update(make_unet_vae(args))
        make_sampling(args, ctx)
    self_check(args)


if __name__ == "__main__":
    main()
