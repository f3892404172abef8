//! Step templates (`/api/{space}/actiontemplates`) and the community Library
//! (`/api/communityactiontemplates`): versions kept on every save, the version and usage routes,
//! Library templates installed into a space and updated from it.
//!
//! Sources: the server's swagger (OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`: the
//! `ActionTemplates` and `CommunityActionTemplates` operations and their 400 texts), a real
//! template (go-octopusdeploy `api/action_template_example.json`), OctopusClients
//! `Model/ActionTemplateResource.cs`, `ActionTemplateUsageResource.cs`,
//! `CommunityActionTemplateResource.cs` and `Repositories/CommunityActionTemplateRepository.cs`,
//! and octoterra `cmd/internal/converters/step_template_converter.go` /
//! `octopus_action_processor.go`.
//!
//! Searched without finding a rule, so not emulated: whether saving a process refuses a step
//! whose `Octopus.Action.Template.Id` the space lacks. OctopusDeploy/Issues#5863 says the server
//! does not check a step against its template on save, and #9322 that a template in use can be
//! deleted (its processes keep the dangling id), so the emulator accepts such a step too.
//! `actionsUpdate` (update steps to a template's version) is not served: octofleet writes the
//! steps itself.

use serde_json::{json, Map, Value};

use crate::documents::{
    assign_guid_ids, id_of, is_missing, name_of, now, same_id, str_field, with_envelope,
    MODIFIED_BY,
};
use crate::kinds::{kind, Change};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::{SpaceMut, State};
use crate::{collections, processes};

/// Where each saved version of a space's templates is kept (not a route of its own).
const VERSIONS: &str = "actiontemplate-versions";

/// Properties the server does not keep on a template: "it is not returned again when the step
/// template is created" (octoterra `step_template_converter.go`, `convertStepProperties`).
const DROPPED_PROPERTIES: [&str; 1] = ["Octopus.Action.RunOnServer"];

/// Saving a template (create or update).
pub fn action_template_rule(
    space: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    parameter_ids(doc);
    if let Some(properties) = doc.get_mut("Properties").and_then(Value::as_object_mut) {
        for dropped in DROPPED_PROPERTIES {
            properties.remove(dropped);
        }
    }
    match change.old {
        None => {
            // POST answers "No Feed Id was specified." and "The following Feed Ids cannot be
            // found: {ids}" (swagger `createActionTemplate_Spaces`).
            check_feeds(space, doc)?;
            // A new template is version 0 (`api/action_template_example.json`).
            doc.insert("Version".into(), json!(0));
        }
        Some(old) => {
            // "Only custom templates can be directly updated" (swagger `updateActionTemplate_Spaces`):
            // a Library template changes through its installation only.
            if str_field(old, "CommunityActionTemplateId").is_some_and(|id| !id.is_empty()) {
                return Err(ApiError::bad_request(
                    "Only custom templates can be directly updated",
                ));
            }
            // `ActionType` is `[WriteableOnCreate]` (OctopusClients `ActionTemplateResource.cs`),
            // and so is the Library link.
            for kept in ["ActionType", "CommunityActionTemplateId"] {
                doc.insert(kept.into(), old.get(kept).cloned().unwrap_or(Value::Null));
            }
            // Each save is a new version (the Usage page offers steps on an older one the
            // update: OctopusDeploy docs "Update step templates"; octoterra's
            // `ReplaceStepTemplateVersion` relies on a re-import raising it).
            let version = old.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
            doc.insert("Version".into(), json!(version));
        }
    }
    keep_version(space, change.id, doc);
    Ok(())
}

fn check_feeds(space: &SpaceMut<'_>, doc: &Map<String, Value>) -> ApiResult<()> {
    let packages = doc.get("Packages").and_then(Value::as_array);
    let mut unknown = Vec::new();
    for package in packages.into_iter().flatten().filter_map(Value::as_object) {
        if is_missing(package, "FeedId") {
            return Err(ApiError::bad_request("No Feed Id was specified."));
        }
        let feed = package["FeedId"].as_str().unwrap_or_default();
        let known = space
            .space
            .docs("feeds")
            .iter()
            .any(|f| same_id(id_of(f), feed));
        if !known {
            unknown.push(feed.to_string());
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "The following Feed Ids cannot be found: {}",
            unknown.join(", ")
        )))
    }
}

