"""Outpath loaded as a VST3 plugin by a real host (pedalboard, JUCE's VST3 hosting).

Checks the parameters the host sees against the table in src/model/settings.rs, processes
audio at 48 kHz, compares the level of the default connection with the divider of DESIGN §2
computed here, checks that a line out into an 8 Ω speaker collapses, and runs the debug build
with assert_process_allocs in a child process while parameters change. The robustness part
(what Steinberg's validator and pluginval check): 11 sample rates × 9 block sizes giving the
same clean output, NaN/Inf/1e30/subnormal input and the recovery time, all parameters random
between blocks under the ceiling, and hostile state through the VST3 wrapper (pedalboard's
raw_state, JUCE's format decoded here).

Bundles (not built here):
  OUTPATH_VST3        default target/bundled/Outpath.vst3
                      (cargo xtask bundle outpath --release)
  OUTPATH_ALLOC_VST3  default target/alloc-check/bundled/Outpath.vst3
                      (CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs)

Run: .venv/bin/python -m pytest tests/vst3_host.py -q
"""

import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:
    import numpy as np
    import pedalboard
except ImportError as e:  # fail loudly rather than skip: these tests are the VST3 check
    raise ImportError(
        f"{e}: install the test dependencies with "
        "`python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt`"
    ) from e

ROOT = Path(__file__).resolve().parent.parent
SR = 48_000
CEILING_LIN = 10 ** (-1 / 20)  # default safety ceiling, −1 dBFS
CEILING_SLACK = 1e-3

BUILD_RELEASE = "cargo xtask bundle outpath --release"
BUILD_ALLOC = (
    "CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs"
)


def bundle_path(var, default, how):
    value = os.environ.get(var)
    path = Path(value) if value else ROOT / default
    if not path.is_dir():
        pytest.fail(
            f"VST3 bundle not found at {path} (set {var} to override). Build it first with:\n    {how}",
            pytrace=False,
        )
    return path


def release_vst3():
    return bundle_path("OUTPATH_VST3", "target/bundled/Outpath.vst3", BUILD_RELEASE)


def alloc_vst3():
    return bundle_path("OUTPATH_ALLOC_VST3", "target/alloc-check/bundled/Outpath.vst3", BUILD_ALLOC)


# --------------------------------------------------------------------------------------------
# The parameter table, read from its source of truth (src/model/settings.rs, `PARAMS`)


def read_table():
    src = (ROOT / "src" / "model" / "settings.rs").read_text(encoding="utf-8")
    names = {}
    for m in re.finditer(
        r"impl (\w+) \{.*?pub const NAMES: \[&'static str; \d+\] =\s*\[(.*?)\];", src, re.S
    ):
        names[m.group(1)] = re.findall(r'"([^"]*)"', m.group(2))
    head = "pub const PARAMS: &[ParamSpec] = &["
    body = src[src.index(head) + len(head) :]
    body = body[: body.index("\n];")]
    table = []
    for line in body.splitlines():
        line = line.strip()
        m = re.match(
            r'float\("(\w+)", "([^"]+)", "([^"]*)", Side::\w+, ([-\d.e]+), ([-\d.e]+), ([-\d.e]+), (true|false)\)',
            line,
        )
        if m:
            table.append(
                dict(id=m[1], name=m[2], unit=m[3], kind="float", min=float(m[4]), max=float(m[5]),
                     default=float(m[6]), log=m[7] == "true")
            )
            continue
        m = re.match(r'choice\("(\w+)", "([^"]+)", Side::\w+, &(\w+)::NAMES, (\d+)\)', line)
        if m:
            table.append(dict(id=m[1], name=m[2], unit="", kind="choice", options=names[m[3]],
                              default=int(m[4])))
            continue
        m = re.match(r'ParamSpec \{ id: "(\w+)", name: "([^"]+)", .*Toggle \{ default: (true|false) \}', line)
        if m:
            table.append(dict(id=m[1], name=m[2], unit="", kind="toggle", default=m[3] == "true"))
            continue
        if line and not line.startswith("//"):
            raise AssertionError(f"cannot read this row of PARAMS in settings.rs: {line}")
    assert len(table) == 30, f"read {len(table)} rows from PARAMS, expected 30"
    return table


