//! Octopus collection pages (`{Items, TotalResults, Links{"Page.Next"}}`).

use serde::Deserialize;
use std::collections::BTreeMap;

/// One page of a collection.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(
        default = "Vec::new",
        deserialize_with = "super::resources::null_as_default"
    )]
    /// The page's items (`null` read as none).
    pub items: Vec<T>,
    /// How many items the whole collection holds.
    #[serde(default)]
    pub total_results: Option<u64>,
    /// The page size the server used.
    #[serde(default)]
    pub items_per_page: Option<u64>,
    /// Links by name; `Page.Next` is the next page.
    #[serde(default, deserialize_with = "super::resources::null_as_default")]
    pub links: BTreeMap<String, Option<String>>,
}

impl<T> Page<T> {
    /// The next page's link, when there is one.
    pub fn next_link(&self) -> Option<&str> {
        self.links
            .get("Page.Next")
            .and_then(|link| link.as_deref())
            .filter(|link| !link.is_empty())
    }
}
