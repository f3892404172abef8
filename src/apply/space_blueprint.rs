//! Converge a space to a blueprint: read what the space holds, check every reference, compute
//! each resource's desired state (pure), then write only what differs, independent writes at once.

use super::outcome::{changed_fields, Outcome, OutcomeAction};
use crate::blueprint::{
    Blueprint, EnvironmentSpec, FeedSpec, GitCredentialSpec, LibraryVariableSetSpec,
    LibraryVariableSpec, LifecycleSpec, PhaseSpec, ProjectGroupSpec, RetentionSpec, TagSetSpec,
    TemplateSpec,
};
use crate::octopus::resources::{
    ActionTemplateParameter, Environment, Extra, Feed, GitCredential, GitCredentialDetails,
    LibraryVariableSet, Lifecycle, Phase, ProjectGroup, PropertyValue, RepositoryRestrictions,
    RetentionPolicy, SensitiveValue, Tag, TagSet, Variable, VariableSet, VariableSetWrite,
    VariableSets,
};
use crate::octopus::{Api, OctopusClient, OctopusError, Resource};
use futures::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the space holds now, for the kinds a blueprint manages.
#[derive(Debug, Clone, Default)]
pub struct SpaceState {
    pub environments: Vec<Environment>,
    pub lifecycles: Vec<Lifecycle>,
    pub project_groups: Vec<ProjectGroup>,
    pub feeds: Vec<Feed>,
    pub git_credentials: Vec<GitCredential>,
    pub library_variable_sets: Vec<LibraryVariableSet>,
    pub tag_sets: Vec<TagSet>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// The blueprint names things that exist neither in the space nor in the blueprint.
    #[error("the blueprint refers to what does not exist:\n  - {}", .0.join("\n  - "))]
    UnknownReferences(Vec<String>),
    #[error(transparent)]
    Octopus(#[from] OctopusError),
}

/// Read every kind the blueprint manages, all at once. Kinds the blueprint does not mention are
/// not read.
pub async fn read_state(
    client: &OctopusClient,
    space_id: &str,
    blueprint: &Blueprint,
) -> Result<SpaceState, OctopusError> {
    async fn list_if<T: Resource>(
        client: &OctopusClient,
        space_id: &str,
        wanted: bool,
    ) -> Result<Vec<T>, OctopusError> {
        if wanted {
            Api::<T>::new(client, Some(space_id)).list().await
        } else {
            Ok(Vec::new())
        }
    }
    let needs_environments = !blueprint.environments.is_empty()
        || !blueprint.lifecycles.is_empty()
        || blueprint
            .library_variable_sets
            .iter()
            .any(|set| set.variables.iter().any(|v| !v.environments.is_empty()));
    let (
        environments,
        lifecycles,
        project_groups,
        feeds,
        git_credentials,
        library_variable_sets,
        tag_sets,
    ) = tokio::try_join!(
        list_if::<Environment>(client, space_id, needs_environments),
        list_if::<Lifecycle>(client, space_id, !blueprint.lifecycles.is_empty()),
        list_if::<ProjectGroup>(client, space_id, !blueprint.project_groups.is_empty()),
        list_if::<Feed>(client, space_id, !blueprint.feeds.is_empty()),
        list_if::<GitCredential>(client, space_id, !blueprint.git_credentials.is_empty()),
        list_if::<LibraryVariableSet>(
            client,
            space_id,
            !blueprint.library_variable_sets.is_empty()
        ),
        list_if::<TagSet>(client, space_id, !blueprint.tag_sets.is_empty()),
    )?;
    Ok(SpaceState {
        environments,
        lifecycles,
        project_groups,
        feeds,
        git_credentials,
        library_variable_sets,
        tag_sets,
    })
}

/// Every environment name the blueprint uses must exist in the space or be declared by it.
pub fn unknown_references(blueprint: &Blueprint, state: &SpaceState) -> Vec<String> {
    let known: BTreeSet<&str> = state
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .chain(blueprint.environments.iter().map(|e| e.name.as_str()))
        .collect();
    let mut unknown = Vec::new();
    for lifecycle in &blueprint.lifecycles {
        for phase in &lifecycle.phases {
            for name in phase
                .automatic_deployment_targets
                .iter()
                .chain(&phase.optional_deployment_targets)
            {
                if !known.contains(name.as_str()) {
                    unknown.push(format!(
                        "environment `{name}` (lifecycle `{}`, phase `{}`): add it to the blueprint's environments or create it first",
                        lifecycle.name, phase.name
                    ));
                }
            }
        }
    }
    for set in &blueprint.library_variable_sets {
        for variable in &set.variables {
            for name in &variable.environments {
                if !known.contains(name.as_str()) {
                    unknown.push(format!(
                        "environment `{name}` (library variable set `{}`, variable `{}`): add it to the blueprint's environments",
                        set.name, variable.name
                    ));
                }
            }
        }
    }
    unknown
}

/// Converge the space. Environments, project groups, feeds, git credentials and tag sets are
/// written first (at once); lifecycles and library variable sets, which refer to environments,
/// after them.
pub async fn converge(
    client: &OctopusClient,
    space_id: &str,
    blueprint: &Blueprint,
) -> Result<Vec<Outcome>, ConvergeError> {
    let state = read_state(client, space_id, blueprint).await?;
    let unknown = unknown_references(blueprint, &state);
    if !unknown.is_empty() {
        return Err(ConvergeError::UnknownReferences(unknown));
    }
    let space = Some(space_id);

    let max_sort_order = state
        .environments
        .iter()
        .map(|e| e.sort_order)
        .max()
        .unwrap_or(0);
    let mut next_sort_order = max_sort_order;
    let environment_writes = blueprint.environments.iter().map(|spec| {
        let existing = find(&state.environments, &spec.name);
        if existing.is_none() {
            next_sort_order += 1;
        }
        let desired = desired_environment(spec, existing, space_id, next_sort_order);
        write(
            Api::<Environment>::new(client, space),
            existing.cloned(),
            desired.clone(),
            desired,
        )
    });
    let group_writes = blueprint.project_groups.iter().map(|spec| {
        let existing = find(&state.project_groups, &spec.name);
        let desired = desired_project_group(spec, existing, space_id);
        write(
            Api::<ProjectGroup>::new(client, space),
            existing.cloned(),
            desired.clone(),
            desired,
        )
    });
    let feed_writes = blueprint.feeds.iter().map(|spec| {
        let existing = find(&state.feeds, &spec.name);
        let (compare, send) = desired_feed(spec, existing, space_id);
        write(
            Api::<Feed>::new(client, space),
            existing.cloned(),
            compare,
            send,
        )
    });
    let credential_writes = blueprint.git_credentials.iter().map(|spec| {
        let existing = find(&state.git_credentials, &spec.name);
        let (compare, send) = desired_git_credential(spec, existing, space_id);
        write(
            Api::<GitCredential>::new(client, space),
            existing.cloned(),
            compare,
            send,
        )
    });
    let tag_set_writes = blueprint.tag_sets.iter().map(|spec| {
        let existing = find(&state.tag_sets, &spec.name);
        let desired = desired_tag_set(spec, existing, space_id);
        write(
            Api::<TagSet>::new(client, space),
            existing.cloned(),
            desired.clone(),
            desired,
        )
    });
    let (environments, groups, feeds, credentials, tag_sets) = tokio::try_join!(
        try_join_all(environment_writes),
        try_join_all(group_writes),
        try_join_all(feed_writes),
        try_join_all(credential_writes),
        try_join_all(tag_set_writes),
    )?;

    // Environment ids, including those just created, for phases and variable scopes.
    let mut environment_ids: HashMap<String, String> = state
        .environments
        .iter()
        .filter_map(|e| Some((e.name.clone(), e.id.clone()?)))
        .collect();
    for (environment, _) in &environments {
        if let Some(id) = &environment.id {
            environment_ids.insert(environment.name.clone(), id.clone());
        }
    }

    let lifecycle_writes = blueprint.lifecycles.iter().map(|spec| {
        let existing = find(&state.lifecycles, &spec.name);
        let desired = desired_lifecycle(spec, existing, space_id, &environment_ids);
        write(
            Api::<Lifecycle>::new(client, space),
            existing.cloned(),
            desired.clone(),
            desired,
        )
    });
    let set_writes = blueprint.library_variable_sets.iter().map(|spec| {
        converge_library_variable_set(
            client,
            space_id,
            spec,
            find(&state.library_variable_sets, &spec.name),
            &environment_ids,
        )
    });
    let (lifecycles, sets) =
        tokio::try_join!(try_join_all(lifecycle_writes), try_join_all(set_writes))?;

    fn outcomes<T>(written: Vec<(T, Outcome)>) -> impl Iterator<Item = Outcome> {
        written.into_iter().map(|(_, outcome)| outcome)
    }
    let mut all: Vec<Outcome> = environments
        .iter()
        .map(|(_, outcome)| outcome.clone())
        .collect();
    all.extend(outcomes(groups));
    all.extend(outcomes(feeds));
    all.extend(outcomes(credentials));
    all.extend(outcomes(tag_sets));
    all.extend(outcomes(lifecycles));
    all.extend(sets);
    Ok(all)
}

fn find<'a, T: Resource>(items: &'a [T], name: &str) -> Option<&'a T> {
    crate::octopus::resources::position_by_name(items, name).map(|at| &items[at])
}

