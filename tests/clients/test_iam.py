"""IAM on the AWS endpoint, with the tools the seeds use: the aws CLI (seed
004's `aws iam create-policy` / `create-role`), boto3's iam, sts and
redshift clients, and redshift_connector's ``iam=True`` (seed 000).

Each test makes its own users, roles, policies and buckets (names carry a
random suffix), so they share one server without seeing each other.
"""

from __future__ import annotations

import json
import uuid

import psycopg2
import pytest
import redshift_connector
from botocore.exceptions import ClientError

from shale_support import run_aws, unique_name

ACCOUNT = "123456789012"
REDSHIFT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def _sql(server, statement: str):
    conn = psycopg2.connect(**server.psycopg2_kwargs())
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(statement)
        return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def _sql_error(server, statement: str) -> str:
    with pytest.raises(psycopg2.Error) as e:
        _sql(server, statement)
    return str(e.value)


def test_seed_004_role_unloads_only_where_its_policy_allows(shale_server):
    """The seed's CLI commands, then UNLOAD with the role: refused until the
    role is associated, then until its policy allows the bucket."""
    s = _suffix()
    allowed, other = f"bangkok-{s}", f"elsewhere-{s}"
    s3 = shale_server.s3_client()
    for b in (allowed, other):
        s3.create_bucket(Bucket=b)
    policy_doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "s3export",
                "Action": ["s3:PutObject"],
                "Effect": "Allow",
                "Resource": [f"arn:aws:s3:::condesa-{s}", f"arn:aws:s3:::condesa-{s}/*",
                             f"arn:aws:s3:::{allowed}", f"arn:aws:s3:::{allowed}/*"],
            }
        ],
    }
    created = json.loads(
        run_aws(shale_server, "iam", "create-policy", "--policy-name", f"redshift-s3-write-policy-{s}",
                "--policy-document", json.dumps(policy_doc)).stdout
    )
    policy_arn = created["Policy"]["Arn"]
    assert policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/redshift-s3-write-policy-{s}"
    role = json.loads(
        run_aws(shale_server, "iam", "create-role", "--role-name", f"my-s3-write-role-{s}",
                "--assume-role-policy-document", json.dumps(REDSHIFT_TRUST)).stdout
    )["Role"]
    role_arn = role["Arn"]
    assert role_arn == f"arn:aws:iam::{ACCOUNT}:role/my-s3-write-role-{s}"
    # The CLI decodes the URL-encoded trust policy back into JSON.
    assert role["AssumeRolePolicyDocument"] == REDSHIFT_TRUST

    table = unique_name("zipcode_us")
    _sql(shale_server, f"CREATE TABLE {table} (zip char(5), city varchar(40))")
    _sql(shale_server, f"INSERT INTO {table} VALUES ('10001', 'New York'), ('94105', 'San Francisco')")

    def unload(bucket: str) -> str:
        return (
            f"UNLOAD ('SELECT * FROM public.{table}') TO 's3://{bucket}/us_zipcode/us_' "
            f"iam_role '{role_arn}' DELIMITER AS '\\t' MANIFEST ALLOWOVERWRITE"
        )

    # Not associated with the cluster: Redshift cannot assume it.
    err = _sql_error(shale_server, unload(allowed))
    assert f"is not authorized to assume IAM Role {role_arn}" in err, err

    run_aws(shale_server, "redshift", "modify-cluster-iam-roles", "--cluster-identifier", "shale",
            "--add-iam-roles", role_arn)
    described = json.loads(run_aws(shale_server, "redshift", "describe-clusters").stdout)
    assert role_arn in [r["IamRoleArn"] for r in described["Clusters"][0]["IamRoles"]]

    # Associated, but no policy attached yet.
    err = _sql_error(shale_server, unload(allowed))
    assert "S3ServiceException:Access Denied,Status 403,Error AccessDenied" in err, err

    run_aws(shale_server, "iam", "attach-role-policy", "--role-name", f"my-s3-write-role-{s}",
            "--policy-arn", policy_arn)
    attached = json.loads(run_aws(shale_server, "iam", "list-attached-role-policies", "--role-name",
                                  f"my-s3-write-role-{s}").stdout)
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [policy_arn]

    # PutObject alone suffices with ALLOWOVERWRITE, as on Redshift.
    _sql(shale_server, unload(allowed))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=allowed)["Contents"]]
    assert "us_zipcode/us_manifest" in keys
    err = _sql_error(shale_server, unload(other))
    assert "Access Denied" in err, err
    assert "Contents" not in s3.list_objects_v2(Bucket=other)

    # Without ALLOWOVERWRITE, UNLOAD lists the prefix: that needs s3:ListBucket.
    err = _sql_error(
        shale_server,
        f"UNLOAD ('SELECT * FROM {table}') TO 's3://{allowed}/fresh/x_' iam_role '{role_arn}'",
    )
    assert "Access Denied" in err, err

    # A policy still attached blocks deleting it, as IAM does.
    proc = run_aws(shale_server, "iam", "delete-policy", "--policy-arn", policy_arn, check=False)
    assert proc.returncode != 0 and "DeleteConflict" in proc.stderr, proc.stderr


