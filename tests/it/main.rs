//! xinvoke's integration tests, one binary: the real SDK clients, the CLI and the Lambda
//! binaries against the local endpoint on loopback. Each module is one area; shared set-up is
//! in `tests/common` and `load_support`. (The tests that own the process's log subscriber are
//! the `logs` binary.)

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod cli;
mod cli_output;
mod cli_profiles;
mod delivery;
mod deploy_metadata;
mod docs;
mod doctor;
mod endpoints;
mod gateway;
mod gateway_tls;
mod load_cli;
mod organization;
mod public_api;
mod transcripts;
