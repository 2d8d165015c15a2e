"""The condition language of `run.py discover --when`: small and safe (nothing is passed
to eval), evaluated per case on arrays.

    condition  := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | comparison
    comparison := sum (">" | ">=" | "<" | "<=" | "==" | "!=") sum
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | NUMBER | OUTCOME | "(" sum ")"
    OUTCOME    := NAME ["@" AXIS=VALUE ("," AXIS=VALUE)*]

NAME is an outcome of analysis.studies.sensitivity.outcomes (METRIC.VENDOR such as
conversions.Challenger, roi.AnalystLed, or a market outcome such as no_decision_share);
`@mix=community` takes it from the variant whose axis `mix` has the value `community`,
for the same replication and the same uncertainty point as the other side. Put spaces
around a minus sign after a selector (`a@mix=x - b`; `x-b` would read as the value).

A condition is at most MAX_EXPR characters and MAX_DEPTH levels deep (parentheses, `not`,
unary minus): every problem is one ExprError line saying where and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from analysis.studies.discover.spec import EXAMPLE

MAX_EXPR = 1000
#: the deepest nesting of parentheses, `not` and unary minus a condition may have
MAX_DEPTH = 50
_COMPARE = (">", ">=", "<", "<=", "==", "!=")
_KEYWORDS = ("and", "or", "not")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ref>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*
        (?:@[A-Za-z0-9_.-]+=[A-Za-z0-9_.+-]+(?:,[A-Za-z0-9_.-]+=[A-Za-z0-9_.+-]+)*)?)
  | (?P<op>>=|<=|==|!=|>|<|\+|-|\*|/|\(|\))
    """,
    re.VERBOSE,
)


class ExprError(Exception):
    """A condition that does not parse or does not fit the sweep: one line, exit code 2."""


class TooDeep(ExprError):
    """A condition nested more than MAX_DEPTH levels (no other reading of it can help)."""


@dataclass(frozen=True)
class Ref:
    """An outcome of one variant: NAME@axis=value,..."""

    name: str
    selectors: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        sel = ",".join(f"{a}={v}" for a, v in self.selectors)
        return f"{self.name}@{sel}" if sel else self.name


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) tokens; an unknown character is an ExprError."""
    if len(text) > MAX_EXPR:
        raise ExprError(f"the condition is {len(text):,} characters; at most {MAX_EXPR:,}")
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(
                f"unexpected {text[pos]!r} at character {pos + 1}; allowed: outcomes, numbers, "
                f"+ - * / ( ), {' '.join(_COMPARE)}, and or not"
            )
        kind = m.lastgroup
        if kind != "space":
            value = m.group()
            if kind == "ref" and value in _KEYWORDS:
                kind = "kw"
            elif kind == "ref" and "@" in value and value.endswith("@"):
                raise ExprError(f"{value!r}: '@' needs AXIS=VALUE after it")
            out.append((kind, value, pos))
        pos = m.end()
    # an '@' not followed by axis=value leaves the '@' unmatched above
    return out


class _Parser:
    """Recursive descent over the tokens; `depth` counts the nesting it is inside."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str) -> ExprError:
        tok = self.peek()
        if tok is None:
            return ExprError(f"the condition ends where {expected} is expected")
        return ExprError(f"expected {expected} at character {tok[2] + 1}, found {tok[1]!r}")

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper (a parenthesis, `not` or unary minus); past MAX_DEPTH, TooDeep."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TooDeep(
                    f"the condition is nested more than {MAX_DEPTH} levels deep (parentheses, "
                    "'not' or '-'); write it with fewer levels"
                )
            yield
        finally:
            self.depth -= 1

    # condition level (booleans)
    def condition(self):
        node = self.conj()
        while self.at("kw", "or"):
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self):
        node = self.neg()
        while self.at("kw", "and"):
            self.take()
            node = ("and", node, self.neg())
        return node

    def neg(self):
        if self.at("kw", "not"):
            self.take()
            with self.nested():
                return ("not", self.neg())
        if self.at("op", "("):  # a parenthesised condition or the start of a sum
            save = self.i
            self.take()
            try:
                with self.nested():
                    node = self.condition()
                if self.at("op", ")"):
                    self.take()
                    if not (self.peek() and self.peek()[1] in _COMPARE + ("+", "-", "*", "/")):
                        return node
            except TooDeep:
                raise
            except ExprError:
                pass
            self.i = save
        return self.comparison()

    def comparison(self):
        left = self.sum()
        tok = self.peek()
        if tok is None or tok[1] not in _COMPARE:
            raise self.fail(f"a comparison ({' '.join(_COMPARE)})")
        self.take()
        return ("cmp", tok[1], left, self.sum())

    # numbers
    def sum(self):
        node = self.product()
        while self.peek() and self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            node = ("arith", op, node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self):
        tok = self.peek()
        if tok is None:
            raise self.fail("an outcome or a number")
        if tok[1] == "-" and tok[0] == "op":
            self.take()
            with self.nested():
                return ("neg", self.unary())
        if tok[0] == "number":
            self.take()
            return ("num", float(tok[1]))
        if tok[0] == "ref":
            self.take()
            return ("ref", _ref(tok[1]))
        if tok[1] == "(":
            self.take()
            with self.nested():
                node = self.sum()
            if not self.at("op", ")"):
                raise self.fail("')'")
            self.take()
            return node
        raise self.fail("an outcome or a number")


def _ref(text: str) -> Ref:
    """An OUTCOME token as a Ref; an axis selected twice is an ExprError."""
    name, _, sel = text.partition("@")
    pairs = tuple(tuple(s.split("=", 1)) for s in sel.split(",")) if sel else ()
    axes = [a for a, _ in pairs]
    if len(set(axes)) != len(axes):
        raise ExprError(f"{text!r} selects the same axis twice")
    return Ref(name, pairs)


def parse(text: str):
    """The condition as a tree of tuples; an ExprError says where and what is wrong."""
    if not text or not text.strip():
        raise ExprError(f"the condition is empty; e.g. {EXAMPLE}")
    p = _Parser(text)
    node = p.condition()
    if p.peek() is not None:
        raise p.fail("the end of the condition (or 'and', 'or')")
    return node


def refs(node) -> list[Ref]:
    """Every outcome the condition reads, in order, once each."""
    out: list[Ref] = []

    def walk(n):
        if n[0] == "ref":
            if n[1] not in out:
                out.append(n[1])
        elif n[0] in ("num",):
            return
        else:
            for child in n[1:]:
                if isinstance(child, tuple):
                    walk(child)

    walk(node)
    return out


def evaluate(node, values: dict[Ref, np.ndarray]) -> np.ndarray:
    """The condition per case (a boolean array) from each outcome's values per case."""
    kind = node[0]
    if kind == "num":
        return np.float64(node[1])
    if kind == "ref":
        return values[node[1]]
    if kind == "neg":
        return -evaluate(node[1], values)
    if kind == "arith":
        a, b = evaluate(node[2], values), evaluate(node[3], values)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[node[1]]
    if kind == "cmp":
        a, b = evaluate(node[2], values), evaluate(node[3], values)
        ops = {">": np.greater, ">=": np.greater_equal, "<": np.less}
        ops.update({"<=": np.less_equal, "==": np.equal, "!=": np.not_equal})
        return ops[node[1]](a, b)
    if kind == "not":
        return ~evaluate(node[1], values)
    a, b = evaluate(node[1], values), evaluate(node[2], values)
    return (a & b) if kind == "and" else (a | b)
