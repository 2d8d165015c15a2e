"""A scenario file loaded: read, checked to be a scenario file, its base market (and
that base's base) read down the chain and merged under it, and the result validated
once; a problem is named in the file it comes from."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError, cut_middle, shown
from sim.filekinds import SCENARIO, a, expect_kind, kind_of
from sim.scenario.model import Scenario, scenario_from_dict
from sim.scenario.reading import read_toml


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file, with its base market if it names one.

    `[scenario] base = "baseline.toml"` (relative to the file's folder, or absolute) makes
    the file a set of changes to another scenario file, so a question asked of the
    calibrated market stays on it when the baseline is re-fitted. Bases are read down the
    chain (at most MAX_BASE_DEPTH, no cycles), merged by `_merged_bases` and validated
    once, exactly as a file without a base; a problem is named in the file it comes from.
    This is the only place base files are read.

    Raises:
        ScenarioError: a file is missing, is not valid TOML, or a field is invalid.
    """
    chain = [(str(path), read_toml(path, "scenario"))]
    expect_kind(chain[0][1], str(path), SCENARIO)
    while (base := _base_path(*chain[-1])) is not None:
        named_by = chain[-1][0]
        _check_base_chain(named_by, base, [src for src, _ in chain])
        try:
            os.stat(base)
        except FileNotFoundError:
            raise ScenarioError(
                named_by,
                "scenario.base",
                f"base file {cut_middle(str(base), 160)!r} not found; give the path of a "
                "scenario file, relative to this file's folder or absolute (or remove base)",
            ) from None
        except (OSError, ValueError):
            pass  # a name too long and the like: read_toml says what is wrong
        try:
            chain.append((str(base), read_toml(base, "scenario")))
        except ScenarioError as exc:
            raise _in_base(exc, named_by) from None
        found = kind_of(chain[-1][1])
        if found != SCENARIO:
            raise ScenarioError(
                named_by,
                "scenario.base",
                f"{cut_middle(str(base), 160)} is {a(found.name)}; a base must be a scenario file",
            )
    try:
        return scenario_from_dict(_merged_bases(chain), str(path), Path(path).parent)
    except ScenarioError as exc:
        raise _named_in_its_file(exc, chain) from None


#: How many base files a scenario may stack (the file's base, that base's base, ...).
MAX_BASE_DEPTH = 5
#: Keys of the top-level [scenario] table that each file gives for itself, never its base.
OWN_KEYS = ("name", "description")


def _base_path(source: str, data: dict[str, Any]) -> Path | None:
    """The base file that `data` (read from `source`) names in [scenario] base, resolved
    against `source`'s folder; None without one. A base given outside [scenario], or not
    as a path string, is a one-line error naming `source`."""
    if "base" in data:
        raise ScenarioError(
            source, "base", 'write it in the [scenario] table: [scenario] base = "baseline.toml"'
        )
    head = data.get("scenario")
    if not isinstance(head, dict) or "base" not in head:
        return None
    base = head["base"]
    if not isinstance(base, str) or not base.strip() or "\0" in base:
        raise ScenarioError(
            source,
            "scenario.base",
            'must be the path of a scenario file, e.g. base = "baseline.toml" '
            f"(found {shown(base)})",
        )
    return Path(source).parent / base  # an absolute base stays as it is


def _check_base_chain(source: str, base: Path, chain: list[str]) -> None:
    """Refuse a base that is already in the chain (a cycle: it would never end) or one
    more than MAX_BASE_DEPTH deep (a chain that long is more likely a mistake than a
    design); `source` is the file naming `base`, `chain` the files read so far."""
    names = [Path(src).name for src in chain] + [base.name]
    if os.path.realpath(base) in [os.path.realpath(src) for src in chain]:
        raise ScenarioError(
            source,
            "scenario.base",
            f"the bases form a cycle ({' -> '.join(names)}); remove the base of one of them",
        )
    if len(chain) > MAX_BASE_DEPTH:
        raise ScenarioError(
            source,
            "scenario.base",
            f"more than {MAX_BASE_DEPTH} bases stacked ({' -> '.join(names)}); "
            "give one of them the tables of its base instead",
        )


