"""The lm-sensors configuration reader: lexing, parsing, chip patterns, precedence, expressions."""

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from frostserver.lmsensors.chip_name import ChipName
from frostserver.lmsensors import (
    EMPTY,
    ChipConfig,
    NOT_FINITE,
    ComputeError,
    Problem,
    SensorsConfig,
    describe,
    load_sensors_config,
    parse_config,
)
from frostserver.lmsensors.chip_patterns import InvalidChipPattern, parse_chip_pattern
from frostserver.lmsensors.evaluation import evaluate
from frostserver.lmsensors.expressions import MAX_DEPTH, MAX_NODES, Binary, Number, Raw, to_text
from frostserver.lmsensors.lexer import lex

NCT6779 = ChipName("nct6779", "isa", 0, 0x0A20, "ISA adapter")
IT8728 = ChipName("it8728", "isa", 0, 0x0A30, "ISA adapter")
CORETEMP = ChipName("coretemp", "isa", 0, 0, "ISA adapter")
ACPITZ = ChipName("acpitz", "virtual", 0, 0, "Virtual device")
LM75_BUS0 = ChipName("lm75", "i2c", 0, 0x48, "SMBus I801 adapter at f040")
LM75_BUS3 = ChipName("lm75", "i2c", 3, 0x48, "i915 gmbus dpb")
ADAPTERS = {0: "SMBus I801 adapter at f040", 3: "i915 gmbus dpb"}


def chip_config(text: str, chip: ChipName = NCT6779, adapters: dict[int, str] | None = None) -> ChipConfig:
    return parse_config(text).for_chip(chip, adapters or {})


def messages(config: SensorsConfig) -> list[str]:
    return [str(problem) for problem in config.problems]


def reader(config: ChipConfig, raw: dict[str, float]) -> Callable[[str], float]:
    """A lookup like a sensor reader's: other features' raw values through their own computes."""

    def lookup(name: str) -> float:
        value = raw[name]  # KeyError for an unknown name, as the API allows
        compute = config.compute(name)
        return compute.from_raw(value, lookup) if compute else value

    return lookup


def value_of(expression: str, raw: float = 0.0, **names: float) -> float:
    config = chip_config(f'chip "nct6779-*"\ncompute in0 {expression}, @')
    compute = config.compute("in0")
    assert compute is not None, messages(parse_config(f'chip "nct6779-*"\ncompute in0 {expression}, @'))
    return compute.from_raw(raw, reader(config, names))


# --- Lexing -----------------------------------------------------------------------------------


def test_a_backslash_at_the_end_of_a_line_continues_the_statement() -> None:
    config = parse_config('chip "it87-*" \\\n     "nct6779-*" \\   \n  "coretemp-*"\nlabel in0 "Vcore"\n')
    assert config.problems == ()
    for chip in (NCT6779, CORETEMP):
        assert config.for_chip(chip, {}).label("in0") == "Vcore"


def test_line_numbers_count_continued_lines() -> None:
    config = parse_config('chip "nct6779-*" \\\n  "it87-*"\n\nlabel in0\n')
    assert messages(config) == ["<string>:4: label statement: unexpected end of line"]


def test_quoted_names_take_c_escapes_and_keep_hashes() -> None:
    config = chip_config('chip "nct6779-*"\nlabel "in0" "CPU \\"core\\"\\tA # not a comment"\n')
    assert config.label("in0") == 'CPU "core"\tA # not a comment'


def test_comments_are_skipped_and_end_a_statement() -> None:
    text = '# a board file\n  # indented comment\nchip "nct6779-*"  # the Super I/O\nlabel in0 "Vcore" # CPU\n'
    config = parse_config(text)
    assert config.problems == ()
    assert config.for_chip(NCT6779, {}).label("in0") == "Vcore"


def test_windows_line_endings_read_fine() -> None:
    config = parse_config('chip "nct6779-*"\r\nlabel in0 "Vcore"\r\n')
    assert config.problems == ()
    assert config.for_chip(NCT6779, {}).label("in0") == "Vcore"


def test_keywords_are_keywords_only_at_the_start_of_a_statement() -> None:
    assert chip_config('chip "nct6779-*"\nlabel chip "a feature named chip"').label("chip") == "a feature named chip"


def test_numbers_and_bare_names_take_the_longest_match_like_flex() -> None:
    statements, errors = lex("compute in0 10 .4 1.5 10E4 3in\n")
    assert errors == []
    (statement,) = statements
    kinds = [(token.kind.value, token.text) for token in statement.tokens]
    assert kinds == [
        ("name", "in0"),
        ("number", "10"),
        ("number", ".4"),
        ("number", "1.5"),
        ("name", "10E4"),
        ("name", "3in"),
    ]


def test_a_number_ending_in_a_dot_is_an_error() -> None:
    config = parse_config('chip "nct6779-*"\ncompute in0 @*10., @/10\n')
    assert messages(config) == [
        "<string>:2: compute statement: malformed number '10.' (write 10.0 or 10)",
    ]


