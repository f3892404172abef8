//! Tenant variables through both APIs: the legacy `/tenants/{id}/variables` document and the
//! scoped `/tenants/{id}/commonvariables` list (Octopus 2025.2+).

use super::{null_as_default, ActionTemplateParameter, Extra, PropertyValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET|PUT /api/{space}/tenants/{id}/variables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyTenantVariables {
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub library_variables: BTreeMap<String, LegacyLibraryVariables>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyLibraryVariables {
    #[serde(default)]
    pub library_variable_set_id: Option<String>,
    #[serde(default)]
    pub library_variable_set_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub templates: Vec<ActionTemplateParameter>,
    /// Template id → value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variables: BTreeMap<String, PropertyValue>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET|PUT /api/{space}/tenants/{id}/commonvariables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CommonVariables {
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_token: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub variables: Vec<CommonVariable>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing)]
    pub missing_variables: Vec<CommonVariable>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CommonVariable {
    /// Absent on missing variables; omitted on PUT to add a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub library_variable_set_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_variable_set_name: Option<String>,
    pub template_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ActionTemplateParameter>,
    #[serde(default)]
    pub value: Option<PropertyValue>,
    #[serde(default)]
    pub scope: CommonVariableScope,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CommonVariableScope {
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_ids: Vec<String>,
}
