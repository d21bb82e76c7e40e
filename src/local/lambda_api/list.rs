//! ListFunctions and ListAliases, in pages (`Marker` / `MaxItems` in, `NextMarker` out, as the
//! model's paginators read them).
//!
//! ListFunctions is account-scoped: it lists the caller's own account and nothing else, and
//! IAM knows it on the resource `*` only (the Service Authorization Reference lists no
//! resource type for it), so only the caller's identity policy can allow it. Its entries are
//! the FunctionConfiguration of GetFunctionConfiguration without the fields the model says it
//! leaves out ("ListFunctions returns a subset of the FunctionConfiguration fields. To get the
//! additional fields (State, StateReasonCode, StateReason, LastUpdateStatus,
//! LastUpdateStatusReason, LastUpdateStatusReasonCode, RuntimeVersionConfig) ... use
//! GetFunction"). ListAliases is authorized on the function like the other calls that name one:
//! the identity policy in the function's account, both sides across accounts.

use crate::local::errors::ApiError;
use crate::local::function::{AliasRuntime, FunctionRuntime, Resolved};
use crate::local::iam::{self, Caller, Query, Requester, Verdict};
use crate::local::lambda_api::configuration::configuration;
use crate::local::lambda_api::request::{authorize, json_response, FunctionRef};
use crate::local::lambda_api::validate::{self, Violations};
use crate::local::world::World;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::collections::HashMap;

/// ListFunctions answers at most this many functions, whatever `MaxItems` says (the model:
/// "ListFunctions returns a maximum of 50 items in each response, even if you set the number
/// higher").
const MAX_FUNCTIONS: usize = 50;
/// ListAliases's page when `MaxItems` is absent (the model states none; the endpoint's choice,
/// ListFunctions's size).
const DEFAULT_ALIASES: usize = 50;
/// `MaxItems` bounds (the model's `MaxListItems`: 1-10000).
const MAX_LIST_ITEMS: usize = 10_000;

/// The fields ListFunctions leaves out of a FunctionConfiguration (the model's note above).
const NOT_LISTED: [&str; 7] = [
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
    "RuntimeVersionConfig",
];

/// A parameter that breaks the model's constraint (ValidationException, as AWS answers
/// `FunctionVersion=invalid`: LocalStack's recorded test_list_functions).
fn invalid(member: &str, value: &str, constraint: &str) -> ApiError {
    ApiError::new(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    )
}

/// One page of a list: where it starts and how long it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Page {
    /// The key of the first item (the previous page's `NextMarker`, decoded).
    from: Option<String>,
    len: usize,
}

impl Page {
    /// `Marker` and `MaxItems` of the query, `MaxItems` defaulting to and capped at `cap`.
    fn of(query: &HashMap<String, String>, default: usize, cap: usize) -> Result<Page, ApiError> {
        let len = match query.get("MaxItems") {
            None => default,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if n < 1 => {
                    return Err(invalid(
                        "maxItems",
                        raw,
                        "Member must have value greater than or equal to 1",
                    ))
                }
                Ok(n) if n > MAX_LIST_ITEMS as i64 => {
                    return Err(invalid(
                        "maxItems",
                        raw,
                        "Member must have value less than or equal to 10000",
                    ))
                }
                Ok(n) => (n as usize).min(cap),
                Err(_) => return Err(invalid("maxItems", raw, "Member must be a number")),
            },
        };
        let from = match query.get("Marker") {
            None => None,
            Some(marker) => Some(
                URL_SAFE_NO_PAD
                    .decode(marker)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(bad_marker)?,
            ),
        };
        Ok(Page { from, len })
    }

    /// The page of `items` (each with its key), and the marker of the next page if any.
    fn cut<T>(&self, items: Vec<(String, T)>) -> Result<(Vec<T>, Option<String>), ApiError> {
        let start = match &self.from {
            None => 0,
            Some(key) => items.iter().position(|(k, _)| k == key).ok_or_else(bad_marker)?,
        };
        let mut rest = items.into_iter().skip(start);
        let page: Vec<T> = rest.by_ref().take(self.len).map(|(_, item)| item).collect();
        let next = rest.next().map(|(key, _)| URL_SAFE_NO_PAD.encode(key));
        Ok((page, next))
    }
}

/// A marker this endpoint did not write, or whose item is gone (wording not documented).
fn bad_marker() -> ApiError {
    ApiError::new(
        "InvalidParameterValueException",
        "The marker is not valid: pass the NextMarker of a previous answer.",
    )
}

/// `{"<member>": [...], "NextMarker": "..."}` (no `NextMarker` on the last page).
fn page_body(member: &str, items: Vec<serde_json::Value>, next: Option<String>) -> serde_json::Value {
    let mut body = serde_json::json!({ member: items });
    if let Some(next) = next {
        body["NextMarker"] = next.into();
    }
    body
}

