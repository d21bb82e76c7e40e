//! The profile kinds that fetch credentials from somewhere else, and their missing links: IAM
//! Identity Center (SSO: a token `aws sso login` caches, traded for role credentials), a
//! `credential_process` command, an `aws login` session. The profile files are read with
//! aws-config's own parser, so a profile means here what it means to the chain; a profile that
//! takes its credentials from another (`source_profile`) is followed to that one.

use crate::adapters::chain::error::Failure;
use aws_config::profile::{Profile, ProfileSet};
use aws_types::os_shim_internal::{Env, Fs};
use std::collections::HashMap;
use std::path::PathBuf;

/// The variables the profile parser reads: which files, which profile, where home is.
const PROFILE_VARS: &[&str] = &[
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "HOME",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
];

/// How many `source_profile` links are followed before giving up (the SDK refuses cycles).
const MAX_SOURCE_LINKS: usize = 8;

/// What the profile `name` (or the profile it sources its credentials from) needs, and which
/// link is missing, when it is an IAM Identity Center, `credential_process` or `aws login`
/// profile; `None` for other kinds (keys, roles over keys, web identity) or when the files
/// cannot be read. `failure` is what the chain said.
pub(super) async fn explain(
    name: &str,
    failure: &Failure,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Option<String> {
    let vars: HashMap<String, String> = PROFILE_VARS
        .iter()
        .filter_map(|k| env(k).map(|v| (k.to_string(), v)))
        .collect();
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::from(vars),
        &Default::default(),
        Some(name.to_string().into()),
    )
    .await
    .ok()?;
    let config_file = env("AWS_CONFIG_FILE").unwrap_or_else(|| "~/.aws/config".into());
    let mut current = name.to_string();
    for _ in 0..MAX_SOURCE_LINKS {
        let profile = set.get_profile(&current)?;
        let via = if current == name {
            String::new()
        } else {
            format!(" (through its source_profile {current:?})")
        };
        if profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some() {
            return Some(sso(name, &via, profile, &set, &config_file, failure, env));
        }
        let cause = &failure.cause;
        if let Some(command) = profile.get("credential_process") {
            // Only the program: its arguments may carry secrets.
            let program = command.split_whitespace().next().unwrap_or_default();
            if !cfg!(feature = "aws-profiles") {
                return Some(not_built(name, &via, "credential_process"));
            }
            return Some(format!(
                "the AWS profile {name:?}{via} runs credential_process `{program}`, which gave no credentials ({cause}): run the command yourself to see why; it must print the JSON the AWS CLI documents (Version 1, AccessKeyId, SecretAccessKey)"
            ));
        }
        if profile.get("login_session").is_some() {
            if !cfg!(feature = "aws-profiles") {
                return Some(not_built(name, &via, "`aws login` sessions"));
            }
            return Some(format!(
                "the AWS profile {name:?}{via} signs in with an `aws login` session, which gave no credentials ({cause}): run `aws login --profile {name}`"
            ));
        }
        match (profile.get("source_profile"), profile.get("role_arn")) {
            (Some(source), Some(_)) if source != current => current = source.to_string(),
            _ => return None,
        }
    }
    None
}

/// This build cannot use the profile's kind (the Lambda functions are built that way).
fn not_built(name: &str, via: &str, kind: &str) -> String {
    format!(
        "the AWS profile {name:?}{via} uses {kind}, which this build of xinvoke leaves out (built without its default feature aws-profiles, as the Lambda functions are): build the CLI with default features, or export the profile's credentials first: eval \"$(aws configure export-credentials --profile {name} --format env)\""
    )
}

