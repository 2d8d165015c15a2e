"""Results on disk: tidy Parquet tables a researcher can load with pandas or DuckDB.

Every file is written to a temporary name and renamed into place (analysis.engine.writer),
so a crash never leaves a half-written table behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.engine import writer

if TYPE_CHECKING:
    from sim.scenario import Scenario


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write one table atomically (analysis.engine.writer); deterministic bytes."""
    return writer.write_parquet(path, df)


class ParquetStream:
    """A table written in chunks as they come (one Parquet row group each), so a run's
    touches never have to fit in memory at once. Written under a temporary name and
    renamed into place by `close()`: an interrupted run leaves no half-written table.

    Use as the `sink` of `sim.recorders.TouchLog`: `stream(df)` appends a chunk.
    """

    def __init__(self, path: Path, tmp: Path | None = None) -> None:
        self.path = path
        # `tmp` (same file system as `path`): where the table grows until close()
        self.tmp = tmp or path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def __call__(self, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        if self.writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self.writer.write_table(table.cast(self.writer.schema))
        self.rows += len(df)

    def abort(self) -> None:
        """Drop the partial file (the run did not finish): no half-written table is left."""
        writer, self.writer = self.writer, None
        try:
            if writer is not None:
                writer.close()
        except OSError:
            pass  # the file goes anyway (e.g. the disk is full)
        finally:
            self.tmp.unlink(missing_ok=True)

    def close(self, empty: pd.DataFrame | None = None) -> Path | None:
        """Finish the file; with no chunk written, write `empty` (the table's columns)."""
        if self.writer is None:
            return None if empty is None else write_parquet(empty, self.path)
        self.writer.close()
        self.writer = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.tmp, self.path)
        return self.path


def _names_a_base(scenario_file: Path) -> bool:
    """Whether a scenario file takes a base market (`[scenario] base`)."""
    from sim.scenario import read_toml

    head = read_toml(scenario_file, "scenario").get("scenario")
    return isinstance(head, dict) and "base" in head


def write_run(
    tables: dict[str, pd.DataFrame],
    out_dir: Path,
    scenario_file: Path | None,
    seed: int,
    extra: dict | None = None,
    scenario: Scenario | None = None,
) -> list[Path]:
    """Write a run's tables as `<out_dir>/<table>.parquet`, plus the scenario file and seed.

    `scenario.toml` is a copy of the file, or, when the file takes a base market
    (`[scenario] base`) and the loaded `scenario` is given, the scenario as run with its
    base merged in: the folder's copy must load on its own, wherever it is.

    Returns the paths written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_parquet(df, out_dir / f"{name}.parquet") for name, df in tables.items()]
    if scenario_file is not None:
        target = out_dir / "scenario.toml"
        if scenario is not None and _names_a_base(scenario_file):
            from analysis.engine.scenario_toml import scenario_toml

            header = (
                f"The scenario {Path(scenario_file).name} as run (run.py simulate), with its "
                "base market merged in:\nthe original names its base by a path relative to "
                "itself, which would not load from here."
            )
            writer.write_text(target, scenario_toml(scenario, header))
        else:
            writer.write_bytes(target, Path(scenario_file).read_bytes())
        written.append(target)
    meta = {"seed": seed, "scenario": None if scenario_file is None else str(scenario_file)}
    meta.update(extra or {})
    written.append(writer.write_json(out_dir / "run.json", meta, sort_keys=True, default=None))
    return written
