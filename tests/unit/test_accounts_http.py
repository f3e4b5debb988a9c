"""The HTTP side of the accounts: the one access check, sessions' cookies, CSRF and origins, tokens, roles, 405s."""
from __future__ import annotations

import pytest

from frostserver.http import create_app
from frostserver.http.context import context

from accounts_helpers import START, cheap_passwords
from clocks import WallClock

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery staple"


def make_app(tmp_path, access: str = ""):
    config = tmp_path / "frostserver.toml"
    config.write_text(access)
    (tmp_path / "run").mkdir(exist_ok=True)
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "config": config},
                      clock=WallClock(START), passwords=cheap_passwords())


@pytest.fixture
def app(tmp_path):
    made = make_app(tmp_path)
    context(made).accounts.add_user("cli", "ada", PASSWORD, role("admin"), "local")
    context(made).accounts.add_user("cli", "vic", PASSWORD, role("viewer"), "local")
    return made


def role(name):
    from frostserver.accounts.model import Role

    return Role(name)


def sign_in(app, name="ada", base_url="http://localhost"):
    client = app.test_client()
    response = client.post("/api/v1/session", json={"username": name, "password": PASSWORD},
                           headers={"Origin": base_url}, base_url=base_url)
    assert response.status_code == 200, response.json
    return client, response.json["csrf_token"], response


def test_the_session_document_says_who_and_what_to_show(app):
    anonymous = app.test_client().get("/api/v1/session")
    assert anonymous.json == {"user": None, "via": None, "scope": None, "csrf_token": None, "anonymous": "read",
                              "claim": False}
    assert anonymous.headers["Cache-Control"] == "no-store"
    client, csrf, signed = sign_in(app)
    assert signed.json["user"] == {"name": "ada", "role": "admin"} and signed.json["via"] == "session"
    assert client.get("/api/v1/session").json["csrf_token"] == csrf


def test_the_cookie_is_httponly_strict_and_secure_only_over_tls(app):
    _, _, plain = sign_in(app)
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    _, _, tls = sign_in(app, base_url="https://localhost")
    assert "Secure" in tls.headers["Set-Cookie"]
    client = app.test_client()
    behind_nginx = client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD},
                               headers={"Origin": "https://device:8443", "X-Forwarded-Proto": "https",
                                        "X-Forwarded-Host": "device:8443"})
    assert behind_nginx.status_code == 200 and "Secure" in behind_nginx.headers["Set-Cookie"]


def test_a_stale_cookie_is_cleared_and_reads_on_as_anonymous(app):
    client = app.test_client()
    client.set_cookie("frost_session", "A" * 43)
    response = client.get("/api/v1/session")
    assert response.json["user"] is None and "frost_session=;" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(("headers", "problem"), [
    ({}, "neither a Sec-Fetch-Site nor an Origin"),
    ({"Origin": "http://evil.example"}, "not this device's address"),
    ({"Origin": "http://localhost:8080"}, "not this device's address"),  # another port is another origin
    ({"Origin": "https://localhost"}, "not this device's address"),  # another scheme too
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://localhost"}, "not same-origin"),
])
def test_writes_from_another_origin_are_refused_even_with_the_csrf_token(app, headers, problem):
    client, csrf, _ = sign_in(app)
    response = client.post("/api/v1/tokens", json={"name": "t", "scope": "read"},
                           headers={"X-CSRF-Token": csrf, **headers})
    assert response.status_code == 403 and problem in response.json["message"]
    sign_in_attempt = app.test_client().post("/api/v1/session", json={"username": "ada", "password": PASSWORD},
                                             headers=headers)
    assert sign_in_attempt.status_code == 403  # a sign-in is checked for its origin too


def test_same_origin_writes_need_the_csrf_token(app):
    client, csrf, _ = sign_in(app)
    assert client.post("/api/v1/tokens", json={"name": "t", "scope": "read"}, headers=ORIGIN).status_code == 403
    ok = client.post("/api/v1/tokens", json={"name": "t", "scope": "read"},
                     headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf})
    assert ok.status_code == 201 and ok.json["token"].startswith("frost_")


