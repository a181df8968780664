"""Authentication methods: MD5 (default), SCRAM-SHA-256 and cleartext password."""

from __future__ import annotations

import base64

import pytest

psycopg2 = pytest.importorskip("psycopg2")
redshift_connector = pytest.importorskip("redshift_connector")

from shale_support import first_auth_message, scram_server_first, unique_name  # noqa: E402

# mode name -> (SHALE_PG_AUTH value or None for the default, expected AuthenticationRequest code)
MODES = {
    "md5-default": (None, 5),
    "md5": ("md5", 5),
    "scram-sha-256": ("scram-sha-256", 10),
    "password": ("password", 3),
}
DRIVER_MODES = ["md5-default", "scram-sha-256", "password"]
WRONG = "not-the-password"

# redshift_connector 2.2.0 cannot do SCRAM against a protocol-conformant server:
# it parses the AuthenticationSASL mechanism list as data[4:-1].split(b"\0"),
# which for the required "SCRAM-SHA-256\0\0" yields ["SCRAM-SHA-256", ""], and
# scramp rejects the empty mechanism name ("The mechanism name is not
# supported"). Verified against PostgreSQL 15 as well, so it is a driver bug.
RC_SCRAM_BROKEN = "redshift_connector 2.2.0 SCRAM client rejects the standard SASL mechanism list (driver bug)"


def _skip_rc_if_scram(server):
    if server.auth == "scram-sha-256":
        pytest.skip(RC_SCRAM_BROKEN)


@pytest.fixture(params=DRIVER_MODES)
def auth_server(request, shale_server_factory):
    auth, _ = MODES[request.param]
    return shale_server_factory(auth)


def _ghost():
    return unique_name("ghost_user")


def _rc_error(server, user, password):
    with pytest.raises(redshift_connector.Error) as excinfo:
        redshift_connector.connect(**server.redshift_kwargs(user=user, password=password)).close()
    fields = excinfo.value.args[0]
    assert isinstance(fields, dict), f"expected server error fields, got {excinfo.value!r}"
    return fields


def _pg2_error(server, user, password):
    with pytest.raises(psycopg2.OperationalError) as excinfo:
        psycopg2.connect(**server.psycopg2_kwargs(user=user, password=password)).close()
    return str(excinfo.value)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_server_requests_expected_method(shale_server_factory, mode):
    auth, code = MODES[mode]
    server = shale_server_factory(auth)
    assert first_auth_message(server.host, server.port, server.user) == ("R", code)


def test_psycopg2_right_password(auth_server):
    c = psycopg2.connect(**auth_server.psycopg2_kwargs())
    try:
        with c.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    finally:
        c.close()


def test_psycopg2_wrong_password(auth_server):
    msg = _pg2_error(auth_server, auth_server.user, WRONG)
    assert f'FATAL:  password authentication failed for user "{auth_server.user}"' in msg, msg


def test_redshift_connector_right_password(auth_server):
    _skip_rc_if_scram(auth_server)
    c = redshift_connector.connect(**auth_server.redshift_kwargs())
    try:
        cur = c.cursor()
        cur.execute("select 1")
        assert cur.fetchone()[0] == 1
    finally:
        c.close()


def test_redshift_connector_wrong_password(auth_server):
    _skip_rc_if_scram(auth_server)
    fields = _rc_error(auth_server, auth_server.user, WRONG)
    assert fields.get("C") == "28P01", fields
    assert fields.get("S") == "FATAL", fields
    assert fields.get("M") == f'password authentication failed for user "{auth_server.user}"', fields


def test_unknown_user_error_has_same_form(auth_server):
    """A wrong password for an existing user and any password for a missing
    user must be indistinguishable apart from the echoed user name."""
    ghost = _ghost()
    real_msg = _pg2_error(auth_server, auth_server.user, WRONG)
    missing_msg = _pg2_error(auth_server, ghost, WRONG)
    assert f'FATAL:  password authentication failed for user "{ghost}"' in missing_msg, missing_msg
    assert missing_msg.replace(ghost, "<user>") == real_msg.replace(auth_server.user, "<user>")

    # The raw ErrorResponse fields (SQLSTATE, severity, detail, hint...) must match too.
    _skip_rc_if_scram(auth_server)
    real = _rc_error(auth_server, auth_server.user, WRONG)
    missing = _rc_error(auth_server, ghost, WRONG)
    normalise = lambda fields, user: {k: v.replace(user, "<user>") for k, v in fields.items() if k not in ("L", "F", "R")}
    assert missing.get("C") == "28P01", missing
    assert missing.get("M") == f'password authentication failed for user "{ghost}"', missing
    assert normalise(missing, ghost) == normalise(real, auth_server.user)


def test_unknown_user_gets_same_challenge(auth_server):
    """The server must not answer the StartupMessage differently for a user that does not exist."""
    assert first_auth_message(auth_server.host, auth_server.port, _ghost()) == first_auth_message(
        auth_server.host, auth_server.port, auth_server.user
    )


def test_scram_unknown_user_gets_plausible_challenge(shale_server_factory):
    """For SCRAM the server-first-message for a missing user must look like a
    real one (nonce extends ours, base64 salt, same iteration count) and be
    stable across attempts, as a real user's salt is."""
    server = shale_server_factory("scram-sha-256")
    real = scram_server_first(server.host, server.port, server.user)
    ghost = _ghost()
    first = scram_server_first(server.host, server.port, ghost)
    second = scram_server_first(server.host, server.port, ghost)
    for attrs in (real, first, second):
        assert attrs["r"].startswith(attrs["_client_nonce"]) and len(attrs["r"]) > len(attrs["_client_nonce"]), attrs
        assert len(base64.b64decode(attrs["s"], validate=True)) >= 8, attrs
        assert int(attrs["i"]) >= 4096, attrs
    assert first["i"] == real["i"]
    assert first["s"] == second["s"], "mock salt for a missing user changes between attempts"
    real_again = scram_server_first(server.host, server.port, server.user)
    assert real_again["s"] == real["s"], "salt for the real user changes between attempts"
