"""The one error of the model's input: a file or field that cannot be used, as one line
for the user (the file, the field, what is wrong and what to do), and the helpers that
make any value safe to print in such a line."""

from __future__ import annotations

from typing import Any

#: How many characters of a value an error message shows (a 100,000-character name
#: would otherwise make a 200 KB error line).
SHOWN_CHARS = 60


def printable(text: str, limit: int | None = None) -> str:
    """`text` safe for one terminal line: control characters (newlines, ANSI escapes, ...)
    written as escapes like repr does, and cut to `limit` characters with '...'."""
    if not text.isprintable():
        text = "".join(
            ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
        )
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 3, 0)] + "..."
    return text


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value as an error message shows it: its repr (strings quoted, control characters
    escaped), cut to `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        r = repr(value[:limit])
        return f"{r[:-1]}...{r[-1]} ({len(value):,} characters)"
    return printable(repr(value), limit)


def cut_middle(text: str, limit: int) -> str:
    """A long path keeps its start and its end (the file name)."""
    text = printable(text)
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + "..." + text[len(text) - (limit - head - 3) :]


class ScenarioError(ValueError):
    """A scenario (or sweep) file is unusable; the message is one line for the user.

    The parts are made safe for a terminal line: control characters escaped, a long path
    cut in the middle, a long field or problem cut at the end."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = cut_middle(str(source), 160)
        self.field = printable(str(field), 160)
        self.problem = printable(str(problem), 600)
        where = f"{self.source}: {self.field}: " if self.field else f"{self.source}: "
        super().__init__(where + self.problem)
