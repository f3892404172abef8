//! Deploy (or plan) a portable project into a space: read what exists, check every dependency
//! and secret before writing, then converge the project, its channels, process, runbooks,
//! variables and triggers, each built from what the server has so ids and server fields survive.

use super::converge::{ResendSecrets, WantedProcess, Writer};
use super::definitions::Definitions;
use super::deploy::{DeployError, DeployOptions, DeployResult, TemplateProblem};
use super::resolve::{missing_dependencies, process_template_usages};
use crate::convert::channel_runbook::{desired_channel, desired_runbook};
use crate::convert::process::resend_held_property_secrets;
use crate::convert::project::{
    convert_to_git_body, desired_project, desired_version_control, resend_held_template_secrets,
};
use crate::convert::variables::{apply_variables, ScopeIds};
use crate::convert::Context;
use crate::octopus::in_order::all_in_order;
use crate::octopus::process_templates;
use crate::octopus::project_parts::{self, ProjectParts, ReadOptions};
use crate::octopus::resources::runbook_processes_by_ids;
use crate::octopus::resources::{
    Api, DeploymentProcess, ProcessKind, Project, ProjectVersioningStrategy, Runbook,
};
use crate::octopus::space_index::{Names, SpaceIndex};
use crate::octopus::{OctopusClient, OctopusError};
use crate::outcome::{changed_fields, value_changes, Outcome, OutcomeAction};
use crate::portable::{self, PortableProject};
use crate::secret::Secret;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// The phases, in order: read, check (nothing is written before every check passed), the step
/// templates and script modules the package carries, project, channels, process, runbooks,
/// variables, triggers.
pub async fn deploy(
    client: &OctopusClient,
    space_id: &str,
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    options: &DeployOptions,
) -> Result<DeployResult, DeployError> {
    super::checks::check_package(package)?;
    let (mut index, mut current) = read(client, space_id, package, options).await?;
    let definitions = Definitions::read(
        client,
        space_id,
        package,
        &index,
        secrets,
        options.overwrite_variables,
    )
    .await?;
    let carried = definitions.unsubstituted();
    super::checks::check(package, secrets, &index, &current, options, &carried)?;
    let mut outcomes = Vec::new();
    if options.dry_run {
        // A plan reports what a deploy would refuse, as it does for new secret variables.
        for property in super::checks::unsubstituted_property_secrets(package, secrets, &current) {
            outcomes.push(Outcome::new(
                property.kind,
                &property.at,
                OutcomeAction::KeptDownstream(vec![format!(
                    "secret not substituted ({}); not created",
                    property.variable
                )]),
            ));
        }
    }
    let writer = Writer {
        client,
        space_id,
        dry_run: options.dry_run,
    };
    definitions
        .converge(&writer, &mut index, &mut outcomes)
        .await?;
    let deploy = Deploy {
        writer,
        package,
        secrets,
        index: &index,
        options,
    };
    let (project, deferred_versioning) = deploy.project(&mut current, &mut outcomes).await?;
    let context = deploy.channels(&current, &project, &mut outcomes).await?;
    let mut action_ids = deploy.process(&current, &context, &mut outcomes).await?;
    let project = deploy
        .versioning(project, deferred_versioning, &mut outcomes)
        .await?;
    let runbook_ids = deploy
        .runbooks(&current, &project, &context, &mut action_ids, &mut outcomes)
        .await?;
    let scopes = ScopeIds {
        context: &context,
        actions: &action_ids,
        runbooks: &runbook_ids,
        upstream_project: &package.source.project_name,
        project_id: project.id.clone().unwrap_or_default(),
    };
    deploy
        .variables(&project, &current, &scopes, &mut outcomes)
        .await?;
    let triggers = super::triggers::TriggerPhase {
        writer: &deploy.writer,
        package,
        index: &index,
        options,
        current: &current,
        project: &project,
        channels: &context.channels,
        runbooks: &runbook_ids,
    };
    super::triggers::converge_triggers(triggers, &mut outcomes).await?;
    Ok(DeployResult {
        project_id: project.id.clone(),
        outcomes,
    })
}

