//! `rollout`: start a runbook of the template project for its tenants in waves on Octopus's task
//! queue, wait for each wave within the deadline, stop once failures pass the budget, resume on a
//! re-run without starting a tenant twice, and end with the fleet report. Orchestration only:
//! `fleet::rollout` decides, `octopus::task_queue` talks to the server.
//!
//! Every start is logged as it happens, with its task's link, before anything waits on it: when
//! the step is cancelled (Octopus stops the script, OctopusDeploy/Issues #7557) or its deadline
//! passes, the log already says which tenants were started.

use super::fleet::{self as fleet_action, FleetReport};
use super::{ActionError, Report, Server, GIVE_ID_OR_NAME};
use crate::config::RolloutConfig;
use crate::fleet::rollout::{self, LatestRun, Resume, Target};
use crate::fleet::Tenant;
use crate::inputs::{quoted, ROLLOUT_ENVIRONMENT, ROLLOUT_RUNBOOK};
use crate::log_format::progress;
use crate::octopus::resources::{Environment, RunRunbook, Runbook};
use crate::octopus::task_queue::{self, RunsQuery};
use crate::octopus::{feed, Api, OctopusError};
use crate::service_messages::ServiceMessage;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Tenants whose latest run is looked up at once before the rollout starts.
const TENANTS_AT_ONCE: usize = 16;

/// Runs started at once within a wave (each logged before and after its request).
const STARTS_AT_ONCE: usize = 4;

/// Polling a wave's tasks: the first look after this, then each wait half as long again, up to
/// [`POLL_MAX`]. (The clients' waiters poll every 4 s, OctopusClients `WaitForCompletion`, or 10 s,
/// the Octopus CLI `task wait`; a rollout starts its next wave as soon as it may.)
const POLL_FIRST: Duration = Duration::from_millis(200);
const POLL_MAX: Duration = Duration::from_secs(2);

/// How a tenant's part in the rollout ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TenantOutcome {
    /// Its latest run of the runbook succeeded on the version rolled out.
    Skipped {
        /// Why.
        reason: String,
        /// That run's task.
        task_url: String,
    },
    /// Not connected to the project in the rollout's environment: Octopus cannot run it there.
    NotConnected,
    /// Its task succeeded.
    Succeeded {
        /// The task.
        task_url: String,
    },
    /// Its task failed, timed out or was cancelled.
    Failed {
        /// The task.
        task_url: String,
        /// Its end state.
        state: String,
        /// Its error message.
        error: Option<String>,
    },
    /// Started, and not finished when the rollout stopped waiting (deadline or interruption).
    Unfinished {
        /// The task.
        task_url: String,
        /// The rollout cancelled it (`Octofleet.Rollout.CancelOnTimeout`).
        cancelled: bool,
    },
    /// The server refused to start it.
    Refused {
        /// What it said.
        error: String,
    },
    /// Never started: the rollout stopped first.
    NotStarted,
}

impl TenantOutcome {
    fn failed(&self) -> bool {
        matches!(
            self,
            TenantOutcome::Failed { .. } | TenantOutcome::Refused { .. }
        )
    }

    fn describe(&self) -> String {
        match self {
            TenantOutcome::Skipped { reason, task_url } => {
                format!("skipped: {reason} ({task_url})")
            }
            TenantOutcome::NotConnected => {
                "not connected to the project in this environment".to_owned()
            }
            TenantOutcome::Succeeded { task_url } => format!("succeeded ({task_url})"),
            TenantOutcome::Failed {
                task_url,
                state,
                error,
            } => format!(
                "{}{} ({task_url})",
                state.to_lowercase(),
                error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            TenantOutcome::Unfinished {
                task_url,
                cancelled,
            } => format!(
                "started, not finished{} ({task_url})",
                if *cancelled {
                    ", cancelled"
                } else {
                    ", still running in Octopus"
                }
            ),
            TenantOutcome::Refused { error } => format!("not started, the server refused: {error}"),
            TenantOutcome::NotStarted => "not started".to_owned(),
        }
    }
}

/// One tenant's line of the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantResult {
    /// The tenant's name.
    pub tenant: String,
    /// Its ID.
    pub tenant_id: String,
    /// Its wave (none for skipped and unconnected tenants).
    pub wave: Option<String>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: TenantOutcome,
}

