//! Platform Hub process templates (issue 18, item 9): a template project's step of type
//! `Octopus.ProcessTemplate` (the provider's docs/resources/process.md and
//! `resource-process-template-usage.tf`) travels in the package by slug and version mask with
//! the parameters the project set; deploy and plan refuse, before any write and with exit 2, a
//! template the target space cannot use (not shared with it, not on that instance, no version at
//! the mask), naming it.

use crate::support::harness::{octofleet, Fleet, Run, API_KEY};
use crate::support::packages::{extract, serialize_package, substitute_every_secret};
use crate::support::two_servers::TwoServers;
use octofleet_sandbox::seed_template_projects;
use serde_json::{json, Value};
use std::path::Path;

const SLUG: &str = "deploy-process-microservice-template";

/// The provider example's usage step, with parameters of each kind it shows.
fn usage_step() -> Value {
    json!({
        "Name": "Run process template - microservice template",
        "Actions": [{
            "Name": "Run process template - microservice template",
            "ActionType": "Octopus.ProcessTemplate",
            "Packages": [{"Name": "db-package", "PackageId": "myservice-db", "FeedId": "feeds-builtin",
                          "AcquisitionLocation": "", "Properties": {"PackageParameterName": "db-package", "SelectionMode": "deferred"}}],
            "Properties": {
                "Octopus.Action.ProcessTemplate.Reference.Slug": SLUG,
                "Octopus.Action.ProcessTemplate.Reference.VersionMask": "1.X",
                "email-subject": "Deployment succeeded",
                "db-connection-string": "#{Project.DatabaseConnectionString}",
                "db-package": "{\"PackageId\":\"myservice-db\",\"FeedId\":\"feeds-builtin\"}"
            }
        }]
    })
}

/// Add the usage step to the process of `project` in `space` of `emulator`.
fn add_usage_step(emulator: &octopus_emulator::Emulator, space: &str, project: &str) {
    let project = emulator
        .list(space, "projects")
        .into_iter()
        .find(|p| p["Name"] == project)
        .unwrap();
    let process_id = project["DeploymentProcessId"].as_str().unwrap();
    let process = emulator
        .get(space, "deploymentprocesses", process_id)
        .unwrap();
    let mut steps = process["Steps"].as_array().unwrap().clone();
    steps.push(usage_step());
    emulator.seed_process(space, process_id, Value::Array(steps));
}

fn america(fleet: &Fleet) -> String {
    fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn run(fleet: &Fleet, action: &str, dir: &Path) -> Run {
    let url = fleet.emulator.url();
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ];
    octofleet(&[action, "--package-dir", dir.to_str().unwrap()], &env).await
}

/// The package's secrets.json substituted, as Octopus leaves it in the `Sync` environment.
fn substitute_secrets(dir: &Path) {
    substitute_every_secret(dir, "s3cret");
}

