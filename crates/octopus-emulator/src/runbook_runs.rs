//! Runbook runs: `POST /api/{space}/runbook-runs/create/v1` (the Executions API the official
//! clients use), the older `POST /api/{space}/runbookRuns` (OctopusClients still creates runs
//! with it), and the runs' list. Each run queues one server task per tenant and environment.
//!
//! Sources:
//! - create/v1: the API page generated from the server's swagger in OctopusDeploy/docs
//!   (`src/pages/docs/api/_generated/runbook-runs.md`: `ProjectName`, `RunbookName`,
//!   `EnvironmentNames`, `SpaceId`/`SpaceIdOrName` required, `Tenants`, `TenantTags`, `Snapshot`
//!   "Name or ID of the snapshot to run. If not supplied, the command will attempt to use the
//!   published snapshot"; answers `200` with `RunbookRunServerTasks[{RunbookRunId,
//!   ServerTaskId}]`); go-octopusdeploy `pkg/runbooks/run_runbook_v1.go` and the Octopus CLI
//!   `pkg/cmd/runbook/run/run_test.go` send the keys camelCase (`runbookName`, `projectName`,
//!   `spaceIdOrName`), api-client.ts `createRunbookRunCommandV1.ts` PascalCase (`RunbookName`,
//!   `ProjectName`) and no `SpaceId`: the server binds keys without regard to case and does not
//!   insist on `SpaceId`, so neither does the emulator. The CLI refuses a runbook without a
//!   published snapshot (`findRunbookPublishedSnapshot`). Tenants are given by name or ID, and
//!   `*` means every tenant connected for the environment (the Octopus CLI `run-runbook` docs:
//!   "--tenant … name or ID; … use `*` wildcard").
//! - tenant tags: tags of one tag set are alternatives, tags of different sets must all match
//!   (Octopus docs, "Tenant tags": a tenant matches when it has any selected tag of each tag set).
//! - runbookRuns: OctopusDeploy/docs `runbook-runs.md` (`RunbookId`, `RunbookSnapshotId`,
//!   `EnvironmentId` required, `TenantId`; `201` with the run; the list's `projects`,
//!   `runbooks`, `environments`, `tenants`, `taskState`, `ids` filters, most recent first);
//!   OctopusClients `RunbookRunRepository` (`ICreate<RunbookRunResource>`).
//! - A tenant must be connected to the project in that environment
//!   (`Tenant.ProjectEnvironments`), and a runbook runs in the environments of its
//!   `EnvironmentScope` (the swagger's `RunbookResource`: `All`, `Specified` with
//!   `Environments`, `FromProjectLifecycles`, not modelled: treated as `All`). The error texts are
//!   the emulator's own: no public source quotes the server's.

use serde_json::{json, Map, Value};

use crate::documents::{find_by_id, id_of, name_of, now, same_id, str_field, string_list};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::{SpaceStore, State};
use crate::tasks::{Task, RUNBOOK_RUN};

/// A body key, whatever its case.
fn field<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    field(body, key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn texts(body: &Map<String, Value>, key: &str) -> Vec<String> {
    string_list(field(body, key))
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect()
}

/// A document by ID, slug or name (names compared without case, as the server does).
fn by_reference<'a>(docs: &'a [Value], wanted: &str) -> Option<&'a Value> {
    find_by_id(docs, wanted)
        .or_else(|| {
            docs.iter()
                .find(|d| str_field(d, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(wanted)))
        })
        .or_else(|| docs.iter().find(|d| name_of(d) == wanted))
        .or_else(|| {
            docs.iter()
                .find(|d| name_of(d).eq_ignore_ascii_case(wanted))
        })
}

fn connected(tenant: &Value, project_id: &str, environment_id: &str) -> bool {
    tenant
        .get("ProjectEnvironments")
        .and_then(Value::as_object)
        .and_then(|map| map.iter().find(|(p, _)| same_id(p, project_id)))
        .is_some_and(|(_, envs)| {
            string_list(Some(envs))
                .iter()
                .any(|e| same_id(e, environment_id))
        })
}

