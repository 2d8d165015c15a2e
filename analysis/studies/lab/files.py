"""The attribution lab's files: its page with a CSV and a Parquet table next to it
(`write_lab`), and its table saved into a sweep results folder for the batch report
(`save_lab`). Every file goes through analysis.engine.writer: written whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.engine.writer import write_csv, write_text, write_with
from analysis.render.html import html_page
from analysis.studies.lab.render import lab_html_section
from analysis.studies.lab.result import LabResult


def write_lab(table: pd.DataFrame, out: Path) -> list[Path]:
    """Write the lab as a self-contained HTML page plus CSV and Parquet next to it."""
    csv = write_csv(out.with_suffix(".csv"), table)
    pq = _write_table(out.with_suffix(".parquet"), table)
    page = html_page(f"Attribution lab: {table.attrs.get('vendor')}", lab_html_section(table))
    return [write_text(out, page), csv, pq]


def save_lab(lab: LabResult, results: Path) -> Path:
    """Save the lab's table into a sweep results folder (`report` includes it), with its
    set-up (vendor, scenario, replications, mean conversions) in every row."""
    frame = lab.table.assign(
        vendor=lab.vendor,
        scenario=lab.scenario,
        reps=lab.reps,
        mean_conversions=lab.table.attrs["mean_conversions"],
    )
    return _write_table(results / "attribution" / f"{lab.scenario}__{lab.vendor}.parquet", frame)


def _write_table(path: Path, table: pd.DataFrame) -> Path:
    """A table as Parquet (pandas' own writer, as the lab always wrote it), without the
    DataFrame's attrs (the set-up is in the columns or the page)."""
    frame = table.copy()
    frame.attrs = {}
    return write_with(path, lambda tmp: frame.to_parquet(tmp, index=False))
