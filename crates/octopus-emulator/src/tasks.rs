//! Server tasks: the queue every runbook run becomes a task in. `GET /api/tasks` and
//! `/api/{space}/tasks` with the filters the clients send, one task, its details and raw log,
//! and cancellation. Tasks, runbook runs, snapshots and artifacts live in one store
//! ([`Executions`]), beside the spaces.
//!
//! Sources: the API pages generated from the server's swagger in OctopusDeploy/docs
//! (`src/pages/docs/api/_generated/tasks.md`: the list's filters, "sorted from newest to
//! oldest", `take` default 30, the task resource's fields and states), the server's swagger in
//! go-octopusdeploy (`api/octopus_deploy.json`: `/api/tasks/{id}/cancel` "Marks the given task as
//! canceled" and answers the task, `/details`, `/raw`), go-octopusdeploy `pkg/tasks` (`TasksQuery`:
//! `states`, `project`, `runbook`, `tenant`, `ids`, … as query parameters), and the task waiters of
//! the Octopus CLI (`pkg/cmd/task/wait/wait.go`: `GET /api/tasks?ids=…`), api-client.ts
//! (`spaceServerTaskRepository.ts`: `GET /api/{space}/tasks?ids=…&skip&take`) and OctopusClients
//! (`TaskRepository.WaitForCompletion`: `GET` of each task's `Self` link).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::documents::{now, same_id};
use crate::paging::{page_of, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::State;

/// The task type name of a runbook run (`name=RunbookRun` in the task list: OctopusDeploy/docs
/// `tasks.md`, "Task type names to match exactly, such as 'Deploy' or 'RunbookRun'").
pub const RUNBOOK_RUN: &str = "RunbookRun";

/// States of a finished task (`IsCompleted`).
pub fn is_completed_state(state: &str) -> bool {
    matches!(state, "Success" | "Failed" | "Canceled" | "TimedOut")
}

/// One server task. Tasks are made by the server (never sent by a client), so the emulator keeps
/// them typed; what clients see is [`render`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// `ServerTasks-N`.
    pub id: String,
    /// N, for the newest-first order.
    pub number: u64,
    pub space_id: String,
    /// The task type (`RunbookRun`).
    pub name: String,
    pub description: String,
    pub arguments: Value,
    pub state: String,
    pub project_id: Option<String>,
    pub runbook_id: Option<String>,
    pub tenant_id: Option<String>,
    pub environment_id: Option<String>,
    pub queue_time: String,
    pub start_time: Option<String>,
    pub completed_time: Option<String>,
    pub last_updated_time: String,
    pub error_message: Option<String>,
    pub has_warnings_or_errors: bool,
    /// The task log, one line each (`/raw`, and the one activity of `/details`).
    pub log: Vec<String>,
}

/// An artifact a task attached (`createArtifact`), with its content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artifact {
    pub id: String,
    pub number: u64,
    pub space_id: String,
    pub server_task_id: String,
    pub filename: String,
    pub source: String,
    pub created: String,
    #[serde(with = "crate::state::base64_bytes")]
    pub content: Vec<u8>,
}

/// Everything the task queue holds: tasks, the runbook runs and snapshots behind them, the
/// artifacts they attached, and the emulator-only rules that make a task fail or hang.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Executions {
    pub tasks: Vec<Task>,
    /// `RunbookRuns-N` documents.
    pub runs: Vec<Value>,
    /// `RunbookSnapshots-N` documents.
    pub snapshots: Vec<Value>,
    pub artifacts: Vec<Artifact>,
    /// Emulator-only: see [`crate::TaskRule`].
    #[serde(default)]
    pub rules: Vec<crate::TaskRule>,
    /// Lower-cased tenant ID → positions of its tasks in `tasks`, oldest first: what a server's
    /// database index does for `tenant=` queries over a long history. Rebuilt after a load.
    #[serde(skip)]
    by_tenant: std::collections::HashMap<String, Vec<usize>>,
}

