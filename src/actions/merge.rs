//! `merge`: bring upstream's new commits into the tenant's downstream repository, found without
//! any state (as fork names it); on conflicts open (or find) a pull request a person resolves.
//! Orchestration only; the git work is in `forge::merge`, the platform calls in `forge`.

use super::fork::{forge_access, forge_error, git_credentials, resolved};
use super::{ActionError, Report, While, EXIT_CHANGES};
use crate::config::{MergeConfig, GIT_NEW_REPO};
use crate::forge::gitea::Gitea;
use crate::forge::github::GitHub;
use crate::forge::gitlab::GitLab;
use crate::forge::merge::{self, BranchMerge, MergeRequest, Outcome};
use crate::forge::{mirror, Forge, Platform, PullRequest};
use crate::log_format::progress;
use crate::service_messages::ServiceMessage;
use serde::Serialize;

/// A pull request for one diverged branch's conflicts.
#[derive(Debug, Clone, Serialize)]
pub struct BranchPullRequest {
    /// The branch it merges into (the downstream's main line, or another branch).
    pub base: String,
    /// The branch holding upstream's commit.
    pub head: String,
    #[serde(flatten)]
    pub pull_request: PullRequest,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeSummary {
    pub platform: Platform,
    /// `organization/name` as the platform names it.
    pub repository: String,
    pub repository_url: String,
    pub upstream_url: String,
    /// `--check`: nothing was pushed or opened.
    pub check: bool,
    /// The whole run's outcome: the branch needing the most, conflicts first.
    pub outcome: Outcome,
    pub branches: Vec<BranchMerge>,
    /// Conflicted paths over every branch.
    pub conflict_count: usize,
    pub pull_requests: Vec<BranchPullRequest>,
    pub pushed_refs: usize,
    pub bytes_fetched: usize,
    pub bytes_pushed: usize,
    /// The run worked in the git object cache (`--git-cache-dir`), not a temporary repository.
    pub used_object_cache: bool,
    /// The HTML report written with `--report-dir`: its absolute path and size.
    pub report_file: Option<ReportFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportFile {
    pub path: String,
    pub bytes: u64,
}

impl MergeSummary {
    /// The main line's pull request, else the first one.
    pub fn pull_request_url(&self) -> Option<&str> {
        self.pull_requests
            .first()
            .map(|found| found.pull_request.url.as_str())
    }
}

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

impl std::fmt::Display for MergeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} ← {}: {}",
            if self.check { "check: " } else { "" },
            self.repository_url,
            self.upstream_url,
            self.outcome
        )?;
        if self.conflict_count > 0 {
            write!(f, ", {} conflicted paths", self.conflict_count)?;
        }
        if let Some(url) = self.pull_request_url() {
            write!(f, ", pull request {url}")?;
        }
        write!(
            f,
            "; {} refs pushed, {} bytes fetched, {} bytes pushed",
            self.pushed_refs, self.bytes_fetched, self.bytes_pushed
        )
    }
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
        if let Some(file) = &self.report_file {
            let name = std::path::Path::new(&file.path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            variables.push(ServiceMessage::create_artifact(
                &file.path, &name, file.bytes,
            ));
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

pub async fn run(config: &MergeConfig) -> Result<MergeSummary, ActionError> {
    let config = &MergeConfig {
        repository: resolved(&config.repository).await?,
        ..config.clone()
    };
    let access = forge_access(config)?;
    match config.platform {
        Platform::Gitea => merge_on(&Gitea::new(&access).map_err(forge_error)?, config).await,
        Platform::GitHub => merge_on(&GitHub::new(&access).map_err(forge_error)?, config).await,
        Platform::GitLab => merge_on(&GitLab::new(&access).map_err(forge_error)?, config).await,
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

async fn merge_on<F: Forge>(forge: &F, config: &MergeConfig) -> Result<MergeSummary, ActionError> {
    if let Some(path) = &config.ca_file {
        mirror::trust_ca_file(path).map_err(ActionError::input)?;
    }
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
    let merged = tokio::task::spawn_blocking(move || merge::merge(&request, &credentials))
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
        report_file: None,
    };
    if let Some(dir) = &config.report_dir {
        summary.report_file = Some(write_report(dir, &config.new_repo, &summary)?);
    }
    Ok(summary)
}

/// Write `octofleet-merge-<repository>.html` into `dir` (created if missing).
fn write_report(
    dir: &std::path::Path,
    repository: &str,
    summary: &MergeSummary,
) -> Result<ReportFile, ActionError> {
    let failed = |error: std::io::Error| {
        ActionError::failed(While::new(
            format!("cannot write the merge report into {}", dir.display()),
            error,
        ))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let path = std::path::absolute(dir.join(format!("octofleet-merge-{repository}.html")))
        .map_err(failed)?;
    let html = report_html(summary);
    std::fs::write(&path, &html).map_err(failed)?;
    tracing::info!("merge report: {}", path.display());
    Ok(ReportFile {
        path: path.to_string_lossy().into_owned(),
        bytes: html.len() as u64,
    })
}

/// `text` safe in HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A self-contained page (inline style, no script, nothing loaded from anywhere): the run's
/// outcome, each branch, each conflict with its line ranges, the pull requests. Addresses are
/// shown as text, not links.
pub fn report_html(summary: &MergeSummary) -> String {
    let mut rows = String::new();
    for branch in &summary.branches {
        let result = match (&branch.merge_commit, &branch.conflict_branch) {
            (Some(commit), _) => format!("merge commit <code>{}</code>", escape(commit)),
            (_, Some(conflicts)) => {
                format!("upstream commit on <code>{}</code>", escape(conflicts))
            }
            _ => String::new(),
        };
        rows.push_str(&format!(
            "<tr class=\"{outcome}\"><td><code>{name}</code></td><td>{outcome}</td><td>{behind}</td><td>{ahead}</td><td><code>{upstream}</code></td><td><code>{downstream}</code></td><td>{result}</td></tr>\n",
            outcome = branch.outcome,
            name = escape(&branch.branch),
            behind = branch.behind,
            ahead = branch.ahead,
            upstream = escape(&branch.upstream[..branch.upstream.len().min(12)]),
            downstream = escape(&branch.downstream[..branch.downstream.len().min(12)]),
        ));
    }
    let mut conflicts = String::new();
    for branch in summary
        .branches
        .iter()
        .filter(|branch| !branch.conflicts.is_empty())
    {
        conflicts.push_str(&format!(
            "<h3>Conflicts on <code>{}</code></h3>\n<table><tr><th>path</th><th>kind</th><th>downstream lines</th><th>upstream lines</th></tr>\n",
            escape(&branch.branch)
        ));
        for conflict in &branch.conflicts {
            let span = conflict.hunks.len().max(1);
            let first = |downstream: String, upstream: String| {
                format!(
                    "<tr><td rowspan=\"{span}\"><code>{}</code></td><td rowspan=\"{span}\">{}</td><td>{downstream}</td><td>{upstream}</td></tr>\n",
                    escape(&conflict.path),
                    escape(conflict.kind)
                )
            };
            match conflict.hunks.split_first() {
                None => conflicts.push_str(&first("–".to_owned(), "–".to_owned())),
                Some((head, rest)) => {
                    conflicts.push_str(&first(
                        head.downstream.to_string(),
                        head.upstream.to_string(),
                    ));
                    for hunk in rest {
                        conflicts.push_str(&format!(
                            "<tr><td>{}</td><td>{}</td></tr>\n",
                            hunk.downstream, hunk.upstream
                        ));
                    }
                }
            }
        }
        conflicts.push_str("</table>\n");
    }
    let mut pulls = String::new();
    for found in &summary.pull_requests {
        pulls.push_str(&format!(
            "<li>#{} ({}): <code>{}</code> → <code>{}</code>, <code>{}</code></li>\n",
            found.pull_request.number,
            if found.pull_request.created {
                "opened by this run"
            } else {
                "already open"
            },
            escape(&found.head),
            escape(&found.base),
            escape(&found.pull_request.url)
        ));
    }
    if !pulls.is_empty() {
        pulls = format!("<h2>Pull requests</h2>\n<ul>\n{pulls}</ul>\n");
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>octofleet merge: {repository}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #1f2933; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #cbd2d9; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f0f4f8; }}
.outcome {{ font-size: 1.3em; font-weight: bold; }}
.diverged-conflicts {{ background: #fde8e8; }}
.diverged-clean, .behind {{ background: #e3f9e5; }}
</style>
</head>
<body>
<h1>octofleet merge{check}</h1>
<p class="outcome {outcome}">{outcome}</p>
<table>
<tr><th>repository</th><td><code>{repository}</code> ({platform})</td></tr>
<tr><th>clone URL</th><td><code>{repository_url}</code></td></tr>
<tr><th>upstream</th><td><code>{upstream_url}</code></td></tr>
<tr><th>conflicted paths</th><td>{conflict_count}</td></tr>
<tr><th>transferred</th><td>{pushed_refs} refs pushed, {bytes_fetched} bytes fetched, {bytes_pushed} bytes pushed</td></tr>
</table>
<h2>Branches</h2>
<table>
<tr><th>branch</th><th>outcome</th><th>upstream commits to bring in</th><th>tenant's own commits</th><th>upstream</th><th>downstream</th><th>result</th></tr>
{rows}</table>
{conflicts}{pulls}</body>
</html>
"#,
        check = if summary.check {
            " (check only: nothing pushed or opened)"
        } else {
            ""
        },
        outcome = summary.outcome,
        repository = escape(&summary.repository),
        platform = summary.platform,
        repository_url = escape(&summary.repository_url),
        upstream_url = escape(&summary.upstream_url),
        conflict_count = summary.conflict_count,
        pushed_refs = summary.pushed_refs,
        bytes_fetched = summary.bytes_fetched,
        bytes_pushed = summary.bytes_pushed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