TABLE = read_table()
BY_ID = {p["id"]: p for p in TABLE}


def snake(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def normalized(p, plain):
    """Display value → the host's normalized value (log ranges are skewed so that the geometric
    middle sits at ½)."""
    lo, hi = p["min"], p["max"]
    x = min(max((plain - lo) / (hi - lo), 0.0), 1.0)
    if p["log"]:
        mid = (math.sqrt(lo * hi) - lo) / (hi - lo)
        x = x ** (math.log(0.5) / math.log(mid))
    return x


# --------------------------------------------------------------------------------------------
# The model of DESIGN §2, for the levels the tests expect


def load_impedance(s, f):
    """Z_L of a headphone / passive speaker: Re + sL + the parallel R‖L‖C resonance tank."""
    w = 2 * math.pi * f
    z = complex(s["z_load"], w * s["l_coil"] * 1e-3)
    r = s["z_peak"] - s["z_load"]
    if r > 0:
        lt = r / (2 * math.pi * s["f_res"] * s["q_res"])
        ct = s["q_res"] / (2 * math.pi * s["f_res"] * r)
        z += 1 / (1 / r + 1 / (1j * w * lt) + 1j * w * ct)
    return z


def network_gain(s, f):
    """v_load / v_int of R_out → C_out → cable series R → cable shunt C → Z_L."""
    w = 2 * math.pi * f
    zs = complex(s["z_out"] + 2 * s["cable_len"] * s["cable_r"], 0)
    if s["c_out"] > 0:
        zs += 1 / (1j * w * s["c_out"] * 1e-6)
    zl = load_impedance(s, f)
    c = s["cable_len"] * s["cable_c"] * 1e-12
    zp = zl if c == 0 else 1 / (1 / zl + 1j * w * c)
    return abs(zp / (zs + zp))


def defaults():
    return {p["id"]: p["default"] for p in TABLE}


def tone_level_db(y, x, f, sr, start):
    """Level of the f-Hz component of y relative to x over [start, end), by projection on
    sine and cosine over a whole number of periods."""
    n = len(x) - start
    n -= n % int(round(sr / math.gcd(int(f), sr)))
    t = np.arange(start, start + n) / sr
    c, s = np.cos(2 * np.pi * f * t), np.sin(2 * np.pi * f * t)

    def amp(v):
        seg = v[start : start + n].astype(np.float64)
        return math.hypot(seg @ c, seg @ s) * 2 / n

    return 20 * math.log10(amp(y) / amp(x))


def sine(f, dbfs, seconds=1.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    x = (10 ** (dbfs / 20) * np.sin(2 * np.pi * f * t)).astype(np.float32)
    return np.stack([x, x])


def check_output(y, x, limit=CEILING_LIN + CEILING_SLACK):
    assert y.shape == x.shape, f"output shape {y.shape} for input {x.shape}"
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y)), "non-finite output"
    peak = float(np.max(np.abs(y)))
    assert peak <= limit, f"output peaks at {peak:.5f}, above the ceiling {limit:.5f}"
    return peak


@pytest.fixture
def plugin():
    return pedalboard.load_plugin(str(release_vst3()))


def set_plain(plugin, key, spec, value):
    """Sets a continuous parameter exactly (through its normalized value) and checks the host
    reads it back."""
    plugin.parameters[key].raw_value = normalized(spec, value)
    got = float(getattr(plugin, key))
    assert abs(got - value) <= 1e-3 * abs(value) + 1e-6, f"{key}: set {value}, reads back {got}"


# --------------------------------------------------------------------------------------------
# Tests


