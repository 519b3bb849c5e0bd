#!/usr/bin/env python3
"""The PyTorch side of bench/distill/sd-vsd-step.ts: one SwiftBrush step's two gradients (the student's VSD loss,
the LoRA teacher's loss) on a diffusers UNet folder, computed as tools/sd/make_distill_goldens.py computes them
(the official train_swiftbrush.py loss; that script's goldens check vsdlab against it on the tiny fixture).

  time UNET_DIR --batch B --reps R --threads T   JSON {"cpu_seconds": [...], "wall_seconds": [...]} per step
PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src; the mid-size UNet folder comes from bench/sd/unet_torch.py prepare.
"""
import argparse
import copy
import json
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "sd"))
sys.path.insert(0, os.path.join(ROOT, "tools", "sd", "pystub"))  # our safetensors stand-in, before diffusers imports it

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from diffusers import DDPMScheduler, UNet2DConditionModel  # noqa: E402
from make_distill_goldens import add_lora, guided, set_adapters, student_x0  # noqa: E402
from make_sd_goldens import patch_attention, randn  # noqa: E402

torch.set_grad_enabled(True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["time"])
    ap.add_argument("dir")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=108)
    a = ap.parse_args()
    patch_attention()
    torch.set_num_threads(a.threads)
    base = UNet2DConditionModel.from_pretrained(a.dir).float()
    sched = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    acp = sched.alphas_cumprod.float()
    teacher = copy.deepcopy(base)
    for p in teacher.parameters():
        p.requires_grad_(False)
    adapters = add_lora(teacher, a.rank, a.alpha, b_scale=0.0)  # PEFT's init: B = 0
    lora_params = [p for m in adapters.values() for p in (m.lora_A, m.lora_B)]
    student = base
    cfg = base.config
    shape = (a.batch, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    cond = randn((a.batch, 77, cfg.cross_attention_dim), 3)
    null = randn((1, 77, cfg.cross_attention_dim), 4)
    cpu, wall = [], []
    for rep in range(a.reps + 1):  # the first step is a warm-up
        z, noise, noise_l = randn(shape, 10 + rep), randn(shape, 20 + rep), randn(shape, 30 + rep)
        t = torch.randint(20, 981, (a.batch,), generator=torch.Generator().manual_seed(rep))
        tl = torch.randint(0, 1000, (a.batch,), generator=torch.Generator().manual_seed(100 + rep))
        c0, w0 = time.process_time(), time.perf_counter()
        student.zero_grad(set_to_none=True)
        for p in lora_params:
            p.grad = None
        out = student(z, torch.full((a.batch,), 999), encoder_hidden_states=cond).sample
        x0 = student_x0("eps", acp, z, out)
        with torch.no_grad():
            xt = sched.add_noise(x0, noise, t)
            set_adapters(adapters, False)
            teacher_eps = guided(teacher, xt, t, cond, null)
            set_adapters(adapters, True)
            lora_eps = guided(teacher, xt, t, cond, null)
            g = torch.nan_to_num((1 - acp[t]).view(-1, 1, 1, 1) * (teacher_eps - lora_eps))
            target = (x0 - g).detach()
        (0.5 * F.mse_loss(x0, target)).backward()
        xtl = sched.add_noise(x0.detach(), noise_l, tl)
        alpha_t = acp[tl].sqrt().view(-1, 1, 1, 1)
        F.mse_loss(alpha_t * teacher(xtl, tl, encoder_hidden_states=cond).sample, alpha_t * noise_l).backward()
        if rep > 0:
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
    print(json.dumps({"cpu_seconds": cpu, "wall_seconds": wall, "torch": torch.__version__, "threads": a.threads}))


if __name__ == "__main__":
    main()
