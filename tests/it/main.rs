//! The integration tests: the real client and the real `octofleet` binary against the emulator.

// An integration test crate is test code throughout: its helpers may unwrap as its tests do
// (clippy's allow-unwrap-in-tests covers only #[test] functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used)]

mod bad_input;
mod client;
mod create_space;
mod deploy;
mod faults;
mod fork;
mod hostile_input;
mod image;
mod merge;
mod payloads;
mod real_server;
mod report_checks;
mod sandbox;
mod serialize;
mod step_templates;
mod support;
mod terraform;
