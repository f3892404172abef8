//! The task executor: plays Octopus's workers for the tests, the sandbox and the benchmarks. It
//! takes queued runbook-run tasks in order, at most `task_cap` at once (Octopus's task cap), runs
//! each runbook's job with that tenant's variables the way a step does (the real `octofleet`
//! binary, the variables exported under their environment aliases, the step's working directory
//! in `OctopusCalamariWorkingDirectory`), attaches the files its `createArtifact` service messages
//! name as the task's artifacts, and ends the task `Success`, `Failed` or `Canceled`.
//!
//! What a real worker does, and the sources: Calamari sets `OctopusCalamariWorkingDirectory` for
//! every script (Calamari `CalamariFlavourProgram.cs`); a `createArtifact` service message
//! uploads that file as an artifact of the task (Octopus docs, "Artifacts":
//! `new_octopusartifact`, and Calamari's bootstrap `new_octopusartifact` printing
//! `##octopus[createArtifact path='…' name='…' length='…']` with base64 values); a step whose
//! script exits non-zero fails the task; a cancelled task's script is killed and the task ends
//! `Canceled` (OctopusDeploy/Issues #7557 and #7944: cancellation terminates the script's process
//! tree on Linux workers). Which job a runbook runs is the test's configuration
//! ([`RunbookJob`]); the emulator does not interpret step templates.
//!
//! Emulator-only rules ([`TaskRule`]) make chosen tasks fail or hang (hold a worker until they are
//! cancelled), as a broken tenant or a stuck worker would.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::documents::{find_by_id, id_of, name_of, same_id, str_field, string_list};
use crate::server::Shared;
use crate::tasks::{complete, RUNBOOK_RUN};

/// How often the executor looks for queued tasks and running ones look for a cancellation.
const POLL: Duration = Duration::from_millis(25);

/// What the executor runs and how many tasks at once.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// The `octofleet` binary a step runs.
    pub octofleet: PathBuf,
    /// Octopus's task cap: tasks executing at once (default 5 on a real node).
    pub task_cap: usize,
    /// What each runbook runs, by runbook name.
    pub jobs: Vec<RunbookJob>,
    /// Variables every run has besides the tenant's, the project's and the system variables
    /// (for example `Management.Octopus.ApiKey`, a sensitive project variable of the user's).
    pub variables: Vec<(String, String)>,
}

/// The steps of one runbook.
#[derive(Debug, Clone)]
pub struct RunbookJob {
    /// The runbook's name.
    pub runbook: String,
    /// Its steps, run in order; the first that fails ends the task.
    pub steps: Vec<JobStep>,
}

/// One step of a job.
#[derive(Debug, Clone)]
pub enum JobStep {
    /// `octofleet <args>`, with `env` added to the run's variables. An exit code outside
    /// `success_codes` fails the task (the plan template maps exit 3 to success unless it is
    /// asked to fail on changes: give `[0, 3]` for it).
    Octofleet {
        /// The step's name, in the task log and as the artifacts' source.
        name: String,
        /// The arguments (`["deploy"]`).
        args: Vec<String>,
        /// Variables this step adds to the run's.
        env: Vec<(String, String)>,
        /// Exit codes that mean the step succeeded.
        success_codes: Vec<i32>,
    },
    /// Takes `duration` and succeeds: a step of fixed length, for the benchmarks.
    Wait {
        /// The step's name, in the task log.
        name: String,
        /// How long it takes.
        duration: Duration,
    },
}

impl JobStep {
    /// `octofleet <args>` that succeeds with exit code 0.
    pub fn octofleet(name: &str, args: &[&str]) -> JobStep {
        JobStep::Octofleet {
            name: name.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            success_codes: vec![0],
        }
    }
}

/// What a [`TaskRule`] does to the tasks it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEffect {
    /// The task fails when it starts, without running its job.
    Fail,
    /// The task starts, holds its worker and never ends until it is cancelled.
    Hang,
}