/// `GET /actiontemplates/{id}/versions/{version}` serves every saved version ("Gets specific
/// version of action template", swagger `getActionTemplateVersion_Spaces_1`; deleting a
/// template "deletes an existing action template and all its versions").
fn keep_version(space: &mut SpaceMut<'_>, id: &str, doc: &Map<String, Value>) {
    let mut snapshot = doc.clone();
    snapshot.insert("Id".into(), json!(id));
    snapshot.insert("LastModifiedOn".into(), json!(now()));
    snapshot.insert("LastModifiedBy".into(), json!(MODIFIED_BY));
    space.space.docs_mut(VERSIONS).push(Value::Object(snapshot));
}

/// A deleted template's versions go with it.
pub fn action_template_cascade(space: &mut SpaceMut<'_>, doc: &Value) {
    let id = id_of(doc).to_string();
    space
        .space
        .docs_mut(VERSIONS)
        .retain(|version| !same_id(id_of(version), &id));
}

/// `/actiontemplates/{id}/versions/{version}` and `/actiontemplates/{id}/usage`.
pub fn route(state: &State, index: usize, rest: &[String], verb: &str) -> ApiResult<Reply> {
    if verb != "GET" {
        return Err(ApiError::method_not_allowed(verb));
    }
    let space = &state.spaces[index];
    let templates = kind("actiontemplates").expect("the actiontemplates kind");
    let template = collections::stored(space, templates, &rest[1])?;
    let id = id_of(template).to_string();
    match rest[2].to_ascii_lowercase().as_str() {
        "versions" if rest.len() == 4 => {
            let wanted: i64 = rest[3]
                .parse()
                .map_err(|_| ApiError::bad_request("The version must be a number."))?;
            let version = space
                .docs(VERSIONS)
                .iter()
                .rev()
                .find(|v| {
                    same_id(id_of(v), &id)
                        && v.get("Version").and_then(Value::as_i64) == Some(wanted)
                })
                .ok_or_else(|| ApiError::not_found(&format!("{id} version {wanted}")))?;
            Ok(Reply::ok(collections::render(
                space.id(),
                templates,
                version,
            )))
        }
        "usage" if rest.len() == 3 => Ok(Reply::ok(Value::Array(usage(state, index, &id)))),
        _ => Err(ApiError::unknown_route()),
    }
}

/// "Gets a list of all steps/deployment processes that use a given action template" (swagger
/// `getActionTemplateUsage_Spaces`), one `ActionTemplateUsageResource` per action of a database
/// process (OctopusClients `ActionTemplateUsageResource.cs`; Config-as-Code processes count only
/// once a release holds them, OctopusDeploy/Issues#9322, so the git branches are not searched).
fn usage(state: &State, index: usize, template_id: &str) -> Vec<Value> {
    let space = &state.spaces[index];
    let projects = space.docs("projects");
    let runbooks = space.docs("runbooks");
    let mut found = Vec::new();
    for process in &space.processes {
        let runbook_id = str_field(process, "RunbookId").map(str::to_string);
        let project_id = str_field(process, "ProjectId").unwrap_or_default();
        let project = projects.iter().find(|p| same_id(id_of(p), project_id));
        let runbook = runbook_id
            .as_deref()
            .and_then(|id| runbooks.iter().find(|r| same_id(id_of(r), id)));
        for step in process["Steps"].as_array().into_iter().flatten() {
            for action in step["Actions"].as_array().into_iter().flatten() {
                let properties = &action["Properties"];
                if !str_field(properties, "Octopus.Action.Template.Id")
                    .is_some_and(|id| same_id(id, template_id))
                {
                    continue;
                }
                found.push(json!({
                    "ActionTemplateId": template_id,
                    "ProcessId": id_of(process),
                    "ProcessType": if processes::is_runbook_process(process) { "Runbook" } else { "Deployment" },
                    "DeploymentProcessId": id_of(process),
                    "ProjectId": project_id,
                    "ProjectName": project.map(name_of),
                    "ProjectSlug": project.and_then(|p| str_field(p, "Slug")),
                    "RunbookId": runbook_id,
                    "RunbookName": runbook.map(name_of),
                    "StepId": step["Id"],
                    "StepName": step["Name"],
                    "ActionId": action["Id"],
                    "ActionName": action["Name"],
                    "Version": str_field(properties, "Octopus.Action.Template.Version"),
                    "Branch": null,
                    "Release": null,
                    "Links": {}
                }));
            }
        }
    }
    found
}

