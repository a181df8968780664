"""pgjdbc (Debian's libpostgresql-jdbc-java) via the small Jdbc.java program."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

from shale_support import unique_name

HERE = pathlib.Path(__file__).resolve().parent
PGJDBC_JAR = os.environ.get("SHALE_PGJDBC_JAR", "/usr/share/java/postgresql.jar")

MODES = {
    "text": "sslmode=disable",
    # Named server-side statements from the first execution; pgjdbc then
    # asks for binary results for the types it can decode.
    "prepared": "sslmode=disable&prepareThreshold=1",
}

EXPECTED_TYPED_ROW = (
    "-32768|2147483647|9007199254740993|123456789.125|12345678901234567890.123456|1.5|12345.6789|true"
    "|abcde|héllo wörld|2024-02-29|2024-02-29 13:14:15.123456|2024-02-29T13:14:15.500Z"
)
EXPECTED_PARAM_ROW = "1|9007199254740993|123456789.125|O'Brien ünïcode|true|2024-02-29|2024-02-29 13:14:15.123456"


@pytest.fixture(scope="module")
def jdbc_classes(tmp_path_factory):
    if not os.path.isfile(PGJDBC_JAR):
        pytest.skip(f"pgjdbc jar {PGJDBC_JAR} not found (apt-get install libpostgresql-jdbc-java)")
    javac = shutil.which("javac")
    if javac is None or shutil.which("java") is None:
        pytest.skip("javac/java not installed (apt-get install default-jdk-headless)")
    out = tmp_path_factory.mktemp("jdbc")
    res = subprocess.run(
        [javac, "-encoding", "UTF-8", "-cp", PGJDBC_JAR, "-d", str(out), str(HERE / "Jdbc.java")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, f"javac failed:\n{res.stdout}\n{res.stderr}"
    return out


@pytest.fixture(scope="module", params=sorted(MODES))
def jdbc_run(request, jdbc_classes, shale_server):
    mode = request.param
    s = shale_server
    url = f"jdbc:postgresql://{s.host}:{s.port}/{s.database}?{MODES[mode]}"
    cmd = [
        "java",
        "-Duser.timezone=UTC",
        "-Dfile.encoding=UTF-8",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
        "-cp",
        f"{jdbc_classes}{os.pathsep}{PGJDBC_JAR}",
        "Jdbc",
        url,
        s.user,
        s.password,
        unique_name(f"jdbc_{mode}"),
    ]
    res = subprocess.run(cmd, capture_output=True, timeout=120)
    stdout = res.stdout.decode("utf-8", "replace")
    stderr = res.stderr.decode("utf-8", "replace")
    results = {}
    for line in stdout.splitlines():
        if "!ERROR " in line and ("=" not in line or line.index("!ERROR ") < line.index("=")):
            key, _, err = line.partition("!ERROR ")
            results[key] = JdbcError(err)
        elif "=" in line:
            key, _, value = line.partition("=")
            results[key] = value
    return mode, res.returncode, results, stdout, stderr


class JdbcError(str):
    """A step that threw; the text is '<SQLState> <class>: <message>'."""


def _get(jdbc_run, key):
    mode, rc, results, stdout, stderr = jdbc_run
    assert key in results, f"[{mode}] no output for {key!r} (java exit {rc})\nstdout:\n{stdout}\nstderr:\n{stderr[-3000:]}"
    value = results[key]
    assert not isinstance(value, JdbcError), f"[{mode}] {key} threw: {value}"
    return value


def test_connect(jdbc_run):
    assert _get(jdbc_run, "connect") == "ok"
    assert _get(jdbc_run, "server_version") == "8.0.2"


def test_program_completes(jdbc_run):
    mode, rc, results, stdout, stderr = jdbc_run
    assert rc == 0, f"[{mode}] java exited {rc}\n{stderr[-3000:]}"
    assert _get(jdbc_run, "done") == "ok"


def test_select_version(jdbc_run):
    version = _get(jdbc_run, "version")
    assert version.startswith("PostgreSQL 8.0.2 on "), version
    assert "Redshift 1.0." in version, version


def test_prepared_parameter_arithmetic(jdbc_run):
    assert _get(jdbc_run, "param_arith") == "42,42,42"


def test_prepared_statement_parameters(jdbc_run):
    assert _get(jdbc_run, "params_create") == "ok"
    assert _get(jdbc_run, "params_insert") == "1"
    assert _get(jdbc_run, "params_select") == " ;; ".join([EXPECTED_PARAM_ROW] * 3)


def test_prepared_insert_java_time_parameters(jdbc_run):
    assert _get(jdbc_run, "params_create") == "ok"
    assert _get(jdbc_run, "params_insert_java_time") == (
        "1 2|-9007199254740993|-0.001|second|false|1999-12-31|2000-01-01 00:00:00.5"
    )


def test_error_sqlstate(jdbc_run):
    err = _get(jdbc_run, "error_sqlstate")
    assert err.startswith("42P01 "), err
    assert 'relation "no_such_table" does not exist' in err, err
    assert _get(jdbc_run, "after_error") == "1"


def test_types_simple_statement(jdbc_run):
    assert _get(jdbc_run, "types_create") == "ok"
    assert _get(jdbc_run, "types_simple") == EXPECTED_TYPED_ROW


def test_types_prepared_statement(jdbc_run):
    assert _get(jdbc_run, "types_prepared") == " ;; ".join([EXPECTED_TYPED_ROW] * 3)


def test_types_java_classes(jdbc_run):
    assert _get(jdbc_run, "types_classes") == (
        "Integer,Integer,Long,BigDecimal,BigDecimal,Float,Double,Boolean,String,String,Date,Timestamp,Timestamp"
    )


def test_types_metadata(jdbc_run):
    assert _get(jdbc_run, "types_metadata") == (
        "int2,int4,int8,numeric,numeric,float4,float8,bool,bpchar,varchar,date,timestamp,timestamptz"
        " dec=12,3 varchar=32"
    )


def test_types_nulls(jdbc_run):
    assert _get(jdbc_run, "types_nulls") == "13"


def test_transaction_commit(jdbc_run):
    assert _get(jdbc_run, "transaction") == "2"