/// How the rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Every wave ran, failures within the budget.
    Completed,
    /// Failures passed `Octofleet.Rollout.MaxFailures`.
    Stopped,
    /// The deadline (`Octofleet.Timeout`) passed.
    DeadlinePassed,
    /// The step was cancelled (SIGINT or SIGTERM).
    Interrupted,
}

/// What `rollout` hands back.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutReport {
    /// The runbook run.
    pub runbook: String,
    /// Its environment.
    pub environment: String,
    /// The version rolled out (the newest template package).
    pub target: Option<Target>,
    /// The waves, in order.
    pub waves: Vec<String>,
    /// Failed tenants the rollout went on after.
    pub max_failures: usize,
    /// Every tenant.
    pub tenants: Vec<TenantResult>,
    /// How it ended.
    pub ending: Ending,
    /// The fleet report it ended with.
    pub fleet: Option<FleetReport>,
}

impl RolloutReport {
    fn count(&self, keep: impl Fn(&TenantOutcome) -> bool) -> usize {
        self.tenants.iter().filter(|t| keep(&t.outcome)).count()
    }

    fn started(&self) -> usize {
        self.count(|o| {
            matches!(
                o,
                TenantOutcome::Succeeded { .. }
                    | TenantOutcome::Failed { .. }
                    | TenantOutcome::Unfinished { .. }
            )
        })
    }

    fn failures(&self) -> usize {
        self.count(TenantOutcome::failed)
    }

    /// Why the rollout did not complete, for the error line and the task summary.
    pub fn failure(&self) -> Option<String> {
        let unfinished = self.count(|o| matches!(o, TenantOutcome::Unfinished { .. }));
        let not_started = self.count(|o| *o == TenantOutcome::NotStarted);
        let tail = format!(
            "{} started ({unfinished} not finished), {} failed, {not_started} not started; the log lists each tenant with its task. Run the rollout again to resume: it skips the tenants that succeeded on this version and waits for those still running.",
            self.started(),
            self.failures()
        );
        match self.ending {
            Ending::Completed => None,
            Ending::Stopped => Some(format!(
                "the rollout of `{}` stopped: {} tenants failed, more than {} allowed (Octofleet.Rollout.MaxFailures); {tail}",
                self.runbook,
                self.failures(),
                self.max_failures
            )),
            Ending::DeadlinePassed => Some(format!(
                "the rollout of `{}` stopped at its deadline (Octofleet.Timeout); {tail}",
                self.runbook
            )),
            Ending::Interrupted => Some(format!(
                "the rollout of `{}` was cancelled; {tail}",
                self.runbook
            )),
        }
    }
}

impl std::fmt::Display for RolloutReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rollout of `{}` in {}{}: {} started, {} succeeded, {} failed, {} skipped, {} not started ({})",
            self.runbook,
            self.environment,
            self.target
                .as_ref()
                .map(|t| format!(" to {}", t.version))
                .unwrap_or_default(),
            self.started(),
            self.count(|o| matches!(o, TenantOutcome::Succeeded { .. })),
            self.failures(),
            self.count(|o| matches!(o, TenantOutcome::Skipped { .. })),
            self.count(|o| *o == TenantOutcome::NotStarted),
            match self.ending {
                Ending::Completed => "completed",
                Ending::Stopped => "stopped after too many failures",
                Ending::DeadlinePassed => "stopped at the deadline",
                Ending::Interrupted => "cancelled",
            }
        )
    }
}

impl Report for RolloutReport {
    fn output_variables(&self) -> Vec<ServiceMessage> {
        let mut messages: Vec<ServiceMessage> = [
            ("StartedCount", self.started()),
            (
                "SucceededCount",
                self.count(|o| matches!(o, TenantOutcome::Succeeded { .. })),
            ),
            ("RolloutFailedCount", self.failures()),
            (
                "SkippedCount",
                self.count(|o| matches!(o, TenantOutcome::Skipped { .. })),
            ),
            (
                "NotStartedCount",
                self.count(|o| *o == TenantOutcome::NotStarted),
            ),
        ]
        .into_iter()
        .map(|(name, count)| ServiceMessage::set_variable(name, &count.to_string()))
        .collect();
        if let Some(fleet) = &self.fleet {
            messages.extend(fleet.output_variables());
        }
        messages
    }

