//! References travel by name (issue 22): a template project whose worker pool, account and
//! certificate variables and whose Azure step refer to shared resources by id is serialized,
//! then deployed into managed spaces whose same-named resources have other ids. Everything is
//! read back through the emulator, never from octofleet's own output.

use crate::support::packages::{extract, run_on_package, serialize_package};
use crate::support::{Fleet, Run};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::{json, Value};
use std::path::Path;

const PROJECT: &str = "Cloud App";

fn certificate_data(file: &str) -> String {
    use base64::Engine;
    let path = format!(
        "{}/tests/fixtures/certificates/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(path).unwrap())
}

/// The shared resources the template project refers to, created in `space`; returns their ids
/// by name.
fn seed_shared(fleet: &Fleet, space: &str, skip: &[&str]) -> Value {
    let emulator = &fleet.emulator;
    let mut ids = json!({});
    let mut add = |collection: &str, doc: Value| {
        let name = doc["Name"].as_str().unwrap().to_owned();
        if skip.contains(&name.as_str()) {
            return;
        }
        let created = emulator.seed(space, collection, doc);
        ids[name] = created["Id"].clone();
    };
    add(
        "workerpools",
        json!({"Name": "Linux Workers", "WorkerPoolType": "StaticWorkerPool"}),
    );
    add(
        "accounts",
        json!({"Name": "AWS Production", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AKIAEXAMPLE",
               "SecretKey": {"HasValue": true, "NewValue": "aws-secret-key"}}),
    );
    add(
        "accounts",
        json!({"Name": "Azure Production", "AccountType": "AzureServicePrincipal",
               "SubscriptionNumber": "2b1d7c2e-0000-4000-8000-000000000001", "ClientId": "2b1d7c2e-0000-4000-8000-000000000002",
               "TenantId": "2b1d7c2e-0000-4000-8000-000000000003", "Password": {"HasValue": true, "NewValue": "azure-secret"}}),
    );
    add(
        "certificates",
        json!({"Name": "Payments TLS", "CertificateData": {"HasValue": true, "NewValue": certificate_data("leaf.pem")}}),
    );
    ids
}

/// Decoys first, so the managed space's same-named resources get other ids than the template's
/// (and other ids than its own seeding order would give).
fn seed_decoys(fleet: &Fleet, space: &str) {
    let emulator = &fleet.emulator;
    emulator.seed(
        space,
        "workerpools",
        json!({"Name": "Decoy Workers", "WorkerPoolType": "StaticWorkerPool"}),
    );
    emulator.seed(
        space,
        "accounts",
        json!({"Name": "Decoy Token", "AccountType": "Token", "Token": {"HasValue": true, "NewValue": "decoy"}}),
    );
    emulator.seed(
        space,
        "certificates",
        json!({"Name": "Decoy CA", "CertificateData": {"HasValue": true, "NewValue": certificate_data("ca.pem")}}),
    );
}

/// The template project: typed variables holding ids, and an Azure step whose account is set by id.
fn seed_template(fleet: &Fleet, ids: &Value) -> String {
    let emulator = &fleet.emulator;
    let space = MANAGEMENT_SPACE;
    let named = |collection: &str, name: &str| -> String {
        emulator
            .list(space, collection)
            .into_iter()
            .find(|item| item["Name"] == name)
            .unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let project = emulator.seed(
        space,
        "projects",
        json!({"Name": PROJECT, "LifecycleId": named("lifecycles", "Default Lifecycle"),
               "ProjectGroupId": named("projectgroups", "Default Project Group")}),
    );
    let project_id = project["Id"].as_str().unwrap().to_owned();
    emulator.seed_process(
        space,
        project["DeploymentProcessId"].as_str().unwrap(),
        json!([{
            "Name": "Run Azure script",
            "Properties": {},
            "Actions": [{
                "Name": "Run Azure script", "ActionType": "Octopus.AzurePowerShell",
                "WorkerPoolVariable": "Deploy.WorkerPool",
                "Properties": {
                    "Octopus.Action.Azure.AccountId": ids["Azure Production"],
                    "Octopus.Action.Script.ScriptSource": "Inline",
                    "Octopus.Action.Script.ScriptBody": "Get-AzResourceGroup"
                }
            }]
        }]),
    );
    emulator.seed_variables(
        space,
        &project_id,
        json!([
            {"Name": "Deploy.WorkerPool", "Value": ids["Linux Workers"], "Type": "WorkerPool", "Scope": {}},
            {"Name": "AWS.Account", "Value": ids["AWS Production"], "Type": "AmazonWebServicesAccount", "Scope": {}},
            {"Name": "Payments.Certificate", "Value": ids["Payments TLS"], "Type": "Certificate", "Scope": {}}
        ]),
    );
    project_id
}

/// Serialize the template project (no push) into a directory, as deploy's `--package-dir` reads it.
async fn serialize_to_dir(fleet: &Fleet) -> (Run, Option<tempfile::TempDir>) {
    match serialize_package(fleet, MANAGEMENT_SPACE, PROJECT, &[]).await {
        Ok(package) => (
            Run {
                code: 0,
                stdout: String::new(),
                stderr: String::new(),
            },
            Some(extract(&package)),
        ),
        Err(run) => (run, None),
    }
}

/// The value of variable `name` in the variable set of `owner` (a project or a library variable
/// set) as the server returns it.
fn value_in(fleet: &Fleet, space: &str, owner: &Value, name: &str) -> Value {
    let set = fleet
        .emulator
        .get(space, "variables", owner["VariableSetId"].as_str().unwrap())
        .unwrap();
    set["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["Name"] == name)
        .unwrap_or_else(|| panic!("no variable {name}: {set}"))["Value"]
        .clone()
}

async fn run_in(fleet: &Fleet, action: &str, tenant: &str, dir: &Path) -> Run {
    run_on_package(fleet, action, tenant, dir, &[]).await
}

fn space_of(fleet: &Fleet, tenant: &str) -> String {
    fleet.space_named(tenant).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn project_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("project.json")).unwrap()).unwrap()
}

/// The Done-when of issue 22: names in the package, the managed space's ids downstream (read
/// back through the emulator), a plan with nothing to do, and the Terraform module looking each
/// one up by name.
#[tokio::test]
async fn references_point_at_the_same_named_resources_downstream() {
    let fleet = Fleet::start().await;
    let upstream = seed_shared(&fleet, MANAGEMENT_SPACE, &[]);
    seed_template(&fleet, &upstream);
    let (run, dir) = serialize_to_dir(&fleet).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = dir.unwrap();

    // The package names them, with their kind.
    let project = project_json(dir.path());
    assert_eq!(project["format_version"], 2);
    let value = |name: &str| {
        project["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value("Deploy.WorkerPool"), "Linux Workers");
    assert_eq!(value("AWS.Account"), "AWS Production");
    assert_eq!(value("Payments.Certificate"), "Payments TLS");
    assert_eq!(
        project["deployment_process"]["steps"][0]["actions"][0]["properties"]
            ["Octopus.Action.Azure.AccountId"],
        json!({"kind": "Account", "name": "Azure Production"})
    );
    let text = std::fs::read_to_string(dir.path().join("project.json")).unwrap();
    for id in upstream.as_object().unwrap().values() {
        assert!(!text.contains(id.as_str().unwrap()), "{id} left in {text}");
    }

    // The Terraform module looks each one up by name, as octoterra does.
    let module = std::fs::read_dir(dir.path().join("terraform"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for lookup in [
        r#"data "octopusdeploy_accounts" "account_azure_production""#,
        r#"data "octopusdeploy_accounts" "account_aws_production""#,
        r#"data "octopusdeploy_certificates" "certificate_payments_tls""#,
        r#"data "octopusdeploy_worker_pools" "workerpool_linux_workers""#,
    ] {
        assert!(module.contains(lookup), "{lookup} not in\n{module}");
    }
    let account_property = module
        .lines()
        .find(|line| line.contains(r#""Octopus.Action.Azure.AccountId""#))
        .unwrap();
    assert!(
        account_property.ends_with(r#"= "${[for r in data.octopusdeploy_accounts.account_azure_production.accounts : r.id if r.name == "Azure Production"][0]}""#),
        "{account_property}"
    );

    // A managed space holding same-named resources under other ids.
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let america = space_of(&fleet, "America");
    seed_decoys(&fleet, &america);
    let downstream = seed_shared(&fleet, &america, &[]);
    for (name, id) in downstream.as_object().unwrap() {
        assert_ne!(&upstream[name], id, "{name} has the template's id");
    }

    let deploy = run_in(&fleet, "deploy", "America", dir.path()).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);

    // As the server returns them.
    let project = fleet.project_named(&america, PROJECT);
    let stored = |name: &str| value_in(&fleet, &america, &project, name);
    assert_eq!(stored("Deploy.WorkerPool"), downstream["Linux Workers"]);
    assert_eq!(stored("AWS.Account"), downstream["AWS Production"]);
    assert_eq!(stored("Payments.Certificate"), downstream["Payments TLS"]);
    let process = crate::support::api_get(
        &fleet.emulator,
        &format!(
            "/api/{america}/deploymentprocesses/{}",
            project["DeploymentProcessId"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        process["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Azure.AccountId"],
        downstream["Azure Production"]
    );

    // Nothing left to do.
    let plan = run_in(&fleet, "plan", "America", dir.path()).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// One of them missing downstream: deploy refuses with exit 2, names it, and writes nothing
/// (the request log has no POST, PUT or DELETE).
#[tokio::test]
async fn a_missing_reference_is_refused_before_any_write() {
    let fleet = Fleet::start().await;
    let upstream = seed_shared(&fleet, MANAGEMENT_SPACE, &[]);
    seed_template(&fleet, &upstream);
    let (run, dir) = serialize_to_dir(&fleet).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = dir.unwrap();
    assert_eq!(fleet.create_space("Europe", &[], &[]).await.code, 0);
    let europe = space_of(&fleet, "Europe");
    seed_shared(&fleet, &europe, &["Payments TLS", "Azure Production"]);

    fleet.emulator.clear_requests();
    let deploy = run_in(&fleet, "deploy", "Europe", dir.path()).await;
    assert_eq!(deploy.code, 2, "{}", deploy.stderr);
    for named in ["certificate `Payments TLS`", "account `Azure Production`"] {
        assert!(deploy.stderr.contains(named), "{named}: {}", deploy.stderr);
    }
    let writes: Vec<_> = fleet
        .emulator
        .requests()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "DELETE"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(fleet
        .emulator
        .list(&europe, "projects")
        .iter()
        .all(|p| p["Name"] != PROJECT));

    let plan = run_in(&fleet, "plan", "Europe", dir.path()).await;
    assert_eq!(plan.code, 2, "{}", plan.stderr);
}

/// An id the conversion cannot name is a serialize error naming the field (exit 2): a step
/// property pointing at a deleted account, and a text variable holding an account's id.
#[tokio::test]
async fn serialize_refuses_ids_it_cannot_name() {
    let fleet = Fleet::start().await;
    let upstream = seed_shared(&fleet, MANAGEMENT_SPACE, &[]);
    let project_id = seed_template(&fleet, &upstream);
    let process_id = fleet.project_named(MANAGEMENT_SPACE, PROJECT)["DeploymentProcessId"]
        .as_str()
        .unwrap()
        .to_owned();
    fleet.emulator.seed_process(
        MANAGEMENT_SPACE,
        &process_id,
        json!([{
            "Name": "Run Azure script",
            "Properties": {},
            "Actions": [{
                "Name": "Run Azure script", "ActionType": "Octopus.AzurePowerShell",
                "Properties": {"Octopus.Action.Azure.AccountId": "Accounts-999"}
            }]
        }]),
    );
    fleet.emulator.seed_variables(
        MANAGEMENT_SPACE,
        &project_id,
        json!([{"Name": "Token.Account", "Value": upstream["AWS Production"], "Type": "String", "Scope": {}}]),
    );
    let (run, dir) = serialize_to_dir(&fleet).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(dir.is_none());
    for expected in [
        "step `Run Azure script`, action `Run Azure script`, property `Octopus.Action.Azure.AccountId` holds `Accounts-999`",
        "no account of the template's space has this id",
        "variable `Token.Account` (String) value holds",
        "the account `AWS Production` by id",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
}

/// create-space's blueprint gives a managed space the accounts and certificates the projects
/// refer to: created with their secrets (held by the server, never echoed), a second run writes
/// nothing, a drifted field is written back with the secrets, an account of another type under
/// the name is refused before any write; and the template project then deploys into that space.
#[tokio::test]
async fn the_blueprint_gives_a_managed_space_its_accounts_and_certificates() {
    let fleet = Fleet::start().await;
    let upstream = seed_shared(&fleet, MANAGEMENT_SPACE, &[]);
    seed_template(&fleet, &upstream);
    let america = fleet.emulator.seed_space("America")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    seed_decoys(&fleet, &america);
    fleet.emulator.seed(
        &america,
        "workerpools",
        json!({"Name": "Linux Workers", "WorkerPoolType": "StaticWorkerPool"}),
    );
    let blueprint_dir = tempfile::tempdir().unwrap();
    let blueprint = blueprint_dir.path().join("blueprint.yaml");
    std::fs::write(
        &blueprint,
        r#"
environments: [{name: Production}]
accounts:
  - name: AWS Production
    type: aws
    description: Production AWS.
    access_key: AKIAEXAMPLE
    secret_key: {from_env: AWS_SECRET}
  - name: Azure Production
    type: azure_service_principal
    subscription_number: 2b1d7c2e-0000-4000-8000-000000000001
    client_id: 2b1d7c2e-0000-4000-8000-000000000002
    tenant_id: 2b1d7c2e-0000-4000-8000-000000000003
    password: {from_env: AZURE_SECRET}
    environments: [Production]
certificates:
  - name: Payments TLS
    data: {from_env: TLS_PFX}
    password: {from_env: TLS_PASSWORD}
library_variable_sets:
  - name: Shared
    variables:
      - {name: Shared.Pool, type: worker_pool, value: Linux Workers}
      - {name: Shared.Aws, type: aws_account, value: AWS Production}
"#,
    )
    .unwrap();
    let pfx = certificate_data("leaf-chain-aes.pfx");
    let secrets = [
        ("AWS_SECRET", "aws-secret-from-env"),
        ("AZURE_SECRET", "azure-secret-from-env"),
        ("TLS_PFX", pfx.as_str()),
        ("TLS_PASSWORD", "pfx-password"),
    ];
    let args = ["--blueprint", blueprint.to_str().unwrap()];
    let run = fleet.create_space("America", &args, &secrets).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for secret in [
        "aws-secret-from-env",
        "azure-secret-from-env",
        "pfx-password",
    ] {
        assert!(!run.all_output().contains(secret), "{secret} echoed");
    }
    let named = |collection: &str, name: &str| {
        fleet
            .emulator
            .list(&america, collection)
            .into_iter()
            .find(|item| item["Name"] == name)
            .unwrap_or_else(|| panic!("no {collection} {name}"))
    };
    let aws = named("accounts", "AWS Production");
    let azure = named("accounts", "Azure Production");
    let tls = named("certificates", "Payments TLS");
    assert_eq!(aws["AccountType"], "AmazonWebServicesAccount");
    assert_eq!(
        azure["EnvironmentIds"],
        json!([named("environments", "Production")["Id"]])
    );
    assert_eq!(
        tls["Thumbprint"],
        "5BFE69D1BD88F48FE3D6649504C5F73920CC21EB"
    );
    let held = |id: &Value, field: &str| {
        fleet
            .emulator
            .secret_value(&america, id.as_str().unwrap(), field)
    };
    assert_eq!(
        held(&aws["Id"], "SecretKey").as_deref(),
        Some("aws-secret-from-env")
    );
    assert_eq!(
        held(&azure["Id"], "Password").as_deref(),
        Some("azure-secret-from-env")
    );
    let set = named("libraryvariablesets", "Shared");
    let value = |name: &str| value_in(&fleet, &america, &set, name);
    assert_eq!(
        value("Shared.Pool"),
        named("workerpools", "Linux Workers")["Id"]
    );
    assert_eq!(value("Shared.Aws"), aws["Id"]);

    // A second run writes nothing (the held secrets are not compared).
    fleet.emulator.clear_requests();
    let rerun = fleet.create_space("America", &args, &secrets).await;
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );

    // Drift: the description is written back, and the secret goes with it (it cannot be compared).
    fleet.emulator.seed_update(
        &america,
        "accounts",
        aws["Id"].as_str().unwrap(),
        json!({"Description": "edited by hand"}),
    );
    let rotated = [
        ("AWS_SECRET", "aws-secret-rotated"),
        secrets[1],
        secrets[2],
        secrets[3],
    ];
    fleet.emulator.clear_requests();
    let converge = fleet.create_space("America", &args, &rotated).await;
    assert_eq!(converge.code, 0, "{}", converge.stderr);
    let writes = fleet.emulator.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        named("accounts", "AWS Production")["Description"],
        "Production AWS."
    );
    assert_eq!(
        held(&aws["Id"], "SecretKey").as_deref(),
        Some("aws-secret-rotated")
    );

    // The template project deploys into this space, every reference by the space's own ids.
    let (run, dir) = serialize_to_dir(&fleet).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let deploy = run_in(&fleet, "deploy", "America", dir.unwrap().path()).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);

    // An account of another type under a blueprint's name: refused, nothing written.
    let conflicting = blueprint_dir.path().join("conflict.yaml");
    std::fs::write(
        &conflicting,
        "accounts:\n  - {name: AWS Production, type: token, token: {from_env: AWS_SECRET}}\n",
    )
    .unwrap();
    fleet.emulator.clear_requests();
    let refused = fleet
        .create_space(
            "America",
            &["--blueprint", conflicting.to_str().unwrap()],
            &secrets,
        )
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("account `AWS Production` is of type AmazonWebServicesAccount"),
        "{}",
        refused.stderr
    );
    assert!(fleet.emulator.writes().is_empty());
}
