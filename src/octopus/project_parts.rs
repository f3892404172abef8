//! ONE read of a project with its channels, process, runbooks (each with its process) and
//! variables: a fixed number of requests, read concurrently (errors taken in a fixed order:
//! `in_order`), whatever the number of steps, variables or runbooks. Serialize, deploy and plan
//! all read a project through here.

use super::client::{ApiRequest, OctopusClient};
use super::error::OctopusError;
use super::in_order::{all_in_order, InOrder};
use super::resources::{
    pair_with_processes, runbook_processes_by_ids, triggers_of_project, Api, Channel,
    DeploymentProcess, Project, ProjectTrigger, Runbook, VariableSet,
};

/// Which runbooks to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runbooks {
    /// None (a project just created has none).
    Skip,
    /// Where the project keeps them: the database, or for runbooks in git the git ref (only
    /// when its values are read, else none). Never the database route for runbooks in git:
    /// real servers refuse it (OctopusDeploy/Issues#7555).
    AsStored,
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Config-as-Code: read the process, text variables, deployment settings and runbooks from
    /// the default branch (octoterra's `-ignoreCacManagedValues=false`).
    pub git_values: bool,
    /// Config-as-Code with text variables in git: read them from the default branch, though
    /// the rest of the git values are not read (deploy and plan compare the package's text
    /// variables with them).
    pub git_variables: bool,
    pub runbooks: Runbooks,
    /// The project's triggers (a project just created has none).
    pub triggers: bool,
}

impl ReadOptions {
    /// Deploy and plan: the parts a deploy writes, each where the project keeps it (text
    /// variables in git from the default branch).
    pub fn for_deploy(with_runbooks: bool) -> ReadOptions {
        ReadOptions {
            git_values: false,
            git_variables: true,
            runbooks: if with_runbooks {
                Runbooks::AsStored
            } else {
                Runbooks::Skip
            },
            triggers: with_runbooks,
        }
    }

    /// Serialize: everything the project holds, the git values when asked.
    pub fn for_export(git_values: bool) -> ReadOptions {
        ReadOptions {
            git_values,
            git_variables: git_values,
            runbooks: Runbooks::AsStored,
            triggers: true,
        }
    }
}

/// A project and what belongs to it. `Default` is "no such project yet".
#[derive(Debug, Clone, Default)]
pub struct ProjectParts {
    pub project: Option<Project>,
    /// Absent for Config-as-Code projects unless their git values are read.
    pub deployment_process: Option<DeploymentProcess>,
    /// The database variable set (for Config-as-Code projects: where the secrets live).
    pub variables: Option<VariableSet>,
    /// Config-as-Code: the text variables from the git ref, when read.
    pub git_variables: Option<VariableSet>,
    /// Config-as-Code: `/{gitRef}/deploymentsettings`, when read.
    pub deployment_settings: Option<serde_json::Value>,
    /// The git ref the git values were read from.
    pub git_ref: Option<String>,
    pub channels: Vec<Channel>,
    /// Each runbook with its process.
    pub runbooks: Vec<(Runbook, Option<DeploymentProcess>)>,
    /// The project triggers (Config-as-Code projects keep them in the database too).
    pub triggers: Vec<ProjectTrigger>,
}

/// The project named exactly `name` in the space, or `None`.
pub async fn find_project(
    client: &OctopusClient,
    space_id: &str,
    name: &str,
) -> Result<Option<Project>, OctopusError> {
    Api::<Project>::new(client, Some(space_id))
        .find_by_name(name)
        .await
}

/// The project named `name` with its parts (`ProjectParts::default()` when there is none).
pub async fn read_by_name(
    client: &OctopusClient,
    space_id: &str,
    name: &str,
    options: ReadOptions,
) -> Result<ProjectParts, OctopusError> {
    match find_project(client, space_id, name).await? {
        Some(project) => read(client, space_id, project, options).await,
        None => Ok(ProjectParts::default()),
    }
}

