//! Maps a request onto its handler: path segments matched case-insensitively, space resolution
//! (`/api/{spaceId}/…`, `/api/spaces/{idOrSlug}/…`, legacy `/api/…`), then one match per resource.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{header, Method, Request};
use serde_json::{json, Value};

use crate::collections::{self, render};
use crate::config_as_code as cac;
use crate::documents::{id_of, same_id, str_field};
use crate::kinds::{kind, Kind, WriteReply};
use crate::paging::Query;
use crate::projects::{self, is_version_controlled};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::server::Shared;
use crate::state::State;
use crate::tenant_variables::{self as tenant_vars, Owner};
use crate::{packages, processes, spaces, system, variables};

/// One API request, path already split and decoded.
pub struct Call {
    pub method: Method,
    /// Segments after `/api`, percent-decoded one by one (so `refs%2Fheads%2Fmain` stays one segment).
    pub segments: Vec<String>,
    pub query: Query,
    pub body: Bytes,
    pub content_type: Option<String>,
}

impl Call {
    fn verb(&self) -> &str {
        if self.method == Method::HEAD {
            "GET"
        } else {
            self.method.as_str()
        }
    }

    fn json(&self) -> ApiResult<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
    }

    fn not_allowed(&self) -> ApiError {
        ApiError::method_not_allowed(self.method.as_str())
    }
}

/// Where a path points.
enum Target {
    Server,
    Space { index: usize, rest: Vec<String> },
}

fn is_space_id(segment: &str) -> bool {
    segment
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("spaces-"))
        && segment[7..].chars().all(|c| c.is_ascii_digit())
        && segment.len() > 7
}

fn resolve(state: &State, segments: &[String]) -> ApiResult<Target> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let space = |id: &str, rest: &[String]| -> ApiResult<Target> {
        let index = state
            .space_index(id)
            .ok_or_else(|| ApiError::not_found(id))?;
        Ok(Target::Space {
            index,
            rest: rest.to_vec(),
        })
    };
    match lower.first().map(String::as_str) {
        None => Ok(Target::Server),
        Some("spaces") if segments.len() > 2 => space(&segments[1], &segments[2..]),
        Some(
            "spaces"
            | "configuration"
            | "users"
            | "tasks"
            | "teams"
            | "platformhub"
            | "communityactiontemplates",
        ) => Ok(Target::Server),
        Some(first) if is_space_id(first) => space(&segments[0], &segments[1..]),
        Some(_) => {
            let index = state
                .default_space_index()
                .ok_or_else(|| ApiError::not_found("default space"))?;
            Ok(Target::Space {
                index,
                rest: segments.to_vec(),
            })
        }
    }
}

