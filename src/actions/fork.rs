//! `fork`: make sure the tenant's downstream repository exists on the platform, mirror the
//! upstream into it, set its default branch after the first push, report. Orchestration only;
//! the work is in `forge`.

use super::{ActionError, Report, Server, While, GIVE_ID_OR_NAME};
use crate::config::{
    quoted, ForkConfig, Management, RepositoryConfig, GIT_HOST, GIT_UPSTREAM,
    GIT_UPSTREAM_PASSWORD, GIT_UPSTREAM_USERNAME, PROJECT_NAME,
};
use crate::forge::gitea::Gitea;
use crate::forge::github::GitHub;
use crate::forge::gitlab::GitLab;
use crate::forge::mirror::{self, MirrorCredentials, MirrorRequest, RefAction, RefOutcome};
use crate::forge::{Forge, ForgeAccess, ForgeError, Platform};
use crate::log_format::progress;
use crate::origin;
use crate::report::html::{Cell, Page, Row};
use crate::report::{ReportFiles, ReportTarget};
use crate::service_messages::ServiceMessage;
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
    /// The report written beside the log (HTML and JSON), when there is a report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_files: Option<ReportFiles>,
}

impl std::fmt::Display for ForkReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ← {}: {} of {} refs pushed, {} bytes",
            if self.created { "created" } else { "found" },
            self.repository_url,
            self.upstream_url,
            self.pushed_refs,
            self.refs.len(),
            self.bytes_pushed
        )
    }
}

impl Report for ForkReport {
    fn output_variables(&self) -> Vec<ServiceMessage> {
        let mut messages = vec![ServiceMessage::set_variable(
            "RepositoryUrl",
            &self.repository_url,
        )];
        if let Some(files) = &self.report_files {
            messages.extend(files.artifacts());
        }
        messages
    }
}

/// A repository's page: its clone URL without `.git` (so on Gitea, GitHub and GitLab alike).
pub fn web_url(clone_url: &str) -> &str {
    clone_url.strip_suffix(".git").unwrap_or(clone_url)
}

/// The facts a repository report starts with: the repository (linked), its platform, clone URL
/// and upstream.
pub fn repository_facts<'a>(
    platform: Platform,
    repository: &str,
    repository_url: &str,
    upstream_url: &str,
) -> Vec<(&'a str, Cell)> {
    vec![
        (
            "repository",
            Cell::link(repository, web_url(repository_url)),
        ),
        ("platform", Cell::text(&platform.to_string())),
        ("clone URL", Cell::code(repository_url)),
        ("upstream", Cell::code(upstream_url)),
    ]
}

/// A commit ID shortened as git shows it.
pub fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}

impl ForkReport {
    /// The report page: the repository, where it came from, and what happened to each ref.
    pub fn html(&self) -> String {
        let mut page = Page::new(&format!("octofleet fork: {}", self.repository));
        let changed = self.pushed_refs > 0 || self.created;
        page.headline(
            if changed { "created" } else { "unchanged" },
            &format!(
                "{} {}: {} of {} refs pushed",
                if self.created { "created" } else { "found" },
                self.repository,
                self.pushed_refs,
                self.refs.len()
            ),
        );
        let mut facts = repository_facts(
            self.platform,
            &self.repository,
            &self.repository_url,
            &self.upstream_url,
        );
        facts.extend([
            (
                "default branch",
                Cell::text(if self.default_branch_set {
                    "set by this run"
                } else {
                    "as it was"
                }),
            ),
            (
                "transferred",
                Cell::text(&format!(
                    "{} bytes fetched, {} bytes pushed",
                    self.bytes_fetched, self.bytes_pushed
                )),
            ),
        ]);
        page.facts(facts);
        page.heading("Refs");
        let rows = self
            .refs
            .iter()
            .map(|outcome| {
                let (class, text) = match outcome.action {
                    RefAction::Created => ("created", "created"),
                    RefAction::Unchanged => ("unchanged", "unchanged"),
                    RefAction::FastForwarded => ("pushed", "fast-forwarded"),
                    RefAction::Forced => ("removed", "reset to upstream (forced)"),
                    RefAction::KeptAhead => ("kept", "kept: the tenant's commits are ahead"),
                };
                Row::new(
                    Some(class),
                    vec![
                        Cell::code(&outcome.name),
                        Cell::text(text),
                        Cell::code(short(&outcome.upstream)),
                        Cell::code(outcome.downstream.as_deref().map(short).unwrap_or("–")),
                    ],
                )
            })
            .collect();
        page.table(
            &["ref", "what happened", "upstream", "downstream before"],
            rows,
        );
        page.finish()
    }
}

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
    match error {
        ForgeError::CaFile { .. } => ActionError::input(error),
        _ => ActionError::failed(error),
    }
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

/// How to reach the platform's API.
pub(super) fn forge_access(config: &RepositoryConfig) -> Result<ForgeAccess, ActionError> {
    Ok(ForgeAccess {
        platform: config.platform,
        api_base: config
            .platform
            .api_base(&config.protocol, &config.host)
            .map_err(|error| ActionError::input(While::new(GIT_HOST.octopus, error)))?,
        username: config.username.clone(),
        password: config.password.clone(),
        ca_file: config.ca_file.clone(),
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

pub async fn run(config: &ForkConfig) -> Result<ForkReport, ActionError> {
    super::check_report_dir(config.report_dir.as_deref())?;
    let config = &ForkConfig {
        repository: resolved(&config.repository).await?,
        ..config.clone()
    };
    let access = forge_access(config)?;
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
        mirror::trust_ca_file(path).map_err(ActionError::input)?;
    }
    tracing::info!(
        platform = %config.platform,
        "forking {} into {}/{}",
        config.upstream_url,
        config.organization,
        config.new_repo
    );
    progress(
        0,
        &format!(
            "Finding or creating {}/{}",
            config.organization, config.new_repo
        ),
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
    let credentials = git_credentials(config)?;

    progress(
        20,
        &format!(
            "Mirroring {} into {}",
            if config.all_branches {
                "every branch and tag"
            } else {
                config.main_line.as_str()
            },
            repository.full_name
        ),
    );
    // git2 blocks: run it off the async workers.
    let mirrored = tokio::task::spawn_blocking(move || mirror::mirror(&request, &credentials))
        .await
        .map_err(|error| ActionError::failed(While::new("the git mirror stopped", error)))?
        .map_err(ActionError::failed)?;
    for outcome in &mirrored.refs {
        tracing::info!("{}: {}", outcome.name, outcome.action);
    }

    // After the first push (a platform may have taken another branch as default), or when the
    // platform names another default branch; otherwise nothing to write.
    progress(
        90,
        &format!(
            "{} of {} refs pushed",
            mirrored.pushed_refs,
            mirrored.refs.len()
        ),
    );
    let default_branch_set = mirrored.main_line_created
        || repository.default_branch.as_deref() != Some(config.main_line.as_str());
    if default_branch_set {
        forge
            .set_default_branch(&repository, &config.main_line)
            .await
            .map_err(forge_error)?;
        tracing::info!("default branch set to {}", config.main_line);
    }
    let mut report = ForkReport {
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
        report_files: None,
    };
    if let Some(dir) = &config.report_dir {
        let files = write_repository_report(dir, config, "fork", &report.html(), &report)?;
        report.report_files = Some(files);
    }
    Ok(report)
}

/// Write the report of a run on `repository` (fork, merge), named after the tenant, else the
/// repository. Nothing secret is in a repository report to mask.
pub fn write_repository_report(
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
