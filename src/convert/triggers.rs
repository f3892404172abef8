//! Project triggers and the built-in feed trigger, both directions: the server's triggers → the
//! package's (serialize: ids → names; tenants, and triggers that cannot travel, left out with a
//! warning), and the package's → what the managed space should hold (deploy: names → its ids,
//! on top of what the server has, so ids and server fields survive).

use super::fields::{carried, set_text, Overriding};
use super::Context;
use crate::octopus::resources::{
    built_in_trigger_of, DeploymentProcess, Extra, Project, ProjectTrigger, ReleaseCreationPackage,
    ReleaseCreationStrategy, Runbook, TriggerAction, TriggerFilter, TriggerPackage,
    AUTO_CREATE_RELEASE, RELEASE_CREATION_STRATEGY,
};
use crate::octopus::space_index::{Names, SpaceIndex};
use crate::portable::trigger::slug_of;
use crate::portable::{self, PortableProject};
use std::collections::{BTreeMap, BTreeSet};

/// Server-owned fields of a trigger, its filter and its action (ids, audit, links).
const SERVER_OWNED: &[&str] = &[
    "Id",
    "SpaceId",
    "ProjectId",
    "Links",
    "LastModifiedOn",
    "LastModifiedBy",
];

/// The trigger fields this module writes itself (a package's `extra` may not set them).
const TRIGGER_KEYS: &[&str] = &["Name", "Description", "IsDisabled", "Filter", "Action"];
/// See [`TRIGGER_KEYS`].
const FILTER_KEYS: &[&str] = &[
    "FilterType",
    "Timezone",
    "StartTime",
    "DaysOfWeek",
    "CronExpression",
    "Interval",
    "HourInterval",
    "MinuteInterval",
    "RunAfter",
    "RunUntil",
    "MonthlyScheduleType",
    "DateOfMonth",
    "DayNumberOfMonth",
    "DayOfWeek",
    "EnvironmentIds",
    "Roles",
    "EventGroups",
    "EventCategories",
    "Packages",
];
/// See [`TRIGGER_KEYS`].
const ACTION_KEYS: &[&str] = &[
    "ActionType",
    "RunbookId",
    "EnvironmentIds",
    "EnvironmentId",
    "SourceEnvironmentIds",
    "DestinationEnvironmentId",
    "ChannelId",
    "TenantIds",
    "TenantTags",
    "ShouldRedeployWhenReleaseIsCurrent",
    "ShouldRedeployWhenMachineHasBeenDeployedTo",
    "Variables",
];

/// Filter types that cannot travel: the built-in feed trigger as the trigger list shows it
/// (`ArcFeedFilter`, OctopusClients `ArcFeedFilterResource`: the project's release creation
/// strategy, carried as `built_in_trigger`), and webhook triggers, whose secret and address
/// belong to the server that made them (OctopusClients `WebhookFilterResource`).
const NOT_CARRIED: &[(&str, &str)] = &[
    ("ArcFeedFilter", ""),
    (
        "WebhookFilter",
        "its webhook address and secret belong to the management server",
    ),
];

/// What serialize names a trigger's ids with, besides the space's index and the channels.
pub struct TriggerSources<'a> {
    pub context: &'a Context<'a>,
    /// Every runbook read (excluded ones too), to name a runbook trigger's runbook.
    pub runbooks: &'a [(Runbook, Option<DeploymentProcess>)],
    /// Runbooks the package leaves out (`Octofleet.Exclude.Runbooks`): their triggers stay out.
    pub excluded_runbooks: &'a [String],
    /// The project keeps its runbooks in git and they were not read.
    pub runbooks_unread: bool,
    /// The deployment process, when read: names the actions feed triggers watch.
    pub process: Option<&'a DeploymentProcess>,
}

impl TriggerSources<'_> {
    fn actions(&self) -> impl Iterator<Item = &crate::octopus::resources::ProcessAction> {
        self.process
            .into_iter()
            .flat_map(|process| &process.steps)
            .flat_map(|step| &step.actions)
    }
}

