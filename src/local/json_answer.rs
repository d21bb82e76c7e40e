//! How a JSON 1.x service of the local endpoint frames an answer: the content type, the request
//! id, and errors as the AWS JSON protocols write them (`__type` and `Message`). Its own file so
//! the dispatch ([`crate::local::json_protocol`]) and each service it dispatches to share it
//! without naming each other.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A JSON 1.1 answer.
pub(crate) fn answer(status: StatusCode, body: Value, rid: &str) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert(crate::local::errors::headers::REQUEST_ID, v);
    }
    resp
}

/// An error answer: 400 with the error's shape name and message.
pub(crate) fn error(code: &str, message: &str, rid: &str) -> Response {
    let body = if message.is_empty() {
        json!({ "__type": code })
    } else {
        json!({ "__type": code, "Message": message })
    };
    answer(StatusCode::BAD_REQUEST, body, rid)
}
