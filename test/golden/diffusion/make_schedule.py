"""Golden values for src/diffusion: SD's scaled-linear schedule computed the way diffusers does it
(torch float32 linspace of sqrt-betas, squared, cumprod), the timestep grids of diffusers' DDIM / DPM-Solver
set_timesteps, and final samples of DDIM and DPM-Solver++(2M) on a closed-form Gaussian epsilon model,
with the scheduler step formulas re-implemented from diffusers' DDIMScheduler / DPMSolverMultistepScheduler
(diffusers is not installed here).

run: /usr/bin/python3 test/golden/diffusion/make_schedule.py  (writes schedule.json next to this file)
"""
import json
import math
import os

import numpy as np
import torch

T = 1000
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=torch.float32) ** 2
alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
ac = alphas_cumprod.numpy().astype(np.float64)

betas64 = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=np.float64) ** 2
ac64 = np.cumprod(1.0 - betas64)


def leading(n, offset):
    ratio = T // n
    return [int(v) + offset for v in (np.arange(0, n) * ratio).round()[::-1]]


def trailing(n):
    return [int(v) for v in np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1]


def linspace(n):
    return [int(v) for v in np.linspace(0, T - 1, n).round()[::-1].astype(np.int64)]


def dpm_leading(n, offset):
    # DPMSolverMultistepScheduler 'leading' divides by n + 1 and drops the last point
    ratio = T // (n + 1)
    return [int(v) + offset for v in (np.arange(0, n + 1) * ratio).round()[::-1][:-1].astype(np.int64)]


def dpm_linspace(n):
    return [int(v) for v in np.linspace(0, T - 1, n + 1).round()[::-1][:-1].astype(np.int64)]


M, S = 0.3, 0.7
X_T = np.array([-1.5, -0.2, 0.4, 2.0], dtype=np.float64)


def eps_model(x, t):
    a = ac[t]
    return (x - math.sqrt(a) * M) * math.sqrt(1 - a) / (a * S * S + 1 - a)


def ddim(n):
    # DDIMScheduler.step, eta = 0, set_alpha_to_one False, leading spacing, steps_offset 1
    x = X_T.copy()
    ratio = T // n
    for t in leading(n, 1):
        a = ac[t]
        prev = t - ratio
        ap = ac[prev] if prev >= 0 else ac[0]
        e = eps_model(x, t)
        x0 = (x - math.sqrt(1 - a) * e) / math.sqrt(a)
        x = math.sqrt(ap) * x0 + math.sqrt(1 - ap) * e
    return x.tolist()


def dpmpp_2m(n):
    # DPMSolverMultistepScheduler, dpmsolver++, order 2, midpoint, final_sigmas_type 'zero'
    ts = dpm_linspace(n)
    x = X_T.copy()
    prev_x0 = None
    prev_lam = None
    for i, t in enumerate(ts):
        a = ac[t]
        al, sg = math.sqrt(a), math.sqrt(1 - a)
        lam = math.log(al) - math.log(sg)
        x0 = (x - sg * eps_model(x, t)) / al
        if i == len(ts) - 1:
            x = x0
            break
        an = ac[ts[i + 1]]
        aln, sgn = math.sqrt(an), math.sqrt(1 - an)
        h = (math.log(aln) - math.log(sgn)) - lam
        xn = (sgn / sg) * x - aln * (math.exp(-h) - 1.0) * x0
        if prev_x0 is not None:
            r0 = (lam - prev_lam) / h
            d1 = (1.0 / r0) * (x0 - prev_x0)
            xn = xn - 0.5 * aln * (math.exp(-h) - 1.0) * d1
        x = xn
        prev_x0, prev_lam = x0, lam
    return x.tolist()


out = {
    'generator': 'test/golden/diffusion/make_schedule.py',
    'torch': torch.__version__,
    'alphas_cumprod_float32': [float(v) for v in alphas_cumprod.numpy()],
    'alphas_cumprod_float64': [float(v) for v in ac64],
    'timesteps': {
        'leading_offset1': {str(n): leading(n, 1) for n in (1, 4, 25, 50)},
        'leading_offset0': {str(n): leading(n, 0) for n in (4, 1000)},
        'trailing': {str(n): trailing(n) for n in (1, 4, 25, 50)},
        'linspace': {str(n): linspace(n) for n in (4, 25, 50)},
        'dpm_linspace': {str(n): dpm_linspace(n) for n in (1, 4, 20, 25)},
        'dpm_leading_offset1': {str(n): dpm_leading(n, 1) for n in (1, 4, 20, 25)},
    },
    'gaussian_model': {'m': M, 's': S, 'x_T': X_T.tolist()},
    'ddim_leading_offset1': {str(n): ddim(n) for n in (1, 10, 50)},
    'dpmpp_2m_linspace': {str(n): dpmpp_2m(n) for n in (1, 2, 10, 25)},
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'schedule.json'), 'w') as f:
    json.dump(out, f)
print('alphas_cumprod[999] float32', out['alphas_cumprod_float32'][999], 'float64', out['alphas_cumprod_float64'][999])
print('max |f32 - f64| / f64', float(np.max(np.abs(ac - ac64) / ac64)))
