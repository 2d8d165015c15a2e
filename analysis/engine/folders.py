"""Output folders that stay trustworthy: checks before any work, and one writer at a time.

`check_out_dir` / `check_out_file` look at an output location before anything runs (an
existing file, a path below a file, a device such as /dev/null, a read-only place, a name
longer than the file system allows) and raise one line naming the path and the problem.

`folder_lock(DIR)` makes a process the only writer of an experiment folder. It takes an
`fcntl.flock` on `DIR/.lock`, which the kernel releases when the holder dies (kill -9
included), and keeps the holder's pid, host, start time, command and a token in the file:

- a second writer gets one line naming the holder (FolderBusy, exit code 2);
- a lock left by a holder that died is taken over with a one-line note;
- pool workers forked by the driver share the lock, so a folder whose driver was killed
  stays locked until its workers have exited (they watch their parent and exit within a
  second; a new writer waits a few seconds for them before it gives up);
- `still_owner(DIR, token)` lets a worker check, just before it commits a chunk, that the
  driver that gave it the chunk still holds the folder (a Dask worker on another host).

Nothing heavy is imported here.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.scenario import ScenarioError

LOCK_NAME = ".lock"
#: how long a new writer waits for the workers of a killed driver to exit (seconds)
ORPHAN_WAIT_S = 10.0
#: the longest name of one path component and of a whole path (Linux limits, in bytes)
NAME_MAX = 255
PATH_MAX = 4095


class FolderError(ScenarioError):
    """An output location that cannot be used; one line, exit code 2."""

    def __init__(self, path: str | Path, problem: str, flag: str = "") -> None:
        super().__init__(short(path), flag, problem)


class FolderBusy(FolderError):
    """Another process writes into the folder."""


def short(path: str | Path, limit: int = 160) -> str:
    """A path as printed in a one-line message: control characters escaped, long ones cut."""
    text = str(path)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > limit:
        text = f"{text[: limit // 2]}...{text[-limit // 4 :]} ({len(str(path)):,} characters)"
    return text


# ----------------------------------------------------------------------------- checks
def _name_problem(path: Path) -> str | None:
    raw = os.fsencode(path.absolute())
    if len(raw) > PATH_MAX:
        return f"the path is too long ({len(raw):,} bytes; the limit is {PATH_MAX:,})"
    longest = max((len(os.fsencode(p)) for p in path.parts), default=0)
    if longest > NAME_MAX:
        return f"a name in the path is too long ({longest:,} bytes; the limit is {NAME_MAX})"
    return None


def _writable(folder: Path) -> bool:
    """Whether new entries can be made in an existing folder (read-only file systems too)."""
    return os.access(folder, os.W_OK | os.X_OK)


def _existing_ancestor(path: Path, flag: str) -> Path:
    """The nearest part of `path` that exists; every existing part must be a folder."""
    for parent in (*reversed(path.absolute().parents), path.absolute()):
        if not parent.exists():
            break
        if not parent.is_dir():
            raise FolderError(path, f"{parent} is a file, so nothing can be written below it", flag)
    for candidate in (path.absolute(), *path.absolute().parents):
        if candidate.exists():
            return candidate
    return Path("/")  # pragma: no cover - the root exists


def check_out_dir(path: str | Path, flag: str = "--out") -> Path:
    """Check a results folder before any work: it is a folder (or can be made one) that
    this process can write. Raises FolderError naming the path and the problem."""
    path = Path(path)
    problem = _name_problem(path)
    if problem:
        raise FolderError(path, problem, flag)
    try:
        if path.exists() and not path.is_dir():
            kind = "a file" if path.is_file() else "not a folder (a device or special file)"
            raise FolderError(path, f"is {kind}; give a folder for the results", flag)
        base = _existing_ancestor(path, flag)
    except OSError as exc:
        raise FolderError(path, f"cannot be used ({exc.strerror or exc})", flag) from None
    if not _writable(base):
        where = "" if base == path.absolute() else f" (its folder {base} is read-only)"
        raise FolderError(path, f"cannot be written{where}; choose a writable folder", flag)
    return path


def check_out_file(path: str | Path, flag: str = "--out") -> Path:
    """Check a file to write (e.g. a report page) before any work."""
    path = Path(path)
    problem = _name_problem(path)
    if problem:
        raise FolderError(path, problem, flag)
    try:
        if path.is_dir():
            raise FolderError(path, "is a folder; give a file name (e.g. report.html)", flag)
        if path.exists() and not path.is_file():
            raise FolderError(path, "is not a regular file (a device or special file)", flag)
        base = _existing_ancestor(path.parent, flag) if path.parent != path else path
    except OSError as exc:
        raise FolderError(path, f"cannot be used ({exc.strerror or exc})", flag) from None
    if not _writable(base) or (path.exists() and not os.access(path, os.W_OK)):
        raise FolderError(path, "cannot be written; choose a writable place", flag)
    return path


def oserror_message(exc: OSError) -> str:
    """An OSError in a few words: 'No space left on device (ENOSPC)'."""
    name = errno.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    return f"{text} ({name})" if name else text


# ----------------------------------------------------------------------------- the lock
#: folders this process holds: resolved path -> [fd, depth, token]
_HELD: dict[str, list] = {}


def _host() -> str:
    return socket.gethostname()


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _read_holder(fd: int) -> dict:
    try:
        raw = os.pread(fd, 65536, 0)
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?"
    command = short(holder.get("command", "?"), 120)
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {when}, {command}"


def _command() -> str:
    return " ".join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return True  # no locking on this file system: the token check still guards
        raise
    return True


@contextmanager
def folder_lock(folder: str | Path, wait_orphans: float = ORPHAN_WAIT_S) -> Iterator[str]:
    """Hold the writer's lock of `folder` (made if missing); yields the holder's token.

    Re-entrant within a process. Raises FolderBusy (one line naming the holder) when
    another live process holds it.
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield _HELD[key][2]
        finally:
            _HELD[key][1] -= 1
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + wait_orphans
        unnamed_until = time.monotonic() + 2.0
        while not _try_flock(fd):
            holder = _read_holder(fd)
            pid = holder.get("pid")
            if pid is None and time.monotonic() < unnamed_until:
                time.sleep(0.02)  # the holder has just locked and is writing who it is
                continue
            same_host = holder.get("host") == _host()
            if same_host and isinstance(pid, int) and not _alive(pid):
                if time.monotonic() < deadline:
                    time.sleep(0.1)  # the killed driver's workers are exiting
                    continue
                raise FolderBusy(
                    folder,
                    f"still locked by the worker processes of {_describe(holder)}, which has "
                    "ended; they stop by themselves within seconds: run the command again",
                )
            raise FolderBusy(
                folder,
                f"in use by another run ({_describe(holder)}); wait for it to finish or stop "
                "it, then run the command again",
            )
        previous = _read_holder(fd)
        if previous.get("token"):
            print(
                f"note: {short(folder)}: taking over the lock left by {_describe(previous)}, "
                "which ended without releasing it",
                file=sys.stderr,
            )
        token = uuid.uuid4().hex
        me = {
            "pid": os.getpid(),
            "host": _host(),
            "started": time.time(),
            "command": _command()[:1000],
            "token": token,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode("utf-8"), 0)
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = [fd, 1, token]
    try:
        yield token
    finally:
        del _HELD[key]
        try:
            os.ftruncate(fd, 0)  # released cleanly: the next writer has nothing to take over
        except OSError:
            pass
        os.close(fd)  # closing the last descriptor of this process releases the flock


