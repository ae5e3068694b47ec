//! The single integration-test binary (one link instead of many).

mod cli;
mod explain_fixtures;
mod proxyenv;
mod rules_tidy;
