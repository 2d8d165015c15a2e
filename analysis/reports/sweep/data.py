"""A sweep folder read for the batch report: its tables (ok runs only) and its set-up.

    d = load(DIR)                   # ScenarioError (one line) for anything unusable
    d = filter_vendor(d, "Focal")   # --vendor: every table restricted to one vendor

`load` refuses a folder the report cannot stand on, each time in one line that says what
to do: no such folder, no sweep results, several sweeps and none picked, a damaged part
file (`check_sound`), runs missing from an interrupted sweep (`check_complete`), a broken
sweep.json, every run failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.engine.parts import inspect_parts
from analysis.engine.results import load_sweep, sweep_dirs, sweep_info
from sim.scenario import ScenarioError

#: at most this many variants get bars, lines, panels and pairwise comparisons in the page
MAX_VARIANTS_SHOWN = 25
#: the tables of a sweep the report reads besides `runs` (mix and beliefs: policy sweeps)
TABLES = ("vendors", "source_use", "weekly_vendors", "mix", "beliefs")


@dataclass
class SweepData:
    """A sweep's tables (ok runs only) and its set-up."""

    path: Path
    info: dict[str, Any]
    runs_all: pd.DataFrame
    runs: pd.DataFrame
    vendors: pd.DataFrame
    source_use: pd.DataFrame | None
    weekly_vendors: pd.DataFrame | None
    attribution: list[pd.DataFrame] = field(default_factory=list)
    vendors_all: pd.DataFrame | None = None  # before a --vendor filter
    mix: pd.DataFrame | None = None  # policy sweeps only (analysis.engine.outcomes.mix)
    beliefs: pd.DataFrame | None = None  # policy sweeps only (analysis.engine.outcomes.beliefs)

    @property
    def failed(self) -> int:
        """Runs that did not finish ok (left out of every statistic)."""
        return int((self.runs_all["status"] != "ok").sum())


# ------------------------------------------------------------------ reading
def load(path: Path, sweep: str | None = None) -> SweepData:
    """Read one sweep's tables from a results folder; input errors as ScenarioError."""
    sdir = sweep_folder(path, sweep)
    check_sound(sdir)
    runs_all, info = _runs_and_info(Path(path), sdir)
    check_complete(sdir, info, runs_all)
    ok_ids = set(runs_all.loc[runs_all["status"] == "ok", "run_id"])
    runs = runs_all[runs_all["status"] == "ok"].reset_index(drop=True)
    src = str(path)
    if runs.empty:
        raise ScenarioError(src, "DIR", f"all {len(runs_all)} runs failed; see the runs table")
    tables = {t: _ok_rows(_optional(sdir, t), ok_ids) for t in TABLES}
    if tables["vendors"] is None:
        raise ScenarioError(src, "DIR", "no vendors table in the sweep results")
    return SweepData(
        sdir,
        info,
        runs_all,
        runs,
        tables["vendors"],
        tables["source_use"],
        tables["weekly_vendors"],
        attribution_tables(Path(path), sdir),
        mix=tables["mix"],
        beliefs=tables["beliefs"],
    )


def sweep_folder(path: Path, sweep: str | None = None) -> Path:
    """The one `sweep=<name>` folder in `path` the report is about (`sweep` picks one)."""
    src = str(path)
    if not path.is_dir():
        raise ScenarioError(src, "DIR", "no such folder; give the --out folder of `run.py sweep`")
    dirs = sweep_dirs(path)
    if sweep is not None:
        dirs = [d for d in dirs if d.name == f"sweep={sweep}"]
        if not dirs:
            found = ", ".join(d.name.removeprefix("sweep=") for d in sweep_dirs(path)) or "none"
            raise ScenarioError(src, "--sweep", f"no sweep named {sweep!r}; found: {found}")
    if not dirs:
        raise ScenarioError(
            src,
            "DIR",
            "no sweep results here (expected sweep=<name>/table=runs/*.parquet); "
            "run `python run.py sweep FILE --out DIR` first",
        )
    if len(dirs) > 1:
        names = ", ".join(d.name.removeprefix("sweep=") for d in dirs)
        raise ScenarioError(src, "--sweep", f"this folder holds several sweeps ({names}); pick one")
    return dirs[0]