/// Emulator-only: make the next tasks of a tenant (and runbook) fail or hang. Set with
/// [`crate::Emulator::fail_tasks`] / [`crate::Emulator::hang_tasks`] or `POST
/// /_emulator/task-rules`; reported, with how often each fired, by `GET /_emulator/task-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRule {
    /// Tenant name or ID; `None`: any.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Runbook name or ID; `None`: any.
    #[serde(default)]
    pub runbook: Option<String>,
    /// What it does to them.
    pub effect: TaskEffect,
    /// Tasks it applies to; `None`: until cleared.
    #[serde(default)]
    pub shots: Option<usize>,
    /// Tasks it changed.
    #[serde(default)]
    pub fired: usize,
}

/// `/_emulator/task-rules`, emulator-only (no real server has the `/_emulator/` prefix): `GET`
/// reports every task rule and how often it fired; `POST ?effect=fail|hang&tenant=…&runbook=…&shots=N`
/// adds one.
pub(crate) fn control(
    shared: &Shared,
    method: &str,
    query: &crate::paging::Query,
) -> crate::reply::Reply {
    use crate::reply::{ApiError, Reply};
    match method {
        "GET" => Reply::ok(serde_json::json!(shared.state().executions.rules)),
        "POST" => {
            let effect = match query.get("effect") {
                Some(e) if e.eq_ignore_ascii_case("fail") => TaskEffect::Fail,
                Some(e) if e.eq_ignore_ascii_case("hang") => TaskEffect::Hang,
                _ => return ApiError::bad_request("effect must be fail or hang").into(),
            };
            let rule = TaskRule {
                tenant: query.get("tenant").map(str::to_owned),
                runbook: query.get("runbook").map(str::to_owned),
                effect,
                shots: query.number("shots"),
                fired: 0,
            };
            shared.state().executions.rules.push(rule.clone());
            Reply::created(serde_json::json!(rule))
        }
        _ => ApiError::method_not_allowed(method).into(),
    }
}

/// One task taken off the queue, with everything its run needs.
struct Started {
    task_id: String,
    steps: Option<Vec<JobStep>>,
    runbook: String,
    effect: Option<TaskEffect>,
    variables: Vec<(String, String)>,
}

/// Run until `shutdown` flips.
pub(crate) async fn run(
    shared: Arc<Shared>,
    config: Arc<ExecutorConfig>,
    url: String,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        for started in take_queued(&shared, &config, &url) {
            tokio::spawn(execute(
                shared.clone(),
                config.clone(),
                started,
                shutdown.clone(),
            ));
        }
    }
}

/// Start as many queued runbook runs as the task cap leaves room for, oldest first.
fn take_queued(shared: &Shared, config: &ExecutorConfig, url: &str) -> Vec<Started> {
    let mut state = shared.state();
    let busy = state
        .executions
        .tasks
        .iter()
        .filter(|t| t.name == RUNBOOK_RUN && matches!(t.state.as_str(), "Executing" | "Cancelling"))
        .count();
    let room = config.task_cap.saturating_sub(busy);
    let queued: Vec<String> = state
        .executions
        .tasks
        .iter()
        .filter(|t| t.name == RUNBOOK_RUN && t.state == "Queued")
        .take(room)
        .map(|t| t.id.clone())
        .collect();
    let mut started = Vec::new();
    for task_id in queued {
        let Some(task) = state.executions.task(&task_id).cloned() else {
            continue;
        };
        let Some(space) = state.space_index(&task.space_id).map(|i| &state.spaces[i]) else {
            continue;
        };
        let doc = |collection: &str, id: &Option<String>| {
            id.as_deref()
                .and_then(|id| find_by_id(space.docs(collection), id))
                .cloned()
        };
        let runbook = doc("runbooks", &task.runbook_id).unwrap_or(Value::Null);
        let tenant = doc("tenants", &task.tenant_id);
        let runbook_name = name_of(&runbook).to_owned();
        let tenant_name = tenant.as_ref().map(|t| name_of(t).to_owned());
        let variables = variables(space, &task, url, &config.variables);
        let steps = config
            .jobs
            .iter()
            .find(|job| job.runbook == runbook_name)
            .map(|job| job.steps.clone());
        // The first rule that matches and has shots left decides.
        let effect = state.executions.rules.iter_mut().find_map(|rule| {
            let left = rule.shots.is_none_or(|shots| rule.fired < shots);
            let named = |wanted: &Option<String>, id: &Option<String>, name: Option<&str>| {
                wanted.as_deref().is_none_or(|w| {
                    id.as_deref().is_some_and(|id| same_id(id, w)) || name == Some(w)
                })
            };
            let matches = named(&rule.tenant, &task.tenant_id, tenant_name.as_deref())
                && named(&rule.runbook, &task.runbook_id, Some(&runbook_name));
            (left && matches).then(|| {
                rule.fired += 1;
                rule.effect
            })
        });
        if let Some(task) = state.executions.task_mut(&task_id) {
            let now = crate::documents::now();
            task.state = "Executing".to_owned();
            task.start_time = Some(now.clone());
            task.last_updated_time = now;
            task.log
                .push("Started by the emulator's executor.".to_owned());
        }
        started.push(Started {
            task_id,
            steps,
            runbook: runbook_name,
            effect,
            variables,
        });
    }
    drop(state);
    if !started.is_empty() {
        shared.save();
    }
    started
}

