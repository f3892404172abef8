//! Deploy (or plan) a portable project into a space: read what exists, check every dependency
//! and secret before writing, then converge the project, its channels, process, runbooks and
//! variables, each built from what the server has so ids and server fields survive.

use super::outcome::{changed_fields, Outcome, OutcomeAction};
use super::resolve::{missing_dependencies, Missing};
use crate::convert::channel_runbook::{desired_channel, desired_runbook};
use crate::convert::process::desired_process;
use crate::convert::project::desired_project;
use crate::convert::variables::{apply_variables, substituted, ScopeIds};
use crate::convert::Context;
use crate::octopus::project_parts::{self, ReadOptions};
use crate::octopus::resources::runbook_processes_by_ids;
use crate::octopus::resources::{
    DeploymentProcess, Extra, GitPersistenceCredentials, PersistenceSettings, ProcessKind,
    ProcessStep, Project, Runbook, VariableSet, VariableSets,
};
use crate::octopus::space_index::{Names, SpaceIndex};
use crate::octopus::{Api, OctopusClient, OctopusError};
use crate::portable::{self, PortableProject};
use crate::secret::Secret;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// The downstream project's name (`Exported.Project.Name`, else the package's).
    pub project_name: String,
    /// Make variables equal to the package instead of keeping downstream values.
    pub overwrite_variables: bool,
    /// Config-as-Code: the downstream repository (the fork), instead of the package's URL.
    pub git_url: Option<String>,
    /// Plan only: read and compare, never write.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DeployResult {
    pub project_id: Option<String>,
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(
        "the target space lacks what the project needs; nothing was written. Create these first \
         (create-space's blueprint can hold them):\n  - {}",
        .0.iter().map(|m| format!("{} `{}`", m.kind, m.name)).collect::<Vec<_>>().join("\n  - ")
    )]
    MissingDependencies(Vec<Missing>),
    #[error(
        "secret{} {} still hold{} an unsubstituted placeholder and do{} not exist downstream yet; nothing was \
         written. Run the deploy step in the environment the secrets are scoped to (the article's `Sync`) with \
         Octopus's file substitution on secrets.json",
        if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
        if .0.len() == 1 { "s" } else { "" },
        if .0.len() == 1 { "es" } else { "" }
    )]
    UnsubstitutedSecrets(Vec<String>),
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the package's project.json sets `{}` in `{}`, a field octofleet writes itself: a package may add \
         settings this octofleet does not know, never replace a name, an id or a modelled setting; nothing was \
         written. Re-serialize the template project (`octofleet serialize`)",
        .0.key, .0.at
    )]
    OverridingField(crate::convert::fields::Overriding),
    #[error(transparent)]
    Octopus(#[from] OctopusError),
}

