//! A rollout's decisions, pure: which tenants a re-run skips (their latest run of the runbook
//! succeeded on the version being rolled out) and how the rest are cut into waves.

use super::reports::{ReadReport, ReportFacts};
use super::Tenant;
use serde::Serialize;

/// What a tenant's latest run of the runbook means for this rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Resume {
    /// Start it.
    Run,
    /// A run is queued or executing already (an earlier, interrupted rollout started it, or a
    /// person did): wait for that one instead of starting another.
    Adopt {
        /// Its task.
        task_id: String,
    },
    /// Its latest run succeeded on this version: nothing to do.
    Skip {
        /// Why, for people.
        reason: String,
        /// The run that did it.
        task_id: String,
    },
}

/// The latest run of the runbook for one tenant, as the resume decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRun<'a> {
    /// `ServerTasks-N`.
    pub task_id: &'a str,
    /// Its state.
    pub state: &'a str,
    /// Whether it has finished.
    pub completed: bool,
    /// When it started (or was queued), the server's clock, RFC 3339.
    pub started: Option<&'a str>,
    /// The reports it attached (read only for a successful run).
    pub reports: &'a [ReadReport],
}

/// The version being rolled out: the newest template package, and when it reached the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The package's version.
    pub version: String,
    /// When it was published (the server's clock, RFC 3339).
    pub published: Option<String>,
}

/// Whether a re-run skips, waits for, or starts this tenant.
///
/// A successful run counts for the target version when its report names the package it applied
/// (deploy, plan) and that is the target's version: what octofleet actually applied, whatever the
/// runbook's snapshot pinned, which the task's description and arguments do not say at all. A run
/// whose reports name no package (fork, merge, or no report) counts when it started after the
/// target version was published (both times from the server's clock).
pub fn resume(latest: Option<&LatestRun<'_>>, target: Option<&Target>) -> Resume {
    let Some(latest) = latest else {
        return Resume::Run;
    };
    if !latest.completed {
        return Resume::Adopt {
            task_id: latest.task_id.to_owned(),
        };
    }
    if latest.state != "Success" {
        return Resume::Run;
    }
    let Some(target) = target else {
        return Resume::Run;
    };
    let versions: Vec<&str> = latest
        .reports
        .iter()
        .filter_map(|report| match &report.facts {
            ReportFacts::Deploy(facts) | ReportFacts::Plan(facts) => {
                facts.package.version.as_deref()
            }
            _ => None,
        })
        .collect();
    let skip = |reason: String| Resume::Skip {
        reason,
        task_id: latest.task_id.to_owned(),
    };
    if !versions.is_empty() {
        return if versions
            .iter()
            .any(|version| version.eq_ignore_ascii_case(&target.version))
        {
            skip(format!("its latest run succeeded on {}", target.version))
        } else {
            Resume::Run
        };
    }
    let parse = |at: &str| chrono::DateTime::parse_from_rfc3339(at).ok();
    match (
        latest.started.and_then(parse),
        target.published.as_deref().and_then(parse),
    ) {
        (Some(started), Some(published)) if started >= published => skip(format!(
            "its latest run succeeded after {} was published",
            target.version
        )),
        _ => Resume::Run,
    }
}

/// One wave: a name for people and its tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    /// `Rollout/Canary`, `the rest`, with `(2 of 3)` when a batch split it.
    pub name: String,
    /// Its tenants, by name.
    pub tenants: Vec<Tenant>,
}

