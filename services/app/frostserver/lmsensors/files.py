"""Find and read the configuration files in libsensors' order (lib/init.c, sensors_init).

`<etc>/sensors3.conf`, or `<etc>/sensors.conf` if the former does not exist, then every file of
`<etc>/sensors.d` in alphabetical order, skipping names that start with a dot and anything that
is not a regular file (a symbolic link to one counts).  Later files take precedence.

Deliberate differences, all towards reading more: libsensors stops at the first file it cannot
read or parse and then runs with no configuration at all; here every problem is reported and the
other files still apply.  And libsensors sorts with the locale's collation (alphasort); we sort by
bytes, the C locale's order, so the order never depends on the server's environment.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .config import SensorsConfig, combine
from .parser import parse_config
from .problem import Problem

MAIN_FILES = ("sensors3.conf", "sensors.conf")


def load_sensors_config(etc_dir: str | Path = "/etc", sensors_d: str | Path | None = None) -> SensorsConfig:
    """Read the main configuration file and the drop-in directory; never raise for a bad file."""
    etc = Path(etc_dir)
    drop_in = Path(sensors_d) if sensors_d is not None else etc / "sensors.d"
    parts: list[SensorsConfig] = []
    main = _read_main_file(etc)
    if main is not None:
        parts.append(main)
    paths, problems = _drop_in_files(drop_in)
    if problems:
        parts.append(SensorsConfig(problems=problems))
    parts.extend(_read_file(path) for path in paths)
    return combine(parts)


def _read_main_file(etc: Path) -> SensorsConfig | None:
    """Read sensors3.conf, falling back to sensors.conf only if the first does not exist."""
    for name in MAIN_FILES:
        path = etc / name
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as error:
            # Like libsensors: an unreadable sensors3.conf is an error, not a reason to fall back.
            return _unreadable(path, error)
        return parse_config(_decode(text), str(path))
    return None


def _drop_in_files(directory: Path) -> tuple[list[Path], tuple[Problem, ...]]:
    """List the directory's configuration files in order; a missing directory has none."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return [], ()
    except OSError as error:
        return [], (Problem(str(directory), 0, f"cannot list the directory: {_reason(error)}"),)
    ordered = sorted((name for name in names if not name.startswith(".")), key=os.fsencode)
    return [directory / name for name in ordered if _is_regular_file(directory / name)], ()


def _is_regular_file(path: Path) -> bool:
    """Tell whether the path is (or links to) a regular file; a broken link is not."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _read_file(path: Path) -> SensorsConfig:
    """Read and parse one drop-in file, or report why it cannot be read."""
    try:
        text = path.read_bytes()
    except OSError as error:
        return _unreadable(path, error)
    return parse_config(_decode(text), str(path))


def _decode(data: bytes) -> str:
    """Decode a file's bytes: labels may be UTF-8 ("°C"); a stray byte must not lose the file."""
    return data.decode("utf-8", errors="replace")


def _unreadable(path: Path, error: OSError) -> SensorsConfig:
    return SensorsConfig(files=(str(path),), problems=(Problem(str(path), 0, f"cannot read: {_reason(error)}"),))


def _reason(error: OSError) -> str:
    if error.errno == errno.EACCES:
        return "permission denied (the server's user needs read access)"
    return error.strerror or str(error)
