"""Outpath against pedalboard's own five-effect chain, side by side in one run (DESIGN §8).

Loads the built Outpath.vst3 in pedalboard, sets the heaviest scenario (benches/heaviest.scenario)
and times it against Gain → Distortion → LowShelfFilter → HighShelfFilter → Clipping on the same
60 s of stereo audio at 48 kHz in 512-sample blocks. The contenders take turns, several runs
each; the medians and their ratio are printed (ratio = Outpath / chain: at most 1.0 means
Outpath is no slower). Two baselines show what the host itself costs: pedalboard's Gain alone,
and Outpath with its factory defaults (a headphone out into 300 Ω headphones).

pedalboard never opens the plugin's editor, so Outpath runs as it does in a DAW with its window
closed: its meters off (DESIGN §6: nothing is computed for the editor while it is closed). What
the meters add with the editor open, the engine bench shows (`-- music FILE`, last line against
the first).

Build first:  cargo xtask bundle outpath --release
Run:          .venv/bin/python benches/side_by_side.py [--runs 7] [--seconds 60] [--json out.json]
The engine alone on the same audio:
              .venv/bin/python benches/side_by_side.py --write-audio /tmp/sbs.wav
              cargo bench --bench engine -- music /tmp/sbs.wav
"""

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pedalboard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from vst3_host import BY_ID, normalized  # noqa: E402  (the parameter table, read from settings.rs)

SR = 48_000
BLOCK = 512


def scenario(path):
    """The `id = value` lines of a scenario file, as {id: text}."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            out[key] = value
    return out


def set_parameter(plugin, spec, text):
    """Sets one parameter of the loaded plugin from its display text, through the normalized
    value the host stores, and checks that the host reads back what was meant."""
    key = next(k for k in plugin.parameters.keys() if plugin.parameters[k].name == spec["name"])
    param = plugin.parameters[key]
    if spec["kind"] == "choice":
        index = [o.lower() for o in spec["options"]].index(text.lower())
        param.raw_value = index / (len(spec["options"]) - 1)
    elif spec["kind"] == "toggle":
        param.raw_value = 1.0 if text.lower() in ("on", "true", "yes", "1") else 0.0
    else:
        value = float(text.split()[0])
        param.raw_value = normalized(spec, value)
        got = float(getattr(plugin, key))
        if not math.isclose(got, value, rel_tol=1e-3, abs_tol=1e-6):
            raise SystemExit(f"{spec['id']}: set {value}, the host reads back {got}")


def test_audio(seconds):
    """Deterministic music-like stereo audio: pink-tilted noise for the band, a bass line and a
    kick-like thump for the low end the speaker's resonance meets, under a slow envelope that
    swings 20 dB, peaking at −1 dBFS. Left and right differ."""
    rng = np.random.default_rng(20261121)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = []
    for ch in range(2):
        white = rng.standard_normal(n)
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / SR)
        spec[1:] /= np.sqrt(f[1:] / 100.0).clip(1.0, None)  # −3 dB/octave above 100 Hz
        spec[0] = 0.0
        band = np.fft.irfft(spec, n)
        band /= np.std(band)
        bass = np.sin(2 * np.pi * (55.0 + 27.5 * (np.floor(t * 2) % 4)) * t + ch)
        beat = np.exp(-((t % 0.5) / 0.05)) * np.sin(2 * np.pi * 60.0 * t)
        envelope = 10 ** ((-10.0 + 10.0 * np.sin(2 * np.pi * t / (7.0 + ch))) / 20)
        x = envelope * (0.5 * band + 0.6 * bass + 1.2 * beat)
        out.append(x)
    x = np.stack(out)
    x *= 10 ** (-1 / 20) / np.max(np.abs(x))
    return x.astype(np.float32)


def timed(process, audio):
    start = time.perf_counter()
    y = process(audio)
    elapsed = time.perf_counter() - start
    if not np.all(np.isfinite(y)):
        raise SystemExit("non-finite output")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vst3", default=str(ROOT / "target/bundled/Outpath.vst3"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument(
        "--write-audio",
        metavar="WAV",
        help="only write the test audio to this file (32-bit float), for "
        "`cargo bench --bench engine -- music WAV`",
    )
    args = ap.parse_args()
    if args.write_audio:
        with pedalboard.io.AudioFile(args.write_audio, "w", SR, 2, bit_depth=32) as f:
            f.write(test_audio(args.seconds))
        return
    if not Path(args.vst3).is_dir():
        raise SystemExit(f"no VST3 bundle at {args.vst3}: build it with `cargo xtask bundle outpath --release`")

    audio = test_audio(args.seconds)
    heaviest = pedalboard.load_plugin(args.vst3)
    for key, text in scenario(ROOT / "benches" / "heaviest.scenario").items():
        set_parameter(heaviest, BY_ID[key], text)
    defaults = pedalboard.load_plugin(args.vst3)
    chain = pedalboard.Pedalboard(
        [
            pedalboard.Gain(gain_db=6.0),
            pedalboard.Distortion(drive_db=20.0),
            pedalboard.LowShelfFilter(cutoff_frequency_hz=200.0, gain_db=3.0),
            pedalboard.HighShelfFilter(cutoff_frequency_hz=6000.0, gain_db=-3.0),
            pedalboard.Clipping(threshold_db=-3.0),
        ]
    )
    gain_only = pedalboard.Gain(gain_db=0.0)

    contenders = {
        "Outpath, heaviest scenario": lambda x: heaviest.process(x, SR, buffer_size=BLOCK, reset=True),
        "pedalboard five-effect chain": lambda x: chain.process(x, SR, buffer_size=BLOCK, reset=True),
        "baseline: pedalboard Gain alone": lambda x: gain_only.process(x, SR, buffer_size=BLOCK, reset=True),
        "baseline: Outpath, factory defaults": lambda x: defaults.process(x, SR, buffer_size=BLOCK, reset=True),
    }
    warm = audio[:, : SR // 2]
    for process in contenders.values():
        process(warm)
    times = {name: [] for name in contenders}
    for run in range(args.runs):
        for name, process in contenders.items():  # taking turns, so drifts in load hit all alike
            times[name].append(timed(process, audio))
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    frames = audio.shape[1]
    print(f"{args.seconds:g} s of stereo audio at {SR} Hz in {BLOCK}-sample blocks, {args.runs} runs each, medians:")
    print(f"{'':38} {'seconds':>9} {'ns/frame':>9} {'× real time':>12}")
    medians = {}
    for name, ts in times.items():
        m = statistics.median(ts)
        medians[name] = m
        print(f"{name:38} {m:9.3f} {m * 1e9 / frames:9.1f} {args.seconds / m:12.0f}")
    ratio = medians["Outpath, heaviest scenario"] / medians["pedalboard five-effect chain"]
    print(f"ratio Outpath / chain: {ratio:.2f}  ({'meets' if ratio <= 1.0 else 'misses'} DESIGN §8: at most 1.0)")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"medians_s": medians, "runs_s": times, "ratio": ratio, "frames": frames}, indent=2)
        )


if __name__ == "__main__":
    main()
