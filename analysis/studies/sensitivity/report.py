"""What a finished study writes and prints: sensitivity.html (per outcome a sentence, a
figure with 95% intervals and a table), indices.csv, points.csv (parameter values and
outcomes per point), sensitivity.json (set-up and indices; `sensitivity_section(DIR)`
turns it into a section for other pages) and the terminal's summary lines.

Every file goes through the one output writer (analysis.engine.writer): a full disk
leaves no half-written answer, and is one line at the command line.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.engine.writer import write_csv, write_json, write_text
from analysis.render.html import html_page, html_table
from analysis.studies.sensitivity.figures import index_figure
from analysis.studies.sensitivity.run import Result

#: the files `write_outputs` writes, in the order it names them
ANSWERS = ("indices.csv", "points.csv", "sensitivity.json", "sensitivity.html")


def _fmt(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3f}"


def ranking_sentence(df: pd.DataFrame, method: str) -> str:
    """Which parameters matter for one outcome, in words."""
    if method == "sobol":
        d = df.sort_values("ST", ascending=False)
        top = d.iloc[0]
        lo = top["ST"] - top["ST_conf"]
        inter = float((df["ST"] - df["S1"]).clip(lower=0).sum())
        small = d[(d["ST"] + d["ST_conf"]) < 0.05]["parameter"].tolist()
        s = (
            f"{top['parameter']} matters most (total index {_fmt(top['ST'])}, 95% interval "
            f"{_fmt(lo)} to {_fmt(top['ST'] + top['ST_conf'])})."
        )
        s += f" Interactions (sum of ST - S1): {_fmt(inter)}."
        if small:
            s += f" Negligible (ST below 0.05 with its interval): {', '.join(small)}."
        return s
    d = df.sort_values("mu_star", ascending=False)
    top = d.iloc[0]
    return (
        f"{top['parameter']} has the largest mean absolute effect (mu* {top['mu_star']:.3g} "
        f"+/- {top['mu_star_conf']:.3g}); order: {', '.join(d['parameter'])}."
    )


def results_json(result: Result) -> dict[str, Any]:
    """Set-up and indices as plain data (sensitivity.json)."""
    an = result.analysis

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    rows = [{k: clean(v) for k, v in r.items()} for r in an.indices.to_dict("records")]
    return {
        "study": result.study.describe(),
        "method": an.method,
        "points": int(len(an.x)),
        "ran": result.ran,
        "already": result.already,
        "elapsed_s": round(result.elapsed_s, 2),
        "indices": rows,
    }


def points_table(result: Result) -> pd.DataFrame:
    """points.csv: each point's index, parameter values and outcomes."""
    an = result.analysis
    pts = pd.DataFrame(an.x, columns=[p.path for p in result.study.parameters])
    for j, name in enumerate(an.outcomes):
        pts[name] = an.y[:, j]
    pts.insert(0, "point", range(len(pts)))
    return pts


def _indices_frame(info: dict[str, Any]) -> pd.DataFrame:
    """The indices of sensitivity.json as a DataFrame (numbers as numbers, missing NaN)."""
    idx = pd.DataFrame(info["indices"]).astype({"parameter": str, "outcome": str})
    for c in idx.columns:
        if c not in ("parameter", "outcome"):
            idx[c] = pd.to_numeric(idx[c], errors="coerce")
    return idx


def _setup_html(info: dict[str, Any]) -> list[str]:
    """What was computed, over what, with which seeds and intervals."""
    st = info["study"]
    what = (
        "Sobol' first-order (S1: the share of the outcome's variance a parameter explains "
        "alone) and total indices (ST: alone and in interactions)"
        if info["method"] == "sobol"
        else "Morris elementary effects (mu*: mean absolute effect of moving a parameter one "
        "grid step; sigma: how much that effect varies, a sign of interactions)"
    )
    params = ", ".join(f"{p['path']} in [{p['low']:g}, {p['high']:g}]" for p in st["parameters"])
    fixed = ", ".join(f"{k} = {v}" for k, v in st["set"].items())
    return [
        f"<p>{html.escape(what)}, computed with SALib over {info['points']:,} points x "
        f"{st['replications']} replication(s) = {st['runs']:,} runs of "
        f"{html.escape(Path(st['scenario']).name)}"
        f"{' with ' + html.escape(fixed) if st['set'] else ''}"
        f" (seed {st['seed']}, common random numbers: every point runs the same seeds); "
        f"95% intervals from {st['resamples']} bootstrap resamples.</p>",
        f'<p class="note">Parameters: {html.escape(params)}.</p>',
    ]


