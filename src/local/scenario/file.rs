//! A scenario as a whole: its top-level fields, how it is read (TOML or JSON, or the built-in
//! one) and checked, its errors, and what is asked of the whole (organization paths, the VPC
//! models in use).

use crate::local::scenario::accounts::{Account, Organization};
use crate::local::scenario::functions::{EniMode, ScheduledUpdate};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A whole simulated world: accounts, their roles, users and functions, the region (the
/// format is in [`xinvoke::local`](crate::local)'s `scenario` docs and docs/local.md).
///
/// ```
/// use std::path::Path;
/// use xinvoke::local::Scenario;
/// let builtin = Scenario::builtin(); // the one `xinvoke local` serves by default
/// assert!(builtin.validate(Path::new("<builtin>")).is_ok());
///
/// // Four accounts, three of them in one organization's OUs.
/// let org = Scenario::from_path(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/organization.toml")))?;
/// assert!(org.validate(Path::new("organization.toml")).is_ok());
///
/// // The smallest world: one account with one function (its answer is the built-in echo).
/// let text = r#"
///     region = "eu-west-1"
///     [[accounts]]
///     id = "333333333333"
///     [[accounts.functions]]
///     name = "echo"
/// "#;
/// let _small = Scenario::from_toml_str(text, Path::new("small.toml"))?;
/// # Ok::<(), xinvoke::local::ScenarioError>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The one region served.
    pub(crate) region: String,
    pub(crate) accounts: Vec<Account>,
    /// Updates the endpoint makes by itself, at times of its clock from the world's start: a
    /// deployment during load.
    #[serde(default)]
    pub(crate) updates: Vec<ScheduledUpdate>,
    /// Fault rules in place from the start (the rules `POST /_local/faults` takes), e.g. for a
    /// load run that starts the endpoint in-process.
    #[serde(default)]
    pub(crate) faults: Vec<crate::local::faults::FaultSpec>,
    /// AWS Organizations: each organization's root and OUs, where accounts sit by their `ou`.
    #[serde(default)]
    pub(crate) organizations: Vec<Organization>,
}

/// Why a scenario cannot be used: the file, the field and what to do.
///
/// ```
/// use std::path::Path;
/// use xinvoke::local::{Scenario, ScenarioError};
/// let err = Scenario::from_toml_str("region = 3", Path::new("world.toml")).unwrap_err();
/// assert!(matches!(err, ScenarioError::Parse { .. }));
/// assert!(err.to_string().starts_with("scenario world.toml: "), "{err}");
///
/// // Well-formed, but an account id is 12 digits.
/// let text = "region = \"us-east-1\"\n[[accounts]]\nid = \"1234\"\n";
/// let err = Scenario::from_toml_str(text, Path::new("world.toml")).unwrap_err();
/// let ScenarioError::Invalid { field, fix, .. } = &err else { panic!("{err}") };
/// assert!(field.starts_with("accounts"), "{err}");
/// assert!(!fix.is_empty());
///
/// let err = Scenario::from_path(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))).unwrap_err();
/// assert!(matches!(err, ScenarioError::Extension { .. }));
/// assert!(err.to_string().ends_with("name it *.toml or *.json"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read scenario {path}: {source}; check the path given to --scenario")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// Neither `.toml` nor `.json`.
    #[error("scenario {path}: unknown file type; name it *.toml or *.json")]
    Extension {
        /// The file.
        path: PathBuf,
    },
    /// Syntax or type error (the message names the field and line).
    #[error("scenario {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Well-formed but inconsistent.
    #[error("scenario {path}: {field}: {problem}; {fix}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted field path.
        field: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
}

const BUILTIN_TOML: &str = include_str!("../builtin.toml");

impl Scenario {
    /// The built-in scenario: the source account 1, the target account 2, the `target`
    /// function behind a VPC and an alias `live`. See [`crate::local::builtin`].
    pub fn builtin() -> Scenario {
        // A constant of this crate, checked by the unit tests: failing here is a build bug.
        Scenario::from_toml_str(BUILTIN_TOML, Path::new("<builtin>")).expect("the built-in scenario is valid")
    }

