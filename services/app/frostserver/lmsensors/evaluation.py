"""Evaluate a compute expression safely: a walk over the syntax tree, never Python's eval.

Errors follow libsensors' sensors_eval_expr (lib/access.c): division by zero is an error, and so is
an unknown name.  Deliberate difference: ln(0) is an error here too (libsensors only refuses a
negative argument and hands back -inf), since no reading is -inf.

Names are read through the caller's `lookup`, which may itself evaluate another compute statement
(`compute in1 @ - in0_input, ...`).  libsensors bounds that chain at DEPTH_MAX = 8 nested reads to
catch circular references; the depth lives in a context variable so that the bound holds across
the caller's own lookup functions without them passing anything along.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable

from .expressions import Binary, Expression, Name, Number, Raw, Unary

# libsensors' DEPTH_MAX: a value read at this nesting depth of name references fails.
MAX_REFERENCE_DEPTH = 8

Lookup = Callable[[str], float]

_reference_depth: contextvars.ContextVar[int] = contextvars.ContextVar("lmsensors_reference_depth", default=0)


class ComputeError(Exception):
    """An expression that has no value: division by zero, ln of <= 0, an unknown name, a cycle."""


def evaluate(expression: Expression, at: float, lookup: Lookup) -> float:
    """Return the expression's value with `@` = `at`, reading other names through `lookup`."""
    match expression:
        case Number(value):
            return value
        case Raw():
            return at
        case Name(name):
            return _read_name(name, lookup)
        case Unary(operator, operand):
            return _unary(operator, evaluate(operand, at, lookup))
        case Binary(operator, left, right):
            return _binary(operator, evaluate(left, at, lookup), evaluate(right, at, lookup))
    raise AssertionError(expression)  # pragma: no cover - the match is exhaustive


def _read_name(name: str, lookup: Lookup) -> float:
    """Read a name one reference level deeper, refusing the level libsensors refuses."""
    depth = _reference_depth.get() + 1
    if depth >= MAX_REFERENCE_DEPTH:
        raise ComputeError(
            f"reading {name!r} nests name references {depth} deep (libsensors allows "
            f"{MAX_REFERENCE_DEPTH - 1}): is there a circular reference between compute statements?"
        )
    token = _reference_depth.set(depth)
    try:
        return float(lookup(name))
    except KeyError:
        raise ComputeError(f"unknown name {name!r}: this chip has no such (sub)feature") from None
    finally:
        _reference_depth.reset(token)


def _unary(operator: str, value: float) -> float:
    if operator == "-":
        return -value
    if operator == "^":
        try:
            return math.exp(value)
        except OverflowError:
            raise ComputeError(f"^{value:g} (e to the {value:g}) is too large") from None
    if operator == "`":
        if value <= 0:
            raise ComputeError(f"`{value:g} (natural logarithm) needs a positive argument")
        return math.log(value)
    raise AssertionError(operator)  # pragma: no cover - the parser makes no other


def _binary(operator: str, left: float, right: float) -> float:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if operator == "/":
        if right == 0:
            raise ComputeError(f"division by zero ({left:g} / 0)")
        return left / right
    raise AssertionError(operator)  # pragma: no cover - the parser makes no other
