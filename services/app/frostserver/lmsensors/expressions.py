"""Compute and set expressions: a small syntax tree, and the parser that builds it from tokens.

The grammar is libsensors' (conf-parse.y): `+ -` bind loosest, then `* /`, all left-associative;
the prefix operators `-` (negate), `^` (e to the power) and `` ` `` (natural logarithm) bind tighter
than any binary operator, so `^x*2` is `exp(x)*2` and `-@/2` is `(-@)/2`.  Operands are numbers,
`@` (the value being translated) and names of other (sub)features such as `in0` or `temp1_input`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tokens import Cursor, Kind, ParseError

# Deeper nesting than this is no sensor formula; refusing it keeps the recursive parser and
# evaluator far from Python's recursion limit.
MAX_NESTING = 64

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
    """Parse one expression from the cursor, stopping before a token that cannot continue it."""
    expression = _Parser(cursor).sum(0)
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


def names_in(expression: Expression) -> frozenset[str]:
    """Return the (sub)feature names an expression reads."""
    match expression:
        case Name(name):
            return frozenset({name})
        case Unary(_, operand):
            return names_in(operand)
        case Binary(_, left, right):
            return names_in(left) | names_in(right)
    return frozenset()


class _Parser:
    """Recursive descent with one function per precedence level; `depth` counts open nestings."""

    def __init__(self, cursor: Cursor):
        self.cursor = cursor

    def sum(self, depth: int) -> Expression:
        result = self.product(depth)
        while self.cursor.at_operator("+", "-"):
            operator = self.cursor.take().text
            result = Binary(operator, result, self.product(depth))
        return result

    def product(self, depth: int) -> Expression:
        result = self.prefixed(depth)
        while self.cursor.at_operator("*", "/"):
            operator = self.cursor.take().text
            result = Binary(operator, result, self.prefixed(depth))
        return result

    def prefixed(self, depth: int) -> Expression:
        if self.cursor.at_operator(*UNARY_OPERATORS):
            token = self.cursor.take()
            return Unary(token.text, self.prefixed(self._deeper(depth, token.line)))
        return self.operand(depth)

    def operand(self, depth: int) -> Expression:
        token = self.cursor.take()
        if token.kind is Kind.NUMBER:
            return Number(token.value)
        if token.kind is Kind.NAME:
            return Name(token.text)
        if token.text == "@":
            return Raw()
        if token.text == "(":
            inner = self.sum(self._deeper(depth, token.line))
            self.cursor.expect_operator(")")
            return inner
        raise ParseError(token.line, f"expected a number, a name, '@' or '(', found {token.describe()}")

    @staticmethod
    def _deeper(depth: int, line: int) -> int:
        if depth >= MAX_NESTING:
            raise ParseError(line, f"expression nested more than {MAX_NESTING} levels deep")
        return depth + 1
