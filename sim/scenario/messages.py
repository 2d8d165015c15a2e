"""Validation problems in the words of one line: how a scenario (or study file) model
raises a message that is complete as written (`problem`), and how a pydantic error
becomes the key's path in the file (`field_path`) and what is wrong (`describe_error`).

Study files (analysis.engine.studyfile) word their errors with the same helpers.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from sim.errors import printable, shown


def problem(message: str, *at: str | int) -> PydanticCustomError:
    """A validation error whose message is complete as written (`describe_error` adds nothing).

    `at` continues the error's location below the model that raises it, so a check that
    needs several fields (a model validator) can still name the one field to fix.
    """
    return PydanticCustomError("scenario", "{problem}", {"problem": message, "at": at})


def field_path(loc: tuple[Any, ...], data: dict[str, Any]) -> str:  # noqa: D417
    """Turn a pydantic error location into `vendors[2].channel_mix.x` (or the vendor name)."""
    out = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            name = None
            is_seq = isinstance(node, list | tuple)
            if is_seq and part < len(node) and isinstance(node[part], dict):
                name = node[part].get("name")
            if name is not None:
                name = printable(str(name), 30)
            out += f"[{part}]" if name is None else f"[{part}:{name}]"
            node = node[part] if is_seq and part < len(node) else None
        else:
            out += ("." if out else "") + printable(str(part), 60)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def describe_error(
    err: dict[str, Any], example: str = "scenarios/baseline.toml", bounds_note: bool = True
) -> str:
    """A pydantic error (one of ValidationError.errors()) in the words of a one-line
    message; `example` is the file an unknown key's message points to, `bounds_note`
    says why a number is bounded (the scenario's money and weights)."""
    kind = err.get("type", "")
    found = err.get("input")
    value = shown(found) if not isinstance(found, dict | list | tuple) else type(found).__name__
    if kind == "extra_forbidden":
        return f"unknown key; remove it or check its spelling (see {example})"
    if kind == "missing":
        return "required field is missing"
    if kind == "scenario":
        return str(err["ctx"]["problem"])
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    msg = msg.replace("Input should be ", "must be ").replace("greater than or equal to", ">=")
    msg = msg.replace("less than or equal to", "<=").replace("greater than", ">")
    msg = msg.replace("less than", "<")
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type", "int_from_float"):
        return f"must be a number, found {value}"
    if kind in ("less_than_equal", "greater_than_equal") and isinstance(found, int | float):
        ctx = err.get("ctx", {})
        op, bound = ("<=", ctx.get("le")) if kind == "less_than_equal" else (">=", ctx.get("ge"))
        if isinstance(bound, float):
            msg = f"must be {op} {bound:g}"
        why = "; numbers are bounded so that spend, revenue and ROI stay finite"
        return f"{msg} (found {value}{why if bounds_note else ''})"
    return f"{msg} (found {value})"
