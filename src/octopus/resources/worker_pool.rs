//! Worker pools: read to turn ids into names.

use super::Extra;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(WorkerPool, "worker pool", "workerpools");
