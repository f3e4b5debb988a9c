"""Issue 21 in a real browser: claim the device, sign in and out, accounts and tokens, who sees what.

Stacks of their own, so that the session stack stays unclaimed and other modules' browser tests see
what they always saw: `fresh` is a new device (anonymous may read, nobody has claimed it); `private`
is a claimed one (an admin and a viewer made on the device with `python -m frostserver.accounts`)
whose readings need a sign-in. Every test leaves its device as it found it, or changes only what no
other test looks at, so that the tests pass in any order.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import COMPOSE_FILES, REPO, ComposeProject, compose_project
from fakesysfs import FakeSysfs
from test_browser import expect
from test_browser import open_page as new_page
from test_browser import browser  # noqa: F401  # the module's Chromium (a fixture)

PHONE = {"width": 375, "height": 740}
ADMIN, ADMIN_PASSWORD = "ada", "analytical engine"
VIEWER, VIEWER_PASSWORD = "bob", "difference engine"
# An account only the lockout test signs in to (its attempts lock nobody else out).
LOCKED, LOCKED_PASSWORD = "carol", "jacquard loom"
LOGIN_ATTEMPTS = 3
# Reads need a sign-in. Failed sign-ins lock one account out after LOGIN_ATTEMPTS, and a client
# address only after very many: every browser here comes from the same address.
PRIVATE_CONFIG = f"""
[access]
anonymous = "none"
login_attempts = {LOGIN_ATTEMPTS}
address_attempts = 100000
lockout = "2m"
max_lockout = "2m"
"""
# A user name as hostile as a sign-in form lets anyone type: the audit log quotes it.
HOSTILE_NAME = "<img src=x onerror=window.__pwned=1>"


@dataclass
class Device:
    """A stack of its own: its URL and its compose project."""

    base_url: str
    project: ComposeProject

    def url(self, path: str) -> str:
        return self.base_url + path

    def accounts(self, *args: str, stdin: str = "") -> str:
        """Run `python -m frostserver.accounts ARGS` in the app container; its standard output."""
        options = [arg for name in self.project.files for arg in ("-f", name)]
        command = ["docker", "compose", "-p", self.project.project, *options, "exec", "-T", "app",
                   "python", "-m", "frostserver.accounts", *args]
        # The password on stdin, as a script pipes it: never on a command line (ps shows those).
        done = subprocess.run(command, cwd=REPO, input=stdin, text=True,
                              capture_output=True, env=self.project.environment(), timeout=120, check=False)
        assert done.returncode == 0, f"frostserver.accounts {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def setup_code(self) -> str:
        """The setup code of an unclaimed device, as the accounts command prints it."""
        return self.accounts("setup-code").strip().splitlines()[-1].strip()


@contextmanager
def device(name: str, config: str):
    """Bring up a stack of its own over a small fake sysfs (two coretemp chips) and `config`."""
    work = Path(tempfile.mkdtemp(prefix=f"frost-{name}-"))
    work.chmod(0o755)  # the app runs as an unprivileged user in the container
    try:
        tree_dir = work / "sys"
        tree_dir.mkdir(mode=0o755)
        coretemp_dual_socket(FakeSysfs(tree_dir))
        config_file = work / "frostserver.toml"
        config_file.write_text(config)
        config_file.chmod(0o644)
        env = {"FROST_TEST_SYSFS": str(tree_dir), "FROST_TEST_CONFIG": str(config_file)}
        with compose_project(name, COMPOSE_FILES, env) as project:
            yield Device(project.url("nginx", 8080), project)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def fresh():
    with device("frostclaim", "") as unclaimed:
        yield unclaimed


@pytest.fixture(scope="module")
def private():
    with device("frostprivate", PRIVATE_CONFIG) as claimed:
        for name, password, role in ((ADMIN, ADMIN_PASSWORD, "admin"), (VIEWER, VIEWER_PASSWORD, "viewer"),
                                     (LOCKED, LOCKED_PASSWORD, "viewer")):
            claimed.accounts("add", name, "--role", role, stdin=password + "\n")
        yield claimed


def open_page(browser, base_url: str, viewport: dict = PHONE):
    """A page in a browser context of its own (its own cookies); a wrong password's 401 is no mistake."""
    return new_page(browser, base_url, viewport)


def sign_in(page, name: str, password: str) -> None:
    """Fill in the sign-in page (already shown) and send it with the Enter key, as a keyboard does."""
    form = page.locator("#signin")
    form.get_by_label("User name").fill(name)
    form.get_by_label("Password").fill(password)
    form.get_by_label("Password").press("Enter")


