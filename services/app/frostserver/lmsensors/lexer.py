"""Split a configuration file into statements of tokens, the way libsensors' scanner (conf-lex.l) does.

A statement starts with a keyword at the beginning of a logical line and ends at the end of the line;
a backslash at the end of a line (blanks may follow it) continues the statement on the next line.
`#` starts a comment up to the end of the line, which also ends the statement.  Within a statement:
numbers (`10`, `10.4`, `.4`; not `10.` nor `1e3`), bare names of letters, digits and underscores,
double-quoted strings with C escapes, and the operators + - * / ( ) , @ ^ and the backquote.

Like flex, a bare word and a number compete for the longest match: `10` is a number, `10E4` and
`3in` are names.  A lexical error spoils only its own statement: the rest of that physical line is
skipped and the next line starts afresh, as libsensors' ERR state does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokens import Kind, ParseError, Token

KEYWORDS = frozenset({"bus", "chip", "compute", "ignore", "label", "set"})
OPERATORS = frozenset("+-*/(),@^`")

# libsensors' BLANK: any whitespace but the newline (so CRLF files read fine).
BLANKS = " \f\r\t\v"

_FLOAT = re.compile(r"[0-9]*\.?[0-9]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")  # flex's [[:alnum:]_] in the C locale: ASCII only
_BAD_NUMBER = re.compile(r"[0-9]*\.")  # "10." -- flex has an explicit error rule for it
_KEYWORD = re.compile(r"[a-z]+")

# A backslash inside quotes, then one of these letters: the C control character.
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@dataclass(frozen=True)
class Statement:
    """One statement: its keyword, the tokens after it, and the lexical error that cut it short."""

    keyword: Token
    tokens: tuple[Token, ...]
    end_line: int  # the line the statement ends on (continuations make it later than keyword.line)
    error: ParseError | None = None


def lex(text: str) -> tuple[list[Statement], list[ParseError]]:
    """Split `text` into statements; errors outside any statement (a bad keyword) come separately."""
    return _Scanner(text).run()


class _Scanner:
    """A hand-written version of conf-lex.l's three states: between statements, within one, in quotes."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.statements: list[Statement] = []
        self.errors: list[ParseError] = []

    def run(self) -> tuple[list[Statement], list[ParseError]]:
        while self._skip_to_statement():
            # Like flex: the keyword rule wins only if no longer run of letters matches ("labels").
            match = _KEYWORD.match(self.text, self.pos)
            word = match.group() if match else ""
            if word not in KEYWORDS:
                self.errors.append(ParseError(self.line, _unknown_keyword(self._word_at_pos())))
                self._skip_rest_of_line()
                continue
            self.pos += len(word)
            self._statement(Token(Kind.KEYWORD, word, self.line))
        return self.statements, self.errors

    def _word_at_pos(self) -> str:
        """Return the bare word (or the single character) at the current position, for a message."""
        match = _WORD.match(self.text, self.pos)
        return match.group() if match else self.text[self.pos]

    def _skip_to_statement(self) -> bool:
        """Skip blanks, empty lines and comments; tell whether a statement starts here."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in BLANKS:
                self.pos += 1
            elif char == "\n":
                self.pos += 1
                self.line += 1
            elif char == "#":
                self._skip_rest_of_line()
            else:
                return True
        return False

    def _skip_rest_of_line(self) -> None:
        """Move to the newline ending this physical line (left for the caller), or to the end."""
        newline = self.text.find("\n", self.pos)
        self.pos = len(self.text) if newline < 0 else newline

    def _statement(self, keyword: Token) -> None:
        """Scan the tokens after a keyword up to the end of the logical line."""
        tokens: list[Token] = []
        try:
            while (token := self._next_token()) is not None:
                tokens.append(token)
        except ParseError as error:
            self._skip_rest_of_line()
            self.statements.append(Statement(keyword, tuple(tokens), self.line, error))
            return
        self.statements.append(Statement(keyword, tuple(tokens), self.line))

    def _next_token(self) -> Token | None:
        """Return the statement's next token, or None at its end (newline, comment or end of text)."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in BLANKS:
                self.pos += 1
            elif char == "\n":
                return None  # the newline itself is eaten between statements, which counts the line
            elif char == "#":
                self._skip_rest_of_line()
                return None
            elif char == "\\":
                self._continuation()
            elif char == '"':
                return self._quoted()
            elif char in OPERATORS:
                self.pos += 1
                return Token(Kind.OPERATOR, char, self.line)
            else:
                return self._word_or_number()
        return None

    def _continuation(self) -> None:
        """Eat a backslash that ends the line (blanks may follow it) and the newline after it."""
        end = self.pos + 1
        while end < len(self.text) and self.text[end] in BLANKS:
            end += 1
        if end >= len(self.text) or self.text[end] != "\n":
            raise ParseError(self.line, "a backslash outside quotes may only end a line (to continue it)")
        self.pos = end + 1
        self.line += 1

    def _word_or_number(self) -> Token:
        """Scan a number or a bare name, taking the longest match as flex does (a number wins a tie)."""
        start = self.pos
        candidates = [(m.end(), rule) for rule, m in self._rules_matching(start) if m is not None]
        if not candidates:
            raise ParseError(self.line, f"unexpected character {self.text[start]!r}")
        end, rule = max(candidates, key=lambda candidate: candidate[0])  # max() keeps the first of a tie
        word = self.text[start:end]
        self.pos = end
        if rule is _FLOAT:
            return Token(Kind.NUMBER, word, self.line, float(word))
        if rule is _WORD:
            return Token(Kind.NAME, word, self.line)
        raise ParseError(self.line, f"malformed number {word!r} (write {word}0 or {word[:-1]})")

    def _rules_matching(self, start: int) -> list[tuple[re.Pattern[str], re.Match[str] | None]]:
        return [(rule, rule.match(self.text, start)) for rule in (_FLOAT, _WORD, _BAD_NUMBER)]

    def _quoted(self) -> Token:
        """Scan a double-quoted string with C escapes; it must close on the same line."""
        line = self.line
        text = self.text
        pos = self.pos + 1
        chars: list[str] = []
        while pos < len(text):
            char = text[pos]
            if char == "\n":
                self.pos = pos
                raise ParseError(line, "no closing double quote on this line")
            if char == '"':
                if text.startswith('"', pos + 1):
                    self.pos = pos
                    raise ParseError(line, "quoted strings must be separated by whitespace")
                self.pos = pos + 1
                return Token(Kind.NAME, "".join(chars), line)
            if char == "\\" and pos + 1 < len(text):
                escaped = text[pos + 1]
                if escaped == "\n":  # no continuation inside quotes
                    self.pos = pos
                    raise ParseError(line, "no closing double quote on this line")
                chars.append(_ESCAPES.get(escaped, escaped))
                pos += 2
                continue
            chars.append(char)
            pos += 1
        self.pos = pos
        raise ParseError(line, "the file ends inside a quoted string (no closing double quote)")


def _unknown_keyword(word: str) -> str:
    """Explain a statement that does not start with a keyword."""
    if word == "\\":
        return "a line cannot start with a backslash (continue a statement by ending its line with one)"
    return f"unknown keyword {word!r}: a statement starts with chip, label, compute, ignore, set or bus"