pub async fn deploy(
    client: &OctopusClient,
    space_id: &str,
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    options: &DeployOptions,
) -> Result<DeployResult, DeployError> {
    if let Some(first) = crate::convert::fields::overriding_fields(package)
        .into_iter()
        .next()
    {
        return Err(DeployError::OverridingField(first));
    }
    let index = SpaceIndex::read(client, space_id).await?;
    let missing = missing_dependencies(package, &index);
    if !missing.is_empty() {
        return Err(DeployError::MissingDependencies(missing));
    }
    let mut current = project_parts::read_by_name(
        client,
        space_id,
        &options.project_name,
        ReadOptions::for_deploy(true),
    )
    .await?;
    // A plan reports such secrets ("not created") instead of failing.
    if !options.dry_run {
        check_secrets(package, secrets, current.variables.as_ref())?;
    }
    check_version_control(package, &index)?;

    let mut outcomes = Vec::new();
    let writer = Writer {
        client,
        space_id,
        dry_run: options.dry_run,
    };

    // The project itself (and Config-as-Code conversion).
    let desired = desired_project(
        current.project.as_ref(),
        package,
        &options.project_name,
        &index,
        space_id,
    );
    let project = match &current.project {
        None => {
            outcomes.push(Outcome::new(
                "project",
                &options.project_name,
                OutcomeAction::Created,
            ));
            writer.create(&desired).await?
        }
        Some(existing) => {
            let fields = changed_fields(existing, &desired);
            if fields.is_empty() {
                outcomes.push(Outcome::new(
                    "project",
                    &options.project_name,
                    OutcomeAction::Unchanged,
                ));
                existing.clone()
            } else {
                outcomes.push(Outcome::new(
                    "project",
                    &options.project_name,
                    OutcomeAction::Updated(fields),
                ));
                writer.update(&desired).await?;
                desired
            }
        }
    };
    if let Some(outcome) =
        converge_version_control(&writer, &project, package, &index, options).await?
    {
        outcomes.push(outcome);
    }
    if current.project.is_none() && !options.dry_run {
        // The server made the Default channel, variable set and empty process: read them.
        current = project_parts::read(
            client,
            space_id,
            project.clone(),
            ReadOptions::for_deploy(false),
        )
        .await?;
    }
    let is_cac = package.project.version_control.is_some();

    // Channels before the process: actions refer to them.
    let mut context = Context {
        index: &index,
        channels: Names::default(),
    };
    for channel in &current.channels {
        if let Some(id) = &channel.id {
            context.channels.insert(id, &channel.name);
        }
    }
    for portable_channel in &package.channels {
        let existing = current.channels.iter().find(|c| {
            c.name == portable_channel.name || (portable_channel.is_default && c.is_default)
        });
        let desired = desired_channel(
            existing,
            portable_channel,
            project.id.as_deref(),
            space_id,
            &index,
        );
        let written = writer
            .converge("channel", existing, desired, &mut outcomes)
            .await?;
        if let Some(id) = written.id {
            context.channels.insert(&id, &portable_channel.name);
        }
    }

    // The deployment process (database projects: a Config-as-Code process lives in the fork).
    let mut action_ids = Names::default();
    if let (false, Some(portable_process)) = (is_cac, &package.deployment_process) {
        let process = writer
            .converge_process(
                ProcessKind::Deployment,
                &options.project_name,
                current.deployment_process.as_ref(),
                portable_process,
                &context,
                &mut outcomes,
            )
            .await?;
        collect_action_ids(process.as_ref(), &mut action_ids);
    }

    // Runbooks and their processes: each runbook's work is independent, so several run at once
    // (in package order for the report), and the processes of new runbooks are read in one request.
    const CONCURRENT_RUNBOOKS: usize = 16;
    let converged: Vec<(Runbook, Option<DeploymentProcess>, Vec<Outcome>)> =
        stream::iter(package.runbooks.iter().map(|portable_runbook| {
            let existing = current
                .runbooks
                .iter()
                .find(|(r, _)| r.name == portable_runbook.name);
            let desired = desired_runbook(
                existing.map(|(r, _)| r),
                portable_runbook,
                project.id.as_deref(),
                space_id,
                &index,
            );
            let writer = &writer;
            async move {
                let mut local = Vec::new();
                let runbook = writer
                    .converge("runbook", existing.map(|(r, _)| r), desired, &mut local)
                    .await?;
                Ok::<_, OctopusError>((
                    runbook,
                    existing.and_then(|(_, process)| process.clone()),
                    local,
                ))
            }
        }))
        .buffered(CONCURRENT_RUNBOOKS)
        .try_collect()
        .await?;
    let unread: Vec<&str> = if options.dry_run {
        Vec::new()
    } else {
        converged
            .iter()
            .filter(|(_, process, _)| process.is_none())
            .filter_map(|(runbook, _, _)| runbook.runbook_process_id.as_deref())
            .collect()
    };
    let fetched = runbook_processes_by_ids(client, space_id, &unread).await?;
    let process_of =
        |runbook: &Runbook, known: &Option<DeploymentProcess>| -> Option<DeploymentProcess> {
            known.clone().or_else(|| {
                let id = runbook.runbook_process_id.as_deref()?;
                fetched
                    .iter()
                    .find(|p| {
                        p.id.as_deref()
                            .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
                    })
                    .cloned()
            })
        };
    let written: Vec<(Option<DeploymentProcess>, Vec<Outcome>)> =
        stream::iter(package.runbooks.iter().zip(&converged).map(
            |(portable_runbook, (runbook, known, _))| {
                let process = process_of(runbook, known);
                let writer = &writer;
                let context = &context;
                async move {
                    let mut local = Vec::new();
                    let written = writer
                        .converge_process(
                            ProcessKind::Runbook,
                            &portable_runbook.name,
                            process.as_ref(),
                            &portable_runbook.process,
                            context,
                            &mut local,
                        )
                        .await?;
                    Ok::<_, OctopusError>((written, local))
                }
            },
        ))
        .buffered(CONCURRENT_RUNBOOKS)
        .try_collect()
        .await?;
    let mut runbook_ids = Names::default();
    for ((runbook, _, runbook_outcomes), (process, step_outcomes)) in
        converged.into_iter().zip(written)
    {
        outcomes.extend(runbook_outcomes);
        outcomes.extend(step_outcomes);
        collect_action_ids(process.as_ref(), &mut action_ids);
        if let Some(id) = runbook.id {
            runbook_ids.insert(&id, &runbook.name);
        }
    }

    // Variables: one read-modify-write of the project's set.
    let scope_ids = ScopeIds {
        context: &context,
        actions: &action_ids,
        runbooks: &runbook_ids,
        upstream_project: &package.source.project_name,
        project_id: project.id.clone().unwrap_or_default(),
    };
    let variable_outcomes = converge_variables(
        &writer,
        &project,
        current.variables.as_ref(),
        package,
        secrets,
        &scope_ids,
        options,
        is_cac,
    )
    .await?;
    outcomes.extend(variable_outcomes);
    Ok(DeployResult {
        project_id: project.id.clone(),
        outcomes,
    })
}