def test_an_unknown_keyword_is_a_problem_and_the_next_line_applies() -> None:
    config = parse_config('chip "nct6779-*"\nlabels in0 "x"\nLabel in1 "y"\nlabel in2 "+5V"\n')
    assert messages(config) == [
        "<string>:2: unknown keyword 'labels': a statement starts with chip, label, compute, ignore, set or bus",
        "<string>:3: unknown keyword 'Label': a statement starts with chip, label, compute, ignore, set or bus",
    ]
    assert config.for_chip(NCT6779, {}).label("in2") == "+5V"


# --- Parsing and error recovery ---------------------------------------------------------------


def test_a_problem_prints_as_path_line_message() -> None:
    assert str(Problem("/etc/sensors.d/board.conf", 12, "label statement: oops")) == (
        "/etc/sensors.d/board.conf:12: label statement: oops"
    )


def test_a_bad_statement_is_reported_with_its_line_and_the_rest_applies() -> None:
    text = """chip "nct6779-*"
    label in0 "Vcore" "extra"
    label in1 "unterminated
    compute in2 @*2 @/2
    label in3 "+3.3V"
    ignore
    compute in4 @*2, @/2
    """
    config = parse_config(text, "/etc/sensors.d/board.conf")
    assert messages(config) == [
        "/etc/sensors.d/board.conf:2: label statement: unexpected name 'extra' at the end of the statement",
        "/etc/sensors.d/board.conf:3: label statement: no closing double quote on this line",
        "/etc/sensors.d/board.conf:4: compute statement: expected ',', found '@'",
        "/etc/sensors.d/board.conf:6: ignore statement: unexpected end of line",
    ]
    chip = config.for_chip(NCT6779, {})
    assert chip.label("in0") is None
    assert chip.label("in3") == "+3.3V"
    assert chip.compute("in4") is not None
    assert chip.compute("in2") is None


def test_statements_before_the_first_chip_statement_are_problems() -> None:
    config = parse_config('label in0 "Vcore"\nignore fan1\n\nchip "nct6779-*"\nlabel in1 "+12V"\n', "a.conf")
    assert messages(config) == [
        "a.conf:1: label statement before the first chip statement applies to no chip",
        "a.conf:2: ignore statement before the first chip statement applies to no chip",
    ]
    chip = config.for_chip(NCT6779, {})
    assert (chip.label("in0"), chip.label("in1"), chip.is_ignored("fan1")) == (None, "+12V", False)


def test_set_is_parsed_and_reported_as_not_applied() -> None:
    config = parse_config('chip "nct6779-*"\n  set in3_min 3.3 * 0.90\n', "board.conf")
    assert messages(config) == ["board.conf:2: set in3_min is not applied: FrostServer never writes to the hardware"]
    assert config.for_chip(NCT6779, {}).is_empty


def test_lines_under_a_broken_chip_statement_never_label_the_previous_chip() -> None:
    # libsensors would drop the broken statement and give its labels to nct6779.
    config = parse_config('chip "nct6779-*"\nlabel in0 "Vcore"\nchip "it8728"\nlabel in0 "VCORE it"\n')
    assert messages(config) == [
        "<string>:3: chip statement: chip name 'it8728' has no dash: expected PREFIX-* or PREFIX-BUS-ADDRESS",
    ]
    assert config.for_chip(NCT6779, {}).label("in0") == "Vcore"
    assert config.for_chip(IT8728, {}).is_empty


def test_a_chip_statement_keeps_its_valid_patterns() -> None:
    config = parse_config('chip "it8728-*" "it87-bogus-1" "nct6779-*"\nlabel in0 "Vcore"\n')
    assert len(config.problems) == 1
    assert "unknown bus type 'bogus'" in config.problems[0].message
    assert config.for_chip(IT8728, {}).label("in0") == "Vcore"
    assert config.for_chip(NCT6779, {}).label("in0") == "Vcore"


def test_an_empty_configuration_says_nothing() -> None:
    assert EMPTY.files == () and EMPTY.problems == ()
    assert EMPTY.for_chip(NCT6779, {}).is_empty
    assert parse_config("# only a comment\n\n").for_chip(NCT6779, {}).is_empty


