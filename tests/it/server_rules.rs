//! Rules of a real Octopus server that deploy and plan must live with (issue 10), checked against
//! the emulator, which reproduces each rule with its source: what the server rewrites in an
//! action's `Properties` on save (a deploy must compare after the same rewrites, or every
//! re-deploy writes and every plan exits 3), names compared without case, a missing permission's
//! 403, one repository per Config-as-Code project, and automatic release creation.

use crate::support::harness::{octofleet, Fleet, Run, API_KEY};
use crate::support::packages::{extract, serialize_package, substitute_every_secret};
use octofleet_sandbox::seed_template_projects;
use serde_json::{json, Value};
use std::path::Path;

/// Hello World serialized from the management space, extracted into a directory.
async fn hello_world_package(fleet: &Fleet) -> tempfile::TempDir {
    package_of(fleet, "Hello World").await
}

/// `project` serialized from the management space, extracted into a directory.
async fn package_of(fleet: &Fleet, project: &str) -> tempfile::TempDir {
    let package = serialize_package(fleet, "Spaces-1", project, &[])
        .await
        .unwrap_or_else(|run| panic!("serialize: {}", run.stderr));
    extract(&package)
}

fn step(name: &str, action_type: &str, properties: Value, packages: Value) -> Value {
    json!({
        "name": name, "package_requirement": "LetOctopusDecide", "condition": "Success",
        "start_trigger": "StartAfterPrevious",
        "actions": [{"name": name, "action_type": action_type, "properties": properties, "packages": packages}]
    })
}

/// Steps as an upstream server, or a person editing project.json, may write them: values the
/// target server stores differently.
fn with_steps_a_server_rewrites(dir: &Path) {
    let path = dir.join("project.json");
    let mut project: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let steps = project["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap();
    // "True" is stored as "true".
    steps[0]["actions"][0]["properties"]["Octopus.Action.RunOnServer"] = json!("True");
    steps.push(step(
        "Approve",
        "Octopus.Manual",
        // A manual intervention only runs on the server: stored "true".
        json!({"Octopus.Action.RunOnServer": "false", "Octopus.Action.Manual.Instructions": "Approve?"}),
        json!([]),
    ));
    // A step that runs inside a container gets OctopusUseBundledTooling "False", whatever its
    // type (the provider's acceptance test uses an Octopus.Script step)...
    let mut in_container = step(
        "Script in a container",
        "Octopus.Script",
        json!({"Octopus.Action.Script.ScriptBody": "echo hi", "Octopus.Action.Script.Syntax": "Bash"}),
        json!([]),
    );
    in_container["actions"][0]["container"] = json!({"image": "octopusdeploy/worker-tools:latest"});
    steps.push(in_container);
    // ...and one that does not, of a type octoterra's list names, gets nothing.
    steps.push(step(
        "Apply manifests",
        "Octopus.KubernetesDeployRawYaml",
        json!({"Octopus.Action.KubernetesContainers.CustomResourceYaml": "kind: ConfigMap"}),
        json!([]),
    ));
    steps.push(step(
        "Deploy package",
        "Octopus.TentaclePackage",
        // The package mirror keys are filled in from the primary package.
        json!({}),
        json!([{"name": "", "package_id": "hello-world", "feed": "Octopus Server (built-in)",
                "acquisition_location": "Server", "properties": {"SelectionMode": "immediate"}}]),
    ));
    std::fs::write(&path, serde_json::to_string_pretty(&project).unwrap()).unwrap();
    with_substituted_secrets(dir);
}

/// As Octopus's file substitution leaves secrets.json in the Sync environment.
fn with_substituted_secrets(dir: &Path) {
    substitute_every_secret(dir, "s3cret");
}

/// America's space id and its project named `name`, as the server holds them.
fn america_project(fleet: &Fleet, name: &str) -> (String, Value) {
    let space = fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = fleet.project_named(&space, name);
    (space, project)
}

async fn run(fleet: &Fleet, action: &str, dir: &Path) -> Run {
    run_with(fleet, action, dir, &[]).await
}

async fn run_with(fleet: &Fleet, action: &str, dir: &Path, extra: &[&str]) -> Run {
    let url = fleet.emulator.url();
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America"),
    ];
    let mut args = vec![action, "--package-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    octofleet(&args, &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_after_the_servers_rewrites_writes_nothing_and_plan_is_clean() {
    let fleet = Fleet::start().await;
    seed_template_projects(
        &fleet.emulator,
        &fleet.management,
        "https://git.example.com/o/r.git",
    );
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let dir = hello_world_package(&fleet).await;
    with_steps_a_server_rewrites(dir.path());

    let first = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    // The server did rewrite them (the emulator as a real server).
    let (space, project) = america_project(&fleet, "Hello World");
    let process = fleet
        .emulator
        .get(
            &space,
            "deploymentprocesses",
            project["DeploymentProcessId"].as_str().unwrap(),
        )
        .unwrap();
    let properties = |name: &str| -> Value {
        process["Steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Name"] == name)
            .unwrap()["Actions"][0]["Properties"]
            .clone()
    };
    assert_eq!(properties("Approve")["Octopus.Action.RunOnServer"], "true");
    assert_eq!(
        properties("Script in a container")["OctopusUseBundledTooling"],
        "False"
    );
    assert_eq!(
        properties("Apply manifests").get("OctopusUseBundledTooling"),
        None
    );
    assert_eq!(
        properties("Deploy package")["Octopus.Action.Package.FeedId"],
        "feeds-builtin"
    );
    assert_eq!(
        properties("Deploy package")["Octopus.Action.Package.PackageId"],
        "hello-world"
    );

    fleet.emulator.clear_requests();
    let again = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "a re-deploy wrote: {:?}\n{}",
        fleet.emulator.writes(),
        again.stderr
    );
    let plan = run(&fleet, "plan", dir.path()).await;
    assert_eq!(
        plan.code, 0,
        "plan still sees changes:\n{}{}",
        plan.stdout, plan.stderr
    );
}

