//! Project triggers (`/api/{space}/projecttriggers`, read per project through
//! `/api/{space}/projects/{id}/triggers`), and the built-in feed trigger, which the server keeps
//! on the project itself (`AutoCreateRelease` + `ReleaseCreationStrategy`).
//!
//! Shapes: OctopusClients `Model/ProjectTriggerResource.cs` and `Model/Triggers/*` (the filter
//! and action of each type), go-octopusdeploy `pkg/triggers`, `pkg/filters`, `pkg/actions`, and
//! the server's swagger (go-octopusdeploy `api/octopus_deploy.json`, 2020.5:
//! `ProjectTriggerResource`, `createProjectTrigger_Spaces`, `indexProjectProjectTriggers_Spaces`).

use super::{null_as_default, Extra};
use crate::octopus::client::{ApiRequest, OctopusClient};
use crate::octopus::error::OctopusError;
use crate::octopus::in_order::InOrder;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectTrigger {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_disabled: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub filter: TriggerFilter,
    #[serde(default, deserialize_with = "null_as_default")]
    pub action: TriggerAction,
    #[serde(flatten)]
    pub extra: Extra,
}

/// When a trigger fires: a schedule, deployment target events, or new package versions. Only
/// the fields of its `FilterType` are present; the rest stay absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TriggerFilter {
    #[serde(default)]
    pub filter_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_week: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hour_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_schedule_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_number_of_month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_week: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_categories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<TriggerPackage>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A package whose new versions fire a feed trigger: the action by slug (`FeedFilter`) or by id
/// (`ArcFeedFilter`), and the package reference's name ("" for the primary package).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TriggerPackage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_action_slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_action: Option<String>,
    #[serde(default)]
    pub package_reference: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a trigger does when it fires: run a runbook, deploy or create a release. Only the fields
/// of its `ActionType` are present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TriggerAction {
    #[serde(default)]
    pub action_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_environment_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_environment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_redeploy_when_release_is_current: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_redeploy_when_machine_has_been_deployed_to: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl super::Resource for ProjectTrigger {
    const KIND: &'static str = "trigger";
    const COLLECTION: &'static str = "projecttriggers";
    /// `/api/{space}/projects/{id}/triggers` (the swagger's `indexProjectProjectTriggers_Spaces`).
    const OWNER_COLLECTION: &'static str = "triggers";

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn name(&self) -> &str {
        &self.name
    }
    /// Names are unique within a project (OctopusClients `ProjectTriggerRepository.FindByName(project,
    /// name)` looks a trigger up by name within its project).
    fn owner_project(&self) -> Option<&str> {
        self.project_id.as_deref()
    }
    /// A runbook trigger is listed only with its category (see [`TRIGGER_ACTION_CATEGORIES`]).
    fn owner_query(&self) -> Vec<(&'static str, String)> {
        vec![(
            "triggerActionCategory",
            trigger_action_category(&self.action.action_type).to_owned(),
        )]
    }
}

/// The `triggerActionCategory` values the project's trigger list is read with. A list read
/// without one leaves runbook triggers (and the built-in feed trigger) out: octoterra
/// (`cmd/internal/converters/project_trigger_converter.go`, `toHclByProjectIdAndName`) reads
/// both categories for that reason; the project's `Triggers` link template offers the parameter
/// (`{?skip,take,partialName,triggerActionType,triggerActionCategory,runbooks}`,
/// tests/fixtures/octopus-payloads/api-root and project payloads of 2023–2024).
pub const TRIGGER_ACTION_CATEGORIES: [&str; 2] = ["Deployment", "Runbook"];

/// The category of an action type: a runbook trigger runs a runbook, every other one deploys or
/// creates a release.
pub fn trigger_action_category(action_type: &str) -> &'static str {
    if action_type.eq_ignore_ascii_case("RunRunbook") {
        "Runbook"
    } else {
        "Deployment"
    }
}

/// Every trigger of the project, both categories read at once (each paged).
pub async fn triggers_of_project(
    client: &OctopusClient,
    space_id: &str,
    project_id: &str,
) -> Result<Vec<ProjectTrigger>, OctopusError> {
    let read = |category: &'static str| {
        let request = ApiRequest::get(format!("api/{space_id}/projects/{project_id}/triggers"))
            .query("triggerActionCategory", category)
            .query("skip", 0)
            .query("take", 1000);
        client.list_all::<ProjectTrigger>(request)
    };
    let (deployment, runbook) = tokio::join!(
        read(TRIGGER_ACTION_CATEGORIES[0]),
        read(TRIGGER_ACTION_CATEGORIES[1])
    )
    .in_order()?;
    let mut all = deployment;
    for trigger in runbook {
        // A server that ignores the category answers the same list twice.
        if !all.iter().any(|t| t.id.is_some() && t.id == trigger.id) {
            all.push(trigger);
        }
    }
    Ok(all)
}

/// The project's built-in feed trigger (the provider's `octopusdeploy_built_in_trigger`, which
/// writes these two project fields: terraform-provider-octopusdeploy
/// `octopusdeploy_framework/resource_built_in_trigger.go`): the channel releases are created
/// in, and the action and package whose new versions in the built-in feed create them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseCreationStrategy {
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub release_creation_package: Option<ReleaseCreationPackage>,
    #[serde(default)]
    pub release_creation_package_step_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The action (by name; older servers may hold its id) and package reference of the built-in
/// feed trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseCreationPackage {
    #[serde(default)]
    pub deployment_action: Option<String>,
    #[serde(default)]
    pub package_reference: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The project fields of the built-in feed trigger.
pub const AUTO_CREATE_RELEASE: &str = "AutoCreateRelease";
/// See [`AUTO_CREATE_RELEASE`].
pub const RELEASE_CREATION_STRATEGY: &str = "ReleaseCreationStrategy";

/// The built-in feed trigger a project holds: whether it is on, and its strategy when it names a
/// package (a strategy without one is no trigger).
pub fn built_in_trigger_of(project: &super::Project) -> Option<(bool, ReleaseCreationStrategy)> {
    let on = project
        .extra
        .get(AUTO_CREATE_RELEASE)
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let strategy: ReleaseCreationStrategy = project
        .extra
        .get(RELEASE_CREATION_STRATEGY)
        .filter(|value| value.is_object())
        .and_then(|value| serde_json::from_value(value.clone()).ok())?;
    strategy
        .release_creation_package
        .is_some()
        .then_some((on, strategy))
}
