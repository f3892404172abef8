//! A project as the server returns it (the emulator's raw JSON, not our serialize), made
//! comparable across spaces: settings, deployment process, variables, channels, runbooks and
//! their processes, with server-owned fields stripped and every id inside a value replaced by
//! `<collection>:<name>` of what it points at in that space. A Config-as-Code project's process
//! and (once in git) text variables are read from its default branch, as the server serves them.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Collections whose ids may appear inside a project's documents.
const NAMED: [&str; 13] = [
    "actiontemplates",
    "environments",
    "lifecycles",
    "projectgroups",
    "projects",
    "channels",
    "feeds",
    "libraryvariablesets",
    "tenants",
    "tagsets",
    "runbooks",
    "git-credentials",
    "workerpools",
];

/// Fields the server owns (identity, links, concurrency, audit), never carried between spaces.
const SERVER_OWNED: [&str; 17] = [
    "Id",
    "SpaceId",
    "Links",
    "Slug",
    "Version",
    "LastModifiedOn",
    "LastModifiedBy",
    "ProjectId",
    "OwnerId",
    "DeploymentProcessId",
    "VariableSetId",
    "RunbookProcessId",
    "PublishedRunbookSnapshotId",
    "RunbookSnapshotId",
    "ClonedFromProjectId",
    "ClonedFromRunbookId",
    "ScopeValues",
];

/// The project named `project` in `space` as the server returns it, normalised.
pub fn server_view(emulator: &octopus_emulator::Emulator, space: &str, project: &str) -> Value {
    let mut names = BTreeMap::new();
    for collection in NAMED {
        for item in emulator.list(space, collection) {
            if let (Some(id), Some(name)) = (item["Id"].as_str(), item["Name"].as_str()) {
                names.insert(id.to_owned(), format!("{collection}:{name}"));
            }
        }
    }
    let settings = emulator
        .list(space, "projects")
        .into_iter()
        .find(|p| p["Name"] == project)
        .unwrap_or_else(|| panic!("no project `{project}` in {space}"));
    let id = settings["Id"].as_str().unwrap().to_owned();
    let in_database = settings["IsVersionControlled"] != true;
    let process = |process_id: &str, names: &mut BTreeMap<String, String>| {
        let process = emulator
            .get(space, "deploymentprocesses", process_id)
            .unwrap_or_else(|| panic!("no process {process_id}"));
        name_steps(&process, names);
        process
    };
    let default_branch = settings["PersistenceSettings"]["DefaultBranch"]
        .as_str()
        .unwrap_or("main")
        .to_owned();
    let deployment_process = if in_database {
        Some(process(
            settings["DeploymentProcessId"].as_str().unwrap(),
            &mut names,
        ))
    } else {
        emulator
            .git_document(space, &id, &default_branch, "deploymentprocesses")
            .inspect(|process| name_steps(process, &mut names))
    };
    let mut runbooks: Vec<Value> = emulator
        .list(space, "runbooks")
        .into_iter()
        .filter(|r| r["ProjectId"] == id.as_str())
        .map(|mut runbook| {
            let process_id = runbook["RunbookProcessId"].as_str().unwrap().to_owned();
            runbook["Process"] = process(&process_id, &mut names)["Steps"].take();
            runbook
        })
        .collect();
    runbooks.sort_by_key(|r| r["Name"].to_string());
    let mut channels: Vec<Value> = emulator
        .list(space, "channels")
        .into_iter()
        .filter(|c| c["ProjectId"] == id.as_str())
        .collect();
    channels.sort_by_key(|c| c["Name"].to_string());
    let text_in_git = !in_database
        && settings["PersistenceSettings"]["ConversionState"]["VariablesAreInGit"] == true;
    let git_variables = text_in_git
        .then(|| emulator.git_document(space, &id, &default_branch, "variables"))
        .flatten();
    let variables: Vec<Value> = emulator
        .get(space, "variables", &id)
        .into_iter()
        .chain(git_variables)
        .flat_map(|set| set["Variables"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<Value>>()
        .into_iter()
        .map(|mut variable| {
            // The API never returns a secret: a sensitive one compares by whether the server
            // holds one (what the real server would answer as HasValue).
            if variable["IsSensitive"] == true {
                let name = variable["Name"].as_str().unwrap();
                let has_value = emulator.secret_value(space, &id, name).is_some();
                variable["Value"] = json!({ "HasValue": has_value });
            }
            variable
        })
        .collect();
    let mut view = json!({
        "settings": settings,
        "deployment_process": deployment_process.map(|p| p["Steps"].clone()),
        "variables": variables,
        "channels": channels,
        "runbooks": runbooks,
    });
    normalise(&mut view, &names);
    canonical(&mut view);
    view
}

/// Each step's and action's id → `step:<name>` / `action:<name>`.
fn name_steps(process: &Value, names: &mut BTreeMap<String, String>) {
    for step in process["Steps"].as_array().into_iter().flatten() {
        names.insert(
            step["Id"].as_str().unwrap().to_owned(),
            format!("step:{}", step["Name"].as_str().unwrap()),
        );
        for action in step["Actions"].as_array().into_iter().flatten() {
            names.insert(
                action["Id"].as_str().unwrap().to_owned(),
                format!("action:{}", action["Name"].as_str().unwrap()),
            );
        }
    }
}

/// Keys sorted throughout and variables (a set) sorted by their whole text: call again after
/// editing a view.
pub fn canonical(view: &mut Value) {
    fn sort_keys(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.values_mut().for_each(sort_keys);
                let sorted: BTreeMap<String, Value> = std::mem::take(map).into_iter().collect();
                map.extend(sorted);
            }
            Value::Array(items) => items.iter_mut().for_each(sort_keys),
            _ => {}
        }
    }
    sort_keys(view);
    if let Some(variables) = view["variables"].as_array_mut() {
        variables.sort_by_key(|v| v.to_string());
    }
}

/// Strip server-owned fields and replace ids (whole strings) with what they name.
fn normalise(value: &mut Value, names: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for key in SERVER_OWNED {
                map.remove(key);
            }
            for child in map.values_mut() {
                normalise(child, names);
            }
            // Null, "" and an object left empty (of nulls) are how the server says "not set",
            // whichever it was given: they compare as absent.
            map.retain(|_, v| !is_unset(v));
            // Roles are a list: "web, api" and "web,api" are the same roles, in the same order.
            if let Some(Value::String(roles)) = map.get_mut("Octopus.Action.TargetRoles") {
                *roles = roles
                    .split(',')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(",");
            }
            sort_scope(map);
        }
        Value::Array(items) => items.iter_mut().for_each(|item| normalise(item, names)),
        Value::String(text) => {
            if let Some(name) = names.get(text.as_str()) {
                *text = name.clone();
            }
        }
        _ => {}
    }
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Scope values are sets: their order is the server's, not meaningful.
fn sort_scope(map: &mut Map<String, Value>) {
    if let Some(Value::Object(scope)) = map.get_mut("Scope") {
        for values in scope.values_mut() {
            if let Some(values) = values.as_array_mut() {
                values.sort_by_key(|v| v.to_string());
            }
        }
    }
}
