"""What a discovery writes: FILE (default SWEEP_DIR/discovery.html), and next to it
<stem>.json (the question, the cases and the boxes; read by `discovery_section`),
<stem>_boxes.csv and <stem>_trajectory.csv.

Every file goes through the one output writer (analysis.engine.writer): a full disk
leaves no half-written answer, and is one line at the command line; a missing folder of
FILE is made.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.engine.writer import write_csv, write_json, write_text
from analysis.render.html import html_page, html_table
from analysis.studies.discover.figures import trajectory_figure

if TYPE_CHECKING:
    from analysis.studies.discover.cases import Cases
    from analysis.studies.discover.prim import Box

#: the columns of <stem>_boxes.csv
BOX_COLUMNS = ["box", "where", "coverage", "density", "mass", "cases", "cases_of_interest"]


def limit_text(lim: dict[str, Any]) -> str:
    """One restricted dimension in words."""
    if "values" in lim:
        return f"{lim['name']} in {{{', '.join(lim['values'])}}}"
    lo_cut = lim["low"] > lim["full_low"]
    hi_cut = lim["high"] < lim["full_high"]
    if lo_cut and hi_cut:
        return f"{lim['low']:.4g} <= {lim['name']} <= {lim['high']:.4g}"
    if lo_cut:
        return f"{lim['name']} >= {lim['low']:.4g}"
    return f"{lim['name']} <= {lim['high']:.4g}"


def box_rule(box: dict[str, Any]) -> str:
    """A box's restricted dimensions in words, joined by 'and' ("" for the whole space)."""
    return " and ".join(limit_text(lim) for lim in box["limits"])


def results_json(text: str, cases: Cases, boxes: list[Box], sweep_dir: Path) -> dict[str, Any]:
    """The question, the cases and the boxes as plain data."""
    return {
        "when": text,
        "sweep": cases.sweep,
        "sweep_dir": str(sweep_dir),
        "cases": int(len(cases.y)),
        "holds": int(cases.y.sum()),
        "dropped": cases.dropped,
        "compared_axes": cases.selected,
        "uncertainties": cases.uncertainties,
        "boxes": [
            {
                "box": b.number,
                "coverage": b.coverage,
                "density": b.density,
                "mass": b.mass,
                "cases": b.n,
                "cases_of_interest": b.k,
                "limits": b.limits,
                "trajectory_point": b.chosen,
                "trajectory": b.trajectory[
                    ["coverage", "density", "mass", "res_dim", "n", "k"]
                ].to_dict("records"),
            }
            for b in boxes
        ],
    }


def _question_html(info: dict[str, Any]) -> list[str]:
    """The condition, how often it holds, and the uncertainties explored."""
    n, k = info["cases"], info["holds"]
    share = k / n if n else math.nan
    unc = "; ".join(
        f"{u['name']} {u['low']:.4g} to {u['high']:.4g}"
        if "low" in u
        else f"{u['name']} in {{{', '.join(u['values'])}}}"
        for u in info["uncertainties"]
    )
    dropped = f" {info['dropped']} cases left out (an outcome missing)." if info["dropped"] else ""
    compared = (
        "; " + html.escape(", ".join(info["compared_axes"])) + " compared within it"
        if info["compared_axes"]
        else ""
    )
    return [
        f"<p>Condition: <code>{html.escape(info['when'])}</code>. It holds in <b>{k:,} of "
        f"{n:,} cases</b> ({100 * share:.0f}%) of sweep {html.escape(info['sweep'])} (a case: "
        f"one replication at one point of the uncertainties{compared}).</p>",
        f'<p class="note">Uncertainties explored: {html.escape(unc)}.{dropped}</p>',
    ]


def _boxes_html(info: dict[str, Any], h: str) -> list[str]:
    """A sentence per box, then the table of the boxes."""
    n, k = info["cases"], info["holds"]
    share = k / n if n else math.nan
    parts, rows = [], []
    for b in info["boxes"]:
        rule = box_rule(b) or "(the whole space)"
        rows.append(
            {
                "box": b["box"],
                "where": rule,
                "coverage": b["coverage"],
                "density": b["density"],
                "mass": b["mass"],
                "cases": b["cases"],
                "of interest": b["cases_of_interest"],
            }
        )
        parts.append(
            f"<p><b>Box {b['box']}</b>: {html.escape(rule)}. It holds in "
            f"{100 * b['density']:.0f}% of the box's {b['cases']} cases (density; "
            f"{100 * share:.0f}% overall) and the box holds {100 * b['coverage']:.0f}% of all "
            f"cases where it holds (coverage).</p>"
        )
    parts.append(
        f"<{h}>Boxes</{h}>"
        + html_table(pd.DataFrame(rows), percent=["coverage", "density", "mass"])
    )
    return parts