# --- Chip patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "chip", "expected"),
    [
        ("nct6779-*", NCT6779, True),
        ("nct6779-*", IT8728, False),
        ("*-isa-*", NCT6779, True),
        ("*-isa-*", ACPITZ, False),
        ("*-*", LM75_BUS3, True),
        ("nct6779-isa-0a20", NCT6779, True),
        ("nct6779-isa-0A20", NCT6779, True),
        ("nct6779-isa-0290", NCT6779, False),
        ("it8728-isa-*", IT8728, True),
        ("it8728-pci-*", IT8728, False),
        ("coretemp-*", CORETEMP, True),
        ("coretemp-isa-0000", CORETEMP, True),
        ("acpitz-virtual-0", ACPITZ, True),
        ("acpitz-acpi-0", ACPITZ, False),
        ("lm75-i2c-*-48", LM75_BUS0, True),
        ("lm75-i2c-*-0x48", LM75_BUS3, True),
        ("lm75-i2c-*-49", LM75_BUS0, False),
        ("lm75-i2c-*-*", LM75_BUS3, True),
        ("*-i2c-*-48", LM75_BUS3, True),
        ("lm75-isa-*", LM75_BUS0, False),
        ("nvme-pci-0100", ChipName("nvme", "pci", 0, 0x100, "PCI adapter"), True),
        ("sht3x-spi-*-0", ChipName("sht3x", "spi", 1, 0, "SPI adapter"), True),
        ("drivetemp-scsi-*-*", ChipName("drivetemp", "scsi", 2, 0, "SCSI adapter"), True),
        ("mlxsw-mdio-*", ChipName("mlxsw", "mdio", 0, 3, "MDIO adapter"), True),
    ],
)
def test_chip_patterns_match_like_sensors_match_chip(pattern: str, chip: ChipName, expected: bool) -> None:
    config = parse_config(f'chip "{pattern}"\nlabel temp1 "matched"\n')
    assert config.problems == ()
    assert (config.for_chip(chip, ADAPTERS).label("temp1") == "matched") is expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("*", 'for any chip write "*-*"'),
        ("lm75", "has no dash"),
        ("lm75-i2c-*", "needs a bus number and an address"),
        ("lm75-i2c-x-48", "needs a bus number and an address"),
        ("lm75-usb-1", "unknown bus type 'usb'"),
        ("it87-isa-29z", "is not hexadecimal"),
        ("it87-isa-", "is not hexadecimal"),
    ],
)
def test_invalid_chip_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidChipPattern, match=reason):
        parse_chip_pattern(pattern)


def test_a_bus_statement_binds_a_config_bus_number_to_the_adapter_of_that_name() -> None:
    # The file's i2c-3 is the adapter called "SMBus I801 ...", which this machine numbers 0.
    text = 'chip "lm75-i2c-3-48"\nlabel temp1 "Board"\nbus "i2c-3" "SMBus I801 adapter at f040"\n'
    config = parse_config(text)
    assert config.problems == ()
    assert config.for_chip(LM75_BUS0, ADAPTERS).label("temp1") == "Board"
    assert config.for_chip(LM75_BUS3, ADAPTERS).label("temp1") is None


def test_a_bus_statement_whose_adapter_is_absent_matches_nothing() -> None:
    config = parse_config('bus "i2c-0" "SMBus PIIX4 adapter at 0b00"\nchip "lm75-i2c-0-48"\nlabel temp1 "Board"\n')
    assert config.problems == ()
    assert config.for_chip(LM75_BUS0, ADAPTERS).is_empty
    assert config.for_chip(LM75_BUS0, {}).is_empty


def test_a_bus_number_without_a_bus_statement_is_a_problem_and_matches_nothing() -> None:
    config = parse_config('chip "lm75-i2c-0-48"\nlabel temp1 "Board"\n', "board.conf")
    assert [(p.path, p.line) for p in config.problems] == [("board.conf", 1)]
    assert "no bus statement in this file binds it" in config.problems[0].message
    assert config.for_chip(LM75_BUS0, ADAPTERS).is_empty


def test_bus_statements_apply_to_their_own_file_only(tmp_path: Path) -> None:
    (tmp_path / "sensors3.conf").write_text('bus "i2c-0" "SMBus I801 adapter at f040"\n')
    (tmp_path / "sensors.d").mkdir()
    (tmp_path / "sensors.d" / "board.conf").write_text('chip "lm75-i2c-0-48"\nlabel temp1 "Board"\n')
    config = load_sensors_config(tmp_path)
    assert [problem.path for problem in config.problems] == [str(tmp_path / "sensors.d" / "board.conf")]
    assert config.for_chip(LM75_BUS0, ADAPTERS).is_empty


def test_bad_and_repeated_bus_statements_are_problems() -> None:
    text = 'bus "i2c-x" "a"\nbus "i2c-1" "first"\nbus "i2c-1" "second"\nchip "lm75-i2c-1-48"\nlabel temp1 "T"\n'
    config = parse_config(text)
    assert messages(config) == [
        "<string>:1: bus statement: bus id 'i2c-x' is not i2c-N with N a decimal number",
        "<string>:3: bus statement: i2c-1 is already bound at line 2; this one is ignored",
    ]
    assert config.for_chip(ChipName("lm75", "i2c", 7, 0x48), {7: "first"}).label("temp1") == "T"
    assert config.for_chip(ChipName("lm75", "i2c", 8, 0x48), {8: "second"}).is_empty


