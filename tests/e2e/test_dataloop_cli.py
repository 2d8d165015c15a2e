"""`run.py dataloop` as a user meets it: a tiny study end to end (terminal, HTML, CSV), a
rerun that runs nothing new, one-line errors with exit code 2, and a full disk while the
answer is written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.studies.dataloop.truth import TRUTH_FILE, read_truth
from tests import builders

from ..conftest import SCENARIOS
from .cli import cli
from .faults import (
    assert_nothing_half_written,
    assert_one_line_error,
    cli_with_file_limit,
    snapshot_bytes,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[list[str], Path, object]:
    """The tiny study run once: its command line, its folder and the first run."""
    tmp = tmp_path_factory.mktemp("dataloop")
    f = builders.write(tmp, builders.dataloop_study())
    out = tmp / "out"
    args = ["dataloop", str(f), "--out", str(out), "--workers", "2", "--quiet"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    return args, out, first


def test_dataloop_end_to_end_and_rerun(study) -> None:
    args, out, first = study
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
    truth = read_truth(out / TRUTH_FILE)  # the file the sweep report and the live view read
    assert set(truth["oracle"]) == {"oracle"} and list(truth["week"].unique()) == [13, 26]

    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert "0 runs ran" in again.stdout
    assert pd.read_csv(out / "dataloop_summary.csv").equals(summary)


def test_a_full_disk_while_writing_the_answer_is_one_line(study) -> None:
    """The page does not fit: one line, exit 2, and every answer file whole as before."""
    args, out, _ = study
    before = snapshot_bytes(out)
    limit = (out / "dataloop.html").stat().st_size // 2
    assert limit > max(len(b) for name, b in before.items() if name != "dataloop.html")
    proc = cli_with_file_limit(limit, *args)
    assert_one_line_error(proc, "cannot write", "dataloop.html")
    assert_nothing_half_written(out, before)


def test_dataloop_errors_are_one_line(tmp_path: Path) -> None:
    text = builders.dataloop_study()
    study = builders.write(tmp_path, text.replace('vendor = "Focal"', 'vendor = "Nobody"'))
    r = cli("dataloop", str(study), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no focal vendor" in r.stderr
    builders.write(tmp_path, text.replace('policy = "oracle"', 'policy = "psychic"'))
    r = cli("dataloop", str(study), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown policy" in r.stderr
    r = cli("dataloop", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "this is a scenario file; dataloop takes a sweep file" in r.stderr
    assert not (tmp_path / "o" / "study").exists()


def test_a_sweep_without_a_policy_axis_says_what_a_study_needs(tmp_path: Path) -> None:
    sweep = builders.write(tmp_path, builders.grid_sweep())
    r = cli("dataloop", str(sweep), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "a study varies only the policy and the cadence" in r.stderr