def _merged_bases(chain: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One scenario dict from a file and its bases (`chain`: the file first, its deepest
    base last), each file's tables merged over its base's by `_merge_over`."""
    top_folder = Path(chain[0][0]).parent
    data: dict[str, Any] = {}
    for source, raw in reversed(chain):
        data = _merge_over(data, _own_paths(_without_base(raw), Path(source).parent, top_folder))
    return data


def _without_base(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its [scenario] base key (the chain has been read already)."""
    head = data.get("scenario")
    if not isinstance(head, dict) or "base" not in head:
        return data
    return {**data, "scenario": {k: v for k, v in head.items() if k != "base"}}


def _own_paths(data: dict[str, Any], folder: Path, top_folder: Path) -> dict[str, Any]:
    """`data` with a relative graph file path (network.path, relative to `folder`, the
    folder of the file that gives it) made relative to `top_folder`, the folder of the
    file being loaded, which the validated scenario resolves it against."""
    net = data.get("network")
    if folder == top_folder or not isinstance(net, dict) or not isinstance(net.get("path"), str):
        return data
    if Path(net["path"]).is_absolute():
        return data
    try:
        path = os.path.relpath(folder / net["path"], top_folder)
    except ValueError:  # another drive (Windows): no relative path exists
        path = str(Path(os.path.abspath(folder / net["path"])))
    return {**data, "network": {**net, "path": path}}


def _merge_over(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top`'s scenario (one file) merged over `base`'s (its base market).

    Tables merge key by key, at any depth; any other value replaces the base's, arrays
    included, so `[[vendors]]` in `top` replaces the base's vendors whole (vendors are the
    strategies a file compares: merging them by position would mix two files' vendors).
    [scenario]'s name and description are `top`'s own, never inherited. A [scenario] key
    may be written at the top of a file instead (scenario_from_dict takes both): `top`'s
    overrides the base's either way.
    """
    top_head = top.get("scenario") if isinstance(top.get("scenario"), dict) else {}
    given = {k for k, v in top.items() if not isinstance(v, dict | list)} | set(top_head)
    dropped = given | set(OWN_KEYS)  # [scenario] keys the base must not give
    base = {k: v for k, v in base.items() if k not in dropped or isinstance(v, dict | list)}
    if isinstance(base.get("scenario"), dict):
        base["scenario"] = {k: v for k, v in base["scenario"].items() if k not in dropped}
    return _deep_merge(base, top)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in `top` replaces the base's."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _in_base(exc: ScenarioError, named_by: str) -> ScenarioError:
    """`exc`, raised for a base file, saying which file named that base."""
    return ScenarioError(exc.source, exc.field, f"{exc.problem} (the base of {named_by})")


def _named_in_its_file(
    exc: ScenarioError, chain: list[tuple[str, dict[str, Any]]]
) -> ScenarioError:
    """`exc` (raised for the merged scenario, naming the loaded file) naming instead the
    file the offending field comes from: the first file of the chain (the loaded file,
    then its bases) that gives that field or a table or array around it. A field no file
    gives (a default, a required field) stays the loaded file's."""
    parts = [p for p in re.sub(r"\[[^\]]*\]", "", exc.field).split(".") if p]
    if not parts or len(chain) == 1:
        return exc
    paths = [parts, parts[1:] if parts[0] == "scenario" else ["scenario", *parts]]
    for i, (source, raw) in enumerate(chain):
        if not any(path and _gives(raw, path) for path in paths):
            continue
        if i == 0:
            return exc
        return _in_base(ScenarioError(source, exc.field, exc.problem), chain[i - 1][0])
    return exc


def _gives(data: dict[str, Any], parts: list[str]) -> bool:
    """Whether a file's raw `data` gives the value at the key path `parts`: the key
    itself, or a non-table value above it (an array, which replaces whole)."""
    node: Any = data
    for part in parts:
        if not isinstance(node, dict):
            return True
        if part not in node:
            return False
        node = node[part]
    return True