# --- Precedence across blocks and files -------------------------------------------------------


def test_the_last_matching_block_wins_and_the_first_statement_within_it() -> None:
    text = """
chip "*-isa-*"
    label in0 "generic"
    label in1 "generic in1"
    compute in1 @*2, @/2
chip "nct6779-*"
    label in0 "first"
    label in0 "second"
    compute in1 @*3, @/3
    compute in1 @*4, @/4
chip "it8728-*"
    label in0 "other chip"
"""
    chip = chip_config(text)
    assert chip.label("in0") == "first"
    assert chip.label("in1") == "generic in1"
    compute = chip.compute("in1")
    assert compute is not None and compute.from_raw(1.0, reader(chip, {})) == 3.0


def test_a_feature_is_ignored_if_any_matching_block_ignores_it() -> None:
    chip = chip_config('chip "nct6779-*"\nignore fan2\nchip "*-isa-*"\nignore fan3\nchip "it8728-*"\nignore fan4\n')
    assert [chip.is_ignored(f) for f in ("fan1", "fan2", "fan3", "fan4")] == [False, True, True, False]


def test_drop_in_files_follow_the_main_file_and_later_files_win(tmp_path: Path) -> None:
    (tmp_path / "sensors3.conf").write_text('chip "nct6779-*"\nlabel in0 "Vcore"\nlabel in1 "+12V"\nignore fan1\n')
    (tmp_path / "sensors.conf").write_text('chip "nct6779-*"\nlabel in0 "never read"\n')
    drop_in = tmp_path / "sensors.d"
    drop_in.mkdir()
    (drop_in / "20-board.conf").write_text('chip "nct6779-*"\nlabel in0 "CPU"\ncompute in1 @*12, @/12\n')
    (drop_in / "10-early.conf").write_text('chip "nct6779-*"\nlabel in0 "overridden"\nlabel in2 "AVCC early"\n')
    (drop_in / "Z-upper.conf").write_text('chip "nct6779-*"\nlabel in2 "AVCC upper"\n')  # "Z" < "a" in bytes
    (drop_in / "a-last.conf").write_text('chip "nct6779-*"\nlabel in3 "+3.3V"\n')
    (drop_in / ".hidden.conf").write_text('chip "nct6779-*"\nlabel in0 "hidden"\n')
    (drop_in / "subdir").mkdir()
    (drop_in / "dangling.conf").symlink_to(tmp_path / "nowhere")
    (drop_in / "linked.conf").symlink_to(tmp_path / "elsewhere.conf")
    (tmp_path / "elsewhere.conf").write_text('chip "nct6779-*"\nlabel in4 "linked"\n')

    config = load_sensors_config(tmp_path)
    assert config.problems == ()
    assert [Path(path).name for path in config.files] == [
        "sensors3.conf",
        "10-early.conf",
        "20-board.conf",
        "Z-upper.conf",
        "a-last.conf",
        "linked.conf",
    ]
    chip = config.for_chip(NCT6779, {})
    assert [chip.label(f"in{n}") for n in range(5)] == ["CPU", "+12V", "AVCC upper", "+3.3V", "linked"]
    assert chip.is_ignored("fan1")
    compute = chip.compute("in1")
    assert compute is not None and compute.from_raw(1.0, reader(chip, {})) == 12.0


def test_sensors_conf_is_read_only_without_sensors3_conf(tmp_path: Path) -> None:
    (tmp_path / "sensors.conf").write_text('chip "nct6779-*"\nlabel in0 "old name"\n')
    config = load_sensors_config(tmp_path, sensors_d=tmp_path / "elsewhere.d")
    assert config.files == (str(tmp_path / "sensors.conf"),)
    assert config.for_chip(NCT6779, {}).label("in0") == "old name"


def test_an_explicit_drop_in_directory_replaces_sensors_d(tmp_path: Path) -> None:
    (tmp_path / "sensors.d").mkdir()
    (tmp_path / "sensors.d" / "ignored.conf").write_text('chip "nct6779-*"\nlabel in0 "no"\n')
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "board.conf").write_text('chip "nct6779-*"\nlabel in0 "yes"\n')
    assert load_sensors_config(tmp_path, tmp_path / "mine").for_chip(NCT6779, {}).label("in0") == "yes"


def test_missing_files_and_directories_make_an_empty_configuration(tmp_path: Path) -> None:
    config = load_sensors_config(tmp_path / "no-such-etc")
    assert (config.files, config.problems) == ((), ())
    assert config.for_chip(NCT6779, {}).is_empty


