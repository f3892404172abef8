//! Octopus collection pages (`{Items, TotalResults, Links{"Page.Next"}}`).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(
        default = "Vec::new",
        deserialize_with = "super::resources::null_as_default"
    )]
    pub items: Vec<T>,
    #[serde(default)]
    pub total_results: Option<u64>,
    #[serde(default)]
    pub items_per_page: Option<u64>,
    #[serde(default, deserialize_with = "super::resources::null_as_default")]
    pub links: BTreeMap<String, Option<String>>,
}

impl<T> Page<T> {
    pub fn next_link(&self) -> Option<&str> {
        self.links
            .get("Page.Next")
            .and_then(|link| link.as_deref())
            .filter(|link| !link.is_empty())
    }
}
