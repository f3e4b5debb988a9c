"""The one-time setup code that claims a new device: who may become its first admin from the browser.

While no admin exists, the first process that needs the code (a worker starting, the CLI's
`setup-code`) makes it: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
shown as XXXX-XXXX-XXXX, kept in the run directory (a tmpfs, the app's user only, mode 0600) so
that every worker and the CLI read the same one. It is written there once, atomically: a fully
written temporary file is linked to its name, which fails if another process got there first,
whose code then stands. The app writes it to its log once per start (that is how the owner reads
it, with `make up` or `make logs`), never to an API answer, /metrics or the audit log. It dies
when used, or when an admin exists by any other way (the CLI). 31^12 codes: about 2^59, against
a handful of guesses a minute (limits.py).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from pathlib import Path

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 12
CODE_FILE = "setup-code"


class SetupCode:
    """The setup code of one run directory."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / CODE_FILE

    def ensure(self) -> str:
        """Return the code, making it first if there is none (raises OSError if the run directory cannot hold it)."""
        found = self.read()
        if found is not None:
            return found
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        temporary = self.path.with_name(f".{CODE_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(code + "\n")
            with contextlib.suppress(FileExistsError):  # another process's code stands
                os.link(temporary, self.path)  # atomic, and never replaces another process's code
        finally:
            temporary.unlink(missing_ok=True)
        found = self.read()
        if found is None:
            raise OSError(f"{self.path}: the setup code vanished as it was made")
        return found

    def read(self) -> str | None:
        """Return the code, or None when there is none."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return text if len(text) == LENGTH and all(char in ALPHABET for char in text) else None

    def matches(self, given: str) -> bool:
        """Tell whether `given` is the code, ignoring case, dashes and spaces (False when there is none)."""
        code = self.read()
        if code is None:
            return False
        typed = "".join(char for char in given.upper() if char not in "- \t")
        return hmac.compare_digest(typed.encode("utf-8"), code.encode("ascii"))

    def discard(self) -> None:
        """End the code (used, or an admin exists)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def shown(code: str) -> str:
    """Return a code as people read it: XXXX-XXXX-XXXX."""
    return "-".join(code[index : index + 4] for index in range(0, len(code), 4))
