//! Spaces and teams: create/replace/delete rules, the defaults a new space is seeded with, space-manager teams.

use serde_json::{json, Map, Value};

use crate::collections;
use crate::documents::{
    id_of, into_object, is_missing, name_of, now, same_id, slugify, str_field, with_links,
};
use crate::kinds::{self, Kind, SPACES};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult};
use crate::state::{SpaceStore, State};
use crate::system::VERSION;

pub fn manager_team_id(space_id: &str) -> String {
    format!("teams-spacemanagers-{space_id}")
}

/// A fresh server: one default space `Spaces-1` "Default".
pub fn fresh_state() -> State {
    let mut state = State {
        installation_id: uuid::Uuid::new_v4().to_string(),
        ..State::default()
    };
    let default = json!({
        "Name": "Default", "Slug": "default", "Description": null, "IsDefault": true,
        "SpaceManagersTeams": ["teams-administrators", "teams-managers"], "SpaceManagersTeamMembers": []
    });
    create(&mut state, default).expect("the default space is valid");
    state
}

fn validate(state: &State, doc: &Map<String, Value>, own_id: Option<&str>) -> ApiResult<()> {
    if is_missing(doc, "Name") {
        return Err(ApiError::required("Name"));
    }
    let name = doc["Name"].as_str().unwrap_or_default();
    if name.chars().count() > 50 {
        return Err(ApiError::bad_request(
            "The field Name must be a string with a maximum length of 50.",
        ));
    }
    if doc
        .get("Slug")
        .and_then(Value::as_str)
        .is_some_and(|s| s.chars().count() > 50)
    {
        return Err(ApiError::bad_request(
            "The field Slug must be a string with a maximum length of 50.",
        ));
    }
    let teams = doc.get("SpaceManagersTeams").and_then(Value::as_array);
    let members = doc
        .get("SpaceManagersTeamMembers")
        .and_then(Value::as_array);
    let Some(teams) = teams else {
        return Err(ApiError::required("SpaceManagersTeams"));
    };
    match members {
        Some(members) if !(teams.is_empty() && members.is_empty()) => {}
        _ => return Err(ApiError::required("SpaceManagersTeamMembers")),
    }
    let clash = state.spaces.iter().any(|s| {
        own_id.is_none_or(|own| !same_id(own, s.id()))
            && name_of(&s.space).eq_ignore_ascii_case(name)
    });
    if clash {
        return Err(ApiError::bad_request(
            "A space with this name already exists. Please choose a different name.",
        ));
    }
    Ok(())
}

/// Server fields of a space document: `Id` first, `teams-spacemanagers-<id>` appended, no `SpaceId`.
fn complete(doc: Map<String, Value>, id: &str, old: Option<&Value>) -> Map<String, Value> {
    let mut doc = crate::documents::with_envelope(doc, id, None);
    crate::documents::fill_defaults(&mut doc, &SPACES.default_values());
    if is_missing(&doc, "Slug") {
        let slug = old
            .and_then(|o| str_field(o, "Slug"))
            .map(str::to_string)
            .unwrap_or_else(|| slugify(doc["Name"].as_str().unwrap_or_default()));
        doc.insert("Slug".into(), json!(slug));
    }
    let team = manager_team_id(id);
    if let Some(teams) = doc
        .get_mut("SpaceManagersTeams")
        .and_then(Value::as_array_mut)
    {
        if !teams.iter().any(|t| t.as_str() == Some(team.as_str())) {
            teams.push(json!(team));
        }
    }
    crate::documents::stamp_modified(&mut doc);
    // Real space documents carry no LastModifiedBy.
    doc.remove("LastModifiedBy");
    doc
}

/// `POST /api/spaces`: returns the new space's index in `state.spaces`.
pub fn create(state: &mut State, body: Value) -> ApiResult<usize> {
    let doc = into_object(body)?;
    validate(state, &doc, None)?;
    let id = state.ids.next("Spaces");
    let doc = complete(doc, &id, None);
    if doc.get("IsDefault").and_then(Value::as_bool) == Some(true) {
        for space in &mut state.spaces {
            space.space["IsDefault"] = json!(false);
        }
    }
    state.spaces.push(SpaceStore {
        space: Value::Object(doc),
        ..SpaceStore::default()
    });
    let index = state.spaces.len() - 1;
    seed_defaults(state, index);
    Ok(index)
}

/// What every new space contains on a real server (octoterra looks these up by name).
fn seed_defaults(state: &mut State, index: usize) {
    let mut space = state.space_mut(index);
    let space_id = space.space.id().to_string();
    let seeds = [
        (
            "lifecycles",
            json!({
                "Name": "Default Lifecycle", "Description": null, "Phases": [],
                "ReleaseRetentionPolicy": {"Unit": "Items", "QuantityToKeep": 0, "ShouldKeepForever": true, "Strategy": "Forever"},
                "TentacleRetentionPolicy": {"Unit": "Items", "QuantityToKeep": 0, "ShouldKeepForever": true, "Strategy": "Forever"}
            }),
        ),
        (
            "projectgroups",
            json!({"Name": "Default Project Group", "Description": null}),
        ),
        (
            "workerpools",
            json!({"Name": "Default Worker Pool", "IsDefault": true, "WorkerPoolType": "StaticWorkerPool", "SortOrder": 0}),
        ),
    ];
    for (collection, doc) in seeds {
        let kind = kinds::kind(collection).expect("seeded kinds exist");
        collections::create(&mut space, kind, doc).expect("seed documents are valid");
    }
    // The built-in feed has a fixed ID in every space and cannot be created through the API.
    space.space.docs_mut("feeds").push(json!({
        "Id": "feeds-builtin", "SpaceId": space_id, "Name": "Octopus Server (built-in)", "Slug": "octopus-server-built-in",
        "FeedType": "BuiltIn", "PackageAcquisitionLocationOptions": ["Server"],
        "DeletePackagesAssociatedWithReleases": false, "DeleteUnreleasedPackagesAfterDays": null,
        "IsBuiltInRepoSyncEnabled": false, "DownloadAttempts": 5, "DownloadRetryBackoffSeconds": 10,
        "LastModifiedOn": now(), "LastModifiedBy": null
    }));
}

