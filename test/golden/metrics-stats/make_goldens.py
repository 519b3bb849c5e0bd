#!/usr/bin/python3
"""Goldens for src/metrics/stats. Run with Debian's python: /usr/bin/python3 make_goldens.py

Writes, next to this script:
  features.npz      float32 features a, b (200 x 64), c, d (40 x 64: singular covariances), logits (200 x 16),
                    np.savez_compressed (so the TS reader's deflate path is exercised on a numpy-written file)
  expected.npz      float64 mu/sigma of a and b (np.mean / np.cov(rowvar=False)) and clean-fid's float32 mean of a
  tiny_savez.npz, tiny_savez_compressed.npz, tiny_float32.npz   8-d statistics written by numpy
  goldens.json      the exact bytes numpy wrote for the tiny .npy members (hex) and scalar results: FID (pytorch-fid formula, clean-fid formula, an independent SVD reference),
                    KID, precision/recall, IS, RandomState draws
"""
import json
import os
import zipfile

import numpy as np
import scipy
from scipy import linalg

HERE = os.path.dirname(os.path.abspath(__file__))
D = 64


def make_features(rng, n, d, shift):
    # relu of correlated gaussians in float32, like inception pool_3 activations
    w = rng.standard_normal((d, d)) / np.sqrt(d)
    x = np.maximum(rng.standard_normal((n, d)) @ w + shift, 0.0)
    return x.astype(np.float32)


def fid_pytorch(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid 0.3.0 calculate_frechet_distance (metrics.md 1.3), re-typed here; also reports the retry."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    retried = False
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
        retried = True
    max_imag = 0.0
    if np.iscomplexobj(covmean):
        max_imag = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            return {"error": "Imaginary component {}".format(np.max(np.abs(covmean.imag))), "retried": retried}
        covmean = covmean.real
    return {"fid": float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)),
            "trace_sqrt": float(np.trace(covmean)), "retried": retried, "max_diag_imag": max_imag}


def fid_cleanfid(feats1, feats2, eps=1e-6):
    """clean-fid: float32 mean, float64 cov, same sqrtm + retry, never raises on imaginary parts."""
    mu1, s1 = np.mean(feats1, axis=0), np.cov(feats1, rowvar=False)
    mu2, s2 = np.mean(feats2, axis=0), np.cov(feats2, rowvar=False)
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_svd_reference(x1, x2):
    """independent exact value: nonzero eigenvalues of S1 S2 are the squared singular values of
    X1c X2c^T / sqrt((n1-1)(n2-1)), so tr sqrt(S1 S2) is their sum (no matrix square root involved)."""
    a = x1.astype(np.float64)
    b = x2.astype(np.float64)
    ac, bc = a - a.mean(0), b - b.mean(0)
    sv = np.linalg.svd(ac @ bc.T, compute_uv=False) / np.sqrt((len(a) - 1) * (len(b) - 1))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(0) - b.mean(0)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * sv.sum()), float(sv.sum())


def kid_numpy(f1, f2, subsets, subset_size, seed):
    """torch-fidelity kid_features_to_metric in float64 (features_1 drawn first from RandomState(seed))."""
    rng = np.random.RandomState(seed)
    d = f1.shape[1]
    m = min(min(len(f1), len(f2)), subset_size)
    vals = []
    for _ in range(subsets):
        x = f1[rng.choice(len(f1), m, replace=False)].astype(np.float64)
        y = f2[rng.choice(len(f2), m, replace=False)].astype(np.float64)
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        vals.append((a.sum() - np.diag(a).sum()) / (m * (m - 1)) - b.sum() * 2 / (m * m))
    vals = np.array(vals)
    return {"mean": float(vals.mean()), "std": float(vals.std()), "values": [float(v) for v in vals], "m": m}