def body_html(info: dict[str, Any], level: int = 2) -> str:
    """The sections of the page (also used as a report section): set-up, then per
    outcome a sentence, a figure and a table."""
    method = info["method"]
    idx = _indices_frame(info)
    h = f"h{level}"
    parts = _setup_html(info)
    for outcome in info["study"]["outcomes"]:
        df = idx[idx["outcome"] == outcome].reset_index(drop=True)
        parts.append(f"<{h}>{html.escape(outcome)}</{h}>")
        if df.drop(columns=["outcome", "parameter"]).isna().all().all():
            parts.append('<p class="unclear">No indices: the outcome is missing in some runs.</p>')
            continue
        parts.append(f"<p>{html.escape(ranking_sentence(df, method))}</p>")
        table = df.drop(columns="outcome")
        parts.append(
            '<div class="row">' + index_figure(df, method, outcome) + html_table(table) + "</div>"
        )
    return "\n".join(parts)


def sensitivity_html(info: dict[str, Any]) -> str:
    """The whole page."""
    st = info["study"]
    title = f"Sensitivity: {st['name']}"
    desc = f"<p>{html.escape(st['description'])}</p>" if st.get("description") else ""
    return html_page(title, f"<h1>{html.escape(title)}</h1>{desc}{body_html(info)}")


def sensitivity_section(directory: str | Path) -> str:
    """An HTML section for another page (the batch report) from a study folder's
    sensitivity.json; "" if there is none."""
    f = Path(directory) / "sensitivity.json"
    if not f.is_file():
        return ""
    info = json.loads(f.read_text(encoding="utf-8"))
    label = "Sobol' indices" if info["method"] == "sobol" else "Morris screening"
    return (
        f'<section id="sensitivity"><h2>Sensitivity ({label}): '
        f"{html.escape(info['study']['name'])}</h2>{body_html(info, level=3)}</section>"
    )


def write_outputs(result: Result, out: str | Path) -> list[Path]:
    """indices.csv, points.csv, sensitivity.json and sensitivity.html under DIR (each
    whole or not at all: a WriteError names the file that could not be written)."""
    out = Path(out)
    info = results_json(result)
    page = sensitivity_html(info)  # the figures are drawn before anything is written
    write_csv(out / "indices.csv", result.analysis.indices)
    write_csv(out / "points.csv", points_table(result))
    write_json(out / "sensitivity.json", info)
    write_text(out / "sensitivity.html", page)
    return [out / name for name in ANSWERS]


def summary_lines(result: Result) -> list[str]:
    """The terminal summary: per outcome, the parameters by importance."""
    an = result.analysis
    lines = []
    for outcome in an.outcomes:
        df = an.indices[an.indices["outcome"] == outcome]
        if an.method == "sobol":
            d = df.sort_values("ST", ascending=False)
            text = ", ".join(
                f"{r.parameter} S1 {_fmt(r.S1)}+/-{_fmt(r.S1_conf)} ST {_fmt(r.ST)}+/-{_fmt(r.ST_conf)}"
                for r in d.itertuples()
            )
        else:
            d = df.sort_values("mu_star", ascending=False)
            text = ", ".join(
                f"{r.parameter} mu* {r.mu_star:.3g}+/-{r.mu_star_conf:.3g} sigma {r.sigma:.3g}"
                for r in d.itertuples()
            )
        lines.append(f"{outcome}: {text}")
    return lines
