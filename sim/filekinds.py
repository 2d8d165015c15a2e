"""The kinds of TOML file the project reads, told apart by their top-level table, so that
a file given in the wrong place is named for what it is.

    scenario file       [scenario], [buyers], [[vendors]] ...   (no table below)
    sweep file          [sweep]          (a DATA-loop study is a sweep file over policies)
    sensitivity file    [sensitivity]
    optimisation file   [optimize]
    targets file        [[targets]]

`kind_of(data)` reads a parsed file's kind; `WrongKind` is the one-line error for a file of
another kind ("this is a sweep file; simulate takes a scenario file"), and the command line
adds the command's name when it prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.errors import ScenarioError


@dataclass(frozen=True)
class FileKind:
    """A kind of input file: its key (the top-level table that marks it), its name in
    messages, and how a user runs a file of this kind."""

    key: str
    name: str
    usage: str


SCENARIO = FileKind("scenario", "scenario file", "run.py simulate FILE")
SWEEP = FileKind("sweep", "sweep file", "run.py sweep FILE --out DIR")
SENSITIVITY = FileKind("sensitivity", "sensitivity file", "run.py sensitivity FILE --out DIR")
OPTIMIZE = FileKind("optimize", "optimisation file", "run.py optimize FILE --out DIR")
TARGETS = FileKind("targets", "targets file", "run.py calibrate SCENARIO --targets FILE --out DIR")
#: the kinds of study file, each marked by its own top-level table
STUDY_KINDS: tuple[FileKind, ...] = (SWEEP, SENSITIVITY, OPTIMIZE, TARGETS)
KINDS: dict[str, FileKind] = {k.key: k for k in (SCENARIO, *STUDY_KINDS)}


def a(name: str) -> str:
    """`name` with its indefinite article: "a sweep file", "an optimisation file"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def kind_of(data: dict[str, Any]) -> FileKind:
    """The kind of a parsed TOML file: the first study kind whose table it has, else a
    scenario file."""
    for kind in STUDY_KINDS:
        if kind.key in data:
            return kind
    return SCENARIO


class WrongKind(ScenarioError):
    """A file of another kind than the one expected; one line naming what it is.

    `found` and `expected` are FileKinds. `for_command(name)` gives the message with the
    command that was given the file."""

    def __init__(self, source: str, found: FileKind, expected: FileKind, field: str = "") -> None:
        self.found, self.expected = found, expected
        super().__init__(source, field, self._problem(None))

    def _problem(self, command: str | None) -> str:
        wanted = a(self.expected.name)
        takes = f"{command} takes {wanted}" if command else f"not {wanted}"
        return f"this is {a(self.found.name)}; {takes} (run it with `{self.found.usage}`)"

    def for_command(self, command: str) -> ScenarioError:
        """The same error, naming the command that was given the file."""
        return ScenarioError(self.source, self.field, self._problem(command))


def expect_kind(data: dict[str, Any], source: str, expected: FileKind, field: str = "") -> None:
    """Raise WrongKind unless the parsed file `data` is of kind `expected`."""
    found = kind_of(data)
    if found != expected:
        raise WrongKind(source, found, expected, field)
