//! create-space under injected faults: it still converges, with no duplicates.

use crate::support::{http_response, TinyServer};
use crate::support::{names, octofleet, Fleet};
use octopus_emulator::EmulatorConfig;

fn assert_one_of_each(fleet: &Fleet, tenant: &str) {
    let spaces: Vec<_> = fleet
        .emulator
        .list("", "spaces")
        .into_iter()
        .filter(|s| s["Name"] == tenant)
        .collect();
    assert_eq!(spaces.len(), 1, "one space named {tenant}");
    let space_id = spaces[0]["Id"].as_str().unwrap();
    assert_eq!(
        names(&fleet.emulator, space_id, "environments"),
        ["Development", "Production", "Test"]
    );
    assert_eq!(
        names(&fleet.emulator, space_id, "lifecycles"),
        ["Application", "Default Lifecycle"]
    );
    let feeds = names(&fleet.emulator, space_id, "feeds");
    assert_eq!(
        feeds.iter().filter(|f| *f == "Docker Hub").count(),
        1,
        "{feeds:?}"
    );
    assert_eq!(names(&fleet.emulator, space_id, "git-credentials"), ["Git"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_over_several_seeds_still_converge_without_duplicates() {
    for seed in [1, 2, 3, 4] {
        let fleet = Fleet::start_with(EmulatorConfig {
            fault_rate: 0.2,
            seed,
            ..EmulatorConfig::default()
        })
        .await;
        let run = fleet.create_space("America", &[], &[]).await;
        assert_eq!(run.code, 0, "seed {seed}: {}", run.stderr);
        let faulted = fleet
            .emulator
            .requests()
            .iter()
            .filter(|r| r.status >= 429)
            .count();
        assert!(faulted > 0, "seed {seed}: faults were injected");
        fleet.emulator.set_fault_rate(0.0, 0);
        assert_one_of_each(&fleet, "America");
        let space_id = fleet.space_named("America").unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            fleet.tenant_space_id("America").await.as_deref(),
            Some(space_id.as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_commits_then_drops_the_connection_creates_no_duplicate() {
    let fleet = Fleet::start().await;
    fleet
        .emulator
        .drop_connection_after_commit("POST", "/spaces", 1);
    fleet
        .emulator
        .drop_connection_after_commit("POST", "/environments", 2);
    fleet
        .emulator
        .drop_connection_after_commit("POST", "/git-credentials", 1);
    let run = fleet.create_space("America", &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_one_of_each(&fleet, "America");
}

fn step_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("MANAGEDTENANT_OCTOPUS_URL", url),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", crate::support::API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_stopped_by_the_deadline() {
    let silent = TinyServer::start(|_| None).await;
    let started = std::time::Instant::now();
    let run = octofleet(&["create-space", "--timeout", "3"], &step_env(&silent.url)).await;
    // Generous: the point is that 3 s ends the run, not 365 s per request.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("create-space did not finish within 3s, the limit set by Octofleet.Timeout")
            && run.stderr.contains("converges when run again"),
        "{}",
        run.stderr
    );
    assert!(silent.accepted() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_timeout_is_bad_input_with_the_others() {
    let run = octofleet(&["deploy"], &[("OCTOFLEET_TIMEOUT", "10x")]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Octofleet.Timeout (env OCTOFLEET_TIMEOUT, flag --timeout): `10x`")
            && run.stderr.contains("ManagedTenant.Octopus.Url"),
        "the timeout and the other missing inputs, at once: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_message_is_cut_to_a_readable_size() {
    let body = serde_json::json!({
        "ErrorMessage": format!("The value {} is invalid", "v".repeat(1 << 20)),
        "Errors": vec!["e".repeat(1 << 16); 100],
    })
    .to_string();
    let server =
        TinyServer::start(move |_| Some(http_response("400 Bad Request", &[], &body))).await;
    let run = octofleet(&["create-space"], &step_env(&server.url)).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("400") && run.stderr.contains("more characters"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(
        run.stderr.len() < 8 * 1024,
        "stderr is {} bytes",
        run.stderr.len()
    );
    assert!(
        run.stdout.len() < 16 * 1024,
        "stdout is {} bytes",
        run.stdout.len()
    );
}
