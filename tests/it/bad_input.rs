//! Bad input: one clear message naming the input, the right exit code, and never the API key.

use crate::support::{octofleet, Fleet, Run, API_KEY};
use std::time::{Duration, Instant};

fn assert_invalid(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "`{needle}` missing from: {}",
            run.stderr
        );
    }
    assert!(
        !run.all_output().contains(API_KEY),
        "the API key leaked: {}",
        run.all_output()
    );
    assert!(
        run.stdout.contains("##octopus[resultMessage"),
        "Octopus gets the message too"
    );
}

fn base_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("MANAGEDTENANT_OCTOPUS_URL", "http://127.0.0.1:9"),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ]
}

fn without(key: &str) -> Vec<(&'static str, &'static str)> {
    base_env().into_iter().filter(|(k, _)| *k != key).collect()
}

fn with(key: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut env = without(key);
    env.push((key, value));
    env
}

#[tokio::test]
async fn missing_url() {
    let run = octofleet(&["create-space"], &without("MANAGEDTENANT_OCTOPUS_URL")).await;
    assert_invalid(
        &run,
        &[
            "ManagedTenant.Octopus.Url",
            "MANAGEDTENANT_OCTOPUS_URL",
            "--url",
            "missing",
        ],
    );
}

#[tokio::test]
async fn malformed_url() {
    let run = octofleet(
        &["create-space"],
        &with("MANAGEDTENANT_OCTOPUS_URL", "octopus.example.com"),
    )
    .await;
    assert_invalid(&run, &["ManagedTenant.Octopus.Url", "not a valid URL"]);
    let run = octofleet(
        &["create-space"],
        &with("MANAGEDTENANT_OCTOPUS_URL", "#{ManagedTenant.Octopus.Url}"),
    )
    .await;
    assert_invalid(&run, &["never substituted"]);
}

#[tokio::test]
async fn missing_and_malformed_api_key() {
    let run = octofleet(&["create-space"], &without("MANAGEDTENANT_OCTOPUS_APIKEY")).await;
    assert_invalid(
        &run,
        &[
            "ManagedTenant.Octopus.ApiKey",
            "MANAGEDTENANT_OCTOPUS_APIKEY",
            "--api-key",
        ],
    );
    let run = octofleet(
        &["create-space"],
        &with("MANAGEDTENANT_OCTOPUS_APIKEY", "hunter2-not-a-key"),
    )
    .await;
    assert_invalid(&run, &["ManagedTenant.Octopus.ApiKey", "API-"]);
    assert!(!run.all_output().contains("hunter2-not-a-key"));
}

#[tokio::test]
async fn all_problems_are_reported_together() {
    let run = octofleet(&["create-space"], &[]).await;
    assert_invalid(
        &run,
        &[
            "3 problems",
            "ManagedTenant.Octopus.Url",
            "ManagedTenant.Octopus.ApiKey",
            "Octopus.Deployment.Tenant.Name",
        ],
    );
}

#[tokio::test]
async fn the_dotted_octopus_name_is_accepted_from_the_environment() {
    let env = [
        ("ManagedTenant.Octopus.Url", "not a url"),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "A"),
    ];
    let run = octofleet(&["create-space"], &env).await;
    assert_invalid(&run, &["not a valid URL"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_key_is_a_clear_401() {
    let fleet = Fleet::start().await;
    let url = fleet.emulator.url();
    let wrong = "API-WRONG0000000000000000000000";
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", wrong),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ];
    let run = octofleet(&["create-space"], &env).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("401") && run.stderr.contains("You must be logged in"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("API key"), "{}", run.stderr);
    assert!(!run.all_output().contains(wrong));
    assert_eq!(
        run.stderr.matches("error:").count(),
        1,
        "the error is printed once: {}",
        run.stderr
    );
}

#[tokio::test]
async fn unreachable_host_fails_fast() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ];
    let started = Instant::now();
    let run = octofleet(&["create-space"], &env).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(!run.all_output().contains(API_KEY));
}

fn blueprint_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

async fn with_blueprint(path: &str, extra: &[(&'static str, &'static str)]) -> Run {
    let mut env = base_env();
    env.extend_from_slice(extra);
    octofleet(&["create-space", "--blueprint", path], &env).await
}

