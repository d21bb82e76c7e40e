//! STS against the local endpoint with the real Rust SDK: AssumeRole's trust and ExternalId
//! checks, validation, GetCallerIdentity, and the XML errors the SDK parses.

use crate::common::*;
use aws_sdk_sts::error::ProvideErrorMetadata;
use xinvoke::local::builtin;

#[tokio::test]
async fn assume_role_without_or_with_a_wrong_external_id_is_access_denied() {
    let server = start().await;
    let client = source_sts(&server);
    for external_id in [None, Some("wrong-external-id")] {
        let err = client
            .assume_role()
            .role_arn(builtin::INVOKE_ROLE_ARN)
            .role_session_name("s1")
            .set_external_id(external_id.map(str::to_string))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("AccessDenied"), "{external_id:?}");
        assert_eq!(
            err.message(),
            Some("User: arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/xinvoke-invoke")
        );
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    }
    assert_eq!(server.stats().sts_assume_role, 0);
}

#[tokio::test]
async fn assume_role_answers_aws_shaped_credentials() {
    let server = start().await;
    let out = source_sts(&server)
        .assume_role()
        .role_arn(builtin::INVOKE_ROLE_ARN)
        .role_session_name("my-session")
        .external_id(builtin::EXTERNAL_ID)
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::222222222222:assumed-role/xinvoke-invoke/my-session"
    );
    assert!(user.assumed_role_id().starts_with("AROA") && user.assumed_role_id().ends_with(":my-session"));
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let expires = c.expiration().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((expires - now - 900).abs() < 5, "{expires} vs {now}");
}

#[tokio::test]
async fn stranger_may_not_assume_the_invoke_role() {
    let server = start().await;
    let err = sts(&server, builtin::STRANGER_ACCESS_KEY, builtin::STRANGER_SECRET_KEY)
        .assume_role()
        .role_arn(builtin::INVOKE_ROLE_ARN)
        .role_session_name("s1")
        .external_id(builtin::EXTERNAL_ID)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
}

#[tokio::test]
async fn validation_errors_are_400_validation_error() {
    let server = start().await;
    let client = source_sts(&server);
    let cases: [(&str, Option<i32>, &str); 4] = [
        ("x", None, "roleSessionName"),
        ("bad session!", None, "roleSessionName"),
        ("ok-session", Some(899), "durationSeconds"),
        ("ok-session", Some(7200), "1 hour session limit"),
    ];
    for (session, duration, needle) in cases {
        let err = client
            .assume_role()
            .role_arn(builtin::INVOKE_ROLE_ARN)
            .role_session_name(session)
            .external_id(builtin::EXTERNAL_ID)
            .set_duration_seconds(duration)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationError"), "{session} {duration:?}");
        assert!(err.message().unwrap().contains(needle), "{:?}", err.message());
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
}

#[tokio::test]
async fn get_caller_identity_names_the_static_role_and_the_assumed_session() {
    let server = start().await;
    let me = source_sts(&server).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(builtin::SOURCE_ACCOUNT));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local")
    );
    let creds = assumed_credentials(&server).await;
    let conf = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(creds)
        .endpoint_url(server.url())
        .build();
    let me = aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(builtin::TARGET_ACCOUNT));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/xinvoke-invoke/xinvoke-test")
    );
}

#[tokio::test]
async fn sts_authentication_errors_use_sts_codes() {
    let server = start().await;
    let cases = [
        (builtin::SOURCE_ACCESS_KEY, "wrong", "SignatureDoesNotMatch"),
        ("AKIAUNKNOWNKEY000001", "x", "InvalidClientTokenId"),
    ];
    for (akid, secret, code) in cases {
        let err = sts(&server, akid, secret)
            .get_caller_identity()
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    }
}

/// A role's session carries an `ASIA` key and a session token, as Lambda hands a function its
/// execution role's (`AWS_ACCESS_KEY_ID=ASIA...`, `AWS_SESSION_TOKEN`): GetCallerIdentity names
/// the assumed role, and the key without its token is refused as STS refuses it. Long-term
/// `AKIA` keys are an IAM user's: GetCallerIdentity names `user/NAME` with an `AIDA` id (the
/// IAM User Guide, "Unique identifiers": AIDA users, AROA roles, ASIA temporary keys).
#[tokio::test]
async fn role_sessions_carry_asia_keys_with_a_token_and_akia_keys_are_users() {
    let server = start().await;
    assert!(builtin::SOURCE_ACCESS_KEY.starts_with("ASIA"));
    let me = source_sts(&server).get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/xinvoke-source/xinvoke-local")
    );
    assert!(me.user_id().unwrap().starts_with("AROA"), "{:?}", me.user_id());

    let without_token = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(aws_credential_types::Credentials::new(
            builtin::SOURCE_ACCESS_KEY,
            builtin::SOURCE_SECRET_KEY,
            None,
            None,
            "no-token",
        ))
        .endpoint_url(server.url())
        .build();
    let err = aws_sdk_sts::Client::from_conf(without_token)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("InvalidClientTokenId"),
        "a session key needs its token"
    );

    for (key, secret, arn) in [
        (
            builtin::STRANGER_ACCESS_KEY,
            builtin::STRANGER_SECRET_KEY,
            "arn:aws:iam::111111111111:user/xinvoke-stranger",
        ),
        (
            builtin::ADMIN_ACCESS_KEY,
            builtin::ADMIN_SECRET_KEY,
            "arn:aws:iam::222222222222:user/xinvoke-admin",
        ),
    ] {
        assert!(key.starts_with("AKIA"));
        let id = sts(&server, key, secret).get_caller_identity().send().await.unwrap();
        assert_eq!(id.arn(), Some(arn));
        assert!(id.user_id().unwrap().starts_with("AIDA"), "{:?}", id.user_id());
    }
}
