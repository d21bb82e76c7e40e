//! The tests that need the crate's insides: the real SDK clients, the Lambda handlers and the
//! load engine against the local endpoint on loopback, one module an area. They were
//! integration tests (`tests/it`) until the library's surface became an API (issue 29); the
//! tests that drive the built binaries, or only the public API, are still there.

mod common;
mod doctor;
mod endpoints;
mod load_support;
mod logs;

mod fuzz_http;
mod fuzz_inputs;
mod invoke_wire;
mod invoker_handler;
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
mod security_secrets;
mod signed_path;
mod tenants;
mod tls_roots;
