"""The calibration's answer: fit.md and fit.html (targets vs simulation, parameters,
objective trajectory), fit.json (the same as plain data), calibrated.toml (the scenario
file with the fitted values, loadable by load_scenario) and the summary lines the command
prints. Every file is written through analysis.engine.writer (a temporary name, then a
rename: a failure is one line and leaves nothing half-written).

The targets are reported in three sections (SECTIONS), each with its own pass count:
"Fitted targets (emergent)" (kind = "emergent", use = "fit": what the fit tuned and the
headline validation counts), "Held-out validation (use = validate)" (emergent targets
never fitted: out-of-sample evidence, counted apart) and "Reproduced by construction
(input checks)" (kind = "input_check": the outcome equals an input, so reproducing it
validates nothing; listed apart and never counted as validation).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.engine.scenario_toml import scenario_toml
from analysis.engine.writer import write_json, write_text
from analysis.render.html import fig_to_img, html_page, html_table, pyplot
from analysis.studies.calibrate.fit import Result
from sim.scenario import Scenario


def calibrated_scenario(result: Result) -> Scenario:
    """The original scenario (as in its file, without --buyers / --weeks) with the
    fitted values."""
    base = result.original if result.original is not None else result.setup.scenario
    return base.with_changes(result.fitted)


#: the report's sections of targets: key, title, what the section's tally counts
SECTIONS = (
    ("fitted", "Fitted targets (emergent)", "measurable fitted targets pass"),
    ("held_out", "Held-out validation (use = validate)", "measurable held-out targets pass"),
    ("input_check", "Reproduced by construction (input checks)", "measurable input checks hold"),
)
#: what each section says under its title
SECTION_NOTES = {
    "fitted": 'Emergent targets (kind = "emergent", use = "fit"): the objective is the sum '
    "of their miss² and the headline validation counts them.",
    "held_out": 'Emergent targets the fit never saw (use = "validate"): measured on the same '
    "fresh validation replications at the fitted point, out-of-sample evidence counted apart.",
    "input_check": "Targets whose outcome equals an input by construction (kind = "
    '"input_check"; docs/calibration.md says why for each): neither fitted nor counted as '
    "validation. A FAIL here says an input is set against the published fact.",
}
#: the words of an empty section
SECTION_EMPTY = {
    "fitted": "None.",
    "held_out": 'None: no target has use = "validate".',
    "input_check": 'None: no target has kind = "input_check".',
}


def section_of(target: Any) -> str:
    """The report section of a target: "input_check" for an input check (whatever its
    use), "held_out" for an emergent target with use = "validate", else "fitted"."""
    if target.kind == "input_check":
        return "input_check"
    return "held_out" if target.use == "validate" else "fitted"


def target_rows(result: Result) -> list[dict[str, Any]]:
    """One row per target: goal, tolerance, validation mean and CI, fit mean, miss,
    verdict ("pass", "FAIL", "not measurable ..."), kind, use and report section."""
    rows = []
    for t in result.setup.targets.targets:
        s, fit = result.validation.stats[t.name], result.best.stats[t.name]
        if s.measurable:
            miss = t.miss(s.mean)
            verdict = "pass" if t.passed(s.mean) else "FAIL"
        else:
            miss = math.nan
            verdict = f"not measurable in this scenario ({s.note.removeprefix('not measurable: ')})"
        rows.append(
            {
                "target": t.name,
                "what": t.what,
                "goal": t.goal(),
                "tolerance": t.tolerance,
                "mean": s.mean,
                "half_width": s.half_width,
                "runs": s.runs,
                "fit_mean": fit.mean,
                "miss": miss,
                "verdict": verdict,
                "in_fit": t.name in result.active,
                "extras": s.extras,
                "source": t.source,
                "kind": t.kind,
                "use": t.use,
                "section": section_of(t),
            }
        )
    return rows


def tally(rows: list[dict[str, Any]], section: str) -> dict[str, int]:
    """A section's counts: targets, measurable ones, passes."""
    mine = [r for r in rows if r["section"] == section]
    return {
        "targets": len(mine),
        "measurable": sum(r["runs"] > 0 for r in mine),
        "passed": sum(r["verdict"] == "pass" for r in mine),
    }


def tally_text(rows: list[dict[str, Any]], section: str) -> str:
    """'P of M measurable ... pass (K not measurable in this scenario)'."""
    n = tally(rows, section)
    words = dict((k, w) for k, _, w in SECTIONS)[section]
    return (
        f"{n['passed']} of {n['measurable']} {words} "
        f"({n['targets'] - n['measurable']} not measurable in this scenario)"
    )


def _fmt(x: float, digits: int = 3) -> str:
    """A number in `digits` significant digits; "-" for a missing one."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}g}"


def _simulated(row: dict[str, Any]) -> str:
    """A target row's validation mean ± its 95% half-width ("-" without data)."""
    return "-" if not row["runs"] else f"{_fmt(row['mean'])} ± {_fmt(row['half_width'], 2)}"


def _best_so_far(result: Result) -> list[float]:
    """The lowest objective up to each evaluated point."""
    best, low = [], math.inf
    for e in result.history:
        low = min(low, e.objective)
        best.append(low)
    return best