fn lower(segments: &[String]) -> Vec<String> {
    segments.iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// Route one authenticated API request.
pub async fn route(shared: &Shared, call: &Call) -> Reply {
    match route_checked(shared, call).await {
        Ok(reply) => reply,
        Err(error) => error.into(),
    }
}

async fn route_checked(shared: &Shared, call: &Call) -> ApiResult<Reply> {
    let target = resolve(&shared.state(), &call.segments)?;
    let Target::Space { index, rest } = target else {
        if shared.legacy_tenant_variables
            && lower(&call.segments)
                .ends_with(&["configuration".to_owned(), "feature-toggles".to_owned()])
        {
            return Ok(Reply::ok(system::feature_toggles(false)));
        }
        return server_route(&mut shared.state(), call);
    };
    let l = lower(&rest);
    let l: Vec<&str> = l.iter().map(String::as_str).collect();
    match (call.verb(), l.as_slice()) {
        (_, ["tenants", _, "commonvariables" | "projectvariables"])
            if shared.legacy_tenant_variables =>
        {
            Err(ApiError::unknown_route())
        }
        ("POST", ["packages", "raw"]) => upload(shared, call, index).await,
        ("POST", ["projects", _, "git", "convert"]) => convert(shared, call, index, &rest[1]).await,
        ("PUT", ["projects", _]) => {
            check_project_put(shared, call, index, &rest[1]).await?;
            if shared.keeps_template_on_null {
                let mut state = shared.state();
                let body =
                    projects::template_kept_on_null(&state.spaces[index], &rest[1], call.json()?);
                let call = Call {
                    method: call.method.clone(),
                    segments: call.segments.clone(),
                    query: call.query.clone(),
                    body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                    content_type: call.content_type.clone(),
                };
                return space_route(&mut state, &call, index, &rest);
            }
            space_route(&mut shared.state(), call, index, &rest)
        }
        _ => space_route(&mut shared.state(), call, index, &rest),
    }
}

fn server_route(state: &mut State, call: &Call) -> ApiResult<Reply> {
    let s = &call.segments;
    let l = lower(s);
    let l: Vec<&str> = l.iter().map(String::as_str).collect();
    let q = &call.query;
    match (call.verb(), l.as_slice()) {
        ("GET", []) => {
            let default = state
                .default_space_index()
                .map(|i| state.spaces[i].id().to_string());
            Ok(Reply::ok(system::api_root(
                &state.installation_id,
                default.as_deref(),
            )))
        }
        ("GET", ["spaces"]) => Ok(Reply::ok(spaces::list(state, q))),
        ("POST", ["spaces"]) => {
            let index = spaces::create(state, call.json()?)?;
            Ok(Reply::created(spaces::render(&state.spaces[index].space)))
        }
        ("GET", ["spaces", "all"]) => Ok(Reply::ok(spaces::all(state, q))),
        (verb, ["spaces", _]) => {
            let index = state
                .space_index(&s[1])
                .ok_or_else(|| ApiError::not_found(&s[1]))?;
            match verb {
                "GET" => Ok(Reply::ok(spaces::render(&state.spaces[index].space))),
                "PUT" => {
                    spaces::update(state, index, call.json()?)?;
                    Ok(Reply::ok(spaces::render(&state.spaces[index].space)))
                }
                "DELETE" => {
                    spaces::delete(state, index)?;
                    Ok(Reply::no_content())
                }
                _ => Err(call.not_allowed()),
            }
        }
        (verb, ["communityactiontemplates", ..]) => {
            crate::step_templates::community_route(state, s, verb, q)
        }
        ("GET", ["configuration", "feature-toggles"]) => {
            Ok(Reply::ok(system::feature_toggles(true)))
        }
        ("GET", ["users", "me"]) => Ok(Reply::ok(system::current_user())),
        ("GET", ["platformhub", "processtemplates", _, "share"]) => Ok(Reply::ok(
            crate::platform_hub::share(&state.process_templates, &s[2])?,
        )),
        ("GET", ["platformhub", "processtemplates", _, "versions"]) => Ok(Reply::ok(
            crate::platform_hub::versions(&state.process_templates, &s[2], q)?,
        )),
        (_, ["tasks", ..]) => crate::tasks::route(state, call.verb(), None, s, q),
        ("GET", ["teams"]) => Ok(Reply::ok(spaces::list_teams(state, None, q))),
        ("GET", ["teams", _]) => spaces::teams(state, None)
            .into_iter()
            .find(|t| same_id(id_of(t), &s[1]))
            .map(Reply::ok)
            .ok_or_else(|| ApiError::not_found(&s[1])),
        _ => Err(ApiError::unknown_route()),
    }
}

/// Routes inside one space; `rest` are the segments after the space part.
fn space_route(state: &mut State, call: &Call, index: usize, rest: &[String]) -> ApiResult<Reply> {
    let s = rest;
    let l = lower(s);
    let l: Vec<&str> = l.iter().map(String::as_str).collect();
    let q = &call.query;
    let space_id = state.spaces[index].id().to_string();
    match (call.verb(), l.as_slice()) {
        // The task queue (tasks.rs, artifacts.rs, runbook_runs.rs, runbook_snapshots.rs).
        (verb, ["tasks", ..]) => crate::tasks::route(state, verb, Some(&space_id), s, q),
        (verb, ["artifacts", ..]) => {
            crate::artifacts::route(state, verb, &space_id, s, q, &call.body)
        }
        (verb, ["runbook-runs", ..] | ["runbookruns", ..] | ["projects", _, "runbookruns"]) => {
            crate::runbook_runs::route(state, verb, index, s, q, call.json()?)
        }
        (
            verb,
            ["runbooksnapshots", ..]
            | ["projects", _, "runbooksnapshots", ..]
            | ["runbooks", _, "runbooksnapshots"],
        ) => crate::runbook_snapshots::route(state, verb, index, s, q, call.json()?),
        ("GET", []) => Ok(Reply::ok(system::space_root(&space_id))),
        ("GET", ["teams"]) => Ok(Reply::ok(spaces::list_teams(state, Some(&space_id), q))),

        ("GET", ["deploymentprocesses"]) => {
            Ok(Reply::ok(processes::list(&state.spaces[index], q, false)))
        }
        ("GET", ["runbookprocesses"]) => {
            Ok(Reply::ok(processes::list(&state.spaces[index], q, true)))
        }
        (verb, ["deploymentprocesses" | "runbookprocesses", _]) => {
            let runbook = l[0] == "runbookprocesses";
            process_by_id(state, call, index, &s[1], runbook, verb)
        }

        ("GET", ["variables", "all"]) => {
            let space = &state.spaces[index];
            let ids = q.list("ids");
            let sets = space
                .variable_sets
                .iter()
                .filter(|v| ids.is_empty() || ids.iter().any(|id| same_id(id, id_of(v))))
                .map(|v| variables::render(space, v, &variables::self_link(&space_id, id_of(v))))
                .collect();
            Ok(Reply::ok(Value::Array(sets)))
        }
        (verb, ["variables", _]) => {
            let space = &mut state.spaces[index];
            let position =
                variables::position(space, &s[1]).ok_or_else(|| ApiError::not_found(&s[1]))?;
            let set_id = id_of(&space.variable_sets[position]).to_string();
            match verb {
                "GET" => {}
                "PUT" => {
                    let body = call.json()?;
                    let owner = str_field(&space.variable_sets[position], "OwnerId")
                        .unwrap_or_default()
                        .to_string();
                    if let Some(project) = space
                        .docs("projects")
                        .iter()
                        .find(|p| same_id(id_of(p), &owner))
                    {
                        cac::check_database_variables(project, &body)?;
                    }
                    variables::replace(space, &set_id, body)?
                }
                _ => return Err(call.not_allowed()),
            }
            let set = &space.variable_sets[position];
            Ok(Reply::ok(variables::render(
                space,
                set,
                &variables::self_link(&space_id, &set_id),
            )))
        }

        (verb, ["tenants", _, "variables"]) => {
            if verb != "GET" {
                if !matches!(verb, "PUT" | "POST") {
                    return Err(call.not_allowed());
                }
                let State { ids, spaces, .. } = state;
                tenant_vars::put_legacy(&mut spaces[index], ids, &s[1], call.json()?)?;
            }
            Ok(Reply::ok(tenant_vars::legacy(&state.spaces[index], &s[1])?))
        }
        (verb, ["tenants", _, kind @ ("commonvariables" | "projectvariables")]) => {
            let owner = if *kind == "commonvariables" {
                Owner::Common
            } else {
                Owner::Project
            };
            if verb != "GET" {
                if !matches!(verb, "PUT" | "POST") {
                    return Err(call.not_allowed());
                }
                let State { ids, spaces, .. } = state;
                tenant_vars::put_scoped(&mut spaces[index], ids, &s[1], owner, call.json()?)?;
            }
            let include_missing = q.flag("includeMissingVariables");
            Ok(Reply::ok(tenant_vars::scoped(
                &state.spaces[index],
                &s[1],
                owner,
                include_missing,
            )?))
        }
        ("GET", ["tenantvariables", "all"]) => {
            Ok(Reply::ok(tenant_vars::all_legacy(&state.spaces[index], q)?))
        }

        ("GET", ["packages"]) => Ok(Reply::ok(packages::list(&state.spaces[index], q))),
        ("GET", ["packages", _]) => Ok(Reply::ok(packages::get(&state.spaces[index], &s[1])?)),
        ("DELETE", ["packages", _]) => {
            packages::delete(&mut state.spaces[index], &s[1])?;
            Ok(Reply::no_content())
        }
        ("GET", ["packages", _, "raw"]) => packages::raw(&state.spaces[index], &s[1]),
        ("GET", ["feeds", "feeds-builtin", "packages", "versions"]) => {
            Ok(Reply::ok(packages::versions(&state.spaces[index], q)))
        }

        (_, ["projects", _, _, ..]) => project_route(state, call, index, &s[1], &s[2..]),
        (verb, ["actiontemplates", _, "versions" | "usage", ..]) => {
            crate::step_templates::route(state, index, s, verb)
        }

        // Advertised in every space root as `EnvironmentSortOrder` (and `PUT /tagsets/sortorder`
        // beside it): the body is the IDs in their new order, every ID of the space
        // (OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`, the server's swagger from
        // 2020.5: `updateSortEnvironments_Spaces`, `updateSortTagSets_Spaces`). The swagger says
        // only "200 OK - Default", no body; an empty object is a guess.
        ("PUT", [collection @ ("environments" | "tagsets"), "sortorder"]) => {
            let kind = kind(collection).expect("a collection");
            let order: Vec<String> = serde_json::from_value(call.json()?)
                .map_err(|_| ApiError::bad_request("The body must be an array of IDs."))?;
            let space = &mut state.spaces[index];
            let docs = space.docs_mut(kind.collection);
            if order.len() != docs.len()
                || !docs
                    .iter()
                    .all(|d| order.iter().any(|id| same_id(id, id_of(d))))
            {
                return Err(ApiError::bad_request(
                    "The sort order must list every ID of the collection exactly once.",
                ));
            }
            for doc in docs.iter_mut() {
                let at = order
                    .iter()
                    .position(|id| same_id(id, id_of(doc)))
                    .expect("checked above");
                doc["SortOrder"] = json!(at);
            }
            Ok(Reply::empty_object())
        }

        (verb, [collection]) => {
            let kind = kind(collection).ok_or_else(ApiError::unknown_route)?;
            match verb {
                "GET" => {
                    every_project_loads(&state.spaces[index], kind)?;
                    Ok(Reply::ok(collections::list(&state.spaces[index], kind, q)))
                }
                "POST" => create(state, index, kind, call.json()?),
                _ => Err(call.not_allowed()),
            }
        }
        ("GET", [collection, "all"]) if kind(collection).is_some() => {
            let kind = kind(collection).expect("checked");
            every_project_loads(&state.spaces[index], kind)?;
            Ok(Reply::ok(collections::all(&state.spaces[index], kind, q)))
        }
        (verb, [collection, _]) => {
            let kind = kind(collection).ok_or_else(ApiError::unknown_route)?;
            by_id(state, call, index, kind, &s[1], verb)
        }
        _ => Err(ApiError::unknown_route()),
    }
}

/// A list of projects fails as a whole when one of them cannot be loaded (see
/// `projects::unloadable`).
fn every_project_loads(space: &crate::state::SpaceStore, kind: &Kind) -> ApiResult<()> {
    if kind.collection != "projects" {
        return Ok(());
    }
    match space
        .docs("projects")
        .iter()
        .find_map(|project| projects::unloadable(space, project))
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn create(state: &mut State, index: usize, kind: &Kind, body: Value) -> ApiResult<Reply> {
    let doc = collections::create(&mut state.space_mut(index), kind, body)?;
    let rendered = render(state.spaces[index].id(), kind, &doc);
    Ok(match kind.write_reply {
        WriteReply::Resource => Reply::created(rendered),
        WriteReply::IdAndLinks => {
            Reply::created(json!({"Id": rendered["Id"], "Links": rendered["Links"]}))
        }
    })
}

fn by_id(
    state: &mut State,
    call: &Call,
    index: usize,
    kind: &Kind,
    id: &str,
    verb: &str,
) -> ApiResult<Reply> {
    let space_id = state.spaces[index].id().to_string();
    match verb {
        "GET" => {
            if kind.collection == "projects" {
                let space = &state.spaces[index];
                if let Some(error) =
                    projects::unloadable(space, collections::stored(space, kind, id)?)
                {
                    return Err(error);
                }
            }
            Ok(Reply::ok(collections::get(&state.spaces[index], kind, id)?))
        }
        "PUT" => {
            let doc = collections::update(&mut state.space_mut(index), kind, id, call.json()?)?;
            Ok(match kind.write_reply {
                WriteReply::Resource => Reply::ok(render(&space_id, kind, &doc)),
                WriteReply::IdAndLinks => Reply::empty_object(),
            })
        }
        "DELETE" => {
            collections::delete(&mut state.space_mut(index), kind, id)?;
            Ok(match kind.write_reply {
                WriteReply::Resource => Reply::no_content(),
                WriteReply::IdAndLinks => Reply::empty_object(),
            })
        }
        _ => Err(call.not_allowed()),
    }
}

/// `/deploymentprocesses/{id}` and `/runbookProcesses/{id}` (database documents).
fn process_by_id(
    state: &mut State,
    call: &Call,
    index: usize,
    id: &str,
    runbook: bool,
    verb: &str,
) -> ApiResult<Reply> {
    let space = &mut state.spaces[index];
    let position = processes::position(space, id)
        .filter(|&i| processes::is_runbook_process(&space.processes[i]) == runbook)
        .ok_or_else(|| ApiError::not_found(id))?;
    // A version-controlled project's deployment process (and, once runbooks are in git, its
    // runbook processes) live in git: the database route is refused.
    let owner = str_field(&space.processes[position], "ProjectId").unwrap_or_default();
    if let Some(project) = space
        .docs("projects")
        .iter()
        .find(|p| same_id(id_of(p), owner))
    {
        let in_git = if runbook {
            cac::runbooks_in_git(project)
        } else {
            is_version_controlled(project)
        };
        if in_git {
            return Err(cac::non_version_control_route());
        }
    }
    match verb {
        "GET" => {}
        "PUT" => {
            space.processes[position] =
                processes::replaced(&space.processes[position], call.json()?, true)?
        }
        _ => return Err(call.not_allowed()),
    }
    let doc = &space.processes[position];
    Ok(Reply::ok(processes::render(
        space.id(),
        doc,
        &processes::db_self_link(space.id(), doc),
    )))
}

/// The tails of `/projects/{p}/{gitRef}/…` routes and where the ref ends.
fn split_git_ref(tail: &[String]) -> Option<(String, Vec<String>)> {
    let l = lower(tail);
    let n = tail.len();
    let cut = match l.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [.., "deploymentprocesses" | "deploymentsettings" | "variables" | "runbooks" | "summary"] => {
            n - 1
        }
        [.., "runbooks", _] | [.., "runbookprocesses", _] => n - 2,
        _ => return None,
    };
    if cut == 0 || l[0] == "git" {
        return None;
    }
    Some((tail[..cut].join("/"), l[cut..].to_vec()))
}

/// `/projects/{idOrSlug}/…` below the project itself.
fn project_route(
    state: &mut State,
    call: &Call,
    index: usize,
    project_ref: &str,
    tail: &[String],
) -> ApiResult<Reply> {
    let projects_kind = kind("projects").expect("projects kind");
    let position = collections::position(&state.spaces[index], projects_kind, project_ref)
        .ok_or_else(|| ApiError::not_found(project_ref))?;
    let project = state.spaces[index].docs("projects")[position].clone();
    let pid = id_of(&project).to_string();
    let space_id = state.spaces[index].id().to_string();
    let base = cac::project_base(&space_id, &project);
    let l = lower(tail);
    let l: Vec<&str> = l.iter().map(String::as_str).collect();
    let verb = call.verb();
    let q = &call.query;

    match (verb, l.as_slice()) {
        (_, ["deploymentprocesses"] | ["deploymentsettings"])
            if is_version_controlled(&project) =>
        {
            Err(cac::non_version_control_route())
        }
        (_, ["deploymentprocesses"]) => {
            let space = &mut state.spaces[index];
            let at = projects::db_process_index(space, &project)?;
            match verb {
                "GET" => {}
                "PUT" => {
                    space.processes[at] =
                        processes::replaced(&space.processes[at], call.json()?, true)?
                }
                _ => return Err(call.not_allowed()),
            }
            let doc = &space.processes[at];
            Ok(Reply::ok(processes::render(
                &space_id,
                doc,
                &format!("{base}/deploymentprocesses"),
            )))
        }
        (_, ["deploymentsettings"]) => {
            match verb {
                "GET" => {}
                "PUT" => {
                    projects::put_db_settings(&mut state.spaces[index], position, call.json()?)?
                }
                _ => return Err(call.not_allowed()),
            }
            let project = &state.spaces[index].docs("projects")[position];
            let settings = projects::settings_from_project(&space_id, project);
            Ok(Reply::ok(projects::render_settings(
                &settings,
                &format!("{base}/deploymentsettings"),
            )))
        }
        (_, ["variables"]) => {
            let space = &mut state.spaces[index];
            match verb {
                "GET" => {
                    let at = variables::position(space, &pid)
                        .ok_or_else(|| ApiError::not_found(&pid))?;
                    Ok(Reply::ok(variables::render(
                        space,
                        &space.variable_sets[at],
                        &format!("{base}/variables"),
                    )))
                }
                "PUT" => {
                    let body = call.json()?;
                    cac::check_database_variables(&project, &body)?;
                    variables::replace(space, &pid, body)?;
                    Ok(Reply::empty_object())
                }
                _ => Err(call.not_allowed()),
            }
        }
        (_, ["channels" | "runbooks"]) => {
            let kind = kind(l[0]).expect("nested kind");
            if kind.collection == "runbooks" && cac::runbooks_in_git(&project) {
                return Err(cac::non_version_control_route());
            }
            match verb {
                "GET" => {
                    let mut query = q.clone();
                    query.push("projectId", &pid);
                    query.push("projectIds", &pid);
                    let href = format!("{base}/{}", kind.collection);
                    Ok(Reply::ok(collections::list_at(
                        &state.spaces[index],
                        kind,
                        &query,
                        &href,
                    )))
                }
                "POST" => {
                    let mut body = call.json()?;
                    if let Value::Object(map) = &mut body {
                        map.insert("ProjectId".into(), json!(pid));
                    }
                    create(state, index, kind, body)
                }
                _ => Err(call.not_allowed()),
            }
        }
        ("GET", ["triggers"]) => Ok(Reply::ok(crate::triggers::list_for_project(
            &state.spaces[index],
            &pid,
            q,
            &format!("{base}/triggers"),
        ))),
        ("GET", ["channels", _]) => Ok(Reply::ok(collections::get(
            &state.spaces[index],
            kind("channels").expect("kind"),
            &tail[1],
        )?)),
        // The project-nested routes of one runbook and of its process: the official TypeScript
        // client's `RunbookRepository` (base `/projects/{projectId}/runbooks`: `get`, `modify`,
        // `del` from BasicRepository) and `RunbookProcessRepository` (`get` and `update` on
        // `/projects/{projectId}/runbookProcesses{/id}`), OctopusDeploy/api-client.ts
        // src/features/projects/runbooks/runbookRepository.ts:17,
        // src/features/basicRepository.ts:39-59 and runbookProcessRepository.ts:19,38. A runbook
        // of another project is not found here.
        (_, ["runbooks", _] | ["runbookprocesses", _]) if cac::runbooks_in_git(&project) => {
            Err(cac::non_version_control_route())
        }
        (verb, ["runbooks", _]) => {
            let runbooks = kind("runbooks").expect("kind");
            let runbook = collections::stored(&state.spaces[index], runbooks, &tail[1])?;
            if !same_id(str_field(runbook, "ProjectId").unwrap_or_default(), &pid) {
                return Err(ApiError::not_found(&tail[1]));
            }
            let id = id_of(runbook).to_string();
            by_id(state, call, index, runbooks, &id, verb)
        }
        (verb, ["runbookprocesses", _]) => {
            let space = &state.spaces[index];
            let owned = processes::position(space, &tail[1]).is_some_and(|at| {
                same_id(
                    str_field(&space.processes[at], "ProjectId").unwrap_or_default(),
                    &pid,
                )
            });
            if !owned {
                return Err(ApiError::not_found(&tail[1]));
            }
            process_by_id(state, call, index, &tail[1], true, verb)
        }
        ("GET", ["summary"]) => Ok(Reply::ok(
            json!({"HasRunbooks": false, "HasDeploymentProcess": true}),
        )),
        ("GET", ["git", "branches"]) => Ok(Reply::ok(cac::branches(
            &space_id,
            &state.repositories,
            &project,
            q,
        )?)),
        ("POST", ["git", "branches"] | ["git", "branches", "v2"]) => Ok(Reply::ok(
            cac::create_branch(&space_id, &mut state.repositories, &project, call.json()?)?,
        )),
        ("GET", ["git", "branches", ..]) => Ok(Reply::ok(cac::get_branch(
            &space_id,
            &state.repositories,
            &project,
            &tail[2..].join("/"),
        )?)),
        ("POST", ["git", "migrate-variables"]) => {
            cac::migrate_variables(state, index, position)?;
            Ok(Reply::empty_object())
        }
        ("POST", ["git", "migrate-runbooks"]) => {
            Ok(Reply::ok(cac::migrate_runbooks(state, index, position)?))
        }
        ("POST", ["git", "connectivity-test"]) => Ok(Reply::ok(
            json!({"Messages": [{"Category": "Info", "Message": "The connection to the repository was successful."}]}),
        )),
        _ => match split_git_ref(tail) {
            Some((git_ref, route)) => {
                let route: Vec<&str> = route.iter().map(String::as_str).collect();
                if is_version_controlled(&project) {
                    git_route(state, call, index, &project, &git_ref, &route)
                } else {
                    // Database projects accept and ignore a git ref (`/projects/{id}/{unusedGitRef}`).
                    let db_tail: Vec<String> = tail[tail.len() - route.len()..].to_vec();
                    project_route(state, call, index, &pid, &db_tail)
                }
            }
            None => Err(ApiError::unknown_route()),
        },
    }
}

/// Documents of one branch of a Config-as-Code project, read from and written to its
/// repository (`cac::commit` / `cac::checkout`: references by slug there, this space's ids
/// here). Variables and runbooks live in the database until in git.
fn git_route(
    state: &mut State,
    call: &Call,
    index: usize,
    project: &Value,
    git_ref: &str,
    route: &[&str],
) -> ApiResult<Reply> {
    let verb = call.verb();
    let space_id = state.spaces[index].id().to_string();
    let branch = cac::branch_name(git_ref);
    let pid = id_of(project).to_string();
    cac::branch(&state.repositories, project, &branch)?;
    let State {
        spaces,
        repositories,
        ..
    } = state;
    let space = &spaces[index];
    match (verb, route) {
        (_, ["deploymentprocesses"]) => {
            let docs = cac::branch_mut(repositories, project, &branch)?;
            let stored = docs
                .deployment_process
                .as_ref()
                .map(|doc| cac::checkout(space, doc.clone()))
                .ok_or_else(|| ApiError::not_found(&branch))?;
            let doc = match verb {
                "GET" => stored,
                "PUT" => {
                    let replaced = processes::replaced(&stored, call.json()?, false)?;
                    docs.deployment_process = Some(cac::commit(space, replaced.clone()));
                    replaced
                }
                _ => return Err(call.not_allowed()),
            };
            Ok(Reply::ok(processes::render(
                &space_id,
                &doc,
                &cac::process_link(&space_id, project, &branch, &doc),
            )))
        }
        (_, ["deploymentsettings"]) => {
            let docs = cac::branch_mut(repositories, project, &branch)?;
            let stored = docs
                .deployment_settings
                .as_ref()
                .map(|doc| cac::checkout(space, doc.clone()))
                .ok_or_else(|| ApiError::not_found(&branch))?;
            let doc = match verb {
                "GET" => stored,
                "PUT" => {
                    let merged = projects::merged_settings(&stored, call.json()?)?;
                    docs.deployment_settings = Some(cac::commit(space, merged.clone()));
                    merged
                }
                _ => return Err(call.not_allowed()),
            };
            Ok(Reply::ok(projects::render_settings(
                &doc,
                &cac::settings_link(&space_id, project, &branch),
            )))
        }
        (_, ["variables"]) if cac::variables_in_git(project) => {
            if verb == "PUT" {
                let docs = cac::branch_mut(repositories, project, &branch)?;
                cac::put_variables(space, docs, call.json()?)?;
            } else if verb != "GET" {
                return Err(call.not_allowed());
            }
            let set = cac::branch(repositories, project, &branch)?
                .variables
                .as_ref()
                .map(|set| cac::checkout(space, set.clone()))
                .unwrap_or(json!({}));
            Ok(Reply::ok(cac::render_variables(
                space, &set, project, &branch,
            )))
        }
        (_, ["variables"]) => {
            let space = &mut spaces[index];
            if verb == "PUT" {
                variables::replace(space, &pid, call.json()?)?;
            } else if verb != "GET" {
                return Err(call.not_allowed());
            }
            let at = variables::position(space, &pid).ok_or_else(|| ApiError::not_found(&pid))?;
            let href = variables::self_link(&space_id, id_of(&space.variable_sets[at]));
            Ok(Reply::ok(variables::render(
                space,
                &space.variable_sets[at],
                &href,
            )))
        }
        (_, ["summary"]) => Ok(Reply::ok(
            json!({"HasRunbooks": false, "HasDeploymentProcess": true}),
        )),
        (_, ["runbooks", ..] | ["runbookprocesses", _]) if cac::runbooks_in_git(project) => {
            git_runbooks(state, call, index, project, &branch, route)
        }
        (_, ["runbooks"]) => {
            let tail = vec!["runbooks".to_string()];
            project_route(state, call, index, &pid, &tail)
        }
        ("POST", ["runbooks", "v2"]) => {
            let mut body = call.json()?;
            if let Value::Object(map) = &mut body {
                map.insert("ProjectId".into(), json!(pid));
            }
            create(state, index, kind("runbooks").expect("kind"), body)
        }
        (verb, ["runbooks", id]) => by_id(
            state,
            call,
            index,
            kind("runbooks").expect("kind"),
            id,
            verb,
        ),
        (verb, ["runbookprocesses", id]) => process_by_id(state, call, index, id, true, verb),
        _ => Err(ApiError::unknown_route()),
    }
}

/// Runbooks migrated into a branch: documents live in the branch, IDs stay `Runbooks-N`.
fn git_runbooks(
    state: &mut State,
    call: &Call,
    index: usize,
    project: &Value,
    branch: &str,
    route: &[&str],
) -> ApiResult<Reply> {
    let runbooks = kind("runbooks").expect("kind");
    let space_id = state.spaces[index].id().to_string();
    let pid = id_of(project).to_string();
    let verb = call.verb();
    let State {
        ids,
        spaces,
        repositories,
        ..
    } = state;
    let space = &spaces[index];
    match (verb, route) {
        ("GET", ["runbooks"]) => {
            let docs = cac::branch(repositories, project, branch)?;
            let checked_out: Vec<Value> = docs
                .runbooks
                .iter()
                .map(|doc| cac::checkout(space, doc.clone()))
                .collect();
            let mut query = call.query.clone();
            query.push("projectIds", &pid);
            let filtered = collections::filter(runbooks, &checked_out, &query);
            let items = filtered
                .iter()
                .map(|d| render(&space_id, runbooks, d))
                .collect();
            let href = format!(
                "{}/{}/runbooks",
                cac::project_base(&space_id, project),
                cac::encoded_ref(branch)
            );
            Ok(Reply::ok(crate::paging::page(
                items,
                runbooks.item_type,
                &href,
                runbooks.query_template,
                &query,
            )))
        }
        ("POST", ["runbooks"] | ["runbooks", "v2"]) => {
            let body = crate::documents::into_object(call.json()?)?;
            crate::documents::require(&body, &["Name"])?;
            let id = ids.next(runbooks.id_prefix);
            let mut doc = crate::documents::with_envelope(body, &id, Some(&space_id));
            crate::documents::fill_defaults(&mut doc, &runbooks.default_values());
            doc.insert("ProjectId".into(), json!(pid));
            doc.insert(
                "RunbookProcessId".into(),
                json!(processes::runbook_process_id(&id)),
            );
            crate::documents::stamp_modified(&mut doc);
            let doc = Value::Object(doc);
            let docs = cac::branch_mut(repositories, project, branch)?;
            docs.runbooks.push(cac::commit(space, doc.clone()));
            docs.runbook_processes.push(cac::commit(
                space,
                processes::new_process(&space_id, &pid, Some(&id)),
            ));
            Ok(Reply::created(render(&space_id, runbooks, &doc)))
        }
        (verb, ["runbooks", id]) => {
            let docs = cac::branch_mut(repositories, project, branch)?;
            let at = crate::documents::position_by_id(&docs.runbooks, id)
                .ok_or_else(|| ApiError::not_found(id))?;
            let old = cac::checkout(space, docs.runbooks[at].clone());
            let doc = match verb {
                "GET" => old,
                "PUT" => {
                    let body = crate::documents::into_object(call.json()?)?;
                    let mut doc =
                        crate::documents::with_envelope(body, id_of(&old), Some(&space_id));
                    doc.insert("ProjectId".into(), old["ProjectId"].clone());
                    doc.insert("RunbookProcessId".into(), old["RunbookProcessId"].clone());
                    crate::documents::stamp_modified(&mut doc);
                    let doc = Value::Object(doc);
                    docs.runbooks[at] = cac::commit(space, doc.clone());
                    doc
                }
                "DELETE" => {
                    let old = docs.runbooks.remove(at);
                    let process = str_field(&old, "RunbookProcessId")
                        .unwrap_or_default()
                        .to_string();
                    docs.runbook_processes
                        .retain(|p| !same_id(id_of(p), &process));
                    return Ok(Reply::no_content());
                }
                _ => return Err(call.not_allowed()),
            };
            Ok(Reply::ok(render(&space_id, runbooks, &doc)))
        }
        (verb, ["runbookprocesses", id]) => {
            let docs = cac::branch_mut(repositories, project, branch)?;
            let at = crate::documents::position_by_id(&docs.runbook_processes, id)
                .ok_or_else(|| ApiError::not_found(id))?;
            let stored = cac::checkout(space, docs.runbook_processes[at].clone());
            let doc = match verb {
                "GET" => stored,
                "PUT" => {
                    let replaced = processes::replaced(&stored, call.json()?, false)?;
                    docs.runbook_processes[at] = cac::commit(space, replaced.clone());
                    replaced
                }
                _ => return Err(call.not_allowed()),
            };
            Ok(Reply::ok(processes::render(
                &space_id,
                &doc,
                &cac::process_link(&space_id, project, branch, &doc),
            )))
        }
        _ => Err(ApiError::unknown_route()),
    }
}

/// `POST /packages/raw`: multipart with one file part; any field name; identity from its filename,
/// or for a `.nupkg` from its `.nuspec` (see `packages::identity`).
async fn upload(shared: &Shared, call: &Call, index: usize) -> ApiResult<Reply> {
    let mode = packages::overwrite_mode(&call.query)?;
    let content_type = call.content_type.clone().unwrap_or_default();
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(call.body.clone()))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| ApiError::bad_request(packages::NO_FILE))?;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("The multipart body could not be read: {e}")))?
    {
        if let Some(name) = field.file_name().map(str::to_string) {
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::bad_request(format!("The multipart body could not be read: {e}"))
            })?;
            file = Some((name, bytes.to_vec()));
            break;
        }
    }
    let (name, bytes) = file.ok_or_else(|| ApiError::bad_request(packages::NO_FILE))?;
    packages::upload(&mut shared.state().spaces[index], &name, bytes, mode)
}