    fn details(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .tenants
            .iter()
            .map(|t| {
                format!(
                    "{}{}: {}",
                    t.wave
                        .as_deref()
                        .map(|w| format!("[{w}] "))
                        .unwrap_or_default(),
                    t.tenant,
                    t.outcome.describe()
                )
            })
            .collect();
        if let Some(fleet) = &self.fleet {
            lines.push(fleet.to_string());
        }
        lines
    }

    /// 0 when every wave ran within the failure budget (3 with `Octofleet.FailOnAttention` when
    /// the fleet report finds a tenant needing attention); 1 otherwise.
    fn exit_code(&self) -> u8 {
        match (self.ending, &self.fleet) {
            (Ending::Completed, Some(fleet)) => fleet.exit_code(),
            (Ending::Completed, None) => 0,
            _ => super::EXIT_FAILED as u8,
        }
    }
}

/// SIGINT or SIGTERM: Octopus stopping the step.
#[derive(Clone)]
struct Interrupt(tokio::sync::watch::Receiver<bool>);

impl Interrupt {
    fn install() -> Interrupt {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            let _ = sender.send(true);
        });
        Interrupt(receiver)
    }

    fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once interrupted; never, when the signals could not be watched.
    async fn wait(&mut self) {
        if self.0.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What the rollout knows of one connected tenant before it starts.
struct Plan {
    tenant: Tenant,
    decision: Resume,
    /// The runbook's latest task for it before this rollout: after a lost answer, a newer one is
    /// the run this rollout's POST made.
    latest_before: Option<String>,
}

/// Run `rollout`. `timeout` is the action's deadline (`Octofleet.Timeout`); the rollout stops
/// waiting before it, keeping a reserve for the summary and the fleet report.
pub async fn run(config: &RolloutConfig, timeout: Duration) -> Result<RolloutReport, ActionError> {
    let reserve = (timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let deadline = Instant::now() + timeout.saturating_sub(reserve);
    let mut interrupt = Interrupt::install();
    let fleet_config = &config.fleet;
    super::check_report_dir(fleet_config.report_dir.as_deref())?;
    let server = Server::management(&fleet_config.management.server)?;
    let space_id = server
        .space_id(&fleet_config.management.space, GIVE_ID_OR_NAME)
        .await?;
    let project =
        fleet_action::find_project(&server, &space_id, &fleet_config.project_name).await?;
    let project_id = project.id.clone().unwrap_or_default();
    let runbook = find_runbook(&server, &space_id, &project_id, &config.runbook).await?;
    let runbook_id = runbook.id.clone().unwrap_or_default();
    let environment = Api::<Environment>::new(&server.client, Some(&space_id))
        .find_by_name(&config.environment)
        .await
        .map_err(server.error())?
        .ok_or_else(|| {
            ActionError::input(format!(
                "the environment {} was not found in {space_id}: check {ROLLOUT_ENVIRONMENT}",
                quoted(&config.environment)
            ))
        })?;
    let environment_id = environment.id.clone().unwrap_or_default();
    let tenants = task_queue::tenants_of_project(&server.client, &space_id, &project_id)
        .await
        .map_err(server.error())?;
    let target = feed::latest(&server.client, &space_id, &fleet_config.package_id)
        .await
        .map_err(server.error())?
        .and_then(|package| {
            package.version.map(|version| Target {
                version,
                published: package.published,
            })
        });
    if target.is_none() {
        tracing::warn!(
            "the built-in feed has no package {}: no run counts as done, every tenant runs",
            quoted(&fleet_config.package_id)
        );
    }
    let links = crate::fleet::Links {
        server: crate::origin::display(&fleet_config.management.server.url),
        space_id: space_id.clone(),
    };

    let mut results: Vec<TenantResult> = Vec::new();
    let mut connected = Vec::new();
    for tenant in tenants
        .into_iter()
        .filter(|t| crate::fleet::has_tags(&t.tenant_tags, &fleet_config.tenant_tags))
    {
        let in_environment = tenant
            .project_environments
            .iter()
            .find(|(project, _)| project.eq_ignore_ascii_case(&project_id))
            .is_some_and(|(_, envs)| envs.iter().any(|e| e.eq_ignore_ascii_case(&environment_id)));
        let entry = Tenant {
            id: tenant.id.clone().unwrap_or_default(),
            name: tenant.name.clone(),
            tags: tenant.tenant_tags.clone(),
        };
        if in_environment {
            connected.push(entry);
        } else {
            results.push(TenantResult {
                tenant: entry.name,
                tenant_id: entry.id,
                wave: None,
                outcome: TenantOutcome::NotConnected,
            });
        }
    }

    progress(
        0,
        &format!(
            "Looking up the latest run of `{}` for {} tenants",
            runbook.name,
            connected.len()
        ),
    );
    let plans: Vec<Plan> = futures::stream::iter(connected)
        .map(|tenant| {
            plan_tenant(
                &server,
                &space_id,
                &project_id,
                &runbook_id,
                target.as_ref(),
                tenant,
            )
        })
        .buffered(TENANTS_AT_ONCE)
        .try_collect()
        .await?;
    let mut to_run = Vec::new();
    let mut decisions = BTreeMap::new();
    for plan in plans {
        match &plan.decision {
            Resume::Skip { reason, task_id } => {
                tracing::info!(
                    "{}: skipped, {reason} ({})",
                    plan.tenant.name,
                    links.task(task_id)
                );
                results.push(TenantResult {
                    tenant: plan.tenant.name.clone(),
                    tenant_id: plan.tenant.id.clone(),
                    wave: None,
                    outcome: TenantOutcome::Skipped {
                        reason: reason.clone(),
                        task_url: links.task(task_id),
                    },
                });
            }
            _ => to_run.push(plan.tenant.clone()),
        }
        decisions.insert(plan.tenant.id.clone(), plan);
    }
    let waves = rollout::waves(&to_run, &config.waves.tags, config.waves.batch_size);
    tracing::info!(
        "rolling `{}` out in {}{}: {} waves ({}), {} tenants skipped, {} not connected",
        runbook.name,
        config.environment,
        target
            .as_ref()
            .map(|t| format!(" to {}", t.version))
            .unwrap_or_default(),
        waves.len(),
        waves
            .iter()
            .map(|w| format!("{}: {}", w.name, w.tenants.len()))
            .collect::<Vec<_>>()
            .join(", "),
        results
            .iter()
            .filter(|r| matches!(r.outcome, TenantOutcome::Skipped { .. }))
            .count(),
        results
            .iter()
            .filter(|r| r.outcome == TenantOutcome::NotConnected)
            .count(),
    );

    let start = StartContext {
        server: &server,
        space_id: &space_id,
        project_id: &project_id,
        runbook: &runbook,
        environment: &config.environment,
        links: &links,
    };
    let mut ending = Ending::Completed;
    let mut failures = 0;
    let total = waves.len().max(1);
    for (index, wave) in waves.iter().enumerate() {
        if ending != Ending::Completed {
            not_started(&mut results, wave);
            continue;
        }
        if interrupt.is_set() {
            ending = Ending::Interrupted;
            not_started(&mut results, wave);
            continue;
        }
        if Instant::now() >= deadline {
            ending = Ending::DeadlinePassed;
            not_started(&mut results, wave);
            continue;
        }
        progress(
            (index * 100 / total) as u8,
            &format!(
                "Wave {} of {total}: {} ({} tenants)",
                index + 1,
                wave.name,
                wave.tenants.len()
            ),
        );
        let starting = interrupt.clone();
        let begun: Vec<(Tenant, Result<String, TenantOutcome>)> =
            futures::stream::iter(wave.tenants.iter())
                .map(|tenant| {
                    let (start, starting, plan) = (&start, &starting, &decisions[&tenant.id]);
                    async move {
                        if starting.is_set() || Instant::now() >= deadline {
                            return (tenant.clone(), Err(TenantOutcome::NotStarted));
                        }
                        let begun = match &plan.decision {
                            Resume::Adopt { task_id } => {
                                tracing::info!(
                                    "{}: a run started earlier is still going, waiting for it: {}",
                                    tenant.name,
                                    start.links.task(task_id)
                                );
                                Ok(task_id.clone())
                            }
                            _ => start
                                .tenant(tenant, plan.latest_before.as_deref(), &wave.name)
                                .await
                                .map_err(|error| {
                                    tracing::warn!(
                                        "{}: not started, the server refused: {error}",
                                        tenant.name
                                    );
                                    TenantOutcome::Refused { error }
                                }),
                        };
                        (tenant.clone(), begun)
                    }
                })
                .buffered(STARTS_AT_ONCE)
                .collect()
                .await;
        let mut running: Vec<(Tenant, String)> = Vec::new();
        for (tenant, begun) in begun {
            match begun {
                Ok(task_id) => running.push((tenant, task_id)),
                Err(outcome) => results.push(result(&tenant, wave, outcome)),
            }
        }
        let (done, stopped) = wait(
            &server,
            &space_id,
            &links,
            running,
            deadline,
            &mut interrupt,
        )
        .await;
        for (tenant, outcome) in done {
            results.push(result(&tenant, wave, outcome));
        }
        failures = results.iter().filter(|r| r.outcome.failed()).count();
        if let Some(stop) = stopped {
            ending = stop;
        } else if failures > config.max_failures {
            tracing::warn!(
                "{failures} tenants failed, more than the {} allowed (Octofleet.Rollout.MaxFailures): the rollout stops here",
                config.max_failures
            );
            ending = Ending::Stopped;
        }
    }
    let _ = failures;
    if ending == Ending::DeadlinePassed && config.cancel_on_timeout {
        cancel_unfinished(&server, &mut results).await;
    }

    // The fleet report, within the reserve kept for it.
    let fleet = match tokio::time::timeout(
        (deadline + reserve).saturating_duration_since(Instant::now()),
        fleet_action::read_view(&server, &space_id, &project, fleet_config),
    )
    .await
    {
        Ok(Ok(view)) => Some(fleet_action::write(view, fleet_config)?),
        Ok(Err(error)) => {
            tracing::warn!("the fleet report could not be made: {error}");
            None
        }
        Err(_) => {
            tracing::warn!("the fleet report did not fit in the time left before the deadline; run `octofleet fleet` for it");
            None
        }
    };
    results.sort_by_key(|r| r.tenant.to_lowercase());
    Ok(RolloutReport {
        runbook: runbook.name.clone(),
        environment: config.environment.clone(),
        target,
        waves: waves.iter().map(|w| w.name.clone()).collect(),
        max_failures: config.max_failures,
        tenants: results,
        ending,
        fleet,
    })
}

fn result(tenant: &Tenant, wave: &rollout::Wave, outcome: TenantOutcome) -> TenantResult {
    TenantResult {
        tenant: tenant.name.clone(),
        tenant_id: tenant.id.clone(),
        wave: Some(wave.name.clone()),
        outcome,
    }
}

fn not_started(results: &mut Vec<TenantResult>, wave: &rollout::Wave) {
    for tenant in &wave.tenants {
        results.push(result(tenant, wave, TenantOutcome::NotStarted));
    }
}

/// The runbook by exact name (then without case); it must run for tenants and be published.
async fn find_runbook(
    server: &Server,
    space_id: &str,
    project_id: &str,
    name: &str,
) -> Result<Runbook, ActionError> {
    let runbooks = task_queue::project_runbooks(&server.client, space_id, project_id)
        .await
        .map_err(server.error())?;
    let found = runbooks
        .iter()
        .map(|(runbook, _)| runbook)
        .find(|runbook| runbook.name == name)
        .or_else(|| {
            runbooks
                .iter()
                .map(|(runbook, _)| runbook)
                .find(|runbook| runbook.name.eq_ignore_ascii_case(name))
        });
    let Some(runbook) = found else {
        let names: Vec<String> = runbooks.iter().map(|(r, _)| quoted(&r.name)).collect();
        return Err(ActionError::input(format!(
            "the runbook {} is not in the template project: check {ROLLOUT_RUNBOOK} (its runbooks: {})",
            quoted(name),
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        )));
    };
    if runbook
        .multi_tenancy_mode
        .as_deref()
        .unwrap_or("Untenanted")
        == "Untenanted"
    {
        return Err(ActionError::input(format!(
            "the runbook {} runs untenanted: set its multi-tenancy mode to tenanted (Runbook settings) to roll it out to tenants",
            quoted(&runbook.name)
        )));
    }
    let published = runbook
        .extra
        .get("PublishedRunbookSnapshotId")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|id| !id.is_empty());
    if !published {
        return Err(ActionError::input(format!(
            "the runbook {} has no published snapshot, and Octopus runs a runbook's published snapshot: publish it, then run the rollout again",
            quoted(&runbook.name)
        )));
    }
    Ok(runbook.clone())
}

/// The tenant's latest run of the runbook, and what the rollout makes of it.
async fn plan_tenant(
    server: &Server,
    space_id: &str,
    project_id: &str,
    runbook_id: &str,
    target: Option<&Target>,
    tenant: Tenant,
) -> Result<Plan, ActionError> {
    let query = RunsQuery {
        project_id,
        runbook_id,
        tenant_id: &tenant.id,
        completed_only: false,
        take: 1,
    };
    let latest = task_queue::latest_runs(&server.client, space_id, &query)
        .await
        .map_err(server.error())?
        .into_iter()
        .next();
    let reports = match &latest {
        Some(task) if task.succeeded() => {
            fleet_action::task_reports(server, space_id, &task.id, &tenant.name).await?
        }
        _ => Vec::new(),
    };
    let decision = rollout::resume(
        latest
            .as_ref()
            .map(|task| LatestRun {
                task_id: &task.id,
                state: &task.state,
                completed: task.is_completed,
                started: task.start_time.as_deref().or(task.queue_time.as_deref()),
                reports: &reports,
            })
            .as_ref(),
        target,
    );
    Ok(Plan {
        tenant,
        decision,
        latest_before: latest.map(|task| task.id),
    })
}

/// What starting a tenant's run needs.
struct StartContext<'a> {
    server: &'a Server,
    space_id: &'a str,
    project_id: &'a str,
    runbook: &'a Runbook,
    environment: &'a str,
    links: &'a crate::fleet::Links,
}

