//! Teams, read only: to check the space managers named on the command line exist.

use super::{Extra, Resource};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Team {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub space_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Resource for Team {
    const KIND: &'static str = "team";
    const COLLECTION: &'static str = "teams";
    const SPACE_SCOPED: bool = false;

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn name(&self) -> &str {
        &self.name
    }
}
