"""The part files of an experiment folder: which runs are complete, what is damaged, and
the repairs a resume makes before it runs anything.

    DIR/table=<table>/part-<chunk id>.parquet   one file per chunk per table
    DIR/table=runs/part-<chunk id>.parquet      one row per run, written last

The `runs` part of a chunk is renamed into place last, so its presence means the chunk is
complete; its Parquet metadata (CHUNK_META) records the chunk's run ids and the row count
of each other table's part. On a rerun, what a killed chunk left is removed
(`remove_incomplete`), every chunk counted as done is checked (`inspect_parts`: readable
parts, the recorded row counts, no run id stored twice) and a damaged or duplicate chunk is
moved to DIR/quarantine/ (`repair`) so that its runs run again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.engine.writer import write_with

if TYPE_CHECKING:
    import pandas as pd

#: the key of a runs part's Parquet metadata: {"runs": [run ids], "rows": {table: rows}}
#: the key of a runs part's Parquet metadata: {"runs": [run ids], "rows": {table: rows}}
CHUNK_META = b"bjs.chunk"
#: files already found sound in this process: (path, size, mtime_ns) (calibration asks
#: again after every point; a file that changes is read again)
_SOUND: set[tuple[str, int, int]] = set()
_RUNS_SEEN: dict[tuple[str, int, int], tuple[list[str], dict | None]] = {}
#: (run id, status) pairs of `runs` parts already read, by (path, size, mtime_ns)
_STATUS_SEEN: dict[tuple[str, int, int], list[tuple[str, str]]] = {}


def part_files(out_dir: Path, table: str) -> list[Path]:
    """The complete Parquet parts of one table (temporary files are hidden dot-files)."""
    return sorted((Path(out_dir) / f"table={table}").glob("part-*.parquet"))


def completed_runs(out_dir: Path) -> dict[str, str]:
    """run_id -> status of every run already written (reads only two columns, and a part
    this process has read before only again when its size or time changed: a study that
    asks after every batch reads each part once)."""
    import pyarrow.parquet as pq

    done: dict[str, str] = {}
    for f in part_files(out_dir, "runs"):
        try:
            sig = _signature(f)
        except OSError:
            continue  # removed meanwhile
        pairs = _STATUS_SEEN.get(sig)
        if pairs is None:
            t = pq.read_table(f, columns=["run_id", "status"])
            pairs = list(
                zip(t.column("run_id").to_pylist(), t.column("status").to_pylist(), strict=True)
            )
            _STATUS_SEEN[sig] = pairs
        done.update(pairs)
    return done


@dataclass(frozen=True)
class Damage:
    """A chunk that cannot be counted as done: its part name, the file at fault, why."""

    part: str
    file: Path
    why: str


def _signature(f: Path) -> tuple[str, int, int]:
    st = f.stat()
    return (str(f), st.st_size, st.st_mtime_ns)


def _read_part(f: Path):
    """A whole Parquet part (every column decoded), or the reason it cannot be read."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(f), ""
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        text = " ".join(str(exc).split())
        return None, f"unreadable ({type(exc).__name__}: {text[:120]})"


def inspect_parts(out_dir: str | Path) -> tuple[list[Damage], list[Damage]]:
    """Check every chunk counted as done (a `runs` part exists).

    Returns (damaged, duplicates). Damaged: a part that does not read as Parquet, a
    `runs` part whose rows are not the chunk's runs, or another table's part that is
    missing or has another row count than the `runs` part recorded. Duplicates: a chunk
    whose run ids an earlier chunk (by part name) already holds.
    """
    out = Path(out_dir)
    damaged: list[Damage] = []
    duplicates: list[Damage] = []
    owner: dict[str, str] = {}
    others = [d for d in sorted(out.glob("table=*")) if d.name != "table=runs"]
    for f in part_files(out, "runs"):
        try:
            sig = _signature(f)
        except OSError:
            continue  # removed meanwhile
        if sig in _RUNS_SEEN:
            ids, meta = _RUNS_SEEN[sig]
        else:
            table, why = _read_part(f)
            if table is None:
                damaged.append(Damage(f.name, f, why))
                continue
            try:
                ids = [str(x) for x in table.column("run_id").to_pylist()]
                raw = (table.schema.metadata or {}).get(CHUNK_META)
                meta = json.loads(raw) if raw else None
            except (KeyError, ValueError) as exc:
                damaged.append(Damage(f.name, f, f"not a runs part ({exc})"))
                continue
            _RUNS_SEEN[sig] = (ids, meta)
        if meta is not None and (len(ids) > len(meta["runs"]) or not set(ids) <= set(meta["runs"])):
            damaged.append(Damage(f.name, f, "its rows are not the runs of its chunk"))
            continue
        bad = _check_siblings(out, f.name, meta, others)
        if bad is not None:
            damaged.append(bad)
            continue
        earlier = {owner[i] for i in ids if i in owner}
        if earlier:
            duplicates.append(
                Damage(f.name, f, f"its runs are already in {', '.join(sorted(earlier))}")
            )
            continue
        owner.update(dict.fromkeys(ids, f.name))
    return damaged, duplicates


def _check_siblings(out: Path, part: str, meta: dict | None, others: list[Path]) -> Damage | None:
    """The other tables' parts of one chunk: present with the recorded row counts (when
    the runs part recorded them) and readable."""
    expected: dict[str, int] = dict(meta["rows"]) if meta is not None else {}
    for tdir in others:
        name = tdir.name.removeprefix("table=")
        f = tdir / part
        if not f.exists():
            if name in expected:
                return Damage(part, f, "missing (the chunk's runs part lists it)")
            continue
        try:
            sig = _signature(f)
        except OSError:
            return Damage(part, f, "missing")
        if sig in _SOUND:
            continue
        table, why = _read_part(f)
        if table is None:
            return Damage(part, f, why)
        if name in expected and len(table) != expected[name]:
            return Damage(part, f, f"has {len(table)} rows, the chunk wrote {expected[name]}")
        _SOUND.add(sig)
    return None


