//! The report JSONs that `plan`, `deploy`, `fork` and `merge` attach to their tasks, read back:
//! only the fields the fleet needs, by the contract's version ([`FORMAT_VERSION`], the `"report"`
//! header every report JSON starts with: defined here, below the writer, and written by
//! `report::write`). Unknown fields are ignored and every field is optional, so a report written by an older or newer octofleet of the same format reads; a file
//! without the header is not an octofleet report of a known format and is left unread.

use crate::package::PackageName;
use serde::{Deserialize, Serialize};

/// The version of the report JSON's shape. The JSON reports are the fleet's memory: `fleet`
/// reads them back from the tasks that attached them, so a change that removes or renames a field
/// it reads (this module) raises this number.
pub const FORMAT_VERSION: u32 = 1;

/// What every report JSON starts with (`"report": {…}`): the contract's version, the action
/// that wrote it and the tenant it ran for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportHeader {
    /// [`FORMAT_VERSION`] when this octofleet wrote it.
    pub format_version: u32,
    /// `plan`, `deploy`, `fork`, `merge` or `fleet`.
    pub action: String,
    /// `Octopus.Deployment.Tenant.Name`, when the step ran for a tenant.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// A plan's or a deploy's report: where it ran and what it found or did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpaceFacts {
    /// The managed space's ID.
    pub space_id: Option<String>,
    /// The managed space's name.
    pub space_name: Option<String>,
    /// The managed space in the web UI.
    pub space_url: Option<String>,
    /// The downstream project's name.
    pub project: Option<String>,
    /// The project in the managed space's web UI.
    pub project_url: Option<String>,
    /// The template package applied or compared.
    pub package: PackageName,
    /// Whether anything was (deploy) or would be (plan) written.
    pub changes: bool,
    /// The counts per outcome.
    pub summary: SummaryFacts,
}

/// The created / updated / … counts of a plan or deploy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SummaryFacts {
    /// Resources created (or that a plan would create).
    pub created: usize,
    /// Resources updated.
    pub updated: usize,
    /// Resources removed.
    pub removed: usize,
    /// Resources unchanged.
    pub unchanged: usize,
    /// Downstream edits kept.
    pub kept: usize,
}

impl SummaryFacts {
    /// Resources that differ from the package.
    pub fn changes(&self) -> usize {
        self.created + self.updated + self.removed
    }
}

/// A merge's report: where the tenant's repository stands against upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeFacts {
    /// `up-to-date`, `behind`, `ahead`, `diverged-clean` or `diverged-conflicts`.
    pub outcome: String,
    /// Only checked (`--check`): nothing was pushed.
    pub check: bool,
    /// Upstream commits the main line lacked.
    pub behind: usize,
    /// Conflicted paths.
    pub conflict_count: usize,
    /// The pull request a person resolves the conflicts in.
    pub pull_request_url: Option<String>,
    /// The tenant's repository.
    pub repository_url: Option<String>,
}

/// A fork's report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForkFacts {
    /// The tenant's repository.
    pub repository_url: Option<String>,
}

/// What one report says, by the action that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ReportFacts {
    /// `plan` (or `deploy --dry-run`).
    Plan(SpaceFacts),
    /// `deploy`.
    Deploy(SpaceFacts),
    /// `fork`.
    Fork(ForkFacts),
    /// `merge`.
    Merge(MergeFacts),
}