def test_an_unreadable_file_is_a_problem_never_an_exception(tmp_path: Path) -> None:
    (tmp_path / "sensors3.conf").mkdir()  # opening it fails even for root
    (tmp_path / "sensors.conf").write_text('chip "nct6779-*"\nlabel in0 "not a fallback"\n')
    (tmp_path / "sensors.d").write_text("a file where a directory should be")
    config = load_sensors_config(tmp_path)
    assert [(Path(p.path).name, p.line) for p in config.problems] == [("sensors3.conf", 0), ("sensors.d", 0)]
    assert config.problems[0].message.startswith("cannot read: ")
    assert config.problems[1].message.startswith("cannot list the directory: ")
    assert config.for_chip(NCT6779, {}).is_empty


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_a_drop_in_without_read_permission_is_a_problem_and_the_others_apply(tmp_path: Path) -> None:
    drop_in = tmp_path / "sensors.d"
    drop_in.mkdir()
    (drop_in / "a.conf").write_text('chip "nct6779-*"\nlabel in0 "secret"\n')
    (drop_in / "a.conf").chmod(0)
    (drop_in / "b.conf").write_text('chip "nct6779-*"\nlabel in1 "+12V"\n')
    config = load_sensors_config(tmp_path)
    assert [str(p) for p in config.problems] == [
        f"{drop_in / 'a.conf'}:0: cannot read: permission denied (the server's user needs read access)"
    ]
    assert config.for_chip(NCT6779, {}).label("in1") == "+12V"


def test_for_chip_accepts_a_mapping_of_adapters_and_is_repeatable() -> None:
    config = parse_config('bus "i2c-1" "a"\nchip "lm75-i2c-1-48"\nlabel temp1 "T"\n')
    chip = ChipName("lm75", "i2c", 5, 0x48)
    assert config.for_chip(chip, {5: "a"}) == config.for_chip(chip, {5: "a"})
    assert config.for_chip(chip, {5: "a"}).label("temp1") == "T"


# --- Expressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("@*2+1", "((@ * 2) + 1)"),
        ("1+@*2", "(1 + (@ * 2))"),
        ("2-3-4", "((2 - 3) - 4)"),
        ("8/4/2", "((8 / 4) / 2)"),
        ("-@*2", "((-@) * 2)"),
        ("-@/2", "((-@) / 2)"),
        ("^@*2", "((^@) * 2)"),
        ("`@+1", "((`@) + 1)"),
        ("^`@", "(^(`@))"),
        ("- -@", "(-(-@))"),
        ("(1+2)*@", "((1 + 2) * @)"),
        ("-(1+2)", "(-(1 + 2))"),
        ("@*((6.8/10)+1)", "(@ * ((6.8 / 10) + 1))"),
        ("in0_input - temp1", "(in0_input - temp1)"),
    ],
)
def test_expressions_parse_with_libsensors_precedence(expression: str, tree: str) -> None:
    compute = chip_config(f'chip "nct6779-*"\ncompute in0 {expression}, @').compute("in0")
    assert compute is not None
    assert to_text(compute.from_expr) == tree


@pytest.mark.parametrize(
    ("expression", "raw", "expected"),
    [
        ("@", 1.5, 1.5),
        ("@*2+1", 3.0, 7.0),
        ("2-3-4", 0.0, -5.0),
        ("8/4/2", 0.0, 1.0),
        ("-@*2", 3.0, -6.0),
        ("^0*2", 0.0, 2.0),
        ("^1", 0.0, math.e),
        ("`1+1", 0.0, 1.0),
        ("^`@", 5.0, 5.0),
        ("`^@", 2.5, 2.5),
        ("(1+2)*@", 2.0, 6.0),
        ("@*(1+(30/10))", 3.0, 12.0),
        ("@*(1+232/56) - 4.096*232/56", 1.0, (1 + 232 / 56) - 4.096 * 232 / 56),
    ],
)
def test_expressions_evaluate(expression: str, raw: float, expected: float) -> None:
    assert value_of(expression, raw) == pytest.approx(expected)


def test_names_read_other_features_through_lookup() -> None:
    assert value_of("@ - in0_input * 2", 10.0, in0_input=1.5) == 7.0
    assert value_of('"in1" + 1', 0.0, in1=2.0) == 3.0  # a quoted name is a name


def test_a_name_is_only_ever_looked_up_never_evaluated_as_python() -> None:
    seen: list[str] = []

    def lookup(name: str) -> float:
        seen.append(name)
        return 1.0

    compute = chip_config('chip "nct6779-*"\ncompute in0 __import__ + os, @').compute("in0")
    assert compute is not None
    assert compute.from_raw(0.0, lookup) == 2.0
    assert seen == ["__import__", "os"]


def test_to_raw_uses_the_second_expression() -> None:
    compute = chip_config('chip "nct6779-*"\ncompute in1 @*(1+(30/10)), @/(1+(30/10))').compute("in1")
    assert compute is not None
    lookup = reader(ChipConfig(), {})
    assert compute.to_raw(compute.from_raw(3.0, lookup), lookup) == pytest.approx(3.0)


