//! Tenant variable values behind both APIs: the legacy `/tenants/{id}/variables` document and the
//! scoped `commonvariables` / `projectvariables` lists, reading and writing the same stored values.

use serde_json::{json, Map, Value};

use crate::documents::{find_by_id, id_of, into_object, name_of, same_id, string_list};
use crate::paging::Query;
use crate::reply::{ApiError, ApiResult};
use crate::secrets::{absorb, is_sensitive_value, redact, secret_of, stored_sensitive};
use crate::state::{IdCounters, SpaceStore, TenantValue};

/// Common values belong to library variable sets, project values to projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Common,
    Project,
}

impl Owner {
    fn collection(self) -> &'static str {
        match self {
            Owner::Common => "libraryvariablesets",
            Owner::Project => "projects",
        }
    }
}

fn tenant<'a>(space: &'a SpaceStore, tenant_id: &str) -> ApiResult<&'a Value> {
    find_by_id(space.docs("tenants"), tenant_id).ok_or_else(|| ApiError::not_found(tenant_id))
}

/// Connected projects with their environments, from the tenant's `ProjectEnvironments`.
fn connected_projects<'a>(space: &'a SpaceStore, tenant: &Value) -> Vec<(&'a Value, Vec<String>)> {
    let Some(map) = tenant.get("ProjectEnvironments").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(project, envs)| {
            find_by_id(space.docs("projects"), project).map(|p| (p, string_list(Some(envs))))
        })
        .collect()
}

/// Library variable sets included by any connected project, each once.
fn connected_sets<'a>(space: &'a SpaceStore, tenant: &Value) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = Vec::new();
    for (project, _) in connected_projects(space, tenant) {
        for id in string_list(project.get("IncludedLibraryVariableSetIds")) {
            if let Some(set) = find_by_id(space.docs("libraryvariablesets"), &id) {
                if !out.iter().any(|s| same_id(id_of(s), &id)) {
                    out.push(set);
                }
            }
        }
    }
    out
}

fn templates(owner: &Value) -> Vec<Value> {
    let mut templates = owner.get("Templates").cloned().unwrap_or(json!([]));
    redact(&mut templates);
    templates.as_array().cloned().unwrap_or_default()
}

fn is_sensitive_template(template: &Value) -> bool {
    template
        .pointer("/DisplaySettings/Octopus.ControlType")
        .and_then(Value::as_str)
        == Some("Sensitive")
}

fn find_template<'a>(owner: &'a Value, template_id: &str) -> Option<&'a Value> {
    owner
        .get("Templates")
        .and_then(Value::as_array)
        .and_then(|t| find_by_id(t, template_id))
}

/// A stored value as clients read it: sensitive ones as `{HasValue:true, NewValue:null}`.
fn readable(value: &Value) -> Value {
    let mut out = value.clone();
    redact(&mut out);
    out
}

/// The stored form of a sent value, or None when the value is removed.
fn storable(sent: &Value, sensitive_template: bool, previous: Option<&Value>) -> Option<Value> {
    match sent {
        Value::Null => None,
        value if is_sensitive_value(value) => {
            let mut stored = value.clone();
            absorb(&mut stored, previous);
            secret_of(&stored).is_some().then_some(stored)
        }
        Value::String(s) if sensitive_template => Some(stored_sensitive(Some(s))),
        Value::String(s) => Some(json!(s)),
        other => Some(json!(other.to_string())),
    }
}

fn token(space: &SpaceStore) -> String {
    format!("{:016x}", space.tenant_values_version)
}

fn values_of<'a>(
    space: &'a SpaceStore,
    tenant_id: &'a str,
    owner: Owner,
) -> impl Iterator<Item = &'a TenantValue> + 'a {
    space.tenant_values.iter().filter(move |v| {
        same_id(&v.tenant_id, tenant_id)
            && find_by_id(space.docs(owner.collection()), &v.owner_id).is_some()
    })
}

