//! Benchmark: `octofleet fork --all-branches` of an upstream with 2,000 commits, 50 branches
//! and 10 tags into a new repository on the forge emulator (real git), then a re-run. Prints
//! wall time, bytes pushed (request bodies of `git-receive-pack`), bytes fetched (responses of
//! `git-upload-pack`) and peak RSS; the target is that the re-run transfers no objects.
//! Run: `cargo bench --bench fork`.

mod measure;

use forge_emulator::{ForgeConfig, ForgeEmulator, RequestRecord, UpstreamSpec};

const PASSWORD: &str = "bench-Password-1";
const ORG: &str = "octopuscac";
const UPSTREAM: &str = "hello_world_cac";
const ROUNDS: usize = 3;

struct Round {
    measure: measure::Measure,
    bytes_pushed: u64,
    bytes_fetched: u64,
    receive_packs: usize,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let forge = runtime
        .block_on(ForgeEmulator::start(ForgeConfig {
            password: PASSWORD.to_owned(),
            ..ForgeConfig::default()
        }))
        .expect("the emulator starts");
    forge.create_org(ORG);
    let spec = UpstreamSpec {
        branch: "main".to_owned(),
        commits: 2_000,
        branches: (0..50).map(|i| format!("feature-{i:02}")).collect(),
        tags: (0..10).map(|i| format!("v1.{i}.0")).collect(),
    };
    forge.create_upstream(ORG, UPSTREAM, &spec);

    let mut first = Vec::new();
    let mut rerun = Vec::new();
    for round in 0..ROUNDS {
        let repo = format!("tenant_{round}_hello_world_cac");
        first.push(run(&forge, &repo));
        rerun.push(run(&forge, &repo));
        assert_eq!(
            forge.refs(ORG, &repo),
            forge.refs(ORG, UPSTREAM),
            "the mirror holds every branch and tag"
        );
    }
    println!(
        "fork --all-branches, upstream of {} commits, {} branches, {} tags, {ROUNDS} rounds (median)",
        spec.commits,
        spec.branches.len() + 1,
        spec.tags.len()
    );
    report("new repository", &mut first);
    let rerun_transfers: u64 = rerun
        .iter()
        .map(|round| round.receive_packs as u64 + round.bytes_pushed + round.bytes_fetched)
        .sum();
    report("re-run        ", &mut rerun);
    println!(
        "re-run transfers no objects: {}",
        if rerun_transfers == 0 {
            "met (no push, no fetch: the ref advertisements match)"
        } else {
            "MISSED"
        }
    );
}

fn run(forge: &ForgeEmulator, repo: &str) -> Round {
    forge.clear_requests();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .args(["fork", "--all-branches"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_URL_PROTOCOL", "http")
        .env("GIT_URL_HOST", forge.host())
        .env("GIT_URL_ORGANIZATION", ORG)
        .env("GIT_URL_TEMPLATE", UPSTREAM)
        .env("GIT_URL_NEWREPO", repo)
        .env("GIT_CREDENTIALS_USERNAME", forge.username())
        .env("GIT_CREDENTIALS_PASSWORD", PASSWORD);
    let measure = measure::run(&mut command, &format!("fork into {repo}"));
    let requests = forge.requests();
    let receive_packs: Vec<&RequestRecord> = requests
        .iter()
        .filter(|request| request.is_receive_pack())
        .collect();
    Round {
        measure,
        bytes_pushed: receive_packs
            .iter()
            .map(|request| request.request_bytes)
            .sum(),
        bytes_fetched: requests
            .iter()
            .filter(|request| request.path.ends_with("/git-upload-pack"))
            .map(|request| request.response_bytes)
            .sum(),
        receive_packs: receive_packs.len(),
    }
}

fn report(label: &str, runs: &mut [Round]) {
    let median = measure::median(runs, |round| round.measure.wall);
    println!(
        "{label}: wall {:>7.1} ms, pushed {:>8} bytes ({} receive-pack), fetched {:>8} bytes, peak RSS {:.1} MiB",
        median.measure.wall.as_secs_f64() * 1000.0,
        median.bytes_pushed,
        median.receive_packs,
        median.bytes_fetched,
        median.measure.peak_rss_kib as f64 / 1024.0
    );
}
