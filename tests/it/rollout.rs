//! `octofleet rollout` and its step template "Octofleet - Roll Out", on the emulator's task queue
//! with its executor playing the workers: a clean two-wave run (with a lost answer to a start), a
//! stop at the first failure and a resume that skips the tenants that succeeded, a hung task that
//! hits the deadline, and a cancelled step. In every one, each tenant's tasks on the server show
//! it was never started twice.

use crate::support::calamari::{result_message, CALAMARI_ENVIRONMENT};
use crate::support::fault_rules::assert_every_fault_fired;
use crate::support::fleet_world::{assert_green, FleetWorld, DEPLOY, PROJECT, SYNC};
use crate::support::{Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::Value;
use std::time::Duration;

/// The rollout step template run the Calamari way, the runbook `__ Deploy`, with `overrides` on
/// its parameters.
async fn rollout(world: &FleetWorld, overrides: &[(&str, &str)]) -> (Run, tempfile::TempDir) {
    let mut given = vec![("Octofleet.Rollout.Runbook", DEPLOY)];
    given.extend_from_slice(overrides);
    world.run_template("octofleet-roll-out.json", &given).await
}

/// A canary and three others, with the package 1.0.0 in the feed.
async fn canary_and_three() -> FleetWorld {
    let world = FleetWorld::start(
        &[
            ("Canary", &["Rollout/Canary"]),
            ("Alpha", &[]),
            ("Beta", &[]),
            ("Gamma", &[]),
        ],
        4,
    )
    .await;
    world.serialize("1.0.0").await;
    world
}

fn web(world: &FleetWorld, task: &Value) -> String {
    format!(
        "{}/app#/{MANAGEMENT_SPACE}/tasks/{}",
        world.fleet.emulator.url(),
        task["Id"].as_str().unwrap()
    )
}

/// The number of `tenant`'s deploy tasks on the server.
fn starts(world: &FleetWorld, tenant: &str) -> usize {
    world.tasks_of(tenant, DEPLOY).len()
}

fn time(task: &Value, field: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(task[field].as_str().unwrap()).unwrap()
}

/// The canary wave runs first and the rest only after it finished; each start is logged with its
/// task's link; a start whose answer is lost is found on the server, not repeated; the rollout
/// ends with the fleet report, every tenant up to date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_two_wave_rollout() {
    let world = canary_and_three().await;
    world
        .fleet
        .emulator
        .drop_connection_after_commit("POST", "runbook-runs/create", 1);
    let (run, _work) = rollout(&world, &[("Octofleet.Rollout.Waves", "Rollout/Canary")]).await;
    assert_green(&run);
    assert_every_fault_fired(&world.fleet.emulator);
    let canary = &world.tasks_of("Canary", DEPLOY)[0];
    for tenant in ["Canary", "Alpha", "Beta", "Gamma"] {
        assert_eq!(
            starts(&world, tenant),
            1,
            "{tenant} started once, the lost answer included"
        );
        let task = &world.tasks_of(tenant, DEPLOY)[0];
        assert_eq!(task["State"], "Success");
        let line = format!("{tenant}: started {}", web(&world, task));
        assert!(run.stdout.contains(&line), "{line}\n{}", run.stdout);
        if tenant != "Canary" {
            assert!(
                time(task, "QueueTime") >= time(canary, "CompletedTime"),
                "{tenant} queued before the canary wave ended"
            );
            let canary_line = run.stdout.find("Canary: started").unwrap();
            assert!(run.stdout.find(&line).unwrap() > canary_line);
        }
    }
    assert_eq!(run.output_variable("StartedCount").as_deref(), Some("4"));
    assert_eq!(run.output_variable("SucceededCount").as_deref(), Some("4"));
    assert_eq!(run.output_variable("UpToDateCount").as_deref(), Some("4"));
    assert!(
        run.stdout
            .contains("2 waves (Rollout/Canary: 1, the rest: 3)"),
        "{}",
        run.stdout
    );

    // Narrowed by a tenant tag, a new version goes to the canary alone.
    world.serialize("1.0.1").await;
    let (run, _work) = rollout(&world, &[("Octofleet.TenantTags", "Rollout/Canary")]).await;
    assert_green(&run);
    assert_eq!(starts(&world, "Canary"), 2);
    for tenant in ["Alpha", "Beta", "Gamma"] {
        assert_eq!(starts(&world, tenant), 1, "{tenant} is not tagged");
    }
    assert_eq!(run.output_variable("TenantCount").as_deref(), Some("1"));
}

