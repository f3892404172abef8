//! Benchmark: `octofleet deploy` of the generated large project (100 steps, 2,000 variables over
//! 20 environments, 20 runbooks of 10 steps, 10 library variable sets) into an empty managed
//! space at 20 ms emulator latency: first deploy, re-deploy with no change, then plan. Prints
//! requests, writes, wall time and peak RSS against the targets (first deploy ≤ 60 requests and
//! ≤ 20 × latency + 300 ms; re-deploy ≤ 20 requests and 0 writes), and beside them an estimate
//! (printed as one, with its formula) of the requests the Terraform provider would need for the
//! same module. Each run writes its report: the sizes of the HTML pages are printed, with a plan
//! of the worst case (every variable edited upstream) against the few-hundred-KB target.
//! Round trips (issue 20): each run's request count is asserted unchanged, and printed with the
//! rounds the emulator saw and the wall time divided by the latency, against the goals (first
//! deploy ≤ 12 rounds + 100 ms, re-deploy and plan ≤ 5 rounds + 100 ms; re-deploy and plan are the
//! median of 5 runs). `OCTOFLEET_BENCH_TRACE=1` prints every request with its round.
//! Run: `cargo bench --bench deploy`.

mod measure;

use octofleet_sandbox::{seed_large_project, writes_label, LargeProjectShape};
use octopus_emulator::{Emulator, EmulatorConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const API_KEY: &str = "API-BENCH0000000000000000000000";
const LATENCY: Duration = Duration::from_millis(20);
const NAME: &str = "Large Project";
/// The request counts before issue 20's round trips, which concurrency must keep.
const FIRST_DEPLOY_REQUESTS: usize = 60;
const READ_REQUESTS: usize = 20;
/// Runs of each repeatable measurement (re-deploy, plan); the median is shown.
const REPEATS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let emulator = runtime
        .block_on(Emulator::start(EmulatorConfig {
            api_key: API_KEY.into(),
            ..EmulatorConfig::default()
        }))
        .expect("the emulator starts");
    let shape = LargeProjectShape::BENCHMARK;
    seed_large_project(&emulator, "Spaces-1", NAME, shape);
    let package = serialize_and_extract(&emulator);

    // The managed space holds the shared resources the project needs (as create-space's
    // blueprint would give it), and nothing of the project.
    let target = emulator.seed_space("Bench Target")["Id"]
        .as_str()
        .expect("a seeded space has an Id")
        .to_owned();
    for i in 0..shape.environments {
        emulator.seed(
            &target,
            "environments",
            json!({"Name": format!("{NAME} Env {i:02}")}),
        );
    }
    for i in 0..shape.library_variable_sets {
        emulator.seed(
            &target,
            "libraryvariablesets",
            json!({"Name": format!("{NAME} Set {i:02}"), "ContentType": "Variables"}),
        );
    }
    emulator.set_latency(LATENCY);

    println!(
        "deploy, {} steps, {} variables over {} environments, {} runbooks x {} steps, {} library variable sets; latency {} ms",
        shape.steps, shape.variables, shape.environments, shape.runbooks, shape.runbook_steps, shape.library_variable_sets, LATENCY.as_millis()
    );
    let first = run(&emulator, &target, &package, "deploy");
    assert_eq!(
        first.requests, FIRST_DEPLOY_REQUESTS,
        "first deploy's request count changed"
    );
    let target_ms = LATENCY * 20 + Duration::from_millis(300);
    report(
        "first deploy",
        &first,
        &format!(
            "target <= 60 requests: {}, <= {} ms: {}",
            verdict(first.requests <= 60),
            target_ms.as_millis(),
            verdict(first.measure.wall <= target_ms)
        ),
    );
    // Re-deploy and plan change nothing: each is run REPEATS times, and the median is shown.
    let again = median_of(|| run(&emulator, &target, &package, "deploy"));
    assert_eq!(
        again.requests, READ_REQUESTS,
        "re-deploy's request count changed"
    );
    report(
        "re-deploy   ",
        &again,
        &format!(
            "target <= 20 requests, 0 writes: {}",
            verdict(again.requests <= 20 && again.writes == 0)
        ),
    );
    let plan = median_of(|| run(&emulator, &target, &package, "plan"));
    assert_eq!(plan.requests, READ_REQUESTS, "plan's request count changed");
    report(
        "plan        ",
        &plan,
        &format!(
            "{}; target 0 writes: {}",
            writes_label(plan.writes),
            verdict(plan.writes == 0)
        ),
    );

    for (label, round, goal) in [
        ("first deploy", &first, 12),
        ("re-deploy   ", &again, 5),
        ("plan        ", &plan, 5),
    ] {
        println!(
            "{label}: {} requests (unchanged), {} request rounds as the emulator saw them, {} ({})",
            round.requests,
            round.request_rounds,
            measure::rounds_label(round.measure.wall, LATENCY),
            measure::round_goal(round.measure.wall, LATENCY, goal)
        );
    }

    print_report_sizes("first deploy", &first);
    print_report_sizes("plan        ", &plan);

    // The worst case for a report: every variable differs, each listed with both values.
    let path = package.join("project.json");
    let mut project: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("the package has project.json"),
    )
    .expect("project.json is JSON");
    let mut edited = 0;
    for variable in project["variables"]
        .as_array_mut()
        .expect("project.json lists variables")
    {
        if let Some(value) = variable["value"].as_str() {
            variable["value"] = json!(format!("{value} (edited upstream)"));
            edited += 1;
        }
    }
    std::fs::write(
        &path,
        serde_json::to_string(&project).expect("JSON values serialize"),
    )
    .expect("the package directory is writable");
    let edited_plan = run_with(
        &emulator,
        &target,
        &package,
        "plan",
        &["--overwrite-variables"],
        3,
    );
    let html = edited_plan.report_bytes.unwrap_or_default();
    println!(
        "plan with {edited} variables edited: HTML report {} KB (target <= 300 KB: {})",
        html / 1024,
        verdict(html <= 300 * 1024)
    );

    let (terraform, label) = shape.terraform_provider_estimate();
    println!(
        "{label}: about {:.0} x octofleet's measured first deploy",
        terraform as f64 / first.requests as f64
    );
}