/// A secret still unsubstituted is fine for a variable that exists downstream (its value is
/// kept); for a new one it is an error, found before anything is written.
fn check_secrets(
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    existing: Option<&VariableSet>,
) -> Result<(), DeployError> {
    let existing_secrets: BTreeSet<&str> = existing
        .map(|set| {
            set.variables
                .iter()
                .filter(|v| v.is_secret())
                .map(|v| v.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut unsubstituted: Vec<String> = package
        .variables
        .iter()
        .filter(|v| v.is_sensitive())
        .filter(|v| substituted(secrets, v.secret.as_deref()).is_none())
        .filter(|v| !existing_secrets.contains(v.name.as_str()))
        .map(|v| v.name.clone())
        .collect();
    unsubstituted.dedup();
    if unsubstituted.is_empty() {
        Ok(())
    } else {
        Err(DeployError::UnsubstitutedSecrets(unsubstituted))
    }
}

fn check_version_control(package: &PortableProject, index: &SpaceIndex) -> Result<(), DeployError> {
    let Some(vcs) = &package.project.version_control else {
        return Ok(());
    };
    match vcs.credentials.kind.as_str() {
        "Anonymous" => Ok(()),
        "Reference" if vcs.credentials.name.as_ref().is_some_and(|n| index.git_credentials.has_name(n)) => Ok(()),
        "Reference" => Err(DeployError::Unsupported("the Config-as-Code project refers to a git credential without a name; re-serialize it".into())),
        other => Err(DeployError::Unsupported(format!(
            "the Config-as-Code project authenticates with `{other}` credentials, which cannot be exported (the API never returns the password): use a shared git credential (Library → Git Credentials) in the template project"
        ))),
    }
}

/// Writes of one process tried before giving up on a process that keeps changing underneath us.
const PROCESS_WRITE_ATTEMPTS: u32 = 8;

/// Writes, or in a plan only records.
struct Writer<'a> {
    client: &'a OctopusClient,
    space_id: &'a str,
    dry_run: bool,
}

impl Writer<'_> {
    async fn create<T: crate::octopus::Resource>(&self, desired: &T) -> Result<T, OctopusError> {
        if self.dry_run {
            return Ok(desired.clone());
        }
        Api::<T>::new(self.client, Some(self.space_id))
            .create(desired)
            .await
    }

    async fn update<T: crate::octopus::Resource>(&self, desired: &T) -> Result<(), OctopusError> {
        if self.dry_run {
            return Ok(());
        }
        Api::<T>::new(self.client, Some(self.space_id))
            .update(desired)
            .await
    }

    /// Create or update one resource and record the outcome.
    async fn converge<T: crate::octopus::Resource>(
        &self,
        kind: &'static str,
        existing: Option<&T>,
        desired: T,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<T, OctopusError> {
        match existing {
            None => {
                outcomes.push(Outcome::new(kind, desired.name(), OutcomeAction::Created));
                self.create(&desired).await
            }
            Some(existing) => {
                let fields = changed_fields(existing, &desired);
                if fields.is_empty() {
                    outcomes.push(Outcome::new(kind, desired.name(), OutcomeAction::Unchanged));
                    Ok(existing.clone())
                } else {
                    outcomes.push(Outcome::new(
                        kind,
                        desired.name(),
                        OutcomeAction::Updated(fields),
                    ));
                    self.update(&desired).await?;
                    Ok(desired)
                }
            }
        }
    }

    /// Make a process equal to the package's, one outcome per step. A `Version` conflict
    /// (someone wrote in between) re-reads and rebuilds.
    async fn converge_process(
        &self,
        kind: ProcessKind,
        owner: &str,
        existing: Option<&DeploymentProcess>,
        portable: &portable::Process,
        context: &Context<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Option<DeploymentProcess>, OctopusError> {
        let Some(existing) = existing else {
            // A plan for a project or runbook that does not exist yet: every step is new.
            for step in &portable.steps {
                outcomes.push(Outcome::new(
                    "step",
                    &format!("{owner} / {}", step.name),
                    OutcomeAction::Created,
                ));
            }
            return Ok(None);
        };
        let mut current = existing.clone();
        let mut last_conflict = None;
        for attempt in 1..=PROCESS_WRITE_ATTEMPTS {
            let desired = desired_process(&current, portable, context);
            let step_outcomes = step_outcomes(owner, &current, &desired);
            if !step_outcomes.iter().any(|o| o.action.is_change()) {
                if attempt == 1 {
                    outcomes.extend(step_outcomes);
                }
                return Ok(Some(current));
            }
            if attempt == 1 {
                outcomes.extend(step_outcomes);
            }
            if self.dry_run {
                return Ok(Some(desired));
            }
            let id = current.id.clone().unwrap_or_default();
            let path = kind.path(self.space_id, &id);
            match self.client.put(&path, &desired).await {
                Ok(response) => {
                    let written = serde_json::from_slice::<DeploymentProcess>(&response.body)
                        .unwrap_or(desired);
                    return Ok(Some(written));
                }
                Err(error) if error.status().map(|s| s.as_u16()) == Some(400) => {
                    let now: DeploymentProcess = self.client.get(&path).await?;
                    if now.version == current.version {
                        return Err(error);
                    }
                    tracing::debug!(owner, "the process changed underneath us; rebuilding");
                    current = now;
                    last_conflict = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        // Someone else kept writing: the process is not what the package says, so this is a
        // failure (a re-run converges once they stop), never a success.
        Err(last_conflict.expect("every attempt that did not return was a conflict"))
    }
}

fn step_outcomes(
    owner: &str,
    current: &DeploymentProcess,
    desired: &DeploymentProcess,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for step in &desired.steps {
        let name = format!("{owner} / {}", step.name);
        let action = match current.steps.iter().find(|s| s.name == step.name) {
            None => OutcomeAction::Created,
            Some(existing) => {
                let fields = step_differences(existing, step);
                if fields.is_empty() {
                    OutcomeAction::Unchanged
                } else {
                    OutcomeAction::Updated(fields)
                }
            }
        };
        outcomes.push(Outcome::new("step", &name, action));
    }
    for step in current
        .steps
        .iter()
        .filter(|s| !desired.steps.iter().any(|d| d.name == s.name))
    {
        outcomes.push(Outcome::new(
            "step",
            &format!("{owner} / {}", step.name),
            OutcomeAction::Removed,
        ));
    }
    let order_changed = current
        .steps
        .iter()
        .map(|s| &s.name)
        .filter(|n| desired.steps.iter().any(|d| &d.name == *n))
        .ne(desired
            .steps
            .iter()
            .map(|s| &s.name)
            .filter(|n| current.steps.iter().any(|c| &c.name == *n)));
    if order_changed {
        outcomes.push(Outcome::new(
            "step order",
            owner,
            OutcomeAction::Updated(vec!["Steps".into()]),
        ));
    }
    outcomes
}

/// Changed fields of a step, with its actions' changes named `Actions[<name>].<Field>`.
fn step_differences(current: &ProcessStep, desired: &ProcessStep) -> Vec<String> {
    let mut fields: Vec<String> = changed_fields(current, desired)
        .into_iter()
        .filter(|f| f != "Actions")
        .collect();
    for action in &desired.actions {
        match current.actions.iter().find(|a| a.name == action.name) {
            None => fields.push(format!("Actions[{}] added", action.name)),
            Some(existing) => fields.extend(
                changed_fields(existing, action)
                    .into_iter()
                    .map(|f| format!("Actions[{}].{f}", action.name)),
            ),
        }
    }
    for action in current
        .actions
        .iter()
        .filter(|a| !desired.actions.iter().any(|d| d.name == a.name))
    {
        fields.push(format!("Actions[{}] removed", action.name));
    }
    fields
}

fn collect_action_ids(process: Option<&DeploymentProcess>, ids: &mut Names) {
    for action in process
        .iter()
        .flat_map(|p| p.steps.iter())
        .flat_map(|s| s.actions.iter())
    {
        if let Some(id) = &action.id {
            ids.insert(id, &action.name);
        }
    }
}

/// Point a Config-as-Code project at the downstream repository: convert it when it is not yet
/// version controlled, else update the persistence settings when they differ.
async fn converge_version_control(
    writer: &Writer<'_>,
    project: &Project,
    package: &PortableProject,
    index: &SpaceIndex,
    options: &DeployOptions,
) -> Result<Option<Outcome>, OctopusError> {
    let Some(vcs) = &package.project.version_control else {
        return Ok(None);
    };
    let url = options.git_url.clone().unwrap_or_else(|| vcs.url.clone());
    let credentials = match vcs.credentials.kind.as_str() {
        "Reference" => GitPersistenceCredentials {
            kind: "Reference".into(),
            id: vcs
                .credentials
                .name
                .as_ref()
                .and_then(|n| index.git_credentials.id(n))
                .cloned(),
            username: None,
            password: None,
            extra: Extra::new(),
        },
        _ => GitPersistenceCredentials {
            kind: "Anonymous".into(),
            id: None,
            username: None,
            password: None,
            extra: Extra::new(),
        },
    };
    let name = project.name.clone();
    if !project.is_config_as_code() {
        if !writer.dry_run {
            let body = serde_json::json!({
                "CommitMessage": "Initial version, converted by octofleet",
                "VersionControlSettings": {
                    "Type": "VersionControlled",
                    "Url": url,
                    "DefaultBranch": vcs.default_branch,
                    "BasePath": vcs.base_path,
                    "ProtectedDefaultBranch": vcs.protected_default_branch,
                    "ProtectedBranchNamePatterns": vcs.protected_branch_name_patterns,
                    "Credentials": credentials,
                }
            });
            project_parts::convert_to_git(
                writer.client,
                writer.space_id,
                project.id.as_deref().unwrap_or_default(),
                &body,
            )
            .await?;
        }
        return Ok(Some(Outcome::new(
            "version control",
            &name,
            OutcomeAction::Created,
        )));
    }
    let mut desired = project.clone();
    let settings = desired
        .persistence_settings
        .get_or_insert_with(|| PersistenceSettings {
            kind: "VersionControlled".into(),
            ..Default::default()
        });
    settings.url = Some(url);
    settings.default_branch = Some(vcs.default_branch.clone());
    settings.base_path = Some(vcs.base_path.clone());
    let mut held = settings.credentials.clone().unwrap_or(credentials.clone());
    held.kind = credentials.kind.clone();
    held.id = credentials.id.clone();
    settings.credentials = Some(held);
    let fields: Vec<String> = changed_fields(project, &desired);
    if fields.is_empty() {
        return Ok(Some(Outcome::new(
            "version control",
            &name,
            OutcomeAction::Unchanged,
        )));
    }
    writer.update(&desired).await?;
    Ok(Some(Outcome::new(
        "version control",
        &name,
        OutcomeAction::Updated(vec!["PersistenceSettings".into()]),
    )))
}

#[allow(clippy::too_many_arguments)]
async fn converge_variables(
    writer: &Writer<'_>,
    project: &Project,
    current: Option<&VariableSet>,
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    scopes: &ScopeIds<'_>,
    options: &DeployOptions,
    is_cac: bool,
) -> Result<Vec<Outcome>, OctopusError> {
    // Config-as-Code projects keep text variables in git: only secrets are written here.
    let variables: Vec<&portable::Variable> = package
        .variables
        .iter()
        .filter(|v| !is_cac || v.is_sensitive())
        .collect();
    let set_id = project.variable_set_id.clone();
    let empty = VariableSet {
        id: set_id.clone().unwrap_or_default(),
        owner_id: project.id.clone(),
        ..Default::default()
    };
    let plan_on = current.cloned().unwrap_or(empty);
    let mut outcomes = Vec::new();
    if writer.dry_run || set_id.is_none() {
        let mut preview = plan_on;
        outcomes = apply_variables(
            &mut preview,
            &variables,
            secrets,
            scopes,
            options.overwrite_variables,
        );
        return Ok(outcomes);
    }
    VariableSets::new(writer.client, writer.space_id)
        .modify_from(
            set_id.as_deref().unwrap_or_default(),
            current.cloned(),
            |set| {
                outcomes = apply_variables(
                    set,
                    &variables,
                    secrets,
                    scopes,
                    options.overwrite_variables,
                );
                outcomes.iter().any(|o| o.action.needs_write())
            },
        )
        .await?;
    Ok(outcomes)
}
