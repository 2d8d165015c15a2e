"""`build_report(DIR, OUT)`: read a sweep folder and write its batch report, the page and
a CSV per table.

The page opens with the answers, then the figures, the scorecard, the paired
comparisons and the funnel, then what the sweep's kind adds (a sampled sweep's
sensitivity screen, a policy sweep's policies), attribution labs saved into the folder,
other studies' sections, and the set-up last. Every file is written through
analysis.engine.writer, all of them together: a failure (a full disk) leaves the files
of an earlier report as they were and nothing half-written (WriteError, one line).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.engine.writer import staged
from analysis.render.html import html_page
from analysis.reports.sweep import page as pg
from analysis.reports.sweep.answers import answers, asked_vendors
from analysis.reports.sweep.attribution import attribution_section
from analysis.reports.sweep.data import (
    SweepData,
    check_choices,
    filter_vendor,
    focal_vendor,
    load,
    shown_variants,
    variant_order,
)
from analysis.reports.sweep.policy import check_truth, policy_section
from analysis.reports.sweep.study_sections import study_sections
from analysis.reports.sweep.tables import (
    comparisons_table,
    funnel_table,
    range_axes,
    setup_table,
    vendor_summary,
)
from sim.scenario import ScenarioError


@dataclass
class Report:
    """What `build_report` wrote and computed."""

    html_path: Path
    tables: dict[str, pd.DataFrame]
    csv_paths: list[Path]
    elapsed_s: float


@dataclass
class View:
    """What the page is about: the sweep (vendor-filtered), the choices of the report,
    and the variants it draws."""

    d: SweepData
    vendor: str | None
    reference: str
    metric: str
    order: list[str]  # every variant, in variant_id order
    shown: list[str]  # those the page draws and tabulates
    focal: str  # the vendor whose conversions the sensitivity explains
    reps: int
    weekly: pd.DataFrame | None  # weekly_vendors before the --vendor filter


@dataclass
class Page:
    """The page as it is put together: HTML pieces and tables, in page order."""

    html: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, part: pg.Part) -> None:
        self.html += part.html
        self.tables.update(part.tables)


def check_request(
    d: SweepData,
    reference: str | None = None,
    vendor: str | None = None,
    truth: Path | None = None,
    width: float | None = None,
) -> None:
    """Input errors of a report (one line each) before anything is computed: an unknown
    --reference or --vendor, a --truth that cannot be used, a --width that is no
    positive number."""
    check_choices(d, reference, vendor)
    if width is not None and not (math.isfinite(width) and width > 0):
        raise ScenarioError("report", "--width", f"must be a positive number, found {width}")
    check_truth(d, vendor, truth)


def view_of(d: SweepData, reference: str | None, vendor: str | None, metric: str) -> View:
    """The report's view of a sweep: --vendor applied, the reference and shown variants
    chosen."""
    if d.vendors_all is None:
        d.vendors_all = d.vendors
    weekly = d.weekly_vendors
    d = filter_vendor(d, vendor)
    order = variant_order(d)
    reference = reference or order[0]
    return View(
        d,
        vendor,
        reference,
        metric,
        order,
        shown_variants(order, reference),
        vendor or focal_vendor(d.info, d.vendors),
        int(d.runs["replication"].nunique()),
        weekly,
    )


@dataclass
class Statistics:
    """The numbers every part of the page draws on (their tables in page order)."""

    setup: pd.DataFrame
    summary: pd.DataFrame
    answers: pd.DataFrame
    comparisons: pd.DataFrame | None
    funnel: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"setup": self.setup, "vendor_summary": self.summary, "answers": self.answers}
        if self.comparisons is not None:
            out["comparisons"] = self.comparisons
        return {**out, "funnel": self.funnel}


def statistics(v: View) -> Statistics:
    """The set-up, the scorecard's summary, the answers, the comparisons with the
    reference (2 variants and 2 replications at least) and the funnel."""
    d = v.d
    asked = (
        [v.vendor] if v.vendor else asked_vendors(d.info, list(dict.fromkeys(d.vendors["vendor"])))
    )
    paired = len(v.order) > 1 and v.reps > 1
    return Statistics(
        setup_table(d, v.vendor),
        vendor_summary(d),
        answers(d, asked, v.metric),
        comparisons_table(d, v.reference) if paired else None,
        funnel_table(d.runs),
    )


def build_report(
    path: Path,
    out: Path,
    reference: str | None = None,
    vendor: str | None = None,
    sweep: str | None = None,
    progress: Callable[[str], None] | None = None,
    data: SweepData | None = None,
    width: float | None = None,
    truth: Path | None = None,
    metric: str = "conversions",
) -> Report:
    """Read a sweep folder and write the HTML report and its CSV tables.

    The page answers first (per vendor the sweep asks about: the best variant, its
    probability of being best, at equal budget, the paired difference to the runner-up),
    then the figures, then the scorecard and the comparisons with a reference.

    Args:
        path: the results folder of `run.py sweep --out` (or one sweep=<name> folder).
        out: the HTML file to write; tables go to `<stem>_tables/` next to it.
        reference: the variant other variants are compared with (default: the first).
        vendor: report on this vendor only (every section and table); also the vendor
            whose conversions the sensitivity explains.
        sweep: which sweep, when the folder holds several.
        progress: called with a step name as each step starts.
        data: the sweep already read with `load` (else it is read from `path`).
        width: the half-width the replications line aims at (default: half the widest).
        truth: a dataloop_truth.csv of `run.py dataloop` to show next to a policy sweep's
            beliefs (default: one in the sweep folder or the folder above it).
        metric: the vendor metric the answers pick the best variant by (compare.
            VENDOR_METRICS; the lowest for cost metrics).
    """
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    step("reading results")
    d = data if data is not None else load(Path(path), sweep)
    check_request(d, reference, vendor, truth, width)
    v = view_of(d, reference, vendor, metric)
    page = Page()
    step("statistics")
    stats = statistics(v)
    page.tables.update(stats.tables())
    page.add(pg.heading(v.d, vendor))
    page.add(pg.answers_part(v.d, stats.answers, v.reps, width, metric))
    _figures(page, v, stats, step)
    step("scorecard")
    page.add(pg.scorecard_part(stats.summary, v.shown, len(v.order)))
    page.add(pg.comparisons_part(stats.comparisons, v.reference, v.shown, len(v.order)))
    page.add(pg.funnel_part(stats.funnel, v.shown))
    _what_the_sweep_adds(page, v, truth, step)
    step("set-up")
    page.add(pg.setup_part(stats.setup))
    step("writing")
    return write_report(Path(out), page, v.d, started)


def _figures(page: Page, v: View, stats: Statistics, step: Callable[[str], None]) -> None:
    """Conversions by variant, the funnel and source use, win share over weeks."""
    step("figures: conversions")
    page.add(pg.conversions_figure(stats.summary, v.shown))
    step("figures: funnel and sources")
    page.add(pg.funnel_and_sources(stats.funnel, v.shown, v.d))
    if v.weekly is not None and not v.weekly.empty:
        step("figures: win share over weeks")
    page.add(pg.win_share(v.weekly, v.vendor, v.shown))


def _what_the_sweep_adds(
    page: Page, v: View, truth: Path | None, step: Callable[[str], None]
) -> None:
    """A sampled sweep's sensitivity, a policy sweep's policies, saved attribution labs
    and the sections of other studies run near the sweep."""
    d = v.d
    if range_axes(d.info):
        step("sensitivity")
        page.add(pg.sensitivity_part(d, v.focal))
    if d.mix is not None and not d.mix.empty:
        step("policies")
        text, tables = policy_section(d, v.vendor, truth)
        if text:
            page.add(pg.Part([text], tables))
    if d.attribution:
        step("attribution")
        parts, table = attribution_section(d.attribution)
        page.add(pg.Part(parts, {"attribution": table}))
    for kind, text in study_sections(d, v.vendor):
        step(kind)
        page.add(pg.Part([text]))


def write_report(out: Path, page: Page, d: SweepData, started: float) -> Report:
    """Write every table as `<stem>_tables/<name>.csv` and the page, all or nothing."""
    tdir = out.with_name(f"{out.stem}_tables")
    csvs = [tdir / f"{name}.csv" for name in page.tables]
    with _all_or_nothing() as write:
        for p, df in zip(csvs, page.tables.values(), strict=True):
            write(p, lambda tmp, df=df: df.to_csv(tmp, index=False))
        page.add(pg.data_part(csvs, d.path, time.perf_counter() - started))
        text = html_page(pg.title(d, None), "\n".join(page.html))
        write(out, lambda tmp: tmp.write_bytes(text.encode("utf-8")))
    return Report(out, page.tables, csvs, time.perf_counter() - started)


@contextmanager
def _all_or_nothing() -> Iterator[Callable[[Path, Callable[[Path], object]], None]]:
    """Files written each under a temporary name (analysis.engine.writer.staged) and
    renamed into place only once all of them are written: a failure on any leaves none
    of them (and no temporary file)."""
    with ExitStack() as stack:

        def write(path: Path, fn: Callable[[Path], object]) -> None:
            fn(stack.enter_context(staged(path)))

        yield write
