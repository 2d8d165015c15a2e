"""Target kinds: an input check (the outcome equals an input by construction) is shown to
be one by the kinds probe, is never fitted, and is reported apart from the emergent
targets; a held-out target (use = "validate") is never fitted and is counted apart.

The probe runs the baseline market shrunk to 1,500 buyers over 52 weeks after a 26-week
spin-up, 4 paired replications of each condition (12 runs, in-process). The verdicts are
those of analysis.studies.calibrate.kinds: a change "moves" a target when its paired
difference's 95% interval excludes 0 and it exceeds a quarter of the target's tolerance.
The emergent targets asserted here moved at this size for each of four scenario seeds
tried (1, 2, 3 and the baseline's); the input checks' paired differences are exactly 0 in
every run.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import pytest

import run
from analysis.engine.scenario_toml import scenario_toml
from analysis.studies.calibrate.fit import FitEvaluator, TargetStats, calibrate
from analysis.studies.calibrate.kinds import (
    budgets_times,
    marketing_off,
    probe_kinds,
)
from analysis.studies.calibrate.report import summary_lines, target_rows, write_outputs
from analysis.studies.calibrate.spec import Setup, free_params
from analysis.studies.calibrate.targets import Targets, load_targets
from sim.scenario import ScenarioError, load_scenario
from tests.builders import targets_file, write
from tests.conftest import ROOT, SCENARIOS

FITTED = targets_file()  # nd: the no-decision share, value 0.6 +- 0.05 (emergent, fitted)
#: an input check missed by some 60 tolerances (social use is ~0.75 in the baseline)
INPUT_CHECK = """
[[targets]]
name = "social_in"
measure = "social_use"
kind = "input_check"
what = "share of buyers in closed journeys who consulted a social source"
value = 0.1
tolerance = 0.01
source = "test"
"""
#: an input check that holds (any ranking margin is above -1)
INPUT_CHECK_HOLDS = """
[[targets]]
name = "idc_in"
measure = "idc_top_three"
stage = "early"
kind = "input_check"
what = "IDC ranking margin, early stage"
at_least = -1.0
tolerance = 0.01
source = "test"
"""
#: a held-out emergent target missed by ~80 tolerances (one-person groups buy ~0.8)
HELD_OUT = """
[[targets]]
name = "c1_held"
measure = "consensus"
group_sizes = [1]
use = "validate"
what = "purchase rate of closed journeys decided by one person"
value = 0.0
tolerance = 0.01
source = "test"
"""


# ----------------------------------------------------------------------------- the probe
#: the shipped targets the probe measures: input checks and emergent ones (not the paired
#: elasticities, whose every run needs a dozen reruns)
PROBED = (
    "idc_top_three_early",
    "idc_top_three_final",
    "social_use_all",
    "journey_weeks_small",
    "no_decision_share",
    "consensus_one",
)


@pytest.fixture(scope="module")
def probed(baseline):
    small = baseline.with_changes({"buyers.count": 1500, "weeks": 52, "market.spin_up_weeks": 26})
    shipped = load_targets(SCENARIOS / "targets.toml")
    targets = Targets(shipped.source, tuple(t for t in shipped.targets if t.name in PROBED))
    return probe_kinds(small, targets, replications=4, workers=1, progress=False).by_name()


@pytest.mark.parametrize(
    "name", ["idc_top_three_early", "idc_top_three_final", "social_use_all", "journey_weeks_small"]
)
def test_an_input_check_is_unchanged_with_marketing_off_and_tripled(probed, name: str) -> None:
    p = probed[name]
    assert p.verdict == "unchanged", (p.off, p.x3)
    # not merely within noise: read back from the inputs, the same value in every pair
    assert p.off.pairs == p.x3.pairs == 4
    assert p.off.mean == 0.0 and p.x3.mean == 0.0 and p.off.half_width == 0.0
    assert p.means["as_is"] == p.means["off"] == p.means["x3"]


@pytest.mark.parametrize(("name", "sign_off"), [("no_decision_share", +1), ("consensus_one", -1)])
def test_an_emergent_target_moves_with_marketing(probed, name: str, sign_off: int) -> None:
    """Without marketing fewer groups find a vendor worth buying: more no decisions, fewer
    one-person purchases; the move is beyond noise and a quarter tolerance."""
    p = probed[name]
    assert p.verdict == "moves", (p.off, p.x3)
    assert p.off.moves(p.target.tolerance)
    assert math.copysign(1, p.off.mean) == sign_off
    assert abs(p.off.mean) > p.off.half_width and abs(p.off.mean) > 0.25 * p.target.tolerance


def test_the_probe_reports_every_target_with_three_means(probed) -> None:
    shipped = load_targets(SCENARIOS / "targets.toml").names()
    assert list(probed) == [n for n in shipped if n in PROBED]  # all, in the file's order
    assert len(probed) == len(PROBED)
    for p in probed.values():
        assert set(p.means) == {"as_is", "off", "x3"}
        assert p.verdict in ("moves", "unchanged", "undetermined")


def test_marketing_off_is_off_and_x3_triples_every_plan(baseline) -> None:
    """Budgets, social selling and referral rewards are 0 with marketing off, plans too
    (no schedule spends again; a data-loop vendor, which needs a budget, becomes static);
    x3 triples every period's spend and social selling."""
    sc = baseline.with_changes(
        {
            "vendors.AnalystLed.policy": "data_loop",
            "vendors.SearchHeavy.schedule": [
                {"week": 10, "weekly_budget": 50000.0},
                {"week": 20, "social_selling": 1000.0},
            ],
        }
    )
    off = sc.with_changes(marketing_off(sc))
    for v in off.vendors:
        assert v.referral_reward == 0 and v.policy == "static"
        for _, spend, social in v.spend_periods():
            assert not any(spend) and social == 0, v.name
    x3 = sc.with_changes(budgets_times(sc))
    for before, after in zip(sc.vendors, x3.vendors, strict=True):
        assert after.referral_reward == before.referral_reward
        for (w0, s0, ss0), (w1, s1, ss1) in zip(
            before.spend_periods(), after.spend_periods(), strict=True
        ):
            assert w0 == w1 and ss1 == pytest.approx(3 * ss0)
            assert s1 == pytest.approx(tuple(3 * x for x in s0))
    assert any(any(s) for v in sc.vendors for _, s, _ in v.spend_periods())  # there was spend


