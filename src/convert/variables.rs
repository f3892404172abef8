//! Variables, both directions: API → portable (`portable_variables`: scope ids → names, secret
//! keys and placeholders) and portable → API (`ScopeIds`: scope names → ids, `apply_variables`:
//! the project's variable set made to hold the package's variables).
//!
//! `apply_variables` reports each variable as an `apply::Outcome` (created, kept downstream,
//! …): the outcome types are plain data, the one thing of `apply/` this module uses.

use super::references::{desired_reference_value, names_of, portable_reference_value};
use super::{Context, Filters, ReadError};
use crate::octopus::project_export::ProjectDocuments;
use crate::octopus::resources::{Extra, Variable, VariableSet};
use crate::octopus::space_index::{Names, SpaceIndex};
use crate::outcome::{FieldChange, Outcome, OutcomeAction};
use crate::portable;
use crate::portable::naming::secret_key;
use crate::portable::references::variable_reference_kind;
use crate::portable::ReferenceKind;
use crate::secret::Secret;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

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
    // holds the secrets (and everything, until variables are migrated to git). Once they are in
    // git and without the git values, a Config-as-Code project contributes its secrets only.
    #[derive(PartialEq)]
    enum Take {
        All,
        TextOnly,
        SecretsOnly,
    }
    // A Config-as-Code project keeps all its variables in the database set until they are
    // migrated to git (`ConversionState.VariablesAreInGit`): the package carries them, as
    // octoterra's `-ignoreCacManagedValues=false` does.
    let text_in_database = documents.parts.project.as_ref().is_none_or(|project| {
        !project.is_config_as_code() || !project.conversion_state("VariablesAreInGit")
    });
    let mut sources: Vec<(&VariableSet, Take)> = Vec::new();
    if let Some(git) = &documents.parts.git_variables {
        sources.push((git, Take::TextOnly));
    }
    if let Some(database) = &documents.parts.variables {
        let take = if text_in_database && documents.parts.git_variables.is_none() {
            Take::All
        } else {
            Take::SecretsOnly
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
            if let Some(portable) = portable_variable(
                variable,
                &names,
                filters,
                excluded_runbooks,
                &documents.index,
            ) {
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

/// One variable as the package carries it: scope ids as names, the value of a worker pool,
/// account or certificate variable (or of a prompt of such a control type) as the resource's
/// name in `index`, a secret without its value. `None` for a variable of excluded runbooks only.
pub fn portable_variable(
    variable: &Variable,
    names: &HashMap<(String, String), String>,
    filters: &Filters,
    excluded_runbooks: &[String],
    index: &SpaceIndex,
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
    let reference_kind = ReferenceKind::of_variable_type(&variable.kind).or_else(|| {
        prompt
            .as_ref()
            .and_then(|prompt| ReferenceKind::of_display_settings(&prompt.display_settings))
    });
    let value = match (&variable.value, reference_kind) {
        _ if sensitive => None,
        (Some(id), Some(kind)) => Some(portable_reference_value(index, kind, id)),
        (value, None) => value.clone(),
        (None, Some(_)) => None,
    };
    Some(portable::Variable {
        name: variable.name.clone(),
        value,
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
    let unsubstituted = text.is_empty() || crate::inputs::is_placeholder(text);
    (!unsubstituted).then(|| value.clone())
}

/// A variable's identity downstream: its name and its scope, order-insensitive.
/// A variable's name and its non-empty scopes with values lowercased: what makes two variables the same one.
type VariableIdentity = (String, BTreeMap<String, BTreeSet<String>>);

fn identity(name: &str, scope: &BTreeMap<String, Vec<String>>) -> VariableIdentity {
    (
        name.to_owned(),
        scope
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(key, values)| {
                (
                    key.clone(),
                    values.iter().map(|v| v.to_ascii_lowercase()).collect(),
                )
            })
            .collect(),
    )
}

/// Make the set hold the package's variables. By default an existing variable keeps its
/// downstream value (the article's `ignore_changes = all`); with `overwrite` it is made equal and
/// variables the package lacks are removed. A secret whose placeholder is unsubstituted keeps
/// the downstream value (sent back with its id and no value, which Octopus treats as "keep").
pub fn apply_variables(
    set: &mut VariableSet,
    variables: &[&portable::Variable],
    secrets: &BTreeMap<String, Secret>,
    scopes: &ScopeIds<'_>,
    overwrite: bool,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut matched: BTreeSet<usize> = BTreeSet::new();
    // The downstream variables by identity, each list in set order: a desired variable takes the
    // first one of its identity not taken yet. Indexed once (not searched per variable, which was
    // quadratic: 4 million identity comparisons for 2,000 variables). Variables created below are
    // taken as they are pushed, so they never need to be found.
    let mut unmatched_by_identity: HashMap<VariableIdentity, VecDeque<usize>> = HashMap::new();
    for (i, existing) in set.variables.iter().enumerate() {
        unmatched_by_identity
            .entry(identity(&existing.name, &existing.scope))
            .or_default()
            .push_back(i);
    }
    for variable in variables {
        let scope = scopes.scope(&variable.scope);
        let key = identity(&variable.name, &scope);
        // A worker pool, account or certificate by the managed space's id of its name.
        let value = match (&variable.value, variable_reference_kind(variable)) {
            (Some(name), Some(kind)) => {
                Some(desired_reference_value(scopes.context.index, kind, name))
            }
            (value, _) => value.clone(),
        };
        let secret = if variable.is_sensitive() {
            substituted(secrets, variable.secret.as_deref())
        } else {
            None
        };
        let prompt = variable.prompt.as_ref().map(|prompt| {
            serde_json::json!({
                "Label": prompt.label, "Description": prompt.description, "Required": prompt.required,
                "DisplaySettings": prompt.display_settings,
            })
        });
        let position = unmatched_by_identity
            .get_mut(&key)
            .and_then(VecDeque::pop_front);
        let label = describe_scope(&variable.name, &variable.scope);
        match position {
            // Never create a secret without its value: Octopus would store it empty.
            None if variable.is_sensitive() && secret.is_none() => {
                outcomes.push(Outcome::new(
                    "variable",
                    &label,
                    OutcomeAction::KeptDownstream(vec![
                        "secret not substituted; not created".into()
                    ]),
                ));
            }
            None => {
                set.variables.push(Variable {
                    id: None,
                    name: variable.name.clone(),
                    value: if variable.is_sensitive() {
                        secret.map(|s| s.expose().to_owned())
                    } else {
                        value.clone()
                    },
                    description: variable.description.clone(),
                    kind: variable.kind.clone(),
                    is_sensitive: variable.is_sensitive(),
                    scope,
                    prompt,
                    extra: Extra::new(),
                });
                matched.insert(set.variables.len() - 1);
                outcomes.push(Outcome::new("variable", &label, OutcomeAction::Created));
            }
            Some(position) => {
                matched.insert(position);
                let existing = &mut set.variables[position];
                let mut changes = Vec::new();
                if existing.kind != variable.kind {
                    changes.push(FieldChange::new(
                        "Type",
                        Some(&existing.kind),
                        Some(&variable.kind),
                    ));
                }
                if !variable.is_sensitive() && existing.value != value {
                    let change = match (existing.is_sensitive, variable_reference_kind(variable)) {
                        (true, _) => FieldChange::masked("Value", true, value.is_some()),
                        // A reference reads as the names of what it points at, not ids.
                        (false, Some(kind)) => {
                            let names = names_of(scopes.context.index, kind);
                            let shown = |id: &Option<String>| {
                                id.as_deref()
                                    .map(|id| names.known_name(id).unwrap_or(id).to_owned())
                            };
                            FieldChange::new(
                                "Value",
                                shown(&existing.value).as_deref(),
                                shown(&value).as_deref(),
                            )
                        }
                        (false, None) => {
                            FieldChange::new("Value", existing.value.as_deref(), value.as_deref())
                        }
                    };
                    changes.push(change);
                }
                if existing.description.as_deref().unwrap_or("")
                    != variable.description.as_deref().unwrap_or("")
                {
                    changes.push(FieldChange::new(
                        "Description",
                        existing.description.as_deref(),
                        variable.description.as_deref(),
                    ));
                }
                let prompted = |set: bool| set.then_some("prompted");
                if existing.prompt.as_ref().filter(|p| !p.is_null()).is_some() != prompt.is_some() {
                    changes.push(FieldChange::new(
                        "Prompt",
                        prompted(existing.prompt.as_ref().filter(|p| !p.is_null()).is_some()),
                        prompted(prompt.is_some()),
                    ));
                }
                let differences: Vec<String> =
                    changes.iter().map(|change| change.field.clone()).collect();
                let action = if differences.is_empty() {
                    OutcomeAction::Unchanged
                } else if overwrite {
                    existing.kind = variable.kind.clone();
                    existing.is_sensitive = variable.is_sensitive();
                    if !variable.is_sensitive() {
                        existing.value = value.clone();
                    }
                    existing.description = variable.description.clone();
                    existing.prompt = prompt;
                    OutcomeAction::Updated(differences)
                } else {
                    OutcomeAction::KeptDownstream(differences)
                };
                // A substituted secret under --overwrite-variables replaces the downstream one.
                let action = match (overwrite, secret, action) {
                    (true, Some(secret), OutcomeAction::Unchanged) => {
                        existing.value = Some(secret.expose().to_owned());
                        OutcomeAction::SecretResent
                    }
                    (true, Some(secret), OutcomeAction::Updated(fields)) => {
                        existing.value = Some(secret.expose().to_owned());
                        OutcomeAction::Updated(fields)
                    }
                    (_, _, action) => action,
                };
                let changes =
                    if action.is_change() || matches!(action, OutcomeAction::KeptDownstream(_)) {
                        changes
                    } else {
                        Vec::new()
                    };
                outcomes.push(Outcome::new("variable", &label, action).with_changes(changes));
            }
        }
    }
    if overwrite {
        let mut position = 0;
        set.variables.retain(|variable| {
            let keep = matched.contains(&position);
            position += 1;
            if !keep {
                outcomes.push(Outcome::new(
                    "variable",
                    &variable.name,
                    OutcomeAction::Removed,
                ));
            }
            keep
        });
    }
    outcomes
}

fn describe_scope(name: &str, scope: &portable::Scope) -> String {
    if scope.environments.is_empty() {
        name.to_owned()
    } else {
        format!("{name} [{}]", scope.environments.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::testing::payload;
    use crate::octopus::project_parts::ProjectParts;
    use crate::octopus::resources::Project;
    use crate::octopus::space_index::SpaceIndex;

    const PAYLOADS: [&str; 4] = [
        include_str!("../../tests/fixtures/octopus-payloads/variableset-of-libraryvariableset__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/variableset-role-scoped-sensitive__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/variableset-scoped-sensitive__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/variableset__terra-farm-terraform-provider-octopus-2016.json"),
    ];

    const PROJECT: &str = "Upstream";

    /// The portable variables of `set` (no filters) and their secrets, each one substituted.
    fn portable_of(set: &VariableSet) -> (Vec<portable::Variable>, BTreeMap<String, Secret>) {
        let documents = ProjectDocuments {
            server: String::new(),
            space: None,
            parts: ProjectParts {
                project: Some(Project {
                    name: PROJECT.into(),
                    ..Default::default()
                }),
                variables: Some(set.clone()),
                ..Default::default()
            },
            index: SpaceIndex::default(),
            ..Default::default()
        };
        let filters = Filters {
            excluded_variable_environments: Vec::new(),
            ..Filters::default()
        };
        let (variables, placeholders) =
            portable_variables(&documents, &filters, PROJECT, &[], &mut Vec::new())
                .expect("real variables read");
        let secrets = placeholders
            .keys()
            .map(|key| (key.clone(), Secret::new("substituted")))
            .collect();
        (variables, secrets)
    }

    /// The target space names every scope id the set uses as the set itself names it.
    fn names_of(set: &VariableSet) -> (SpaceIndex, Names, Names, Names) {
        let named = scope_names(set);
        let (mut index, mut channels, mut actions, mut runbooks): (
            SpaceIndex,
            Names,
            Names,
            Names,
        ) = Default::default();
        for variable in &set.variables {
            for (key, ids) in &variable.scope {
                let names: &mut Names = match key.as_str() {
                    "Environment" => &mut index.environments,
                    "Channel" => &mut channels,
                    "Action" => &mut actions,
                    "ProcessOwner" => &mut runbooks,
                    _ => continue,
                };
                for id in ids {
                    let key = (key.clone(), id.to_ascii_lowercase());
                    names.insert(id, named.get(&key).unwrap_or(id));
                }
            }
        }
        (index, channels, actions, runbooks)
    }

    /// Apply `portable` onto `target` with the names and scopes of `api`'s own project, as a
    /// deploy from `api`'s space would.
    fn apply_as_upstream(
        api: &VariableSet,
        target: &mut VariableSet,
        portable: &[portable::Variable],
        secrets: &BTreeMap<String, Secret>,
        overwrite: bool,
    ) -> Vec<Outcome> {
        let (index, channels, actions, runbooks) = names_of(api);
        let context = Context {
            index: &index,
            channels,
            secrets: None,
        };
        let scopes = ScopeIds {
            context: &context,
            actions: &actions,
            runbooks: &runbooks,
            upstream_project: PROJECT,
            project_id: api.owner_id.clone().unwrap_or_default(),
        };
        let variables: Vec<&portable::Variable> = portable.iter().collect();
        apply_variables(target, &variables, secrets, &scopes, overwrite)
    }

    /// `from_api(to_api(x)) == x` on real variable sets: onto the set itself (an unchanged
    /// re-deploy: nothing to write but the secrets, resent) and onto an empty set (a first deploy).
    #[test]
    fn real_variables_round_trip() {
        for text in PAYLOADS {
            let api: VariableSet = payload(text);
            let (portable, secrets) = portable_of(&api);
            assert!(!portable.is_empty());
            let mut onto_itself = api.clone();
            let outcomes = apply_as_upstream(&api, &mut onto_itself, &portable, &secrets, true);
            assert!(
                outcomes.iter().all(|o| !o.action.is_change()),
                "{outcomes:?}"
            );
            assert_eq!(portable_of(&onto_itself).0, portable);

            let mut onto_empty = VariableSet {
                extra: api.extra.clone(),
                ..Default::default()
            };
            let outcomes = apply_as_upstream(&api, &mut onto_empty, &portable, &secrets, true);
            assert!(outcomes.iter().all(|o| o.action == OutcomeAction::Created));
            assert_eq!(portable_of(&onto_empty).0, portable);
        }
    }

    /// Downstream variables of the same name and scope pair with the desired ones in order (the
    /// identity index hands out the first one not taken yet, as the list search did).
    #[test]
    fn same_identity_variables_pair_in_order() {
        let api: VariableSet = payload(
            r#"{"Id": "variableset-Projects-1", "OwnerId": "Projects-1", "Variables": [
                {"Id": "a", "Name": "Twice", "Value": "first", "Type": "String", "IsSensitive": false, "Scope": {}},
                {"Id": "b", "Name": "Twice", "Value": "second", "Type": "String", "IsSensitive": false, "Scope": {}}
            ]}"#,
        );
        let (portable, secrets) = portable_of(&api);
        let mut onto_itself = api.clone();
        let outcomes = apply_as_upstream(&api, &mut onto_itself, &portable, &secrets, false);
        assert_eq!(outcomes.len(), 2);
        assert!(
            outcomes
                .iter()
                .all(|o| o.action == OutcomeAction::Unchanged),
            "{outcomes:?}"
        );
    }

    /// A worker pool variable and a prompted text variable whose control type is Certificate
    /// carry names; downstream they get the managed space's ids, an unchanged re-deploy compares
    /// equal, and a drifted value is reported by name.
    #[test]
    fn reference_values_travel_by_name() {
        let set: VariableSet = serde_json::from_value(serde_json::json!({
            "Id": "variableset-Projects-1", "OwnerId": "Projects-1",
            "Variables": [
                {"Id": "1", "Name": "Pool", "Value": "WorkerPools-2", "Type": "WorkerPool", "Scope": {}},
                {"Id": "2", "Name": "Cert", "Value": "Certificates-3", "Type": "String", "Scope": {},
                 "Prompt": {"Label": "Certificate", "Required": true, "DisplaySettings": {"Octopus.ControlType": "Certificate"}}},
                {"Id": "3", "Name": "Expression", "Value": "#{Other.Pool}", "Type": "WorkerPool", "Scope": {}}
            ]
        }))
        .unwrap();
        let upstream = SpaceIndex {
            worker_pools: Names::of([(Some("WorkerPools-2"), "Linux Workers")]),
            certificates: Names::of([(Some("Certificates-3"), "Payments TLS")]),
            ..SpaceIndex::default()
        };
        let documents = ProjectDocuments {
            server: String::new(),
            space: None,
            parts: ProjectParts {
                project: Some(Project {
                    name: PROJECT.into(),
                    ..Default::default()
                }),
                variables: Some(set),
                ..Default::default()
            },
            index: upstream,
            ..Default::default()
        };
        let (portable, _) = portable_variables(
            &documents,
            &Filters::default(),
            PROJECT,
            &[],
            &mut Vec::new(),
        )
        .unwrap();
        let value = |name: &str| {
            portable
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(value("Pool").as_deref(), Some("Linux Workers"));
        assert_eq!(value("Cert").as_deref(), Some("Payments TLS"));
        assert_eq!(value("Expression").as_deref(), Some("#{Other.Pool}"));

        let downstream = SpaceIndex {
            worker_pools: Names::of([
                (Some("WorkerPools-7"), "Linux Workers"),
                (Some("WorkerPools-8"), "Windows Workers"),
            ]),
            certificates: Names::of([(Some("Certificates-9"), "Payments TLS")]),
            ..SpaceIndex::default()
        };
        let context = Context {
            index: &downstream,
            channels: Names::default(),
            secrets: None,
        };
        let (actions, runbooks) = (Names::default(), Names::default());
        let scopes = ScopeIds {
            context: &context,
            actions: &actions,
            runbooks: &runbooks,
            upstream_project: PROJECT,
            project_id: "Projects-5".into(),
        };
        let variables: Vec<&portable::Variable> = portable.iter().collect();
        let mut written = VariableSet::default();
        apply_variables(&mut written, &variables, &BTreeMap::new(), &scopes, true);
        let stored = |set: &VariableSet, name: &str| {
            set.variables
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(stored(&written, "Pool").as_deref(), Some("WorkerPools-7"));
        assert_eq!(stored(&written, "Cert").as_deref(), Some("Certificates-9"));
        assert_eq!(
            stored(&written, "Expression").as_deref(),
            Some("#{Other.Pool}")
        );
        let mut again = written.clone();
        let outcomes = apply_variables(&mut again, &variables, &BTreeMap::new(), &scopes, true);
        assert!(
            outcomes
                .iter()
                .all(|o| o.action == OutcomeAction::Unchanged),
            "{outcomes:?}"
        );

        let mut drifted = written.clone();
        for variable in drifted.variables.iter_mut().filter(|v| v.name == "Pool") {
            variable.value = Some("WorkerPools-8".into());
        }
        let outcomes = apply_variables(&mut drifted, &variables, &BTreeMap::new(), &scopes, false);
        let pool = outcomes.iter().find(|o| o.name == "Pool").unwrap();
        let change = &pool.changes[0];
        assert_eq!(
            (change.before.as_deref(), change.after.as_deref()),
            (Some("Windows Workers"), Some("Linux Workers"))
        );
    }

    /// A Config-as-Code project's variables: text ones are carried while the server keeps them
    /// in the database (`VariablesAreInGit` false or absent), only secrets once they are in git
    /// (unless the git values were read).
    #[test]
    fn config_as_code_text_variables_follow_the_conversion_state() {
        let set: VariableSet = serde_json::from_value(serde_json::json!({
            "Id": "variableset-Projects-1",
            "OwnerId": "Projects-1",
            "Variables": [
                {"Id": "1", "Name": "Slack.Channel", "Value": "#deployments", "Type": "String", "Scope": {}},
                {"Id": "2", "Name": "Slack.Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {}}
            ]
        }))
        .unwrap();
        let names_for = |state: serde_json::Value, git: Option<VariableSet>| {
            let mut settings = serde_json::json!({"Type": "VersionControlled", "Url": "https://git.example.com/a.git"});
            if !state.is_null() {
                settings["ConversionState"] = state;
            }
            let project: Project = serde_json::from_value(serde_json::json!({
                "Name": PROJECT, "IsVersionControlled": true, "PersistenceSettings": settings
            }))
            .unwrap();
            let documents = ProjectDocuments {
                server: String::new(),
                space: None,
                parts: ProjectParts {
                    project: Some(project),
                    variables: Some(set.clone()),
                    git_ref: git.as_ref().map(|_| "main".to_owned()),
                    git_variables: git,
                    ..Default::default()
                },
                index: SpaceIndex::default(),
                ..Default::default()
            };
            let (variables, _) = portable_variables(
                &documents,
                &Filters::default(),
                PROJECT,
                &[],
                &mut Vec::new(),
            )
            .unwrap();
            variables.into_iter().map(|v| v.name).collect::<Vec<_>>()
        };
        let both = vec!["Slack.Channel".to_owned(), "Slack.Token".to_owned()];
        let not_in_git = serde_json::json!({"VariablesAreInGit": false, "RunbooksAreInGit": false});
        assert_eq!(names_for(not_in_git, None), both, "after git/convert");
        assert_eq!(
            names_for(serde_json::Value::Null, None),
            both,
            "no ConversionState"
        );
        let in_git = serde_json::json!({"VariablesAreInGit": true, "RunbooksAreInGit": false});
        assert_eq!(
            names_for(in_git.clone(), None),
            vec!["Slack.Token".to_owned()],
            "migrated"
        );
        let mut git = set.clone();
        git.variables.retain(|v| !v.is_secret());
        git.variables[0].value = Some("#from-git".into());
        assert_eq!(names_for(in_git, Some(git)), both, "--include-cac-values");
    }
}