/// A report read back, with the tenant its header names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadReport {
    /// The tenant the report names.
    pub tenant: Option<String>,
    /// What it says.
    pub facts: ReportFacts,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MergeJson {
    outcome: String,
    check: bool,
    conflict_count: usize,
    repository_url: Option<String>,
    branches: Vec<BranchJson>,
    pull_requests: Vec<PullRequestJson>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BranchJson {
    behind: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PullRequestJson {
    url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForkJson {
    repository_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DryRunJson {
    dry_run: bool,
}

/// Whether a task's artifact is an octofleet report JSON (`octofleet-<action>-<subject>.json`).
pub fn is_report_file(filename: &str) -> bool {
    filename.starts_with("octofleet-") && filename.ends_with(".json")
}

/// Read one report JSON. `None`: not an octofleet report of a known format (no header, an
/// action the fleet does not read, or a newer format whose header it cannot trust).
pub fn read(bytes: &[u8]) -> Option<ReadReport> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let header: ReportHeader = serde_json::from_value(value.get("report")?.clone()).ok()?;
    if header.format_version == 0 || header.format_version > FORMAT_VERSION {
        tracing::debug!(
            format_version = header.format_version,
            "a report of a format this octofleet does not know; left unread"
        );
        return None;
    }
    let facts = match header.action.as_str() {
        "plan" | "deploy" => {
            let facts: SpaceFacts = serde_json::from_value(value.clone()).ok()?;
            let dry_run = serde_json::from_value::<DryRunJson>(value).ok()?.dry_run;
            if header.action == "plan" || dry_run {
                ReportFacts::Plan(facts)
            } else {
                ReportFacts::Deploy(facts)
            }
        }
        "merge" => {
            let merge: MergeJson = serde_json::from_value(value).ok()?;
            ReportFacts::Merge(MergeFacts {
                outcome: merge.outcome,
                check: merge.check,
                behind: merge.branches.first().map_or(0, |branch| branch.behind),
                conflict_count: merge.conflict_count,
                pull_request_url: merge
                    .pull_requests
                    .into_iter()
                    .map(|pr| pr.url)
                    .find(|url| !url.is_empty()),
                repository_url: merge.repository_url,
            })
        }
        "fork" => {
            let fork: ForkJson = serde_json::from_value(value).ok()?;
            ReportFacts::Fork(ForkFacts {
                repository_url: fork.repository_url,
            })
        }
        _ => return None,
    };
    Some(ReadReport {
        tenant: header.tenant,
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_report_reads_with_its_header() {
        let report = json!({
            "report": {"format_version": 1, "action": "plan", "tenant": "Europe"},
            "space_id": "Spaces-2", "space_name": "Europe", "dry_run": true, "changes": true,
            "package": {"id": "Hello_World", "version": "1.0.1"},
            "summary": {"created": 1, "updated": 2, "unchanged": 9},
            "resources": [], "unknown": {"ignored": true}
        });
        let read = read(report.to_string().as_bytes()).unwrap();
        assert_eq!(read.tenant.as_deref(), Some("Europe"));
        let ReportFacts::Plan(facts) = read.facts else {
            panic!("a plan")
        };
        assert_eq!(facts.summary.changes(), 3);
        assert_eq!(facts.package.version.as_deref(), Some("1.0.1"));
    }

    #[test]
    fn files_without_a_known_header_are_left_unread() {
        assert!(read(br#"{"space_id": "Spaces-2"}"#).is_none());
        assert!(read(br#"{"report": {"format_version": 99, "action": "plan"}}"#).is_none());
        assert!(read(br#"{"report": {"format_version": 1, "action": "serialize"}}"#).is_none());
        assert!(read(b"not json").is_none());
        assert!(is_report_file("octofleet-merge-Europe.json"));
        assert!(!is_report_file("octofleet-merge-Europe.html"));
    }

    #[test]
    fn a_merge_report_gives_its_outcome_behind_count_and_pull_request() {
        let report = json!({
            "report": {"format_version": 1, "action": "merge", "tenant": "Asia"},
            "outcome": "diverged-conflicts", "check": false, "conflict_count": 2,
            "branches": [{"branch": "main", "behind": 3, "ahead": 1}],
            "pull_requests": [{"base": "main", "head": "x", "number": 4, "url": "https://git/pr/4", "created": true}]
        });
        let ReportFacts::Merge(facts) = read(report.to_string().as_bytes()).unwrap().facts else {
            panic!("a merge")
        };
        assert_eq!(facts.behind, 3);
        assert_eq!(facts.pull_request_url.as_deref(), Some("https://git/pr/4"));
    }
}
