#!/usr/bin/env python3
"""Check that what vsdlab writes (a student's unet/ folder, a cell's model/ pipeline folder, a LoRA teacher's PEFT
adapter folder) loads in diffusers v0.27.2 and computes what vsdlab computed.

What it checks (each line printed as `ok ...` or the script stops with `FAIL ...`, exit 1)
  * every .safetensors written: the header as the reference library validates it (known dtypes, byte spans equal
    to shape x itemsize, spans tiling the data section, header padded so data starts 8-byte aligned) and the
    tensor order the reference serializer writes (alignment, then name)
  * --unet DIR: UNet2DConditionModel.from_pretrained(DIR) with output_loading_info: no missing, unexpected or
    mismatched keys
  * --model DIR: DiffusionPipeline.from_pretrained(DIR, text_encoder=None, tokenizer=None) builds the class
    model_index.json names (StableDiffusionPipeline) and loads its diffusers components (unet, vae, scheduler)
    with diffusers' own loading code. transformers is not installed here, so the text encoder and tokenizer are
    NOT instantiated: tools/sd/pystub-transformers supplies placeholder names only so diffusers can import the
    pipeline class (any use of them raises). With --teacher DIR, every file of model/ other than unet/ must be
    byte-identical to the teacher's (they are its links or copies), so the text encoder and tokenizer diffusers
    would load are the teacher's, which loaded before.
  * --adapter DIR: adapter_config.json has only fields of PEFT's LoraConfig (v0.10.0, as the SwiftBrush script's
    peft>=0.7 writes; checked against PEFT's source with --peft-src, else against the list below) and a plain LoRA
    (no DoRA / rsLoRA / patterns); adapter_model.safetensors has exactly the keys PEFT's get_peft_model_state_dict
    gives for this UNet and config: `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r]
    for every nn.Linear whose name ends with `.<target>` (PEFT's check_target_module_exists). PEFT itself cannot
    be imported here (it imports transformers), so the adapter is applied as PEFT's LoRA Linear computes it:
    y = base(x) + lora_B(lora_A(x)) * lora_alpha / r, with forward hooks.
  * --expected FILE: inputs and vsdlab's outputs (tools/sd/write_interop_sample.mjs writes one); the loaded UNet's
    output (and with the adapter, `out_lora`) within 1e-4 relative (max |a - b| / max |b|).

How to run (from the repository root; a few seconds on 2 cores)
  npx tsc -p tsconfig.json && node tools/sd/write_interop_sample.mjs /tmp/interop
  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/check_diffusers_load.py \
      --model /tmp/interop/model --unet /tmp/interop/unet --adapter /tmp/interop/teacher_lora \
      --expected /tmp/interop/expected.safetensors --teacher test/fixtures/sd/tiny-sd2 --peft-src /tmp/peft/src

Needs what tools/sd/make_sd_goldens.py needs (Debian torch 1.13, diffusers v0.27.2, huggingface_hub v0.22.2,
tools/sd/pystub for safetensors), plus PEFT's source at v0.10.0 for --peft-src (optional):
  git --git-dir=<mirror of peft> archive v0.10.0 src/peft | tar -x -C /tmp/peft
"""
import argparse
import ast
import filecmp
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pystub"))
sys.path.insert(1, os.path.join(HERE, "pystub-transformers"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import diffusers  # noqa: E402
from diffusers import DiffusionPipeline, UNet2DConditionModel  # noqa: E402
from diffusers.models import attention_processor as _ap  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

sys.path.insert(0, HERE)
from make_sd_goldens import patch_attention  # noqa: E402

TOLERANCE = 1e-4

# PeftConfigMixin + PeftConfig + LoraConfig fields of PEFT v0.10.0 (src/peft/config.py, src/peft/tuners/lora/config.py)
PEFT_LORA_FIELDS_V0_10 = {
    "auto_mapping", "base_model_name_or_path", "revision", "peft_type", "task_type", "inference_mode",
    "r", "target_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias", "use_rslora", "modules_to_save",
    "init_lora_weights", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern",
    "megatron_config", "megatron_core", "loftq_config", "use_dora", "layer_replication",
}

# the reference's dtype sizes, and the alignment its serializer orders by (largest first, then name)
DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
              "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok   {msg}")


def check_safetensors(path, written_by_vsdlab=True):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > 100_000_000 or 8 + n > size:
            fail(f"{path}: header length {n}")
        header = json.loads(f.read(n).decode("utf-8"))
    if (8 + n) % 8 != 0:
        fail(f"{path}: data starts at {8 + n}, not 8-byte aligned")
    meta = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in meta.values()):
        fail(f"{path}: __metadata__ values must be strings")
    spans = []
    for name, e in header.items():
        if e["dtype"] not in DTYPE_SIZE:
            fail(f"{path}: {name} dtype {e['dtype']}")
        count = 1
        for d in e["shape"]:
            count *= d
        b, end = e["data_offsets"]
        if end - b != count * DTYPE_SIZE[e["dtype"]]:
            fail(f"{path}: {name} spans {end - b} bytes, shape needs {count * DTYPE_SIZE[e['dtype']]}")
        spans.append((b, end, name))
    spans.sort()
    at = 0
    for b, end, name in spans:
        if b != at:
            fail(f"{path}: {name} starts at {b}, expected {at}")
        at = end
    if at != size - 8 - n:
        fail(f"{path}: tensors cover {at} bytes, the data section has {size - 8 - n}")
    order = [name for _, _, name in spans]
    serializer = sorted(header, key=lambda k: (-DTYPE_SIZE[header[k]["dtype"]], k))
    if written_by_vsdlab and order != serializer:
        fail(f"{path}: tensor order differs from the reference serializer's (alignment, then name)")
    ok(f"{path}: valid safetensors{', reference order' if written_by_vsdlab else ''}, {len(spans)} tensors, metadata {meta}")


