//! Runbook snapshots: what a runbook run runs. A real server runs a runbook's *published*
//! snapshot, so publishing is served as the clients do it.
//!
//! Sources: the API page generated from the server's swagger in OctopusDeploy/docs
//! (`src/pages/docs/api/_generated/runbook-snapshots.md`: `POST
//! /api/{space}/projects/{projectId}/runbookSnapshots` with `Name`, `ProjectId`, `RunbookId`
//! required, `Publish` "publishes the snapshot when set to any non-blank value", lists "ordered
//! from most recent to least recent", `GET …/runbookSnapshots/{idOrName}`); api-client.ts
//! (`runbookSnapshotRepository.ts`: `POST …/projects/{projectId}/runbookSnapshots{?publish}`
//! with `publish=true`); go-octopusdeploy (`pkg/runbooks/runbook_snapshot_service.go`: `POST
//! /api/{space}/runbookSnapshots?publish=true`); OctopusClients (`RunbookSnapshotRepository`:
//! `Create` on the space's `RunbookSnapshots` link). The runbook's `PublishedRunbookSnapshotId`
//! names the published one (the swagger's `RunbookResource`; the Octopus CLI's
//! `findRunbookPublishedSnapshot` reads it and refuses a runbook without one).

use serde_json::{json, Map, Value};

use crate::documents::{find_by_id, id_of, name_of, now, same_id, str_field};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::State;

fn render(doc: &Value) -> Value {
    let mut out = doc.clone();
    let (space, id) = (str_field(doc, "SpaceId").unwrap_or_default(), id_of(doc));
    let project = str_field(doc, "ProjectId").unwrap_or_default();
    let runbook = str_field(doc, "RunbookId").unwrap_or_default();
    out["Links"] = json!({
        "Self": format!("/api/{space}/runbookSnapshots/{id}"),
        "Runbook": format!("/api/{space}/runbooks/{runbook}"),
        "Project": format!("/api/{space}/projects/{project}"),
        "RunbookRuns": format!("/api/{space}/runbookSnapshots/{id}/runbookRuns{{?skip,take}}"),
        "Artifacts": format!("/api/{space}/artifacts?regarding={id}"),
        "FrozenRunbookProcess": format!("/api/{space}/runbookProcesses/{}", str_field(doc, "FrozenRunbookProcessId").unwrap_or_default()),
    });
    out
}

/// `POST …runbookSnapshots`: a snapshot of the runbook's process, published when asked
/// (`?publish=true` or a non-blank `Publish` in the body).
fn create(
    state: &mut State,
    space_index: usize,
    project_route: Option<&str>,
    body: Value,
    query: &Query,
) -> ApiResult<Value> {
    let Value::Object(sent) = body else {
        return Err(ApiError::bad_request("No request body was supplied."));
    };
    let field = |key: &str| {
        sent.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
    };
    let name = field("Name").ok_or_else(|| ApiError::required("Name"))?;
    let runbook_id = field("RunbookId").ok_or_else(|| ApiError::required("RunbookId"))?;
    let project_id = field("ProjectId")
        .or_else(|| project_route.map(str::to_owned))
        .ok_or_else(|| ApiError::required("ProjectId"))?;
    let space = &state.spaces[space_index];
    let space_id = space.id().to_owned();
    let runbook = find_by_id(space.docs("runbooks"), &runbook_id).ok_or_else(|| {
        ApiError::bad_request(format!("The runbook '{runbook_id}' was not found."))
    })?;
    if !str_field(runbook, "ProjectId").is_some_and(|p| same_id(p, &project_id)) {
        return Err(ApiError::bad_request(format!(
            "The runbook '{runbook_id}' does not belong to the project '{project_id}'."
        )));
    }
    let process = str_field(runbook, "RunbookProcessId")
        .unwrap_or_default()
        .to_owned();
    let runbook_id = id_of(runbook).to_owned();
    let publish =
        query.get("publish").is_some_and(|p| !p.trim().is_empty()) || field("Publish").is_some();
    let id = state.ids.next("RunbookSnapshots");
    let selected = sent
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("SelectedPackages"))
        .map(|(_, v)| v.clone())
        .filter(Value::is_array)
        .unwrap_or(json!([]));
    let mut doc = Map::new();
    doc.insert("Id".into(), json!(id));
    doc.insert("SpaceId".into(), json!(space_id));
    doc.insert("ProjectId".into(), json!(project_id));
    doc.insert("RunbookId".into(), json!(runbook_id));
    doc.insert("Name".into(), json!(name));
    doc.insert("Notes".into(), json!(field("Notes")));
    doc.insert("Assembled".into(), json!(now()));
    doc.insert(
        "FrozenRunbookProcessId".into(),
        json!(format!("{process}-s-{}", crate::tasks::number_of(&id))),
    );
    doc.insert(
        "FrozenProjectVariableSetId".into(),
        json!(format!(
            "variableset-{project_id}-s-{}",
            crate::tasks::number_of(&id)
        )),
    );
    doc.insert("LibraryVariableSetSnapshotIds".into(), json!([]));
    doc.insert("SelectedPackages".into(), selected);
    doc.insert("SelectedGitResources".into(), json!([]));
    let doc = Value::Object(doc);
    state.executions.snapshots.push(doc.clone());
    if publish {
        let runbooks = state.spaces[space_index].docs_mut("runbooks");
        if let Some(runbook) = runbooks.iter_mut().find(|r| same_id(id_of(r), &runbook_id)) {
            runbook["PublishedRunbookSnapshotId"] = json!(id);
        }
    }
    Ok(render(&doc))
}

