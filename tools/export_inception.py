#!/usr/bin/python3
"""Export pytorch-fid's FID Inception network to ONNX for vsdlab's extractor.

The architecture below is written for vsdlab from reading pytorch-fid's inception.py (torchvision's
Inception3 with the FID patches: count_include_pad=False average pools in Mixed_5b..7b, a max pool in
Mixed_7c's pooling branch, BatchNorm eps 0.001, 1008 classes). Parameter names follow torchvision so the
FID weights file loads strictly.

The exported graph takes the *normalised* 299x299 batch (every resize and the (x-128)/128 or 2x/255-1
scaling stay outside, in vsdlab) and returns
  pool3            N x 2048   (TF pool_3, pytorch-fid's block 3 after adaptive average pooling)
  logits_unbiased  N x 1008   (pool3 @ fc.weight^T without the bias, as torch-fidelity's 'logits_unbiased')

Usage:
  /usr/bin/python3 tools/export_inception.py --weights pt_inception-2015-12-05-6726825d.pth --out fid-inception.onnx
  /usr/bin/python3 tools/export_inception.py --random-init 0 --out random-inception.onnx [--width-divisor 32]
  PYTHONPATH=/tmp/pytorch-fid/src /usr/bin/python3 tools/export_inception.py --random-weights 0 --out /tmp/rnd.onnx \
      --check-pytorch-fid --check-images a.png b.jpg

After export, ONNX Runtime is checked against PyTorch on the same input (random, or --check-images resized to
299 and scaled to [-1, 1] as pytorch-fid does): with the Python onnxruntime package when it is installed, else
through onnxruntime-node (tools/ort_run.mjs, needs `node` and this repository's node_modules).
--check-pytorch-fid also builds pytorch-fid's own InceptionV3 (its package on PYTHONPATH; the weights download is
replaced by this model's state dict, loaded strictly by pytorch-fid's code) and compares its pool3 too, so the
architecture written here is checked against the true one.
"""
import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FID_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
NUM_CLASSES = 1008
# random batch-norm shifts are positive on average so narrow (reduced) layers do not die under the relu
BN_BIAS_MEAN = 0.3
# narrowest layer of a reduced network
MIN_WIDTH = 4
# seeded smooth random images the random batch-norm statistics are calibrated on
CALIBRATION_IMAGES = 8


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_avg_pool(x):
    # tensorflow's average pool ignores the zero padding (pytorch-fid's FID patch)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class MixedA(nn.Module):  # torchvision InceptionA with the FID pooling patch
    def __init__(self, cin, pool_features, w):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)
        self.out_channels = w(64) + w(64) + w(96) + pool_features

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        d = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([a, b, c, d], 1)


class MixedB(nn.Module):  # torchvision InceptionB (grid reduction)
    def __init__(self, cin, w):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)
        self.out_channels = w(384) + w(96) + cin

    def forward(self, x):
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class MixedC(nn.Module):  # torchvision InceptionC (factorised 7x7) with the FID pooling patch
    def __init__(self, cin, c7, w):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, w(192), kernel_size=1)
        self.out_channels = 4 * w(192)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            c = layer(c)
        d = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([a, b, c, d], 1)


class MixedD(nn.Module):  # torchvision InceptionD (grid reduction)
    def __init__(self, cin, w):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)
        self.out_channels = w(320) + w(192) + cin

    def forward(self, x):
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class MixedE(nn.Module):  # torchvision InceptionE; pooling branch: tf average (7b) or max (7c), as pytorch-fid
    def __init__(self, cin, w, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, w(192), kernel_size=1)
        self.out_channels = w(320) + 4 * w(384) + w(192)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch3x3_1(x)
        b = torch.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1)
        c = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        c = torch.cat([self.branch3x3dbl_3a(c), self.branch3x3dbl_3b(c)], 1)
        if self.pool == "max":
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            p = _tf_avg_pool(x)
        d = self.branch_pool(p)
        return torch.cat([a, b, c, d], 1)


