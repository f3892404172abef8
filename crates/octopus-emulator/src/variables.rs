//! Variable sets: whole-set replace with `Version` concurrency, server-assigned IDs, sensitive keep/wipe and `ScopeValues`.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::documents::{
    find_by_id, guid, id_of, into_object, is_missing, name_of, now, position_by_id, same_id,
    str_field, string_list, with_links, MODIFIED_BY,
};
use crate::reply::{ApiError, ApiResult};
use crate::secrets::{absorb_variable, redact};
use crate::state::SpaceStore;

/// The answer to a variable set written with a stale `Version`: the 400 text of
/// `updateVariableSet` in the server's swagger (2020.5), OctopusDeploy/go-octopusdeploy
/// `api/octopus_deploy.json`.
pub const VERSION_CONFLICT: &str = "Changes to these variables could not be saved, because another user has made changes to the variables between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.";

const NULL_REFERENCE: &str = "System.NullReferenceException: Object reference not set to an instance of an object.\r\n   at Octopus.Server.Web.Controllers.Variables.VariableSetValidator.ValidateVariableTypes(VariableSetResource resource)\r\n   at Octopus.Server.Web.Controllers.Variables.UpdateVariableSetResponder.ExecuteAsync(OctoContext context)";

pub fn set_id_for(owner_id: &str) -> String {
    format!("variableset-{owner_id}")
}

pub fn self_link(space_id: &str, set_id: &str) -> String {
    format!("/api/{space_id}/variables/{set_id}")
}

/// A variable set ID or its owner's ID (`Projects-1` → `variableset-Projects-1`).
pub fn position(space: &SpaceStore, set_or_owner_id: &str) -> Option<usize> {
    position_by_id(&space.variable_sets, set_or_owner_id)
        .or_else(|| position_by_id(&space.variable_sets, &set_id_for(set_or_owner_id)))
}

pub fn ensure_set(space: &mut SpaceStore, owner_id: &str) {
    let id = set_id_for(owner_id);
    if position_by_id(&space.variable_sets, &id).is_none() {
        space.variable_sets.push(json!({
            "Id": id, "OwnerId": owner_id, "SpaceId": space.id(), "Version": 0, "Variables": [],
            "LastModifiedOn": now(), "LastModifiedBy": MODIFIED_BY,
        }));
    }
}

pub fn remove_set(space: &mut SpaceStore, owner_id: &str) {
    let id = set_id_for(owner_id);
    space.variable_sets.retain(|s| !same_id(id_of(s), &id));
}

/// GET form: secrets removed, `ScopeValues` computed from the space, `Links.Self` = the route read.
pub fn render(space: &SpaceStore, doc: &Value, self_href: &str) -> Value {
    let mut out = doc.clone();
    redact(&mut out);
    let owner = str_field(doc, "OwnerId").unwrap_or_default();
    if let Value::Object(map) = &mut out {
        map.insert("ScopeValues".into(), scope_values(space, owner, doc));
    }
    let mut links = Map::new();
    links.insert("Self".into(), json!(self_href));
    with_links(out, links)
}

pub fn check_version(stored: &Value, body: &Value, message: &str) -> ApiResult<()> {
    // A missing Version deserialises to 0 on the real server.
    let sent = body.get("Version").and_then(Value::as_i64).unwrap_or(0);
    let current = stored.get("Version").and_then(Value::as_i64).unwrap_or(0);
    if sent == current {
        Ok(())
    } else {
        Err(ApiError::bad_request(message))
    }
}

/// PUT of a whole variable set: `Version` must match; `Variables` replaces the stored list.
pub fn replace(space: &mut SpaceStore, set_or_owner_id: &str, body: Value) -> ApiResult<()> {
    let index =
        position(space, set_or_owner_id).ok_or_else(|| ApiError::not_found(set_or_owner_id))?;
    check_version(&space.variable_sets[index], &body, VERSION_CONFLICT)?;
    let sent = body.get("Variables").cloned().unwrap_or(json!([]));
    store_variables(space, index, sent)
}