def test_parameter_names_follow_the_table(plugin):
    params = plugin.parameters
    keys = list(params.keys())
    assert len(keys) == len(TABLE), f"{len(keys)} parameters: {keys}"
    for key, p in zip(keys, TABLE):
        param = params[key]
        assert param.name == p["name"], f"{p['id']}: host shows '{param.name}'"
        # pedalboard snake-cases the name and may append the unit.
        assert key == snake(p["name"]) or key.startswith(snake(p["name"]) + "_"), (
            f"{p['id']}: python name '{key}' does not come from '{p['name']}'"
        )
        if p["kind"] == "choice":
            # The option texts as the plugin writes them (pedalboard reads "50 Hz" as a number).
            assert param.string_value == p["options"][p["default"]], f"{p['id']}: default {param.string_value}"
            texts = []
            for i in range(len(p["options"])):
                param.raw_value = i / (len(p["options"]) - 1)
                texts.append(param.string_value)
            assert texts == p["options"], f"{p['id']}: options {texts}"
            param.raw_value = p["default"] / (len(p["options"]) - 1)
        elif p["kind"] == "float":
            if p["unit"]:
                assert (param.label or "").strip() == p["unit"], f"{p['id']}: unit '{param.label}'"
            lo, hi = param.range[0], param.range[1]
            assert math.isclose(lo, p["min"], rel_tol=1e-5, abs_tol=1e-6), f"{p['id']}: min {lo}"
            assert math.isclose(hi, p["max"], rel_tol=1e-5, abs_tol=1e-6), f"{p['id']}: max {hi}"
            got = float(getattr(plugin, key))
            assert math.isclose(got, p["default"], rel_tol=1e-4, abs_tol=1e-6), f"{p['id']}: default {got}"
            assert math.isclose(param.raw_value, normalized(p, p["default"]), abs_tol=1e-5), (
                f"{p['id']}: normalized default {param.raw_value}"
            )
        else:
            assert bool(getattr(plugin, key)) == p["default"], f"{p['id']}: default"


