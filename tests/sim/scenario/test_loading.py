"""Loading a scenario file (sim/scenario/loading.py): a file may name a base market,
whose tables it is merged over; bases chain, each relative to its own file, and every
problem is named in the file it comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

from ...conftest import assert_one_line_error
from .common import VENDOR

BASE = """
[scenario]
name = "market"
description = "the base market"
weeks = 30
seed = 5

[buyers]
count = 300
sales_readiness_mean = 0.8

[accounts]
consensus = 0.7
group_size = { small = 2.0, mid_market = 3.0, enterprise = 5.0 }

[organic]
reach = { search = 0.25, industry_media = 0.10 }

[channels.microblogs]
credibility = [0.1, 0.2, 0.3]

[[vendors]]
name = "A"
weekly_budget = 1000.0
channel_mix = { search = 1.0 }

[[vendors]]
name = "B"
"""


def files(folder: Path, **texts: str) -> dict[str, Path]:
    """Write `name = text` as `folder/name.toml` (folders created); their paths."""
    out = {}
    for name, text in texts.items():
        out[name] = folder / f"{name.replace('__', '/')}.toml"
        out[name].parent.mkdir(parents=True, exist_ok=True)
        out[name].write_text(text)
    return out


def test_a_file_merges_its_tables_over_its_base(tmp_path: Path) -> None:
    """Tables merge key by key at any depth; the file's values win."""
    p = files(
        tmp_path,
        base=BASE,
        top='[scenario]\nbase = "base.toml"\nseed = 9\n'
        "[accounts]\ngroup_size = { enterprise = 8.0 }\n"
        "[organic]\nreach = { search = 0.5 }\n",
    )
    sc = load_scenario(p["top"])
    assert sc.accounts is not None
    assert sc.accounts.group_size.as_tuple() == (2.0, 3.0, 8.0)  # a nested table merges
    assert sc.accounts.consensus == 0.7
    assert sc.organic.reach == {"search": 0.5, "industry_media": 0.10}
    assert (sc.buyers.count, sc.buyers.sales_readiness_mean) == (300, 0.8)
    assert (sc.weeks, sc.seed) == (30, 9)  # [scenario] keys merge too
    assert sc.vendor_names() == ("A", "B")  # a file without [[vendors]] keeps the base's
    assert sc.source == str(p["top"]) and sc.base_dir == str(tmp_path)


def test_an_array_replaces_the_bases_whole(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        base=BASE,
        top='[scenario]\nbase = "base.toml"\n[channels.microblogs]\ncredibility = [0.0, 0.0]\n',
    )
    with pytest.raises(ScenarioError) as info:  # not merged by position into [0, 0, 0.3]
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "channels.microblogs.credibility[2]", "")
    p["top"].write_text(
        '[scenario]\nbase = "base.toml"\n[channels.microblogs]\ncredibility = [0.0, 0.0, 0.0]\n'
    )
    assert load_scenario(p["top"]).channels["microblogs"].credibility == (0.0, 0.0, 0.0)


def test_the_files_vendors_replace_the_bases(tmp_path: Path) -> None:
    """Vendors are the strategies a file compares: its [[vendors]] replace the base's
    whole, never merged by position (the file's first vendor does not inherit A's mix)."""
    p = files(tmp_path, base=BASE, top='[scenario]\nbase = "base.toml"\n[[vendors]]\nname = "C"\n')
    sc = load_scenario(p["top"])
    assert sc.vendor_names() == ("C",)
    assert sc.vendors[0].weekly_budget == 0 and sc.vendors[0].channel_mix == {}


def test_name_and_description_are_the_files_own(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        base=BASE,
        named='[scenario]\nbase = "base.toml"\nname = "mine"\n',
        unnamed='[scenario]\nbase = "base.toml"\n',
    )
    named, unnamed = load_scenario(p["named"]), load_scenario(p["unnamed"])
    assert (named.name, named.description) == ("mine", "")
    assert (unnamed.name, unnamed.description) == ("scenario", "")  # the defaults
    assert unnamed.weeks == 30  # the rest of [scenario] is inherited


def test_a_key_written_at_the_top_overrides_the_bases_scenario_table(tmp_path: Path) -> None:
    """[scenario] keys may be written at the top of a file: either way the file wins."""
    p = files(tmp_path, base=BASE, top='weeks = 12\n[scenario]\nbase = "base.toml"\n')
    assert load_scenario(p["top"]).weeks == 12
    flat = 'name = "m"\nweeks = 30\nseed = 5\n[[vendors]]\nname = "A"\n'  # no [scenario]
    p = files(tmp_path, flat=flat, top='[scenario]\nbase = "flat.toml"\nweeks = 12\n')
    sc = load_scenario(p["top"])
    assert (sc.name, sc.weeks, sc.seed) == ("scenario", 12, 5)


