#!/usr/bin/env python3
"""How many taps the coarse network's interpolators need, independently of the Rust code.

The coarse network (src/dsp/coarse_network.rs) reads its input between coarse samples through
the least-squares interpolators of src/dsp/fractional_delay.rs: weight 1 on the error of the
frequency response below the band, 1e-8 above it, normalised to exactly one at DC. Each tap
costs the pair kernel three four-lane multiply-adds of its 51, so fewer taps would make the
fast path cheaper; this script re-derives the interpolators here (numpy, the same normal
equations) and prints the worst error of their response against the ideal fractional delay,
over 0-20 kHz and fractions -0.95 ... -0.05, at twice 44.1 and 48 kHz.

Run: `.venv/bin/python benches/interpolator_taps.py`. Round fourteen of SPEED.md reads it.
"""

import numpy as np

OUT_OF_BAND_WEIGHT = 1e-8


def integral_cos(omega, a, b):
    """The integral of cos(omega * theta) over a ... b."""
    if abs(omega) < 1e-12:
        return b - a
    return (np.sin(omega * b) - np.sin(omega * a)) / omega


def weighted(omega, band):
    return integral_cos(omega, 0.0, band) + OUT_OF_BAND_WEIGHT * integral_cos(omega, band, np.pi)


def interpolator(tau, band, taps, lookahead):
    lag = np.arange(taps) - lookahead
    a = np.array([[weighted(li - lj, band) for lj in lag] for li in lag])
    b = np.array([weighted(li + tau, band) for li in lag])
    c = np.linalg.solve(a, b)
    return c / c.sum(), lag


def worst_error(rate, taps, lookahead, top=20000.0):
    band = 2 * np.pi * top / rate
    theta = np.linspace(0.0, band, 400)
    worst = 0.0
    for tau in np.linspace(-0.95, -0.05, 19):
        c, lag = interpolator(tau, band, taps, lookahead)
        response = (c[None, :] * np.exp(-1j * np.outer(theta, lag))).sum(axis=1)
        worst = max(worst, np.abs(response - np.exp(1j * tau * theta)).max())
    return worst


def main():
    for host in (44100.0, 48000.0):
        for taps, lookahead in ((10, 3), (9, 3), (8, 3), (8, 2), (6, 2)):
            e = worst_error(2 * host, taps, lookahead)
            print(
                f"host {host / 1000:g} kHz, {taps} taps, {lookahead} ahead: "
                f"worst error below 20 kHz {e:.2e} ({20 * np.log10(e):.1f} dB)"
            )


if __name__ == "__main__":
    main()
