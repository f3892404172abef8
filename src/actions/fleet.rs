//! `fleet`: the template project's tenants, the latest tasks of its octofleet runbooks for each
//! (found by query, a few per tenant and runbook, never the server's whole history), the JSON
//! reports those tasks attached, and the newest template package: one view, one page, one JSON.
//! Orchestration only: `octopus::task_queue` reads, `fleet` decides, `report::fleet` draws.

use super::{ActionError, Report, Server, EXIT_CHANGES, GIVE_ID_OR_NAME};
use crate::config::FleetConfig;
use crate::fleet::reports::{self, ReadReport};
use crate::fleet::{self, FleetView, Links, Run, Tenant, TenantHistory};
use crate::inputs::{quoted, PROJECT_NAME};
use crate::log_format::progress;
use crate::octopus::in_order::InOrder;
use crate::octopus::resources::{DeploymentProcess, Project, Runbook, ServerTask};
use crate::octopus::task_queue::{self, RunsQuery};
use crate::octopus::{feed, project_parts};
use crate::report::{ReportFiles, ReportTarget};
use crate::service_messages::ServiceMessage;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

/// Tenants read at once: enough to hide latency, few enough to be kind to the server.
const TENANTS_AT_ONCE: usize = 16;

/// Finished runs looked at per tenant and runbook for one that left a report.
const RUNS_PER_RUNBOOK: usize = 3;

/// What `fleet` hands back: the view, and its page when one was written.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Every tenant's row and the counts.
    #[serde(flatten)]
    pub view: FleetView,
    /// The report written beside the log (HTML and JSON), when there is a report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_files: Option<ReportFiles>,
    /// `Octofleet.FailOnAttention`.
    #[serde(skip)]
    pub fail_on_attention: bool,
}

impl std::fmt::Display for FleetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.view.counts;
        write!(
            f,
            "fleet of `{}`: {} tenants, {} need attention ({} failed, {} conflicted, {} drifted, {} behind, {} never run, {} up to date)",
            self.view.project, c.tenants, c.attention, c.failed, c.conflicted, c.drifted, c.behind, c.never_run, c.up_to_date
        )
    }
}

impl Report for FleetReport {
    /// The counts, for a step condition or a notification.
    fn output_variables(&self) -> Vec<ServiceMessage> {
        let c = &self.view.counts;
        let mut messages: Vec<ServiceMessage> = [
            ("TenantCount", c.tenants),
            ("AttentionCount", c.attention),
            ("UpToDateCount", c.up_to_date),
            ("BehindCount", c.behind),
            ("DriftedCount", c.drifted),
            ("ConflictedCount", c.conflicted),
            ("FailedCount", c.failed),
            ("NeverRunCount", c.never_run),
        ]
        .into_iter()
        .map(|(name, count)| ServiceMessage::set_variable(name, &count.to_string()))
        .collect();
        if let Some(files) = &self.report_files {
            messages.extend(files.artifacts());
        }
        messages
    }

    fn details(&self) -> Vec<String> {
        self.view
            .rows
            .iter()
            .map(|row| {
                let statuses: Vec<&str> = row.statuses.iter().map(|s| s.label()).collect();
                let package = row
                    .deployed
                    .as_ref()
                    .map_or("not deployed".to_owned(), |p| p.to_string());
                format!("{}: {} ({package})", row.tenant.name, statuses.join(", "))
            })
            .collect()
    }

    /// [`EXIT_CHANGES`] when asked to fail on attention and a tenant needs it.
    fn exit_code(&self) -> u8 {
        if self.fail_on_attention && self.view.counts.attention > 0 {
            EXIT_CHANGES as u8
        } else {
            0
        }
    }
}

/// Run `fleet`.
pub async fn run(config: &FleetConfig) -> Result<FleetReport, ActionError> {
    super::check_report_dir(config.report_dir.as_deref())?;
    let server = Server::management(&config.management.server)?;
    let space_id = server
        .space_id(&config.management.space, GIVE_ID_OR_NAME)
        .await?;
    let project = find_project(&server, &space_id, &config.project_name).await?;
    let view = read_view(&server, &space_id, &project, config).await?;
    write(view, config)
}