/// `PUT /api/spaces/{id}`: every manager field must be sent; `Id` cannot change.
pub fn update(state: &mut State, index: usize, body: Value) -> ApiResult<()> {
    let doc = into_object(body)?;
    for field in [
        "Name",
        "IsDefault",
        "TaskQueueStopped",
        "SpaceManagersTeams",
        "SpaceManagersTeamMembers",
    ] {
        if !doc.contains_key(field) || doc[field].is_null() {
            return Err(ApiError::required(field));
        }
    }
    let old = state.spaces[index].space.clone();
    let id = id_of(&old).to_string();
    validate(state, &doc, Some(&id))?;
    let doc = complete(doc, &id, Some(&old));
    if doc.get("IsDefault").and_then(Value::as_bool) == Some(true) {
        for space in &mut state.spaces {
            space.space["IsDefault"] = json!(false);
        }
    }
    state.spaces[index].space = Value::Object(doc);
    Ok(())
}

/// Deleting needs the task queue stopped first (clients PUT `TaskQueueStopped:true`), and the
/// default space cannot go.
pub fn delete(state: &mut State, index: usize) -> ApiResult<()> {
    let space = &state.spaces[index].space;
    if space.get("IsDefault").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::bad_request(
            "The default space cannot be deleted. Make another space the default space first.",
        ));
    }
    if space.get("TaskQueueStopped").and_then(Value::as_bool) != Some(true) {
        return Err(ApiError::bad_request(
            "The task queue of this space must be stopped before the space can be deleted.",
        ));
    }
    state.spaces.remove(index);
    Ok(())
}

pub fn render(space: &Value) -> Value {
    let id = id_of(space);
    let mut links = Map::new();
    links.insert("Self".into(), json!(format!("/api/spaces/{id}")));
    links.insert("SpaceHome".into(), json!(format!("/api/{id}")));
    links.insert("Web".into(), json!(format!("/app#/spaces/{id}")));
    links.insert(
        "Logo".into(),
        json!(format!("/api/spaces/{id}/logo?cb={VERSION}")),
    );
    links.insert("Search".into(), json!(format!("/api/spaces/{id}/search")));
    with_links(space.clone(), links)
}

fn matching(state: &State, query: &Query) -> Vec<Value> {
    let docs: Vec<Value> = state.spaces.iter().map(|s| s.space.clone()).collect();
    collections::filter(&SPACES, &docs, query)
        .iter()
        .map(render)
        .collect()
}

pub fn list(state: &State, query: &Query) -> Value {
    page(
        matching(state, query),
        "Space",
        "/api/spaces",
        SPACES.query_template,
        query,
    )
}

pub fn all(state: &State, query: &Query) -> Value {
    Value::Array(matching(state, query))
}

static TEAMS: Kind = Kind {
    collection: "teams",
    id_prefix: "teams",
    item_type: "Team",
    noun: "team",
    query_template: "{/id}{?skip,take,ids,partialName,spaces,includeSystem}",
    ..kinds::BASE
};

fn team(id: &str, name: &str, space_id: Option<&str>, description: &str) -> Value {
    let system = space_id.is_none();
    json!({
        "Id": id, "Name": name, "MemberUserIds": [], "ExternalSecurityGroups": [],
        "CanBeDeleted": false, "CanBeRenamed": false, "CanChangeRoles": !system || id != "teams-administrators",
        "CanChangeMembers": id != "teams-everyone", "SpaceId": space_id, "Description": description,
        "Links": {"Self": format!("/api/teams/{id}"), "ScopedUserRoles": format!("/api/teams/{id}/scopeduserroles{{?skip,take}}")}
    })
}

/// Built-in system teams plus each space's managers team; `space` limits space teams to one space.
pub fn teams(state: &State, space: Option<&str>) -> Vec<Value> {
    let mut out = vec![
        team(
            "teams-administrators",
            "Octopus Administrators",
            None,
            "Octopus Administrators can do everything.",
        ),
        team(
            "teams-managers",
            "Octopus Managers",
            None,
            "Octopus Managers can manage the server.",
        ),
        team(
            "teams-everyone",
            "Everyone",
            None,
            "Everyone is a member of this team.",
        ),
    ];
    for store in &state.spaces {
        if space.is_none_or(|s| same_id(s, store.id())) {
            out.push(team(
                &manager_team_id(store.id()),
                "Space Managers",
                Some(store.id()),
                "Space managers can do everything in the space.",
            ));
        }
    }
    out
}

pub fn list_teams(state: &State, space: Option<&str>, query: &Query) -> Value {
    let base = match space {
        Some(space) => format!("/api/{space}/teams"),
        None => "/api/teams".to_string(),
    };
    let teams = collections::filter(&TEAMS, &teams(state, space), query);
    page(teams, TEAMS.item_type, &base, TEAMS.query_template, query)
}
