//! From an HTTP request to what the function receives, and from the invoke's record to the
//! HTTP answer. Pure, so the server and the invoker Lambda behind API Gateway answer alike.
//!
//! Status by outcome: `ok` 200 (or the function's own status when unwrapped; 202 for an async
//! route), `function_error` 502, throttles 429 with `Retry-After`, capacity and VPC limits 503
//! (with `Retry-After` when they pass), timeouts 504, a payload over Lambda's limit 413, a body
//! Lambda calls malformed 400, and every other failure (permissions, credentials, a function
//! missing or misconfigured) 502: the gateway's set-up, which the client cannot fix. Every
//! answer carries the class and the attempts in headers; a failure's body gives the class and a
//! short message, never ARNs or policy text (those are in the gateway's log).
//!
//! What crosses from the function's account is input, never the gateway's word: the outcome
//! headers come from the invoke record alone, once each, and an unwrapped answer's headers are
//! sanitised as Envoy sanitises an upstream's (its own `x-envoy-*` never trusted from upstream,
//! hop-by-hop headers dropped, RFC 9110 §7.6.1): a function's `x-xinvoke-*` and `x-request-id`
//! are dropped, hop-by-hop and framing headers are not relayed (the server frames the answer
//! itself), and the few that API Gateway remaps reach the client as `x-amzn-remapped-NAME`. A
//! status outside 200-599 or a body that does not decode is a 502 `bad_proxy_answer`, never `ok`.

use crate::domain::class::Class;
use crate::domain::record::{InvokeRecord, ATTEMPTS_HEADER, CLASS_HEADER, STOP_HEADER};
use crate::domain::retry::StopReason;
use base64::Engine;
use serde_json::{json, Map, Value};

/// A request as the gateway received it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Without `?`.
    pub query: &'a str,
    /// Lower-case names, in order, repeated names kept.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub source_ip: &'a str,
    pub request_id: &'a str,
    /// Unix milliseconds.
    pub time_ms: i64,
}

/// The outcome an answer names in `x-xinvoke-class`: an invoke's class, or one only the gateway
/// gives. A closed set, so metric labels are too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerClass {
    Invoke(Class),
    /// No route takes the request.
    NoRoute,
    /// The function answered, but not in the proxy format its route unwraps (a status outside
    /// 200-599, a body that does not decode, headers that are not strings).
    BadProxyAnswer,
    /// A CORS preflight, answered by the gateway from the route's policy.
    CorsPreflight,
    /// The invoker Lambda has no routes.
    NotConfigured,
}

impl AnswerClass {
    /// The snake_case name headers, logs and metrics carry.
    pub fn name(self) -> &'static str {
        match self {
            AnswerClass::Invoke(c) => c.name(),
            AnswerClass::NoRoute => "no_route",
            AnswerClass::BadProxyAnswer => "bad_proxy_answer",
            AnswerClass::CorsPreflight => "cors_preflight",
            AnswerClass::NotConfigured => "not_configured",
        }
    }
}

/// An answer to send: status, headers (repeated names kept, e.g. `set-cookie`), body, and the
/// outcome it names (already among the headers, once each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub class: AnswerClass,
    /// Attempts made; 0 when nothing was invoked.
    pub attempts: u32,
    pub stop: StopReason,
}

impl Answer {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
            class: AnswerClass::Invoke(Class::Ok),
            attempts: 0,
            stop: StopReason::Succeeded,
        }
    }

    /// An answer the gateway gives without invoking anything: `{"class", "message"}` with the
    /// outcome headers (no attempt; stopped as `stop`).
    pub(crate) fn refusal(
        status: u16,
        class: AnswerClass,
        stop: StopReason,
        message: &str,
        request_id: &str,
    ) -> Answer {
        let mut a = Answer::new(
            status,
            "application/json",
            json!({"class": class.name(), "message": message})
                .to_string()
                .into_bytes(),
        );
        a.stamp(class, 0, stop, request_id);
        a
    }

    /// Write the outcome headers, once each, from the gateway's own knowledge.
    fn stamp(&mut self, class: AnswerClass, attempts: u32, stop: StopReason, request_id: &str) {
        self.class = class;
        self.attempts = attempts;
        self.stop = stop;
        self.headers.retain(|(k, _)| !gateway_writes(k));
        self.headers.push((CLASS_HEADER.into(), class.name().into()));
        self.headers.push((ATTEMPTS_HEADER.into(), attempts.to_string()));
        self.headers.push((STOP_HEADER.into(), stop.name().into()));
        self.headers.push(("x-request-id".into(), request_id.into()));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The answer in API Gateway's proxy (payload 2.0) format, for the invoker behind an HTTP
    /// API or a Function URL.
    pub fn to_proxy_response(&self) -> Value {
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (k, v) in &self.headers {
            if k == "set-cookie" {
                cookies.push(Value::String(v.clone()));
                continue;
            }
            match headers.get_mut(k) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(v);
                }
                _ => {
                    headers.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        let (body, base64) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_string(), false),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(&self.body), true),
        };
        let mut out = json!({
            "statusCode": self.status,
            "headers": headers,
            "body": body,
            "isBase64Encoded": base64,
        });
        if !cookies.is_empty() {
            out["cookies"] = Value::Array(cookies);
        }
        out
    }
}

