//! Converge a space to a blueprint: read what the space holds, check every reference, compute
//! each resource's desired state (`convert::blueprint`, pure), then write only what differs, independent writes at once.

use super::converge::Writer;
use super::definitions::{Definitions, Wanted};
use crate::blueprint::{Blueprint, LibraryVariableSetSpec, VariableTypeSpec};
use crate::convert::blueprint::{
    apply_variables, blueprint_script_modules, blueprint_step_templates, desired_account,
    desired_certificate, desired_environment, desired_feed, desired_git_credential,
    desired_library_variable_set, desired_lifecycle, desired_project_group, desired_tag_set,
    SpaceIds,
};
use crate::octopus::in_order::{all_in_order, InOrder};
use crate::octopus::resources::{
    Account, Certificate, Environment, Feed, GitCredential, LibraryVariableSet, Lifecycle,
    ProjectGroup, TagSet, VariableSetWrite, WorkerPool,
};
use crate::octopus::{Api, OctopusClient, OctopusError, Resource};
use crate::outcome::{Outcome, OutcomeAction};
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
    /// Read when the blueprint has accounts or account variables.
    pub accounts: Vec<Account>,
    /// Read when the blueprint has certificates or certificate variables.
    pub certificates: Vec<Certificate>,
    /// Read when the blueprint has worker pool variables (it does not create worker pools).
    pub worker_pools: Vec<WorkerPool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// The blueprint names things that exist neither in the space nor in the blueprint.
    #[error("the blueprint refers to what does not exist:\n  - {}", .0.join("\n  - "))]
    UnknownReferences(Vec<String>),
    /// The space holds something under a blueprint's name that the blueprint cannot make it.
    #[error(
        "the space holds what the blueprint cannot converge; nothing was written:\n  - {}",
        .0.join("\n  - ")
    )]
    Conflicts(Vec<String>),
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
            .any(|set| set.variables.iter().any(|v| !v.environments.is_empty()))
        || blueprint
            .accounts
            .iter()
            .any(|a| !a.environments.is_empty())
        || blueprint
            .certificates
            .iter()
            .any(|c| !c.environments.is_empty());
    let typed = |wanted: &dyn Fn(VariableTypeSpec) -> bool| {
        blueprint
            .library_variable_sets
            .iter()
            .flat_map(|set| &set.variables)
            .any(|variable| variable.kind.is_some_and(wanted))
    };
    let needs_accounts = !blueprint.accounts.is_empty()
        || typed(&|kind| {
            !matches!(
                kind,
                VariableTypeSpec::WorkerPool | VariableTypeSpec::Certificate
            )
        });
    let needs_certificates =
        !blueprint.certificates.is_empty() || typed(&|kind| kind == VariableTypeSpec::Certificate);
    let needs_worker_pools = typed(&|kind| kind == VariableTypeSpec::WorkerPool);
    let (
        environments,
        lifecycles,
        project_groups,
        feeds,
        git_credentials,
        library_variable_sets,
        tag_sets,
        accounts,
        certificates,
        worker_pools,
    ) = tokio::join!(
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
        list_if::<Account>(client, space_id, needs_accounts),
        list_if::<Certificate>(client, space_id, needs_certificates),
        list_if::<WorkerPool>(client, space_id, needs_worker_pools),
    )
    .in_order()?;
    Ok(SpaceState {
        environments,
        lifecycles,
        project_groups,
        feeds,
        git_credentials,
        library_variable_sets,
        tag_sets,
        accounts,
        certificates,
        worker_pools,
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
    let scoped = blueprint
        .accounts
        .iter()
        .map(|a| ("account", &a.name, &a.environments))
        .chain(
            blueprint
                .certificates
                .iter()
                .map(|c| ("certificate", &c.name, &c.environments)),
        );
    for (kind, owner, environments) in scoped {
        for name in environments {
            if !known.contains(name.as_str()) {
                unknown.push(format!(
                    "environment `{name}` ({kind} `{owner}`): add it to the blueprint's environments or create it first"
                ));
            }
        }
    }
    let names = |space: Vec<&str>, declared: Vec<&str>| -> BTreeSet<String> {
        space
            .into_iter()
            .chain(declared)
            .map(str::to_lowercase)
            .collect()
    };
    let accounts = names(
        state.accounts.iter().map(|a| a.name.as_str()).collect(),
        blueprint.accounts.iter().map(|a| a.name.as_str()).collect(),
    );
    let certificates = names(
        state.certificates.iter().map(|c| c.name.as_str()).collect(),
        blueprint
            .certificates
            .iter()
            .map(|c| c.name.as_str())
            .collect(),
    );
    let worker_pools = names(
        state.worker_pools.iter().map(|p| p.name.as_str()).collect(),
        Vec::new(),
    );
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
            let (Some(kind), Some(name)) = (variable.kind, &variable.value) else {
                continue;
            };
            let (noun, known, remedy) = match kind {
                VariableTypeSpec::WorkerPool => {
                    ("worker pool", &worker_pools, "create it in the space first")
                }
                VariableTypeSpec::Certificate => (
                    "certificate",
                    &certificates,
                    "add it to the blueprint's certificates",
                ),
                _ => ("account", &accounts, "add it to the blueprint's accounts"),
            };
            if !known.contains(&name.to_lowercase()) {
                unknown.push(format!(
                    "{noun} `{name}` (library variable set `{}`, variable `{}`): {remedy}",
                    set.name, variable.name
                ));
            }
        }
    }
    unknown
}