/// Write the fleet page and its JSON when there is a report directory.
pub fn write(view: FleetView, config: &FleetConfig) -> Result<FleetReport, ActionError> {
    let mut report = FleetReport {
        view,
        report_files: None,
        fail_on_attention: config.fail_on_attention,
    };
    if let Some(dir) = &config.report_dir {
        let target = ReportTarget {
            dir: dir.clone(),
            subject: config.project_name.clone(),
            tenant: None,
        };
        let html = crate::report::fleet::html(&report.view);
        let files = crate::report::write(&target, "fleet", &html, &report.view, &[])
            .map_err(ActionError::failed)?;
        report.report_files = Some(files);
    }
    Ok(report)
}

/// The template project by exact name; missing is an input error naming the closest names.
pub async fn find_project(
    server: &Server,
    space_id: &str,
    name: &str,
) -> Result<Project, ActionError> {
    project_parts::find_project(&server.client, space_id, name)
        .await
        .map_err(server.error())?
        .ok_or_else(|| {
            ActionError::input(format!(
                "the template project {} was not found in {space_id} on {}: check {}",
                quoted(name),
                server.label(),
                PROJECT_NAME
            ))
        })
}

/// The actions an octofleet step of this process runs (its script runs `octofleet <action>`).
fn octofleet_actions(process: &DeploymentProcess) -> Vec<String> {
    let pattern =
        regex::Regex::new(r"\boctofleet\s+(plan|deploy|fork|merge)\b").expect("a valid pattern");
    let mut actions: Vec<String> = process
        .steps
        .iter()
        .flat_map(|step| &step.actions)
        .filter(|action| !action.is_disabled)
        .filter_map(|action| action.properties.get("Octopus.Action.Script.ScriptBody"))
        .filter_map(|body| body.as_text())
        .flat_map(|body| {
            pattern
                .captures_iter(body)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

/// The project's runbooks that run an octofleet step for a tenant (plan, deploy, fork or merge);
/// when none does, every runbook that can run for tenants.
pub async fn fleet_runbooks(
    server: &Server,
    space_id: &str,
    project: &Project,
) -> Result<Vec<Runbook>, ActionError> {
    if project.conversion_state("RunbooksAreInGit") {
        return Err(ActionError::input(format!(
            "the runbooks of {} are kept in its Git repository: fleet and rollout read runbooks kept in the database only",
            quoted(&project.name)
        )));
    }
    let project_id = project.id.clone().unwrap_or_default();
    let runbooks = task_queue::project_runbooks(&server.client, space_id, &project_id)
        .await
        .map_err(server.error())?;
    let tenanted = |runbook: &Runbook| runbook.multi_tenancy_mode.as_deref() != Some("Untenanted");
    let with_octofleet: Vec<Runbook> = runbooks
        .iter()
        .filter(|(runbook, process)| {
            tenanted(runbook)
                && process
                    .as_ref()
                    .is_some_and(|p| !octofleet_actions(p).is_empty())
        })
        .map(|(runbook, _)| runbook.clone())
        .collect();
    if !with_octofleet.is_empty() {
        return Ok(with_octofleet);
    }
    tracing::warn!(
        "no runbook of {} runs an octofleet step (plan, deploy, fork or merge) for tenants: reading every runbook that can run for tenants",
        quoted(&project.name)
    );
    Ok(runbooks
        .into_iter()
        .map(|(runbook, _)| runbook)
        .filter(tenanted)
        .collect())
}

/// The project's tenants, narrowed by the tag filter.
pub async fn fleet_tenants(
    server: &Server,
    space_id: &str,
    project: &Project,
    tags: &[String],
) -> Result<Vec<Tenant>, ActionError> {
    let project_id = project.id.clone().unwrap_or_default();
    let tenants = task_queue::tenants_of_project(&server.client, space_id, &project_id)
        .await
        .map_err(server.error())?;
    Ok(tenants
        .into_iter()
        .filter(|tenant| fleet::has_tags(&tenant.tenant_tags, tags))
        .map(|tenant| Tenant {
            id: tenant.id.unwrap_or_default(),
            name: tenant.name,
            tags: tenant.tenant_tags,
        })
        .collect())
}

/// The octofleet reports a task attached that name this tenant (or no tenant).
pub async fn task_reports(
    server: &Server,
    space_id: &str,
    task_id: &str,
    tenant: &str,
) -> Result<Vec<ReadReport>, ActionError> {
    let artifacts = task_queue::artifacts_of(&server.client, space_id, task_id)
        .await
        .map_err(server.error())?;
    let mut read = Vec::new();
    for artifact in artifacts
        .iter()
        .filter(|artifact| reports::is_report_file(&artifact.filename))
    {
        let bytes = task_queue::artifact_content(&server.client, space_id, &artifact.id)
            .await
            .map_err(server.error())?;
        match reports::read(&bytes) {
            Some(report)
                if report
                    .tenant
                    .as_deref()
                    .is_none_or(|named| named.eq_ignore_ascii_case(tenant)) =>
            {
                read.push(report)
            }
            Some(_) => tracing::debug!(
                task = task_id,
                file = artifact.filename,
                "a report naming another tenant; left out"
            ),
            None => {}
        }
    }
    Ok(read)
}

fn run_of(task: &ServerTask, runbook: &str, reports: Vec<ReadReport>) -> Run {
    Run {
        runbook: runbook.to_owned(),
        task_id: task.id.clone(),
        state: task.state.clone(),
        completed: task.last_time().map(str::to_owned),
        reports,
        error: task.error_message.clone().filter(|e| !e.is_empty()),
    }
}

/// One tenant's history: per runbook the latest finished run, and the newest that left reports.
async fn history(
    server: &Server,
    space_id: &str,
    project_id: &str,
    runbooks: &[Runbook],
    tenant: Tenant,
) -> Result<TenantHistory, ActionError> {
    let mut all = Vec::new();
    for runbook in runbooks {
        let runbook_id = runbook.id.clone().unwrap_or_default();
        let query = RunsQuery {
            project_id,
            runbook_id: &runbook_id,
            tenant_id: &tenant.id,
            completed_only: true,
            take: RUNS_PER_RUNBOOK,
        };
        let tasks = task_queue::latest_runs(&server.client, space_id, &query)
            .await
            .map_err(server.error())?;
        let mut runs = Vec::new();
        for task in &tasks {
            let reports = task_reports(server, space_id, &task.id, &tenant.name).await?;
            let found = !reports.is_empty();
            runs.push(run_of(task, &runbook.name, reports));
            if found {
                break;
            }
        }
        if !runs.is_empty() {
            all.push(runs);
        }
    }
    Ok(TenantHistory { tenant, runs: all })
}

/// Read the whole fleet and make its view.
pub async fn read_view(
    server: &Server,
    space_id: &str,
    project: &Project,
    config: &FleetConfig,
) -> Result<FleetView, ActionError> {
    progress(0, "Reading the template project's tenants and runbooks");
    let project_id = project.id.clone().unwrap_or_default();
    let (tenants, runbooks, newest) = tokio::join!(
        fleet_tenants(server, space_id, project, &config.tenant_tags),
        fleet_runbooks(server, space_id, project),
        async {
            feed::latest(&server.client, space_id, &config.package_id)
                .await
                .map_err(server.error())
        }
    )
    .in_order()?;
    let names: Vec<&str> = runbooks.iter().map(|r| r.name.as_str()).collect();
    tracing::info!(
        "{} tenants; runbooks read: {}",
        tenants.len(),
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    );
    progress(
        20,
        &format!("Reading the runs of {} tenants", tenants.len()),
    );
    let histories: Vec<TenantHistory> = futures::stream::iter(tenants)
        .map(|tenant| history(server, space_id, &project_id, &runbooks, tenant))
        .buffered(TENANTS_AT_ONCE)
        .try_collect()
        .await?;
    let links = Links {
        server: crate::origin::display(&config.management.server.url),
        space_id: space_id.to_owned(),
    };
    let newest_version = newest.and_then(|package| package.version);
    Ok(fleet::view(
        &project.name,
        &config.package_id,
        newest_version.as_deref(),
        &histories,
        &links,
        chrono::Utc::now(),
    ))
}