impl Executions {
    /// Add a new task (its number the highest yet).
    pub fn push_task(&mut self, task: Task) {
        if let Some(tenant) = &task.tenant_id {
            self.by_tenant
                .entry(tenant.to_ascii_lowercase())
                .or_default()
                .push(self.tasks.len());
        }
        self.tasks.push(task);
    }

    /// Rebuild the tenant index (after the state was loaded from a file).
    pub fn reindex(&mut self) {
        self.by_tenant.clear();
        for (at, task) in self.tasks.iter().enumerate() {
            if let Some(tenant) = &task.tenant_id {
                self.by_tenant
                    .entry(tenant.to_ascii_lowercase())
                    .or_default()
                    .push(at);
            }
        }
    }

    /// Tasks are kept in the order of their numbers (each new one gets the next): found by a
    /// binary search, as a year of history is a long list.
    fn position(&self, id: &str) -> Option<usize> {
        let number = number_of(id);
        self.tasks
            .binary_search_by_key(&number, |task| task.number)
            .ok()
            .filter(|&at| same_id(&self.tasks[at].id, id))
            .or_else(|| self.tasks.iter().position(|task| same_id(&task.id, id)))
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.position(id).map(|at| &self.tasks[at])
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.position(id).map(move |at| &mut self.tasks[at])
    }
}

