"""The one output writer: every file a command writes goes through here.

Each file is written under a temporary name in its own folder (`.NAME.PID.tmp`), then
renamed into place, so a reader sees the old file or the new one, never a half-written
one. A failure while writing (a full disk, no permission, a path under /proc, a file size
limit) removes the temporary file and raises `WriteError`: one line naming the file and the
cause, exit code 2 at the command line (it is a FolderError, hence a ScenarioError).

    write_text(path, text)            write_bytes(path, data)
    write_json(path, data)            write_csv(path, frame)
    write_parquet(path, frame)        write_figure(path, figure)
    with staged(path) as tmp: ...     # anything else that writes a file by name

Nothing heavy is imported here; pandas and matplotlib objects are only called.
"""

from __future__ import annotations

import errno
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analysis.engine.folders import FolderError, oserror_message


class WriteError(FolderError):
    """A file could not be written; nothing half-written is left. One line, exit code 2.

    `path` is the file, `oserror` what the operating system said."""

    def __init__(self, path: Path, problem: str, oserror: OSError) -> None:
        super().__init__(path, problem)
        self.path = path
        self.oserror = oserror


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name[:200]}.{os.getpid()}.tmp")


def _failure(path: Path, exc: OSError) -> WriteError:
    what = "permission denied; choose a writable place" if isinstance(exc, PermissionError) else (
        f"cannot write ({oserror_message(exc)})"
    )  # fmt: skip
    return WriteError(path, f"{what}; nothing half-written was left", exc)


@contextmanager
def _file_size_signal_ignored() -> Iterator[None]:
    """A file size limit (ulimit -f) ends a process with SIGXFSZ unless it is ignored;
    ignored, the write fails with EFBIG like any other full disk."""
    if not hasattr(signal, "SIGXFSZ"):
        yield
        return
    try:
        before = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave the signal as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGXFSZ, before)


@contextmanager
def staged(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it into place.

    The folder is made if missing. On any failure the temporary file is removed; an
    OSError becomes a WriteError naming `path`.
    """
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        with _file_size_signal_ignored():
            path.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if exc.errno == errno.EPIPE:
            raise
        raise _failure(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def write_with(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write a file by calling `write(temporary_path)`, then rename it into place."""
    with staged(path) as tmp:
        write(tmp)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(
    path: str | Path, data: Any, indent: int = 2, sort_keys: bool = False, default: Any = str
) -> Path:
    """Write plain data as JSON (with a final newline) atomically."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=default) + "\n"
    return write_text(path, text)


def write_csv(path: str | Path, frame: Any, index: bool = False, **options: Any) -> Path:
    """Write a DataFrame as CSV atomically (pandas' to_csv options pass through)."""
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=index, **options))


def write_parquet(path: str | Path, frame: Any) -> Path:
    """Write a DataFrame as Parquet (zstd, no index) atomically; the same frame gives the
    same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_figure(path: str | Path, figure: Any, **options: Any) -> Path:
    """Save a matplotlib figure atomically (the format from the file name's suffix)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return write_with(path, lambda tmp: figure.savefig(tmp, format=fmt, **options))