def test_default_role_loads_out_of_the_box_and_copy_checks_the_role(shale_server, s3_bucket):
    s3, name = s3_bucket
    s3.put_object(Bucket=name, Key="in/part1.txt", Body=b"1|one\n2|two\n")
    table = unique_name("t")
    _sql(shale_server, f"CREATE TABLE {table} (id int, name varchar(10))")
    _sql(shale_server, f"COPY {table} FROM 's3://{name}/in/' IAM_ROLE default")
    assert _sql(shale_server, f"SELECT count(*) FROM {table}") == [(2,)]

    # A role trusted by Redshift with read access to one prefix only.
    s = _suffix()
    iam = shale_server.client("iam")
    role_arn = iam.create_role(RoleName=f"loader-{s}", AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=f"loader-{s}",
        PolicyName="read-in",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{name}"},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/in/*"},
            ],
        }),
    )
    shale_server.client("redshift").modify_cluster_iam_roles(ClusterIdentifier="shale", AddIamRoles=[role_arn])
    _sql(shale_server, f"COPY {table} FROM 's3://{name}/in/' IAM_ROLE '{role_arn}'")
    assert _sql(shale_server, f"SELECT count(*) FROM {table}") == [(4,)]
    s3.put_object(Bucket=name, Key="other/part1.txt", Body=b"3|three\n")
    err = _sql_error(shale_server, f"COPY {table} FROM 's3://{name}/other/' IAM_ROLE '{role_arn}'")
    assert "S3ServiceException:Access Denied,Status 403,Error AccessDenied" in err, err
    # Nothing of the refused COPY was loaded.
    assert _sql(shale_server, f"SELECT count(*) FROM {table}") == [(4,)]
    # A role of another account is never assumed.
    err = _sql_error(shale_server, f"COPY {table} FROM 's3://{name}/in/' IAM_ROLE 'arn:aws:iam::999999999999:role/loader-{s}'")
    assert "is not authorized to assume IAM Role" in err, err


