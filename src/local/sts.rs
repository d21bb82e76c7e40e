//! STS as the SDKs see it (query protocol: a form-encoded `POST /`, XML answers in the
//! `https://sts.amazonaws.com/doc/2011-06-15/` namespace): `AssumeRole`, checked against the
//! caller's identity policy and the role's trust policy with its ExternalId, and
//! `GetCallerIdentity`.

use crate::local::clock;
use crate::local::errors::{xml_escape, StsError};
use crate::local::iam::{self, Caller, Query, Verdict};
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::{request_id, World};
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

/// Answer one STS request: an injected fault for its action (`/_local/faults` with
/// `"action": "sts:AssumeRole"`), else the action itself. Every error answer is counted.
pub async fn handle(world: &World, req: &ReceivedRequest<'_>) -> Response {
    let rid = request_id();
    let result = match world.authenticate(req, "sts") {
        Err(f) => Err(auth_error(&f)),
        Ok(caller) => {
            let mut params: HashMap<String, String> =
                form_urlencoded::parse(req.raw_query.as_bytes()).into_owned().collect();
            params.extend(form_urlencoded::parse(&req.body).into_owned());
            let action = params.get("Action").map(String::as_str).unwrap_or_default();
            match world.faults.check_sts(&format!("sts:{action}")) {
                Some(inj) => {
                    if !inj.latency.is_zero() {
                        tokio::time::sleep(inj.latency).await;
                    }
                    match inj.error {
                        Some(e) => Err(e),
                        None => answer(world, &caller, &params, action, &rid),
                    }
                }
                None => answer(world, &caller, &params, action, &rid),
            }
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

fn assume_role(
    world: &World,
    caller: &Caller,
    params: &HashMap<String, String>,
    rid: &str,
) -> Result<Response, StsError> {
    let Some(role_arn) = params.get("RoleArn") else {
        return Err(StsError::validation(
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null".into(),
        ));
    };
    let Some(session_name) = params.get("RoleSessionName") else {
        return Err(StsError::validation(
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null".into(),
        ));
    };
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
        caller,
        action: "sts:AssumeRole",
        resource: role_arn,
        external_id,
    };
    let identity = iam::evaluate(world.identity_policy(caller), &q, false);
    let trust = iam::evaluate(role.trust.as_ref(), &q, true);
    if trust != Verdict::Allow || iam::authorize(identity, trust, caller.account == role.account).is_err() {
        return Err(denied());
    }
    // Every caller here acts as a role (a static key stands for an execution role's
    // session), so AssumeRole is role chaining: one hour at most.
    if duration > 3600 {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }
    if duration > role.max_session_s {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
        ));
    }
    let new_caller = Caller {
        account: role.account.clone(),
        role_arn: role.arn.clone(),
        session_arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.name
        ),
        user_id: format!("{}:{session_name}", role.role_id),
        org_id: world.accounts.get(&role.account).and_then(|a| a.org_id.clone()),
    };
    let (access_key, session) = world.issue_session(new_caller, duration);
    world.counters.sts_assume_role.fetch_add(1, Ordering::Relaxed);
    let result = format!(
        "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        xml_escape(&session.caller.user_id),
        xml_escape(&session.caller.session_arn),
        xml_escape(&session.secret.0),
        xml_escape(&session.token.0),
        clock::iso8601(session.expires_ms.div_euclid(1000)),
    );
    Ok(xml_response("AssumeRole", &result, rid))
}