def test_a_base_may_have_a_base_each_relative_to_its_own_file(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        market__root=BASE,
        market__mid='[scenario]\nbase = "root.toml"\nweeks = 20\n[buyers]\ncount = 200\n',
        top='[scenario]\nbase = "market/mid.toml"\nname = "top"\n[buyers]\ncount = 100\n',
    )
    sc = load_scenario(p["top"])
    assert (sc.name, sc.weeks, sc.seed, sc.buyers.count) == ("top", 20, 5, 100)
    assert sc.accounts is not None and sc.accounts.consensus == 0.7
    p["top"].write_text(f'[scenario]\nbase = "{p["market__mid"]}"\n')  # absolute
    assert load_scenario(p["top"]).buyers.count == 200


def test_a_graph_file_of_a_base_is_found_next_to_the_base(tmp_path: Path) -> None:
    p = files(
        tmp_path,
        market__root=BASE + '[network]\nkind = "file"\npath = "g.edgelist"\n',
        top='[scenario]\nbase = "market/root.toml"\n',
    )
    (tmp_path / "market" / "g.edgelist").write_text("a b\nb c\n")
    sc = load_scenario(p["top"])
    assert sc.graph_path().resolve() == (tmp_path / "market" / "g.edgelist").resolve()


def test_a_based_file_is_the_same_scenario_as_its_tables_written_in_full(tmp_path: Path) -> None:
    """The merged scenario is validated like any file: written out whole (calibrate's
    calibrated.toml) it loads alone, with the same content hash (sweeps' run ids)."""
    from analysis.engine.design import scenario_hash
    from analysis.engine.scenario_toml import scenario_toml

    p = files(tmp_path, base=BASE, top='[scenario]\nbase = "base.toml"\nseed = 9\n')
    merged = load_scenario(p["top"])
    full = tmp_path / "full.toml"
    full.write_text(scenario_toml(merged))
    assert scenario_hash(load_scenario(full)) == scenario_hash(merged)


def validate_error(path: Path, capsys) -> str:
    """`run.py validate PATH` as a user runs it: exit code 2 and one line on stderr."""
    import run

    code = run.main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_a_missing_base_is_one_line_naming_the_file_and_the_field(tmp_path: Path, capsys) -> None:
    p = files(tmp_path, top='[scenario]\nbase = "nope.toml"\n[[vendors]]\nname = "A"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "scenario.base", "nope.toml' not found")
    assert "relative to this file's folder" in str(info.value)
    assert f"{p['top']}: scenario.base: base file" in validate_error(p["top"], capsys)


def test_bases_in_a_cycle_are_one_line(tmp_path: Path, capsys) -> None:
    p = files(
        tmp_path,
        a='[scenario]\nbase = "b.toml"\n[[vendors]]\nname = "A"\n',
        b='[scenario]\nbase = "a.toml"\n',
        itself='[scenario]\nbase = "itself.toml"\n',
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["a"])
    assert_one_line_error(info.value, p["b"], "scenario.base", "cycle (a.toml -> b.toml -> a.toml)")
    assert "cycle" in validate_error(p["a"], capsys)
    assert "cycle (itself.toml -> itself.toml)" in validate_error(p["itself"], capsys)


def test_more_than_five_stacked_bases_are_refused(tmp_path: Path) -> None:
    texts = {f"f{i}": f'[scenario]\nbase = "f{i + 1}.toml"\n' for i in range(6)}
    p = files(tmp_path, **texts, f6=BASE)
    assert load_scenario(p["f1"]).buyers.count == 300  # five bases: f2 .. f6
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["f0"])
    assert_one_line_error(info.value, p["f5"], "scenario.base", "more than 5 bases stacked")


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("[scenario]\nbase = 3\n", "scenario.base", "must be the path of a scenario file"),
        ('base = "b.toml"\n', "base", "write it in the [scenario] table"),
    ],
)
def test_a_malformed_base_key_is_one_line(tmp_path: Path, text: str, field: str, fragment: str):
    p = files(tmp_path, top=text + '[[vendors]]\nname = "A"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], field, fragment)


def test_an_error_inside_the_base_names_the_base_file(tmp_path: Path, capsys) -> None:
    bad = BASE.replace("consensus = 0.7", "consensus = 1.7")
    p = files(tmp_path, base=bad, top='[scenario]\nbase = "base.toml"\n[buyers]\ncount = 50\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["base"], "accounts.consensus", f"the base of {p['top']}")
    assert validate_error(p["top"], capsys).startswith(f"error: {p['base']}: accounts.consensus")
    p["base"].write_text("[scenario\n")  # not TOML
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["base"], "", "not valid TOML")
    p["base"].write_text(BASE)  # the file's own error stays the file's
    p["top"].write_text('[scenario]\nbase = "base.toml"\n[buyers]\ncount = 0\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p["top"])
    assert_one_line_error(info.value, p["top"], "buyers.count", "must be >= 1")


def test_a_base_is_read_from_files_only() -> None:
    with pytest.raises(ScenarioError, match="scenario.base: a base file is read when"):
        scenario_from_dict({"scenario": {"base": "baseline.toml"}, "vendors": [VENDOR]})
