//! Package feeds (`/api/{space}/feeds`): built-in, NuGet, Docker, Helm, Maven, GitHub and the rest.

use super::{null_as_default, Extra, SensitiveValue};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Feed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    pub name: String,
    /// Kept as the server's string: servers add feed types faster than clients.
    pub feed_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SensitiveValue>,
    /// Docker only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Docker only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_path: Option<String>,
    /// NuGet only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhanced_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_retry_backoff_seconds: Option<i32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_acquisition_location_options: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The feed types a blueprint can declare (the server's `FeedType` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedType {
    #[serde(rename = "docker", alias = "Docker")]
    Docker,
    #[serde(rename = "nuget", alias = "NuGet")]
    NuGet,
    #[serde(rename = "helm", alias = "Helm")]
    Helm,
    #[serde(rename = "maven", alias = "Maven")]
    Maven,
    #[serde(rename = "github", alias = "GitHub")]
    GitHub,
}

impl FeedType {
    pub fn api_name(self) -> &'static str {
        match self {
            FeedType::Docker => "Docker",
            FeedType::NuGet => "NuGet",
            FeedType::Helm => "Helm",
            FeedType::Maven => "Maven",
            FeedType::GitHub => "GitHub",
        }
    }

    /// Where packages may be fetched: every external type except Helm offers both.
    pub fn acquisition_locations(self) -> Vec<String> {
        match self {
            FeedType::Helm => vec!["ExecutionTarget".into(), "NotAcquired".into()],
            FeedType::Docker => vec!["ExecutionTarget".into(), "NotAcquired".into()],
            _ => vec!["Server".into(), "ExecutionTarget".into()],
        }
    }
}

space_resource!(Feed, "feed", "feeds");