def still_owner(folder: str | Path, token: str) -> bool:
    """Whether the writer with `token` still holds `folder` (read from its lock file)."""
    if not token:
        return True
    try:
        raw = (Path(folder) / LOCK_NAME).read_bytes()
        return json.loads(raw.decode("utf-8")).get("token") == token
    except (OSError, ValueError, AttributeError):
        return False


# ----------------------------------------------------------------------------- simulate --out
#: what `run.py simulate --out` writes (anything else in the folder is someone else's)
SIMULATE_FILES = ("run.json", "scenario.toml")


class StagedOut:
    """The --out folder of `run.py simulate`, replaced whole or not at all.

    Checked before the run (a folder this process can write; empty, missing, or an
    earlier simulate output: run.json and the files simulate writes, nothing else). The
    tables are written into a staging folder next to it (`.<name>.<pid>.simulate.tmp`);
    `commit()` swaps it in, so an earlier run is replaced only once the new one is
    complete, and a failure (`discard()`) leaves the earlier run as it was. The touch table
    grows in a hidden temporary file inside --out while the model runs.
    """

    def __init__(self, out: str | Path, flag: str = "--out") -> None:
        self.out = check_out_dir(out, flag)
        self.flag = flag
        self.previous = _earlier_simulate(self.out, flag)
        tag = f"{self.out.name[:180]}.{os.getpid()}"
        self.stage = self.out.parent / f".{tag}.simulate.tmp"
        self._old = self.out.parent / f".{tag}.old.tmp"
        self.touches_tmp = self.out / f".touches.parquet.{os.getpid()}.tmp"
        self._made = [p for p in (self.out, *self.out.parents) if not p.exists()]
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.stage.mkdir()
        except OSError as exc:  # e.g. a path under /proc: no folder can be made there
            self.discard()
            raise FolderError(self.out, f"cannot be made ({oserror_message(exc)}); choose a "
                              "writable folder", flag) from None  # fmt: skip

    def commit(self) -> None:
        """Put the staged run in place of --out (the earlier run goes only now)."""
        import shutil

        self.touches_tmp.unlink(missing_ok=True)
        os.replace(self.out, self._old)
        try:
            os.replace(self.stage, self.out)
        except BaseException:
            os.replace(self._old, self.out)
            raise
        shutil.rmtree(self._old, ignore_errors=True)

    def discard(self) -> None:
        """Remove what this run wrote; --out stays as it was (or goes, if this run made it)."""
        import shutil

        shutil.rmtree(self.stage, ignore_errors=True)
        self.touches_tmp.unlink(missing_ok=True)
        for folder in self._made:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break

    def failure(self, exc: OSError) -> Exception:
        """The one-line error for a write that failed (after `discard`)."""
        if isinstance(exc, PermissionError):
            return PermissionError(exc.errno, exc.strerror, str(self.out))
        kept = "the earlier run in it is unchanged" if self.previous else "nothing was written"
        return FolderError(self.out, f"cannot write ({oserror_message(exc)}); {kept}", self.flag)


def _earlier_simulate(out: Path, flag: str) -> bool:
    """Whether --out holds an earlier simulate run; False for a missing or empty folder.
    Raises FolderError for a folder holding anything else."""
    if not out.exists():
        return False
    names = [p.name for p in out.iterdir()]
    if not names:
        return False
    foreign = [
        n
        for n in names
        if n not in SIMULATE_FILES
        and not n.endswith(".parquet")
        and not (n.startswith(".") and n.endswith(".tmp"))
    ]
    meta = None
    if "run.json" in names:
        try:
            meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
    if foreign or not isinstance(meta, dict) or "seed" not in meta:
        why = (
            f"it holds {short(foreign[0], 60)}"
            + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else "")
            if foreign
            else "no readable run.json"
        )
        raise FolderError(
            out,
            f"is not empty and not the output of an earlier `run.py simulate` ({why}); "
            "give a new or empty folder",
            flag,
        )
    return True
