//! Converge a space to a blueprint: read what the space holds, check every reference, compute
//! each resource's desired state (`convert::blueprint`, pure), then write only what differs, independent writes at once.

use super::converge::Writer;
use crate::blueprint::{Blueprint, LibraryVariableSetSpec};
use crate::convert::blueprint::{
    apply_variables, desired_environment, desired_feed, desired_git_credential,
    desired_library_variable_set, desired_lifecycle, desired_project_group, desired_tag_set,
};
use crate::octopus::resources::{
    Environment, Feed, GitCredential, LibraryVariableSet, Lifecycle, ProjectGroup, TagSet,
    VariableSetWrite,
};
use crate::octopus::{Api, OctopusClient, OctopusError, Resource};
use crate::outcome::{Outcome, OutcomeAction};
use futures::future::try_join_all;
use std::collections::{BTreeSet, HashMap};

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
    let writer = &Writer {
        client,
        space_id,
        dry_run: false,
    };

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
        writer.converge(existing, desired)
    });
    let group_writes = blueprint.project_groups.iter().map(|spec| {
        let existing = find(&state.project_groups, &spec.name);
        let desired = desired_project_group(spec, existing, space_id);
        writer.converge(existing, desired)
    });
    let feed_writes = blueprint.feeds.iter().map(|spec| {
        let existing = find(&state.feeds, &spec.name);
        let (compare, send) = desired_feed(spec, existing, space_id);
        writer.converge_keeping_secrets(existing, compare, send)
    });
    let credential_writes = blueprint.git_credentials.iter().map(|spec| {
        let existing = find(&state.git_credentials, &spec.name);
        let (compare, send) = desired_git_credential(spec, existing, space_id);
        writer.converge_keeping_secrets(existing, compare, send)
    });
    let tag_set_writes = blueprint.tag_sets.iter().map(|spec| {
        let existing = find(&state.tag_sets, &spec.name);
        let desired = desired_tag_set(spec, existing, space_id);
        writer.converge(existing, desired)
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
        writer.converge(existing, desired)
    });
    let set_writes = blueprint.library_variable_sets.iter().map(|spec| {
        converge_library_variable_set(
            writer,
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

async fn converge_library_variable_set(
    writer: &Writer<'_>,
    spec: &LibraryVariableSetSpec,
    existing: Option<&LibraryVariableSet>,
    environment_ids: &HashMap<String, String>,
) -> Result<Outcome, OctopusError> {
    let desired = desired_library_variable_set(spec, existing, writer.space_id);
    let (set, outcome) = writer.converge(existing, desired).await?;
    let Some(variable_set_id) = set
        .variable_set_id
        .clone()
        .filter(|_| !spec.variables.is_empty())
    else {
        return Ok(outcome);
    };
    let mut variables_changed = Vec::new();
    let write = writer
        .modify_variables(Some(&variable_set_id), None, |variable_set| {
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
