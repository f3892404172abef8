//! The forges' rate limits and refusals as `octofleet fork` meets them (issue 18, item 7):
//! GitHub's secondary (403 + `retry-after`) and primary (403 + `x-ratelimit-remaining: 0`)
//! limits and GitLab's 429 + `RateLimit-Reset` are waited out as told, within the action's
//! deadline, and never reported as a refusal of permission; a wait past the deadline fails at
//! once; GitLab refusing a push by the user's role says so.

use crate::support::forge::{forge_with_upstream_on, run_action, NEW_REPO, ORG, UPSTREAM};
use forge_emulator::{ForgeEmulator, RateLimit};
use std::time::{Duration, Instant};

/// Requests to the API whose path contains `part`, with their statuses, in order.
fn api_statuses(forge: &ForgeEmulator, part: &str) -> Vec<u16> {
    forge
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/api/") && request.path.contains(part))
        .map(|request| request.status)
        .collect()
}

/// The repository lookup fork starts with, as each platform spells it.
fn lookup(platform: &str) -> String {
    match platform {
        "github" => format!("/repos/{ORG}/{NEW_REPO}"),
        _ => format!("/projects/{ORG}%2F{NEW_REPO}"),
    }
}

async fn rate_limited_fork_waits_as_told(platform: &str, limit: RateLimit, least: Duration) {
    let forge = forge_with_upstream_on(platform).await;
    forge.rate_limit("GET", &lookup(platform), 1, limit);
    let started = Instant::now();
    let run = run_action(&forge, "fork", platform, &[], &[]).await;
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(forge.unfired_rules().is_empty(), "{:?}", forge.rules());
    assert!(took >= least, "waited only {took:?}");
    let statuses = api_statuses(&forge, &lookup(platform));
    assert_eq!(statuses[0], if platform == "github" { 403 } else { 429 });
    assert!(statuses.len() >= 2, "the call was made again: {statuses:?}");
    assert!(
        forge.rev_parse(ORG, NEW_REPO, "refs/heads/main").is_some(),
        "the fork went on to push"
    );
    let output = run.all_output().to_lowercase();
    assert!(!output.contains("permission"), "{output}");
    assert!(
        output.contains("rate-limited"),
        "the wait is logged: {output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_secondary_rate_limit_with_retry_after_is_waited_out() {
    rate_limited_fork_waits_as_told(
        "github",
        RateLimit::GitHubSecondary {
            retry_after: Some(2),
        },
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_rate_limit_with_no_requests_remaining_waits_for_the_reset() {
    rate_limited_fork_waits_as_told(
        "github",
        RateLimit::GitHubPrimary { reset_in: 2 },
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_429_waits_for_its_ratelimit_reset() {
    rate_limited_fork_waits_as_told(
        "gitlab",
        RateLimit::GitLab { reset_in: 2 },
        Duration::from_secs(1),
    )
    .await;
}

/// A wait that would end after `Octofleet.Timeout` is not waited: the run fails at once and
/// says what the platform asked for and which input would allow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_past_the_deadline_fails_at_once_naming_the_timeout() {
    for (platform, limit) in [
        (
            "github",
            RateLimit::GitHubSecondary {
                retry_after: Some(3600),
            },
        ),
        ("github", RateLimit::GitHubSecondary { retry_after: None }),
        ("gitlab", RateLimit::GitLab { reset_in: 3600 }),
    ] {
        let forge = forge_with_upstream_on(platform).await;
        forge.rate_limit("GET", &lookup(platform), 1, limit);
        let started = Instant::now();
        let run = run_action(&forge, "fork", platform, &["--timeout", "30s"], &[]).await;
        assert_eq!(run.code, 1, "{platform} {limit:?}: {}", run.all_output());
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{platform} {limit:?}: it waited"
        );
        assert!(
            run.stderr.contains("rate-limited") && run.stderr.contains("Octofleet.Timeout"),
            "{platform} {limit:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.to_lowercase().contains("permission"),
            "{}",
            run.stderr
        );
    }
}

/// GitLab refuses a push to a protected branch whose "Allowed to push and merge" leaves out the
/// user's role: the error says the role may not push and where that is set, not "force push".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_refusing_a_push_by_role_says_so() {
    let forge = forge_with_upstream_on("gitlab").await;
    let first = run_action(&forge, "fork", "gitlab", &[], &[]).await;
    assert_eq!(first.code, 0, "{}", first.all_output());
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream moves on",
        &[(".octopus/deployment_process.ocl", Some("step \"New\" {}\n"))],
    );
    forge.deny_pushes_by_role(ORG, NEW_REPO);
    let run = run_action(&forge, "fork", "gitlab", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr
            .contains("You are not allowed to push code to protected branches"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("role may not push"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Allowed to push and merge"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("force push"), "{}", run.stderr);
}