def audit_lines(page) -> list[str]:
    return [line.strip() for line in page.locator("#accounts .audit li").all_text_contents()]


def test_claim_with_the_setup_code_then_sign_in_create_a_viewer_and_sign_out(browser, fresh):
    code = fresh.setup_code()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    with open_page(browser, fresh.base_url) as board, open_page(browser, fresh.base_url) as second:
        page = board.page
        page.goto("/")
        # An unclaimed device still shows its readings, and how to claim it.
        expect()(page.locator(".place-card").first).to_be_visible()
        expect()(page.locator("#claim-note")).to_be_visible()
        expect()(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()
        board.screenshot("accounts-unclaimed")
        page.locator("#claim-note").get_by_role("link", name="Claim it").click()
        claim = page.locator("#claim")
        expect()(claim).to_be_visible()
        expect()(page.locator("#dashboard")).to_be_hidden()
        # Labelled fields with the hints password managers go by.
        assert claim.get_by_label("Setup code").get_attribute("autocomplete") == "one-time-code"
        assert claim.get_by_label("Administrator's user name").get_attribute("autocomplete") == "username"
        assert claim.get_by_label("Password (at least 8 characters)").get_attribute("autocomplete") == "new-password"

        # A wrong code is refused, and only the code needs typing again.
        claim.get_by_label("Setup code").fill(wrong)
        claim.get_by_label("Administrator's user name").fill(ADMIN)
        claim.get_by_label("Password (at least 8 characters)").fill(ADMIN_PASSWORD)
        claim.get_by_label("The same password again").fill(ADMIN_PASSWORD + "!")
        claim.get_by_role("button", name="Claim this device").click()
        expect()(claim.locator(".form-error")).to_have_text("The two passwords differ: type the same one twice.")
        claim.get_by_label("The same password again").fill(ADMIN_PASSWORD)
        claim.get_by_role("button", name="Claim this device").click()
        expect()(claim.locator(".form-error")).to_have_text("Wrong or used setup code")
        expect()(claim.get_by_label("Setup code")).to_have_attribute("aria-invalid", "true")
        assert claim.get_by_label("Administrator's user name").input_value() == ADMIN
        assert claim.get_by_label("The same password again").input_value() == ADMIN_PASSWORD
        board.screenshot("accounts-claim-refused")

        # A second browser has the claim page open too: it will try the code once it is used.
        second.page.goto("/#claim")
        expect()(second.page.locator("#claim")).to_be_visible()

        # The code as a person might paste it: lower case, no dashes.
        claim.get_by_label("Setup code").fill(code.replace("-", "").lower())
        claim.get_by_role("button", name="Claim this device").click()
        expect()(page.locator("#account-name")).to_have_text(ADMIN)
        expect()(page.locator("#account-role")).to_have_text("(admin)")
        expect()(page.locator("#claim-note")).to_be_hidden()
        expect()(page.locator(".place-card").first).to_be_visible()

        # The used code claims nothing.
        other = second.page.locator("#claim")
        other.get_by_label("Setup code").fill(code)
        other.get_by_label("Administrator's user name").fill("mallory")
        other.get_by_label("Password (at least 8 characters)").fill("mallory's password")
        other.get_by_label("The same password again").fill("mallory's password")
        other.get_by_role("button", name="Claim this device").click()
        expect()(other.locator(".form-error")).not_to_be_empty()
        assert second.page.locator("#account-name").text_content() == ""
        second.screenshot("accounts-used-code")

        # The admin adds a viewer on the accounts page.
        page.locator("#account").get_by_role("link", name="Accounts").click()
        accounts = page.locator("#accounts")
        expect()(accounts.locator(f"[data-user='{ADMIN}']")).to_contain_text("(you)")
        add = accounts.locator("form", has=page.get_by_role("heading", name="Add a user"))
        add.get_by_label("User name").fill(VIEWER)
        add.get_by_label("Role").select_option("viewer")
        add.get_by_label("Password (at least 8 characters)").fill(VIEWER_PASSWORD)
        add.get_by_label("The same password again").fill(VIEWER_PASSWORD)
        add.get_by_role("button", name="Add user").click()
        row = accounts.locator(f"[data-user='{VIEWER}']")
        expect()(row).to_be_visible()
        expect()(row.get_by_label(f"Role of {VIEWER}")).to_have_value("viewer")
        # Newest first: the viewer's addition above the claim.
        expect()(accounts.locator(".audit li").first).to_contain_text(f"{ADMIN} added the user {VIEWER}")
        assert any("claimed the device" in line for line in audit_lines(page)), audit_lines(page)
        board.screenshot("accounts-viewer-added")

        page.locator("#account").get_by_role("button", name="Sign out").click()
        expect()(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()
        expect()(page.locator("#account-name")).to_be_hidden()
        expect()(page.locator("#claim-note")).to_be_hidden()  # claimed now
        assert board.problems == [] and second.problems == []

    # The viewer signs in, reads, and is offered nothing an admin does.
    with open_page(browser, fresh.base_url) as board:
        page = board.page
        page.goto("/#signin")
        sign_in(page, VIEWER, VIEWER_PASSWORD)
        expect()(page.locator("#account-name")).to_have_text(VIEWER)
        expect()(page.locator("#account-role")).to_have_text("(viewer)")
        expect()(page.locator(".place-card").first).to_be_visible()
        assert page.locator("#account").get_by_role("link", name="Accounts").is_hidden()
        page.goto("/#accounts")
        expect()(page.locator("#dashboard")).to_be_visible()
        expect()(page.locator("#accounts")).to_be_hidden()
        board.screenshot("accounts-viewer")
        assert board.problems == []


def test_with_anonymous_none_a_visit_shows_the_sign_in_page_and_no_readings(browser, private):
    with open_page(browser, private.base_url) as board:
        page = board.page
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if re.search(r"/api/v1/(sensors|history|stream|alerts)", r.url)
                else None)
        page.goto("/")
        signin = page.locator("#signin")
        expect()(signin).to_be_visible()
        expect()(page.locator("#signin-why")).to_have_text("This device shows its readings to signed-in users only.")
        expect()(page.locator("#dashboard")).to_be_hidden()
        assert signin.get_by_role("link", name="Back to the readings").is_hidden()
        # The keyboard starts in the first field; the fields say what a password manager fills in.
        assert page.evaluate("document.activeElement.id") == "signin-name"
        assert signin.get_by_label("User name").get_attribute("autocomplete") == "username"
        assert signin.get_by_label("Password").get_attribute("autocomplete") == "current-password"
        board.screenshot("accounts-sign-in-first")
        assert reads == [], f"the page asked for readings nobody may see: {reads}"

        sign_in(page, VIEWER, "not the password")
        expect()(signin.locator(".form-error")).to_have_text("Wrong user name or password")
        expect()(signin.get_by_label("Password")).to_have_value("")  # the one to type again
        sign_in(page, VIEWER, VIEWER_PASSWORD)
        expect()(page.locator("#account-name")).to_have_text(VIEWER)
        expect()(page.locator(".place-card").first).to_be_visible()
        assert page.locator("#account").get_by_role("link", name="Accounts").is_hidden()

        page.locator("#account").get_by_role("button", name="Sign out").click()
        expect()(signin).to_be_visible()
        expect()(page.locator("#dashboard")).to_be_hidden()
        assert board.problems == []


def test_an_ended_session_brings_the_sign_in_page(browser, private):
    with open_page(browser, private.base_url) as board:
        page = board.page
        page.goto("/")
        sign_in(page, ADMIN, ADMIN_PASSWORD)
        page.locator("#account").get_by_role("link", name="Accounts").click()
        expect()(page.locator(f"#accounts [data-user='{VIEWER}']")).to_be_visible()
        # The session ends elsewhere (its cookie gone); the page's next request is refused.
        page.context.clear_cookies()
        page.locator(f"#accounts [data-user='{VIEWER}']").get_by_role("button", name="Sign out everywhere").click()
        expect()(page.locator("#signin")).to_be_visible()
        expect()(page.locator("#signin-why")).to_have_text("Your session has ended: sign in again.")
        assert board.problems == []


def test_an_admin_sees_a_new_token_once_and_revokes_it(browser, private):
    with open_page(browser, private.base_url, viewport={"width": 1400, "height": 1000}) as board:
        page = board.page
        page.goto("/#accounts")
        sign_in(page, ADMIN, ADMIN_PASSWORD)  # then the page asked for
        accounts = page.locator("#accounts")
        create = accounts.locator("form", has=page.get_by_role("heading", name="Create a token"))
        create.get_by_label("Token name").fill("prometheus")
        create.get_by_label("Scope").select_option("read")
        create.get_by_role("button", name="Create token").click()
        shown = accounts.locator(".new-token")
        expect()(shown).to_contain_text("you won't see it again")
        value = shown.locator(".token-value")
        expect()(value).to_have_value(re.compile(r"^frost_\S+$"))
        token = value.input_value()
        board.screenshot("accounts-token-shown")
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(private.url("/api/v1/sensors"), headers=bearer, timeout=30).status_code == 200
        shown.get_by_role("button", name="Copy").click()
        expect()(shown.get_by_role("status")).not_to_be_empty()  # copied, or how to copy by hand

        shown.get_by_role("button", name="Done").click()
        expect()(shown).to_be_hidden()
        assert token not in page.content(), "the token stays on the page after Done"
        page.reload()
        row = accounts.locator("[data-token='prometheus']")
        expect()(row).to_contain_text("(read)")
        assert token not in page.content(), "the token is shown again"

        row.get_by_role("button", name="Revoke").click()
        expect()(row).to_contain_text("Revoke prometheus?")
        row.get_by_role("button", name="Revoke prometheus").click()
        expect()(accounts.locator("[data-token='prometheus']")).to_have_count(0)
        assert requests.get(private.url("/api/v1/sensors"), headers=bearer, timeout=30).status_code == 401
        expect()(accounts.locator(".audit li").first).to_contain_text(f"{ADMIN} revoked the token")
        assert board.problems == []


def _with_hostile_names(route):
    """Serve the real list of users or tokens with one more entry named like markup: the app allows
    no such name today, and the page must not depend on that."""
    if route.request.method != "GET":
        route.continue_()
        return
    response = route.fetch()
    answer = response.json()
    if "users" in answer:
        answer["users"].append({"name": HOSTILE_NAME, "role": "viewer", "created": 1.7e9, "last_login": None,
                                "sessions": 0})
    if "tokens" in answer:
        answer["tokens"].append({"id": 999999, "name": HOSTILE_NAME, "scope": "read", "created": 1.7e9,
                                 "created_by": HOSTILE_NAME, "last_used": None})
    route.fulfill(response=response, json=answer)


def test_what_people_type_stays_text_and_out_of_the_audit_log(browser, private):
    with open_page(browser, private.base_url) as board:
        page = board.page
        page.goto("/")
        # A stranger's sign-in under a name like markup: refused, and still only text in its field.
        sign_in(page, HOSTILE_NAME, "not the password")
        signin = page.locator("#signin")
        expect()(signin.locator(".form-error")).to_have_text("Wrong user name or password")
        assert signin.get_by_label("User name").input_value() == HOSTILE_NAME

        page.route("**/api/v1/users", _with_hostile_names)
        page.route("**/api/v1/tokens", _with_hostile_names)
        sign_in(page, ADMIN, ADMIN_PASSWORD)
        page.locator("#account").get_by_role("link", name="Accounts").click()
        accounts = page.locator("#accounts")
        user = accounts.locator(".row").filter(has_text="onerror").first
        expect()(user.locator(".name")).to_have_text(HOSTILE_NAME)
        token = accounts.locator("[data-token]").filter(has_text="onerror")
        expect()(token.locator(".name")).to_have_text(HOSTILE_NAME)
        expect()(token).to_contain_text(f"by {HOSTILE_NAME}")
        assert accounts.locator("img").count() == 0
        assert page.evaluate("window.__pwned") is None

        # The audit log says a sign-in failed, never what was typed (a password typed into the name field).
        audit = accounts.locator(".audit")
        expect()(audit.locator("li").first).to_be_visible()
        lines = audit_lines(page)
        assert not [line for line in lines if "onerror" in line], lines[:5]
        assert any("failed to sign in as (unknown user)" in line for line in lines), lines[:5]
        # Newest first: this very sign-in is the newest event.
        actions = audit.locator("li").evaluate_all("(items) => items.map((item) => item.dataset.action)")
        assert actions[0] == "login", actions
        board.screenshot("accounts-hostile-names")
        assert board.problems == []


def test_too_many_wrong_passwords_say_how_long_to_wait(browser, private):
    with open_page(browser, private.base_url) as board:
        page = board.page
        page.goto("/")
        error = page.locator("#signin .form-error")
        for _ in range(LOGIN_ATTEMPTS + 1):
            sign_in(page, LOCKED, "not the password")
            expect()(error).not_to_be_empty()
            if error.text_content().startswith("Too many"):
                break
            expect()(error).to_have_text("Wrong user name or password")
            page.evaluate("document.querySelector('#signin .form-error').textContent = ''")
        expect()(error).to_have_text(re.compile(r"^Too many attempts, try again in \d+\s(s|min)\.$"))
        board.screenshot("accounts-too-many")
        assert board.problems == []
