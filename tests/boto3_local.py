#!/usr/bin/env python3
"""Check that boto3/botocore sees the local endpoint the way it sees AWS.

Run against a running server:  XINVOKE_LOCAL_URL=http://127.0.0.1:4590 python tests/boto3_local.py
Needs boto3. Exits non-zero on any mismatch; prints "N passed, N failed" last.
"""

import json
import os
import sys
import traceback
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ.get("XINVOKE_LOCAL_URL", "http://127.0.0.1:4590")
REGION = "us-east-1"
# A session of the invoker's execution role (ASIA key and token, as Lambda gives them).
SOURCE = ("ASIAXINVOKESOURCE001", "xinvoke-local-source-secret", "IQoJxinvokelocalsourcesessiontoken00000000000001")
STRANGER = ("AKIAXINVOKESTRANGER1", "xinvoke-local-stranger-secret")
INVOKE_ROLE = "arn:aws:iam::222222222222:role/xinvoke-invoke"
EXTERNAL_ID = "xinvoke-local-external-id"
FUNCTION = "arn:aws:lambda:us-east-1:222222222222:function:target"
ALIAS = FUNCTION + ":live"
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})

results = {"passed": 0, "failed": 0}


def client(service, key, secret, token=None):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=URL,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRY,
    )


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def expect_error(call, code, status, message_part=None):
    try:
        call()
    except ClientError as e:
        err = e.response["Error"]
        got_status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert err["Code"] == code, f"code {err['Code']!r} != {code!r}"
        assert got_status == status, f"status {got_status} != {status}"
        if message_part is not None:
            assert message_part in err.get("Message", ""), f"message {err.get('Message')!r} lacks {message_part!r}"
        return e.response
    raise AssertionError(f"expected {code}, call succeeded")


def check(name):
    def wrap(fn):
        try:
            control("POST", "/_local/reset", {})
            fn()
            results["passed"] += 1
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            results["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn
    return wrap


@check("sync invoke of the alias: 200, executed version 1, echo")
def _():
    out = client("lambda", *SOURCE).invoke(FunctionName=ALIAS, Payload=b'{"hello":"world"}')
    assert out["StatusCode"] == 200, out
    assert out["ExecutedVersion"] == "1", out
    assert "FunctionError" not in out, out
    assert out["Payload"].read() == b'{"hello":"world"}'


@check("Event is 202, DryRun is 204")
def _():
    lam = client("lambda", *SOURCE)
    assert lam.invoke(FunctionName=ALIAS, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lam.invoke(FunctionName=ALIAS, InvocationType="DryRun", Payload=b"{}")["StatusCode"] == 204


@check("function error: 200 with FunctionError Unhandled")
def _():
    out = client("lambda", *SOURCE).invoke(FunctionName=ALIAS, Payload=b'{"fail":"boom"}')
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"].read())["errorMessage"] == "boom"


@check("injected EC2ThrottledException: 502 with AWS's message")
def _():
    status, _ = control("POST", "/_local/faults", {"function": "target", "error": "EC2ThrottledException", "times": 1})
    assert status == 200
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=ALIAS), "EC2ThrottledException", 502,
                 "Lambda was throttled while using the Lambda Execution Role")


@check("injected TooManyRequestsException: 429, Reason, Retry-After")
def _():
    control("POST", "/_local/faults", {"function": "target", "error": "TooManyRequestsException", "times": 1,
                                        "reason": "CallerRateLimitExceeded", "retry_after_s": 2})
    resp = expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=ALIAS),
                        "TooManyRequestsException", 429, "Rate Exceeded.")
    assert resp.get("Reason") == "CallerRateLimitExceeded", resp
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("retry-after") == "2", resp


@check("injected EC2UnexpectedException carries EC2ErrorCode")
def _():
    control("POST", "/_local/faults", {"function": "target", "error": "EC2UnexpectedException", "times": 1,
                                        "ec2_error_code": "Client.RequestLimitExceeded"})
    resp = expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=ALIAS), "EC2UnexpectedException", 502)
    assert resp.get("EC2ErrorCode") == "Client.RequestLimitExceeded", resp


@check("unqualified target with the source role: AccessDenied, resource side")
def _():
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=FUNCTION), "AccessDeniedException", 403,
                 "because no resource-based policy allows the lambda:InvokeFunction action")


