//! AddPermission and RemovePermission: statements in the resource policy of a function, an
//! alias or a version, as Lambda writes them.

use crate::local::errors::ApiError;
use crate::local::function::{FunctionRuntime, Resolved};
use crate::local::iam;

/// The body of AddPermission (botocore's `AddPermissionRequest`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionRequest {
    statement_id: String,
    action: String,
    principal: String,
    #[serde(default)]
    source_arn: Option<String>,
    #[serde(default)]
    source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID", default)]
    principal_org_id: Option<String>,
}

/// AddPermission: one statement in the policy of the calls `resolved` names (the function,
/// an alias or a version), as Lambda writes it; its JSON text.
pub(super) fn add_permission(
    f: &FunctionRuntime,
    resolved: Resolved<'_>,
    arn: &str,
    body: &[u8],
) -> Result<String, ApiError> {
    let invalid = |m: String| ApiError::new("InvalidParameterValueException", m);
    let req: AddPermissionRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        )
    })?;
    if matches!(resolved, Resolved::Latest) && arn.ends_with(":$LATEST") {
        return Err(invalid(
            "We currently do not support adding policies for $LATEST.".into(),
        ));
    }
    if req.statement_id.is_empty()
        || !req
            .statement_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
            req.statement_id
        )));
    }
    let principal = if req.principal == "*" {
        serde_json::json!("*")
    } else if req.principal.len() == 12 && req.principal.bytes().all(|b| b.is_ascii_digit()) {
        serde_json::json!({ "AWS": format!("arn:aws:iam::{}:root", req.principal) })
    } else if req.principal.starts_with("arn:") {
        serde_json::json!({ "AWS": req.principal })
    } else {
        serde_json::json!({ "Service": req.principal })
    };
    let mut statement = serde_json::json!({
        "Sid": req.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": req.action,
        "Resource": arn,
    });
    let mut condition = serde_json::Map::new();
    if let Some(org) = req.principal_org_id {
        condition.insert("StringEquals".into(), serde_json::json!({ "aws:PrincipalOrgID": org }));
    }
    if let Some(account) = req.source_account {
        condition
            .entry("StringEquals")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .map(|m| m.insert("AWS:SourceAccount".into(), account.into()));
    }
    if let Some(source) = req.source_arn {
        condition.insert("ArnLike".into(), serde_json::json!({ "AWS:SourceArn": source }));
    }
    if !condition.is_empty() {
        statement["Condition"] = condition.into();
    }
    let parsed: iam::Statement = serde_json::from_value(statement.clone())
        .map_err(|e| invalid(format!("The statement is not a valid policy statement: {e}")))?;
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    policies.edit(resolved, |doc| {
        let doc = doc.get_or_insert_with(|| iam::PolicyDocument {
            version: "2012-10-17".into(),
            statement: iam::OneOrMany::Many(Vec::new()),
        });
        let mut statements = doc.statement.as_slice().to_vec();
        if statements.iter().any(|s| s.sid.as_deref() == Some(req.statement_id.as_str())) {
            return Err(ApiError::new(
                "ResourceConflictException",
                format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    req.statement_id
                ),
            ));
        }
        statements.push(parsed);
        doc.statement = iam::OneOrMany::Many(statements);
        Ok(statement.to_string())
    })
}

/// RemovePermission: the statement `sid` leaves the policy of the calls `resolved` names.
pub(super) fn remove_permission(f: &FunctionRuntime, resolved: Resolved<'_>, sid: &str) -> Result<(), ApiError> {
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    policies.edit(resolved, |doc| {
        let Some(d) = doc else {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                "No policy is associated with the given resource.",
            ));
        };
        let mut statements = d.statement.as_slice().to_vec();
        let before = statements.len();
        statements.retain(|s| s.sid.as_deref() != Some(sid));
        if statements.len() == before {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                format!("Statement {sid} is not found in resource policy."),
            ));
        }
        if statements.is_empty() {
            *doc = None;
        } else {
            d.statement = iam::OneOrMany::Many(statements);
        }
        Ok(())
    })
}
