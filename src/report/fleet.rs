//! The fleet page: one row per tenant, those needing attention first, drawn from a
//! [`FleetView`]. Self-contained like every report, and readable on a phone (rows become cards).

use super::html::{Cell, Page, Row as HtmlRow};
use crate::fleet::{age, Drift, FleetView, MergeState, Row, Status};
use chrono::{DateTime, Utc};

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Failed => "st-failed",
        Status::Conflicted => "st-conflicted",
        Status::Drifted => "st-drifted",
        Status::Behind => "st-behind",
        Status::NeverRun => "st-never-run",
        Status::UpToDate => "st-up-to-date",
    }
}

fn when(at: Option<&str>, now: DateTime<Utc>) -> String {
    at.map(|at| age(at, now))
        .unwrap_or_else(|| "at an unknown time".to_owned())
}

fn package_cell(row: &Row, newest: Option<&str>) -> Cell {
    let deployed = match &row.deployed {
        Some(package) => package.to_string(),
        None => "not deployed".to_owned(),
    };
    let newest = match newest {
        Some(version) => format!("newest {version}"),
        None => "no package in the feed".to_owned(),
    };
    Cell::lines(vec![Cell::code(&deployed), Cell::text(&newest)])
}

fn drift_cell(drift: &Drift, now: DateTime<Utc>) -> Cell {
    Cell::text(&match drift {
        Drift::NoPlan => "no plan".to_owned(),
        Drift::Superseded { planned } => format!(
            "deployed since the last plan ({})",
            when(Some(planned), now)
        ),
        Drift::Clean { planned } => format!("no changes ({})", when(Some(planned), now)),
        Drift::Changes {
            count,
            overwrites,
            planned,
        } => format!(
            "{count} changes{} ({})",
            if *overwrites {
                ", some would overwrite the managed space"
            } else {
                ", additions only"
            },
            when(Some(planned), now)
        ),
    })
}

fn merge_cell(merge: &MergeState) -> Cell {
    match merge {
        MergeState::NoMerge => Cell::text("no merge"),
        MergeState::UpToDate => Cell::text("up to date"),
        MergeState::Behind { commits } => Cell::text(&format!("behind by {commits}")),
        MergeState::Conflict {
            pull_request,
            paths,
        } => {
            let text = format!("conflict in {paths} paths");
            match pull_request {
                Some(url) => Cell::lines(vec![Cell::text(&text), Cell::link("pull request", url)]),
                None => Cell::text(&text),
            }
        }
    }
}

fn last_run_cell(row: &Row, now: DateTime<Utc>) -> Cell {
    let Some(run) = &row.last_run else {
        return Cell::text("never run");
    };
    let mut lines = vec![Cell::link(
        &format!(
            "{}: {} {}",
            run.runbook,
            run.state,
            when(run.completed.as_deref(), now)
        ),
        &run.url,
    )];
    for failure in row.failures.iter().filter(|failure| failure.url != run.url) {
        lines.push(Cell::link(
            &format!("{}: {}", failure.runbook, failure.state),
            &failure.url,
        ));
    }
    if let Some(error) = row.failures.iter().find_map(|f| f.error.as_deref()) {
        lines.push(Cell::text(error));
    }
    Cell::lines(lines)
}

/// The fleet page.
pub fn html(view: &FleetView) -> String {
    let now = DateTime::parse_from_rfc3339(&view.generated)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    let counts = &view.counts;
    let mut page = Page::new(&format!("octofleet fleet: {}", view.project));
    if counts.attention == 0 {
        page.headline(
            "created",
            &format!("all {} tenants are up to date", counts.tenants),
        );
    } else {
        page.headline(
            "removed",
            &format!(
                "{} of {} tenants need attention",
                counts.attention, counts.tenants
            ),
        );
    }
    page.facts(vec![
        ("template project", Cell::text(&view.project)),
        (
            "template package",
            Cell::code(&format!(
                "{} {}",
                view.package_id,
                view.newest_version
                    .as_deref()
                    .unwrap_or("(none in the feed)")
            )),
        ),
        (
            "tenants",
            Cell::text(&format!(
                "{} up to date, {} behind, {} drifted, {} conflicted, {} failed, {} never run",
                counts.up_to_date,
                counts.behind,
                counts.drifted,
                counts.conflicted,
                counts.failed,
                counts.never_run
            )),
        ),
        ("generated", Cell::text(&view.generated)),
    ]);
    let rows = view
        .rows
        .iter()
        .map(|row| {
            let space = match &row.space {
                Some(space) => {
                    let text = format!(
                        "{} ({})",
                        space.name.as_deref().unwrap_or("?"),
                        space.id.as_deref().unwrap_or("?")
                    );
                    match &space.url {
                        Some(url) => Cell::link(&text, url),
                        None => Cell::text(&text),
                    }
                }
                None => Cell::text("unknown"),
            };
            let statuses = row
                .statuses
                .iter()
                .map(|status| status.label())
                .collect::<Vec<_>>()
                .join(", ");
            HtmlRow::new(
                Some(status_class(row.status())),
                vec![
                    Cell::link(&row.tenant.name, &row.tenant_url),
                    Cell::text(&statuses),
                    space,
                    package_cell(row, view.newest_version.as_deref()),
                    drift_cell(&row.drift, now),
                    merge_cell(&row.merge),
                    last_run_cell(row, now),
                ],
            )
        })
        .collect();
    page.heading(&format!("Tenants ({})", view.rows.len()));
    page.table(
        &[
            "tenant",
            "status",
            "managed space",
            "package",
            "drift",
            "merge",
            "last run",
        ],
        rows,
    );
    page.finish()
}