@check("stranger: AccessDenied, identity side")
def _():
    expect_error(lambda: client("lambda", *STRANGER).invoke(FunctionName=ALIAS), "AccessDeniedException", 403,
                 "because no identity-based policy allows the lambda:InvokeFunction action")


@check("unknown qualifier: 404 Function not found")
def _():
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=FUNCTION + ":nope"),
                 "ResourceNotFoundException", 404, "Function not found: " + FUNCTION + ":nope")


@check("Pending function: 409 ResourceConflictException")
def _():
    control("POST", "/_local/state", {"function": "target", "state": "Pending"})
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=ALIAS), "ResourceConflictException", 409,
                 "The function is currently in the following state: Pending")


@check("payload over 6 MB: 413 RequestEntityTooLargeException, as AWS sends it (not the model's name)")
def _():
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=ALIAS, Payload=b"x" * (6 * 1024 * 1024 + 1)),
                 "RequestEntityTooLargeException", 413,
                 "Request must be smaller than 6291456 bytes for the InvokeFunction operation")


@check("AssumeRole with the ExternalId, then invoke the unqualified target")
def _():
    out = client("sts", *SOURCE).assume_role(RoleArn=INVOKE_ROLE, RoleSessionName="boto3", ExternalId=EXTERNAL_ID)
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20, c["AccessKeyId"]
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::222222222222:assumed-role/xinvoke-invoke/boto3"
    lam = client("lambda", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    res = lam.invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert res["StatusCode"] == 200 and res["ExecutedVersion"] == "$LATEST", res
    ident = client("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).get_caller_identity()
    assert ident["Account"] == "222222222222", ident
    _, stats = control("GET", "/_local/stats")
    assert stats["sts_assume_role"] == 1, stats


@check("AssumeRole with a wrong ExternalId: 403 AccessDenied")
def _():
    expect_error(lambda: client("sts", *SOURCE).assume_role(RoleArn=INVOKE_ROLE, RoleSessionName="boto3",
                                                           ExternalId="wrong-id"),
                 "AccessDenied", 403, "is not authorized to perform: sts:AssumeRole")


@check("AssumeRole with a bad session name: 400 ValidationError")
def _():
    expect_error(lambda: client("sts", *SOURCE).assume_role(RoleArn=INVOKE_ROLE, RoleSessionName="bad name!",
                                                           ExternalId=EXTERNAL_ID),
                 "ValidationError", 400, "roleSessionName")


@check("bad secret: InvalidSignatureException / SignatureDoesNotMatch")
def _():
    expect_error(lambda: client("lambda", SOURCE[0], "wrong", SOURCE[2]).invoke(FunctionName=ALIAS),
                 "InvalidSignatureException", 403, "signature we calculated does not match")
    expect_error(lambda: client("sts", SOURCE[0], "wrong", SOURCE[2]).get_caller_identity(), "SignatureDoesNotMatch", 403)


@check("unknown key: UnrecognizedClientException / InvalidClientTokenId")
def _():
    expect_error(lambda: client("lambda", "AKIAUNKNOWNKEY000001", "x").invoke(FunctionName=ALIAS),
                 "UnrecognizedClientException", 403, "The security token included in the request is invalid.")
    expect_error(lambda: client("sts", "AKIAUNKNOWNKEY000001", "x").get_caller_identity(), "InvalidClientTokenId", 403)


@check("read APIs: configuration, policy, alias")
def _():
    admin = client("lambda", "AKIAXINVOKEADMIN0001", "xinvoke-local-admin-secret")
    conf = admin.get_function_configuration(FunctionName="target", Qualifier="live")
    assert conf["Version"] == "1" and conf["State"] == "Active", conf
    assert len(conf["VpcConfig"]["SubnetIds"]) == 2, conf
    policy = json.loads(admin.get_policy(FunctionName="target", Qualifier="live")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"].endswith(":role/xinvoke-source"), policy
    assert admin.get_alias(FunctionName="target", Name="live")["FunctionVersion"] == "1"


def lambda_model():
    """botocore's own Lambda service model (the pinned boto3's)."""
    import botocore.session
    return botocore.session.get_session().get_service_model("lambda")


@check("every error the Lambda model lists for Invoke can be injected and arrives as the model says")
def _():
    # The model's Invoke errors, each with its httpStatusCode, senderFault (the body's Type) and
    # message member (`message` or `Message`): botocore data/lambda/2015-03-31/service-2.json.
    errors = lambda_model().operation_model("Invoke").error_shapes
    assert len(errors) >= 45, len(errors)
    lam = client("lambda", *SOURCE)
    raw = {}
    lam.meta.events.register("after-call.lambda.Invoke",
                             lambda http_response, **_: raw.update(body=http_response.content))
    for shape in errors:
        code = shape.metadata.get("error", {}).get("code", shape.name)
        status = shape.metadata["error"]["httpStatusCode"]
        st, body = control("POST", "/_local/faults", {"function": "target", "error": code, "times": 1})
        assert st == 200, (code, body)
        got = expect_error(lambda: lam.invoke(FunctionName=ALIAS, Payload=b"{}"), code, status)
        blame = "User" if shape.metadata["error"].get("senderFault") else "Service"
        assert got.get("Type") == blame, (code, got.get("Type"), blame)
        member = "message" if "message" in shape.members else "Message"
        assert member in json.loads(raw["body"]), (code, member, raw["body"])


ADMIN = ("AKIAXINVOKEADMIN0001", "xinvoke-local-admin-secret")


@check("every enum value a configuration carries, in every state, is one the Lambda model lists")
def _():
    model = lambda_model()
    enums = {k: set(model.shape_for(k).enum) for k in
             ["State", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReasonCode"]}
    # AWS reports an update in progress with the reason code `Creating`, which the model's
    # enum lacks (LocalStack's recorded test_function_lifecycle, update_func_conf_response):
    # the one value the endpoint sends beyond it, as AWS does.
    enums["LastUpdateStatusReasonCode"].add("Creating")
    admin = client("lambda", *ADMIN)
    seen = set()

    def read(what):
        conf = admin.get_function_configuration(FunctionName="target")
        for key, allowed in enums.items():
            if key in conf:
                assert conf[key] in allowed, f"{what}: {key} {conf[key]!r} is not in the model's {sorted(allowed)}"
                seen.add((key, conf[key]))

    read("active")
    control("POST", "/_local/state", {"function": "target", "state": "Pending"})
    read("pending")
    control("POST", "/_local/reset", {})
    control("POST", "/_local/clock", {"advance_s": 15 * 24 * 3600})
    read("idle")
    try:
        admin.invoke(FunctionName="target:live")
    except ClientError:
        pass
    read("restoring")
    for reason in ["EniLimitExceeded", "SubnetOutOfIPAddresses", "EC2RequestLimitExceeded", "InvalidSubnet",
                   "InvalidSecurityGroup", "InsufficientRolePermissions"]:
        control("POST", "/_local/state", {"function": "target", "state": "Failed", "reason_code": reason})
        read(reason)
    control("POST", "/_local/reset", {})
    admin.update_function_configuration(FunctionName="target", VpcConfig={"SecurityGroupIds": ["sg-0new0000000000001"]})
    read("updating")
    for want in [("State", "Inactive"), ("StateReasonCode", "Idle"), ("StateReasonCode", "Restoring"),
                 ("LastUpdateStatus", "InProgress"), ("LastUpdateStatusReasonCode", "EniLimitExceeded")]:
        assert want in seen, f"{want} was never shown: {sorted(seen)}"


@check("add-permission --qualifier 1 grants that version's ARN only")
def _():
    admin = client("lambda", *ADMIN)
    out = admin.add_permission(FunctionName="target", Qualifier="1", StatementId="v1", Action="lambda:InvokeFunction",
                               Principal="arn:aws:iam::111111111111:role/xinvoke-source")
    assert json.loads(out["Statement"])["Resource"] == FUNCTION + ":1", out
    res = client("lambda", *SOURCE).invoke(FunctionName=FUNCTION + ":1", Payload=b"{}")
    assert res["StatusCode"] == 200 and res["ExecutedVersion"] == "1", res
    expect_error(lambda: client("lambda", *SOURCE).invoke(FunctionName=FUNCTION), "AccessDeniedException", 403,
                 "because no resource-based policy allows")


WEB_IDENTITY_ROLE = "arn:aws:iam::111111111111:role/xinvoke-web-identity"
OIDC_PROVIDER = ("arn:aws:iam::111111111111:oidc-provider/"
                 "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE")
POD_SUBJECT = "system:serviceaccount:xinvoke:gateway"


def mint(**claims):
    """A web identity token of the built-in cluster's issuer (POST /_local/oidc/token)."""
    status, out = control("POST", "/_local/oidc/token", {"sub": POD_SUBJECT, **claims})
    assert status == 200, out
    return out["token"]


def anonymous_sts():
    """An STS client that signs nothing: AssumeRoleWithWebIdentity needs no credentials."""
    from botocore import UNSIGNED
    return boto3.client("sts", region_name=REGION, endpoint_url=URL,
                        config=NO_RETRY.merge(Config(signature_version=UNSIGNED)))


@check("AssumeRoleWithWebIdentity (unsigned) with a minted token, then AssumeRole and invoke")
def _():
    out = anonymous_sts().assume_role_with_web_identity(RoleArn=WEB_IDENTITY_ROLE, RoleSessionName="pod",
                                                        WebIdentityToken=mint())
    assert out["SubjectFromWebIdentityToken"] == POD_SUBJECT, out
    assert out["Provider"] == OIDC_PROVIDER, out
    assert out["Audience"] == "sts.amazonaws.com", out
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/xinvoke-web-identity/pod", out
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA"), c["AccessKeyId"]
    sts = client("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    chained = sts.assume_role(RoleArn=INVOKE_ROLE, RoleSessionName="pod", ExternalId=EXTERNAL_ID)["Credentials"]
    lam = client("lambda", chained["AccessKeyId"], chained["SecretAccessKey"], chained["SessionToken"])
    assert lam.invoke(FunctionName=FUNCTION, Payload=b"{}")["StatusCode"] == 200
    _, stats = control("GET", "/_local/stats")
    assert stats["sts_assume_role_with_web_identity"] == 1, stats


@check("AssumeRoleWithWebIdentity refusals: audience, subject, expiry")
def _():
    sts = anonymous_sts()

    def assume(token):
        return lambda: sts.assume_role_with_web_identity(RoleArn=WEB_IDENTITY_ROLE, RoleSessionName="pod",
                                                         WebIdentityToken=token)
    expect_error(assume(mint(aud="sigstore")), "InvalidIdentityToken", 400, "Incorrect token audience")
    expect_error(assume(mint(sub="system:serviceaccount:default:gateway")), "AccessDenied", 403,
                 "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    expired = mint(ttl_s=900)
    control("POST", "/_local/clock", {"advance_s": 900})
    expect_error(assume(expired), "ExpiredTokenException", 400, "Token expired: current date/time")


@check("ListFunctions and ListAliases through botocore's paginators")
def _():
    admin = client("lambda", *ADMIN)
    pages = list(admin.get_paginator("list_functions").paginate(FunctionVersion="ALL",
                                                                PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2, pages
    listed = [(f["FunctionArn"], f["Version"]) for p in pages for f in p["Functions"]]
    # With FunctionVersion=ALL, $LATEST carries its qualified ARN (LocalStack's recorded
    # test_list_functions, checked against AWS).
    assert listed == [(FUNCTION + ":$LATEST", "$LATEST"), (FUNCTION + ":1", "1")], listed
    assert "State" not in pages[0]["Functions"][0], pages[0]
    aliases = [a for p in admin.get_paginator("list_aliases").paginate(FunctionName=FUNCTION) for a in p["Aliases"]]
    assert [(a["AliasArn"], a["FunctionVersion"]) for a in aliases] == [(ALIAS, "1")], aliases
    assert client("lambda", *SOURCE).list_functions()["Functions"] == [], "account 1 lists its own account"
    expect_error(lambda: client("lambda", *STRANGER).list_functions(), "AccessDeniedException", 403,
                 "lambda:ListFunctions on resource: * because no identity-based policy allows")
    expect_error(lambda: client("lambda", *SOURCE).list_aliases(FunctionName=FUNCTION), "AccessDeniedException",
                 403, "because no resource-based policy allows the lambda:ListAliases action")


print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
