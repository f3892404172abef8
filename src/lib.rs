//! octofleet: run a fleet of managed Octopus Deploy spaces from template projects.

pub mod actions;
pub mod apply;
pub mod blueprint;
pub mod cli;
pub mod config;
pub mod convert;
pub mod fleet;
pub mod forge;
pub mod log_format;
pub mod octopus;
pub mod origin;
pub mod outcome;
pub mod package;
pub mod portable;
pub mod report;
pub mod secret;
pub mod service_messages;
pub mod terraform;
