//! Benchmark: `octofleet merge` of an upstream with 2,000 commits into a fork that diverged by
//! 50 commits on each side (different files: a clean three-way merge), then a re-run. Prints
//! wall time, bytes pushed (request bodies of `git-receive-pack`), bytes fetched (responses of
//! `git-upload-pack`, per side) and peak RSS; the target is that the re-run pushes nothing and
//! fetches nothing from upstream. Run: `cargo bench --bench merge`.

mod measure;

use forge_emulator::{ForgeConfig, ForgeEmulator, RequestRecord, UpstreamSpec};

const PASSWORD: &str = "bench-Password-1";
const ORG: &str = "octopuscac";
const UPSTREAM: &str = "hello_world_cac";
const COMMITS: usize = 2_000;
const DIVERGED: usize = 50;
const ROUNDS: usize = 3;

struct Round {
    measure: measure::Measure,
    bytes_pushed: u64,
    receive_packs: usize,
    fetched_upstream: u64,
    fetched_downstream: u64,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let forge = runtime
        .block_on(ForgeEmulator::start(ForgeConfig {
            password: PASSWORD.to_owned(),
            ..ForgeConfig::default()
        }))
        .unwrap();
    forge.create_org(ORG);
    forge.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("main", COMMITS));

    let mut first = Vec::new();
    let mut rerun = Vec::new();
    for round in 0..ROUNDS {
        let repo = format!("tenant_{round}_hello_world_cac");
        octofleet(&forge, "fork", &repo, &format!("fork into {repo}"));
        for i in 0..DIVERGED {
            let file = format!("tenant/{round}-{i}.txt");
            forge.commit_files(
                ORG,
                &repo,
                "main",
                "Tenant edit",
                &[(&file, Some("tenant\n"))],
            );
            let file = format!("upstream/{round}-{i}.txt");
            forge.commit_files(
                ORG,
                UPSTREAM,
                "main",
                "Upstream edit",
                &[(&file, Some("up\n"))],
            );
        }
        let tenant = forge.rev_parse(ORG, &repo, "refs/heads/main").unwrap();
        let upstream = forge.rev_parse(ORG, UPSTREAM, "refs/heads/main").unwrap();
        first.push(run(&forge, &repo));
        assert_eq!(
            forge.parents(ORG, &repo, "refs/heads/main"),
            vec![tenant, upstream],
            "a merge commit of both"
        );
        rerun.push(run(&forge, &repo));
    }
    println!(
        "merge, upstream of {COMMITS} commits, diverged by {DIVERGED} on each side (clean), {ROUNDS} rounds (median)"
    );
    report("merge ", &mut first);
    report("re-run", &mut rerun);
    let rerun_writes: u64 = rerun
        .iter()
        .map(|round| round.receive_packs as u64 + round.bytes_pushed + round.fetched_upstream)
        .sum();
    println!(
        "re-run pushes nothing and fetches nothing from upstream: {}",
        if rerun_writes == 0 { "met" } else { "MISSED" }
    );
}

fn octofleet(forge: &ForgeEmulator, action: &str, repo: &str, what: &str) -> measure::Measure {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .arg(action)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_URL_PROTOCOL", "http")
        .env("GIT_URL_HOST", forge.host())
        .env("GIT_URL_ORGANIZATION", ORG)
        .env("GIT_URL_TEMPLATE", UPSTREAM)
        .env("GIT_URL_NEWREPO", repo)
        .env("GIT_CREDENTIALS_USERNAME", forge.username())
        .env("GIT_CREDENTIALS_PASSWORD", PASSWORD);
    measure::run(&mut command, what)
}

fn run(forge: &ForgeEmulator, repo: &str) -> Round {
    forge.clear_requests();
    let measure = octofleet(forge, "merge", repo, &format!("merge into {repo}"));
    let requests = forge.requests();
    let receive_packs: Vec<&RequestRecord> = requests
        .iter()
        .filter(|request| request.is_receive_pack())
        .collect();
    let fetched = |name: &str| -> u64 {
        requests
            .iter()
            .filter(|request| request.path == format!("/{ORG}/{name}.git/git-upload-pack"))
            .map(|request| request.response_bytes)
            .sum()
    };
    Round {
        measure,
        bytes_pushed: receive_packs
            .iter()
            .map(|request| request.request_bytes)
            .sum(),
        receive_packs: receive_packs.len(),
        fetched_upstream: fetched(UPSTREAM),
        fetched_downstream: fetched(repo),
    }
}

fn report(label: &str, runs: &mut [Round]) {
    let median = measure::median(runs, |round| round.measure.wall);
    println!(
        "{label}: wall {:>7.1} ms, pushed {:>8} bytes ({} receive-pack), fetched {:>8} bytes from upstream and {:>8} from the fork, peak RSS {:.1} MiB",
        median.measure.wall.as_secs_f64() * 1000.0,
        median.bytes_pushed,
        median.receive_packs,
        median.fetched_upstream,
        median.fetched_downstream,
        median.measure.peak_rss_kib as f64 / 1024.0
    );
}
