#!/usr/bin/env python3
"""How far a band-limited signal may peak between its samples, against Outpath's bound.

The fast path (src/dsp/two_rate.rs, `reach`) bounds each interval [n-1, n] of a signal it sees
at twice the host rate by

    max(|x[n-1]|, |x[n]|) + CURVATURE * max(|D[n]|, |D[n-1]|),  D[n] = x[n] - 2x[n-1] + x[n-2],

and hands over to the full path when the bound comes within SAFETY of a knee. This script finds,
independently of the Rust code, the weight CURVATURE needs for single tones, and how far above
the bound sums of tones peak with the weight Outpath uses, wherever they come within 70 % of
their largest value (near a knee is where it matters). Run: `.venv/bin/python benches/calm_bound.py`.

With `--ahead` it measures instead a bound Outpath does not use (round thirteen of SPEED.md):
the curvature taken at both ends of the interval, max(|D[n]|, |D[n+1]|), which needs the sample
after it.
"""

import sys

import numpy as np

SUB = 32  # points per sample period where the true peak is looked for


AHEAD = "--ahead" in sys.argv


def curvature_of(v, i):
    """The second differences the bound of interval [i-1, i] reads from the samples v."""
    if AHEAD:
        return max(abs(v[i] - 2 * v[i - 1] + v[i - 2]), abs(v[i + 1] - 2 * v[i] + v[i - 1]))
    return max(abs(v[i] - 2 * v[i - 1] + v[i - 2]), abs(v[i - 1] - 2 * v[i - 2] + v[i - 3]))


def weight_for_tones(f_max, n_f=200, n_phase=400):
    """The smallest CURVATURE that bounds every single tone up to f_max cycles per sample."""
    worst = 0.0
    t = np.linspace(-1.0, 0.0, SUB)
    for w in np.linspace(0.01, 2 * np.pi * f_max, n_f):
        for phi in np.linspace(0, 2 * np.pi, n_phase, endpoint=False):
            v = np.sin(w * np.arange(-3, 2) + phi)  # samples -3 ... 1; the interval is [-1, 0]
            peak = np.abs(np.sin(w * t + phi)).max()
            m = max(abs(v[3]), abs(v[2]))
            d = curvature_of(v, 3)
            if peak > m:
                worst = max(worst, (peak - m) / d)
    return worst


def worst_ratio_for_sums(curvature, f_max, trials=300, seed=2):
    """The largest peak / bound for sums of up to seven tones below f_max cycles per sample,
    over intervals whose peak is at least 70 % of the signal's largest value."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    n = 1500
    tt = np.arange(n * SUB) / SUB
    for _ in range(trials):
        k = rng.integers(1, 8)
        f = rng.uniform(0.0005, f_max, k)
        a = rng.uniform(0, 1, k) ** 2 / np.maximum(f, 0.002) ** rng.uniform(0, 1)
        ph = rng.uniform(0, 2 * np.pi, k)
        x = (a[:, None] * np.sin(2 * np.pi * f[:, None] * tt[None, :] + ph[:, None])).sum(0)
        v = x[::SUB]
        top = np.abs(x).max()
        for i in range(4, n - 1 if AHEAD else n):
            peak = np.abs(x[(i - 1) * SUB : i * SUB + 1]).max()
            if peak < 0.7 * top:
                continue
            m = max(abs(v[i]), abs(v[i - 1]))
            d = curvature_of(v, i)
            worst = max(worst, peak / (m + curvature * d))
    return worst


if __name__ == "__main__":
    # 20 kHz at twice 48 kHz and at twice 44.1 kHz, and beyond.
    for f in (0.208, 0.227, 0.3):
        print(f"single tones up to {f} cycles/sample need CURVATURE >= {weight_for_tones(f):.3f}")
    # Up to 0.25 and 0.29: content in the first x2 stage's transition band (24 kHz at 96 kHz).
    for f in (0.208, 0.227, 0.25, 0.29):
        weight = 0.25 if AHEAD else 0.35
        r = worst_ratio_for_sums(weight, f, trials=300 if f < 0.24 else 150)
        print(f"sums of tones up to {f} cycles/sample, CURVATURE {weight}: peak <= {r:.4f} x bound")
