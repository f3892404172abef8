//! Runbooks (`/api/{space}/runbooks`, `/projects/{id}/runbooks`).

use super::project::ConnectivityPolicy;
use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Runbook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_process_id: Option<String>,
    #[serde(default)]
    pub environment_scope: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environments: Vec<String>,
    #[serde(default)]
    pub multi_tenancy_mode: Option<String>,
    #[serde(default)]
    pub default_guided_failure_mode: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub force_package_download: bool,
    #[serde(default)]
    pub connectivity_policy: Option<ConnectivityPolicy>,
    #[serde(default)]
    pub run_retention_policy: Option<RunRetentionPolicy>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RunRetentionPolicy {
    #[serde(default, deserialize_with = "null_as_default")]
    pub quantity_to_keep: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub should_keep_forever: bool,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Runbook, "runbook", "runbooks", owned_by_project);

/// The processes of database runbooks, in one request (`runbookProcesses?ids=`) whatever their number.
pub async fn processes_by_ids(
    client: &crate::octopus::OctopusClient,
    space_id: &str,
    ids: &[&str],
) -> Result<Vec<super::DeploymentProcess>, crate::octopus::OctopusError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let request = crate::octopus::ApiRequest::get(format!("api/{space_id}/runbookProcesses"))
        .query("ids", ids.join(","))
        .query("take", ids.len());
    client.list_all(request).await
}

/// Each runbook with its process (matched by `RunbookProcessId`), from one batch read.
pub fn pair_with_processes(
    runbooks: Vec<Runbook>,
    processes: &[super::DeploymentProcess],
) -> Vec<(Runbook, Option<super::DeploymentProcess>)> {
    runbooks
        .into_iter()
        .map(|runbook| {
            let process = runbook.runbook_process_id.as_deref().and_then(|id| {
                processes
                    .iter()
                    .find(|process| {
                        process
                            .id
                            .as_deref()
                            .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
                    })
                    .cloned()
            });
            (runbook, process)
        })
        .collect()
}

/// The runbooks a Config-as-Code project keeps in git, on branch `git_ref`
/// (`/projects/{id}/{gitRef}/runbooks`, the project's `Runbooks` link once they are migrated).
pub async fn runbooks_in_branch(
    client: &crate::octopus::OctopusClient,
    space_id: &str,
    project_id: &str,
    git_ref: &str,
) -> Result<Vec<Runbook>, crate::octopus::OctopusError> {
    let git_ref: String = url::form_urlencoded::byte_serialize(git_ref.as_bytes()).collect();
    let request = crate::octopus::ApiRequest::get(format!(
        "api/{space_id}/projects/{project_id}/{git_ref}/runbooks"
    ))
    .query("take", 1000);
    client.list_all(request).await
}
