//! The emulator's whole in-memory state: spaces and every document they hold, as raw JSON, plus ID counters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::documents::{same_id, str_field};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub installation_id: String,
    pub ids: IdCounters,
    pub spaces: Vec<SpaceStore>,
    /// Tasks, runbook runs and snapshots, artifacts (`tasks.rs`).
    #[serde(default)]
    pub executions: crate::tasks::Executions,
    /// The git repositories Config-as-Code projects read and write, by repository URL and base
    /// path (`config_as_code::repository_key`). They live outside Octopus: deleting a project
    /// leaves its files in git, and a project converted onto a repository that already holds
    /// OCL connects to it (OctopusDeploy/Issues#7330).
    #[serde(default)]
    pub repositories: BTreeMap<String, GitRepo>,
    /// Platform Hub process templates (instance-wide; see `platform_hub`).
    #[serde(default)]
    pub process_templates: Vec<Value>,
    /// The community Library as the instance synchronised it (server-wide, see `step_templates`).
    #[serde(default)]
    pub community_templates: Vec<Value>,
}

/// Per-kind counters, global across spaces like the real server (`Environments-7` is unique server-wide).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdCounters(BTreeMap<String, u64>);

impl IdCounters {
    /// The ID `next` would hand out, without using it up (so a failed create burns no ID).
    pub fn peek(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.0.get(prefix).copied().unwrap_or(0) + 1)
    }

    pub fn next(&mut self, prefix: &str) -> String {
        let counter = self.0.entry(prefix.to_string()).or_insert(0);
        *counter += 1;
        format!("{prefix}-{counter}")
    }
}

/// Everything one space holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpaceStore {
    /// The space document itself (`Spaces-N`).
    pub space: Value,
    /// Plain collections by their route segment (`environments`, `projects`, …), in creation order.
    pub collections: BTreeMap<String, Vec<Value>>,
    /// `variableset-<OwnerId>` documents.
    pub variable_sets: Vec<Value>,
    /// `deploymentprocess-Projects-N` and `RunbookProcess-Runbooks-N` documents.
    pub processes: Vec<Value>,
    /// Tenant variable values shared by the legacy and the scoped tenant-variable APIs.
    pub tenant_values: Vec<TenantValue>,
    /// Bumped on every tenant-variable write; the `ConcurrencyToken` clients see.
    pub tenant_values_version: u64,
    /// Built-in feed packages.
    pub packages: Vec<StoredPackage>,
}

impl SpaceStore {
    pub fn id(&self) -> &str {
        str_field(&self.space, "Id").unwrap_or("")
    }

    pub fn docs(&self, collection: &str) -> &[Value] {
        self.collections
            .get(collection)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn docs_mut(&mut self, collection: &str) -> &mut Vec<Value> {
        self.collections.entry(collection.to_string()).or_default()
    }
}

/// A space being written, with the global ID counters (split borrows of [`State`]).
pub struct SpaceMut<'a> {
    pub ids: &'a mut IdCounters,
    pub space: &'a mut SpaceStore,
    /// The git repositories of Config-as-Code projects (instance-wide), for rules that look at
    /// what a project keeps in git.
    pub repositories: &'a BTreeMap<String, GitRepo>,
}

/// One tenant variable value: a common value (owner = library variable set) or a project value
/// (owner = project), scoped to environments (empty = unscoped).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantValue {
    pub id: String,
    pub tenant_id: String,
    pub owner_id: String,
    pub template_id: String,
    pub environment_ids: Vec<String>,
    /// A plain string, or a stored SensitiveValue (see `secrets`).
    pub value: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPackage {
    pub package_id: String,
    pub version: String,
    pub extension: String,
    pub published: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// A repository (at one base path) as the emulator models it: the OCL documents per branch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GitRepo {
    pub branches: BTreeMap<String, BranchDocs>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BranchDocs {
    pub deployment_process: Option<Value>,
    pub deployment_settings: Option<Value>,
    /// Text variables (`variables.ocl`), once in git (`ConversionState.VariablesAreInGit`).
    pub variables: Option<Value>,
    /// Runbooks and their processes, once migrated (`ConversionState.RunbooksAreInGit`).
    pub runbooks: Vec<Value>,
    pub runbook_processes: Vec<Value>,
}

impl State {
    pub fn space_index(&self, id_or_slug: &str) -> Option<usize> {
        self.spaces.iter().position(|s| {
            same_id(s.id(), id_or_slug)
                || str_field(&s.space, "Slug").is_some_and(|slug| same_id(slug, id_or_slug))
        })
    }

    /// One space opened for writing, together with the ID counters its writes draw from.
    pub fn space_mut(&mut self, index: usize) -> SpaceMut<'_> {
        SpaceMut {
            ids: &mut self.ids,
            space: &mut self.spaces[index],
            repositories: &self.repositories,
        }
    }

    pub fn default_space_index(&self) -> Option<usize> {
        self.spaces
            .iter()
            .position(|s| s.space.get("IsDefault").and_then(Value::as_bool) == Some(true))
    }
}

/// Package bytes travel through the state file as base64.
pub(crate) mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