/// The package's triggers: every project trigger that can travel, by name. Those that cannot
/// (a webhook, a runbook the package leaves out) are left out, and `warnings` says so.
pub fn portable_triggers(
    triggers: &[ProjectTrigger],
    sources: &TriggerSources<'_>,
    warnings: &mut Vec<String>,
) -> Vec<portable::Trigger> {
    let index = sources.context.index;
    let runbook_names = Names::of(
        sources
            .runbooks
            .iter()
            .map(|(runbook, _)| (runbook.id.as_deref(), runbook.name.as_str())),
    );
    let mut carried_triggers = Vec::new();
    for trigger in triggers {
        let filter_type = trigger.filter.filter_type.as_str();
        if let Some((_, why)) = NOT_CARRIED
            .iter()
            .find(|(kind, _)| kind.eq_ignore_ascii_case(filter_type))
        {
            if !why.is_empty() {
                warnings.push(format!(
                    "trigger `{}` ({filter_type}) is not carried to the managed spaces: {why}; create it in each managed space if it is wanted there",
                    trigger.name
                ));
            }
            continue;
        }
        let action = &trigger.action;
        let runbook = match action.runbook_id.as_deref().filter(|id| !id.is_empty()) {
            None => None,
            Some(id) => match runbook_names.known_name(id) {
                Some(name) if sources.excluded_runbooks.iter().any(|n| n == name) => {
                    warnings.push(format!(
                        "trigger `{}` runs runbook `{name}`, which the package leaves out (Octofleet.Exclude.Runbooks): the trigger is left out too",
                        trigger.name
                    ));
                    continue;
                }
                Some(name) => Some(name.to_owned()),
                None if sources.runbooks_unread => {
                    warnings.push(format!(
                        "trigger `{}` runs a runbook kept in git, which was not read: the trigger is left out; serialize with --include-cac-values to carry it",
                        trigger.name
                    ));
                    continue;
                }
                // An id no runbook has: kept, so the id check names it (serialize refuses it).
                None => Some(id.to_owned()),
            },
        };
        let tenants = action.tenant_ids.as_ref().map_or(0, Vec::len);
        if tenants > 0 {
            warnings.push(format!(
                "trigger `{}` targets {tenants} tenant{} of the management space by id: tenants do not travel (a managed space has tenants of its own, or none), so downstream it targets {}; give the template's trigger tenant tags to choose tenants in every managed space",
                trigger.name,
                if tenants == 1 { "" } else { "s" },
                if action.tenant_tags.as_ref().is_some_and(|tags| !tags.is_empty()) {
                    "its tenant tags only"
                } else {
                    "no tenant"
                }
            ));
        }
        carried_triggers.push(portable::Trigger {
            name: trigger.name.clone(),
            description: trigger.description.clone().filter(|d| !d.is_empty()),
            is_disabled: trigger.is_disabled,
            filter: portable_filter(&trigger.filter, index, sources),
            action: portable::TriggerAction {
                action_type: action.action_type.clone(),
                runbook,
                environments: names(&index.environments, &action.environment_ids),
                environment: action
                    .environment_id
                    .as_deref()
                    .map(|id| index.environments.name(id)),
                source_environments: names(&index.environments, &action.source_environment_ids),
                destination_environment: action
                    .destination_environment_id
                    .as_deref()
                    .map(|id| index.environments.name(id)),
                channel: action
                    .channel_id
                    .as_deref()
                    .filter(|id| !id.is_empty())
                    .map(|id| sources.context.channels.name(id)),
                tenant_tags: action.tenant_tags.clone().unwrap_or_default(),
                should_redeploy_when_release_is_current: action
                    .should_redeploy_when_release_is_current,
                should_redeploy_when_machine_has_been_deployed_to: action
                    .should_redeploy_when_machine_has_been_deployed_to,
                variables: action.variables.clone(),
                extra: carried(&action.extra, SERVER_OWNED),
            },
            tenants_left_out: u32::try_from(tenants).unwrap_or(u32::MAX),
            extra: carried(&trigger.extra, SERVER_OWNED),
        });
    }
    // The server lists each category apart: by name, the same project gives the same bytes.
    carried_triggers.sort_by(|a, b| a.name.cmp(&b.name));
    carried_triggers
}