def test_iam_user_keys_are_held_to_the_users_policies(shale_server, s3_bucket):
    root_s3, name = s3_bucket
    s = _suffix()
    iam = shale_server.client("iam")
    iam.create_user(UserName=f"etl-{s}")
    key = iam.create_access_key(UserName=f"etl-{s}")["AccessKey"]
    keys = (key["AccessKeyId"], key["SecretAccessKey"])
    s3 = shale_server.client("s3", keys)

    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="a.txt", Body=b"x")
    assert _code(e.value) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="nobody-" + s)
    assert _code(e.value) == "NoSuchEntity"

    iam.put_user_policy(
        UserName=f"etl-{s}",
        PolicyName="own-bucket",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
                 "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]},
                {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{name}/secret/*"},
            ],
        }),
    )
    s3.put_object(Bucket=name, Key="a.txt", Body=b"x")
    assert s3.get_object(Bucket=name, Key="a.txt")["Body"].read() == b"x"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["a.txt"]
    # Deny beats Allow.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="secret/k", Body=b"x")
    assert _code(e.value) == "AccessDenied"
    # DeleteObject was never allowed: the batch delete reports it per key.
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a.txt"}]})
    assert [err["Code"] for err in out.get("Errors", [])] == ["AccessDenied"]
    assert root_s3.head_object(Bucket=name, Key="a.txt")["ContentLength"] == 1
    # IAM calls need IAM permissions too.
    user_iam = shale_server.client("iam", keys)
    with pytest.raises(ClientError) as e:
        user_iam.create_role(RoleName=f"sneaky-{s}", AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST))
    assert _code(e.value) == "AccessDenied"
    assert f"user/etl-{s} is not authorized to perform: iam:CreateRole" in str(e.value)
    # The identity behind the keys.
    who = shale_server.client("sts", keys).get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/etl-{s}" and who["Account"] == ACCOUNT

    # COPY with the user's keys is held to the same policy.
    table = unique_name("t")
    _sql(shale_server, f"CREATE TABLE {table} (v varchar(5))")
    creds = f"ACCESS_KEY_ID '{keys[0]}' SECRET_ACCESS_KEY '{keys[1]}'"
    _sql(shale_server, f"COPY {table} FROM 's3://{name}/a.txt' {creds}")
    root_s3.put_object(Bucket=name, Key="secret/s.txt", Body=b"y\n")
    err = _sql_error(shale_server, f"COPY {table} FROM 's3://{name}/secret/' {creds}")
    assert "Access Denied" in err, err

    # A deactivated key stops working; a deleted user's keys must go first.
    iam.update_access_key(UserName=f"etl-{s}", AccessKeyId=keys[0], Status="Inactive")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="a.txt")
    assert _code(e.value) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=f"etl-{s}")
    assert _code(e.value) == "DeleteConflict"


def test_assumed_role_credentials_sign_requests_until_refused(shale_server, s3_bucket):
    root_s3, name = s3_bucket
    root_s3.put_object(Bucket=name, Key="k", Body=b"v")
    s = _suffix()
    iam = shale_server.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}],
    }
    role_arn = iam.create_role(RoleName=f"reader-{s}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=f"reader-{s}", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    # The root may not assume roles; an IAM user allowed to may.
    with pytest.raises(ClientError) as e:
        shale_server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="job")
    assert _code(e.value) == "AccessDenied" and "root accounts" in str(e.value)
    assumer = _assuming_user(shale_server, s)
    out = shale_server.client("sts", assumer).assume_role(RoleArn=role_arn, RoleSessionName="job", DurationSeconds=900)
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader-{s}/job"
    temp = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    s3 = shale_server.client("s3", temp)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k2", Body=b"x")
    assert _code(e.value) == "AccessDenied"
    assert shale_server.client("sts", temp).get_caller_identity()["Arn"].endswith(f"assumed-role/reader-{s}/job")
    # Without the session token the keys are not valid.
    with pytest.raises(ClientError) as e:
        shale_server.client("s3", temp[:2]).get_object(Bucket=name, Key="k")
    assert _code(e.value) == "InvalidToken"
    with pytest.raises(ClientError) as e:
        shale_server.client("sts", temp[:2]).get_caller_identity()
    assert _code(e.value) == "InvalidClientTokenId"
    # A service-only trust policy lets no one in the account assume the role.
    iam.create_role(RoleName=f"svc-{s}", AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST))
    with pytest.raises(ClientError) as e:
        shale_server.client("sts", assumer).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/svc-{s}", RoleSessionName="x1")
    assert _code(e.value) == "AccessDenied"
    # The role ARN must be the role's own: another case or path names no role.
    with pytest.raises(ClientError) as e:
        shale_server.client("sts", assumer).assume_role(RoleArn=role_arn.upper().replace("ARN:AWS:IAM", "arn:aws:iam"), RoleSessionName="x2")
    assert _code(e.value) == "AccessDenied"
    # Deleting the role ends its sessions.
    iam.detach_role_policy(RoleName=f"reader-{s}", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.delete_role(RoleName=f"reader-{s}")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="k")
    assert _code(e.value) == "InvalidAccessKeyId"
    # Descriptions that XML could not carry are refused up front.
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=f"ctl-{s}", Description="bell\x07", AssumeRolePolicyDocument=json.dumps(trust))
    assert _code(e.value) == "ValidationError"
    # Malformed documents are refused with IAM's code.
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=f"bad-{s}", PolicyDocument="{not json")
    assert _code(e.value) == "MalformedPolicyDocument"
    # Wrong secret: the signature does not match.
    with pytest.raises(ClientError) as e:
        shale_server.client("iam", (shale_server.aws_keys()[0], "wrong")).list_roles()
    assert _code(e.value) == "SignatureDoesNotMatch"


def _assuming_user(server, s: str):
    """An IAM user allowed sts:AssumeRole on any role (the root may not
    assume roles), and its keys."""
    iam = server.client("iam")
    iam.create_user(UserName=f"assumer-{s}")
    key = iam.create_access_key(UserName=f"assumer-{s}")["AccessKey"]
    iam.put_user_policy(
        UserName=f"assumer-{s}",
        PolicyName="assume",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}),
    )
    return key["AccessKeyId"], key["SecretAccessKey"]


def _iam_login_user(server, s: str, db_user: str, groups=(), auto_create=True):
    """An IAM user allowed to get credentials for ``db_user`` (and join
    ``groups``), with its keys."""
    iam = server.client("iam")
    iam.create_user(UserName=f"analyst-{s}")
    key = iam.create_access_key(UserName=f"analyst-{s}")["AccessKey"]
    statements = [
        {"Effect": "Allow", "Action": ["redshift:GetClusterCredentials", "redshift:CreateClusterUser"],
         "Resource": [f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:shale/{db_user}",
                      f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbname:shale/dev"]},
        {"Effect": "Allow", "Action": "redshift:DescribeClusters", "Resource": "*"},
        {"Effect": "Allow", "Action": "redshift:DescribeCustomDomainAssociations", "Resource": "*"},
    ]
    if groups:
        statements.append({"Effect": "Allow", "Action": "redshift:JoinGroup",
                           "Resource": [f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbgroup:shale/{g}" for g in groups]})
    iam.put_user_policy(UserName=f"analyst-{s}", PolicyName="login",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return key["AccessKeyId"], key["SecretAccessKey"]


def _iam_connect(server, **kw):
    """redshift_connector with iam=True against the endpoint, over TLS (the
    driver refuses IAM without it), with no credentials cache."""
    params = dict(
        iam=True,
        host=server.host,
        port=server.port,
        database="dev",
        region="us-east-1",
        endpoint_url=server.aws_endpoint,
        ssl=True,
        sslmode="require",
        iam_disable_cache=True,
        timeout=30,
    )
    params.update(kw)
    return redshift_connector.connect(**params)


def _current_user(conn) -> str:
    cur = conn.cursor()
    cur.execute("select current_user")
    return cur.fetchone()[0]


def test_redshift_connector_iam_login_with_auto_create_and_groups(shale_server, trust_server_cert):
    """Seed 000: redshift_connector with iam=True and AWS keys, through the
    endpoint's Redshift API, logs in as the database user it names."""
    s = _suffix()
    db_user = f"alice_{s}"
    group = f"readers_{s}"
    table = unique_name("visible")
    _sql(shale_server, f"CREATE GROUP {group}")
    _sql(shale_server, f"CREATE TABLE {table} (x int)")
    _sql(shale_server, f"INSERT INTO {table} VALUES (7)")
    _sql(shale_server, f"GRANT SELECT ON {table} TO GROUP {group}")
    key_id, secret = _iam_login_user(shale_server, s, db_user, groups=[group])

    conn = _iam_connect(shale_server, db_user=db_user, auto_create=True, db_groups=[group],
                        access_key_id=key_id, secret_access_key=secret)
    try:
        assert _current_user(conn) == db_user
        cur = conn.cursor()
        # The group joined at login grants SELECT.
        cur.execute(f"select x from {table}")
        assert cur.fetchone()[0] == 7
        conn.rollback()
    finally:
        conn.close()
    # The user was created with its password disabled, and the group was
    # joined for that session only.
    rows = _sql(shale_server, f"select usename, passwd from pg_shadow where usename = '{db_user}'")
    assert rows == [(db_user, None)], rows
    assert _sql(shale_server, f"select has_table_privilege('{db_user}', '{table}', 'select')") == [(False,)]

    # The same credentials call by hand: a JoinGroup the policy lacks is refused.
    redshift = shale_server.client("redshift", (key_id, secret))
    with pytest.raises(ClientError) as e:
        redshift.get_cluster_credentials(DbUser=db_user, DbName="dev", ClusterIdentifier="shale", DbGroups=["admins"])
    assert _code(e.value) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        redshift.get_cluster_credentials(DbUser="someone_else", ClusterIdentifier="shale")
    assert _code(e.value) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        redshift.get_cluster_credentials(DbUser=db_user, ClusterIdentifier="other")
    assert _code(e.value) == "ClusterNotFound"
    with pytest.raises(ClientError) as e:
        redshift.get_cluster_credentials(DbUser=db_user, ClusterIdentifier="shale", DurationSeconds=60)
    assert _code(e.value) == "InvalidParameterValue"

    creds = redshift.get_cluster_credentials(DbUser=db_user, DbName="dev", ClusterIdentifier="shale")
    assert creds["DbUser"] == f"IAM:{db_user}"
    # Issued for dev: another database does not take them.
    other_db = f"other_{s}"
    _sql(shale_server, f"CREATE DATABASE {other_db}")
    with pytest.raises(psycopg2.OperationalError) as e:
        psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"], dbname=other_db))
    assert "password authentication failed" in str(e.value)
    # psycopg2 with the returned name and password; a wrong password fails
    # like any other.
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"]))
    cur = conn.cursor()
    cur.execute("select current_user")
    assert cur.fetchone()[0] == db_user
    conn.close()
    with pytest.raises(psycopg2.OperationalError) as e:
        psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"] + "x"))
    assert f'password authentication failed for user "IAM:{db_user}"' in str(e.value)


def test_credentials_without_auto_create_need_an_existing_user(shale_server):
    s = _suffix()
    db_user = f"bob_{s}"
    key_id, secret = _iam_login_user(shale_server, s, db_user)
    redshift = shale_server.client("redshift", (key_id, secret))
    creds = redshift.get_cluster_credentials(DbUser=db_user, ClusterIdentifier="shale", AutoCreate=False)
    # Issued (as the API documents), but the login fails: no such user.
    with pytest.raises(psycopg2.OperationalError) as e:
        psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"]))
    assert "password authentication failed" in str(e.value)
    _sql(shale_server, f"CREATE USER {db_user} PASSWORD DISABLE")
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"]))
    conn.close()


def test_get_cluster_credentials_with_iam_maps_the_identity(shale_server):
    s = _suffix()
    iam = shale_server.client("iam")
    iam.create_user(UserName=f"mapped-{s}")
    key = iam.create_access_key(UserName=f"mapped-{s}")["AccessKey"]
    iam.put_user_policy(
        UserName=f"mapped-{s}",
        PolicyName="v2",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "redshift:GetClusterCredentialsWithIAM",
             "Resource": f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbname:shale/dev"}]}),
    )
    redshift = shale_server.client("redshift", (key["AccessKeyId"], key["SecretAccessKey"]))
    creds = redshift.get_cluster_credentials_with_iam(DbName="dev", ClusterIdentifier="shale")
    assert creds["DbUser"] == f"IAM:mapped-{s}"
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["DbUser"], password=creds["DbPassword"]))
    cur = conn.cursor()
    cur.execute("select current_user")
    assert cur.fetchone()[0] == f"IAM:mapped-{s}"
    conn.close()


def test_role_session_credentials_log_in_as_in_seed_000(shale_server, trust_server_cert):
    """Seed 000: a job holds a role's temporary credentials (key, secret,
    token) and connects with redshift_connector's iam=True; Redshift
    Serverless's GetCredentials maps the role to `IAMR:<role>`."""
    s = _suffix()
    iam = shale_server.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}],
    }
    role = f"ValohaiWorkerRole-{s}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    db_user = f"worker_{s}"
    iam.put_role_policy(
        RoleName=role,
        PolicyName="redshift-login",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "redshift:GetClusterCredentials",
             "Resource": [f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:shale/{db_user}",
                          f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbname:shale/dev"]},
            {"Effect": "Allow", "Action": "redshift:DescribeCustomDomainAssociations", "Resource": "*"},
            {"Effect": "Allow", "Action": "redshift-serverless:GetCredentials", "Resource": "*"},
        ]}),
    )
    c = shale_server.client("sts", _assuming_user(shale_server, s)).assume_role(
        RoleArn=role_arn, RoleSessionName="job")["Credentials"]
    _sql(shale_server, f"CREATE USER {db_user} PASSWORD DISABLE")

    keys = dict(access_key_id=c["AccessKeyId"], secret_access_key=c["SecretAccessKey"], session_token=c["SessionToken"])
    conn = _iam_connect(shale_server, db_user=db_user, **keys)
    try:
        assert _current_user(conn) == db_user
    finally:
        conn.close()

    serverless = shale_server.client(
        "redshift-serverless", (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    )
    creds = serverless.get_credentials(workgroupName="shale", dbName="dev", durationSeconds=900)
    assert creds["dbUser"] == f"IAMR:{role}"
    conn = psycopg2.connect(**shale_server.psycopg2_kwargs(user=creds["dbUser"], password=creds["dbPassword"]))
    cur = conn.cursor()
    cur.execute("select current_user")
    assert cur.fetchone()[0] == f"IAMR:{role}"
    conn.close()
    with pytest.raises(ClientError) as e:
        serverless.get_credentials(workgroupName="shale", durationSeconds=10)
    assert _code(e.value) == "ValidationException"
    # And redshift_connector's serverless path: is_serverless with a workgroup.
    conn = _iam_connect(shale_server, is_serverless=True, serverless_work_group="shale", **keys)
    try:
        assert _current_user(conn) == f"IAMR:{role}"
    finally:
        conn.close()


def test_aws_cli_role_and_policy_lifecycle(shale_server):
    s = _suffix()
    role = f"lifecycle-{s}"
    run_aws(shale_server, "iam", "create-role", "--role-name", role, "--description", "for the test",
            "--assume-role-policy-document", json.dumps(REDSHIFT_TRUST))
    got = json.loads(run_aws(shale_server, "iam", "get-role", "--role-name", role).stdout)["Role"]
    assert got["RoleName"] == role and got["Description"] == "for the test" and got["MaxSessionDuration"] == 3600
    listed = json.loads(run_aws(shale_server, "iam", "list-roles").stdout)["Roles"]
    assert role in [r["RoleName"] for r in listed]
    inline = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    run_aws(shale_server, "iam", "put-role-policy", "--role-name", role, "--policy-name", "inline",
            "--policy-document", json.dumps(inline))
    assert json.loads(run_aws(shale_server, "iam", "list-role-policies", "--role-name", role).stdout)["PolicyNames"] == ["inline"]
    doc = json.loads(run_aws(shale_server, "iam", "get-role-policy", "--role-name", role, "--policy-name", "inline").stdout)
    assert doc["PolicyDocument"] == inline
    run_aws(shale_server, "iam", "attach-role-policy", "--role-name", role,
            "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    proc = run_aws(shale_server, "iam", "delete-role", "--role-name", role, check=False)
    assert proc.returncode != 0 and "DeleteConflict" in proc.stderr, proc.stderr
    run_aws(shale_server, "iam", "detach-role-policy", "--role-name", role,
            "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    run_aws(shale_server, "iam", "delete-role-policy", "--role-name", role, "--policy-name", "inline")
    run_aws(shale_server, "iam", "delete-role", "--role-name", role)
    proc = run_aws(shale_server, "iam", "get-role", "--role-name", role, check=False)
    assert proc.returncode != 0 and "NoSuchEntity" in proc.stderr, proc.stderr

    policy = json.loads(run_aws(shale_server, "iam", "create-policy", "--policy-name", f"p-{s}",
                                "--policy-document", json.dumps(inline)).stdout)["Policy"]
    version = json.loads(run_aws(shale_server, "iam", "get-policy-version", "--policy-arn", policy["Arn"],
                                 "--version-id", "v1").stdout)["PolicyVersion"]
    assert version["Document"] == inline and version["IsDefaultVersion"] is True
    local = json.loads(run_aws(shale_server, "iam", "list-policies", "--scope", "Local").stdout)["Policies"]
    assert policy["Arn"] in [p["Arn"] for p in local]
    aws_managed = json.loads(run_aws(shale_server, "iam", "list-policies", "--scope", "AWS").stdout)["Policies"]
    assert "arn:aws:iam::aws:policy/AmazonS3FullAccess" in [p["Arn"] for p in aws_managed]
    run_aws(shale_server, "iam", "delete-policy", "--policy-arn", policy["Arn"])
    proc = run_aws(shale_server, "iam", "create-role", "--role-name", f"bad-{s}",
                   "--assume-role-policy-document", '{"Version": "2012-10-17"}', check=False)
    assert proc.returncode != 0 and "MalformedPolicyDocument" in proc.stderr, proc.stderr
