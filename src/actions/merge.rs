//! `merge`: bring upstream's new commits into the tenant's downstream repository, found without
//! any state (as fork names it); on conflicts open (or find) a pull request a person resolves.
//! Orchestration only; the git work is in `forge::merge`, the platform calls in `forge`.

use super::repository::{
    forge_access, forge_error, git_credentials, resolved, write_repository_report,
};
use super::server::find_space;
use super::Server;
use super::{ActionError, Report, While, EXIT_CHANGES};
use crate::config::{DownstreamLookup, MergeConfig, RepositoryConfig};
use crate::forge::gitea::Gitea;
use crate::forge::github::GitHub;
use crate::forge::gitlab::GitLab;
use crate::forge::merge::{self, BranchMerge, MergeRequest, Outcome};
use crate::forge::mirror::GitHttp;
use crate::forge::{Forge, Platform};
use crate::inputs::{quoted, EXPORTED_PROJECT_NAME, GIT_HOST, GIT_NEW_REPO};
use crate::log_format::progress;
use crate::report::merge::{BranchPullRequest, MergeSummary};
use crate::service_messages::ServiceMessage;

/// Conflicts first, then a merge, a fast-forward, ahead, up to date.
fn overall(branches: &[BranchMerge]) -> Outcome {
    let rank = |outcome: Outcome| match outcome {
        Outcome::DivergedConflicts => 4,
        Outcome::DivergedClean => 3,
        Outcome::Behind => 2,
        Outcome::Ahead => 1,
        Outcome::UpToDate => 0,
    };
    branches
        .iter()
        .map(|branch| branch.outcome)
        .max_by_key(|outcome| rank(*outcome))
        .unwrap_or(Outcome::UpToDate)
}

impl Report for MergeSummary {
    fn output_variables(&self) -> Vec<ServiceMessage> {
        let mut variables = vec![
            ServiceMessage::set_variable("MergeOutcome", self.outcome.name()),
            ServiceMessage::set_variable("ConflictCount", &self.conflict_count.to_string()),
        ];
        if let Some(url) = self.pull_request_url() {
            variables.push(ServiceMessage::set_variable("PullRequestUrl", url));
        }
        if let Some(files) = &self.report_files {
            variables.extend(files.artifacts());
        }
        variables
    }

    fn details(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for branch in &self.branches {
            let counts = match branch.outcome {
                Outcome::UpToDate => String::new(),
                _ => format!(
                    " ({} upstream commits to bring in, {} of the tenant's)",
                    branch.behind, branch.ahead
                ),
            };
            let done = match (branch.outcome, self.check, branch.pushed) {
                (Outcome::Behind, false, _) => "; fast-forwarded".to_owned(),
                (Outcome::DivergedClean, false, _) => format!(
                    "; merged as {}",
                    branch.merge_commit.as_deref().unwrap_or_default()
                ),
                (Outcome::DivergedConflicts, false, pushed) => format!(
                    "; upstream's commit {} branch {}",
                    if pushed { "pushed to" } else { "already on" },
                    branch.conflict_branch.as_deref().unwrap_or_default()
                ),
                _ => String::new(),
            };
            lines.push(format!(
                "{}: {}{counts}{done}",
                branch.branch, branch.outcome
            ));
            for conflict in &branch.conflicts {
                lines.push(format!("  conflict: {conflict}"));
            }
        }
        for found in &self.pull_requests {
            lines.push(format!(
                "pull request #{} {} ({} → {}): {}",
                found.pull_request.number,
                if found.pull_request.created {
                    "opened"
                } else {
                    "found"
                },
                found.head,
                found.base,
                found.pull_request.url
            ));
        }
        lines
    }

    /// 3 when a person is needed (conflicts), or with `--check` when there is anything to bring in.
    fn exit_code(&self) -> u8 {
        let pending = self.branches.iter().any(|branch| branch.outcome.pending());
        if self.outcome == Outcome::DivergedConflicts || (self.check && pending) {
            EXIT_CHANGES as u8
        } else {
            0
        }
    }
}

