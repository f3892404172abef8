//! Accounts (`/api/{space}/accounts`): cloud and other credentials steps and typed variables
//! refer to by id. Every secret is a `SensitiveValue` (go-octopusdeploy `AccountResource`).

use super::{null_as_default, Extra, SensitiveValue};
use serde::{Deserialize, Serialize};

/// An account of any type; fields a type does not have stay `None` and are not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// `Accounts-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The space it lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    /// Unique in the space.
    pub name: String,
    /// The server's type name (`AmazonWebServicesAccount`, `AzureServicePrincipal`, `Token`, …).
    pub account_type: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The environments allowed to use it (empty: all).
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_ids: Vec<String>,
    /// AWS access key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// AWS secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<SensitiveValue>,
    /// Azure subscription id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_number: Option<String>,
    /// Azure application (client) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Azure directory (tenant) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Username of username/password and SSH key pair accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password of username/password accounts, secret of Azure service principals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SensitiveValue>,
    /// The token of token accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SensitiveValue>,
    /// Google Cloud service account key (JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_key: Option<SensitiveValue>,
    /// OIDC audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// AWS OIDC role ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Fields of other types and of newer servers, kept for the next write.
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Account, "account", "accounts");
