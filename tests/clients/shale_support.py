"""Helpers shared by the Shale client-compatibility tests.

Kept free of pytest fixtures so test modules can import it directly
(``from shale_support import ...``); the fixtures live in conftest.py.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import pathlib
import secrets
import socket
import struct
import subprocess
import uuid
from decimal import Decimal
from typing import Dict, Optional, Tuple

HOST = "127.0.0.1"
ADMIN_USER = "awsuser"
ADMIN_PASSWORD = "Sh4le-Client-Test-pw"
DATABASE = "dev"
DEFAULT_BIN = os.path.expanduser("~/.cache/shale-target/debug/shale")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
PSQL = "/usr/bin/psql"


def unique_name(prefix: str = "t") -> str:
    """A table name that no other test (or earlier run) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# One column per type in the server contract; shared by the driver round-trip tests.
TYPE_COLUMNS = [
    ("c_smallint", "smallint"),
    ("c_integer", "integer"),
    ("c_bigint", "bigint"),
    ("c_dec", "decimal(12,3)"),
    ("c_dec38", "decimal(38,6)"),
    ("c_real", "real"),
    ("c_double", "double precision"),
    ("c_bool", "boolean"),
    ("c_char", "char(5)"),
    ("c_varchar", "varchar(32)"),
    ("c_date", "date"),
    ("c_ts", "timestamp"),
    ("c_tstz", "timestamptz"),
]

TYPE_ROW_SQL = (
    "-32768, 2147483647, 9007199254740993, 123456789.125, 12345678901234567890.123456, "
    "1.5, 12345.6789, true, 'abcde', 'héllo wörld', '2024-02-29', "
    "'2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+00'"
)

TYPE_ROW_EXPECTED = (
    -32768,
    2147483647,
    9007199254740993,
    Decimal("123456789.125"),
    Decimal("12345678901234567890.123456"),
    1.5,
    12345.6789,
    True,
    "abcde",
    "héllo wörld",
    dt.date(2024, 2, 29),
    dt.datetime(2024, 2, 29, 13, 14, 15, 123456),
    dt.datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=dt.timezone.utc),
)


