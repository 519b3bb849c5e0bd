#!/usr/bin/env python3
"""Goldens for vsdlab's latent distillation: ONE SwiftBrush step on the tiny diffusers fixture, computed as the
official train_swiftbrush.py computes it (VinAIResearch/SwiftBrush @ 686c2316, the loss at lines ~345-369).

For each case it writes the gradient of the student's VSD (or SDS) loss with respect to every student weight and
the gradient of the LoRA teacher's loss with respect to every LoRA weight, at fixed inputs (latent noise z, score
timesteps and noise, text embeddings, LoRA weights, LoRA-step timesteps and noise). The inputs are written once to
distill_inputs.json; test/distill/sd-gradients.test.ts feeds them to vsdlab's trainer and compares.

Cases (distill_<case>.json):
  vsd-eps           LoRA teacher on, ε student (the paper's setting)
  sds-eps           no LoRA teacher: the injected noise stands in for its prediction (SDS)
  vsd-x0, vsd-v     the student's output read as x̂0, or as v
  vsd-eps-vteacher  the same UNet read as a v-prediction teacher (scheduler prediction_type v_prediction):
                    its CFG output converted to ε = α_t v + σ_t x_t wherever ε is needed (score gradient and the
                    LoRA loss), as diffusers' schedulers convert v

Differences from the official script, on purpose (the same in vsdlab):
  * ᾱ_999 is the scheduler's value (0.0046601), not the script's rounded 0.0047 (as SwiftBrush v2's inference).
  * The LoRA is PEFT's LoRA written out here (peft is not installed): y = x Wᵀ + (alpha/r) (x Aᵀ) Bᵀ on the
    targeted Linear layers, switched off for the frozen teacher as teacher_lora.disable_adapters() does. A and B
    are random (not PEFT's B = 0) so that the VSD gradient is not zero at the first step.
  * No gradient clipping, no optimizer step: the goldens are the raw gradients of the losses.

The goldens are computed in float64 (the fixture's float32 weights and the float32 inputs, widened): the exact
value of the official loss's gradients, against which float32 engines, vsdlab and PyTorch alike, are measured.
`--float32` computes them as the official script does, in float32; PyTorch's own float32 gradients differ from
the float64 ones by up to ~5e-4 relative on single small tensors (which is why the test's 1e-4 bar is on the whole
gradient, see test/distill/sd-gradients.test.ts).

Gradients are stored per student tensor (torch names and layouts) as its L2 norm, its sum and 8 sampled entries
at flat indices floor(k·n/8); LoRA gradients in full (PEFT layout: lora_A [r, in], lora_B [out, r]).

Needs what tools/sd/make_sd_goldens.py needs (diffusers v0.27.2, huggingface_hub v0.22.2, Debian torch 1.13,
tools/sd/pystub). Run from the repository root (about 10 s on 2 cores):
  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/make_distill_goldens.py \
      --fixture test/fixtures/sd/tiny-sd2 --out test/golden/sd
Deterministic: every random input comes from its own seeded torch.Generator (recorded in meta.seeds). A golden
with a non-finite value is refused.
"""

import argparse
import copy
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "pystub"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from diffusers import DDPMScheduler, UNet2DConditionModel  # noqa: E402
from make_sd_goldens import assert_attn_processor, check_finite, patch_attention, randn, write_golden  # noqa: E402

torch.set_grad_enabled(True)  # make_sd_goldens switches autograd off for its forward-only goldens

BATCH = 2
TEXT_LEN = 8
GUIDANCE = 4.5
LORA_RANK = 4
LORA_ALPHA = 6
LORA_TARGETS = ("to_q", "to_v")
INPUT_TIMESTEP = 999
SCORE_T = [137, 802]
LORA_T = [411, 25]
SAMPLES_PER_TENSOR = 8
SEEDS = {"z": 11, "noise": 12, "cond": 13, "null": 14, "lora_noise": 15, "lora_a": 1000, "lora_b": 2000}


class LoraLinear(torch.nn.Module):
    """PEFT's LoRA on a Linear: base(x) + (alpha / r) · B(A(x)), the adapter switchable off."""

    def __init__(self, base, a, b, scale):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Parameter(a.clone())
        self.lora_B = torch.nn.Parameter(b.clone())
        self.scale = scale
        self.enabled = True

    def forward(self, x, *args, **kwargs):
        y = self.base(x)
        if self.enabled:
            y = y + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)
        return y


