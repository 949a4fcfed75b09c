"""`report --html`: run folders as one self-contained HTML page. The incumbent (or the Pareto
front), its cost over trials and time, each worker's trials over time, cost by budget, and the
best configurations in parallel coordinates. Charts are SVG written here (hover a mark for its
numbers); the page holds no script and fetches nothing: its Content-Security-Policy forbids it."""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import CategoricalHyperparameter, Constant, OrdinalHyperparameter

from .errors import UserError
from .plot import common_reference, hypervolume_steps, incumbent_steps
from .runhistory.runhistory import RunHistory, TrialRecord
from .trial import Status

RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
              "#bcbd22", "#17becf")  # matplotlib's, as `--plot` draws the runs
STATUS_COLORS = {Status.SUCCESS: "#4c9f70", Status.CRASHED: "#d1495b", Status.TIMEOUT: "#edae49",
                 Status.MEMORYOUT: "#8e5ea2", Status.RUNNING: "#9aa5b1", Status.CAPPED: "#f4d58d"}
PANELS = {  # id -> title, and the colour of the panel's left edge (a marker the tests find in a screenshot)
    "incumbent": ("Incumbent", "#0b3c5d"),
    "convergence": ("Incumbent cost over trials and wall time", "#328cc1"),
    "front": ("Pareto front", "#d9b310"),
    "timeline": ("Trials per worker over time", "#1d2731"),
    "budget": ("Cost by budget", "#6b7a8f"),
    "parallel": ("Best configurations", "#a4193d"),
}
OTHERS = "#b8c7d9"  # parallel coordinates: configurations that are not incumbents
BEST_SHOWN = 20  # configurations in the parallel coordinates
WIDE = 1060  # pixels: a chart across the page

CSS = """
body{font:14px/1.4 system-ui,sans-serif;color:#222;background:#fff;max-width:1120px;margin:16px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:2px 0 8px}
h3{font-size:14px;margin:12px 0 4px}
.panel{border:1px solid #ddd;border-left:8px solid;padding:8px 16px 12px;margin:0 0 16px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px}
th,td{border-bottom:1px solid #eee;padding:2px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}
.note{color:#666}
.legend span{margin-right:14px;white-space:nowrap}
.sw{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
svg{display:block}
svg text{font-size:11px;fill:#333}
"""


@dataclass(frozen=True)
class RunView:
    """One run folder as the page shows it: a label, its runhistory and `report.summarize`'s output."""

    label: str
    runhistory: RunHistory
    summary: dict[str, Any]


def write_html(path: str | Path, runs: Sequence[RunView], reference: Sequence[float] | None = None) -> None:
    """Write the page (through a temporary file, so a browser reloading it never sees half of one)."""
    path = Path(path)
    text = page(runs, reference)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write the HTML report ({exc.strerror or exc})") from None


def page(runs: Sequence[RunView], reference: Sequence[float] | None = None) -> str:
    """The whole page. Several objectives: hypervolumes against `reference`, else the worst
    finished cost of each objective over all runs (as `--plot`)."""
    multi = len(runs[0].runhistory.objectives) > 1
    ref = None
    if multi:
        ref = np.asarray(reference, dtype=float) if reference is not None else common_reference(
            [(v.label, v.runhistory, _wall(v)) for v in runs])
    budgets = any(_budget(r) is not None for v in runs for r in v.runhistory.finished())
    sections = [_panel("incumbent", "".join(_per_run(runs, n, _incumbent(v)) for n, v in enumerate(runs))),
                _panel("convergence", _convergence(runs, ref),
                       "Hypervolume of the front over trials and wall time" if multi else None)]
    if multi:
        sections.append(_panel("front", _front(runs)))
    sections.append(_panel("timeline", _status_legend() + "".join(
        _per_run(runs, n, _timeline(v)) for n, v in enumerate(runs))))
    if budgets:
        sections.append(_panel("budget", "".join(_per_run(runs, n, _budgets(v, RUN_COLORS[n % 10]))
                                                 for n, v in enumerate(runs))))
    sections.append(_panel("parallel", "".join(_per_run(runs, n, _parallel(v, RUN_COLORS[n % 10]))
                                               for n, v in enumerate(runs))))
    names = ", ".join(v.label for v in runs)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>mpismac report: {_e(names)}</title><style>{CSS}</style></head>\n<body>"
            f"<h1>mpismac report</h1><p class=\"note\">{_e(names)}; written "
            f"{datetime.now().strftime('%Y-%m-%d %H:%M:%S')}</p>\n" + "\n".join(sections) + "\n</body></html>\n")