/// Create `send` when nothing exists; otherwise update with `send` when `compare` differs from
/// what exists (`compare` keeps secrets as the server has them, since they cannot be read back).
async fn write<T: Resource>(
    api: Api<T>,
    existing: Option<T>,
    compare: T,
    send: T,
) -> Result<(T, Outcome), OctopusError> {
    match existing {
        None => {
            let created = api.create(&send).await?;
            let outcome = Outcome::new(T::KIND, send.name(), OutcomeAction::Created);
            Ok((created, outcome))
        }
        Some(existing) => {
            let fields = changed_fields(&existing, &compare);
            if fields.is_empty() {
                let outcome = Outcome::new(T::KIND, existing.name(), OutcomeAction::Unchanged);
                return Ok((existing, outcome));
            }
            api.update(&send).await?;
            let outcome = Outcome::new(T::KIND, send.name(), OutcomeAction::Updated(fields));
            Ok((send, outcome))
        }
    }
}

pub fn desired_environment(
    spec: &EnvironmentSpec,
    existing: Option<&Environment>,
    space_id: &str,
    sort_order: i32,
) -> Environment {
    let mut desired = existing.cloned().unwrap_or_else(|| Environment {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        sort_order,
        use_guided_failure: false,
        allow_dynamic_infrastructure: false,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    if let Some(value) = spec.use_guided_failure {
        desired.use_guided_failure = value;
    }
    if let Some(value) = spec.allow_dynamic_infrastructure {
        desired.allow_dynamic_infrastructure = value;
    }
    desired
}

pub fn desired_project_group(
    spec: &ProjectGroupSpec,
    existing: Option<&ProjectGroup>,
    space_id: &str,
) -> ProjectGroup {
    let mut desired = existing.cloned().unwrap_or_else(|| ProjectGroup {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    desired
}

/// (to compare, to send): a password that the server already holds is compared as "kept", and
/// sent again only when something else about the feed changes.
pub fn desired_feed(spec: &FeedSpec, existing: Option<&Feed>, space_id: &str) -> (Feed, Feed) {
    let mut desired = existing.cloned().unwrap_or_else(|| Feed {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        feed_type: spec.kind.api_name().to_owned(),
        feed_uri: None,
        username: None,
        password: None,
        api_version: None,
        registry_path: None,
        enhanced_mode: None,
        download_attempts: None,
        download_retry_backoff_seconds: None,
        package_acquisition_location_options: spec.kind.acquisition_locations(),
        extra: Extra::new(),
    });
    desired.feed_type = spec.kind.api_name().to_owned();
    desired.feed_uri = Some(spec.feed_uri.clone());
    if spec.username.is_some() {
        desired.username = spec.username.clone();
    }
    set_if_some(&mut desired.api_version, &spec.api_version);
    set_if_some(&mut desired.registry_path, &spec.registry_path);
    if spec.download_attempts.is_some() {
        desired.download_attempts = spec.download_attempts;
    }
    if spec.download_retry_backoff_seconds.is_some() {
        desired.download_retry_backoff_seconds = spec.download_retry_backoff_seconds;
    }
    let mut send = desired.clone();
    if let Some(password) = &spec.password {
        let held = existing
            .and_then(|feed| feed.password.as_ref())
            .is_some_and(|p| p.has_value);
        desired.password = Some(if held {
            existing
                .and_then(|f| f.password.clone())
                .unwrap_or_default()
        } else {
            SensitiveValue::set(password.secret())
        });
        send.password = Some(SensitiveValue::set(password.secret()));
    }
    (desired, send)
}

pub fn desired_git_credential(
    spec: &GitCredentialSpec,
    existing: Option<&GitCredential>,
    space_id: &str,
) -> (GitCredential, GitCredential) {
    let mut desired = existing.cloned().unwrap_or_else(|| GitCredential {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        details: GitCredentialDetails {
            kind: "UsernamePassword".to_owned(),
            username: None,
            password: None,
            extra: Extra::new(),
        },
        repository_restrictions: None,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    desired.details.kind = "UsernamePassword".to_owned();
    desired.details.username = Some(spec.username.clone());
    if let Some(allowed) = &spec.allowed_repositories {
        let restrictions = desired
            .repository_restrictions
            .get_or_insert_with(RepositoryRestrictions::default);
        restrictions.enabled = true;
        restrictions.allowed_repositories = allowed.clone();
    }
    let mut send = desired.clone();
    let held = existing
        .and_then(|c| c.details.password.as_ref())
        .is_some_and(|p| p.has_value);
    if !held {
        desired.details.password = Some(SensitiveValue::set(spec.password.secret()));
    }
    send.details.password = Some(SensitiveValue::set(spec.password.secret()));
    (desired, send)
}

pub fn desired_tag_set(spec: &TagSetSpec, existing: Option<&TagSet>, space_id: &str) -> TagSet {
    let mut desired = existing.cloned().unwrap_or_else(|| TagSet {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        sort_order: 0,
        tags: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    for tag_spec in &spec.tags {
        match desired
            .tags
            .iter_mut()
            .find(|tag| tag.name == tag_spec.name)
        {
            Some(tag) => {
                set_if_some(&mut tag.color, &tag_spec.color);
                set_if_some(&mut tag.description, &tag_spec.description);
            }
            None => {
                let sort_order = desired.tags.len() as i32;
                desired.tags.push(Tag {
                    id: None,
                    name: tag_spec.name.clone(),
                    canonical_tag_name: None,
                    color: Some(
                        tag_spec
                            .color
                            .clone()
                            .unwrap_or_else(|| "#333333".to_owned()),
                    ),
                    description: tag_spec.description.clone(),
                    sort_order,
                    extra: Extra::new(),
                });
            }
        }
    }
    desired
}

pub fn desired_lifecycle(
    spec: &LifecycleSpec,
    existing: Option<&Lifecycle>,
    space_id: &str,
    environment_ids: &HashMap<String, String>,
) -> Lifecycle {
    let mut desired = existing.cloned().unwrap_or_else(|| Lifecycle {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        release_retention_policy: None,
        tentacle_retention_policy: None,
        phases: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    if let Some(retention) = &spec.release_retention {
        desired.release_retention_policy = Some(desired_retention(
            retention,
            desired.release_retention_policy.as_ref(),
        ));
    }
    if let Some(retention) = &spec.tentacle_retention {
        desired.tentacle_retention_policy = Some(desired_retention(
            retention,
            desired.tentacle_retention_policy.as_ref(),
        ));
    }
    let current_phases = std::mem::take(&mut desired.phases);
    desired.phases = spec
        .phases
        .iter()
        .map(|phase_spec| {
            desired_phase(
                phase_spec,
                current_phases.iter().find(|p| p.name == phase_spec.name),
                environment_ids,
            )
        })
        .collect();
    desired
}

fn desired_phase(
    spec: &PhaseSpec,
    existing: Option<&Phase>,
    environment_ids: &HashMap<String, String>,
) -> Phase {
    let ids = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter_map(|name| environment_ids.get(name).cloned())
            .collect()
    };
    let mut phase = existing.cloned().unwrap_or_else(|| Phase {
        id: None,
        name: spec.name.clone(),
        automatic_deployment_targets: Vec::new(),
        optional_deployment_targets: Vec::new(),
        minimum_environments_before_promotion: 0,
        is_optional_phase: false,
        is_priority_phase: false,
        release_retention_policy: None,
        tentacle_retention_policy: None,
        extra: Extra::new(),
    });
    phase.automatic_deployment_targets = ids(&spec.automatic_deployment_targets);
    phase.optional_deployment_targets = ids(&spec.optional_deployment_targets);
    phase.minimum_environments_before_promotion = spec.minimum_environments_before_promotion as i32;
    phase.is_optional_phase = spec.is_optional_phase;
    phase.is_priority_phase = spec.is_priority_phase;
    phase
}

/// Newer servers carry a `Strategy` beside the quantity; it is kept in step when present.
fn desired_retention(spec: &RetentionSpec, existing: Option<&RetentionPolicy>) -> RetentionPolicy {
    let mut policy = existing.cloned().unwrap_or_default();
    if spec.keep_forever {
        policy.should_keep_forever = true;
        policy.quantity_to_keep = 0;
        policy.unit = Some("Items".to_owned());
    } else {
        policy.should_keep_forever = false;
        policy.quantity_to_keep = spec.quantity_to_keep.unwrap_or(0) as i32;
        policy.unit = Some(spec.unit.map_or("Items", |unit| unit.api_name()).to_owned());
    }
    if policy.strategy.is_some() {
        policy.strategy = Some(
            if spec.keep_forever {
                "Forever"
            } else {
                "Count"
            }
            .to_owned(),
        );
    }
    policy
}

pub fn desired_library_variable_set(
    spec: &LibraryVariableSetSpec,
    existing: Option<&LibraryVariableSet>,
    space_id: &str,
) -> LibraryVariableSet {
    let mut desired = existing.cloned().unwrap_or_else(|| LibraryVariableSet {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        content_type: Some("Variables".to_owned()),
        variable_set_id: None,
        templates: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    for template_spec in &spec.templates {
        match desired
            .templates
            .iter_mut()
            .find(|t| t.name == template_spec.name)
        {
            Some(template) => apply_template(template_spec, template),
            None => {
                let mut template = ActionTemplateParameter {
                    // Octopus clients generate template ids; tenant values are keyed by them.
                    id: Some(uuid::Uuid::new_v4().to_string()),
                    name: template_spec.name.clone(),
                    label: None,
                    help_text: None,
                    default_value: None,
                    display_settings: BTreeMap::new(),
                    extra: Extra::new(),
                };
                apply_template(template_spec, &mut template);
                desired.templates.push(template);
            }
        }
    }
    desired
}

fn apply_template(spec: &TemplateSpec, template: &mut ActionTemplateParameter) {
    set_if_some(&mut template.label, &spec.label);
    set_if_some(&mut template.help_text, &spec.help_text);
    if let Some(default) = &spec.default_value {
        template.default_value = Some(PropertyValue::Text(default.clone()));
    }
    template.display_settings.insert(
        "Octopus.ControlType".to_owned(),
        spec.control_type.api_name().to_owned(),
    );
    if !spec.select_options.is_empty() {
        let options: Vec<String> = spec
            .select_options
            .iter()
            .map(|o| format!("{}|{}", o.value, o.label))
            .collect();
        template
            .display_settings
            .insert("Octopus.SelectOptions".to_owned(), options.join("\n"));
    }
}

/// Make the set hold each blueprint variable; returns the names of variables added or changed.
/// A secret the server already holds cannot be compared and is kept (sent back with its `Id`
/// and no value, which Octopus treats as "keep").
pub fn apply_variables(
    set: &mut VariableSet,
    specs: &[LibraryVariableSpec],
    environment_ids: &HashMap<String, String>,
) -> Vec<String> {
    let mut changed = Vec::new();
    for spec in specs {
        let scope_ids: BTreeSet<String> = spec
            .environments
            .iter()
            .filter_map(|name| environment_ids.get(name).cloned())
            .collect();
        let same_identity = |variable: &Variable| {
            variable.name == spec.name
                && variable
                    .scope
                    .iter()
                    .all(|(key, values)| key == "Environment" || values.is_empty())
                && variable
                    .scope
                    .get("Environment")
                    .map(|ids| ids.iter().cloned().collect::<BTreeSet<_>>())
                    .unwrap_or_default()
                    == scope_ids
        };
        let (value, kind, sensitive) = match (&spec.value, &spec.secret) {
            (Some(value), _) => (value.clone(), "String", false),
            (None, Some(secret)) => (secret.secret().expose().to_owned(), "Sensitive", true),
            (None, None) => continue,
        };
        match set
            .variables
            .iter_mut()
            .find(|variable| same_identity(variable))
        {
            Some(variable) => {
                let mut differs = variable.is_secret() != sensitive;
                if !sensitive && variable.value.as_deref() != Some(value.as_str()) {
                    differs = true;
                }
                if spec.description.is_some() && variable.description != spec.description {
                    differs = true;
                }
                if differs {
                    variable.kind = kind.to_owned();
                    variable.is_sensitive = sensitive;
                    variable.value = Some(value);
                    set_if_some(&mut variable.description, &spec.description);
                    changed.push(format!("variable {}", spec.name));
                }
            }
            None => {
                let mut scope = BTreeMap::new();
                if !scope_ids.is_empty() {
                    scope.insert("Environment".to_owned(), scope_ids.into_iter().collect());
                }
                set.variables.push(Variable {
                    id: None,
                    name: spec.name.clone(),
                    value: Some(value),
                    description: spec.description.clone(),
                    kind: kind.to_owned(),
                    is_sensitive: sensitive,
                    scope,
                    prompt: None,
                    extra: Extra::new(),
                });
                changed.push(format!("variable {}", spec.name));
            }
        }
    }
    changed
}

async fn converge_library_variable_set(
    client: &OctopusClient,
    space_id: &str,
    spec: &LibraryVariableSetSpec,
    existing: Option<&LibraryVariableSet>,
    environment_ids: &HashMap<String, String>,
) -> Result<Outcome, OctopusError> {
    let desired = desired_library_variable_set(spec, existing, space_id);
    let (set, outcome) = write(
        Api::<LibraryVariableSet>::new(client, Some(space_id)),
        existing.cloned(),
        desired.clone(),
        desired,
    )
    .await?;
    let Some(variable_set_id) = set
        .variable_set_id
        .clone()
        .filter(|_| !spec.variables.is_empty())
    else {
        return Ok(outcome);
    };
    let mut variables_changed = Vec::new();
    let write = VariableSets::new(client, space_id)
        .modify(&variable_set_id, |variable_set| {
            variables_changed = apply_variables(variable_set, &spec.variables, environment_ids);
            !variables_changed.is_empty()
        })
        .await?;
    Ok(match (outcome.action, write) {
        (OutcomeAction::Created, _) => {
            Outcome::new(outcome.kind, &spec.name, OutcomeAction::Created)
        }
        (action, VariableSetWrite::Unchanged) => Outcome::new(outcome.kind, &spec.name, action),
        (OutcomeAction::Updated(mut fields), VariableSetWrite::Updated) => {
            fields.extend(variables_changed);
            Outcome::new(outcome.kind, &spec.name, OutcomeAction::Updated(fields))
        }
        // A library variable set is never "kept" or "removed"; only its variables changed.
        (
            OutcomeAction::Unchanged
            | OutcomeAction::KeptDownstream(_)
            | OutcomeAction::Removed
            | OutcomeAction::SecretResent,
            VariableSetWrite::Updated,
        ) => Outcome::new(
            outcome.kind,
            &spec.name,
            OutcomeAction::Updated(variables_changed),
        ),
    })
}

fn set_if_some<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::SecretRef;
    use crate::secret::Secret;

    fn environment(name: &str, id: &str, description: &str) -> Environment {
        Environment {
            id: Some(id.into()),
            space_id: Some("Spaces-2".into()),
            name: name.into(),
            description: Some(description.into()),
            sort_order: 1,
            use_guided_failure: false,
            allow_dynamic_infrastructure: false,
            extra: serde_json::from_value(
                serde_json::json!({"Links": {"Self": "/api/x"}, "EnvironmentTags": []}),
            )
            .unwrap(),
        }
    }

    #[test]
    fn drifted_description_is_the_only_change_and_unknown_fields_survive() {
        let spec = EnvironmentSpec {
            name: "Test".into(),
            description: Some("Verified here.".into()),
            use_guided_failure: None,
            allow_dynamic_infrastructure: None,
        };
        let existing = environment("Test", "Environments-2", "someone edited this");
        let desired = desired_environment(&spec, Some(&existing), "Spaces-2", 9);
        assert_eq!(
            changed_fields(&existing, &desired),
            vec!["Description".to_owned()]
        );
        assert_eq!(desired.extra["Links"]["Self"], "/api/x");
        assert_eq!(
            desired.sort_order, 1,
            "an existing environment keeps its place"
        );
        let same = desired_environment(&spec, Some(&desired), "Spaces-2", 9);
        assert!(changed_fields(&desired, &same).is_empty());
    }

    #[test]
    fn held_secrets_compare_as_kept_but_are_sent_with_other_changes() {
        let spec = GitCredentialSpec {
            name: "Git".into(),
            description: None,
            username: "octo".into(),
            password: SecretRef::resolved(Secret::new("token-1"), "GIT_PASSWORD"),
            allowed_repositories: None,
        };
        let (_, created) = desired_git_credential(&spec, None, "Spaces-2");
        let mut held = created.clone();
        held.id = Some("GitCredentials-1".into());
        held.details.password = Some(SensitiveValue::keep());
        let (compare, _) = desired_git_credential(&spec, Some(&held), "Spaces-2");
        assert!(changed_fields(&held, &compare).is_empty());
        let renamed = GitCredentialSpec {
            username: "other".into(),
            ..spec
        };
        let (compare, send) = desired_git_credential(&renamed, Some(&held), "Spaces-2");
        assert_eq!(changed_fields(&held, &compare), vec!["Details".to_owned()]);
        assert_eq!(
            send.details.password.unwrap().new_value.unwrap().expose(),
            "token-1"
        );
    }

    #[test]
    fn phases_follow_the_blueprint_and_keep_their_ids() {
        let ids: HashMap<String, String> = [("Dev", "Environments-1"), ("Prod", "Environments-3")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let spec: LifecycleSpec = serde_yaml::from_str("name: App\nphases:\n  - {name: Dev, automatic_deployment_targets: [Dev]}\n  - {name: Prod, optional_deployment_targets: [Prod]}\n").unwrap();
        let created = desired_lifecycle(&spec, None, "Spaces-2", &ids);
        assert_eq!(
            created.phases[0].automatic_deployment_targets,
            vec!["Environments-1".to_owned()]
        );
        let mut existing = created.clone();
        existing.id = Some("Lifecycles-2".into());
        existing.phases[1].id = Some("phase-guid".into());
        existing.phases.push(Phase {
            name: "Extra".into(),
            ..existing.phases[0].clone()
        });
        let desired = desired_lifecycle(&spec, Some(&existing), "Spaces-2", &ids);
        assert_eq!(desired.phases.len(), 2);
        assert_eq!(desired.phases[1].id.as_deref(), Some("phase-guid"));
        assert_eq!(
            changed_fields(&existing, &desired),
            vec!["Phases".to_owned()]
        );
    }

    #[test]
    fn variables_are_added_updated_or_kept() {
        let ids: HashMap<String, String> =
            [("Production".to_string(), "Environments-3".to_string())].into();
        let specs: Vec<LibraryVariableSpec> = serde_yaml::from_str(
            "- {name: Support.Email, value: a@example.com}\n- {name: Db.Password, secret: {from_env: X}, environments: [Production]}\n",
        )
        .unwrap();
        let mut specs = specs;
        specs[1].secret = Some(SecretRef::resolved(Secret::new("pw"), "X"));
        let mut set: VariableSet = serde_json::from_value(serde_json::json!({"Id": "variableset-LibraryVariableSets-1", "Version": 1, "Variables": []})).unwrap();
        assert_eq!(apply_variables(&mut set, &specs, &ids).len(), 2);
        assert_eq!(
            set.variables[1].scope["Environment"],
            vec!["Environments-3".to_owned()]
        );
        // As the server returns them: ids assigned, the secret hidden.
        set.variables[0].id = Some("v1".into());
        set.variables[1].id = Some("v2".into());
        set.variables[1].value = None;
        assert!(apply_variables(&mut set, &specs, &ids).is_empty());
        set.variables[0].value = Some("drifted".into());
        assert_eq!(
            apply_variables(&mut set, &specs, &ids),
            vec!["variable Support.Email".to_owned()]
        );
        assert!(!format!("{:?}", set.variables[1]).contains("pw"));
    }
}
