"""The editor, opened for real: the standalone build on the dummy audio backend under Xvfb, with
its test signal (a 440 Hz tone alternating between -30 and -6 dBFS every second over -50 dBFS of
noise). Screenshots go to tests/artifacts/ for a person to look at; the test checks that

- every view is drawn: the chain, the meters, the spectrum, the warnings and the parameters each
  hold many colours (text, bars, curves), not one flat fill;
- the meters move with the signal: screenshots half a second apart, across the level steps,
  differ in the meter view;
- the scenario given on the command line reaches the editor and its warnings: the default
  headphone out into 300 ohm headphones raises no warning about the connection itself (only the
  loudness of the test tone), a speaker out into headphones and a line out into a speaker raise
  theirs;
- the controls work when clicked (xdotool): a device picked from the output stage's picker changes
  the block's figures; B starts as a copy of A; a device picked on B, then A, then B again brings
  each scenario's figures back exactly.

Run: python3 tests/editor_screenshots.py  (or through pytest). Needs Xvfb and ImageMagick
(`import`, `convert`, `compare`), xdotool, and the standalone build:
    cargo build --release --features standalone --bin outpath_standalone
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
BINARY = Path(os.environ.get("OUTPATH_STANDALONE", ROOT / "target" / "release" / "outpath_standalone"))
SCREEN = "1400x950x24"

# Scenarios: name -> extra arguments for the standalone.
SCENARIOS = {
    # The defaults: a 10 ohm headphone out into 300 ohm headphones.
    "headphone-out-300-ohm": [],
    # A 50 W speaker amplifier into 300 ohm headphones: danger.
    "speaker-out-into-headphones": ["--source", "small-integrated-amp", "--load", "sennheiser-hd-600"],
    # A pro line out into an 8 ohm bookshelf speaker: the op-amp's current limit holds.
    "line-out-into-speaker": ["--source", "pro-line-out-plus18", "--load", "sealed-bookshelf"],
}

# Warnings about the connection itself each scenario must show (the test tone's loudness raises
# spl_high / spl_danger besides), and those it must not.
EXPECTED_WARNINGS = {
    "headphone-out-300-ohm": (set(), {"zout_ratio", "headphones_on_speaker_out", "current_limit"}),
    "speaker-out-into-headphones": ({"headphones_on_speaker_out"}, {"current_limit"}),
    "line-out-into-speaker": ({"speaker_on_line_out", "current_limit"}, {"headphones_on_speaker_out"}),
}

# Views that must be drawn, and the least number of distinct colours each must hold. A flat or
# blank view has one or two; text alone gives dozens (anti-aliasing).
VIEWS = {"chain": 40, "meters": 40, "spectrum": 40, "warnings": 20, "params": 40}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def free_display():
    for n in range(91, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


class Xvfb:
    def __enter__(self):
        self.n = free_display()
        self.display = f":{self.n}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", SCREEN, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{self.n}").exists():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def region(layout, name):
    x, y, w, h = layout[name]
    return int(x), int(y), int(w), int(h)


def crop_args(r):
    x, y, w, h = r
    return ["-crop", f"{w}x{h}+{x}+{y}", "+repage"]


def distinct_colours(png, r):
    return int(run(["convert", str(png), *crop_args(r), "-format", "%k", "info:"]).stdout.strip())


def dominant_fraction(png, r):
    """Share of the region's pixels that have its most common colour."""
    out = run(["convert", str(png), *crop_args(r), "-format", "%c", "histogram:info:"]).stdout
    counts = [int(line.split(":")[0]) for line in out.splitlines() if ":" in line]
    return max(counts) / sum(counts)


def differing_pixels(a, b, r):
    """Pixels that differ between two screenshots inside region r."""
    p = subprocess.run(["compare", "-metric", "AE", *[], "(", str(a), *crop_args(r), ")",
                        "(", str(b), *crop_args(r), ")", "null:"], capture_output=True, text=True)
    # compare prints the count on stderr and exits 1 when the images differ.
    return float(p.stderr.split()[0])


def screenshot(display, path):
    run(["import", "-display", display, "-window", "root", str(path)])


