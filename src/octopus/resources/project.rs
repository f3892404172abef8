//! Projects (`/api/{space}/projects`) and their Config-as-Code persistence settings.

use super::{null_as_default, ActionTemplateParameter, Extra, SensitiveValue};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Project {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_disabled: bool,
    #[serde(default)]
    pub project_group_id: Option<String>,
    #[serde(default)]
    pub lifecycle_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_set_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_process_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub included_library_variable_set_ids: Vec<String>,
    #[serde(default)]
    pub tenanted_deployment_mode: Option<String>,
    #[serde(default)]
    pub default_guided_failure_mode: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub discrete_channel_release: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub default_to_skip_if_already_installed: bool,
    #[serde(default)]
    pub release_notes_template: Option<String>,
    #[serde(default)]
    pub deployment_changes_template: Option<String>,
    #[serde(default)]
    pub versioning_strategy: Option<ProjectVersioningStrategy>,
    #[serde(default)]
    pub project_connectivity_policy: Option<ConnectivityPolicy>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub templates: Vec<ActionTemplateParameter>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_version_controlled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_settings: Option<PersistenceSettings>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectVersioningStrategy {
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub donor_package: Option<DonorPackage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_package_step_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DonorPackage {
    /// The action's name or id.
    #[serde(default)]
    pub deployment_action: Option<String>,
    #[serde(default)]
    pub package_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectivityPolicy {
    #[serde(default)]
    pub skip_machine_behavior: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_roles: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_deployments_to_no_targets: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub exclude_unhealthy_targets: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{Type:"Database"}` or the version-controlled settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PersistenceSettings {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_default_branch: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_branch_name_patterns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<GitPersistenceCredentials>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GitPersistenceCredentials {
    /// "Anonymous", "Reference", "UsernamePassword", "GitHub".
    #[serde(rename = "Type")]
    pub kind: String,
    /// The git credential (Reference) or GitHub connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SensitiveValue>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Project {
    /// A Config-as-Code migration flag (`ConversionState.VariablesAreInGit`,
    /// `ConversionState.RunbooksAreInGit`); false when absent, as before any migration.
    pub fn conversion_state(&self, flag: &str) -> bool {
        self.persistence_settings
            .as_ref()
            .and_then(|settings| settings.extra.get("ConversionState"))
            .and_then(|state| state.get(flag))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    pub fn is_config_as_code(&self) -> bool {
        self.is_version_controlled
            || self
                .persistence_settings
                .as_ref()
                .is_some_and(|settings| settings.kind == "VersionControlled")
    }
}

space_resource!(Project, "project", "projects");