def check_unet_folder(unet_dir):
    check_safetensors(os.path.join(unet_dir, "diffusion_pytorch_model.safetensors"))
    unet, info = UNet2DConditionModel.from_pretrained(unet_dir, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    if bad:
        fail(f"{unet_dir}: UNet2DConditionModel.from_pretrained loading info {bad}")
    ok(f"{unet_dir}: UNet2DConditionModel.from_pretrained, no missing/unexpected/mismatched keys "
       f"({sum(p.numel() for p in unet.parameters())} parameters)")
    return unet.eval()


def check_pipeline(model_dir, teacher_dir):
    for root, _, files in os.walk(model_dir):
        for f in files:
            if f.endswith(".safetensors"):
                # the teacher's files were written by whatever made the teacher: only their validity matters
                check_safetensors(os.path.join(root, f), written_by_vsdlab=os.path.relpath(root, model_dir) == "unet")
    pipe = DiffusionPipeline.from_pretrained(model_dir, text_encoder=None, tokenizer=None)
    with open(os.path.join(model_dir, "model_index.json")) as f:
        want = json.load(f)["_class_name"]
    if type(pipe).__name__ != want:
        fail(f"{model_dir}: DiffusionPipeline.from_pretrained built {type(pipe).__name__}, model_index.json names {want}")
    ok(f"{model_dir}: DiffusionPipeline.from_pretrained -> {type(pipe).__name__} with unet {type(pipe.unet).__name__}, "
       f"vae {type(pipe.vae).__name__}, scheduler {type(pipe.scheduler).__name__} (text_encoder, tokenizer: not loaded, no transformers)")
    if teacher_dir is not None:
        compared = 0
        for root, _, files in os.walk(teacher_dir):
            rel = os.path.relpath(root, teacher_dir)
            if rel.split(os.sep)[0] == "unet":
                continue
            for f in files:
                if rel == "." and f == "model_index.json":
                    continue
                a, b = os.path.join(root, f), os.path.join(model_dir, rel, f)
                if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
                    fail(f"{b}: missing or differs from the teacher's {a}")
                compared += 1
        ok(f"{model_dir}: the {compared} files beside unet/ are byte-identical to the teacher's")
    return pipe.unet.eval()


def lora_config_fields(peft_src):
    fields = set()
    for rel, classes in (("peft/config.py", {"PeftConfigMixin", "PeftConfig"}), ("peft/tuners/lora/config.py", {"LoraConfig"})):
        with open(os.path.join(peft_src, rel)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in classes:
                fields |= {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    return fields


def apply_adapter(unet, adapter_dir, peft_src):
    path = os.path.join(adapter_dir, "adapter_model.safetensors")
    check_safetensors(path)
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    fields = lora_config_fields(peft_src) if peft_src else PEFT_LORA_FIELDS_V0_10
    unknown = set(cfg) - fields
    if unknown:
        fail(f"{adapter_dir}: adapter_config.json has keys LoraConfig does not: {sorted(unknown)}")
    if cfg["peft_type"] != "LORA" or cfg.get("use_dora") or cfg.get("use_rslora") or cfg.get("rank_pattern") or cfg.get("alpha_pattern") \
            or cfg.get("bias", "none") != "none" or not isinstance(cfg["target_modules"], list):
        fail(f"{adapter_dir}: not a plain LoRA config: {cfg}")
    ok(f"{adapter_dir}/adapter_config.json: fields of PEFT's LoraConfig ({'from ' + peft_src if peft_src else 'v0.10.0 list'}), "
       f"r {cfg['r']}, lora_alpha {cfg['lora_alpha']}, target_modules {cfg['target_modules']}")
    state = load_file(path)
    r, scaling = cfg["r"], cfg["lora_alpha"] / cfg["r"]
    # PEFT's rule: a supported layer whose full name is a target or ends with ".<target>"
    targets = {name for name, m in unet.named_modules()
               if isinstance(m, torch.nn.Linear) and (name in cfg["target_modules"] or any(name.endswith("." + t) for t in cfg["target_modules"]))}
    want = {f"base_model.model.{n}.lora_{ab}.weight" for n in targets for ab in "AB"}
    if set(state) != want:
        fail(f"{path}: keys differ from PEFT's for this UNet: extra {sorted(set(state) - want)[:3]}, missing {sorted(want - set(state))[:3]}")
    hooks = []
    for name in sorted(targets):
        m = unet.get_submodule(name)
        a = state[f"base_model.model.{name}.lora_A.weight"]
        b = state[f"base_model.model.{name}.lora_B.weight"]
        if list(a.shape) != [r, m.in_features] or list(b.shape) != [m.out_features, r]:
            fail(f"{path}: {name} lora_A {list(a.shape)} / lora_B {list(b.shape)}, PEFT has [{r}, {m.in_features}] / [{m.out_features}, {r}]")
        hooks.append(m.register_forward_hook(lambda mod, inp, out, a=a, b=b: out + F.linear(F.linear(inp[0], a), b) * scaling))
    ok(f"{path}: PEFT's keys and shapes for all {len(targets)} targeted layers; applied as PEFT's LoRA Linear computes it")
    return hooks


def compare(unet, expected, key, what):
    with torch.no_grad():
        out = unet(expected["sample"], expected["timesteps"].long(), expected["encoder_hidden_states"]).sample
    ref = expected[key]
    err = ((out - ref).abs().max() / ref.abs().max()).item()
    if not err < TOLERANCE:
        fail(f"{what}: relative error {err:.3e} against vsdlab's {key} (tolerance {TOLERANCE})")
    ok(f"{what}: UNet output within {err:.2e} relative of vsdlab's {key}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a pipeline folder vsdlab wrote (a cell's model/)")
    p.add_argument("--unet", help="a unet/ folder vsdlab wrote")
    p.add_argument("--adapter", help="a PEFT adapter folder vsdlab wrote (the LoRA teacher)")
    p.add_argument("--expected", help="inputs and vsdlab's outputs (tools/sd/write_interop_sample.mjs)")
    p.add_argument("--teacher", help="the teacher pipeline folder model/ was built from")
    p.add_argument("--peft-src", help="PEFT's src/ at v0.10.0, to read LoraConfig's fields from its source")
    args = p.parse_args()
    if not (args.model or args.unet):
        p.error("give --model and/or --unet")
    torch.manual_seed(0)
    patch_attention()
    print(f"diffusers {diffusers.__version__}, torch {torch.__version__}")
    expected = load_file(args.expected) if args.expected else None
    unets = []
    if args.unet:
        unets.append((check_unet_folder(args.unet), f"{args.unet} (UNet2DConditionModel.from_pretrained)"))
    if args.model:
        unets.append((check_pipeline(args.model, args.teacher), f"{args.model} (pipeline.unet)"))
    for unet, what in unets:
        if type(unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1.processor) is not _ap.AttnProcessor:
            fail(f"{what}: attention processor is not AttnProcessor")
        if expected is not None:
            compare(unet, expected, "out", what)
    if args.adapter:
        unet = unets[0][0]
        hooks = apply_adapter(unet, args.adapter, args.peft_src)
        if expected is not None:
            compare(unet, expected, "out_lora", f"{unets[0][1]} + {args.adapter}")
        for h in hooks:
            h.remove()
    print("all checks passed")


if __name__ == "__main__":
    main()
