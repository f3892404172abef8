//! The fleet, pure: one row per tenant from its octofleet runbooks' tasks, the JSON reports they
//! attached and the newest template package in the feed. No I/O: `actions::fleet` reads, this
//! decides; `report::fleet` draws the page.

pub mod reports;
pub mod rollout;

use crate::package::PackageName;
use chrono::{DateTime, FixedOffset, Utc};
use reports::{MergeFacts, ReadReport, ReportFacts, SpaceFacts};
use serde::Serialize;

/// A tenant of the template project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// `Tenants-N`.
    pub id: String,
    /// The tenant's name.
    pub name: String,
    /// Its tags (`Tag Set/Tag`).
    pub tags: Vec<String>,
}

/// A finished run of one of the template project's octofleet runbooks, for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The runbook's name.
    pub runbook: String,
    /// `ServerTasks-N`.
    pub task_id: String,
    /// The task's end state: `Success`, `Failed`, `Canceled`, `TimedOut`.
    pub state: String,
    /// When it ended (RFC 3339, the server's clock).
    pub completed: Option<String>,
    /// The octofleet reports it attached.
    pub reports: Vec<ReadReport>,
    /// The task's error message, for a failure.
    pub error: Option<String>,
}

impl Run {
    fn completed_at(&self) -> Option<DateTime<FixedOffset>> {
        self.completed
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
    }

    /// The run did its job even though its task failed: a plan that found changes or a merge
    /// that met conflicts, whose step was asked to fail on them.
    fn answered(&self) -> bool {
        self.reports.iter().any(|report| match &report.facts {
            ReportFacts::Plan(facts) => facts.changes,
            ReportFacts::Merge(merge) => merge.outcome == "diverged-conflicts" || merge.check,
            _ => false,
        })
    }
}

/// What the fleet read for one tenant: per octofleet runbook, its latest finished run and (when
/// that one left no report) the newest run that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantHistory {
    /// The tenant.
    pub tenant: Tenant,
    /// Per runbook, newest first: the latest finished run first.
    pub runs: Vec<Vec<Run>>,
}

/// Where links point: the management server's web UI and the management space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Links {
    /// The management server, as shown to people.
    pub server: String,
    /// The management space's ID.
    pub space_id: String,
}

impl Links {
    /// A task's page.
    pub fn task(&self, task_id: &str) -> String {
        crate::octopus::task_queue::task_url(&self.server, &self.space_id, task_id)
    }

    /// A tenant's page.
    pub fn tenant(&self, tenant_id: &str) -> String {
        crate::octopus::task_queue::tenant_url(&self.server, &self.space_id, tenant_id)
    }
}

/// Where a tenant stands, worst first: the order of the page and of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The latest run of an octofleet runbook failed, timed out or was cancelled.
    Failed,
    /// The latest merge met conflicts: a pull request waits for a person.
    Conflicted,
    /// The latest plan (after the latest deploy) found changes.
    Drifted,
    /// The deployed package is older than the newest in the feed, or upstream has commits the
    /// tenant's repository lacks.
    Behind,
    /// No octofleet runbook ever finished for it.
    NeverRun,
    /// None of the above.
    UpToDate,
}

impl Status {
    /// As the page and the output variables say it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Failed => "failed",
            Status::Conflicted => "conflicted",
            Status::Drifted => "drifted",
            Status::Behind => "behind",
            Status::NeverRun => "never run",
            Status::UpToDate => "up to date",
        }
    }
}

/// The managed space, as the tenant's reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Space {
    /// `Spaces-N`.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its dashboard in the managed server's web UI.
    pub url: Option<String>,
}

/// Drift from the latest plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Drift {
    /// No plan ran.
    NoPlan,
    /// A deploy ran after the latest plan: what that plan saw has been deployed over.
    Superseded {
        /// When the plan ran.
        planned: String,
    },
    /// The latest plan found nothing to change.
    Clean {
        /// When the plan ran.
        planned: String,
    },
    /// The latest plan found changes.
    Changes {
        /// Resources a deploy would create, update or remove.
        count: usize,
        /// Something the managed space holds would be replaced or removed.
        overwrites: bool,
        /// When the plan ran.
        planned: String,
    },
}

