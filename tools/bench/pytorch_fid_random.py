#!/usr/bin/python3
"""pytorch-fid's own command (`python -m pytorch_fid ...`) with its FID Inception weights replaced by a state dict.

pytorch-fid downloads pt_inception-2015-12-05 on first use; this machine has no network and the benchmarks compare
both tools on the same *random* network (tools/export_inception.py --random-init SEED --save-state-dict FILE). The
only change made here is that download: it returns the given state dict, and pytorch-fid builds its own FID
Inception around it. Everything else (its folder listing, DataLoader, resize, statistics, sqrtm) is pytorch-fid's.
pytorch-fid itself is not part of vsdlab: fetch it (github mseitzer/pytorch-fid) and pass its src/ folder.

  /usr/bin/python3 tools/bench/pytorch_fid_random.py --pytorch-fid PEERS/pytorch-fid/src --state-dict random.pth \
      --threads 2 -- DIR1 DIR2 --device cpu
"""
import argparse
import os
import runpy
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pytorch-fid", required=True, help="pytorch-fid's src/ folder (holds pytorch_fid/)")
    ap.add_argument("--state-dict", required=True, help="FID Inception weights (torch.save of a state dict)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (intra-op threads of the network)")
    ap.add_argument("rest", nargs=argparse.REMAINDER, help="-- then pytorch-fid's own arguments")
    a = ap.parse_args()
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    if not os.path.isdir(os.path.join(a.pytorch_fid, "pytorch_fid")):
        raise SystemExit(f"{a.pytorch_fid} holds no pytorch_fid/ package; pass pytorch-fid's src/ folder")
    sys.path.insert(0, os.path.abspath(a.pytorch_fid))
    import torch
    import pytorch_fid.inception as pi

    if a.threads:
        torch.set_num_threads(a.threads)
    state = torch.load(a.state_dict, map_location="cpu")
    # fid_inception_v3() calls load_state_dict_from_url(FID_WEIGHTS_URL); answer it with our weights
    pi.load_state_dict_from_url = lambda *args, **kw: state
    sys.argv = ["pytorch_fid"] + rest
    runpy.run_module("pytorch_fid", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
