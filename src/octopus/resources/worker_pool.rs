//! Worker pools and step templates (action templates): read to turn ids into names.

use super::Extra;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(WorkerPool, "worker pool", "workerpools");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(ActionTemplate, "step template", "actiontemplates");
