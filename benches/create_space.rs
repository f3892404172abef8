//! Benchmark: `octofleet create-space` with the default blueprint against the emulator at 20 ms
//! latency, for a new space and for a re-run. Prints requests, wall time and peak RSS against
//! the targets (new space < 15 × latency, re-run < 5 × latency). Run: `cargo bench --bench create_space`.

mod measure;

use octofleet_sandbox::seed_management_space;
use octopus_emulator::{Emulator, EmulatorConfig};
use std::time::Duration;

const API_KEY: &str = "API-BENCH0000000000000000000000";
const LATENCY: Duration = Duration::from_millis(20);
const ROUNDS: usize = 5;

struct Round {
    measure: measure::Measure,
    requests: usize,
    writes: usize,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let emulator = runtime
        .block_on(Emulator::start(EmulatorConfig {
            api_key: API_KEY.into(),
            latency: LATENCY,
            ..EmulatorConfig::default()
        }))
        .expect("the emulator starts");
    let tenants: Vec<String> = (0..ROUNDS).map(|i| format!("Bench Tenant {i}")).collect();
    let tenant_names: Vec<&str> = tenants.iter().map(String::as_str).collect();
    let management = seed_management_space(&emulator, &emulator.url(), API_KEY, &tenant_names);

    let mut new_space = Vec::new();
    let mut rerun = Vec::new();
    for tenant in &tenants {
        new_space.push(run(&emulator, tenant, management.tenant_id(tenant)));
        rerun.push(run(&emulator, tenant, management.tenant_id(tenant)));
    }
    println!(
        "create-space, default blueprint + tenant write-back, emulator latency {} ms, {ROUNDS} rounds (median)",
        LATENCY.as_millis()
    );
    report("new space", &mut new_space, 15);
    report("re-run   ", &mut rerun, 5);
}

fn run(emulator: &Emulator, tenant: &str, tenant_id: &str) -> Round {
    emulator.clear_requests();
    let url = emulator.url();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .arg("create-space")
        .env_clear()
        .env("MANAGEDTENANT_OCTOPUS_URL", &url)
        .env("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY)
        .env("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant)
        .env("OCTOPUS_DEPLOYMENT_TENANT_ID", tenant_id)
        .env("OCTOPUS_WEB_SERVERURI", &url)
        .env("OCTOPUS_SPACE_ID", "Spaces-1")
        .env("MANAGEMENT_OCTOPUS_APIKEY", API_KEY)
        .env("GIT_CREDENTIALS_USERNAME", "octopus")
        .env("GIT_CREDENTIALS_PASSWORD", "bench-token");
    let measure = measure::run(&mut command, &format!("create-space for {tenant}"));
    Round {
        measure,
        requests: emulator.requests().len(),
        writes: emulator.writes().len(),
    }
}

fn report(label: &str, runs: &mut [Round], target_latencies: u32) {
    let median = measure::median(runs, |round| round.measure.wall);
    let target = LATENCY * target_latencies;
    println!(
        "{label}: {:>3} requests ({:>2} writes), wall {:>6.1} ms (target < {} ms: {}), peak RSS {:.1} MiB",
        median.requests,
        median.writes,
        median.measure.wall.as_secs_f64() * 1000.0,
        target.as_millis(),
        if median.measure.wall < target { "met" } else { "MISSED" },
        median.measure.peak_rss_kib as f64 / 1024.0
    );
}
