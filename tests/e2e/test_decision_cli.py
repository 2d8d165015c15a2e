"""`run.py sensitivity` and `run.py discover` as a user meets them: a tiny study end to
end (page, CSVs), run again (nothing new runs), a tiny sweep explored with a condition,
and every bad input one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import SCENARIOS, sampled_sweep
from .cli import cli

STUDY = f"""
[sensitivity]
name = "tiny"
scenario = "{SCENARIOS / "baseline.toml"}"
samples = 2
seed = 5
resamples = 20
outcomes = ["conversions.CommunityFirst", "no_decision_share"]

[sensitivity.set]
"buyers.count" = 400
weeks = 26

[parameters]
"choice.status_quo" = [1.2, 2.2]
"choice.referral_weight" = [0.5, 1.5]
"""

SWEEP = sampled_sweep("tinydisc")


def one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in err, err


def test_sensitivity_end_to_end_and_resume(tmp_path):
    f = tmp_path / "study.toml"
    f.write_text(STUDY)
    out = tmp_path / "out"
    first = cli("sensitivity", str(f), "--out", str(out), "--workers", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    assert "ran 8 runs" in first.stdout
    assert "no_decision_share:" in first.stdout and "S1" in first.stdout
    for name in ("sensitivity.html", "indices.csv", "points.csv", "sensitivity.json"):
        assert (out / name).is_file()
    again = cli("sensitivity", str(f), "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "ran 0 runs (8 were already there)" in again.stdout
    assert (out / "indices.csv").read_text() == (out / "indices.csv").read_text()
    morris = cli("sensitivity", str(f), "--out", str(tmp_path / "m"), "--method", "morris",
                 "--samples", "2", "--quiet")  # fmt: skip
    assert morris.returncode == 0, morris.stderr
    assert "mu*" in morris.stdout and "ran 6 runs" in morris.stdout


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (("samples = 2", "samples = 3"), ("sensitivity.samples", "power of 2", "use 2 or 4")),
        (
            ('"choice.referral_weight" = [0.5, 1.5]', '"choice.referral" = [0.5, 1.5]'),
            ("parameters.choice.referral", "not a number of the scenario"),
        ),  # fmt: skip
        (('"no_decision_share"', '"roi.Nobody"'), ("sensitivity.outcomes", "no vendor 'Nobody'")),
    ],
)
def test_sensitivity_bad_files(tmp_path, change, fragments):
    f = tmp_path / "study.toml"
    f.write_text(STUDY.replace(*change))
    one_line_error(cli("sensitivity", str(f), "--out", str(tmp_path / "o")), str(f), *fragments)


def test_sensitivity_bad_flags(tmp_path):
    f = tmp_path / "study.toml"
    f.write_text(STUDY)
    one_line_error(cli("sensitivity", str(f), "--out", str(tmp_path), "--samples", "6"),
                   "--samples", "power of 2")  # fmt: skip
    one_line_error(cli("sensitivity", str(tmp_path / "none.toml"), "--out", str(tmp_path)),
                   "none.toml")  # fmt: skip
    one_line_error(cli("sensitivity", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path)),
                   "not a sensitivity file")  # fmt: skip


def test_discover_end_to_end(tmp_path: Path):
    f = tmp_path / "sweep.toml"
    f.write_text(SWEEP)
    out = tmp_path / "sweeps"
    swept = cli("sweep", str(f), "--out", str(out), "--quiet")
    assert swept.returncode == 0, swept.stderr
    when = "conversions.CommunityFirst@mix=forums > conversions.CommunityFirst@mix=analysts"
    page = tmp_path / "disc.html"
    found = cli("discover", str(out), "--when", when, "--out", str(page))
    assert found.returncode == 0, found.stderr
    assert "of 8 cases" in found.stdout
    assert page.is_file() and page.with_suffix(".json").is_file()
    # a number on one side; the default page in the sweep folder
    found = cli("discover", str(out), "--when", "no_decision_share@mix=forums > 0.2")
    assert found.returncode == 0, found.stderr
    assert (out / "sweep=tinydisc" / "discovery.html").is_file()

    bad = cli("discover", str(out), "--when", "conversions.CommunityFirst@mix=forums >")
    one_line_error(bad, "--when", "ends where an outcome or a number is expected")
    bad = cli("discover", str(out), "--when", "__import__('os').system('x') > 1")
    one_line_error(bad, "--when", "unexpected")
    bad = cli("discover", str(out), "--when", "conversions.CommunityFirst@mix=tv > 1")
    one_line_error(bad, "--when", "axis 'mix' has no value 'tv'; values: analysts, forums")
    bad = cli("discover", str(out), "--when", "conversions.CommunityFirst@mix=forums > 1",
              "--sweep", "other")  # fmt: skip
    one_line_error(bad, "--sweep 'other' not found")
    one_line_error(cli("discover", str(tmp_path / "nowhere"), "--when", "a > 1"), "no such folder")
    one_line_error(cli("discover", str(tmp_path), "--when", "a > 1"), "no sweep results")