# -- panels ----------------------------------------------------------------------------------------

def _panel(name: str, body: str, title: str | None = None) -> str:
    marker = PANELS[name][1]
    title = _e(title or PANELS[name][0])
    return f'<section class="panel" id="{name}" style="border-left-color:{marker}"><h2>{title}</h2>{body}</section>'


def _per_run(runs: Sequence[RunView], n: int, body: str) -> str:
    """A run's part of a panel, headed by its label when the page shows several runs."""
    if len(runs) == 1:
        return body
    return f"<h3>{_swatch(RUN_COLORS[n % 10])}{_e(runs[n].label)}</h3>{body}"


def _incumbent(view: RunView) -> str:
    """What the run is (trials, time, workers, the job writing it), then its incumbent or front as a table."""
    s = view.summary
    rh = view.runhistory
    counts = ", ".join(f"{k.lower()} {v}" for k, v in s["status"].items() if v)
    lines = [f"{s['trials']} of {s['n_trials']} trials ({counts or 'none yet'})"]
    if math.isfinite(s["walltime_used"]):
        lines.append(f"{s['walltime_used']:.1f} s wall time over {s['jobs']} job(s)")
    if s["workers"]:
        mean = sum(w["utilization"] for w in s["workers"].values()) / len(s["workers"])
        lines.append(f"{len(s['workers'])} worker(s), busy {mean:.0%} of the wall time on average")
    job = s["running_job"]
    if job:
        lines.append(f"running: job {job.get('job_id')} on {job.get('host')}, "
                     f"heartbeat {job['heartbeat_age_s']:.0f} s ago")
    head = f'<p>{_e("; ".join(lines))}</p>'
    front, inc = s.get("front"), s["incumbent"]
    if inc is None:
        return head + '<p class="note">no incumbent yet (no successful trial)</p>'
    if front is not None:
        hv = front["hypervolume"]
        about = (f"{len(front['points'])} configuration(s) on the Pareto front over {', '.join(s['objectives'])}"
                 + ("" if hv is None else f"; hypervolume {hv:.6g} (reference "
                    f"[{', '.join(f'{v:.6g}' for v in front['reference_point'])}], {front['reference_from']})"))
        rows = [(p["config_id"], p["cost"], p["config"]) for p in front["points"]]
    else:
        about = f"configuration {inc['config_id']}, found by trial {inc['trial_id']} after {inc['walltime']:.1f} s"
        rows = [(inc["config_id"], inc["cost"], inc["config"])]
    names = list(rh.configspace.keys())
    header = "".join(f"<th>{_e(o)}</th>" for o in s["objectives"]) + "".join(f"<th>{_e(k)}</th>" for k in names)
    body = "".join(f"<tr><td>{c}</td>" + "".join(f"<td>{v:.6g}</td>" for v in cost)
                   + "".join(f"<td>{_e(_value(config.get(k)))}</td>" for k in names) + "</tr>"
                   for c, cost, config in rows)
    return (head + f"<p>{_e(about)}</p>"
            f'<div class="scroll"><table><tr><th>config</th>{header}</tr>{body}</table></div>')


