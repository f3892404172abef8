//! The `deploy` and `plan` report: each resource's outcome and each changed value before and
//! after, as data (the JSON report and `--output json`) and as a page.

use super::html::{Cell, Page, Row};
use super::ReportFiles;
use crate::outcome::{Outcome, OutcomeAction, Summary};
use crate::package::PackageName;
use serde::Serialize;

/// What a deploy (or plan) did, or would do, to each resource of the project.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// The downstream project's name.
    pub project: String,
    /// Its ID in the managed space, once it exists.
    pub project_id: Option<String>,
    /// The tenant the step ran for (`Octopus.Deployment.Tenant.Name`).
    pub tenant: Option<String>,
    /// The managed space's ID.
    pub space_id: String,
    /// The managed space's name.
    pub space_name: String,
    /// The managed space's server, as shown to people (no credentials).
    pub server: String,
    /// The managed space in the web UI (`<server>/app#/<space>`).
    pub space_url: String,
    /// The project in the managed space's web UI, once it exists.
    pub project_url: Option<String>,
    /// The template package by ID and version.
    pub package: PackageName,
    /// A plan: nothing was written.
    pub dry_run: bool,
    /// The counts of `resources` by what happened.
    pub summary: Summary,
    /// Whether anything was (or, in a plan, would be) written.
    pub changes: bool,
    /// Each resource and what converging did (or would do), with each changed value.
    pub resources: Vec<Outcome>,
    /// The report written beside the log (HTML and JSON), when there is a report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_files: Option<ReportFiles>,
}

impl std::fmt::Display for DeployReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "project `{}` in {} ({}) from {}: {}{}",
            self.project,
            self.space_name,
            self.space_id,
            self.package,
            self.summary,
            if self.dry_run {
                " (plan: nothing written)"
            } else {
                ""
            }
        )
    }
}

/// The project's page in the Octopus web UI: the form of the server's own `Links.Web` for a
/// project (`/app#/Spaces-1/projects/Projects-1`, as in the payloads under
/// tests/fixtures/octopus-payloads, and the Octopus CLI's `project list` "WEB URL").
pub fn project_url(server: &url::Url, space_id: &str, project_id: &str) -> String {
    let base = crate::origin::display(server);
    format!(
        "{}/app#/{space_id}/projects/{project_id}",
        base.trim_end_matches('/')
    )
}

/// Rows of changed values a report shows; the JSON beside it has every one.
const MAX_CHANGE_ROWS: usize = 250;

/// Created resources of one kind listed unfolded up to this many (a first deploy of a large
/// project creates thousands: those stay folded).
const OPEN_LIST_LENGTH: usize = 50;

/// `outcomes` grouped by kind, kinds in the order they first appear (the plan's order).
fn by_kind<'a>(outcomes: &[&'a Outcome]) -> Vec<(&'static str, Vec<&'a Outcome>)> {
    let mut groups: Vec<(&'static str, Vec<&'a Outcome>)> = Vec::new();
    for outcome in outcomes {
        match groups.iter_mut().find(|(kind, _)| *kind == outcome.kind) {
            Some((_, group)) => group.push(outcome),
            None => groups.push((outcome.kind, vec![outcome])),
        }
    }
    groups
}

/// How an outcome reads in the report, and its row's colour.
fn describe(action: &OutcomeAction, plan: bool) -> (&'static str, String) {
    let (class, done, would) = match action {
        OutcomeAction::Created => ("created", "created", "would create"),
        OutcomeAction::Updated(_) => ("updated", "updated", "would update"),
        OutcomeAction::Unchanged => ("unchanged", "unchanged", "unchanged"),
        OutcomeAction::KeptDownstream(_) => {
            ("kept", "kept downstream edit", "would keep downstream edit")
        }
        OutcomeAction::Removed => ("removed", "removed", "would remove"),
        OutcomeAction::SecretResent => ("resent", "secret resent", "would resend secret"),
    };
    let mut text = (if plan { would } else { done }).to_owned();
    if let OutcomeAction::Updated(fields) | OutcomeAction::KeptDownstream(fields) = action {
        text.push_str(&format!(" ({})", fields.join(", ")));
    }
    (class, text)
}

