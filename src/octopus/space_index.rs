//! One index of a space's shared resources (environments, lifecycles, feeds, accounts,
//! certificates, …), read at once
//! (one round of requests): names ↔ ids in both directions. Serialize turns ids into names,
//! deploy and plan names into ids, and both follow the same built-in-feed rule.

use super::in_order::InOrder;
use super::resources::{
    Account, ActionTemplate, Api, Certificate, Environment, Feed, GitCredential,
    LibraryVariableSet, Lifecycle, ProjectGroup, Resource, TagSet, WorkerPool,
};
use super::{OctopusClient, OctopusError};
use std::collections::{BTreeSet, HashMap};

/// The built-in feed has the same id and name in every space.
pub const BUILT_IN_FEED_NAME: &str = "Octopus Server (built-in)";
pub const BUILT_IN_FEED_ID: &str = "feeds-builtin";

/// Names ↔ ids of one kind of resource. Ids compare case-insensitively (Octopus's routes do);
/// names exactly.
#[derive(Debug, Clone, Default)]
pub struct Names {
    ids: HashMap<String, String>,
    names: HashMap<String, String>,
}

impl Names {
    pub fn of<'a>(items: impl IntoIterator<Item = (Option<&'a str>, &'a str)>) -> Names {
        let mut names = Names::default();
        for (id, name) in items {
            if let Some(id) = id {
                names.insert(id, name);
            }
        }
        names
    }

    /// Index every resource of a list by its id and name.
    pub fn of_resources<T: Resource>(items: &[T]) -> Names {
        Names::of(items.iter().map(|item| (item.id(), item.name())))
    }

    pub fn insert(&mut self, id: &str, name: &str) {
        self.ids.insert(name.to_owned(), id.to_owned());
        self.names.insert(id.to_ascii_lowercase(), name.to_owned());
    }

    /// Add every name ↔ id of `other`, as if inserted here after what this holds (its ids
    /// replace those of the same names).
    pub fn extend(&mut self, other: &Names) {
        self.ids.extend(
            other
                .ids
                .iter()
                .map(|(name, id)| (name.clone(), id.clone())),
        );
        self.names.extend(
            other
                .names
                .iter()
                .map(|(id, name)| (id.clone(), name.clone())),
        );
    }

    /// The id of `name`: the exact spelling, else one that differs only in case (Octopus
    /// compares names without case, so it is the same resource to the server).
    pub fn id(&self, name: &str) -> Option<&String> {
        self.ids.get(name).or_else(|| {
            let folded = name.to_lowercase();
            self.ids
                .iter()
                .find(|(known, _)| known.to_lowercase() == folded)
                .map(|(_, id)| id)
        })
    }

    pub fn has_name(&self, name: &str) -> bool {
        self.id(name).is_some()
    }

    /// The ids of the names this space has (unknown names are left out).
    pub fn ids(&self, names: &[String]) -> Vec<String> {
        names.iter().filter_map(|n| self.id(n).cloned()).collect()
    }

    /// The name of the resource with id `id`, when this space has it.
    pub fn known_name(&self, id: &str) -> Option<&str> {
        self.names.get(&id.to_ascii_lowercase()).map(String::as_str)
    }

    /// The name, or the id itself when unknown (kept so nothing is silently lost: serialize then
    /// refuses the id it finds left, `portable::references::ids_left`).
    pub fn name(&self, id: &str) -> String {
        self.names
            .get(&id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    pub fn names(&self, ids: &[String]) -> Vec<String> {
        ids.iter().map(|id| self.name(id)).collect()
    }
}

/// A step template's id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTemplate {
    pub id: String,
    pub name: String,
    pub version: Option<i64>,
    /// Deploy: the version of the template project's template this one stands for (the
    /// package's `step_templates[].version`), when the package carries it.
    pub carried_version: Option<i64>,
}

/// Name ↔ id for each kind the portable model refers to.
#[derive(Debug, Clone, Default)]
pub struct SpaceIndex {
    pub environments: Names,
    pub lifecycles: Names,
    pub project_groups: Names,
    pub feeds: Names,
    pub worker_pools: Names,
    pub git_credentials: Names,
    pub library_variable_sets: Names,
    /// Accounts of every type.
    pub accounts: Names,
    /// The certificates of the space's library.
    pub certificates: Names,
    pub step_templates: Vec<StepTemplate>,
    /// Canonical names "Set/Tag".
    pub tags: BTreeSet<String>,
}

