#!/usr/bin/env python3
"""The PyTorch side of bench/sd/unet-throughput.ts (diffusers v0.27.2's UNet2DConditionModel on CPU).

  prepare OUT --config mid   random-weight UNet folder OUT/unet (config.json, safetensors, model.onnx)
  time UNET_DIR --batch B --latent N --reps R --threads T   JSON {"seconds_per_forward", "first"}
PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src; inputs are seeded as the TS side builds them (see make_inputs).
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "sd"))

import torch  # noqa: E402
from make_sd_goldens import init_weights, patch_attention, st_write  # noqa: E402
from export_onnx import UNetExport, export  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402

MID = dict(sample_size=32, in_channels=4, out_channels=4, block_out_channels=[64, 128, 256], layers_per_block=2,
           down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
           up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
           attention_head_dim=[2, 4, 8], cross_attention_dim=64, norm_num_groups=32, use_linear_projection=True,
           upcast_attention=True, flip_sin_to_cos=True, freq_shift=0)


def make_inputs(batch, latent, channels, dim):
    """deterministic inputs the TS side rebuilds bit for bit: v_i = ((i * 7919) % 2003) / 1001.5 - 1"""
    def seq(n):
        return (torch.arange(n, dtype=torch.float64) * 7919 % 2003 / 1001.5 - 1).float()
    x = seq(batch * channels * latent * latent).reshape(batch, channels, latent, latent)
    c = seq(batch * 77 * dim).reshape(batch, 77, dim)
    return x, torch.tensor([999.0, 37.0][:batch] + [500.0] * max(0, batch - 2)), c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["prepare", "time"])
    ap.add_argument("dir")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--latent", type=int, default=8)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    patch_attention()
    if a.cmd == "prepare":
        unet = UNet2DConditionModel(**MID).eval()
        init_weights(unet, 0)
        out = os.path.join(a.dir, "unet")
        os.makedirs(out, exist_ok=True)
        unet.save_config(out)
        st_write({k: v.contiguous() for k, v in unet.state_dict().items()}, os.path.join(out, "diffusion_pytorch_model.safetensors"))
        x, t, c = make_inputs(2, MID["sample_size"], 4, MID["cross_attention_dim"])
        export(UNetExport(unet), (x, t, c), os.path.join(out, "model.onnx"), ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
               {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "steps"},
                "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"}, "out_sample": {0: "batch_size", 2: "height", 3: "width"}})
        return
    torch.set_num_threads(a.threads)
    unet = UNet2DConditionModel.from_pretrained(a.dir).float().eval()
    x, t, c = make_inputs(a.batch, a.latent, unet.config.in_channels, unet.config.cross_attention_dim)
    unet(x, t, c)  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.reps):
        out = unet(x, t, c).sample
    dt = (time.perf_counter() - t0) / a.reps
    print(json.dumps({"seconds_per_forward": dt, "first": out.reshape(-1)[:8].tolist(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