def _convergence(runs: Sequence[RunView], reference: np.ndarray | None) -> str:
    """The incumbent's cost (several objectives: the front's hypervolume) by trial and by wall
    time, every run overlaid: `--plot`'s curves."""
    curves: list[tuple[str, dict[str, list[float]], list[float]]] = []  # colour, x by trials and by time, y
    for n, v in enumerate(runs):
        rh = v.runhistory
        if reference is not None:
            steps = hypervolume_steps(rh, reference, len(rh.trials), _wall(v))
        else:
            steps = incumbent_steps(rh, len(rh.trials), _wall(v))
        by_trial, by_wall, ys = steps
        kept = [k for k, y in enumerate(ys) if math.isfinite(y)]
        if kept:
            curves.append((RUN_COLORS[n % 10], {"trials": [by_trial[k] for k in kept],
                                                "wall time [s]": [by_wall[k] for k in kept]}, [ys[k] for k in kept]))
    if not curves:
        return '<p class="note">no incumbent yet</p>'
    objectives = runs[0].runhistory.objectives
    ylabel = (f"hypervolume (reference {', '.join(f'{v:.3g}' for v in reference)})" if reference is not None
              else f"incumbent {objectives[0]}")
    all_y = [y for _, _, ys in curves for y in ys]
    charts = []
    for xlabel in ("trials", "wall time [s]"):
        frame, parts = _chart((0.0, max(x for _, xs, _ in curves for x in xs[xlabel])), all_y, xlabel, ylabel, 520, 320)
        for color, xs, ys in curves:
            parts.append(_step_line(frame, xs[xlabel], ys, color))
        charts.append(_svg(520, 320, parts))
    legend = "".join(f"<span>{_swatch(RUN_COLORS[n % 10])}{_e(v.label)}</span>" for n, v in enumerate(runs))
    return f'<div style="display:flex;gap:16px;flex-wrap:wrap">{"".join(charts)}</div><p class="legend">{legend}</p>'