#[tokio::test]
async fn blueprint_missing() {
    let run = with_blueprint("/nonexistent/blueprint.yaml", &[]).await;
    assert_invalid(
        &run,
        &[
            "Octofleet.Blueprint",
            "--blueprint",
            "/nonexistent/blueprint.yaml",
        ],
    );
}

#[tokio::test]
async fn blueprint_invalid_yaml() {
    let file = blueprint_file("environments: [\n  - name: Dev\n");
    let run = with_blueprint(file.path().to_str().unwrap(), &[]).await;
    assert_invalid(&run, &["Octofleet.Blueprint", "line"]);
}

#[tokio::test]
async fn blueprint_unknown_field() {
    let file = blueprint_file("environments:\n  - name: Dev\n    colour: red\n");
    let run = with_blueprint(file.path().to_str().unwrap(), &[]).await;
    assert_invalid(&run, &["environments[0]", "unknown field `colour`"]);
}

#[tokio::test]
async fn blueprint_unknown_feed_type() {
    let file = blueprint_file(
        "feeds:\n  - name: Artifacts\n    type: artifactory\n    feed_uri: https://a.example.com\n",
    );
    let run = with_blueprint(file.path().to_str().unwrap(), &[]).await;
    assert_invalid(&run, &["feeds[0].type", "artifactory", "docker"]);
}

#[tokio::test]
async fn blueprint_secret_env_var_unset() {
    let file = blueprint_file("git_credentials:\n  - name: Git\n    username: u\n    password: {from_env: OCTOFLEET_TEST_UNSET_SECRET}\n");
    let run = with_blueprint(file.path().to_str().unwrap(), &[]).await;
    assert_invalid(&run, &["OCTOFLEET_TEST_UNSET_SECRET", "not set"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blueprint_referring_to_an_unknown_environment_writes_nothing() {
    let fleet = Fleet::start().await;
    let file = blueprint_file("lifecycles:\n  - name: L\n    phases:\n      - {name: P, optional_deployment_targets: [Nowhere]}\n");
    let mut env: Vec<(String, String)> = fleet.step_env("America");
    env.retain(|(k, _)| k.starts_with("MANAGEDTENANT_") || k == "OCTOPUS_DEPLOYMENT_TENANT_NAME");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The space exists already, so the only writes would be the blueprint's.
    assert_eq!(octofleet(&["create-space"], &env).await.code, 0);
    fleet.emulator.clear_requests();
    let run = octofleet(
        &["create-space", "--blueprint", file.path().to_str().unwrap()],
        &env,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("environment `Nowhere`"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty());
}

#[tokio::test]
async fn help_shows_octopus_names_and_aliases_but_not_secret_values() {
    let env = [("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY)];
    let run = octofleet(&["create-space", "--help"], &env).await;
    assert_eq!(run.code, 0);
    for needle in [
        "ManagedTenant.Octopus.Url",
        "MANAGEDTENANT_OCTOPUS_URL",
        "Octopus.Deployment.Tenant.Name",
        "OCTOPUS_DEPLOYMENT_TENANT_NAME",
        "Management.Octopus.ApiKey",
    ] {
        assert!(run.stdout.contains(needle), "{needle} missing from help");
    }
    assert!(!run.stdout.contains(API_KEY));
}

#[tokio::test]
async fn ca_certificate_missing_or_not_pem() {
    let mut env = base_env();
    env.push(("OCTOFLEET_CACERTIFICATEFILE", "/nonexistent/ca.pem"));
    let run = octofleet(&["create-space"], &env).await;
    assert_invalid(
        &run,
        &[
            "Octofleet.CaCertificateFile",
            "--ca-certificate",
            "/nonexistent/ca.pem",
        ],
    );

    let not_pem = blueprint_file("this is not a certificate\n");
    let run = octofleet(
        &[
            "create-space",
            "--ca-certificate",
            not_pem.path().to_str().unwrap(),
        ],
        &base_env(),
    )
    .await;
    assert_invalid(&run, &["no usable PEM certificate"]);
}
