//! A scenario's checks, each error naming the file, the field, what is wrong and the fix.

use crate::local::iam::PolicyDocument;
use crate::local::oidc;
use crate::local::scenario::file::{Scenario, ScenarioError};
use crate::local::scenario::functions::Behaviour;
use std::collections::HashSet;
use std::path::Path;

impl Scenario {
    /// Check cross-references and values.
    pub fn validate(&self, path: &Path) -> Result<(), ScenarioError> {
        let bad = |field: String, problem: String, fix: &str| ScenarioError::Invalid {
            path: path.to_path_buf(),
            field,
            problem,
            fix: fix.to_string(),
        };
        if self.region.is_empty() {
            return Err(bad("region".into(), "is empty".into(), "set region = \"us-east-1\""));
        }
        self.validate_organizations(&bad)?;
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for (ai, acct) in self.accounts.iter().enumerate() {
            let at = format!("accounts[{ai}]");
            if acct.id.len() != 12 || !acct.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    format!("{at}.id"),
                    format!("{:?} is not a 12-digit account id", acct.id),
                    "use 12 digits, e.g. \"222222222222\"",
                ));
            }
            if !ids.insert(&acct.id) {
                return Err(bad(
                    format!("{at}.id"),
                    format!("account {} is declared twice", acct.id),
                    "merge the two [[accounts]] tables",
                ));
            }
            if let Some(ou) = &acct.ou {
                let org = acct
                    .org_id
                    .as_ref()
                    .and_then(|id| self.organizations.iter().find(|o| &o.id == id));
                match org {
                    None => {
                        return Err(bad(
                            format!("{at}.ou"),
                            format!("{ou:?} needs the account's org_id to name an organization of [[organizations]]"),
                            "set org_id to a declared organization's id, or declare it under [[organizations]]",
                        ))
                    }
                    Some(o) if o.path_of(Some(ou)).is_none() => {
                        return Err(bad(
                            format!("{at}.ou"),
                            format!("{ou:?} is neither the root nor an OU of {}", o.id),
                            "name one of the organization's units (or its root)",
                        ))
                    }
                    Some(_) => {}
                }
            }
            let mut issuers = HashSet::new();
            for (pi, p) in acct.oidc_providers.iter().enumerate() {
                let pt = format!("{at}.oidc_providers[{pi}]");
                let Some(key) = oidc::issuer_key(&p.issuer) else {
                    return Err(bad(
                        format!("{pt}.issuer"),
                        format!("{:?} is not an https:// URL", p.issuer),
                        "give the issuer as IAM registers it, e.g. \"https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE\"",
                    ));
                };
                if !issuers.insert(key) {
                    return Err(bad(
                        format!("{pt}.issuer"),
                        format!("{:?} is registered twice in account {}", p.issuer, acct.id),
                        "merge the two providers' audiences",
                    ));
                }
                if p.audiences.is_empty() || p.audiences.iter().any(String::is_empty) {
                    return Err(bad(
                        format!("{pt}.audiences"),
                        "is empty or holds an empty client id: no token could pass the aud check".into(),
                        "list the client ids, e.g. audiences = [\"sts.amazonaws.com\"]",
                    ));
                }
                for (ki, k) in p.jwks.iter().flat_map(|j| &j.keys).enumerate() {
                    if let Err(e) = oidc::VerifyingKey::from_jwk(k) {
                        return Err(bad(
                            format!("{pt}.jwks.keys[{ki}]"),
                            e.to_string(),
                            "give the issuer's public keys as its JWKS lists them",
                        ));
                    }
                }
            }
            let mut role_names = HashSet::new();
            for (ri, role) in acct.roles.iter().enumerate() {
                let rt = format!("{at}.roles[{ri}]");
                if role.name.is_empty() || !role_names.insert(&role.name) {
                    return Err(bad(
                        format!("{rt}.name"),
                        format!("{:?} is empty or duplicated", role.name),
                        "give each role a unique name",
                    ));
                }
                if let Some(c) = &role.credentials {
                    // A role acts through sessions: temporary ASIA keys with a session token,
                    // as Lambda gives a function its execution role's (AKIA keys are users').
                    if !c.access_key_id.starts_with("ASIA") || c.access_key_id.len() < 16 {
                        return Err(bad(
                            format!("{rt}.credentials.access_key_id"),
                            format!("{:?} is not a role session's access key id", c.access_key_id),
                            "use ASIA followed by at least 12 characters with a session_token, or give long-term AKIA keys to a user ([[accounts.users]])",
                        ));
                    }
                    if c.session_token.as_ref().is_none_or(|t| t.0.is_empty()) {
                        return Err(bad(
                            format!("{rt}.credentials.session_token"),
                            "a role session's credentials need a session token".to_string(),
                            "add session_token = \"...\" (what the caller sends as X-Amz-Security-Token)",
                        ));
                    }
                    if !keys.insert(&c.access_key_id) {
                        return Err(bad(
                            format!("{rt}.credentials.access_key_id"),
                            format!("{} is used twice", c.access_key_id),
                            "give each role and user its own key",
                        ));
                    }
                }
                if !(900..=43_200).contains(&role.max_session_s) {
                    return Err(bad(
                        format!("{rt}.max_session_s"),
                        format!("{} is outside 900..=43200", role.max_session_s),
                        "use a value IAM accepts",
                    ));
                }
                for (name, doc) in [("policy", &role.policy), ("trust", &role.trust)] {
                    if let Some(Err(e)) = doc.as_ref().map(PolicyDocument::validate) {
                        return Err(bad(format!("{rt}.{name}"), e.to_string(), "rewrite the condition"));
                    }
                }
            }
            let mut user_names = HashSet::new();
            for (ui, user) in acct.users.iter().enumerate() {
                let ut = format!("{at}.users[{ui}]");
                if user.name.is_empty() || !user_names.insert(&user.name) {
                    return Err(bad(
                        format!("{ut}.name"),
                        format!("{:?} is empty or duplicated", user.name),
                        "give each user a unique name",
                    ));
                }
                let c = &user.credentials;
                if !c.access_key_id.starts_with("AKIA") || c.access_key_id.len() < 16 || c.session_token.is_some() {
                    return Err(bad(
                        format!("{ut}.credentials"),
                        format!("{:?} is not a user's long-term access key", c.access_key_id),
                        "use AKIA followed by at least 12 characters and no session_token (a session's ASIA keys belong to a role)",
                    ));
                }
                if !keys.insert(&c.access_key_id) {
                    return Err(bad(
                        format!("{ut}.credentials.access_key_id"),
                        format!("{} is used twice", c.access_key_id),
                        "give each role and user its own key",
                    ));
                }
                if let Some(Err(e)) = user.policy.as_ref().map(PolicyDocument::validate) {
                    return Err(bad(format!("{ut}.policy"), e.to_string(), "rewrite the condition"));
                }
            }
            let mut fn_names = HashSet::new();
            for (fi, f) in acct.functions.iter().enumerate() {
                let ft = format!("{at}.functions[{fi}]");
                if f.name.is_empty()
                    || !f
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    || !fn_names.insert(&f.name)
                {
                    return Err(bad(
                        format!("{ft}.name"),
                        format!("{:?} is empty, duplicated or not [A-Za-z0-9-_]", f.name),
                        "use a unique Lambda function name",
                    ));
                }
                for (xi, al) in f.aliases.iter().enumerate() {
                    if al.version != "$LATEST" && !f.versions.contains(&al.version) {
                        return Err(bad(
                            format!("{ft}.aliases[{xi}].version"),
                            format!(
                                "alias {} points to version {:?}, which is not in versions",
                                al.name, al.version
                            ),
                            "add the version to versions = [...]",
                        ));
                    }
                    if al.name.bytes().all(|b| b.is_ascii_digit()) || al.name == "$LATEST" {
                        return Err(bad(
                            format!("{ft}.aliases[{xi}].name"),
                            format!("{:?} looks like a version", al.name),
                            "an alias name is not all digits (the model's Alias pattern)",
                        ));
                    }
                    if let Some(Err(e)) = al.resource_policy.as_ref().map(PolicyDocument::validate) {
                        return Err(bad(
                            format!("{ft}.aliases[{xi}].resource_policy"),
                            e.to_string(),
                            "rewrite the condition",
                        ));
                    }
                }
                if let Some(Err(e)) = f.resource_policy.as_ref().map(PolicyDocument::validate) {
                    return Err(bad(
                        format!("{ft}.resource_policy"),
                        e.to_string(),
                        "rewrite the condition",
                    ));
                }
                for (v, doc) in &f.version_policies {
                    if !f.versions.contains(v) {
                        return Err(bad(
                            format!("{ft}.version_policies.{v}"),
                            format!("version {v:?} is not in versions"),
                            "add the version to versions = [...]",
                        ));
                    }
                    if let Err(e) = doc.validate() {
                        return Err(bad(
                            format!("{ft}.version_policies.{v}"),
                            e.to_string(),
                            "rewrite the condition",
                        ));
                    }
                }
                for v in f.version_networks.keys() {
                    if !f.versions.contains(v) {
                        return Err(bad(
                            format!("{ft}.version_networks.{v}"),
                            format!("version {v:?} is not in versions"),
                            "add the version to versions = [...]",
                        ));
                    }
                    if f.vpc
                        .as_ref()
                        .is_none_or(|n| n.eni_mode != crate::local::scenario::EniMode::Hyperplane)
                    {
                        return Err(bad(
                            format!("{ft}.version_networks.{v}"),
                            "a version's network needs the function on Hyperplane networking".to_string(),
                            "give the function a vpc with eni_mode = \"hyperplane\"",
                        ));
                    }
                }
                let a = &f.async_invoke;
                if a.maximum_retry_attempts > 2 || !(60..=21_600).contains(&a.maximum_event_age_s) {
                    return Err(bad(
                        format!("{ft}.async_invoke"),
                        format!(
                            "maximum_retry_attempts {} / maximum_event_age_s {} are outside Lambda's 0-2 / 60-21600",
                            a.maximum_retry_attempts, a.maximum_event_age_s
                        ),
                        "use values EventInvokeConfig accepts",
                    ));
                }
                if let Behaviour::Upstream { upstream } = &f.behaviour {
                    if !upstream.starts_with("http://") {
                        return Err(bad(format!("{ft}.behaviour.upstream"), format!("{upstream:?} is not an http:// URL"), "give a plain http URL such as http://127.0.0.1:9000/2015-03-31/functions/target/invocations"));
                    }
                }
                if let Some(v) = &f.vpc {
                    if v.subnet_ids.is_empty() {
                        return Err(bad(
                            format!("{ft}.vpc.subnet_ids"),
                            "is empty".into(),
                            "list at least one subnet",
                        ));
                    }
                    if !(v.ec2_api_rate.is_finite() && v.ec2_api_rate >= 0.0) {
                        return Err(bad(
                            format!("{ft}.vpc.ec2_api_rate"),
                            "must be a non-negative number".into(),
                            "give calls per second, e.g. 10.0",
                        ));
                    }
                }
            }
        }
        for (ui, u) in self.updates.iter().enumerate() {
            let known = |n: &String| self.accounts.iter().any(|a| a.functions.iter().any(|f| &f.name == n));
            if let Some(n) = u.functions.iter().find(|n| !known(n)) {
                return Err(bad(
                    format!("updates[{ui}].functions"),
                    format!("{n:?} is not a function of the scenario"),
                    "name functions of [[accounts.functions]]",
                ));
            }
            if !(u.at_s.is_finite() && u.at_s >= 0.0) {
                return Err(bad(
                    format!("updates[{ui}].at_s"),
                    "must be a time in seconds, 0 or more".into(),
                    "e.g. at_s = 3",
                ));
            }
        }
        for (fi, f) in self.faults.iter().enumerate() {
            let known = |n: &String| self.accounts.iter().any(|a| a.functions.iter().any(|x| &x.name == n));
            if let Some(n) = f.function.as_ref().filter(|n| !known(n)) {
                return Err(bad(
                    format!("faults[{fi}].function"),
                    format!("{n:?} is not a function of the scenario"),
                    "name functions of [[accounts.functions]]",
                ));
            }
            if let Err(e) = crate::local::faults::Faults::default().add(f.clone()) {
                return Err(bad(
                    format!("faults[{fi}]"),
                    e.to_string(),
                    "write it as POST /_local/faults takes it (docs/local.md)",
                ));
            }
        }
        Ok(())
    }

    /// Organizations' ids in AWS Organizations' formats, and OUs that form a tree.
    fn validate_organizations(
        &self,
        bad: &impl Fn(String, String, &str) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        // AWS Organizations' id patterns: o-[a-z0-9]{10,32}, r-[0-9a-z]{4,32},
        // ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}.
        let alnum = |s: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let id_like = |s: &str, prefix: &str, len: std::ops::RangeInclusive<usize>| {
            s.strip_prefix(prefix).is_some_and(|rest| alnum(rest, len))
        };
        let mut org_ids = HashSet::new();
        for (oi, org) in self.organizations.iter().enumerate() {
            let at = format!("organizations[{oi}]");
            if !id_like(&org.id, "o-", 10..=32) || !org_ids.insert(&org.id) {
                return Err(bad(
                    format!("{at}.id"),
                    format!("{:?} is not an organization id, or is declared twice", org.id),
                    "use o- and 10-32 lowercase letters or digits, e.g. \"o-a1b2c3d4e5\", once",
                ));
            }
            if !id_like(&org.root, "r-", 4..=32) {
                return Err(bad(
                    format!("{at}.root"),
                    format!("{:?} is not a root id", org.root),
                    "use r- and 4-32 lowercase letters or digits, e.g. \"r-ab12\"",
                ));
            }
            let mut seen: HashSet<&str> = HashSet::from([org.root.as_str()]);
            for (ui, u) in org.units.iter().enumerate() {
                let ut = format!("{at}.units[{ui}]");
                let well_formed =
                    u.id.strip_prefix("ou-")
                        .and_then(|rest| rest.split_once('-'))
                        .is_some_and(|(root, unit)| alnum(root, 4..=32) && alnum(unit, 8..=32));
                if !well_formed || seen.contains(u.id.as_str()) {
                    return Err(bad(
                        format!("{ut}.id"),
                        format!("{:?} is not an OU id, or is declared twice", u.id),
                        "use ou-, 4-32 letters or digits, -, 8-32 letters or digits, e.g. \"ou-ab12-11111111\", once",
                    ));
                }
                if !seen.contains(u.parent.as_str()) {
                    return Err(bad(
                        format!("{ut}.parent"),
                        format!("{:?} is neither the root nor an OU listed before it", u.parent),
                        "list a parent OU before its children, or name the root",
                    ));
                }
                seen.insert(&u.id);
            }
        }
        Ok(())
    }
}
