//! `octofleet create-space` through the real binary against the emulator.

use crate::support::tls::{tls_fixture, tls_proxy};
use crate::support::{api_get, api_put, names, Fleet, API_KEY};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_space_converges_it_and_writes_the_id_back() {
    let fleet = Fleet::start().await;
    let run = fleet.create_space("America", &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let space = fleet.space_named("America").expect("the space exists");
    let space_id = space["Id"].as_str().unwrap();
    assert_eq!(run.output_variable("SpaceId").as_deref(), Some(space_id));
    assert!(space["SpaceManagersTeams"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "teams-administrators"));

    assert_eq!(
        names(&fleet.emulator, space_id, "environments"),
        ["Development", "Production", "Test"]
    );
    let lifecycle = fleet
        .emulator
        .list(space_id, "lifecycles")
        .into_iter()
        .find(|l| l["Name"] == "Application")
        .unwrap();
    let phases: Vec<_> = lifecycle["Phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(phases, ["Development", "Test", "Production"]);
    let development = fleet
        .emulator
        .list(space_id, "environments")
        .into_iter()
        .find(|e| e["Name"] == "Development")
        .unwrap();
    assert_eq!(
        lifecycle["Phases"][0]["OptionalDeploymentTargets"],
        json!([development["Id"]])
    );
    let feed = fleet
        .emulator
        .list(space_id, "feeds")
        .into_iter()
        .find(|f| f["Name"] == "Docker Hub")
        .unwrap();
    assert_eq!(feed["FeedType"], "Docker");
    assert_eq!(feed["FeedUri"], "https://index.docker.io");
    let credential = fleet
        .emulator
        .list(space_id, "git-credentials")
        .into_iter()
        .find(|c| c["Name"] == "Git")
        .unwrap();
    assert_eq!(credential["Details"]["Username"], "octopus");
    assert_eq!(
        credential["Details"]["Password"]["NewValue"],
        json!(null),
        "never echoed"
    );
    let credential_id = credential["Id"].as_str().unwrap();
    assert_eq!(
        fleet
            .emulator
            .secret_value(space_id, credential_id, "Password")
            .as_deref(),
        Some("git-token-value-42")
    );

    // The write-back is visible through both tenant variable APIs.
    assert_eq!(
        fleet.tenant_space_id("America").await.as_deref(),
        Some(space_id)
    );
    let legacy = api_get(
        &fleet.emulator,
        &format!(
            "/api/Spaces-1/tenants/{}/variables",
            fleet.management.tenant_id("America")
        ),
    )
    .await;
    let template = fleet
        .management
        .template_id("ManagedTenant.Octopus.SpaceId");
    assert_eq!(
        legacy["LibraryVariables"][&fleet.management.library_variable_set_id]["Variables"]
            [template],
        json!(space_id)
    );
    // Europe is untouched.
    assert_eq!(
        fleet.tenant_space_id("Europe").await.as_deref(),
        Some("TBD")
    );
    assert!(
        !run.all_output().contains("git-token-value-42") && !run.all_output().contains(API_KEY)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_performs_zero_writes() {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.create_space("Europe", &[], &[]).await.code, 0);
    fleet.emulator.clear_requests();
    let run = fleet.create_space("Europe", &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "writes on re-run: {:?}",
        fleet.emulator.writes()
    );
    assert!(
        run.stderr.contains("0 created, 0 updated, 6 unchanged"),
        "{}",
        run.stderr
    );
    assert!(run.output_variable("SpaceId").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_environment_description_is_restored() {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let space_id = fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut test = fleet
        .emulator
        .list(&space_id, "environments")
        .into_iter()
        .find(|e| e["Name"] == "Test")
        .unwrap();
    let original = test["Description"].clone();
    test["Description"] = json!("edited by hand");
    api_put(
        &fleet.emulator,
        &format!(
            "/api/{space_id}/environments/{}",
            test["Id"].as_str().unwrap()
        ),
        &test,
    )
    .await;

    fleet.emulator.clear_requests();
    let run = fleet.create_space("America", &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("updated   environment `Test` (Description)"),
        "{}",
        run.stderr
    );
    let restored = fleet
        .emulator
        .list(&space_id, "environments")
        .into_iter()
        .find(|e| e["Name"] == "Test")
        .unwrap();
    assert_eq!(restored["Description"], original);
    let writes = fleet.emulator.writes();
    assert_eq!(
        writes.len(),
        1,
        "only the drifted environment is written: {writes:?}"
    );
    assert_eq!(writes[0].method, "PUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_blueprint_converges_and_is_idempotent() {
    let fleet = Fleet::start().await;
    let blueprint = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/blueprint.yaml");
    let certificate = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificates/leaf-with-key.pem"
    ))
    .unwrap();
    let secrets = [
        ("NUGET_PASSWORD", "nuget-secret-1"),
        ("DATABASE_PASSWORD", "db-secret-1"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-1"),
        ("PAYMENTS_TLS_CERTIFICATE", certificate.as_str()),
    ];
    let run = fleet
        .create_space("Europe", &["--blueprint", blueprint], &secrets)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space_id = fleet.space_named("Europe").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        names(&fleet.emulator, &space_id, "environments"),
        ["Development", "Production", "Sync", "Test"]
    );
    assert!(names(&fleet.emulator, &space_id, "projectgroups")
        .contains(&"Template Projects".to_owned()));
    assert_eq!(
        names(&fleet.emulator, &space_id, "actiontemplates"),
        ["Notify Team"]
    );
    assert!(names(&fleet.emulator, &space_id, "libraryvariablesets")
        .contains(&"Deploy Helpers".to_owned()));
    let tag_set = fleet
        .emulator
        .list(&space_id, "tagsets")
        .into_iter()
        .find(|t| t["Name"] == "Region")
        .unwrap();
    assert_eq!(tag_set["Tags"].as_array().unwrap().len(), 2);
    let set = fleet
        .emulator
        .list(&space_id, "libraryvariablesets")
        .into_iter()
        .find(|s| s["Name"] == "Shared Settings")
        .unwrap();
    assert_eq!(
        set["Templates"][0]["DisplaySettings"]["Octopus.ControlType"],
        "Select"
    );
    let variables = api_get(
        &fleet.emulator,
        &format!(
            "/api/{space_id}/variables/{}",
            set["VariableSetId"].as_str().unwrap()
        ),
    )
    .await;
    let password = variables["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["Name"] == "Database.Password")
        .unwrap();
    assert_eq!(password["Value"], json!(null));
    assert_eq!(password["IsSensitive"], json!(true));
    assert!(
        !run.all_output().contains("db-secret-1") && !run.all_output().contains("nuget-secret-1")
    );
    // The public API hides every secret (above: `Value: null`), so what each `{from_env}` sent is
    // read from the emulator's own store: the feed password, the Git credential's password and
    // the sensitive variable each hold their environment variable's value.
    let id_of = |collection: &str, name: &str| {
        crate::support::id_named(&fleet.emulator, &space_id, collection, name)
    };
    let stored = |owner: &str, name: &str| fleet.emulator.secret_value(&space_id, owner, name);
    assert_eq!(
        stored(&id_of("feeds", "Company NuGet"), "Password").as_deref(),
        Some("nuget-secret-1")
    );
    let git_password = fleet
        .step_env("Europe")
        .into_iter()
        .find(|(k, _)| k == "GIT_CREDENTIALS_PASSWORD");
    assert_eq!(
        stored(&id_of("git-credentials", "Git"), "Password"),
        git_password.map(|(_, value)| value)
    );
    assert_eq!(
        stored(set["VariableSetId"].as_str().unwrap(), "Database.Password").as_deref(),
        Some("db-secret-1")
    );
    // Accounts and certificates, and the certificate variable by the certificate's id here.
    assert_eq!(
        names(&fleet.emulator, &space_id, "accounts"),
        ["AWS Production", "Azure Production"]
    );
    let tls = fleet
        .emulator
        .list(&space_id, "certificates")
        .into_iter()
        .find(|c| c["Name"] == "Payments TLS")
        .unwrap();
    assert_eq!(tls["HasPrivateKey"], json!(true));
    let certificate_variable = variables["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["Name"] == "Payments.Certificate")
        .unwrap();
    assert_eq!(certificate_variable["Type"], "Certificate");
    assert_eq!(certificate_variable["Value"], tls["Id"]);
    assert!(!run.all_output().contains("aws-secret-1"));

    fleet.emulator.clear_requests();
    let rerun = fleet
        .create_space("Europe", &["--blueprint", blueprint], &secrets)
        .await;
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "writes on re-run: {:?}",
        fleet.emulator.writes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_one_summary() {
    let fleet = Fleet::start().await;
    let run = fleet
        .create_space("America", &["--output", "json"], &[])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(summary["space_name"], "America");
    assert_eq!(summary["space"]["action"], "created");
    assert_eq!(summary["summary"]["created"], 6);
    assert_eq!(summary["tenant_variable"], "updated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_management_inputs_there_is_no_write_back() {
    let fleet = Fleet::start().await;
    let env: Vec<(String, String)> = fleet
        .step_env("America")
        .into_iter()
        .filter(|(key, _)| {
            key.starts_with("MANAGEDTENANT_") || key == "OCTOPUS_DEPLOYMENT_TENANT_NAME"
        })
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run =
        crate::support::octofleet(&["create-space", "--space-name", "Asia Pacific"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fleet.space_named("Asia Pacific").is_some());
    assert!(fleet.space_named("America").is_none());
    assert_eq!(
        fleet.tenant_space_id("America").await.as_deref(),
        Some("TBD")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn space_managers_by_name_or_id_and_unknown_teams_are_refused() {
    let fleet = Fleet::start().await;
    let run = fleet
        .create_space(
            "America",
            &["--space-managers", "Octopus Managers, teams-administrators"],
            &[],
        )
        .await;
    let teams = crate::support::api_get(&fleet.emulator, "/api/teams").await;
    let managers_id = teams["Items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "Octopus Managers")
        .map(|t| t["Id"].clone())
        .expect("Octopus servers have the built-in Octopus Managers team");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = fleet.space_named("America").unwrap();
    let assigned = space["SpaceManagersTeams"].as_array().unwrap();
    assert!(
        assigned.contains(&managers_id) && assigned.contains(&json!("teams-administrators")),
        "{assigned:?}"
    );
    fleet.emulator.clear_requests();
    let run = fleet
        .create_space("Europe", &["--space-managers", "No Such Team"], &[])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no team `No Such Team`"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty());
    assert!(fleet.space_named("Europe").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_before_2025_2_get_the_legacy_tenant_variables_document() {
    let fleet = Fleet::start_with(octopus_emulator::EmulatorConfig {
        legacy_tenant_variables: true,
        ..Default::default()
    })
    .await;
    let run = fleet.create_space("Europe", &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space_id = fleet.space_named("Europe").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tenant = fleet.management.tenant_id("Europe");
    let legacy = api_get(
        &fleet.emulator,
        &format!("/api/Spaces-1/tenants/{tenant}/variables"),
    )
    .await;
    let template = fleet
        .management
        .template_id("ManagedTenant.Octopus.SpaceId");
    assert_eq!(
        legacy["LibraryVariables"][&fleet.management.library_variable_set_id]["Variables"]
            [template],
        json!(space_id)
    );
    let puts: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|r| r.path.ends_with("/variables") && r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one legacy PUT");
    // The sensitive API key value was sent back as "keep" and survives.
    assert_eq!(
        fleet
            .emulator
            .secret_value("Spaces-1", tenant, "ManagedTenant.Octopus.ApiKey")
            .as_deref(),
        Some(API_KEY)
    );
    fleet.emulator.clear_requests();
    assert_eq!(fleet.create_space("Europe", &[], &[]).await.code, 0);
    assert!(fleet.emulator.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubstituted_optional_inputs_and_blank_paths_count_as_unset() {
    let fleet = Fleet::start().await;
    let env = [
        ("GIT_CREDENTIALS_USERNAME", "#{Git.Credentials.Username}"),
        ("GIT_CREDENTIALS_PASSWORD", "#{Git.Credentials.Password}"),
        ("OCTOFLEET_CACERTIFICATEFILE", ""),
    ];
    let run = fleet.create_space("America", &[], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("never substituted; treating it as unset"),
        "{}",
        run.stderr
    );
    let space_id = fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        crate::support::names(&fleet.emulator, &space_id, "git-credentials").is_empty(),
        "no credential named after a placeholder"
    );
}

/// The API served over TLS with a certificate from a private CA (`fixtures/tls`, in no trust
/// store): create-space refuses it (exit 1, a certificate error, nothing written) until
/// `--ca-certificate` names the CA; then it runs to the end over HTTPS, write-back included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_over_tls_trusts_a_private_ca_only_with_ca_certificate() {
    let fleet = Fleet::start().await;
    let (https, handshakes) = tls_proxy(&fleet.emulator.url()).await;
    let over_tls = [
        ("MANAGEDTENANT_OCTOPUS_URL", https.as_str()),
        ("OCTOPUS_WEB_SERVERURI", https.as_str()),
    ];
    fleet.emulator.clear_requests();
    let refused = fleet.create_space("America", &[], &over_tls).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.to_lowercase().contains("certificate")
            && refused.stderr.contains("Octofleet.CaCertificateFile"),
        "a TLS certificate error naming the input that fixes it: {}",
        refused.stderr
    );
    assert!(
        fleet.emulator.requests().is_empty(),
        "no request got through the refused handshake: {:?}",
        fleet.emulator.requests()
    );
    assert_eq!(handshakes.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(fleet.space_named("America").is_none());

    let ca = tls_fixture("ca.pem");
    let run = fleet
        .create_space("America", &["--ca-certificate", &ca], &over_tls)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(handshakes.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let space_id = fleet.space_named("America").expect("the space exists")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(run.output_variable("SpaceId").as_deref(), Some(&*space_id));
    assert_eq!(
        fleet.tenant_space_id("America").await.as_deref(),
        Some(&*space_id),
        "the write-back went over TLS too"
    );
}
