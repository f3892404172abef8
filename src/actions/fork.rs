//! `fork`: make sure the tenant's downstream repository exists on the platform, mirror the
//! upstream into it, set its default branch after the first push, report. Orchestration only;
//! the work is in `forge`.

use super::repository::{
    forge_access, forge_error, git_credentials, resolved, write_repository_report,
};
use super::{ActionError, Report, While};
use crate::config::ForkConfig;
use crate::forge::gitea::Gitea;
use crate::forge::github::GitHub;
use crate::forge::gitlab::GitLab;
use crate::forge::mirror::{self, GitHttp, MirrorRequest};
use crate::forge::{Forge, Platform};
use crate::log_format::progress;
use crate::report::fork::ForkReport;
use crate::service_messages::ServiceMessage;

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

/// Find or create the tenant's repository on the platform and mirror the upstream into it.
pub async fn run(config: &ForkConfig) -> Result<ForkReport, ActionError> {
    super::check_report_dir(config.report_dir.as_deref())?;
    let config = &ForkConfig {
        repository: resolved(&config.repository).await?,
        ..config.clone()
    };
    let access = forge_access(config)?;
    // git over the same client as the platform's API, within the action's deadline.
    let git = GitHttp::new(access.http.clone(), access.deadline);
    match config.platform {
        Platform::Gitea => fork_on(&Gitea::new(&access).map_err(forge_error)?, config, &git).await,
        Platform::GitHub => {
            fork_on(&GitHub::new(&access).map_err(forge_error)?, config, &git).await
        }
        Platform::GitLab => {
            fork_on(&GitLab::new(&access).map_err(forge_error)?, config, &git).await
        }
    }
}

async fn fork_on<F: Forge>(
    forge: &F,
    config: &ForkConfig,
    git: &GitHttp,
) -> Result<ForkReport, ActionError> {
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
    let mirrored = tokio::task::spawn_blocking({
        let git = git.clone();
        move || mirror::mirror(&request, &credentials, &git)
    })
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