def test_computes_may_read_features_with_their_own_computes() -> None:
    chip = chip_config('chip "nct6779-*"\ncompute in1 @ - in2, @ + in2\ncompute in2 @*10, @/10\n')
    lookup = reader(chip, {"in2": 0.5})
    compute = chip.compute("in1")
    assert compute is not None and compute.from_raw(8.0, lookup) == 3.0


def chain(links: int) -> ChipConfig:
    """in1 reads in2, which reads in3, ... : `links` name references deep."""
    lines = [f"compute in{n} @ + in{n + 1}, @" for n in range(1, links + 1)]
    return chip_config('chip "nct6779-*"\n' + "\n".join(lines))


def test_name_references_nest_as_deep_as_libsensors_allows() -> None:
    chip = chain(7)
    compute = chip.compute("in1")
    assert compute is not None
    assert compute.from_raw(1.0, reader(chip, {f"in{n}": 1.0 for n in range(1, 10)})) == 8.0


def test_deeper_nesting_and_cycles_are_compute_errors() -> None:
    chip = chain(8)
    compute = chip.compute("in1")
    assert compute is not None
    with pytest.raises(ComputeError, match="circular reference"):
        compute.from_raw(1.0, reader(chip, {f"in{n}": 1.0 for n in range(1, 10)}))

    cycle = chip_config('chip "nct6779-*"\ncompute in1 @ + in2, @\ncompute in2 @ + in1, @\n')
    compute = cycle.compute("in1")
    assert compute is not None
    with pytest.raises(ComputeError, match="circular reference"):
        compute.from_raw(1.0, reader(cycle, {"in1": 1.0, "in2": 1.0}))
    # The depth is counted per evaluation: a failed one leaves nothing behind.
    assert value_of("@ + in3", 1.0, in3=2.0) == 3.0


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("@/0", r"division by zero \(1 / 0\)"),
        ("@/(@-1)", "division by zero"),
        ("`0", "needs a positive argument"),
        ("`(0-@)", "needs a positive argument"),
        ("^1000", "too large"),
        ("@ + in9", "unknown name 'in9'"),
    ],
)
def test_evaluation_errors_are_compute_errors_naming_the_statement(expression: str, message: str) -> None:
    config = parse_config(f'chip "nct6779-*"\n\ncompute in0 {expression}, @\n', "board.conf")
    compute = config.for_chip(NCT6779, {}).compute("in0")
    assert compute is not None
    with pytest.raises(ComputeError, match=message) as raised:
        compute.from_raw(1.0, reader(ChipConfig(), {}))
    assert str(raised.value).startswith("board.conf:3: compute in0: ")


def test_a_compute_error_from_lookup_passes_through() -> None:
    def lookup(name: str) -> float:
        raise ComputeError(f"{name} cannot be read")

    compute = chip_config('chip "nct6779-*"\ncompute in0 @ + in1, @').compute("in0")
    assert compute is not None
    with pytest.raises(ComputeError, match="in1 cannot be read"):
        compute.from_raw(1.0, lookup)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("compute in0 2 ^ @, @", "'^' is a prefix operator: write ^x, not a ^ x"),
        ("compute in0 (@*2, @/2", "expected ')', found ','"),
        ("compute in0 @*, @", "expected a number, a name, '@' or '(', found ','"),
        ("compute in0 @*2,", "unexpected end of line"),
        ("compute in0 @ ! 2, @", "unexpected character '!'"),
        ("compute in0 " + "(" * 100 + "@" + ")" * 100 + ", @", f"nested more than {MAX_DEPTH} levels deep"),
        ("set in0_min", "unexpected end of line"),
    ],
)
def test_malformed_expressions_are_problems(line: str, message: str) -> None:
    config = parse_config(f'chip "nct6779-*"\n{line}\nlabel in5 "still read"\n')
    assert len(config.problems) == 1
    assert config.problems[0].line == 2
    assert message in config.problems[0].message
    assert config.for_chip(NCT6779, {}).label("in5") == "still read"


# --- Hostile expressions: bounded when parsed, contained when evaluated ------------------------

