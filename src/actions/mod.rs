//! The actions octofleet runs, one per invocation: the one error type they report with its exit
//! code, the [`Server`] they talk to, and the [`Report`] each hands back to `main`.

pub mod create_space;
pub mod deploy;
pub mod fleet;
pub mod fork;
pub mod merge;
mod repository;
pub mod rollout;
pub mod serialize;
mod server;

pub(crate) use server::{Server, SpaceName, GIVE_ID_OR_NAME};

use crate::apply::space_blueprint::ConvergeError;
use crate::config::ConfigError;
use crate::octopus::tenant_variables::TenantVariableError;
use crate::octopus::OctopusError;
use crate::service_messages::ServiceMessage;

/// Exit codes, as documented: 0 done, 1 the operation failed, 2 invalid input, 3 plan found
/// changes (merge: conflicts need a person, or `--check` found upstream changes).
pub const EXIT_FAILED: i32 = 1;
/// Invalid input: nothing was done.
pub const EXIT_INVALID_INPUT: i32 = 2;
/// `plan` (or `deploy --dry-run`) found changes.
pub const EXIT_CHANGES: i32 = 3;

/// Why an action stopped: a typed error kept whole, so `main` can print its cause chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why an action stopped; [`ActionError::exit_code`] is the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The inputs were malformed or missing (every problem at once).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Input that was well-formed but refers to something wrong (a blueprint reference, a CA
    /// file, a space that does not exist, a package that cannot be read).
    #[error(transparent)]
    Input(Cause),
    /// An Octopus server refused or failed a request.
    #[error("{server}: {source}{}", hint(.source))]
    Octopus {
        /// Which server, said for people: "the managed space's server https://…".
        server: String,
        /// The server's error.
        #[source]
        source: Box<OctopusError>,
    },
    /// create-space could not write the space ID back to the tenant.
    #[error("writing the space ID back to the tenant on {server}: {source}")]
    TenantVariable {
        /// The management server, said for people.
        server: String,
        /// Why the write-back failed.
        #[source]
        source: Box<TenantVariableError>,
    },
    /// The operation failed for a reason that is not a server error (a file could not be
    /// written, the feed refused a duplicate, git failed).
    #[error(transparent)]
    Failed(Cause),
}

/// What was being done when an error happened, with the error kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub(crate) struct While {
    pub(crate) doing: String,
    #[source]
    pub(crate) source: Cause,
}

impl While {
    pub(crate) fn new(doing: impl Into<String>, source: impl Into<Cause>) -> Self {
        While {
            doing: doing.into(),
            source: source.into(),
        }
    }
}

fn hint(error: &OctopusError) -> &'static str {
    if error.is_unauthorized() {
        " — check the API key input for this server and that its user may do this"
    } else if matches!(error, OctopusError::Transport { .. }) {
        " — check the URL input and that the server is reachable from this worker"
    } else {
        ""
    }
}

impl ActionError {
    /// 2 for input problems, 1 for every other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            ActionError::Config(_) | ActionError::Input(_) => EXIT_INVALID_INPUT,
            _ => EXIT_FAILED,
        }
    }

    /// Invalid input (exit 2): a typed error, or a message.
    pub fn input(cause: impl Into<Cause>) -> ActionError {
        ActionError::Input(cause.into())
    }

    /// The operation failed (exit 1): a typed error, or a message.
    pub fn failed(cause: impl Into<Cause>) -> ActionError {
        ActionError::Failed(cause.into())
    }

    pub(crate) fn octopus(server: &str) -> impl FnOnce(OctopusError) -> ActionError + '_ {
        move |source| ActionError::Octopus {
            server: server.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn converge(server: &str) -> impl FnOnce(ConvergeError) -> ActionError + '_ {
        move |error| match error {
            ConvergeError::Octopus(source) => ActionError::octopus(server)(source),
            invalid @ (ConvergeError::UnknownReferences(_) | ConvergeError::Conflicts(_)) => {
                ActionError::input(invalid)
            }
        }
    }
}

/// Stop before any work when the report directory cannot take the report: an input error
/// naming `Octofleet.ReportDir`.
pub(crate) fn check_report_dir(dir: Option<&std::path::Path>) -> Result<(), ActionError> {
    let Some(dir) = dir else { return Ok(()) };
    crate::report::check_dir(dir).map_err(|error| {
        ActionError::input(While::new(
            format!(
                "{} {} cannot hold the report: give a directory this worker may write to",
                crate::inputs::REPORT_DIR.octopus,
                dir.display()
            ),
            error,
        ))
    })
}

/// What an action hands back: the summary logged, its Octopus output variables, the JSON
/// summary (`--output json`), and the exit code on success.
pub trait Report: serde::Serialize + std::fmt::Display {
    /// The output variables set with `--output text` (service messages on stdout).
    fn output_variables(&self) -> Vec<ServiceMessage>;

    /// Lines logged before the summary line (the report's `Display`).
    fn details(&self) -> Vec<String> {
        Vec::new()
    }

    /// 0, or [`EXIT_CHANGES`] when a plan found changes.
    fn exit_code(&self) -> u8 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// A typed error reaches `main` whole: its message, and its cause as the source.
    #[test]
    fn errors_keep_their_causes_and_exit_codes() {
        let io = std::io::Error::other("disk full");
        let error = ActionError::failed(While::new("cannot write the package into /out", io));
        assert_eq!(error.to_string(), "cannot write the package into /out");
        assert_eq!(error.source().unwrap().to_string(), "disk full");
        assert_eq!(error.exit_code(), EXIT_FAILED);
        let error = ActionError::input("space `x` was not found");
        assert_eq!(error.exit_code(), EXIT_INVALID_INPUT);
        assert!(error.source().is_none());
    }
}
