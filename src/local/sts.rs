//! STS as the SDKs see it (query protocol: a form-encoded `POST /`, XML answers in the
//! `https://sts.amazonaws.com/doc/2011-06-15/` namespace): `AssumeRole`, checked against the
//! caller's identity policy and the role's trust policy with its ExternalId;
//! `AssumeRoleWithWebIdentity`, unsigned, its OIDC token checked ([`crate::local::oidc`]) and
//! then the role's trust policy for the token's provider and claims; and `GetCallerIdentity`.

use crate::local::clock;
use crate::local::errors::{xml_escape, StsError};
use crate::local::iam::{self, Caller, Query, Requester, Verdict, WebIdentity};
use crate::local::ids::request_id;
use crate::local::oidc;
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::{RoleRuntime, Session, World};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// The STS error for an authentication failure.
pub(crate) fn auth_error(f: &AuthFailure) -> StsError {
    let code = match f {
        AuthFailure::Missing => "MissingAuthenticationToken",
        AuthFailure::Malformed(_) => "IncompleteSignature",
        AuthFailure::UnknownKey => "InvalidClientTokenId",
        AuthFailure::BadSignature | AuthFailure::SignatureExpired(_) => "SignatureDoesNotMatch",
        AuthFailure::ExpiredToken => "ExpiredToken",
    };
    StsError::named(code, Some(f.to_string())).unwrap_or_else(|| StsError::access_denied(f.to_string()))
}

fn xml_response(action: &str, result: &str, request_id: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <{action}Result>\n{result}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
    );
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(crate::local::errors::headers::REQUEST_ID, v);
    }
    resp
}

/// The one action that is not signed: the model gives AssumeRoleWithWebIdentity
/// `"auth": ["smithy.api#noAuth"]` (`"authtype": "none"`); its token is the credential.
const WEB_IDENTITY: &str = "AssumeRoleWithWebIdentity";

/// Answer one STS request: the caller authenticated (except AssumeRoleWithWebIdentity), then
/// an injected fault for its action (`/_local/faults` with `"action": "sts:AssumeRole"`), else
/// the action itself. Every error answer is counted.
pub async fn handle(world: &World, req: &ReceivedRequest<'_>) -> Response {
    let rid = request_id();
    let mut params: HashMap<String, String> = form_urlencoded::parse(req.raw_query.as_bytes()).into_owned().collect();
    params.extend(form_urlencoded::parse(&req.body).into_owned());
    let action = params.get("Action").map(String::as_str).unwrap_or_default();
    let result = if action == WEB_IDENTITY {
        match fault(world, action).await {
            Some(e) => Err(e),
            None => assume_role_with_web_identity(world, &params, &rid),
        }
    } else {
        match world.authenticate(req, "sts") {
            Err(f) => Err(auth_error(&f)),
            Ok(caller) => match fault(world, action).await {
                Some(e) => Err(e),
                None => answer(world, &caller, &params, action, &rid),
            },
        }
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            world.counters.sts_answered(e.code);
            e.into_response_with(&rid)
        }
    }
}

/// The injected fault for `action`, if one fires: its delay is waited here, its error (if it
/// names one) returned.
async fn fault(world: &World, action: &str) -> Option<StsError> {
    let inj = world.faults.check_sts(&format!("sts:{action}"))?;
    if !inj.latency.is_zero() {
        tokio::time::sleep(inj.latency).await;
    }
    inj.error
}