/// Read `project`'s parts concurrently; only the runbook processes wait for the runbooks.
/// Errors are taken in this order, not in the order they answered: the process's, the
/// variables', the git variables', the settings', the channels', the runbooks' (then their
/// processes'), the triggers'.
pub async fn read(
    client: &OctopusClient,
    space_id: &str,
    project: Project,
    options: ReadOptions,
) -> Result<ProjectParts, OctopusError> {
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
    let read_git = cac && options.git_values;
    let in_git = |what: &str| format!("{base}/{}/{what}", encoded_ref.as_deref().unwrap_or("main"));
    let runbooks_in_git = project.conversion_state("RunbooksAreInGit");
    // Until variables are migrated to git, Octopus keeps all of them in the database set.
    let variables_in_git = project.conversion_state("VariablesAreInGit");

    let process = async {
        if read_git {
            client
                .get::<DeploymentProcess>(&in_git("deploymentprocesses"))
                .await
                .map(Some)
        } else if cac {
            Ok(None)
        } else {
            let path = match &project.deployment_process_id {
                Some(id) => format!("api/{space_id}/deploymentprocesses/{id}"),
                None => format!("{base}/deploymentprocesses"),
            };
            client.get::<DeploymentProcess>(&path).await.map(Some)
        }
    };
    let variables = async {
        let path = match &project.variable_set_id {
            Some(id) => format!("api/{space_id}/variables/{id}"),
            None => format!("{base}/variables"),
        };
        client.get::<VariableSet>(&path).await.map(Some)
    };
    let git_variables = async {
        if cac && (read_git || options.git_variables) && variables_in_git {
            client
                .get::<VariableSet>(&in_git("variables"))
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let settings = async {
        if read_git {
            client
                .get::<serde_json::Value>(&in_git("deploymentsettings"))
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let channels =
        client.list_all::<Channel>(ApiRequest::get(format!("{base}/channels")).query("take", 1000));
    let runbooks_from_git = runbooks_in_git && options.runbooks == Runbooks::AsStored;
    // Each runbook's process as soon as the runbooks are known, not after the other parts.
    let runbooks = async {
        let path = match options.runbooks {
            Runbooks::Skip => return Ok(Vec::new()),
            Runbooks::AsStored if runbooks_in_git && !read_git => return Ok(Vec::new()),
            Runbooks::AsStored if runbooks_in_git => in_git("runbooks"),
            Runbooks::AsStored => format!("{base}/runbooks"),
        };
        let runbooks = client
            .list_all::<Runbook>(ApiRequest::get(path).query("take", 1000))
            .await?;
        let processes = runbook_processes(
            client,
            space_id,
            &base,
            encoded_ref.as_deref(),
            runbooks_from_git,
            &runbooks,
        )
        .await?;
        Ok(pair_with_processes(runbooks, &processes))
    };
    let triggers = async {
        if options.triggers {
            triggers_of_project(client, space_id, &project_id).await
        } else {
            Ok(Vec::new())
        }
    };
    // The runbooks go out first (their processes wait for them); errors are still taken in the
    // order below.
    let (runbooks, process, variables, git_variables, settings, channels, triggers) = tokio::join!(
        runbooks,
        process,
        variables,
        git_variables,
        settings,
        channels,
        triggers
    );
    let (process, variables, git_variables, settings, channels, runbooks, triggers) = (
        process,
        variables,
        git_variables,
        settings,
        channels,
        runbooks,
        triggers,
    )
        .in_order()?;
    Ok(ProjectParts {
        project: Some(project),
        deployment_process: process,
        variables,
        git_variables,
        deployment_settings: settings,
        git_ref: if read_git { git_ref } else { None },
        channels,
        runbooks,
        triggers,
    })
}

/// Where a Config-as-Code project's documents on its default branch are served:
/// `api/{space}/projects/{id}/{gitRef}` (the branch name URL-encoded, as the `{gitRef}` links
/// take it). `None` for a database project.
pub fn default_branch_route(space_id: &str, project: &Project) -> Option<String> {
    if !project.is_config_as_code() {
        return None;
    }
    let branch = project
        .persistence_settings
        .as_ref()
        .and_then(|s| s.default_branch.clone())
        .unwrap_or_else(|| "main".to_owned());
    let encoded: String = url::form_urlencoded::byte_serialize(branch.as_bytes()).collect();
    Some(format!(
        "api/{space_id}/projects/{}/{encoded}",
        project.id.as_deref().unwrap_or_default()
    ))
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
        return all_in_order(reads).await;
    }
    runbook_processes_by_ids(client, space_id, &ids).await
}

/// Convert a database project to Config-as-Code (`POST /projects/{id}/git/convert`). A POST is
/// not retried blindly: after a failure the project is re-read, and a converted project (an
/// earlier attempt that committed, or a concurrent deploy) is success; only a transient failure
/// (5xx, 429, no answer) is tried again.
pub async fn convert_to_git(
    client: &OctopusClient,
    space_id: &str,
    project_id: &str,
    body: &serde_json::Value,
) -> Result<(), OctopusError> {
    let path = format!("api/{space_id}/projects/{project_id}/git/convert");
    let policy = client.retry_policy();
    let mut attempt = 1;
    while let Err(error) = client.post(&path, body).await {
        let now = Api::<Project>::new(client, Some(space_id))
            .get(project_id)
            .await?;
        if now.is_config_as_code() {
            break;
        }
        if !error.is_transient() || !policy.should_retry(attempt, error.is_timeout()) {
            return Err(error);
        }
        tokio::time::sleep(policy.delay(attempt, error.retry_after())).await;
        attempt += 1;
    }
    Ok(())
}