struct Round {
    measure: measure::Measure,
    /// The rounds of requests the emulator saw (`octopus_emulator::rounds_of`).
    request_rounds: usize,
    requests: usize,
    writes: usize,
    /// The HTML report's size, and its JSON twin's.
    report_bytes: Option<u64>,
    report_json_bytes: Option<u64>,
}

/// The median by wall time of [`REPEATS`] runs.
fn median_of(mut run: impl FnMut() -> Round) -> Round {
    let mut runs: Vec<Round> = (0..REPEATS).map(|_| run()).collect();
    runs.sort_by_key(|round| round.measure.wall);
    runs.swap_remove(REPEATS / 2)
}

fn print_report_sizes(label: &str, round: &Round) {
    println!(
        "{label}: HTML report {} KB, JSON {} KB",
        round.report_bytes.unwrap_or_default() / 1024,
        round.report_json_bytes.unwrap_or_default() / 1024
    );
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn report(label: &str, round: &Round, targets: &str) {
    println!(
        "{label}: {:>4} requests ({:>3} writes), wall {:>7.1} ms, peak RSS {:.1} MiB ({targets})",
        round.requests,
        round.writes,
        round.measure.wall.as_secs_f64() * 1000.0,
        round.measure.peak_rss_kib as f64 / 1024.0
    );
}

fn run(emulator: &Emulator, target: &str, package: &Path, action: &str) -> Round {
    run_with(emulator, target, package, action, &[], 0)
}

fn run_with(
    emulator: &Emulator,
    target: &str,
    package: &Path,
    action: &str,
    args: &[&str],
    exit_code: i32,
) -> Round {
    emulator.clear_requests();
    let reports = tempfile::tempdir().expect("a temporary directory");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .arg(action)
        .args(args)
        .env_clear()
        .env("OCTOFLEET_REPORTDIR", reports.path())
        .env("MANAGEDTENANT_OCTOPUS_URL", emulator.url())
        .env("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY)
        .env("MANAGEDTENANT_OCTOPUS_SPACEID", target)
        .env("OCTOFLEET_PACKAGE_DIR", package);
    // A plan that finds no change exits 0; deploys must succeed.
    let started = emulator.clock_us();
    let measure = measure::run_expecting(&mut command, action, exit_code);
    let request_rounds =
        measure::request_rounds(action, &emulator.requests(), started, emulator.clock_us());
    let size = |extension: &str| {
        std::fs::metadata(
            reports
                .path()
                .join(format!("octofleet-{action}-{target}.{extension}")),
        )
        .ok()
        .map(|file| file.len())
    };
    Round {
        measure,
        request_rounds,
        requests: emulator.requests().len(),
        writes: emulator.writes().len(),
        report_bytes: size("html"),
        report_json_bytes: size("json"),
    }
}

/// Serialize the project, extract the zip, and substitute its secrets as Octopus would.
fn serialize_and_extract(emulator: &Emulator) -> std::path::PathBuf {
    let out = tempfile::tempdir().expect("a temporary directory").keep();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"))
        .arg("serialize")
        .env_clear()
        .env("OCTOPUS_WEB_SERVERURI", emulator.url())
        .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
        .env("OCTOPUS_SPACE_ID", "Spaces-1")
        .env("OCTOPUS_PROJECT_NAME", NAME)
        .env("OCTOFLEET_PACKAGE_VERSION", "1.0.0")
        .env("OCTOFLEET_NOPUSH", "true")
        .env("OCTOFLEET_OUTPUTDIR", &out)
        .status()
        .expect("the binary starts");
    assert!(status.success());
    let dir = out.join("extracted");
    let mut archive = zip::ZipArchive::new(
        std::fs::File::open(out.join("Large_Project.1.0.0.zip"))
            .expect("serialize wrote the package"),
    )
    .expect("the package is a zip");
    archive.extract(&dir).expect("the package extracts");
    let secrets: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("secrets.json")).expect("the package has secrets.json"),
    )
    .expect("secrets.json maps names to strings");
    let substituted: BTreeMap<String, String> = secrets
        .into_keys()
        .map(|key| (key.clone(), format!("value-of-{key}")))
        .collect();
    std::fs::write(
        dir.join("secrets.json"),
        serde_json::to_string(&substituted).expect("a map of strings serializes"),
    )
    .expect("the extracted package is writable");
    dir
}
