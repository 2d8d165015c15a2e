"""Reading an input file safely: only a regular file of bounded size is read (a device,
pipe or folder is refused without reading from it), and TOML is parsed with its nesting
bounded. Scenario, sweep, study and targets files, and graph files, are read here."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError

#: The largest scenario, sweep or targets file that is read (the baseline is 7 KB; a
#: scenario with 1,000 vendors about 100 KB).
MAX_TOML_BYTES = 10 * 2**20
#: The deepest nesting of tables and arrays a file may have (scenarios use 4).
MAX_NESTING = 20


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 2**10:,.1f} KB"


def read_file_bytes(path: str | Path, kind: str, limit: int, field: str = "") -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    A device (/dev/zero), a named pipe, a socket or a folder is refused without reading
    from it (a pipe is opened without blocking), and so is a file larger than `limit`: a
    ScenarioError naming the file, with `kind` saying what file was expected.
    """
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ScenarioError(
            name, field, f"file not found; give the path of a {kind} file"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(name, field, f"is a folder; give the path of a {kind} file") from None
    except PermissionError:
        raise ScenarioError(name, field, "permission denied; cannot read this file") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it, a loop of links
        why = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(name, field, f"cannot open it ({why})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(name, field, f"is a folder; give the path of a {kind} file")
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(
                name,
                field,
                f"not a regular file (a device, pipe or socket); give the path of a {kind} file",
            )
        too_big = f"is {{}}; a {kind} file may be at most {_size(limit)} (is it the right file?)"
        if st.st_size > limit:
            raise ScenarioError(name, field, too_big.format(_size(st.st_size)))
        chunks, total = [], 0
        while total <= limit:  # the file may grow while it is read
            chunk = os.read(fd, min(limit + 1 - total, 2**20) or 1)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise ScenarioError(name, field, too_big.format(f"more than {_size(limit)}"))
        return b"".join(chunks)
    except OSError as exc:  # EIO and the like
        raise ScenarioError(name, field, f"cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _nesting(data: Any) -> int:
    """How deeply tables and arrays nest in parsed TOML (without recursion)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        if isinstance(node, dict):
            todo.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            todo.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return deepest


def read_toml(path: str | Path, kind: str) -> dict[str, Any]:
    """Parse a TOML file; a missing, undecodable or malformed file is a ScenarioError
    naming the file (`kind` says what file was expected: scenario, sweep...).

    Only a regular file of at most MAX_TOML_BYTES is read; a UTF-8 byte-order mark is
    skipped; tables and arrays may nest at most MAX_NESTING deep.
    """
    raw = read_file_bytes(path, f"{kind} .toml", MAX_TOML_BYTES)
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is skipped
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "not a UTF-8 text file") from None
    too_deep = f"tables and arrays nest more than {MAX_NESTING} levels deep; is it the right file?"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(str(path), "", too_deep) from None
    if _nesting(data) > MAX_NESTING:
        raise ScenarioError(str(path), "", too_deep)
    return data