def kid_cleanfid_float32(feats1, feats2, subsets, subset_size, seed):
    """clean-fid kernel_distance as written (float32 arithmetic, feats2 drawn first), after np.random.seed(seed)."""
    np.random.seed(seed)
    n = feats1.shape[1]
    m = min(min(feats1.shape[0], feats2.shape[0]), subset_size)
    t = 0
    for _ in range(subsets):
        x = feats2[np.random.choice(feats2.shape[0], m, replace=False)]
        y = feats1[np.random.choice(feats1.shape[0], m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / subsets / m)


def precision_recall(real, gen, k=3):
    """Kynkäänniemi et al. with float64 direct distances; radius = k-th neighbour excluding self."""
    real = real.astype(np.float64)
    gen = gen.astype(np.float64)

    def d2(x, y):
        return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)

    r_real = np.sort(d2(real, real), axis=1)[:, k]
    r_gen = np.sort(d2(gen, gen), axis=1)[:, k]
    precision = float(np.mean(np.any(d2(gen, real) <= r_real[None, :], axis=1)))
    recall = float(np.mean(np.any(d2(real, gen) <= r_gen[None, :], axis=1)))
    # margin: how far the nearest decision is from a tie (relative), to show the counts are not rounding-fragile
    margin = float(min(np.min(np.abs(d2(gen, real) - r_real[None, :]) / r_real[None, :]),
                       np.min(np.abs(d2(real, gen) - r_gen[None, :]) / r_gen[None, :])))
    return {"precision": precision, "recall": recall, "min_relative_margin": margin}