/// An IAM Identity Center profile: its settings, the token cache `aws sso login` writes, the
/// token's expiry, then the portal's answer.
fn sso(
    name: &str,
    via: &str,
    profile: &Profile,
    set: &ProfileSet,
    config_file: &str,
    failure: &Failure,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let cause = &failure.cause;
    let login = format!("aws sso login --profile {name}");
    if !cfg!(feature = "aws-profiles") {
        return not_built(name, via, "IAM Identity Center (SSO)");
    }
    let session_name = profile.get("sso_session");
    let session = session_name.map(|s| (s, set.sso_session(s)));
    if let Some((s, None)) = session {
        return format!(
            "the AWS profile {name:?}{via} names sso_session {s:?}, but {config_file} has no [sso-session {s}] section: add it with sso_start_url and sso_region (`aws configure sso-session` writes it)"
        );
    }
    let from_session = |key: &str| session.and_then(|(_, s)| s).and_then(|s| s.get(key));
    let start_url = from_session("sso_start_url").or_else(|| profile.get("sso_start_url"));
    let region = from_session("sso_region").or_else(|| profile.get("sso_region"));
    let account = profile.get("sso_account_id");
    let role = profile.get("sso_role_name");
    let missing: Vec<&str> = [
        ("sso_start_url", start_url),
        ("sso_region", region),
        ("sso_account_id", account),
        ("sso_role_name", role),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        return format!(
            "the AWS profile {name:?}{via} signs in with IAM Identity Center, but {config_file} does not give its {}: `aws configure sso --profile {name}` writes them",
            missing.join(", ")
        );
    }
    let (start_url, region, account, role) = (
        start_url.unwrap_or_default(),
        region.unwrap_or_default(),
        account.unwrap_or_default(),
        role.unwrap_or_default(),
    );
    let what = match session_name {
        Some(s) => format!("sso_session {s:?}"),
        None => format!("start URL {start_url}"),
    };
    // aws sso login caches the token under the SHA-1 of the session's name (the start URL for
    // legacy profiles without a session).
    let Some(path) = token_path(session_name.unwrap_or(start_url), env) else {
        return format!(
            "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}), whose token cache lives under the home directory, and HOME is not set: set HOME, then run `{login}`"
        );
    };
    let shown = path.display();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return format!(
                "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}) and no SSO token is cached for it: {shown} does not exist. Run `{login}`, then try again"
            )
        }
        Err(e) => {
            return format!(
                "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}), and its cached SSO token {shown} cannot be read ({e}): run `{login}`"
            )
        }
    };
    let token: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let expires = token["expiresAt"].as_str();
    if token["accessToken"].as_str().is_none() || expires.is_none() {
        return format!(
            "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}), and {shown} is not a token `aws sso login` wrote (no accessToken / expiresAt): run `{login}`"
        );
    }
    let expires = expires.unwrap_or_default();
    let now = std::time::SystemTime::now();
    let expired = aws_smithy_types::DateTime::from_str(expires, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|t| std::time::SystemTime::try_from(t).ok())
        .is_none_or(|t| t <= now);
    if expired {
        return format!(
            "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}), and the SSO token cached in {shown} expired at {expires} (and could not be refreshed): run `{login}`"
        );
    }
    let endpoint = env("AWS_ENDPOINT_URL_SSO")
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| format!("https://portal.sso.{region}.amazonaws.com"));
    if failure.unreachable {
        return format!(
            "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}) and its token cached in {shown} is valid until {expires}, but the portal {endpoint} could not be reached ({cause}): check the network path to it, the profile's sso_region ({region}) and AWS_ENDPOINT_URL_SSO if set"
        );
    }
    format!(
        "the AWS profile {name:?}{via} signs in with IAM Identity Center ({what}), its token cached in {shown} is valid until {expires}, but the portal ({endpoint}) gave no credentials for role {role} in account {account} ({cause}): check that the role is assigned to you in that account (`aws sso list-account-roles --profile {name}` lists yours), or run `{login}` again"
    )
}

/// `~/.aws/sso/cache/<sha1 of key>.json`, as the AWS CLI and the SDKs name it.
fn token_path(key: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let home = env("HOME").or_else(|| env("USERPROFILE"))?;
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
    Some(
        PathBuf::from(home)
            .join(".aws")
            .join("sso")
            .join("cache")
            .join(format!("{}.json", hex::encode(digest.as_ref()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `explain` for profile `name` of a config file holding `config`, home in the same dir.
    async fn explain_with(config: &str, name: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, config).unwrap();
        let vars = [
            ("AWS_CONFIG_FILE".to_string(), file.display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE".to_string(), "/nonexistent".to_string()),
            ("HOME".to_string(), dir.path().display().to_string()),
        ];
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let failure = Failure {
            cause: "the chain's cause".into(),
            ..Failure::default()
        };
        explain(name, &failure, &env).await
    }

    #[tokio::test]
    async fn each_profile_kind_names_its_missing_link() {
        let text = explain_with(
            "[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = r\n",
            "p",
        )
        .await
        .unwrap();
        assert!(text.contains("has no [sso-session s] section"), "{text}");
        let text = explain_with(
            "[profile p]\nsso_session = s\nsso_role_name = r\n[sso-session s]\nsso_start_url = https://x/start\n",
            "p",
        )
        .await
        .unwrap();
        assert!(
            text.contains("does not give its sso_region, sso_account_id")
                && text.contains("aws configure sso --profile p"),
            "{text}"
        );
        // Legacy: the start URL in the profile, the token cached under its hash.
        let text = explain_with(
            "[profile old]\nsso_start_url = https://x/start\nsso_region = eu-west-1\nsso_account_id = 1\nsso_role_name = r\n",
            "old",
        )
        .await
        .unwrap();
        assert!(
            text.contains("start URL https://x/start")
                && text.contains("no SSO token is cached")
                && text.contains("aws sso login --profile old"),
            "{text}"
        );
        let text = explain_with(
            "[profile p]\ncredential_process = /opt/bin/creds --secret hunter2\n",
            "p",
        )
        .await
        .unwrap();
        assert!(
            text.contains("credential_process `/opt/bin/creds`") && text.contains("the chain's cause"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "arguments may be secrets: {text}");
        let text = explain_with("[profile p]\nlogin_session = arn:aws:iam::1:user/u\n", "p")
            .await
            .unwrap();
        assert!(text.contains("aws login --profile p"), "{text}");
        // Keys and roles over keys are not this module's business; unknown profiles neither.
        assert_eq!(explain_with("[profile p]\naws_access_key_id = A\n", "p").await, None);
        assert_eq!(explain_with("[profile p]\nregion = us-east-1\n", "q").await, None);
        let looped = "[profile a]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n";
        assert_eq!(explain_with(looped, "a").await, None, "a cycle ends");
    }

    #[test]
    fn the_token_cache_is_named_as_the_aws_cli_names_it() {
        // aws-config's own cache tests: the session "test" is cached as sha1("test").json.
        let env = |k: &str| (k == "HOME").then(|| "/home/user".to_string());
        assert_eq!(
            token_path("test", &env).unwrap(),
            PathBuf::from("/home/user/.aws/sso/cache/a94a8fe5ccb19ba61c4c0873d391e987982fbbd3.json")
        );
        assert_eq!(token_path("test", &|_: &str| None), None);
    }
}