/// Tags of one tag set are alternatives; every tag set named must be matched.
fn has_tags(tenant: &Value, tags: &[String]) -> bool {
    let have = string_list(tenant.get("TenantTags"));
    let mut sets: Vec<&str> = tags
        .iter()
        .map(|t| t.split_once('/').map_or(t.as_str(), |(set, _)| set))
        .collect();
    sets.sort_unstable();
    sets.dedup();
    sets.iter().all(|set| {
        tags.iter()
            .filter(|t| t.split_once('/').map_or(t.as_str(), |(s, _)| s) == *set)
            .any(|t| have.iter().any(|h| h.eq_ignore_ascii_case(t)))
    })
}

fn allowed_in(runbook: &Value, environment_id: &str) -> bool {
    match str_field(runbook, "EnvironmentScope") {
        Some("Specified") => string_list(runbook.get("Environments"))
            .iter()
            .any(|e| same_id(e, environment_id)),
        _ => true,
    }
}

/// What one run is for, once every name is resolved.
struct Planned {
    project: Value,
    runbook: Value,
    snapshot_id: String,
    frozen_process: String,
    environment: Value,
    tenant: Option<Value>,
}

/// Queue one run and its task; returns `(RunbookRunId, ServerTaskId)`.
fn queue(
    state: &mut State,
    space_id: &str,
    planned: &Planned,
    form: &Map<String, Value>,
) -> (String, String) {
    let run_id = state.ids.next("RunbookRuns");
    let task_id = state.ids.next("ServerTasks");
    let at = now();
    let tenant_id = planned.tenant.as_ref().map(|t| id_of(t).to_owned());
    let mut description = format!(
        "Run runbook \"{}\" in {}",
        name_of(&planned.runbook),
        name_of(&planned.environment)
    );
    if let Some(tenant) = &planned.tenant {
        description.push_str(&format!(" for {}", name_of(tenant)));
    }
    let run = json!({
        "Id": run_id,
        "SpaceId": space_id,
        "ProjectId": id_of(&planned.project),
        "RunbookId": id_of(&planned.runbook),
        "RunbookSnapshotId": planned.snapshot_id,
        "FrozenRunbookProcessId": planned.frozen_process,
        "EnvironmentId": id_of(&planned.environment),
        "TenantId": tenant_id,
        "TaskId": task_id,
        "Name": format!("Run {}", crate::tasks::number_of(&run_id)),
        "Created": at,
        "QueueTime": null,
        "QueueTimeExpiry": null,
        "Comments": field(form, "Comments").cloned().unwrap_or(Value::Null),
        "ForcePackageDownload": field(form, "ForcePackageDownload").and_then(Value::as_bool).unwrap_or(false),
        "UseGuidedFailure": field(form, "UseGuidedFailure").and_then(Value::as_bool).unwrap_or(false),
        "SkipActions": [],
        "SpecificMachineIds": [],
        "ExcludedMachineIds": [],
        "FormValues": field(form, "Variables").or_else(|| field(form, "FormValues")).cloned().unwrap_or(json!({})),
        "DeployedBy": crate::documents::MODIFIED_BY,
        "DeployedById": "Users-1",
        "DeployedToMachineIds": [],
        "FailureEncountered": false,
    });
    state.executions.runs.push(run);
    state.executions.push_task(Task {
        number: crate::tasks::number_of(&task_id),
        id: task_id.clone(),
        space_id: space_id.to_owned(),
        name: RUNBOOK_RUN.to_owned(),
        description,
        arguments: json!({"RunbookRunId": run_id}),
        state: "Queued".to_owned(),
        project_id: Some(id_of(&planned.project).to_owned()),
        runbook_id: Some(id_of(&planned.runbook).to_owned()),
        tenant_id,
        environment_id: Some(id_of(&planned.environment).to_owned()),
        queue_time: at.clone(),
        start_time: None,
        completed_time: None,
        last_updated_time: at,
        error_message: None,
        has_warnings_or_errors: false,
        log: vec!["Queued by the Executions API.".to_owned()],
    });
    (run_id, task_id)
}

fn not_connected(tenant: &Value, project: &Value, environment: &Value) -> ApiError {
    ApiError::bad_request(format!(
        "The tenant '{}' is not connected to the project '{}' in the environment '{}'.",
        name_of(tenant),
        name_of(project),
        name_of(environment)
    ))
}

