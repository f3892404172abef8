//! octofleet: run a fleet of managed Octopus Deploy spaces from template projects.

pub mod octopus;
pub mod secret;
pub mod service_messages;