/// The legacy `GET /tenants/{id}/variables` document.
pub fn legacy(space: &SpaceStore, tenant_id: &str) -> ApiResult<Value> {
    let tenant = tenant(space, tenant_id)?;
    let tid = id_of(tenant);
    let space_id = space.id();

    let mut library = Map::new();
    for set in connected_sets(space, tenant) {
        let mut variables = Map::new();
        for value in values_of(space, tid, Owner::Common) {
            if same_id(&value.owner_id, id_of(set)) && value.environment_ids.is_empty() {
                variables.insert(value.template_id.clone(), readable(&value.value));
            }
        }
        library.insert(id_of(set).to_string(), json!({
            "LibraryVariableSetId": id_of(set),
            "LibraryVariableSetName": name_of(set),
            "Templates": templates(set),
            "Variables": variables,
            "Links": {"LibraryVariableSet": format!("/api/{space_id}/libraryvariablesets/{}", id_of(set))}
        }));
    }

    let mut projects = Map::new();
    for (project, environments) in connected_projects(space, tenant) {
        let pid = id_of(project);
        let mut by_environment = Map::new();
        for environment in &environments {
            let mut variables = Map::new();
            for value in values_of(space, tid, Owner::Project) {
                if same_id(&value.owner_id, pid)
                    && value
                        .environment_ids
                        .iter()
                        .any(|e| same_id(e, environment))
                {
                    variables.insert(value.template_id.clone(), readable(&value.value));
                }
            }
            by_environment.insert(environment.clone(), Value::Object(variables));
        }
        projects.insert(
            pid.to_string(),
            json!({
                "ProjectId": pid,
                "ProjectName": name_of(project),
                "Templates": templates(project),
                "Variables": by_environment,
                "Links": {"Project": format!("/api/{space_id}/projects/{pid}")}
            }),
        );
    }

    Ok(json!({
        "TenantId": tid,
        "TenantName": name_of(tenant),
        "SpaceId": space_id,
        "ConcurrencyToken": token(space),
        "ProjectVariables": projects,
        "LibraryVariables": library,
        "Links": {
            "Self": format!("/api/{space_id}/tenants/{tid}/variables"),
            "Tenant": format!("/api/{space_id}/tenants/{tid}")
        }
    }))
}

/// `GET /tenantvariables/all?projectId=`: legacy documents of every (connected) tenant.
pub fn all_legacy(space: &SpaceStore, query: &Query) -> ApiResult<Value> {
    let project = query.get("projectId");
    let mut out = Vec::new();
    for tenant in space.docs("tenants") {
        let connected = project.is_none_or(|p| {
            tenant
                .get("ProjectEnvironments")
                .and_then(Value::as_object)
                .is_some_and(|m| m.keys().any(|k| same_id(k, p)))
        });
        if connected {
            out.push(legacy(space, id_of(tenant))?);
        }
    }
    Ok(Value::Array(out))
}

