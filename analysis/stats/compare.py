"""Paired comparisons of strategies: means with confidence intervals, paired differences
with a paired t-test and a plain-language verdict, and a simple sensitivity ranking.

Everything works on tidy tables (one row per run, or per run and vendor) with pandas
group-bys, so a 2,000-run sweep is summarised in milliseconds.

    summarize(df, by=["variant", "vendor"], metrics=[...]) -> long table of mean and CI
    paired_differences(df, reference="A", metric="conversions") -> one row per pair
    sensitivity(df, params=[...], outcome="conversions") -> one row per parameter

Common random numbers: replication r of every variant ran with the same seed, so the
difference between two variants is taken within a replication (a paired design) and its
spread is far smaller than the spread of either variant alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

#: Vendor metrics of the sweep's `vendors` table, with their labels in reports.
VENDOR_METRICS: dict[str, str] = {
    "conversions": "conversions",
    "win_share": "win share",
    "revenue": "revenue",
    "marketing_spend": "marketing spend",
    "roi": "ROI",
    "cost_per_acquisition": "cost per acquisition",
    "break_even_volume": "break-even volume",
    "originated_share": "marketing-originated share",
}

#: Metrics where less is better (a report's answers pick the lowest).
LOWER_IS_BETTER = frozenset({"marketing_spend", "cost_per_acquisition", "break_even_volume"})

#: Significance level of the verdicts (two-sided, Holm-adjusted over a table's pairs).
ALPHA = 0.05


def t_half_width(sd: np.ndarray, n: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Half-width of the Student-t confidence interval of a mean: t(n-1) * sd / sqrt(n).

    NaN when n < 2 (no spread can be estimated from one value)."""
    sd, n = np.asarray(sd, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf(0.5 + level / 2.0, np.where(n >= 2, n - 1, np.nan))
        return np.where(n >= 2, q * sd / np.sqrt(n), np.nan)


def summarize(
    df: pd.DataFrame,
    by: Sequence[str],
    metrics: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean and t confidence interval of each metric per group, in long format.

    Returns columns: *by, metric, n, mean, sd, half_width, ci_low, ci_high. Undefined
    values (NaN, e.g. ROI without spend) are left out of a group's n.
    """
    by = list(by)
    g = df.groupby(by, sort=False, observed=True)[list(metrics)]
    mean = g.mean().stack(future_stack=True).rename("mean")
    sd = g.std(ddof=1).stack(future_stack=True).rename("sd")
    n = g.count().stack(future_stack=True).rename("n")
    out = pd.concat([n, mean, sd], axis=1).reset_index()
    out = out.rename(columns={f"level_{len(by)}": "metric"})
    out["half_width"] = t_half_width(out["sd"].to_numpy(), out["n"].to_numpy(), level)
    out["ci_low"] = out["mean"] - out["half_width"]
    out["ci_high"] = out["mean"] + out["half_width"]
    return out[[*by, "metric", "n", "mean", "sd", "half_width", "ci_low", "ci_high"]]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values (controls the family-wise error rate)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if not ok.size:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def paired_differences(
    df: pd.DataFrame,
    reference: str,
    metric: str = "conversions",
    group: Sequence[str] = ("vendor",),
    variant: str = "variant",
    pair: str = "replication",
    level: float = 0.95,
    holm_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each variant against the reference variant, paired by replication (same seed).

    `holm_by`: the columns that define a multiple-comparison family (e.g. ["vendor"]:
    Holm's adjustment within each vendor's comparisons of this metric); None pools every
    row of the table into one family.

    For every group (vendor) and variant other than `reference`: the mean of the
    within-replication differences (variant - reference), its t confidence interval, a
    paired t-test (two-sided; scipy's `ttest_rel` gives the same numbers), Holm-adjusted
    p-values over all rows, and a plain-language verdict.

    Also the half-width the same runs would give if they were NOT paired (Welch's interval
    for two independent samples) and `pairing_gain` = 1 - paired / unpaired half-width:
    how much common random numbers narrowed the interval (negative: pairing did not help).

    Returns columns: *group, variant, reference, metric, n_pairs, mean_variant,
    mean_reference, diff, half_width, ci_low, ci_high, t, p_value, p_holm, verdict, sentence,
    unpaired_half_width, pairing_gain.
    """
    group = list(group)
    if reference not in set(df[variant].unique()):
        raise KeyError(reference)
    wide = df.pivot_table(
        index=[*group, pair], columns=variant, values=metric, aggfunc="first", observed=True
    )
    ref = wide[reference]
    others = [c for c in wide.columns if c != reference]
    if not others:
        return pd.DataFrame(
            columns=[
                *group,
                "variant",
                "reference",
                "metric",
                "n_pairs",
                "mean_variant",
                "mean_reference",
                "diff",
                "half_width",
                "ci_low",
                "ci_high",
                "t",
                "p_value",
                "p_holm",
                "verdict",
                "sentence",
                "plain",
                "unpaired_half_width",
                "pairing_gain",
            ]
        )
    diffs = wide[others].sub(ref, axis=0)
    # a pair needs both members; a variant's and the reference's means over those pairs
    both = diffs.notna()
    long = pd.DataFrame(
        {
            "diff": diffs.stack(future_stack=True),
            "v": wide[others].where(both).stack(future_stack=True),
            "r": both.mul(ref, axis=0).where(both).stack(future_stack=True),
        }
    ).dropna()
    long.index = long.index.set_names([*group, pair, "variant"])
    g = long.groupby([*group, "variant"], sort=False, observed=True)
    out = pd.DataFrame(
        {
            "n_pairs": g["diff"].count(),
            "mean_variant": g["v"].mean(),
            "mean_reference": g["r"].mean(),
            "diff": g["diff"].mean(),
            "sd": g["diff"].std(ddof=1),
            "sd_v": g["v"].std(ddof=1),
            "sd_r": g["r"].std(ddof=1),
        }
    ).reset_index()
    n = out["n_pairs"].to_numpy(float)
    sd = out["sd"].to_numpy(float)
    d = out["diff"].to_numpy(float)
    out["half_width"] = t_half_width(sd, n, level)
    out["ci_low"] = d - out["half_width"]
    out["ci_high"] = d + out["half_width"]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = d / (sd / np.sqrt(n))
        # identical pairs (sd 0): no difference at all, or a constant shift that is certain
        t = np.where(sd == 0, np.where(d == 0, 0.0, np.sign(d) * np.inf), t)
    p = np.where(n >= 2, 2.0 * stats.t.sf(np.abs(t), np.maximum(n - 1, 1)), np.nan)
    out["t"] = t
    out["p_value"] = p
    if holm_by:
        out["p_holm"] = np.nan
        for _, g in out.groupby(list(holm_by), sort=False, observed=True):
            out.loc[g.index, "p_holm"] = holm(p[out.index.get_indexer(g.index)])
    else:
        out["p_holm"] = holm(p)
    out.insert(len(group) + 1, "reference", reference)
    out.insert(len(group) + 2, "metric", metric)
    out["verdict"] = [verdict(pv, dv, nv) for pv, dv, nv in zip(out["p_holm"], d, n, strict=True)]
    out["sentence"] = [
        sentence(r.variant, reference, metric, r.diff, r.half_width, r.verdict)
        for r in out.itertuples()
    ]
    out["plain"] = [
        plain_sentence(r.variant, reference, metric, r.diff, r.ci_low, r.ci_high, r.verdict)
        for r in out.itertuples()
    ]
    out["unpaired_half_width"] = welch_half_width(
        out["sd_v"].to_numpy(float), out["sd_r"].to_numpy(float), n, level
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pairing_gain"] = 1.0 - out["half_width"] / out["unpaired_half_width"]
    return out.drop(columns=["sd", "sd_v", "sd_r"])


def welch_half_width(
    sd_a: np.ndarray, sd_b: np.ndarray, n: np.ndarray, level: float = 0.95
) -> np.ndarray:
    """Half-width of Welch's t interval for the difference of two independent means with
    n values each: what an unpaired design would give (NaN below 2 values)."""
    va, vb = np.asarray(sd_a, float) ** 2 / n, np.asarray(sd_b, float) ** 2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
        q = stats.t.ppf(0.5 + level / 2.0, np.where(n >= 2, df, np.nan))
        return np.where(n >= 2, q * np.sqrt(va + vb), np.nan)


def pairing_summary(comparisons: pd.DataFrame, metric: str = "conversions") -> str:
    """One sentence on what pairing did for `metric`'s comparisons (median over pairs)."""
    gain = comparisons.loc[comparisons["metric"] == metric, "pairing_gain"].dropna()
    if gain.empty:
        return f"No paired {metric} comparison to judge pairing by."
    med = float(gain.median())
    if med > 0.05:
        return (
            f"Pairing (common random numbers) narrowed the 95% intervals of the {metric} "
            f"differences by {100 * med:.0f}% (median over {len(gain)} comparisons) against "
            "an unpaired comparison of the same runs."
        )
    return (
        f"Pairing did not narrow the {metric} intervals here (median change "
        f"{100 * med:+.0f}% over {len(gain)} comparisons): the paired runs' outcomes hardly "
        "move together, so read these as independent comparisons."
    )


def verdict(p_holm: float, diff: float, n: float) -> str:
    """'clear' when the paired test rejects no difference at ALPHA (Holm-adjusted),
    'no difference' when every pair was identical, 'too few runs' below 2 pairs,
    otherwise 'unclear' (the difference may be noise)."""
    if n < 2 or math.isnan(p_holm):
        return "too few runs"
    if diff == 0 and p_holm >= 1.0:
        return "no difference"
    return "clear" if p_holm < ALPHA else "unclear"


def _fmt(x: float, metric: str) -> str:
    if math.isnan(x):
        return "?"
    if metric in {"win_share", "originated_share"}:
        return f"{100 * x:.1f} points"
    if metric in {"roi"}:
        return f"{x:.2f}"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}" if abs(x) >= 10 or metric == "conversions" else f"{x:,.2f}"


def sentence(
    variant: str, reference: str, metric: str, diff: float, half: float, verdict_: str
) -> str:
    """The verdict in words, e.g. 'community-first wins 41 +/- 6 more conversions than
    microblog-heavy; clear'."""
    pm = "" if math.isnan(half) else f" +/- {_fmt(half, metric)}"
    if metric == "conversions":
        word = "more" if diff >= 0 else "fewer"
        return (
            f"{variant} wins {_fmt(abs(diff), metric)}{pm} {word} conversions than "
            f"{reference}; {verdict_}"
        )
    label = VENDOR_METRICS.get(metric, metric)
    word = "higher" if diff >= 0 else "lower"
    return (
        f"{variant} has {_fmt(abs(diff), metric)}{pm} {word} {label} than {reference}; {verdict_}"
    )


def _ci(lo: float, hi: float, metric: str) -> str:
    return f"95% CI {_signed(lo, metric)} to {_signed(hi, metric)}"


def _amount(x: float, metric: str) -> str:
    """A non-negative amount: one decimal for small counts, else as _fmt."""
    if metric in ("conversions", "originated") and abs(x) < 10:
        return f"{x:.1f}"
    return _fmt(x, metric)


def _signed(x: float, metric: str) -> str:
    text = _amount(abs(x), metric).removesuffix(" points")
    return ("-" if x < 0 and text.strip("0.,") else "") + text


def plain_sentence(
    a: str, b: str, metric: str, diff: float, lo: float, hi: float, verdict_: str
) -> str:
    """A paired comparison in plain words, the winner named first:

    'A wins 77 more conversions than B (95% CI 11 to 143)' when the difference is clear
    (Holm-adjusted p < ALPHA); 'no clear difference between A and B in conversions (A - B:
    5, 95% CI -20 to 30)' otherwise; 'no difference: ...' when every pair was identical.
    A negative difference is turned round (B wins ... than A), never 'wins 0 fewer'; for
    a metric where less is better (LOWER_IS_BETTER) the one with less is named first
    ('A has 120 lower cost per acquisition than B')."""
    label = VENDOR_METRICS.get(metric, metric)
    if verdict_ == "no difference":
        return f"no difference: {a} and {b} had the same {label} in every replication"
    if verdict_ == "too few runs" or math.isnan(diff):
        return f"{a} vs {b} in {label}: too few paired runs to compare"
    if verdict_ != "clear":
        return (
            f"no clear difference between {a} and {b} in {label} "
            f"({a} - {b}: {_signed(diff, metric)}, {_ci(lo, hi, metric)})"
        )
    lower = metric in LOWER_IS_BETTER
    if (diff > 0) if lower else (diff < 0):  # the better one first
        a, b, diff, lo, hi = b, a, -diff, -hi, -lo
    if lower:  # diff < 0: a has less
        return f"{a} has {_amount(-diff, metric)} lower {label} than {b} ({_ci(lo, hi, metric)})"
    amount = _amount(diff, metric)
    if metric == "conversions":
        return f"{a} wins {amount} more conversions than {b} ({_ci(lo, hi, metric)})"
    return f"{a} has {amount} higher {label} than {b} ({_ci(lo, hi, metric)})"


def replications_for_width(half_width: float, n: int, target: float, level: float = 0.95) -> int:
    """About how many replications (pairs) bring a t interval of `half_width` over `n`
    to `target`: the smallest m with t(m-1) * sd / sqrt(m) <= target, sd from the current
    interval."""
    if n < 2 or not half_width > 0 or not target > 0:
        return n
    sd = half_width * math.sqrt(n) / stats.t.ppf(0.5 + level / 2, n - 1)
    m = max(2, math.ceil((1.96 * sd / target) ** 2))
    while stats.t.ppf(0.5 + level / 2, m - 1) * sd / math.sqrt(m) > target:
        m += max(1, m // 50)
    return m


# ------------------------------------------------------------------ sensitivity
def binned_means(x: pd.Series, y: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Mean of y in quantile bins of x (or per category when x is not numeric).

    Returns columns: bin (label), x (bin centre: mean x), mean, n."""
    frame = pd.DataFrame({"x": x, "y": y}).dropna()
    if pd.api.types.is_numeric_dtype(frame["x"]):
        if frame["x"].nunique() <= bins:
            key = frame["x"]
        else:
            key = pd.qcut(frame["x"], bins, duplicates="drop")
        g = frame.groupby(key, observed=True, sort=True)
        out = pd.DataFrame({"x": g["x"].mean(), "mean": g["y"].mean(), "n": g["y"].count()})
    else:
        g = frame.groupby("x", observed=True, sort=True)
        out = pd.DataFrame({"mean": g["y"].mean(), "n": g["y"].count()})
        out["x"] = out.index.astype(str)
    out.index = out.index.astype(str)
    return out.rename_axis("bin").reset_index()[["bin", "x", "mean", "n"]]


def correlation_ratio(x: pd.Series, y: pd.Series, bins: int = 10) -> float:
    """First-order sensitivity estimated as the correlation ratio eta^2: the share of
    y's variance explained by the means of y in bins of x (x alone, no interactions)."""
    frame = pd.DataFrame({"x": x, "y": y}).dropna()
    if len(frame) < 3 or frame["y"].var(ddof=0) == 0:
        return math.nan
    b = binned_means(frame["x"], frame["y"], bins)
    grand = frame["y"].mean()
    between = float((b["n"] * (b["mean"] - grand) ** 2).sum())
    return between / float(((frame["y"] - grand) ** 2).sum())


def sensitivity(
    df: pd.DataFrame, params: Sequence[str], outcome: str, bins: int = 10
) -> pd.DataFrame:
    """Rank parameters by their effect on `outcome` across the runs of a sampled sweep.

    Two honest, simple measures per parameter: Spearman's rank correlation (direction
    and monotone strength, with its p-value; numbers only) and the correlation ratio
    eta^2 over `bins` quantile bins (first-order index: the share of the outcome's
    variance the parameter explains on its own). Ranked by eta^2.
    """
    rows = []
    for p in params:
        x = df[p]
        numeric = pd.api.types.is_numeric_dtype(x)
        if numeric and x.nunique() > 1:
            rho, pv = stats.spearmanr(x, df[outcome], nan_policy="omit")
        else:
            rho, pv = math.nan, math.nan
        rows.append(
            {
                "parameter": p,
                "outcome": outcome,
                "spearman_rho": float(rho),
                "spearman_p": float(pv),
                "eta_squared": correlation_ratio(x, df[outcome], bins),
            }
        )
    out = pd.DataFrame(rows)
    out = out.sort_values("eta_squared", ascending=False, na_position="last", kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)
