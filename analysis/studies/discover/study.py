"""`python run.py discover SWEEP_DIR --when "EXPR"`: scenario discovery with PRIM.

    python run.py sweep scenarios/sweep_discover.toml --out results/sweeps
    python run.py discover results/sweeps --when \\
        "conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led"

Under which market conditions does a condition hold? The sweep's uncertainties are its
axes (sampled ranges, grids; the `p:<axis>` columns of the runs table) other than those
the condition compares; a *case* is one replication at one point of the uncertainties.
The condition is evaluated per case, and PRIM (the EMA Workbench's
`ema_workbench.analysis.prim.Prim`, Friedman and Fisher's patient rule induction as used
for scenario discovery by Bryant and Lempert 2010) peels the uncertainty space down to
boxes where it holds unusually often. Each box is reported with its coverage (the share
of all cases where the condition holds that fall in the box), its density (the share of
the box's cases where it holds), its mass, the limits of its restricted dimensions with
quasi-p values, and the peeling trajectory (coverage vs density) from which it was chosen.

The condition language (`parse`) is small and safe (nothing is passed to eval):

    condition  := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | comparison
    comparison := sum (">" | ">=" | "<" | "<=" | "==" | "!=") sum
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | NUMBER | OUTCOME | "(" sum ")"
    OUTCOME    := NAME ["@" AXIS=VALUE ("," AXIS=VALUE)*]

NAME is an outcome of analysis.studies.sensitivity.study (METRIC.VENDOR such as conversions.Challenger,
roi.AnalystLed, or a market outcome such as no_decision_share); `@mix=community` takes it
from the variant whose axis `mix` has the value `community`, for the same replication
and the same uncertainty point as the other side. Every axis a condition selects must be
selected by each of its outcomes. Put spaces around a minus sign after a selector
(`a@mix=x - b`; `x-b` would read as the value).

Written: FILE (default SWEEP_DIR/discovery.html), and next to it <stem>.json (read by
`discovery_section`), <stem>_boxes.csv and <stem>_trajectory.csv.

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EXAMPLE = '"conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led"'
MAX_EXPR = 1000
MAX_BOXES = 5


class ExprError(Exception):
    """A condition that does not parse or does not fit the sweep: one line, exit code 2."""


# ----------------------------------------------------------------------------- the language
@dataclass(frozen=True)
class Ref:
    """An outcome of one variant: NAME@axis=value,..."""

    name: str
    selectors: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        sel = ",".join(f"{a}={v}" for a, v in self.selectors)
        return f"{self.name}@{sel}" if sel else self.name


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ref>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*
        (?:@[A-Za-z0-9_.-]+=[A-Za-z0-9_.+-]+(?:,[A-Za-z0-9_.-]+=[A-Za-z0-9_.+-]+)*)?)
  | (?P<op>>=|<=|==|!=|>|<|\+|-|\*|/|\(|\))
    """,
    re.VERBOSE,
)
_COMPARE = (">", ">=", "<", "<=", "==", "!=")
_KEYWORDS = ("and", "or", "not")


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) tokens; an unknown character is an ExprError."""
    if len(text) > MAX_EXPR:
        raise ExprError(f"the condition is {len(text):,} characters; at most {MAX_EXPR:,}")
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(
                f"unexpected {text[pos]!r} at character {pos + 1}; allowed: outcomes, numbers, "
                f"+ - * / ( ), {' '.join(_COMPARE)}, and or not"
            )
        kind = m.lastgroup
        if kind != "space":
            value = m.group()
            if kind == "ref" and value in _KEYWORDS:
                kind = "kw"
            elif kind == "ref" and "@" in value and value.endswith("@"):
                raise ExprError(f"{value!r}: '@' needs AXIS=VALUE after it")
            out.append((kind, value, pos))
        pos = m.end()
    # an '@' not followed by axis=value leaves the '@' unmatched above
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str) -> ExprError:
        tok = self.peek()
        if tok is None:
            return ExprError(f"the condition ends where {expected} is expected")
        return ExprError(f"expected {expected} at character {tok[2] + 1}, found {tok[1]!r}")

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    # condition level (booleans)
    def condition(self):
        node = self.conj()
        while self.at("kw", "or"):
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self):
        node = self.neg()
        while self.at("kw", "and"):
            self.take()
            node = ("and", node, self.neg())
        return node

    def neg(self):
        if self.at("kw", "not"):
            self.take()
            return ("not", self.neg())
        if self.at("op", "("):  # a parenthesised condition or the start of a sum
            save = self.i
            self.take()
            try:
                node = self.condition()
                if self.at("op", ")"):
                    self.take()
                    if not (self.peek() and self.peek()[1] in _COMPARE + ("+", "-", "*", "/")):
                        return node
            except ExprError:
                pass
            self.i = save
        return self.comparison()

    def comparison(self):
        left = self.sum()
        tok = self.peek()
        if tok is None or tok[1] not in _COMPARE:
            raise self.fail(f"a comparison ({' '.join(_COMPARE)})")
        self.take()
        return ("cmp", tok[1], left, self.sum())

    # numbers
    def sum(self):
        node = self.product()
        while self.peek() and self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            node = ("arith", op, node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self):
        tok = self.peek()
        if tok is None:
            raise self.fail("an outcome or a number")
        if tok[1] == "-" and tok[0] == "op":
            self.take()
            return ("neg", self.unary())
        if tok[0] == "number":
            self.take()
            return ("num", float(tok[1]))
        if tok[0] == "ref":
            self.take()
            name, _, sel = tok[1].partition("@")
            pairs = tuple(tuple(s.split("=", 1)) for s in sel.split(",")) if sel else ()
            axes = [a for a, _ in pairs]
            if len(set(axes)) != len(axes):
                raise ExprError(f"{tok[1]!r} selects the same axis twice")
            return ("ref", Ref(name, pairs))
        if tok[1] == "(":
            self.take()
            node = self.sum()
            if not self.at("op", ")"):
                raise self.fail("')'")
            self.take()
            return node
        raise self.fail("an outcome or a number")


def parse(text: str):
    """The condition as a tree of tuples; an ExprError says where and what is wrong."""
    if not text or not text.strip():
        raise ExprError(f"the condition is empty; e.g. {EXAMPLE}")
    p = _Parser(text)
    node = p.condition()
    if p.peek() is not None:
        raise p.fail("the end of the condition (or 'and', 'or')")
    return node


def refs(node) -> list[Ref]:
    """Every outcome the condition reads, in order, once each."""
    out: list[Ref] = []

    def walk(n):
        if n[0] == "ref":
            if n[1] not in out:
                out.append(n[1])
        elif n[0] in ("num",):
            return
        else:
            for child in n[1:]:
                if isinstance(child, tuple):
                    walk(child)

    walk(node)
    return out


def evaluate(node, values: dict[Ref, np.ndarray]) -> np.ndarray:
    """The condition per case (a boolean array) from each outcome's values per case."""
    import numpy as np

    kind = node[0]
    if kind == "num":
        return np.float64(node[1])
    if kind == "ref":
        return values[node[1]]
    if kind == "neg":
        return -evaluate(node[1], values)
    if kind == "arith":
        a, b = evaluate(node[2], values), evaluate(node[3], values)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[node[1]]
    if kind == "cmp":
        a, b = evaluate(node[2], values), evaluate(node[3], values)
        ops = {">": np.greater, ">=": np.greater_equal, "<": np.less}
        ops.update({"<=": np.less_equal, "==": np.equal, "!=": np.not_equal})
        return ops[node[1]](a, b)
    if kind == "not":
        return ~evaluate(node[1], values)
    a, b = evaluate(node[1], values), evaluate(node[2], values)
    return (a & b) if kind == "and" else (a | b)


