//! Octopus's task queue, as `fleet` and `rollout` use it: a template project's tenants and
//! runbooks, runbook runs started through the Executions API, server tasks found by query (per
//! runbook and tenant, newest first, a few at a time: never a server's whole history),
//! cancellation, and the artifacts a task attached with their content.
//!
//! Sources: OctopusDeploy/docs `src/pages/docs/api/_generated/tasks.md` (the task list's `name`,
//! `project`, `runbook`, `tenant`, `states`, `ids`, `take` filters, "sorted from newest to
//! oldest"), `runbook-runs.md` (create/v1), `artifacts.md` (`regarding`, `/content`); the task
//! waiters of the Octopus CLI (`GET /api/tasks?ids=`), api-client.ts (`GET
//! /api/{space}/tasks?ids=…` in batches of 300) and the cancel route they call
//! (`POST /api/tasks/{id}/cancel`, api-client.ts `serverTaskRepository.ts`).

use super::client::{decode, ApiRequest, OctopusClient};
use super::error::OctopusError;
use super::paging::Page;
use super::resources::{
    pair_with_processes, runbook_processes_by_ids, Artifact, DeploymentProcess, RunRunbook,
    RunRunbookResponse, Runbook, RunbookRunServerTask, ServerTask, Tenant, COMPLETED_STATES,
};

/// The task type of a runbook run (`name=RunbookRun`).
pub const RUNBOOK_RUN: &str = "RunbookRun";

/// Task IDs asked for in one request (api-client.ts asks for 300; a shorter URL is kinder to
/// proxies).
const IDS_PER_REQUEST: usize = 100;

/// The tenants connected to `project_id` (`tenants?projectId=`), every page.
pub async fn tenants_of_project(
    client: &OctopusClient,
    space_id: &str,
    project_id: &str,
) -> Result<Vec<Tenant>, OctopusError> {
    let request = ApiRequest::get(format!("api/{space_id}/tenants"))
        .query("projectId", project_id)
        .query("skip", 0)
        .query("take", 1000);
    client.list_all(request).await
}

/// The project's database runbooks, each with its process (two requests).
pub async fn project_runbooks(
    client: &OctopusClient,
    space_id: &str,
    project_id: &str,
) -> Result<Vec<(Runbook, Option<DeploymentProcess>)>, OctopusError> {
    let request = ApiRequest::get(format!("api/{space_id}/projects/{project_id}/runbooks"))
        .query("skip", 0)
        .query("take", 1000);
    let runbooks: Vec<Runbook> = client.list_all(request).await?;
    let ids: Vec<&str> = runbooks
        .iter()
        .filter_map(|runbook| runbook.runbook_process_id.as_deref())
        .collect();
    let processes = runbook_processes_by_ids(client, space_id, &ids).await?;
    Ok(pair_with_processes(runbooks, &processes))
}

/// Which runs of a runbook for one tenant to find.
#[derive(Debug, Clone)]
pub struct RunsQuery<'a> {
    /// The project's ID.
    pub project_id: &'a str,
    /// The runbook's ID.
    pub runbook_id: &'a str,
    /// The tenant's ID.
    pub tenant_id: &'a str,
    /// Only finished runs (`Success`, `Failed`, `Canceled`, `TimedOut`).
    pub completed_only: bool,
    /// How many, newest first.
    pub take: usize,
}

/// The newest runs of one runbook for one tenant, newest first: one request however long the
/// server's history is.
pub async fn latest_runs(
    client: &OctopusClient,
    space_id: &str,
    query: &RunsQuery<'_>,
) -> Result<Vec<ServerTask>, OctopusError> {
    let mut request = ApiRequest::get(format!("api/{space_id}/tasks"))
        .query("name", RUNBOOK_RUN)
        .query("project", query.project_id)
        .query("runbook", query.runbook_id)
        .query("tenant", query.tenant_id)
        .query("skip", 0)
        .query("take", query.take);
    if query.completed_only {
        request = request.query("states", COMPLETED_STATES.join(","));
    }
    let page: Page<ServerTask> = client.send_json(&request).await?;
    Ok(page.items)
}

/// The tasks with these IDs (any order; a task the server does not know is missing).
pub async fn tasks_by_ids(
    client: &OctopusClient,
    space_id: &str,
    ids: &[String],
) -> Result<Vec<ServerTask>, OctopusError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_REQUEST) {
        let request = ApiRequest::get(format!("api/{space_id}/tasks"))
            .query("ids", chunk.join(","))
            .query("skip", 0)
            .query("take", chunk.len());
        let page: Page<ServerTask> = client.send_json(&request).await?;
        found.extend(page.items);
    }
    Ok(found)
}

/// Queue the runbook runs `command` asks for: ONE POST, never repeated here. After an ambiguous
/// failure the caller looks for the runs it may have made before it tries again.
pub async fn run_runbook(
    client: &OctopusClient,
    space_id: &str,
    command: &RunRunbook,
) -> Result<Vec<RunbookRunServerTask>, OctopusError> {
    let path = format!("api/{space_id}/runbook-runs/create/v1");
    let response = client.post(&path, command).await?;
    let answer: RunRunbookResponse = decode(&ApiRequest::get(path), &response.body)?;
    Ok(answer.tasks)
}

/// Ask the server to cancel a task (a queued one ends at once, an executing one is stopped).
pub async fn cancel(client: &OctopusClient, task_id: &str) -> Result<ServerTask, OctopusError> {
    let path = format!("api/tasks/{task_id}/cancel");
    let response = client.post(&path, &serde_json::json!({})).await?;
    decode(&ApiRequest::get(path), &response.body)
}

/// The artifacts a task attached.
pub async fn artifacts_of(
    client: &OctopusClient,
    space_id: &str,
    task_id: &str,
) -> Result<Vec<Artifact>, OctopusError> {
    let request = ApiRequest::get(format!("api/{space_id}/artifacts"))
        .query("regarding", task_id)
        .query("skip", 0)
        .query("take", 100);
    let page: Page<Artifact> = client.send_json(&request).await?;
    Ok(page.items)
}

/// An artifact's content (bounded like every answer: `client::JSON_BODY_LIMIT`).
pub async fn artifact_content(
    client: &OctopusClient,
    space_id: &str,
    artifact_id: &str,
) -> Result<Vec<u8>, OctopusError> {
    let request = ApiRequest::get(format!("api/{space_id}/artifacts/{artifact_id}/content"));
    Ok(client.send(&request).await?.body)
}

/// The task's page in the web UI (`<server>/app#/Spaces-1/tasks/ServerTasks-456`:
/// OctopusDeploy/mcp-server `docs/working-with-urls.md`).
pub fn task_url(server: &str, space_id: &str, task_id: &str) -> String {
    format!(
        "{}/app#/{space_id}/tasks/{task_id}",
        server.trim_end_matches('/')
    )
}

/// The tenant's page in the web UI (the tenant's `Links.Web`, `/app#/{space}/tenants/{id}`).
pub fn tenant_url(server: &str, space_id: &str, tenant_id: &str) -> String {
    format!(
        "{}/app#/{space_id}/tenants/{tenant_id}",
        server.trim_end_matches('/')
    )
}
