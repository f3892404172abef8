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
use crate::octopus::in_order::{all_in_order, InOrder};
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
    index: Result<SpaceIndex, OctopusError>,
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    options: &DeployOptions,
) -> Result<DeployResult, DeployError> {
    super::checks::check_package(package)?;
    let (mut index, mut current) = read(client, space_id, index, package, options).await?;
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
    let (project, deferred_versioning, reread) = deploy.project(&current, &mut outcomes).await?;
    // The runbooks need only the project's id: they are created or updated beside the reads of
    // a new project's parts, its channels and its process (a project just created has no
    // runbooks; a conversion to Config-as-Code leaves them in the database as they were). Both
    // sides run to their end; the first error in program order is the one reported.
    let mut part_outcomes = Vec::new();
    let (parts, records) = tokio::join!(
        async {
            let fresh = match reread {
                Some(read_options) => Some(
                    project_parts::read(client, space_id, project.clone(), read_options).await?,
                ),
                None => None,
            };
            let parts = fresh.as_ref().unwrap_or(&current);
            let context = deploy.channels(parts, &project, &mut part_outcomes).await?;
            let action_ids = deploy.process(parts, &context, &mut part_outcomes).await?;
            Ok::<_, OctopusError>((fresh, context, action_ids))
        },
        deploy.runbook_records(&current, &project),
    );
    let ((fresh, context, mut action_ids), records) = (parts, records).in_order()?;
    if let Some(fresh) = fresh {
        current = fresh;
    }
    outcomes.append(&mut part_outcomes);
    let project = deploy
        .versioning(project, deferred_versioning, &mut outcomes)
        .await?;
    let runbook_ids = records.ids();
    // Variables scoped to a runbook's step need the step's id, which the server gives when the
    // runbook's process is written: then they wait for it; otherwise they go out beside the
    // runbooks' processes.
    let mut runbook_outcomes = Vec::new();
    let mut variable_outcomes = Vec::new();
    let records = if variables_name_runbook_steps(package) {
        let runbook_actions = deploy
            .runbook_processes(records, &context, &mut runbook_outcomes)
            .await?;
        action_ids.extend(&runbook_actions);
        None
    } else {
        Some(records)
    };
    let scopes = ScopeIds {
        context: &context,
        actions: &action_ids,
        runbooks: &runbook_ids,
        upstream_project: &package.source.project_name,
        project_id: project.id.clone().unwrap_or_default(),
    };
    let variables = deploy.variables(&project, &current, &scopes, &mut variable_outcomes);
    match records {
        None => variables.await?,
        Some(records) => {
            let processes = deploy.runbook_processes(records, &context, &mut runbook_outcomes);
            let (processes, variables) = tokio::join!(processes, variables);
            (processes, variables).in_order()?;
        }
    }
    outcomes.append(&mut runbook_outcomes);
    outcomes.append(&mut variable_outcomes);
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

/// The project with its parts, as the server holds them, read together with the process
/// templates; the space's index (read by the caller, as soon as the space was known) comes in
/// as its result. What they say is then checked in the order a reader expects: the index's
/// errors, the dependencies the space lacks, the process templates, and only then the project's
/// errors. A deploy refused for a missing dependency has read the project too (reads only:
/// nothing is written before every check passed).
async fn read(
    client: &OctopusClient,
    space_id: &str,
    index: Result<SpaceIndex, OctopusError>,
    package: &PortableProject,
    options: &DeployOptions,
) -> Result<(SpaceIndex, ProjectParts), DeployError> {
    let (current, templates) = tokio::join!(
        project_parts::read_by_name(
            client,
            space_id,
            &options.project_name,
            ReadOptions::for_deploy(true),
        ),
        check_process_templates(client, space_id, package),
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

/// The project as written, the versioning strategy deferred until its process is written, and
/// how to read its parts again when they changed under it (created or converted).
type ProjectWritten = (
    Project,
    Option<ProjectVersioningStrategy>,
    Option<ReadOptions>,
);

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
    /// channel, variable set and empty process from the server, and a conversion moves parts to
    /// git: then the parts are to be read again, as the returned options say.
    async fn project(
        &self,
        current: &ProjectParts,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<ProjectWritten, OctopusError> {
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
            return Ok((project, deferred, Some(ReadOptions::for_deploy(!created))));
        }
        Ok((project, deferred, None))
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

    /// The runbooks themselves (their processes are written by [`Deploy::runbook_processes`]):
    /// each runbook's work is independent, so several run at once, kept in package order for the
    /// report. Under Config-as-Code with runbooks in git the fork holds them: none is written.
    async fn runbook_records(
        &self,
        current: &ProjectParts,
        project: &Project,
    ) -> Result<RunbookRecords<'_>, OctopusError> {
        if self.in_git(project, "RunbooksAreInGit") {
            return Ok(RunbookRecords::default());
        }
        let writer = &self.writer;
        let converged = stream::iter(self.package.runbooks.iter().map(|portable_runbook| {
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
                let (runbook, outcome) = writer.converge(existing.map(|(r, _)| r), desired).await?;
                Ok::<_, OctopusError>(RunbookRecord {
                    portable: portable_runbook,
                    runbook,
                    process: existing.and_then(|(_, process)| process.clone()),
                    outcome,
                })
            }
        }))
        .buffered(CONCURRENT_RUNBOOKS)
        .try_collect()
        .await?;
        Ok(RunbookRecords(converged))
    }

    /// The processes of the runbooks [`Deploy::runbook_records`] converged: those of new
    /// runbooks are read in one request, then each is written. Each runbook's outcome goes to
    /// `outcomes` followed by its steps'. Returns the runbooks' actions' names ↔ ids.
    async fn runbook_processes(
        &self,
        records: RunbookRecords<'_>,
        context: &Context<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Names, OctopusError> {
        let writer = &self.writer;
        let unread: Vec<&str> = if writer.dry_run {
            Vec::new()
        } else {
            records
                .0
                .iter()
                .filter(|record| record.process.is_none())
                .filter_map(|record| record.runbook.runbook_process_id.as_deref())
                .collect()
        };
        let fetched = runbook_processes_by_ids(writer.client, writer.space_id, &unread).await?;
        let process_of = |record: &RunbookRecord<'_>| -> Option<DeploymentProcess> {
            record.process.clone().or_else(|| {
                let id = record.runbook.runbook_process_id.as_deref()?;
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
            stream::iter(records.0.iter().map(|record| {
                let process = process_of(record);
                async move {
                    let mut local = Vec::new();
                    let written = self
                        .converge_process(
                            ProcessKind::Runbook,
                            &record.portable.name,
                            process.as_ref(),
                            &record.portable.process,
                            context,
                            &mut local,
                        )
                        .await?;
                    Ok::<_, OctopusError>((written, local))
                }
            }))
            .buffered(CONCURRENT_RUNBOOKS)
            .try_collect()
            .await?;
        let mut action_ids = Names::default();
        for (record, (process, step_outcomes)) in records.0.into_iter().zip(written) {
            outcomes.push(record.outcome);
            outcomes.extend(step_outcomes);
            collect_action_ids(process.as_ref(), &mut action_ids);
        }
        Ok(action_ids)
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

/// How many runbooks (or their processes) are converged at once; the client's bound
/// ([`crate::octopus::client::MAX_IN_FLIGHT`]) still limits what is on the wire.
const CONCURRENT_RUNBOOKS: usize = 16;

/// One runbook of the package as the server now has it, with its process when already read.
struct RunbookRecord<'a> {
    portable: &'a portable::Runbook,
    runbook: Runbook,
    process: Option<DeploymentProcess>,
    outcome: Outcome,
}

/// The package's runbooks, converged, in package order.
#[derive(Default)]
struct RunbookRecords<'a>(Vec<RunbookRecord<'a>>);

impl RunbookRecords<'_> {
    /// The runbooks' names ↔ ids (variables and triggers are scoped to them).
    fn ids(&self) -> Names {
        let mut ids = Names::default();
        for record in &self.0 {
            if let Some(id) = &record.runbook.id {
                ids.insert(id, &record.runbook.name);
            }
        }
        ids
    }
}

/// Whether a variable's step scope names a step of one of the package's runbooks (names
/// compared as [`Names::id`] does, case aside): its id exists only once that runbook's
/// process is written.
fn variables_name_runbook_steps(package: &PortableProject) -> bool {
    let runbook_steps: std::collections::HashSet<String> = package
        .runbooks
        .iter()
        .flat_map(|runbook| runbook.process.steps.iter())
        .flat_map(|step| step.actions.iter())
        .map(|action| action.name.to_lowercase())
        .collect();
    !runbook_steps.is_empty()
        && package
            .variables
            .iter()
            .flat_map(|variable| variable.scope.steps.iter())
            .any(|step| runbook_steps.contains(&step.to_lowercase()))
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
