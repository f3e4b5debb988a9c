"""Read the lm-sensors configuration (sensors3.conf, sensors.d) the way libsensors does.

A pure library: no Flask, no I/O but reading the configuration files.  It never applies anything
to the hardware; it tells the reader what the files say about each chip.

- files.py: `load_sensors_config`, which files in which order (lib/init.c);
- lexer.py, tokens.py: text to statements of tokens (lib/conf-lex.l);
- parser.py: `parse_config`, statements to chip blocks and Problems (lib/conf-parse.y);
- chip_name.py: `ChipName`, a chip's name (`coretemp-isa-0000`), which hwmon/chipname.py derives;
- chip_patterns.py: `chip "nct6779-*"` patterns and `bus` statements (lib/data.c);
- expressions.py, evaluation.py: compute expressions, parsed and evaluated safely (lib/access.c);
- statements.py: what one chip block says; config.py: `SensorsConfig.for_chip` and the precedence.
"""

from .config import EMPTY, ChipConfig, SensorsConfig
from .evaluation import NOT_FINITE, ComputeError
from .files import load_sensors_config
from .parser import parse_config
from .problem import Problem, describe
from .statements import Compute

__all__ = [
    "EMPTY",
    "NOT_FINITE",
    "ChipConfig",
    "Compute",
    "ComputeError",
    "Problem",
    "SensorsConfig",
    "describe",
    "load_sensors_config",
    "parse_config",
]
