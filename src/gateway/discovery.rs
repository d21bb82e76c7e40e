//! Discovery across accounts, what Gloo's function discovery cannot do: list the functions of
//! the upstream's account (ListFunctions, with the upstream's credentials: a role assumed in
//! that account, since ListFunctions only ever lists the caller's own account) and each one's
//! aliases (ListAliases). A denied call is named with the permission to grant.

use crate::adapters::clients;
use crate::adapters::config::Auth;
use crate::gateway::config::{Discovered, Upstream};
use crate::gateway::upstreams::{discovered_function, UpstreamError};
use aws_config::SdkConfig;
use aws_sdk_lambda::error::ProvideErrorMetadata;

/// Most functions one discovery takes from an account (ListFunctions pages of 50).
const MAX_FUNCTIONS: usize = 2_000;

/// The functions of `u`'s account and their aliases, by logical name.
pub async fn list(u: &Upstream, base: &SdkConfig, auth: &Auth) -> Result<Discovered, UpstreamError> {
    let err = |problem: String| UpstreamError {
        upstream: u.name.clone(),
        problem,
    };
    let who = match auth {
        Auth::AssumeRole(a) => format!("the role {}", a.role_arn),
        Auth::ExecutionRole => "the gateway's own credentials".to_string(),
    };
    let (client, _session) = clients::lambda_client(base, auth, &u.region).await;
    let mut names = Vec::new();
    let mut other_accounts = 0usize;
    let mut pages = client.list_functions().max_items(50).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e.code() {
            Some("AccessDeniedException") => err(format!(
                "discovery: ListFunctions is denied to {who}: allow lambda:ListFunctions (Resource \"*\") in its identity policy"
            )),
            code => err(format!(
                "discovery: ListFunctions failed ({})",
                code.unwrap_or("no answer")
            )),
        })?;
        for f in page.functions() {
            let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) else {
                continue;
            };
            if arn.split(':').nth(4) == Some(u.account.as_str()) {
                names.push(name.to_string());
            } else {
                other_accounts += 1;
            }
        }
        if names.len() >= MAX_FUNCTIONS {
            break;
        }
    }
    if names.is_empty() && other_accounts > 0 {
        return Err(err(format!(
            "discovery lists the account of {who}, not {}: ListFunctions cannot cross accounts; give the upstream a roleArn in {}",
            u.account, u.account
        )));
    }
    let mut found = Discovered::new();
    for name in names {
        if let Some(f) = discovered_function(&name, None) {
            found.insert(f.logical_name.clone(), f);
        }
        let arn = u.arn_of(&name, None).to_string();
        let mut pages = client.list_aliases().function_name(&arn).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| match e.code() {
                Some("AccessDeniedException") => err(format!(
                    "discovery: ListAliases on {name} is denied to {who}: allow lambda:ListAliases on {arn}"
                )),
                code => err(format!(
                    "discovery: ListAliases on {name} failed ({})",
                    code.unwrap_or("no answer")
                )),
            })?;
            for a in page.aliases() {
                if let Some(f) = a.name().and_then(|alias| discovered_function(&name, Some(alias))) {
                    found.insert(f.logical_name.clone(), f);
                }
            }
        }
    }
    Ok(found)
}
