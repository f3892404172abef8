//! Lifecycles and their phases (`/api/{space}/lifecycles`).

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub release_retention_policy: Option<RetentionPolicy>,
    #[serde(default)]
    pub tentacle_retention_policy: Option<RetentionPolicy>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub phases: Vec<Phase>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RetentionPolicy {
    #[serde(default, deserialize_with = "null_as_default")]
    pub quantity_to_keep: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub should_keep_forever: bool,
    /// "Days" or "Items".
    #[serde(default)]
    pub unit: Option<String>,
    /// Newer servers: "Default", "Count" or "Forever"; absent on older ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Phase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub automatic_deployment_targets: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub optional_deployment_targets: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub minimum_environments_before_promotion: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_optional_phase: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_priority_phase: bool,
    #[serde(default)]
    pub release_retention_policy: Option<RetentionPolicy>,
    #[serde(default)]
    pub tentacle_retention_policy: Option<RetentionPolicy>,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Lifecycle, "lifecycle", "lifecycles");