impl SpaceIndex {
    /// Read every kind at once (one round of requests).
    pub async fn read(client: &OctopusClient, space_id: &str) -> Result<SpaceIndex, OctopusError> {
        let (
            environments,
            lifecycles,
            project_groups,
            feeds,
            worker_pools,
            git_credentials,
            library_variable_sets,
            accounts,
            certificates,
            action_templates,
            tag_sets,
        ) = tokio::join!(
            Api::<Environment>::list_in(client, space_id),
            Api::<Lifecycle>::list_in(client, space_id),
            Api::<ProjectGroup>::list_in(client, space_id),
            Api::<Feed>::list_in(client, space_id),
            Api::<WorkerPool>::list_in(client, space_id),
            Api::<GitCredential>::list_in(client, space_id),
            Api::<LibraryVariableSet>::list_in(client, space_id),
            Api::<Account>::list_in(client, space_id),
            Api::<Certificate>::list_in(client, space_id),
            Api::<ActionTemplate>::list_in(client, space_id),
            Api::<TagSet>::list_in(client, space_id),
        )
        .in_order()?;
        let mut index = SpaceIndex {
            environments: Names::of_resources(&environments),
            lifecycles: Names::of_resources(&lifecycles),
            project_groups: Names::of_resources(&project_groups),
            feeds: Names::of_resources(&feeds),
            worker_pools: Names::of_resources(&worker_pools),
            git_credentials: Names::of_resources(&git_credentials),
            library_variable_sets: Names::of_resources(&library_variable_sets),
            accounts: Names::of_resources(&accounts),
            certificates: Names::of_resources(&certificates),
            step_templates: action_templates
                .into_iter()
                .filter_map(|t| {
                    Some(StepTemplate {
                        id: t.id?,
                        name: t.name,
                        version: t.version,
                        carried_version: None,
                    })
                })
                .collect(),
            tags: tag_sets
                .iter()
                .flat_map(|set| {
                    set.tags.iter().map(move |tag| {
                        tag.canonical_tag_name
                            .clone()
                            .unwrap_or_else(|| format!("{}/{}", set.name, tag.name))
                    })
                })
                .collect(),
        };
        index.add_built_in_feed();
        Ok(index)
    }

    /// The built-in feed is the same in every space, by id and by name: its name always means
    /// `feeds-builtin`, and its id reads as its name unless the space names it otherwise.
    pub fn add_built_in_feed(&mut self) {
        self.feeds
            .ids
            .insert(BUILT_IN_FEED_NAME.to_owned(), BUILT_IN_FEED_ID.to_owned());
        self.feeds
            .names
            .entry(BUILT_IN_FEED_ID.to_owned())
            .or_insert_with(|| BUILT_IN_FEED_NAME.to_owned());
    }

    /// The step template named `name`.
    pub fn step_template_named(&self, name: &str) -> Option<&StepTemplate> {
        self.step_templates.iter().rev().find(|t| t.name == name)
    }

    /// The step template with id `id` (case-insensitive).
    pub fn step_template_by_id(&self, id: &str) -> Option<&StepTemplate> {
        self.step_templates
            .iter()
            .rev()
            .find(|t| t.id.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways_and_unknown_ids_stay_ids() {
        let names = Names::of([(Some("Environments-1"), "Dev"), (None, "Nameless")]);
        assert_eq!(names.id("Dev").map(String::as_str), Some("Environments-1"));
        assert_eq!(names.name("environments-1"), "Dev");
        assert_eq!(names.name("Environments-9"), "Environments-9");
        assert!(!names.has_name("Nameless"));
        assert_eq!(
            names.ids(&["Dev".into(), "Prod".into()]),
            vec!["Environments-1".to_owned()]
        );
    }

    #[test]
    fn the_built_in_feed_is_known_in_both_directions() {
        let mut index = SpaceIndex::default();
        index.add_built_in_feed();
        assert_eq!(
            index.feeds.id(BUILT_IN_FEED_NAME).map(String::as_str),
            Some(BUILT_IN_FEED_ID)
        );
        assert_eq!(index.feeds.name(BUILT_IN_FEED_ID), BUILT_IN_FEED_NAME);
        // A space that names its built-in feed keeps that name for the id.
        let mut named = SpaceIndex {
            feeds: Names::of([(Some("feeds-builtin"), "Built in")]),
            ..SpaceIndex::default()
        };
        named.add_built_in_feed();
        assert_eq!(named.feeds.name(BUILT_IN_FEED_ID), "Built in");
        assert!(named.feeds.has_name(BUILT_IN_FEED_NAME));
    }
}
