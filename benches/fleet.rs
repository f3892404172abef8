//! Benchmark: `octofleet fleet` over 200 tenants with a year of task history, and `octofleet
//! rollout` to 200 tenants with the executor at a task cap of 20 and a fixed time per task, each
//! against one emulator at 20 ms latency. Prints requests (per tenant), wall time against the
//! ideal, and peak RSS. Run: `cargo bench --bench fleet`.

mod measure;

/// Run `command` to completion (exit 0) and measure its wall time and its own peak RSS, read from
/// `/proc/<pid>/status` (`VmHWM`) while it runs. (`measure::run` reads `wait4`'s `ru_maxrss`, which
/// for a child spawned by this large process, holding the emulator and a year of history, counts
/// the parent's memory shared before `exec`.)
fn run_measured(command: &mut std::process::Command, what: &str) -> measure::Measure {
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<i64>()
                        .ok()
                });
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("the child is waited for") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{what} failed");
    measure::Measure {
        wall: started.elapsed(),
        peak_rss_kib: peak_kib,
    }
}

use octofleet_sandbox::{seed_management_space, ManagementSpace, MANAGEMENT_SPACE};
use octopus_emulator::{Emulator, EmulatorConfig, ExecutorConfig, JobStep, RunbookJob, SeededRun};
use serde_json::{json, Value};
use std::time::Duration;

const API_KEY: &str = "API-BENCH0000000000000000000000";
const LATENCY: Duration = Duration::from_millis(20);
const TENANTS: usize = 200;
const PROJECT: &str = "Fleet App";
/// A year of nightly plans and weekly deploys per tenant.
const DAYS: i64 = 365;
const TASK_CAP: usize = 20;
const TASK_TIME: Duration = Duration::from_secs(1);

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("the benchmark's own setup holds");
    let _guard = runtime.enter();
    fleet_benchmark(&runtime);
    rollout_benchmark(&runtime);
}

struct World {
    emulator: Emulator,
    project_id: String,
    sync: String,
    runbooks: Vec<(String, String)>,
}

/// 200 tenants of a template project with "__ Deploy" and "__ Plan" runbooks (published), and
/// its package in the feed.
fn world(runtime: &tokio::runtime::Runtime) -> (World, ManagementSpace) {
    let emulator = runtime
        .block_on(Emulator::start(EmulatorConfig {
            api_key: API_KEY.into(),
            ..EmulatorConfig::default()
        }))
        .expect("the benchmark's own setup holds");
    let names: Vec<String> = (0..TENANTS).map(|i| format!("Tenant {i:03}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let management = seed_management_space(&emulator, &emulator.url(), API_KEY, &names);
    let named = |collection: &str, name: &str| -> String {
        emulator
            .list(MANAGEMENT_SPACE, collection)
            .into_iter()
            .find(|item| item["Name"] == name)
            .expect("the benchmark's own setup holds")["Id"]
            .as_str()
            .expect("the benchmark's own setup holds")
            .to_owned()
    };
    let sync = named("environments", "Sync");
    let project = emulator.seed(
        MANAGEMENT_SPACE,
        "projects",
        json!({"Name": PROJECT, "LifecycleId": named("lifecycles", "Default Lifecycle"),
               "ProjectGroupId": named("projectgroups", "Default Project Group")}),
    );
    let project_id = project["Id"]
        .as_str()
        .expect("the benchmark's own setup holds")
        .to_owned();
    let mut runbooks = Vec::new();
    for (name, action) in [("__ Deploy", "deploy"), ("__ Plan", "plan")] {
        let runbook = emulator.seed(
            MANAGEMENT_SPACE,
            "runbooks",
            json!({"Name": name, "ProjectId": project_id, "MultiTenancyMode": "Tenanted"}),
        );
        let id = runbook["Id"]
            .as_str()
            .expect("the benchmark's own setup holds")
            .to_owned();
        emulator.seed_process(
            MANAGEMENT_SPACE,
            runbook["RunbookProcessId"].as_str().expect("the benchmark's own setup holds"),
            json!([{"Name": name, "Properties": {}, "Actions": [{"Name": name, "ActionType": "Octopus.Script",
                "Properties": {"Octopus.Action.Script.ScriptBody": format!("exec octofleet {action}")}}]}]),
        );
        emulator.seed_published_snapshot(MANAGEMENT_SPACE, &id, "Snapshot 1");
        runbooks.push((name.to_owned(), id));
    }
    for (_, tenant_id) in &management.tenants {
        emulator.seed_update(
            MANAGEMENT_SPACE,
            "tenants",
            tenant_id,
            json!({"ProjectEnvironments": {project_id.clone(): [sync]}}),
        );
    }
    let mut serialize = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    serialize
        .args(["serialize", "--package-version", "2.0.0"])
        .env_clear()
        .env("OCTOPUS_WEB_SERVERURI", emulator.url())
        .env("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE)
        .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
        .env("OCTOPUS_PROJECT_NAME", PROJECT);
    measure::run(&mut serialize, "serialize");
    (
        World {
            emulator,
            project_id,
            sync,
            runbooks,
        },
        management,
    )
}

/// A report as deploy and plan attach it: the contract's header and the fields fleet reads.
fn report(action: &str, tenant: &str, version: &str, changes: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "report": {"format_version": 1, "action": action, "tenant": tenant},
        "project": PROJECT, "space_id": "Spaces-2", "space_name": tenant,
        "package": {"id": "Fleet_App", "version": version},
        "dry_run": action == "plan", "changes": changes > 0,
        "summary": {"created": 0, "updated": changes, "unchanged": 40},
        "resources": []
    }))
    .expect("the benchmark's own setup holds")
}

