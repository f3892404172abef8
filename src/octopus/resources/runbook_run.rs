//! Runbook runs through the Executions API: `POST /api/{space}/runbook-runs/create/v1`, as
//! go-octopusdeploy (`pkg/runbooks/run_runbook_v1.go`), the Octopus CLI
//! (`pkg/cmd/runbook/run/run.go`) and api-client.ts (`runbookRunRepository.ts`) send it, and its
//! answer.

use serde::{Deserialize, Serialize};

/// The create/v1 command: run `runbook_name` of `project_name` in `environment_names` for
/// `tenants` (names or IDs). The server runs the runbook's published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RunRunbook {
    /// The space's ID (go-octopusdeploy sends it beside `SpaceIdOrName`).
    pub space_id: String,
    /// "the server's API currently expects there to be a SpaceIdOrName value" (api-client.ts).
    pub space_id_or_name: String,
    /// The project's name or ID.
    pub project_name: String,
    /// The runbook's name.
    pub runbook_name: String,
    /// Environments by name.
    pub environment_names: Vec<String>,
    /// Tenants by name or ID.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Tenant tags (`Tag Set/Tag`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tenant_tags: Vec<String>,
}

/// One run the command queued, and its task. Some server versions answered these keys in
/// camelCase (api-client.ts: "The API has been corrected to return PascalCase, but was returning
/// camelCase for a number of versions"), so both are read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunbookRunServerTask {
    /// `RunbookRuns-N`.
    #[serde(rename = "RunbookRunId", alias = "runbookRunId")]
    pub runbook_run_id: String,
    /// `ServerTasks-N`.
    #[serde(rename = "ServerTaskId", alias = "serverTaskId")]
    pub server_task_id: String,
}

/// The answer to create/v1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunRunbookResponse {
    /// One per tenant and environment.
    #[serde(
        rename = "RunbookRunServerTasks",
        alias = "runbookRunServerTasks",
        default
    )]
    pub tasks: Vec<RunbookRunServerTask>,
}
