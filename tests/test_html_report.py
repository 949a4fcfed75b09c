"""`report --html`: one self-contained page of real runs (serial, master-worker under mpiexec, two
objectives), made by the command line and loaded in a real headless browser (chromium): each panel
is found in the screenshot by the colour of its left edge and must hold what it draws."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

from mpismac.cli import main
from mpismac.html_report import PANELS, RUN_COLORS, STATUS_COLORS, RunView, _front, _parallel, _ticks, page
from mpismac.report import summarize
from mpismac.runhistory.folder import load_run
from mpismac.runhistory.runhistory import RunHistory, TrajectoryEntry
from mpismac.trial import Status, TrialInfo, TrialValue

from .conftest import DATA, REPO, needs_mpiexec, run_cli, start_mpi

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: the page is checked in a real "
                                    "headless browser (apt-get install chromium; .ci/run installs it)")
BLUE = RUN_COLORS[0]


def _scenario(tmp_path: Path, target: str, **keys) -> Path:
    keys = {"name": "t", "output_directory": str(tmp_path / "out"),
            "configspace": str(REPO / "examples" / "branin.json"), **keys}
    path = tmp_path / "scenario.yaml"
    path.write_text(f"target: {DATA / 'targets.py'}:{target}\n" + "".join(f"{k}: {json.dumps(v)}\n"
                                                                           for k, v in keys.items()))
    return path


def _serial(tmp_path: Path, target: str, **keys) -> Path:
    proc = run_cli(str(_scenario(tmp_path, target, **keys)), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "out" / "t" / "0"


def _report(run_dir: Path, out: Path) -> str:
    """`report RUN_DIR --html OUT` through the command line; the page's text."""
    proc = run_cli("report", str(run_dir), "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"report written to {out}" in proc.stdout
    text = out.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch: no src="http..", href="http.."
    assert "<script" not in text and "<link" not in text and "<img" not in text
    return text


def _panels(text: str) -> list[str]:
    return re.findall(r'<section class="panel" id="(\w+)"', text)


def _browse(page_path: Path) -> np.ndarray:
    """The page as chromium draws it (RGB, 1200 pixels wide); fails on any console error (a
    script error, a resource the page's Content-Security-Policy refused)."""
    png = page_path.with_suffix(".png")
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", f"--screenshot={png}", "--window-size=1200,2600",
                           page_path.as_uri()], capture_output=True, text=True, timeout=60)
    assert png.exists(), proc.stderr
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
               or "Refused to" in line]
    assert not console, console
    from PIL import Image

    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


def _mask(image: np.ndarray, color: str, tol: int = 6) -> np.ndarray:
    return np.abs(image - _rgb(color)).max(axis=2) <= tol


def _bands(image: np.ndarray) -> dict[str, tuple[int, int]]:
    """Each panel's rows in the screenshot, from its marker: the 8-pixel left edge in the panel's colour."""
    out = {}
    for name, (_, marker) in PANELS.items():
        mask = _mask(image, marker, tol=0)
        rows = np.flatnonzero(mask.sum(axis=1) >= 8)
        if len(rows):
            assert rows[-1] - rows[0] + 1 == len(rows), f"{name}: its marker is not one band"
            out[name] = (int(rows[0]), int(rows[-1]) + 1)
    return out


def _count(image: np.ndarray, band: tuple[int, int], color: str) -> int:
    return int(_mask(image[band[0]:band[1]], color).sum())


def _ink(image: np.ndarray, band: tuple[int, int]) -> int:
    """Pixels of a band that are not white (the panel's marker left out)."""
    part = image[band[0]:band[1], 60:]
    return int((part.min(axis=2) < 235).sum())


def _check_common(image: np.ndarray, expected: list[str]) -> dict[str, tuple[int, int]]:
    bands = _bands(image)
    assert sorted(bands) == sorted(expected), bands
    tops = [bands[name][0] for name in expected]
    assert tops == sorted(tops), "panels out of order"
    for name in expected:
        assert _ink(image, bands[name]) > 1500, f"{name}: the panel is (nearly) blank"
    assert _count(image, bands["convergence"], BLUE) > 300  # the incumbent's curves
    assert _count(image, bands["parallel"], BLUE) > 150  # the incumbent's line
    return bands