/// The snapshot a run names (`Snapshot`: name or ID), else the runbook's published one.
pub fn for_run<'a>(
    state: &'a State,
    runbook: &Value,
    wanted: Option<&str>,
) -> ApiResult<&'a Value> {
    let runbook_id = id_of(runbook);
    let of_runbook =
        |doc: &&Value| str_field(doc, "RunbookId").is_some_and(|r| same_id(r, runbook_id));
    match wanted {
        Some(wanted) => state
            .executions
            .snapshots
            .iter()
            .filter(of_runbook)
            .find(|doc| same_id(id_of(doc), wanted) || name_of(doc) == wanted)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The snapshot '{wanted}' of the runbook '{}' was not found.",
                    name_of(runbook)
                ))
            }),
        None => {
            let published = str_field(runbook, "PublishedRunbookSnapshotId")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "The runbook '{}' has no published snapshot. Publish the runbook before running it.",
                        name_of(runbook)
                    ))
                })?;
            state
                .executions
                .snapshots
                .iter()
                .find(|doc| same_id(id_of(doc), published))
                .ok_or_else(|| ApiError::not_found(published))
        }
    }
}

fn listed(
    state: &State,
    space_id: &str,
    keep: impl Fn(&Value) -> bool,
    query: &Query,
    base: &str,
) -> Value {
    let search = query.get("searchByName").map(str::to_ascii_lowercase);
    let items: Vec<Value> = state
        .executions
        .snapshots
        .iter()
        .rev()
        .filter(|doc| str_field(doc, "SpaceId").is_some_and(|s| same_id(s, space_id)))
        .filter(|doc| keep(doc))
        .filter(|doc| {
            search
                .as_ref()
                .is_none_or(|s| name_of(doc).to_ascii_lowercase().contains(s))
        })
        .map(render)
        .collect();
    page(
        items,
        "RunbookSnapshot",
        base,
        "{/id}{?skip,take,ids,publish}",
        query,
    )
}

/// `/runbookSnapshots…`, `/projects/{id}/runbookSnapshots…` and `/runbooks/{id}/runbookSnapshots`
/// inside one space; `segments` are the path after the space.
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
    let by = |key: &'static str, value: String| {
        move |doc: &Value| str_field(doc, key).is_some_and(|v| same_id(v, &value))
    };
    match (verb, lower.as_slice()) {
        ("POST", ["runbooksnapshots"]) => Ok(Reply::created(create(
            state,
            space_index,
            None,
            body,
            query,
        )?)),
        ("POST", ["projects", _, "runbooksnapshots"]) => {
            let project = project_id(state, space_index, &segments[1])?;
            Ok(Reply::created(create(
                state,
                space_index,
                Some(&project),
                body,
                query,
            )?))
        }
        ("GET", ["runbooksnapshots"]) => {
            let base = format!("/api/{space_id}/runbookSnapshots");
            Ok(Reply::ok(listed(state, &space_id, |_| true, query, &base)))
        }
        ("GET", ["projects", _, "runbooksnapshots"]) => {
            let project = project_id(state, space_index, &segments[1])?;
            let base = format!("/api/{space_id}/projects/{project}/runbookSnapshots");
            Ok(Reply::ok(listed(
                state,
                &space_id,
                by("ProjectId", project.clone()),
                query,
                &base,
            )))
        }
        ("GET", ["runbooks", _, "runbooksnapshots"]) => {
            let base = format!("/api/{space_id}/runbooks/{}/runbookSnapshots", segments[1]);
            Ok(Reply::ok(listed(
                state,
                &space_id,
                by("RunbookId", segments[1].clone()),
                query,
                &base,
            )))
        }
        ("GET", ["runbooksnapshots", _]) | ("GET", ["projects", _, "runbooksnapshots", _]) => {
            let wanted = segments.last().cloned().unwrap_or_default();
            let project = match lower.first() {
                Some(&"projects") => Some(project_id(state, space_index, &segments[1])?),
                _ => None,
            };
            state
                .executions
                .snapshots
                .iter()
                .filter(|doc| str_field(doc, "SpaceId").is_some_and(|s| same_id(s, &space_id)))
                .filter(|doc| {
                    project.as_ref().is_none_or(|p| {
                        str_field(doc, "ProjectId").is_some_and(|have| same_id(have, p))
                    })
                })
                .find(|doc| {
                    same_id(id_of(doc), &wanted) || (project.is_some() && name_of(doc) == wanted)
                })
                .map(|doc| Reply::ok(render(doc)))
                .ok_or_else(|| ApiError::not_found(&wanted))
        }
        _ => Err(ApiError::unknown_route()),
    }
}

/// A project's ID from its ID or slug.
fn project_id(state: &State, space_index: usize, id_or_slug: &str) -> ApiResult<String> {
    let kind = crate::kinds::kind("projects").expect("the projects kind");
    crate::collections::stored(&state.spaces[space_index], kind, id_or_slug)
        .map(|project| id_of(project).to_owned())
}
