"""The DATA-loop truth file (analysis/studies/dataloop/truth.py), the one reader the study,
the sweep report and the live view share: what it reads from a written file, its one-line
errors, which oracle and week a lookup takes, and where it finds a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.engine.writer import write_csv
from analysis.studies.dataloop.truth import (
    TRUTH_FILE,
    TruthError,
    cadence_of,
    find_truth,
    pick_oracle,
    read_truth,
    returns_at,
    truth_at,
)


def truth_frame() -> pd.DataFrame:
    """Two oracles (quarterly and yearly) as the study writes them."""
    rows = [
        ("oracle@13", 13, "search", 1.0),
        ("oracle@13", 13, "forums", 2.0),
        ("oracle@13", 26, "search", 3.0),
        ("oracle@13", 26, "forums", 1.5),
        ("oracle@52", 26, "search", 9.0),
        ("oracle@52", 26, "forums", 8.0),
        ("oracle@52", 78, "search", 7.0),
    ]
    df = pd.DataFrame(rows, columns=["oracle", "week", "channel", "true_return"])
    df["low"], df["high"] = df["true_return"] - 0.5, df["true_return"] + 0.5
    return df[["week", "channel", "true_return", "low", "high", "oracle"]]


def written(folder: Path, frame: pd.DataFrame, name: str = TRUTH_FILE) -> Path:
    return write_csv(folder / name, frame)


# ----------------------------------------------------------------------------- reading
def test_a_written_truth_file_reads_back(tmp_path: Path) -> None:
    t = read_truth(written(tmp_path, truth_frame()))
    assert t["week"].dtype == np.int64 and t["channel"].tolist()[:2] == ["search", "forums"]
    assert t["true_return"].tolist() == truth_frame()["true_return"].tolist()
    assert t["oracle"].tolist() == truth_frame()["oracle"].tolist()
    assert t["low"].tolist() == truth_frame()["low"].tolist()


def test_a_minimal_file_gets_an_oracle_and_no_intervals(tmp_path: Path) -> None:
    frame = truth_frame()[["week", "channel", "true_return"]]
    t = read_truth(written(tmp_path, frame))
    assert set(t["oracle"]) == {"oracle"}
    assert t["low"].isna().all() and t["high"].isna().all()


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TruthError) as e:
        read_truth(tmp_path / "none.csv", "--truth")
    assert one_line(e).endswith("none.csv: --truth: no such file")


def test_a_file_without_a_needed_column_is_one_line(tmp_path: Path) -> None:
    f = written(tmp_path, truth_frame().drop(columns=["true_return"]), "other.csv")
    with pytest.raises(TruthError) as e:
        read_truth(f)
    msg = one_line(e)
    assert "lacks column(s) true_return" in msg and f"not a {TRUTH_FILE}" in msg


@pytest.mark.parametrize("content", [b"\xff\xfe\x00week\n\x80\x81", b""])
def test_an_unreadable_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / TRUTH_FILE
    f.write_bytes(content)
    with pytest.raises(TruthError) as e:
        read_truth(f)
    assert ": not read: " in one_line(e)


def test_a_folder_is_not_a_truth_file(tmp_path: Path) -> None:
    with pytest.raises(TruthError) as e:
        read_truth(tmp_path)
    assert ": not read: " in one_line(e)


# ----------------------------------------------------------------------------- lookups
def test_cadence_of_reads_the_label() -> None:
    assert cadence_of("oracle@13") == 13 and cadence_of("a@b@52") == 52
    assert cadence_of("oracle") is None and cadence_of("oracle@x") is None


def test_pick_oracle_takes_the_same_cadence_else_the_first() -> None:
    t = truth_frame()
    assert pick_oracle(t, 52) == "oracle@52"
    assert pick_oracle(t, 13) == "oracle@13"
    assert pick_oracle(t, 26) == "oracle@13"
    assert pick_oracle(t.iloc[:0], 13) is None


def test_truth_at_takes_the_same_cadence_and_the_latest_week_at_or_before() -> None:
    t = truth_frame()
    assert truth_at(t, 13, 30, "search")["true_return"] == 3.0  # week 26, not 13
    assert truth_at(t, 13, 25, "search")["true_return"] == 1.0
    row = truth_at(t, 52, 100, "search")
    assert row["true_return"] == 7.0 and row["oracle"] == "oracle@52" and row["low"] == 6.5
    assert truth_at(t, 52, 100, "forums")["true_return"] == 8.0  # its own latest: week 26
    # the same cadence has nothing that early: another oracle's
    assert truth_at(t, 52, 20, "forums")["true_return"] == 2.0
    assert truth_at(t, 13, 12, "search") is None  # no oracle has a week that early
    assert truth_at(t, 13, 30, "email") is None


def test_returns_at_takes_one_oracles_week_for_every_channel() -> None:
    t = truth_frame()
    assert returns_at(t, 13, 30) == {"search": 3.0, "forums": 1.5}
    # week 78 of the yearly oracle has search only: the adjustment is judged on it alone
    assert returns_at(t, 52, 80) == {"search": 7.0}
    assert returns_at(t, 52, 20) == {"search": 1.0, "forums": 2.0}
    assert returns_at(t, 13, 5) == {}
    assert returns_at(t, None, 26) == {"search": 3.0, "forums": 1.5}  # no cadence: the first


# ----------------------------------------------------------------------------- finding
def test_find_truth_takes_the_given_file_then_the_folder_then_the_one_above(
    tmp_path: Path,
) -> None:
    results = tmp_path / "res" / "sweep=x"
    results.mkdir(parents=True)
    assert find_truth(results) == (None, None)
    above = written(tmp_path / "res", truth_frame())
    t, path = find_truth(results)
    assert path == above and len(t) == len(truth_frame())
    here = written(results, truth_frame().iloc[:2])
    t, path = find_truth(results)
    assert path == here and len(t) == 2
    given = written(tmp_path, truth_frame().iloc[:3], "given.csv")
    t, path = find_truth(results, given)
    assert path == given and len(t) == 3


def test_a_given_file_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    written(tmp_path, truth_frame())  # one in the folder does not stand in for it
    with pytest.raises(TruthError) as e:
        find_truth(tmp_path, tmp_path / "typo.csv")
    assert one_line(e).endswith("typo.csv: --truth: no such file")
