//! The integration tests: the real client and the real `octofleet` binary against the emulator.

mod bad_input;
mod client;
mod create_space;
mod deploy;
mod faults;
mod fleet;
mod fork;
mod hostile_input;
mod image;
mod key_scoping;
mod merge;
mod payloads;
mod report_checks;
mod rollout;
mod sandbox;
mod serialize;
mod server_rules;
mod step_templates;
mod support;
mod terraform;
