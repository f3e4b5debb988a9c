"""The tokens of one statement, and a cursor the statement and expression parsers read them with."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a token is; operators carry their character as the token's text."""

    KEYWORD = "keyword"  # chip, label, compute, ignore, set, bus: only first on a statement
    NAME = "name"  # bare [A-Za-z0-9_]+ or a double-quoted string (libsensors makes no difference)
    NUMBER = "number"
    OPERATOR = "operator"  # one of + - * / ( ) , @ ^ `


@dataclass(frozen=True)
class Token:
    """One token, with the line it starts on for problem reports."""

    kind: Kind
    text: str
    line: int
    value: float = 0.0  # a NUMBER's value

    def describe(self) -> str:
        """Say what this token is, for an error message."""
        if self.kind is Kind.NAME:
            return f"name {self.text!r}"
        if self.kind is Kind.NUMBER:
            return f"number {self.text}"
        return f"{self.text!r}"


class ParseError(Exception):
    """A statement that cannot be parsed; the parser turns it into a Problem and goes on."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class Cursor:
    """Read one statement's tokens left to right; running past the end is the end of the line."""

    def __init__(self, tokens: tuple[Token, ...], end_line: int):
        self._tokens = tokens
        self._index = 0
        self._end_line = end_line  # where "unexpected end of line" is reported

    def peek(self) -> Token | None:
        """Return the next token without taking it, or None at the end of the statement."""
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def at_operator(self, *operators: str) -> bool:
        """Tell whether the next token is one of these operators."""
        token = self.peek()
        return token is not None and token.kind is Kind.OPERATOR and token.text in operators

    def take(self) -> Token:
        """Take the next token; the statement ending here is a parse error."""
        token = self.peek()
        if token is None:
            raise ParseError(self._end_line, "unexpected end of line")
        self._index += 1
        return token

    def take_name(self, what: str) -> Token:
        """Take the next token, which must be a NAME (bare or quoted) standing for `what`."""
        token = self.take()
        if token.kind is not Kind.NAME:
            raise ParseError(token.line, f"expected {what}, found {token.describe()}")
        return token

    def expect_operator(self, operator: str) -> Token:
        """Take the next token, which must be this operator."""
        token = self.take()
        if token.kind is not Kind.OPERATOR or token.text != operator:
            raise ParseError(token.line, f"expected {operator!r}, found {token.describe()}")
        return token

    def expect_end(self) -> None:
        """Check that nothing is left on the statement."""
        token = self.peek()
        if token is not None:
            raise ParseError(token.line, f"unexpected {token.describe()} at the end of the statement")
