"""`run.py dataloop` as a user meets it: a tiny study end to end (terminal, HTML, CSV), a
rerun that runs nothing new, and one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..conftest import SCENARIOS
from .cli import cli

STUDY = f"""
[sweep]
name = "tiny"
scenario = "{SCENARIOS / "attribution_null_channel.toml"}"
replications = 2
seed = 3

[sweep.set]
"buyers.count" = 300
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


def test_dataloop_end_to_end_and_rerun(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    first = cli("dataloop", str(study), "--out", str(out), "--workers", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    text = first.stdout
    assert "Focal, means ± 95% interval" in text
    assert "paired differences vs static" in text
    assert "cost of mis-measurement" in text
    assert "true incremental return per channel" in text
    assert "0 already done" in text
    page = (out / "dataloop.html").read_text()
    assert "Channel mix quarter by quarter" in page and "data:image/png;base64," in page
    summary = pd.read_csv(out / "dataloop_summary.csv")
    assert set(summary["variant"]) == {"static", "oracle"} and (summary["n"] == 2).all()
    assert (out / "oracle=Focal" / "cadence=13" / "oracle.json").is_file()

    again = cli("dataloop", str(study), "--out", str(out), "--workers", "2", "--quiet")
    assert again.returncode == 0, again.stderr
    assert "0 runs ran" in again.stdout
    assert pd.read_csv(out / "dataloop_summary.csv").equals(summary)


def test_dataloop_errors_are_one_line(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace('vendor = "Focal"', 'vendor = "Nobody"'))
    r = cli("dataloop", str(study), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no focal vendor" in r.stderr
    study.write_text(STUDY.replace('policy = "oracle"', 'policy = "psychic"'))
    r = cli("dataloop", str(study), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown policy" in r.stderr
    r = cli("dataloop", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not a study file" in r.stderr
    assert not (tmp_path / "o" / "study").exists()
