#!/usr/bin/env python3
"""Peer for bench/traj-metrics.ts: the same trajectory math written straightforwardly with numpy.

usage: traj_metrics_numpy.py REF.tum EST.tum [--repeat N] [--max-diff S] [--style vectorized|loops] [--serve]
Prints one JSON line: parse and compute seconds (best of N) and the metric values.
--serve: instead of N rounds at once, run one round per line read from stdin and print one JSON line per
round (its parse and compute seconds and the values), so a driver can interleave these rounds with its
own and both sides are measured under the same machine load.
--style vectorized (default): whole-array numpy operations.
--style loops: evo's own structure (a list of 4x4 SE(3) matrices, the per-point outer-product covariance of
evo's umeyama_alignment, per-pose transform, per-pair relative_se3); association stays vectorized
(evo's per-stamp argmin over the whole other trajectory would be O(n*m), minutes at 100k).
Same conventions as Strata / evo: nearest-time association from the shorter trajectory (first index on
ties), Umeyama SE(3) alignment of the estimate onto the reference, APE translation, RPE translation over
consecutive frame pairs (delta 1), population std.
"""
import json
import sys
import time

import numpy as np


def load_tum(path):
    m = np.loadtxt(path, comments="#", ndmin=2)
    return m[:, 0].copy(), m[:, 1:4].copy(), m[:, 4:8].copy()  # stamps, xyz, quat xyzw


def rotations_from_quats(q):
    q = q / np.linalg.norm(q, axis=1)[:, None]
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    r = np.empty((q.shape[0], 3, 3))
    r[:, 0, 0] = 1 - 2 * (y * y + z * z)
    r[:, 0, 1] = 2 * (x * y - w * z)
    r[:, 0, 2] = 2 * (x * z + w * y)
    r[:, 1, 0] = 2 * (x * y + w * z)
    r[:, 1, 1] = 1 - 2 * (x * x + z * z)
    r[:, 1, 2] = 2 * (y * z - w * x)
    r[:, 2, 0] = 2 * (x * z - w * y)
    r[:, 2, 1] = 2 * (y * z + w * x)
    r[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return r


def nearest(long_stamps, short_stamps):
    """Index of the nearest long stamp for each short stamp (sorted long stamps, first index on ties)."""
    idx = np.searchsorted(long_stamps, short_stamps, side="left")
    lo = np.clip(idx - 1, 0, len(long_stamps) - 1)
    hi = np.clip(idx, 0, len(long_stamps) - 1)
    d_lo = np.abs(long_stamps[lo] - short_stamps)
    d_hi = np.abs(long_stamps[hi] - short_stamps)
    best = np.where(d_lo <= d_hi, lo, hi)
    return best, np.minimum(d_lo, d_hi)


def associate(ref, est, max_diff):
    (t_ref, p_ref, q_ref), (t_est, p_est, q_est) = ref, est
    est_longer = len(t_est) > len(t_ref)
    if est_longer:
        j, d = nearest(t_est, t_ref)
        keep = d <= max_diff
        i_ref, i_est = np.nonzero(keep)[0], j[keep]
    else:
        j, d = nearest(t_ref, t_est)
        keep = d <= max_diff
        i_ref, i_est = j[keep], np.nonzero(keep)[0]
    n = len(t_ref)
    if len(t_est) == n and len(i_ref) == n and np.array_equal(i_ref, np.arange(n)) and np.array_equal(i_est, np.arange(n)):
        # every pose paired with the pose of the same index: the selection would be a copy of the inputs
        # (Strata passes the inputs through in this case too)
        return (p_ref, q_ref), (p_est, q_est)
    return (p_ref[i_ref], q_ref[i_ref]), (p_est[i_est], q_est[i_est])


def umeyama(x, y):
    """y ≈ R x + t for 3×n point sets (no scale)."""
    n = x.shape[1]
    mx, my = x.mean(axis=1), y.mean(axis=1)
    cov = (y - my[:, None]) @ (x - mx[:, None]).T / n
    u, d, vh = np.linalg.svd(cov)
    s = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vh) < 0:
        s[2, 2] = -1
    r = u @ s @ vh
    return r, my - r @ mx


def stats(e):
    return {
        "pairs": int(e.size),
        "rmse": float(np.sqrt(np.mean(e * e))),
        "mean": float(np.mean(e)),
        "median": float(np.median(e)),
        "std": float(np.std(e)),
        "min": float(np.min(e)),
        "max": float(np.max(e)),
        "sse": float(np.sum(e * e)),
    }


