//! xinvoke's integration tests, one binary: the real SDK clients, the CLI and the Lambda
//! binaries against the local endpoint on loopback. Each module is one area; shared set-up is
//! in `tests/common` and `load_support`. (The tests that own the process's log subscriber are
//! the `logs` binary.)

#[path = "../common/mod.rs"]
mod common;
mod load_support;

mod architecture;
mod cli;
mod cli_output;
mod cli_profiles;
mod delivery;
mod deploy_metadata;
mod doctor;
mod endpoints;
mod fuzz_http;
mod fuzz_inputs;
mod gateway;
mod gateway_tls;
mod invoke_wire;
mod invoker_handler;
mod load_cli;
mod load_engine;
mod load_html;
mod local_control;
mod local_fidelity;
mod local_invoke;
mod local_list;
mod local_read;
mod local_recorded;
mod local_scenarios;
mod local_signing;
mod local_sts;
mod local_upstream;
mod local_vpc;
mod local_web_identity;
mod organization;
mod policy;
mod reliability_credentials;
mod reliability_faults;
mod reliability_soak;
mod routes_parameter;
mod security_boundary;
mod signed_path;
mod tenants;
mod tls_roots;
mod transcripts;