/// The tenant's repository against upstream, from the latest merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MergeState {
    /// No merge ran (a database project has none).
    NoMerge,
    /// Nothing upstream to bring in (or it was brought in).
    UpToDate,
    /// `--check` found upstream commits to bring in.
    Behind {
        /// Upstream commits the tenant's main line lacks.
        commits: usize,
    },
    /// Conflicts wait in a pull request.
    Conflict {
        /// The pull request.
        pull_request: Option<String>,
        /// Conflicted paths.
        paths: usize,
    },
}

/// A run, as a row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunLink {
    /// The runbook.
    pub runbook: String,
    /// Its end state.
    pub state: String,
    /// When it ended.
    pub completed: Option<String>,
    /// The task's page.
    pub url: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// One tenant's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The tenant.
    pub tenant: Tenant,
    /// The tenant's page on the management server.
    pub tenant_url: String,
    /// Where it stands, worst first; never empty.
    pub statuses: Vec<Status>,
    /// The managed space, when a deploy or plan report named it.
    pub space: Option<Space>,
    /// The package the latest deploy applied.
    pub deployed: Option<PackageName>,
    /// Drift from the latest plan.
    pub drift: Drift,
    /// The latest merge's state.
    pub merge: MergeState,
    /// The latest finished run of any octofleet runbook.
    pub last_run: Option<RunLink>,
    /// The runbooks whose latest run failed.
    pub failures: Vec<RunLink>,
}

impl Row {
    /// The worst status.
    pub fn status(&self) -> Status {
        self.statuses.first().copied().unwrap_or(Status::UpToDate)
    }

    /// Some person should look at it.
    pub fn needs_attention(&self) -> bool {
        self.status() != Status::UpToDate
    }
}

/// How many tenants are in each state (a tenant counts in every state it is in; `up_to_date` and
/// `never_run` only alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Tenants in the report.
    pub tenants: usize,
    /// Up to date.
    pub up_to_date: usize,
    /// Behind the feed or upstream.
    pub behind: usize,
    /// Drifted.
    pub drifted: usize,
    /// Conflicted.
    pub conflicted: usize,
    /// A run failed.
    pub failed: usize,
    /// Never run.
    pub never_run: usize,
    /// Needing attention (any state but up to date).
    pub attention: usize,
}

/// The whole fleet: every row, attention first, with the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetView {
    /// The template project.
    pub project: String,
    /// The template package's ID.
    pub package_id: String,
    /// The newest version of it in the built-in feed.
    pub newest_version: Option<String>,
    /// When the view was made (RFC 3339).
    pub generated: String,
    /// The rows.
    pub rows: Vec<Row>,
    /// The counts.
    pub counts: Counts,
}

/// The reports of `runs` whose facts `pick` keeps, newest run first.
fn newest<'a, T>(
    runs: &'a [&'a Run],
    pick: impl Fn(&'a ReportFacts) -> Option<&'a T>,
) -> Option<(&'a Run, &'a T)> {
    runs.iter()
        .flat_map(|run| run.reports.iter().map(move |report| (*run, report)))
        .find_map(|(run, report)| pick(&report.facts).map(|facts| (run, facts)))
}

fn space_of(facts: &SpaceFacts) -> Option<Space> {
    (facts.space_id.is_some() || facts.space_name.is_some()).then(|| Space {
        id: facts.space_id.clone(),
        name: facts.space_name.clone(),
        url: facts.space_url.clone(),
    })
}

fn link(run: &Run, links: &Links) -> RunLink {
    RunLink {
        runbook: run.runbook.clone(),
        state: run.state.clone(),
        completed: run.completed.clone(),
        url: links.task(&run.task_id),
        error: run.error.clone(),
    }
}