/// The space's index and the project with its parts, as the server holds them, read together
/// (they do not depend on each other); what they say is then checked in the order a reader
/// expects: the index's errors, the dependencies the space lacks, the process templates, and
/// only then the project's errors. A deploy refused for a missing dependency has read the
/// project too (reads only: nothing is written before every check passed).
async fn read(
    client: &OctopusClient,
    space_id: &str,
    package: &PortableProject,
    options: &DeployOptions,
) -> Result<(SpaceIndex, ProjectParts), DeployError> {
    // Listed first, the project goes out first: its parts (then its runbooks' processes) wait
    // for it, while nothing waits for the index (requests take turns, `MAX_IN_FLIGHT`).
    let (current, templates, index) = tokio::join!(
        project_parts::read_by_name(
            client,
            space_id,
            &options.project_name,
            ReadOptions::for_deploy(true),
        ),
        check_process_templates(client, space_id, package),
        SpaceIndex::read(client, space_id),
    );
    let index = index?;
    let missing = missing_dependencies(package, &index);
    if !missing.is_empty() {
        return Err(DeployError::MissingDependencies(missing));
    }
    templates?;
    Ok((index, current?))
}

/// Every Platform Hub process template the package's steps run must be on this instance, shared
/// with the space and published at the step's version mask: a deploy (or plan) refuses before
/// any write, naming each one (exit 2), on a managed space and a managed instance alike. The
/// templates are looked up together; problems and errors keep the steps' order.
async fn check_process_templates(
    client: &OctopusClient,
    space_id: &str,
    package: &PortableProject,
) -> Result<(), DeployError> {
    let usages = process_template_usages(package);
    let verdicts =
        all_in_order(usages.iter().map(|(slug, mask)| {
            process_templates::unusable(client, space_id, slug, mask.as_deref())
        }))
        .await?;
    let problems: Vec<TemplateProblem> = usages
        .into_iter()
        .zip(verdicts)
        .filter_map(|((slug, _), unusable)| {
            Some(TemplateProblem {
                slug,
                space_id: space_id.to_owned(),
                unusable: unusable?,
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DeployError::ProcessTemplates(problems))
    }
}

/// What every writing phase shares.
struct Deploy<'a> {
    writer: Writer<'a>,
    package: &'a PortableProject,
    secrets: &'a BTreeMap<String, Secret>,
    index: &'a SpaceIndex,
    options: &'a DeployOptions,
}

impl Deploy<'_> {
    /// Config-as-Code: the process lives in the fork, not here.
    fn is_cac(&self) -> bool {
        self.package.project.version_control.is_some()
    }

    /// Config-as-Code: whether the DOWNSTREAM project keeps what `flag` names
    /// (`ConversionState.VariablesAreInGit`, `.RunbooksAreInGit`) in git. Until it is migrated
    /// (false after `git/convert`, and for a project a plan has not converted yet) the server
    /// keeps it in the database, and the deploy writes it there as for a database project.
    fn in_git(&self, project: &Project, flag: &str) -> bool {
        self.is_cac() && project.is_config_as_code() && project.conversion_state(flag)
    }

    /// The project itself and its version control. A project just created gets its Default
    /// channel, variable set and empty process from the server: they are read into `current`.
    async fn project(
        &self,
        current: &mut ProjectParts,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<(Project, Option<ProjectVersioningStrategy>), OctopusError> {
        let mut desired = desired_project(
            current.project.as_ref(),
            self.package,
            &self.options.project_name,
            self.index,
            self.writer.space_id,
            Some(self.secrets),
        );
        // A plan compares the end state; a deploy sets a donor versioning strategy only once the
        // process holds the donor step (see `versioning`).
        let deferred = if self.writer.dry_run {
            None
        } else {
            let deferred = crate::convert::project::defer_donor_versioning(
                &mut desired,
                current.project.as_ref(),
                current.deployment_process.as_ref(),
            );
            // The process this deploy writes: a donor it drops must not stay set across the write.
            if let (false, Some(process)) = (self.is_cac(), &self.package.deployment_process) {
                crate::convert::project::donor_kept_loadable(&mut desired, |action| {
                    process
                        .steps
                        .iter()
                        .flat_map(|step| step.actions.iter())
                        .any(|a| a.name == action)
                });
            }
            deferred
        };
        // `--overwrite-variables` sends held template defaults again; they compare as kept.
        let mut send = desired.clone();
        let resent = self.options.overwrite_variables
            && resend_held_template_secrets(
                &mut send.templates,
                &self.package.project.templates,
                self.secrets,
            );
        let (project, mut outcome) = self
            .writer
            .converge_keeping_secrets(current.project.as_ref(), desired, send.clone())
            .await?;
        if resent && outcome.action == OutcomeAction::Unchanged {
            self.writer.update(&send).await?;
            outcome.action = OutcomeAction::SecretResent;
        }
        outcomes.push(outcome);
        let mut converted = false;
        if let Some(outcome) = self.version_control(&project).await? {
            converted = outcome.action == OutcomeAction::Created;
            outcomes.push(outcome);
        }
        let created = current.project.is_none();
        if (created || converted) && !self.writer.dry_run {
            // A conversion changes where the server keeps things (the process and deployment
            // settings in git, and on current servers the text variables: `VariablesAreInGit`):
            // every later phase works from the project as the server now has it.
            let project = if converted {
                Api::<Project>::new(self.writer.client, Some(self.writer.space_id))
                    .get(project.id.as_deref().unwrap_or_default())
                    .await?
            } else {
                project
            };
            *current = project_parts::read(
                self.writer.client,
                self.writer.space_id,
                project.clone(),
                ReadOptions::for_deploy(!created),
            )
            .await?;
            return Ok((project, deferred));
        }
        Ok((project, deferred))
    }

    /// A donor-package versioning strategy deferred by `project`: set now that the process has
    /// the donor step, reported as part of the project.
    async fn versioning(
        &self,
        project: Project,
        deferred: Option<ProjectVersioningStrategy>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Project, OctopusError> {
        let Some(strategy) = deferred else {
            return Ok(project);
        };
        // A Config-as-Code project keeps its versioning strategy in git's deployment settings
        // (the fork's): the server refuses it on the project (the provider's
        // `resource_project.go` sends it to `/{gitRef}/deploymentsettings`).
        if project.is_config_as_code() {
            return Ok(project);
        }
        let mut desired = project.clone();
        let mut strategy = strategy;
        crate::convert::project::clear_template_for_a_donor(
            project.versioning_strategy.as_ref(),
            &mut strategy,
        );
        desired.versioning_strategy = Some(strategy);
        let (project, outcome) = self.writer.converge(Some(&project), desired).await?;
        if outcome.action.is_change() {
            outcomes.push(outcome);
        }
        Ok(project)
    }

    /// Channels before the process: actions refer to them. Returns the names ↔ ids the process
    /// and variables convert with.
    async fn channels(
        &self,
        current: &ProjectParts,
        project: &Project,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Context<'_>, OctopusError> {
        let mut context = Context {
            index: self.index,
            channels: Names::default(),
            secrets: Some(self.secrets),
        };
        for channel in &current.channels {
            if let Some(id) = &channel.id {
                context.channels.insert(id, &channel.name);
            }
        }
        for portable_channel in &self.package.channels {
            let existing = current.channels.iter().find(|c| {
                c.name == portable_channel.name || (portable_channel.is_default && c.is_default)
            });
            let desired = desired_channel(
                existing,
                portable_channel,
                project.id.as_deref(),
                self.writer.space_id,
                self.index,
            );
            let (written, outcome) = self.writer.converge(existing, desired).await?;
            outcomes.push(outcome);
            if let Some(id) = written.id {
                context.channels.insert(&id, &portable_channel.name);
            }
        }
        Ok(context)
    }

    /// The deployment process (database projects: a Config-as-Code process lives in the fork).
    /// Returns its actions' names ↔ ids (variables are scoped to them).
    async fn process(
        &self,
        current: &ProjectParts,
        context: &Context<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Names, OctopusError> {
        let mut action_ids = Names::default();
        if let (false, Some(portable_process)) = (self.is_cac(), &self.package.deployment_process) {
            let process = self
                .converge_process(
                    ProcessKind::Deployment,
                    &self.options.project_name,
                    current.deployment_process.as_ref(),
                    portable_process,
                    context,
                    outcomes,
                )
                .await?;
            collect_action_ids(process.as_ref(), &mut action_ids);
        }
        Ok(action_ids)
    }

    /// The writer's `converge_process`; under `--overwrite-variables` the sensitive properties
    /// the server already held are sent again, in the same write, with their substituted secrets
    /// (Octopus never returns them, so they cannot be compared): a step that carries one and was
    /// otherwise unchanged is reported `SecretResent`, which a plan does not count as a change.
    async fn converge_process(
        &self,
        kind: ProcessKind,
        owner: &str,
        existing: Option<&DeploymentProcess>,
        portable: &portable::Process,
        context: &Context<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Option<DeploymentProcess>, OctopusError> {
        let resend = |send: &mut DeploymentProcess, held: &DeploymentProcess| {
            resend_held_property_secrets(send, held, portable, self.secrets)
        };
        let resend: Option<ResendSecrets<'_>> = self.options.overwrite_variables.then_some(&resend);
        let wanted = WantedProcess {
            portable,
            context,
            resend,
        };
        self.writer
            .converge_process(kind, owner, existing, wanted, outcomes)
            .await
    }

    /// Runbooks and their processes: each runbook's work is independent, so several run at
    /// once (in package order for the report), and the processes of new runbooks are read in
    /// one request. Returns the runbooks' names ↔ ids (variables are scoped to them).
    async fn runbooks(
        &self,
        current: &ProjectParts,
        project: &Project,
        context: &Context<'_>,
        action_ids: &mut Names,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Names, OctopusError> {
        const CONCURRENT_RUNBOOKS: usize = 16;
        if self.in_git(project, "RunbooksAreInGit") {
            // The fork holds the runbooks; the database has none to write.
            return Ok(Names::default());
        }
        let writer = &self.writer;
        let converged: Vec<(Runbook, Option<DeploymentProcess>, Outcome)> =
            stream::iter(self.package.runbooks.iter().map(|portable_runbook| {
                let existing = current
                    .runbooks
                    .iter()
                    .find(|(r, _)| r.name == portable_runbook.name);
                let desired = desired_runbook(
                    existing.map(|(r, _)| r),
                    portable_runbook,
                    project.id.as_deref(),
                    writer.space_id,
                    self.index,
                );
                async move {
                    let (runbook, outcome) =
                        writer.converge(existing.map(|(r, _)| r), desired).await?;
                    Ok::<_, OctopusError>((
                        runbook,
                        existing.and_then(|(_, process)| process.clone()),
                        outcome,
                    ))
                }
            }))
            .buffered(CONCURRENT_RUNBOOKS)
            .try_collect()
            .await?;
        let unread: Vec<&str> = if writer.dry_run {
            Vec::new()
        } else {
            converged
                .iter()
                .filter(|(_, process, _)| process.is_none())
                .filter_map(|(runbook, _, _)| runbook.runbook_process_id.as_deref())
                .collect()
        };
        let fetched = runbook_processes_by_ids(writer.client, writer.space_id, &unread).await?;
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
            stream::iter(self.package.runbooks.iter().zip(&converged).map(
                |(portable_runbook, (runbook, known, _))| {
                    let process = process_of(runbook, known);
                    async move {
                        let mut local = Vec::new();
                        let written = self
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
        for ((runbook, _, runbook_outcome), (process, step_outcomes)) in
            converged.into_iter().zip(written)
        {
            outcomes.push(runbook_outcome);
            outcomes.extend(step_outcomes);
            collect_action_ids(process.as_ref(), action_ids);
            if let Some(id) = runbook.id {
                runbook_ids.insert(&id, &runbook.name);
            }
        }
        Ok(runbook_ids)
    }

    /// Point a Config-as-Code project at the downstream repository: convert it when it is not yet
    /// version controlled, else update the persistence settings when they differ.
    async fn version_control(&self, project: &Project) -> Result<Option<Outcome>, OctopusError> {
        let (writer, index) = (&self.writer, self.index);
        let Some(vcs) = &self.package.project.version_control else {
            return Ok(None);
        };
        // The fork's URL, else (checked before any write) the repository the downstream project
        // already has; never the template project's.
        let url = self
            .options
            .git_url
            .clone()
            .or_else(|| {
                project
                    .persistence_settings
                    .as_ref()
                    .and_then(|settings| settings.url.clone())
            })
            .unwrap_or_else(|| vcs.url.clone());
        let outcome = if !project.is_config_as_code() {
            if !writer.dry_run {
                let body = convert_to_git_body(vcs, &url, index);
                let id = project.id.as_deref().unwrap_or_default();
                project_parts::convert_to_git(writer.client, writer.space_id, id, &body).await?;
            }
            Outcome::new("version control", &project.name, OutcomeAction::Created)
        } else {
            let desired = desired_version_control(project, vcs, url, index);
            if changed_fields(project, &desired).is_empty() {
                Outcome::new("version control", &project.name, OutcomeAction::Unchanged)
            } else {
                writer.update(&desired).await?;
                Outcome::new(
                    "version control",
                    &project.name,
                    OutcomeAction::Updated(vec!["PersistenceSettings".into()]),
                )
                .with_changes(value_changes(project, &desired))
            }
        };
        Ok(Some(outcome))
    }

    /// Variables: one read-modify-write of the project's database set, and for a
    /// Config-as-Code project whose text variables live in git (`VariablesAreInGit`, as after
    /// every conversion on a current server) one of its text variables on the default branch.
    ///
    /// The database set then holds only secrets (it refuses text variables: OctopusDeploy/
    /// Issues#7555). The package's text variables go to the branch-scoped route
    /// (`/projects/{id}/{gitRef}/variables`, where the server commits them as `variables.ocl`)
    /// when the package carries them (`carries_text_variables`: the template kept them in its
    /// database, so the fork has no `variables.ocl`); otherwise the fork's `variables.ocl`
    /// already holds them and nothing is written. Writing through the server, rather than
    /// committing OCL to the fork from `fork`, keeps the server the only writer of its OCL
    /// format and reuses the same keep/`--overwrite-variables` rules and scope ids.
    async fn variables(
        &self,
        project: &Project,
        current: &ProjectParts,
        scopes: &ScopeIds<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<(), OctopusError> {
        let text_in_git = self.in_git(project, "VariablesAreInGit");
        let carries_text = self
            .package
            .project
            .version_control
            .as_ref()
            .is_some_and(|vcs| vcs.carries_text_variables);
        let (secrets, text): (Vec<&portable::Variable>, Vec<&portable::Variable>) = self
            .package
            .variables
            .iter()
            .partition(|v| v.is_sensitive());
        let database: Vec<&portable::Variable> = if text_in_git {
            secrets
        } else {
            self.package.variables.iter().collect()
        };
        let overwrite = self.options.overwrite_variables;
        let mut applied = Vec::new();
        self.writer
            .modify_variables(
                project.variable_set_id.as_deref(),
                current.variables.clone(),
                |set| {
                    applied = apply_variables(set, &database, self.secrets, scopes, overwrite);
                    applied.iter().any(|o| o.action.needs_write())
                },
            )
            .await?;
        outcomes.extend(applied);
        if text_in_git && carries_text {
            let mut applied = Vec::new();
            let path = project_parts::default_branch_route(self.writer.space_id, project)
                .map(|route| format!("{route}/variables"));
            self.writer
                .modify_variables_at(path, current.git_variables.clone(), |set| {
                    applied = apply_variables(set, &text, self.secrets, scopes, overwrite);
                    applied.iter().any(|o| o.action.needs_write())
                })
                .await?;
            outcomes.extend(applied);
        }
        Ok(())
    }
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
