"""Evaluate a compute expression safely: a walk over the syntax tree, never Python's eval.

Errors follow libsensors' sensors_eval_expr (lib/access.c): division by zero is an error, and so is
an unknown name.  Deliberate differences: ln(0) is an error here too (libsensors only refuses a
negative argument and hands back -inf), and so is any operation whose result is not finite (an
overflow gives libsensors inf, and `sensors` prints it): no reading is NaN or infinite, and JSON
cannot carry either.

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


# The reason a reading gives when its computed value would be NaN or infinite (never served).
NOT_FINITE = "computed value is not finite"


class ComputeError(Exception):
    """An expression that has no value: division by zero, ln of <= 0, an unknown name, a cycle."""


def evaluate(expression: Expression, at: float, lookup: Lookup) -> float:
    """Return the expression's value with `@` = `at`, reading other names through `lookup`.

    Raises ComputeError and nothing else of its own: every operation's result is checked, so an
    overflow (`^^^^@`, `1e300*1e300`) or a NaN is an error here rather than a value served.
    A walk with a stack of its own, not recursion: the tree's depth never meets Python's limit.
    """
    values: list[float] = []
    pending: list[tuple[Expression, bool]] = [(expression, False)]  # (node, its operands are done)
    while pending:
        node, ready = pending.pop()
        match node:
            case Number(value):
                values.append(value)
            case Raw():
                values.append(_finite(at, "the value being translated"))
            case Name(name):
                values.append(_finite(_read_name(name, lookup), repr(name)))
            case Unary(operator, operand):
                if ready:
                    values.append(_unary(operator, values.pop()))
                else:
                    pending += [(node, True), (operand, False)]
            case Binary(operator, left, right):
                if ready:
                    right_value = values.pop()
                    values.append(_binary(operator, values.pop(), right_value))
                else:  # left is taken first, so names are read left to right
                    pending += [(node, True), (right, False), (left, False)]
            case _:  # pragma: no cover - the parser makes no other node
                raise AssertionError(node)
    (result,) = values
    return result


def _finite(value: float, what: str) -> float:
    """Pass a finite value through; say which operand is not finite otherwise."""
    if not math.isfinite(value):
        raise ComputeError(f"{NOT_FINITE}: {what} is {value}")
    return value


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
            result = math.exp(value)
        except OverflowError:
            raise ComputeError(f"{NOT_FINITE}: ^{value:g} (e to the {value:g}) is too large") from None
        return _checked(result, f"^{value:g}")
    if operator == "`":
        if value <= 0:
            raise ComputeError(f"`{value:g} (natural logarithm) needs a positive argument")
        return _checked(math.log(value), f"`{value:g}")
    raise AssertionError(operator)  # pragma: no cover - the parser makes no other


def _binary(operator: str, left: float, right: float) -> float:
    if operator == "+":
        result = left + right
    elif operator == "-":
        result = left - right
    elif operator == "*":
        result = left * right
    elif operator == "/":
        if right == 0:
            raise ComputeError(f"division by zero ({left:g} / 0)")
        result = left / right
    else:  # pragma: no cover - the parser makes no other
        raise AssertionError(operator)
    return _checked(result, f"{left:g} {operator} {right:g}")


def _checked(result: float, operation: str) -> float:
    """Refuse a result that overflowed: float arithmetic gives inf (or NaN) and raises nothing."""
    if not math.isfinite(result):
        raise ComputeError(f"{NOT_FINITE}: {operation} overflows")
    return result