HOSTILE_FILE = """\
chip "nct6779-*"
    label in0 "Vcore"
    compute in1 @*2, @/2
    compute temp1 {expression}, @
    compute in2 @ + 1, @ - 1
    label in3 "+3.3V"
"""


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        # A flat chain nests to the left: 3,000 terms are a tree 3,000 deep.
        ("@" + "+1" * 3000, f"nests operations more than {MAX_DEPTH} deep"),
        ("@" + "*1" * 3000, f"nests operations more than {MAX_DEPTH} deep"),
        ("1" + "-@/2" * 3000, f"nests operations more than {MAX_DEPTH} deep"),
        ("-" * 3000 + "@", f"nested more than {MAX_DEPTH} levels deep"),
        ("^" * 3000 + "@", f"nested more than {MAX_DEPTH} levels deep"),
        ("`" * 3000 + "@", f"nested more than {MAX_DEPTH} levels deep"),
        ("- " * 3000 + "@", f"nested more than {MAX_DEPTH} levels deep"),
        ("(" * 3000 + "@" + ")" * 3000, f"nested more than {MAX_DEPTH} levels deep"),
        ("(" * 3000 + "@", f"nested more than {MAX_DEPTH} levels deep"),
        # Shallow but wide: 4,096 operands in a balanced tree 13 deep.
        ("+".join(["(" + "+".join(["(@+1)*(@+2)"] * 4) + ")"] * 256), f"more than {MAX_NODES} numbers"),
        ("9" * 400 + "*@", "is too large"),
    ],
)
def test_an_expression_beyond_the_bounds_is_a_problem_with_file_and_line(expression: str, message: str) -> None:
    config = parse_config(HOSTILE_FILE.format(expression=expression), "/etc/sensors.d/hostile.conf")
    assert len(config.problems) == 1, messages(config)
    problem = config.problems[0]
    assert (problem.path, problem.line, problem.unapplied) == ("/etc/sensors.d/hostile.conf", 4, False)
    assert problem.message.startswith("compute statement: ") and message in problem.message
    assert len(problem.message) < 200  # the message names the bound, it does not repeat the line
    # The rest of the file applies, the statements below the bad one included.
    chip = config.for_chip(NCT6779, {})
    assert chip.compute("temp1") is None
    assert (chip.label("in0"), chip.label("in3")) == ("Vcore", "+3.3V")
    in2 = chip.compute("in2")
    assert in2 is not None and in2.from_raw(1.0, reader(chip, {})) == 2.0


def balanced_sum(leaves: int) -> str:
    """`(@+@)+(@+@)...`: `leaves` operands, 2 * leaves - 1 nodes, about log2(leaves) deep."""
    if leaves == 1:
        return "@"
    half = leaves // 2
    return f"({balanced_sum(half)}+{balanced_sum(leaves - half)})"


