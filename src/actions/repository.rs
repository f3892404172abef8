//! What `fork` and `merge` share: the repositories they work on with the upstream resolved (from
//! the template project's Config-as-Code settings), how to reach the platform's API, which git
//! credential may go to which origin, and where a repository report goes.

use super::{ActionError, Server, While, GIVE_ID_OR_NAME};
use crate::config::{Management, RepositoryConfig};
use crate::forge::mirror::{self, MirrorCredentials};
use crate::forge::{ForgeAccess, ForgeError};
use crate::http_client::{self, HttpSettings};
use crate::inputs::{
    quoted, GIT_HOST, GIT_UPSTREAM, GIT_UPSTREAM_PASSWORD, GIT_UPSTREAM_USERNAME, PROJECT_NAME,
};
use crate::origin;
use crate::report::{ReportFiles, ReportTarget};
use serde::Serialize;
use url::Url;

/// The repository URL in the template project's persistence settings: http(s) and without
/// userinfo, like `Git.Url.Upstream` (a credential there would go to whatever host it names).
async fn upstream_of_project(
    management: &Management,
    project_name: &str,
) -> Result<String, ActionError> {
    use crate::octopus::resources::Project;
    use crate::octopus::Api;
    let server = Server::management(&management.server)?;
    let name = server.label();
    let space_id = server.space_id(&management.space, GIVE_ID_OR_NAME).await?;
    let project = Api::<Project>::new(&server.client, Some(&space_id))
        .find_by_name(project_name)
        .await
        .map_err(server.error())?
        .ok_or_else(|| {
            ActionError::input(format!(
                "project {} was not found in {space_id} on {name}: check {}, or give {}",
                quoted(project_name),
                PROJECT_NAME.octopus,
                GIT_UPSTREAM.octopus
            ))
        })?;
    let text = project
        .persistence_settings
        .filter(|settings| settings.kind == "VersionControlled")
        .and_then(|settings| settings.url)
        .ok_or_else(|| {
            ActionError::input(format!(
                "project {} is not a Config-as-Code project: there is no repository to fork",
                quoted(project_name)
            ))
        })?;
    let settings =
        format!("the Config-as-Code repository URL of project `{project_name}` on {name}");
    let url = Url::parse(&text).map_err(|_| {
        ActionError::input(format!(
            "{settings} (`{}`) is not a URL: fix it in the project's version control settings, or give {}",
            origin::display_text(&text),
            GIT_UPSTREAM.octopus
        ))
    })?;
    if origin::has_userinfo(&url) {
        // Not shown: the userinfo is a credential.
        return Err(ActionError::input(format!(
            "{settings} ({}) has credentials in it: remove them from the project's version control settings (Octopus keeps them in a git credential), and give the upstream's credentials as {} and {} if it is not on {}",
            origin::display(&url),
            GIT_UPSTREAM_USERNAME.octopus,
            GIT_UPSTREAM_PASSWORD.octopus,
            GIT_HOST.octopus
        )));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ActionError::input(format!(
            "{settings} ({}) is not an http(s) URL, which is all fork speaks: give {}",
            origin::display(&url),
            GIT_UPSTREAM.octopus
        )));
    }
    Ok(text)
}

pub(super) fn forge_error(error: ForgeError) -> ActionError {
    ActionError::failed(error)
}

/// The repositories with the upstream resolved: with management inputs, where the template
/// project's Config-as-Code settings point.
pub(super) async fn resolved(config: &RepositoryConfig) -> Result<RepositoryConfig, ActionError> {
    let mut config = config.clone();
    if let Some((management, project)) = &config.upstream_project {
        config.upstream_url = upstream_of_project(management, project).await?;
    }
    Ok(config)
}

/// How to reach the platform's API and its git: the run's one HTTP client (a CA file it cannot
/// use is an input error here, before anything is written).
pub(super) fn forge_access(config: &RepositoryConfig) -> Result<ForgeAccess, ActionError> {
    let http = http_client::build(&HttpSettings::new(config.ca_file.clone()))
        .map_err(ActionError::input)?;
    Ok(ForgeAccess {
        platform: config.platform,
        api_base: config
            .platform
            .api_base(&config.protocol, &config.host)
            .map_err(|error| ActionError::input(While::new(GIT_HOST.octopus, error)))?,
        username: config.username.clone(),
        password: config.password.clone(),
        http,
        deadline: config.deadline,
    })
}

/// Which git credential may go to which origin.
pub(super) fn git_credentials(config: &RepositoryConfig) -> Result<MirrorCredentials, ActionError> {
    Ok(MirrorCredentials {
        forge_origin: Url::parse(&format!("{}://{}/", config.protocol, config.host))
            .map_err(|error| ActionError::input(While::new(GIT_HOST.octopus, error)))?,
        forge: mirror::GitCredentials {
            username: config.username.clone(),
            password: config.password.clone(),
        },
        upstream: config.upstream_credentials.clone(),
    })
}

/// Write the report of a run on `repository` (fork, merge), named after the tenant, else the
/// repository. Nothing secret is in a repository report to mask.
pub(super) fn write_repository_report(
    dir: &std::path::Path,
    repository: &RepositoryConfig,
    action: &str,
    html: &str,
    data: &impl Serialize,
) -> Result<ReportFiles, ActionError> {
    let target = ReportTarget {
        dir: dir.to_owned(),
        subject: repository
            .tenant_name
            .clone()
            .unwrap_or_else(|| repository.new_repo.clone()),
        tenant: repository.tenant_name.clone(),
    };
    crate::report::write(&target, action, html, data, &[]).map_err(ActionError::failed)
}