fn check_tenancy(runbook: &Value, tenanted: bool) -> ApiResult<()> {
    match (
        str_field(runbook, "MultiTenancyMode").unwrap_or("Untenanted"),
        tenanted,
    ) {
        ("Tenanted", false) => Err(ApiError::bad_request(format!(
            "The runbook '{}' can only be run for tenants: give tenants or tenant tags.",
            name_of(runbook)
        ))),
        ("Untenanted", true) => Err(ApiError::bad_request(format!(
            "The runbook '{}' cannot be run for tenants: its multi-tenancy mode is Untenanted.",
            name_of(runbook)
        ))),
        _ => Ok(()),
    }
}

/// `POST /runbook-runs/create/v1`.
fn create_v1(state: &mut State, space_index: usize, body: Value) -> ApiResult<Value> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request("No request body was supplied."));
    };
    let space: &SpaceStore = &state.spaces[space_index];
    let space_id = space.id().to_owned();
    for key in ["SpaceIdOrName", "SpaceId"] {
        if let Some(given) = text(&body, key) {
            let matches = same_id(&given, &space_id)
                || name_of(&space.space).eq_ignore_ascii_case(&given)
                || str_field(&space.space, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(&given));
            if !matches {
                return Err(ApiError::bad_request(format!(
                    "The {key} '{given}' is not the space of this route ({space_id})."
                )));
            }
        }
    }
    let project_name =
        text(&body, "ProjectName").ok_or_else(|| ApiError::required("ProjectName"))?;
    let runbook_name =
        text(&body, "RunbookName").ok_or_else(|| ApiError::required("RunbookName"))?;
    let environment_names = texts(&body, "EnvironmentNames");
    if environment_names.is_empty() {
        return Err(ApiError::required("EnvironmentNames"));
    }
    let project = by_reference(space.docs("projects"), &project_name)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(format!("The project '{project_name}' was not found."))
        })?;
    let project_id = id_of(&project).to_owned();
    let runbooks: Vec<Value> = space
        .docs("runbooks")
        .iter()
        .filter(|r| str_field(r, "ProjectId").is_some_and(|p| same_id(p, &project_id)))
        .cloned()
        .collect();
    let runbook = by_reference(&runbooks, &runbook_name)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "The runbook '{runbook_name}' was not found in the project '{}'.",
                name_of(&project)
            ))
        })?;
    let snapshot =
        crate::runbook_snapshots::for_run(state, &runbook, text(&body, "Snapshot").as_deref())?;
    let snapshot_id = id_of(snapshot).to_owned();
    let frozen_process = str_field(snapshot, "FrozenRunbookProcessId")
        .unwrap_or_default()
        .to_owned();
    let space = &state.spaces[space_index];
    let mut environments = Vec::new();
    for name in &environment_names {
        let environment = by_reference(space.docs("environments"), name)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!("The environment '{name}' was not found."))
            })?;
        if !allowed_in(&runbook, id_of(&environment)) {
            return Err(ApiError::bad_request(format!(
                "The runbook '{}' cannot be run in the environment '{}'.",
                name_of(&runbook),
                name_of(&environment)
            )));
        }
        environments.push(environment);
    }
    let tenant_names = texts(&body, "Tenants");
    let tenant_tags = texts(&body, "TenantTags");
    let tenanted = !tenant_names.is_empty() || !tenant_tags.is_empty();
    check_tenancy(&runbook, tenanted)?;
    let mut planned = Vec::new();
    let plan = |environment: &Value, tenant: Option<Value>| Planned {
        project: project.clone(),
        runbook: runbook.clone(),
        snapshot_id: snapshot_id.clone(),
        frozen_process: frozen_process.clone(),
        environment: environment.clone(),
        tenant,
    };
    for environment in &environments {
        let environment_id = id_of(environment);
        if !tenanted {
            planned.push(plan(environment, None));
            continue;
        }
        let mut chosen: Vec<Value> = Vec::new();
        for name in &tenant_names {
            let tenants: Vec<&Value> = if name == "*" {
                space
                    .docs("tenants")
                    .iter()
                    .filter(|t| connected(t, &project_id, environment_id))
                    .collect()
            } else {
                let tenant = by_reference(space.docs("tenants"), name).ok_or_else(|| {
                    ApiError::bad_request(format!("The tenant '{name}' was not found."))
                })?;
                if !connected(tenant, &project_id, environment_id) {
                    return Err(not_connected(tenant, &project, environment));
                }
                vec![tenant]
            };
            for tenant in tenants {
                if !chosen.iter().any(|c| same_id(id_of(c), id_of(tenant))) {
                    chosen.push(tenant.clone());
                }
            }
        }
        if !tenant_tags.is_empty() {
            for tenant in space.docs("tenants") {
                if has_tags(tenant, &tenant_tags)
                    && connected(tenant, &project_id, environment_id)
                    && !chosen.iter().any(|c| same_id(id_of(c), id_of(tenant)))
                {
                    chosen.push(tenant.clone());
                }
            }
        }
        if chosen.is_empty() {
            return Err(ApiError::bad_request(format!(
                "No tenant connected to the project '{}' in the environment '{}' matches.",
                name_of(&project),
                name_of(environment)
            )));
        }
        for tenant in chosen {
            planned.push(plan(environment, Some(tenant)));
        }
    }
    let tasks: Vec<Value> = planned
        .iter()
        .map(|run| {
            let (run_id, task_id) = queue(state, &space_id, run, &body);
            json!({"RunbookRunId": run_id, "ServerTaskId": task_id})
        })
        .collect();
    Ok(json!({ "RunbookRunServerTasks": tasks }))
}