@needs_chromium
def test_serial_run_with_budgets(tmp_path):
    run_dir = _serial(tmp_path, "on_instances", n_trials=16, instances=["i0", "i1"], crash_cost=500,
                      min_budget=1, max_budget=9)
    text = _report(run_dir, tmp_path / "serial.html")
    expected = ["incumbent", "convergence", "timeline", "budget", "parallel"]
    assert _panels(text) == expected
    inc = summarize(run_dir)["incumbent"]
    assert f"configuration {inc['config_id']}, found by trial {inc['trial_id']}" in text
    assert f"<td>{inc['cost'][0]:.6g}</td>" in text
    image = _browse(tmp_path / "serial.html")
    bands = _check_common(image, expected)
    assert _count(image, bands["timeline"], STATUS_COLORS[Status.SUCCESS]) > 300
    assert _count(image, bands["budget"], BLUE) > 100  # a dot per finished trial, at budget 9
    assert ">9</text>" in text

    rh, summary = load_run(run_dir).state.runhistory, summarize(run_dir)
    hostile = page([RunView("<script>alert(1)</script>&", rh, summary)])  # every label is escaped
    assert "<script>" not in hostile and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in hostile
    both = page([RunView("a", rh, summary), RunView("b", rh, summary)])  # several runs: overlaid, or one by one
    assert both.count("<h3>") == 2 * 4 and f'stroke="{RUN_COLORS[1]}"' in both

    proc = run_cli("report", str(run_dir), "--html", str(tmp_path / "nodir" / "x.html"))
    assert proc.returncode == 2 and proc.stderr.startswith(f"mpismac: error: {tmp_path / 'nodir' / 'x.html'}: "
                                                            "cannot write the HTML report"), proc.stderr


@needs_chromium
@needs_mpiexec
def test_master_worker_run_while_it_runs_and_after(tmp_path):
    scenario = _scenario(tmp_path, "slowish", n_trials=10, facade="random")
    run_dir = tmp_path / "out" / "t" / "0"
    proc = start_mpi(3, scenario)
    try:
        deadline = time.monotonic() + 60
        journal = run_dir / "journal.jsonl"
        while not (journal.exists() and b'"op":"end"' in journal.read_bytes()):  # a trial has finished
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no trial finished within 60 s"
            time.sleep(0.1)
        # read while the job writes (the lock is not taken); the command line in this process: at once
        assert main(["report", str(run_dir), "--html", str(tmp_path / "live.html")]) == 0
        live = (tmp_path / "live.html").read_text()
        assert "running: job " in live and ": RUNNING" in live
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    text = _report(run_dir, tmp_path / "mw.html")
    expected = ["incumbent", "convergence", "timeline", "parallel"]  # no budgets: no budget panel
    assert _panels(text) == expected and ": RUNNING" not in text and "running: job" not in text
    assert "worker 1 · " in text and "worker 2 · " in text
    image = _browse(tmp_path / "mw.html")
    bands = _check_common(image, expected)
    timeline = _mask(image[slice(*bands["timeline"])], STATUS_COLORS[Status.SUCCESS]).sum(axis=1) > 100
    rows = np.flatnonzero(timeline)
    groups = 1 + int((np.diff(rows) > 1).sum()) if len(rows) else 0
    assert groups == 2, "one row of bars per worker rank"


@needs_chromium
def test_two_objectives(tmp_path):
    run_dir = _serial(tmp_path, "two_objectives", n_trials=16, objectives=["near", "far"])
    text = _report(run_dir, tmp_path / "mo.html")
    expected = ["incumbent", "convergence", "front", "timeline", "parallel"]
    assert _panels(text) == expected
    front = summarize(run_dir)["front"]
    assert f"{len(front['points'])} configuration(s) on the Pareto front over near, far; hypervolume " \
           f"{front['hypervolume']:.6g}" in text
    assert "Hypervolume of the front over trials and wall time" in text
    assert text.count("<svg") == 2 + 1 + 1 + 1  # one front chart for two objectives
    image = _browse(tmp_path / "mo.html")
    bands = _check_common(image, expected)
    assert _count(image, bands["front"], BLUE) > 150  # the front's points and step line