/// Path segments lower-cased, for matching routes without regard to case.
pub fn lowered(segments: &[String]) -> Vec<String> {
    segments.iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// `ServerTasks-N` → N.
pub fn number_of(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// How long the task took, as the resource's `Duration` text ("3 seconds", "2 minutes").
fn duration_text(task: &Task) -> Option<String> {
    let parse = |text: &str| chrono::DateTime::parse_from_rfc3339(text).ok();
    let start = parse(task.start_time.as_deref()?)?;
    let end = match task.completed_time.as_deref() {
        Some(end) => parse(end)?,
        None => chrono::Utc::now().fixed_offset(),
    };
    let seconds = (end - start).num_seconds().max(0);
    Some(match seconds {
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "1 minute".to_owned(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s => format!("{} hours", s / 3600),
    })
}

/// The task as `GET /api/tasks/{id}` returns it (fields of OctopusDeploy/docs `tasks.md`). The
/// web link has the form people share (`/app#/Spaces-1/tasks/ServerTasks-456`:
/// OctopusDeploy/mcp-server `docs/working-with-urls.md`).
pub fn render(task: &Task) -> Value {
    let completed = is_completed_state(&task.state);
    let id = &task.id;
    let space = &task.space_id;
    let completed_text = match task.state.as_str() {
        "Queued" => "Queued...".to_owned(),
        "Executing" => "Executing...".to_owned(),
        "Cancelling" => "Cancelling...".to_owned(),
        "TimedOut" => "Timed out".to_owned(),
        _ => task.completed_time.clone().unwrap_or_default(),
    };
    json!({
        "Id": id,
        "SpaceId": space,
        "Name": task.name,
        "Description": task.description,
        "Arguments": task.arguments,
        "State": task.state,
        "Completed": completed_text,
        "QueueTime": task.queue_time,
        "QueueTimeExpiry": null,
        "StartTime": task.start_time,
        "LastUpdatedTime": task.last_updated_time,
        "CompletedTime": task.completed_time,
        "ServerNode": "OCTOPUS-EMULATOR",
        "Duration": duration_text(task),
        "ErrorMessage": task.error_message.clone().unwrap_or_default(),
        "HasBeenPickedUpByProcessor": task.start_time.is_some(),
        "IsCompleted": completed,
        "FinishedSuccessfully": task.state == "Success",
        "HasPendingInterruptions": false,
        "HasPendingPreconditions": false,
        "PendingInterruptionTypes": [],
        "CanRerun": completed,
        "HasWarningsOrErrors": task.has_warnings_or_errors,
        "ProjectId": task.project_id,
        "Links": {
            "Self": format!("/api/tasks/{id}"),
            "Web": format!("/app#/{space}/tasks/{id}"),
            "Raw": format!("/api/tasks/{id}/raw"),
            "Details": format!("/api/tasks/{id}/details{{?verbose,tail,ranges}}"),
            "Artifacts": format!("/api/{space}/artifacts?regarding={id}"),
            "Interruptions": format!("/api/{space}/interruptions?regarding={id}"),
            "Cancel": format!("/api/tasks/{id}/cancel"),
            "State": format!("/api/tasks/{id}/state"),
            "QueuedBehind": format!("/api/tasks/{id}/queued-behind{{?skip,take}}"),
        }
    })
}

/// The list's query template, as the API root advertises it (`Links.Tasks` in
/// go-octopusdeploy `pkg/constants/constants_api_replies.go`).
pub const QUERY_TEMPLATE: &str = "{?skip,active,environment,tenant,runbook,project,name,node,running,states,hasPendingInterruptions,hasWarningsOrErrors,take,ids,partialName,spaces,includeSystem}";

/// Whether `task` passes the list's filters (OctopusDeploy/docs `tasks.md`): `ids`, `name`
/// (exact task type names), `partialName`, `project`, `runbook`, `tenant`, `environment` (IDs,
/// not names), `states`, `active` (not finished), `running` (Executing or Cancelling),
/// `hasPendingInterruptions`, `hasWarningsOrErrors`, `spaces`. Lists are comma separated or
/// repeated (RFC 6570 `{?states}` expands a list with commas; go-octopusdeploy `TasksQuery`).
fn matches(task: &Task, query: &Filters) -> bool {
    let one_of = |key: &str, value: &str| {
        let wanted = query.list(key);
        wanted.is_empty() || wanted.iter().any(|w| same_id(w, value))
    };
    let field = |key: &str, value: &Option<String>| {
        query
            .get(key)
            .is_none_or(|want| value.as_deref().is_some_and(|have| same_id(want, have)))
    };
    let flag = |key: &str, value: bool| {
        query
            .get(key)
            .is_none_or(|want| want.eq_ignore_ascii_case(if value { "true" } else { "false" }))
    };
    let active = !is_completed_state(&task.state);
    let running = matches!(task.state.as_str(), "Executing" | "Cancelling");
    // The owner filters first: most tasks of a long history fail one of them.
    field("tenant", &task.tenant_id)
        && field("runbook", &task.runbook_id)
        && one_of("ids", &task.id)
        && one_of("name", &task.name)
        && one_of("states", &task.state)
        && one_of("spaces", &task.space_id)
        && query.get("partialName").is_none_or(|part| {
            task.name
                .to_ascii_lowercase()
                .contains(&part.to_ascii_lowercase())
        })
        && field("project", &task.project_id)
        && field("environment", &task.environment_id)
        && flag("active", active)
        && flag("running", running)
        && flag("hasPendingInterruptions", false)
        && flag("hasWarningsOrErrors", task.has_warnings_or_errors)
}

/// A query's filters, read once for a scan of every task.
struct Filters<'a> {
    query: &'a Query,
    lists: Vec<(&'static str, Vec<String>)>,
}

impl Filters<'_> {
    fn list(&self, key: &str) -> &[String] {
        self.lists
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.query.get(key)
    }
}

/// One page of the tasks matching `query`, newest first, only the page rendered (a year of
/// history is a large collection).
pub fn list(state: &State, space_id: Option<&str>, query: &Query) -> Value {
    let filters = Filters {
        query,
        lists: ["ids", "name", "states", "spaces"]
            .into_iter()
            .map(|key| (key, query.list(key)))
            .collect(),
    };
    let executions = &state.executions;
    // With a tenant filter only that tenant's tasks are looked at.
    let candidates: Box<dyn Iterator<Item = &Task>> = match query.get("tenant") {
        Some(tenant) => Box::new(
            executions
                .by_tenant
                .get(&tenant.to_ascii_lowercase())
                .into_iter()
                .flat_map(|positions| positions.iter().rev())
                .map(|&at| &executions.tasks[at]),
        ),
        None => Box::new(executions.tasks.iter().rev()),
    };
    let matching: Vec<&Task> = candidates
        .filter(|task| space_id.is_none_or(|space| same_id(space, &task.space_id)))
        .filter(|task| matches(task, &filters))
        .collect();
    let items = matching
        .iter()
        .skip(query.skip())
        .take(query.take())
        .map(|task| render(task))
        .collect();
    let base = match space_id {
        Some(space) => format!("/api/{space}/tasks"),
        None => "/api/tasks".to_owned(),
    };
    page_of(matching.len(), items, "Task", &base, QUERY_TEMPLATE, query)
}

fn found<'a>(state: &'a State, space_id: Option<&str>, id: &str) -> ApiResult<&'a Task> {
    state
        .executions
        .task(id)
        .filter(|task| space_id.is_none_or(|space| same_id(space, &task.space_id)))
        .ok_or_else(|| ApiError::not_found(id))
}

