//! Step templates (`/api/{space}/actiontemplates`, the API's action templates) and the community
//! Library's templates (`/api/communityactiontemplates`), with the routes that install a Library
//! template into a space and update an installed one.
//!
//! Shapes: the server's swagger (OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`,
//! `ActionTemplateResource`, `CommunityActionTemplateResource`) and OctopusClients
//! `Model/ActionTemplateResource.cs`, `Model/CommunityActionTemplateResource.cs`.

use super::{null_as_default, ActionPackageReference, ActionTemplateParameter, Extra};
use super::{PropertyValue, Resource};
use crate::octopus::client::OctopusClient;
use crate::octopus::error::OctopusError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Writeable on create only (OctopusClients `[WriteableOnCreate]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub action_type: String,
    /// The server's counter: 0 when created, one more on every save (go-octopusdeploy
    /// `api/action_template_example.json` shows a new template at 0).
    #[serde(default)]
    pub version: Option<i64>,
    /// Set on a template installed from the community Library; the server refuses a PUT to
    /// such a template ("Only custom templates can be directly updated", swagger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_action_template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_package_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, PropertyValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub packages: Vec<ActionPackageReference>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub git_dependencies: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: Vec<ActionTemplateParameter>,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(ActionTemplate, "step template", "actiontemplates");

impl ActionTemplate {
    /// Installed from the community Library (and so read-only in its space).
    pub fn is_community(&self) -> bool {
        self.community_action_template_id
            .as_deref()
            .is_some_and(|id| !id.is_empty())
    }
}

/// A template of the community Library as the instance synchronised it. Server-wide: the same
/// list in every space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityActionTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The Library's page for it: the same on every instance (octoterra finds a community
    /// template by it: `octopusdeploy_community_step_template`'s `website`).
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default, rename = "Type")]
    pub action_type: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Resource for CommunityActionTemplate {
    const KIND: &'static str = "community step template";
    const COLLECTION: &'static str = "communityactiontemplates";
    const SPACE_SCOPED: bool = false;

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// `POST /api/communityactiontemplates/{id}/installation/{spaceId}`: install the Library's
/// template into the space (201 with the new `ActionTemplateResource`; 400 "Action Template
/// already installed." when it is there: swagger `createCommunityActionTemplateInstallation_1`).
pub async fn install_community_template(
    client: &OctopusClient,
    community_id: &str,
    space_id: &str,
) -> Result<ActionTemplate, OctopusError> {
    let path = installation_path(community_id, space_id);
    let response = client.post(&path, &serde_json::json!({})).await?;
    super::super::client::decode(&super::super::client::ApiRequest::get(path), &response.body)
}

/// `PUT /api/communityactiontemplates/{id}/installation/{spaceId}`: update the installed
/// template to the Library's latest version (swagger `updateCommunityActionTemplateInstallationPut_1`:
/// "Updates installed community step template to the latest version").
pub async fn update_community_installation(
    client: &OctopusClient,
    community_id: &str,
    space_id: &str,
) -> Result<ActionTemplate, OctopusError> {
    let path = installation_path(community_id, space_id);
    let response = client.put(&path, &serde_json::json!({})).await?;
    super::super::client::decode(&super::super::client::ApiRequest::get(path), &response.body)
}

fn installation_path(community_id: &str, space_id: &str) -> String {
    format!(
        "api/communityactiontemplates/{}/installation/{}",
        super::encode_segment(community_id),
        super::encode_segment(space_id)
    )
}
