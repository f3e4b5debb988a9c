"""Parse one configuration file's text into chip blocks, as libsensors' grammar (conf-parse.y) does.

Every statement that cannot be applied becomes a Problem with its file and line, and parsing goes
on at the next statement, as libsensors' `error EOL` rule recovers: one typo never loses the rest
of the file.  Problems are also made of statements that parse but do nothing here: `set` (FrostServer
never writes to the hardware), statements before the first `chip`, and patterns naming an i2c bus
number that no `bus` statement of the file binds.

Deliberate difference: when a `chip` statement holds a bad pattern, libsensors drops the statement
and the lines under it join the *previous* chip block; here they stay with this statement's valid
patterns (and with none, apply to no chip), so a typo never labels an unrelated chip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from .chip_patterns import ChipPattern, InvalidChipPattern, needs_bus_statement, parse_bus_id, parse_chip_pattern
from .config import SensorsConfig
from .expressions import parse_expression
from .lexer import Statement, lex
from .problem import Problem
from .statements import ChipBlock, Compute, Ignore, Label, SetStatement
from .tokens import Cursor, ParseError

NOT_APPLIED = "is not applied: FrostServer never writes to the hardware"


def parse_config(text: str, path: str = "<string>") -> SensorsConfig:
    """Parse one file's text; its bus statements apply to its own chip statements only."""
    statements, errors = lex(text)
    file = _FileParser(path)
    file.problems.extend(Problem(path, error.line, error.message) for error in errors)
    for statement in statements:
        file.add(statement)
    return file.finish()


@dataclass
class _OpenBlock:
    """A chip block whose statements are still being read."""

    line: int
    patterns: tuple[ChipPattern, ...]
    labels: list[Label] = field(default_factory=list)
    ignores: list[Ignore] = field(default_factory=list)
    computes: list[Compute] = field(default_factory=list)
    sets: list[SetStatement] = field(default_factory=list)


class _FileParser:
    """Collect one file's blocks, bus statements and problems, statement by statement."""

    def __init__(self, path: str):
        self.path = path
        self.blocks: list[_OpenBlock] = []
        self.buses: dict[int, str] = {}
        self.bus_lines: dict[int, int] = {}
        self.problems: list[Problem] = []

    def add(self, statement: Statement) -> None:
        """Parse one statement into the current block, or report why it cannot be."""
        keyword = statement.keyword
        handlers = {
            "label": self._label,
            "ignore": self._ignore,
            "compute": self._compute,
            "set": self._set,
            "bus": self._bus,
        }
        try:
            if keyword.text == "chip":
                self._chip(statement)
            elif statement.error is not None:
                raise statement.error
            else:
                handlers[keyword.text](Cursor(statement.tokens, statement.end_line), keyword.line)
        except ParseError as error:
            self._problem(error.line, f"{keyword.text} statement: {error.message}")

    def finish(self) -> SensorsConfig:
        """Close the file: check bus numbers against its bus statements and freeze the blocks."""
        buses = MappingProxyType(dict(self.buses))
        for block in self.blocks:
            for pattern in block.patterns:
                if needs_bus_statement(pattern, buses):
                    self._problem(block.line, _undeclared_bus(pattern))
        frozen = tuple(
            ChipBlock(
                self.path,
                block.line,
                block.patterns,
                buses,
                tuple(block.labels),
                tuple(block.ignores),
                tuple(block.computes),
                tuple(block.sets),
            )
            for block in self.blocks
        )
        problems = sorted(self.problems, key=lambda problem: problem.line)  # lexer errors came first
        return SensorsConfig(files=(self.path,), problems=tuple(problems), blocks=frozen)

    def _problem(self, line: int, message: str, *, unapplied: bool = False) -> None:
        self.problems.append(Problem(self.path, line, message, unapplied))

    def _current(self, keyword: str, line: int) -> _OpenBlock | None:
        """Return the block a statement belongs to; before the first chip statement there is none."""
        if not self.blocks:
            self._problem(line, f"{keyword} statement before the first chip statement applies to no chip")
            return None
        return self.blocks[-1]

    # One handler per statement: each takes the tokens after the keyword and checks the end itself.

    def _chip(self, statement: Statement) -> None:
        """Start a new block with the statement's valid patterns, even if the statement is broken."""
        patterns: list[ChipPattern] = []
        cursor = Cursor(statement.tokens, statement.end_line)
        try:
            while cursor.peek() is not None:
                token = cursor.take_name("a chip name")
                try:
                    patterns.append(parse_chip_pattern(token.text))
                except InvalidChipPattern as error:
                    self._problem(token.line, f"chip statement: {error}")
        finally:
            # Before any error propagates, so that the lines below never join the previous block.
            self.blocks.append(_OpenBlock(statement.keyword.line, tuple(patterns)))
        if statement.error is not None:
            raise statement.error
        if not statement.tokens:
            raise ParseError(statement.keyword.line, 'expected at least one chip name, e.g. chip "nct6779-*"')

    def _label(self, cursor: Cursor, line: int) -> None:
        feature = cursor.take_name("a feature name").text
        text = cursor.take_name("a label (in double quotes)").text
        cursor.expect_end()
        if block := self._current("label", line):
            block.labels.append(Label(feature, text, line))

    def _ignore(self, cursor: Cursor, line: int) -> None:
        feature = cursor.take_name("a feature name").text
        cursor.expect_end()
        if block := self._current("ignore", line):
            block.ignores.append(Ignore(feature, line))

    def _compute(self, cursor: Cursor, line: int) -> None:
        feature = cursor.take_name("a feature name").text
        from_expr = parse_expression(cursor)
        cursor.expect_operator(",")
        to_expr = parse_expression(cursor)
        cursor.expect_end()
        if block := self._current("compute", line):
            block.computes.append(Compute(feature, from_expr, to_expr, self.path, line))

    def _set(self, cursor: Cursor, line: int) -> None:
        subfeature = cursor.take_name("a subfeature name").text
        value = parse_expression(cursor)
        cursor.expect_end()
        if block := self._current("set", line):
            block.sets.append(SetStatement(subfeature, value, line))
            self._problem(line, f"set {subfeature} {NOT_APPLIED}", unapplied=True)

    def _bus(self, cursor: Cursor, line: int) -> None:
        bus_id = cursor.take_name('a bus id ("i2c-N")')
        adapter = cursor.take_name("an adapter name (in double quotes)").text
        cursor.expect_end()
        try:
            number = parse_bus_id(bus_id.text)
        except InvalidChipPattern as error:
            raise ParseError(bus_id.line, str(error)) from None
        if number in self.buses:
            # libsensors silently keeps the first binding; say so, a second one is surely a mistake.
            first = self.bus_lines[number]
            self._problem(line, f"bus statement: i2c-{number} is already bound at line {first}; this one is ignored")
            return
        self.buses[number] = adapter
        self.bus_lines[number] = line


def _undeclared_bus(pattern: ChipPattern) -> str:
    """Explain why a numbered chip pattern matches nothing."""
    if pattern.bus != "i2c":
        return (
            f"chip pattern {pattern.text!r} names {pattern.bus} bus {pattern.bus_nr}, which no bus statement can"
            f" bind (only i2c buses can be): it matches no chip; write {pattern.bus}-* for any bus number"
        )
    return (
        f"chip pattern {pattern.text!r} names bus i2c-{pattern.bus_nr}, but no bus statement in this file binds"
        f' it: it matches no chip (add bus "i2c-{pattern.bus_nr}" "<adapter name>"; `sensors --bus-list` prints them)'
    )
