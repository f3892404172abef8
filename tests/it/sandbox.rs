//! The README's demo, `cargo run -p octofleet-sandbox`, run as a test (debug build)
//! with the `octofleet` binary: it must succeed and report the outcomes the README shows. The
//! sandbox binary running itself as octofleet is tested in its crate
//! (`crates/octofleet-sandbox/tests/readme_command.rs`).

use octofleet_sandbox::demo::{self, Log};
use octofleet_sandbox::{writes_label, LargeProjectShape};
use std::path::Path;

/// The demo's report split at its `== …` headings: (heading, the lines under it).
fn sections(text: &str) -> Vec<(String, String)> {
    text.split("\n== ")
        .skip(1)
        .map(|section| {
            let (heading, body) = section.split_once('\n').unwrap_or((section, ""));
            (heading.to_owned(), body.to_owned())
        })
        .collect()
}

fn section<'a>(all: &'a [(String, String)], heading: &str) -> &'a str {
    &all.iter()
        .find(|(h, _)| h.starts_with(heading))
        .unwrap_or_else(|| panic!("no section `{heading}`"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_demo_runs_to_the_end() {
    let log = Log::quiet();
    let reports = tempfile::tempdir().unwrap();
    let result = demo::run(
        Path::new(env!("CARGO_BIN_EXE_octofleet")),
        reports.path(),
        &log,
    )
    .await;
    let text = log.text();
    assert_eq!(result, Ok(()), "{text}");
    let all = sections(&text);
    let check = |heading: &str, needles: &[&str]| {
        let body = section(&all, heading);
        for needle in needles {
            assert!(
                body.contains(needle),
                "`{heading}` lacks `{needle}`:\n{body}"
            );
        }
    };

    // The merge step: Europe's edit merges cleanly, America's conflicts and gets a pull request.
    check(
        "merge upstream into Europe's fork octopuscac/europe_hello_world_cac",
        &["merged (exit 0)"],
    );
    check(
        "merge upstream into America's fork octopuscac/america_hello_world_cac",
        &[
            "conflicts: a person resolves the pull request (exit 3)",
            "output variable PullRequestUrl = ",
        ],
    );

    // Every plan, deploy, fork and merge left its report.
    check(
        "reports (open the .html files in a browser)",
        &[
            "hello-world/octofleet-plan-America.html",
            "hello-world/octofleet-deploy-Europe.json",
            "hello-world-cac/octofleet-fork-Europe.html",
            "hello-world-cac/octofleet-deploy-America.html",
            "hello-world-cac/octofleet-merge-America.html",
            "hello-world-cac/octofleet-merge-Europe.json",
        ],
    );

    for (tenant, space) in [("America", "Spaces-2"), ("Europe", "Spaces-3")] {
        check(
            &format!("create-space for tenant {tenant}"),
            &[
                &format!("space `{tenant}` ({space}): 6 created, 0 updated, 0 unchanged; tenant variable updated"),
                &format!("output variable SpaceId = {space}"),
                &format!("ManagedTenant.Octopus.SpaceId on the management space is now `{space}`"),
            ],
        );
    }
    check(
        "create-space for tenant America again",
        &[
            "0 created, 0 updated, 6 unchanged; tenant variable unchanged",
            " 0 writes",
        ],
    );
    for project in ["Hello World", "Hello World CaC"] {
        check(
            &format!("serialize {project} ("),
            &[
                "uploaded to the built-in feed of Spaces-1 (Stored)",
                " 1 writes",
            ],
        );
    }
    let feed = section(&all, "serialize Hello World CaC");
    assert!(
        feed.contains("built-in feed of Spaces-1:\n   Hello_World 2")
            && feed.contains("\n   Hello_World_CaC 2"),
        "{feed}"
    );
    for tenant in ["America", "Europe"] {
        check(
            &format!("deploy Hello World into {tenant}'s space"),
            &[
                "8 created, 0 updated, 1 unchanged",
                "0 created, 0 updated, 9 unchanged (plan: nothing written)",
                "plan exit code 0 (no changes), no writes",
            ],
        );
        check(
            &format!("fork Hello World CaC for {tenant}"),
            &[
                "refs/heads/main: created",
                "1 of 1 refs pushed",
                &format!("{tenant}'s Hello World CaC is version controlled at \"http://127.0.0.1:"),
                &format!(
                    "/octopuscac/{}_hello_world_cac.git\"",
                    tenant.to_lowercase()
                ),
            ],
        );
    }
    check(
        "a step is added upstream",
        &[
            "+ create step `Hello World / Smoke Test`",
            "plan exit code 3 (changes)",
            "1 created, 0 updated, 9 unchanged",
        ],
    );
    // The rollout: the canary first, Africa's failure stops it, the re-run resumes.
    check(
        "roll Hello World",
        &[
            "2 waves (Rollout/Canary: 2, the rest: 3)",
            "America: started http://",
            "America: succeeded",
            "Africa: failed",
            "Asia: not started",
            "Europe: not started",
            "Oceania: not started",
            "rollout exit code 1",
        ],
    );
    check(
        "Africa's tenant variable gets the new key",
        &[
            "America: skipped, its latest run succeeded on",
            "Africa: started http://",
            "Asia: succeeded",
            "Europe: succeeded",
            "Oceania: succeeded",
            "rollout exit code 0",
        ],
    );
    let page = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("fleet report: "))
        .expect("the demo ends with the fleet report's path");
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("Oceania"), "{html}");
    assert!(!text.contains("sandbox-git-token"), "{text}");
}

/// Labels say what is true: "no writes" only for none, and the Terraform provider's request count
/// (never measured: there is no provider here) is printed as an estimate with its formula.
#[test]
fn labels_say_estimate_and_no_writes_only_when_true() {
    assert_eq!(writes_label(0), "no writes");
    assert_eq!(writes_label(1), "1 write");
    assert_eq!(writes_label(7), "7 writes");

    let shape = LargeProjectShape::BENCHMARK;
    let (requests, label) = shape.terraform_provider_estimate();
    assert_eq!(requests, 3 * 2000 + 3 * (100 + 20 * 10) + 2 * 20 + 3);
    assert!(label.contains("an estimate (not measured)"), "{label}");
    assert!(
        label.contains(&format!(
            "{requests} requests = 3 x 2000 variables + 3 x 300 steps (100 + 20 runbooks x 10) + 2 x 20 runbooks + 3 for the project"
        )),
        "{label}"
    );
}
