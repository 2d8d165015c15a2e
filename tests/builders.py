"""Study files for tests, built in one place: sweeps, sensitivity, optimisation, DATA-loop
and targets files as users write them (TOML text), small enough to run in seconds.

Each builder returns the file's text; `write(tmp_path, text, name)` puts it on disk. A
test that needs a variant (a bad key, another value) changes the returned text or passes
an argument; it never pastes a study file of its own.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def write(folder: Path, text: str, name: str = "study.toml") -> Path:
    """Write `text` as `folder/name` (UTF-8) and return the path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _set_table(table: str, buyers: int, weeks: int, extra: str = "") -> str:
    return f'[{table}.set]\n"buyers.count" = {buyers}\nweeks = {weeks}\n{extra}'


def grid_sweep(
    name: str = "tiny",
    replications: int = 2,
    buyers: int = 400,
    weeks: int = 26,
    seed: int = 7,
    scenario: str = "baseline.toml",
) -> str:
    """A small grid sweep: CommunityFirst's forums vs analysts mix, crossed with two
    budgets of AnalystLed (4 variants)."""
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / scenario}"
replications = {replications}
seed = {seed}

{_set_table("sweep", buyers, weeks)}
[axes]
mix = {{ vendor = "CommunityFirst", strategies = ["forums", "analysts"] }}
rival_budget = {{ path = "vendors.AnalystLed.weekly_budget", values = [20000.0, 40000.0] }}

[strategies.forums]
channel_mix = {{ topic_communities = 0.7, vendor_content = 0.3 }}

[strategies.analysts]
channel_mix = {{ third_party_experts = 0.7, industry_media = 0.3 }}
"""


def sampled_sweep(
    name: str, replications: int = 1, buyers: int = 400, weeks: int = 26, samples: int = 8
) -> str:
    """A small sampled sweep file: CommunityFirst's forums vs analysts mix, crossed with
    `samples` sampled values of choice.status_quo (the uncertainty)."""
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = {replications}
seed = 9
samples = {samples}

[sweep.set]
"buyers.count" = {buyers}
weeks = {weeks}

[axes]
mix = {{ vendor = "CommunityFirst", strategies = ["forums", "analysts"] }}
status_quo = {{ path = "choice.status_quo", low = 1.0, high = 2.5 }}

[strategies.forums]
channel_mix = {{ topic_communities = 0.7, vendor_content = 0.3 }}

[strategies.analysts]
channel_mix = {{ third_party_experts = 0.7, industry_media = 0.3 }}
"""


def sensitivity_study(
    name: str = "tiny",
    samples: int = 2,
    method: str = "sobol",
    buyers: int = 400,
    weeks: int = 26,
    outcomes: tuple[str, ...] = ("conversions.CommunityFirst", "no_decision_share"),
) -> str:
    """A sensitivity study of two choice parameters (Sobol': samples x 4 runs)."""
    listed = ", ".join(f'"{o}"' for o in outcomes)
    return f"""
[sensitivity]
name = "{name}"
scenario = "{SCENARIOS / "baseline.toml"}"
method = "{method}"
samples = {samples}
seed = 5
resamples = 20
outcomes = [{listed}]

{_set_table("sensitivity", buyers, weeks)}
[parameters]
"choice.status_quo" = [1.2, 2.2]
"choice.referral_weight" = [0.5, 1.5]
"""


def optimize_study(
    name: str = "tiny", trials: int = 6, buyers: int = 400, weeks: int = 26, curve: bool = True
) -> str:
    """An optimisation of Focal's mix over three channels in the one-channel market (only
    search has any effect), with a small budget of runs."""
    curve_line = "curve = [0.0, 1.0, 2.0]\ncurve_replications = 2" if curve else "curve = []"
    return f"""
[optimize]
name = "{name}"
scenario = "{SCENARIOS / "attribution_null_channel.toml"}"
vendor = "Focal"
objective = "conversions"
channels = ["industry_media", "search", "sales_reps"]
budget = 4000.0
trials = {trials}
batch = 3
replications = 2
top_k = 2
top_replications = 2
final_replications = 3
{curve_line}
seed = 11

{_set_table("optimize", buyers, weeks)}"channels.industry_media.credibility" = [0.0, 0.0, 0.0]
"channels.sales_reps.credibility" = [0.0, 0.0, 0.0]
"""


def dataloop_study(name: str = "tiny", replications: int = 2, buyers: int = 300) -> str:
    """A DATA-loop study: Focal static vs oracle in the one-channel market (39 weeks)."""
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / "attribution_null_channel.toml"}"
replications = {replications}
seed = 3