/// `POST /runbookRuns` (OctopusClients): one run from IDs.
fn create_legacy(state: &mut State, space_index: usize, body: Value) -> ApiResult<Value> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request("No request body was supplied."));
    };
    let runbook_id = text(&body, "RunbookId").ok_or_else(|| ApiError::required("RunbookId"))?;
    let snapshot_id =
        text(&body, "RunbookSnapshotId").ok_or_else(|| ApiError::required("RunbookSnapshotId"))?;
    let environment_id =
        text(&body, "EnvironmentId").ok_or_else(|| ApiError::required("EnvironmentId"))?;
    let space = &state.spaces[space_index];
    let space_id = space.id().to_owned();
    let runbook = find_by_id(space.docs("runbooks"), &runbook_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(format!("The runbook '{runbook_id}' was not found."))
        })?;
    let project_id = str_field(&runbook, "ProjectId")
        .unwrap_or_default()
        .to_owned();
    let project = find_by_id(space.docs("projects"), &project_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&project_id))?;
    let environment = find_by_id(space.docs("environments"), &environment_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(format!("The environment '{environment_id}' was not found."))
        })?;
    let tenant = match text(&body, "TenantId") {
        Some(id) => {
            let tenant = find_by_id(space.docs("tenants"), &id)
                .cloned()
                .ok_or_else(|| {
                    ApiError::bad_request(format!("The tenant '{id}' was not found."))
                })?;
            if !connected(&tenant, &project_id, &environment_id) {
                return Err(not_connected(&tenant, &project, &environment));
            }
            Some(tenant)
        }
        None => None,
    };
    check_tenancy(&runbook, tenant.is_some())?;
    if !allowed_in(&runbook, &environment_id) {
        return Err(ApiError::bad_request(format!(
            "The runbook '{}' cannot be run in the environment '{}'.",
            name_of(&runbook),
            name_of(&environment)
        )));
    }
    let snapshot = crate::runbook_snapshots::for_run(state, &runbook, Some(&snapshot_id))?;
    let frozen_process = str_field(snapshot, "FrozenRunbookProcessId")
        .unwrap_or_default()
        .to_owned();
    let planned = Planned {
        project,
        runbook,
        snapshot_id: id_of(snapshot).to_owned(),
        frozen_process,
        environment,
        tenant,
    };
    let (run_id, _) = queue(state, &space_id, &planned, &body);
    Ok(render_run(state, &run_id))
}

fn render_run(state: &State, id: &str) -> Value {
    let Some(run) = find_by_id(&state.executions.runs, id) else {
        return Value::Null;
    };
    let mut out = run.clone();
    let space = str_field(run, "SpaceId").unwrap_or_default();
    let task = str_field(run, "TaskId").unwrap_or_default();
    out["Links"] = json!({
        "Self": format!("/api/{space}/runbookRuns/{id}"),
        "Task": format!("/api/tasks/{task}"),
        "Web": format!("/app#/{space}/tasks/{task}"),
        "Artifacts": format!("/api/{space}/artifacts?regarding={id}"),
        "Runbook": format!("/api/{space}/runbooks/{}", str_field(run, "RunbookId").unwrap_or_default()),
        "RunbookSnapshot": format!("/api/{space}/runbookSnapshots/{}", str_field(run, "RunbookSnapshotId").unwrap_or_default()),
    });
    out
}

