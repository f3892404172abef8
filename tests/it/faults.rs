//! create-space under injected faults: it still converges, with no duplicates.

use crate::support::fault_rules::{assert_each_resource_posted_once, assert_every_fault_fired};
use crate::support::{http_response, TinyServer};
use crate::support::{names, octofleet, Fleet};
use octopus_emulator::EmulatorConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;

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
        assert_every_fault_fired(&fleet.emulator);
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
    assert_every_fault_fired(&fleet.emulator);
    // The lost answers were followed by a re-read that found each resource, never by a second
    // POST (which the emulator would refuse as a duplicate name, so the end state alone cannot
    // tell).
    assert_each_resource_posted_once(&fleet.emulator);
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

const EXAMPLE_BLUEPRINT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/blueprint.yaml");
const BLUEPRINT_SECRETS: [(&str, &str); 4] = [
    ("NUGET_PASSWORD", "nuget-secret-1"),
    ("DATABASE_PASSWORD", "db-secret-1"),
    ("AWS_SECRET_ACCESS_KEY", "aws-secret-1"),
    (
        "PAYMENTS_TLS_CERTIFICATE",
        include_str!("../fixtures/certificates/leaf-with-key.pem"),
    ),
];

async fn create_space_from_the_example(fleet: &Fleet) -> crate::support::Run {
    fleet
        .create_space(
            "America",
            &["--blueprint", EXAMPLE_BLUEPRINT],
            &BLUEPRINT_SECRETS,
        )
        .await
}

/// Replace every string that is a known id by its label, and drop what only names a document
/// (`Id`, `Links`) or when (`LastModifiedOn`): two spaces built in different orders compare equal when they hold the same.
fn by_name(value: &Value, labels: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(text) => labels
            .get(text)
            .map_or_else(|| value.clone(), |label| Value::String(label.clone())),
        Value::Array(items) => Value::Array(items.iter().map(|v| by_name(v, labels)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !matches!(key.as_str(), "Id" | "Links" | "LastModifiedOn"))
                .map(|(key, v)| (key.clone(), by_name(v, labels)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Everything create-space manages in the tenant's space, by name: the space, environments,
/// lifecycles, project groups, feeds, git credentials, library variable sets with their
/// variables, tag sets, the secrets the server holds, and the tenant's write-back.
async fn whole_space(fleet: &Fleet, tenant: &str) -> Value {
    const KINDS: [&str; 7] = [
        "environments",
        "lifecycles",
        "projectgroups",
        "feeds",
        "git-credentials",
        "libraryvariablesets",
        "tagsets",
    ];
    let spaces: Vec<Value> = fleet
        .emulator
        .list("", "spaces")
        .into_iter()
        .filter(|s| s["Name"] == tenant)
        .collect();
    assert_eq!(spaces.len(), 1, "one space named {tenant}");
    let space_id = spaces[0]["Id"].as_str().unwrap().to_owned();
    let mut labels = BTreeMap::from([(space_id.clone(), format!("space {tenant}"))]);
    let mut documents = BTreeMap::new();
    for kind in KINDS {
        let mut docs = fleet.emulator.list(&space_id, kind);
        docs.sort_by_key(|d| d["Name"].as_str().unwrap_or_default().to_owned());
        for doc in &docs {
            let name = doc["Name"].as_str().unwrap();
            labels.insert(
                doc["Id"].as_str().unwrap().to_owned(),
                format!("{kind} {name}"),
            );
            if let Some(set) = doc["VariableSetId"].as_str() {
                labels.insert(set.to_owned(), format!("variables of {name}"));
            }
        }
        if kind == "environments" {
            // The server numbers environments in the order they are created, and the blueprint
            // has no order (a field it does not manage): a re-run after a cut creates the rest
            // later, so `SortOrder` is not part of the converged state.
            for doc in &mut docs {
                doc.as_object_mut().unwrap().remove("SortOrder");
            }
        }
        documents.insert(kind, docs);
    }
    let mut secrets = BTreeMap::new();
    let mut variables = BTreeMap::new();
    for (kind, docs) in &documents {
        for doc in docs {
            let (id, name) = (doc["Id"].as_str().unwrap(), doc["Name"].as_str().unwrap());
            if matches!(*kind, "feeds" | "git-credentials") {
                secrets.insert(
                    format!("{kind} {name}"),
                    fleet.emulator.secret_value(&space_id, id, "Password"),
                );
            }
            if let Some(set_id) = doc["VariableSetId"].as_str() {
                let set = fleet.emulator.get(&space_id, "variables", set_id).unwrap();
                let mut list = set["Variables"].as_array().unwrap().clone();
                list.sort_by_key(|v| format!("{}{}", v["Name"], v["Scope"]));
                for variable in list.iter().filter(|v| v["IsSensitive"] == true) {
                    let variable_name = variable["Name"].as_str().unwrap();
                    secrets.insert(
                        format!("{name} / {variable_name}"),
                        fleet
                            .emulator
                            .secret_value(&space_id, set_id, variable_name),
                    );
                }
                variables.insert(name.to_owned(), list);
            }
        }
    }
    let write_back = fleet.tenant_space_id(tenant).await.unwrap_or_default();
    by_name(
        &json!({
            "space": spaces[0],
            "documents": documents,
            "variables": variables,
            "secrets": secrets,
            "write_back": write_back,
        }),
        &labels,
    )
}

/// create-space cut off after every possible number of writes (the server refuses every write
/// from then on), then run again without faults, ends in exactly the space a clean run makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_cut_off_at_any_write_converges_to_the_clean_space() {
    let (expected, writes_of_a_clean_run) = {
        let clean = Fleet::start().await;
        clean.emulator.clear_requests();
        let run = create_space_from_the_example(&clean).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let writes = clean.emulator.writes().len();
        (whole_space(&clean, "America").await, writes)
    };
    assert!(writes_of_a_clean_run >= 10, "{writes_of_a_clean_run}");
    assert_eq!(expected["write_back"], "space America");

    for n in 0..writes_of_a_clean_run {
        let fleet = Fleet::start().await;
        fleet.emulator.fail_writes_after(n);
        fleet.emulator.clear_requests();
        let interrupted = create_space_from_the_example(&fleet).await;
        assert_ne!(interrupted.code, 0, "cut off after {n} writes");
        crate::support::assert_the_cut_happened(
            &fleet.emulator,
            n,
            writes_of_a_clean_run,
            &interrupted,
        );
        fleet.emulator.clear_faults();
        assert_every_fault_fired(&fleet.emulator);
        let run = create_space_from_the_example(&fleet).await;
        assert_eq!(run.code, 0, "re-run after {n} writes: {}", run.stderr);
        assert_eq!(
            whole_space(&fleet, "America").await,
            expected,
            "after a cut at write {n}"
        );
    }
}