# ----------------------------------------------------------------------------- the cases
@dataclass
class Cases:
    """The condition per case and the uncertainties (x) of each case."""

    x: pd.DataFrame
    y: np.ndarray
    uncertainties: list[dict[str, Any]]
    selected: list[str]
    dropped: int
    sweep: str


def _value_matches(series: pd.Series, value: str, numeric: bool):
    if numeric:
        try:
            return series.astype(float) == float(value)
        except ValueError:
            return series.astype(float) != series.astype(float)  # nothing matches
    return series.astype(str) == value


def build_cases(sweep_dir: Path, text: str) -> Cases:
    """Read a sweep folder and evaluate the condition per case.

    Raises:
        ExprError: the condition names an unknown outcome, axis or value, leaves an axis
            unselected, or the sweep has no uncertainty to explore.
    """
    import numpy as np

    from analysis.engine.parts import load_table
    from analysis.studies.sensitivity.study import outcome_problem, wide_outcomes

    node = parse(text)
    info = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    axes = {a["name"]: a for a in info["axes"]}
    runs = load_table(sweep_dir, "runs")
    if not len(runs):
        raise ExprError(f"{sweep_dir}: no runs stored yet; run the sweep first")
    runs = runs[runs["status"] == "ok"]
    vendor_rows = load_table(sweep_dir, "vendors")
    # the vendors as the runs name them ([sweep.set] may rename one)
    vendors = tuple(dict.fromkeys(vendor_rows["vendor"])) if len(vendor_rows) else ()
    the_refs = refs(node)
    for r in the_refs:
        problem = outcome_problem(r.name, vendors)
        if problem:
            raise ExprError(problem)
    selected: list[str] = []
    for r in the_refs:
        for a, _ in r.selectors:
            if a not in axes:
                raise ExprError(
                    f"{r.text}: the sweep has no axis {a!r}; axes: {', '.join(axes) or 'none'}"
                )
            if a not in selected:
                selected.append(a)
    for r in the_refs:
        missing = [a for a in selected if a not in dict(r.selectors)]
        if missing:
            a = missing[0]
            raise ExprError(
                f"{r.text} names no value of axis {a!r} (another outcome does); write "
                f"{r.name}@{a}=VALUE so both sides compare the same case"
            )
    uncertain = [a for a in axes if a not in selected]
    if not uncertain:
        raise ExprError(
            f"the sweep {info['name']!r} varies only {', '.join(selected)}, which the "
            "condition compares: discovery needs other sampled or grid axes (the "
            "uncertainties), e.g. {low =, high =} axes with samples in the sweep file"
        )
    wide = wide_outcomes(runs, vendor_rows)
    numeric = {}
    for a in axes:
        col = runs[f"p:{a}"]
        numeric[a] = col.dtype.kind in "fiu"
    for r in the_refs:
        for a, v in r.selectors:
            if not _value_matches(runs[f"p:{a}"], v, numeric[a]).any():
                have = sorted({str(x) for x in runs[f"p:{a}"]})
                shown = ", ".join(have[:12]) + (" ..." if len(have) > 12 else "")
                raise ExprError(f"{r.text}: axis {a!r} has no value {v!r}; values: {shown}")
    keys = ["replication"] + [f"p:{a}" for a in uncertain]
    cases = runs[keys].drop_duplicates().set_index(keys).sort_index()
    values = {}
    for r in the_refs:
        sub = runs
        for a, v in r.selectors:
            sub = sub[_value_matches(sub[f"p:{a}"], v, numeric[a])]
        col = wide[r.name] if r.name in wide else None
        if col is None:
            raise ExprError(f"{r.name}: not in this sweep's tables")
        s = sub.assign(_v=col.reindex(sub["run_id"].astype(str)).to_numpy()).set_index(keys)["_v"]
        s = s[~s.index.duplicated()]
        values[r] = s.reindex(cases.index).to_numpy(dtype=float)
    ok = np.ones(len(cases), dtype=bool)
    for v in values.values():
        ok &= np.isfinite(v)
    y = np.asarray(evaluate(node, {r: v[ok] for r, v in values.items()}), dtype=bool)
    if y.ndim == 0:
        y = np.full(int(ok.sum()), bool(y))
    x = cases.reset_index().drop(columns="replication")[ok].reset_index(drop=True)
    x.columns = [c.removeprefix("p:") for c in x.columns]
    for a in uncertain:
        if numeric[a]:
            x[a] = x[a].astype(float)
        else:
            x[a] = x[a].astype(str).astype("category")
    described = []
    for a in uncertain:
        d = axes[a]
        if numeric[a]:
            described.append(
                {"name": a, "kind": d["kind"], "low": float(x[a].min()), "high": float(x[a].max())}
            )
        else:
            described.append({"name": a, "kind": d["kind"], "values": sorted(map(str, set(x[a])))})
    return Cases(x, y, described, selected, int((~ok).sum()), info["name"])


