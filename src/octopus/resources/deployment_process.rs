//! Deployment and runbook processes: steps, actions and package references.

use super::{null_as_default, Extra, PropertyValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A deployment process (`deploymentprocess-Projects-1`) or runbook process
/// (`RunbookProcess-Runbooks-1`, with `RunbookId`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentProcess {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<ProcessStep>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub package_requirement: Option<String>,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub start_trigger: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, PropertyValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub actions: Vec<ProcessAction>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub action_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_disabled: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_required: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub can_be_used_for_project_versioning: bool,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub worker_pool_id: Option<String>,
    #[serde(default)]
    pub worker_pool_variable: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environments: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub excluded_environments: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub channels: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tenant_tags: Vec<String>,
    #[serde(default)]
    pub container: Option<ActionContainer>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub packages: Vec<ActionPackageReference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub git_dependencies: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, PropertyValue>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ActionContainer {
    #[serde(default)]
    pub feed_id: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ActionPackageReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_id: String,
    #[serde(default)]
    pub feed_id: Option<String>,
    #[serde(default)]
    pub acquisition_location: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which process a [`DeploymentProcess`] document is: a project's deployment process or a
/// runbook's. They share one shape and differ in their route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessKind {
    Deployment,
    Runbook,
}

impl ProcessKind {
    /// The process's item route.
    pub fn path(self, space_id: &str, id: &str) -> String {
        match self {
            ProcessKind::Deployment => format!("api/{space_id}/deploymentprocesses/{id}"),
            ProcessKind::Runbook => format!("api/{space_id}/runbookProcesses/{id}"),
        }
    }

    /// For messages and outcomes.
    pub fn label(self) -> &'static str {
        match self {
            ProcessKind::Deployment => "deployment process",
            ProcessKind::Runbook => "runbook process",
        }
    }
}
