"""Compute and set expressions: a small syntax tree, and the parser that builds it from tokens.

The grammar is libsensors' (conf-parse.y): `+ -` bind loosest, then `* /`, all left-associative;
the prefix operators `-` (negate), `^` (e to the power) and `` ` `` (natural logarithm) bind tighter
than any binary operator, so `^x*2` is `exp(x)*2` and `-@/2` is `(-@)/2`.  Operands are numbers,
`@` (the value being translated) and names of other (sub)features such as `in0` or `temp1_input`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .tokens import Cursor, Kind, ParseError, Token

# Bounds on one expression, checked as it is parsed: no sensor formula comes near them (Debian's
# file has 4 operations at most), and within them parsing, evaluating, comparing and printing a
# tree stay far from Python's recursion limit. Depth counts both brackets and prefixes open at
# once and operations within operations, so a flat chain `a+b+c+...` (which nests to the left)
# is as deep as it is long; the node count bounds balanced trees, which are shallow but wide.
MAX_DEPTH = 32
MAX_NODES = 256

UNARY_OPERATORS = ("-", "^", "`")


@dataclass(frozen=True)
class Number:
    """A constant."""

    value: float


@dataclass(frozen=True)
class Raw:
    """`@`: the raw value (reading) or the real-world value (writing) being translated."""


@dataclass(frozen=True)
class Name:
    """The current value of another (sub)feature of the same chip."""

    name: str


@dataclass(frozen=True)
class Unary:
    """`-x`, `^x` (e to the x) or `` `x `` (ln x)."""

    operator: str
    operand: Expression


@dataclass(frozen=True)
class Binary:
    """`a + b`, `a - b`, `a * b` or `a / b`."""

    operator: str
    left: Expression
    right: Expression


Expression = Number | Raw | Name | Unary | Binary


def parse_expression(cursor: Cursor) -> Expression:
    """Parse one expression from the cursor, stopping before a token that cannot continue it.

    An expression beyond MAX_DEPTH or MAX_NODES is a ParseError, raised as soon as it is seen.
    """
    expression, _ = _Parser(cursor).sum(0)
    if cursor.at_operator(*UNARY_OPERATORS[1:]):
        token = cursor.take()
        raise ParseError(token.line, f"{token.text!r} is a prefix operator: write {token.text}x, not a {token.text} x")
    return expression


def to_text(expression: Expression) -> str:
    """Write an expression back with every operation in parentheses (for messages and tests)."""
    match expression:
        case Number(value):
            return f"{value:g}"
        case Raw():
            return "@"
        case Name(name):
            return name
        case Unary(operator, operand):
            return f"({operator}{to_text(operand)})"
        case Binary(operator, left, right):
            return f"({to_text(left)} {operator} {to_text(right)})"
    raise AssertionError(expression)  # pragma: no cover - the match is exhaustive


# What the parser builds: a subtree and its height (1 for a leaf).
_Built = tuple[Expression, int]


class _Parser:
    """Recursive descent with one function per precedence level.

    `depth` counts brackets and prefixes open around the current token (what the recursion costs);
    each node's height is built alongside it (what evaluating and comparing trees costs).
    """

    def __init__(self, cursor: Cursor):
        self.cursor = cursor
        self.nodes = 0

    def sum(self, depth: int) -> _Built:
        result = self.product(depth)
        while self.cursor.at_operator("+", "-"):
            token = self.cursor.take()
            result = self._binary(token, result, self.product(depth))
        return result

    def product(self, depth: int) -> _Built:
        result = self.prefixed(depth)
        while self.cursor.at_operator("*", "/"):
            token = self.cursor.take()
            result = self._binary(token, result, self.prefixed(depth))
        return result

    def prefixed(self, depth: int) -> _Built:
        if self.cursor.at_operator(*UNARY_OPERATORS):
            token = self.cursor.take()
            operand, height = self.prefixed(self._deeper(depth, token.line))
            return self._node(Unary(token.text, operand), height + 1, token)
        return self.operand(depth)

    def operand(self, depth: int) -> _Built:
        token = self.cursor.take()
        if token.kind is Kind.NUMBER:
            if not math.isfinite(token.value):
                raise ParseError(token.line, f"number {token.text[:20]}... is too large")
            return self._node(Number(token.value), 1, token)
        if token.kind is Kind.NAME:
            return self._node(Name(token.text), 1, token)
        if token.text == "@":
            return self._node(Raw(), 1, token)
        if token.text == "(":
            inner = self.sum(self._deeper(depth, token.line))
            self.cursor.expect_operator(")")
            return inner
        raise ParseError(token.line, f"expected a number, a name, '@' or '(', found {token.describe()}")

    def _binary(self, token: Token, left: _Built, right: _Built) -> _Built:
        return self._node(Binary(token.text, left[0], right[0]), max(left[1], right[1]) + 1, token)

    def _node(self, expression: Expression, height: int, token: Token) -> _Built:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParseError(
                token.line, f"expression has more than {MAX_NODES} numbers, names and operators: simplify it"
            )
        if height > MAX_DEPTH:
            raise ParseError(
                token.line,
                f"expression nests operations more than {MAX_DEPTH} deep (each term of a chain "
                "like a+b+c counts one): simplify it",
            )
        return expression, height

    @staticmethod
    def _deeper(depth: int, line: int) -> int:
        if depth >= MAX_DEPTH:
            raise ParseError(line, f"expression nested more than {MAX_DEPTH} levels deep")
        return depth + 1
