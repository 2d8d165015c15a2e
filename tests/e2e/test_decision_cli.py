"""`run.py sensitivity` and `run.py discover` as a user meets them: a tiny study end to
end (page, CSVs), run again (nothing new runs), a tiny sweep explored with a condition,
and every bad input one line with exit code 2: a file of another kind, a condition nested
too deep, a damaged sweep folder (named, with its repair), a disk that fills while the
answers are written (nothing half-written)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests import builders

from .cli import cli
from .faults import (
    assert_nothing_half_written,
    assert_one_line_error,
    cli_with_file_limit,
    snapshot_bytes,
)

STUDY = builders.sensitivity_study("tiny")
SWEEP = builders.sampled_sweep("tinydisc")
WHEN = "conversions.CommunityFirst@mix=forums > conversions.CommunityFirst@mix=analysts"


def one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in err, err


def test_sensitivity_end_to_end_and_resume(tmp_path):
    f = builders.write(tmp_path, STUDY)
    out = tmp_path / "out"
    first = cli("sensitivity", str(f), "--out", str(out), "--workers", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    assert "ran 8 runs" in first.stdout
    assert "no_decision_share:" in first.stdout and "S1" in first.stdout
    for name in ("sensitivity.html", "indices.csv", "points.csv", "sensitivity.json"):
        assert (out / name).is_file()
    indices = (out / "indices.csv").read_text()
    again = cli("sensitivity", str(f), "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "ran 0 runs (8 were already there)" in again.stdout
    assert (out / "indices.csv").read_text() == indices
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
    f = builders.write(tmp_path, STUDY.replace(*change))
    one_line_error(cli("sensitivity", str(f), "--out", str(tmp_path / "o")), str(f), *fragments)


def test_sensitivity_bad_flags(tmp_path):
    f = builders.write(tmp_path, STUDY)
    one_line_error(cli("sensitivity", str(f), "--out", str(tmp_path), "--samples", "6"),
                   "--samples", "power of 2")  # fmt: skip
    one_line_error(cli("sensitivity", str(tmp_path / "none.toml"), "--out", str(tmp_path)),
                   "none.toml")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (builders.grid_sweep("other"), "a sweep file"),
        (
            f'[scenario]\nname = "m"\nbase = "{builders.SCENARIOS / "baseline.toml"}"\n',
            "a scenario file",
        ),  # fmt: skip
    ],
)
def test_sensitivity_names_a_file_of_another_kind(tmp_path, text, kind):
    f = builders.write(tmp_path, text, "other.toml")
    proc = cli("sensitivity", str(f), "--out", str(tmp_path / "o"))
    one_line_error(proc, str(f), f"this is {kind}; sensitivity takes a sensitivity file")
    assert not (tmp_path / "o").exists()


def test_sensitivity_on_a_full_disk_leaves_its_answers_whole(tmp_path):
    """The answers written again where no file may grow to the page's size: one line
    naming the page, exit 2, the earlier page whole and no temporary file."""
    f = builders.write(tmp_path, STUDY)
    out = tmp_path / "out"
    first = cli("sensitivity", str(f), "--out", str(out), "--workers", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    page = out / "sensitivity.html"
    before = {"sensitivity.html": page.read_bytes()}
    limit = len(before["sensitivity.html"]) - 1
    assert all(len(v) < limit for k, v in snapshot_bytes(out).items() if k != page.name)
    proc = cli_with_file_limit(limit, "sensitivity", str(f), "--out", str(out), "--quiet")
    assert_one_line_error(proc, "sensitivity.html", "cannot write", "nothing half-written")
    assert_nothing_half_written(out, before)


# ----------------------------------------------------------------------------- discover
@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """The --out folder of a tiny sampled sweep (run once for this module's tests; a test
    that changes it works on a copy)."""
    work = tmp_path_factory.mktemp("disc")
    f = builders.write(work, SWEEP, "sweep.toml")
    out = work / "sweeps"
    swept = cli("sweep", str(f), "--out", str(out), "--quiet")
    assert swept.returncode == 0, swept.stderr
    return out


def copy_of(swept: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(swept, tmp_path / "sweeps"))


def test_discover_end_to_end(swept: Path, tmp_path: Path):
    out = copy_of(swept, tmp_path)
    page = tmp_path / "disc.html"
    found = cli("discover", str(out), "--when", WHEN, "--out", str(page))
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


def test_discover_makes_the_folder_of_its_page(swept: Path, tmp_path: Path):
    """--out in a folder that does not exist yet: the folder is made (checked before any
    work: where no folder can be made, one line and nothing runs)."""
    page = tmp_path / "new" / "deeper" / "disc.html"
    found = cli("discover", str(swept), "--when", WHEN, "--out", str(page))
    assert found.returncode == 0, found.stderr
    assert page.is_file() and page.with_suffix(".json").is_file()
    (tmp_path / "file").write_text("x")
    bad = cli("discover", str(swept), "--when", WHEN, "--out", str(tmp_path / "file" / "d.html"))
    one_line_error(bad, "--out", "is a file, so nothing can be written below it")


def test_discover_refuses_a_condition_nested_too_deep(swept: Path):
    when = "(" * 480 + "no_decision_share@mix=forums > 0.2" + ")" * 480
    proc = cli("discover", str(swept), "--when", when)
    one_line_error(proc, "--when", "nested more than 50 levels")


def test_discover_names_a_damaged_part_and_a_rerun_repairs_it(swept: Path, tmp_path: Path):
    out = copy_of(swept, tmp_path)
    folder = out / "sweep=tinydisc"
    part = sorted((folder / "table=runs").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:64])  # cut short: not Parquet any more
    source = json.loads((folder / "sweep.json").read_text())["source"]
    bad = cli("discover", str(out), "--when", WHEN)
    one_line_error(bad, str(part), "cannot be read", "damaged",
                   f"run `run.py sweep {source} --out {out}` again")  # fmt: skip
    # the advice works: the sweep moves the part to quarantine/ and runs its runs again
    rerun = cli("sweep", source, "--out", str(out), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert list((folder / "quarantine").rglob("*.quarantined"))
    found = cli("discover", str(out), "--when", WHEN)
    assert found.returncode == 0, found.stderr
    assert "of 8 cases" in found.stdout


def test_discover_on_a_full_disk_leaves_its_answers_whole(swept: Path, tmp_path: Path):
    """The page written again where no file may grow to its size: one line naming it,
    exit 2, the earlier page whole and no temporary file."""
    out = copy_of(swept, tmp_path)
    page = out / "disc.html"
    first = cli("discover", str(out), "--when", WHEN, "--out", str(page))
    assert first.returncode == 0, first.stderr
    before = {page.name: page.read_bytes()}
    limit = len(before[page.name]) - 1
    assert all(len(v) < limit for k, v in snapshot_bytes(out).items() if k != page.name)
    proc = cli_with_file_limit(limit, "discover", str(out), "--when", WHEN, "--out", str(page))
    assert_one_line_error(proc, "disc.html", "cannot write", "nothing half-written")
    assert_nothing_half_written(out, before)
