//! The shared resources of a space that projects refer to by id, read at once (one round of
//! requests): serialize turns their ids into names, deploy their names into ids.

use super::resources::{
    ActionTemplate, Api, Environment, Feed, GitCredential, LibraryVariableSet, Lifecycle,
    ProjectGroup, TagSet, WorkerPool,
};
use super::{OctopusClient, OctopusError};

#[derive(Debug, Clone, Default)]
pub struct SpaceResources {
    pub environments: Vec<Environment>,
    pub lifecycles: Vec<Lifecycle>,
    pub project_groups: Vec<ProjectGroup>,
    pub feeds: Vec<Feed>,
    pub worker_pools: Vec<WorkerPool>,
    pub git_credentials: Vec<GitCredential>,
    pub library_variable_sets: Vec<LibraryVariableSet>,
    pub action_templates: Vec<ActionTemplate>,
    pub tag_sets: Vec<TagSet>,
}

impl SpaceResources {
    pub async fn read(
        client: &OctopusClient,
        space_id: &str,
    ) -> Result<SpaceResources, OctopusError> {
        let (
            environments,
            lifecycles,
            project_groups,
            feeds,
            worker_pools,
            git_credentials,
            library_variable_sets,
            action_templates,
            tag_sets,
        ) = tokio::try_join!(
            Api::<Environment>::list_in(client, space_id),
            Api::<Lifecycle>::list_in(client, space_id),
            Api::<ProjectGroup>::list_in(client, space_id),
            Api::<Feed>::list_in(client, space_id),
            Api::<WorkerPool>::list_in(client, space_id),
            Api::<GitCredential>::list_in(client, space_id),
            Api::<LibraryVariableSet>::list_in(client, space_id),
            Api::<ActionTemplate>::list_in(client, space_id),
            Api::<TagSet>::list_in(client, space_id),
        )?;
        Ok(SpaceResources {
            environments,
            lifecycles,
            project_groups,
            feeds,
            worker_pools,
            git_credentials,
            library_variable_sets,
            action_templates,
            tag_sets,
        })
    }
}