/// The variables a step of this task sees: system variables, the tenant's variables, the
/// project's and its library variable sets' variables (unscoped or scoped to the task's
/// environment), then `extra`.
fn variables(
    space: &crate::state::SpaceStore,
    task: &crate::tasks::Task,
    url: &str,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let doc = |collection: &str, id: &Option<String>| {
        id.as_deref()
            .and_then(|id| find_by_id(space.docs(collection), id))
    };
    let mut out: Vec<(String, String)> = vec![
        ("Octopus.Web.ServerUri".into(), url.to_owned()),
        ("Octopus.Space.Id".into(), space.id().to_owned()),
        (
            "Octopus.Space.Name".into(),
            name_of(&space.space).to_owned(),
        ),
        ("Octopus.Task.Id".into(), task.id.clone()),
    ];
    let mut system = |prefix: &str, found: Option<&Value>| {
        if let Some(found) = found {
            out.push((format!("{prefix}.Id"), id_of(found).to_owned()));
            out.push((format!("{prefix}.Name"), name_of(found).to_owned()));
        }
    };
    let project = doc("projects", &task.project_id);
    system("Octopus.Project", project);
    system("Octopus.Runbook", doc("runbooks", &task.runbook_id));
    system(
        "Octopus.Environment",
        doc("environments", &task.environment_id),
    );
    system("Octopus.Deployment.Tenant", doc("tenants", &task.tenant_id));
    if let Some(run) = str_field(&task.arguments, "RunbookRunId") {
        out.push(("Octopus.RunbookRun.Id".into(), run.to_owned()));
    }
    let environment = task.environment_id.clone().unwrap_or_default();
    let in_environment =
        |ids: &[String]| ids.is_empty() || ids.iter().any(|e| same_id(e, &environment));
    // The tenant's values of the templates of its projects and library variable sets.
    if let Some(tenant) = &task.tenant_id {
        for value in space
            .tenant_values
            .iter()
            .filter(|v| same_id(&v.tenant_id, tenant))
        {
            if !in_environment(&value.environment_ids) {
                continue;
            }
            let owner = find_by_id(space.docs("libraryvariablesets"), &value.owner_id)
                .or_else(|| find_by_id(space.docs("projects"), &value.owner_id));
            let template = owner
                .and_then(|o| o.get("Templates").and_then(Value::as_array))
                .and_then(|templates| find_by_id(templates, &value.template_id));
            let Some(template) = template else { continue };
            let text = crate::secrets::secret_of(&value.value)
                .or(value.value.as_str())
                .unwrap_or_default();
            out.push((name_of(template).to_owned(), text.to_owned()));
        }
    }
    // Project variables and those of its library variable sets.
    if let Some(project) = project {
        let mut owners = vec![id_of(project).to_owned()];
        owners.extend(string_list(project.get("IncludedLibraryVariableSetIds")));
        for owner in owners {
            let Some(set) =
                crate::variables::position(space, &owner).map(|i| &space.variable_sets[i])
            else {
                continue;
            };
            for variable in set
                .get("Variables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let scope = variable.get("Scope").and_then(Value::as_object);
                let only_environments = scope.is_none_or(|s| {
                    s.iter()
                        .all(|(k, v)| k == "Environment" || string_list(Some(v)).is_empty())
                });
                let environments = string_list(variable.pointer("/Scope/Environment"));
                if !only_environments || !in_environment(&environments) {
                    continue;
                }
                let text = crate::secrets::secret_of(variable)
                    .or_else(|| variable.get("Value").and_then(Value::as_str))
                    .unwrap_or_default();
                out.push((name_of(variable).to_owned(), text.to_owned()));
            }
        }
    }
    out.extend(extra.iter().cloned());
    out
}

