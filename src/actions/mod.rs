//! The actions octofleet runs, one per invocation, and the one error type they report with its exit code.

pub mod create_space;
pub mod deploy;
pub mod fork;
pub mod serialize;

use crate::apply::space_blueprint::ConvergeError;
use crate::config::ConfigError;
use crate::octopus::tenant_variables::TenantVariableError;
use crate::octopus::{ClientBuildError, OctopusError};

/// Exit codes, as documented: 0 done, 1 the operation failed, 2 invalid input, 3 plan found changes.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_INVALID_INPUT: i32 = 2;
/// `plan` (or `deploy --dry-run`) found changes.
pub const EXIT_CHANGES: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Input that was well-formed but refers to something wrong (a blueprint reference, a CA file).
    #[error("{0}")]
    Input(String),
    #[error("{server}: {source}{}", hint(.source))]
    Octopus {
        /// Which server, said for people: "the managed space's server https://…".
        server: String,
        #[source]
        source: Box<OctopusError>,
    },
    #[error("writing the space ID back to the tenant on {server}: {source}")]
    TenantVariable {
        server: String,
        #[source]
        source: Box<TenantVariableError>,
    },
    /// The operation failed for a reason that is not a server error (a file could not be written,
    /// the feed refused a duplicate).
    #[error("{0}")]
    Failed(String),
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
    pub fn exit_code(&self) -> i32 {
        match self {
            ActionError::Config(_) | ActionError::Input(_) => EXIT_INVALID_INPUT,
            _ => EXIT_FAILED,
        }
    }

    pub fn octopus(server: &str) -> impl FnOnce(OctopusError) -> ActionError + '_ {
        move |source| ActionError::Octopus {
            server: server.to_owned(),
            source: Box::new(source),
        }
    }

    pub fn converge(server: &str) -> impl FnOnce(ConvergeError) -> ActionError + '_ {
        move |error| match error {
            ConvergeError::UnknownReferences(_) => ActionError::Input(error.to_string()),
            ConvergeError::Octopus(source) => ActionError::Octopus {
                server: server.to_owned(),
                source: Box::new(source),
            },
        }
    }

    pub fn client_build(error: ClientBuildError) -> ActionError {
        match error {
            ClientBuildError::Http(_) => ActionError::Input(error.to_string()),
            other => ActionError::Input(other.to_string()),
        }
    }
}
