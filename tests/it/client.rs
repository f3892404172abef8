//! The REST client against the emulator: paging, names, errors, retries, concurrency.

use crate::support::tls::{tls_fixture, tls_server};
use crate::support::{emulator, emulator_with, http_response, request_path, TinyServer, API_KEY};
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
    // Octopus compares names without case (issue 10, item 13): "europe" is the same
    // environment to the server, so it is found, the exact spelling still preferred.
    assert_eq!(
        api.find_by_name("europe").await.unwrap().unwrap().name,
        "Europe"
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
    crate::support::fault_rules::assert_every_fault_fired(&emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_never_gets_the_key() {
    let elsewhere = TinyServer::start(|_| Some(http_response("200 OK", &[], "{}"))).await;
    let target = elsewhere.url.clone();
    let server = TinyServer::start(move |head| {
        let location = format!("{target}{}", request_path(head));
        Some(http_response(
            "307 Temporary Redirect",
            &[("Location", &location)],
            "",
        ))
    })
    .await;
    let run = crate::support::octofleet(
        &["create-space", "--timeout", "60"],
        &[
            ("MANAGEDTENANT_OCTOPUS_URL", &server.url),
            ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
            ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused to follow a redirect")
            && run.stderr.contains(&elsewhere.url)
            && run.stderr.contains(&server.url),
        "names the refused redirect and both ends: {}",
        run.stderr
    );
    assert_eq!(
        elsewhere.accepted(),
        0,
        "the other origin was never contacted"
    );
    assert_eq!(server.heads().len(), 1, "a refused redirect is not retried");
    assert!(!run.all_output().contains(API_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_within_the_origin_is_followed() {
    let server = TinyServer::start(|head| {
        let path = request_path(head);
        Some(match path.strip_prefix("/old") {
            Some(rest) => http_response(
                "301 Moved Permanently",
                &[("Location", &format!("/new{rest}"))],
                "",
            ),
            None => http_response("200 OK", &[], r#"{"Id":"Spaces-1"}"#),
        })
    })
    .await;
    let client = client(&format!("{}/old/", server.url), API_KEY);
    let value: serde_json::Value = client.get("api/spaces/Spaces-1").await.unwrap();
    assert_eq!(value["Id"], "Spaces-1");
    let heads = server.heads();
    assert_eq!(request_path(&heads[1]), "/new/api/spaces/Spaces-1");
    assert!(
        heads[1].contains(API_KEY),
        "same origin: the key goes along"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_link_to_another_origin_is_refused() {
    let elsewhere = TinyServer::start(|_| Some(http_response("200 OK", &[], "{}"))).await;
    let next = format!("{}/api/Spaces-1/environments?skip=30", elsewhere.url);
    let server = TinyServer::start(move |_| {
        let page = json!({"Items": [{"Name": "Dev"}], "Links": {"Page.Next": next}});
        Some(http_response("200 OK", &[], &page.to_string()))
    })
    .await;
    let error = client(&server.url, API_KEY)
        .list_all::<serde_json::Value>(ApiRequest::get("api/Spaces-1/environments"))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("refused to follow a link") && text.contains(&elsewhere.url),
        "{text}"
    );
    assert_eq!(elsewhere.accepted(), 0);
    assert_eq!(server.heads().len(), 1, "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_times_out_is_tried_twice_a_busy_server_six_times() {
    let silent = TinyServer::start(|_| None).await;
    let busy = TinyServer::start(|_| Some(http_response("503 Service Unavailable", &[], ""))).await;
    let quick = |url: &str| {
        let mut config = ClientConfig::new(url.parse().unwrap(), Secret::new(API_KEY));
        config.read_timeout = Duration::from_millis(300);
        config.retry.base_delay = Duration::from_millis(1);
        OctopusClient::new(config).unwrap()
    };
    let error = quick(&silent.url)
        .get::<serde_json::Value>("api/spaces")
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(silent.accepted(), 2);
    let error = quick(&busy.url)
        .get::<serde_json::Value>("api/spaces")
        .await
        .unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 503);
    assert_eq!(busy.heads().len(), 6);
}

/// A company CA installed in the OS store (here: SSL_CERT_FILE, which the OS-store loader reads
/// instead of the system bundle) is trusted without --ca-certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_in_the_os_trust_store_is_trusted() {
    let url = tls_server().await;
    let ca = tls_fixture("ca.pem");
    let mut env = vec![
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ];
    env.push(("SSL_CERT_FILE", &ca));
    let run = crate::support::octofleet(&["create-space"], &env).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("reached over verified TLS"),
        "the handshake succeeded: {}",
        run.stderr
    );
}

/// An OS store that is missing, or holds nothing rustls can use, does not stop octofleet: the
/// bundled roots and --ca-certificate still apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_os_trust_store_does_not_fail_startup() {
    let url = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("broken.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let garbage = garbage.to_str().unwrap();
    let ca = tls_fixture("ca.pem");
    for store in ["/nonexistent/octofleet-ca.pem", garbage] {
        let run = crate::support::octofleet(
            &["create-space", "--ca-certificate", &ca],
            &[
                ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
                ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
                ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
                ("SSL_CERT_FILE", store),
                ("SSL_CERT_DIR", "/nonexistent"),
            ],
        )
        .await;
        assert_eq!(run.code, 1, "{store}: {}", run.stderr);
        assert!(
            run.stderr.contains("reached over verified TLS"),
            "{store}: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_is_refused_before_it_is_read() {
    // Announces 100 MB and sends none of it: the announced length alone is refused.
    let server = TinyServer::start(|_| {
        Some("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n".to_owned())
    })
    .await;
    let error = client(&server.url, API_KEY)
        .get::<serde_json::Value>("api/spaces")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("GET api/spaces: the response is larger than 64 MiB"),
        "{error}"
    );
    assert_eq!(server.heads().len(), 1, "not retried");
}

/// A server whose certificate no trusted root signed: the error says so and names the input
/// that fixes it, and the request is not retried (it would fail the same way every time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_named_with_its_input_and_not_retried() {
    let url = tls_server().await;
    let error = client(&url, API_KEY)
        .get::<serde_json::Value>("api/spaces")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("TLS certificate was not trusted")
            && text.contains("Octofleet.CaCertificateFile"),
        "{text}"
    );
    assert!(!error.is_transient(), "{text}");
}
