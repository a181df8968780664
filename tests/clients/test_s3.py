"""The S3 endpoint with the tools people use: boto3 (as Airflow's S3Hook
drives it) and the aws CLI, against a real ``shale serve``.

Credentials come from the data directory's credentials file (profile
``shale``), exactly as a user would point AWS_SHARED_CREDENTIALS_FILE at it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from shale_support import run_aws


def _client(server, secret=None, addressing="path", endpoint=None):
    key_id, real_secret = server.aws_keys()
    return boto3.client(
        "s3",
        endpoint_url=endpoint or server.aws_endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret or real_secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": addressing},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


@pytest.fixture(scope="module")
def s3(shale_server):
    return _client(shale_server)


@pytest.fixture()
def bucket(s3):
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_bucket_lifecycle(s3):
    name = f"life-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") in (None, "")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert _code(e.value) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert _code(e.value) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Not_Valid")
    assert _code(e.value) == "InvalidBucketName"


def test_put_get_range_head(s3, bucket):
    body = b"0123456789" * 100
    put = s3.put_object(
        Bucket=bucket, Key="dir/file.txt", Body=body, ContentType="text/plain", Metadata={"origin": "test"}
    )
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"origin": "test"}
    part = s3.get_object(Bucket=bucket, Key="dir/file.txt", Range="bytes=10-19")
    assert part["Body"].read() == b"0123456789"
    assert part["ContentRange"] == "bytes 10-19/1000"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    tail = s3.get_object(Bucket=bucket, Key="dir/file.txt", Range="bytes=-5")
    assert tail["Body"].read() == b"56789"
    head = s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert head["ContentLength"] == 1000
    assert head["ETag"] == put["ETag"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/file.txt", Range="bytes=5000-")
    assert _code(e.value) == "InvalidRange"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert _code(e.value) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    assert _code(e.value) == "NoSuchBucket"
    # Keys an object_store Path could not hold are fine for S3.
    for key in ["a//b", "dir/", "a", "a/b", "ünï cødé key+%.txt"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in ["a//b", "dir/", "a", "a/b", "ünï cødé key+%.txt"]:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    # boto3 asks for EncodingType=url in listings and decodes the keys again.
    weird = {"a//b", "dir/", "a", "a/b", "ünï cødé key+%.txt"}
    assert weird <= {o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    assert weird <= {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    v2 = s3.list_objects_v2(Bucket=bucket, Prefix="ünï", Delimiter=" ")
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["ünï "]
    # Asked for explicitly, the encoding is left to the caller to undo.
    raw = s3.list_objects_v2(Bucket=bucket, Prefix="ünï", EncodingType="url")
    assert [o["Key"] for o in raw["Contents"]] == [urllib.parse.quote("ünï cødé key+%.txt", safe="/~")]


def _fill(s3, bucket, keys):
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def test_list_v1_and_v2(s3, bucket):
    keys = ["custdata.txt", "custdata.txt.1", "custdata.txt.2", "other/x", "other/y/z", "top"]
    _fill(s3, bucket, keys)
    # A prefix is a key prefix, not a folder.
    v2 = s3.list_objects_v2(Bucket=bucket, Prefix="custdata.txt")
    assert [o["Key"] for o in v2["Contents"]] == ["custdata.txt", "custdata.txt.1", "custdata.txt.2"]
    assert v2["KeyCount"] == 3
    v2 = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["other/"]
    assert [o["Key"] for o in v2["Contents"]] == ["custdata.txt", "custdata.txt.1", "custdata.txt.2", "top"]
    v2 = s3.list_objects_v2(Bucket=bucket, Prefix="other/", Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["other/x"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["other/y/"]
    v2 = s3.list_objects_v2(Bucket=bucket, StartAfter="other/x")
    assert [o["Key"] for o in v2["Contents"]] == ["other/y/z", "top"]
    v1 = s3.list_objects(Bucket=bucket, Prefix="custdata")
    assert [o["Key"] for o in v1["Contents"]] == ["custdata.txt", "custdata.txt.1", "custdata.txt.2"]
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert v1["IsTruncated"] is True
    assert len(v1.get("Contents", [])) + len(v1.get("CommonPrefixes", [])) == 2
    rest = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=v1["NextMarker"])
    seen = [o["Key"] for o in v1.get("Contents", []) + rest.get("Contents", [])]
    seen += [p["Prefix"] for p in v1.get("CommonPrefixes", []) + rest.get("CommonPrefixes", [])]
    assert sorted(seen) == ["custdata.txt", "custdata.txt.1", "custdata.txt.2", "other/", "top"]


def test_pagination_with_paginators(s3, bucket):
    keys = [f"logs/2024/{i:03d}.json" for i in range(25)] + ["logs/readme"]
    _fill(s3, bucket, keys)
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="logs/", PaginationConfig={"PageSize": 7}
        )
    )
    assert len(pages) == 4
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)
    assert all(p["KeyCount"] <= 7 for p in pages)
    v1_pages = list(
        s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 10})
    )
    assert [o["Key"] for p in v1_pages for o in p.get("Contents", [])] == sorted(keys)


def test_copy_and_delete(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    dst = s3.get_object(Bucket=bucket, Key="dst")
    assert dst["Body"].read() == b"payload"
    assert dst["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"b": "2"}
    s3.delete_object(Bucket=bucket, Key="src")
    s3.delete_object(Bucket=bucket, Key="src")  # idempotent
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "dst"}, {"Key": "dst2"}, {"Key": "never"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["dst", "dst2", "never"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_multipart_upload_file(s3, bucket, tmp_path):
    path = tmp_path / "big.bin"
    data = os.urandom(20 * 1024 * 1024)
    path.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
    # S3Hook.load_file is upload_file; upload_fileobj is the same machinery.
    s3.upload_file(str(path), bucket, "big/upload_file.bin", Config=config)
    with open(path, "rb") as f:
        s3.upload_fileobj(f, bucket, "big/upload_fileobj.bin", Config=config)
    for key in ["big/upload_file.bin", "big/upload_fileobj.bin"]:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == len(data)
        assert head["ETag"].endswith('-3"'), head["ETag"]
        assert hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).digest() == hashlib.sha256(data).digest()
    out = tmp_path / "down.bin"
    s3.download_file(bucket, "big/upload_file.bin", str(out), Config=config)
    assert out.read_bytes() == data


def test_multipart_rules_and_listing(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    uid = up["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"small")
    p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=b"last")
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [uid]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]},
        )
    assert _code(e.value) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1["ETag"]}]},
        )
    assert _code(e.value) == "InvalidPartOrder"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]}
    )
    assert done["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"small"
    up2 = s3.create_multipart_upload(Bucket=bucket, Key="gone")
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up2["UploadId"])
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="gone", UploadId=up2["UploadId"])
    assert _code(e.value) == "NoSuchUpload"


def test_presigned_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared.csv", Body=b"a,b\n1,2\n")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.csv"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"a,b\n1,2\n"
    at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    tampered = url[:at] + ("1" if url[at] == "0" else "0") + url[at + 1 :]  # same length, one digit off
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered, timeout=10)
    assert e.value.code == 403
    assert b"SignatureDoesNotMatch" in e.value.read()


def test_wrong_secret_is_signature_does_not_match(shale_server, bucket):
    bad = _client(shale_server, secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket=bucket)
    assert _code(e.value) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _code(e.value) == "SignatureDoesNotMatch"


def test_unknown_key_is_invalid_access_key_id(shale_server, bucket):
    key_id, secret = shale_server.aws_keys()
    other = boto3.client(
        "s3",
        endpoint_url=shale_server.aws_endpoint,
        aws_access_key_id="AKIAUNKNOWNUNKNOWN00",
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    with pytest.raises(ClientError) as e:
        other.list_objects_v2(Bucket=bucket)
    assert _code(e.value) == "InvalidAccessKeyId"


def test_unsigned_request_is_access_denied(shale_server, bucket):
    for url in [f"{shale_server.aws_endpoint}/{bucket}/k", f"{shale_server.aws_endpoint}/"]:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=10)
        assert e.value.code == 403
        assert b"<Code>AccessDenied</Code>" in e.value.read()


def test_virtual_host_style(shale_server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="vh.txt", Body=b"virtual")
    vh = _client(shale_server, addressing="virtual", endpoint=f"http://localhost:{shale_server.aws_port}")
    # botocore sends Host: <bucket>.localhost:<port>; resolve it to loopback.
    import socket

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        got = vh.get_object(Bucket=bucket, Key="vh.txt")
        assert got["Body"].read() == b"virtual"
        keys = [o["Key"] for o in vh.list_objects_v2(Bucket=bucket)["Contents"]]
        assert "vh.txt" in keys
    finally:
        socket.getaddrinfo = real


def test_aws_cli(shale_server, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    run_aws(shale_server, "s3", "mb", f"s3://{name}")
    local = tmp_path / "venue.txt"
    local.write_text("1|Toyota Park|Bridgeview|IL|0\n")
    run_aws(shale_server, "s3", "cp", str(local), f"s3://{name}/tickit/venue.txt")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # above the CLI's 8 MiB multipart threshold
    run_aws(shale_server, "s3", "cp", str(big), f"s3://{name}/tickit/big.bin")
    listing = run_aws(shale_server, "s3", "ls", f"s3://{name}/tickit/").stdout
    assert "venue.txt" in listing and "big.bin" in listing
    listing = run_aws(shale_server, "s3", "ls", f"s3://{name}/", "--recursive").stdout
    assert "tickit/venue.txt" in listing
    back = tmp_path / "back.bin"
    run_aws(shale_server, "s3", "cp", f"s3://{name}/tickit/big.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    api = run_aws(shale_server, "s3api", "list-objects-v2", "--bucket", name, "--prefix", "tickit/").stdout
    assert '"Key": "tickit/venue.txt"' in api
    run_aws(shale_server, "s3", "rm", f"s3://{name}/tickit/venue.txt")
    run_aws(shale_server, "s3", "rm", f"s3://{name}/", "--recursive")
    listing = run_aws(shale_server, "s3", "ls", f"s3://{name}/", "--recursive", check=False).stdout
    assert listing.strip() == ""
    run_aws(shale_server, "s3", "rb", f"s3://{name}")
