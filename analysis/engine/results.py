"""Reading sweep results: pandas DataFrames and DuckDB queries over a sweep folder.

A sweep writes hive-partitioned Parquet files:

    DIR/sweep=<name>/sweep.json                       the set-up (axes, variants, seeds)
    DIR/sweep=<name>/table=runs/part-<chunk>.parquet  one row per run
    DIR/sweep=<name>/table=vendors/...                one row per run x vendor
    DIR/sweep=<name>/table=source_use/...             one row per run x stage x channel
    DIR/sweep=<name>/table=weekly/...                 (weekly sweeps) run x week
    DIR/sweep=<name>/table=weekly_vendors/...         (weekly sweeps) run x week x vendor

One DuckDB query reads all sweeps of a folder:

    SELECT * FROM read_parquet('DIR/**/table=vendors/*.parquet', hive_partitioning=true)

`load_sweep(DIR)` does the same and returns a DataFrame; `sweep_info(DIR)` reads sweep.json.
Writing, and the bookkeeping of resume, is analysis.engine.experiment's.

A run id stored twice (which the folder lock and the resume checks prevent, but an
older folder or hand-copied files may hold) is counted once: `load_sweep` and `query`
keep the rows of the first part file (by name) that holds the run and drop the others,
and `load_sweep` says so in one line on stderr. A plain `read_parquet` glob does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

#: sort keys that make a loaded table's row order deterministic (any other table: RUN_ORDER
#: then every column, so a new outcome table needs no entry here)
RUN_ORDER = ["variant_id", "replication", "run_id"]
_ORDER = {
    "runs": ["variant_id", "replication", "run_id"],
    "vendors": ["variant_id", "replication", "run_id", "vendor"],
    "source_use": ["variant_id", "replication", "run_id", "stage", "channel"],
    "weekly": ["variant_id", "replication", "run_id", "week"],
    "weekly_vendors": ["variant_id", "replication", "run_id", "week", "vendor"],
}


def sweep_dirs(path: str | Path) -> list[Path]:
    """The sweep folders under `path` (or `path` itself if it is one)."""
    p = Path(path)
    if p.name.startswith("sweep="):
        return [p] if p.is_dir() else []
    return sorted(d for d in p.glob("sweep=*") if d.is_dir())


def table_files(path: str | Path, table: str) -> list[Path]:
    """The complete Parquet parts of one table (temporary files are hidden dot-files)."""
    return sorted(
        f for d in sweep_dirs(path) for f in (d / f"table={table}").glob("part-*.parquet")
    )


def table_names(path: str | Path) -> list[str]:
    """The tables written under `path` (runs, vendors, ... and any outcome table a plan
    added), from the `table=<name>` folders."""
    names = {t.name.removeprefix("table=") for d in sweep_dirs(path) for t in d.glob("table=*")}
    return sorted(n for n in names if n.isidentifier())


def load_sweep(path: str | Path, table: str = "runs", duplicates: str = "note") -> pd.DataFrame:
    """load_sweep(DIR, table="runs") -> DataFrame of that table over every sweep in DIR.

    Args:
        path: a results folder given to `run.py sweep --out`, or one `sweep=<name>` folder.
        table: runs | vendors | source_use | weekly | weekly_vendors, or any table a
            RunPlan added (see analysis.engine.outcomes).
        duplicates: what to do with a run id stored in more than one part file of a
            sweep: "note" keeps the first part's rows and says so on stderr (one line),
            "quiet" does the same silently, "raise" raises DuplicateRuns.

    Returns:
        One row per run (or run x vendor, ...), with a `sweep` column from the folder name,
        sorted by sweep, variant_id, replication, run_id and the table's own keys.

    Raises:
        FileNotFoundError: no such table under `path`.
    """
    files = table_files(path, table)
    if not files:
        hint = " (weekly tables need --weekly or weekly = true)" if "weekly" in table else ""
        raise FileNotFoundError(f"no {table!r} table under {path}{hint}")
    con = _duckdb()
    order = ", ".join(f'"{c}"' for c in ["sweep", *_ORDER.get(table, RUN_ORDER)])

    sql = (
        'SELECT * EXCLUDE ("table") FROM read_parquet(?, hive_partitioning=true, '
        f"union_by_name=true, filename='{_FILE}') ORDER BY {order}"
    )
    df = con.execute(sql, [[str(f) for f in files]]).df()
    df = _drop_duplicates(df, table, path, duplicates)
    cols = ["sweep", *[c for c in df.columns if c != "sweep"]]
    df = df[cols]
    if table not in _ORDER:  # then by every column: the same order however it was chunked
        keys = list(dict.fromkeys(["sweep", *RUN_ORDER, *cols[1:]]))
        df = df.sort_values(keys, kind="stable", ignore_index=True)
    return df


#: the column that names each row's part file while a table is read
_FILE = "__part_file"


class DuplicateRuns(ValueError):
    """A run id is stored in more than one part file of a sweep."""


def _drop_duplicates(df: pd.DataFrame, table: str, path: str | Path, mode: str) -> pd.DataFrame:
    """Keep, for each (sweep, run_id), the rows of the first part file by name."""
    if "run_id" not in df or df.empty:
        return df.drop(columns=[_FILE], errors="ignore")
    part = df[_FILE].map(lambda f: Path(f).name)
    first = part.groupby([df["sweep"], df["run_id"]]).transform("min")
    extra = part != first
    if not extra.any():
        return df.drop(columns=[_FILE])
    runs = df.loc[extra, ["sweep", "run_id"]].drop_duplicates()
    files = sorted(set(df.loc[extra, _FILE]))
    shown = ", ".join(str(Path(f).relative_to(Path(f).parents[2])) for f in files[:3])
    more = f" and {len(files) - 3} more" if len(files) > 3 else ""
    line = (
        f"{path}: {len(runs)} run ids of the {table!r} table are stored more than once (extra copies "
        f"in {shown}{more})"
    )
    if mode == "raise":
        raise DuplicateRuns(line)
    if mode == "note":
        print(f"note: {line}; each run is counted once", file=sys.stderr)
    return df.loc[~extra].drop(columns=[_FILE]).reset_index(drop=True)


def sweep_info(path: str | Path) -> dict[str, Any]:
    """The set-up of one sweep (sweep.json): name, scenario, axes, variants, seeds.

    `path` is a `sweep=<name>` folder or a results folder holding exactly one sweep.
    """
    dirs = sweep_dirs(path)
    if len(dirs) != 1:
        found = ", ".join(d.name for d in dirs) or "none"
        raise FileNotFoundError(
            f"{path}: expected one sweep=<name> folder (found {found}); pass one of them"
        )
    return json.loads((dirs[0] / "sweep.json").read_text(encoding="utf-8"))


def query(sql: str, path: str | Path | None = None):
    """Run DuckDB SQL; with `path`, the tables runs, vendors, ... are views over its files.

    Example: `query("SELECT variant, avg(roi) FROM vendors GROUP BY 1", "results/sweeps")`.
    Returns a DataFrame.
    """
    con = _duckdb()
    if path is not None:
        for table in table_names(path):
            files = table_files(path, table)
            if files:
                listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                # a run id stored twice counts once: the rows of its first part file
                con.execute(
                    f'CREATE VIEW {table} AS SELECT * EXCLUDE ("table", {_FILE}) FROM '
                    f"read_parquet([{listed}], hive_partitioning=true, union_by_name=true, "
                    f"filename='{_FILE}') QUALIFY parse_filename({_FILE}) = "
                    f"min(parse_filename({_FILE})) OVER (PARTITION BY sweep, run_id)"
                )
    return con.execute(sql).df()


def _duckdb():
    import duckdb

    return duckdb.connect()
