//! Fetch everything a portable project needs from one space: a fixed number of requests, read
//! concurrently, whatever the number of steps, variables or runbooks.

use super::client::{ApiRequest, OctopusClient};
use super::error::OctopusError;
use super::resources::pair_with_processes;
use super::resources::{Api, Channel, DeploymentProcess, Project, Runbook, Space, VariableSet};
use super::space_resources::SpaceResources;
use crate::portable::reader::ProjectDocuments;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("project `{name}` was not found in space {space}{}", did_you_mean(.suggestions))]
    ProjectMissing {
        name: String,
        space: String,
        suggestions: Vec<String>,
    },
    #[error(transparent)]
    Octopus(#[from] OctopusError),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        ": check Octopus.Project.Name (the name is matched exactly)".to_owned()
    } else {
        let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
        format!("; did you mean {}?", names.join(" or "))
    }
}

/// Names close to `wanted`: same letters ignoring case and punctuation, or a small edit distance.
pub fn close_names(wanted: &str, names: &[String]) -> Vec<String> {
    let folded = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let target = folded(wanted);
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .map(|name| {
            let candidate = folded(name);
            let score = if candidate == target {
                1.0
            } else {
                strsim::jaro_winkler(&candidate, &target)
            };
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.clone())
        .collect()
}

/// What to read for Config-as-Code projects.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Read the process, text variables and settings from the default branch (octoterra's
    /// `-ignoreCacManagedValues=false`); by default they stay in git and only secrets are read.
    pub include_cac_values: bool,
}

/// Find the project by exact name and read it with everything it refers to.
pub async fn fetch_project(
    client: &OctopusClient,
    space_id: &str,
    project_name: &str,
    options: ExportOptions,
) -> Result<ProjectDocuments, FetchError> {
    let projects = Api::<Project>::new(client, Some(space_id));
    let project = match projects.find_by_name(project_name).await? {
        Some(project) => project,
        None => {
            let names: Vec<String> = projects.list().await?.into_iter().map(|p| p.name).collect();
            return Err(FetchError::ProjectMissing {
                name: project_name.to_owned(),
                space: space_id.to_owned(),
                suggestions: close_names(project_name, &names),
            });
        }
    };
    let project_id = project.id.clone().unwrap_or_default();
    let base = format!("api/{space_id}/projects/{project_id}");
    let cac = project.is_config_as_code();
    let git_ref = cac.then(|| {
        project
            .persistence_settings
            .as_ref()
            .and_then(|s| s.default_branch.clone())
            .unwrap_or_else(|| "main".to_owned())
    });
    let encoded_ref = git_ref
        .as_deref()
        .map(|r| url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
    let read_git = cac && options.include_cac_values;
    let runbooks_in_git = project.conversion_state("RunbooksAreInGit");

    let process = async {
        if read_git {
            let path = format!(
                "{base}/{}/deploymentprocesses",
                encoded_ref.as_deref().unwrap_or("main")
            );
            client.get::<DeploymentProcess>(&path).await.map(Some)
        } else if cac {
            Ok(None)
        } else {
            match &project.deployment_process_id {
                Some(id) => client
                    .get::<DeploymentProcess>(&format!("api/{space_id}/deploymentprocesses/{id}"))
                    .await
                    .map(Some),
                None => client
                    .get::<DeploymentProcess>(&format!("{base}/deploymentprocesses"))
                    .await
                    .map(Some),
            }
        }
    };
    let variables = async {
        match &project.variable_set_id {
            Some(id) => client
                .get::<VariableSet>(&format!("api/{space_id}/variables/{id}"))
                .await
                .map(Some),
            None => client
                .get::<VariableSet>(&format!("{base}/variables"))
                .await
                .map(Some),
        }
    };
    // Until variables are migrated to git, Octopus keeps all of them in the database set.
    let variables_in_git = project.conversion_state("VariablesAreInGit");
    let git_variables = async {
        if read_git && variables_in_git {
            let path = format!(
                "{base}/{}/variables",
                encoded_ref.as_deref().unwrap_or("main")
            );
            client.get::<VariableSet>(&path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let settings = async {
        if read_git {
            let path = format!(
                "{base}/{}/deploymentsettings",
                encoded_ref.as_deref().unwrap_or("main")
            );
            client.get::<serde_json::Value>(&path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let channels =
        client.list_all::<Channel>(ApiRequest::get(format!("{base}/channels")).query("take", 1000));
    let runbooks = async {
        match (runbooks_in_git, read_git) {
            (true, false) => Ok(Vec::new()),
            (true, true) => {
                let path = format!(
                    "{base}/{}/runbooks",
                    encoded_ref.as_deref().unwrap_or("main")
                );
                client
                    .list_all::<Runbook>(ApiRequest::get(path).query("take", 1000))
                    .await
            }
            _ => {
                client
                    .list_all::<Runbook>(
                        ApiRequest::get(format!("{base}/runbooks")).query("take", 1000),
                    )
                    .await
            }
        }
    };
    let spaces = Api::<Space>::new(client, None);
    let space = spaces.get(space_id);
    let resources = SpaceResources::read(client, space_id);
    let (space, process, variables, git_variables, settings, channels, runbooks, resources) = tokio::try_join!(
        space,
        process,
        variables,
        git_variables,
        settings,
        channels,
        runbooks,
        resources
    )?;
    // Only the runbook processes depend on what was just read.
    let runbook_processes = runbook_processes(
        client,
        space_id,
        &base,
        encoded_ref.as_deref(),
        runbooks_in_git,
        &runbooks,
    )
    .await?;
    let runbooks = pair_with_processes(runbooks, &runbook_processes);
    Ok(ProjectDocuments {
        server: client.base_url().to_string(),
        space: Some(space),
        project: Some(project),
        deployment_process: process,
        variables,
        git_variables,
        deployment_settings: settings,
        git_ref: if read_git { git_ref } else { None },
        channels,
        runbooks,
        environments: resources.environments,
        lifecycles: resources.lifecycles,
        project_groups: resources.project_groups,
        feeds: resources.feeds,
        worker_pools: resources.worker_pools,
        git_credentials: resources.git_credentials,
        library_variable_sets: resources.library_variable_sets,
        action_templates: resources.action_templates,
    })
}

/// Database runbooks' processes in one request (`runbookProcesses?ids=`); runbooks kept in git
/// have per-runbook routes only.
async fn runbook_processes(
    client: &OctopusClient,
    space_id: &str,
    project_base: &str,
    git_ref: Option<&str>,
    in_git: bool,
    runbooks: &[Runbook],
) -> Result<Vec<DeploymentProcess>, OctopusError> {
    let ids: Vec<&str> = runbooks
        .iter()
        .filter_map(|r| r.runbook_process_id.as_deref())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if in_git {
        let reads = ids.iter().map(|id| {
            let path = format!(
                "{project_base}/{}/runbookProcesses/{id}",
                git_ref.unwrap_or("main")
            );
            async move { client.get::<DeploymentProcess>(&path).await }
        });
        return futures::future::try_join_all(reads).await;
    }
    super::resources::runbook_processes_by_ids(client, space_id, &ids).await
}

#[cfg(test)]
mod tests {
    use super::close_names;

    #[test]
    fn close_names_catch_case_spacing_and_typos() {
        let names = vec![
            "Hello World".to_owned(),
            "Hello World CaC".to_owned(),
            "Payments".to_owned(),
        ];
        assert_eq!(close_names("hello-world", &names)[0], "Hello World");
        assert!(close_names("Helo World", &names).contains(&"Hello World".to_owned()));
        assert!(close_names("Inventory", &names).is_empty());
    }
}
