//! Benchmark: `octofleet serialize` of a generated large project (100 steps, 2,000 variables
//! scoped over 20 environments, 20 runbooks of 10 steps, 10 library variable sets) against the
//! emulator at 20 ms latency, package upload included. Prints requests, wall time and peak RSS
//! against the targets (≤ 40 requests, ≤ 10 × latency + 200 ms, ≤ 50 MB), and the round trips:
//! the request count (asserted unchanged), the rounds the emulator saw, the wall time divided by
//! the latency, against issue 20's goal of 6 rounds + 100 ms. `OCTOFLEET_BENCH_TRACE=1` prints
//! every request with its round.
//! Run: `cargo bench --bench serialize`.

mod measure;

use octofleet_sandbox::{seed_large_project, LargeProjectShape};
use octopus_emulator::{Emulator, EmulatorConfig};
use std::time::Duration;

const API_KEY: &str = "API-BENCH0000000000000000000000";
const LATENCY: Duration = Duration::from_millis(20);
const ROUNDS: usize = 5;
const REQUESTS: usize = 22;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let emulator = runtime
        .block_on(Emulator::start(EmulatorConfig {
            api_key: API_KEY.into(),
            latency: LATENCY,
            ..EmulatorConfig::default()
        }))
        .expect("the emulator starts");
    let shape = LargeProjectShape::BENCHMARK;
    seed_large_project(&emulator, "Spaces-1", "Large Project", shape);
    let output = tempfile::tempdir().expect("a temporary directory");

    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        emulator.clear_requests();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
        command
            .arg("serialize")
            .env_clear()
            .env("OCTOPUS_WEB_SERVERURI", emulator.url())
            .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
            .env("OCTOPUS_SPACE_ID", "Spaces-1")
            .env("OCTOPUS_PROJECT_NAME", "Large Project")
            .env("OCTOFLEET_PACKAGE_VERSION", format!("1.0.{round}"))
            .env("OCTOFLEET_OUTPUTDIR", output.path());
        let started = emulator.clock_us();
        let measure = measure::run(&mut command, "serialize");
        let requests = emulator.requests();
        let request_rounds =
            measure::request_rounds("serialize", &requests, started, emulator.clock_us());
        rounds.push((measure, requests.len(), request_rounds));
    }
    let zip = std::fs::read(output.path().join("Large_Project.1.0.0.zip"))
        .expect("serialize wrote the package");
    let (median, requests, request_rounds) = measure::median(&mut rounds, |(m, _, _)| m.wall);
    // Concurrency must not add requests: 23 before issue 20's round trips, 22 since (the space
    // is no longer read twice).
    assert_eq!(*requests, REQUESTS, "serialize's request count changed");
    let wall_target = LATENCY * 10 + Duration::from_millis(200);
    let rss_mib = median.peak_rss_kib as f64 / 1024.0;
    println!(
        "serialize, {} steps, {} variables over {} environments, {} runbooks x {} steps, {} library variable sets; latency {} ms, {ROUNDS} rounds (median)",
        shape.steps, shape.variables, shape.environments, shape.runbooks, shape.runbook_steps, shape.library_variable_sets, LATENCY.as_millis()
    );
    println!(
        "requests {requests} (target <= 40: {}), wall {:.1} ms (target <= {} ms: {}), peak RSS {rss_mib:.1} MiB (target <= 50 MB: {}), package {} KiB",
        if *requests <= 40 { "met" } else { "MISSED" },
        median.wall.as_secs_f64() * 1000.0,
        wall_target.as_millis(),
        if median.wall <= wall_target { "met" } else { "MISSED" },
        if rss_mib * 1.048_576 <= 50.0 { "met" } else { "MISSED" },
        zip.len() / 1024
    );
    println!(
        "round trips: {requests} requests (unchanged: {REQUESTS}) in {request_rounds} rounds as the emulator saw them, {} ({})",
        measure::rounds_label(median.wall, LATENCY),
        measure::round_goal(median.wall, LATENCY, 6)
    );
}
