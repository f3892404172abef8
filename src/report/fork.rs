//! The `fork` report: what happened to the tenant's repository and to each ref, as data (the
//! JSON report and `--output json`) and as a page.

use super::html::{Cell, Page, Row};
use super::repository::{repository_facts, short};
use super::ReportFiles;
use crate::forge::mirror::{RefAction, RefOutcome};
use crate::forge::Platform;
use serde::Serialize;

/// What a fork did: the tenant's repository and what happened to each ref.
#[derive(Debug, Clone, Serialize)]
pub struct ForkReport {
    /// The platform.
    pub platform: Platform,
    /// `organization/name` as the platform names it.
    pub repository: String,
    /// The clone URL deploy should use (no credentials in it).
    pub repository_url: String,
    /// Where it was mirrored from.
    pub upstream_url: String,
    /// The repository was created by this run.
    pub created: bool,
    /// Each upstream ref and what happened to it downstream.
    pub refs: Vec<RefOutcome>,
    /// Refs pushed (zero on a re-run with no upstream change).
    pub pushed_refs: usize,
    /// Bytes fetched from both sides.
    pub bytes_fetched: usize,
    /// Bytes pushed downstream.
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
