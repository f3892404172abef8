//! Variables: scopes (ids ↔ names), secret keys and placeholders, both directions.

use super::{Context, Filters, ReadError};
use crate::octopus::project_export::ProjectDocuments;
use crate::octopus::resources::{Project, Variable, VariableSet};
use crate::octopus::space_index::Names;
use crate::portable;
use crate::portable::naming::secret_key;
use crate::secret::Secret;
use std::collections::{BTreeMap, HashMap};

/// Scope ids → names through the set's `ScopeValues` (the server's own naming of each id).
pub fn scope_names(set: &VariableSet) -> HashMap<(String, String), String> {
    let mut names = HashMap::new();
    let Some(values) = set.extra.get("ScopeValues").and_then(|v| v.as_object()) else {
        return names;
    };
    for (collection, scope_key) in [
        ("Environments", "Environment"),
        ("Machines", "Machine"),
        ("Actions", "Action"),
        ("Roles", "Role"),
        ("Channels", "Channel"),
        ("TenantTags", "TenantTag"),
        ("Processes", "ProcessOwner"),
    ] {
        for item in values
            .get(collection)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (
                item.get("Id").and_then(|v| v.as_str()),
                item.get("Name").and_then(|v| v.as_str()),
            ) {
                names.insert(
                    (scope_key.to_owned(), id.to_ascii_lowercase()),
                    name.to_owned(),
                );
            }
        }
    }
    names
}

pub fn portable_variables(
    documents: &ProjectDocuments,
    filters: &Filters,
    project_name: &str,
    excluded_runbooks: &[String],
    warnings: &mut Vec<String>,
) -> Result<(Vec<portable::Variable>, BTreeMap<String, String>), ReadError> {
    // Which variables each set contributes: git holds text variables only, the database set
    // holds the secrets (and everything, until variables are migrated to git). Without the git
    // values, a Config-as-Code project contributes its secrets only.
    #[derive(PartialEq)]
    enum Take {
        All,
        TextOnly,
        SecretsOnly,
    }
    let cac = documents
        .parts
        .project
        .as_ref()
        .is_some_and(Project::is_config_as_code);
    let include_git = documents.parts.git_ref.is_some();
    let mut sources: Vec<(&VariableSet, Take)> = Vec::new();
    if let Some(git) = &documents.parts.git_variables {
        sources.push((git, Take::TextOnly));
    }
    if let Some(database) = &documents.parts.variables {
        let take = match (cac, include_git, documents.parts.git_variables.is_some()) {
            (false, _, _) | (true, true, false) => Take::All,
            _ => Take::SecretsOnly,
        };
        sources.push((database, take));
    }
    let mut variables = Vec::new();
    for (set, take) in sources {
        let names = scope_names(set);
        for variable in &set.variables {
            let wanted = match take {
                Take::All => true,
                Take::TextOnly => !variable.is_secret(),
                Take::SecretsOnly => variable.is_secret(),
            };
            if !wanted {
                continue;
            }
            if filters
                .excluded_variables
                .as_ref()
                .is_some_and(|re| re.is_match(&variable.name))
            {
                continue;
            }
            if let Some(portable) = portable_variable(variable, &names, filters, excluded_runbooks)
            {
                variables.push(portable);
            }
        }
    }

    // Secrets: one placeholder per name; several scoped values under one name are ambiguous.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for variable in variables.iter().filter(|v| v.is_sensitive()) {
        *counts.entry(variable.name.clone()).or_default() += 1;
    }
    let ambiguous: Vec<String> = counts
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(name, _)| name.clone())
        .collect();
    if !ambiguous.is_empty() {
        if !filters.allow_ambiguous_secrets {
            return Err(ReadError::AmbiguousSecrets(ambiguous));
        }
        warnings.push(format!(
            "sensitive variables with several scoped values share one placeholder each and will all receive the same secret: {}",
            ambiguous.join(", ")
        ));
    }
    let mut secrets = BTreeMap::new();
    let mut occurrence: HashMap<String, usize> = HashMap::new();
    for variable in variables.iter_mut().filter(|v| v.is_sensitive()) {
        let n = occurrence.entry(variable.name.clone()).or_default();
        *n += 1;
        let key = secret_key(project_name, &variable.name, *n);
        secrets.insert(key.clone(), format!("#{{{} | JsonEscape}}", variable.name));
        variable.secret = Some(key);
    }
    variables.sort_by(|a, b| {
        (
            &a.name,
            a.is_sensitive(),
            serde_json::to_string(&a.scope).ok(),
        )
            .cmp(&(
                &b.name,
                b.is_sensitive(),
                serde_json::to_string(&b.scope).ok(),
            ))
    });
    Ok((variables, secrets))
}

