//! create-space under injected faults: it still converges, with no duplicates.

use crate::harness::{names, Fleet};
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