impl StartContext<'_> {
    /// Start one tenant's run, logged before and after. A POST is never repeated blindly: after
    /// an ambiguous failure the tenant's latest task is looked at, and one newer than the one
    /// before this rollout is the run the POST made.
    async fn tenant(
        &self,
        tenant: &Tenant,
        latest_before: Option<&str>,
        wave: &str,
    ) -> Result<String, String> {
        tracing::info!("{}: starting ({wave})", tenant.name);
        let command = RunRunbook {
            space_id: self.space_id.to_owned(),
            space_id_or_name: self.space_id.to_owned(),
            project_name: self.project_id.to_owned(),
            runbook_name: self.runbook.name.clone(),
            environment_names: vec![self.environment.to_owned()],
            tenants: vec![tenant.id.clone()],
            tenant_tags: Vec::new(),
        };
        let client = &self.server.client;
        let policy = client.retry_policy();
        let mut attempt = 1;
        let task_id = loop {
            let error = match task_queue::run_runbook(client, self.space_id, &command).await {
                Ok(tasks) => match tasks.into_iter().next() {
                    Some(task) => break task.server_task_id,
                    None => return Err("the server queued no run".to_owned()),
                },
                Err(error) => error,
            };
            if !error.is_transient() {
                return Err(error.to_string());
            }
            if let Some(made) = self.made_by_lost_answer(tenant, latest_before).await {
                break made;
            }
            if !policy.should_retry(attempt, error.is_timeout()) {
                return Err(error.to_string());
            }
            tokio::time::sleep(policy.delay(attempt, error.retry_after())).await;
            attempt += 1;
        };
        tracing::info!("{}: started {}", tenant.name, self.links.task(&task_id));
        Ok(task_id)
    }

    /// A run of the tenant newer than the latest before the rollout: the lost answer's.
    async fn made_by_lost_answer(
        &self,
        tenant: &Tenant,
        latest_before: Option<&str>,
    ) -> Option<String> {
        let query = RunsQuery {
            project_id: self.project_id,
            runbook_id: self.runbook.id.as_deref().unwrap_or_default(),
            tenant_id: &tenant.id,
            completed_only: false,
            take: 1,
        };
        let latest = task_queue::latest_runs(&self.server.client, self.space_id, &query)
            .await
            .ok()?
            .into_iter()
            .next()?;
        (Some(latest.id.as_str()) != latest_before).then_some(latest.id)
    }
}

