//! Git credentials (`/api/{space}/git-credentials`): POST answers `{Id, Links}`, PUT answers `{}`.

use super::{null_as_default, Extra, Resource, SensitiveValue};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GitCredential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub details: GitCredentialDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_restrictions: Option<RepositoryRestrictions>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GitCredentialDetails {
    /// "UsernamePassword" for everything we create.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SensitiveValue>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RepositoryRestrictions {
    #[serde(default, deserialize_with = "null_as_default")]
    pub enabled: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allowed_repositories: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Resource for GitCredential {
    const KIND: &'static str = "git credential";
    const COLLECTION: &'static str = "git-credentials";
    const CREATE_RETURNS_RESOURCE: bool = false;

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn name(&self) -> &str {
        &self.name
    }
}
