//! Variable sets (`/api/{space}/variables/{id}`): read-modify-write with `Version` conflict retries.

use super::{null_as_default, Extra};
use crate::octopus::client::OctopusClient;
use crate::octopus::error::OctopusError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct VariableSet {
    pub id: String,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub variables: Vec<Variable>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One variable. `Debug` hides the value of sensitive ones.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Variable {
    /// Sending a sensitive variable with its existing `Id` and no value keeps its secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// "String", "Sensitive", "Certificate", account types, "WorkerPool".
    #[serde(rename = "Type", default = "string_type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_sensitive: bool,
    /// Scope key ("Environment", "Role", ...) → ids or names; `{}` when unscoped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<serde_json::Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

fn string_type() -> String {
    "String".to_owned()
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.is_sensitive || self.kind == "Sensitive" {
            &"***"
        } else {
            &self.value
        };
        f.debug_struct("Variable")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("value", value)
            .field("kind", &self.kind)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Variable {
    pub fn is_secret(&self) -> bool {
        self.is_sensitive || self.kind == "Sensitive"
    }
}

/// What a change to a variable set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableSetWrite {
    Unchanged,
    Updated,
}

/// The variable set `id` (`variableset-LibraryVariableSets-1`) in a space.
pub struct VariableSets {
    client: OctopusClient,
    space_id: String,
}

impl VariableSets {
    pub fn new(client: &OctopusClient, space_id: &str) -> Self {
        VariableSets {
            client: client.clone(),
            space_id: space_id.to_owned(),
        }
    }

    /// The database route of the set `id`.
    pub fn path(&self, id: &str) -> String {
        format!("api/{}/variables/{id}", self.space_id)
    }

    pub async fn get(&self, id: &str) -> Result<VariableSet, OctopusError> {
        self.client.get(&self.path(id)).await
    }

    /// Read the set, let `change` edit it (returning whether it changed anything), and PUT it
    /// with the `Version` read. If the server refuses because someone else wrote in between
    /// (the version moved), read again and re-apply `change`; a refusal with the version
    /// unchanged is a real error and is returned.
    pub async fn modify(
        &self,
        id: &str,
        change: impl FnMut(&mut VariableSet) -> bool,
    ) -> Result<VariableSetWrite, OctopusError> {
        self.modify_from(id, None, change).await
    }

    /// As [`VariableSets::modify`], starting from a set the caller has just read (saving a
    /// request); a conflict re-reads as usual.
    pub async fn modify_from(
        &self,
        id: &str,
        read: Option<VariableSet>,
        change: impl FnMut(&mut VariableSet) -> bool,
    ) -> Result<VariableSetWrite, OctopusError> {
        self.modify_at(&self.path(id), read, change).await
    }

    /// As [`VariableSets::modify_from`], for the set served at `path`: a database set's route,
    /// or a Config-as-Code project's text variables on a git ref
    /// (`api/{space}/projects/{id}/{gitRef}/variables`, where a PUT commits them).
    pub async fn modify_at(
        &self,
        path: &str,
        mut read: Option<VariableSet>,
        mut change: impl FnMut(&mut VariableSet) -> bool,
    ) -> Result<VariableSetWrite, OctopusError> {
        const ATTEMPTS: u32 = 8;
        let id = path;
        let mut attempt = 1;
        loop {
            let mut set = match read.take() {
                Some(set) => set,
                None => self.client.get(path).await?,
            };
            let read_version = set.version;
            if !change(&mut set) {
                return Ok(VariableSetWrite::Unchanged);
            }
            match self.client.put(path, &set).await {
                Ok(_) => return Ok(VariableSetWrite::Updated),
                Err(error)
                    if error.status() == Some(reqwest::StatusCode::BAD_REQUEST)
                        && attempt < ATTEMPTS =>
                {
                    let now: VariableSet = self.client.get(path).await?;
                    if now.version == read_version {
                        return Err(error);
                    }
                    tracing::debug!(
                        id,
                        read_version,
                        now = now.version,
                        "variable set changed underneath us; retrying"
                    );
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
