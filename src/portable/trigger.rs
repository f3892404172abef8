//! A project's triggers as a package carries them: scheduled runbook runs and deployments,
//! deployment target triggers, feed triggers and the built-in feed trigger, everything they name
//! by name (never by id), the schedule as the server spells it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A project trigger, matched downstream by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Unique within the project: deploy finds the managed space's trigger by it.
    pub name: String,
    /// Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Disabled in the template. A trigger a tenant disabled downstream stays disabled whatever
    /// this says, unless deploy is asked to overwrite triggers.
    #[serde(default)]
    pub is_disabled: bool,
    /// When it fires.
    pub filter: TriggerFilter,
    /// What it does then.
    pub action: TriggerAction,
    /// How many tenants of the template's space the trigger named by id: tenants are not
    /// carried (the management space's tenants are not the managed space's), so it targets its
    /// tenant tags only. Deploy says so in its log.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tenants_left_out: u32,
    /// Fields of the trigger this octofleet does not know, carried as the server wrote them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// When a trigger fires. `filter_type` says which of the other fields apply, as on the server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerFilter {
    /// "OnceDailySchedule", "ContinuousDailySchedule", "DaysPerMonthSchedule",
    /// "CronExpressionSchedule" (scheduled triggers), "MachineFilter" (deployment target
    /// triggers), "FeedFilter" (external feed triggers), ….
    pub filter_type: String,
    /// A schedule's time zone (Windows or IANA id, e.g. "UTC", "E. Australia Standard Time").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Once daily and days per month: the time of day (a local date-time, as the server writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Once daily and continuous: "Monday", "Tuesday", ….
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<String>,
    /// Six fields (seconds first) and an optional year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron_expression: Option<String>,
    /// Continuous: "OnceDaily", "OnceHourly" or "OnceEveryMinute".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Continuous, "OnceHourly": every so many hours.
    pub hour_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Continuous, "OnceEveryMinute": every so many minutes.
    pub minute_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Continuous: the time of day it starts running.
    pub run_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Continuous: the time of day it stops.
    pub run_until: Option<String>,
    /// Days per month: "DateOfMonth" or "DayOfMonth".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_schedule_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Days per month, "DateOfMonth": "1" to "31", or "L" for the last day.
    pub date_of_month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Days per month, "DayOfMonth": which `day_of_week` of the month, "1" to "4" or "L".
    pub day_number_of_month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Days per month, "DayOfMonth": "Monday", ….
    pub day_of_week: Option<String>,
    /// Deployment target triggers: environment names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// Deployment target triggers: target roles (tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Deployment target triggers: the event groups that fire it ("MachineAvailableForDeployment", …).
    pub event_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Deployment target triggers: the event categories that fire it ("MachineAdded", …).
    pub event_categories: Vec<String>,
    /// Feed triggers: the packages whose new versions fire it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<TriggerPackage>,
    /// Fields of the filter this octofleet does not know, as the server wrote them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A package of the deployment process, by the action's name and the package reference's name
/// ("" for the action's primary package).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerPackage {
    /// The action's name. Absent when the template's process was not read (a Config-as-Code
    /// project's process lives in git): then `deployment_action_slug` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_action: Option<String>,
    /// The action's slug, as the server keys it, when its name could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_action_slug: Option<String>,
    /// The package reference's name ("" for the action's primary package).
    #[serde(default)]
    pub package_reference: String,
}

/// What a trigger does when it fires. `action_type` says which of the other fields apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerAction {
    /// "RunRunbook", "DeployNewRelease", "DeployLatestRelease", "AutoDeploy", "CreateRelease", ….
    pub action_type: String,
    /// Run a runbook: its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// Run a runbook: the environments it runs in, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// Deploy a new release: the environment, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Deploy the latest release: where it is taken from, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_environments: Vec<String>,
    /// Deploy the latest release: where it goes, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_environment: Option<String>,
    /// The channel a release is created or deployed in, by name; absent: the default channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Canonical tag names ("Set/Tag") of the tenants it runs or deploys for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Deploy the latest release: deploy again when the destination already has it.
    pub should_redeploy_when_release_is_current: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Deployment target triggers: deploy again to a target that already has the release.
    pub should_redeploy_when_machine_has_been_deployed_to: Option<bool>,
    /// Prompted variable values for the deployment, as the server holds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<String>,
    /// Fields of the action this octofleet does not know, as the server wrote them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The built-in feed trigger: a new version of this package in the built-in feed creates a
/// release (the project's automatic release creation; the provider's
/// `octopusdeploy_built_in_trigger`). Carried only when the template project has it on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltInTrigger {
    /// The channel releases are created in, by name; absent: the default channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The action (step) whose package is watched, by name.
    pub deployment_action: String,
    /// The package reference's name ("" for the action's primary package).
    #[serde(default)]
    pub package_reference: String,
}

/// The slug Octopus gives a step or action of this name: lower case, each run of other
/// characters one `-` (as the server slugs names; the emulator's `documents::slugify`). Feed
/// triggers name actions by slug.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}
