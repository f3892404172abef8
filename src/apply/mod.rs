//! Converging Octopus resources to a desired state: reads, checks and the writes (the desired
//! states themselves are built in `convert`).

pub mod checks;
pub mod converge;
pub mod deploy;
pub mod project;
pub mod resolve;
pub mod space_blueprint;
pub mod triggers;

// What converging did is plain data below `convert`, so both can name it.
pub use crate::outcome::{Outcome, OutcomeAction, Summary};
