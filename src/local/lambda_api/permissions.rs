//! AddPermission and RemovePermission: statements in the resource policy of a function, an
//! alias or a version, as Lambda writes them.

use crate::local::errors::ApiError;
use crate::local::function::{FunctionRuntime, Resolved, RevisionOf};
use crate::local::iam;
use crate::local::lambda_api::validate::{self, Violations};

/// The body of AddPermission (botocore's `AddPermissionRequest`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AddPermissionRequest {
    statement_id: String,
    action: String,
    principal: String,
    #[serde(default)]
    source_arn: Option<String>,
    #[serde(default)]
    source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID", default)]
    principal_org_id: Option<String>,
    #[serde(default)]
    event_source_token: Option<String>,
    #[serde(default)]
    function_url_auth_type: Option<String>,
    #[serde(default)]
    invoked_via_function_url: Option<bool>,
    #[serde(default)]
    revision_id: Option<String>,
}

impl AddPermissionRequest {
    /// The body, its model constraints checked into `v` (before the function is looked up).
    pub(super) fn checked(body: &[u8], v: &mut Violations) -> Result<AddPermissionRequest, ApiError> {
        let req: AddPermissionRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            )
        })?;
        v.pattern("statementId", &req.statement_id, &validate::STATEMENT_ID);
        v.one_of(
            "functionUrlAuthType",
            req.function_url_auth_type.as_deref(),
            &["NONE", "AWS_IAM"],
        );
        Ok(req)
    }
}

/// Whether Lambda takes `principal`: `*`, an account id, an ARN, or a service principal (an
/// AWS service's `*.amazonaws.com`, Alexa's `*.amazon.com`); "invalid.nonaws.com" is refused
/// (LocalStack's recorded test_permission_exceptions).
fn valid_principal(principal: &str) -> bool {
    principal == "*"
        || (principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()))
        || principal.starts_with("arn:")
        || principal.ends_with(".amazonaws.com")
        || principal.ends_with(".amazon.com")
}

/// A resource policy as GetPolicy's `Policy` text: AWS writes `"Id": "default"` after the
/// version (LocalStack's recorded test_add_lambda_permission_aws).
pub(super) fn policy_text(policy: &iam::PolicyDocument) -> String {
    let statements = serde_json::to_string(&policy.statement).unwrap_or_else(|_| "[]".into());
    let statements = if statements.starts_with('[') {
        statements
    } else {
        format!("[{statements}]")
    };
    format!(
        "{{\"Version\":{},\"Id\":\"default\",\"Statement\":{statements}}}",
        serde_json::to_string(&policy.version).unwrap_or_else(|_| "\"2012-10-17\"".into())
    )
}

/// AddPermission: one statement in the policy of the calls `resolved` names (the function,
/// an alias or a version), as Lambda writes it, every condition it was given kept; its JSON
/// text. A RevisionId that is not the current one's is refused; the change gives a new one.
pub(super) fn add_permission(
    f: &FunctionRuntime,
    resolved: Resolved<'_>,
    arn: &str,
    req: AddPermissionRequest,
) -> Result<String, ApiError> {
    let invalid = |m: String| ApiError::new("InvalidParameterValueException", m);
    if matches!(resolved, Resolved::Latest) && arn.ends_with(":$LATEST") {
        return Err(invalid(
            "We currently do not support adding policies for $LATEST.".into(),
        ));
    }
    if !valid_principal(&req.principal) {
        return Err(invalid(
            "The provided principal was invalid. Please check the principal and try again.".into(),
        ));
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
    // The conditions AWS writes for each optional member (the Lambda API reference and the
    // recorded test_add_lambda_permission_fields).
    let mut string_equals = serde_json::Map::new();
    let mut condition = serde_json::Map::new();
    for (key, value) in [
        ("AWS:SourceAccount", req.source_account),
        ("lambda:FunctionUrlAuthType", req.function_url_auth_type),
        ("aws:PrincipalOrgID", req.principal_org_id),
        ("lambda:EventSourceToken", req.event_source_token),
    ] {
        if let Some(v) = value {
            string_equals.insert(key.into(), v.into());
        }
    }
    if !string_equals.is_empty() {
        condition.insert("StringEquals".into(), string_equals.into());
    }
    if let Some(source) = req.source_arn {
        condition.insert("ArnLike".into(), serde_json::json!({ "AWS:SourceArn": source }));
    }
    if let Some(via_url) = req.invoked_via_function_url {
        condition.insert(
            "Bool".into(),
            serde_json::json!({ "lambda:InvokedViaFunctionUrl": via_url.to_string() }),
        );
    }
    if !condition.is_empty() {
        statement["Condition"] = condition.into();
    }
    let parsed: iam::Statement = serde_json::from_value(statement.clone())
        .map_err(|e| invalid(format!("The statement is not a valid policy statement: {e}")))?;
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    f.revisions
        .check(resolved, req.revision_id.as_deref(), RevisionOf::Policy)?;
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
        Ok(())
    })?;
    f.revisions.bump(resolved);
    Ok(statement.to_string())
}

/// RemovePermission: the statement `sid` leaves the policy of the calls `resolved` names.
/// A RevisionId that is not the current one's is refused; the change gives a new one.
pub(super) fn remove_permission(
    f: &FunctionRuntime,
    resolved: Resolved<'_>,
    sid: &str,
    revision_id: Option<&str>,
) -> Result<(), ApiError> {
    let mut policies = f.policies.write().unwrap_or_else(|p| p.into_inner());
    f.revisions.check(resolved, revision_id, RevisionOf::Policy)?;
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
    })?;
    f.revisions.bump(resolved);
    Ok(())
}
