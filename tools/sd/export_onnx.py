#!/usr/bin/env python3
"""Export a diffusers Stable Diffusion folder to Optimum's ONNX layout (what `optimum-cli export onnx
--task stable-diffusion` / `ORTStableDiffusionPipeline.save_pretrained` write), for vsdlab's ONNX engine.

Layout written (I/O names and axes as optimum/exporters/onnx/model_configs.py, Optimum 1.1x, the
releases beside diffusers 0.27):
  model_index.json                     copied
  scheduler/scheduler_config.json      copied
  tokenizer/*.json                     copied (with --no-vocab, vocab.json/merges.txt are left out)
  text_encoder/model.onnx + config.json  CLIPTextOnnxConfig: input_ids int32 [batch_size, sequence_length]
                                       -> last_hidden_state [B, S, D], pooler_output [B, D]
  unet/model.onnx + config.json        UNetOnnxConfig: sample f32 [batch_size, C, height, width],
                                       timestep f32 [steps] (Optimum >= 1.14 writes float; before, int64),
                                       encoder_hidden_states f32 [batch_size, sequence_length, D] -> out_sample
  vae_decoder/model.onnx + config.json VaeDecoderOnnxConfig: latent_sample -> sample; the graph is
                                       `vae.decode(z)` (post_quant_conv + decoder); the pipeline divides by
                                       scaling_factor before it
  vae_encoder/model.onnx + config.json VaeEncoderOnnxConfig: sample -> latent_parameters (the latent
                                       distribution's mean and logvar, [B, 2*latent, h, w], as Optimum >= 1.2x)
Opset 14 (Optimum's DEFAULT_ONNX_OPSET for these configs: CLIP's causal mask needs Trilu-era ops).

What differs from Optimum's own run: Optimum traces transformers' CLIPTextModel. transformers is not
installable here, so the text encoder is `ClipTextModel` below, a line-by-line restatement of
transformers' CLIPTextModel forward (embeddings, pre-LN blocks with the finfo.min causal mask,
final_layer_norm, the pooled EOS row by argmax of the ids, as transformers does for eos_token_id 2). The
vsdlab test compares its output with the open_clip golden (test/golden/sd/text_encoder_sd2.json). The UNet
and VAE are diffusers' own modules, traced as Optimum traces them. F16 weights are upcast: the graphs are
float32 (Optimum's default `--dtype fp32`).

Needs (nothing of it is committed): /usr/bin/python3 with python3-torch 1.13 and python3-onnx (checker),
diffusers v0.27.2 and huggingface_hub v0.22.2 sources (see tools/sd/make_sd_goldens.py), and
tools/sd/pystub (the safetensors stand-in; put on sys.path here).

  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/export_onnx.py \
      test/fixtures/sd/tiny-sd2 test/fixtures/sd/tiny-sd2-onnx --no-vocab
"""
import argparse
import json
import math
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "pystub"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from make_sd_goldens import patch_attention, st_read  # noqa: E402
from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402

OPSET = 14
torch.set_grad_enabled(False)


