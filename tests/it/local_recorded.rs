//! The local endpoint against what AWS answered when someone recorded it: LocalStack's
//! snapshot files, each answer recorded against AWS and re-validated on the date its
//! `.validation.json` gives (`tests/aws/services/lambda_/test_lambda_api.snapshot.json`,
//! `test_lambda.snapshot.json`, `tests/aws/services/sts/test_sts.snapshot.json`; the request
//! each answers is in the `.py` beside it). Every case names its snapshot key; the request is
//! the recorded one on this endpoint's names (LocalStack's placeholders `<partition>`,
//! `<region>`, `<function-name>` and `<a:len(N)>` filled in). docs/local.md lists which
//! recorded answers are reproduced here and which are outside the endpoint's surface.

use crate::common::*;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionVersion;
use serde_json::{json, Value};
use std::path::Path;
use xinvoke::local::{LocalServer, Scenario};

/// LocalStack's test account and region, so recorded ARNs read the same here.
const ACCOUNT: &str = "111111111111";
const KEY: &str = "AKIARECORDEDCALLER01";
const SECRET: &str = "recorded-secret";
/// An existing function with version 1 and alias `live`, no resource policy.
const FN: &str = "fn-recorded";
/// A function with reserved concurrency 0 (test_lambda_concurrency_block's `put_function_concurrency(0)`).
const BLOCKED: &str = "fn-blocked";

/// AWS's function-name pattern, as its messages write it.
const NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";
const QUALIFIER_PATTERN: &str = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+";

