"""The DATA loop (sim/policies.py DataLoopPolicy, docs/model.md §5a): the rules of the
loop on the spend table, the Adjust step itself, the known answer (last-touch data
chases the channel that collects last touches) and the scenario's one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from sim.channels import CHANNEL_NAMES
from sim.model import BuyerJourneyModel
from sim.policies import DataLoopPolicy, adjusted_shares
from sim.scenario import ScenarioError, load_scenario

from ..conftest import assert_one_line_error

VENDOR = "SearchHeavy"
MEDIA, SALES = CHANNEL_NAMES.index("industry_media"), CHANNEL_NAMES.index("sales_reps")


def loop(market, method="forward", attribution="last_touch", **loop_fields):
    """VENDOR runs the DATA loop on an industry_media / sales_reps mix."""
    fields = {"baseline_weeks": 13, "cadence_weeks": 13, "window_weeks": 13}
    fields |= loop_fields
    fields["tracking"] = {
        "method": method,
        "attribution": attribution,
        "taggable": ["industry_media", "sales_reps"],
    }
    return market.with_changes(
        {
            f"vendors.{VENDOR}.policy": "data_loop",
            f"vendors.{VENDOR}.channel_mix": {"industry_media": 0.5, "sales_reps": 0.5},
            f"vendors.{VENDOR}.data_loop": fields,
        }
    )


@pytest.fixture(scope="module")
def market(baseline):
    return baseline.with_changes({"buyers.count": 2000, "weeks": 78})


def test_the_loop_keeps_baseline_cadence_max_shift_exploration_and_budget(market) -> None:
    sc = loop(
        market,
        baseline_weeks=20,
        cadence_weeks=9,
        max_shift=0.15,
        exploration=0.1,
        attribution="linear",
    )
    spec = next(v for v in sc.vendors if v.name == VENDOR)
    for seed in (1, 2):
        model = BuyerJourneyModel(sc, seed=seed, record_touches=False).run()
        t = model.tables()
        spend = t["spend"].query("vendor == @VENDOR and line != 'social_selling'")
        weekly = spend.pivot(index="week", columns="line", values="spend")[list(CHANNEL_NAMES)]
        np.testing.assert_allclose(weekly.sum(axis=1), spec.weekly_budget)  # the budget holds
        shares = weekly.to_numpy() / spec.weekly_budget
        changed = np.flatnonzero(np.abs(np.diff(shares, axis=0)).sum(1) > 1e-12) + 1
        assert changed.size >= 2
        assert changed.min() >= 20 and all((w - 20) % 9 == 0 for w in changed)
        moved = np.abs(np.diff(shares, axis=0)).sum(1) / 2
        assert moved.max() <= 0.15 + 1e-12
        assert shares[:, [MEDIA, SALES]].min() >= 0.1 - 1e-12
        others = np.delete(shares, [MEDIA, SALES], axis=1)
        assert (others == 0).all()  # only the initial mix's channels take part
        beliefs = t["beliefs"]
        assert set(beliefs["week"]) == {w for w in range(20, 78, 9)}
        assert set(beliefs["channel"]) == {"industry_media", "sales_reps"}
        for w in changed:
            after = beliefs.query("week == @w").set_index("channel")["share_after"]
            assert after["sales_reps"] == pytest.approx(shares[w, SALES])


def test_the_adjust_step_moves_from_the_lowest_to_the_highest() -> None:
    shares = np.array([0.4, 0.3, 0.2, 0.1, 0, 0, 0, 0, 0])
    mix = np.arange(4)
    believed = np.array([1.0, 3.0, 0.5, 2.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    got = np.zeros(9)
    out = adjusted_shares(shares, believed, got, mix, 0.25, 0.05)
    # from channel 2 (lowest) down to 0.05, then 0.1 from channel 0, all to channel 1
    np.testing.assert_allclose(out[:4], [0.3, 0.55, 0.05, 0.1])
    assert out.sum() == pytest.approx(1.0)
    # all alike (nothing observed): nothing moves
    same = adjusted_shares(shares, np.zeros(9), got, mix, 0.25, 0.05)
    np.testing.assert_array_equal(same, shares)


def test_last_touch_chases_the_channel_that_collects_last_touches(market) -> None:
    """Industry media does the early work; the sales team's quotes come last. Vendors
    measuring by last touch (forward codes, reverse records) move the budget to
    sales_reps; the perfect first-touch vendor moves it to industry_media; and the
    last-touch vendors win fewer customers (the true effect: media matters more)."""
    won = {"last": 0, "first": 0}
    for seed in (1, 2, 3):
        final = {}
        for name, method, attribution in (
            ("forward", "forward", "last_touch"),
            ("reverse", "reverse", "last_touch"),
            ("first", "perfect", "first_touch"),
        ):
            model = BuyerJourneyModel(loop(market, method, attribution), seed=seed)
            model.run()
            v = model.vendor(VENDOR)
            final[name] = v.policy.shares
            key = "first" if name == "first" else "last"
            won[key] += model.conversions[v.index] if name != "reverse" else 0
        for name in ("forward", "reverse"):
            # from an even split, clearly toward the channel that collects last touches
            assert final[name][SALES] >= 0.65
            assert final[name][SALES] > final["first"][SALES] + 0.3
    assert won["last"] < won["first"]


def test_a_static_vendor_gets_no_data_loop(small) -> None:
    model = BuyerJourneyModel(small, seed=1, record_touches=False)
    assert not any(isinstance(v.policy, DataLoopPolicy) for v in model.vendors)


BAD = [
    ('policy = "psychic"', "policy", "must be 'static', 'data_loop' or 'oracle'"),
    (
        'policy = "data_loop"\n[vendors.data_loop]\nmax_shift = 1.5',
        "data_loop.max_shift",
        "must be <= 1",
    ),
    (
        'policy = "data_loop"\n[vendors.data_loop]\nexploration = 0.6',
        "data_loop.exploration",
        "more than the whole budget",
    ),
    (
        'policy = "data_loop"\n[vendors.data_loop]\ncadence_weeks = 0',
        "data_loop.cadence_weeks",
        "must be >= 1",
    ),
    (
        'policy = "data_loop"\n[vendors.data_loop.tracking]\nmethod = "survey"',
        "data_loop.tracking.method",
        "must be 'forward', 'point_of_sale', 'reverse' or 'perfect'",
    ),
    (
        'policy = "data_loop"\n[vendors.data_loop.tracking]\ntaggable = ["tv"]',
        "data_loop.tracking.taggable",
        "unknown channel 'tv'",
    ),
    (
        'policy = "data_loop"\n[vendors.data_loop.tracking]\nattribution = "u_shaped"',
        "data_loop.tracking.attribution",
        "must be 'last_touch', 'first_touch' or 'linear'",
    ),
    (
        'policy = "data_loop"\n[[vendors.schedule]]\nweek = 5\nweekly_budget = 10.0',
        "schedule",
        "adjusts its own plan",
    ),
]


@pytest.mark.parametrize(("extra", "field", "fragment"), BAD)
def test_bad_data_loop_values_are_one_line_errors(tmp_path, extra, field, fragment) -> None:
    path = tmp_path / "dl.toml"
    path.write_text(
        '[scenario]\nweeks = 10\n[[vendors]]\nname = "M"\nweekly_budget = 100.0\n'
        f"channel_mix = {{ search = 0.5, industry_media = 0.5 }}\n{extra}\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert_one_line_error(err.value, path, f"vendors[0:M].{field}", fragment)


def test_counter_uniforms_are_uniform_and_independent_across_weeks_and_lanes() -> None:
    """The tracking's capture uniforms (a fixed function of key, week, row, lane): mean
    1/2 and variance 1/12 within 4 standard errors over 10^6 rows; no value shared
    between weeks or lanes; the same inputs give the same numbers."""
    from sim.arrays import counter_uniforms

    rows = np.arange(1_000_000)
    u = counter_uniforms(99, 3, rows)
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 4 * np.sqrt(1 / 180 / u.size)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / np.sqrt(u.size)
    for other in (counter_uniforms(99, 4, rows), counter_uniforms(99, 3, rows, lane=1)):
        assert not np.isin(u[:10_000], other).any()
        assert abs(np.corrcoef(u, other)[0, 1]) < 4 / np.sqrt(u.size)
    np.testing.assert_array_equal(u[[5, 7]], counter_uniforms(99, 3, np.array([5, 7])))


def test_a_partial_data_loop_table_then_one_of_its_fields_can_be_set(baseline) -> None:
    """A sweep strategy gives a data_loop table in part; a cadence axis then sets one of
    its fields: the table's defaults are filled in first, not refused as unknown."""
    sc = baseline.with_changes(
        {
            f"vendors.{VENDOR}.policy": "data_loop",
            f"vendors.{VENDOR}.data_loop": {"tracking": {"method": "forward"}},
            f"vendors.{VENDOR}.data_loop.cadence_weeks": 52,
        }
    )
    loop = next(v for v in sc.vendors if v.name == VENDOR).data_loop
    assert loop.cadence_weeks == 52 and loop.tracking.method == "forward"