def _runs_and_info(path: Path, sdir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The runs table (every run, failed ones too) and sweep.json, or one line on what
    is missing or damaged."""
    try:
        runs_all = load_sweep(sdir, "runs")
        info = sweep_info(sdir)
    except FileNotFoundError as exc:
        raise ScenarioError(str(path), "DIR", f"incomplete sweep results: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # a broken sweep.json
        raise ScenarioError(
            str(sdir / "sweep.json"),
            "",
            f"damaged ({type(exc).__name__}: {' '.join(str(exc).split())[:100]}); run the "
            "same `run.py sweep` command again to rewrite it",
        ) from None
    if not isinstance(info, dict):
        raise ScenarioError(
            str(sdir / "sweep.json"),
            "",
            "damaged (not a JSON object); run the same `run.py sweep` command again to rewrite it",
        )
    return runs_all, info


def _optional(sdir: Path, table: str) -> pd.DataFrame | None:
    """A table the sweep may not have written (None: not there)."""
    try:
        return load_sweep(sdir, table, duplicates="quiet")
    except FileNotFoundError:
        return None


def _ok_rows(df: pd.DataFrame | None, ok_ids: set[str]) -> pd.DataFrame | None:
    return None if df is None else df[df["run_id"].isin(ok_ids)].reset_index(drop=True)


def attribution_tables(path: Path, sdir: Path) -> list[pd.DataFrame]:
    """The attribution labs saved into the results folder or the sweep folder
    (`run.py attribution ... --save DIR`: attribution/<scenario>__<vendor>.parquet)."""
    files = [
        *sorted(path.glob("attribution/*.parquet")),
        *sorted(sdir.glob("attribution/*.parquet")),
    ]
    return [pd.read_parquet(f) for f in files]


# ------------------------------------------------------------------ soundness
def check_sound(sdir: Path) -> None:
    """Refuse a sweep folder with a damaged part file: one line naming it (exit code 2).

    The report never proceeds without a damaged file (its runs would silently be left
    out); a resume of the sweep sets it aside and reruns its runs.
    """
    damaged, _duplicates = inspect_parts(sdir)  # duplicates: counted once by load_sweep
    if damaged:
        d = damaged[0]
        more = f" (and {len(damaged) - 1} more damaged chunks)" if len(damaged) > 1 else ""
        raise ScenarioError(
            str(d.file),
            "",
            f"damaged result file: {d.why}{more}; run the same `run.py sweep` command "
            "again: it moves damaged files to quarantine/ and reruns their runs",
        )


def missing_runs(info: dict[str, Any], runs_all: pd.DataFrame) -> int:
    """How many runs of the design in sweep.json the runs table lacks (0 when sweep.json
    does not say how many there are). A run of the design is a (variant, replication)
    with the replication's seed; runs of an earlier design in the folder do not count."""
    total = info.get("runs")
    if not isinstance(total, int) or isinstance(total, bool):
        return 0
    labels = {str(v.get("variant")) for v in info.get("variants", []) if isinstance(v, dict)}
    seeds = info.get("seeds") or []
    rows = runs_all[["variant", "replication", "seed"]].drop_duplicates()
    if labels and seeds:
        rep = rows["replication"].astype(int)
        seed_of = rep.map(lambda r: seeds[r] if 0 <= r < len(seeds) else None)
        ours = rows["variant"].astype(str).isin(labels) & (rows["seed"] == seed_of)
        rows = rows[ours.to_numpy(bool)]
    have = len(rows[["variant", "replication"]].drop_duplicates())
    return max(total - have, 0)


def check_complete(sdir: Path, info: dict[str, Any], runs_all: pd.DataFrame) -> None:
    """Refuse a sweep that stopped before all its runs were stored (interrupted, or its
    pool broke): one line with how many are missing and the command that runs the rest.
    A failed run is stored (status error) and does not count as missing."""
    missing = missing_runs(info, runs_all)
    if not missing:
        return
    source = info.get("source") or "FILE"
    weekly = " --weekly" if info.get("weekly") else ""
    raise ScenarioError(
        str(sdir),
        "",
        f"incomplete sweep: {missing:,} of {info['runs']:,} runs are missing (was it "
        f"interrupted?); run `python run.py sweep {source} --out {sdir.parent}{weekly}` "
        "again to run the rest, then the report",
    )


# ------------------------------------------------------------------ the posterior
def posterior_of(d: SweepData) -> dict[str, Any] | None:
    """The posterior the sweep ran across (sweep.json's "posterior": file, sha256,
    parameters), None for a sweep without one."""
    post = d.info.get("posterior")
    return post if isinstance(post, dict) else None


def drawn_columns(d: SweepData) -> list[str]:
    """The runs table's `post:<name>` columns (the drawn parameter values)."""
    return [c for c in d.runs.columns if str(c).startswith("post:")]


def check_posterior(d: SweepData, posterior: Path | None) -> None:
    """`run.py report DIR --posterior FILE`: the report reads what the sweep ran, so a
    posterior can only be confirmed, not applied afterwards. The same file (by content)
    as the one sweep.json records is accepted; another one, or any for a sweep run
    without one, is one line saying to rerun the sweep with it.

    Raises:
        ScenarioError: the posterior is not the one the sweep's runs were drawn from.
    """
    if posterior is None:
        return
    from analysis.studies.across.draws import file_sha256

    src = str(posterior)
    if not Path(posterior).is_file():
        raise ScenarioError(
            src, "--posterior", "no such file (and a report needs none: the sweep folder "
            "records the posterior its runs were drawn from)",
        )  # fmt: skip
    had = posterior_of(d)
    rerun = (
        f"rerun `python run.py sweep {d.info.get('source') or 'FILE'} --out NEW_DIR "
        f"--posterior {posterior}` and report on NEW_DIR"
    )
    if had is None:
        raise ScenarioError(
            src, "--posterior", f"the sweep in {d.path} ran without a posterior; a report "
            f"cannot add one afterwards: {rerun}",
        )  # fmt: skip
    if had.get("sha256") != file_sha256(posterior):
        raise ScenarioError(
            src, "--posterior", f"the sweep in {d.path} ran across another posterior "
            f"({had.get('file')}); drop --posterior to report on it, or {rerun}",
        )  # fmt: skip


# ------------------------------------------------------------------ choices
def variant_order(d: SweepData) -> list[str]:
    """Variant labels in variant_id order (ok runs)."""
    v = d.runs[["variant_id", "variant"]].drop_duplicates().sort_values("variant_id")
    return v["variant"].tolist()


def shown_variants(order: list[str], reference: str) -> list[str]:
    """The variants the page draws and tabulates: the first MAX_VARIANTS_SHOWN, the
    reference always among them."""
    shown = order[:MAX_VARIANTS_SHOWN]
    if reference not in shown:
        shown = [reference, *shown[:-1]]
    return shown


def check_choices(d: SweepData, reference: str | None, vendor: str | None) -> None:
    """Input errors for --reference and --vendor."""
    src = str(d.path)
    variants = variant_order(d)
    if reference is not None and reference not in variants:
        raise ScenarioError(
            src,
            "--reference",
            f"no variant {reference!r}; variants: {', '.join(variants[:10])}"
            + (" ..." if len(variants) > 10 else ""),
        )
    names = list(dict.fromkeys(d.vendors["vendor"]))
    if vendor is not None and vendor not in names:
        raise ScenarioError(
            src, "--vendor", f"no vendor named {vendor!r}; vendors: {', '.join(names)}"
        )


def focal_vendor(info: dict[str, Any], vendors: pd.DataFrame) -> str:
    """The vendor a strategy axis changes, else the first vendor."""
    for a in info.get("axes", []):
        if a.get("kind") == "strategy" and a.get("vendor") in set(vendors["vendor"]):
            return a["vendor"]
    names = info.get("vendors") or list(dict.fromkeys(vendors["vendor"]))
    return names[0]


def filter_vendor(d: SweepData, vendor: str | None) -> SweepData:
    """The sweep's tables restricted to one vendor (`--vendor`: filters everything)."""
    if vendor is None:
        return d

    def keep(df):
        return None if df is None else df[df["vendor"] == vendor].reset_index(drop=True)

    att = [t for t in d.attribution if "vendor" not in t or (t["vendor"] == vendor).all()]
    return SweepData(
        d.path,
        d.info,
        d.runs_all,
        d.runs,
        keep(d.vendors),
        d.source_use,
        keep(d.weekly_vendors),
        att,
        d.vendors if d.vendors_all is None else d.vendors_all,
        keep(d.mix),
        keep(d.beliefs),
    )