/// Legacy `PUT|POST /tenants/{id}/variables`: the sent owners' values are replaced by the sent
/// document. Refused once values with environment scopes the legacy shape cannot express exist.
pub fn put_legacy(
    space: &mut SpaceStore,
    ids: &mut IdCounters,
    tenant_id: &str,
    body: Value,
) -> ApiResult<()> {
    let tid = id_of(tenant(space, tenant_id)?).to_string();
    let body = into_object(body)?;
    let scoped = space.tenant_values.iter().any(|v| {
        same_id(&v.tenant_id, &tid)
            && match find_by_id(space.docs("libraryvariablesets"), &v.owner_id) {
                Some(_) => !v.environment_ids.is_empty(),
                None => v.environment_ids.len() > 1,
            }
    });
    if scoped {
        return Err(ApiError::bad_request(
            "This tenant has variable values scoped to environments. Use the commonvariables and projectvariables endpoints to modify them.",
        ));
    }
    let mut next: Vec<TenantValue> = Vec::new();
    let mut replaced_owners: Vec<String> = Vec::new();

    for (set_id, entry) in body
        .get("LibraryVariables")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let set = find_by_id(space.docs("libraryvariablesets"), set_id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The library variable set '{set_id}' could not be found."
            ))
        })?;
        let set_id = id_of(set).to_string();
        let sent = entry
            .get("Variables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for template in set
            .get("Templates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let template_id = id_of(template);
            let previous = find_value(space, &tid, &set_id, template_id, &[]);
            if let Some(value) = sent.get(template_id).and_then(|v| {
                storable(
                    v,
                    is_sensitive_template(template),
                    previous.map(|p| &p.value),
                )
            }) {
                next.push(TenantValue {
                    id: previous
                        .map(|p| p.id.clone())
                        .unwrap_or_else(|| ids.next("TenantVariables")),
                    tenant_id: tid.clone(),
                    owner_id: set_id.clone(),
                    template_id: template_id.to_string(),
                    environment_ids: Vec::new(),
                    value,
                });
            }
        }
        replaced_owners.push(set_id);
    }

    for (project_id, entry) in body
        .get("ProjectVariables")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let project = find_by_id(space.docs("projects"), project_id).ok_or_else(|| {
            ApiError::bad_request(format!("The project '{project_id}' could not be found."))
        })?;
        let pid = id_of(project).to_string();
        let by_environment = entry
            .get("Variables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (environment, sent) in &by_environment {
            let sent = sent.as_object().cloned().unwrap_or_default();
            for template in project
                .get("Templates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let template_id = id_of(template);
                let scope = [environment.clone()];
                let previous = find_value(space, &tid, &pid, template_id, &scope);
                if let Some(value) = sent.get(template_id).and_then(|v| {
                    storable(
                        v,
                        is_sensitive_template(template),
                        previous.map(|p| &p.value),
                    )
                }) {
                    next.push(TenantValue {
                        id: previous
                            .map(|p| p.id.clone())
                            .unwrap_or_else(|| ids.next("TenantVariables")),
                        tenant_id: tid.clone(),
                        owner_id: pid.clone(),
                        template_id: template_id.to_string(),
                        environment_ids: scope.to_vec(),
                        value,
                    });
                }
            }
        }
        replaced_owners.push(pid);
    }

    space.tenant_values.retain(|v| {
        !(same_id(&v.tenant_id, &tid) && replaced_owners.iter().any(|o| same_id(o, &v.owner_id)))
    });
    space.tenant_values.extend(next);
    space.tenant_values_version += 1;
    Ok(())
}

fn find_value<'a>(
    space: &'a SpaceStore,
    tenant: &str,
    owner: &str,
    template: &str,
    scope: &[String],
) -> Option<&'a TenantValue> {
    space.tenant_values.iter().find(|v| {
        same_id(&v.tenant_id, tenant)
            && same_id(&v.owner_id, owner)
            && same_id(&v.template_id, template)
            && v.environment_ids.len() == scope.len()
            && scope
                .iter()
                .all(|e| v.environment_ids.iter().any(|x| same_id(x, e)))
    })
}

fn template_summary(template: &Value) -> Value {
    let mut template = template.clone();
    redact(&mut template);
    json!({
        "Id": template.get("Id"), "Name": template.get("Name"), "Label": template.get("Label"),
        "HelpText": template.get("HelpText"), "DefaultValue": template.get("DefaultValue"),
        "DisplaySettings": template.get("DisplaySettings").cloned().unwrap_or(json!({}))
    })
}

fn owner_fields(owner: Owner, doc: &Value) -> Map<String, Value> {
    let mut map = Map::new();
    match owner {
        Owner::Common => {
            map.insert("LibraryVariableSetId".into(), json!(id_of(doc)));
            map.insert("LibraryVariableSetName".into(), json!(name_of(doc)));
        }
        Owner::Project => {
            map.insert("ProjectId".into(), json!(id_of(doc)));
            map.insert("ProjectName".into(), json!(name_of(doc)));
        }
    }
    map
}