/// ListFunctions (`GET /2015-03-31/functions`): the caller's account's functions by name,
/// `$LATEST` only or, with `FunctionVersion=ALL`, each followed by its published versions.
/// `MasterRegion` (Lambda@Edge) is ignored: no function here is replicated.
pub(super) fn list_functions(
    world: &World,
    caller: &Caller,
    query: &HashMap<String, String>,
    rid: &str,
) -> Result<Response, ApiError> {
    const ACTION: &str = "lambda:ListFunctions";
    let q = Query {
        requester: Requester::Role(caller),
        action: ACTION,
        resource: "*",
        external_id: None,
    };
    let denied = |d: iam::Denial| ApiError::new("AccessDeniedException", d.message(caller, ACTION, "*"));
    match iam::evaluate(world.identity_policy(caller), &q, false) {
        Verdict::Allow => {}
        Verdict::ExplicitDeny => return Err(denied(iam::Denial::IdentityDeny)),
        Verdict::ImplicitDeny => return Err(denied(iam::Denial::NoIdentityAllow)),
    }
    let all = match query.get("FunctionVersion").map(String::as_str) {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(invalid(
                "functionVersion",
                other,
                "Member must satisfy enum value set: [ALL]",
            ))
        }
    };
    let page = Page::of(query, MAX_FUNCTIONS, MAX_FUNCTIONS)?;
    let mut functions: Vec<&FunctionRuntime> = world
        .functions
        .values()
        .filter(|f| f.account == caller.account)
        .map(|f| f.as_ref())
        .collect();
    functions.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    let mut entries: Vec<(String, (&FunctionRuntime, Option<&str>))> = Vec::new();
    // With FunctionVersion=ALL, `$LATEST` is listed with its qualified ARN (the recorded
    // test_list_functions: "FunctionArn": "...:function:NAME:$LATEST").
    let latest = all.then_some("$LATEST");
    for f in functions {
        entries.push((f.def.name.clone(), (f, latest)));
        if all {
            for v in &f.def.versions {
                entries.push((format!("{}:{v}", f.def.name), (f, Some(v.as_str()))));
            }
        }
    }
    let (entries, next) = page.cut(entries)?;
    let listed = entries
        .into_iter()
        .filter_map(|(f, version)| {
            let fref = FunctionRef {
                account: f.account.clone(),
                name: f.def.name.clone(),
                qualifier: version.map(str::to_string),
            };
            let resolved = f.resolve(version)?;
            let mut conf = configuration(world, f, &fref, resolved);
            if let Some(fields) = conf.as_object_mut() {
                for key in NOT_LISTED {
                    fields.remove(key);
                }
            }
            Some(conf)
        })
        .collect();
    Ok(json_response(&page_body("Functions", listed, next), rid))
}

/// An AliasConfiguration, as GetAlias and ListAliases answer it.
pub(super) fn alias_json(f: &FunctionRuntime, a: &AliasRuntime) -> serde_json::Value {
    serde_json::json!({
        "AliasArn": format!("{}:{}", f.arn, a.name),
        "Name": a.name,
        "FunctionVersion": a.version(),
        "Description": "",
        "RevisionId": f.revisions.of(Resolved::Alias(a)),
    })
}

/// ListAliases's `FunctionVersion`, checked against the model's `VersionWithLatestPublished`
/// into `v`.
pub(super) fn alias_version_filter(query: &HashMap<String, String>, v: &mut Violations) -> Option<String> {
    let version = query.get("FunctionVersion")?;
    if version.len() > 1024 {
        v.too_long("functionVersion", version, 1024);
    } else {
        v.pattern("functionVersion", version, &validate::VERSION_WITH_LATEST_PUBLISHED);
    }
    Some(version.clone())
}

/// ListAliases (`GET /2015-03-31/functions/{FunctionName}/aliases`): the function's aliases by
/// name, only those pointing to `FunctionVersion` when it is given.
pub(super) fn list_aliases(
    world: &World,
    caller: &Caller,
    fref: FunctionRef,
    version: Option<String>,
    query: &HashMap<String, String>,
    rid: &str,
) -> Result<Response, ApiError> {
    if fref.qualifier.is_some() {
        // The operation names a function, not a version or alias (wording not documented).
        return Err(ApiError::new(
            "InvalidParameterValueException",
            "ListAliases takes an unqualified function name or ARN: remove the qualifier.",
        ));
    }
    let version = version.as_deref();
    let page = Page::of(query, DEFAULT_ALIASES, MAX_LIST_ITEMS)?;
    let (f, _) = authorize(world, caller, &fref, "lambda:ListAliases")?;
    let mut aliases: Vec<&AliasRuntime> = f
        .live_aliases()
        .filter(|a| version.is_none_or(|v| a.version() == v))
        .collect();
    aliases.sort_by(|a, b| a.name.cmp(&b.name));
    let keyed = aliases.into_iter().map(|a| (a.name.clone(), a)).collect();
    let (aliases, next) = page.cut(keyed)?;
    let listed = aliases.into_iter().map(|a| alias_json(f, a)).collect();
    Ok(json_response(&page_body("Aliases", listed, next), rid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pages_follow_their_markers_to_the_end() {
        let items: Vec<(String, u32)> = (0..7).map(|i| (format!("f{i}"), i)).collect();
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut q = query(&[("MaxItems", "3")]);
            if let Some(m) = &marker {
                q.insert("Marker".into(), m.clone());
            }
            let (page, next) = Page::of(&q, 50, 50).unwrap().cut(items.clone()).unwrap();
            assert!(page.len() <= 3);
            seen.extend(page);
            match next {
                Some(n) => marker = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn max_items_is_checked_and_capped() {
        assert_eq!(Page::of(&query(&[]), 50, 50).unwrap().len, 50);
        assert_eq!(Page::of(&query(&[("MaxItems", "10000")]), 50, 50).unwrap().len, 50);
        assert_eq!(Page::of(&query(&[("MaxItems", "7")]), 50, 50).unwrap().len, 7);
        for bad in ["0", "-1", "10001", "x"] {
            let e = Page::of(&query(&[("MaxItems", bad)]), 50, 50).unwrap_err();
            assert_eq!(e.name(), "ValidationException", "{bad}");
        }
    }

    #[test]
    fn markers_not_written_here_are_refused() {
        let items = vec![("a".to_string(), 1)];
        for marker in ["%%%", "Zm9yZWlnbg"] {
            let result = Page::of(&query(&[("Marker", marker)]), 50, 50).and_then(|p| p.cut(items.clone()));
            assert_eq!(result.unwrap_err().name(), "InvalidParameterValueException", "{marker}");
        }
    }
}
