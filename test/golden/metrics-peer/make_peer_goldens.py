#!/usr/bin/python3
"""Peer goldens for `vsdlab fid` / `vsdlab kid`: pytorch-fid and clean-fid, run as they are, on one random-weight
FID Inception and two small image folders.

Writes, next to this script:
  images/a, images/b      80 + 80 PNG images (40x32), generated here from a seed
  inception-w32.onnx      the reduced-width FID Inception (tools/export_inception.py --random-init 0
                          --width-divisor 32: pool3 has 64 features, ~110 kB), exported and checked against torch
  goldens.json            FID (legacy-pytorch: pytorch-fid; clean: clean-fid) and KID (clean-fid) for it
  pytorch-fid-stats-a.npz pytorch-fid's statistics of images/a, saved as its save_fid_stats does
  full-size.json          with --full: the same check once on the full-width (2048-d) random network, comparing
                          `node bin/vsdlab.js fid` (run after `npm run build`) with both peers; with
                          --torch-fidelity also legacy-tensorflow FID/KID against torch-fidelity (full width only)

The peers' code is not part of vsdlab: point --pytorch-fid at a checkout's src/ folder and --clean-fid at a
checkout's root (e.g. `git archive` of github mseitzer/pytorch-fid b9c18118 and GaParmar/clean-fid e88c4d62).
Needs python3-torch, python3-torchvision, python3-tqdm, python3-scipy, python3-pil, python3-onnx.

Only the network is ours on the peer side. pytorch-fid: its own InceptionV3 / fid_inception_v3 is built, with
the weight download answered by our random state dict (full size), or with its block list replaced by the
reduced network (reduced size); its file listing, ToTensor, F.interpolate, 2x-1, get_activations, np.cov and
calculate_frechet_distance run unchanged. clean-fid: compute_fid(mode='clean', custom_feat_extractor=...) with
clean-fid's own InceptionV3W wrapper (which applies (x-128)/128) around a TorchScript of our network (full size),
or a two-line wrapper doing the same (x-128)/128 (reduced size, because InceptionV3W hard-codes 2048 features).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_inception as ei  # noqa: E402

SEED = 0
DIVISOR = 32
N_IMAGES = 80
W, H = 40, 32
KID_SEED = 7


def make_image(rng, bright):
    """smooth colour gradients, a few ellipses, a little noise: varied enough for non-degenerate features."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3))
    for c in range(3):
        a, b, base = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(40, 200)
        img[:, :, c] = base + a * (xx - W / 2) + b * (yy - H / 2)
    for _ in range(rng.randint(1, 4)):
        cx, cy, rx, ry = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(3, 14), rng.uniform(3, 12)
        col = rng.uniform(0, 255, 3) if not bright else rng.uniform(150, 255, 3)
        mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        img[mask] = col
    img += rng.normal(0, 6 if not bright else 12, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def write_images():
    rng = np.random.RandomState(1234)
    for name, bright in (("a", False), ("b", True)):
        d = os.path.join(HERE, "images", name)
        os.makedirs(d, exist_ok=True)
        for i in range(N_IMAGES):
            Image.fromarray(make_image(rng, bright)).save(os.path.join(d, f"{i:03d}.png"), optimize=True)
    return [os.path.join(HERE, "images", n) for n in ("a", "b")]


class Pool3Map(nn.Module):
    """the reduced network as one pytorch-fid block: pool3 as an N x D x 1 x 1 map."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.pool3(x)[:, :, None, None]


def patch_pytorch_fid_download(state):
    import pytorch_fid.inception as pi

    pi.load_state_dict_from_url = lambda *a, **k: state


def pytorch_fid_reduced(net, folders, dims):
    import pytorch_fid.fid_score as fs
    import pytorch_fid.inception as pi

    patch_pytorch_fid_download(ei.build(seed=SEED).state_dict())
    model = pi.InceptionV3([3])  # its own forward: F.interpolate to 299 (bilinear, align_corners=False), 2x-1
    model.blocks = nn.ModuleList([Pool3Map(net)])
    model.output_blocks, model.last_needed_block = [0], 0
    stats = [fs.compute_statistics_of_path(f, model, 50, dims, "cpu", 0) for f in folders]
    fid = fs.calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
    return float(fid), stats


def clean_fid_reduced(net, folders):
    from cleanfid import fid as cfid

    def extractor(x):  # what clean-fid's InceptionV3W does around its network: (x - 128) / 128
        with torch.no_grad():
            return net.pool3((x - 128) / 128)

    kw = dict(model=extractor, num_workers=0, batch_size=32, device=torch.device("cpu"), mode="clean", verbose=False)
    feats = [cfid.get_folder_features(f, **kw) for f in folders]
    fid = cfid.compute_fid(folders[0], folders[1], mode="clean", custom_feat_extractor=extractor, num_workers=0,
                           batch_size=32, device=torch.device("cpu"), verbose=False)
    np.random.seed(KID_SEED)
    kid = cfid.kernel_distance(feats[0], feats[1])
    return float(fid), float(kid), feats


def summary(mu, sigma):
    return {"sum_mu": float(np.sum(mu)), "trace_sigma": float(np.trace(sigma))}


def reduced(args):
    folders = write_images()
    net = ei.build(seed=SEED, width_divisor=DIVISOR)
    onnx_path = os.path.join(HERE, "inception-w32.onnx")
    ei.export_onnx(net, onnx_path)
    check = ei.check_against_torch(net, onnx_path)
    fid_pt, stats_pt = pytorch_fid_reduced(net, folders, net.dims)
    # statistics file as pytorch-fid's save_fid_stats writes it (np.savez_compressed, keys mu and sigma)
    np.savez_compressed(os.path.join(HERE, "pytorch-fid-stats-a.npz"), mu=stats_pt[0][0], sigma=stats_pt[0][1])
    fid_clean, kid_clean, feats = clean_fid_reduced(net, folders)
    for f in feats:
        std = f.std(0)
        if std.min() < 1e-4:
            raise SystemExit(f"a feature is (nearly) constant over a folder (std {std.min():.3g}): pick another seed")
    out = {
        "about": "make_peer_goldens.py: pytorch-fid / clean-fid values on inception-w32.onnx and images/a, images/b",
        "model": {"file": "inception-w32.onnx", "sha256": ei.sha256_of(onnx_path), "seed": SEED, "width_divisor": DIVISOR,
                  "dims": net.dims, "onnxruntime_vs_torch": check},
        "images": {"a": N_IMAGES, "b": N_IMAGES, "width": W, "height": H},
        "peers": {"pytorch-fid": "mseitzer/pytorch-fid b9c18118", "clean-fid": "GaParmar/clean-fid e88c4d62"},
        "legacy-pytorch": {"fid": fid_pt, "peer": "pytorch_fid.fid_score.compute_statistics_of_path + calculate_frechet_distance",
                           "a": summary(*stats_pt[0]), "b": summary(*stats_pt[1])},
        "clean": {"fid": fid_clean, "peer": "cleanfid.fid.compute_fid(mode='clean', custom_feat_extractor)",
                  "a": summary(np.mean(feats[0], 0), np.cov(feats[0], rowvar=False)),
                  "b": summary(np.mean(feats[1], 0), np.cov(feats[1], rowvar=False))},
        "kid-clean": {"kid": kid_clean, "np_random_seed": KID_SEED, "subsets": 100, "subset_size": N_IMAGES,
                      "peer": "np.random.seed(7); cleanfid.fid.kernel_distance(feats_a, feats_b) (float32 arithmetic)"},
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
    }
    with open(os.path.join(HERE, "goldens.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


def vsdlab_fid(folders, mode, onnx_path):
    cmd = ["node", os.path.join(ROOT, "bin", "vsdlab.js"), "fid", folders[0], folders[1], "--mode", mode, "--inception",
           onnx_path, "--dims", "2048", "--no-cache", "--json", "--threads", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"vsdlab fid failed: {r.stderr}")
    return json.loads(r.stdout)["fid"]


def full(args):
    import pytorch_fid.fid_score as fs
    from cleanfid import fid as cfid
    from cleanfid.inception_torchscript import InceptionV3W

    folders = [os.path.join(HERE, "images", n) for n in ("a", "b")]
    net = ei.build(seed=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = os.path.join(tmp, "fid-inception-random.onnx")
        ei.export_onnx(net, onnx_path)
        check = ei.check_against_torch(net, onnx_path)
        patch_pytorch_fid_download(net.state_dict())
        fid_pt = float(fs.calculate_fid_given_paths(folders, 50, "cpu", 2048, 0))

        class Layers(nn.Module):  # the torchscript clean-fid loads exposes .layers: normalised input -> N x 2048
            def __init__(self):
                super().__init__()
                self.layers = Pool3Map(net)

            def forward(self, x):
                return self.layers(x)

        torch.jit.trace(Layers().eval(), torch.zeros(1, 3, 299, 299)).save(os.path.join(tmp, "inception-2015-12-05.pt"))
        wrapper = InceptionV3W(tmp, download=False).eval()
        fid_clean = float(cfid.compute_fid(folders[0], folders[1], mode="clean", custom_feat_extractor=wrapper, num_workers=0,
                                           batch_size=32, device=torch.device("cpu"), verbose=False))
        ours_pt = vsdlab_fid(folders, "legacy-pytorch", onnx_path)
        ours_clean = vsdlab_fid(folders, "clean", onnx_path)
        sha = ei.sha256_of(onnx_path)
    out = {
        "about": "make_peer_goldens.py --full: full-width FID Inception with seeded random weights (not committed: ~95 MB)",
        "model": {"seed": SEED, "width_divisor": 1, "dims": 2048, "sha256": sha, "onnxruntime_vs_torch": check},
        "images": {"a": N_IMAGES, "b": N_IMAGES},
        "legacy-pytorch": {"pytorch-fid": fid_pt, "vsdlab": ours_pt, "abs_diff": abs(fid_pt - ours_pt),
                           "peer": "pytorch_fid.fid_score.calculate_fid_given_paths(dims=2048), weights download answered by the random state dict"},
        "clean": {"clean-fid": fid_clean, "vsdlab": ours_clean, "abs_diff": abs(fid_clean - ours_clean),
                  "peer": "cleanfid.fid.compute_fid(mode='clean', custom_feat_extractor=InceptionV3W(torchscript of the same net))"},
        "note": "80 images per set < 2048 dims: covariances are rank-deficient, so scipy's sqrtm and vsdlab's symmetric trace-sqrt agree less tightly than at N >= 2048",
    }
    path = os.path.join(HERE, "full-size.json")
    if os.path.exists(path) and "legacy-tensorflow" in json.load(open(path)):
        out["legacy-tensorflow"] = json.load(open(path))["legacy-tensorflow"]
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


def vsdlab_json(args):
    cmd = ["node", os.path.join(ROOT, "bin", "vsdlab.js"), *args, "--no-cache", "--json", "--threads", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"vsdlab failed: {r.stderr}")
    return json.loads(r.stdout)


def full_torch_fidelity(args):
    """legacy-tensorflow at full size: torch-fidelity's own FeatureExtractorInceptionV3 (TF1 bilinear resize inside,
    (x-128)/128) loading our random weights through its feature_extractor_weights_path option, its FID (eigvals)
    and KID (RandomState(2020)); merged into full-size.json."""
    import torch_fidelity

    folders = [os.path.join(HERE, "images", n) for n in ("a", "b")]
    net = ei.build(seed=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "random-inception.pth")
        torch.save(net.state_dict(), weights)
        onnx_path = os.path.join(tmp, "fid-inception-random.onnx")
        ei.export_onnx(net, onnx_path)
        m = torch_fidelity.calculate_metrics(input1=folders[0], input2=folders[1], fid=True, kid=True, kid_subset_size=N_IMAGES,
                                             feature_extractor_weights_path=weights, cuda=False, verbose=False, cache=False)
        ours_fid = vsdlab_json(["fid", *folders, "--mode", "legacy-tensorflow", "--inception", onnx_path, "--dims", "2048"])["fid"]
        ours_kid = vsdlab_json(["kid", *folders, "--mode", "legacy-tensorflow", "--inception", onnx_path, "--seed", "2020",
                                "--subset-size", str(N_IMAGES), "--draw", "torch-fidelity"])
    path = os.path.join(HERE, "full-size.json")
    out = json.load(open(path)) if os.path.exists(path) else {}
    out["legacy-tensorflow"] = {
        "torch-fidelity FID": m["frechet_inception_distance"], "vsdlab FID": ours_fid,
        "fid_abs_diff": abs(m["frechet_inception_distance"] - ours_fid),
        "torch-fidelity KID": [m["kernel_inception_distance_mean"], m["kernel_inception_distance_std"]],
        "vsdlab KID": [ours_kid["kid"], ours_kid["kid_std"]],
        "kid_abs_diff": abs(m["kernel_inception_distance_mean"] - ours_kid["kid"]),
        "peer": "torch_fidelity.calculate_metrics(fid, kid, kid_subset_size=80, feature_extractor_weights_path=random state dict)",
    }
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out["legacy-tensorflow"], indent=2))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pytorch-fid", required=True, help="pytorch-fid's src/ folder (holds pytorch_fid/)")
    ap.add_argument("--clean-fid", required=True, help="clean-fid's root folder (holds cleanfid/)")
    ap.add_argument("--full", action="store_true", help="also the one-off full-size check (needs a built vsdlab)")
    ap.add_argument("--torch-fidelity", help="torch-fidelity's root folder (holds torch_fidelity/): adds the full-size legacy-tensorflow check")
    ap.add_argument("--only-torch-fidelity", action="store_true", help="run just that check (merged into full-size.json)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.pytorch_fid))
    sys.path.insert(0, os.path.abspath(a.clean_fid))
    if a.torch_fidelity:
        sys.path.insert(0, os.path.abspath(a.torch_fidelity))
    torch.set_num_threads(2)
    if not a.only_torch_fidelity:
        reduced(a)
        if a.full:
            full(a)
    if a.torch_fidelity and (a.full or a.only_torch_fidelity):
        full_torch_fidelity(a)
