"""analysis.stats.compare: CIs, paired tests and verdicts against scipy and hand computations."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import compare


def _vendors_frame(seed: int = 3, reps: int = 8) -> pd.DataFrame:
    """Two vendors x three variants x reps; variant B adds ~+40 conversions to vendor X."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        common = rng.normal(0, 30, size=2)  # the replication's shared luck (same seed)
        for v, shift in (("A", 0.0), ("B", 40.0), ("C", 1.0)):
            for i, vendor in enumerate(("X", "Y")):
                noise = rng.normal(0, 5)
                rows.append(
                    {
                        "variant": v,
                        "replication": r,
                        "vendor": vendor,
                        "conversions": 500 + common[i] + (shift if vendor == "X" else 0) + noise,
                        "roi": 1.0 + 0.01 * noise,
                    }
                )
    return pd.DataFrame(rows)


def test_summarize_matches_t_interval():
    df = _vendors_frame()
    s = compare.summarize(df, ["variant", "vendor"], ["conversions", "roi"])
    row = s[(s.variant == "B") & (s.vendor == "X") & (s.metric == "conversions")].iloc[0]
    x = df[(df.variant == "B") & (df.vendor == "X")]["conversions"].to_numpy()
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert row["n"] == len(x)
    assert row["mean"] == pytest.approx(x.mean())
    assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)


def test_summarize_drops_nan_from_n():
    df = pd.DataFrame({"g": ["a"] * 3, "m": [1.0, np.nan, 3.0]})
    s = compare.summarize(df, ["g"], ["m"])
    assert s["n"].iloc[0] == 2 and s["mean"].iloc[0] == pytest.approx(2.0)


def test_paired_differences_match_scipy_ttest_rel():
    df = _vendors_frame()
    out = compare.paired_differences(df, reference="A", metric="conversions")
    assert set(out.variant) == {"B", "C"} and set(out.vendor) == {"X", "Y"}
    for r in out.itertuples():
        a = df[(df.variant == "A") & (df.vendor == r.vendor)].sort_values("replication")
        b = df[(df.variant == r.variant) & (df.vendor == r.vendor)].sort_values("replication")
        res = stats.ttest_rel(b.conversions.to_numpy(), a.conversions.to_numpy())
        d = b.conversions.to_numpy() - a.conversions.to_numpy()
        assert r.diff == pytest.approx(d.mean())
        assert r.p_value == pytest.approx(res.pvalue)
        assert r.t == pytest.approx(res.statistic)
        lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
    bx = out[(out.variant == "B") & (out.vendor == "X")].iloc[0]
    assert bx.verdict == "clear"
    assert bx.ci_low < 40 < bx.ci_high
    assert re.fullmatch(r"B wins \d+ \+/- \d+ more conversions than A; clear", bx.sentence)
    # pairing: B's effect (+40) is detected although the between-replication spread is 30
    assert bx.half_width < 10
    by = out[(out.variant == "B") & (out.vendor == "Y")].iloc[0]
    assert by.verdict == "unclear"


def test_identical_runs_mean_no_difference_and_unknown_reference():
    df = pd.DataFrame(
        {
            "variant": ["A", "A", "B", "B"],
            "replication": [0, 1, 0, 1],
            "vendor": ["X"] * 4,
            "conversions": [5, 7, 5, 7],
        }
    )
    out = compare.paired_differences(df, "A")
    assert out.verdict.iloc[0] == "no difference" and out.p_value.iloc[0] == 1.0
    with pytest.raises(KeyError):
        compare.paired_differences(df, "Z")


def test_sentence_words():
    s = compare.sentence("community-first", "microblog-heavy", "conversions", 41.2, 6.1, "clear")
    assert s == "community-first wins 41 +/- 6 more conversions than microblog-heavy; clear"
    s = compare.sentence("a", "b", "conversions", -3, math.nan, "too few runs")
    assert s == "a wins 3 fewer conversions than b; too few runs"
    assert "lower ROI" in compare.sentence("a", "b", "roi", -0.2, 0.1, "clear")


def test_holm():
    np.testing.assert_allclose(compare.holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


def test_sensitivity_ranks_the_parameter_that_matters():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n)})
    df["mix"] = rng.choice(["p", "q"], n)
    df["y"] = 10 * df["a"] + rng.normal(0, 1, n)
    s = compare.sensitivity(df, ["a", "b", "mix"], "y")
    assert s.parameter.iloc[0] == "a" and s["rank"].iloc[0] == 1
    assert s.eta_squared.iloc[0] > 0.8 and s.spearman_rho.iloc[0] > 0.9
    assert s.set_index("parameter").loc["b", "eta_squared"] < 0.1
    assert math.isnan(s.set_index("parameter").loc["mix", "spearman_rho"])
    bm = compare.binned_means(df["a"], df["y"], bins=5)
    assert len(bm) == 5 and bm["mean"].is_monotonic_increasing


def _pairs(ref: np.ndarray, var: np.ndarray) -> pd.DataFrame:
    n = len(ref)
    return pd.DataFrame(
        {
            "vendor": ["X"] * (2 * n),
            "variant": ["ref"] * n + ["var"] * n,
            "replication": list(range(n)) * 2,
            "conversions": np.concatenate([ref, var]),
        }
    )


def test_unpaired_width_is_welchs_interval_and_pairing_gain_follows():
    """Runs that move together (shared seed): pairing narrows the interval a lot; the
    unpaired width is Welch's interval of scipy on the same values."""
    rng = np.random.default_rng(4)
    ref = rng.normal(500, 60, 12)
    var = ref + 10 + rng.normal(0, 5, 12)
    row = compare.paired_differences(_pairs(ref, var), "ref").iloc[0]
    welch = stats.ttest_ind(var, ref, equal_var=False).confidence_interval(0.95)
    assert row.unpaired_half_width == pytest.approx((welch.high - welch.low) / 2)
    assert row.pairing_gain == pytest.approx(1 - row.half_width / row.unpaired_half_width)
    assert row.pairing_gain > 0.8
    assert "narrowed" in compare.pairing_summary(
        compare.paired_differences(_pairs(ref, var), "ref")
    )


def test_pairing_is_not_claimed_where_it_does_not_help():
    rng = np.random.default_rng(5)
    ref, var = rng.normal(500, 60, 12), rng.normal(520, 60, 12)  # independent runs
    table = compare.paired_differences(_pairs(ref, var), "ref")
    assert table.iloc[0].pairing_gain < 0  # this draw: pairing widened the interval
    assert "did not narrow" in compare.pairing_summary(table)