class ClipTextModel(nn.Module):
    """transformers' CLIPTextModel forward (v4.3x modeling_clip.py), for export only."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, inter = cfg["hidden_size"], cfg["intermediate_size"]
        self.heads = cfg["num_attention_heads"]
        self.token_embedding = nn.Embedding(cfg["vocab_size"], d)
        self.position_embedding = nn.Embedding(cfg["max_position_embeddings"], d)
        eps = cfg["layer_norm_eps"]
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            layer = nn.Module()
            for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
                setattr(layer, n, nn.Linear(d, d))
            layer.layer_norm1, layer.layer_norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
            layer.fc1, layer.fc2 = nn.Linear(d, inter), nn.Linear(inter, d)
            self.layers.append(layer)
        self.final_layer_norm = nn.LayerNorm(d, eps=eps)
        act = cfg["hidden_act"]
        self.act = nn.functional.gelu if act == "gelu" else (lambda x: x * torch.sigmoid(1.702 * x))

    def load(self, sd):
        p = "text_model."
        own = {
            "token_embedding.weight": p + "embeddings.token_embedding.weight",
            "position_embedding.weight": p + "embeddings.position_embedding.weight",
            "final_layer_norm.weight": p + "final_layer_norm.weight",
            "final_layer_norm.bias": p + "final_layer_norm.bias",
        }
        for i in range(len(self.layers)):
            for n in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "layer_norm2", "mlp.fc1", "mlp.fc2"):
                for w in ("weight", "bias"):
                    own[f"layers.{i}.{n.split('.')[-1]}.{w}"] = f"{p}encoder.layers.{i}.{n}.{w}"
        self.load_state_dict({k: sd[v].float() for k, v in own.items()}, strict=True)

    def forward(self, input_ids):
        b, s = input_ids.shape
        d = self.cfg["hidden_size"]
        hd = d // self.heads
        x = self.token_embedding(input_ids) + self.position_embedding.weight[:s].unsqueeze(0)
        mask = torch.full((s, s), torch.finfo(x.dtype).min).triu(1)[None, None]
        for layer in self.layers:
            r = x
            h = layer.layer_norm1(x)
            q = (layer.q_proj(h) * hd**-0.5).view(b, s, self.heads, hd).transpose(1, 2)
            k = layer.k_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            v = layer.v_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            w = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
            x = r + layer.out_proj((w @ v).transpose(1, 2).reshape(b, s, d))
            r = x
            x = r + layer.fc2(self.act(layer.fc1(layer.layer_norm2(x))))
        x = self.final_layer_norm(x)
        pooled = x[torch.arange(b), input_ids.to(torch.int64).argmax(dim=-1)]
        return x, pooled


class UNetExport(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]


class VaeDecoderExport(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


class VaeEncoderExport(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample, return_dict=False)[0].parameters


def export(module, args, path, inputs, outputs, axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(module.eval(), args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                      opset_version=OPSET, do_constant_folding=True)
    try:
        import onnx
        onnx.checker.check_model(onnx.load(path))
    except ImportError:
        print("onnx not installed: checker skipped", file=sys.stderr)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="a diffusers StableDiffusionPipeline folder")
    ap.add_argument("out", help="the ONNX folder to write")
    ap.add_argument("--no-vocab", action="store_true", help="leave tokenizer/vocab.json and merges.txt out (the tiny fixture shares tiny-sd2's)")
    a = ap.parse_args()
    patch_attention()  # diffusers' AttnProcessor with a zeros baddbmm input (see make_sd_goldens.py)
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(os.path.join(a.src, "model_index.json"), a.out)
    for sub in ("scheduler", "tokenizer"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
        for f in sorted(os.listdir(os.path.join(a.src, sub))):
            if a.no_vocab and f in ("vocab.json", "merges.txt"):
                continue
            shutil.copy(os.path.join(a.src, sub, f), os.path.join(a.out, sub, f))

    te_cfg = json.load(open(os.path.join(a.src, "text_encoder", "config.json")))
    te = ClipTextModel(te_cfg)
    te.load(st_read(os.path.join(a.src, "text_encoder", "model.safetensors")))
    ids = torch.tensor([[49406, 320, 1125, 49407] + [0] * (te_cfg["max_position_embeddings"] - 4)] * 2, dtype=torch.int32)
    export(te, (ids,), os.path.join(a.out, "text_encoder", "model.onnx"), ["input_ids"], ["last_hidden_state", "pooler_output"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}})
    shutil.copy(os.path.join(a.src, "text_encoder", "config.json"), os.path.join(a.out, "text_encoder"))

    unet = UNet2DConditionModel.from_pretrained(os.path.join(a.src, "unet")).float().eval()
    c = unet.config
    size = c.sample_size if isinstance(c.sample_size, int) else c.sample_size[0]
    x = torch.randn(2, c.in_channels, size, size, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([999.0, 37.0])
    cond = torch.randn(2, te_cfg["max_position_embeddings"], c.cross_attention_dim, generator=torch.Generator().manual_seed(1))
    export(UNetExport(unet), (x, t, cond), os.path.join(a.out, "unet", "model.onnx"), ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
           {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "steps"},
            "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"}, "out_sample": {0: "batch_size", 2: "height", 3: "width"}})
    shutil.copy(os.path.join(a.src, "unet", "config.json"), os.path.join(a.out, "unet"))

    vae = AutoencoderKL.from_pretrained(os.path.join(a.src, "vae")).float().eval()
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    z = torch.randn(2, vae.config.latent_channels, 8, 8, generator=torch.Generator().manual_seed(2))
    export(VaeDecoderExport(vae), (z,), os.path.join(a.out, "vae_decoder", "model.onnx"), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
            "sample": {0: "batch_size", 2: f"latent_height * {f}", 3: f"latent_width * {f}"}})
    img = torch.rand(2, vae.config.in_channels, 8 * f, 8 * f, generator=torch.Generator().manual_seed(3)) * 2 - 1
    export(VaeEncoderExport(vae), (img,), os.path.join(a.out, "vae_encoder", "model.onnx"), ["sample"], ["latent_parameters"],
           {"sample": {0: "batch_size", 2: "sample_height", 3: "sample_width"},
            "latent_parameters": {0: "batch_size", 2: f"sample_height / {f}", 3: f"sample_width / {f}"}})
    for sub in ("vae_decoder", "vae_encoder"):
        shutil.copy(os.path.join(a.src, "vae", "config.json"), os.path.join(a.out, sub))


if __name__ == "__main__":
    main()