    /// Read a scenario from a `.toml` or `.json` file.
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Scenario::from_toml_str(&text, path),
            Some("json") => {
                let s: Scenario = serde_json::from_str(&text).map_err(|e| ScenarioError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                s.validate(path)?;
                Ok(s)
            }
            _ => Err(ScenarioError::Extension {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Parse TOML text; `path` only names the source in errors.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " | "),
        })?;
        s.validate(path)?;
        Ok(s)
    }

    /// `aws:PrincipalOrgPaths` of an account: its path when its organization is laid out in
    /// `organizations`, else none (an `org_id` alone gives `aws:PrincipalOrgID` only).
    pub(crate) fn org_paths(&self, account: &Account) -> Vec<String> {
        let Some(org_id) = &account.org_id else {
            return Vec::new();
        };
        self.organizations
            .iter()
            .find(|o| &o.id == org_id)
            .and_then(|o| o.path_of(account.ou.as_deref()))
            .into_iter()
            .collect()
    }

    /// Which VPC model each VPC-attached function runs, in a sentence for a report's header:
    /// `None` when no function is VPC-attached.
    pub(crate) fn vpc_models(&self) -> Option<String> {
        let names = |mode: EniMode| -> Vec<&str> {
            self.accounts
                .iter()
                .flat_map(|a| &a.functions)
                .filter(|f| f.vpc.as_ref().is_some_and(|v| v.eni_mode == mode))
                .map(|f| f.name.as_str())
                .collect()
        };
        let (old, today) = (names(EniMode::PerEnvironment), names(EniMode::Hyperplane));
        let mut parts = Vec::new();
        if !today.is_empty() {
            parts.push(format!(
                "{} on today's shared Hyperplane ENIs (made at create/update, reclaimed when idle)",
                today.join(", ")
            ));
        }
        if !old.is_empty() {
            parts.push(format!(
                "{} on per-environment ENIs (Lambda before 2019: an ENI and an address per execution environment, so load meets EC2's limits; today only a burst of creates or updates does)",
                old.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::builtin;

    #[test]
    fn builtin_scenario_parses_and_matches_the_constants() {
        let s = Scenario::builtin();
        assert_eq!(s.region, builtin::REGION);
        let a1 = s.accounts.iter().find(|a| a.id == builtin::SOURCE_ACCOUNT).unwrap();
        let src = a1.roles.iter().find(|r| r.name == "xinvoke-source").unwrap();
        let c = src.credentials.as_ref().unwrap();
        assert_eq!(c.access_key_id, builtin::SOURCE_ACCESS_KEY);
        assert_eq!(c.secret_access_key.0, builtin::SOURCE_SECRET_KEY);
        assert_eq!(
            c.session_token.as_ref().map(|t| t.0.as_str()),
            Some(builtin::SOURCE_SESSION_TOKEN)
        );
        let a2 = s.accounts.iter().find(|a| a.id == builtin::TARGET_ACCOUNT).unwrap();
        let f = &a2.functions[0];
        assert_eq!(f.name, "target");
        assert_eq!(f.aliases[0].name, "live");
        assert_eq!(f.vpc.as_ref().unwrap().subnet_ids.len(), 2);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let text = format!("{:?}", Scenario::builtin());
        assert!(!text.contains(builtin::SOURCE_SECRET_KEY));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn errors_name_the_file_field_and_fix() {
        let cases = [
            ("region = \"us-east-1\"\naccounts = [{ id = \"123\" }]", "accounts[0].id"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\n[[accounts.functions]]\nname = \"f\"\naliases = [{ name = \"live\", version = \"7\" }]", "accounts[0].functions[0].aliases[0].version"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\nbogus = 1", "bogus"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"http://oidc.example\", audiences = [\"sts.amazonaws.com\"] }]", "accounts[0].oidc_providers[0].issuer"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [] }]", "accounts[0].oidc_providers[0].audiences"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [\"a\"] }, { issuer = \"https://oidc.example/\", audiences = [\"b\"] }]", "accounts[0].oidc_providers[1].issuer"),
            ("region = \"us-east-1\"\n[[accounts]]\nid = \"222222222222\"\noidc_providers = [{ issuer = \"https://oidc.example\", audiences = [\"a\"], jwks = { keys = [{ kty = \"RSA\", n = \"AQAB\", e = \"AQAB\" }] } }]", "accounts[0].oidc_providers[0].jwks.keys[0]"),
        ];
        for (text, field) in cases {
            let err = Scenario::from_toml_str(text, Path::new("x.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("x.toml") && err.contains(field), "{err}");
        }
    }

    #[test]
    fn from_path_reads_toml_and_json_and_rejects_other_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("s.toml");
        std::fs::write(&toml_path, BUILTIN_TOML).unwrap();
        assert!(Scenario::from_path(&toml_path).is_ok());
        let json_path = dir.path().join("s.json");
        std::fs::write(
            &json_path,
            r#"{"region":"us-east-1","accounts":[{"id":"222222222222"}]}"#,
        )
        .unwrap();
        assert!(Scenario::from_path(&json_path).is_ok());
        let other = dir.path().join("s.yaml");
        std::fs::write(&other, "x").unwrap();
        assert!(matches!(
            Scenario::from_path(&other),
            Err(ScenarioError::Extension { .. })
        ));
        assert!(matches!(
            Scenario::from_path(&dir.path().join("none.toml")),
            Err(ScenarioError::Read { .. })
        ));
    }
}
