//! Fetch everything a portable project needs from one space: the project's parts
//! (`project_parts`), the space's index and its script modules, read concurrently, then what the
//! project runs (`run_definitions`).

use super::client::OctopusClient;
use super::error::OctopusError;
use super::in_order::InOrder;
use super::project_parts::{self, ProjectParts, ReadOptions};
use super::resources::{Api, Project, Space};
use super::run_definitions::{self, RunDefinitions};
use super::space_index::SpaceIndex;
use std::future::Future;

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
        format!(
            ": check {} (the name is matched exactly)",
            crate::inputs::PROJECT_NAME.octopus
        )
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

/// Everything read from the server for one project: the project with its parts, the space,
/// and the space's index (ids → names).
#[derive(Debug, Clone, Default)]
pub struct ProjectDocuments {
    pub server: String,
    pub space: Option<Space>,
    pub parts: ProjectParts,
    pub index: SpaceIndex,
    /// The step templates and script modules the project runs.
    pub definitions: RunDefinitions,
}

/// The project named exactly `project_name` in `space_id`, or (when there is none) the error that
/// says so with the names closest to it.
pub async fn find_project(
    client: &OctopusClient,
    space_id: &str,
    project_name: &str,
) -> Result<Project, FetchError> {
    let projects = Api::<Project>::new(client, Some(space_id));
    match projects.find_by_name(project_name).await? {
        Some(project) => Ok(project),
        None => {
            let names: Vec<String> = projects.list().await?.into_iter().map(|p| p.name).collect();
            Err(FetchError::ProjectMissing {
                name: project_name.to_owned(),
                space: space_id.to_owned(),
                suggestions: close_names(project_name, &names),
            })
        }
    }
}

/// Read `project` of `space` with everything it refers to: its parts, the space's index and the
/// script modules of the space at once, then what its processes run.
/// `index` is the space's index when the caller started reading it already (beside the
/// space's lookup); otherwise it is read here. Its errors come after the project's either way.
pub async fn fetch_project(
    client: &OctopusClient,
    space: Space,
    project: Project,
    index: Option<impl Future<Output = Result<SpaceIndex, OctopusError>>>,
    options: ExportOptions,
) -> Result<ProjectDocuments, FetchError> {
    let space_id = space.id.clone().unwrap_or_default();
    // The parts first: the runbooks' processes wait for them (requests take turns, at most
    // `MAX_IN_FLIGHT` at once), nothing waits for the index.
    let (parts, modules, index) = tokio::join!(
        project_parts::read(
            client,
            &space_id,
            project.clone(),
            ReadOptions::for_export(options.include_cac_values)
        ),
        run_definitions::script_module_sets(client, &space_id, &project),
        async {
            match index {
                Some(index) => index.await,
                None => SpaceIndex::read(client, &space_id).await,
            }
        },
    )
    .in_order()?;
    let definitions = run_definitions::read(client, &space_id, &parts, modules).await?;
    Ok(ProjectDocuments {
        server: client.base_url().to_string(),
        space: Some(space),
        parts,
        index,
        definitions,
    })
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
