"""Goldens for src/diffusion/scheduler-config.ts, made by diffusers v0.27.2 itself.

For a few scheduler_config.json files (SD 2.1-base's as shipped, SD 2.1-768's v-prediction one, trailing spacing,
DDPM's linear schedule with clip_sample, a squaredcos_cap_v2 DDIM with clip_sample_range and set_alpha_to_one):
alphas_cumprod (float32, base64 little-endian), the set_timesteps(n) grids of DDIM / DDPM / DPMSolverMultistep
built with from_config(config) (as a pipeline swaps schedulers), and whole sampling loops of DDIMScheduler (eta 0)
and DPMSolverMultistepScheduler (2M) on a dummy model output = 0.1 * x + 0.05.

Usage (Debian: apt-get install python3-torch python3-numpy python3-packaging python3-requests python3-filelock
python3-yaml python3-regex python3-pil; a stand-in package named safetensors on the path, the schedulers never use it):
  git --git-dir=<diffusers mirror> archive v0.27.2 src/diffusers | tar x -C /tmp/dfs
  git --git-dir=<huggingface_hub mirror> archive v0.22.2 src/huggingface_hub | tar x -C /tmp/dfs
  mkdir -p /tmp/dfs/stub/safetensors && touch /tmp/dfs/stub/safetensors/__init__.py /tmp/dfs/stub/safetensors/torch.py
  PYTHONPATH=/tmp/dfs/src:/tmp/dfs/stub /usr/bin/python3 test/golden/sd/make_scheduler_goldens.py
"""

import base64
import hashlib
import json
import os

import diffusers
import numpy as np
import torch
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

HERE = os.path.dirname(os.path.abspath(__file__))

SD21_BASE = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.8.0",
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
CONFIGS = {
    "sd21-base": SD21_BASE,
    "sd21-768-v": {**SD21_BASE, "prediction_type": "v_prediction"},
    "trailing": {**SD21_BASE, "_class_name": "DDIMScheduler", "timestep_spacing": "trailing", "steps_offset": 0},
    "linear-ddpm": {
        "_class_name": "DDPMScheduler",
        "beta_schedule": "linear",
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "num_train_timesteps": 1000,
        "clip_sample": True,
        "variance_type": "fixed_small",
    },
    "cosine-ddim": {
        "_class_name": "DDIMScheduler",
        "beta_schedule": "squaredcos_cap_v2",
        "num_train_timesteps": 1000,
        "clip_sample": True,
        "clip_sample_range": 1.5,
        "set_alpha_to_one": True,
    },
}
STEPS = [1, 4, 25, 50]
LOOP_STEPS = [4, 25]
X_T = torch.tensor([-1.5, -0.2, 0.4, 2.0, 0.9, -2.7, 0.05, 1.3], dtype=torch.float32)


def model(x):
    return 0.1 * x + 0.05


def loop(scheduler, n):
    scheduler.set_timesteps(n)
    x = X_T.clone()
    for t in scheduler.timesteps:
        x = scheduler.step(model(x), t, x).prev_sample
    return [float(v) for v in x]


out = {"diffusers": diffusers.__version__, "torch": torch.__version__, "x_T": [float(v) for v in X_T], "configs": {}}
for name, config in CONFIGS.items():
    ddim = DDIMScheduler.from_config(config)
    ac = ddim.alphas_cumprod.numpy().astype("<f4")
    entry = {
        "config": config,
        "alphas_cumprod_f32_base64": base64.b64encode(ac.tobytes()).decode("ascii"),
        "alphas_cumprod_f32_sha256": hashlib.sha256(ac.tobytes()).hexdigest(),
        "alphas_cumprod_at": {str(i): float(ac[i]) for i in [0, 1, 10, 100, 500, 999]},
        "timesteps": {"ddim": {}, "ddpm": {}, "dpmsolver": {}},
        "ddim_loop": {},
        "dpmsolver_2m_loop": {},
    }
    for n in STEPS:
        for key, cls in [("ddim", DDIMScheduler), ("ddpm", DDPMScheduler), ("dpmsolver", DPMSolverMultistepScheduler)]:
            s = cls.from_config(config)
            s.set_timesteps(n)
            entry["timesteps"][key][str(n)] = [int(t) for t in s.timesteps]
    for n in LOOP_STEPS:
        entry["ddim_loop"][str(n)] = loop(DDIMScheduler.from_config(config), n)
        entry["dpmsolver_2m_loop"][str(n)] = loop(DPMSolverMultistepScheduler.from_config(config), n)
    out["configs"][name] = entry

with open(os.path.join(HERE, "schedulers.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", len(CONFIGS), "configs")
