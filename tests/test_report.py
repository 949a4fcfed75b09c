"""Reading results: report (text, JSON, per-worker use, plot) and export (CSV, SMAC3 run folder)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from mpismac.cli import main
from mpismac.runhistory.folder import load_run

from .conftest import DATA, REPO, run_cli


def _run(tmp_path: Path, seed: int, **keys) -> Path:
    keys = {"name": "t", "output_directory": str(tmp_path / "out"), "n_trials": 24, "seed": seed,
            "configspace": str(REPO / "examples" / "branin.json"), "crash_cost": 500, **keys}
    path = tmp_path / f"scenario{seed}.yaml"
    path.write_text(f"target: {DATA / 'targets.py'}:on_instances\n"
                    + "".join(f"{k}: {json.dumps(v)}\n" for k, v in keys.items()))
    proc = run_cli(str(path), "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "out" / "t" / str(seed)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("report"), 0, instances=["i0", "i1", "i2"], facade="hpo")


def test_csv_has_a_row_per_trial_with_hyperparameters_as_columns(run_dir, tmp_path):
    proc = run_cli("export", str(run_dir), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    rh = load_run(run_dir).state.runhistory
    assert len(rows) == len(rh.trials) == 24
    for row in rows:
        record = rh.trials[int(row["trial_id"])]
        config = rh.configs[record.config_id]
        assert row["status"] == record.status.name and row["instance"] == record.instance
        assert float(row["cost"]) == record.cost[0]
        assert (float(row["x"]), float(row["y"])) == (config["x"], config["y"])
    assert {"SUCCESS"} < {r["status"] for r in rows}, "the run should hold failures too"
    out = tmp_path / "t.csv"
    assert run_cli("export", str(run_dir), "--format", "csv", "-o", str(out)).returncode == 0
    assert out.read_text() == proc.stdout


def test_smac3_export_loads_in_smac3(run_dir, tmp_path):
    smac = pytest.importorskip("smac", reason="SMAC3 is in the test extra")
    from smac.intensifier import Intensifier
    from smac.runhistory import RunHistory, StatusType

    out = tmp_path / "smac3"
    proc = run_cli("export", str(run_dir), "--format", "smac3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    scenario = smac.Scenario.load(out)
    assert scenario.n_trials == 24 and scenario.instances == ["i0", "i1", "i2"] and scenario.crash_cost == 500
    rh = RunHistory()
    rh.load(out / "runhistory.json", scenario.configspace)
    ours = load_run(run_dir).state.runhistory
    assert len(rh) == len(ours.finished()) == 24 and rh.finished == 24
    for key, value in rh.items():  # every SMAC3 trial is ours, config, instance, seed, cost and status
        config = dict(rh.get_config(key.config_id))
        match = [r for r in ours.trials.values() if ours.configs[r.config_id] == config
                 and r.instance == key.instance and r.seed == key.seed]
        assert len(match) == 1 and match[0].cost[0] == value.cost and int(match[0].status) == value.status
    assert any(v.status == StatusType.CRASHED for v in rh.values())
    intensifier = Intensifier(scenario)
    intensifier.runhistory = rh
    intensifier.load(out / "intensifier.json")
    assert dict(intensifier.get_incumbent()) == ours.configs[ours.incumbent.config_id]
    assert len(intensifier.trajectory) == len(ours.trajectory)


def test_report_json_text_and_plot_of_two_runs(run_dir, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is in the test extra")
    import matplotlib.image

    other = _run(tmp_path, 1, facade="random", n_trials=30)
    png = tmp_path / "runs.png"
    proc = run_cli("report", str(run_dir), str(other), "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("incumbent  config") == 2 and "workers    1" in proc.stdout
    summary = json.loads(run_cli("report", str(other), "--json").stdout)
    assert summary["workers"]["0"]["trials"] == 30 and 0 < summary["workers"]["0"]["utilization"] <= 1
    image = matplotlib.image.imread(png)[:, :, :3]
    height, width, _ = image.shape
    assert width > 600 and height > 250

    def pixels(color: str, half: int) -> int:
        rgb = np.array([int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        part = image[:, :width // 2] if half == 0 else image[:, width // 2:]
        return int((np.abs(part - rgb).max(axis=2) < 0.08).sum())

    for color in ("#1f77b4", "#ff7f0e"):  # matplotlib's first two curve colours, one per run
        assert pixels(color, 0) > 150 and pixels(color, 1) > 150, color


def test_plot_without_matplotlib_names_the_extra(run_dir, tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('blocked for the test')\n")
    import os

    proc = run_cli("report", str(run_dir), "--plot", str(tmp_path / "x.png"),
                   env={**os.environ, "PYTHONPATH": str(blocker)})
    assert proc.returncode == 2 and "mpismac[plot]" in proc.stderr and "Traceback" not in proc.stderr


def _tampered_copy(run_dir: Path, dest: Path, values: dict) -> Path:
    """A copy of a run folder whose first config record (checksum recomputed) holds `values`, and
    no snapshot: what a hand-edited journal looks like."""
    import shutil

    from mpismac.runhistory.journal import encode, read_journal

    shutil.copytree(run_dir, dest)
    (dest / "runhistory.h5").unlink(missing_ok=True)
    records = read_journal(dest / "journal.jsonl").records
    (dest / "journal.jsonl").write_bytes(b"".join(
        encode({**r, "values": values} if r["op"] == "config" and r["id"] == 0 else r) for r in records))
    return dest


@pytest.mark.parametrize("values,why", [({"x": 100.0, "y": 1.0}, "is not allowed for hyperparameter"),
                                        ({"z": 1.0, "x": 1.0, "y": 1.0}, "Unknown hyperparameter(s) {'z'}")],
                         ids=["outside", "unknown"])
def test_report_on_a_journal_off_the_space(run_dir, tmp_path, values, why):
    bad = _tampered_copy(run_dir, tmp_path / "bad", values)
    for args in (("report", str(bad)), ("export", str(bad), "--format", "csv")):
        proc = run_cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith(f"mpismac: error: {bad / 'journal.jsonl'}: the 'config' record at byte ")
        assert "cannot be replayed" in proc.stderr
        assert why in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_export_output_that_cannot_be_written_or_exists(run_dir, tmp_path, capsys):
    """Each a one-line error with exit status 2; an existing output is overwritten only with --force.
    (The command line's `main` in this process, but for the first case: a real process.)"""
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me\n")
    folder = tmp_path / "folder"
    folder.mkdir()

    def export(*args: str) -> tuple[int, str]:
        code = main(["export", str(run_dir), *args])
        return code, capsys.readouterr().err

    proc = run_cli("export", str(run_dir), "--format", "csv", "-o", str(tmp_path / "nodir" / "x.csv"))
    assert proc.returncode == 2 and proc.stderr == f"mpismac: error: {tmp_path / 'nodir' / 'x.csv'}: the folder " \
        f"{tmp_path / 'nodir'} does not exist\n", proc.stderr
    cases = [(("csv", folder), "is a folder; --format csv writes one file"),
             (("csv", existing), "exists; use --force to overwrite it"),
             (("csv", Path("/proc/x.csv")), "cannot write the CSV file"),
             (("smac3", existing), "is a file; --format smac3 writes a folder"),
             (("smac3", Path("/proc/nope")), "cannot write the SMAC3 run folder")]
    for (fmt, out), why in cases:
        code, err = export("--format", fmt, "-o", str(out))
        assert code == 2 and "Traceback" not in err, err
        assert err.startswith(f"mpismac: error: {out}: ") and why in err, err
        assert len(err.splitlines()) == 1
    assert existing.read_text() == "keep me\n"
    assert export("--format", "csv", "-o", str(existing), "--force")[0] == 0
    assert existing.read_text().startswith("trial_id,")
    smac3 = tmp_path / "smac3"
    assert export("--format", "smac3", "-o", str(smac3))[0] == 0
    code, err = export("--format", "smac3", "-o", str(smac3))
    assert code == 2 and "holds runhistory.json" in err and "--force" in err
    assert export("--format", "smac3", "-o", str(smac3), "--force")[0] == 0