fn merge_state(merge: &MergeFacts) -> MergeState {
    match merge.outcome.as_str() {
        "diverged-conflicts" => MergeState::Conflict {
            pull_request: merge.pull_request_url.clone(),
            paths: merge.conflict_count,
        },
        "behind" | "diverged-clean" if merge.check => MergeState::Behind {
            commits: merge.behind,
        },
        _ => MergeState::UpToDate,
    }
}

/// One tenant's row.
pub fn row(history: &TenantHistory, newest_version: Option<&str>, links: &Links) -> Row {
    let mut runs: Vec<&Run> = history.runs.iter().flatten().collect();
    // Newest first; a run without a time sorts last.
    runs.sort_by_key(|run| std::cmp::Reverse(run.completed_at()));
    let deploy = newest(&runs, |facts| match facts {
        ReportFacts::Deploy(facts) => Some(facts),
        _ => None,
    });
    let plan = newest(&runs, |facts| match facts {
        ReportFacts::Plan(facts) => Some(facts),
        _ => None,
    });
    let merge = newest(&runs, |facts| match facts {
        ReportFacts::Merge(facts) => Some(facts),
        _ => None,
    });
    let space = deploy
        .and_then(|(_, facts)| space_of(facts))
        .or_else(|| plan.and_then(|(_, facts)| space_of(facts)));
    let deployed = deploy.map(|(_, facts)| facts.package.clone());
    let drift = match plan {
        None => Drift::NoPlan,
        Some((plan_run, facts)) => {
            let planned = plan_run.completed.clone().unwrap_or_default();
            let superseded = deploy
                .is_some_and(|(deploy_run, _)| deploy_run.completed_at() > plan_run.completed_at());
            if superseded {
                Drift::Superseded { planned }
            } else if facts.changes {
                Drift::Changes {
                    count: facts.summary.changes(),
                    overwrites: facts.summary.updated + facts.summary.removed > 0,
                    planned,
                }
            } else {
                Drift::Clean { planned }
            }
        }
    };
    let merge = merge.map_or(MergeState::NoMerge, |(_, facts)| merge_state(facts));
    // Each runbook's latest run is the first of its list.
    let failures: Vec<RunLink> = history
        .runs
        .iter()
        .filter_map(|runs| runs.first())
        .filter(|run| run.state != "Success" && !run.answered())
        .map(|run| link(run, links))
        .collect();
    let mut statuses = Vec::new();
    if !failures.is_empty() {
        statuses.push(Status::Failed);
    }
    if matches!(merge, MergeState::Conflict { .. }) {
        statuses.push(Status::Conflicted);
    }
    if matches!(drift, Drift::Changes { .. }) {
        statuses.push(Status::Drifted);
    }
    let package_behind = match (&deployed, newest_version) {
        (Some(package), Some(newest)) => package
            .version
            .as_deref()
            .is_some_and(|version| !version.eq_ignore_ascii_case(newest)),
        _ => false,
    };
    if package_behind || matches!(merge, MergeState::Behind { .. }) {
        statuses.push(Status::Behind);
    }
    if runs.is_empty() {
        statuses.push(Status::NeverRun);
    }
    if statuses.is_empty() {
        statuses.push(Status::UpToDate);
    }
    Row {
        tenant: history.tenant.clone(),
        tenant_url: links.tenant(&history.tenant.id),
        statuses,
        space,
        deployed,
        drift,
        merge,
        last_run: runs.first().map(|run| link(run, links)),
        failures,
    }
}

