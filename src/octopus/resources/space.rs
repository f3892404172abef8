//! Spaces (`/api/spaces`), the only space-less resource we create.

use super::{null_as_default, Extra, Resource};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Space {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub task_queue_stopped: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub space_managers_teams: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub space_managers_team_members: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Space {
    pub fn new(name: &str, managers_teams: Vec<String>) -> Self {
        Space {
            id: None,
            name: name.to_owned(),
            slug: None,
            description: None,
            is_default: false,
            task_queue_stopped: false,
            space_managers_teams: managers_teams,
            space_managers_team_members: Vec::new(),
            extra: Extra::new(),
        }
    }
}

impl super::Api<Space> {
    /// A space given as an ID (`Spaces-12`) or an exact name; `None` when there is none.
    pub async fn resolve(
        &self,
        id_or_name: &str,
    ) -> Result<Option<Space>, crate::octopus::OctopusError> {
        if is_space_id(id_or_name) {
            if let Some(space) = self.get_opt(id_or_name).await? {
                return Ok(Some(space));
            }
        }
        self.find_by_name(id_or_name).await
    }
}

/// `Spaces-<digits>`.
pub fn is_space_id(value: &str) -> bool {
    value
        .strip_prefix("Spaces-")
        .is_some_and(|number| !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
}

impl Resource for Space {
    const KIND: &'static str = "space";
    const COLLECTION: &'static str = "spaces";
    const SPACE_SCOPED: bool = false;

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn space_ids_and_names() {
        assert!(super::is_space_id("Spaces-12"));
        assert!(!super::is_space_id("Spaces-"));
        assert!(!super::is_space_id("Default"));
    }
}