# ----------------------------------------------------------------------------- PRIM
@dataclass
class Box:
    """One PRIM box: its chosen point on the peeling trajectory and the limits there."""

    number: int
    chosen: int
    coverage: float
    density: float
    mass: float
    n: int
    k: int
    limits: list[dict[str, Any]]  # restricted dimensions: name, low, high, full range, qp
    trajectory: pd.DataFrame


def _import_prim():
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "ipyparallel not installed": not used here
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def choose(traj: pd.DataFrame, min_density: float | None) -> int:
    """Which point of a peeling trajectory to report: with `min_density`, the box of
    highest coverage whose density reaches it (else the densest); without, the box with
    the best balance of coverage and density (their harmonic mean)."""
    import numpy as np

    cov = traj["coverage"].to_numpy(float)
    den = traj["density"].to_numpy(float)
    if min_density is not None:
        ok = np.flatnonzero(den >= min_density)
        if len(ok):
            return int(ok[np.argmax(cov[ok])])
        return int(np.argmax(den))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(cov + den > 0, 2 * cov * den / (cov + den), 0.0)
    return int(np.argmax(f))


def find_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    boxes: int = 1,
    min_density: float | None = None,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> list[Box]:
    """Up to `boxes` PRIM boxes (each after removing the cases of the ones before)."""
    import warnings

    import numpy as np

    prim = _import_prim()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's own pandas deprecations
        p = prim.Prim(x, np.asarray(y, dtype=int), peel_alpha=peel_alpha, mass_min=mass_min)
    out: list[Box] = []
    for number in range(1, boxes + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = p.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory.copy()
        i = choose(traj, min_density)
        box.select(i)
        lim = box.box_lims[i]
        init = p.box_init
        qp = box.p_values[i]
        limits = []
        for col in lim.columns:
            lo, hi = lim[col].iloc[0], lim[col].iloc[1]
            flo, fhi = init[col].iloc[0], init[col].iloc[1]
            if isinstance(lo, set):
                if lo == flo:
                    continue
                limits.append(
                    {
                        "name": col,
                        "values": sorted(map(str, lo)),
                        "all": sorted(map(str, flo)),
                        "qp": [float(v) for v in qp.get(col, [math.nan])] if col in qp else [],
                    }
                )
                continue
            if lo == flo and hi == fhi:
                continue
            limits.append(
                {
                    "name": col,
                    "low": float(lo),
                    "high": float(hi),
                    "full_low": float(flo),
                    "full_high": float(fhi),
                    "qp": [float(v) for v in qp.get(col, [])],
                }
            )
        row = traj.iloc[i]
        if out and float(row["density"]) <= float(np.mean(y)):
            break  # a later box no denser than the whole space: not reported
        out.append(
            Box(
                number,
                i,
                float(row["coverage"]),
                float(row["density"]),
                float(row["mass"]),
                int(row["n"]),
                int(row["k"]),
                limits,
                traj,
            )
        )
        if float(row["density"]) <= float(np.mean(y)):
            break  # no better than the whole space: no further boxes
    return out


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


# ----------------------------------------------------------------------------- outputs
def trajectory_figure(boxes: list[Box]) -> str:
    """Coverage vs density along each box's peeling trajectory, the chosen box marked."""
    from analysis.render.html import fig_to_img, pyplot

    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(boxes), figsize=(6.2 * len(boxes), 4.6), dpi=100, squeeze=False)
    for ax, b in zip(axes[0], boxes, strict=True):
        t = b.trajectory
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=22)
        ax.plot(t["coverage"], t["density"], color="#999", lw=0.6, zorder=0)
        ax.scatter(
            [b.coverage],
            [b.density],
            s=180,
            facecolors="none",
            edgecolors="#d62728",
            lw=2,
            label=f"chosen: coverage {b.coverage:.2f}, density {b.density:.2f}",
        )
        ax.set_xlabel("coverage (share of all cases of interest inside the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        ax.set_title(f"box {b.number}: peeling trajectory")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        bar = fig.colorbar(sc, ax=ax, label="restricted dimensions")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, "PRIM peeling trajectory: coverage vs density")


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


def body_html(info: dict[str, Any], level: int = 2) -> str:
    """Question, cases, boxes and the trajectory figure (also used as a report section)."""
    import pandas as pd

    from analysis.render.html import html_table

    h = f"h{level}"
    n, k = info["cases"], info["holds"]
    share = k / n if n else math.nan
    unc = "; ".join(
        f"{u['name']} {u['low']:.4g} to {u['high']:.4g}"
        if "low" in u
        else f"{u['name']} in {{{', '.join(u['values'])}}}"
        for u in info["uncertainties"]
    )
    dropped = f" {info['dropped']} cases left out (an outcome missing)." if info["dropped"] else ""
    parts = [
        f"<p>Condition: <code>{html.escape(info['when'])}</code>. It holds in <b>{k:,} of "
        f"{n:,} cases</b> ({100 * share:.0f}%) of sweep {html.escape(info['sweep'])} (a case: "
        f"one replication at one point of the uncertainties"
        f"{'; ' + html.escape(', '.join(info['compared_axes'])) + ' compared within it' if info['compared_axes'] else ''}).</p>",
        f'<p class="note">Uncertainties explored: {html.escape(unc)}.{dropped}</p>',
    ]
    if not info["boxes"]:
        what = "every" if k == n else "no"
        parts.append(f"<p>The condition holds in {what} case: there is no box to find.</p>")
        return "\n".join(parts)
    rows = []
    for b in info["boxes"]:
        rule = " and ".join(limit_text(lim) for lim in b["limits"]) or "(the whole space)"
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
    if lim_rows:
        parts.append(
            '<p class="note">Quasi-p: a one-sided binomial test of the restriction (Bryant and '
            "Lempert 2010): the chance the density would rise this much by luck; large values "
            "(above ~0.05) mark a restriction the data hardly support.</p>"
            + html_table(pd.DataFrame(lim_rows))
        )
    boxes = [
        Box(
            b["box"],
            b["trajectory_point"],
            b["coverage"],
            b["density"],
            b["mass"],
            b["cases"],
            b["cases_of_interest"],
            b["limits"],
            pd.DataFrame(b["trajectory"]),
        )
        for b in info["boxes"]
    ]
    parts.append(f"<{h}>Peeling trajectory</{h}>")
    parts.append(
        '<p class="note">Each point is a box PRIM passed through while peeling (and pasting): '
        "smaller boxes are denser but cover fewer cases. The circled box is the one reported.</p>"
    )
    parts.append(trajectory_figure(boxes))
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


def write_outputs(info: dict[str, Any], out: Path) -> list[Path]:
    """FILE (HTML), <stem>.json, <stem>_boxes.csv, <stem>_trajectory.csv."""
    import pandas as pd

    from analysis.engine.writer import write_json
    from analysis.render.html import html_page

    written = []
    j = out.with_suffix(".json")
    write_json(j, info)
    rows = [
        {
            "box": b["box"],
            "where": " and ".join(limit_text(lim) for lim in b["limits"]),
            **{k: b[k] for k in ("coverage", "density", "mass", "cases", "cases_of_interest")},
        }
        for b in info["boxes"]
    ]
    f = out.with_name(f"{out.stem}_boxes.csv")
    pd.DataFrame(
        rows, columns=["box", "where", "coverage", "density", "mass", "cases", "cases_of_interest"]
    ).to_csv(f, index=False)
    written.append(f)
    traj = [
        dict(box=b["box"], step=i, **t)
        for b in info["boxes"]
        for i, t in enumerate(b["trajectory"])
    ]
    f = out.with_name(f"{out.stem}_trajectory.csv")
    pd.DataFrame(traj).to_csv(f, index=False)
    written.append(f)
    title = f"Scenario discovery: {info['sweep']}"
    page = html_page(title, f"<h1>{html.escape(title)}</h1>{body_html(info)}")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return [out, j, *written]


# ----------------------------------------------------------------------------- command line
