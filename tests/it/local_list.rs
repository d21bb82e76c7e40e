//! ListFunctions and ListAliases against the local endpoint with the real aws-sdk-lambda and its
//! paginators: pages that follow `NextMarker` to the end, ListFunctions confined to the
//! caller's own account and allowed by its identity policy only (its resource is `*`), and
//! ListAliases authorized like the other calls on a function (both policies across accounts).

use crate::common::*;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::{AliasConfiguration, FunctionConfiguration, FunctionVersion};
use xinvoke::local::{builtin, Scenario};

/// The built-in scenario with six more functions in account 2: `fn-1` .. `fn-6`, `fn-1` with
/// versions 1-3 and five aliases.
fn many_functions() -> Scenario {
    let mut tail = String::new();
    for i in 1..=6 {
        tail.push_str(&format!("\n[[accounts.functions]]\nname = \"fn-{i}\"\n"));
        if i == 1 {
            tail.push_str("versions = [\"1\", \"2\", \"3\"]\n");
            for (alias, version) in [
                ("blue", "1"),
                ("green", "2"),
                ("canary", "3"),
                ("stable", "2"),
                ("old", "1"),
            ] {
                tail.push_str(&format!(
                    "[[accounts.functions.aliases]]\nname = \"{alias}\"\nversion = \"{version}\"\n"
                ));
            }
        }
    }
    let text = format!("{}\n{tail}", include_str!("../../src/local/builtin.toml"));
    Scenario::from_toml_str(&text, std::path::Path::new("many-functions.toml")).expect("scenario")
}

async fn all_functions(
    client: &aws_sdk_lambda::Client,
    max_items: i32,
    version: Option<FunctionVersion>,
) -> Vec<FunctionConfiguration> {
    client
        .list_functions()
        .max_items(max_items)
        .set_function_version(version)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page")
}

async fn all_aliases(
    client: &aws_sdk_lambda::Client,
    function: &str,
    version: Option<&str>,
) -> Vec<AliasConfiguration> {
    client
        .list_aliases()
        .function_name(function)
        .max_items(2)
        .set_function_version(version.map(str::to_string))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page")
}

fn names(functions: &[FunctionConfiguration]) -> Vec<String> {
    functions
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f.function_name().unwrap_or_default(),
                f.version().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn list_functions_pages_through_the_callers_account_with_the_sdk_paginator() {
    let server = start_with(many_functions()).await;
    let admin = admin_lambda(&server);
    let listed = all_functions(&admin, 2, None).await;
    assert_eq!(
        names(&listed),
        ["fn-1", "fn-2", "fn-3", "fn-4", "fn-5", "fn-6", "target"].map(|n| format!("{n}:$LATEST"))
    );
    let pages: Vec<usize> = admin
        .list_functions()
        .max_items(3)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|p| p.functions().len())
        .collect();
    assert_eq!(pages, [3, 3, 1]);
    // Over 50 is capped at 50, not refused (the model's MaxItems note).
    assert_eq!(all_functions(&admin, 1000, None).await.len(), 7);

    let everything = all_functions(&admin, 4, Some(FunctionVersion::All)).await;
    assert_eq!(
        names(&everything),
        [
            "fn-1:$LATEST",
            "fn-1:1",
            "fn-1:2",
            "fn-1:3",
            "fn-2:$LATEST",
            "fn-3:$LATEST",
            "fn-4:$LATEST",
            "fn-5:$LATEST",
            "fn-6:$LATEST",
            "target:$LATEST",
            "target:1",
        ]
    );
    let version_1 = everything
        .iter()
        .find(|f| f.version() == Some("1") && f.function_name() == Some("target"))
        .unwrap();
    assert_eq!(
        version_1.function_arn(),
        Some(format!("{}:1", builtin::TARGET_FUNCTION_ARN).as_str())
    );
}

#[tokio::test]
async fn a_listed_function_is_its_configuration_without_the_state_fields() {
    let server = start().await;
    let admin = admin_lambda(&server);
    let listed = all_functions(&admin, 50, None).await;
    let [listed] = listed.as_slice() else {
        panic!("account 2 has one function: {listed:?}");
    };
    let got = admin
        .get_function_configuration()
        .function_name("target")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.function_arn(), Some(builtin::TARGET_FUNCTION_ARN));
    assert_eq!(listed.function_arn(), got.function_arn());
    assert_eq!(listed.version(), Some("$LATEST"));
    assert_eq!(listed.revision_id(), got.revision_id());
    assert_eq!(listed.code_sha256(), got.code_sha256());
    assert_eq!(
        (listed.memory_size(), listed.timeout()),
        (got.memory_size(), got.timeout())
    );
    assert_eq!(listed.vpc_config(), got.vpc_config());
    assert_eq!(listed.architectures(), got.architectures());
    // "ListFunctions returns a subset of the FunctionConfiguration fields" (the model).
    assert!(got.state().is_some() && got.last_update_status().is_some());
    assert_eq!((listed.state(), listed.last_update_status()), (None, None));
}