/// Wait for a wave's tasks, logging each as it ends. Returns each tenant's outcome, and why the
/// wait stopped early (the deadline or an interruption), if it did.
async fn wait(
    server: &Server,
    space_id: &str,
    links: &crate::fleet::Links,
    running: Vec<(Tenant, String)>,
    deadline: Instant,
    interrupt: &mut Interrupt,
) -> (Vec<(Tenant, TenantOutcome)>, Option<Ending>) {
    let mut pending: BTreeMap<String, Tenant> =
        running.into_iter().map(|(t, id)| (id, t)).collect();
    let mut done = Vec::new();
    let mut delay = POLL_FIRST;
    let mut stopped = None;
    while !pending.is_empty() {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tokio::time::sleep_until(deadline) => { stopped = Some(Ending::DeadlinePassed); }
            _ = interrupt.wait() => { stopped = Some(Ending::Interrupted); }
        }
        let ids: Vec<String> = pending.keys().cloned().collect();
        match task_queue::tasks_by_ids(&server.client, space_id, &ids).await {
            Ok(tasks) => {
                for task in tasks.into_iter().filter(|task| task.is_completed) {
                    let Some(tenant) = pending.remove(&task.id) else {
                        continue;
                    };
                    let task_url = links.task(&task.id);
                    let outcome = if task.succeeded() {
                        tracing::info!("{}: succeeded {task_url}", tenant.name);
                        TenantOutcome::Succeeded { task_url }
                    } else {
                        let error = task.error_message.clone().filter(|e| !e.is_empty());
                        tracing::warn!(
                            "{}: {}{} {task_url}",
                            tenant.name,
                            task.state.to_lowercase(),
                            error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        );
                        TenantOutcome::Failed {
                            task_url,
                            state: task.state.clone(),
                            error,
                        }
                    };
                    done.push((tenant, outcome));
                }
            }
            Err(error) => log_poll_error(&error),
        }
        if stopped.is_some() {
            break;
        }
        delay = (delay * 3 / 2).min(POLL_MAX);
    }
    for (task_id, tenant) in pending {
        done.push((
            tenant,
            TenantOutcome::Unfinished {
                task_url: links.task(&task_id),
                cancelled: false,
            },
        ));
    }
    (done, stopped)
}

fn log_poll_error(error: &OctopusError) {
    tracing::warn!("could not read the wave's tasks ({error}); trying again");
}

/// `Octofleet.Rollout.CancelOnTimeout`: cancel each unfinished task (as the Octopus CLI's `task
/// wait --cancel-on-timeout` and api-client.ts's `cancelOnTimeout` do).
async fn cancel_unfinished(server: &Server, results: &mut [TenantResult]) {
    for result in results.iter_mut() {
        let TenantOutcome::Unfinished {
            task_url,
            cancelled,
        } = &mut result.outcome
        else {
            continue;
        };
        let Some(task_id) = task_url.rsplit('/').next().map(str::to_owned) else {
            continue;
        };
        match task_queue::cancel(&server.client, &task_id).await {
            Ok(_) => {
                *cancelled = true;
                tracing::warn!("{}: cancelled {task_url}", result.tenant);
            }
            Err(error) => tracing::warn!("{}: could not cancel {task_url}: {error}", result.tenant),
        }
    }
}
