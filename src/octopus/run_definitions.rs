//! What a project runs, read whole for serialize: the step templates its processes use (a
//! community one with its Library entry, for the Library page that identifies it on every
//! instance) and the script modules it includes (the library variable set and its variables).
//! A fixed number of rounds: one request per used template, per community entry and per module.

use super::client::OctopusClient;
use super::error::OctopusError;
use super::project_parts::ProjectParts;
use super::resources::{
    ActionTemplate, Api, CommunityActionTemplate, DeploymentProcess, LibraryVariableSet,
    PropertyValue, VariableSet, VariableSets,
};
use futures::future::try_join_all;

/// The property of an action that names the step template it uses.
pub const TEMPLATE_ID_PROPERTY: &str = "Octopus.Action.Template.Id";

/// The step templates and script modules a project runs, as the server returns them.
#[derive(Debug, Clone, Default)]
pub struct RunDefinitions {
    /// Each used step template, with its Library entry when it was installed from the Library
    /// (and the instance still has the entry).
    pub step_templates: Vec<(ActionTemplate, Option<CommunityActionTemplate>)>,
    /// Each included library variable set of content type `ScriptModule`, with its variables.
    pub script_modules: Vec<(LibraryVariableSet, VariableSet)>,
}

/// The ids of the step templates `processes` use, each once, in order of first use.
pub fn used_template_ids<'a>(
    processes: impl IntoIterator<Item = &'a DeploymentProcess>,
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for action in processes
        .into_iter()
        .flat_map(|process| &process.steps)
        .flat_map(|step| &step.actions)
    {
        if let Some(PropertyValue::Text(id)) = action.properties.get(TEMPLATE_ID_PROPERTY) {
            if !id.trim().is_empty() && !ids.iter().any(|known| known.eq_ignore_ascii_case(id)) {
                ids.push(id.trim().to_owned());
            }
        }
    }
    ids
}

/// Read what `parts` runs in `space_id`.
pub async fn read(
    client: &OctopusClient,
    space_id: &str,
    parts: &ProjectParts,
) -> Result<RunDefinitions, OctopusError> {
    let processes = parts.deployment_process.iter().chain(
        parts
            .runbooks
            .iter()
            .filter_map(|(_, process)| process.as_ref()),
    );
    let template_ids = used_template_ids(processes);
    let templates = Api::<ActionTemplate>::new(client, Some(space_id));
    let included: Vec<String> = parts
        .project
        .as_ref()
        .map(|project| project.included_library_variable_set_ids.clone())
        .unwrap_or_default();
    let sets = Api::<LibraryVariableSet>::new(client, Some(space_id));
    let (step_templates, modules) = tokio::try_join!(
        try_join_all(template_ids.iter().map(|id| templates.get_opt(id))),
        async {
            if included.is_empty() {
                return Ok(Vec::new());
            }
            // One page of the space's modules: `contentType` filters the collection (swagger
            // `indexLibraryVariableSets_Spaces`; the provider's script module data source).
            let request = sets.list_request().query("contentType", "ScriptModule");
            client.list_all::<LibraryVariableSet>(request).await
        }
    )?;
    let step_templates: Vec<ActionTemplate> = step_templates.into_iter().flatten().collect();
    let community = Api::<CommunityActionTemplate>::new(client, None);
    let entries = try_join_all(step_templates.iter().map(|template| async {
        match &template.community_action_template_id {
            Some(id) if template.is_community() => community.get_opt(id).await,
            _ => Ok(None),
        }
    }))
    .await?;
    let modules: Vec<LibraryVariableSet> = modules
        .into_iter()
        .filter(|set| {
            set.id
                .as_deref()
                .is_some_and(|id| included.iter().any(|i| i.eq_ignore_ascii_case(id)))
        })
        .collect();
    let variable_sets = VariableSets::new(client, space_id);
    let variables = try_join_all(modules.iter().map(|set| {
        let id = set.variable_set_id.clone().unwrap_or_default();
        let variable_sets = &variable_sets;
        async move { variable_sets.get(&id).await }
    }))
    .await?;
    Ok(RunDefinitions {
        step_templates: step_templates.into_iter().zip(entries).collect(),
        script_modules: modules.into_iter().zip(variables).collect(),
    })
}