/// With MaxFailures 0 the wave with the first failure is the last: the next is not started, and
/// the step fails naming who ran, who failed (with the link) and who was not started. A re-run
/// skips the tenants that succeeded on this version and starts only the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_stops_the_rollout_and_a_re_run_resumes() {
    let world = canary_and_three().await;
    world
        .fleet
        .emulator
        .fail_tasks(Some("Alpha"), Some(DEPLOY), Some(1));
    let waves = [
        ("Octofleet.Rollout.Waves", "Rollout/Canary"),
        ("Octofleet.Rollout.BatchSize", "2"),
    ];
    let (run, _work) = rollout(&world, &waves).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .starts_with("error: the rollout of `__ Deploy` stopped"),
        "{}",
        run.stderr
    );
    let message = result_message(&run.stdout).unwrap();
    assert!(
        message.contains("1 tenants failed, more than 0 allowed"),
        "{message}"
    );
    let alpha = &world.tasks_of("Alpha", DEPLOY)[0];
    assert_eq!(alpha["State"], "Failed");
    assert!(
        run.stdout.contains(&format!(
            "Alpha: failed ({}) {}",
            alpha["ErrorMessage"].as_str().unwrap(),
            web(&world, alpha)
        )),
        "{}",
        run.stdout
    );
    assert_eq!(starts(&world, "Beta"), 1, "Beta was in Alpha's wave");
    assert_eq!(starts(&world, "Gamma"), 0, "the next wave was not started");
    assert!(run.stdout.contains("Gamma: not started"), "{}", run.stdout);
    assert_eq!(run.output_variable("NotStartedCount").as_deref(), Some("1"));

    let (again, _work) = rollout(&world, &waves).await;
    assert_green(&again);
    assert_eq!(starts(&world, "Canary"), 1, "skipped: succeeded on 1.0.0");
    assert_eq!(starts(&world, "Beta"), 1, "skipped: succeeded on 1.0.0");
    assert_eq!(starts(&world, "Alpha"), 2, "failed before: started again");
    assert_eq!(starts(&world, "Gamma"), 1);
    assert!(
        again
            .stdout
            .contains("Canary: skipped, its latest run succeeded on 1.0.0"),
        "{}",
        again.stdout
    );
    assert_eq!(again.output_variable("SkippedCount").as_deref(), Some("2"));

    // A new version: everyone runs again.
    world.serialize("1.0.1").await;
    let (third, _work) = rollout(&world, &waves).await;
    assert_green(&third);
    for tenant in ["Canary", "Beta", "Gamma"] {
        assert_eq!(starts(&world, tenant), 2, "{tenant} runs for 1.0.1");
    }
}

/// A task that hangs holds the wave until the deadline: the rollout stops there, names the
/// tenant with its task (still running in Octopus, unless asked to cancel it), and starts nothing
/// more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_task_hits_the_deadline() {
    let world = FleetWorld::start(&[("Canary", &["Rollout/Canary"]), ("Alpha", &[])], 4).await;
    world.serialize("1.0.0").await;
    world
        .fleet
        .emulator
        .hang_tasks(Some("Canary"), Some(DEPLOY), None);
    let started = std::time::Instant::now();
    let (run, _work) = rollout(
        &world,
        &[
            ("Octofleet.Rollout.Waves", "Rollout/Canary"),
            ("Octofleet.Timeout", "6s"),
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stopped at its deadline"),
        "{}",
        run.stderr
    );
    let canary = &world.tasks_of("Canary", DEPLOY)[0];
    assert_eq!(canary["State"], "Executing", "not cancelled unless asked");
    assert!(
        run.stdout.contains(&format!(
            "Canary: started, not finished, still running in Octopus ({})",
            web(&world, canary)
        )),
        "{}",
        run.stdout
    );
    assert_eq!(starts(&world, "Alpha"), 0);

    // Asked to cancel at the deadline: the run still going is cancelled. The re-run adopts the
    // running task rather than starting Canary again.
    let (run, _work) = rollout(
        &world,
        &[
            ("Octofleet.Rollout.Waves", "Rollout/Canary"),
            ("Octofleet.Timeout", "6s"),
            ("Octofleet.Rollout.CancelOnTimeout", "True"),
        ],
    )
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(
        starts(&world, "Canary"),
        1,
        "the running task was waited for, not started again"
    );
    assert!(
        run.stdout
            .contains("a run started earlier is still going, waiting for it"),
        "{}",
        run.stdout
    );
    let canary = &world.tasks_of("Canary", DEPLOY)[0];
    assert!(
        ["Cancelling", "Canceled"].contains(&canary["State"].as_str().unwrap()),
        "{canary}"
    );
    assert!(run.stdout.contains("Canary: cancelled"), "{}", run.stdout);
}