fn usage_action(project_json: &Value) -> Value {
    project_json["deployment_process"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap().iter())
        .find(|a| a["action_type"] == "Octopus.ProcessTemplate")
        .cloned()
        .expect("the usage step travels")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_template_travels_by_slug_and_deploys_only_where_shared() {
    let fleet = Fleet::start().await;
    seed_template_projects(
        &fleet.emulator,
        &fleet.management,
        "https://git.example.com/o/r.git",
    );
    add_usage_step(&fleet.emulator, "Spaces-1", "Hello World");
    fleet.emulator.seed_process_template(
        SLUG,
        "Microservice",
        &["1.0.0", "1.2.0"],
        false,
        &["Spaces-1"],
    );
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let space = america(&fleet);

    let package = serialize_package(&fleet, "Spaces-1", "Hello World", &[])
        .await
        .unwrap_or_else(|run| panic!("serialize: {}", run.stderr));
    let dir = extract(&package);
    substitute_secrets(dir.path());
    let path = dir.path().join("project.json");
    let project: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let action = usage_action(&project);
    assert_eq!(
        action["properties"]["Octopus.Action.ProcessTemplate.Reference.Slug"],
        SLUG
    );
    assert_eq!(
        action["properties"]["Octopus.Action.ProcessTemplate.Reference.VersionMask"],
        "1.X"
    );
    assert_eq!(
        action["properties"]["email-subject"],
        "Deployment succeeded"
    );
    assert_eq!(action["packages"][0]["name"], "db-package");

    // Not shared with America: refused before any write, by deploy and plan alike.
    for action in ["deploy", "plan"] {
        fleet.emulator.clear_requests();
        let refused = run(&fleet, action, dir.path()).await;
        assert_eq!(refused.code, 2, "{action}: {}", refused.all_output());
        assert!(
            refused.stderr.contains(SLUG)
                && refused
                    .stderr
                    .contains(&format!("not shared with space {space}")),
            "{action}: {}",
            refused.stderr
        );
        assert!(
            fleet.emulator.writes().is_empty(),
            "{action} wrote: {:?}",
            fleet.emulator.writes()
        );
    }

    // Shared with it: the deploy writes the usage step as the package holds it.
    fleet.emulator.seed_process_template(
        SLUG,
        "Microservice",
        &["1.0.0", "1.2.0"],
        false,
        &["Spaces-1", &space],
    );
    let deployed = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(deployed.code, 0, "{}", deployed.all_output());
    let downstream = fleet.project_named(&space, "Hello World");
    let process = fleet
        .emulator
        .get(
            &space,
            "deploymentprocesses",
            downstream["DeploymentProcessId"].as_str().unwrap(),
        )
        .unwrap();
    let step = process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Actions"][0]["ActionType"] == "Octopus.ProcessTemplate")
        .expect("the usage step was deployed");
    assert_eq!(
        step["Actions"][0]["Properties"]["Octopus.Action.ProcessTemplate.Reference.Slug"],
        SLUG
    );
    let again = run(&fleet, "plan", dir.path()).await;
    assert_eq!(again.code, 0, "{}", again.all_output());

    // A mask no published version matches.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"1.X\"", "\"3.X\"")).unwrap();
    let refused = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(refused.code, 2, "{}", refused.all_output());
    assert!(refused.stderr.contains("`3.X`"), "{}", refused.stderr);
}

/// On a managed instance (another server) the same check names the template that instance
/// lacks, though the management instance shares it with every space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_without_the_template_is_refused_naming_it() {
    let servers = TwoServers::start().await;
    seed_template_projects(
        &servers.management,
        &servers.space,
        "https://git.example.com/o/r.git",
    );
    let management_space = servers.space.space_id.clone();
    add_usage_step(&servers.management, &management_space, "Hello World");
    servers
        .management
        .seed_process_template(SLUG, "Microservice", &["1.0.0"], true, &[]);
    let created = servers.run("America", &["create-space"], &[]).await;
    assert_eq!(created.code, 0, "{}", created.all_output());
    let out = tempfile::tempdir().unwrap();
    let serialized = servers
        .run(
            "America",
            &[
                "serialize",
                "--package-version",
                "1.0.0",
                "--output-dir",
                out.path().to_str().unwrap(),
            ],
            &[("OCTOPUS_PROJECT_NAME", "Hello World")],
        )
        .await;
    assert_eq!(serialized.code, 0, "{}", serialized.all_output());
    let dir = extract(&std::fs::read(out.path().join("Hello_World.1.0.0.zip")).unwrap());
    substitute_secrets(dir.path());
    let package_dir = dir.path().to_str().unwrap().to_owned();
    servers.managed.clear_requests();
    let refused = servers
        .run("America", &["deploy", "--package-dir", &package_dir], &[])
        .await;
    assert_eq!(refused.code, 2, "{}", refused.all_output());
    assert!(
        refused.stderr.contains(SLUG) && refused.stderr.contains("this Octopus instance has none"),
        "{}",
        refused.stderr
    );
    assert!(servers.managed.writes().is_empty());

    servers
        .managed
        .seed_process_template(SLUG, "Microservice", &["1.0.0"], true, &[]);
    let deployed = servers
        .run("America", &["deploy", "--package-dir", &package_dir], &[])
        .await;
    assert_eq!(deployed.code, 0, "{}", deployed.all_output());
}
