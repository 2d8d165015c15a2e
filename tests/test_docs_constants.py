"""The constants and defaults documented in docs/model.md's tables equal the code's.

The test reads the tables of docs/model.md, never a copy of their values, so an edit to
the doc or to the code that makes them disagree fails here:

- constants tables (header `| constant | value | source |`: §5a, §11a, §19): each row's
  first backticked UPPER_CASE name is looked up among the module attributes of sim/ (in
  the module the row names, if it names a `sim/...py` file); a number is compared with
  the first number of the value ("5,000 per week", "0.03 of N slots a week"), a tuple of
  names with the comma-separated names of the value;
- the channel table (header `| channel | preference ... |`, §19): every column against
  sim/channels.py's CHANNELS (numbers, tuples of numbers, yes/no flags);
- defaults tables (header `| default | value | source |`, §19): each field against the
  pydantic default of the class the table's heading names (`Buyers`, `VendorSpec`, ...);
  a field written `[table] field` is looked up from the Scenario's `[table]`.

A row that names no code constant fails, naming the row, unless NOT_CODE_CONSTANTS lists
it with the reason.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

import sim
import sim.scenario
from sim.channels import CHANNEL_NAMES, CHANNELS

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"

#: Rows of the constants tables (by their first cell) that are not code constants, and why.
NOT_CODE_CONSTANTS = {
    # The limit of advocacy = 1 + R / (R + scale) as the reward R grows
    # (sim/processes/word_of_mouth.py `advocacy`): a property of the formula, not a stored
    # value; the formula's one constant, REWARD_HALF_SHARE, has its own row.
    "advocacy ceiling (§5)",
}

NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
NAMED_NUMBER = re.compile(rf"([a-z_]+)\s+({NUMBER.pattern})")
BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    """One row of a markdown table of docs/model.md."""

    heading: str  # the nearest heading above the table
    header: tuple[str, ...]
    cells: tuple[str, ...]
    line: int  # 1-based line number in docs/model.md

    @property
    def where(self) -> str:
        return f"docs/model.md line {self.line} ({self.heading}), row {self.cells[0]!r}"


def read_rows(text: str) -> list[Row]:
    """Every body row of every table, with its table's header and heading."""
    rows: list[Row] = []
    heading, header, in_table = "", (), False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if not line.startswith("|"):
            in_table = False
            continue
        cells = tuple(c.strip() for c in line.strip().strip("|").split("|"))
        if not in_table:
            header, in_table = cells, True
        elif not all(set(c) <= set("-: ") for c in cells):  # not the separator line
            rows.append(Row(heading, header, cells, number))
    return rows


def kind(row: Row) -> str | None:
    """Which check a row gets: constant, channel, default, or none (another table)."""
    first = row.header[0]
    if first in ("constant", "default") and row.header[1:] == ("value", "source"):
        return first
    if first == "channel" and row.header[1].startswith("preference"):
        return "channel"
    return None


def rows_of(kind_: str, text: str | None = None) -> list[Row]:
    return [
        r
        for r in read_rows(DOC.read_text(encoding="utf-8") if text is None else text)
        if kind(r) == kind_
    ]


# ---------------------------------------------------------------- reading a value cell


def plain(cell: str) -> str:
    """The value without parenthetical remarks, backticks or what follows a ';'."""
    cell = re.sub(r"\([^)]*\)", "", cell).split(";")[0]
    return cell.replace("`", "").strip()


def number(text: str) -> float:
    return float(text.replace(",", ""))


def first_number(cell: str, where: str) -> float:
    found = NUMBER.search(plain(cell))
    assert found, f"{where}: no number in {cell!r}"
    return number(found.group())


def split_list(cell: str) -> list[str]:
    """Items separated by ', ' or ' / ' (a thousands comma has no space after it)."""
    return [x.strip() for x in re.split(r",\s+|\s+/\s+", plain(cell)) if x.strip()]


