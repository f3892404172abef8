//! What a project runs, read whole for serialize: the step templates its processes use (a
//! community one with its Library entry, for the Library page that identifies it on every
//! instance) and the script modules it includes (the library variable set and its variables).
//! A fixed number of rounds: one request per used template, per community entry and per module.

use super::client::OctopusClient;
use super::error::OctopusError;
use super::in_order::{all_in_order, InOrder};
use super::project_parts::ProjectParts;
use super::resources::{
    ActionTemplate, Api, CommunityActionTemplate, DeploymentProcess, LibraryVariableSet, Project,
    PropertyValue, VariableSet, VariableSets,
};

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

/// The space's script modules, when `project` includes any library variable set (which of
/// them are modules is known only from this list): it needs only the project, so it is read
/// beside the project's parts.
pub async fn script_module_sets(
    client: &OctopusClient,
    space_id: &str,
    project: &Project,
) -> Result<Vec<LibraryVariableSet>, OctopusError> {
    if project.included_library_variable_set_ids.is_empty() {
        return Ok(Vec::new());
    }
    // One page of the space's modules: `contentType` filters the collection (swagger
    // `indexLibraryVariableSets_Spaces`; the provider's script module data source).
    let request = Api::<LibraryVariableSet>::new(client, Some(space_id))
        .list_request()
        .query("contentType", "ScriptModule");
    client.list_all::<LibraryVariableSet>(request).await
}

/// Read what `parts` runs in `space_id`; `modules` is [`script_module_sets`] of its project.
pub async fn read(
    client: &OctopusClient,
    space_id: &str,
    parts: &ProjectParts,
    modules: Vec<LibraryVariableSet>,
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
    let modules: Vec<LibraryVariableSet> = modules
        .into_iter()
        .filter(|set| {
            set.id
                .as_deref()
                .is_some_and(|id| included.iter().any(|i| i.eq_ignore_ascii_case(id)))
        })
        .collect();
    let variable_sets = VariableSets::new(client, space_id);
    let (step_templates, variables) = tokio::join!(
        all_in_order(template_ids.iter().map(|id| templates.get_opt(id))),
        all_in_order(modules.iter().map(|set| {
            let id = set.variable_set_id.clone().unwrap_or_default();
            let variable_sets = &variable_sets;
            async move { variable_sets.get(&id).await }
        })),
    )
    .in_order()?;
    let step_templates: Vec<ActionTemplate> = step_templates.into_iter().flatten().collect();
    let community = Api::<CommunityActionTemplate>::new(client, None);
    let entries = all_in_order(step_templates.iter().map(|template| async {
        match &template.community_action_template_id {
            Some(id) if template.is_community() => community.get_opt(id).await,
            _ => Ok(None),
        }
    }))
    .await?;
    Ok(RunDefinitions {
        step_templates: step_templates.into_iter().zip(entries).collect(),
        script_modules: modules.into_iter().zip(variables).collect(),
    })
}