# ----------------------------------------------------------------------------- the objective
def test_the_objective_ignores_input_checks_and_held_out_targets(tmp_path: Path) -> None:
    """Given the same statistics, the objective of a file with a wildly missed input check
    and a wildly missed held-out target equals that of the fitted target alone, and only
    the fitted target is active."""
    alone = load_targets(write(tmp_path, FITTED, "alone.toml"))
    full = load_targets(write(tmp_path, FITTED + INPUT_CHECK + HELD_OUT, "full.toml"))
    stats = {
        "nd": TargetStats(0.7, 0.01, 3, 0.02),  # 2 tolerances off
        "social_in": TargetStats(0.75, 0.01, 3, 0.02),  # 65 tolerances off
        "c1_held": TargetStats(0.8, 0.01, 3, 0.02),  # 80 tolerances off
    }
    one = FitEvaluator(Setup(None, alone, (), 3, 2, 5), None)  # type: ignore[arg-type]
    both = FitEvaluator(Setup(None, full, (), 3, 2, 5), None)  # type: ignore[arg-type]
    assert one.objective({"nd": stats["nd"]}) == pytest.approx(4.0)
    assert both.objective(stats) == pytest.approx(4.0)
    assert both.active == ("nd",)
    # a fitted target that later becomes unmeasurable costs the penalty; the others never do
    gone = {**stats, "social_in": TargetStats(math.nan, math.nan, 0, math.nan, "gone")}
    assert both.objective(gone) == pytest.approx(4.0)


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    """Two tiny calibrations on the same seeds (400 buyers, 30 weeks from a cold start, 2
    replications, 3 points): the fitted target alone, and with an input check missed by ~60 tolerances, an
    input check that holds and a held-out target missed by ~80. The second's report is
    written to its folder."""
    tmp = tmp_path_factory.mktemp("kinds")
    small = load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {"buyers.count": 400, "weeks": 30, "market.spin_up_weeks": 0}
    )
    scen = write(tmp, scenario_toml(small), "small.toml")
    scenario = load_scenario(scen)
    free = free_params(scenario, {"choice.status_quo": (1.0, 3.0)})
    out = {"scenario": scen, "dir": tmp / "full"}
    texts = {"alone": FITTED, "full": FITTED + INPUT_CHECK + INPUT_CHECK_HOLDS + HELD_OUT}
    for key, text in texts.items():
        out[f"{key}_targets"] = write(tmp, text, f"{key}.toml")
        setup = Setup(scenario, load_targets(out[f"{key}_targets"]), free, 2, 2, 3)
        out[key] = calibrate(setup, tmp / key, workers=1, progress=False)
    write_outputs(out["full"], out["dir"])
    return out


def test_a_calibration_fits_the_same_with_or_without_input_checks(fits) -> None:
    alone, full = fits["alone"], fits["full"]
    assert full.active == ("nd",)
    assert [e.values for e in full.history] == [e.values for e in alone.history]
    assert [e.objective for e in full.history] == [e.objective for e in alone.history]
    assert full.validation.objective == alone.validation.objective
    assert len(full.history) == 3 and full.history[0].objective > 0
    # still measured at every point and in the validation: they are reported
    for name in ("social_in", "idc_in", "c1_held"):
        assert full.validation.stats[name].runs == 2
        assert all(e.stats[name].runs == 2 for e in full.history)


def test_a_file_with_nothing_to_fit_is_refused_before_anything_runs(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "baseline.toml")
    path = write(tmp_path, INPUT_CHECK + HELD_OUT)
    setup = Setup(scenario, load_targets(path), free_params(scenario), 2, 2, 3)
    with pytest.raises(ScenarioError) as exc:
        calibrate(setup, tmp_path / "out", workers=1, progress=False)
    assert "no target is fitted" in str(exc.value) and str(exc.value).startswith(str(path))
    assert not (tmp_path / "out" / "table=runs").exists()