def capture(display, name, args, shots=4, interval=0.5):
    """Starts the standalone with `args`, waits until the editor writes its layout (once the test
    signal has played each of its levels in full), and takes `shots` screenshots `interval` s
    apart. Returns (layout, paths)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    layout_file = ARTIFACTS / f"editor-{name}-layout.json"
    layout_file.unlink(missing_ok=True)
    log = open(ARTIFACTS / f"editor-{name}.log", "w")
    env = dict(os.environ, DISPLAY=display)
    proc = subprocess.Popen([str(BINARY), "--backend", "dummy", "--test-signal", "--layout-file", str(layout_file), *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(400):
            if layout_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the standalone exited early (see {log.name})"
        assert layout_file.exists(), "the editor never drew its first frame"
        time.sleep(0.3)
        paths = []
        for k in range(shots):
            p = ARTIFACTS / f"editor-{name}-{k}.png"
            screenshot(display, p)
            paths.append(p)
            time.sleep(interval)
        assert proc.poll() is None, f"the standalone died while drawing (see {log.name})"
        layout = json.loads(layout_file.read_text())
        return layout, paths
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def check_scenario(display, name, args):
    layout, shots = capture(display, name, args)
    first = shots[0]
    report = {}
    for view, least in VIEWS.items():
        r = region(layout, view)
        n = distinct_colours(first, r)
        dom = dominant_fraction(first, r)
        report[view] = (n, round(dom, 3))
        assert n >= least, f"{name}: the {view} view holds only {n} colours: is it drawn? ({first})"
        assert dom < 0.97, f"{name}: the {view} view is {dom:.1%} one colour ({first})"
    meters = region(layout, "meters")
    moved = max(differing_pixels(a, b, meters) for i, a in enumerate(shots) for b in shots[i + 1:])
    report["meter pixels changed"] = moved
    assert moved > 300, f"{name}: the meters did not move with the signal ({moved} pixels changed)"
    shown = set(layout["warning_ids"])
    report["warning ids"] = sorted(shown)
    must, must_not = EXPECTED_WARNINGS[name]
    assert must <= shown, f"{name}: missing warnings {must - shown} (shown: {shown})"
    assert not (must_not & shown), f"{name}: unexpected warnings {must_not & shown}"
    if name != "line-out-into-speaker":
        assert shown & {"spl_high", "spl_danger"}, f"{name}: the test tone is loud in headphones: {shown}"
    return layout, shots, report


def click(display, x, y, settle=0.7):
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "mousemove", str(int(x)), str(int(y)), "click", "1"], check=True, env=env)
    time.sleep(settle)
    # Move away so that no hover read-out covers what is compared next.
    subprocess.run(["xdotool", "mousemove", "5", "940"], check=True, env=env)
    time.sleep(0.2)


def check_controls(display):
    """Picks devices and flips A/B with the mouse; compares the output stage's figures."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    layout_file = ARTIFACTS / "editor-controls-layout.json"
    layout_file.unlink(missing_ok=True)
    log = open(ARTIFACTS / "editor-controls.log", "w")
    env = dict(os.environ, DISPLAY=display)
    proc = subprocess.Popen([str(BINARY), "--backend", "dummy", "--test-signal", "--layout-file", str(layout_file)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(400):
            if layout_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert layout_file.exists(), "the editor never drew its first frame"
        time.sleep(0.2)
        layout = json.loads(layout_file.read_text())
        px, py, pw, ph = region(layout, "source_picker")
        _, cy, _, _ = region(layout, "chain")
        # The output stage's figures: above its picker.
        figures = (px, cy + 2, pw, py - cy - 4)
        a_button = region(layout, "slot_a")
        b_button = region(layout, "slot_b")
        centre = lambda r: (r[0] + r[2] / 2, r[1] + r[3] / 2)

        def shot(name):
            p = ARTIFACTS / f"editor-controls-{name}.png"
            screenshot(display, p)
            return p

        start = shot("0-start")
        click(display, *centre((px, py, pw, ph)), settle=0.5)
        shot("1-picker-open")
        click(display, px + pw / 2, py + ph + 70)
        first_device = shot("2-first-device")
        changed = differing_pixels(start, first_device, figures)
        assert changed > 200, f"picking a device did not change the output stage ({changed} px)"

        click(display, *centre(b_button))
        on_b = shot("3-on-b")
        assert differing_pixels(first_device, on_b, figures) < 20, "B must start as a copy of A"
        assert differing_pixels(first_device, on_b, b_button) > 20, "the B button must light up"

        click(display, *centre((px, py, pw, ph)), settle=0.5)
        click(display, px + pw / 2, py + ph + 170)
        second_device = shot("4-second-device-on-b")
        assert differing_pixels(on_b, second_device, figures) > 200, "picking another device on B changed nothing"

        click(display, *centre(a_button))
        back_on_a = shot("5-back-on-a")
        assert differing_pixels(first_device, back_on_a, figures) < 20, "A's device did not come back"
        click(display, *centre(b_button))
        back_on_b = shot("6-back-on-b")
        assert differing_pixels(second_device, back_on_b, figures) < 20, "B's device did not come back"
        assert proc.poll() is None, "the standalone died"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_editor_screenshots():
    for tool in ["Xvfb", "import", "convert", "compare", "xdotool"]:
        assert shutil.which(tool), f"{tool} is missing (apt-get install xvfb imagemagick)"
    assert BINARY.is_file(), f"{BINARY} missing: cargo build --release --features standalone --bin outpath_standalone"
    with Xvfb() as x:
        results = {name: check_scenario(x.display, name, args) for name, args in SCENARIOS.items()}
        check_controls(x.display)
        print("controls: device pickers and A/B flips work with the mouse")
    for name, (_, shots, report) in results.items():
        print(f"{name}: {report}; screenshots {', '.join(str(s.relative_to(ROOT)) for s in shots)}")


if __name__ == "__main__":
    try:
        test_editor_screenshots()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("editor screenshots: ok")