class FidInception(nn.Module):
    """pytorch-fid's FID Inception from the normalised input to pool3 (and the unbiased logits).

    width_divisor > 1 divides every layer's channel count and the class count (a reduced network for
    small tests; its pool3 has 2048 / width_divisor features). 1 is the real network."""

    def __init__(self, width_divisor=1):
        super().__init__()
        w = (lambda c: c) if width_divisor == 1 else (lambda c: max(MIN_WIDTH, round(c / width_divisor)))
        self.Conv2d_1a_3x3 = BasicConv2d(3, w(32), kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3)
        self.Mixed_5b = MixedA(w(192), w(32), w)
        self.Mixed_5c = MixedA(self.Mixed_5b.out_channels, w(64), w)
        self.Mixed_5d = MixedA(self.Mixed_5c.out_channels, w(64), w)
        self.Mixed_6a = MixedB(self.Mixed_5d.out_channels, w)
        self.Mixed_6b = MixedC(self.Mixed_6a.out_channels, w(128), w)
        self.Mixed_6c = MixedC(self.Mixed_6b.out_channels, w(160), w)
        self.Mixed_6d = MixedC(self.Mixed_6c.out_channels, w(160), w)
        self.Mixed_6e = MixedC(self.Mixed_6d.out_channels, w(192), w)
        self.Mixed_7a = MixedD(self.Mixed_6e.out_channels, w)
        self.Mixed_7b = MixedE(self.Mixed_7a.out_channels, w, pool="avg")
        self.Mixed_7c = MixedE(self.Mixed_7b.out_channels, w, pool="max")
        self.dims = self.Mixed_7c.out_channels
        self.fc = nn.Linear(self.dims, w(NUM_CLASSES))

    def pool3(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, "Mixed_" + name)(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def forward(self, x):
        p = self.pool3(x)
        return p, p @ self.fc.weight.t()


def random_init(model, seed):
    """Seeded random weights that keep activations O(1) and alive: he-normal convs, then batch-norm statistics
    calibrated on a seeded batch of smooth random images (so every channel is centred and few die under the
    relu, even in the narrow reduced network), random batch-norm scales and positive-leaning shifts (folding
    BN into the convs is exercised), small fc."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.75 + 0.5 * torch.rand(n, generator=g))
                m.bias.copy_(BN_BIAS_MEAN + 0.1 * torch.randn(n, generator=g))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        low = torch.rand(CALIBRATION_IMAGES, 3, 6, 6, generator=g) * 2 - 1
        x = F.interpolate(low, size=(299, 299), mode="bilinear", align_corners=False)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch the running stats are that batch's
        model.train()
        model.pool3(x)
        model.eval()
        for m in bns:
            m.momentum = 0.1
    return model


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build(weights=None, seed=None, width_divisor=1):
    model = FidInception(width_divisor)
    if weights is not None:
        state = torch.load(weights, map_location="cpu")
        # the pytorch-fid file has no aux classifier; num_batches_tracked may be absent (old checkpoints)
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"weights do not match the FID Inception: missing {missing[:5]}, unexpected {unexpected[:5]}")
    else:
        random_init(model, seed)
    return model.eval()


def export_onnx(model, out, size=299, opset=13):
    x = torch.zeros(2, 3, size, size)
    torch.onnx.export(
        model,
        x,
        out,
        input_names=["input"],
        output_names=["pool3", "logits_unbiased"],
        dynamic_axes={"input": {0: "batch"}, "pool3": {0: "batch"}, "logits_unbiased": {0: "batch"}},
        opset_version=opset,
        do_constant_folding=True,
    )


def run_onnxruntime(path, x):
    """Runs the ONNX model on x with onnxruntime (python package, else onnxruntime-node); returns a dict."""
    try:
        import onnxruntime  # noqa: F401 (optional)

        sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(None, {"input": x})))
    except ImportError:
        pass
    node = shutil.which("node")
    if node is None:
        raise SystemExit("neither the onnxruntime python package nor node (for onnxruntime-node) is available")
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "input.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(inp)
        res = subprocess.run(
            [node, os.path.join(HERE, "ort_run.mjs"), path, inp, ",".join(map(str, x.shape)), tmp],
            capture_output=True, text=True, cwd=os.path.dirname(HERE),
        )
        if res.returncode != 0:
            raise SystemExit(f"onnxruntime-node failed: {res.stderr.strip()}")
        shapes = json.loads(res.stdout)
        return {n: np.fromfile(os.path.join(tmp, n + ".f32"), dtype="<f4").reshape(s) for n, s in shapes.items()}


def check_input(images, size=299, batch=4, seed=1234):
    """The check batch: image files as pytorch-fid feeds them (RGB in [0, 1], bilinear to 299, then 2x - 1), or
    seeded uniform noise in [-1, 1]."""
    if images:
        from PIL import Image

        xs = []
        for path in images:
            a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
            xs.append(torch.from_numpy(a).permute(2, 0, 1))
        x = torch.stack([F.interpolate(t[None], size=(size, size), mode="bilinear", align_corners=False)[0] for t in xs])
        return (2 * x - 1).float()
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).float()


def pytorch_fid_reference(model, x):
    """pool3 of pytorch-fid's own InceptionV3 (package on PYTHONPATH) holding this model's weights: its
    fid_inception_v3() builds torchvision's Inception3 with its FID patches and loads the state dict strictly,
    the download replaced by our weights. Returns (pool3, logits_unbiased from its fc)."""
    import pytorch_fid.inception as pfi

    state = model.state_dict()
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    net = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=False, normalize_input=False).eval()
    with torch.no_grad():
        pool = net(x)[0].flatten(1)
    return pool, pool @ state["fc.weight"].t()


def compare(name, got, ref):
    diff = np.abs(np.asarray(got, dtype=np.float64) - np.asarray(ref, dtype=np.float64))
    scale = float(np.abs(ref).max())
    if not diff.max() <= 1e-4 * max(1.0, scale):
        raise SystemExit(f"{name}: max |diff| {diff.max():.3g} (max |value| {scale:.3g}) exceeds 1e-4")
    return {"max_abs_diff": float(diff.max()), "max_abs_value": scale}


def check_against_torch(model, path, images=()):
    """The same input (random, or `images`) through PyTorch and ONNX Runtime; returns the worst differences."""
    x = check_input(images)
    with torch.no_grad():
        p, l = model(x)
    got = run_onnxruntime(path, x.numpy())
    return {name: compare(f"onnxruntime vs pytorch on {name}", got[name], ref) for name, ref in (("pool3", p.numpy()), ("logits_unbiased", l.numpy()))}


def check_against_pytorch_fid(model, path, images=()):
    """pytorch-fid's own network with this model's weights against this script's module and the ONNX export."""
    x = check_input(images)
    with torch.no_grad():
        p, l = model(x)
    fp, fl = pytorch_fid_reference(model, x)
    got = run_onnxruntime(path, x.numpy())
    return {
        "pytorch_fid_vs_torch": {"pool3": compare("pytorch-fid vs this script on pool3", fp.numpy(), p.numpy()),
                                 "logits_unbiased": compare("pytorch-fid vs this script on logits", fl.numpy(), l.numpy())},
        "onnxruntime_vs_pytorch_fid": {"pool3": compare("onnxruntime vs pytorch-fid on pool3", got["pool3"], fp.numpy()),
                                       "logits_unbiased": compare("onnxruntime vs pytorch-fid on logits", got["logits_unbiased"], fl.numpy())},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
    src.add_argument("--random-init", "--random-weights", dest="random_init", type=int, metavar="SEED", help="seeded random weights instead (tests, benchmarks)")
    ap.add_argument("--width-divisor", type=int, default=1, help="divide every channel count (reduced test network); 1 = real")
    ap.add_argument("--out", required=True, help="output .onnx")
    ap.add_argument("--save-state-dict", help="also save the (random) weights as a pytorch-fid style state dict")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-pytorch check")
    ap.add_argument("--check-images", nargs="+", default=[], metavar="IMAGE", help="images for the check (default: 4 random inputs)")
    ap.add_argument("--check-pytorch-fid", action="store_true", help="also compare with pytorch-fid's own network (pytorch_fid on PYTHONPATH)")
    args = ap.parse_args()
    if args.weights is not None:
        if args.width_divisor != 1:
            raise SystemExit("--width-divisor only goes with --random-init")
        digest = sha256_of(args.weights)
        if digest != FID_WEIGHTS_SHA256:
            print(f"warning: {args.weights} has sha256 {digest}, not pytorch-fid's {FID_WEIGHTS_SHA256}", file=sys.stderr)
    if args.check_pytorch_fid and args.width_divisor != 1:
        raise SystemExit("--check-pytorch-fid needs the full network (--width-divisor 1)")
    t0 = time.process_time()
    model = build(args.weights, args.random_init, args.width_divisor)
    if args.save_state_dict:
        torch.save(model.state_dict(), args.save_state_dict)
    export_onnx(model, args.out)
    info = {"onnx": args.out, "sha256": sha256_of(args.out), "bytes": os.path.getsize(args.out), "pool3_dims": model.dims,
            "export_cpu_s": round(time.process_time() - t0, 1)}
    if not args.no_check:
        info["check"] = {"images": [os.path.basename(i) for i in args.check_images] or "4 random",
                         "onnxruntime_vs_torch": check_against_torch(model, args.out, args.check_images)}
        if args.check_pytorch_fid:
            info["check"].update(check_against_pytorch_fid(model, args.out, args.check_images))
    info["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