def test_parameters_can_be_set_and_audio_stays_bounded(plugin):
    keys = {p["id"]: k for p, k in zip(TABLE, plugin.parameters.keys())}
    plugin.load_type = "Passive speaker"
    assert str(plugin.load_type) == "Passive speaker"
    set_plain(plugin, keys["z_out"], BY_ID["z_out"], 0.5)
    set_plain(plugin, keys["gain"], BY_ID["gain"], 12.0)
    set_plain(plugin, keys["z_load"], BY_ID["z_load"], 4.0)
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    x = (0.35 * np.sin(2 * np.pi * 440 * t) + 0.15 * rng.uniform(-1, 1, SR)).astype(np.float32)
    x = np.stack([x, np.roll(x, 1000)])
    y = plugin.process(x, SR, buffer_size=512, reset=True)
    check_output(y, x)
    assert float(np.sqrt(np.mean(y[:, SR // 2 :] ** 2))) > 1e-4, "silent"
    # And back to a headphone load while audio runs (parameter changes between calls).
    plugin.load_type = "Headphones"
    set_plain(plugin, keys["z_load"], BY_ID["z_load"], 32.0)
    y2 = plugin.process(x, SR, buffer_size=512, reset=False)
    check_output(y2, x)


def test_default_connection_level_matches_the_divider(plugin):
    s = defaults()
    z = load_impedance(s, 1000.0)
    divider_db = 20 * math.log10(abs(z / (z + s["z_out"])))
    network_db = 20 * math.log10(network_gain(s, 1000.0))
    x = sine(1000.0, -20.0)
    y = plugin.process(x, SR, buffer_size=512, reset=True)
    check_output(y, x)
    # Skip the latency (pedalboard compensates it) and 0.2 s of settling.
    start = int(0.2 * SR) + plugin.reported_latency_samples
    for ch in range(2):
        got = tone_level_db(y[ch], x[ch], 1000.0, SR, start)
        print(
            f"channel {ch}: |Z(1 kHz)| = {abs(z):.3f} Ω; divider {divider_db:.4f} dB, "
            f"full network {network_db:.4f} dB, measured {got:.4f} dB; "
            f"latency {plugin.reported_latency_samples} samples"
        )
        assert abs(got - divider_db) <= 0.1, f"channel {ch}: {got:.3f} dB, divider says {divider_db:.3f} dB"
        assert abs(got - network_db) <= 0.1, f"channel {ch}: {got:.3f} dB, network says {network_db:.3f} dB"


def test_line_out_into_8_ohm_speaker_collapses(plugin):
    keys = {p["id"]: k for p, k in zip(TABLE, plugin.parameters.keys())}
    plugin.output_type = "Line"
    plugin.load_type = "Passive speaker"
    assert str(plugin.output_type) == "Line" and str(plugin.load_type) == "Passive speaker"
    set_plain(plugin, keys["z_out"], BY_ID["z_out"], 100.0)
    set_plain(plugin, keys["i_max"], BY_ID["i_max"], 25.0)
    set_plain(plugin, keys["z_load"], BY_ID["z_load"], 8.0)
    set_plain(plugin, keys["ref_level"], BY_ID["ref_level"], 18.0)
    x = sine(1000.0, 0.0)
    y = plugin.process(x, SR, buffer_size=512, reset=True)
    check_output(y, x)
    start = int(0.2 * SR) + plugin.reported_latency_samples
    rms_db = 20 * math.log10(
        float(np.sqrt(np.mean(y[0, start:].astype(np.float64) ** 2)))
        / float(np.sqrt(np.mean(x[0, start:].astype(np.float64) ** 2)))
    )
    fund_db = tone_level_db(y[0], x[0], 1000.0, SR, start)
    # For the record: a current held at ±25 mA is close to a square wave, whose fundamental is
    # 4/π × 25 mA through |Z_L(1 kHz)|, against a full-scale sine of V_FS at the DAC.
    s = defaults() | {"z_out": 100.0, "z_load": 8.0}
    v_fs = math.sqrt(2) * 0.7746 * 10 ** (s["ref_level"] / 20)
    square_db = 20 * math.log10(4 / math.pi * 0.025 * abs(load_impedance(s, 1000.0)) / v_fs)
    print(
        f"line out (100 Ω, 25 mA) into 8 Ω: {rms_db:.2f} dB RMS, fundamental {fund_db:.2f} dB "
        f"(square-wave current estimate {square_db:.2f} dB, divider alone "
        f"{20 * math.log10(network_gain(s, 1000.0)):.2f} dB)"
    )
    assert rms_db <= -20.0, f"only {rms_db:.2f} dB down"
    assert fund_db <= -20.0, f"fundamental only {fund_db:.2f} dB down"


ALLOC_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pedalboard

    p = pedalboard.load_plugin(sys.argv[1])
    keys = list(p.parameters.keys())
    by_name = {p.parameters[k].name: k for k in keys}
    loads = ["Line input", "Active speaker", "Headphones", "Passive speaker"]
    modes = ["Electrical", "Acoustic", "Matched"]
    outputs = ["Line", "Headphone", "Speaker"]
    shapes = ["Soft", "Hard", "Tube"]
    floats = ["Gain", "Output impedance", "Load impedance", "Coupling capacitor",
              "Voice-coil inductance", "Resonance frequency", "Hum", "Noise floor", "Safety ceiling"]
    rng = np.random.default_rng(7)
    sr = 48000
    total = 0
    for buffer_size, chunk, chunks in [(1, 240, 20), (17, 1020, 12), (512, 4096, 12)]:
        for i in range(chunks):
            setattr(p, by_name["Load type"], loads[rng.integers(4)])
            setattr(p, by_name["Listen mode"], modes[rng.integers(3)])
            setattr(p, by_name["Output type"], outputs[rng.integers(3)])
            setattr(p, by_name["Clip shape"], shapes[rng.integers(3)])
            for name in floats:
                p.parameters[by_name[name]].raw_value = float(rng.uniform())
            x = rng.uniform(-0.5, 0.5, (2, chunk)).astype(np.float32)
            y = p.process(x, sr, buffer_size=buffer_size, reset=(i == 0))
            assert y.shape == x.shape and np.all(np.isfinite(y)), "bad output"
            assert float(np.max(np.abs(y))) <= 1.001, float(np.max(np.abs(y)))
            total += chunk
    print(f"alloc-check ok: {total} samples with parameter changes between blocks")
    """
)


def test_alloc_check_build_does_not_allocate_in_process():
    bundle = alloc_vst3()
    so = bundle / "Contents" / "x86_64-linux" / "Outpath.so"
    assert so.is_file(), f"{so} missing: renamed bundle? Build with:\n    {BUILD_ALLOC}"
    assert b"ALLOC_FORBID_COUNT" in so.read_bytes(), (
        f"{so} is not a build with assert_process_allocs (its allocation guard is missing)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", ALLOC_SCRIPT, str(bundle)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout.strip())
    assert proc.returncode == 0, (
        f"the alloc-check plugin failed with exit code {proc.returncode} "
        f"(negative: killed by that signal; -6 is the abort of an allocation in process()).\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr[-20000:]}"
    )
    assert "alloc-check ok" in proc.stdout


# --------------------------------------------------------------------------------------------
# Robustness: what Steinberg's validator and pluginval (strictest level) check, through a real
# VST3 host. The same checks through CLAP, in more depth, are in tests/clap_host/robust.rs.

RATES = [8000, 11025, 22050, 44100, 44100.5, 48000, 88200, 96000, 192000, 384000, 768000]
BLOCKS = [1, 10, 17, 256, 1024, 1536, 2027, 4096, 16384]
TINY = np.finfo(np.float32).tiny


def check_clean(y, limit, what):
    assert np.all(np.isfinite(y)), f"{what}: non-finite output"
    a = np.abs(y)
    assert not np.any((a > 0) & (a < TINY)), f"{what}: subnormal output"
    peak = float(a.max())
    assert peak <= limit, f"{what}: output peaks at {peak:.5f}, above {limit:.5f}"
    return peak


def make_signal(sr, n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    left = 0.35 * np.sin(2 * np.pi * 440 * t) + 0.15 * rng.uniform(-1, 1, n)
    right = 0.35 * np.sin(2 * np.pi * 1000 * t) + 0.15 * rng.uniform(-1, 1, n)
    return np.stack([left, right]).astype(np.float32)


def test_every_rate_and_block_size_gives_the_same_clean_output(plugin):
    lines = []
    for k, sr in enumerate(RATES):
        n = max(int(0.1 * sr), 40_000)
        x = make_signal(sr, n, 10 + k)
        ref = plugin.process(x, sr, buffer_size=512, reset=True)
        check_clean(ref, CEILING_LIN + CEILING_SLACK, f"{sr} Hz")
        lat = plugin.reported_latency_samples
        level = float(np.sqrt(np.mean(ref[0, n // 5 :].astype(np.float64) ** 2) / np.mean(x[0, n // 5 :].astype(np.float64) ** 2)))
        assert 0.85 < level < 1.02, f"{sr} Hz: the default connection passes {20 * math.log10(level):.2f} dB"
        for b in BLOCKS:
            y = plugin.process(x, sr, buffer_size=b, reset=True)
            check_clean(y, CEILING_LIN + CEILING_SLACK, f"{sr} Hz, blocks of {b}")
            diff = np.flatnonzero(y.view(np.uint32) != ref.view(np.uint32))
            assert diff.size == 0, (
                f"{sr} Hz, blocks of {b}: differs from blocks of 512 first at {np.unravel_index(diff[0], y.shape)}"
            )
        lines.append(f"{sr} Hz: latency {lat}, blocks {', '.join(map(str, BLOCKS))} identical to 512")
    print("\n".join(lines))


def test_bad_input_is_contained_and_recovers(plugin):
    sr = 48_000
    n = 4 * sr
    b0, b1 = 24_000, 28_800
    clean = make_signal(sr, n, 30)
    gap = clean.copy()
    gap[:, b0:b1] = 0.0
    ref = plugin.process(gap, sr, buffer_size=512, reset=True)
    sub = np.frombuffer(np.arange(1, 4801, dtype=np.uint32).tobytes(), dtype=np.float32)
    kinds = {
        "NaN": np.full(b1 - b0, np.nan, np.float32),
        "+Inf": np.full(b1 - b0, np.inf, np.float32),
        "-Inf": np.full(b1 - b0, -np.inf, np.float32),
        "subnormals": sub[: b1 - b0],
        "±1e30": np.where(np.arange(b1 - b0) % 2 == 0, 1e30, -1e30).astype(np.float32),
        "+1e30": np.full(b1 - b0, 1e30, np.float32),
    }
    lines = []
    for name, bad in kinds.items():
        x = clean.copy()
        x[:, b0:b1] = bad
        y = plugin.process(x, sr, buffer_size=512, reset=True)
        check_clean(y, CEILING_LIN + CEILING_SLACK, name)
        # pedalboard compensates the latency: the first good output sample is at b1.
        off = np.flatnonzero(np.any(np.abs(y[:, b1:] - ref[:, b1:]) > 1e-4, axis=0))
        recovery = 0 if off.size == 0 else int(off[-1]) + 1
        lines.append(f"{name}: recovered after {recovery} samples ({recovery / sr * 1e3:.1f} ms)")
        limit = 48 if name in ("NaN", "+Inf", "-Inf", "subnormals") else 3 * sr
        assert recovery <= limit, f"{name}: {recovery} samples to recover"
        assert n - b1 - recovery > sr // 2, f"{name}: not recovered 0.5 s before the end"
    print("\n".join(lines))


def test_random_parameters_between_blocks_stay_under_the_ceiling(plugin):
    # Every parameter at a random normalized value before each 256-sample block, 48 kHz, loud
    # input; the bound is the highest ceiling set over the last 150 ms (the ceiling glides).
    sr, block, blocks = 48_000, 256, 300
    rng = np.random.default_rng(40)
    params = [plugin.parameters[k] for k in plugin.parameters.keys()]
    ceiling = plugin.parameters[list(plugin.parameters.keys())[[p["id"] for p in TABLE].index("ceiling")]]
    x = 4 * make_signal(sr, block * blocks, 41)
    # The values reach the plugin with the next block (and glide from where they were).
    history, peak, near = [-24.0 + 24.0 * float(ceiling.raw_value)], 0.0, 0
    window = int(0.15 * sr / block) + 2
    for i in range(blocks):
        for p in params:
            p.raw_value = float(rng.uniform())
        db = -24.0 + 24.0 * float(ceiling.raw_value)
        history.append(db)
        y = plugin.process(x[:, i * block : (i + 1) * block], sr, buffer_size=block, reset=(i == 0))
        bound = 10 ** (max(history[-window:]) / 20) * (1 + 1e-6) + 1e-7
        peak = max(peak, check_clean(y, bound, f"block {i}"))
        near += int(np.sum(np.abs(y) > 0.944 * 10 ** (db / 20)))
    print(f"{blocks} blocks with all {len(params)} parameters random: peak {peak:.4f}, {near} samples within 0.5 dB of the ceiling")


# --- state through the VST3 wrapper (pedalboard's raw_state: JUCE's XML around the component's
# state, which is nice-plug's JSON in JUCE's own base64)

JUCE_B64 = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"


def juce_decode(text):
    """JUCE's MemoryBlock::fromBase64Encoding: "<size>." then 6 bits per character, the bits
    in little-endian order (so every 4 characters hold 3 whole bytes)."""
    size, _, body = text.partition(".")
    out = bytearray()
    for i in range(0, len(body), 4):
        v = sum(JUCE_B64.index(c) << (6 * j) for j, c in enumerate(body[i : i + 4]))
        out += v.to_bytes(3, "little")
    return bytes(out[: int(size)])


def juce_encode(data):
    chars = (len(data) * 8 + 5) // 6
    out = []
    for i in range(0, len(data), 3):
        v = int.from_bytes(data[i : i + 3], "little")
        out.extend(JUCE_B64[(v >> (6 * j)) & 63] for j in range(4))
    return f"{len(data)}." + "".join(out[:chars])


def component_state(raw):
    assert raw[:4] == b"VC2!", raw[:16]
    m = re.search(rb"<IComponent>(.*?)</IComponent>", raw)
    return juce_decode(m.group(1).decode())


def with_component_state(raw, data):
    xml = re.sub(rb"<IComponent>.*?</IComponent>", b"<IComponent>" + juce_encode(data).encode() + b"</IComponent>", raw[8:])
    return b"VC2!" + len(xml).to_bytes(4, "little") + xml


def raw_values(plugin):
    return [plugin.parameters[k].raw_value for k in plugin.parameters.keys()]


def test_state_round_trips_and_hostile_state_leaves_the_values(plugin):
    import json

    rng = np.random.default_rng(50)
    for k in plugin.parameters.keys():
        plugin.parameters[k].raw_value = float(rng.uniform())
    # The host hands the values to the plugin with the next block.
    short = make_signal(SR, 64, 52)
    plugin.process(short, SR, buffer_size=64, reset=False)
    raw = plugin.raw_state
    good = component_state(raw)
    state = json.loads(good)
    assert set(state["params"]) == {p["id"] for p in TABLE}, "the state stores exactly the table's ids"
    # Round trip: the same bytes back (and the host's view of the values from the plugin).
    plugin.raw_state = raw
    assert component_state(plugin.raw_state) == good
    before = raw_values(plugin)
    # Garbage and hostile shapes: refused, values unchanged.
    deep = "[" * 100_000 + "]" * 100_000
    wrong = json.loads(good)
    wrong["params"]["gain"] = {"f32": "loud"}
    cases = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "random bytes": rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes(),
        "null": b"null",
        "params missing": json.dumps({"version": "x", "fields": {}}).encode(),
        "f32 as text": json.dumps(wrong).encode(),
        "nested 100 000 deep": deep.encode(),
        "1e400": good.replace(b'"gain":{"f32":', b'"gain":{"f32":1e400,"x":', 1),
    }
    for name, data in cases.items():
        plugin.raw_state = with_component_state(raw, data)
        after = raw_values(plugin)
        assert np.allclose(after, before, atol=1e-6), f"{name}: parameters changed"
    # A partial state: what it names is set, the rest stays.
    plugin.raw_state = with_component_state(raw, json.dumps({"params": {"gain": {"f32": 6.0}}, "fields": {}}).encode())
    after = raw_values(plugin)
    gain_i = [p["id"] for p in TABLE].index("gain")
    assert abs(after[gain_i] - normalized(BY_ID["gain"], 6.0)) < 1e-5
    assert np.allclose(np.delete(after, gain_i), np.delete(before, gain_i), atol=1e-6)
    # Audio after all that: clean.
    y = plugin.process(make_signal(SR, SR // 2, 51), SR, buffer_size=512, reset=True)
    check_clean(y, 1.0 + CEILING_SLACK, "after hostile states")
    print(f"VST3 state: {len(good)} bytes round trip; {len(cases)} hostile states left every parameter unchanged")


STATE_BUG_SCRIPT = textwrap.dedent(
    """
    import json, re, sys
    import pedalboard
    sys.path.insert(0, sys.argv[2])
    from vst3_host import component_state, with_component_state
    p = pedalboard.load_plugin(sys.argv[1])
    raw = p.raw_state
    state = json.loads(component_state(raw))
    kind = sys.argv[3]
    if kind == "enum":
        state["params"]["load"] = {"i32": 4}
    else:
        for k, v in state["params"].items():
            if "f32" in v:
                v["f32"] = 1e39
    p.raw_state = with_component_state(raw, json.dumps(state).encode())
    saved = p.raw_state                      # the host saves its session
    q = pedalboard.load_plugin(sys.argv[1])
    q.raw_state = saved
    again = component_state(q.raw_state)
    assert again == component_state(saved), "the saved state does not reload: " + component_state(saved)[:300].decode()
    print("state ok")
    """
)


@pytest.mark.parametrize(
    "kind",
    [
        "enum",
        "float",
    ],
)
def test_state_with_values_beyond_the_types_survives_save_and_reload(kind):
    proc = subprocess.run(
        [sys.executable, "-c", STATE_BUG_SCRIPT, str(release_vst3()), str(Path(__file__).parent), kind],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "state ok" in proc.stdout, (
        f"exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
    )