/// The Library as the instance synchronised it: `GET /api/communityactiontemplates` (paged),
/// `GET /{id}`, and `POST`/`PUT /{id}/installation/{spaceId}`.
pub fn community_route(
    state: &mut State,
    segments: &[String],
    verb: &str,
    query: &Query,
) -> ApiResult<Reply> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (verb, lower.as_slice()) {
        ("GET", ["communityactiontemplates"]) => {
            let items: Vec<Value> = state
                .community_templates
                .iter()
                .map(render_community)
                .collect();
            let filtered: Vec<Value> = match query.get("partialName") {
                Some(partial) => items
                    .into_iter()
                    .filter(|t| name_of(t).to_lowercase().contains(&partial.to_lowercase()))
                    .collect(),
                None => items,
            };
            Ok(Reply::ok(page(
                filtered,
                "CommunityActionTemplate",
                "/api/communityactiontemplates",
                "{/id}{?skip,take,ids,partialName}",
                query,
            )))
        }
        ("GET", ["communityactiontemplates", _]) => community(state, &segments[1])
            .map(render_community)
            .map(Reply::ok),
        (verb @ ("POST" | "PUT"), ["communityactiontemplates", _, "installation", _]) => {
            let entry = community(state, &segments[1])?.clone();
            let index = state
                .space_index(&segments[3])
                .ok_or_else(|| ApiError::not_found(&segments[3]))?;
            if verb == "POST" {
                install(state, index, &entry)
            } else {
                update_installation(state, index, &entry)
            }
        }
        _ => Err(ApiError::unknown_route()),
    }
}

fn community<'a>(state: &'a State, id: &str) -> ApiResult<&'a Value> {
    state
        .community_templates
        .iter()
        .find(|t| same_id(id_of(t), id))
        .ok_or_else(|| ApiError::not_found(id))
}

fn render_community(doc: &Value) -> Value {
    let id = id_of(doc);
    let mut out = doc.clone();
    // The links OctopusClients follows (`CommunityActionTemplateRepository.cs`: `Installation`,
    // `InstalledTemplate`), each with the space as a template argument.
    out["Links"] = json!({
        "Self": format!("/api/communityactiontemplates/{id}"),
        "Installation": format!("/api/communityactiontemplates/{id}/installation{{/spaceId}}"),
        "InstalledTemplate": format!("/api/communityactiontemplates/{id}/actiontemplate{{/spaceId}}"),
        "Logo": format!("/api/communityactiontemplates/{id}/logo"),
    });
    out
}

/// The space's template installed from `entry`, as a position in its collection.
fn installed(state: &State, index: usize, entry: &Value) -> Option<usize> {
    state.spaces[index]
        .docs("actiontemplates")
        .iter()
        .position(|t| {
            str_field(t, "CommunityActionTemplateId").is_some_and(|id| same_id(id, id_of(entry)))
        })
}

/// Parameters get GUID ids where they have none, as on every save.
fn parameter_ids(doc: &mut Map<String, Value>) {
    let mut parameters = Value::Object(doc.clone());
    assign_guid_ids(&mut parameters, "Parameters");
    if let Some(p) = parameters.get("Parameters") {
        doc.insert("Parameters".into(), p.clone());
    }
}