/// Cancelling the step (SIGTERM, as Octopus stops a script) leaves no doubt: the tenants started
/// were logged with their tasks' links before the rollout waited, the others are named as not
/// started, and exactly the logged ones have a task on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_step_says_which_tenants_were_started() {
    let world = FleetWorld::start(
        &[
            ("Canary", &["Rollout/Canary"]),
            ("Other", &["Rollout/Canary"]),
            ("Alpha", &[]),
            ("Beta", &[]),
        ],
        4,
    )
    .await;
    world.serialize("1.0.0").await;
    world
        .fleet
        .emulator
        .hang_tasks(Some("Canary"), Some(DEPLOY), None);
    let url = world.fleet.emulator.url();
    let work = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_octofleet"))
        .arg("rollout")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs([
            ("OCTOPUS_WEB_SERVERURI", url.as_str()),
            ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE),
            ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
            ("OCTOPUS_PROJECT_NAME", PROJECT),
            ("OCTOFLEET_ROLLOUT_RUNBOOK", DEPLOY),
            ("OCTOFLEET_ROLLOUT_ENVIRONMENT", SYNC),
            ("OCTOFLEET_ROLLOUT_WAVES", "Rollout/Canary"),
            (CALAMARI_ENVIRONMENT, work.path().to_str().unwrap()),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Cancel once the canary wave's tasks exist and Other's has ended: Canary hangs.
    for _ in 0..400 {
        let other = world.tasks_of("Other", DEPLOY);
        if starts(&world, "Canary") == 1 && other.first().is_some_and(|t| t["IsCompleted"] == true)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pid = child.id().unwrap() as i32;
    assert_eq!(unsafe_free_kill(pid), 0, "SIGTERM sent");
    let output = tokio::time::timeout(Duration::from_secs(30), async {
        let mut stdout = String::new();
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .await
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        (child.wait().await.unwrap(), stdout, stderr)
    })
    .await
    .expect("the rollout stops promptly when cancelled");
    let (status, stdout, stderr) = output;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("was cancelled"), "{stderr}");
    for tenant in ["Canary", "Other"] {
        let task = &world.tasks_of(tenant, DEPLOY)[0];
        assert!(
            stdout.contains(&format!("{tenant}: started {}", web(&world, task))),
            "{tenant}: {stdout}"
        );
    }
    for tenant in ["Alpha", "Beta"] {
        assert_eq!(starts(&world, tenant), 0);
        assert!(
            stdout.contains(&format!("{tenant}: not started")),
            "{tenant}: {stdout}"
        );
    }
    let canary = &world.tasks_of("Canary", DEPLOY)[0];
    assert!(
        stdout.contains(&format!(
            "Canary: started, not finished, still running in Octopus ({})",
            web(&world, canary)
        )),
        "{stdout}"
    );
    world
        .fleet
        .emulator
        .cancel_task(canary["Id"].as_str().unwrap());
}

/// SIGTERM to a process we started, through the `kill` command (no unsafe code).
fn unsafe_free_kill(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map(|s| s.code().unwrap_or(-1))
        .unwrap_or(-1)
}