fn names(names: &Names, ids: &Option<Vec<String>>) -> Vec<String> {
    ids.as_deref().map_or_else(Vec::new, |ids| names.names(ids))
}

fn portable_filter(
    filter: &TriggerFilter,
    index: &SpaceIndex,
    sources: &TriggerSources<'_>,
) -> portable::TriggerFilter {
    portable::TriggerFilter {
        filter_type: filter.filter_type.clone(),
        timezone: filter.timezone.clone(),
        start_time: filter.start_time.clone(),
        days_of_week: filter.days_of_week.clone().unwrap_or_default(),
        cron_expression: filter.cron_expression.clone(),
        interval: filter.interval.clone(),
        hour_interval: filter.hour_interval,
        minute_interval: filter.minute_interval,
        run_after: filter.run_after.clone(),
        run_until: filter.run_until.clone(),
        monthly_schedule_type: filter.monthly_schedule_type.clone(),
        date_of_month: filter.date_of_month.clone(),
        day_number_of_month: filter.day_number_of_month.clone(),
        day_of_week: filter.day_of_week.clone(),
        environments: names(&index.environments, &filter.environment_ids),
        roles: filter.roles.clone().unwrap_or_default(),
        event_groups: filter.event_groups.clone().unwrap_or_default(),
        event_categories: filter.event_categories.clone().unwrap_or_default(),
        packages: filter
            .packages
            .iter()
            .flatten()
            .map(|package| {
                let slug = package.deployment_action_slug.clone();
                // The action's name when the process was read; its slug (a name, not an id)
                // otherwise, as the server keys it.
                let name = slug.as_deref().and_then(|slug| {
                    sources
                        .actions()
                        .find(|action| action_slug(action) == Some(slug))
                        .map(|action| action.name.clone())
                });
                portable::TriggerPackage {
                    deployment_action_slug: if name.is_some() { None } else { slug },
                    deployment_action: name,
                    package_reference: package.package_reference.clone().unwrap_or_default(),
                }
            })
            .collect(),
        extra: carried(&filter.extra, SERVER_OWNED),
    }
}

fn action_slug(action: &crate::octopus::resources::ProcessAction) -> Option<&str> {
    action.extra.get("Slug").and_then(serde_json::Value::as_str)
}

/// The built-in feed trigger, when the template project has it on: the channel by name, the
/// action and package by name (an older server's ids are named through the process).
pub fn portable_built_in_trigger(
    project: &Project,
    sources: &TriggerSources<'_>,
    warnings: &mut Vec<String>,
) -> Option<portable::BuiltInTrigger> {
    let (true, strategy) = built_in_trigger_of(project)? else {
        return None;
    };
    let package = strategy.release_creation_package.unwrap_or_default();
    let action_ref = package.deployment_action.unwrap_or_default();
    let action = sources
        .actions()
        .find(|action| action.name == action_ref || action.id.as_deref() == Some(&action_ref));
    let package_ref = package.package_reference.unwrap_or_default();
    let package_name = action
        .and_then(|action| {
            action
                .packages
                .iter()
                .find(|p| p.id.as_deref() == Some(&package_ref))
        })
        .map_or(package_ref, |p| p.name.clone());
    if action_ref.is_empty() {
        warnings.push(format!(
            "project `{}` creates releases automatically, but its release creation strategy names no step: the built-in feed trigger is left out",
            project.name
        ));
        return None;
    }
    Some(portable::BuiltInTrigger {
        channel: strategy
            .channel_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(|id| sources.context.channels.name(id)),
        deployment_action: action.map_or(action_ref, |action| action.name.clone()),
        package_reference: package_name,
    })
}

/// What deploy names a trigger's references with in the managed space.
pub struct TriggerTargets<'a> {
    pub index: &'a SpaceIndex,
    /// The project's channels, after deploy converged them.
    pub channels: &'a Names,
    /// The project's runbooks, after deploy converged them (or as the fork holds them).
    pub runbooks: &'a Names,
    /// Action name → slug in the deployment process, when deploy knows it (database projects).
    pub action_slugs: &'a BTreeMap<String, String>,
}