/// Cut `tenants` into waves: one per tag in `tags` order (a tenant goes in the first wave whose
/// tag it has), then the rest; each split into batches of `batch_size`. Tenants keep name order
/// within a wave; empty waves are dropped.
pub fn waves(tenants: &[Tenant], tags: &[String], batch_size: Option<usize>) -> Vec<Wave> {
    let mut left: Vec<&Tenant> = tenants.iter().collect();
    left.sort_by_key(|tenant| tenant.name.to_lowercase());
    let mut groups: Vec<(String, Vec<Tenant>)> = Vec::new();
    for tag in tags {
        let (in_wave, rest): (Vec<&Tenant>, Vec<&Tenant>) = left.into_iter().partition(|tenant| {
            tenant
                .tags
                .iter()
                .any(|have| have.eq_ignore_ascii_case(tag))
        });
        groups.push((tag.clone(), in_wave.into_iter().cloned().collect()));
        left = rest;
    }
    let rest_name = if tags.is_empty() {
        "all tenants"
    } else {
        "the rest"
    };
    groups.push((rest_name.to_owned(), left.into_iter().cloned().collect()));
    let mut waves = Vec::new();
    for (name, tenants) in groups.into_iter().filter(|(_, t)| !t.is_empty()) {
        let size = batch_size.unwrap_or(tenants.len()).max(1);
        let batches: Vec<&[Tenant]> = tenants.chunks(size).collect();
        let count = batches.len();
        for (index, batch) in batches.into_iter().enumerate() {
            waves.push(Wave {
                name: if count > 1 {
                    format!("{name} ({} of {count})", index + 1)
                } else {
                    name.clone()
                },
                tenants: batch.to_vec(),
            });
        }
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::super::reports::{MergeFacts, SpaceFacts};
    use super::*;
    use crate::package::PackageName;

    fn tenant(name: &str, tags: &[&str]) -> Tenant {
        Tenant {
            id: format!("Tenants-{name}"),
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn waves_follow_the_tags_then_the_rest_in_batches() {
        let tenants = vec![
            tenant("E", &[]),
            tenant("B", &["Rollout/Canary"]),
            tenant("D", &["Rollout/Early", "Rollout/Canary"]),
            tenant("A", &[]),
            tenant("C", &["Rollout/Early"]),
        ];
        let names = |waves: Vec<Wave>| -> Vec<(String, Vec<String>)> {
            waves
                .into_iter()
                .map(|w| (w.name, w.tenants.into_iter().map(|t| t.name).collect()))
                .collect()
        };
        let tags = vec!["Rollout/Canary".to_owned(), "Rollout/Early".to_owned()];
        assert_eq!(
            names(waves(&tenants, &tags, None)),
            [
                (
                    "Rollout/Canary".to_owned(),
                    vec!["B".to_owned(), "D".to_owned()]
                ),
                ("Rollout/Early".to_owned(), vec!["C".to_owned()]),
                ("the rest".to_owned(), vec!["A".to_owned(), "E".to_owned()]),
            ]
        );
        let batched = names(waves(&tenants, &[], Some(2)));
        assert_eq!(batched.len(), 3);
        assert_eq!(batched[0].0, "all tenants (1 of 3)");
        assert_eq!(batched[2].1, ["E"]);
        assert!(waves(&[], &tags, Some(2)).is_empty());
    }

    fn report(facts: ReportFacts) -> ReadReport {
        ReadReport {
            tenant: None,
            facts,
        }
    }

    fn deployed(version: &str) -> ReportFacts {
        ReportFacts::Deploy(SpaceFacts {
            package: PackageName {
                id: Some("Hello_World".into()),
                version: Some(version.into()),
                directory: None,
            },
            ..SpaceFacts::default()
        })
    }

    #[test]
    fn a_re_run_skips_only_what_succeeded_on_this_version() {
        let target = Target {
            version: "2".into(),
            published: Some("2026-01-01T10:00:00+00:00".into()),
        };
        let latest = |state: &'static str, completed, reports: &'static [ReadReport]| LatestRun {
            task_id: "ServerTasks-1",
            state,
            completed,
            started: Some("2026-01-01T11:00:00+00:00"),
            reports,
        };
        assert_eq!(resume(None, Some(&target)), Resume::Run);
        let on_2 = Box::leak(Box::new([report(deployed("2"))]));
        let on_1 = Box::leak(Box::new([report(deployed("1"))]));
        let merged = Box::leak(Box::new([report(
            ReportFacts::Merge(MergeFacts::default()),
        )]));
        assert!(matches!(
            resume(Some(&latest("Success", true, on_2)), Some(&target)),
            Resume::Skip { .. }
        ));
        assert_eq!(
            resume(Some(&latest("Success", true, on_1)), Some(&target)),
            Resume::Run
        );
        assert_eq!(
            resume(Some(&latest("Failed", true, on_2)), Some(&target)),
            Resume::Run
        );
        assert!(matches!(
            resume(Some(&latest("Executing", false, &[])), Some(&target)),
            Resume::Adopt { .. }
        ));
        // No package in its report: the time it started against the version's publication.
        assert!(matches!(
            resume(Some(&latest("Success", true, merged)), Some(&target)),
            Resume::Skip { .. }
        ));
        let mut early = latest("Success", true, merged);
        early.started = Some("2026-01-01T09:00:00+00:00");
        assert_eq!(resume(Some(&early), Some(&target)), Resume::Run);
        assert_eq!(
            resume(Some(&latest("Success", true, on_2)), None),
            Resume::Run
        );
    }
}