/// `/details`: the task, its log as one activity, and its progress (the shape of
/// `TaskDetailsResource` in the swagger; api-client.ts `serverTaskDetails.ts`).
fn details(task: &Task) -> Value {
    let status = match task.state.as_str() {
        "Success" => "Success",
        "Failed" | "TimedOut" => "Failed",
        "Canceled" => "Canceled",
        "Queued" => "Pending",
        _ => "Running",
    };
    let elements: Vec<Value> = task
        .log
        .iter()
        .map(|line| json!({"Category": "Info", "MessageText": line, "OccurredAt": task.last_updated_time}))
        .collect();
    json!({
        "Task": render(task),
        "ActivityLogs": [{
            "Id": format!("ServerTasks-{}", task.number),
            "Name": task.description,
            "Status": status,
            "Started": task.start_time,
            "Ended": task.completed_time,
            "LogElements": elements,
            "Children": [],
            "ShowAtSummaryLevel": true,
            "ProgressPercentage": if is_completed_state(&task.state) { 100 } else { 0 },
        }],
        "Progress": {
            "ProgressPercentage": if is_completed_state(&task.state) { 100 } else { 0 },
            "EstimatedTimeRemaining": null,
        },
        "PhysicalLogSize": task.log.iter().map(|line| line.len() + 1).sum::<usize>(),
    })
}

/// Finish a task in `state` now, with an error message for a failure.
pub fn complete(task: &mut Task, state: &str, error: Option<String>) {
    let at = now();
    task.state = state.to_owned();
    if task.start_time.is_none() && state != "Canceled" {
        task.start_time = Some(at.clone());
    }
    task.completed_time = Some(at.clone());
    task.last_updated_time = at;
    task.error_message = error;
}

/// `POST /api/tasks/{id}/cancel`: a queued task is canceled at once; an executing one becomes
/// `Cancelling` until its worker has stopped it (the executor then marks it `Canceled`); a
/// finished task is left as it is. Answers the task (the swagger: "TaskResource resource
/// returned"; go-octopusdeploy `tasks.Cancel` decodes a `Task`).
pub fn cancel(state: &mut State, id: &str) -> ApiResult<Value> {
    let task = state
        .executions
        .task_mut(id)
        .ok_or_else(|| ApiError::not_found(id))?;
    match task.state.as_str() {
        "Queued" => {
            complete(task, "Canceled", None);
            task.log
                .push("The task was canceled before it started.".to_owned());
        }
        "Executing" => {
            task.state = "Cancelling".to_owned();
            task.last_updated_time = now();
            task.log.push("Cancellation was requested.".to_owned());
        }
        _ => {}
    }
    Ok(render(task))
}