def assert_same(cell: str, value: object, where: str) -> None:
    """The documented `cell` states the code's `value`."""
    text = plain(cell)
    if value is None:
        assert text.startswith("unset"), f"{where}: code default is unset, doc says {cell!r}"
    elif isinstance(value, bool):
        word = text.split()[0].lower() if text else ""
        said = {"true": True, "yes": True, "false": False, "no": False}.get(word)
        assert said is value, f"{where}: code {value}, doc {cell!r}"
    elif isinstance(value, int | float):
        doc = first_number(cell, where)
        assert math.isclose(doc, value, rel_tol=1e-9, abs_tol=1e-12), (
            f"{where}: code {value!r}, doc {cell!r}"
        )
    elif isinstance(value, str):
        word = text.split()[0] if text else ""
        assert word == value, f"{where}: code {value!r}, doc {cell!r}"
    elif isinstance(value, dict | tuple | list) and not value:
        assert text.startswith("empty"), f"{where}: code default is empty, doc says {cell!r}"
    elif isinstance(value, tuple) and all(isinstance(x, str) for x in value):
        assert tuple(split_list(cell)) == value, f"{where}: code {value!r}, doc {cell!r}"
    elif isinstance(value, tuple) and all(isinstance(x, int | float) for x in value):
        doc = [number(x) for x in NUMBER.findall(text)]
        assert len(doc) == len(value) and all(
            math.isclose(d, v, rel_tol=1e-9, abs_tol=1e-12) for d, v in zip(doc, value, strict=True)
        ), f"{where}: code {value!r}, doc {cell!r}"
    elif isinstance(value, BaseModel):
        assert_same_model(cell, value, where)
    else:
        pytest.fail(f"{where}: the test cannot compare a {type(value).__name__} ({value!r})")


def assert_same_model(cell: str, value: BaseModel, where: str) -> None:
    """A model of numbers (per seniority, per size class, per stage): the doc lists the
    values in field order ("0.30, 0.30, ...") or by name ("small 0.60, mid_market 0.30")."""
    code = value.model_dump()
    text = plain(cell)
    named = NAMED_NUMBER.findall(text)
    if named:
        doc = {name: number(x) for name, x in named}
    else:
        doc = dict(zip(code, (number(x) for x in NUMBER.findall(text)), strict=False))
    assert doc.keys() == code.keys(), f"{where}: code has {list(code)}, doc {cell!r}"
    for name, v in code.items():
        assert math.isclose(doc[name], v, rel_tol=1e-9), f"{where}: {name} is {v!r} in the code"


# ---------------------------------------------------------------- constants tables


