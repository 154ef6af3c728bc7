"""The editor, opened for real: the standalone build on the dummy audio backend under Xvfb, with
its test signal (a 440 Hz tone alternating between -30 and -6 dBFS every second over -50 dBFS of
noise). Screenshots go to tests/artifacts/ for a person to look at; the test checks that

- every view is drawn: the chain, the meters, the spectrum, the warnings and the parameters each
  hold many colours (text, bars, curves), not one flat fill;
- the meters move with the signal: screenshots half a second apart, across the level steps,
  differ in the meter view;
- the scenario given on the command line reaches the editor: a speaker out into headphones
  raises more warnings than the default headphone out into 300 ohm headphones.

Run: python3 tests/editor_screenshots.py  (or through pytest). Needs Xvfb and ImageMagick
(`import`, `convert`, `compare`), and the standalone build:
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
    """Starts the standalone with `args`, waits for its first frame plus a second of audio, and
    takes `shots` screenshots `interval` s apart. Returns (layout, paths, log)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    layout_file = ARTIFACTS / f"editor-{name}-layout.json"
    layout_file.unlink(missing_ok=True)
    log = open(ARTIFACTS / f"editor-{name}.log", "w")
    env = dict(os.environ, DISPLAY=display)
    proc = subprocess.Popen([str(BINARY), "--backend", "dummy", "--test-signal", "--layout-file", str(layout_file), *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(300):
            if layout_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the standalone exited early (see {log.name})"
        assert layout_file.exists(), "the editor never drew its first frame"
        time.sleep(1.2)
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
    # The warnings view of the first shot, cropped, for the report and for comparing scenarios.
    crop = ARTIFACTS / f"editor-{name}-warnings.png"
    run(["convert", str(first), *crop_args(region(layout, "warnings")), str(crop)])
    return layout, shots, report


def warning_ink(png):
    """Pixels of warning colour (red or amber fills and text) in a cropped warnings view."""
    out = run(["convert", str(png), "-fx", "(r>0.55 && g<0.75 && b<0.35) ? 1 : 0", "-format", "%[fx:mean*w*h]", "info:"]).stdout
    return float(out)


def test_editor_screenshots():
    for tool in ["Xvfb", "import", "convert", "compare"]:
        assert shutil.which(tool), f"{tool} is missing (apt-get install xvfb imagemagick)"
    assert BINARY.is_file(), f"{BINARY} missing: cargo build --release --features standalone --bin outpath_standalone"
    with Xvfb() as x:
        results = {name: check_scenario(x.display, name, args) for name, args in SCENARIOS.items()}
    for name, (_, shots, report) in results.items():
        print(f"{name}: {report}; screenshots {', '.join(str(s.relative_to(ROOT)) for s in shots)}")
    ink_default = warning_ink(ARTIFACTS / "editor-headphone-out-300-ohm-warnings.png")
    ink_speaker = warning_ink(ARTIFACTS / "editor-speaker-out-into-headphones-warnings.png")
    print(f"warning ink: default {ink_default:.0f} px, speaker out into headphones {ink_speaker:.0f} px")
    assert ink_speaker > 1.5 * ink_default + 200, "a speaker out into headphones must raise more warnings"


if __name__ == "__main__":
    try:
        test_editor_screenshots()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("editor screenshots: ok")