def _front(runs: Sequence[RunView]) -> str:
    """Every pair of objectives: each run's finished trials (faded) and its front (points, and a
    step line with two objectives)."""
    objectives = runs[0].runhistory.objectives
    pairs = [(i, j) for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
    size = (520, 400) if len(pairs) == 1 else (340, 300)
    seen = [np.array([r.cost for r in v.runhistory.finished() if not r.shared and _finite(r.cost)],
                     dtype=float).reshape(-1, len(objectives)) for v in runs]
    fronts = [sorted(v.runhistory.front, key=lambda p: p[1]) for v in runs]
    charts = []
    for i, j in pairs:
        xs = [float(c[i]) for s in seen for c in s]
        ys = [float(c[j]) for s in seen for c in s]
        if not xs:
            return '<p class="note">no finished trial yet</p>'
        frame, parts = _chart((min(xs), max(xs)), ys, objectives[i], objectives[j], *size, y_log=False)
        for n, (points, front) in enumerate(zip(seen, fronts, strict=True)):
            color = RUN_COLORS[n % 10]
            parts += [f'<circle cx="{frame.x(p[i]):.1f}" cy="{frame.y(p[j]):.1f}" r="2.5" fill="{color}" '
                      'fill-opacity="0.25"/>' for p in points]
            shown = sorted((c[i], c[j], config) for config, c in front if _finite(c))
            if len(objectives) == 2 and shown:
                parts.append(_step_line(frame, [p[0] for p in shown], [p[1] for p in shown], color))
            parts += [f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="4" fill="{color}">'
                      f"<title>config {config}: {_e(objectives[i])} {x:.6g}, {_e(objectives[j])} {y:.6g}</title>"
                      "</circle>" for x, y, config in shown]
        charts.append(_svg(*size, parts))
    return f'<div style="display:flex;gap:16px;flex-wrap:wrap">{"".join(charts)}</div>'


def _timeline(view: RunView) -> str:
    """One row per worker rank, a bar per trial from its start to its end in its status's colour:
    where the workers were busy, and where they waited. Running trials reach to now while a job
    writes the folder, else to the last time the run recorded."""
    trials = [r for r in view.runhistory.trials.values() if not r.shared and r.start_time > 0]
    if not trials:
        return '<p class="note">no trial started yet</p>'
    t0 = min(r.start_time for r in trials)
    latest = max(max(r.start_time, r.end_time) for r in trials)
    now = max(time.time(), latest) if view.summary["running_job"] else latest
    workers = sorted({r.worker for r in trials})
    row = 18 if len(workers) <= 30 else max(2, 540 // len(workers))
    frame = Frame(130, 8, WIDE - 150, row * len(workers), 0.0, max(now - t0, 1e-3), 0.0, float(len(workers)))
    parts = _axes(frame, "seconds since the first trial started", "", y_ticks=[])
    use = view.summary["workers"]
    every = 1 if row >= 12 else -(-12 // row)
    for k, w in enumerate(workers):
        if k % every == 0:
            busy = use.get(str(w), {}).get("utilization")
            label = f"worker {w}" + ("" if busy is None else f" · {busy:.0%}")
            parts.append(f'<text x="{frame.left - 6}" y="{frame.top + (k + 0.5) * row + 4:.1f}" '
                         f'text-anchor="end">{_e(label)}</text>')
    row_of = {w: k for k, w in enumerate(workers)}
    pad = 2 if row >= 8 else 0
    for r in trials:
        end = now if r.status == Status.RUNNING else max(r.end_time, r.start_time)
        x0, x1 = frame.x(r.start_time - t0), frame.x(end - t0)
        width = max(x1 - x0 - 1.0, 1.0)  # a pixel short: back-to-back trials stay apart
        cost = "" if not r.cost else ", cost " + ", ".join(f"{c:.6g}" for c in r.cost)
        parts.append(f'<rect x="{x0:.1f}" y="{frame.top + row_of[r.worker] * row + pad:.1f}" '
                     f'width="{width:.1f}" height="{row - 2 * pad}" fill="{STATUS_COLORS[r.status]}">'
                     f"<title>trial {r.trial_id} (config {r.config_id}) on worker {r.worker}: {r.status.name}"
                     f"{_e(cost)}, {end - r.start_time:.2f} s</title></rect>")
    return _svg(WIDE, frame.top + frame.height + 44, parts)


def _budgets(view: RunView, color: str) -> str:
    """Each finished trial's cost (the first objective) at its budget, budgets evenly spaced."""
    rh = view.runhistory
    points = [(b, r) for r in rh.finished() if not r.shared and (b := _budget(r)) is not None
              and r.cost and math.isfinite(r.cost[0])]
    if not points:
        return '<p class="note">no finished trial with a budget</p>'
    levels = sorted({b for b, _ in points})
    ticks = [(float(k), f"{b:g}") for k, b in enumerate(levels)]
    frame, parts = _chart((-0.5, len(levels) - 0.5), [r.cost[0] for _, r in points], "budget",
                          rh.objectives[0], 520, 300, x_ticks=ticks)
    for b, r in points:
        jitter = ((r.trial_id * 0.618034) % 1.0 - 0.5) * 0.4
        parts.append(f'<circle cx="{frame.x(levels.index(b) + jitter):.1f}" cy="{frame.y(r.cost[0]):.1f}" r="3" '
                     f'fill="{color}"><title>trial {r.trial_id} (config {r.config_id}): '
                     f"budget {b:g}, {_e(rh.objectives[0])} {r.cost[0]:.6g}</title></circle>")
    return _svg(520, 300, parts)


def _parallel(view: RunView, color: str) -> str:
    """The best configurations by mean cost (the front first with several objectives): one axis per
    hyperparameter over the space's bounds (categories evenly spaced), then one per objective over
    the costs shown; a line passes over a hyperparameter that is inactive. Incumbents are drawn in
    the run's colour, the others light."""
    rh = view.runhistory
    costs: dict[int, list[tuple[float, ...]]] = {}
    for r in rh.finished():
        if not r.shared and r.cost and _finite(r.cost):
            costs.setdefault(r.config_id, []).append(r.cost)
    if not costs:
        return '<p class="note">no finished trial yet</p>'
    mean = {c: np.mean(v, axis=0) for c, v in costs.items()}
    incumbents = [c for c, _ in rh.front if c in mean]
    shown = (incumbents + sorted((c for c in mean if c not in incumbents), key=lambda c: mean[c][0]))[:BEST_SHOWN]
    hps = list(rh.configspace.values())
    n_axes = len(hps) + len(rh.objectives)
    left, top, height = 70.0, 70.0, 240.0
    gap = (WIDE - 2 * left) / max(n_axes - 1, 1)
    lines = np.full((len(shown), n_axes), np.nan)
    for k, c in enumerate(shown):
        vector = rh.vector(c)
        lines[k, :len(hps)] = [_unit(hp, v) for hp, v in zip(hps, vector, strict=True)]
    parts: list[str] = []
    for a, hp in enumerate(hps):
        parts += _parallel_axis(left + a * gap, top, height, hp.name, _levels(hp), gap)
    for o, name in enumerate(rh.objectives):
        values = np.array([mean[c][o] for c in shown])
        lo, hi = float(values.min()), float(values.max())
        lines[:, len(hps) + o] = (values - lo) / (hi - lo) if hi > lo else 0.5
        parts += _parallel_axis(left + (len(hps) + o) * gap, top, height, name,
                                [(0.0, f"{lo:.4g}"), (1.0, f"{hi:.4g}")], gap)
    for k in reversed(range(len(shown))):  # the best drawn last, on top
        c = shown[k]
        best = c in incumbents
        about = f"config {c}: " + ", ".join(f"{n} {v:.6g}" for n, v in zip(rh.objectives, mean[c], strict=True))
        about += "; " + ", ".join(f"{n}={_value(v)}" for n, v in rh.configs[c].items())
        points = " ".join(f"{left + a * gap:.1f},{top + height * (1 - u):.1f}"
                          for a, u in enumerate(lines[k]) if not math.isnan(u))  # inactive: passed over
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color if best else OTHERS}" '
                     f'stroke-width="{2.5 if best else 1.3}"><title>{_e(about)}</title></polyline>')
    note = (f'<p class="note">{len(shown)} of {len(mean)} configurations, best first by mean '
            f'{_e(rh.objectives[0])}{" (the front first)" if len(rh.objectives) > 1 else ""}; '
            "the incumbent(s) in colour; hyperparameters over the space's bounds</p>")
    return note + f'<div class="scroll">{_svg(WIDE, int(top + height + 30), parts)}</div>'


def _parallel_axis(x: float, top: float, height: float, name: str, ticks: list[tuple[float, str]],
                   gap: float) -> list[str]:
    """A vertical axis with its name above (slanted when axes are close) and labelled positions."""
    slant = f' transform="rotate(-30 {x:.1f} {top - 12:.1f})" text-anchor="start"' if gap < 90 \
        else ' text-anchor="middle"'
    parts = [f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}" stroke="#888"/>',
             f'<text x="{x:.1f}" y="{top - 12:.1f}"{slant} font-weight="bold">{_e(name)}</text>']
    for u, label in ticks:
        y = top + height * (1 - u)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 4:.1f}" font-size="10">{_e(label)}</text>')
    return parts