def _limits_html(info: dict[str, Any]) -> list[str]:
    """The restricted dimensions of every box with their quasi-p values."""
    lim_rows = []
    for b in info["boxes"]:
        for lim in b["limits"]:
            qp = [q for q in lim.get("qp", []) if q is not None and q >= 0]
            lim_rows.append(
                {
                    "box": b["box"],
                    "uncertainty": lim["name"],
                    "box limits": limit_text(lim),
                    "full range": (
                        f"{lim['full_low']:.4g} to {lim['full_high']:.4g}"
                        if "full_low" in lim
                        else ", ".join(lim["all"])
                    ),
                    "quasi-p": min(qp) if qp else math.nan,
                }
            )
    if not lim_rows:
        return []
    return [
        '<p class="note">Quasi-p: a one-sided binomial test of the restriction (Bryant and '
        "Lempert 2010): the chance the density would rise this much by luck; large values "
        "(above ~0.05) mark a restriction the data hardly support.</p>"
        + html_table(pd.DataFrame(lim_rows))
    ]


def body_html(info: dict[str, Any], level: int = 2) -> str:
    """Question, cases, boxes and the trajectory figure (also used as a report section)."""
    h = f"h{level}"
    parts = _question_html(info)
    if not info["boxes"]:
        what = "every" if info["holds"] == info["cases"] else "no"
        parts.append(f"<p>The condition holds in {what} case: there is no box to find.</p>")
        return "\n".join(parts)
    parts += _boxes_html(info, h)
    parts += _limits_html(info)
    parts.append(f"<{h}>Peeling trajectory</{h}>")
    parts.append(
        '<p class="note">Each point is a box PRIM passed through while peeling (and pasting): '
        "smaller boxes are denser but cover fewer cases. The circled box is the one reported.</p>"
    )
    parts.append(trajectory_figure(info["boxes"]))
    return "\n".join(parts)


def discovery_section(path: str | Path) -> str:
    """An HTML section for another page from a discovery's JSON (a sweep folder holding
    discovery.json, or the JSON file itself); "" if there is none."""
    p = Path(path)
    f = p / "discovery.json" if p.is_dir() else p
    if not f.is_file():
        return ""
    info = json.loads(f.read_text(encoding="utf-8"))
    return (
        '<section id="discovery"><h2>Scenario discovery (PRIM)</h2>'
        f"{body_html(info, level=3)}</section>"
    )


def discovery_html(info: dict[str, Any]) -> str:
    """The whole page."""
    title = f"Scenario discovery: {info['sweep']}"
    return html_page(title, f"<h1>{html.escape(title)}</h1>{body_html(info)}")


def write_outputs(info: dict[str, Any], out: Path) -> list[Path]:
    """FILE (HTML), <stem>.json, <stem>_boxes.csv, <stem>_trajectory.csv (each whole or
    not at all: a WriteError names the file that could not be written)."""
    page = discovery_html(info)  # the figure is drawn before anything is written
    j = write_json(out.with_suffix(".json"), info)
    rows = [
        {"box": b["box"], "where": box_rule(b), **{k: b[k] for k in BOX_COLUMNS[2:]}}
        for b in info["boxes"]
    ]
    boxes = write_csv(
        out.with_name(f"{out.stem}_boxes.csv"), pd.DataFrame(rows, columns=BOX_COLUMNS)
    )
    traj = [
        dict(box=b["box"], step=i, **t)
        for b in info["boxes"]
        for i, t in enumerate(b["trajectory"])
    ]
    trajectory = write_csv(out.with_name(f"{out.stem}_trajectory.csv"), pd.DataFrame(traj))
    write_text(out, page)
    return [out, j, boxes, trajectory]