/// An account the space holds under a blueprint account's name but of another type: Octopus
/// cannot change an account's type (the provider replaces the account instead, `account_type`
/// being ForceNew), and octofleet never deletes.
pub fn conflicts(blueprint: &Blueprint, state: &SpaceState) -> Vec<String> {
    blueprint
        .accounts
        .iter()
        .filter_map(|spec| {
            let existing = find(&state.accounts, &spec.name)?;
            (existing.account_type != spec.kind.api_name()).then(|| {
                format!(
                    "account `{}` is of type {} in the space, the blueprint says {}: rename one of them, or \
                     delete the account in Octopus if nothing uses it",
                    existing.name,
                    existing.account_type,
                    spec.kind.api_name()
                )
            })
        })
        .collect()
}

/// Converge the space. Environments, project groups, feeds, git credentials and tag sets are
/// written first (at once); lifecycles and library variable sets, which refer to environments,
/// after them; step templates and script modules last.
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
    let mut conflicting = conflicts(blueprint, &state);
    // Step templates and script modules: deploy's mechanism, decided before any write; the
    // blueprint is what the space must hold, so a copy that differs is made equal to it.
    let templates = blueprint_step_templates(&blueprint.step_templates);
    let modules = blueprint_script_modules(&blueprint.script_modules);
    let no_secrets = std::collections::BTreeMap::new();
    let definitions = if templates.is_empty() && modules.is_empty() {
        None
    } else {
        let index = crate::octopus::space_index::SpaceIndex::read(client, space_id).await?;
        let wanted = Wanted {
            templates: &templates,
            modules: &modules,
            overwrite: true,
        };
        match Definitions::read_wanted(client, space_id, wanted, &index, &no_secrets).await? {
            Ok(definitions) => Some((definitions, index)),
            Err(refusals) => {
                conflicting.extend(refusals);
                None
            }
        }
    };
    if !conflicting.is_empty() {
        return Err(ConvergeError::Conflicts(conflicting));
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
    let (environments, groups, feeds, credentials, tag_sets) = tokio::join!(
        all_in_order(environment_writes),
        all_in_order(group_writes),
        all_in_order(feed_writes),
        all_in_order(credential_writes),
        all_in_order(tag_set_writes),
    )
    .in_order()?;

    // Ids by name, including what was just created: for phases, scopes and typed variables.
    let mut ids = SpaceIds {
        environments: ids_by_name(&state.environments),
        worker_pools: ids_by_name(&state.worker_pools),
        accounts: ids_by_name(&state.accounts),
        certificates: ids_by_name(&state.certificates),
    };
    for (environment, _) in &environments {
        if let Some(id) = &environment.id {
            ids.environments
                .insert(environment.name.clone(), id.clone());
        }
    }

    // Second wave: what refers to environments.
    let lifecycle_writes = blueprint.lifecycles.iter().map(|spec| {
        let existing = find(&state.lifecycles, &spec.name);
        let desired = desired_lifecycle(spec, existing, space_id, &ids.environments);
        writer.converge(existing, desired)
    });
    let account_writes = blueprint.accounts.iter().map(|spec| {
        let existing = find(&state.accounts, &spec.name);
        let (compare, send) = desired_account(spec, existing, space_id, &ids);
        writer.converge_keeping_secrets(existing, compare, send)
    });
    let certificate_writes = blueprint.certificates.iter().map(|spec| {
        let existing = find(&state.certificates, &spec.name);
        let (compare, send) = desired_certificate(spec, existing, space_id, &ids);
        writer.converge_keeping_secrets(existing, compare, send)
    });
    let (lifecycles, accounts, certificates) = tokio::join!(
        all_in_order(lifecycle_writes),
        all_in_order(account_writes),
        all_in_order(certificate_writes),
    )
    .in_order()?;
    for (account, _) in &accounts {
        if let Some(id) = &account.id {
            ids.accounts.insert(account.name.clone(), id.clone());
        }
    }
    for (certificate, _) in &certificates {
        if let Some(id) = &certificate.id {
            ids.certificates
                .insert(certificate.name.clone(), id.clone());
        }
    }

    // Third wave: library variable sets, whose typed variables name accounts and certificates.
    let set_writes = blueprint.library_variable_sets.iter().map(|spec| {
        converge_library_variable_set(
            writer,
            spec,
            find(&state.library_variable_sets, &spec.name),
            &ids,
        )
    });
    let sets = all_in_order(set_writes).await?;
    let mut definition_outcomes = Vec::new();
    if let Some((definitions, mut index)) = definitions {
        definitions
            .converge(writer, &mut index, &mut definition_outcomes)
            .await?;
    }

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
    all.extend(outcomes(accounts));
    all.extend(outcomes(certificates));
    all.extend(sets);
    all.extend(definition_outcomes);
    Ok(all)
}

/// Name → id of every item that has an id. Names are matched exactly here; a blueprint name
/// that differs only in case was matched to the space's item by [`find`] before (and written
/// under the server's spelling).
fn ids_by_name<T: Resource>(items: &[T]) -> HashMap<String, String> {
    items
        .iter()
        .filter_map(|item| Some((item.name().to_owned(), item.id()?.to_owned())))
        .collect()
}

fn find<'a, T: Resource>(items: &'a [T], name: &str) -> Option<&'a T> {
    crate::octopus::resources::position_by_name(items, name).map(|at| &items[at])
}

async fn converge_library_variable_set(
    writer: &Writer<'_>,
    spec: &LibraryVariableSetSpec,
    existing: Option<&LibraryVariableSet>,
    ids: &SpaceIds,
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
            variables_changed = apply_variables(variable_set, &spec.variables, ids);
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
