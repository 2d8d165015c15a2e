"""The command line as a user meets it: the baseline with no arguments, simulate with
--out, and one clear line with exit code 2 for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ..conftest import ROOT
from .cli import cli, default_ctrl_c


def test_no_arguments_runs_the_baseline_over_replications_with_intervals() -> None:
    r = cli()
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert (
        "baseline: 5,000 buyers, 4 vendors, 104 weeks (after a 52-week spin-up, discarded), "
        "10 replications" in out
    )
    assert "means ± 95% interval over the replications" in out
    for header in ("conversions", "win share", "revenue", "mkt spend", "ROI", "cost/acq."):
        assert header in out
    for vendor in ("AnalystLed", "SearchHeavy", "SocialSelling", "CommunityFirst"):
        line = next(x for x in out.splitlines() if x.startswith(vendor))
        assert line.count("±") >= 6  # every metric with its interval
    assert "paired replications" in out and "stage funnel" in out


def test_simulate_says_it_shows_one_run() -> None:
    r = cli("simulate", "--weeks", "20", "--buyers", "500", "--seed", "3", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "(one run, seed 3:" in r.stdout


def test_simulate_writes_tidy_parquet_tables(tmp_path: Path) -> None:
    out = tmp_path / "res"
    r = cli(
        "simulate",
        "scenarios/baseline.toml",
        "--seed",
        "7",
        "--weeks",
        "30",
        "--buyers",
        "700",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    t = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    assert list(t["buyers"].columns[:7]) == [
        "buyer_id",
        "account_id",
        "seniority",
        "uses_social",
        "joiner",
        "critic",
        "spectator",
    ]
    assert {
        "journey_id",
        "buyer_id",
        "start_week",
        "end_week",
        "outcome",
        "vendor",
        "deal_value",
        "research_share_at_first_sales_contact",
    } <= set(t["journeys"].columns)
    assert set(t["journeys"]["outcome"]) <= {"purchase", "no_decision", "open"}
    assert {"journey_id", "buyer_id", "week", "stage", "channel", "vendor", "social"} <= set(
        t["touches"].columns
    )
    assert set(t["touches"]["stage"]) == {"early", "middle", "final"}
    assert len(t["buyers"]) == 700 and len(t["weekly"]) == 30
    assert {"conversions_AnalystLed", "early", "middle", "final"} <= set(t["weekly"].columns)
    assert (out / "scenario.toml").read_text() == (ROOT / "scenarios/baseline.toml").read_text()
    assert '"seed": 7' in (out / "run.json").read_text()
    # the touches were streamed to Parquet in week chunks: the same rows as in memory
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios/baseline.toml").with_changes(
        {"weeks": 30, "buyers.count": 700}
    )
    kept = BuyerJourneyModel(sc, seed=7).run().tables()["touches"]
    pd.testing.assert_frame_equal(t["touches"], kept)
    assert pq.ParquetFile(out / "touches.parquet").num_row_groups == 4  # 30 weeks / 8
    assert not list(out.glob(".*.tmp"))


def test_simulate_records_a_scenario_with_a_base_as_run(tmp_path: Path) -> None:
    """A file on the baseline's market (`[scenario] base`) would not load from the output
    folder, so the folder records the scenario as run, base merged in: it validates
    there and loads to the same scenario."""
    from analysis.engine.design import scenario_hash
    from sim.scenario import load_scenario

    out = tmp_path / "res"
    src = ROOT / "scenarios/twitter_vs_forums.toml"
    done = cli("simulate", str(src), "--weeks", "8", "--buyers", "300", "--out", str(out))
    assert done.returncode == 0, done.stderr
    saved = out / "scenario.toml"
    assert "base market merged in" in saved.read_text()
    assert cli("validate", str(saved)).returncode == 0
    ran = load_scenario(src).with_changes({"weeks": 8, "buyers.count": 300})
    assert scenario_hash(load_scenario(saved)) == scenario_hash(ran)


def test_duckdb_reads_the_tables(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "res"
    assert cli("simulate", "--weeks", "10", "--buyers", "300", "--out", str(out)).returncode == 0
    n = duckdb.sql(
        f"SELECT count(*) FROM '{out}/touches.parquet' WHERE stage = 'early'"
    ).fetchall()[0][0]
    assert n > 0


BAD = {
    "malformed TOML": ("[scenario\n", "not valid TOML"),
    "unknown key": ('colour = "red"\n[[vendors]]\nname = "A"\n', "colour: unknown key"),
    "unknown channel": (
        '[[vendors]]\nname = "A"\nchannel_mix = { fax = 1.0 }\n',
        "unknown channel 'fax'",
    ),
    "negative mix": (
        '[[vendors]]\nname = "A"\nchannel_mix = { search = -1.0 }\n',
        "channel_mix.search: must be >= 0",
    ),
    "missing graph file": (
        '[network]\nkind = "file"\npath = "gone.edgelist"\n[[vendors]]\nname = "A"\n',
        "network.path",
    ),
    "zero buyers": ('[buyers]\ncount = 0\n[[vendors]]\nname = "A"\n', "buyers.count: must be >= 1"),
    "non-numeric": ('[[vendors]]\nname = "A"\nprice = "cheap"\n', "price: must be a number"),
}


@pytest.mark.parametrize("command", ["simulate", "validate"])
@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_scenario_gets_one_line_and_exit_2(tmp_path: Path, case: str, command: str) -> None:
    text, fragment = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = cli(command, str(path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert lines[0].startswith(f"error: {path}")
    assert fragment in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "--buyers", "0"),
        ("simulate", "--weeks", "x"),
        ("simulate", "missing.toml"),
        ("frobnicate",),
    ],
)
def test_bad_command_line_gets_one_line_and_exit_2(args) -> None:
    r = cli(*args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_validate_accepts_the_shipped_scenarios() -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.toml"))
    r = cli("validate", *files)  # scenarios, sweeps, studies and targets, each by its kind
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok: ") == len(files)


def test_unwritable_out_folder_is_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    """A write refused by the system (tests run as root, so the refusal is simulated)."""
    import analysis.engine.store
    import run

    out = str(tmp_path / "readonly" / "x")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", out)

    monkeypatch.setattr(analysis.engine.store, "write_run", refuse)
    code = run.main(["simulate", "--weeks", "2", "--buyers", "50", "--out", out, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"error: {out}: permission denied; choose a writable folder"]


def test_an_interrupted_simulate_leaves_no_partial_touch_table(tmp_path: Path) -> None:
    """Ctrl-C during a run: exit 130, one line, and no half-written Parquet in --out."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "res"
    cmd = [sys.executable, str(ROOT / "run.py"), "simulate", "--buyers", "200000", "--quiet"]
    proc = subprocess.Popen([*cmd, "--out", str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_ctrl_c)  # fmt: skip
    deadline = time.time() + 60
    while not list(out.glob(".touches.parquet.*.tmp")) and time.time() < deadline:
        time.sleep(0.05)  # wait until the first week chunk is being written
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].startswith("interrupted")
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    assert not (out / "touches.parquet").exists()