impl DeployReport {
    /// The report page: the outcome, where, each resource, and each changed value before and after.
    pub fn html(&self) -> String {
        let action = if self.dry_run { "plan" } else { "deploy" };
        let mut page = Page::new(&format!("octofleet {action}: {}", self.project));
        let headline = if self.dry_run {
            if self.changes {
                format!("changes pending: {}", self.summary)
            } else {
                format!("nothing to change: {}", self.summary)
            }
        } else {
            self.summary.to_string()
        };
        page.headline(if self.changes { "updated" } else { "created" }, &headline);
        let project = match &self.project_url {
            Some(url) => Cell::link(&self.project, url),
            None => Cell::text(&format!("{} (not created yet)", self.project)),
        };
        let mut facts = Vec::new();
        if let Some(tenant) = &self.tenant {
            facts.push(("tenant", Cell::text(tenant)));
        }
        facts.extend([
            ("project", project),
            (
                "managed space",
                Cell::link(
                    &format!("{} ({})", self.space_name, self.space_id),
                    &self.space_url,
                ),
            ),
            ("server", Cell::code(&self.server)),
            ("package", Cell::code(&self.package.to_string())),
            (
                "run",
                Cell::text(if self.dry_run {
                    "plan: nothing was written"
                } else {
                    "deploy"
                }),
            ),
        ]);
        page.facts(facts);
        let is_listed = |action: &OutcomeAction| {
            matches!(action, OutcomeAction::Created | OutcomeAction::Unchanged)
        };
        // Each change with its values, one row per changed value (a resource without values,
        // such as a removal, gets one row). Past a few hundred rows a person stops reading and
        // the page grows by megabytes: the rest are named per kind, and the JSON has them all.
        let changed: Vec<&Outcome> = self
            .resources
            .iter()
            .filter(|outcome| !is_listed(&outcome.action))
            .collect();
        let mut rows = Vec::new();
        let mut not_shown: Vec<&Outcome> = Vec::new();
        for outcome in &changed {
            let (class, text) = describe(&outcome.action, self.dry_run);
            let resource =
                || Cell::lines(vec![Cell::text(outcome.kind), Cell::code(&outcome.name)]);
            if rows.len() >= MAX_CHANGE_ROWS {
                not_shown.push(outcome);
                continue;
            }
            if outcome.changes.is_empty() {
                rows.push(Row::new(
                    Some(class),
                    vec![
                        resource(),
                        Cell::text(&text),
                        Cell::default(),
                        Cell::default(),
                        Cell::default(),
                    ],
                ));
            }
            for change in &outcome.changes {
                let (before, after) =
                    Cell::before_after(change.before.as_deref(), change.after.as_deref());
                rows.push(Row::new(
                    Some(class),
                    vec![
                        resource(),
                        Cell::text(&text),
                        Cell::code(&change.field),
                        before,
                        after,
                    ],
                ));
            }
        }
        if !rows.is_empty() {
            page.heading(&format!("Changes ({} resources)", changed.len()));
            page.table(
                &[
                    "resource",
                    "what happened",
                    "field",
                    "managed space has",
                    "package has",
                ],
                rows,
            );
        }
        if !not_shown.is_empty() {
            page.paragraph(&format!(
                "{} more changed resources, named below; each of their values is in the JSON report beside this page.",
                not_shown.len()
            ));
            for (kind, outcomes) in by_kind(&not_shown) {
                let names = outcomes
                    .iter()
                    .map(|outcome| {
                        let (_, text) = describe(&outcome.action, self.dry_run);
                        Cell::lines(vec![Cell::code(&outcome.name), Cell::text(&text)])
                    })
                    .collect();
                page.names("updated", kind, names, false);
            }
        }
        for listed in [OutcomeAction::Created, OutcomeAction::Unchanged] {
            let outcomes: Vec<&Outcome> = self
                .resources
                .iter()
                .filter(|outcome| outcome.action == listed)
                .collect();
            if outcomes.is_empty() {
                continue;
            }
            let (class, text) = describe(&listed, self.dry_run);
            let mut heading = text;
            heading[..1].make_ascii_uppercase();
            page.heading(&format!("{heading} ({})", outcomes.len()));
            for (kind, outcomes) in by_kind(&outcomes) {
                let names: Vec<Cell> = outcomes
                    .iter()
                    .map(|outcome| Cell::code(&outcome.name))
                    .collect();
                let open = listed == OutcomeAction::Created && names.len() <= OPEN_LIST_LENGTH;
                page.names(class, kind, names, open);
            }
        }
        page.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::FieldChange;

    fn report(resources: Vec<Outcome>) -> DeployReport {
        DeployReport {
            project: "Big".into(),
            project_id: Some("Projects-1".into()),
            tenant: Some("Europe".into()),
            space_id: "Spaces-2".into(),
            space_name: "Europe".into(),
            server: "https://octopus.example.com/".into(),
            space_url: "https://octopus.example.com/app#/Spaces-2".into(),
            project_url: Some(project_url(
                &"https://octopus.example.com/".parse().unwrap(),
                "Spaces-2",
                "Projects-1",
            )),
            package: PackageName {
                id: Some("Big".into()),
                version: Some("1.0.0".into()),
                directory: None,
            },
            dry_run: true,
            summary: Summary::of(&resources),
            changes: true,
            resources,
            report_files: None,
        }
    }

    /// Past the row limit the rest of the changes are named, not shown, and the page says the
    /// JSON has their values; created and unchanged resources are lists of names.
    #[test]
    fn a_large_plan_shows_the_first_changes_and_names_the_rest() {
        let mut resources: Vec<Outcome> = (0..MAX_CHANGE_ROWS + 10)
            .map(|i| {
                Outcome::new(
                    "variable",
                    &format!("Var{i:04}"),
                    OutcomeAction::Updated(vec!["Value".into()]),
                )
                .with_changes(vec![FieldChange::new(
                    "Value",
                    Some(&format!("old-{i}")),
                    Some(&format!("new-{i}")),
                )])
            })
            .collect();
        resources.push(Outcome::new(
            "step",
            "Big / Deploy",
            OutcomeAction::Unchanged,
        ));
        resources.push(Outcome::new("step", "Big / Notify", OutcomeAction::Created));
        let html = report(resources).html();
        assert!(html.contains("<details class=\"created\" open><summary>step (1)"));
        assert!(html.contains("<details class=\"unchanged\"><summary>step (1)"));
        assert!(html.contains("new-249") && !html.contains("new-250"));
        assert!(html.contains("10 more changed resources"), "{html}");
        assert!(html.contains("<code>Var0259</code>"));
        assert!(html.contains("Unchanged (1)"));
        assert!(html
            .contains("<a href=\"https://octopus.example.com/app#/Spaces-2/projects/Projects-1\""));
    }
}