/// `GET /tenants/{id}/commonvariables` or `/projectvariables`.
pub fn scoped(
    space: &SpaceStore,
    tenant_id: &str,
    owner: Owner,
    include_missing: bool,
) -> ApiResult<Value> {
    let tenant = tenant(space, tenant_id)?;
    let tid = id_of(tenant);
    let mut variables = Vec::new();
    for value in values_of(space, tid, owner) {
        let Some(owner_doc) = find_by_id(space.docs(owner.collection()), &value.owner_id) else {
            continue;
        };
        let Some(template) = find_template(owner_doc, &value.template_id) else {
            continue;
        };
        let mut entry = Map::new();
        entry.insert("Id".into(), json!(value.id));
        entry.extend(owner_fields(owner, owner_doc));
        entry.insert("TemplateId".into(), json!(value.template_id));
        entry.insert("Template".into(), template_summary(template));
        entry.insert("Value".into(), readable(&value.value));
        entry.insert(
            "Scope".into(),
            json!({"EnvironmentIds": value.environment_ids}),
        );
        variables.push(Value::Object(entry));
    }

    let mut missing = Vec::new();
    if include_missing {
        let owners: Vec<(&Value, Vec<String>)> = match owner {
            Owner::Common => connected_sets(space, tenant)
                .into_iter()
                .map(|s| (s, Vec::new()))
                .collect(),
            Owner::Project => connected_projects(space, tenant),
        };
        for (owner_doc, environments) in owners {
            for template in owner_doc
                .get("Templates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let has = |env: Option<&String>| {
                    values_of(space, tid, owner).any(|v| {
                        same_id(&v.owner_id, id_of(owner_doc))
                            && same_id(&v.template_id, id_of(template))
                            && env.is_none_or(|e| v.environment_ids.iter().any(|x| same_id(x, e)))
                    })
                };
                let scopes: Vec<Vec<String>> = match owner {
                    Owner::Common if !has(None) => vec![Vec::new()],
                    Owner::Common => Vec::new(),
                    Owner::Project => environments
                        .iter()
                        .filter(|e| !has(Some(e)))
                        .map(|e| vec![e.clone()])
                        .collect(),
                };
                for scope in scopes {
                    let mut entry = owner_fields(owner, owner_doc);
                    entry.insert("TemplateId".into(), json!(id_of(template)));
                    entry.insert("Template".into(), template_summary(template));
                    let default = template_summary(template)["DefaultValue"].clone();
                    entry.insert("Value".into(), default);
                    entry.insert("Scope".into(), json!({"EnvironmentIds": scope}));
                    missing.push(Value::Object(entry));
                }
            }
        }
    }

    Ok(json!({
        "TenantId": tid,
        "ConcurrencyToken": token(space),
        "Variables": variables,
        "MissingVariables": missing,
    }))
}

/// The owner of a sent scoped value: `OwnerId`, `LibraryVariableSetId`/`ProjectId`, or the
/// owner whose templates contain `TemplateId` (api-client.ts sends neither).
fn owner_of<'a>(
    space: &'a SpaceStore,
    owner: Owner,
    item: &Map<String, Value>,
    template_id: &str,
) -> ApiResult<&'a Value> {
    let field = match owner {
        Owner::Common => "LibraryVariableSetId",
        Owner::Project => "ProjectId",
    };
    let sent = item
        .get("OwnerId")
        .or_else(|| item.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let docs = space.docs(owner.collection());
    let found = match sent {
        Some(id) => find_by_id(docs, id),
        None => docs
            .iter()
            .find(|d| find_template(d, template_id).is_some()),
    };
    found.ok_or_else(|| {
        ApiError::bad_request(format!(
            "The owner '{}' of template '{template_id}' could not be found.",
            sent.unwrap_or_default()
        ))
    })
}

