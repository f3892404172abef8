//! The `merge` report: each branch's outcome, each conflict with its lines on both sides, and
//! the pull requests, as data (the JSON report and `--output json`) and as a page.

use super::html::{Cell, Page, Row};
use super::repository::{repository_facts, short};
use super::ReportFiles;
use crate::forge::merge::{BranchMerge, Outcome};
use crate::forge::{Platform, PullRequest};
use serde::Serialize;

/// A pull request for one diverged branch's conflicts.
#[derive(Debug, Clone, Serialize)]
pub struct BranchPullRequest {
    /// The branch it merges into (the downstream's main line, or another branch).
    pub base: String,
    /// The branch holding upstream's commit.
    pub head: String,
    /// The pull request.
    #[serde(flatten)]
    pub pull_request: PullRequest,
}

/// What a merge did (or, with `--check`, would do) on each branch, and the pull requests for
/// conflicts.
#[derive(Debug, Clone, Serialize)]
pub struct MergeSummary {
    /// The platform.
    pub platform: Platform,
    /// `organization/name` as the platform names it.
    pub repository: String,
    /// Its clone URL.
    pub repository_url: String,
    /// Where upstream's commits came from (shown without credentials).
    pub upstream_url: String,
    /// `--check`: nothing was pushed or opened.
    pub check: bool,
    /// The whole run's outcome: the branch needing the most, conflicts first.
    pub outcome: Outcome,
    /// Each branch and its outcome.
    pub branches: Vec<BranchMerge>,
    /// Conflicted paths over every branch.
    pub conflict_count: usize,
    /// The pull requests opened or found for conflicts.
    pub pull_requests: Vec<BranchPullRequest>,
    /// Refs pushed.
    pub pushed_refs: usize,
    /// Bytes fetched from both sides.
    pub bytes_fetched: usize,
    /// Bytes pushed downstream.
    pub bytes_pushed: usize,
    /// The run worked in the git object cache (`--git-cache-dir`), not a temporary repository.
    pub used_object_cache: bool,
    /// The report written beside the log (HTML and JSON), when there is a report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_files: Option<ReportFiles>,
}

impl MergeSummary {
    /// The main line's pull request, else the first one.
    pub fn pull_request_url(&self) -> Option<&str> {
        self.pull_requests
            .first()
            .map(|found| found.pull_request.url.as_str())
    }
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

impl MergeSummary {
    /// The report page: the outcome, each branch, each conflict with its line ranges, and the
    /// pull requests, linked.
    pub fn html(&self) -> String {
        let mut page = Page::new(&format!("octofleet merge: {}", self.repository));
        let mut headline = format!(
            "{}{}",
            if self.check {
                "check only (nothing pushed or opened): "
            } else {
                ""
            },
            self.outcome
        );
        if self.conflict_count > 0 {
            headline.push_str(&format!(", {} conflicted paths", self.conflict_count));
        }
        page.headline(self.outcome.name(), &headline);
        let mut facts = repository_facts(
            self.platform,
            &self.repository,
            &self.repository_url,
            &self.upstream_url,
        );
        facts.extend([
            (
                "conflicted paths",
                Cell::text(&self.conflict_count.to_string()),
            ),
            (
                "transferred",
                Cell::text(&format!(
                    "{} refs pushed, {} bytes fetched, {} bytes pushed",
                    self.pushed_refs, self.bytes_fetched, self.bytes_pushed
                )),
            ),
        ]);
        page.facts(facts);
        page.heading("Branches");
        let rows = self
            .branches
            .iter()
            .map(|branch| {
                let result = match (&branch.merge_commit, &branch.conflict_branch) {
                    (Some(commit), _) => {
                        Cell::lines(vec![Cell::text("merge commit"), Cell::code(short(commit))])
                    }
                    (_, Some(conflicts)) => Cell::lines(vec![
                        Cell::text("upstream commit on"),
                        Cell::code(conflicts),
                    ]),
                    _ => Cell::default(),
                };
                Row::new(
                    Some(branch.outcome.name()),
                    vec![
                        Cell::code(&branch.branch),
                        Cell::text(branch.outcome.name()),
                        Cell::text(&branch.behind.to_string()),
                        Cell::text(&branch.ahead.to_string()),
                        Cell::code(short(&branch.upstream)),
                        Cell::code(short(&branch.downstream)),
                        result,
                    ],
                )
            })
            .collect();
        page.table(
            &[
                "branch",
                "outcome",
                "upstream commits to bring in",
                "tenant's own commits",
                "upstream",
                "downstream",
                "result",
            ],
            rows,
        );
        for branch in self.branches.iter().filter(|b| !b.conflicts.is_empty()) {
            page.heading(&format!("Conflicts on {}", branch.branch));
            let rows = branch
                .conflicts
                .iter()
                .flat_map(|conflict| {
                    // Each side: where its lines are, then what they say.
                    let side = |range: String, text: &str| {
                        Cell::lines(vec![Cell::text(&range), Cell::preformatted(text)])
                    };
                    let hunks: Vec<(Cell, Cell)> = if conflict.hunks.is_empty() {
                        vec![(Cell::text("–"), Cell::text("–"))]
                    } else {
                        conflict
                            .hunks
                            .iter()
                            .map(|hunk| {
                                (
                                    side(hunk.downstream.to_string(), &hunk.downstream_text),
                                    side(hunk.upstream.to_string(), &hunk.upstream_text),
                                )
                            })
                            .collect()
                    };
                    hunks.into_iter().map(|(downstream, upstream)| {
                        Row::new(
                            Some("diverged-conflicts"),
                            vec![
                                Cell::code(&conflict.path),
                                Cell::text(conflict.kind),
                                downstream,
                                upstream,
                            ],
                        )
                    })
                })
                .collect();
            page.table(
                &["path", "kind", "the tenant's lines", "upstream's lines"],
                rows,
            );
        }
        if !self.pull_requests.is_empty() {
            page.heading("Pull requests");
            let rows = self
                .pull_requests
                .iter()
                .map(|found| {
                    Row::new(
                        None,
                        vec![
                            Cell::link(
                                &format!("#{}", found.pull_request.number),
                                &found.pull_request.url,
                            ),
                            Cell::text(if found.pull_request.created {
                                "opened by this run"
                            } else {
                                "already open"
                            }),
                            Cell::code(&found.head),
                            Cell::code(&found.base),
                        ],
                    )
                })
                .collect();
            page.table(&["pull request", "state", "from", "into"], rows);
        }
        page.finish()
    }
}
