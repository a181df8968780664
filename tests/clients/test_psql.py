"""psql (libpq, simple query protocol) against Shale."""

from __future__ import annotations

import os

import pytest

from shale_support import PSQL, run_psql, unique_name

pytestmark = pytest.mark.skipif(not os.access(PSQL, os.X_OK), reason=f"{PSQL} not installed")


def _ok(res):
    assert res.returncode == 0, f"psql exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def test_select_version(shale_server):
    res = _ok(run_psql(shale_server, "-At", "-c", "select version()"))
    version = res.stdout.strip()
    assert version.startswith("PostgreSQL 8.0.2 on "), version
    assert "Redshift 1.0." in version, version


def test_server_version_parameter(shale_server):
    # psql reports the ParameterStatus server_version through the SERVER_VERSION_NAME variable.
    res = _ok(run_psql(shale_server, "-At", "-c", r"\echo :SERVER_VERSION_NAME"))
    assert res.stdout.strip() == "8.0.2"


def test_query_file_to_csv_snapshot(shale_server, tmp_path):
    """The ML-job scenario: psql -A -F ',' -f query.sql -o out.csv."""
    table = unique_name("psql_csv")
    setup = (
        f"create table {table} (id integer, name varchar(20), amount decimal(10,2), "
        f"created date, active boolean);"
        f"insert into {table} values "
        f"(1, 'alpha', 10.5, '2024-01-15', true), "
        f"(2, 'beta', -3.25, '2024-02-29', false), "
        f"(3, null, 0, '2024-03-01', null);"
    )
    _ok(run_psql(shale_server, "-v", "ON_ERROR_STOP=1", "-c", setup))

    query = tmp_path / "query.sql"
    query.write_text(f"select id, name, amount, created, active from {table} order by id;\n")
    out = tmp_path / "out.csv"
    res = _ok(
        run_psql(
            shale_server,
            "-v",
            "ON_ERROR_STOP=1",
            "-A",
            "-F",
            ",",
            "-f",
            str(query),
            "-o",
            str(out),
        )
    )
    assert out.read_text() == (
        "id,name,amount,created,active\n"
        "1,alpha,10.50,2024-01-15,t\n"
        "2,beta,-3.25,2024-02-29,f\n"
        "3,,0.00,2024-03-01,\n"
        "(3 rows)\n"
    )


def test_error_exits_nonzero_with_sqlstate(shale_server, tmp_path):
    query = tmp_path / "bad.sql"
    query.write_text("select * from no_such_table;\n")
    res = run_psql(
        shale_server,
        "-v",
        "ON_ERROR_STOP=1",
        "-v",
        "VERBOSITY=verbose",
        "-A",
        "-F",
        ",",
        "-f",
        str(query),
        "-o",
        str(tmp_path / "out.csv"),
    )
    assert res.returncode == 3, f"exit {res.returncode}; stderr: {res.stderr}"  # 3 = error in script with ON_ERROR_STOP
    assert 'ERROR:  42P01: relation "no_such_table" does not exist' in res.stderr, res.stderr


def test_error_in_dash_c_exits_nonzero(shale_server):
    res = run_psql(shale_server, "-v", "VERBOSITY=verbose", "-c", "select 1/0")
    assert res.returncode == 1, f"exit {res.returncode}; stderr: {res.stderr}"
    assert "ERROR:  22012: division by zero" in res.stderr, res.stderr


def test_sslmode_require(shale_server):
    res = _ok(run_psql(shale_server, "-At", "-c", r"\conninfo", "-c", "select 42", sslmode="require"))
    assert "SSL connection (protocol: TLS" in res.stdout, res.stdout
    assert res.stdout.strip().splitlines()[-1] == "42"


def test_require_ssl_always_refuses_plain_connections(shale_server_factory):
    server = shale_server_factory(None, "always")
    res = run_psql(server, "-At", "-c", "select 1", sslmode="disable")
    assert res.returncode != 0, res.stdout
    assert "no pg_hba.conf entry for host" in res.stderr and "SSL off" in res.stderr, res.stderr
    res = _ok(run_psql(server, "-At", "-c", "select 1", sslmode="require"))
    assert res.stdout.strip() == "1"


def test_sslmode_verify_ca_with_generated_cert(shale_server):
    assert os.path.isfile(shale_server.tls_cert), f"missing {shale_server.tls_cert}"
    res = _ok(
        run_psql(
            shale_server,
            "-At",
            "-c",
            "select 1",
            sslmode="verify-ca",
            extra_conn={"sslrootcert": shale_server.tls_cert},
        )
    )
    assert res.stdout.strip() == "1"


def test_wrong_password_fails(shale_server):
    res = run_psql(shale_server, "-At", "-c", "select 1", password="definitely-wrong")
    assert res.returncode == 2, f"exit {res.returncode}; stdout: {res.stdout}; stderr: {res.stderr}"
    assert f'password authentication failed for user "{shale_server.user}"' in res.stderr, res.stderr
