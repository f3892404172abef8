//! Server tasks (`/api/tasks/{id}`, `/api/{space}/tasks`), as the task resource's fields are
//! listed in OctopusDeploy/docs `src/pages/docs/api/_generated/tasks.md` and go-octopusdeploy
//! `pkg/tasks/task.go`.

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One server task: a runbook run, a deployment, a system task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ServerTask {
    /// `ServerTasks-N`.
    pub id: String,
    /// The space it ran in.
    #[serde(default)]
    pub space_id: Option<String>,
    /// The task type (`RunbookRun`, `Deploy`).
    #[serde(default)]
    pub name: Option<String>,
    /// What it does, as the task list shows it.
    #[serde(default)]
    pub description: Option<String>,
    /// `Queued`, `Executing`, `Cancelling`, `Success`, `Failed`, `Canceled` or `TimedOut`.
    #[serde(default)]
    pub state: String,
    /// Whether it has finished (any of the last four states).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_completed: bool,
    /// Whether it finished with `Success`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub finished_successfully: bool,
    /// When it was queued (the server's clock).
    #[serde(default)]
    pub queue_time: Option<String>,
    /// When it started executing.
    #[serde(default)]
    pub start_time: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub completed_time: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Server links: `Self`, `Web`, `Raw`, `Details`, `Artifacts`, ….
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: BTreeMap<String, String>,
    /// What this model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ServerTask {
    /// The task ended `Success`.
    pub fn succeeded(&self) -> bool {
        self.state == "Success"
    }

    /// When it ended, or else when it started, or was queued: the time a person reads.
    pub fn last_time(&self) -> Option<&str> {
        self.completed_time
            .as_deref()
            .or(self.start_time.as_deref())
            .or(self.queue_time.as_deref())
    }
}

/// The states of a finished task (`states=` in a query for completed runs).
pub const COMPLETED_STATES: [&str; 4] = ["Success", "Failed", "Canceled", "TimedOut"];
