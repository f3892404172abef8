//! octofleet: run a fleet of managed Octopus Deploy spaces from template projects.

pub mod actions;
mod apply;
mod blueprint;
pub mod cli;
pub mod config;
mod convert;
pub mod forge;
pub mod inputs;
pub mod log_format;
pub mod octopus;
mod origin;
mod outcome;
pub mod package;
pub mod portable;
pub mod report;
pub mod secret;
pub mod service_messages;
pub mod terraform;