/// `POST /projects/{p}/git/convert`, checking the repository URL first when configured.
async fn convert(
    shared: &Shared,
    call: &Call,
    index: usize,
    project_ref: &str,
) -> ApiResult<Reply> {
    let body = call.json()?;
    let sent = body
        .get("VersionControlSettings")
        .filter(|v| v.is_object())
        .cloned()
        .ok_or_else(|| ApiError::required("VersionControlSettings"))?;
    let initial = body
        .get("InitialCommitBranchName")
        .and_then(Value::as_str)
        .map(str::to_string);
    let projects_kind = kind("projects").expect("kind");
    let check = {
        let state = shared.state();
        let space = &state.spaces[index];
        let project = collections::stored(space, projects_kind, project_ref)?;
        let settings = cac::persistence_settings(space, &sent, None)?;
        cac::repository_claimed(&state, &settings, id_of(project))?;
        cac::url_check(space, &settings)
    };
    if shared.check_git_urls {
        cac::check_url(&shared.http, &check).await?;
    }
    let mut state = shared.state();
    let space = &state.spaces[index];
    let position = collections::position(space, projects_kind, project_ref)
        .ok_or_else(|| ApiError::not_found(project_ref))?;
    let settings = cac::persistence_settings(space, &sent, None)?;
    cac::convert(
        &mut state,
        index,
        position,
        settings,
        initial.as_deref(),
        true,
    )?;
    Ok(Reply::empty_object())
}

/// PUT of a version-controlled project: no deployment setting on the project itself, and with new
/// persistence settings no other project may hold that repository and base path, and (when
/// configured) the URL must answer.
async fn check_project_put(
    shared: &Shared,
    call: &Call,
    index: usize,
    project_ref: &str,
) -> ApiResult<()> {
    let body = call.json()?;
    let check = {
        let state = shared.state();
        let space = &state.spaces[index];
        let Some(project) =
            collections::position(space, kind("projects").expect("kind"), project_ref)
                .map(|i| &space.docs("projects")[i])
        else {
            return Ok(());
        };
        if is_version_controlled(project) {
            projects::settings_fields_on_a_version_controlled_project(&body)?;
        }
        let sent = body
            .pointer("/PersistenceSettings")
            .cloned()
            .unwrap_or(Value::Null);
        if !is_version_controlled(project) || str_field(&sent, "Type") != Some("VersionControlled")
        {
            return Ok(());
        }
        let settings = cac::persistence_settings(space, &sent, project.get("PersistenceSettings"))?;
        cac::repository_claimed(&state, &settings, id_of(project))?;
        cac::url_check(space, &settings)
    };
    if !shared.check_git_urls {
        return Ok(());
    }
    cac::check_url(&shared.http, &check).await
}