def test_expressions_up_to_the_bounds_parse_and_evaluate() -> None:
    deepest = "@" + "+1" * (MAX_DEPTH - 1)  # MAX_DEPTH - 1 operations over the leaves: MAX_DEPTH deep
    widest = balanced_sum((MAX_NODES + 1) // 2)
    assert value_of(deepest, 1.0) == MAX_DEPTH
    assert value_of("-" * (MAX_DEPTH - 1) + "@", 2.0) == (2.0 if MAX_DEPTH % 2 else -2.0)
    assert value_of("(" * MAX_DEPTH + "@" + ")" * MAX_DEPTH, 3.0) == 3.0
    assert value_of(widest, 1.0) == (MAX_NODES + 1) // 2
    # One more of each is refused.
    for expression in (deepest + "+1", "-" * MAX_DEPTH + "@", "(" * (MAX_DEPTH + 1) + "@" + ")" * (MAX_DEPTH + 1),
                       balanced_sum((MAX_NODES + 1) // 2 + 1)):
        assert len(parse_config(f'chip "nct6779-*"\ncompute in0 {expression}, @').problems) == 1, expression


def test_evaluation_walks_the_tree_without_recursion() -> None:
    # Built by hand, past what the parser allows: depth costs the evaluator no Python stack.
    tree: Binary | Raw = Raw()
    for _ in range(20_000):
        tree = Binary("+", tree, Number(1.0))
    assert evaluate(tree, 0.5, lambda name: 0.0) == 20_000.5


@pytest.mark.parametrize(
    ("expression", "raw", "message"),
    [
        ("^^^^@", 1.0, f"{NOT_FINITE}: ^3.81428e+06 (e to the 3.81428e+06) is too large"),
        ("^@", 710.0, "too large"),
        ("@*" + "9" * 300 + "*" + "9" * 300, 1.0, f"{NOT_FINITE}: "),
        ("@*" + "9" * 300 + "*" + "9" * 300 + "*0", 1.0, "overflows"),  # inf * 0 would be NaN
        ("@*" + "9" * 300 + "*" + "9" * 300 + "/" + "9" * 300, 1.0, "overflows"),  # inf / big would be inf
        ("(@*" + "9" * 300 + "*" + "9" * 300 + ") - (@*" + "9" * 300 + "*" + "9" * 300 + ")", 1.0, "overflows"),
        ("@/0", 1.0, "division by zero"),
        ("@/(@-@)", 5.0, "division by zero"),
        ("`(0-@)", 1.0, "natural logarithm) needs a positive argument"),
        ("``@", 0.5, "needs a positive argument"),  # ln 0.5 < 0
        ("@ + in1", 1.0, f"{NOT_FINITE}: 'in1' is inf"),
    ],
)
def test_hostile_arithmetic_is_a_compute_error_never_a_value_or_another_exception(
    expression: str, raw: float, message: str
) -> None:
    config = parse_config(f'chip "nct6779-*"\ncompute temp1 {expression}, @\n', "hostile.conf")
    assert not config.problems, messages(config)
    compute = config.for_chip(NCT6779, {}).compute("temp1")
    assert compute is not None
    with pytest.raises(ComputeError) as raised:
        compute.from_raw(raw, lambda name: math.inf)
    assert str(raised.value).startswith("hostile.conf:2: compute temp1: ")
    assert message in str(raised.value)


def test_a_non_finite_value_being_translated_is_a_compute_error() -> None:
    compute = chip_config('chip "nct6779-*"\ncompute in0 @*2, @/2').compute("in0")
    assert compute is not None
    for raw in (math.nan, math.inf, -math.inf):
        with pytest.raises(ComputeError, match=NOT_FINITE):
            compute.from_raw(raw, reader(ChipConfig(), {}))


# --- Real configuration files -----------------------------------------------------------------

DEBIAN_DEFAULT = Path("/etc/sensors3.conf")


@pytest.mark.skipif(not DEBIAN_DEFAULT.is_file(), reason="no /etc/sensors3.conf here")
def test_debians_default_file_parses_without_a_single_parse_problem() -> None:
    text = DEBIAN_DEFAULT.read_text()
    config = parse_config(text, str(DEBIAN_DEFAULT))
    # Its only problems are the set statements, which FrostServer reports and never applies.
    set_lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("set ")]
    assert [problem.line for problem in config.problems] == set_lines
    assert all("is not applied" in problem.message for problem in config.problems)
    if '"nct6779-*"' in text and 'label in0 "Vcore"' in text:
        chip = config.for_chip(NCT6779, {})
        assert chip.label("in0") == "Vcore"
        assert chip.label("in8") == "Vbat"


def test_many_set_statements_are_one_short_notice_naming_the_first_few_lines() -> None:
    # Debian's default file: 127 `set` lines, all expected; every start logged all 127 numbers.
    text = 'chip "nct6779-*"\n' + "".join(f"    set in{n}_min 0\n" for n in range(127))
    errors, notices = describe(parse_config(text, "/etc/sensors3.conf").problems)
    assert errors == []
    assert notices == [
        "/etc/sensors3.conf: 127 `set` statement(s) not applied, FrostServer never writes to the hardware "
        "(lines 2, 3, 4, 5, 6 and 122 more)"
    ]


# An it87 board file in the style of lm-sensors' configs/ (values our own).
IT8728_BOARD = r"""
# Example board: IT8728F Super I/O
# Voltage inputs use 30k/10k and 6.8k/10k dividers.

chip "it8728-*"

    label in0 "Vcore"
    label in1 "+12V"
    label in2 "+5V"
    label in3 "+3.3V"   # internal divider, no compute needed
    label in7 "3VSB"
    label in8 "Vbat"

    compute in1  @ * (1 + (30/10)),  @ / (1 + (30/10))
    compute in2  @ * (1 + (6.8/10)), @ / (1 + (6.8/10))
    compute in7  @*2, @/2

    set in1_min  12 * 0.90
    set in1_max  12 * 1.10

    label temp1 "CPU Temp"
    label temp2 "M/B Temp"
    ignore temp3        # not connected

    label fan1 "CPU Fan"
    ignore fan3
    ignore intrusion0
"""


def test_an_it87_board_file() -> None:
    config = parse_config(IT8728_BOARD, "/etc/sensors.d/it8728-board.conf")
    assert messages(config) == [
        "/etc/sensors.d/it8728-board.conf:18: set in1_min is not applied: FrostServer never writes to the hardware",
        "/etc/sensors.d/it8728-board.conf:19: set in1_max is not applied: FrostServer never writes to the hardware",
    ]
    chip = config.for_chip(IT8728, {})
    assert not chip.is_empty
    assert [chip.label(f) for f in ("in0", "in1", "in3", "temp1", "fan1", "fan2")] == [
        "Vcore",
        "+12V",
        "+3.3V",
        "CPU Temp",
        "CPU Fan",
        None,
    ]
    assert [f for f in ("temp1", "temp3", "fan1", "fan3", "intrusion0") if chip.is_ignored(f)] == [
        "temp3",
        "fan3",
        "intrusion0",
    ]
    lookup = reader(chip, {})
    in1, in2, in7 = chip.compute("in1"), chip.compute("in2"), chip.compute("in7")
    assert in1 is not None and in2 is not None and in7 is not None
    assert in1.from_raw(3.0, lookup) == pytest.approx(12.0)
    assert in1.to_raw(12.0, lookup) == pytest.approx(3.0)
    assert in2.from_raw(2.976, lookup) == pytest.approx(5.0, abs=0.001)
    assert in7.from_raw(1.65, lookup) == pytest.approx(3.3)
    assert chip.compute("in0") is None
    assert config.for_chip(NCT6779, {}).is_empty