def test_who_may_do_what(app):
    admin, admin_csrf, _ = sign_in(app)
    viewer, viewer_csrf, _ = sign_in(app, "vic")
    read = admin.post("/api/v1/tokens", json={"name": "r", "scope": "read"},
                      headers={**ORIGIN, "X-CSRF-Token": admin_csrf}).json["token"]
    write = admin.post("/api/v1/tokens", json={"name": "w", "scope": "write"},
                       headers={**ORIGIN, "X-CSRF-Token": admin_csrf}).json["token"]
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/users").status_code == 401
    assert anonymous.get("/api/v1/users").headers["WWW-Authenticate"] == 'Bearer realm="FrostServer"'
    assert viewer.get("/api/v1/users").status_code == 403
    assert admin.get("/api/v1/users").status_code == 200
    for token in (read, write):
        assert anonymous.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403
        assert anonymous.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bad = anonymous.get("/api/v1/alerts", headers={"Authorization": "Bearer frost_nope"})
    assert bad.status_code == 401 and "not valid" in bad.json["message"]
    # A viewer changes its own password (with the current one), not another's, nor a role.
    mine = viewer.patch("/api/v1/users/vic", json={"password": "a new password", "current_password": PASSWORD},
                        headers={**ORIGIN, "X-CSRF-Token": viewer_csrf})
    assert mine.status_code == 200
    assert viewer.patch("/api/v1/users/ada", json={"password": "a new password", "current_password": PASSWORD},
                        headers={**ORIGIN, "X-CSRF-Token": viewer_csrf}).status_code == 403
    assert viewer.patch("/api/v1/users/vic", json={"role": "admin"},
                        headers={**ORIGIN, "X-CSRF-Token": viewer_csrf}).status_code == 403


def test_anonymous_none_closes_every_read_but_the_public_ones(tmp_path):
    app = make_app(tmp_path, '[access]\nanonymous = "none"\n')
    client = app.test_client()
    for path in ("/api/v1/sensors", "/api/v1/alerts", "/metrics", "/api/v1/openapi.json", "/api/v1/stream",
                 "/sensor_reading", "/api/v1/history"):
        response = client.get(path)
        assert response.status_code == 401, path
    assert client.get("/api/v1/session").json["anonymous"] == "none"
    assert client.get("/healthz").status_code == 200


def test_the_accounts_api_in_its_json_shapes(app):
    client, csrf, _ = sign_in(app)
    headers = {**ORIGIN, "X-CSRF-Token": csrf}
    made = client.post("/api/v1/users", json={"name": "bob", "password": PASSWORD, "role": "viewer"}, headers=headers)
    assert made.status_code == 201 and set(made.json) == {"name", "role", "created", "last_login", "sessions"}
    assert client.post("/api/v1/users", json={"name": "BOB", "password": PASSWORD, "role": "viewer"},
                       headers=headers).status_code == 409
    bad = client.post("/api/v1/users", json={"name": "bob", "password": "short", "role": "viewer"}, headers=headers)
    assert bad.status_code == 400 and bad.json["field"] == "password"
    assert client.post("/api/v1/users", data=b"not json", headers=headers).status_code == 400
    assert client.patch("/api/v1/users/bob", json={"role": "admin"}, headers=headers).json["role"] == "admin"
    assert client.patch("/api/v1/users/bob", json={}, headers=headers).status_code == 400
    assert client.delete("/api/v1/users/nobody", headers=headers).status_code == 404
    assert client.delete("/api/v1/users/bob", headers=headers).status_code == 204
    token = client.post("/api/v1/tokens", json={"name": "p", "scope": "read"}, headers=headers).json
    listed = client.get("/api/v1/tokens").json["tokens"]
    assert listed == [{key: value for key, value in token.items() if key != "token"}]
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=headers).status_code == 404
    events = client.get("/api/v1/audit?limit=3").json["events"]
    assert [event["action"] for event in events] == ["token_revoked", "token_added", "user_removed"]
    assert client.get("/api/v1/audit?limit=x").json["parameter"] == "limit"
    assert client.delete("/api/v1/users/ada/sessions", headers=headers).status_code == 204
    assert client.get("/api/v1/session").json["user"] is None  # signed out everywhere, here too


def test_a_method_a_route_does_not_take_is_a_json_405_with_its_allow(app):
    client = app.test_client()
    response = client.put("/api/v1/session")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD, POST, DELETE"
    assert client.options("/api/v1/sensors").status_code == 405


def test_a_body_over_16_kib_is_a_413(app):
    response = app.test_client().post("/api/v1/session", data=b"x" * 20000, headers=ORIGIN)
    assert response.status_code == 413 and response.is_json


def test_fifty_failed_sign_ins_are_401_then_429_with_retry_after_never_200(app):
    client = app.test_client()
    statuses = [client.post("/api/v1/session", json={"username": "ada", "password": f"guess {n}"},
                            headers=ORIGIN).status_code for n in range(50)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    locked = client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD}, headers=ORIGIN)
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "60"
