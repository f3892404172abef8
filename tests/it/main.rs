//! The integration tests: the real client and the real `octofleet` binary against the emulator.

// An integration test crate is test code throughout: its helpers may unwrap as its tests do
// (clippy's allow-unwrap-in-tests covers only #[test] functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used)]

mod bad_input;
mod client;
mod create_space;
mod deploy;
mod emulator_payloads;
mod faults;
mod fleet;
mod forge_limits;
mod fork;
mod git_over_https;
mod hostile_input;
mod image;
mod key_scoping;
mod merge;
mod payloads;
mod process_templates;
mod references;
mod report_checks;
mod rollout;
mod sandbox;
mod script_modules;
mod serialize;
mod server_rules;
mod step_template_travel;
mod step_templates;
mod support;
mod terraform;
mod triggers;