def _status_legend() -> str:
    spans = "".join(f"<span>{_swatch(c)}{s.name}</span>" for s, c in STATUS_COLORS.items())
    return f'<p class="legend">{spans}</p>'


# -- values ----------------------------------------------------------------------------------------

def _e(text: Any) -> str:
    return html.escape(str(text))


def _swatch(color: str) -> str:
    return f'<span class="sw" style="background:{color}"></span>'


def _value(v: Any) -> str:
    """A hyperparameter's value for a table ("-" where inactive)."""
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _wall(view: RunView) -> float:
    wall = view.summary["walltime_used"]
    return wall if math.isfinite(wall) else 0.0


def _finite(cost: Sequence[float]) -> bool:
    return all(math.isfinite(c) for c in cost)


def _budget(r: TrialRecord) -> float | None:
    return r.budget if r.budget is not None and math.isfinite(r.budget) else None


def _unit(hp: Any, v: float) -> float:
    """A hyperparameter's vector value on [0, 1]: numbers as ConfigSpace encodes them (over the
    bounds, log-scaled where the space says log), categories and ordinals evenly spaced."""
    if math.isnan(v):
        return math.nan
    if isinstance(hp, CategoricalHyperparameter | OrdinalHyperparameter):
        n = len(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
        return v / (n - 1) if n > 1 else 0.5
    if isinstance(hp, Constant):
        return 0.5
    return min(max(float(v), 0.0), 1.0)


def _levels(hp: Any) -> list[tuple[float, str]]:
    """Where an axis names values: every category (up to 12, else the ends), or the bounds."""
    if isinstance(hp, CategoricalHyperparameter | OrdinalHyperparameter):
        values = list(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
        n = len(values)
        at = range(n) if n <= 12 else (0, n - 1)
        return [(k / (n - 1) if n > 1 else 0.5, str(values[k])) for k in at]
    if isinstance(hp, Constant):
        return [(0.5, str(hp.value))]
    log = " (log)" if getattr(hp, "log", False) else ""
    return [(0.0, f"{hp.lower:.4g}"), (1.0, f"{hp.upper:.4g}{log}")]


# -- SVG charts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """A chart's plot area in pixels and the data range it shows; `x` and `y` map data to pixels."""

    left: float
    top: float
    width: float
    height: float
    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    x_log: bool = False
    y_log: bool = False

    def x(self, v: float) -> float:
        return self.left + self.width * _fraction(v, self.x_lo, self.x_hi, self.x_log)

    def y(self, v: float) -> float:
        return self.top + self.height * (1.0 - _fraction(v, self.y_lo, self.y_hi, self.y_log))


def _fraction(v: float, lo: float, hi: float, log: bool) -> float:
    if log:
        v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
    return (v - lo) / (hi - lo) if hi > lo else 0.5


def _chart(x_range: tuple[float, float], ys: Sequence[float], xlabel: str, ylabel: str, width: int, height: int,
           y_log: bool | None = None, x_ticks: list[tuple[float, str]] | None = None) -> tuple[Frame, list[str]]:
    """A frame over `x_range` and the values `ys` (log scale when every y is positive and they span a
    decade, unless `y_log` says), with its axes."""
    if y_log is None:
        y_log = min(ys) > 0 and max(ys) >= 10 * min(ys)
    x_lo, x_hi = _padded(*x_range, log=False)
    y_lo, y_hi = _padded(min(ys), max(ys), log=y_log)
    frame = Frame(76, 10, width - 92, height - 56, x_lo, x_hi, y_lo, y_hi, y_log=y_log)
    return frame, _axes(frame, xlabel, ylabel, x_ticks=x_ticks)


def _padded(lo: float, hi: float, log: bool) -> tuple[float, float]:
    """A range a little wider than the data (a flat one widened), so no mark sits on the frame."""
    if log:
        a, b = _padded(math.log10(lo), math.log10(hi), log=False)
        return 10 ** a, 10 ** b
    if hi <= lo:
        span = abs(lo) * 0.1 or 1.0
        return lo - span, hi + span
    pad = (hi - lo) * 0.04
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    """Round values to label an axis: powers of ten on a log scale, else 1, 2 or 5 times one."""
    if log:
        first, last = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
        if last - first >= 1:
            return [10.0 ** k for k in range(first, last + 1, -(-(last - first + 1) // 6))]
        ticks = [m * 10.0 ** k for k in range(first - 1, last + 1) for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
        return ticks if len(ticks) >= 2 else _ticks(lo, hi, log=False)
    raw = (hi - lo) / 5
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= step * m)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _axes(frame: Frame, xlabel: str, ylabel: str, x_ticks: list[tuple[float, str]] | None = None,
          y_ticks: list[tuple[float, str]] | None = None) -> list[str]:
    """The frame, grid lines and labels (ticks chosen from the range unless given)."""
    if x_ticks is None:
        x_ticks = [(v, f"{v:.6g}") for v in _ticks(frame.x_lo, frame.x_hi, frame.x_log)]
    if y_ticks is None:
        y_ticks = [(v, f"{v:.6g}") for v in _ticks(frame.y_lo, frame.y_hi, frame.y_log)]
    f = frame
    bottom, right = f.top + f.height, f.left + f.width
    parts = []
    for v, label in x_ticks:
        x = f.x(v)
        parts.append(f'<line x1="{x:.1f}" y1="{f.top}" x2="{x:.1f}" y2="{bottom}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{_e(label)}</text>')
    for v, label in y_ticks:
        y = f.y(v)
        parts.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{f.left - 5}" y="{y + 4:.1f}" text-anchor="end">{_e(label)}</text>')
    parts.append(f'<rect x="{f.left}" y="{f.top}" width="{f.width}" height="{f.height}" fill="none" stroke="#999"/>'
                 f'<text x="{f.left + f.width / 2:.1f}" y="{bottom + 32}" text-anchor="middle">{_e(xlabel)}</text>')
    if ylabel:
        mid = f.top + f.height / 2
        parts.append(f'<text x="14" y="{mid:.1f}" transform="rotate(-90 14 {mid:.1f})" '
                     f'text-anchor="middle">{_e(ylabel)}</text>')
    return parts


def _step_line(frame: Frame, xs: Sequence[float], ys: Sequence[float], color: str) -> str:
    """A step curve: each value holds until the next x (matplotlib's `where="post"`)."""
    points = []
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if k:
            points.append(f"{frame.x(x):.1f},{frame.y(ys[k - 1]):.1f}")
        points.append(f"{frame.x(x):.1f},{frame.y(y):.1f}")
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>'


def _svg(width: int | float, height: int | float, parts: list[str]) -> str:
    size = f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
    return f'<svg {size}>{"".join(parts)}</svg>'