/// An installation saves what it copies from the Library entry: its definition, its version
/// (the Library's), and the link back; the save is a version kept as any other.
fn from_library(space: &mut SpaceMut<'_>, id: &str, entry: &Value, doc: &mut Map<String, Value>) {
    doc.insert("Name".into(), entry["Name"].clone());
    doc.insert("Description".into(), entry["Description"].clone());
    doc.insert("ActionType".into(), entry["Type"].clone());
    doc.insert("Version".into(), entry["Version"].clone());
    doc.insert("CommunityActionTemplateId".into(), json!(id_of(entry)));
    for field in ["Properties", "Parameters", "Packages"] {
        doc.insert(
            field.into(),
            entry.get(field).cloned().unwrap_or_else(|| json!([])),
        );
    }
    if doc.get("Properties").is_some_and(Value::is_array) {
        doc.insert("Properties".into(), json!({}));
    }
    parameter_ids(doc);
    crate::documents::stamp_modified(doc);
    keep_version(space, id, doc);
}

/// "Installs community step template" (201 with the template; 400 "Action Template already
/// installed."), swagger `createCommunityActionTemplateInstallation_1`.
fn install(state: &mut State, index: usize, entry: &Value) -> ApiResult<Reply> {
    if installed(state, index, entry).is_some() {
        return Err(ApiError::bad_request("Action Template already installed."));
    }
    let templates = kind("actiontemplates").expect("the actiontemplates kind");
    let space_id = state.spaces[index].id().to_string();
    let mut space = state.space_mut(index);
    let name = name_of(entry).to_string();
    if space
        .space
        .docs(templates.collection)
        .iter()
        .any(|t| name_of(t).to_lowercase() == name.to_lowercase())
    {
        return Err(templates.duplicate_name_error());
    }
    let id = space.ids.next(templates.id_prefix);
    let mut doc = with_envelope(Map::new(), &id, Some(&space_id));
    from_library(&mut space, &id, entry, &mut doc);
    let doc = Value::Object(doc);
    space.space.docs_mut(templates.collection).push(doc.clone());
    Ok(Reply::created(collections::render(
        &space_id, templates, &doc,
    )))
}

/// "Updates installed community step template to the latest version" (400 "Action template not
/// yet installed."), swagger `updateCommunityActionTemplateInstallationPut_1`.
fn update_installation(state: &mut State, index: usize, entry: &Value) -> ApiResult<Reply> {
    let at = installed(state, index, entry)
        .ok_or_else(|| ApiError::bad_request("Action template not yet installed."))?;
    let templates = kind("actiontemplates").expect("the actiontemplates kind");
    let space_id = state.spaces[index].id().to_string();
    let mut space = state.space_mut(index);
    let stored = space.space.docs(templates.collection)[at].clone();
    let mut doc = stored.as_object().cloned().unwrap_or_default();
    let id = id_of(&stored).to_string();
    from_library(&mut space, &id, entry, &mut doc);
    let doc = Value::Object(doc);
    space.space.docs_mut(templates.collection)[at] = doc.clone();
    Ok(Reply::ok(collections::render(&space_id, templates, &doc)))
}

/// The instance's Library gains `doc` (`Name`, `Type`, `Version`, `Website`, `Properties`,
/// `Parameters`, `Packages`…, as `CommunityActionTemplateResource`), as the Library sync does;
/// the same id keeps its place. Returns it as GET does.
pub fn seed_community(state: &mut State, mut doc: Value) -> Value {
    let existing = doc
        .get("Website")
        .and_then(Value::as_str)
        .and_then(|website| {
            state
                .community_templates
                .iter()
                .position(|t| str_field(t, "Website") == Some(website))
        });
    let id = match existing {
        Some(at) => id_of(&state.community_templates[at]).to_string(),
        None => state.ids.next("CommunityActionTemplates"),
    };
    doc["Id"] = json!(id);
    match existing {
        Some(at) => state.community_templates[at] = doc.clone(),
        None => state.community_templates.push(doc.clone()),
    }
    render_community(&doc)
}
