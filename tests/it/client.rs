//! The REST client against the emulator: paging, names, errors, retries, concurrency.

use crate::harness::{emulator, emulator_with, API_KEY};
use octofleet::octopus::resources::{Environment, VariableSets};
use octofleet::octopus::{Api, ApiRequest, ClientConfig, OctopusClient};
use octofleet::secret::Secret;
use octopus_emulator::EmulatorConfig;
use serde_json::json;
use std::time::Duration;

fn client(url: &str, key: &str) -> OctopusClient {
    OctopusClient::new(ClientConfig::new(url.parse().unwrap(), Secret::new(key))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_follows_page_next_over_more_than_thirty_items() {
    let emulator = emulator().await;
    for index in 0..75 {
        emulator.seed(
            "Spaces-1",
            "environments",
            json!({"Name": format!("Env {index:03}")}),
        );
    }
    let client = client(&emulator.url(), API_KEY);
    emulator.clear_requests();
    // No `take`: the server's page size (30) applies, so three pages must be followed.
    let all: Vec<Environment> = client
        .list_all(ApiRequest::get("api/Spaces-1/environments"))
        .await
        .unwrap();
    assert_eq!(all.len(), 75);
    let mut names: Vec<_> = all.iter().map(|e| e.name.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), 75, "no item twice");
    assert_eq!(emulator.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_by_name_is_exact() {
    let emulator = emulator().await;
    emulator.seed("Spaces-1", "environments", json!({"Name": "Europe-West"}));
    emulator.seed("Spaces-1", "environments", json!({"Name": "Europe"}));
    let api = Api::<Environment>::new(&client(&emulator.url(), API_KEY), Some("Spaces-1"));
    assert_eq!(
        api.find_by_name("Europe").await.unwrap().unwrap().name,
        "Europe"
    );
    assert!(api.find_by_name("Eur").await.unwrap().is_none());
    assert!(
        api.find_by_name("europe").await.unwrap().is_none(),
        "names are case-sensitive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_carries_octopus_message_and_hides_the_key() {
    let emulator = emulator().await;
    let api = Api::<Environment>::new(
        &client(&emulator.url(), "API-WRONGKEY123"),
        Some("Spaces-1"),
    );
    let error = api.list().await.unwrap_err();
    assert!(error.is_unauthorized());
    let text = error.to_string();
    assert!(
        text.contains("401") && text.contains("You must be logged in"),
        "{text}"
    );
    assert!(!text.contains("API-WRONGKEY123") && !format!("{error:?}").contains("API-WRONGKEY123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_none_and_duplicates_are_clear() {
    let emulator = emulator().await;
    let client = client(&emulator.url(), API_KEY);
    let api = Api::<Environment>::new(&client, Some("Spaces-1"));
    assert!(api.get_opt("Environments-999").await.unwrap().is_none());

    let body = json!({"Name": "Staging"});
    client
        .post("api/Spaces-1/environments", &body)
        .await
        .unwrap();
    let error = client
        .post("api/Spaces-1/environments", &body)
        .await
        .unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 400);
    assert!(error.to_string().contains("already exists"), "{error}");
    // Through the handle, "already exists" is success after re-reading: no duplicate, no error.
    let existing: Environment = serde_json::from_value(json!({"Name": "Staging"})).unwrap();
    let created = api.create(&existing).await.unwrap();
    assert!(created.id.is_some());
    assert_eq!(
        emulator
            .list("Spaces-1", "environments")
            .iter()
            .filter(|e| e["Name"] == "Staging")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variable_set_version_conflicts_are_re_read_and_retried() {
    let emulator = emulator_with(EmulatorConfig {
        latency: Duration::from_millis(30),
        ..EmulatorConfig::default()
    })
    .await;
    let set = emulator.seed(
        "Spaces-1",
        "libraryvariablesets",
        json!({"Name": "Shared", "ContentType": "Variables"}),
    );
    let variable_set_id = set["VariableSetId"].as_str().unwrap().to_owned();
    let client = client(&emulator.url(), API_KEY);
    emulator.clear_requests();
    // Five writers read the same Version at once; all but one must hit a conflict and retry.
    let writers = (0..5).map(|index| {
        let sets = VariableSets::new(&client, "Spaces-1");
        let id = variable_set_id.clone();
        async move {
            sets.modify(&id, |set| {
                set.variables.push(
                    serde_json::from_value(
                        json!({"Name": format!("V{index}"), "Value": "x", "Type": "String"}),
                    )
                    .unwrap(),
                );
                true
            })
            .await
        }
    });
    for result in futures::future::join_all(writers).await {
        result.unwrap();
    }
    let final_set = VariableSets::new(&client, "Spaces-1")
        .get(&variable_set_id)
        .await
        .unwrap();
    let mut names: Vec<_> = final_set.variables.iter().map(|v| v.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["V0", "V1", "V2", "V3", "V4"]);
    let conflicts = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.status == 400)
        .count();
    assert!(conflicts >= 1, "the writers were expected to collide");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_for_reads() {
    let emulator = emulator().await;
    emulator.set_fault_rate(0.5, 7);
    let api = Api::<Environment>::new(&client(&emulator.url(), API_KEY), Some("Spaces-1"));
    for _ in 0..5 {
        api.list().await.unwrap();
    }
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().any(|s| *s >= 429),
        "faults were injected: {statuses:?}"
    );
}