/// Bring upstream's new commits into the tenant's repository; open (or find) a pull request for
/// conflicts a person resolves.
pub async fn run(config: &MergeConfig) -> Result<MergeSummary, ActionError> {
    super::check_report_dir(config.report_dir.as_deref())?;
    let mut repository = resolved(&config.repository).await?;
    if let Some(lookup) = &config.downstream_lookup {
        let (owner, name) = downstream_of_project(lookup, &repository).await?;
        if (owner.as_str(), name.as_str())
            != (
                repository.organization.as_str(),
                repository.new_repo.as_str(),
            )
        {
            tracing::info!(
                "the downstream project `{}` points at {owner}/{name} (the naming rule would give {}/{})",
                lookup.project,
                repository.organization,
                repository.new_repo
            );
        }
        repository.organization = owner;
        repository.new_repo = name;
    }
    let config = &MergeConfig {
        repository,
        ..config.clone()
    };
    let access = forge_access(config)?;
    // git over the same client as the platform's API, within the action's deadline.
    let git = GitHttp::new(access.http.clone(), access.deadline);
    match config.platform {
        Platform::Gitea => merge_on(&Gitea::new(&access).map_err(forge_error)?, config, &git).await,
        Platform::GitHub => {
            merge_on(&GitHub::new(&access).map_err(forge_error)?, config, &git).await
        }
        Platform::GitLab => {
            merge_on(&GitLab::new(&access).map_err(forge_error)?, config, &git).await
        }
    }
}

/// The pull request's description: what conflicts, and what to do.
fn pull_request_body(branch: &BranchMerge, upstream_url: &str) -> String {
    let mut text = format!(
        "octofleet could not merge upstream commit {} ({}) into `{}` on its own: these files changed on both sides.\n\n",
        branch.upstream,
        crate::origin::display_text(upstream_url),
        branch.branch
    );
    for conflict in &branch.conflicts {
        text.push_str(&format!("- {conflict}\n"));
    }
    text.push_str(&format!(
        "\nResolve the conflicts on this branch (for example merge `{}` into it and fix the files), then merge this pull request. octofleet merge finds this pull request again on its next run and opens no other for the same commit.\n",
        branch.branch
    ));
    text
}

/// The downstream repository as the downstream project's Config-as-Code settings in the managed
/// space name it: `(owner, name)` on the platform. It must be on the platform's origin (the only
/// one the credentials may go to), http(s) and without userinfo.
async fn downstream_of_project(
    lookup: &DownstreamLookup,
    repository: &RepositoryConfig,
) -> Result<(String, String), ActionError> {
    use crate::octopus::resources::Project;
    use crate::octopus::Api;
    let server = Server::managed(&lookup.server)?;
    let space_id = find_space(&server, &lookup.space).await?.id;
    let project = Api::<Project>::new(&server.client, Some(&space_id))
        .find_by_name(&lookup.project)
        .await
        .map_err(server.error())?
        .ok_or_else(|| {
            ActionError::failed(format!(
                "project {} is not in the managed space {space_id} on {}: deploy it first (octofleet deploy), or check {}",
                quoted(&lookup.project),
                server.label(),
                EXPORTED_PROJECT_NAME.octopus
            ))
        })?;
    let url = project
        .persistence_settings
        .as_ref()
        .and_then(|settings| settings.url.clone())
        .filter(|_| project.is_config_as_code())
        .ok_or_else(|| {
            ActionError::failed(format!(
                "project {} in {space_id} on {} is not version controlled: merge brings upstream changes into a Config-as-Code project's repository (deploy the Config-as-Code package with the fork's URL first)",
                quoted(&lookup.project),
                server.label()
            ))
        })?;
    downstream_path(&url, &repository.protocol, &repository.host).map_err(ActionError::failed)
}

/// `(owner, name)` from a clone URL on `protocol://host`: the path's last segment without
/// `.git`, and what is before it (a GitLab subgroup path included).
fn downstream_path(url: &str, protocol: &str, host: &str) -> Result<(String, String), String> {
    let shown = crate::origin::display_text(url);
    let parsed = url::Url::parse(url)
        .map_err(|_| format!("the downstream project's repository URL {shown} is not a URL"))?;
    let forge = url::Url::parse(&format!("{protocol}://{host}/"))
        .map_err(|error| format!("{}: {error}", GIT_HOST.octopus))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "the downstream project's repository URL {shown} has credentials in it: refused"
        ));
    }
    if parsed.origin() != forge.origin() {
        return Err(format!(
            "the downstream project points at {shown}, not at {}://{}, where the credentials may go: set {} (and {}) to that repository's host, or {} to name the repository",
            protocol,
            host,
            GIT_HOST.octopus,
            crate::inputs::GIT_PROTOCOL.octopus,
            GIT_NEW_REPO.octopus
        ));
    }
    let path = parsed.path().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    match path.rsplit_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() => {
            Ok((owner.to_owned(), name.to_owned()))
        }
        _ => Err(format!(
            "the downstream project's repository URL {shown} has no `owner/name` path"
        )),
    }
}