def module_attributes() -> dict[str, list[tuple[str, object]]]:
    """UPPER_CASE module attributes of every module of sim/: name -> [(module, value)]."""
    found: dict[str, list[tuple[str, object]]] = {}
    for info in pkgutil.walk_packages(sim.__path__, "sim."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.isupper() and not isinstance(value, types.ModuleType):
                found.setdefault(name, []).append((info.name, value))
    return found


def equal(a: object, b: object) -> bool:
    """a == b, False where that is no single truth value (arrays)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def code_constant(row: Row, attributes: dict[str, list[tuple[str, object]]]) -> object:
    """The code's value of the constant a row documents (fails naming the row)."""
    names = [n for n in BACKTICKED.findall(row.cells[0]) if re.fullmatch(r"[A-Z][A-Z0-9_]*", n)]
    assert names, (
        f"{row.where}: names no code constant (a backticked UPPER_CASE name); name it, "
        "or list the row in NOT_CODE_CONSTANTS with the reason"
    )
    name = names[0]
    homes = attributes.get(name, [])
    files = [p for p in BACKTICKED.findall(row.cells[0]) if p.startswith("sim/")]
    if files:  # the row names the module
        module = files[0].removesuffix(".py").removesuffix("/").replace("/", ".")
        homes = [(m, v) for m, v in homes if m in (module, f"{module}.__init__")]
    assert homes, f"{row.where}: no module of sim/ defines {name}"
    values = [v for _, v in homes]
    assert all(v is values[0] or equal(v, values[0]) for v in values), (
        f"{row.where}: {name} has different values in {', '.join(m for m, _ in homes)}; "
        "name the module in the row (`sim/...py`)"
    )
    return values[0]


CONSTANT_ROWS = [r for r in rows_of("constant") if r.cells[0] not in NOT_CODE_CONSTANTS]


@pytest.fixture(scope="module")
def attributes() -> dict[str, list[tuple[str, object]]]:
    return module_attributes()


def check_constant(row: Row, attributes: dict[str, list[tuple[str, object]]]) -> None:
    assert_same(row.cells[1], code_constant(row, attributes), row.where)


@pytest.mark.parametrize("row", CONSTANT_ROWS, ids=lambda r: f"{r.line}:{r.cells[0]}")
def test_a_documented_constant_equals_the_code(row: Row, attributes) -> None:
    check_constant(row, attributes)


def test_every_row_said_not_to_be_a_code_constant_is_still_documented() -> None:
    documented = {r.cells[0] for r in rows_of("constant")}
    assert NOT_CODE_CONSTANTS <= documented, NOT_CODE_CONSTANTS - documented


# ---------------------------------------------------------------- the channel table


def channel_field(column: str) -> str:
    """'half-saturation (per week)' -> 'half_saturation'."""
    return column.split("(")[0].strip().replace("-", "_").replace(" ", "_")


CHANNEL_ROWS = rows_of("channel")


def test_the_channel_table_lists_every_channel_in_the_codes_order() -> None:
    assert tuple(r.cells[0] for r in CHANNEL_ROWS) == CHANNEL_NAMES


def check_channel(row: Row) -> None:
    assert row.cells[0] in CHANNEL_NAMES, f"{row.where}: no such channel in sim/channels.py"
    channel = CHANNELS[CHANNEL_NAMES.index(row.cells[0])]
    for column, cell in zip(row.header[1:], row.cells[1:], strict=True):
        field = channel_field(column)
        assert hasattr(channel, field), f"{row.where}: Channel has no field for column {column!r}"
        assert_same(cell, getattr(channel, field), f"{row.where}, column {column!r}")


@pytest.mark.parametrize("row", CHANNEL_ROWS, ids=lambda r: r.cells[0])
def test_a_channel_row_equals_the_channel_table(row: Row) -> None:
    check_channel(row)


# ---------------------------------------------------------------- defaults tables


def model_in(annotation: object) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (X, X | None, tuple[X, ...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


def table_model(path: str, where: str) -> type[BaseModel]:
    """The model of a scenario table: 'vendors.data_loop' -> DataLoop."""
    cls: type[BaseModel] = sim.scenario.Scenario
    for part in path.split("."):
        assert part in cls.model_fields, f"{where}: {cls.__name__} has no table {part!r}"
        inner = model_in(cls.model_fields[part].annotation)
        assert inner is not None, f"{where}: {cls.__name__}.{part} is not a table"
        cls = inner
    return cls


def default(cls: type[BaseModel], name: str, where: str) -> object:
    assert name in cls.model_fields, f"{where}: {cls.__name__} has no field {name!r}"
    return cls.model_fields[name].get_default(call_default_factory=True)


def heading_models(row: Row) -> list[type[BaseModel]]:
    """The classes a defaults table's heading names (`Buyers`, `VendorSpec`, `Scenario`)."""
    found = [getattr(sim.scenario, n, None) for n in BACKTICKED.findall(row.heading)]
    models = [c for c in found if isinstance(c, type) and issubclass(c, BaseModel)]
    assert models, f"{row.where}: the heading names no model of sim.scenario in backticks"
    return models


def documented_defaults(row: Row) -> Iterator[tuple[str, object, str]]:
    """(what, code default, documented value) for each field a defaults row gives."""
    names = BACKTICKED.findall(row.cells[0])
    assert names, f"{row.where}: names no field in backticks"
    table = re.fullmatch(r"\[([\w.]+)\]\s*(\w*)", names[0])
    if table:
        cls = table_model(table.group(1), row.where)
        names = [table.group(2), *names[1:]] if table.group(2) else []
        owners = [cls]
    else:
        owners = heading_models(row)
    if not names:  # a whole table: "key value, key value, ..."
        for part in split_list_of_pairs(row.cells[1]):
            key, _, value = part.partition(" ")
            yield f"{cls.__name__}.{key}", default(cls, key, row.where), value
        return
    values = re.split(r",\s+", plain(row.cells[1])) if len(names) > 1 else [row.cells[1]]
    if len(values) == 1:
        values = values * len(names)
    assert len(values) == len(names), f"{row.where}: {len(names)} fields, {len(values)} values"
    for name, value in zip(names, values, strict=True):
        cls = next((c for c in owners if name in c.model_fields), owners[0])
        yield f"{cls.__name__}.{name}", default(cls, name, row.where), value


def split_list_of_pairs(cell: str) -> list[str]:
    return [x.strip() for x in re.split(r",\s+", plain(cell)) if x.strip()]


DEFAULT_ROWS = rows_of("default")


def check_default(row: Row) -> None:
    checked = 0
    for what, value, cell in documented_defaults(row):
        assert_same(cell, value, f"{row.where}, {what}")
        checked += 1
    assert checked, f"{row.where}: no field checked"


@pytest.mark.parametrize("row", DEFAULT_ROWS, ids=lambda r: f"{r.line}:{r.cells[0]}")
def test_a_documented_default_equals_the_scenario_default(row: Row) -> None:
    check_default(row)


# ---------------------------------------------------------------- the tables are read


def test_the_tables_this_test_reads_are_in_the_doc() -> None:
    """A changed header would silently drop a table from the checks above."""
    headings = {r.heading for r in CONSTANT_ROWS}
    assert any(h.startswith("§5a") for h in headings), headings
    assert any(h.startswith("§11a") for h in headings), headings
    assert "Module constants" in headings, headings
    assert len(CHANNEL_ROWS) == len(CHANNELS)
    tables = {r.heading.split(" (")[0] for r in DEFAULT_ROWS}
    assert {"Buyers", "Choice", "Accounts", "Network", "Vendor"} <= tables, tables


def bumped(text: str, row: Row, column: int) -> Row:
    """`row` as read from a copy of the doc whose `column` has its first number + 1."""
    cells = list(row.cells)
    found = NUMBER.search(cells[column])
    assert found, f"{row.where}: no number in column {column}"
    new = f"{number(found.group()) + 1:g}"
    cells[column] = cells[column][: found.start()] + new + cells[column][found.end() :]
    lines = text.splitlines()
    lines[row.line - 1] = "| " + " | ".join(cells) + " |"
    return next(r for r in read_rows("\n".join(lines)) if r.line == row.line)


def test_a_doc_number_that_disagrees_with_the_code_fails(attributes) -> None:
    """Each check catches a changed number, on a copy of the doc (as a doc edit would)."""
    text = DOC.read_text(encoding="utf-8")
    numeric = next(
        r
        for r in CONSTANT_ROWS
        if isinstance(code_constant(r, attributes), int | float) and NUMBER.search(r.cells[1])
    )
    changed = bumped(text, numeric, 1)
    with pytest.raises(AssertionError, match=re.escape(numeric.cells[0])):
        check_constant(changed, attributes)
    reach = CHANNEL_ROWS[0].header.index("reach")
    with pytest.raises(AssertionError, match="reach"):
        check_channel(bumped(text, CHANNEL_ROWS[0], reach))
    row = next(r for r in DEFAULT_ROWS if NUMBER.search(r.cells[1]))
    with pytest.raises(AssertionError, match=re.escape(row.cells[0])):
        check_default(bumped(text, row, 1))
