//! `fork`: make sure the tenant's downstream repository exists on the platform, mirror the
//! upstream into it, set its default branch after the first push, report. Orchestration only;
//! the work is in `forge`.

use super::ActionError;
use crate::config::ForkConfig;
use crate::forge::gitea::Gitea;
use crate::forge::github::GitHub;
use crate::forge::gitlab::GitLab;
use crate::forge::mirror::{self, MirrorCredentials, MirrorRequest, RefOutcome};
use crate::forge::{Forge, ForgeAccess, ForgeError, Platform};
use crate::origin;
use serde::Serialize;
use url::Url;

#[derive(Debug, Clone, Serialize)]
pub struct ForkReport {
    pub platform: Platform,
    /// `organization/name` as the platform names it.
    pub repository: String,
    /// The clone URL deploy should use (no credentials in it).
    pub repository_url: String,
    pub upstream_url: String,
    pub created: bool,
    pub refs: Vec<RefOutcome>,
    pub pushed_refs: usize,
    pub bytes_fetched: usize,
    pub bytes_pushed: usize,
    /// The default branch was set by this run.
    pub default_branch_set: bool,
}

/// The repository URL in the template project's persistence settings: http(s) and without
/// userinfo, like `Git.Url.Upstream` (a credential there would go to whatever host it names).
async fn upstream_of_project(
    server: &crate::config::ServerConfig,
    space: &str,
    project_name: &str,
) -> Result<String, ActionError> {
    use crate::octopus::resources::{Project, Space};
    use crate::octopus::Api;
    let name = format!("the management server {}", server.url);
    let client = super::create_space::connect(server)?;
    let space_id = Api::<Space>::new(&client, None)
        .resolve(space)
        .await
        .map_err(ActionError::octopus(&name))?
        .and_then(|s| s.id)
        .ok_or_else(|| ActionError::Input(format!("space `{space}` was not found on {name}")))?;
    let project = Api::<Project>::new(&client, Some(&space_id))
        .find_by_name(project_name)
        .await
        .map_err(ActionError::octopus(&name))?
        .ok_or_else(|| ActionError::Input(format!("project `{project_name}` was not found in {space_id} on {name}: check Octopus.Project.Name, or give Git.Url.Upstream")))?;
    let text = project
        .persistence_settings
        .filter(|settings| settings.kind == "VersionControlled")
        .and_then(|settings| settings.url)
        .ok_or_else(|| ActionError::Input(format!("project `{project_name}` is not a Config-as-Code project: there is no repository to fork")))?;
    let settings =
        format!("the Config-as-Code repository URL of project `{project_name}` on {name}");
    let url = Url::parse(&text).map_err(|_| {
        ActionError::Input(format!(
            "{settings} (`{}`) is not a URL: fix it in the project's version control settings, or give Git.Url.Upstream",
            origin::display_text(&text)
        ))
    })?;
    if origin::has_userinfo(&url) {
        // Not shown: the userinfo is a credential.
        return Err(ActionError::Input(format!(
            "{settings} ({}) has credentials in it: remove them from the project's version control settings (Octopus keeps them in a git credential), and give the upstream's credentials as Git.Upstream.Credentials.Username and Git.Upstream.Credentials.Password if it is not on Git.Url.Host",
            origin::display(&url)
        )));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ActionError::Input(format!(
            "{settings} ({}) is not an http(s) URL, which is all fork speaks: give Git.Url.Upstream",
            origin::display(&url)
        )));
    }
    Ok(text)
}

fn forge_error(error: ForgeError) -> ActionError {
    match error {
        ForgeError::CaFile { .. } => ActionError::Input(error.to_string()),
        _ => ActionError::Failed(error.to_string()),
    }
}

pub async fn run(config: &ForkConfig) -> Result<ForkReport, ActionError> {
    // With management inputs, the upstream is where the template project's Config-as-Code
    // settings point.
    let resolved;
    let config = match &config.upstream_project {
        Some((crate::config::Management { server, space }, project)) => {
            let mut with_upstream = config.clone();
            with_upstream.upstream_url = upstream_of_project(server, space, project).await?;
            resolved = with_upstream;
            &resolved
        }
        None => config,
    };
    let access = ForgeAccess {
        platform: config.platform,
        api_base: config
            .platform
            .api_base(&config.protocol, &config.host)
            .map_err(|error| ActionError::Input(format!("Git.Url.Host: {error}")))?,
        username: config.username.clone(),
        password: config.password.clone(),
        ca_file: config.ca_file.clone(),
    };
    match config.platform {
        Platform::Gitea => fork_on(&Gitea::new(&access).map_err(forge_error)?, config).await,
        Platform::GitHub => fork_on(&GitHub::new(&access).map_err(forge_error)?, config).await,
        Platform::GitLab => fork_on(&GitLab::new(&access).map_err(forge_error)?, config).await,
    }
}

async fn fork_on<F: Forge>(forge: &F, config: &ForkConfig) -> Result<ForkReport, ActionError> {
    // The forge's client has read the file as PEM by now; git loads it before anything is
    // written on the platform, so a file it cannot use changes nothing.
    if let Some(path) = &config.ca_file {
        mirror::trust_ca_file(path).map_err(|error| ActionError::Input(error.to_string()))?;
    }
    tracing::info!(
        platform = %config.platform,
        "forking {} into {}/{}",
        config.upstream_url,
        config.organization,
        config.new_repo
    );
    let repository = forge
        .ensure_repository(&config.organization, &config.new_repo, &config.main_line)
        .await
        .map_err(forge_error)?;
    tracing::info!(
        "{} repository {} ({})",
        if repository.created {
            "created"
        } else {
            "found"
        },
        repository.full_name,
        repository.clone_url
    );

    let request = MirrorRequest {
        upstream_url: config.upstream_url.clone(),
        downstream_url: repository.clone_url.clone(),
        branch: config.main_line.clone(),
        all_branches: config.all_branches,
        force: config.force,
    };
    let credentials = MirrorCredentials {
        forge_origin: Url::parse(&format!("{}://{}/", config.protocol, config.host))
            .map_err(|error| ActionError::Input(format!("Git.Url.Host: {error}")))?,
        forge: mirror::GitCredentials {
            username: config.username.clone(),
            password: config.password.clone(),
        },
        upstream: config.upstream_credentials.clone(),
    };

    // git2 blocks: run it off the async workers.
    let mirrored = tokio::task::spawn_blocking(move || mirror::mirror(&request, &credentials))
        .await
        .map_err(|error| ActionError::Failed(format!("the git mirror stopped: {error}")))?
        .map_err(|error| ActionError::Failed(error.to_string()))?;
    for outcome in &mirrored.refs {
        tracing::info!("{}: {}", outcome.name, outcome.action);
    }

    // After the first push (a platform may have taken another branch as default), or when the
    // platform names another default branch; otherwise nothing to write.
    let default_branch_set = mirrored.main_line_created
        || repository.default_branch.as_deref() != Some(config.main_line.as_str());
    if default_branch_set {
        forge
            .set_default_branch(&repository, &config.main_line)
            .await
            .map_err(forge_error)?;
        tracing::info!("default branch set to {}", config.main_line);
    }
    Ok(ForkReport {
        platform: config.platform,
        repository: repository.full_name,
        repository_url: repository.clone_url,
        upstream_url: config.upstream_url.clone(),
        created: repository.created,
        refs: mirrored.refs,
        pushed_refs: mirrored.pushed_refs,
        bytes_fetched: mirrored.bytes_fetched,
        bytes_pushed: mirrored.bytes_pushed,
        default_branch_set,
    })
}