def test_simulate_out_where_no_folder_can_be_made_is_one_line(tmp_path: Path) -> None:
    """--out under /proc (no folder can be made there): one line, exit 2, nothing made."""
    from .faults import assert_one_line_error

    proc = cli("simulate", "--weeks", "2", "--buyers", "50", "--out", "/proc/x/y", "--quiet")
    assert_one_line_error(proc, "/proc/x/y", "cannot be made")
    assert not Path("/proc/x").exists()


def test_a_full_disk_while_simulate_writes_keeps_the_earlier_run_whole(tmp_path: Path) -> None:
    """The disk fills while the tables are written (a file size limit makes it real): one
    line, exit 2, no temporary file, and the earlier run in --out is unchanged."""
    from .faults import assert_nothing_half_written, assert_one_line_error, cli_with_file_limit

    out = tmp_path / "run"
    args = ["simulate", "--weeks", "8", "--buyers", "400", "--seed", "3", "--quiet"]
    first = cli(*args, "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = cli_with_file_limit(4_000, *[a if a != "3" else "4" for a in args], "--out", str(out))
    assert_one_line_error(again, str(out), "cannot write", "earlier run in it is unchanged")
    assert_nothing_half_written(tmp_path, before={f"run/{k}": v for k, v in before.items()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left