/// The event a function receives from a route with `wrapAsApiGateway`: API Gateway's HTTP API
/// payload 2.0, the format Function URLs send too (Lambda developer guide, "Working with HTTP
/// API Lambda integrations"; "Invoking Lambda function URLs").
pub fn api_gateway_event(req: &Request<'_>, route_key: &str) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (k, v) in req.headers {
        if k == "cookie" {
            cookies.extend(v.split(';').map(|c| Value::String(c.trim().to_string())));
            continue;
        }
        match headers.get_mut(k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            _ => {
                headers.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let mut params = Map::new();
    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
        match params.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let header = |name: &str| req.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let host = header("host").unwrap_or_default();
    let (body, base64) = match std::str::from_utf8(req.body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(req.body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "xinvoke-gateway",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": header("user-agent").unwrap_or_default(),
            },
            "requestId": req.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": clf_time(req.time_ms),
            "timeEpoch": req.time_ms,
        },
        "isBase64Encoded": base64,
    });
    if !req.body.is_empty() {
        event["body"] = Value::String(body);
    }
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !params.is_empty() {
        event["queryStringParameters"] = Value::Object(params);
    }
    event
}

/// `30/Nov/2026:12:00:00 +0000`, API Gateway's `requestContext.time`.
fn clf_time(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = crate::domain::utc::split(ms.div_euclid(1000));
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{d:02}/{}/{y}:{h:02}:{mi:02}:{s:02} +0000",
        MONTHS[(mo as usize).clamp(1, 12) - 1]
    )
}

/// How a route wants the function's answer given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub asynchronous: bool,
    pub unwrap_as_api_gateway: bool,
}

