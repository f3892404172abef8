//! Library variable sets (`/api/{space}/libraryvariablesets`) and their variable templates.

use super::{null_as_default, Extra, PropertyValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LibraryVariableSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// "Variables" or "ScriptModule"; old servers omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_set_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub templates: Vec<ActionTemplateParameter>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A variable template: on a library variable set, a tenant *common* variable; on a project,
/// a tenant *project* variable; on a step template, a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplateParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub help_text: Option<String>,
    #[serde(default)]
    pub default_value: Option<PropertyValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_settings: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ActionTemplateParameter {
    pub fn control_type(&self) -> Option<&str> {
        self.display_settings
            .get("Octopus.ControlType")
            .map(String::as_str)
    }
}

space_resource!(
    LibraryVariableSet,
    "library variable set",
    "libraryvariablesets"
);
