"""Other studies' results join the batch report through one contract (a Section per study
package, found by analysis.reports.registry): sections registered here by the test show
for the folders near the sweep that hold their marker, in their order, filtered by
vendor as the contract says, and a section that cannot be read is a note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.render.sections import Section
from analysis.reports import registry
from analysis.reports.sweep.build import build_report
from analysis.reports.sweep.data import load
from analysis.reports.sweep.study_sections import near_folders, study_sections
from tests.analysis.reports.fake_sweep import budget_sweep


def _study(folder: Path, vendor: str | None) -> str:
    """A study that names the vendor it was run for (study.json) and its folder."""
    about = json.loads((folder / "study.json").read_text())["vendor"]
    return f"<h2>Study of {about} in {folder.name}</h2>"


def _per_vendor(folder: Path, vendor: str | None) -> str | None:
    """A study that filters by vendor itself: nothing for another vendor."""
    about = json.loads((folder / "tuned.json").read_text())["vendor"]
    if vendor is not None and vendor != about:
        return None
    return f"<h2>Tuned for {about} (asked: {vendor})</h2>"


def _broken(folder: Path, vendor: str | None) -> str:
    raise ValueError("unreadable")


SECTIONS = [
    Section("study", "study.json", _study, order=1),
    Section("tuned", "tuned.json", _per_vendor, by_vendor=True, order=2),
    Section("broken", "broken.json", _broken, order=3),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A sweep with study results in the results folder, a folder below it, and the
    sweep folder itself; the registry knows only this test's sections."""
    root = budget_sweep(tmp_path)
    (root / "study.json").write_text(json.dumps({"vendor": "Alpha"}))
    (root / "later").mkdir()
    (root / "later" / "study.json").write_text(json.dumps({"vendor": "Beta"}))
    (root / "sweep=demo" / "tuned.json").write_text(json.dumps({"vendor": "Alpha"}))
    (root / "bad").mkdir()
    (root / "bad" / "broken.json").write_text("{")
    monkeypatch.setattr(registry, "all_sections", lambda: list(SECTIONS))
    return root


def test_the_folders_near_a_sweep_are_its_results_folder_its_sweep_and_those_below(folder):
    d = load(folder)
    assert near_folders(d) == [folder, folder / "bad", folder / "later", folder / "sweep=demo"]


def test_registered_sections_show_in_their_order_after_the_report_s_own(folder, tmp_path):
    page = build_report(folder, tmp_path / "r.html").html_path.read_text(encoding="utf-8")
    alpha = page.index(f"<h2>Study of Alpha in {folder.name}</h2>")
    beta = page.index("<h2>Study of Beta in later</h2>")
    tuned = page.index("<h2>Tuned for Alpha (asked: None)</h2>")
    broken = page.index("broken results in")
    assert page.index(">Stage funnel<") < alpha < beta < tuned < broken < page.index(">Set-up<")
    assert "could not be read (ValueError)" in page  # the others still show


def test_a_vendor_report_keeps_only_that_vendor_s_studies(folder, tmp_path):
    kinds = dict(study_sections(load(folder), "Beta"))
    # the plain section is asked without regard to vendor and left out where it names
    # only other vendors; the by_vendor section filters itself (nothing for Beta)
    assert kinds == {"study": "<h2>Study of Beta in later</h2>", "broken": kinds["broken"]}
    alpha = [text for kind, text in study_sections(load(folder), "Alpha")]
    assert alpha[:2] == [
        f"<h2>Study of Alpha in {folder.name}</h2>",
        "<h2>Tuned for Alpha (asked: Alpha)</h2>",
    ]


def test_without_any_study_section_the_report_has_none(tmp_path, monkeypatch):
    root = budget_sweep(tmp_path)
    (root / "study.json").write_text(json.dumps({"vendor": "Alpha"}))
    monkeypatch.setattr(registry, "all_sections", lambda: [])
    assert study_sections(load(root), None) == []


def test_the_real_study_sections_follow_the_contract():
    sections = registry.all_sections()
    assert [s.order for s in sections] == sorted(s.order for s in sections)
    for section in sections:
        assert isinstance(section, Section) and section.kind and section.marker
        assert callable(section.render)