/// `/api/tasks/…` and `/api/{space}/tasks/…`; `segments` start at `tasks`.
pub fn route(
    state: &mut State,
    verb: &str,
    space_id: Option<&str>,
    segments: &[String],
    query: &Query,
) -> ApiResult<Reply> {
    let lower = crate::tasks::lowered(segments);
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (verb, lower.as_slice()) {
        ("GET", ["tasks"]) => Ok(Reply::ok(list(state, space_id, query))),
        ("GET", ["tasks", _]) => Ok(Reply::ok(render(found(state, space_id, &segments[1])?))),
        ("GET", ["tasks", _, "details"]) => {
            Ok(Reply::ok(details(found(state, space_id, &segments[1])?)))
        }
        ("GET", ["tasks", _, "raw"]) => {
            let task = found(state, space_id, &segments[1])?;
            Ok(Reply::bytes(
                "text/plain; charset=utf-8",
                task.log.join("\n").into_bytes(),
            ))
        }
        ("POST", ["tasks", _, "cancel"]) => {
            found(state, space_id, &segments[1])?;
            Ok(Reply::ok(cancel(state, &segments[1])?))
        }
        (_, ["tasks", ..]) => Err(ApiError::unknown_route()),
        _ => Err(ApiError::unknown_route()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64, state: &str, tenant: &str) -> Task {
        Task {
            id: format!("ServerTasks-{id}"),
            number: id,
            space_id: "Spaces-1".into(),
            name: RUNBOOK_RUN.into(),
            description: "Run".into(),
            arguments: json!({}),
            state: state.into(),
            project_id: Some("Projects-1".into()),
            runbook_id: Some("Runbooks-1".into()),
            tenant_id: Some(tenant.into()),
            environment_id: Some("Environments-1".into()),
            queue_time: now(),
            start_time: None,
            completed_time: None,
            last_updated_time: now(),
            error_message: None,
            has_warnings_or_errors: false,
            log: Vec::new(),
        }
    }

    #[test]
    fn the_list_filters_by_ids_states_and_owners_newest_first() {
        let mut state = State::default();
        for task in [
            task(1, "Success", "Tenants-1"),
            task(2, "Failed", "Tenants-2"),
            task(3, "Executing", "Tenants-1"),
        ] {
            state.executions.push_task(task);
        }
        let ids = |query: &str| -> Vec<String> {
            list(&state, Some("Spaces-1"), &Query::parse(query))["Items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["Id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(""), ["ServerTasks-3", "ServerTasks-2", "ServerTasks-1"]);
        assert_eq!(ids("tenant=tenants-1&take=1"), ["ServerTasks-3"]);
        assert_eq!(
            ids("states=Success,Failed"),
            ["ServerTasks-2", "ServerTasks-1"]
        );
        assert_eq!(ids("states=Success&states=Failed").len(), 2);
        assert_eq!(ids("active=true"), ["ServerTasks-3"]);
        assert_eq!(ids("ids=ServerTasks-1,ServerTasks-3").len(), 2);
        assert!(ids("name=Deploy").is_empty());
        assert!(ids("project=Projects-2").is_empty());
        assert_eq!(
            list(&state, Some("Spaces-1"), &Query::parse("take=1"))["TotalResults"],
            3
        );
        assert!(list(&state, Some("Spaces-2"), &Query::parse(""))["Items"]
            .as_array()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn cancelling_a_queued_task_ends_it_and_an_executing_one_asks_its_worker() {
        let mut state = State::default();
        state.executions.tasks = vec![task(1, "Queued", "T"), task(2, "Executing", "T")];
        assert_eq!(
            cancel(&mut state, "ServerTasks-1").unwrap()["State"],
            "Canceled"
        );
        assert_eq!(
            cancel(&mut state, "ServerTasks-2").unwrap()["State"],
            "Cancelling"
        );
        assert!(cancel(&mut state, "ServerTasks-9").is_err());
    }
}
