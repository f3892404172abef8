//! Tag sets and their tags (`/api/{space}/tagsets`).

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TagSet {
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
    pub tags: Vec<Tag>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// "TagSet/Tag": how projects, tenants and scopes refer to a tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_tag_name: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sort_order: i32,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(TagSet, "tag set", "tagsets");