/// Each variable under its Octopus name and its environment alias (upper case, `.` → `_`), as
/// the step templates export them.
fn environment_of(variables: &[(String, String)]) -> Vec<(String, String)> {
    let usable = |name: &str| !name.is_empty() && !name.contains(['=', '\0']);
    variables
        .iter()
        .filter(|(name, value)| usable(name) && !value.contains('\0'))
        .flat_map(|(name, value)| {
            [
                (name.clone(), value.clone()),
                (name.to_ascii_uppercase().replace('.', "_"), value.clone()),
            ]
        })
        .collect()
}

fn is_cancelling(shared: &Shared, task_id: &str) -> bool {
    shared
        .state()
        .executions
        .task(task_id)
        .is_none_or(|task| task.state == "Cancelling")
}

/// End the task `Failed`, its message in the log too.
fn fail(shared: &Shared, task_id: &str, message: String) {
    finish(
        shared,
        task_id,
        "Failed",
        Some(message.clone()),
        vec![message],
    );
}

fn finish(shared: &Shared, task_id: &str, outcome: &str, error: Option<String>, log: Vec<String>) {
    {
        let mut state = shared.state();
        let Some(task) = state.executions.task_mut(task_id) else {
            return;
        };
        task.log.extend(log);
        let outcome = if task.state == "Cancelling" {
            "Canceled"
        } else {
            outcome
        };
        complete(task, outcome, error);
    }
    shared.save();
}

/// How one step ended.
enum StepEnd {
    Done,
    Failed(String),
    Canceled,
}

async fn execute(
    shared: Arc<Shared>,
    config: Arc<ExecutorConfig>,
    started: Started,
    mut shutdown: watch::Receiver<bool>,
) {
    let task_id = started.task_id.clone();
    match started.effect {
        Some(TaskEffect::Fail) => {
            fail(
                &shared,
                &task_id,
                "The task failed on purpose (an emulator task rule).".to_owned(),
            );
            return;
        }
        Some(TaskEffect::Hang) => {
            // Holds its worker until someone cancels it.
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
                if is_cancelling(&shared, &task_id) {
                    finish(
                        &shared,
                        &task_id,
                        "Canceled",
                        None,
                        vec!["Canceled while it hung.".into()],
                    );
                    return;
                }
            }
        }
        None => {}
    }
    let Some(steps) = started.steps else {
        let message = format!(
            "The emulator's executor has no job for the runbook `{}`.",
            started.runbook
        );
        fail(&shared, &task_id, message);
        return;
    };
    let mut log = Vec::new();
    for step in steps {
        let end = match step {
            JobStep::Wait { name, duration } => {
                log.push(format!(
                    "Step `{name}`: waiting {} ms",
                    duration.as_millis()
                ));
                wait(&shared, &task_id, duration, &mut shutdown).await
            }
            JobStep::Octofleet {
                name,
                args,
                env,
                success_codes,
            } => {
                let mut variables = started.variables.clone();
                variables.extend(env);
                run_octofleet(
                    &shared,
                    &config,
                    &task_id,
                    &name,
                    &args,
                    &variables,
                    &success_codes,
                    &mut log,
                )
                .await
            }
        };
        match end {
            StepEnd::Done => {}
            StepEnd::Failed(message) => {
                finish(&shared, &task_id, "Failed", Some(message), log);
                return;
            }
            StepEnd::Canceled => {
                finish(&shared, &task_id, "Canceled", None, log);
                return;
            }
        }
    }
    finish(&shared, &task_id, "Success", None, log);
}

