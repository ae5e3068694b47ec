//! The single integration-test binary (one link instead of many).

mod common;

mod check_lab;
mod check_rules;
mod cli;
mod evidence;
mod explain_fixtures;
mod probe;
mod proxyenv;
mod robustness;
mod rules_tidy;
