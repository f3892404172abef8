//! Artifacts a task attached (`/api/{space}/artifacts?regarding=ServerTasks-N`), as
//! OctopusDeploy/docs `src/pages/docs/api/_generated/artifacts.md` lists their fields.

use super::{null_as_default, Extra};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One artifact: a file a task attached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Artifact {
    /// `Artifacts-N`.
    pub id: String,
    /// The file's name (`octofleet-plan-Europe.json`).
    #[serde(default)]
    pub filename: String,
    /// The task that attached it.
    #[serde(default)]
    pub server_task_id: Option<String>,
    /// When it was attached.
    #[serde(default)]
    pub created: Option<String>,
    /// `Self` and `Content`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: BTreeMap<String, String>,
    /// What this model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}