def quarantine(out_dir: str | Path, chunks: list[Damage]) -> Path:
    """Move every file of these chunks (all tables) to DIR/quarantine/<table>/, renamed so
    no reader globbing *.parquet picks them up. Returns the quarantine folder."""
    out = Path(out_dir)
    qdir = out / "quarantine"
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for d in chunks:
        # the runs part first: an interruption then leaves parts that resume removes
        tdirs = [
            out / "table=runs",
            *(t for t in sorted(out.glob("table=*")) if t.name != "table=runs"),
        ]
        for tdir in tdirs:
            f = tdir / d.part
            if f.exists():
                dest = qdir / tdir.name.removeprefix("table=") / f"{d.part}.{stamp}.quarantined"
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
    return qdir


def repair(out_dir: str | Path) -> int:
    """Quarantine damaged and duplicate chunks (one line on stderr names them); their
    runs then count as missing. Returns the number of chunks moved."""
    damaged, duplicates = inspect_parts(out_dir)
    chunks = damaged + duplicates
    if not chunks:
        return 0
    qdir = quarantine(out_dir, chunks)
    shown = "; ".join(f"{_rel(d.file, out_dir)}: {d.why}" for d in chunks[:3])
    more = f"; and {len(chunks) - 3} more" if len(chunks) > 3 else ""
    what = []
    if damaged:
        what.append(f"{len(damaged)} damaged")
    if duplicates:
        what.append(f"{len(duplicates)} duplicate")
    print(
        f"note: {_short(out_dir)}: moved {' and '.join(what)} chunk(s) to {_short(qdir)}/ "
        f"({shown}{more}); their runs run again",
        file=sys.stderr,
    )
    return len(chunks)


def _rel(f: Path, base: str | Path) -> str:
    try:
        return str(Path(f).relative_to(base))
    except ValueError:
        return str(f)


def _short(path: str | Path) -> str:
    from analysis.engine.folders import short

    return short(path)


def remove_incomplete(out_dir: Path) -> int:
    """Delete what a killed chunk left behind: temporary files, and parts of other tables
    whose `runs` part (written last) is missing. Returns the number of files removed."""
    removed = 0
    runs = {f.name for f in (out_dir / "table=runs").glob("part-*.parquet")}
    for tdir in out_dir.glob("table=*"):
        for f in tdir.iterdir():
            stale_tmp = f.name.startswith(".") and f.name.endswith(".tmp")
            orphan = tdir.name != "table=runs" and f.suffix == ".parquet" and f.name not in runs
            if stale_tmp or orphan:
                f.unlink(missing_ok=True)
                removed += 1
    return removed


def drop_failed_runs(out_dir: Path) -> int:
    """Remove the rows of failed runs from the `runs` parts so they run again.

    Failed runs have rows only in `runs`. Returns the number of rows removed.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    removed = 0
    for f in part_files(out_dir, "runs"):
        t = pq.read_table(f)
        keep = pc.equal(t.column("status"), "ok")
        n_bad = len(t) - pc.sum(keep).as_py() if len(t) else 0
        if not n_bad:
            continue
        removed += n_bad
        kept = t.filter(keep)
        if len(kept) == 0:
            _remove_chunk(out_dir, f.name)
        else:
            write_with(f, lambda tmp, kept=kept: pq.write_table(kept, tmp, compression="zstd"))
    return removed


def _remove_chunk(out_dir: Path, part: str) -> None:
    # the runs part goes first, so an interruption leaves orphans, removed on resume
    (out_dir / "table=runs" / part).unlink(missing_ok=True)
    for tdir in out_dir.glob("table=*"):
        (tdir / part).unlink(missing_ok=True)


def load_table(out_dir: str | Path, table: str, run_ids: set[str] | None = None) -> pd.DataFrame:
    """One table of an experiment folder as a DataFrame (empty if it has no parts),
    restricted to `run_ids` when given, sorted by variant_id, replication, run_id."""
    import pandas as pd

    files = part_files(Path(out_dir), table)
    return combine_parts(out_dir, table, {f.name: pd.read_parquet(f) for f in files}, run_ids)


def combine_parts(
    out_dir: str | Path, table: str, parts: dict[str, pd.DataFrame], run_ids: set[str] | None
) -> pd.DataFrame:
    """The rows of a table's parts (part file name -> rows) as one DataFrame: a run id
    stored twice counts once (its first part, with a note), restricted to `run_ids` when
    given, sorted by variant_id, replication, run_id."""
    import pandas as pd

    if not parts:
        return pd.DataFrame()
    frames = [df.assign(__part=name) for name, df in sorted(parts.items())]
    df = pd.concat(frames, ignore_index=True)
    if "run_id" in df and len(df):  # a run id stored twice counts once (its first part)
        extra = df["__part"] != df.groupby("run_id")["__part"].transform("min")
        if extra.any():
            print(
                f"note: {_short(out_dir)}: {df.loc[extra, 'run_id'].nunique()} run ids of "
                f"the {table!r} table are stored more than once (extra copies in "
                f"{', '.join(sorted(set(df.loc[extra, '__part'])))}); each run is counted once",
                file=sys.stderr,
            )
            df = df.loc[~extra]
    df = df.drop(columns="__part")
    if run_ids is not None:
        df = df[df["run_id"].isin(run_ids)]
    keys = [k for k in ("variant_id", "replication", "run_id") if k in df]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