/// The answer to a request whose invoke ended as `record`.
pub fn answer(record: &InvokeRecord, shape: Shape, request_id: &str) -> Answer {
    let class = record.class();
    let (mut a, class) = match class {
        Class::Ok if shape.asynchronous => (
            Answer::new(202, "application/json", br#"{"status":"queued"}"#.to_vec()),
            AnswerClass::Invoke(class),
        ),
        Class::Ok => {
            let raw = record.raw_payload.clone().unwrap_or_default();
            if shape.unwrap_as_api_gateway {
                match unwrap(&raw) {
                    Ok(a) => (a, AnswerClass::Invoke(class)),
                    Err(problem) => (
                        failure(502, AnswerClass::BadProxyAnswer, problem),
                        AnswerClass::BadProxyAnswer,
                    ),
                }
            } else {
                (Answer::new(200, "application/json", raw), AnswerClass::Invoke(class))
            }
        }
        _ => {
            let status = status_of(record);
            let mut a = failure(status, AnswerClass::Invoke(class), message(record));
            if let Some(after) = retry_after(record) {
                a.headers.push(("retry-after".into(), after.to_string()));
            }
            (a, AnswerClass::Invoke(class))
        }
    };
    a.stamp(class, record.attempts, record.stop, request_id);
    a
}

/// A request no route takes.
pub fn no_route(method: &str, request_id: &str) -> Answer {
    Answer::refusal(
        404,
        AnswerClass::NoRoute,
        StopReason::NotRetryable,
        &format!("no route for this {method} request"),
        request_id,
    )
}

/// A CORS preflight, answered by the gateway with `cors` (the policy's headers; none when it
/// does not allow the origin): 200, no body, nothing invoked.
pub(crate) fn preflight(cors: Vec<(String, String)>, request_id: &str) -> Answer {
    let mut a = Answer::new(200, "text/plain", Vec::new());
    a.headers = cors;
    a.stamp(AnswerClass::CorsPreflight, 0, StopReason::Succeeded, request_id);
    a
}

/// A request whose body could not be read: over the limit (413), or not in time (408).
pub(crate) fn unread_body(too_large: bool, request_id: &str) -> Answer {
    match too_large {
        true => Answer::refusal(
            413,
            AnswerClass::Invoke(Class::PayloadTooLarge),
            StopReason::NotRetryable,
            "the request body is over the gateway's limit",
            request_id,
        ),
        false => Answer::refusal(
            408,
            AnswerClass::Invoke(Class::Timeout),
            StopReason::Deadline,
            "the request body did not arrive in time",
            request_id,
        ),
    }
}

/// 400 `invalid_request`: the request lacks what its route needs (e.g. its tenant header).
pub(crate) fn bad_request(message: &str, request_id: &str) -> Answer {
    Answer::refusal(
        400,
        AnswerClass::Invoke(Class::InvalidRequest),
        StopReason::NotRetryable,
        message,
        request_id,
    )
}

fn failure(status: u16, class: AnswerClass, message: &str) -> Answer {
    Answer::new(
        status,
        "application/json",
        json!({"class": class.name(), "message": message})
            .to_string()
            .into_bytes(),
    )
}

fn status_of(r: &InvokeRecord) -> u16 {
    match r.class() {
        Class::InvalidRequest if r.outcome.error_code.as_deref() == Some("InvalidRequestContentException") => 400,
        class => status_of_class(class),
    }
}

/// The status an invoke's class is answered with (`invalid_request` is 400 only for a body
/// Lambda calls malformed; see [`answer`]).
pub(crate) fn status_of_class(class: Class) -> u16 {
    match class {
        Class::Ok => 200,
        Class::AlreadyDone => 409,
        Class::FunctionError => 502,
        Class::Throttled | Class::StsThrottled => 429,
        Class::Ec2Throttled
        | Class::EniLimit
        | Class::Ec2RequestLimit
        | Class::SubnetIpLimit
        | Class::Ec2Unexpected
        | Class::NotReady
        | Class::Service
        | Class::StsUnavailable => 503,
        Class::Timeout => 504,
        Class::PayloadTooLarge => 413,
        Class::InvalidRequest
        | Class::VpcConfig
        | Class::AccessDeniedIdentity
        | Class::AccessDeniedResource
        | Class::AccessDenied
        | Class::NotFound
        | Class::Quota
        | Class::Kms
        | Class::Efs
        | Class::Connect
        | Class::Credentials => 502,
    }
}

/// Seconds a client should wait: Lambda's `Retry-After` when it sent one, else 1 for throttles
/// and the limits that pass (EC2's rate limits, a function still getting ready).
fn retry_after(r: &InvokeRecord) -> Option<u64> {
    let passes = matches!(
        r.class(),
        Class::Throttled
            | Class::StsThrottled
            | Class::Ec2Throttled
            | Class::Ec2RequestLimit
            | Class::NotReady
            | Class::Service
    );
    match r.outcome.retry_after_s {
        Some(s) if s.is_finite() && s > 0.0 => Some(s.ceil() as u64),
        _ => passes.then_some(1),
    }
}

/// A short sentence for the client, by class: nothing from the function's account.
fn message(r: &InvokeRecord) -> &'static str {
    match r.class() {
        Class::Ok => "ok",
        Class::AlreadyDone => "the request's work already started: it is not started again",
        Class::FunctionError => "the function ran and failed",
        Class::Throttled => "the function is throttled: retry after the Retry-After seconds",
        Class::StsThrottled => "the gateway's credentials are throttled: retry after the Retry-After seconds",
        Class::Ec2Throttled | Class::Ec2RequestLimit => "the function's network set-up is rate-limited: retry later",
        Class::EniLimit | Class::SubnetIpLimit => "the function's network has no capacity left",
        Class::Ec2Unexpected | Class::VpcConfig => "the function's network is misconfigured",
        Class::NotReady => "the function is not ready yet: retry later",
        Class::Service | Class::StsUnavailable => "the service is unavailable: retry later",
        Class::Timeout => "the function did not answer in time",
        Class::PayloadTooLarge => "the request body is over Lambda's payload limit",
        Class::InvalidRequest => "the function refused the request",
        Class::AccessDeniedIdentity | Class::AccessDeniedResource | Class::AccessDenied => {
            "the gateway is not allowed to invoke the function"
        }
        Class::Credentials => "the gateway's credentials do not work",
        Class::NotFound => "the function does not exist",
        Class::Quota | Class::Kms | Class::Efs => "the function cannot run as configured",
        Class::Connect => "the gateway cannot reach Lambda",
    }
}