def inception_score_torch_fidelity(logits, splits=10, seed=2020):
    n = len(logits)
    x = logits[np.random.RandomState(seed).permutation(n)].astype(np.float64)
    return _is_from_chunks(x, [(i * n // splits, (i + 1) * n // splits) for i in range(splits)], ddof=0)


def inception_score_torchmetrics(logits, splits=10):
    n = len(logits)
    size = -(-n // splits)  # torch.chunk: ceil(n / splits) rows per chunk
    x = logits.astype(np.float64)
    return _is_from_chunks(x, [(s, min(n, s + size)) for s in range(0, n, size)], ddof=1)


def _is_from_chunks(x, bounds, ddof):
    x = x - x.max(axis=1, keepdims=True)
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    scores = []
    for a, b in bounds:
        q = p[a:b].mean(axis=0)
        kl = (p[a:b] * (logp[a:b] - np.log(q))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    scores = np.array(scores)
    return {"mean": float(scores.mean()), "std": float(scores.std(ddof=ddof)), "scores": [float(s) for s in scores]}


def main():
    rng = np.random.default_rng(20261126)
    a = make_features(rng, 200, D, 0.0)
    b = make_features(rng, 200, D, 0.15)
    c = make_features(rng, 40, D, 0.0)
    d = make_features(rng, 40, D, 0.1)
    logits = (rng.standard_normal((200, 16)) * 2.5).astype(np.float32)
    np.savez_compressed(os.path.join(HERE, "features.npz"), a=a, b=b, c=c, d=d, logits=logits)

    g = {"numpy": np.__version__, "scipy": scipy.__version__}

    # statistics
    mu_a, s_a = np.mean(a.astype(np.float64), axis=0), np.cov(a.astype(np.float64), rowvar=False)
    mu_b, s_b = np.mean(b.astype(np.float64), axis=0), np.cov(b.astype(np.float64), rowvar=False)
    mu_a32 = np.mean(a, axis=0)  # clean-fid: float32 mean
    seq = np.zeros(D, dtype=np.float32)
    for row in a:
        seq = seq + row
    seq = seq / np.float32(len(a))
    g["float32_mean_is_sequential"] = bool(np.array_equal(seq, mu_a32))
    np.savez(os.path.join(HERE, "expected.npz"), mu_a=mu_a, sigma_a=s_a, mu_b=mu_b, sigma_b=s_b,
             mu_a32=mu_a32.astype(np.float64))

    # FID: full rank (N=200 > 64)
    g["fid_ab"] = {"pytorch_fid": fid_pytorch(mu_a, s_a, mu_b, s_b), "clean_fid": fid_cleanfid(a, b)}
    g["fid_ab"]["svd_reference"], g["fid_ab"]["svd_trace_sqrt"] = fid_svd_reference(a, b)

    # FID: singular covariances (N=40 < 64, rank 39)
    mu_c, s_c = c.astype(np.float64).mean(0), np.cov(c.astype(np.float64), rowvar=False)
    mu_d, s_d = d.astype(np.float64).mean(0), np.cov(d.astype(np.float64), rowvar=False)
    g["fid_cd"] = {"pytorch_fid": fid_pytorch(mu_c, s_c, mu_d, s_d), "clean_fid": fid_cleanfid(c, d),
                   "rank_c": int(np.linalg.matrix_rank(s_c)), "rank_d": int(np.linalg.matrix_rank(s_d))}
    g["fid_cd"]["svd_reference"], g["fid_cd"]["svd_trace_sqrt"] = fid_svd_reference(c, d)
    # what the eps offset alone gives (pytorch-fid's retry formula forced)
    off = np.eye(D) * 1e-6
    cm = linalg.sqrtm((s_c + off).dot(s_d + off)).real
    g["fid_cd"]["offset_1e-6"] = float((mu_c - mu_d).dot(mu_c - mu_d) + np.trace(s_c) + np.trace(s_d) - 2 * np.trace(cm))

    # FID: dims 0..2 are zero in a, dims 3..5 zero in b -> scipy's sqrtm returns NaN -> pytorch-fid's eps retry
    # (zeroing the same dims in both sets does not trigger it: sqrtm stays finite)
    az, bz = a.copy(), b.copy()
    az[:, 0:3] = 0
    bz[:, 3:6] = 0
    mu_az, s_az = az.astype(np.float64).mean(0), np.cov(az.astype(np.float64), rowvar=False)
    mu_bz, s_bz = bz.astype(np.float64).mean(0), np.cov(bz.astype(np.float64), rowvar=False)
    g["fid_eps_retry"] = {"pytorch_fid": fid_pytorch(mu_az, s_az, mu_bz, s_bz)}
    g["fid_eps_retry"]["svd_reference"], _ = fid_svd_reference(az, bz)
    cm = linalg.sqrtm((s_az + off).dot(s_bz + off)).real
    g["fid_eps_retry"]["offset_1e-6"] = float((mu_az - mu_bz).dot(mu_az - mu_bz) + np.trace(s_az) + np.trace(s_bz) - 2 * np.trace(cm))

    # KID
    g["kid_ab_seed2020_10x50"] = kid_numpy(a, b, 10, 50, 2020)
    g["kid_ab_seed7_5xdefault"] = kid_numpy(a, b, 5, 1000, 7)
    g["kid_cleanfid_float32_seed0_10x50"] = kid_cleanfid_float32(a, b, 10, 50, 0)
    g["kid_ab_seed0_10x50_f64_b_first"] = kid_numpy(b, a, 10, 50, 0)

    # RandomState draws
    draws = {}
    for seed, n, m in [(0, 10, 10), (2020, 37, 5), (123456789, 70000, 8), (4294967295, 1000, 1000)]:
        rs = np.random.RandomState(seed)
        draws[f"{seed}:{n}:{m}"] = [int(v) for v in rs.choice(n, m, replace=False)]
    g["random_state_choice"] = draws
    g["random_state_permutation_2020_200"] = [int(v) for v in np.random.RandomState(2020).permutation(200)]

    # precision / recall (k = 3): a = real, b = generated
    g["pr_ab_k3"] = precision_recall(a, b, 3)
    g["pr_ac_k3"] = precision_recall(a, c, 3)

    # inception score
    g["is_torch_fidelity"] = inception_score_torch_fidelity(logits)
    g["is_torchmetrics_195_unshuffled"] = inception_score_torchmetrics(logits[:195])

    # tiny statistics files written by numpy
    rs = np.random.default_rng(5)
    mu8 = rs.standard_normal(8)
    x8 = rs.standard_normal((20, 8))
    sigma8 = np.cov(x8, rowvar=False)
    np.savez(os.path.join(HERE, "tiny_savez.npz"), mu=mu8, sigma=sigma8)
    np.savez_compressed(os.path.join(HERE, "tiny_savez_compressed.npz"), mu=mu8, sigma=sigma8)
    np.savez_compressed(os.path.join(HERE, "tiny_float32.npz"), mu=mu8.astype(np.float32), sigma=sigma8.astype(np.float32))
    g["tiny"] = {"mu": [float(v) for v in mu8], "sigma": [float(v) for v in sigma8.ravel()]}
    with zipfile.ZipFile(os.path.join(HERE, "tiny_savez.npz")) as z:
        g["tiny_npy_members"] = {name: z.read(name).hex() for name in z.namelist()}

    with open(os.path.join(HERE, "goldens.json"), "w") as f:
        json.dump(g, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v for k, v in g.items() if k.startswith(("fid", "pr", "kid_ab_seed2020", "is", "float32"))}, indent=1)[:4000])


if __name__ == "__main__":
    main()
