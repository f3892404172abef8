//! Tenants (`/api/{space}/tenants`).

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Tenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tenant_tags: Vec<String>,
    /// Project id → environment ids the tenant is connected to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub project_environments: BTreeMap<String, Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Tenant, "tenant", "tenants");