def _extras_text(name: str, extras: dict[str, float]) -> str:
    if "p10" in extras and "p90" in extras:
        return f"p10-p90 {_fmt(extras['p10'])}-{_fmt(extras['p90'])}"
    shares = {k: v for k, v in extras.items() if k != "n"}
    if name.startswith("idc") or shares and all(v <= 1 for v in shares.values()):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in shares.items())
    return ""


def param_rows(result: Result) -> list[dict[str, Any]]:
    """One row per free parameter: range, start, fitted value, at a bound?"""
    rows = []
    for p in result.setup.free:
        v = result.fitted[p.path]
        edge = (v - p.low) / (p.high - p.low)
        rows.append(
            {
                "parameter": p.path,
                "low": p.low,
                "high": p.high,
                "start": p.start,
                "fitted": v,
                "at_bound": "low" if edge <= 0.01 else "high" if edge >= 0.99 else "",
            }
        )
    return rows


def fitted_text(result: Result) -> str:
    """The fitted values: 'path = value, ...'."""
    return ", ".join(f"{k} = {v:g}" for k, v in result.fitted.items())


def summary_lines(result: Result) -> list[str]:
    """What the calibration found, in seven lines (fit.md's list, the command's output):
    the headline validation counts the fitted emergent targets only; the held-out ones
    and the input checks have a line each."""
    s = result.setup
    rows = target_rows(result)
    n = {k: tally(rows, k) for k, _, _ in SECTIONS}
    sc = s.scenario
    held = (
        tally_text(rows, "held_out")
        if n["held_out"]["targets"]
        else 'none (no target has use = "validate")'
    )
    checks = (
        tally_text(rows, "input_check")
        if n["input_check"]["targets"]
        else 'none (no target has kind = "input_check")'
    )
    return [
        f"scenario {sc.name!r} ({sc.source}): {sc.buyers.count:,} buyers, {sc.weeks} weeks",
        f"targets: {s.targets.source} ({len(rows)} targets: {n['fitted']['targets']} fitted, "
        f"{n['held_out']['targets']} held out, {n['input_check']['targets']} input "
        f"check{'' if n['input_check']['targets'] == 1 else 's'}; "
        f"{len(result.active)} in the fit)",
        f"fit: {len(result.history)} points x {s.replications} replications (common seeds); "
        f"{result.stop_reason}",
        f"objective: start {result.history[0].objective:.4g}, best {result.best.objective:.4g} "
        f"(point {result.best.index}); on the {s.validation} validation replications "
        f"{result.validation.objective:.4g}",
        f"validation: {tally_text(rows, 'fitted')}",
        f"held-out validation: {held}",
        f"input checks (reproduced by construction, not counted as validation): {checks}",
    ]


