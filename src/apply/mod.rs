//! Converging Octopus resources to a desired state: reads, checks and the writes (the desired
//! states themselves are built in `convert`).

mod carried;
pub mod checks;
pub mod converge;
mod definitions;
pub mod deploy;
pub mod project;
pub mod resolve;
mod script_modules;
pub mod space_blueprint;
mod step_templates;
pub mod triggers;

// What converging did is plain data below `convert`, so both can name it.
pub use crate::outcome::{Outcome, OutcomeAction, Summary};
