//! Benchmark: `octofleet merge` of an upstream with 2,000 commits into a fork that diverged by
//! 50 commits on each side (different files: a clean three-way merge), then a re-run; without
//! and with the object cache (`--git-cache-dir`). Prints wall time, bytes pushed (request
//! bodies of `git-receive-pack`), bytes fetched (responses of `git-upload-pack`, per side) and
//! peak RSS; the targets: a re-run pushes nothing and fetches nothing from upstream, and with
//! the cache fetches nothing at all. Run: `cargo bench --bench merge`.

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
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let forge = runtime
        .block_on(ForgeEmulator::start(ForgeConfig {
            password: PASSWORD.to_owned(),
            ..ForgeConfig::default()
        }))
        .expect("the emulator starts");
    forge.create_org(ORG);
    forge.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("main", COMMITS));

    let cache = tempfile::tempdir().expect("a temporary directory");
    let cache_dir = cache.path().to_str().expect("temporary paths are UTF-8");
    let [mut first, mut rerun, mut next, mut cached_first, mut cached_rerun, mut cached_next] =
        [(); 6].map(|()| Vec::new());
    for round in 0..ROUNDS {
        let plain = format!("tenant_{round}_hello_world_cac");
        let cached = format!("tenant_{round}_cached_hello_world_cac");
        for repo in [&plain, &cached] {
            octofleet(&forge, "fork", repo, None, &format!("fork into {repo}"));
        }
        for i in 0..DIVERGED {
            for repo in [&plain, &cached] {
                let file = format!("tenant/{round}-{i}.txt");
                forge.commit_files(
                    ORG,
                    repo,
                    "main",
                    "Tenant edit",
                    &[(&file, Some("tenant\n"))],
                );
            }
            let file = format!("upstream/{round}-{i}.txt");
            forge.commit_files(
                ORG,
                UPSTREAM,
                "main",
                "Upstream edit",
                &[(&file, Some("up\n"))],
            );
        }
        let upstream = forge
            .rev_parse(ORG, UPSTREAM, "refs/heads/main")
            .expect("the upstream has a main line");
        for (repo, cache_dir, first, rerun) in [
            (&plain, None, &mut first, &mut rerun),
            (
                &cached,
                Some(cache_dir),
                &mut cached_first,
                &mut cached_rerun,
            ),
        ] {
            let tenant = forge
                .rev_parse(ORG, repo, "refs/heads/main")
                .expect("the tenant's repository has a main line");
            first.push(run(&forge, repo, cache_dir));
            assert_eq!(
                forge.parents(ORG, repo, "refs/heads/main"),
                vec![tenant, upstream.clone()],
                "a merge commit of both"
            );
            rerun.push(run(&forge, repo, cache_dir));
        }
        // The usual later run: upstream moved on by one commit since the last merge.
        forge.commit_files(
            ORG,
            UPSTREAM,
            "main",
            "Upstream edit",
            &[(&format!("upstream/{round}-next.txt"), Some("next\n"))],
        );
        next.push(run(&forge, &plain, None));
        cached_next.push(run(&forge, &cached, Some(cache_dir)));
    }
    println!(
        "merge, upstream of {COMMITS} commits, diverged by {DIVERGED} on each side (clean), {ROUNDS} rounds (median)"
    );
    report("merge, no cache         ", &mut first);
    report("re-run, no cache        ", &mut rerun);
    report("merge, first with cache ", &mut cached_first);
    report("re-run with cache       ", &mut cached_rerun);
    report("upstream +1, no cache   ", &mut next);
    report("upstream +1, with cache ", &mut cached_next);
    let sum = |runs: &[Round], bytes: fn(&Round) -> u64| runs.iter().map(bytes).sum::<u64>();
    let pushed = |round: &Round| round.receive_packs as u64 + round.bytes_pushed;
    let rerun_writes = sum(&rerun, pushed) + sum(&rerun, |round| round.fetched_upstream);
    println!(
        "re-run pushes nothing and fetches nothing from upstream: {}",
        if rerun_writes == 0 { "met" } else { "MISSED" }
    );
    let cached_transfers = sum(&cached_rerun, pushed)
        + sum(&cached_rerun, |round| {
            round.fetched_upstream + round.fetched_downstream
        });
    println!(
        "re-run with the cache transfers nothing (no fetch, no push): {}",
        if cached_transfers == 0 {
            "met"
        } else {
            "MISSED"
        }
    );
}

fn octofleet(
    forge: &ForgeEmulator,
    action: &str,
    repo: &str,
    cache_dir: Option<&str>,
    what: &str,
) -> measure::Measure {
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
    if let Some(dir) = cache_dir {
        command.env("OCTOFLEET_GIT_CACHEDIR", dir);
    }
    measure::run(&mut command, what)
}

fn run(forge: &ForgeEmulator, repo: &str, cache_dir: Option<&str>) -> Round {
    forge.clear_requests();
    let measure = octofleet(
        forge,
        "merge",
        repo,
        cache_dir,
        &format!("merge into {repo}"),
    );
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