impl TriggerTargets<'_> {
    fn environment_ids(&self, names: &[String]) -> Vec<String> {
        self.index.environments.ids(names)
    }

    fn environment_id(&self, name: Option<&String>) -> Option<String> {
        name.and_then(|name| self.index.environments.id(name).cloned())
    }

    fn channel_id(&self, name: Option<&String>) -> Option<String> {
        name.and_then(|name| self.channels.id(name).cloned())
    }

    fn slug(&self, package: &portable::TriggerPackage) -> String {
        match (&package.deployment_action, &package.deployment_action_slug) {
            (Some(name), _) => self
                .action_slugs
                .get(name)
                .cloned()
                .unwrap_or_else(|| slug_of(name)),
            (None, Some(slug)) => slug.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Set a list the server may leave absent: an empty list stays absent where it was.
fn set_list(target: &mut Option<Vec<String>>, value: Vec<String>) {
    if !(value.is_empty() && target.is_none()) {
        *target = Some(value);
    }
}

/// The trigger the managed space should hold: `existing` (same name) with the package's values,
/// references named in `targets`. `keep_disabled`: a tenant disabled it, and that stays.
pub fn desired_trigger(
    existing: Option<&ProjectTrigger>,
    trigger: &portable::Trigger,
    targets: &TriggerTargets<'_>,
    project_id: Option<&str>,
    space_id: &str,
    keep_disabled: bool,
) -> ProjectTrigger {
    let mut desired = existing.cloned().unwrap_or_else(|| ProjectTrigger {
        space_id: Some(space_id.to_owned()),
        project_id: project_id.map(str::to_owned),
        name: trigger.name.clone(),
        ..Default::default()
    });
    desired.name = trigger.name.clone();
    set_text(&mut desired.description, &trigger.description);
    desired.is_disabled = trigger.is_disabled || keep_disabled;
    desired.filter = desired_filter(&desired.filter, &trigger.filter, targets);
    desired.action = desired_action(&desired.action, &trigger.action, targets);
    merge_extra(&mut desired.extra, &trigger.extra, TRIGGER_KEYS);
    desired
}

fn desired_filter(
    current: &TriggerFilter,
    filter: &portable::TriggerFilter,
    targets: &TriggerTargets<'_>,
) -> TriggerFilter {
    // Another type of filter shares nothing with the one the server holds but its identity.
    let mut desired = if current.filter_type == filter.filter_type {
        current.clone()
    } else {
        TriggerFilter {
            extra: kept_identity(&current.extra),
            ..Default::default()
        }
    };
    desired.filter_type = filter.filter_type.clone();
    desired.timezone = filter.timezone.clone();
    desired.start_time = filter.start_time.clone();
    set_list(&mut desired.days_of_week, filter.days_of_week.clone());
    desired.cron_expression = filter.cron_expression.clone();
    desired.interval = filter.interval.clone();
    desired.hour_interval = filter.hour_interval;
    desired.minute_interval = filter.minute_interval;
    desired.run_after = filter.run_after.clone();
    desired.run_until = filter.run_until.clone();
    desired.monthly_schedule_type = filter.monthly_schedule_type.clone();
    desired.date_of_month = filter.date_of_month.clone();
    desired.day_number_of_month = filter.day_number_of_month.clone();
    desired.day_of_week = filter.day_of_week.clone();
    set_list(
        &mut desired.environment_ids,
        targets.environment_ids(&filter.environments),
    );
    set_list(&mut desired.roles, filter.roles.clone());
    set_list(&mut desired.event_groups, filter.event_groups.clone());
    set_list(
        &mut desired.event_categories,
        filter.event_categories.clone(),
    );
    if !(filter.packages.is_empty() && desired.packages.is_none()) {
        let current = desired.packages.take().unwrap_or_default();
        desired.packages = Some(
            filter
                .packages
                .iter()
                .enumerate()
                .map(|(at, package)| {
                    let mut written = current.get(at).cloned().unwrap_or_default();
                    written.deployment_action_slug = Some(targets.slug(package));
                    written.package_reference = Some(package.package_reference.clone());
                    written
                })
                .collect::<Vec<TriggerPackage>>(),
        );
    }
    merge_extra(&mut desired.extra, &filter.extra, FILTER_KEYS);
    desired
}

fn desired_action(
    current: &TriggerAction,
    action: &portable::TriggerAction,
    targets: &TriggerTargets<'_>,
) -> TriggerAction {
    let mut desired = if current.action_type == action.action_type {
        current.clone()
    } else {
        TriggerAction {
            extra: kept_identity(&current.extra),
            ..Default::default()
        }
    };
    desired.action_type = action.action_type.clone();
    desired.runbook_id = action
        .runbook
        .as_ref()
        .and_then(|name| targets.runbooks.id(name).cloned());
    set_list(
        &mut desired.environment_ids,
        targets.environment_ids(&action.environments),
    );
    desired.environment_id = targets.environment_id(action.environment.as_ref());
    set_list(
        &mut desired.source_environment_ids,
        targets.environment_ids(&action.source_environments),
    );
    desired.destination_environment_id =
        targets.environment_id(action.destination_environment.as_ref());
    desired.channel_id = targets.channel_id(action.channel.as_ref());
    // `TenantIds` stay as the managed space has them: the management space's tenants are not
    // carried, and the tenants a managed space chose for its trigger are its own.
    set_list(&mut desired.tenant_tags, action.tenant_tags.clone());
    desired.should_redeploy_when_release_is_current =
        action.should_redeploy_when_release_is_current;
    desired.should_redeploy_when_machine_has_been_deployed_to =
        action.should_redeploy_when_machine_has_been_deployed_to;
    desired.variables = action.variables.clone();
    merge_extra(&mut desired.extra, &action.extra, ACTION_KEYS);
    desired
}

/// The identity a filter or action keeps when its type changes.
fn kept_identity(extra: &Extra) -> Extra {
    extra
        .iter()
        .filter(|(key, _)| key.as_str() == "Id")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn merge_extra(target: &mut Extra, extra: &BTreeMap<String, serde_json::Value>, modelled: &[&str]) {
    for (key, value) in extra {
        if !is_modelled(key, modelled) {
            target.insert(key.clone(), value.clone());
        }
    }
}

fn is_modelled(key: &str, modelled: &[&str]) -> bool {
    modelled
        .iter()
        .chain(SERVER_OWNED)
        .any(|known| known.eq_ignore_ascii_case(key))
}

/// Every `extra` key of the package's triggers that a modelled field owns (checked before
/// anything is sent, as `fields::overriding_fields` does for the other resources).
pub fn overriding_trigger_fields(package: &PortableProject) -> Vec<Overriding> {
    let mut found = Vec::new();
    for (i, trigger) in package.triggers.iter().enumerate() {
        for (at, extra, modelled) in [
            (format!("triggers[{i}].extra"), &trigger.extra, TRIGGER_KEYS),
            (
                format!("triggers[{i}].filter.extra"),
                &trigger.filter.extra,
                FILTER_KEYS,
            ),
            (
                format!("triggers[{i}].action.extra"),
                &trigger.action.extra,
                ACTION_KEYS,
            ),
        ] {
            for key in extra.keys().filter(|key| is_modelled(key, modelled)) {
                found.push(Overriding {
                    at: at.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    found
}

/// What the package's triggers name in the project itself that the package does not hold: a
/// runbook, channel or action (a package edited by hand, or cut down). Checked before any request.
pub fn dangling_references(package: &PortableProject) -> Vec<String> {
    let channels: BTreeSet<&str> = package.channels.iter().map(|c| c.name.as_str()).collect();
    // Runbooks in git (a Config-as-Code package without them) are named by the fork.
    let carries_runbooks = package
        .project
        .version_control
        .as_ref()
        .is_none_or(|vcs| vcs.carries_runbooks);
    let runbooks: BTreeSet<&str> = package.runbooks.iter().map(|r| r.name.as_str()).collect();
    let actions: Option<BTreeSet<&str>> = package.deployment_process.as_ref().map(|process| {
        process
            .steps
            .iter()
            .flat_map(|step| &step.actions)
            .map(|action| action.name.as_str())
            .collect()
    });
    let mut found = Vec::new();
    let mut channel = |owner: &str, name: &Option<String>| {
        if let Some(name) = name.as_deref().filter(|name| !channels.contains(name)) {
            found.push(format!(
                "{owner} names channel `{name}`, which the package does not hold"
            ));
        }
    };
    for trigger in &package.triggers {
        channel(
            &format!("trigger `{}`", trigger.name),
            &trigger.action.channel,
        );
    }
    if let Some(built_in) = &package.built_in_trigger {
        channel("the built-in feed trigger", &built_in.channel);
    }
    for trigger in &package.triggers {
        if let Some(runbook) = trigger.action.runbook.as_deref() {
            if carries_runbooks && !runbooks.contains(runbook) {
                found.push(format!(
                    "trigger `{}` runs runbook `{runbook}`, which the package does not hold",
                    trigger.name
                ));
            }
        }
    }
    if let Some(actions) = &actions {
        let named = package
            .triggers
            .iter()
            .flat_map(|trigger| {
                trigger.filter.packages.iter().filter_map(move |p| {
                    Some((
                        format!("trigger `{}`", trigger.name),
                        p.deployment_action.clone()?,
                    ))
                })
            })
            .chain(package.built_in_trigger.iter().map(|built_in| {
                (
                    "the built-in feed trigger".to_owned(),
                    built_in.deployment_action.clone(),
                )
            }));
        for (owner, action) in named {
            if !actions.contains(action.as_str()) {
                found.push(format!(
                    "{owner} watches a package of step `{action}`, which the deployment process does not hold"
                ));
            }
        }
    }
    found
}

/// The shared resources the package's triggers name: environments and tenant tags (canonical
/// names), each with its kind as `resolve` lists what a space lacks.
pub fn shared_names(triggers: &[portable::Trigger]) -> Vec<(&'static str, &str)> {
    let mut found = Vec::new();
    for trigger in triggers {
        let (filter, action) = (&trigger.filter, &trigger.action);
        let environments = filter
            .environments
            .iter()
            .chain(&action.environments)
            .chain(&action.source_environments)
            .chain(&action.environment)
            .chain(&action.destination_environment);
        found.extend(environments.map(|name| ("environment", name.as_str())));
        found.extend(action.tenant_tags.iter().map(|tag| ("tag", tag.as_str())));
    }
    found
}

/// The project with the package's built-in feed trigger: automatic release creation on (unless
/// `keep_off`: a tenant turned it off), releases in the named channel, for the named action's
/// package.
pub fn desired_built_in_trigger(
    project: &Project,
    trigger: &portable::BuiltInTrigger,
    channels: &Names,
    keep_off: bool,
) -> Project {
    let mut desired = project.clone();
    let current = built_in_trigger_of(project).map(|(_, strategy)| strategy);
    let mut strategy = project
        .extra
        .get(RELEASE_CREATION_STRATEGY)
        .and_then(|value| serde_json::from_value::<ReleaseCreationStrategy>(value.clone()).ok())
        .unwrap_or_default();
    let package = ReleaseCreationPackage {
        deployment_action: Some(trigger.deployment_action.clone()),
        package_reference: Some(trigger.package_reference.clone()),
        extra: strategy
            .release_creation_package
            .as_ref()
            .map(|p| p.extra.clone())
            .unwrap_or_default(),
    };
    // The step id the server may hold is kept only while it watches the same package.
    let same_package = current
        .and_then(|c| c.release_creation_package)
        .is_some_and(|p| {
            p.deployment_action == package.deployment_action
                && p.package_reference == package.package_reference
        });
    if !same_package {
        strategy.release_creation_package_step_id = None;
    }
    strategy.release_creation_package = Some(package);
    strategy.channel_id = trigger
        .channel
        .as_ref()
        .and_then(|name| channels.id(name).cloned());
    desired.extra.insert(
        RELEASE_CREATION_STRATEGY.to_owned(),
        serde_json::to_value(strategy).expect("a strategy serializes"),
    );
    desired.extra.insert(
        AUTO_CREATE_RELEASE.to_owned(),
        serde_json::Value::Bool(!keep_off),
    );
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index() -> SpaceIndex {
        let mut index = SpaceIndex::default();
        index.environments.insert("Environments-1", "Development");
        index.environments.insert("Environments-2", "Production");
        index
    }

    fn api_triggers() -> Vec<ProjectTrigger> {
        serde_json::from_value(json!([
            {"Id": "ProjectTriggers-1", "Name": "Nightly", "ProjectId": "Projects-1", "SpaceId": "Spaces-1",
             "Description": "", "IsDisabled": false,
             "Filter": {"FilterType": "CronExpressionSchedule", "CronExpression": "0 0 2 * * *", "Timezone": "UTC", "Id": null},
             "Action": {"ActionType": "RunRunbook", "RunbookId": "Runbooks-1", "EnvironmentIds": ["Environments-2"],
                        "TenantIds": [], "TenantTags": ["Region/EU"]}},
            {"Id": "ProjectTriggers-2", "Name": "Promote", "ProjectId": "Projects-1", "IsDisabled": true,
             "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-03-22T09:00:00.000", "DaysOfWeek": ["Monday"], "Timezone": "UTC"},
             "Action": {"ActionType": "DeployLatestRelease", "SourceEnvironmentIds": ["Environments-1"],
                        "DestinationEnvironmentId": "Environments-2", "ChannelId": "Channels-1",
                        "ShouldRedeployWhenReleaseIsCurrent": true, "TenantIds": ["Tenants-3"], "TenantTags": [], "Variables": null}},
            {"Id": "ProjectTriggers-3", "Name": "New target", "ProjectId": "Projects-1",
             "Filter": {"FilterType": "MachineFilter", "EnvironmentIds": ["Environments-1"], "Roles": ["web"],
                        "EventGroups": ["MachineAvailableForDeployment"], "EventCategories": []},
             "Action": {"ActionType": "AutoDeploy", "ShouldRedeployWhenMachineHasBeenDeployedTo": false}},
            {"Id": "ProjectTriggers-4", "Name": "Hook", "ProjectId": "Projects-1",
             "Filter": {"FilterType": "WebhookFilter", "WebhookId": "a6e8…", "RequireApiKey": true},
             "Action": {"ActionType": "CreateRelease", "ChannelId": "Channels-1"}}
        ]))
        .expect("triggers decode")
    }

    fn runbooks() -> Vec<(Runbook, Option<DeploymentProcess>)> {
        vec![(
            Runbook {
                id: Some("Runbooks-1".into()),
                name: "Backup".into(),
                ..Default::default()
            },
            None,
        )]
    }

    /// `from_api(to_api(x)) == x`: serialize's triggers, deployed onto nothing (the server then
    /// holds what deploy sent) and onto themselves, read back the same; the webhook is left out
    /// with a warning, and so are the tenants.
    #[test]
    fn triggers_round_trip_by_name() {
        let index = index();
        let mut channels = Names::default();
        channels.insert("Channels-1", "Hotfix");
        let context = Context {
            index: &index,
            channels: channels.clone(),
            secrets: None,
        };
        let runbooks = runbooks();
        let sources = TriggerSources {
            context: &context,
            runbooks: &runbooks,
            excluded_runbooks: &[],
            runbooks_unread: false,
            process: None,
        };
        let mut warnings = Vec::new();
        let api = api_triggers();
        let portable = portable_triggers(&api, &sources, &mut warnings);
        assert_eq!(
            portable.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["New target", "Nightly", "Promote"]
        );
        assert_eq!(portable[1].action.runbook.as_deref(), Some("Backup"));
        assert_eq!(portable[1].action.environments, ["Production"]);
        assert_eq!(portable[2].action.channel.as_deref(), Some("Hotfix"));
        assert_eq!(portable[2].tenants_left_out, 1);
        assert_eq!(portable[0].filter.environments, ["Development"]);
        assert!(
            warnings.iter().any(|w| w.contains("`Hook`")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("1 tenant of")),
            "{warnings:?}"
        );

        let runbook_names =
            Names::of_resources(&runbooks.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>());
        let targets = TriggerTargets {
            index: &index,
            channels: &channels,
            runbooks: &runbook_names,
            action_slugs: &BTreeMap::new(),
        };
        for trigger in &portable {
            let existing = api.iter().find(|t| t.name == trigger.name).unwrap();
            for onto in [Some(existing), None] {
                let written = desired_trigger(
                    onto,
                    trigger,
                    &targets,
                    Some("Projects-1"),
                    "Spaces-1",
                    false,
                );
                let read =
                    portable_triggers(std::slice::from_ref(&written), &sources, &mut Vec::new());
                let mut expected = trigger.clone();
                // Tenants the managed space chose stay; none are written to a new trigger.
                if onto.is_none() {
                    expected.tenants_left_out = 0;
                }
                assert_eq!(read, vec![expected], "{written:?}");
                if onto.is_some() && trigger.tenants_left_out == 0 {
                    assert_eq!(&written, existing, "an unchanged trigger compares equal");
                }
            }
        }
    }

    #[test]
    fn a_trigger_disabled_downstream_stays_disabled_when_asked() {
        let index = index();
        let names = Names::default();
        let targets = TriggerTargets {
            index: &index,
            channels: &names,
            runbooks: &names,
            action_slugs: &BTreeMap::new(),
        };
        let trigger = portable::Trigger {
            name: "Nightly".into(),
            description: None,
            is_disabled: false,
            filter: portable::TriggerFilter {
                filter_type: "CronExpressionSchedule".into(),
                cron_expression: Some("0 0 2 * * *".into()),
                ..Default::default()
            },
            action: portable::TriggerAction {
                action_type: "RunRunbook".into(),
                ..Default::default()
            },
            tenants_left_out: 0,
            extra: BTreeMap::new(),
        };
        let kept = desired_trigger(None, &trigger, &targets, None, "Spaces-1", true);
        assert!(kept.is_disabled);
        let enabled = desired_trigger(Some(&kept), &trigger, &targets, None, "Spaces-1", false);
        assert!(!enabled.is_disabled);
    }

    #[test]
    fn the_modelled_key_lists_name_every_field_the_models_write() {
        let keys = |value: serde_json::Value| -> Vec<String> {
            value
                .as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect()
        };
        let filter = TriggerFilter {
            filter_type: "x".into(),
            timezone: Some(String::new()),
            start_time: Some(String::new()),
            days_of_week: Some(vec![]),
            cron_expression: Some(String::new()),
            interval: Some(String::new()),
            hour_interval: Some(1),
            minute_interval: Some(1),
            run_after: Some(String::new()),
            run_until: Some(String::new()),
            monthly_schedule_type: Some(String::new()),
            date_of_month: Some(String::new()),
            day_number_of_month: Some(String::new()),
            day_of_week: Some(String::new()),
            environment_ids: Some(vec![]),
            roles: Some(vec![]),
            event_groups: Some(vec![]),
            event_categories: Some(vec![]),
            packages: Some(vec![]),
            extra: Extra::new(),
        };
        for key in keys(serde_json::to_value(filter).unwrap()) {
            assert!(FILTER_KEYS.contains(&key.as_str()), "{key}");
        }
        let action = TriggerAction {
            action_type: "x".into(),
            runbook_id: Some(String::new()),
            environment_ids: Some(vec![]),
            environment_id: Some(String::new()),
            source_environment_ids: Some(vec![]),
            destination_environment_id: Some(String::new()),
            channel_id: Some(String::new()),
            tenant_ids: Some(vec![]),
            tenant_tags: Some(vec![]),
            should_redeploy_when_release_is_current: Some(true),
            should_redeploy_when_machine_has_been_deployed_to: Some(true),
            variables: Some(String::new()),
            extra: Extra::new(),
        };
        for key in keys(serde_json::to_value(action).unwrap()) {
            assert!(ACTION_KEYS.contains(&key.as_str()), "{key}");
        }
    }
}
