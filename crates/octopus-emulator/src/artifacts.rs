//! Artifacts: the files a task attached (`createArtifact`), listed by what they are regarding
//! and served with their content.
//!
//! Source: the API page generated from the server's swagger in OctopusDeploy/docs
//! (`src/pages/docs/api/_generated/artifacts.md`): `GET /api/{space}/artifacts` with `regarding`
//! ("the ID of … Runbook Run, Server Task, Project, Environment or Tenant"), `ids`,
//! `partialName`, `order` (`asc` or `desc`), `skip`, `take`, "sorted by date from most recently to
//! least recently created"; `POST` (`Filename` and `ServerTaskId` required); `GET/PUT
//! /artifacts/{id}/content`. OctopusClients `ArtifactRepository.FindRegarding` sends
//! `?regarding={id}` and reads the content from the artifact's `Content` link.

use serde_json::{json, Value};

use crate::documents::{now, same_id, str_field};
use crate::paging::{page_of, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::State;
use crate::tasks::{Artifact, Task};

/// The artifact as the API returns it.
pub fn render(artifact: &Artifact) -> Value {
    let (space, id) = (&artifact.space_id, &artifact.id);
    json!({
        "Id": id,
        "SpaceId": space,
        "Filename": artifact.filename,
        "Source": artifact.source,
        "ServerTaskId": artifact.server_task_id,
        "Created": artifact.created,
        "LogCorrelationId": null,
        "LastModifiedOn": artifact.created,
        "LastModifiedBy": crate::documents::MODIFIED_BY,
        "Links": {
            "Self": format!("/api/{space}/artifacts/{id}"),
            "Content": format!("/api/{space}/artifacts/{id}/content"),
        }
    })
}

/// Whether the artifact is regarding `what`: its task, or what the task ran for (its runbook
/// run, project, environment or tenant).
fn regarding(state: &State, artifact: &Artifact, what: &str) -> bool {
    if same_id(&artifact.server_task_id, what) {
        return true;
    }
    if what
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("ServerTasks-"))
    {
        return false;
    }
    let Some(task) = state.executions.task(&artifact.server_task_id) else {
        return false;
    };
    let owned = |field: &Option<String>| field.as_deref().is_some_and(|id| same_id(id, what));
    owned(&task.project_id)
        || owned(&task.environment_id)
        || owned(&task.tenant_id)
        || str_field(&task.arguments, "RunbookRunId").is_some_and(|run| same_id(run, what))
}

fn list(state: &State, space_id: &str, query: &Query) -> Value {
    let ids = query.list("ids");
    let partial = query.get("partialName").map(str::to_ascii_lowercase);
    let mut matching: Vec<&Artifact> = state
        .executions
        .artifacts
        .iter()
        .filter(|a| same_id(&a.space_id, space_id))
        .filter(|a| ids.is_empty() || ids.iter().any(|id| same_id(id, &a.id)))
        .filter(|a| {
            partial
                .as_ref()
                .is_none_or(|p| a.filename.to_ascii_lowercase().contains(p))
        })
        .filter(|a| {
            query
                .get("regarding")
                .is_none_or(|what| regarding(state, a, what))
        })
        .collect();
    // Newest first unless `order=asc`.
    matching.sort_by_key(|a| std::cmp::Reverse(a.number));
    if query
        .get("order")
        .is_some_and(|order| order.eq_ignore_ascii_case("asc"))
    {
        matching.reverse();
    }
    let items = matching
        .iter()
        .skip(query.skip())
        .take(query.take())
        .map(|a| render(a))
        .collect();
    page_of(
        matching.len(),
        items,
        "Artifact",
        &format!("/api/{space_id}/artifacts"),
        "{/id}{?skip,take,regarding,ids,partialName,order}",
        query,
    )
}

/// Attach `content` to `task` as `filename` (what the server does with a `createArtifact` service
/// message once the file has reached it).
pub fn attach(state: &mut State, task_id: &str, filename: &str, source: &str, content: Vec<u8>) {
    let id = state.ids.next("Artifacts");
    let Some(space_id) = state
        .executions
        .task(task_id)
        .map(|task: &Task| task.space_id.clone())
    else {
        return;
    };
    state.executions.artifacts.push(Artifact {
        number: crate::tasks::number_of(&id),
        id,
        space_id,
        server_task_id: task_id.to_owned(),
        filename: filename.to_owned(),
        source: source.to_owned(),
        created: now(),
        content,
    });
}

/// `/api/{space}/artifacts…`; `segments` start at `artifacts`.
pub fn route(
    state: &mut State,
    verb: &str,
    space_id: &str,
    segments: &[String],
    query: &Query,
    body: &[u8],
) -> ApiResult<Reply> {
    let lower = crate::tasks::lowered(segments);
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let position = |state: &State, id: &str| {
        state
            .executions
            .artifacts
            .iter()
            .position(|a| same_id(&a.id, id) && same_id(&a.space_id, space_id))
            .ok_or_else(|| ApiError::not_found(id))
    };
    match (verb, lower.as_slice()) {
        ("GET", ["artifacts"]) => Ok(Reply::ok(list(state, space_id, query))),
        ("POST", ["artifacts"]) => {
            let sent: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("The request body is not valid JSON: {e}"))
            })?;
            let filename = str_field(&sent, "Filename")
                .filter(|f| !f.trim().is_empty())
                .ok_or_else(|| ApiError::required("Filename"))?;
            let task = str_field(&sent, "ServerTaskId")
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| ApiError::required("ServerTaskId"))?;
            if state.executions.task(task).is_none() {
                return Err(ApiError::bad_request(format!(
                    "The server task '{task}' was not found."
                )));
            }
            let source = str_field(&sent, "Source").unwrap_or_default().to_owned();
            let (filename, task) = (filename.to_owned(), task.to_owned());
            attach(state, &task, &filename, &source, Vec::new());
            let created = state.executions.artifacts.last().map(render);
            Ok(Reply::created(created.unwrap_or(Value::Null)))
        }
        ("GET", ["artifacts", _]) => {
            let at = position(state, &segments[1])?;
            Ok(Reply::ok(render(&state.executions.artifacts[at])))
        }
        ("GET", ["artifacts", _, "content"]) => {
            let at = position(state, &segments[1])?;
            Ok(Reply::bytes(
                "application/octet-stream",
                state.executions.artifacts[at].content.clone(),
            ))
        }
        ("PUT", ["artifacts", _, "content"]) => {
            let at = position(state, &segments[1])?;
            state.executions.artifacts[at].content = body.to_vec();
            Ok(Reply {
                status: axum::http::StatusCode::NO_CONTENT,
                body: crate::reply::ReplyBody::Empty,
                headers: Vec::new(),
            })
        }
        _ => Err(ApiError::unknown_route()),
    }
}