# ----------------------------------------------------------------------------- the report
def _section(md: str, title: str) -> str:
    """The text of fit.md's section `title` (up to the next ## heading)."""
    start = md.index(f"## {title}\n")
    end = md.find("\n## ", start + 1)
    return md[start:end]


def test_each_kind_has_its_own_section_and_pass_count(fits) -> None:
    md = (fits["dir"] / "fit.md").read_text()
    fitted = _section(md, "Fitted targets (emergent)")
    held = _section(md, "Held-out validation (use = validate)")
    checks = _section(md, "Reproduced by construction (input checks)")
    assert md.index(fitted) < md.index(held) < md.index(checks)
    where = {
        name: [
            title
            for title, text in (("fitted", fitted), ("held", held), ("checks", checks))
            if f"| {name} |" in text
        ]  # fmt: skip
        for name in ("nd", "c1_held", "social_in", "idc_in")
    }
    assert where == {
        "nd": ["fitted"],
        "c1_held": ["held"],
        "social_in": ["checks"],
        "idc_in": ["checks"],
    }
    assert "1 of 2 measurable input checks hold" in checks
    assert "0 of 1 measurable held-out targets pass" in held
    assert "of 1 measurable fitted targets pass" in fitted
    # an input check's row keeps the report's information: goal, tolerance, mean, verdict
    assert re.search(r"^\| social_in \| 0\.1 \| 0\.01 \| [0-9.]+ ± [0-9.]+ \| .*\| FAIL \|", checks,
                     re.M)  # fmt: skip
    html = (fits["dir"] / "fit.html").read_text()
    titles = ("Fitted targets (emergent)", "Held-out validation", "Reproduced by construction")
    assert html.index(titles[0]) < html.index(titles[1]) < html.index(titles[2])


def test_the_headline_counts_only_the_fitted_emergent_targets(fits) -> None:
    r = fits["full"]
    rows = {row["target"]: row for row in target_rows(r)}
    nd_passes = int(rows["nd"]["verdict"] == "pass")
    everything = sum(row["verdict"] == "pass" for row in rows.values())
    assert everything == nd_passes + 1  # idc_in holds; social_in and c1_held fail
    lines = summary_lines(r)
    assert "(4 targets: 1 fitted, 1 held out, 2 input checks; 1 in the fit)" in lines[1]
    validation = next(x for x in lines if x.startswith("validation: "))
    assert validation.startswith(f"validation: {nd_passes} of 1 measurable fitted targets pass")
    assert any(x.startswith("held-out validation: 0 of 1 ") for x in lines)
    checks = next(x for x in lines if x.startswith("input checks"))
    assert "not counted as validation" in checks and "1 of 2" in checks
    sections = json.loads((fits["dir"] / "fit.json").read_text())["sections"]
    assert sections["fitted"]["names"] == ["nd"] and sections["fitted"]["passed"] == nd_passes
    assert sections["held_out"]["names"] == ["c1_held"] and sections["held_out"]["passed"] == 0
    assert sections["input_check"]["names"] == ["social_in", "idc_in"]
    assert sections["input_check"]["passed"] == 1


def test_the_command_prints_the_three_counts(fits, capsys) -> None:
    """`run.py calibrate` prints the same lines (resuming from the fixture's runs)."""
    args = ["calibrate", str(fits["scenario"]), "--targets", str(fits["full_targets"])]
    args += ["--out", str(fits["dir"]), "--free", "choice.status_quo=1:3"]
    args += ["--replications", "2", "--validation", "2", "--max-evals", "3"]
    assert run.main([*args, "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "ran 0 runs" in printed
    assert re.search(r"^validation: [01] of 1 measurable fitted targets pass", printed, re.M)
    assert "\nheld-out validation: 0 of 1 measurable held-out targets pass" in printed
    assert (
        "\ninput checks (reproduced by construction, not counted as validation): 1 of 2" in printed
    )


# ----------------------------------------------------------------------------- the shipped file
def test_every_shipped_target_states_its_kind_and_the_docs_say_which() -> None:
    """scenarios/targets.toml gives each target kind = ... explicitly, and
    docs/calibration.md's table of kinds lists each target with the same kind."""
    raw = tomllib.loads((SCENARIOS / "targets.toml").read_text(encoding="utf-8"))["targets"]
    missing = [t["name"] for t in raw if "kind" not in t]
    assert not missing, f"targets without kind = ...: {missing}"
    docs = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    for t in load_targets(SCENARIOS / "targets.toml").targets:
        row = re.search(rf"^\| {re.escape(t.name)} \| (emergent|input check)", docs, re.M)
        assert row, f"docs/calibration.md has no kinds row for {t.name}"
        assert row.group(1).replace(" ", "_") == t.kind, t.name