def compute(ref, est, max_diff):
    (p_ref, q_ref), (p_est, q_est) = associate(ref, est, max_diff)
    r, t = umeyama(p_est.T, p_ref.T)
    p_aligned = p_est @ r.T + t
    ape = np.linalg.norm(p_aligned - p_ref, axis=1)
    rq = rotations_from_quats(q_ref)
    rp = r[None, :, :] @ rotations_from_quats(q_est)
    # consecutive pairs (i, i + 1): Q_rel = Q_i⁻¹ Q_j, P_rel = P_i⁻¹ P_j, E = Q_rel⁻¹ P_rel
    rqi_t = np.transpose(rq[:-1], (0, 2, 1))
    rpi_t = np.transpose(rp[:-1], (0, 2, 1))
    q_rel_r = rqi_t @ rq[1:]
    q_rel_t = np.einsum("nij,nj->ni", rqi_t, p_ref[1:] - p_ref[:-1])
    p_rel_t = np.einsum("nij,nj->ni", rpi_t, p_aligned[1:] - p_aligned[:-1])
    e_t = np.einsum("nji,nj->ni", q_rel_r, p_rel_t - q_rel_t)
    rpe = np.linalg.norm(e_t, axis=1)
    return {"ape": stats(ape), "rpe": stats(rpe)}


def se3(r, t):
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = t
    return m


def se3_inverse(p):
    r_inv = p[:3, :3].T
    return se3(r_inv, -r_inv.dot(p[:3, 3]))


def relative_se3(a, b):
    return np.dot(se3_inverse(a), b)


def compute_loops(ref, est, max_diff):
    (p_ref, q_ref), (p_est, q_est) = associate(ref, est, max_diff)
    poses_ref = [se3(r, t) for r, t in zip(rotations_from_quats(q_ref), p_ref)]
    poses_est = [se3(r, t) for r, t in zip(rotations_from_quats(q_est), p_est)]
    x, y = p_est.T, p_ref.T
    n = x.shape[1]
    mean_x, mean_y = x.mean(axis=1), y.mean(axis=1)
    outer_sum = np.zeros((3, 3))
    for i in range(n):
        outer_sum += np.outer((y[:, i] - mean_y), (x[:, i] - mean_x))
    u, d, v = np.linalg.svd(np.multiply(1.0 / n, outer_sum))
    s = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(v) < 0.0:
        s[2, 2] = -1
    r = u.dot(s).dot(v)
    t = mean_y - r.dot(mean_x)
    transform = se3(r, t)
    poses_est = [np.dot(transform, p) for p in poses_est]
    positions_est = np.array([p[:3, 3] for p in poses_est])
    ape = np.array([np.linalg.norm(e) for e in positions_est - p_ref])
    errors = []
    for i, j in zip(range(n - 1), range(1, n)):
        e = relative_se3(relative_se3(poses_ref[i], poses_ref[j]), relative_se3(poses_est[i], poses_est[j]))
        errors.append(np.linalg.norm(e[:3, 3]))
    return {"ape": stats(ape), "rpe": stats(np.array(errors))}


def main():
    args = sys.argv[1:]
    repeat = 5
    max_diff = 0.01
    if "--repeat" in args:
        repeat = int(args[args.index("--repeat") + 1])
    if "--max-diff" in args:
        max_diff = float(args[args.index("--max-diff") + 1])
    style = args[args.index("--style") + 1] if "--style" in args else "vectorized"
    run = compute_loops if style == "loops" else compute
    ref_path, est_path = args[0], args[1]
    if "--serve" in args:
        for _ in sys.stdin:
            t0 = time.perf_counter()
            ref, est = load_tum(ref_path), load_tum(est_path)
            t1 = time.perf_counter()
            result = run(ref, est, max_diff)
            t2 = time.perf_counter()
            print(json.dumps({"parseSecs": t1 - t0, "computeSecs": t2 - t1, "numpy": np.__version__, "style": style, **result}), flush=True)
        return
    parse_best = compute_best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref, est = load_tum(ref_path), load_tum(est_path)
        t1 = time.perf_counter()
        result = run(ref, est, max_diff)
        t2 = time.perf_counter()
        parse_best = min(parse_best, t1 - t0)
        compute_best = min(compute_best, t2 - t1)
    print(json.dumps({"parseSecs": parse_best, "computeSecs": compute_best, "numpy": np.__version__, "style": style, **result}))


if __name__ == "__main__":
    main()
