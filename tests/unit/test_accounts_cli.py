"""The accounts on the device's shell: python -m frostserver.accounts, and [access] in the config file."""
from __future__ import annotations

import io
import re

import pytest

from frostserver.accounts.__main__ import main
from frostserver.config import ConfigError, load_settings
from frostserver.config.access import AccessConfig


class Piped(io.StringIO):
    """A stdin that is not a terminal: a script piping a password."""

    def isatty(self) -> bool:
        return False


@pytest.fixture
def shell(tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("FROST_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("FROST_ACCOUNTS_DIR", str(tmp_path))
    monkeypatch.delenv("FROST_CONFIG", raising=False)
    monkeypatch.delenv("FROST_HISTORY_DIR", raising=False)
    return tmp_path


def run(capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    status = main(list(args), Piped(stdin))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_first_admin_made_on_the_shell_claims_the_device(shell, capsys):
    status, code, _ = run(capsys, "setup-code")
    assert status == 0 and re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\n", code)
    assert run(capsys, "setup-code")[1] == code  # the same code until it dies
    status, out, err = run(capsys, "add", "ada", "--role", "admin", stdin="piped password\n")
    assert status == 0 and out == "Added admin 'ada'.\n" and "piped password" not in out + err
    status, out, _ = run(capsys, "setup-code")
    assert status == 0 and "FrostServer is claimed" in out and code.strip() not in out


def test_list_token_tokens_revoke_logout_passwd_remove(shell, capsys):
    run(capsys, "add", "ada", "--role", "admin", stdin="piped password\n")
    run(capsys, "add", "vic", stdin="viewer password\n")
    status, out, _ = run(capsys, "list")
    assert status == 0 and re.search(r"^ada\s+admin\s", out, re.M) and re.search(r"^vic\s+viewer\s", out, re.M)
    status, out, err = run(capsys, "token", "prometheus", "--scope", "read")
    token = out.strip()
    assert status == 0 and re.fullmatch(r"frost_[A-Za-z0-9_-]{43}", token) and "shown this once" in err
    assert token not in run(capsys, "tokens")[1] and "prometheus" in run(capsys, "tokens")[1]
    assert run(capsys, "revoke", "1")[0] == 0 and run(capsys, "revoke", "1")[0] == 1
    assert run(capsys, "logout", "vic")[1] == "Ended 0 sessions of 'vic'.\n"
    assert run(capsys, "passwd", "vic", stdin="another password\n")[0] == 0
    status, _, err = run(capsys, "remove", "ada")
    assert status == 1 and "last admin" in err
    assert run(capsys, "remove", "vic")[0] == 0


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("add", "two words"), "a fine password\n", "1 to 64 letters"),
    (("add", "ada"), "short\n", "8 to 1024 characters"),
    (("passwd", "nobody"), "a fine password\n", "No user named 'nobody'"),
])
def test_mistakes_are_one_line_and_status_1(shell, capsys, args, stdin, message):
    status, _, err = run(capsys, *args, stdin=stdin)
    assert status == 1 and message in err and err.count("\n") == 1


def test_the_access_table_is_read_with_its_defaults_and_bounds(tmp_path):
    config = tmp_path / "frostserver.toml"
    assert load_settings({}, read_file=False).access == AccessConfig()
    config.write_text('[access]\nanonymous = "none"\nlockout = "10s"\nmax_lockout = "20s"\nsession_idle = "1h"\n')
    access = load_settings({"FROST_CONFIG": str(config)}).access
    assert (access.anonymous, access.lockout, access.max_lockout, access.session_idle) == ("none", 10, 20, 3600)
    assert not access.anonymous_may_read


@pytest.mark.parametrize(("text", "message"), [
    ('anonymous = "nobody"', "access.anonymous: must be one of read, none"),
    ('lockout = "2h"', "access.lockout: must be a duration"),
    ('lockout = "5m"\nmax_lockout = "1m"', "access.max_lockout: must be at least lockout (5 minutes)"),
    ('session_idle = "0s"', "access.session_idle: must be at least one second"),
    ("login_attempts = 0", "access.login_attempts: must be a whole number between 1 and 1000"),
    ('anonymus = "none"', "access.anonymus: unknown key; did you mean 'anonymous'?"),
])
def test_a_mistake_in_the_access_table_names_the_file_and_key(tmp_path, text, message):
    config = tmp_path / "frostserver.toml"
    config.write_text(f"[access]\n{text}\n")
    with pytest.raises(ConfigError) as error:
        load_settings({"FROST_CONFIG": str(config)})
    assert str(error.value).startswith(f"{config}: {message}")