/// The fleet: every tenant's row, those needing attention first (worst first, then by name),
/// and the counts.
pub fn view(
    project: &str,
    package_id: &str,
    newest_version: Option<&str>,
    histories: &[TenantHistory],
    links: &Links,
    now: DateTime<Utc>,
) -> FleetView {
    let mut rows: Vec<Row> = histories
        .iter()
        .map(|history| row(history, newest_version, links))
        .collect();
    rows.sort_by(|a, b| {
        a.status().cmp(&b.status()).then_with(|| {
            a.tenant
                .name
                .to_lowercase()
                .cmp(&b.tenant.name.to_lowercase())
        })
    });
    let mut counts = Counts {
        tenants: rows.len(),
        ..Counts::default()
    };
    for row in &rows {
        for status in &row.statuses {
            match status {
                Status::Failed => counts.failed += 1,
                Status::Conflicted => counts.conflicted += 1,
                Status::Drifted => counts.drifted += 1,
                Status::Behind => counts.behind += 1,
                Status::NeverRun => counts.never_run += 1,
                Status::UpToDate => counts.up_to_date += 1,
            }
        }
        if row.needs_attention() {
            counts.attention += 1;
        }
    }
    FleetView {
        project: project.to_owned(),
        package_id: package_id.to_owned(),
        newest_version: newest_version.map(str::to_owned),
        generated: now.to_rfc3339(),
        rows,
        counts,
    }
}