/// `PUT|POST /tenants/{id}/commonvariables` or `/projectvariables`: the sent list is complete,
/// values not sent are deleted.
pub fn put_scoped(
    space: &mut SpaceStore,
    ids: &mut IdCounters,
    tenant_id: &str,
    owner: Owner,
    body: Value,
) -> ApiResult<()> {
    let tid = id_of(tenant(space, tenant_id)?).to_string();
    let body = into_object(body)?;
    let sent = body
        .get("Variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut next = Vec::new();
    for item in sent {
        let item = into_object(item)?;
        let template_id = item
            .get("TemplateId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if template_id.is_empty() {
            return Err(ApiError::required("TemplateId"));
        }
        let owner_doc = owner_of(space, owner, &item, &template_id)?;
        let template = find_template(owner_doc, &template_id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The template '{template_id}' could not be found on '{}'.",
                id_of(owner_doc)
            ))
        })?;
        let environments = string_list(item.get("Scope").and_then(|s| s.get("EnvironmentIds")));
        if owner == Owner::Project && environments.is_empty() {
            return Err(ApiError::bad_request(
                "Project variable values must be scoped to at least one environment.",
            ));
        }
        let sent_id = item
            .get("Id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let previous = sent_id.and_then(|id| {
            space
                .tenant_values
                .iter()
                .find(|v| same_id(&v.id, id) && same_id(&v.tenant_id, &tid))
        });
        let sent_value = item.get("Value").cloned().unwrap_or(Value::Null);
        let Some(value) = storable(
            &sent_value,
            is_sensitive_template(template),
            previous.map(|p| &p.value),
        ) else {
            continue;
        };
        next.push(TenantValue {
            id: previous
                .map(|p| p.id.clone())
                .unwrap_or_else(|| ids.next("TenantVariables")),
            tenant_id: tid.clone(),
            owner_id: id_of(owner_doc).to_string(),
            template_id: id_of(template).to_string(),
            environment_ids: environments,
            value,
        });
    }
    let collection = owner.collection();
    let owned = |v: &TenantValue, space: &SpaceStore| {
        same_id(&v.tenant_id, &tid) && find_by_id(space.docs(collection), &v.owner_id).is_some()
    };
    let keep: Vec<TenantValue> = space
        .tenant_values
        .iter()
        .filter(|v| !owned(v, space))
        .cloned()
        .collect();
    space.tenant_values = keep;
    space.tenant_values.extend(next);
    space.tenant_values_version += 1;
    Ok(())
}

/// Library helper: set one unscoped common value by template name.
pub fn seed_common(
    space: &mut SpaceStore,
    ids: &mut IdCounters,
    tenant_id: &str,
    set_id: &str,
    template_name: &str,
    value: &str,
) -> ApiResult<()> {
    let tid = id_of(tenant(space, tenant_id)?).to_string();
    let set = find_by_id(space.docs("libraryvariablesets"), set_id)
        .ok_or_else(|| ApiError::not_found(set_id))?;
    let template = set
        .get("Templates")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().find(|t| name_of(t) == template_name))
        .ok_or_else(|| ApiError::not_found(template_name))?;
    let stored =
        storable(&json!(value), is_sensitive_template(template), None).unwrap_or(json!(""));
    let (set_id, template_id) = (id_of(set).to_string(), id_of(template).to_string());
    let existing = find_value(space, &tid, &set_id, &template_id, &[]).map(|v| v.id.clone());
    space
        .tenant_values
        .retain(|v| existing.as_ref().is_none_or(|id| &v.id != id));
    space.tenant_values.push(TenantValue {
        id: existing.unwrap_or_else(|| ids.next("TenantVariables")),
        tenant_id: tid,
        owner_id: set_id,
        template_id,
        environment_ids: Vec::new(),
        value: stored,
    });
    space.tenant_values_version += 1;
    Ok(())
}

/// Library helper: a tenant's stored secret by template name (first matching value).
pub fn secret(space: &SpaceStore, tenant_id: &str, template_name: &str) -> Option<String> {
    space
        .tenant_values
        .iter()
        .filter(|v| same_id(&v.tenant_id, tenant_id))
        .find_map(|v| {
            let owner = find_by_id(space.docs("libraryvariablesets"), &v.owner_id)
                .or_else(|| find_by_id(space.docs("projects"), &v.owner_id))?;
            let template = find_template(owner, &v.template_id)?;
            (name_of(template) == template_name)
                .then(|| secret_of(&v.value).or(v.value.as_str()).map(str::to_string))
                .flatten()
        })
}