@dataclasses.dataclass
class ShaleServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    data_dir: str
    aws_port: int
    http_port: int
    auth: Optional[str]
    log_path: str
    process: Optional[subprocess.Popen] = dataclasses.field(default=None, repr=False)

    @property
    def tls_cert(self) -> str:
        return os.path.join(self.data_dir, "tls", "server.crt")

    @property
    def tls_key(self) -> str:
        return os.path.join(self.data_dir, "tls", "server.key")

    def libpq_dsn(self, **extra: object) -> str:
        """A libpq keyword/value connection string (password included)."""
        params = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
            "connect_timeout": 10,
        }
        params.update(extra)
        return " ".join(f"{k}={_libpq_quote(v)}" for k, v in params.items())

    def psycopg2_kwargs(self, **overrides: object) -> Dict[str, object]:
        kw: Dict[str, object] = dict(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            sslmode="disable",
            connect_timeout=10,
        )
        kw.update(overrides)
        return kw

    def redshift_kwargs(self, **overrides: object) -> Dict[str, object]:
        kw: Dict[str, object] = dict(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            ssl=False,
            timeout=30,
        )
        kw.update(overrides)
        return kw

    @property
    def aws_endpoint(self) -> str:
        """The AWS-compatible endpoint (S3), path-style."""
        return f"http://{self.host}:{self.aws_port}"

    @property
    def credentials_file(self) -> str:
        """The data directory's credentials file; its [shale] profile is an AWS key pair."""
        return os.path.join(self.data_dir, "credentials")

    def aws_keys(self) -> Tuple[str, str]:
        """(access key id, secret access key) of the [shale] profile."""
        import configparser

        parser = configparser.ConfigParser()
        parser.read(self.credentials_file)
        profile = parser["shale"]
        return profile["aws_access_key_id"], profile["aws_secret_access_key"]

    def client(self, service: str, keys: Optional[Tuple[str, ...]] = None):
        """A boto3 client of ``service`` (iam, sts, redshift, s3, ...) for the
        endpoint, signed with ``keys`` (id, secret[, token]) or the [shale] keys."""
        import boto3
        from botocore.config import Config

        key_id, secret, *token = keys or self.aws_keys()
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token[0] if token else None,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}),
        )

    def s3_client(self):
        """A boto3 S3 client for the endpoint, path-style, signed with the [shale] keys."""
        import boto3
        from botocore.config import Config

        key_id, secret = self.aws_keys()
        return boto3.client(
            "s3",
            endpoint_url=self.aws_endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = pathlib.Path(self.log_path).read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<cannot read {self.log_path}: {exc}>"
        return "\n".join(text.splitlines()[-lines:])


def run_aws(server: ShaleServer, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The aws CLI against the endpoint with the [shale] profile, as a user runs it."""
    import sys

    env = dict(os.environ)
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=server.credentials_file,
        AWS_PROFILE="shale",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    proc = subprocess.run(
        [aws, "--endpoint-url", server.aws_endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, f"aws {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc


def _libpq_quote(value: object) -> str:
    s = str(value)
    if s and all(c.isalnum() or c in "._-/:" for c in s):
        return s
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def psql_env(server: ShaleServer, password: Optional[str] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = server.password if password is None else password
    env["PGCONNECT_TIMEOUT"] = "10"
    env["PSQLRC"] = "/dev/null"
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_psql(
    server: ShaleServer,
    *args: str,
    password: Optional[str] = None,
    user: Optional[str] = None,
    sslmode: str = "disable",
    extra_conn: Optional[Dict[str, object]] = None,
    timeout: float = 30,
    cwd: Optional[str] = None,
) -> subprocess.CompletedProcess:
    """Run psql non-interactively against ``server``; never raises on exit code."""
    conn = {
        "host": server.host,
        "port": server.port,
        "user": user or server.user,
        "dbname": server.database,
        "sslmode": sslmode,
    }
    if extra_conn:
        conn.update(extra_conn)
    conninfo = " ".join(f"{k}={_libpq_quote(v)}" for k, v in conn.items())
    cmd = [PSQL, "-X", "--no-password", "-d", conninfo, *args]
    return subprocess.run(
        cmd,
        env=psql_env(server, password),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


# ---------------------------------------------------------------------------
# Minimal raw PostgreSQL wire-protocol probes (used by the auth tests to look
# at what the server says *before* any driver interprets it).
# ---------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"server closed the connection after {len(buf)}/{n} bytes")
        buf += chunk
    return buf


def read_message(sock: socket.socket) -> Tuple[bytes, bytes]:
    header = _recv_exact(sock, 5)
    tag = header[:1]
    (length,) = struct.unpack("!i", header[1:])
    return tag, _recv_exact(sock, length - 4)


def parse_error_fields(payload: bytes) -> Dict[str, str]:
    fields = {}
    for part in payload.split(b"\x00"):
        if part:
            fields[part[:1].decode()] = part[1:].decode("utf-8", "replace")
    return fields


def send_startup(sock: socket.socket, user: str, database: str = DATABASE) -> None:
    body = struct.pack("!i", 196608)
    for k, v in (("user", user), ("database", database)):
        body += k.encode() + b"\x00" + v.encode() + b"\x00"
    body += b"\x00"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)


def first_auth_message(host: str, port: int, user: str, database: str = DATABASE) -> Tuple[str, object]:
    """Send a StartupMessage and describe the server's first reply.

    Returns ("R", auth_code) for an Authentication request, or ("E", fields)
    for an ErrorResponse.
    """
    with socket.create_connection((host, port), timeout=10) as sock:
        send_startup(sock, user, database)
        tag, payload = read_message(sock)
        if tag == b"R":
            (code,) = struct.unpack("!i", payload[:4])
            return "R", code
        if tag == b"E":
            return "E", parse_error_fields(payload)
        return tag.decode(errors="replace"), payload


def scram_server_first(host: str, port: int, user: str, database: str = DATABASE) -> Dict[str, str]:
    """Start a SCRAM-SHA-256 exchange and return the parsed server-first-message.

    Raises AssertionError if the server does not offer SCRAM-SHA-256.
    """
    with socket.create_connection((host, port), timeout=10) as sock:
        send_startup(sock, user, database)
        tag, payload = read_message(sock)
        assert tag == b"R", f"expected an Authentication request, got {tag!r}: {payload!r}"
        (code,) = struct.unpack("!i", payload[:4])
        assert code == 10, f"expected AuthenticationSASL (10), got auth code {code}"
        mechanisms = [m.decode() for m in payload[4:].split(b"\x00") if m]
        assert "SCRAM-SHA-256" in mechanisms, mechanisms
        nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        client_first = f"n,,n=,r={nonce}".encode()
        body = b"SCRAM-SHA-256\x00" + struct.pack("!i", len(client_first)) + client_first
        sock.sendall(b"p" + struct.pack("!i", len(body) + 4) + body)
        tag, payload = read_message(sock)
        if tag == b"E":
            raise AssertionError(f"server rejected SCRAM client-first: {parse_error_fields(payload)}")
        assert tag == b"R", f"expected AuthenticationSASLContinue, got {tag!r}"
        (code,) = struct.unpack("!i", payload[:4])
        assert code == 11, f"expected AuthenticationSASLContinue (11), got {code}"
        attrs = {}
        for item in payload[4:].decode().split(","):
            key, _, value = item.partition("=")
            attrs[key] = value
        attrs["_client_nonce"] = nonce
        return attrs