fn scenario() -> Scenario {
    let text = format!(
        r#"
region = "us-east-1"
[[accounts]]
id = "{ACCOUNT}"
[[accounts.users]]
name = "recorder"
credentials = {{ access_key_id = "{KEY}", secret_access_key = "{SECRET}" }}
policy = {{ Statement = [{{ Effect = "Allow", Action = "lambda:*", Resource = "*" }}] }}
[[accounts.functions]]
name = "{FN}"
versions = ["1"]
update_ms = 50
aliases = [{{ name = "live", version = "1" }}]
[[accounts.functions]]
name = "{BLOCKED}"
reserved_concurrency = 0
"#
    );
    Scenario::from_toml_str(&text, Path::new("recorded.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// An error answer as the snapshot files keep it: status, `Error.Code`, `Error.Message`.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    code: String,
    message: String,
}

fn answer<E: ProvideErrorMetadata>(e: SdkError<E, aws_sdk_lambda::config::http::HttpResponse>) -> Answer {
    Answer {
        status: e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
        code: e.code().unwrap_or_default().to_string(),
        message: e.message().unwrap_or_default().to_string(),
    }
}

fn recorded(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        code: code.into(),
        message: message.into(),
    }
}

/// A recorded ValidationException: its errors, in any order (LocalStack sorts them).
fn validation(errors: &[String]) -> Answer {
    let n = errors.len();
    let mut sorted = errors.to_vec();
    sorted.sort();
    let count = if n == 1 {
        "1 validation error detected".to_string()
    } else {
        format!("{n} validation errors detected")
    };
    recorded(400, "ValidationException", &format!("{count}: {}", sorted.join("; ")))
}

/// Sort the errors of a ValidationException's message, as the recorded side is sorted.
fn normalized(mut a: Answer) -> Answer {
    if a.code == "ValidationException" {
        if let Some((head, rest)) = a.message.split_once(": ") {
            let mut errors: Vec<&str> = rest.split("; ").collect();
            errors.sort();
            a.message = format!("{head}: {}", errors.join("; "));
        }
    }
    a
}

fn name_error(value: &str) -> String {
    format!("Value '{value}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}")
}

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

async fn start_recorded() -> (LocalServer, aws_sdk_lambda::Client) {
    let server = start_with(scenario()).await;
    let client = lambda(&server, KEY, SECRET);
    (server, client)
}

fn check(key: &str, got: Answer, want: Answer, failures: &mut Vec<String>) {
    let got = normalized(got);
    if got != want {
        failures.push(format!("{key}\n  recorded: {want:?}\n  answered: {got:?}"));
    }
}

/// test_lambda_api.snapshot.json, TestLambdaFunction::test_function_name_and_qualifier_validation
/// [*-invoke] (recorded 25-11-2025), and test_lambda.snapshot.json's invoke lookups.
#[tokio::test]
async fn invoke_names_and_qualifiers_answer_as_recorded() {
    let (server, client) = start_recorded().await;
    let a = |n: usize| "a".repeat(n);
    let long_name = format!(
        "{}:function:my-function{}",
        "arn:aws:lambda:invalid-region:111111111111",
        a(170)
    );
    let long_name2 = format!(
        "{}:function:my-function-{}",
        "arn:aws:lambda:invalid-region:111111111111",
        a(170)
    );
    let cases: Vec<(&str, String, Option<String>, Answer)> = vec![
        ("invalid_characters_in_function_name-invoke", "my-function!".into(), None, validation(&[name_error("my-function!")])),
        ("function_name_is_single_invalid-invoke", "*".into(), None, validation(&[name_error("*")])),
        (
            "invalid_characters_in_qualifier-invoke",
            "my-function".into(),
            Some("invalid!".into()),
            validation(&[format!("Value 'invalid!' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}")]),
        ),
        (
            "qualifier_too_long-invoke",
            "my-function".into(),
            Some(a(129)),
            validation(&[format!("Value '{}' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128", a(129))]),
        ),
        (
            "invalid_account_id_in_partial_arn-invoke",
            "invalid-account:function:my-function".into(),
            None,
            validation(&[name_error("invalid-account:function:my-function")]),
        ),
        (
            "invalid_region_in_arn-invoke",
            "arn:aws:lambda:invalid-region:111111111111:function:my-function".into(),
            None,
            validation(&[name_error("arn:aws:lambda:invalid-region:111111111111:function:my-function")]),
        ),
        (
            "non_lambda_arn-invoke",
            "arn:aws:ec2:us-east-1:111111111111:instance:i-1234567890abcdef0".into(),
            None,
            validation(&[name_error("arn:aws:ec2:us-east-1:111111111111:instance:i-1234567890abcdef0")]),
        ),
        (
            "function_name_too_long-invoke",
            a(65),
            None,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:$LATEST", arn(&a(65)))),
        ),
        ("function_name_too_long_and_invalid_region-invoke", long_name.clone(), None, validation(&[name_error(&long_name)])),
        (
            "full_arn_and_qualifier_too_long_and_invalid_region-invoke",
            long_name2.clone(),
            Some(a(129)),
            validation(&[
                format!("Value '{}' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128", a(129)),
                name_error(&long_name2),
            ]),
        ),
        (
            "full_arn_with_multiple_qualifiers-invoke",
            arn("my-function:1:2"),
            None,
            validation(&[name_error(&arn("my-function:1:2"))]),
        ),
        (
            "incomplete_arn-invoke",
            format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function"),
            None,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:$LATEST", arn("function"))),
        ),
        (
            "partial_arn_with_extra_qualifier-invoke",
            "function:my-function:$LATEST:extra".into(),
            None,
            validation(&[name_error("function:my-function:$LATEST:extra")]),
        ),
        (
            "latest_version_with_additional_qualifier-invoke",
            arn("my-function:$LATEST"),
            Some("1".into()),
            recorded(400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."),
        ),
        (
            "lowercase_latest_qualifier-invoke",
            arn("my-function"),
            Some("$latest".into()),
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:$latest", arn("my-function"))),
        ),
        (
            "missing_region_in_arn-invoke",
            format!("arn:aws:lambda::{ACCOUNT}:function:my-function"),
            None,
            validation(&[name_error(&format!("arn:aws:lambda::{ACCOUNT}:function:my-function"))]),
        ),
        (
            "missing_account_id_in_arn-invoke",
            "arn:aws:lambda:us-east-1::function:my-function".into(),
            None,
            validation(&[name_error("arn:aws:lambda:us-east-1::function:my-function")]),
        ),
        (
            "misspelled_latest_in_arn-invoke",
            arn("my-function:$LATES"),
            None,
            validation(&[name_error(&arn("my-function:$LATES"))]),
        ),
        // TestLambdaFunction::test_get_function_wrong_region[invoke]
        (
            "test_get_function_wrong_region[invoke]",
            format!("arn:aws:lambda:eu-central-1:{ACCOUNT}:function:{FN}"),
            None,
            recorded(404, "ResourceNotFoundException", "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"),
        ),
        // test_lambda.snapshot.json, TestLambdaFeatures::test_invoke_exceptions (24-11-2025)
        (
            "test_invoke_exceptions invoke_function_doesnotexist",
            "doesnotexist".into(),
            None,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:$LATEST", arn("doesnotexist"))),
        ),
        // test_lambda.snapshot.json, TestLambdaAliases::test_lambda_alias_moving (25-11-2025)
        (
            "test_lambda_alias_moving invocation_exc_not_existent",
            FN.into(),
            Some("non-existent-alias".into()),
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:non-existent-alias", arn(FN))),
        ),
    ];
    let mut failures = Vec::new();
    for (key, name, qualifier, want) in cases {
        let got = client
            .invoke()
            .function_name(&name)
            .set_qualifier(qualifier)
            .payload(Blob::new("{}"))
            .send()
            .await
            .map(|o| o.status_code())
            .map_err(answer);
        match got {
            Err(got) => check(key, got, want, &mut failures),
            Ok(status) => failures.push(format!("{key}: answered {status}, recorded {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        server.stats().invokes_by_function.get(FN),
        None,
        "nothing was looked up, let alone run"
    );
}

/// test_lambda_api.snapshot.json: TestLambdaFunction::test_ops_with_arn_qualifier_mismatch,
/// test_ops_on_nonexisting_version, test_ops_on_nonexisting_fn and
/// test_get_function_wrong_region, each [get_function_configuration] (25-11-2025).
#[tokio::test]
async fn configuration_lookups_answer_as_recorded() {
    let (_server, client) = start_recorded().await;
    let cases: Vec<(&str, String, Option<&str>, Answer)> = vec![
        (
            "test_ops_with_arn_qualifier_mismatch not_match_exception",
            arn("some-function:1"),
            Some("$LATEST"),
            recorded(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            ),
        ),
        (
            "test_ops_with_arn_qualifier_mismatch match_exception",
            arn("some-function:$LATEST"),
            Some("$LATEST"),
            recorded(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: {}", arn("some-function:$LATEST")),
            ),
        ),
        (
            "test_ops_on_nonexisting_version version_not_found_exception",
            FN.into(),
            Some("1221"),
            recorded(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: {}:1221", arn(FN)),
            ),
        ),
        (
            "test_ops_on_nonexisting_fn not_found_exception",
            "nonexisting-fn-name".into(),
            None,
            recorded(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: {}", arn("nonexisting-fn-name")),
            ),
        ),
        (
            "test_get_function_wrong_region wrong_region_exception",
            format!("arn:aws:lambda:eu-central-1:{ACCOUNT}:function:{FN}"),
            None,
            recorded(
                404,
                "ResourceNotFoundException",
                "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')",
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (key, name, qualifier, want) in cases {
        match client
            .get_function_configuration()
            .function_name(&name)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
        {
            Err(e) => check(key, answer(e), want, &mut failures),
            Ok(_) => failures.push(format!("{key}: answered 200")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// test_lambda_api.snapshot.json, TestLambdaPermissions::test_permission_exceptions
/// (25-11-2025): validation first, then the lookups as AddPermission, GetPolicy and
/// RemovePermission word them.
#[tokio::test]
async fn permission_errors_answer_as_recorded() {
    let (_server, client) = start_recorded().await;
    let add = |name: &str, qualifier: Option<&str>, sid: &str, principal: &str| {
        client
            .add_permission()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_string))
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
            .send()
    };
    let mut failures = Vec::new();
    let s3 = "s3.amazonaws.com";
    /// (snapshot key, FunctionName, Qualifier, StatementId, Principal, recorded answer)
    type Add<'a> = (&'a str, String, Option<&'a str>, &'a str, &'a str, Answer);
    let adds: Vec<Add> = vec![
        (
            "add_permission_invalid_statement_id",
            FN.into(),
            None,
            "example.com",
            s3,
            validation(&["Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)".into()]),
        ),
        (
            "add_permission_fn_qualifier_mismatch",
            format!("{FN}:alias-not-42"),
            Some("42"),
            "s3",
            s3,
            recorded(400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."),
        ),
        (
            "add_permission_fn_qualifier_latest",
            format!("{FN}:$LATEST"),
            Some("$LATEST"),
            "s3",
            s3,
            recorded(400, "InvalidParameterValueException", "We currently do not support adding policies for $LATEST."),
        ),
        (
            "add_permission_principal_invalid",
            FN.into(),
            None,
            "lambda",
            "invalid.nonaws.com",
            recorded(400, "InvalidParameterValueException", "The provided principal was invalid. Please check the principal and try again."),
        ),
        (
            "add_permission_fn_doesnotexist",
            "doesnotexist".into(),
            None,
            "s3",
            s3,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}", arn("doesnotexist"))),
        ),
        (
            "add_permission_fn_alias_doesnotexist",
            format!("{FN}:alias-doesnotexist"),
            None,
            "s3",
            s3,
            recorded(404, "ResourceNotFoundException", &format!("Cannot find alias arn: {}:alias-doesnotexist", arn(FN))),
        ),
        (
            "add_permission_fn_version_doesnotexist",
            FN.into(),
            Some("42"),
            "s3",
            s3,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:42", arn(FN))),
        ),
        (
            "add_permission_fn_qualifier_invalid",
            FN.into(),
            Some("invalid-qualifier-with-?-char"),
            "s3",
            s3,
            validation(&[format!("Value 'invalid-qualifier-with-?-char' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}")]),
        ),
        (
            "add_permission_fn_qualifier_valid_doesnotexist",
            FN.into(),
            Some("valid-with-$-but-doesnotexist"),
            "s3",
            s3,
            recorded(404, "ResourceNotFoundException", &format!("Function not found: {}:valid-with-$-but-doesnotexist", arn(FN))),
        ),
    ];
    for (key, name, qualifier, sid, principal, want) in adds {
        match add(&name, qualifier, sid, principal).await {
            Err(e) => check(key, answer(e), want, &mut failures),
            Ok(_) => failures.push(format!("{key}: answered 201")),
        }
    }
    let policy = |name: &str, qualifier: Option<&str>| {
        client
            .get_policy()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
    };
    let gone = recorded(
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
    for (key, name, qualifier) in [
        ("get_policy_fn_doesnotexist", "doesnotexist", None),
        ("get_policy_fn_version_doesnotexist", FN, Some("1221")),
    ] {
        match policy(name, qualifier).await {
            Err(e) => check(key, answer(e), gone.clone(), &mut failures),
            Ok(_) => failures.push(format!("{key}: answered 200")),
        }
    }
    let remove = |name: &str| client.remove_permission().function_name(name).statement_id("s3").send();
    for (key, name, want) in [
        (
            "remove_permission_policy_doesnotexist",
            FN.to_string(),
            recorded(
                404,
                "ResourceNotFoundException",
                "No policy is associated with the given resource.",
            ),
        ),
        (
            "remove_permission_fn_doesnotexist",
            "doesnotexist".to_string(),
            recorded(
                404,
                "ResourceNotFoundException",
                &format!("No policy found for: {}", arn("doesnotexist")),
            ),
        ),
        (
            "remove_permission_fn_alias_doesnotexist",
            format!("{FN}:alias-doesnotexist"),
            recorded(
                404,
                "ResourceNotFoundException",
                &format!("Cannot find alias arn: {}:alias-doesnotexist", arn(FN)),
            ),
        ),
    ] {
        match remove(&name).await {
            Err(e) => check(key, answer(e), want, &mut failures),
            Ok(_) => failures.push(format!("{key}: answered 204")),
        }
    }
    add(FN, Some("1"), "s3", s3)
        .await
        .expect("a first s3 statement on version 1");
    match add(FN, Some("1"), "s3", s3).await {
        Err(e) => check(
            "add_permission_conflicting_statement_id",
            answer(e),
            recorded(409, "ResourceConflictException", "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement."),
            &mut failures,
        ),
        Ok(_) => failures.push("add_permission_conflicting_statement_id: answered 201".into()),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// test_lambda_api.snapshot.json, TestLambdaPermissions::test_add_lambda_permission_fields,
/// test_add_lambda_permission_aws, test_remove_multi_permissions (25-11-2025): the statements
/// AddPermission answers, every condition kept, and GetPolicy's document with `"Id":
/// "default"`.
#[tokio::test]
async fn permissions_and_policies_answer_as_recorded() {
    let (_server, client) = start_recorded().await;
    let resource = arn(FN);
    let statement = |out: aws_sdk_lambda::operation::add_permission::AddPermissionOutput| -> Value {
        serde_json::from_str(out.statement().unwrap()).unwrap()
    };
    // add_permission_principal_wildcard
    let out = client
        .add_permission()
        .function_name(FN)
        .qualifier("live")
        .statement_id("wilcard")
        .action("lambda:InvokeFunction")
        .principal("*")
        .source_account(ACCOUNT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        statement(out),
        json!({"Sid": "wilcard", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
               "Resource": format!("{resource}:live"), "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}})
    );
    // add_permission_principal_account: an account id becomes its root ARN
    let out = client
        .add_permission()
        .function_name(FN)
        .qualifier("live")
        .statement_id("account-id")
        .action("lambda:InvokeFunction")
        .principal(ACCOUNT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        statement(out)["Principal"],
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})
    );
    // add_permission_optional_fields
    let out = client
        .add_permission()
        .function_name(FN)
        .qualifier("live")
        .statement_id("urlPermission")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .source_arn("arn:aws:s3:::test-bucket")
        .source_account(ACCOUNT)
        .principal_org_id("o-1234567890")
        .function_url_auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        statement(out)["Condition"],
        json!({"StringEquals": {"AWS:SourceAccount": ACCOUNT, "lambda:FunctionUrlAuthType": "NONE", "aws:PrincipalOrgID": "o-1234567890"},
               "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::test-bucket"}})
    );
    // add_permission_alexa_skill
    let out = client
        .add_permission()
        .function_name(FN)
        .qualifier("live")
        .statement_id("alexaSkill")
        .action("lambda:InvokeFunction")
        .principal("*")
        .event_source_token("amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(
        statement(out)["Condition"],
        json!({"StringEquals": {"lambda:EventSourceToken": "amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}})
    );

    // test_remove_multi_permissions on version 1: two statements, one removed, a missing one
    // refused, the policy gone with the last.
    // test_create_multiple_lambda_permissions: two service principals, both kept in order.
    for (sid, principal) in [("logs", "logs.amazonaws.com"), ("kinesis", "kinesis.amazonaws.com")] {
        client
            .add_permission()
            .function_name(FN)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
            .send()
            .await
            .unwrap();
    }
    let policy = client.get_policy().function_name(FN).send().await.unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(
        doc["Statement"],
        json!([
            {"Sid": "logs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": resource},
            {"Sid": "kinesis", "Effect": "Allow", "Principal": {"Service": "kinesis.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": resource},
        ]),
        "policy_after_2_add"
    );
    // test_function_revisions_permissions: a stale RevisionId on the function's policy.
    let err = client
        .add_permission()
        .function_name(FN)
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .revision_id("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        answer(err),
        recorded(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id"),
        "add_permission_revision_exception"
    );
    for (sid, principal, source) in [
        ("s3", "s3.amazonaws.com", None),
        ("sqs", "sqs.amazonaws.com", Some("arn:aws:s3:::bucket")),
    ] {
        client
            .add_permission()
            .function_name(FN)
            .qualifier("1")
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
            .set_source_arn(source.map(str::to_string))
            .send()
            .await
            .unwrap();
    }
    let policy = client
        .get_policy()
        .function_name(FN)
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(doc["Version"], "2012-10-17");
    assert_eq!(doc["Id"], "default", "policy_after_2_add carries Id: default");
    assert_eq!(
        doc["Statement"],
        json!([
            {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": format!("{resource}:1")},
            {"Sid": "sqs", "Effect": "Allow", "Principal": {"Service": "sqs.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": format!("{resource}:1"),
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}},
        ])
    );
    let err = client
        .remove_permission()
        .function_name(FN)
        .qualifier("1")
        .statement_id("non-existent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        answer(err),
        recorded(
            404,
            "ResourceNotFoundException",
            "Statement non-existent is not found in resource policy."
        )
    );
    for sid in ["sqs", "s3"] {
        client
            .remove_permission()
            .function_name(FN)
            .qualifier("1")
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }
    let err = client
        .get_policy()
        .function_name(FN)
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        answer(err),
        recorded(
            404,
            "ResourceNotFoundException",
            "The resource you requested does not exist."
        ),
        "get_policy_exception_removed_all"
    );
}

/// test_lambda_api.snapshot.json: TestLambdaFunction::test_update_lambda_exceptions
/// (12-01-2026), test_function_lifecycle (25-11-2025), test_list_functions (25-11-2025),
/// TestLambdaRevisions::test_function_revisions_basic (25-11-2025).
#[tokio::test]
async fn configurations_and_updates_answer_as_recorded() {
    let (_server, client) = start_recorded().await;
    let runtimes = "nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2";
    let update = || client.update_function_configuration().function_name(FN);
    let err = update().role("r1").send().await.unwrap_err();
    assert_eq!(
        answer(err),
        validation(&[r"Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+".into()]),
        "invalid_role_arn_exc"
    );
    for (key, runtime) in [
        ("invalid_runtime_exc", "non-existent-runtime"),
        ("uppercase_runtime_exc", "PYTHON3.9"),
    ] {
        let err = update()
            .runtime(aws_sdk_lambda::types::Runtime::from(runtime))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            answer(err),
            recorded(400, "InvalidParameterValueException", &format!("Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{runtimes}] or be a valid ARN")),
            "{key}"
        );
    }
    let err = update().timeout(10).revision_id("wrong").send().await.unwrap_err();
    assert_eq!(
        answer(err),
        recorded(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"),
        "update_function_configuration_revision_exception"
    );

    // get_function_response: the configuration blocks AWS returns for a function that set none.
    let c = client
        .get_function_configuration()
        .function_name(FN)
        .send()
        .await
        .unwrap();
    let logging = c.logging_config().unwrap();
    assert_eq!(logging.log_format().map(|f| f.as_str()), Some("Text"));
    assert_eq!(logging.log_group(), Some(format!("/aws/lambda/{FN}").as_str()));
    let snap = c.snap_start().unwrap();
    assert_eq!(
        (
            snap.apply_on().map(|a| a.as_str()),
            snap.optimization_status().map(|o| o.as_str())
        ),
        (Some("None"), Some("Off"))
    );
    let runtime_arn = c.runtime_version_config().unwrap().runtime_version_arn().unwrap();
    assert!(
        runtime_arn.starts_with("arn:aws:lambda:us-east-1::runtime:"),
        "{runtime_arn}"
    );

    // update_func_conf_response: the requested configuration, InProgress, AWS's reason.
    let out = update()
        .description("Changed-Description")
        .memory_size(512)
        .timeout(10)
        .runtime(aws_sdk_lambda::types::Runtime::Python311)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            out.description(),
            out.memory_size(),
            out.timeout(),
            out.runtime().map(|r| r.as_str()),
            out.state().map(|s| s.as_str()),
            out.last_update_status().map(|s| s.as_str()),
            out.last_update_status_reason(),
            out.last_update_status_reason_code().map(|c| c.as_str()),
        ),
        (
            Some("Changed-Description"),
            Some(512),
            Some(10),
            Some("python3.11"),
            Some("Active"),
            Some("InProgress"),
            Some("The function is being created."),
            Some("Creating"),
        ),
        "update_func_conf_response"
    );

    // test_list_functions: list_functions_invalid_functionversion, list_all.
    let err = client
        .list_functions()
        .function_version(FunctionVersion::from("invalid"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        answer(err),
        validation(&["Value 'invalid' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]".into()]),
        "list_functions_invalid_functionversion"
    );
    let all = client
        .list_functions()
        .function_version(FunctionVersion::All)
        .send()
        .await
        .unwrap();
    let arns: Vec<(&str, &str)> = all
        .functions()
        .iter()
        .filter(|f| f.function_name() == Some(FN))
        .map(|f| (f.function_arn().unwrap(), f.version().unwrap()))
        .collect();
    let latest = format!("{}:$LATEST", arn(FN));
    let one = format!("{}:1", arn(FN));
    assert_eq!(arns, [(latest.as_str(), "$LATEST"), (one.as_str(), "1")], "list_all");
    assert!(all.functions()[0].logging_config().is_some() && all.functions()[0].snap_start().is_some());
}

/// test_lambda.snapshot.json, TestLambdaConcurrency::test_lambda_concurrency_block
/// (invoke_latest_first_exc) and test_reserved_concurrency (exc_no_cap_requestresponse):
/// "Rate Exceeded." with its Reason, and no Retry-After (none applies to a concurrency limit).
#[tokio::test]
async fn a_reserved_concurrency_throttle_answers_as_recorded() {
    let (_server, client) = start_recorded().await;
    let err = client.invoke().function_name(BLOCKED).send().await.unwrap_err();
    let raw = err.raw_response().expect("an answer");
    assert_eq!(raw.headers().get("retry-after"), None, "no Retry-After");
    let Some(aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(e)) = err.as_service_error()
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        e.reason().map(|r| r.as_str()),
        Some("ReservedFunctionConcurrentInvocationLimitExceeded")
    );
    assert_eq!(e.r#type(), Some("User"));
    assert_eq!(answer(err), recorded(429, "TooManyRequestsException", "Rate Exceeded."));
}

/// `LogType=Tail`: the REPORT line has every field Lambda writes, Init Duration on a cold
/// start only (test_lambda.py's test_invocation_with_logs asserts a REPORT line; the fields
/// are the Lambda guide's).
#[tokio::test]
async fn a_log_tail_reports_every_field_lambda_writes() {
    use base64::Engine as _;
    let (_server, client) = start_recorded().await;
    let mut reports = Vec::new();
    for _ in 0..2 {
        let out = client
            .invoke()
            .function_name(FN)
            .log_type(aws_sdk_lambda::types::LogType::Tail)
            .payload(Blob::new("{}"))
            .send()
            .await
            .unwrap();
        let log = base64::engine::general_purpose::STANDARD
            .decode(out.log_result().unwrap())
            .unwrap();
        let log = String::from_utf8(log).unwrap();
        let report = log
            .lines()
            .find(|l| l.starts_with("REPORT RequestId: "))
            .unwrap()
            .to_string();
        assert!(
            log.starts_with("START RequestId: ") && log.contains("\nEND RequestId: "),
            "{log}"
        );
        reports.push(report);
    }
    for field in [
        "\tDuration: ",
        " ms\tBilled Duration: ",
        " ms\tMemory Size: 128 MB\tMax Memory Used: ",
        " MB\t",
    ] {
        assert!(reports.iter().all(|r| r.contains(field)), "{field:?} in {reports:?}");
    }
    assert!(
        reports[0].contains("\tInit Duration: "),
        "the first is a cold start: {}",
        reports[0]
    );
    assert!(
        !reports[1].contains("Init Duration"),
        "the second is warm: {}",
        reports[1]
    );
}

/// test_sts.snapshot.json, TestSTSAssumeRoleTagging::test_sts_invalid_parameters (validated
/// 2025-07-21): an ARN STS cannot read is 400 ValidationError "X is invalid", a bad session
/// name the model's validation error.
#[tokio::test]
async fn sts_invalid_parameters_answer_as_recorded() {
    use aws_sdk_sts::error::ProvideErrorMetadata as _;
    let server = start_with(scenario()).await;
    let client = sts(&server, KEY, SECRET);
    let cases = [
        ("malformed-arn", "nothing-valid-in-here", "Session1", "nothing-valid-in-here is invalid".to_string()),
        ("no-partition", "arn::b:::something/test-role", "Session1", "arn::b:::something/test-role is invalid".into()),
        ("no-service", "arn:a::::something/test-role", "Session1", "arn:a::::something/test-role is invalid".into()),
        ("not-enough-colons", "arn:a:::something/test-role", "Session1", "arn:a:::something/test-role is invalid".into()),
        ("no-resource", "arn:a:a::aaaaaaaaaa:", "Session1", "arn:a:a::aaaaaaaaaa: is invalid".into()),
        (
            "invalid-session-name",
            "arn:a:b:::something/test-role",
            "Session1:2",
            r"1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*".into(),
        ),
    ];
    let mut failures = Vec::new();
    for (key, role, session, message) in cases {
        let err = client
            .assume_role()
            .role_arn(role)
            .role_session_name(session)
            .send()
            .await
            .unwrap_err();
        let got = (
            err.raw_response().map(|r| r.status().as_u16()),
            err.code().map(str::to_string),
            err.message().map(str::to_string),
        );
        let want = (Some(400), Some("ValidationError".to_string()), Some(message));
        if got != want {
            failures.push(format!("{key}: recorded {want:?}, answered {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// test_lambda.snapshot.json: TestLambdaFeatures::test_basic_invoke,
/// test_invocation_type_request_response, test_invocation_type_dry_run,
/// test_invocation_type_no_return_payload[*-Event], TestLambdaBehavior::
/// test_lambda_invoke_with_timeout (25-11-2025), TestLambdaBaseFeatures::
/// test_lambda_too_large_response (24-11-2025); test_lambda_api.snapshot.json
/// TestLambdaFunction::test_invalid_invoke (25-11-2025).
#[tokio::test]
async fn invoke_results_answer_as_recorded() {
    use aws_sdk_lambda::types::InvocationType;
    let (_server, client) = start_recorded().await;
    let invoke = |kind: InvocationType, payload: &'static str| {
        client
            .invoke()
            .function_name(FN)
            .invocation_type(kind)
            .payload(Blob::new(payload))
            .send()
    };
    let out = invoke(InvocationType::RequestResponse, "{}").await.unwrap();
    assert_eq!(
        (
            out.status_code(),
            out.executed_version(),
            out.payload().map(|p| p.as_ref())
        ),
        (200, Some("$LATEST"), Some(&b"{}"[..])),
        "lambda_invoke_result / invoke-result"
    );
    let out = invoke(InvocationType::DryRun, "{}").await.unwrap();
    assert_eq!(
        (out.status_code(), out.payload().map_or(0, |p| p.as_ref().len())),
        (204, 0),
        "dry run: 204, empty payload"
    );
    let out = invoke(InvocationType::Event, "{}").await.unwrap();
    assert_eq!(
        (
            out.status_code(),
            out.executed_version(),
            out.payload().map_or(0, |p| p.as_ref().len())
        ),
        (202, None, 0),
        "Event: 202, empty payload"
    );
    let out = invoke(InvocationType::RequestResponse, r#"{"bytes": 6291557}"#)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        (out.function_error(), v),
        (
            Some("Unhandled"),
            json!({"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).", "errorType": "Function.ResponseSizeTooLarge"})
        ),
        "test_lambda_too_large_response invoke_result"
    );
    let err = client
        .invoke()
        .function_name("arn:aws:lambda:us-east-1:123400000000@function:myfn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        normalized(answer(err)),
        validation(&[name_error("arn:aws:lambda:us-east-1:123400000000@function:myfn")]),
        "test_invalid_invoke invoke_function_name_pattern_exc"
    );
    // test_lambda_invoke_with_timeout: a 1 s function that runs longer.
    client
        .update_function_configuration()
        .function_name(FN)
        .timeout(1)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let out = client
        .invoke()
        .function_name(FN)
        .payload(Blob::new(r#"{"sleep_ms": 1500}"#))
        .send()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        (out.status_code(), out.executed_version(), out.function_error()),
        (200, Some("$LATEST"), Some("Unhandled"))
    );
    assert_eq!(v["errorType"], "Sandbox.Timedout");
    let message = v["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("RequestId: ") && message.ends_with(" Error: Task timed out after 1.00 seconds"),
        "{message}"
    );
}