pub fn portable_variable(
    variable: &Variable,
    names: &HashMap<(String, String), String>,
    filters: &Filters,
    excluded_runbooks: &[String],
) -> Option<portable::Variable> {
    let resolve = |key: &str, ids: &[String]| -> Vec<String> {
        let mut resolved: Vec<String> = ids
            .iter()
            .map(|id| {
                names
                    .get(&(key.to_owned(), id.to_ascii_lowercase()))
                    .cloned()
                    .unwrap_or_else(|| id.clone())
            })
            .collect();
        resolved.sort();
        resolved
    };
    let scope_of = |key: &str| {
        variable
            .scope
            .get(key)
            .map(|ids| resolve(key, ids))
            .unwrap_or_default()
    };
    let environments: Vec<String> = scope_of("Environment")
        .into_iter()
        .filter(|name| !filters.excluded_variable_environments.contains(name))
        .collect();
    let all_processes = scope_of("ProcessOwner");
    let processes: Vec<String> = all_processes
        .iter()
        .filter(|name| !excluded_runbooks.contains(name))
        .cloned()
        .collect();
    // Scoped only to excluded runbooks: it belongs to them, not to the template.
    if !all_processes.is_empty() && processes.is_empty() {
        return None;
    }
    let prompt = variable
        .prompt
        .as_ref()
        .filter(|p| !p.is_null())
        .map(|prompt| portable::Prompt {
            label: prompt
                .get("Label")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            description: prompt
                .get("Description")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            required: prompt
                .get("Required")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            display_settings: prompt
                .get("DisplaySettings")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
        });
    let sensitive = variable.is_secret();
    Some(portable::Variable {
        name: variable.name.clone(),
        value: if sensitive {
            None
        } else {
            variable.value.clone()
        },
        kind: if sensitive {
            "Sensitive".to_owned()
        } else {
            variable.kind.clone()
        },
        description: variable.description.clone().filter(|d| !d.is_empty()),
        prompt,
        scope: portable::Scope {
            environments,
            roles: scope_of("Role"),
            channels: scope_of("Channel"),
            steps: scope_of("Action"),
            // Tenant tag scopes already hold canonical names ("Set/Tag"), which is how they are
            // referred to everywhere; `ScopeValues` would give the bare tag name.
            tenant_tags: {
                let mut tags = variable.scope.get("TenantTag").cloned().unwrap_or_default();
                tags.sort();
                tags
            },
            processes,
            machines: scope_of("Machine"),
        },
        secret: None,
    })
}

/// Scope names → ids in the target space.
pub struct ScopeIds<'a> {
    pub context: &'a Context<'a>,
    pub actions: &'a Names,
    pub runbooks: &'a Names,
    /// `ProcessOwner` scopes name the deployment process after the upstream project.
    pub upstream_project: &'a str,
    pub project_id: String,
}

impl ScopeIds<'_> {
    pub fn scope(&self, scope: &portable::Scope) -> BTreeMap<String, Vec<String>> {
        let index = self.context.index;
        let ids = |names: &[String], map: &Names| -> Vec<String> {
            let mut ids = map.ids(names);
            ids.sort();
            ids
        };
        let processes: Vec<String> = scope
            .processes
            .iter()
            .filter_map(|name| {
                if name == self.upstream_project {
                    Some(self.project_id.clone())
                } else {
                    self.runbooks.id(name).cloned()
                }
            })
            .collect();
        let mut map = BTreeMap::new();
        for (key, values) in [
            ("Environment", ids(&scope.environments, &index.environments)),
            ("Role", scope.roles.clone()),
            ("Channel", ids(&scope.channels, &self.context.channels)),
            ("Action", ids(&scope.steps, self.actions)),
            ("TenantTag", scope.tenant_tags.clone()),
            ("ProcessOwner", processes),
        ] {
            if !values.is_empty() {
                map.insert(key.to_owned(), values);
            }
        }
        map
    }
}

/// A secret's value if Octopus substituted it; `None` while it is still `#{…}` or absent.
pub fn substituted(secrets: &BTreeMap<String, Secret>, key: Option<&str>) -> Option<Secret> {
    let value = secrets.get(key?)?;
    let text = value.expose().trim();
    let unsubstituted = text.is_empty() || crate::config::is_placeholder(text);
    (!unsubstituted).then(|| value.clone())
}
