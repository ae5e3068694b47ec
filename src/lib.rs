//! pulldoctor: diagnose container image pull failures.
//!
//! One-way dependencies: `evidence` and `probe` collect facts, `rules` and
//! `engine` turn logs and facts into findings, `report` renders them.

pub mod check;
pub mod detect;
pub mod engine;
pub mod evidence;
pub mod input;
pub mod probe;
pub mod proxyenv;
pub mod recheck;
pub mod redact;
pub mod report;
pub mod route;
pub mod rules;
