"""A refactor changes no behaviour: each pinned command (tests/e2e/pins.py) prints and
writes today exactly what it did when its pin was recorded (timings, paths and the part
files' chunking aside). The pins were recorded before the analysis wing was reshaped
(issue 17) and must stay identical through it."""

from __future__ import annotations

import json
import os

import pytest

from .pins import PINNED, PINS


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_command_prints_and_writes_what_it_did(name, tmp_path):
    got = PINNED[name](tmp_path)
    path = PINS / f"{name}.json"
    if os.environ.get("BJS_RECORD_PINS"):
        PINS.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"recorded {path.name}")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got["stdout"] == want["stdout"]
    assert sorted(got["files"]) == sorted(want["files"])
    for file, content in want["files"].items():
        assert got["files"][file] == content, file