fn list(state: &State, space_id: &str, project: Option<&str>, query: &Query) -> Value {
    let filter = |key: &str, doc: &Value, field: &str| {
        let wanted = query.list(key);
        wanted.is_empty()
            || str_field(doc, field).is_some_and(|v| wanted.iter().any(|w| same_id(w, v)))
    };
    let items: Vec<Value> = state
        .executions
        .runs
        .iter()
        .rev()
        .filter(|run| str_field(run, "SpaceId").is_some_and(|s| same_id(s, space_id)))
        .filter(|run| {
            project.is_none_or(|p| str_field(run, "ProjectId").is_some_and(|have| same_id(have, p)))
        })
        .filter(|run| {
            filter("ids", run, "Id")
                && filter("projects", run, "ProjectId")
                && filter("runbooks", run, "RunbookId")
                && filter("environments", run, "EnvironmentId")
                && filter("tenants", run, "TenantId")
        })
        .filter(|run| {
            query.get("taskState").is_none_or(|wanted| {
                str_field(run, "TaskId")
                    .and_then(|task| state.executions.task(task))
                    .is_some_and(|task| task.state.eq_ignore_ascii_case(wanted))
            })
        })
        .filter_map(|run| Some(render_run(state, id_of(run))).filter(|r| !r.is_null()))
        .collect();
    page(
        items,
        "RunbookRun",
        &format!("/api/{space_id}/runbookRuns"),
        "{/id}{?skip,take,ids,projects,environments,tenants,runbooks,taskState,partialName}",
        query,
    )
}

/// `/runbook-runs/create/v1`, `/runbookRuns…` and `/projects/{id}/runbookRuns` inside one
/// space; `segments` are the path after the space.
pub fn route(
    state: &mut State,
    verb: &str,
    space_index: usize,
    segments: &[String],
    query: &Query,
    body: Value,
) -> ApiResult<Reply> {
    let space_id = state.spaces[space_index].id().to_owned();
    let lower = crate::tasks::lowered(segments);
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (verb, lower.as_slice()) {
        ("POST", ["runbook-runs", "create", "v1"]) => Ok(Reply::ok(create_v1(state, space_index, body)?)),
        ("POST", ["runbook-runs", "git", "create", "v1"]) => Err(ApiError::bad_request(
            "The emulator runs runbooks kept in the database only; runbooks in a Git repository (runbook-runs/git/create/v1) are not emulated.",
        )),
        ("POST", ["runbookruns"]) => Ok(Reply::created(create_legacy(state, space_index, body)?)),
        ("GET", ["runbookruns"]) => Ok(Reply::ok(list(state, &space_id, None, query))),
        ("GET", ["projects", _, "runbookruns"]) => {
            let project = segments[1].clone();
            Ok(Reply::ok(list(state, &space_id, Some(&project), query)))
        }
        ("GET", ["runbookruns", _]) => {
            let run = find_by_id(&state.executions.runs, &segments[1])
                .filter(|run| str_field(run, "SpaceId").is_some_and(|s| same_id(s, &space_id)))
                .ok_or_else(|| ApiError::not_found(&segments[1]))?;
            Ok(Reply::ok(render_run(state, id_of(run))))
        }
        _ => Err(ApiError::unknown_route()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_one_set_are_alternatives_and_sets_must_all_match() {
        let tenant = json!({"TenantTags": ["Rollout/Canary", "Region/EU"]});
        let tags = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert!(has_tags(&tenant, &tags(&["Rollout/Canary"])));
        assert!(has_tags(
            &tenant,
            &tags(&["Rollout/Canary", "Rollout/Late"])
        ));
        assert!(has_tags(&tenant, &tags(&["rollout/canary", "Region/EU"])));
        assert!(!has_tags(&tenant, &tags(&["Rollout/Canary", "Region/US"])));
        assert!(!has_tags(&tenant, &tags(&["Rollout/Late"])));
    }
}