fn fleet_command(world: &World) -> std::process::Command {
    let report_dir = tempfile::tempdir()
        .expect("the benchmark's own setup holds")
        .keep();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .arg("fleet")
        .env_clear()
        .env("OCTOPUS_WEB_SERVERURI", world.emulator.url())
        .env("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE)
        .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
        .env("OCTOPUS_PROJECT_NAME", PROJECT)
        .env("OCTOFLEET_REPORTDIR", report_dir);
    command
}

fn fleet_benchmark(runtime: &tokio::runtime::Runtime) {
    let (world, management) = world(runtime);
    let now = chrono::Utc::now();
    let mut tasks = 0;
    for (index, (tenant, tenant_id)) in management.tenants.iter().enumerate() {
        for day in (0..DAYS).rev() {
            let at = now - chrono::Duration::days(day) - chrono::Duration::minutes(index as i64);
            let last = day < 7;
            let mut seed = |runbook: usize, state: &str, artifacts: Vec<(String, Vec<u8>)>| {
                world.emulator.seed_runbook_run(SeededRun {
                    space_id: MANAGEMENT_SPACE.into(),
                    project_id: world.project_id.clone(),
                    runbook_id: world.runbooks[runbook].1.clone(),
                    environment_id: world.sync.clone(),
                    tenant_id: Some(tenant_id.clone()),
                    state: state.into(),
                    completed: at,
                    artifacts,
                });
                tasks += 1;
            };
            // Artifacts only on the last week's runs: older ones have gone with retention.
            let changes = if index % 10 == 0 { 3 } else { 0 };
            let plan_report = if last {
                vec![(
                    format!("octofleet-plan-{tenant}.json"),
                    report("plan", tenant, "2.0.0", changes),
                )]
            } else {
                Vec::new()
            };
            seed(1, "Success", plan_report);
            if day % 7 == 0 {
                let version = if index % 4 == 0 { "1.9.0" } else { "2.0.0" };
                let deploy_report = if last {
                    vec![(
                        format!("octofleet-deploy-{tenant}.json"),
                        report("deploy", tenant, version, 5),
                    )]
                } else {
                    Vec::new()
                };
                let state = if index % 25 == 0 && last {
                    "Failed"
                } else {
                    "Success"
                };
                seed(
                    0,
                    state,
                    if state == "Success" {
                        deploy_report
                    } else {
                        Vec::new()
                    },
                );
            }
        }
    }
    world.emulator.set_latency(LATENCY);
    println!(
        "fleet: {TENANTS} tenants, 2 octofleet runbooks, {tasks} tasks of history ({DAYS} days of nightly plans and weekly deploys), emulator latency {} ms",
        LATENCY.as_millis()
    );
    // A first run, its output kept: a failure says why (and the caches are warm).
    let first = fleet_command(&world)
        .output()
        .expect("the benchmark's own setup holds");
    assert!(
        first.status.success(),
        "fleet failed:\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut rounds = Vec::new();
    for _ in 0..3 {
        world.emulator.clear_requests();
        let measured = run_measured(&mut fleet_command(&world), "fleet");
        let requests = world.emulator.requests();
        let task_queries = requests
            .iter()
            .filter(|r| r.path.ends_with("/tasks"))
            .count();
        rounds.push((measured, requests.len(), task_queries));
    }
    let (measured, requests, task_queries) = measure::median(&mut rounds, |r| r.0.wall);
    println!(
        "fleet    : {requests} requests ({:.1} per tenant; {task_queries} task queries, none listing the history), wall {:.2} s, peak RSS {:.1} MiB",
        *requests as f64 / TENANTS as f64,
        measured.wall.as_secs_f64(),
        measured.peak_rss_kib as f64 / 1024.0
    );
    let sequential = LATENCY * *requests as u32;
    println!(
        "           (one request after another would take {:.1} s at this latency)",
        sequential.as_secs_f64()
    );
}

fn rollout_benchmark(runtime: &tokio::runtime::Runtime) {
    let ideal = TASK_TIME * TENANTS.div_ceil(TASK_CAP) as u32;
    println!(
        "rollout: {TENANTS} tenants, executor task cap {TASK_CAP}, {} ms per task, emulator latency {} ms; ideal ceil({TENANTS}/{TASK_CAP}) x {} ms = {:.1} s",
        TASK_TIME.as_millis(),
        LATENCY.as_millis(),
        TASK_TIME.as_millis(),
        ideal.as_secs_f64()
    );
    for (label, batch) in [
        ("one wave       ", None),
        ("waves of 20    ", Some(TASK_CAP)),
    ] {
        let (world, _) = world(runtime);
        world.emulator.start_executor(ExecutorConfig {
            octofleet: env!("CARGO_BIN_EXE_octofleet").into(),
            task_cap: TASK_CAP,
            jobs: vec![RunbookJob {
                runbook: "__ Deploy".into(),
                steps: vec![JobStep::Wait {
                    name: "a task of fixed length".into(),
                    duration: TASK_TIME,
                }],
            }],
            variables: Vec::new(),
        });
        world.emulator.set_latency(LATENCY);
        world.emulator.clear_requests();
        let report_dir = tempfile::tempdir().expect("the benchmark's own setup holds");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
        command
            .arg("rollout")
            .env_clear()
            .env("OCTOPUS_WEB_SERVERURI", world.emulator.url())
            .env("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE)
            .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
            .env("OCTOPUS_PROJECT_NAME", PROJECT)
            .env("OCTOFLEET_ROLLOUT_RUNBOOK", "__ Deploy")
            .env("OCTOFLEET_ROLLOUT_ENVIRONMENT", "Sync")
            .env("OCTOFLEET_TIMEOUT", "10m")
            .env("OCTOFLEET_REPORTDIR", report_dir.path());
        if let Some(batch) = batch {
            command.env("OCTOFLEET_ROLLOUT_BATCHSIZE", batch.to_string());
        }
        let measured = run_measured(&mut command, "rollout");
        let requests = world.emulator.requests();
        let polls = requests
            .iter()
            .filter(|r| r.path.ends_with("/tasks") && r.query.contains("ids="))
            .count();
        let starts = requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/create/v1"))
            .count();
        let succeeded = world
            .emulator
            .tasks()
            .iter()
            .filter(|t: &&Value| t["State"] == "Success")
            .count();
        assert_eq!(succeeded, TENANTS, "every tenant's task succeeded");
        println!(
            "rollout, {label}: wall {:.1} s = {:.2} x ideal; {} requests to the management server ({:.1} per tenant: {starts} starts, {polls} polls, the rest the resume check and the fleet report), peak RSS {:.1} MiB",
            measured.wall.as_secs_f64(),
            measured.wall.as_secs_f64() / ideal.as_secs_f64(),
            requests.len(),
            requests.len() as f64 / TENANTS as f64,
            measured.peak_rss_kib as f64 / 1024.0
        );
    }
}