fn validation(field: &str, value: &str, constraint: &str) -> StsError {
    StsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

fn answer(
    world: &World,
    caller: &Caller,
    params: &HashMap<String, String>,
    action: &str,
    rid: &str,
) -> Result<Response, StsError> {
    match action {
        "GetCallerIdentity" => {
            world.counters.sts_get_caller_identity.fetch_add(1, Ordering::Relaxed);
            let result = format!(
                "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
                xml_escape(&caller.session_arn),
                xml_escape(&caller.user_id),
                caller.account
            );
            Ok(xml_response("GetCallerIdentity", &result, rid))
        }
        "AssumeRole" => assume_role(world, caller, params, rid),
        other => Err(StsError {
            status: 400,
            code: "InvalidAction",
            message: format!("Could not find operation {other} for version 2011-06-15"),
        }),
    }
}

fn valid_chars(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

/// A required parameter, or ValidationError naming its model member.
fn required<'p>(params: &'p HashMap<String, String>, name: &str, member: &str) -> Result<&'p str, StsError> {
    params.get(name).map(String::as_str).ok_or_else(|| {
        StsError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// `RoleSessionName`: the model's `roleSessionNameType` (2-64 characters of `[\w+=,.@-]`).
fn session_name(params: &HashMap<String, String>) -> Result<&str, StsError> {
    let session_name = required(params, "RoleSessionName", "roleSessionName")?;
    if session_name.len() < 2 {
        return Err(validation(
            "roleSessionName",
            session_name,
            "Member must have length greater than or equal to 2",
        ));
    }
    if session_name.len() > 64 {
        return Err(validation(
            "roleSessionName",
            session_name,
            "Member must have length less than or equal to 64",
        ));
    }
    if !valid_chars(session_name, "+=,.@-") {
        return Err(validation(
            "roleSessionName",
            session_name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(session_name)
}

/// An ARN STS cannot read answers 400 ValidationError "ARN is invalid", before any role is
/// looked up (LocalStack's recorded test_sts_invalid_parameters: "nothing-valid-in-here is
/// invalid", "arn::b:::something/test-role is invalid", "arn:a:a::aaaaaaaaaa: is invalid"):
/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` with a partition, a service and a resource.
fn check_arn(arn: &str) -> Result<(), StsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let readable = matches!(parts.as_slice(),
        ["arn", partition, service, _region, _account, resource]
            if !partition.is_empty() && !service.is_empty() && !resource.is_empty());
    if readable {
        Ok(())
    } else {
        Err(StsError::validation(format!("{arn} is invalid")))
    }
}

/// `DurationSeconds`: the model's `roleDurationSecondsType` (900-43200), one hour when absent.
fn duration(params: &HashMap<String, String>) -> Result<u32, StsError> {
    let duration: u32 = match params.get("DurationSeconds") {
        None => 3600,
        Some(d) => d
            .parse()
            .map_err(|_| validation("durationSeconds", d, "Member must be a number"))?,
    };
    if duration < 900 {
        return Err(validation(
            "durationSeconds",
            &duration.to_string(),
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > 43_200 {
        return Err(validation(
            "durationSeconds",
            &duration.to_string(),
            "Member must have value less than or equal to 43200",
        ));
    }
    Ok(duration)
}

/// A session of `role` named `session_name`: `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`.
fn session_caller(world: &World, role: &RoleRuntime, session_name: &str) -> Caller {
    Caller {
        account: role.account.clone(),
        role_arn: role.arn.clone(),
        session_arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.name
        ),
        user_id: format!("{}:{session_name}", role.role_id),
        org_id: world.accounts.get(&role.account).and_then(|a| a.org_id.clone()),
        org_paths: world
            .accounts
            .get(&role.account)
            .map(|a| a.org_paths.clone())
            .unwrap_or_default(),
    }
}

/// `<AssumedRoleUser>` and `<Credentials>` of a new session, as AssumeRole and
/// AssumeRoleWithWebIdentity both answer them.
fn session_xml(access_key: &str, session: &Session) -> String {
    format!(
        "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        xml_escape(&session.caller.user_id),
        xml_escape(&session.caller.session_arn),
        xml_escape(&session.secret.0),
        xml_escape(&session.token.0),
        clock::iso8601(session.expires_ms.div_euclid(1000)),
    )
}

fn assume_role(
    world: &World,
    caller: &Caller,
    params: &HashMap<String, String>,
    rid: &str,
) -> Result<Response, StsError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    let session_name = session_name(params)?;
    check_arn(role_arn)?;
    let external_id = params.get("ExternalId").map(String::as_str);
    if let Some(x) = external_id {
        if x.len() < 2 || x.len() > 1224 || !valid_chars(x, "+=,.@:/-") {
            return Err(validation(
                "externalId",
                x,
                "Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
            ));
        }
    }
    let duration = duration(params)?;
    let denied = || {
        StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.session_arn
        ))
    };
    let Some(role) = world.roles.get(role_arn) else {
        return Err(denied());
    };
    let q = Query {
        requester: Requester::Role(caller),
        action: "sts:AssumeRole",
        resource: role_arn,
        external_id,
    };
    let identity = iam::evaluate(world.identity_policy(caller), &q, false);
    let trust = iam::evaluate(role.trust.as_ref(), &q, true);
    if trust != Verdict::Allow || iam::authorize(identity, trust, caller.account == role.account).is_err() {
        return Err(denied());
    }
    // A caller acting as a role (a role's session, a web identity's session) chains roles:
    // one hour at most. An IAM user's long-term keys may ask for the role's maximum.
    let chaining = caller.session_arn.contains(":assumed-role/");
    if chaining && duration > 3600 {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }
    if duration > role.max_session_s {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
        ));
    }
    let (access_key, session) = world.issue_session(session_caller(world, role, session_name), duration);
    world.counters.sts_assume_role.fetch_add(1, Ordering::Relaxed);
    Ok(xml_response("AssumeRole", &session_xml(&access_key, &session), rid))
}

/// AssumeRoleWithWebIdentity (what an EKS pod's SDK calls with its projected token): the
/// parameters, the token ([`oidc::verify`] against the OIDC providers of the role's account),
/// then the role's trust policy for the token's provider, `sub` and `aud`.
///
/// Errors as STS answers them (the STS model's shapes): InvalidIdentityToken (400) for a token
/// that is malformed, badly signed, of an issuer the account has not registered ("No
/// OpenIDConnect provider found in your account for ISSUER") or for another audience
/// ("Incorrect token audience"); ExpiredTokenException (400) past its `exp`; AccessDenied (403)
/// "Not authorized to perform sts:AssumeRoleWithWebIdentity" when the role does not exist or
/// its trust policy does not allow the token (what STS answers a trust mismatch, e.g. a wrong
/// `sub`, rather than IDPRejectedClaim).
fn assume_role_with_web_identity(
    world: &World,
    params: &HashMap<String, String>,
    rid: &str,
) -> Result<Response, StsError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    if role_arn.len() < 20 || role_arn.len() > 2048 {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048"
        )));
    }
    let session_name = session_name(params)?;
    check_arn(role_arn)?;
    // The token is sensitive (the model's `clientTokenType`): never echoed, not even here.
    let token = required(params, "WebIdentityToken", "webIdentityToken")?;
    if token.len() < 4 || token.len() > 20_000 {
        return Err(StsError::validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000".into(),
        ));
    }
    let duration = duration(params)?;
    let account = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
        .map(|(account, _)| account)
        .unwrap_or_default();
    let providers = world
        .accounts
        .get(account)
        .map(|a| a.oidc_providers.as_slice())
        .unwrap_or_default();
    let now_s = world.clock.now_ms().div_euclid(1000);
    let verified = oidc::verify(token, providers, &world.issuers, now_s).map_err(|e| StsError {
        status: 400,
        code: e.code(),
        message: e.to_string(),
    })?;
    let denied = || StsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity".into());
    let Some(role) = world.roles.get(role_arn) else {
        return Err(denied());
    };
    let identity = WebIdentity {
        provider_arn: verified.provider.arn.clone(),
        provider_key: verified.provider.key.clone(),
        sub: verified.subject.clone(),
        aud: verified.audience.clone(),
    };
    let q = Query {
        requester: Requester::WebIdentity(&identity),
        action: "sts:AssumeRoleWithWebIdentity",
        resource: role_arn,
        external_id: None,
    };
    if iam::evaluate(role.trust.as_ref(), &q, true) != Verdict::Allow {
        return Err(denied());
    }
    // Not role chaining: up to the role's maximum (the model: "from 900 seconds (15 minutes)
    // up to the maximum session duration setting for the role").
    if duration > role.max_session_s {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
        ));
    }
    let (access_key, session) = world.issue_session(session_caller(world, role, session_name), duration);
    world
        .counters
        .sts_assume_role_with_web_identity
        .fetch_add(1, Ordering::Relaxed);
    // `Provider`: the model's documentation says the `iss` of an OIDC token, but STS answers
    // the provider's ARN for OIDC tokens (an `aws sts assume-role-with-web-identity` transcript
    // in spiffe/spiffe.io#110: "Provider": "arn:aws:iam::012345678901:oidc-provider/...").
    let result = format!(
        "    <Audience>{}</Audience>\n{}    <Provider>{}</Provider>\n    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n",
        xml_escape(&verified.audience),
        session_xml(&access_key, &session),
        xml_escape(&verified.provider.arn),
        xml_escape(&verified.subject),
    );
    Ok(xml_response(WEB_IDENTITY, &result, rid))
}