def add_lora(unet, rank=LORA_RANK, alpha=LORA_ALPHA, b_scale=0.3):
    """LoRA on every to_q / to_v Linear, in sorted module-name order (the seeds follow it); b_scale 0 is PEFT's init."""
    adapters = {}
    names = sorted(n for n, m in unet.named_modules() if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in LORA_TARGETS)
    for i, name in enumerate(names):
        parent_name, attr = name.rsplit(".", 1)
        parent = unet.get_submodule(parent_name)
        base = getattr(parent, attr)
        a = randn((rank, base.in_features), SEEDS["lora_a"] + i, 1.0 / base.in_features ** 0.5).to(base.weight.dtype)
        b = randn((base.out_features, rank), SEEDS["lora_b"] + i, b_scale).to(base.weight.dtype)
        lora = LoraLinear(base, a, b, alpha / rank)
        setattr(parent, attr, lora)
        adapters[name] = lora
    return adapters


def set_adapters(adapters, on):
    for m in adapters.values():
        m.enabled = on


def guided(unet, x, t, cond, null):
    """uncond + s (cond − uncond), unconditional and conditional halves as one batch of 2B"""
    b = x.shape[0]
    out = unet(torch.cat([x, x]), torch.cat([t, t]), encoder_hidden_states=torch.cat([null.expand(b, -1, -1), cond])).sample
    uncond, c = out.chunk(2)
    return uncond + GUIDANCE * (c - uncond)


def as_eps(prediction, acp, xt, out, t):
    if prediction == "epsilon":
        return out
    a = acp[t].sqrt().view(-1, 1, 1, 1)
    s = (1 - acp[t]).sqrt().view(-1, 1, 1, 1)
    return a * out + s * xt  # v → ε (diffusers' schedulers: alpha_prod_t**0.5 * v + beta_prod_t**0.5 * sample)


def student_x0(param, acp, z, out):
    a = acp[INPUT_TIMESTEP].sqrt()
    s = (1 - acp[INPUT_TIMESTEP]).sqrt()
    if param == "eps":
        return (z - s * out) / a
    if param == "x0":
        return out
    return a * z - s * out  # v