/// How long ago `at` was, for people: `5 minutes ago`, `3 days ago`.
pub fn age(at: &str, now: DateTime<Utc>) -> String {
    let Ok(at) = DateTime::parse_from_rfc3339(at) else {
        return at.to_owned();
    };
    let seconds = (now - at.with_timezone(&Utc)).num_seconds().max(0);
    let (n, unit) = match seconds {
        s if s < 60 => return "just now".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Whether `tenant` carries the tags `wanted` asks for: tags of one tag set are alternatives,
/// tags of different sets must all be there (Octopus's tenant tag matching: any selected tag of
/// each tag set).
pub fn has_tags(tenant_tags: &[String], wanted: &[String]) -> bool {
    let set_of = |tag: &str| {
        tag.split_once('/')
            .map_or(tag, |(set, _)| set)
            .to_lowercase()
    };
    let mut sets: Vec<String> = wanted.iter().map(|tag| set_of(tag)).collect();
    sets.sort();
    sets.dedup();
    sets.iter().all(|set| {
        wanted.iter().filter(|tag| &set_of(tag) == set).any(|tag| {
            tenant_tags
                .iter()
                .any(|have| have.eq_ignore_ascii_case(tag))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::reports::{ForkFacts, SummaryFacts};
    use super::*;

    fn links() -> Links {
        Links {
            server: "https://octopus.example.com".into(),
            space_id: "Spaces-1".into(),
        }
    }

    fn tenant(name: &str) -> Tenant {
        Tenant {
            id: format!("Tenants-{name}"),
            name: name.into(),
            tags: vec![],
        }
    }

    fn space(version: &str, changes: usize) -> SpaceFacts {
        SpaceFacts {
            space_id: Some("Spaces-9".into()),
            space_name: Some("Europe".into()),
            package: PackageName {
                id: Some("Hello_World".into()),
                version: Some(version.into()),
                directory: None,
            },
            changes: changes > 0,
            summary: SummaryFacts {
                updated: changes,
                ..SummaryFacts::default()
            },
            ..SpaceFacts::default()
        }
    }

    fn run(runbook: &str, task: u32, hour: u32, state: &str, facts: Vec<ReportFacts>) -> Run {
        Run {
            runbook: runbook.into(),
            task_id: format!("ServerTasks-{task}"),
            state: state.into(),
            completed: Some(format!("2026-01-01T{hour:02}:00:00+00:00")),
            reports: facts
                .into_iter()
                .map(|facts| ReadReport {
                    tenant: None,
                    facts,
                })
                .collect(),
            error: None,
        }
    }

    fn history(name: &str, runs: Vec<Vec<Run>>) -> TenantHistory {
        TenantHistory {
            tenant: tenant(name),
            runs,
        }
    }

    #[test]
    fn every_state_is_told_apart_and_attention_comes_first() {
        let deploy = |version: &str, hour| {
            run(
                "Deploy",
                hour,
                hour,
                "Success",
                vec![ReportFacts::Deploy(space(version, 0))],
            )
        };
        let histories = vec![
            history("A up to date", vec![vec![deploy("2", 1)]]),
            history("B behind", vec![vec![deploy("1", 1)]]),
            history(
                "C drifted",
                vec![
                    vec![deploy("2", 1)],
                    vec![run(
                        "Plan",
                        9,
                        2,
                        "Success",
                        vec![ReportFacts::Plan(space("2", 4))],
                    )],
                ],
            ),
            history(
                "D superseded plan",
                vec![
                    vec![deploy("2", 3)],
                    vec![run(
                        "Plan",
                        9,
                        2,
                        "Success",
                        vec![ReportFacts::Plan(space("2", 4))],
                    )],
                ],
            ),
            history(
                "E failed",
                vec![vec![run("Deploy", 7, 5, "Failed", vec![]), deploy("2", 1)]],
            ),
            history("F never", vec![]),
            history(
                "G conflicted",
                vec![vec![run(
                    "Merge",
                    8,
                    4,
                    "Success",
                    vec![ReportFacts::Merge(MergeFacts {
                        outcome: "diverged-conflicts".into(),
                        pull_request_url: Some("https://git/pr/1".into()),
                        conflict_count: 1,
                        ..MergeFacts::default()
                    })],
                )]],
            ),
            history(
                "H plan failed on changes",
                vec![vec![run(
                    "Plan",
                    9,
                    2,
                    "Failed",
                    vec![ReportFacts::Plan(space("2", 1))],
                )]],
            ),
        ];
        let view = view(
            "Hello World",
            "Hello_World",
            Some("2"),
            &histories,
            &links(),
            Utc::now(),
        );
        let order: Vec<(&str, Status)> = view
            .rows
            .iter()
            .map(|row| (row.tenant.name.as_str(), row.status()))
            .collect();
        assert_eq!(
            order,
            [
                ("E failed", Status::Failed),
                ("G conflicted", Status::Conflicted),
                ("C drifted", Status::Drifted),
                ("H plan failed on changes", Status::Drifted),
                ("B behind", Status::Behind),
                ("F never", Status::NeverRun),
                ("A up to date", Status::UpToDate),
                ("D superseded plan", Status::UpToDate),
            ]
        );
        assert_eq!(
            view.counts,
            Counts {
                tenants: 8,
                up_to_date: 2,
                behind: 1,
                drifted: 2,
                conflicted: 1,
                failed: 1,
                never_run: 1,
                attention: 6,
            }
        );
        let failed = &view.rows[0];
        assert_eq!(
            failed.failures[0].url,
            "https://octopus.example.com/app#/Spaces-1/tasks/ServerTasks-7"
        );
        assert_eq!(failed.last_run.as_ref().unwrap().state, "Failed");
        assert_eq!(
            failed.deployed.as_ref().unwrap().version.as_deref(),
            Some("2")
        );
        let drifted = &view.rows[2];
        assert!(matches!(
            drifted.drift,
            Drift::Changes {
                count: 4,
                overwrites: true,
                ..
            }
        ));
        assert_eq!(
            drifted.space.as_ref().unwrap().name.as_deref(),
            Some("Europe")
        );
        assert!(matches!(view.rows[7].drift, Drift::Superseded { .. }));
        assert!(matches!(
            &view.rows[1].merge,
            MergeState::Conflict { pull_request: Some(url), .. } if url == "https://git/pr/1"
        ));
        let _ = ForkFacts::default();
    }

    #[test]
    fn tag_sets_are_and_tags_within_one_are_or() {
        let have = vec!["Rollout/Canary".to_owned(), "Region/EU".to_owned()];
        let want = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert!(has_tags(&have, &want(&["Rollout/Canary", "Rollout/Late"])));
        assert!(has_tags(&have, &want(&["rollout/canary", "Region/EU"])));
        assert!(!has_tags(&have, &want(&["Region/US"])));
        assert!(has_tags(&have, &[]));
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T00:00:00+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age("2026-01-01T23:59:30+00:00", now), "just now");
        assert_eq!(age("2026-01-01T23:00:00+00:00", now), "1 hour ago");
        assert_eq!(age("2025-12-30T00:00:00+00:00", now), "3 days ago");
    }
}