/// A function's answer in API Gateway proxy format (payload 1.0 or 2.0 fields): `statusCode`,
/// `headers`, `multiValueHeaders`, `cookies`, `body`, `isBase64Encoded`. An answer that is not
/// such an object is the body, with status 200 and `application/json`, as an HTTP API infers
/// for payload 2.0.
fn unwrap(raw: &[u8]) -> Result<Answer, &'static str> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(raw) else {
        return Ok(Answer::new(200, "application/json", raw.to_vec()));
    };
    if !map.contains_key("statusCode") {
        return Ok(Answer::new(200, "application/json", raw.to_vec()));
    }
    const BAD: &str = "the function's answer is not an API Gateway proxy response";
    let status = map
        .get("statusCode")
        .and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|t| t.parse().ok())))
        // 1xx would announce another answer (101 switches protocols): the framing is the gateway's.
        .filter(|s| (200..=599).contains(s))
        .ok_or(BAD)? as u16;
    let mut headers = Vec::new();
    if let Some(h) = map.get("headers").filter(|h| !h.is_null()) {
        for (k, v) in h.as_object().ok_or(BAD)? {
            headers.push((k.to_ascii_lowercase(), scalar(v).ok_or(BAD)?));
        }
    }
    if let Some(h) = map.get("multiValueHeaders").filter(|h| !h.is_null()) {
        for (k, vs) in h.as_object().ok_or(BAD)? {
            let k = k.to_ascii_lowercase();
            headers.retain(|(name, _)| *name != k);
            for v in vs.as_array().ok_or(BAD)? {
                headers.push((k.clone(), scalar(v).ok_or(BAD)?));
            }
        }
    }
    if let Some(c) = map.get("cookies").filter(|c| !c.is_null()) {
        for v in c.as_array().ok_or(BAD)? {
            headers.push(("set-cookie".into(), v.as_str().ok_or(BAD)?.to_string()));
        }
    }
    let body = match map.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if map.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| BAD)?
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return Err(BAD),
    };
    let mut headers = sanitise(headers);
    if !headers.iter().any(|(k, _)| k == "content-type") && !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    // The outcome fields are the record's, written by `answer`.
    Ok(Answer {
        status,
        headers,
        body,
        class: AnswerClass::Invoke(Class::Ok),
        attempts: 0,
        stop: StopReason::Succeeded,
    })
}

/// Headers the gateway writes itself, from the record: never taken from a function.
fn gateway_writes(name: &str) -> bool {
    name.starts_with("x-xinvoke-") || name == "x-request-id"
}

