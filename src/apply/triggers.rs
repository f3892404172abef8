//! Deploy (or plan) the package's triggers, after the channels, process and runbooks they name:
//! each project trigger converged by name (created, updated, or left disabled where a tenant
//! disabled it), then the built-in feed trigger on the project. A trigger the package does not
//! hold is never removed: a managed space's own triggers are its own.

use super::converge::Writer;
use super::deploy::DeployOptions;
use crate::convert::triggers::{desired_built_in_trigger, desired_trigger, TriggerTargets};
use crate::octopus::project_parts::ProjectParts;
use crate::octopus::resources::{
    built_in_trigger_of, position_by_name, runbooks_in_branch, Project,
};
use crate::octopus::space_index::{Names, SpaceIndex};
use crate::octopus::OctopusError;
use crate::outcome::{changed_fields, value_changes, Outcome, OutcomeAction};
use crate::portable::PortableProject;
use std::collections::BTreeMap;

/// What the trigger phase works from: the package, the managed space, and what the earlier
/// phases wrote (the project, its channels and runbooks by name).
pub struct TriggerPhase<'a> {
    pub writer: &'a Writer<'a>,
    pub package: &'a PortableProject,
    pub index: &'a SpaceIndex,
    pub options: &'a DeployOptions,
    /// The project's parts as read before any write (its triggers and process).
    pub current: &'a ProjectParts,
    pub project: &'a Project,
    pub channels: &'a Names,
    pub runbooks: &'a Names,
}

/// The outcome kind of the built-in feed trigger (project triggers are `ProjectTrigger::KIND`).
const BUILT_IN_TRIGGER: &str = "built-in trigger";

/// Converge every trigger of the package, then the built-in feed trigger; one outcome each.
pub async fn converge_triggers(
    phase: TriggerPhase<'_>,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), OctopusError> {
    let package = phase.package;
    if package.triggers.is_empty() && package.built_in_trigger.is_none() {
        return Ok(());
    }
    let runbooks = phase.runbooks_in_git().await?;
    let runbooks = runbooks.as_ref().unwrap_or(phase.runbooks);
    let action_slugs = phase.action_slugs();
    let targets = TriggerTargets {
        index: phase.index,
        channels: phase.channels,
        runbooks,
        action_slugs: &action_slugs,
    };
    let overwrite = phase.options.overwrite_triggers;
    for trigger in &package.triggers {
        let existing = position_by_name(&phase.current.triggers, &trigger.name)
            .map(|at| &phase.current.triggers[at]);
        // A tenant's edit, kept unless overwriting is asked for.
        let keep_disabled =
            existing.is_some_and(|e| e.is_disabled) && !trigger.is_disabled && !overwrite;
        let desired = desired_trigger(
            existing,
            trigger,
            &targets,
            phase.project.id.as_deref(),
            phase.writer.space_id,
            keep_disabled,
        );
        let (_, mut outcome) = phase.writer.converge(existing, desired).await?;
        if keep_disabled {
            outcome.action = match outcome.action {
                OutcomeAction::Updated(mut fields) => {
                    fields.push("IsDisabled kept: disabled downstream".into());
                    OutcomeAction::Updated(fields)
                }
                _ => OutcomeAction::KeptDownstream(vec!["IsDisabled".into()]),
            };
        }
        if trigger.tenants_left_out > 0 {
            tracing::warn!(
                "trigger `{}` targeted {} tenant{} of the management space, which do not travel: here it targets {}",
                trigger.name,
                trigger.tenants_left_out,
                if trigger.tenants_left_out == 1 { "" } else { "s" },
                if trigger.action.tenant_tags.is_empty() {
                    "the tenants chosen in this space, or none".to_owned()
                } else {
                    format!("the tenants tagged {}", trigger.action.tenant_tags.join(", "))
                }
            );
        }
        outcomes.push(outcome);
    }
    if let Some(outcome) = phase.built_in_trigger().await? {
        outcomes.push(outcome);
    }
    Ok(())
}

impl TriggerPhase<'_> {
    /// A Config-as-Code project whose runbooks live in git downstream: deploy wrote none, so the
    /// runbooks a trigger names are those of the fork's default branch
    /// (`/projects/{id}/{gitRef}/runbooks`, the project's `Runbooks` link once they are in git).
    async fn runbooks_in_git(&self) -> Result<Option<Names>, OctopusError> {
        let project = self.project;
        let wanted = self
            .package
            .triggers
            .iter()
            .filter_map(|t| t.action.runbook.as_deref())
            .any(|name| !self.runbooks.has_name(name));
        let in_git = project.is_config_as_code() && project.conversion_state("RunbooksAreInGit");
        let (true, true, Some(id)) = (wanted, in_git, project.id.as_deref()) else {
            return Ok(None);
        };
        let branch = project
            .persistence_settings
            .as_ref()
            .and_then(|settings| settings.default_branch.clone())
            .unwrap_or_else(|| "main".to_owned());
        let runbooks =
            runbooks_in_branch(self.writer.client, self.writer.space_id, id, &branch).await?;
        Ok(Some(Names::of_resources(&runbooks)))
    }

    /// Action name → slug in the deployment process as read. An action this deploy creates gets
    /// its slug from its name, which `desired_trigger` derives the same way.
    fn action_slugs(&self) -> BTreeMap<String, String> {
        self.current
            .deployment_process
            .iter()
            .flat_map(|process| &process.steps)
            .flat_map(|step| &step.actions)
            .filter_map(|action| {
                let slug = action.extra.get("Slug")?.as_str()?;
                Some((action.name.clone(), slug.to_owned()))
            })
            .collect()
    }

    /// The built-in feed trigger lives on the project (`AutoCreateRelease` and its release
    /// creation strategy), written now that the channel and the process's action exist. One
    /// automatic release creation a tenant turned off stays off unless overwriting is asked for.
    async fn built_in_trigger(&self) -> Result<Option<Outcome>, OctopusError> {
        let Some(trigger) = &self.package.built_in_trigger else {
            return Ok(None);
        };
        let name = match trigger.package_reference.as_str() {
            "" => trigger.deployment_action.clone(),
            package => format!("{} / {package}", trigger.deployment_action),
        };
        let project = self.project;
        if project.id.is_none() {
            // A plan for a project that does not exist yet.
            return Ok(Some(Outcome::new(
                BUILT_IN_TRIGGER,
                &name,
                OutcomeAction::Created,
            )));
        }
        let current = built_in_trigger_of(project);
        let keep_off = matches!(current, Some((false, _))) && !self.options.overwrite_triggers;
        let desired = desired_built_in_trigger(project, trigger, self.channels, keep_off);
        let fields = changed_fields(project, &desired);
        let action = if fields.is_empty() {
            if keep_off {
                OutcomeAction::KeptDownstream(vec!["AutoCreateRelease".into()])
            } else {
                OutcomeAction::Unchanged
            }
        } else if current.is_none() {
            OutcomeAction::Created
        } else {
            OutcomeAction::Updated(fields)
        };
        if action.is_change() {
            self.writer.update(&desired).await?;
        }
        Ok(Some(
            Outcome::new(BUILT_IN_TRIGGER, &name, action)
                .with_changes(value_changes(project, &desired)),
        ))
    }
}