def fit_markdown(result: Result) -> str:
    """The fit report as Markdown."""
    lines = ["# Calibration fit", ""]
    lines += [f"- {x}" for x in summary_lines(result)]
    lines += [
        "",
        f"Simulated: mean ± 95% interval over {result.setup.validation} fresh validation "
        "replications at the fitted point (seeds the fit never used); `fit mean` is over the "
        f"{result.setup.replications} fit replications. A target passes within one "
        "tolerance of its value or band; `miss` is in tolerances (0 inside a band).",
    ]
    rows = target_rows(result)
    for key, title, _ in SECTIONS:
        mine = [r for r in rows if r["section"] == key]
        lines += ["", f"## {title}", "", SECTION_NOTES[key], ""]
        if not mine:
            lines.append(SECTION_EMPTY[key])
            continue
        lines += [
            tally_text(rows, key)[0].upper() + tally_text(rows, key)[1:] + ".",
            "",
            "| target | goal | tolerance | simulated (95% CI) | fit mean | miss | verdict | detail |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in mine:
            sim = _simulated(r)
            fit_only = " (not fitted)" if key == "fitted" and not r["in_fit"] else ""
            lines.append(
                f"| {r['target']} | {r['goal']} | {r['tolerance']:g} | {sim} | "
                f"{_fmt(r['fit_mean'])} | {_fmt(r['miss'], 2)} | {r['verdict']}{fit_only} | "
                f"{_extras_text(r['target'], r['extras'])} |"
            )
    lines += ["", "## Parameters", "", "| parameter | range | start | fitted | at a bound |"]
    lines += ["|---|---|---|---|---|"]
    for p in param_rows(result):
        lines.append(
            f"| {p['parameter']} | [{p['low']:g}, {p['high']:g}] | {p['start']:g} | "
            f"{p['fitted']:g} | {p['at_bound'] or '-'} |"
        )
    lines += [
        "",
        "## Objective trajectory",
        "",
        "| point | "
        + " | ".join(p.path for p in result.setup.free)
        + " | objective | best so far |",
    ]
    lines += ["|---" * (len(result.setup.free) + 3) + "|"]
    for e, best in zip(result.history, _best_so_far(result), strict=True):
        vals = " | ".join(f"{e.values[p.path]:g}" for p in result.setup.free)
        lines.append(f"| {e.index} | {vals} | {e.objective:.4g} | {best:.4g} |")
    lines += ["", "## Sources", ""]
    lines += [f"- **{t.name}**: {t.what}. {t.source}" for t in result.setup.targets.targets]
    return "\n".join(lines) + "\n"


def trajectory_figure(result: Result) -> str:
    """The objective per evaluated point and the best so far, as an embedded PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.2), dpi=100)
    xs = [e.index for e in result.history]
    ys = [e.objective for e in result.history]
    best = _best_so_far(result)
    ax.plot(xs, ys, "o", ms=4, color="#888", label="point")
    ax.step(xs, best, where="post", color="#c33", label="best so far")
    if min(ys) > 0 and max(ys) / min(ys) > 20:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("evaluated point")
    ax.set_ylabel("objective (sum of miss²)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, "objective trajectory")


def fit_html(result: Result) -> str:
    """The fit report as a self-contained HTML page (the figure embedded)."""
    esc = html.escape
    parts = ["<h1>Calibration fit</h1><ul>"]
    parts += [f"<li>{esc(x)}</li>" for x in summary_lines(result)]
    parts.append("</ul>")
    parts.append(
        f'<p class="note">Simulated mean ± 95% interval over {result.setup.validation} fresh '
        "validation replications at the fitted point; a target passes within one tolerance "
        "of its value or band; miss in tolerances (0 inside a band).</p>"
    )
    all_rows = target_rows(result)
    for key, title, _ in SECTIONS:
        mine = [r for r in all_rows if r["section"] == key]
        parts.append(f"<h2>{esc(title)}</h2><p>{esc(SECTION_NOTES[key])}</p>")
        if not mine:
            parts.append(f"<p>{esc(SECTION_EMPTY[key])}</p>")
            continue
        text = tally_text(all_rows, key)
        parts.append(f"<p>{esc(text[0].upper() + text[1:])}.</p>")
        rows = []
        for r in mine:
            cls = "clear" if r["verdict"] == "pass" else "unclear"
            not_fitted = key == "fitted" and not r["in_fit"]
            rows.append(
                {
                    "target": r["target"],
                    "goal": r["goal"],
                    "tolerance": f"{r['tolerance']:g}",
                    "simulated (95% CI)": _simulated(r),
                    "fit mean": _fmt(r["fit_mean"]),
                    "miss": _fmt(r["miss"], 2),
                    "verdict": f'<span class="{cls}">{esc(r["verdict"])}</span>'
                    + (" (not fitted)" if not_fitted else ""),
                    "detail": _extras_text(r["target"], r["extras"]),
                    "source": r["source"],
                }
            )
        parts.append(html_table(pd.DataFrame(rows), raw={"verdict"}))
    parts.append("<h2>Parameters</h2>")
    prow = [
        {
            "parameter": p["parameter"],
            "range": f"[{p['low']:g}, {p['high']:g}]",
            "start": f"{p['start']:g}",
            "fitted": f"{p['fitted']:g}",
            "at a bound": p["at_bound"] or "-",
        }
        for p in param_rows(result)
    ]
    parts.append(html_table(pd.DataFrame(prow)))
    parts.append("<h2>Objective trajectory</h2>")
    parts.append(trajectory_figure(result))
    return html_page("Calibration fit", "".join(parts))


def fit_json(result: Result) -> dict[str, Any]:
    """The fit as plain data: `targets` one row per target (with its kind, use and
    section), `sections` each section's title, counts and target names."""
    rows = target_rows(result)

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    return clean(
        {
            "setup": result.setup.describe(),
            "stop_reason": result.stop_reason,
            "fitted": result.fitted,
            "best_objective": result.best.objective,
            "validation_objective": result.validation.objective,
            "active_targets": list(result.active),
            "sections": {
                key: {
                    "title": title,
                    **tally(rows, key),
                    "names": [r["target"] for r in rows if r["section"] == key],
                }
                for key, title, _ in SECTIONS
            },
            "targets": rows,
            "parameters": param_rows(result),
            "trajectory": [
                {"point": e.index, "values": e.values, "objective": e.objective}
                for e in result.history
            ],
        }
    )


def write_outputs(result: Result, out: str | Path) -> list[Path]:
    """DIR/calibrated.toml, fit.md, fit.html, fit.json."""
    out = Path(out)
    s = result.setup
    fitted = fitted_text(result)
    header = (
        f"Calibrated by `run.py calibrate` from {s.scenario.source}\n"
        f"against {s.targets.source}: {fitted}\n"
        f"(fit: {s.scenario.buyers.count:,} buyers, {s.scenario.weeks} weeks, "
        f"{s.replications} replications, {len(result.history)} points; "
        f"objective {result.best.objective:.4g}, validation {result.validation.objective:.4g}; "
        "see fit.md next to this file)"
    )
    texts = {  # all made before any is written: a failure leaves the old answer whole
        "calibrated.toml": scenario_toml(calibrated_scenario(result), header),
        "fit.md": fit_markdown(result),
        "fit.html": fit_html(result),
    }
    written = [write_text(out / name, text) for name, text in texts.items()]
    return [*written, write_json(out / "fit.json", fit_json(result))]