def summarize(grad):
    flat = grad.detach().reshape(-1)
    n = flat.numel()
    idx = sorted({(k * n) // SAMPLES_PER_TENSOR for k in range(SAMPLES_PER_TENSOR)})
    return {"norm": float(flat.double().norm()), "sum": float(flat.double().sum()), "index": idx, "value": [float(flat[i]) for i in idx]}


def one_step(base_unet, scheduler_dir, inputs, case):
    sched = DDPMScheduler.from_pretrained(scheduler_dir, prediction_type=case["prediction"])
    acp = sched.alphas_cumprod.to(base_unet.dtype)
    teacher = copy.deepcopy(base_unet)
    for p in teacher.parameters():
        p.requires_grad_(False)
    adapters = add_lora(teacher)
    student = copy.deepcopy(base_unet)
    student.train()
    teacher.train()  # no dropout in this config: train/eval only matter for the official script's bookkeeping
    z, cond, null, noise = inputs["z"], inputs["cond"], inputs["null"], inputs["noise"]
    t = torch.tensor(SCORE_T)

    # the student step (train_swiftbrush.py): x̂0 from z at t = 999, the score gradient under no_grad, loss on x̂0
    out = student(z, torch.full((BATCH,), INPUT_TIMESTEP), encoder_hidden_states=cond).sample
    x0 = student_x0(case["student"], acp, z, out)
    with torch.no_grad():
        xt = sched.add_noise(x0, noise, t)
        set_adapters(adapters, False)
        teacher_eps = as_eps(case["prediction"], acp, xt, guided(teacher, xt, t, cond, null), t)
        set_adapters(adapters, True)
        if case["lora"]:
            other = as_eps(case["prediction"], acp, xt, guided(teacher, xt, t, cond, null), t)
        else:
            other = noise
        w = (1 - acp[t]).view(-1, 1, 1, 1)
        score_gradient = torch.nan_to_num(w * (teacher_eps - other))
        target = (x0 - score_gradient).detach()
    loss_vsd = 0.5 * F.mse_loss(x0, target, reduction="mean")  # the script's .float() casts are no-ops at our dtype
    loss_vsd.backward()
    student_grads = {n: p.grad for n, p in student.named_parameters()}

    result = {"loss_vsd": float(loss_vsd), "student": student_grads}
    if case["lora"]:
        # the LoRA step on the detached x̂0 of the same forward, ε-MSE weighted by ᾱ_t
        tl = torch.tensor(LORA_T)
        noise_l = inputs["lora_noise"]
        xtl = sched.add_noise(x0.detach(), noise_l, tl)
        pred = as_eps(case["prediction"], acp, xtl, teacher(xtl, tl, encoder_hidden_states=cond).sample, tl)
        alpha_t = acp[tl].sqrt().view(-1, 1, 1, 1)
        loss_lora = F.mse_loss(alpha_t * pred, alpha_t * noise_l, reduction="mean")
        loss_lora.backward()
        result["loss_lora"] = float(loss_lora)
        result["lora"] = {}
        for name, m in adapters.items():
            result["lora"][f"{name}.lora_A"] = m.lora_A.grad
            result["lora"][f"{name}.lora_B"] = m.lora_B.grad
        result["lora_weights"] = {}
        for name, m in adapters.items():
            result["lora_weights"][f"{name}.lora_A"] = m.lora_A.detach()
            result["lora_weights"][f"{name}.lora_B"] = m.lora_B.detach()
    return result


CASES = {
    "vsd-eps": {"lora": True, "student": "eps", "prediction": "epsilon"},
    "sds-eps": {"lora": False, "student": "eps", "prediction": "epsilon"},
    "vsd-x0": {"lora": True, "student": "x0", "prediction": "epsilon"},
    "vsd-v": {"lora": True, "student": "v", "prediction": "epsilon"},
    "vsd-eps-vteacher": {"lora": True, "student": "eps", "prediction": "v_prediction"},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", default="test/fixtures/sd/tiny-sd2")
    ap.add_argument("--out", default="test/golden/sd")
    ap.add_argument("--float32", action="store_true", help="compute in float32, as the official script (to measure its own rounding against the float64 goldens)")
    args = ap.parse_args()
    dtype = torch.float32 if args.float32 else torch.float64
    patch_attention()
    torch.set_num_threads(2)
    unet = UNet2DConditionModel.from_pretrained(os.path.join(args.fixture, "unet")).to(dtype)
    assert_attn_processor(unet)
    cfg = unet.config
    latent = (BATCH, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    inputs = {
        "z": randn(latent, SEEDS["z"]),
        "noise": randn(latent, SEEDS["noise"]),
        "cond": randn((BATCH, TEXT_LEN, cfg.cross_attention_dim), SEEDS["cond"]),
        "null": randn((1, TEXT_LEN, cfg.cross_attention_dim), SEEDS["null"]),
        "lora_noise": randn(latent, SEEDS["lora_noise"]),
    }
    inputs = {k: v.to(dtype) for k, v in inputs.items()}
    settings = {
        "batch": BATCH, "guidance_scale": GUIDANCE, "lora_rank": LORA_RANK, "lora_alpha": LORA_ALPHA, "lora_targets": list(LORA_TARGETS),
        "input_timestep": INPUT_TIMESTEP, "score_timesteps": SCORE_T, "lora_timesteps": LORA_T, "lora_loss_weighting": "alpha-bar",
        "gradient_weighting": "sigma-squared", "layout": "latents NCHW as torch; LoRA A [r, in], B [out, r] as PEFT",
    }
    settings["dtype"] = str(dtype)
    meta = {"what": "inputs of one SwiftBrush step (tools/sd/make_distill_goldens.py)", "seeds": SEEDS, "settings": settings, "fixture": args.fixture}
    lora_weights = None
    results = {}
    for name, case in CASES.items():
        r = one_step(unet, os.path.join(args.fixture, "scheduler"), inputs, case)
        results[name] = r
        if "lora_weights" in r:
            lora_weights = r["lora_weights"]
    tensors = dict(inputs)
    for k, v in lora_weights.items():
        tensors[f"lora/{k}"] = v
    write_golden(args.out, "distill_inputs.json", meta, tensors)
    for name, case in CASES.items():
        r = results[name]
        for n, g in r["student"].items():
            check_finite(f"{name}:{n}", g)
        check_finite(f"{name}:loss_vsd", r["loss_vsd"])
        extra = {
            "loss_vsd": r["loss_vsd"],
            "student_grad_norm": float(torch.sqrt(sum(g.double().pow(2).sum() for g in r["student"].values()))),
            "student": {n: summarize(g) for n, g in sorted(r["student"].items())},
        }
        tensors = {}
        if case["lora"]:
            check_finite(f"{name}:loss_lora", r["loss_lora"])
            extra["loss_lora"] = r["loss_lora"]
            tensors = dict(sorted(r["lora"].items()))
        case_meta = {"what": f"one SwiftBrush step, case {name}: gradients of the student's and the LoRA teacher's losses", "case": case, "settings": settings, "seeds": SEEDS, "inputs": "distill_inputs.json"}
        write_golden(args.out, f"distill_{name}.json", case_meta, tensors, extra)


if __name__ == "__main__":
    main()