#[tokio::test]
async fn list_functions_lists_only_the_callers_own_account_and_needs_an_identity_allow() {
    let server = start().await;
    // Account 1 may list functions: it sees its own account, which has none; account 2's
    // target is out of its reach whatever it asks.
    let listed = all_functions(&source_lambda(&server), 50, Some(FunctionVersion::All)).await;
    assert!(listed.is_empty(), "{listed:?}");

    // A role whose policy does not allow it is refused, on resource `*`.
    let err = lambda(&server, builtin::STRANGER_ACCESS_KEY, builtin::STRANGER_SECRET_KEY)
        .list_functions()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(
        err.message(),
        Some("User: arn:aws:iam::111111111111:user/xinvoke-stranger is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action")
    );
    // Account 2's invoke role may read `target` but not list the account: a policy on
    // function ARNs does not cover ListFunctions.
    let err = lambda_with(&server, assumed_credentials(&server).await)
        .list_functions()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err.message().unwrap().contains("xinvoke-invoke"), "{err:?}");
}

#[tokio::test]
async fn list_aliases_pages_filters_by_version_and_accepts_every_name_form() {
    let server = start_with(many_functions()).await;
    let admin = admin_lambda(&server);
    let aliases = all_aliases(&admin, "fn-1", None).await;
    let listed: Vec<(&str, &str)> = aliases
        .iter()
        .map(|a| (a.name().unwrap_or_default(), a.function_version().unwrap_or_default()))
        .collect();
    assert_eq!(
        listed,
        [
            ("blue", "1"),
            ("canary", "3"),
            ("green", "2"),
            ("old", "1"),
            ("stable", "2")
        ]
    );
    let on_2 = all_aliases(&admin, "fn-1", Some("2")).await;
    let on_2: Vec<&str> = on_2.iter().filter_map(|a| a.name()).collect();
    assert_eq!(on_2, ["green", "stable"]);

    let get = admin
        .get_alias()
        .function_name("target")
        .name("live")
        .send()
        .await
        .unwrap();
    for name in [
        "target".to_string(),
        format!("{}:function:target", builtin::TARGET_ACCOUNT),
        builtin::TARGET_FUNCTION_ARN.to_string(),
    ] {
        let aliases = all_aliases(&admin, &name, None).await;
        let [live] = aliases.as_slice() else {
            panic!("{name}: {aliases:?}");
        };
        assert_eq!(live.alias_arn(), Some(builtin::TARGET_ALIAS_ARN), "{name}");
        assert_eq!(
            (
                live.name(),
                live.function_version(),
                live.revision_id(),
                live.description()
            ),
            (get.name(), get.function_version(), get.revision_id(), get.description()),
            "{name}: the shape GetAlias answers"
        );
    }

    let err = admin.list_aliases().function_name("nope").send().await.unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_resource_not_found_exception(),
        "{err:?}"
    );
    let err = admin
        .list_aliases()
        .function_name("fn-1")
        .max_items(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException"),
        "a model constraint: {err:?}"
    );
}

#[tokio::test]
async fn cross_account_list_aliases_needs_the_functions_resource_policy_too() {
    let server = start().await;
    let source = source_lambda(&server);
    let list = || source.list_aliases().function_name(builtin::TARGET_FUNCTION_ARN).send();
    // The source's identity policy allows lambda:ListAliases on target; the function's own
    // policy (not the alias's) says nothing yet.
    let err = list().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message(),
        Some("User: arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local is not authorized to perform: lambda:ListAliases on resource: arn:aws:lambda:us-east-1:222222222222:function:target because no resource-based policy allows the lambda:ListAliases action")
    );
    // The stranger lacks the identity side, and is refused for that first.
    let err = lambda(&server, builtin::STRANGER_ACCESS_KEY, builtin::STRANGER_SECRET_KEY)
        .list_aliases()
        .function_name(builtin::TARGET_FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .ends_with("because no identity-based policy allows the lambda:ListAliases action"),
        "{err:?}"
    );

    admin_lambda(&server)
        .add_permission()
        .function_name("target")
        .statement_id("source-lists-aliases")
        .action("lambda:ListAliases")
        .principal(builtin::SOURCE_ROLE_ARN)
        .send()
        .await
        .unwrap();
    let out = list().await.expect("both policies allow it now");
    let names: Vec<&str> = out.aliases().iter().filter_map(|a| a.name()).collect();
    assert_eq!(names, ["live"]);
    assert_eq!(out.next_marker(), None);
}