async fn wait(
    shared: &Shared,
    task_id: &str,
    duration: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> StepEnd {
    let until = tokio::time::Instant::now() + duration;
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return StepEnd::Done;
        }
        tokio::select! {
            _ = shutdown.changed() => return StepEnd::Canceled,
            _ = tokio::time::sleep(left.min(POLL)) => {}
        }
        if is_cancelling(shared, task_id) {
            return StepEnd::Canceled;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_octofleet(
    shared: &Shared,
    config: &ExecutorConfig,
    task_id: &str,
    step: &str,
    args: &[String],
    variables: &[(String, String)],
    success_codes: &[i32],
    log: &mut Vec<String>,
) -> StepEnd {
    let work = match tempfile::Builder::new().prefix("octopus-task-").tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            return StepEnd::Failed(format!("cannot make the step's working directory: {error}"))
        }
    };
    let mut command = tokio::process::Command::new(&config.octofleet);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", work.path())
        .envs(environment_of(variables))
        .env("OctopusCalamariWorkingDirectory", work.path())
        .current_dir(work.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    log.push(format!("Step `{step}`: octofleet {}", args.join(" ")));
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return StepEnd::Failed(format!(
                "cannot start {}: {error}",
                config.octofleet.display()
            ))
        }
    };
    let read = |pipe: Option<_>| {
        tokio::spawn(async move {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
            }
            text
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    );
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            _ = tokio::time::sleep(POLL) => {
                if is_cancelling(shared, task_id) {
                    let _ = child.kill().await;
                    log.push(format!("Step `{step}`: the script was killed (the task was cancelled)."));
                    return StepEnd::Canceled;
                }
            }
        }
    };
    let stdout = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    let mut result_message = None;
    for line in stdout.lines() {
        if let Some(attributes) = service_message(line, "createArtifact") {
            let (Some(path), Some(name)) = (
                attribute(&attributes, "path"),
                attribute(&attributes, "name"),
            ) else {
                continue;
            };
            match std::fs::read(&path) {
                Ok(content) => {
                    crate::artifacts::attach(&mut shared.state(), task_id, &name, step, content);
                    log.push(format!("Artifact {name} attached."));
                }
                Err(error) => log.push(format!("Artifact {name} could not be read: {error}")),
            }
        } else if let Some(attributes) = service_message(line, "resultMessage") {
            result_message = attribute(&attributes, "message");
        } else if !line.trim_start().starts_with("##octopus[") {
            log.push(line.to_owned());
        }
    }
    log.extend(stderr.lines().map(|line| format!("ERROR: {line}")));
    match status.and_then(|s| s.code()) {
        Some(code) if success_codes.contains(&code) => StepEnd::Done,
        Some(code) => StepEnd::Failed(result_message.unwrap_or_else(|| {
            format!("The step `{step}` failed: octofleet exited with code {code}.")
        })),
        None => StepEnd::Failed(format!(
            "The step `{step}` ended without an exit code (killed)."
        )),
    }
}

/// The attribute text of `##octopus[<name> key='base64' …]`.
fn service_message(line: &str, name: &str) -> Option<String> {
    line.trim()
        .strip_prefix(&format!("##octopus[{name} "))
        .and_then(|rest| rest.strip_suffix(']'))
        .map(str::to_owned)
}

/// One base64 attribute of a service message, decoded.
fn attribute(attributes: &str, key: &str) -> Option<String> {
    use base64::Engine;
    let start = attributes.find(&format!("{key}='"))? + key.len() + 2;
    let end = start + attributes[start..].find('\'')?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&attributes[start..end])
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_message_attributes_are_decoded() {
        let line =
            "##octopus[createArtifact path='L3RtcC9hLmh0bWw=' name='YS5odG1s' length='Mw==']";
        let attributes = service_message(line, "createArtifact").unwrap();
        assert_eq!(
            attribute(&attributes, "path").as_deref(),
            Some("/tmp/a.html")
        );
        assert_eq!(attribute(&attributes, "name").as_deref(), Some("a.html"));
        assert!(service_message(line, "setVariable").is_none());
    }

    #[test]
    fn variables_reach_the_step_under_both_names() {
        let env = environment_of(&[("ManagedTenant.Octopus.Url".into(), "http://x".into())]);
        assert!(env.contains(&("MANAGEDTENANT_OCTOPUS_URL".into(), "http://x".into())));
        assert!(env.contains(&("ManagedTenant.Octopus.Url".into(), "http://x".into())));
    }
}