/// The function's headers as the gateway relays them (lower-case names): its own headers and
/// hop-by-hop ones dropped (`Connection` and every header it lists, `Keep-Alive`,
/// `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`, `Proxy-*`: RFC 9110 §7.6.1, RFC 9112 §6),
/// and the ones the gateway writes for the message (`Connection`, `Content-Length`, `Date`,
/// `Server`) relayed as API Gateway remaps reserved headers of an integration's answer,
/// `x-amzn-remapped-NAME`.
fn sanitise(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let listed: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k == "connection")
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .filter(|t| !t.is_empty())
        .collect();
    headers
        .into_iter()
        .filter_map(|(k, v)| match k.as_str() {
            "connection" | "content-length" | "date" | "server" => Some((format!("x-amzn-remapped-{k}"), v)),
            "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" => None,
            _ if k.starts_with("proxy-") || gateway_writes(&k) || listed.contains(&k) => None,
            _ => Some((k, v)),
        })
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classify::{classify, RawOutcome, ServiceError};
    use crate::domain::invocation::InvocationType;

    fn record(raw: RawOutcome) -> InvokeRecord {
        let mut r = InvokeRecord::refused("t", "arn".into(), InvocationType::RequestResponse, "X", "x".into());
        r.outcome = classify(&raw);
        r.attempts = 2;
        if let RawOutcome::Answered { payload, .. } = raw {
            r.raw_payload = Some(payload);
        }
        r
    }

    fn answered(payload: &str, function_error: Option<&str>) -> InvokeRecord {
        record(RawOutcome::Answered {
            status: 200,
            function_error: function_error.map(str::to_string),
            executed_version: None,
            durable_execution_arn: None,
            payload: payload.as_bytes().to_vec(),
        })
    }

    fn failed(status: u16, code: &str, retry_after: Option<u64>) -> InvokeRecord {
        record(RawOutcome::Failed(ServiceError {
            status,
            code: code.into(),
            message: Some("arn:aws:lambda:us-east-1:222222222222:function:secret-name".into()),
            reason: None,
            retry_after: retry_after.map(std::time::Duration::from_secs),
            ..Default::default()
        }))
    }

    const SYNC: Shape = Shape {
        asynchronous: false,
        unwrap_as_api_gateway: false,
    };

    #[test]
    fn classes_become_statuses_a_client_can_act_on() {
        let a = answer(&answered("{\"b\": 1, \"a\": 2}", None), SYNC, "rid");
        assert_eq!(
            (a.status, a.body.as_slice()),
            (200, b"{\"b\": 1, \"a\": 2}".as_slice()),
            "the bytes as the function sent them"
        );
        assert_eq!(
            (
                a.header(CLASS_HEADER),
                a.header(ATTEMPTS_HEADER),
                a.header("x-request-id")
            ),
            (Some("ok"), Some("2"), Some("rid"))
        );
        let a = answer(&answered("{\"errorType\":\"Boom\"}", Some("Unhandled")), SYNC, "rid");
        assert_eq!(
            (a.status, a.header(CLASS_HEADER)),
            (502, Some("function_error")),
            "never 200 for a function error"
        );
        let a = answer(&failed(429, "TooManyRequestsException", Some(3)), SYNC, "rid");
        assert_eq!((a.status, a.header("retry-after")), (429, Some("3")));
        let a = answer(&failed(502, "ENILimitReachedException", None), SYNC, "rid");
        assert_eq!(a.status, 503);
        let a = answer(&failed(403, "AccessDeniedException", None), SYNC, "rid");
        let body = String::from_utf8(a.body.clone()).unwrap();
        assert_eq!((a.status, a.header(CLASS_HEADER)), (502, Some("access_denied")));
        assert!(!body.contains("arn:") && !body.contains("secret-name"), "{body}");
        assert_eq!(
            answer(&failed(413, "RequestTooLargeException", None), SYNC, "r").status,
            413
        );
        assert_eq!(
            answer(&failed(400, "InvalidRequestContentException", None), SYNC, "r").status,
            400
        );
        let queued = answer(
            &answered("", None),
            Shape {
                asynchronous: true,
                unwrap_as_api_gateway: false,
            },
            "r",
        );
        assert_eq!(queued.status, 202);
    }

    #[test]
    fn api_gateway_answers_are_unwrapped() {
        let shape = Shape {
            asynchronous: false,
            unwrap_as_api_gateway: true,
        };
        let a = answer(
            &answered(
                r#"{"statusCode":201,"headers":{"X-A":"1"},"multiValueHeaders":{"x-b":["2","3"]},"cookies":["c=1"],"body":"aGk=","isBase64Encoded":true}"#,
                None,
            ),
            shape,
            "r",
        );
        assert_eq!((a.status, a.body.as_slice()), (201, b"hi".as_slice()));
        assert_eq!(a.header("x-a"), Some("1"));
        assert_eq!(a.headers.iter().filter(|(k, _)| k == "x-b").count(), 2);
        assert_eq!(a.header("set-cookie"), Some("c=1"));
        let plain = answer(&answered(r#"{"hello":"world"}"#, None), shape, "r");
        assert_eq!(
            (plain.status, plain.body.as_slice()),
            (200, br#"{"hello":"world"}"#.as_slice())
        );
        let bad = answer(&answered(r#"{"statusCode":"teapot"}"#, None), shape, "r");
        assert_eq!(bad.status, 502);
    }

    #[test]
    fn a_function_cannot_write_the_gateways_headers_or_its_framing() {
        let shape = Shape {
            asynchronous: false,
            unwrap_as_api_gateway: true,
        };
        let forged = r#"{"statusCode":200,"headers":{"X-Xinvoke-Class":"evil-1","x-xinvoke-attempts":"1000001","x-xinvoke-stop":"x","x-request-id":"forged","Content-Length":"5","Transfer-Encoding":"chunked","Connection":"close, x-secret","x-secret":"1","Keep-Alive":"timeout=5","Upgrade":"h2c","TE":"trailers","Trailer":"x","Proxy-Authenticate":"Basic","Server":"fn","x-fine":"yes"},"body":"hello world"}"#;
        let record = answered(forged, None);
        let a = answer(&record, shape, "rid");
        let names: Vec<&str> = a.headers.iter().map(|(k, _)| k.as_str()).collect();
        for (name, value) in [
            (CLASS_HEADER, "ok"),
            (ATTEMPTS_HEADER, "2"),
            (STOP_HEADER, record.stop.name()),
            ("x-request-id", "rid"),
        ] {
            assert_eq!(
                names.iter().filter(|n| **n == name).count(),
                1,
                "{name} once: {names:?}"
            );
            assert_eq!(a.header(name), Some(value));
        }
        for dropped in [
            "transfer-encoding",
            "keep-alive",
            "upgrade",
            "te",
            "trailer",
            "proxy-authenticate",
            "x-secret",
            "content-length",
            "connection",
            "server",
        ] {
            assert!(!names.contains(&dropped), "{dropped} relayed: {names:?}");
        }
        assert_eq!(a.header("x-amzn-remapped-content-length"), Some("5"));
        assert_eq!(a.header("x-amzn-remapped-connection"), Some("close, x-secret"));
        assert_eq!(a.header("x-amzn-remapped-server"), Some("fn"));
        assert_eq!(
            (a.header("x-fine"), a.body.as_slice()),
            (Some("yes"), b"hello world".as_slice())
        );
        assert_eq!((a.class, a.attempts), (AnswerClass::Invoke(Class::Ok), 2));

        for bad in [
            r#"{"statusCode":101,"body":"x"}"#,
            r#"{"statusCode":99}"#,
            r#"{"statusCode":600}"#,
            r#"{"statusCode":200,"body":"not base64!","isBase64Encoded":true}"#,
            r#"{"statusCode":200,"headers":{"x":{"nested":1}}}"#,
        ] {
            let a = answer(&answered(bad, None), shape, "rid");
            assert_eq!(
                (a.status, a.header(CLASS_HEADER), a.class),
                (502, Some("bad_proxy_answer"), AnswerClass::BadProxyAnswer),
                "{bad}"
            );
        }
    }

    #[test]
    fn answers_given_without_an_invoke_carry_every_outcome_header() {
        for a in [
            no_route("GET", "rid"),
            unread_body(true, "rid"),
            unread_body(false, "rid"),
        ] {
            for name in [CLASS_HEADER, ATTEMPTS_HEADER, STOP_HEADER, "x-request-id"] {
                assert!(a.header(name).is_some(), "{name} missing: {a:?}");
            }
            assert_eq!(a.header(ATTEMPTS_HEADER), Some("0"));
        }
        assert_eq!(
            (unread_body(true, "r").status, unread_body(false, "r").status),
            (413, 408)
        );
    }

    #[test]
    fn requests_wrap_as_http_api_payload_2() {
        let headers = vec![
            ("host".to_string(), "gw.example".to_string()),
            ("cookie".to_string(), "a=1; b=2".to_string()),
            ("x-m".to_string(), "1".to_string()),
            ("x-m".to_string(), "2".to_string()),
        ];
        let req = Request {
            method: "POST",
            path: "/target",
            query: "q=1&q=2&r=x",
            headers: &headers,
            body: b"{\"k\":1}",
            source_ip: "127.0.0.1",
            request_id: "rid",
            time_ms: 1_764_504_000_000,
        };
        let e = api_gateway_event(&req, "POST /target");
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["rawPath"], "/target");
        assert_eq!(e["headers"]["x-m"], "1,2");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["queryStringParameters"], json!({"q": "1,2", "r": "x"}));
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["time"], "30/Nov/2025:12:00:00 +0000");
        assert_eq!(
            (e["body"].as_str(), e["isBase64Encoded"].as_bool()),
            (Some("{\"k\":1}"), Some(false))
        );
        let proxy = answer(&answered("x", None), SYNC, "r").to_proxy_response();
        assert_eq!(
            (proxy["statusCode"].as_u64(), proxy["body"].as_str()),
            (Some(200), Some("x"))
        );
        assert_eq!(proxy["headers"][CLASS_HEADER], "ok");
    }
}