/// Replace the variables of the set at `index` (no concurrency check) and bump its `Version`.
pub fn store_variables(space: &mut SpaceStore, index: usize, sent: Value) -> ApiResult<()> {
    let old = space.variable_sets[index]
        .get("Variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let variables = normalize(sent, &old)?;
    let set = &mut space.variable_sets[index];
    let version = set.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
    set["Variables"] = Value::Array(variables);
    set["Version"] = json!(version);
    set["LastModifiedOn"] = json!(now());
    set["LastModifiedBy"] = json!(MODIFIED_BY);
    Ok(())
}

/// Validate and complete sent variables against the stored ones (for secrets kept by `Id`).
pub fn normalize(sent: Value, old: &[Value]) -> ApiResult<Vec<Value>> {
    let Value::Array(sent) = sent else {
        return Err(ApiError::bad_request(
            "The Variables field must be an array.",
        ));
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(sent.len());
    for variable in sent {
        let mut variable = into_object(variable)?;
        // The real server dereferences Type before validating it (OctopusDeploy/Issues#8817).
        if is_missing(&variable, "Type") {
            return Err(ApiError::internal(NULL_REFERENCE));
        }
        let had_id = !is_missing(&variable, "Id");
        if had_id {
            let id = variable["Id"].as_str().unwrap_or_default().to_lowercase();
            if !seen.insert(id) {
                return Err(ApiError::bad_request("Variable ids must be unique."));
            }
        } else {
            variable.insert("Id".into(), json!(guid()));
        }
        let id = variable["Id"].as_str().unwrap_or_default().to_string();
        let previous = find_by_id(old, &id);
        let sensitive = variable.get("Type").and_then(Value::as_str) == Some("Sensitive")
            || variable.get("IsSensitive").and_then(Value::as_bool) == Some(true);
        if sensitive {
            variable.insert("Type".into(), json!("Sensitive"));
        }
        variable.insert("IsSensitive".into(), json!(sensitive));
        let scope = normalize_scope(variable.get("Scope"));
        variable.insert("Scope".into(), scope);
        absorb_variable(&mut variable, previous, had_id);
        out.push(Value::Object(in_server_order(variable)));
    }
    Ok(out)
}

/// `{}` = unscoped; empty scope keys are omitted as on the real server.
fn normalize_scope(scope: Option<&Value>) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(scope)) = scope {
        for (key, values) in scope {
            if values.as_array().is_some_and(|a| !a.is_empty()) {
                out.insert(key.clone(), values.clone());
            }
        }
    }
    Value::Object(out)
}

fn in_server_order(mut variable: Map<String, Value>) -> Map<String, Value> {
    let defaults = [
        ("Id", Value::Null),
        ("Name", Value::Null),
        ("Value", Value::Null),
        ("Description", Value::Null),
        ("Scope", json!({})),
        ("IsEditable", json!(true)),
        ("Prompt", Value::Null),
        ("Type", Value::Null),
        ("IsSensitive", json!(false)),
    ];
    let mut out = Map::new();
    for (key, default) in defaults {
        out.insert(key.into(), variable.remove(key).unwrap_or(default));
    }
    out.extend(variable);
    out
}

fn id_name(doc: &Value) -> Value {
    json!({ "Id": id_of(doc), "Name": name_of(doc) })
}

/// What a variable of this set can be scoped to, from the current state of the space.
pub fn scope_values(space: &SpaceStore, owner_id: &str, set: &Value) -> Value {
    let mut environments: Vec<&Value> = space.docs("environments").iter().collect();
    environments.sort_by_key(|e| e.get("SortOrder").and_then(Value::as_i64).unwrap_or(0));
    let environments: Vec<Value> = environments.into_iter().map(id_name).collect();

    let is_project = owner_id.to_ascii_lowercase().starts_with("projects-");
    let mut actions = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    let mut channels = Vec::new();
    let mut processes = Vec::new();
    if is_project {
        let project = find_by_id(space.docs("projects"), owner_id);
        if let Some(project) = project {
            processes.push(json!({"ProcessType": "Deployment", "Id": id_of(project), "Name": name_of(project)}));
        }
        for runbook in space
            .docs("runbooks")
            .iter()
            .filter(|r| same_id(str_field(r, "ProjectId").unwrap_or_default(), owner_id))
        {
            processes.push(
                json!({"ProcessType": "Runbook", "Id": id_of(runbook), "Name": name_of(runbook)}),
            );
        }
        channels = space
            .docs("channels")
            .iter()
            .filter(|c| same_id(str_field(c, "ProjectId").unwrap_or_default(), owner_id))
            .map(id_name)
            .collect();
        for process in space
            .processes
            .iter()
            .filter(|p| same_id(str_field(p, "ProjectId").unwrap_or_default(), owner_id))
        {
            for step in process
                .get("Steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(step_roles) = step
                    .pointer("/Properties/Octopus.Action.TargetRoles")
                    .and_then(Value::as_str)
                {
                    roles.extend(step_roles.split(',').map(|r| r.trim().to_string()));
                }
                for action in step
                    .get("Actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    actions.push(id_name(action));
                }
            }
        }
    }
    for variable in set
        .get("Variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        roles.extend(string_list(variable.pointer("/Scope/Role")));
    }
    roles.retain(|r| !r.is_empty());
    roles.sort();
    roles.dedup();

    let tenant_tags: Vec<Value> = space
        .docs("tagsets")
        .iter()
        .flat_map(|set| {
            set.get("Tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|tag| {
            json!({
                "Id": str_field(&tag, "CanonicalTagName").unwrap_or_default(),
                "Name": name_of(&tag),
            })
        })
        .collect();

    json!({
        "Environments": environments,
        "Machines": [],
        "Actions": actions,
        "Roles": roles.iter().map(|r| json!({"Id": r, "Name": r})).collect::<Vec<_>>(),
        "Channels": channels,
        "TenantTags": tenant_tags,
        "Processes": processes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_type_is_a_null_reference() {
        let err = normalize(json!([{"Name": "x", "Value": "y"}]), &[]).unwrap_err();
        assert_eq!(err.status.as_u16(), 500);
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let sent = json!([
            {"Id": "a", "Name": "x", "Type": "String"},
            {"Id": "A", "Name": "y", "Type": "String"}
        ]);
        let err = normalize(sent, &[]).unwrap_err();
        assert_eq!(err.errors, vec!["Variable ids must be unique."]);
    }
}