async fn merge_on<F: Forge>(
    forge: &F,
    config: &MergeConfig,
    git: &GitHttp,
) -> Result<MergeSummary, ActionError> {
    progress(
        0,
        &format!("Finding {}/{}", config.organization, config.new_repo),
    );
    let repository = forge
        .find_repository(&config.organization, &config.new_repo)
        .await
        .map_err(forge_error)?
        .ok_or_else(|| {
            ActionError::failed(format!(
                "the downstream repository {}/{} does not exist on {}: fork it first (octofleet fork, step template Octofleet - Fork Repository), or check {}",
                config.organization, config.new_repo, config.platform, GIT_NEW_REPO.octopus
            ))
        })?;
    tracing::info!(
        platform = %config.platform,
        "{} {} into {} ({})",
        if config.check { "checking what merge would bring from" } else { "merging" },
        crate::origin::display_text(&config.upstream_url),
        repository.full_name,
        repository.clone_url
    );
    let request = MergeRequest {
        upstream_url: config.upstream_url.clone(),
        downstream_url: repository.clone_url.clone(),
        branch: config.main_line.clone(),
        all_branches: config.all_branches,
        author_name: config.author_name.clone(),
        author_email: config.author_email.clone(),
        check: config.check,
        cache_dir: config.git_cache_dir.clone(),
    };
    let credentials = git_credentials(config)?;
    progress(20, "Comparing upstream with the downstream repository");
    // git2 blocks: run it off the async workers.
    let merged = tokio::task::spawn_blocking({
        let git = git.clone();
        move || merge::merge(&request, &credentials, &git)
    })
    .await
    .map_err(|error| ActionError::failed(While::new("the git merge stopped", error)))?
    .map_err(ActionError::failed)?;

    progress(80, "Pull requests for conflicts");
    let mut pull_requests = Vec::new();
    for branch in &merged.branches {
        let Some(head) = &branch.conflict_branch else {
            continue;
        };
        let found = forge
            .find_pull_request(&repository, head, &branch.branch)
            .await
            .map_err(forge_error)?;
        let pull_request = match found {
            Some(found) => Some(found),
            None if config.check => None,
            None => Some(
                forge
                    .create_pull_request(
                        &repository,
                        head,
                        &branch.branch,
                        &format!(
                            "Merge upstream {} into {} (conflicts)",
                            &branch.upstream[..7.min(branch.upstream.len())],
                            branch.branch
                        ),
                        &pull_request_body(branch, &config.upstream_url),
                    )
                    .await
                    .map_err(forge_error)?,
            ),
        };
        if let Some(pull_request) = pull_request {
            pull_requests.push(BranchPullRequest {
                base: branch.branch.clone(),
                head: head.clone(),
                pull_request,
            });
        }
    }
    let conflict_count = merged
        .branches
        .iter()
        .map(|branch| branch.conflicts.len())
        .sum();
    let outcome = overall(&merged.branches);
    if outcome == Outcome::DivergedConflicts && !config.check {
        tracing::warn!(
            "upstream's changes conflict with the tenant's in {conflict_count} paths: a person resolves them in the pull request{}",
            pull_requests
                .first()
                .map(|found| format!(" {}", found.pull_request.url))
                .unwrap_or_default()
        );
    }
    let mut summary = MergeSummary {
        platform: config.platform,
        repository: repository.full_name,
        repository_url: repository.clone_url,
        upstream_url: crate::origin::display_text(&config.upstream_url),
        check: config.check,
        outcome,
        branches: merged.branches,
        conflict_count,
        pull_requests,
        pushed_refs: merged.pushed_refs,
        bytes_fetched: merged.bytes_fetched,
        bytes_pushed: merged.bytes_pushed,
        used_object_cache: merged.used_object_cache,
        report_files: None,
    };
    if let Some(dir) = &config.report_dir {
        let files = write_repository_report(dir, config, "merge", &summary.html(), &summary)?;
        summary.report_files = Some(files);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::downstream_path;

    #[test]
    fn the_downstream_path_is_on_the_forge_and_names_owner_and_repository() {
        let path = |url: &str| downstream_path(url, "https", "git.example.com");
        assert_eq!(
            path("https://git.example.com/octopuscac/america_hello.git"),
            Ok(("octopuscac".to_owned(), "america_hello".to_owned()))
        );
        assert_eq!(
            path("https://git.example.com/group/sub/repo"),
            Ok(("group/sub".to_owned(), "repo".to_owned()))
        );
        for refused in [
            "https://evil.example.com/octopuscac/x.git",
            "http://git.example.com/octopuscac/x.git",
            "https://u:p@git.example.com/octopuscac/x.git",
            "https://git.example.com/x.git",
            "not a url",
        ] {
            let error = path(refused).unwrap_err();
            assert!(!error.contains("u:p"), "{error}");
        }
    }
}