# -- the unit layer: the pieces that real runs of this size do not reach ------------------------------

def _history(space: ConfigurationSpace, objectives: tuple[str, ...], costs: list[tuple[float, ...]],
             statuses: list[Status] | None = None) -> RunHistory:
    """A runhistory with one trial per sampled configuration, in order; the first is the
    incumbent, and with several objectives every finite point is on the front."""
    rh = RunHistory(space, objectives)
    space.seed(1)
    for k, (config, cost) in enumerate(zip(space.sample_configuration(len(costs)), costs, strict=True)):
        config_id, _ = rh.add_config(dict(config), "random")
        rh.start_trial(TrialInfo(k, config_id, dict(config)), 100.0 + k, worker=1 + k % 2)
        status = statuses[k] if statuses else Status.SUCCESS
        rh.end_trial(k, TrialValue(cost, status, 100.0 + k, 100.5 + k))
    good = tuple((c, rh.trials[c].cost) for c in range(len(costs)) if math.isfinite(rh.trials[c].cost[0]))
    front = good if len(objectives) > 1 else ()
    rh.add_trajectory(TrajectoryEntry(good[0][0], good[0][0], good[0][1], 5.0, len(costs), front))
    return rh


@pytest.mark.fast
def test_three_objectives_get_a_chart_per_pair():
    rh = _history(ConfigurationSpace({"x": (0.0, 1.0)}), ("a", "b", "c"),
                  [(1.0, 2.0, 3.0), (2.0, 1.0, 3.0), (3.0, 3.0, 1.0)])
    svg = _front([RunView("r", rh, {})])
    assert svg.count("<svg") == 3 and svg.count("<polyline") == 0  # no step line beyond two objectives
    assert svg.count('r="4"') == 3 * 3


@pytest.mark.fast
def test_parallel_coordinates_of_a_mixed_conditional_space():
    space = ConfigurationSpace()
    kind = Categorical("kind", ["tree", "linear", "<svm>"])
    space.add([kind, Float("lr", (1e-4, 1.0), log=True), Integer("depth", (1, 20))])
    space.add(EqualsCondition(space["depth"], kind, "tree"))
    costs = [(float(k),) for k in range(30)] + [(math.inf,)]
    statuses = [Status.SUCCESS] * 30 + [Status.CRASHED]
    rh = _history(space, ("loss",), costs, statuses)
    svg = _parallel(RunView("r", rh, {}), BLUE)
    assert "20 of 30 configurations" in svg  # the crashed one (infinite cost) is left out
    assert "&lt;svm&gt;" in svg and "<svm>" not in svg  # categories named on their axis, escaped
    assert "1 (log)" in svg and "0.0001" in svg
    assert svg.count(f'stroke="{BLUE}"') == 1  # the incumbent in colour
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    ys = [float(y) for points in lines for y in re.findall(r",([\d.]+)", points)]
    assert len(lines) == 20 and len(ys) > 20 * 3 and all(70 <= y <= 310 for y in ys)  # every value on its axis


@pytest.mark.fast
def test_a_run_without_trials_yet():
    rh = RunHistory(ConfigurationSpace({"x": (0.0, 1.0)}), ("cost",))
    summary = {"trials": 0, "n_trials": 10, "status": {s.name: 0 for s in Status}, "walltime_used": 0.0, "jobs": 1,
               "workers": {}, "running_job": None, "incumbent": None, "front": None, "objectives": ["cost"]}
    text = page([RunView("r", rh, summary)])
    assert _panels(text) == ["incumbent", "convergence", "timeline", "parallel"]
    for note in ("no incumbent yet (no successful trial)", "no trial started yet", "no finished trial yet"):
        assert note in text


@pytest.mark.fast
def test_ticks_are_round_and_inside_the_range():
    assert _ticks(0.0, 20.0, log=False) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert _ticks(1e-7, 100.0, log=True) == [1e-7, 1e-5, 1e-3, 1e-1, 10.0]
    assert _ticks(3.0, 40.0, log=True) == [5.0, 10.0, 20.0]
    assert all(2.0 <= t <= 3.0 for t in _ticks(2.0, 3.0, log=True))
