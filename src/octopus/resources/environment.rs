//! Environments (`/api/{space}/environments`).

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sort_order: i32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub use_guided_failure: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_dynamic_infrastructure: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Environment, "environment", "environments");
