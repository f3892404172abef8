//! Names → ids in the target space, and the list of everything a portable project needs that the
//! space does not have (all of it, before anything is written).

use crate::octopus::space_resources::SpaceResources;
use crate::octopus::{OctopusClient, OctopusError, Resource};
use crate::portable::{PortableProject, Process};
use std::collections::{BTreeSet, HashMap};

/// The built-in feed has the same id and name in every space.
pub const BUILT_IN_FEED_NAME: &str = "Octopus Server (built-in)";
pub const BUILT_IN_FEED_ID: &str = "feeds-builtin";

/// Name → id for each kind the portable model refers to.
#[derive(Debug, Clone, Default)]
pub struct SpaceIndex {
    pub environments: HashMap<String, String>,
    pub lifecycles: HashMap<String, String>,
    pub project_groups: HashMap<String, String>,
    pub feeds: HashMap<String, String>,
    pub worker_pools: HashMap<String, String>,
    pub git_credentials: HashMap<String, String>,
    pub library_variable_sets: HashMap<String, String>,
    /// name → (id, version)
    pub step_templates: HashMap<String, (String, i64)>,
    /// Canonical names "Set/Tag".
    pub tags: BTreeSet<String>,
}

fn by_name<T: Resource>(items: Vec<T>) -> HashMap<String, String> {
    items
        .into_iter()
        .filter_map(|item| Some((item.name().to_owned(), item.id()?.to_owned())))
        .collect()
}

impl SpaceIndex {
    /// Read every kind at once (one round of requests).
    pub async fn read(client: &OctopusClient, space_id: &str) -> Result<SpaceIndex, OctopusError> {
        Ok(SpaceIndex::of(
            SpaceResources::read(client, space_id).await?,
        ))
    }

    pub fn of(resources: SpaceResources) -> SpaceIndex {
        let SpaceResources {
            environments,
            lifecycles,
            project_groups,
            feeds,
            worker_pools,
            git_credentials,
            library_variable_sets: sets,
            action_templates: templates,
            tag_sets,
        } = resources;
        let mut feeds = by_name(feeds);
        feeds.insert(BUILT_IN_FEED_NAME.to_owned(), BUILT_IN_FEED_ID.to_owned());
        SpaceIndex {
            environments: by_name(environments),
            lifecycles: by_name(lifecycles),
            project_groups: by_name(project_groups),
            feeds,
            worker_pools: by_name(worker_pools),
            git_credentials: by_name(git_credentials),
            library_variable_sets: by_name(sets),
            step_templates: templates
                .into_iter()
                .filter_map(|t| Some((t.name.clone(), (t.id.clone()?, t.version.unwrap_or(0)))))
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
        }
    }
}

/// One thing the space lacks: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    pub kind: &'static str,
    pub name: String,
}

/// Everything `project` refers to that `index` lacks, each once, sorted.
pub fn missing_dependencies(project: &PortableProject, index: &SpaceIndex) -> Vec<Missing> {
    let mut missing = BTreeSet::new();
    let mut need = |kind: &'static str, map_has: bool, name: &str| {
        if !map_has {
            missing.insert(Missing {
                kind,
                name: name.to_owned(),
            });
        }
    };
    let settings = &project.project;
    need(
        "lifecycle",
        index.lifecycles.contains_key(&settings.lifecycle),
        &settings.lifecycle,
    );
    need(
        "project group",
        index.project_groups.contains_key(&settings.project_group),
        &settings.project_group,
    );
    for set in &settings.included_library_variable_sets {
        need(
            "library variable set",
            index.library_variable_sets.contains_key(set),
            set,
        );
    }
    for tag in &settings.project_tags {
        need("tag", index.tags.contains(tag), tag);
    }
    if let Some(vcs) = &settings.version_control {
        if let (Some(name), "Reference") = (&vcs.credentials.name, vcs.credentials.kind.as_str()) {
            need(
                "git credential",
                index.git_credentials.contains_key(name),
                name,
            );
        }
    }
    for channel in &project.channels {
        if let Some(lifecycle) = &channel.lifecycle {
            need(
                "lifecycle",
                index.lifecycles.contains_key(lifecycle),
                lifecycle,
            );
        }
        for tag in &channel.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
    }
    let processes = project
        .deployment_process
        .iter()
        .chain(project.runbooks.iter().map(|runbook| &runbook.process));
    for process in processes {
        process_dependencies(process, index, &mut need);
    }
    for runbook in &project.runbooks {
        for environment in &runbook.environments {
            need(
                "environment",
                index.environments.contains_key(environment),
                environment,
            );
        }
    }
    for variable in &project.variables {
        for environment in &variable.scope.environments {
            need(
                "environment",
                index.environments.contains_key(environment),
                environment,
            );
        }
        for tag in &variable.scope.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
    }
    missing.into_iter().collect()
}

fn process_dependencies(
    process: &Process,
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for action in process.steps.iter().flat_map(|step| &step.actions) {
        for environment in action
            .environments
            .iter()
            .chain(&action.excluded_environments)
        {
            need(
                "environment",
                index.environments.contains_key(environment),
                environment,
            );
        }
        if let Some(pool) = &action.worker_pool {
            need("worker pool", index.worker_pools.contains_key(pool), pool);
        }
        if let Some(feed) = action.container.as_ref().and_then(|c| c.feed.as_ref()) {
            need("feed", index.feeds.contains_key(feed), feed);
        }
        for package in &action.packages {
            need(
                "feed",
                index.feeds.contains_key(&package.feed),
                &package.feed,
            );
        }
        if let Some(template) = &action.step_template {
            need(
                "step template",
                index.step_templates.contains_key(&template.name),
                &template.name,
            );
        }
        for tag in &action.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
    }
}