[sweep.set]
"buyers.count" = {buyers}
weeks = 39
"vendors.Focal.channel_mix" = {{ microblogs = 0.5, third_party_experts = 0.5 }}

[axes]
policy = {{ vendor = "Focal", strategies = ["static", "oracle"] }}

[strategies.static]
policy = "static"

[strategies.oracle]
policy = "oracle"
data_loop = {{ baseline_weeks = 13, cadence_weeks = 13, window_weeks = 13 }}
"""


def targets_file(value: float = 0.6, tolerance: float = 0.05) -> str:
    """A targets file with one target: the no-decision share."""
    return f"""
[[targets]]
name = "nd"
measure = "no_decision_share"
what = "share of closed journeys ending in no decision"
value = {value}
tolerance = {tolerance}
source = "test"
"""


def budget_sweep(
    name: str,
    budgets: tuple[float, ...],
    replications: int = 2,
    buyers: int = 200,
    weeks: int = 8,
    seed: int = 11,
) -> str:
    """A one-axis grid sweep of SearchHeavy's weekly budget in the baseline market
    (len(budgets) x replications runs)."""
    values = ", ".join(f"{float(b)!r}" for b in budgets)
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = {replications}
seed = {seed}

{_set_table("sweep", buyers, weeks)}
[axes]
"vendors.SearchHeavy.weekly_budget" = [{values}]
"""


def dataloop_policies_study(name: str = "policies", buyers: int = 300, weeks: int = 26) -> str:
    """A DATA-loop study over ways of measuring, in the baseline market: SearchHeavy as
    Focal, static, on a data loop (forward codes, a point-of-sale survey, its own records)
    or the oracle, each loop adjusting every 13 or 52 weeks (labels "codes@13" ...)."""
    loop = "baseline_weeks = 8, window_weeks = 8"
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = 1
seed = 5

{_set_table("sweep", buyers, weeks, '"vendors.SearchHeavy.name" = "Focal"')}
[axes]
policy = {{ vendor = "Focal", strategies = ["static", "codes", "survey", "reverse", "oracle"] }}
cadence = {{ path = "vendors.Focal.data_loop.cadence_weeks", values = [13, 52] }}

[strategies.static]
policy = "static"

[strategies.codes]
policy = "data_loop"
data_loop = {{ {loop}, tracking = {{ method = "forward", attribution = "last_touch", taggable = ["search", "vendor_content"], capture = 0.8 }} }}

[strategies.survey]
policy = "data_loop"
data_loop = {{ {loop}, tracking = {{ method = "point_of_sale", response_rate = 0.6 }} }}

[strategies.reverse]
policy = "data_loop"
data_loop = {{ {loop}, tracking = {{ method = "reverse", attribution = "last_touch" }} }}

[strategies.oracle]
policy = "oracle"
data_loop = {{ {loop} }}
"""


def sweep_head(body: str = "", name: str = "x", scenario: str = "baseline.toml") -> str:
    """The [sweep] table alone (a name and the base scenario), followed by `body`: the
    start of a sweep file a test completes with the keys or tables it is about."""
    return f"[sweep]\nname = '{name}'\nscenario = '{SCENARIOS / scenario}'\n{body}"


def failing_sweep(name: str = "failing", replications: int = 2, weeks: int = 5) -> str:
    """A grid sweep where one variant cannot run: buyers.count 11 and network.k 11 are
    each valid alone, not together (a graph's k must be below the number of buyers), so
    1 of 4 variants fails in every replication."""
    return f"""
[sweep]
name = "{name}"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = {replications}
seed = 3

[sweep.set]
weeks = {weeks}

[axes]
"buyers.count" = [300, 11]
"network.k" = [4, 11]
"""


def check_targets(impossible: bool = True) -> str:
    """A targets file for `run.py check`: a target any run passes (a band wider than a
    share can be), one no run can pass (a share of 2, unless `impossible` is False) and
    one no run can measure (buying groups of 500 people)."""
    second = "impossible" if impossible else "easy"
    return f"""
[[targets]]
name = "wide"
measure = "no_decision_share"
what = "share of closed journeys ending in no decision"
band = [-1.0, 2.0]
tolerance = 0.01
source = "test"

[[targets]]
name = "{second}"
measure = "no_decision_share"
what = "share of closed journeys ending in no decision"
value = {2.0 if impossible else 0.5}
tolerance = {0.01 if impossible else 1.0}
source = "test"

[[targets]]
name = "huge_groups"
measure = "consensus"
group_sizes = [500]
what = "purchase rate of buying groups of 500 people"
value = 0.3
tolerance = 0.05
source = "test"
"""