/// Octopus compares names without case: a downstream "hello world" project and a "development"
/// environment are the package's "Hello World" and "Development" (issue 10, item 13). Before,
/// the exact-only match sent a create the server refused as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_differ_only_in_case_are_the_same_resource() {
    let fleet = Fleet::start().await;
    seed_template_projects(
        &fleet.emulator,
        &fleet.management,
        "https://git.example.com/o/r.git",
    );
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let space = fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = fleet
        .emulator
        .list(&space, "projectgroups")
        .into_iter()
        .next()
        .unwrap();
    let lifecycle = fleet
        .emulator
        .list(&space, "lifecycles")
        .into_iter()
        .next()
        .unwrap();
    fleet.emulator.seed(
        &space,
        "projects",
        json!({"Name": "hello world", "ProjectGroupId": group["Id"], "LifecycleId": lifecycle["Id"]}),
    );
    let dir = hello_world_package(&fleet).await;
    with_steps_a_server_rewrites(dir.path());
    let deploy = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let projects: Vec<Value> = fleet
        .emulator
        .list(&space, "projects")
        .into_iter()
        .filter(|p| {
            p["Name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("hello world")
        })
        .collect();
    assert_eq!(projects.len(), 1, "{projects:#?}");
    assert!(
        deploy.stderr.contains("named `hello world` on the server"),
        "the difference in case is logged: {}",
        deploy.stderr
    );
}

/// A key whose user lacks a permission gets the server's 403; octofleet says which permission
/// and what to do, exit 1, and writes nothing after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named_with_what_to_do() {
    let fleet = Fleet::start().await;
    fleet.emulator.deny("POST", "/api/spaces", "SpaceCreate");
    let run = fleet.create_space("America", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Missing permission: SpaceCreate")
            && run
                .stderr
                .contains("lacks the Octopus permission SpaceCreate"),
        "{}",
        run.stderr
    );
    assert!(fleet.space_named("America").is_none());
    crate::support::fault_rules::assert_every_fault_fired(&fleet.emulator);
}

/// Two projects cannot share one repository and base path (OctopusDeploy/Issues#7194): a
/// Config-as-Code package deployed onto the instance that holds its template project needs the
/// fork's URL. Without it: refused before any write. With it: converted onto the fork. Later
/// deploys without it keep the fork (they never point the project back at the template's repo).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_as_code_deploy_needs_the_forks_url_and_keeps_it() {
    let fleet = Fleet::start().await;
    let upstream = "https://git.example.com/octopuscac/hello_world_cac.git";
    seed_template_projects(&fleet.emulator, &fleet.management, upstream);
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let dir = package_of(&fleet, "Hello World CaC").await;
    with_substituted_secrets(dir.path());
    fleet.emulator.clear_requests();
    let refused = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Octofleet.Git.Url"),
        "{}",
        refused.stderr
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );

    let fork = "https://git.example.com/octopuscac/america_hello_world_cac.git";
    let deployed = run_with(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let again = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    let (_, project) = america_project(&fleet, "Hello World CaC");
    assert_eq!(project["PersistenceSettings"]["Url"], json!(fork));
}

/// Automatic release creation needs a release creation strategy that names a channel and a
/// package step (a real server refuses it without one, issue 10 item 11): it travels as the
/// package's built-in feed trigger, by name (issue 23), and is on downstream with its strategy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_release_creation_travels_as_the_built_in_feed_trigger() {
    let fleet = Fleet::start().await;
    let templates = seed_template_projects(
        &fleet.emulator,
        &fleet.management,
        "https://git.example.com/o/r.git",
    );
    let channel = fleet
        .emulator
        .list("Spaces-1", "channels")
        .into_iter()
        .find(|c| c["ProjectId"] == json!(templates.hello_world))
        .unwrap();
    fleet.emulator.seed_update(
        "Spaces-1",
        "projects",
        &templates.hello_world,
        json!({"AutoCreateRelease": true,
               "ReleaseCreationStrategy": {"ChannelId": channel["Id"], "ReleaseCreationPackageStepId": null,
                                           "ReleaseCreationPackage": {"DeploymentAction": "Hello World", "PackageReference": ""}}}),
    );
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let dir = hello_world_package(&fleet).await;
    with_substituted_secrets(dir.path());
    let project: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("project.json")).unwrap())
            .unwrap();
    assert!(
        project["project"]["extra"]
            .get("AutoCreateRelease")
            .is_none(),
        "{}",
        project["project"]
    );
    assert_eq!(
        project["built_in_trigger"],
        json!({"channel": "Default", "deployment_action": "Hello World", "package_reference": ""})
    );
    let deploy = run(&fleet, "deploy", dir.path()).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let (space, downstream) = america_project(&fleet, "Hello World");
    assert_eq!(downstream["AutoCreateRelease"], json!(true));
    assert_eq!(
        downstream["ReleaseCreationStrategy"]["ReleaseCreationPackage"],
        json!({"DeploymentAction": "Hello World", "PackageReference": ""})
    );
    // The channel by the managed space's id of the project's own Default channel.
    let default_channel = fleet
        .emulator
        .list(&space, "channels")
        .into_iter()
        .find(|c| c["ProjectId"] == downstream["Id"] && c["Name"] == "Default")
        .unwrap();
    assert_eq!(
        downstream["ReleaseCreationStrategy"]["ChannelId"],
        default_channel["Id"]
    );
}
