"""Fixtures that run a real ``shale serve`` process for the client tests.

Environment:
  SHALE_BIN   path to the shale binary
              (default ~/.cache/shale-target/debug/shale)

Fixtures:
  shale_server          session-scoped server with the default auth (MD5)
  shale_server_factory  session-scoped factory: factory(auth) -> server, where
                        auth is None (default config), "md5", "scram-sha-256"
                        or "password"; servers are cached per auth value.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from typing import Dict, List, Optional

import pytest

from shale_support import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DATABASE,
    DEFAULT_BIN,
    HOST,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    ShaleServer,
)

# Every server started in this session, for failure reports.
_STARTED: List[ShaleServer] = []


def _free_ports(n: int) -> List[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if pytest dies (e.g. on a hang-guard os._exit)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _shale_bin() -> str:
    path = os.environ.get("SHALE_BIN", DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"shale binary not found or not executable: {path} "
            "(build it first, or point SHALE_BIN at it)",
            pytrace=False,
        )
    return path


def _start_server(root: str, auth: Optional[str], require_ssl: Optional[str] = None) -> ShaleServer:
    binary = _shale_bin()
    label = "-".join(p for p in (auth, require_ssl and f"ssl-{require_ssl}") if p) or "default"
    last_error = ""
    for attempt in range(3):  # retry only if a picked port got taken meanwhile
        data_dir = tempfile.mkdtemp(prefix=f"data-{label}-", dir=root)
        log_path = os.path.join(root, f"shale-{label}-{attempt}.log")
        pg_port, aws_port, http_port = _free_ports(3)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SHALE_PG_AUTH") and not k.startswith("SHALE_PG_REQUIRE_SSL")
        }
        env["SHALE_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        env.setdefault("RUST_BACKTRACE", "1")
        if auth is not None:
            env["SHALE_PG_AUTH"] = auth
        if require_ssl is not None:
            env["SHALE_PG_REQUIRE_SSL"] = require_ssl
        cmd = [
            binary,
            "serve",
            "--data-dir",
            data_dir,
            "--bind",
            HOST,
            "--pg-port",
            str(pg_port),
            "--aws-port",
            str(aws_port),
            "--http-port",
            str(http_port),
        ]
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        log.close()
        server = ShaleServer(
            host=HOST,
            port=pg_port,
            user=ADMIN_USER,
            password=ADMIN_PASSWORD,
            database=DATABASE,
            data_dir=data_dir,
            aws_port=aws_port,
            http_port=http_port,
            auth=auth,
            log_path=log_path,
            process=proc,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _port_open(HOST, pg_port):
                _STARTED.append(server)
                return server
            time.sleep(0.1)
        if proc.poll() is None:
            _stop(server)
            pytest.fail(
                f"shale ({label}) did not accept connections on {HOST}:{pg_port} within "
                f"{START_TIMEOUT_S:.0f}s; command: {' '.join(cmd)}\n--- log ---\n{server.log_tail()}",
                pytrace=False,
            )
        last_error = server.log_tail()
        if "in use" not in last_error.lower():
            break
    pytest.fail(
        f"shale ({label}) exited during startup with code {proc.returncode}; "
        f"command: {' '.join(cmd)}\n--- log ---\n{last_error}",
        pytrace=False,
    )


def _stop(server: ShaleServer) -> Optional[str]:
    """Stop the server; return a problem description, or None if it shut down cleanly."""
    proc = server.process
    if proc is None:
        return None
    if proc.poll() is not None:
        return f"shale ({server.auth or 'default'}) had already exited with code {proc.returncode} before teardown"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"shale ({server.auth or 'default'}) did not exit within {STOP_TIMEOUT_S:.0f}s of SIGTERM; killed"
    return None


@pytest.fixture(scope="session")
def shale_server_factory():
    root = tempfile.mkdtemp(prefix="shale-clients-")
    servers: Dict[tuple, ShaleServer] = {}

    def start(auth: Optional[str] = None, require_ssl: Optional[str] = None) -> ShaleServer:
        key = (auth, require_ssl)
        if key not in servers:
            servers[key] = _start_server(root, auth, require_ssl)
        return servers[key]

    yield start

    # pytest keeps the last failure's traceback in sys.last_*; its frames can
    # hold driver connections open and make a graceful shutdown wait on them.
    sys.last_type = sys.last_value = sys.last_traceback = None
    gc.collect()
    problems = [p for p in (_stop(s) for s in servers.values()) if p]
    if problems:
        logs = "\n".join(f"--- {s.log_path} ---\n{s.log_tail(30)}" for s in servers.values())
        raise RuntimeError("; ".join(problems) + "\n" + logs)
    if not os.environ.get("SHALE_KEEP_TMP"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def shale_server(shale_server_factory) -> ShaleServer:
    """The default server: no SHALE_PG_AUTH, i.e. MD5 authentication."""
    return shale_server_factory(None)


@pytest.fixture
def s3_bucket(shale_server):
    """(boto3 client, name) of a new, empty bucket on the default server."""
    s3 = shale_server.s3_client()
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.fixture
def trust_server_cert(shale_server, monkeypatch):
    """redshift_connector has no sslrootcert option: it verifies the server
    certificate against its bundled Redshift CAs plus OpenSSL's default
    verify paths, so point SSL_CERT_FILE (read by load_default_certs) at the
    self-signed certificate Shale generated."""
    monkeypatch.setenv("SSL_CERT_FILE", shale_server.tls_cert)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # ssl.SSLContext() without protocol


@pytest.fixture(scope="session")
def real_postgres():
    """A throwaway PostgreSQL server (initdb + pg_ctl, trust auth on
    127.0.0.1): (host, port). CI installs the server; elsewhere the tests
    that need it are skipped when it is missing."""
    import glob
    import pwd

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        message = "PostgreSQL server not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    bindir = os.path.dirname(found[-1])
    root = tempfile.mkdtemp(prefix="shale-pg-")
    data = os.path.join(root, "data")
    prefix: List[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root.
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_ports(1)[0]
    subprocess.run(prefix + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run(
        prefix + [f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"),
                  "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
        check=True, capture_output=True,
    )
    try:
        yield HOST, port
    finally:
        subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _STARTED:
        for server in _STARTED:
            report.sections.append(
                (f"shale server log ({server.auth or 'default'}, port {server.port})", server.log_tail(40))
            )
