//! Converging Octopus resources to a desired state: pure desired-state and diff functions, then the writes.

pub mod converge;
pub mod outcome;
pub mod project;
pub mod resolve;
pub mod space_blueprint;

pub use outcome::{Outcome, OutcomeAction, Summary};
