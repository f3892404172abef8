//! Channels (`/api/{space}/channels`, `/projects/{id}/channels`).

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Channel {
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
    pub is_default: bool,
    #[serde(default)]
    pub lifecycle_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tenant_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<ChannelRule>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub version_range: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub action_packages: Vec<ChannelActionPackage>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelActionPackage {
    /// The action's name (servers store names here).
    #[serde(default)]
    pub deployment_action: Option<String>,
    #[serde(default)]
    pub package_reference: Option<String>,
}

space_resource!(Channel, "channel", "channels", owned_by_project);
