//! `octofleet deploy` and `plan` through the real binary: upstream project → serialize →
//! deploy into a managed space → read back.

use crate::support::calamari::{octostache, octostache_names};
use crate::support::definitions::drift_lines;
use crate::support::fault_rules::{assert_each_resource_posted_once, assert_every_fault_fired};
use crate::support::packages::serialize_package;
use crate::support::seeds::{seed_rich_dependencies, seed_rich_project};
use crate::support::server_view::{canonical, server_view};
use crate::support::{api_get, api_post, assert_the_cut_happened, octofleet, Fleet, Run, API_KEY};
use octofleet::portable::PortableProject;
use octofleet_sandbox::{seed_template_projects, SEEDED_SECRETS};
use octopus_emulator::EmulatorConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

const CAC_URL: &str = "https://git.example.com/octopuscac/hello_world_cac.git";

/// A fleet with the template projects, America's space created, and Hello World serialized.
async fn fleet_with(config: EmulatorConfig) -> Fleet {
    let fleet = Fleet::start_with(config).await;
    seed_template_projects(&fleet.emulator, &fleet.management, CAC_URL);
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    fleet
}

/// Serialize `project` and extract its package into a directory, with secrets.json substituted
/// the way Octopus does in the Sync environment.
async fn extracted_package(fleet: &Fleet, project: &str, substitute: bool) -> tempfile::TempDir {
    let mut archive = serialized(fleet, "Spaces-1", project, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    archive.extract(dir.path()).unwrap();
    if substitute {
        // The variables in scope in `Sync`: the Development database password, and the seeded
        // Slack token for every other secret.
        let path = dir.path().join("secrets.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let variables: BTreeMap<&str, String> = octostache_names(&text)
            .into_iter()
            .map(|name| {
                let value = if name.contains("Database[Development].Password") {
                    SEEDED_SECRETS[0]
                } else {
                    SEEDED_SECRETS[1]
                };
                (name, value.to_owned())
            })
            .collect();
        std::fs::write(&path, octostache(&text, &variables)).unwrap();
    }
    dir
}

/// `project`'s package with every `secrets.json` placeholder substituted with `value`, as
/// Octopus would in `Sync` after the secrets there were rotated.
async fn package_with_every_secret(fleet: &Fleet, project: &str, value: &str) -> tempfile::TempDir {
    let dir = extracted_package(fleet, project, false).await;
    let path = dir.path().join("secrets.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let variables: BTreeMap<&str, String> = octostache_names(&text)
        .into_iter()
        .map(|name| (name, value.to_owned()))
        .collect();
    std::fs::write(&path, octostache(&text, &variables)).unwrap();
    dir
}

/// An extracted package's `project.json`: its path and its JSON, to edit and write back with
/// [`write_json`].
fn project_json(dir: &Path) -> (std::path::PathBuf, Value) {
    let path = dir.join("project.json");
    let project = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path, project)
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string(value).unwrap()).unwrap();
}

fn deploy_env(fleet: &Fleet) -> Vec<(String, String)> {
    vec![
        ("MANAGEDTENANT_OCTOPUS_URL".into(), fleet.emulator.url()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY".into(), API_KEY.into()),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME".into(), "America".into()),
    ]
}

async fn run_deploy(fleet: &Fleet, action: &str, dir: &Path, args: &[&str]) -> Run {
    let env = deploy_env(fleet);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec![action, "--package-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    octofleet(&all, &env).await
}

fn america(fleet: &Fleet) -> String {
    fleet.space_named("America").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Serialize `project` from `space` (no push) and open the package.
async fn serialized(
    fleet: &Fleet,
    space: &str,
    project: &str,
    extra_args: &[&str],
) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    let package = serialize_package(fleet, space, project, extra_args)
        .await
        .unwrap_or_else(|run| panic!("serialize: {}", run.stderr));
    zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap()
}

/// Read a project back through our own reader (serialize from the managed space), with no filters.
async fn read_back(fleet: &Fleet, space: &str, project: &str) -> PortableProject {
    let mut archive = serialized(
        fleet,
        space,
        project,
        &[
            "--exclude-runbooks",
            "-",
            "--exclude-library-variable-sets",
            "-",
        ],
    )
    .await;
    let mut text = String::new();
    archive
        .by_name("project.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The project as the server returns it in the management space (upstream) and in America's
/// (downstream), normalised by [`server_view`], with the differences `docs/actions.md` documents
/// removed from the upstream side; `adjust` takes the test's own documented differences.
fn server_views(fleet: &Fleet, project: &str, adjust: impl FnOnce(&mut Value)) -> (Value, Value) {
    let mut upstream = server_view(&fleet.emulator, "Spaces-1", project);
    let mut downstream = server_view(&fleet.emulator, &america(fleet), project);
    // Automatic release creation is left off downstream (its strategy names ids of this space).
    for view in [&mut upstream, &mut downstream] {
        view["settings"]
            .as_object_mut()
            .unwrap()
            .remove("AutoCreateRelease");
    }
    // Runbooks matching `^__ ` are the management runbooks, excluded by serialize.
    let management = |name: &Value| {
        name.as_str()
            .unwrap_or_default()
            .starts_with("runbooks:__ ")
    };
    upstream["runbooks"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["Name"].as_str().unwrap().starts_with("__ "));
    // The `Export Options` library variable set is excluded by serialize (a management set).
    if let Some(sets) = upstream["settings"]["IncludedLibraryVariableSetIds"].as_array_mut() {
        sets.retain(|set| set != "libraryvariablesets:Export Options");
    }
    let variables = upstream["variables"].as_array_mut().unwrap();
    // A variable scoped only to excluded runbooks is left out with them.
    variables.retain(|v| {
        let owners = v["Scope"]["ProcessOwner"].as_array();
        !owners.is_some_and(|o| !o.is_empty() && o.iter().all(management))
    });
    for variable in variables.iter_mut() {
        let Some(scope) = variable.get_mut("Scope").and_then(Value::as_object_mut) else {
            continue;
        };
        // The `Sync` environment is removed from every scope by serialize (only-`Sync` becomes
        // unscoped): it is the management environment, absent from the tenants' spaces.
        if let Some(environments) = scope.get_mut("Environment").and_then(Value::as_array_mut) {
            environments.retain(|e| e != "environments:Sync");
        }
        if let Some(owners) = scope.get_mut("ProcessOwner").and_then(Value::as_array_mut) {
            owners.retain(|o| !management(o));
        }
        scope.retain(|_, values| values.as_array().is_none_or(|v| !v.is_empty()));
        if scope.is_empty() {
            variable.as_object_mut().unwrap().remove("Scope");
        }
    }
    adjust(&mut upstream);
    canonical(&mut upstream);
    (upstream, downstream)
}

/// Downstream equals upstream as the server returns them (see [`server_views`]).
fn assert_server_views_equal(fleet: &Fleet, project: &str, adjust: impl FnOnce(&mut Value)) {
    let (upstream, downstream) = server_views(fleet, project, adjust);
    assert!(
        downstream == upstream,
        "the server's {project} differs between the spaces:\n--- upstream\n{}\n--- downstream\n{}",
        serde_json::to_string_pretty(&upstream).unwrap(),
        serde_json::to_string_pretty(&downstream).unwrap()
    );
}

/// Everything but where it came from.
fn comparable(project: &PortableProject) -> Value {
    let mut value = serde_json::to_value(project).unwrap();
    value.as_object_mut().unwrap().remove("source");
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_reproduces_the_template_project_and_a_redeploy_writes_nothing() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    let upstream: PortableProject =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("project.json")).unwrap())
            .unwrap();

    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project_id = run.output_variable("ProjectId").expect("ProjectId output");
    assert!(
        run.stderr.contains("created   project `Hello World`"),
        "{}",
        run.stderr
    );
    for secret in SEEDED_SECRETS {
        assert!(!run.all_output().contains(secret));
    }
    let space = america(&fleet);
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &project_id, "Database[Development].Password")
            .as_deref(),
        Some(SEEDED_SECRETS[0])
    );

    assert_server_views_equal(&fleet, "Hello World", |_| {});
    let downstream = read_back(&fleet, &space, "Hello World").await;
    assert_eq!(
        comparable(&downstream),
        comparable(&upstream),
        "downstream equals upstream apart from ids and filtered items"
    );

    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "re-deploy wrote: {:?}",
        fleet.emulator.writes()
    );
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "no changes: {}", plan.stderr);
    assert!(fleet.emulator.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_names_exactly_the_added_step_then_deploy_applies_it() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);

    let (path, mut project) = project_json(dir.path());
    let mut step = project["deployment_process"]["steps"][0].clone();
    step["name"] = json!("Smoke Test");
    step["actions"][0]["name"] = json!("Smoke Test");
    project["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap()
        .push(step);
    write_json(&path, &project);

    fleet.emulator.clear_requests();
    let plan = run_deploy(&fleet, "plan", dir.path(), &["--output", "json"]).await;
    assert_eq!(plan.code, 3, "changes found: {}", plan.stderr);
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");
    let report: Value = serde_json::from_str(&plan.stdout).unwrap();
    let changes: Vec<&Value> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] != "unchanged")
        .collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["kind"], "step");
    assert_eq!(changes[0]["name"], "Hello World / Smoke Test");
    assert_eq!(changes[0]["action"], "created");

    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let process = fleet
        .emulator
        .get(
            &america(&fleet),
            "deploymentprocesses",
            &format!("deploymentprocess-{}", downstream_id(&fleet)),
        )
        .unwrap();
    let names: Vec<&str> = process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hello World", "Show Configuration", "Smoke Test"]);
}

fn downstream_id(fleet: &Fleet) -> String {
    let space = america(fleet);
    fleet.project_named(&space, "Hello World")["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_steps_go_and_ids_of_kept_steps_stay() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let space = america(&fleet);
    let process_id = format!("deploymentprocess-{}", downstream_id(&fleet));
    let before = fleet
        .emulator
        .get(&space, "deploymentprocesses", &process_id)
        .unwrap();
    let kept_id = before["Steps"][1]["Id"].clone();

    let (path, mut project) = project_json(dir.path());
    project["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    write_json(&path, &project);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("removed   step `Hello World / Hello World`"),
        "{}",
        run.stderr
    );
    let after = fleet
        .emulator
        .get(&space, "deploymentprocesses", &process_id)
        .unwrap();
    assert_eq!(after["Steps"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["Steps"][0]["Id"], kept_id,
        "the kept step keeps its id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstream_variable_edits_are_kept_unless_overwritten() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let space = america(&fleet);
    let project_id = downstream_id(&fleet);
    let set = crate::support::api_get(
        &fleet.emulator,
        &format!("/api/{space}/variables/variableset-{project_id}"),
    )
    .await;
    let mut edited = set.clone();
    for variable in edited["Variables"].as_array_mut().unwrap() {
        if variable["Name"] == "App.Greeting" {
            variable["Value"] = json!("Hola");
        }
    }
    crate::support::api_put(
        &fleet.emulator,
        &format!("/api/{space}/variables/variableset-{project_id}"),
        &edited,
    )
    .await;

    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("kept      variable `App.Greeting`"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty());
    let greeting = |set: &Value| {
        set["Variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["Name"] == "App.Greeting")
            .unwrap()["Value"]
            .clone()
    };
    assert_eq!(
        greeting(
            &crate::support::api_get(
                &fleet.emulator,
                &format!("/api/{space}/variables/variableset-{project_id}")
            )
            .await
        ),
        json!("Hola")
    );

    let run = run_deploy(&fleet, "deploy", dir.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let set = crate::support::api_get(
        &fleet.emulator,
        &format!("/api/{space}/variables/variableset-{project_id}"),
    )
    .await;
    assert_eq!(
        greeting(&set),
        json!("Hello from #{Octopus.Environment.Name}")
    );
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &project_id, "Database[Development].Password")
            .as_deref(),
        Some(SEEDED_SECRETS[0])
    );
    // Converged: a plan with --overwrite-variables says the secret cannot be compared, and
    // that is not a change (it used to report `~ update … (Value)` and exit 3 forever).
    let plan = run_deploy(&fleet, "plan", dir.path(), &["--overwrite-variables"]).await;
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    let all = plan.all_output();
    assert!(
        all.contains("? resend variable `Database[Development].Password [Development]`")
            && all.contains("cannot be compared"),
        "{all}"
    );
    assert!(!all.contains("~ update"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_unsubstituted_are_an_error_for_new_variables_and_kept_for_existing_ones() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let raw = extracted_package(&fleet, "Hello World", false).await;
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", raw.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`Database[Development].Password`") && run.stderr.contains("Sync"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty(), "nothing written");

    let substituted = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(
        run_deploy(&fleet, "deploy", substituted.path(), &[])
            .await
            .code,
        0
    );
    let run = run_deploy(&fleet, "deploy", raw.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    assert_eq!(
        fleet
            .emulator
            .secret_value(
                &space,
                &downstream_id(&fleet),
                "Database[Development].Password"
            )
            .as_deref(),
        Some(SEEDED_SECRETS[0]),
        "never wiped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_dependencies_are_listed_and_nothing_is_written() {
    let fleet = Fleet::start().await;
    seed_template_projects(&fleet.emulator, &fleet.management, CAC_URL);
    fleet.emulator.seed_space("America");
    let dir = extracted_package(&fleet, "Hello World", true).await;
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    for missing in [
        "environment `Development`",
        "environment `Production`",
        "environment `Test`",
    ] {
        assert!(run.stderr.contains(missing), "{missing}: {}", run.stderr);
    }
    assert!(fleet.emulator.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_packages_are_refused_before_anything_is_written() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("terraform/evil.tf")).unwrap();
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(fleet.emulator.writes().is_empty());

    let dir = extracted_package(&fleet, "Hello World", true).await;
    let (path, mut project) = project_json(dir.path());
    project["format_version"] = json!(99);
    write_json(&path, &project);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("99"), "{}", run.stderr);
    assert!(fleet.emulator.writes().is_empty());

    // `extra` may add settings, never rename the project or point it at another space's ids.
    let dir = extracted_package(&fleet, "Hello World", true).await;
    let (path, mut project) = project_json(dir.path());
    project["project"]["extra"] =
        json!({"Name": "Someone Else's Project", "Id": "Projects-1", "SpaceId": "Spaces-1"});
    write_json(&path, &project);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`Id` in `project.extra`")
            || run.stderr.contains("`Name` in `project.extra`"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty());
    assert!(fleet.space_named("America").is_some());
    assert!(
        !fleet
            .emulator
            .list(&america(&fleet), "projects")
            .iter()
            .any(|p| p["Name"] == "Someone Else's Project"),
        "nothing renamed"
    );

    // Two runbooks of one name would make plan report a change forever: refused.
    let dir = extracted_package(&fleet, "Hello World", true).await;
    let (path, mut project) = project_json(dir.path());
    let runbook = json!({"name": "Restart", "environment_scope": "All", "multi_tenancy_mode": "Untenanted",
        "default_guided_failure_mode": "EnvironmentDefault", "process": {"steps": []}});
    project["runbooks"] = json!([runbook, runbook]);
    write_json(&path, &project);
    let run = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("a second runbook named `Restart`"),
        "{}",
        run.stderr
    );
}

/// The end state of a clean deploy of Hello World: process steps, variables (name = value) and
/// the number of channels in the space.
fn end_state(fleet: &Fleet) -> Value {
    let space = america(fleet);
    let projects: Vec<Value> = fleet
        .emulator
        .list(&space, "projects")
        .into_iter()
        .filter(|p| p["Name"] == "Hello World")
        .collect();
    assert_eq!(projects.len(), 1, "exactly one project");
    let id = projects[0]["Id"].as_str().unwrap();
    let process = fleet
        .emulator
        .get(
            &space,
            "deploymentprocesses",
            &format!("deploymentprocess-{id}"),
        )
        .unwrap();
    let variables = fleet.emulator.get(&space, "variables", id).unwrap();
    let mut names: Vec<String> = variables["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{}={}", v["Name"], v["Value"]))
        .collect();
    names.sort();
    let steps: Vec<Value> = process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].clone())
        .collect();
    json!({"steps": steps, "variables": names, "channels": fleet.emulator.list(&space, "channels").len()})
}

/// A fleet whose management space holds the "Rich" project (every field of the portable model,
/// a runbook with its process, channels, secrets), with its dependencies in America's space too.
async fn fleet_with_rich() -> Fleet {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    seed_rich_dependencies(&fleet.emulator, "Spaces-1");
    seed_rich_project(&fleet.emulator, "Spaces-1");
    seed_rich_dependencies(&fleet.emulator, &america(&fleet));
    fleet
}

/// Everything a deploy of `project` writes into America's space, read back by name through
/// serialize with no filters (settings, process, channels, variables, runbooks and their
/// processes), with the secrets the server holds and how many of each the project owns (so a
/// duplicate shows).
async fn whole_end_state(fleet: &Fleet, project: &str) -> Value {
    let space = america(fleet);
    let projects: Vec<Value> = fleet
        .emulator
        .list(&space, "projects")
        .into_iter()
        .filter(|p| p["Name"] == project)
        .collect();
    assert_eq!(projects.len(), 1, "exactly one project `{project}`");
    let id = projects[0]["Id"].as_str().unwrap();
    let owned = |collection: &str| {
        let mut names: Vec<String> = fleet
            .emulator
            .list(&space, collection)
            .into_iter()
            .filter(|item| item["ProjectId"] == id)
            .map(|item| item["Name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let (runbooks, channels) = (owned("runbooks"), owned("channels"));
    let read = comparable(&read_back(fleet, &space, project).await);
    let mut secrets = BTreeMap::new();
    for variable in read["variables"].as_array().unwrap() {
        if variable["type"] == "Sensitive" {
            let name = variable["name"].as_str().unwrap();
            secrets.insert(
                name.to_owned(),
                fleet.emulator.secret_value(&space, id, name),
            );
        }
    }
    let process = format!("deploymentprocess-{id}");
    secrets.insert(
        "action Deploy API / Octopus.Action.Secret".into(),
        fleet
            .emulator
            .secret_value(&space, &process, "Octopus.Action.Secret"),
    );
    secrets.insert(
        "template Tenant.Key".into(),
        fleet
            .emulator
            .secret_value(&space, id, "Tenant.Key.DefaultValue"),
    );
    json!({"project": read, "runbooks": runbooks, "channels": channels, "secrets": secrets})
}

/// Deploys under random 5xx/429 faults, and deploys cut off after every possible number of writes
/// then run again, end in exactly the state a clean deploy makes: the whole project, runbooks
/// included, over the rich project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_interrupted_deploys_converge_to_the_clean_end_state() {
    let clean = fleet_with_rich().await;
    let dir = extracted_package(&clean, "Rich", true).await;
    clean.emulator.clear_requests();
    assert_eq!(run_deploy(&clean, "deploy", dir.path(), &[]).await.code, 0);
    let writes_of_a_clean_deploy = clean.emulator.writes().len();
    let expected = whole_end_state(&clean, "Rich").await;
    assert!(
        !expected["runbooks"].as_array().unwrap().is_empty()
            && !expected["project"]["runbooks"][0]["process"]["steps"]
                .as_array()
                .unwrap()
                .is_empty(),
        "the runbook and its process are part of the comparison: {expected}"
    );
    assert!(writes_of_a_clean_deploy >= 5, "{writes_of_a_clean_deploy}");
    assert_eq!(
        expected["secrets"]["Secret.Key"], SEEDED_SECRETS[1],
        "the substituted secret is part of the comparison: {}",
        expected["secrets"]
    );

    for seed in [11, 12, 13] {
        let fleet = fleet_with_rich().await;
        fleet.emulator.set_fault_rate(0.2, seed);
        let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        fleet.emulator.set_fault_rate(0.0, 0);
        assert_every_fault_fired(&fleet.emulator);
        assert_eq!(run.code, 0, "seed {seed}: {}", run.stderr);
        assert_eq!(
            whole_end_state(&fleet, "Rich").await,
            expected,
            "seed {seed}"
        );
    }
    for n in 0..writes_of_a_clean_deploy {
        let fleet = fleet_with_rich().await;
        fleet.emulator.fail_writes_after(n);
        fleet.emulator.clear_requests();
        let interrupted = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_ne!(
            interrupted.code, 0,
            "after {n} writes the deploy is cut off"
        );
        assert_the_cut_happened(&fleet.emulator, n, writes_of_a_clean_deploy, &interrupted);
        fleet.emulator.clear_faults();
        assert_every_fault_fired(&fleet.emulator);
        let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(run.code, 0, "re-run after {n} writes: {}", run.stderr);
        assert_eq!(
            whole_end_state(&fleet, "Rich").await,
            expected,
            "after an interruption at write {n}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deploys_at_once_end_correct_without_duplicates() {
    let fleet = fleet_with(EmulatorConfig {
        latency: std::time::Duration::from_millis(15),
        ..EmulatorConfig::default()
    })
    .await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    let (first, second) = tokio::join!(
        run_deploy(&fleet, "deploy", dir.path(), &[]),
        run_deploy(&fleet, "deploy", dir.path(), &[])
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 0, "{}", second.stderr);
    fleet.emulator.set_latency(std::time::Duration::ZERO);
    let expected = {
        let clean = fleet_with(EmulatorConfig::default()).await;
        assert_eq!(run_deploy(&clean, "deploy", dir.path(), &[]).await.code, 0);
        end_state(&clean)
    };
    assert_eq!(end_state(&fleet), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_as_code_projects_point_at_the_fork_and_carry_their_secrets() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    let fork = "https://git.example.com/octopuscac/america_hello_world_cac.git";
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Hello World CaC");
    assert_eq!(project["IsVersionControlled"], json!(true));
    assert_eq!(project["PersistenceSettings"]["Url"], json!(fork));
    let credential = fleet
        .emulator
        .list(&space, "git-credentials")
        .into_iter()
        .find(|c| c["Name"] == "Git")
        .unwrap();
    assert_eq!(
        project["PersistenceSettings"]["Credentials"],
        json!({"Type": "Reference", "Id": credential["Id"]})
    );
    let project_id = project["Id"].as_str().unwrap();
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, project_id, "Slack.Token")
            .as_deref(),
        Some(SEEDED_SECRETS[1])
    );

    // A current server moves text variables to git on `git/convert` (VariablesAreInGit): the
    // database set keeps the secret, and the deploy committed the package's text variable
    // through the branch-scoped route.
    assert_eq!(
        project["PersistenceSettings"]["ConversionState"]["VariablesAreInGit"],
        json!(true)
    );
    assert_eq!(
        project_variables(&fleet, &space, project_id),
        ["\"Slack.Token\"=null"]
    );
    assert_eq!(
        git_variables(&fleet, &space, project_id),
        ["\"Slack.Channel\"=\"#deployments\""]
    );

    fleet.emulator.clear_requests();
    assert_eq!(
        run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork])
            .await
            .code,
        0
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "re-deploy wrote: {:?}",
        fleet.emulator.writes()
    );
    let moved = "https://git.example.com/octopuscac/america_hello_world_cac_v2.git";
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", moved]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = fleet.project_named(&space, "Hello World CaC");
    assert_eq!(project["PersistenceSettings"]["Url"], json!(moved));
}

/// `"Name"=value` of each variable in the project's database set, sorted.
fn project_variables(fleet: &Fleet, space: &str, project_id: &str) -> Vec<String> {
    let set = fleet
        .emulator
        .get(space, "variables", project_id)
        .expect("the project's variable set");
    variable_values(&set)
}

/// `"Name"=value` of each text variable a Config-as-Code project holds on `main`, as the
/// server returns them from `/projects/{id}/main/variables`, sorted.
fn git_variables(fleet: &Fleet, space: &str, project_id: &str) -> Vec<String> {
    let set = fleet
        .emulator
        .git_document(space, project_id, "main", "variables")
        .expect("the project's variables on main");
    variable_values(&set)
}

fn variable_values(set: &Value) -> Vec<String> {
    let mut names: Vec<String> = set["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{}={}", v["Name"], v["Value"]))
        .collect();
    names.sort();
    names
}

/// A template whose text variables live in git: its package carries only the secrets (the
/// fork's `variables.ocl` holds the text ones), so a deploy writes no text variable anywhere;
/// the downstream's own git text variables stay as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_as_code_text_variables_in_git_upstream_are_left_to_the_fork() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    let fork = "https://git.example.com/octopuscac/america_hello_world_cac.git";
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project_id = fleet.project_named(&space, "Hello World CaC")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = git_variables(&fleet, &space, &project_id);

    // The package of a template that migrated its variables: secrets only, and it says so.
    let (path, mut package) = project_json(dir.path());
    package["project"]["version_control"]
        .as_object_mut()
        .unwrap()
        .remove("carries_text_variables");
    package["variables"]
        .as_array_mut()
        .unwrap()
        .retain(|v| v["type"] == "Sensitive");
    std::fs::write(&path, serde_json::to_string_pretty(&package).unwrap()).unwrap();
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|w| w.path.contains("variables"))
        .collect();
    assert!(
        writes.is_empty(),
        "text variables are in the fork: {writes:?}"
    );
    assert_eq!(git_variables(&fleet, &space, &project_id), before);
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &project_id, "Slack.Token")
            .as_deref(),
        Some(SEEDED_SECRETS[1]),
        "the secret stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_as_code_runbooks_follow_the_downstream_conversion_state() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let template = fleet
        .emulator
        .list("Spaces-1", "projects")
        .into_iter()
        .find(|p| p["Name"] == "Hello World CaC")
        .unwrap();
    let runbook = fleet.emulator.seed(
        "Spaces-1",
        "runbooks",
        json!({"Name": "Rotate", "ProjectId": template["Id"], "EnvironmentScope": "All"}),
    );
    fleet.emulator.seed_process(
        "Spaces-1",
        runbook["RunbookProcessId"].as_str().unwrap(),
        json!([{"Name": "Rotate", "Actions": [{"Name": "Rotate", "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.Script.ScriptBody": "rotate"}}]}]),
    );
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    let fork = "https://git.example.com/octopuscac/america_hello_world_cac.git";
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project_id = fleet.project_named(&space, "Hello World CaC")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runbook_names = |fleet: &Fleet| -> Vec<String> {
        fleet
            .emulator
            .list(&space, "runbooks")
            .into_iter()
            .filter(|r| r["ProjectId"] == json!(project_id))
            .map(|r| r["Name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        runbook_names(&fleet),
        ["Rotate"],
        "written while not in git"
    );

    api_post(
        &fleet.emulator,
        &format!("/api/{space}/projects/{project_id}/git/migrate-runbooks"),
        &json!({}),
    )
    .await;
    // A new runbook upstream: the downstream keeps its runbooks in git now, nothing is written.
    let (path, mut package) = project_json(dir.path());
    let runbooks = package["runbooks"].as_array_mut().unwrap();
    let mut cleanup = runbooks[0].clone();
    cleanup["name"] = json!("Cleanup");
    runbooks.push(cleanup);
    std::fs::write(&path, serde_json::to_string_pretty(&package).unwrap()).unwrap();
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "runbooks are in git: {:?}",
        fleet.emulator.writes()
    );
    assert_eq!(runbook_names(&fleet), ["Rotate"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_can_come_from_the_built_in_feed() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    // A first deploy from the extracted package creates the secret; the feed's copy still holds
    // placeholders, which keep the existing value.
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let env = [
        ("OCTOPUS_WEB_SERVERURI", fleet.emulator.url()),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY.to_owned()),
        ("OCTOPUS_SPACE_ID", "Spaces-1".to_owned()),
        ("OCTOPUS_PROJECT_NAME", "Hello World".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Three versions: the newest by version (10.0.0) is neither the last pushed (9.1.0) nor the
    // greatest as text (9.1.0), nor the first pushed.
    for version in ["2.0.0", "10.0.0", "9.1.0"] {
        assert_eq!(
            octofleet(&["serialize", "--package-version", version], &env)
                .await
                .code,
            0
        );
    }
    let mut deploy_env: Vec<(String, String)> = deploy_env(&fleet);
    deploy_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let deploy_env: Vec<(&str, &str)> = deploy_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fleet.emulator.clear_requests();
    let run = octofleet(&["deploy"], &deploy_env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Hello_World 10.0.0"),
        "the latest version: {}",
        run.stderr
    );
    let space_writes: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|w| !w.path.contains("Spaces-1"))
        .collect();
    assert!(space_writes.is_empty(), "nothing changed: {space_writes:?}");
    assert_eq!(
        fleet
            .emulator
            .secret_value(
                &america(&fleet),
                &downstream_id(&fleet),
                "Database[Development].Password"
            )
            .as_deref(),
        Some(SEEDED_SECRETS[0])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_url_that_does_not_answer_is_a_clear_failure() {
    let fleet = fleet_with(EmulatorConfig {
        check_git_urls: true,
        ..EmulatorConfig::default()
    })
    .await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{port}/octopuscac/america_hello_world_cac.git");
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", &nowhere]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Unable to connect"), "{}", run.stderr);
    assert!(!run.all_output().contains(API_KEY));
}

/// What no export can carry: secret values (a sensitive template default, a sensitive action
/// property). Everything else must survive the round trip.
fn without_secret_values(mut value: Value) -> Value {
    if let Some(templates) = value["project"]["templates"].as_array_mut() {
        for template in templates {
            if template["default_value"].get("sensitive").is_some() {
                template.as_object_mut().unwrap().remove("default_value");
            }
        }
    }
    fn strip(process: &mut Value) {
        for step in process["steps"].as_array_mut().into_iter().flatten() {
            for action in step["actions"].as_array_mut().into_iter().flatten() {
                if let Some(properties) = action["properties"].as_object_mut() {
                    properties.retain(|_, v| v.get("sensitive").is_none());
                }
            }
        }
    }
    strip(&mut value["deployment_process"]);
    for runbook in value["runbooks"].as_array_mut().into_iter().flatten() {
        strip(&mut runbook["process"]);
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_of_a_project_using_every_field() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    seed_rich_dependencies(&fleet.emulator, "Spaces-1");
    seed_rich_project(&fleet.emulator, "Spaces-1");
    let space = america(&fleet);
    seed_rich_dependencies(&fleet.emulator, &space);

    let dir = extracted_package(&fleet, "Rich", true).await;
    let upstream: PortableProject =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("project.json")).unwrap())
            .unwrap();
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let downstream = read_back(&fleet, &space, "Rich").await;
    // Sensitive template defaults included: each reaches the new project through its secret.
    assert_server_views_equal(&fleet, "Rich", |_| {});
    assert_eq!(
        without_secret_values(comparable(&downstream)),
        without_secret_values(comparable(&upstream)),
        "every field of the portable model survives the round trip"
    );
    fleet.emulator.clear_requests();
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    assert!(
        fleet.emulator.writes().is_empty(),
        "re-deploy wrote: {:?}",
        fleet.emulator.writes()
    );
}

/// Two projects in one space with runbooks of the same names: the package of "Ops" (two runbooks
/// of two steps each) deployed as "Team A" and "Team B".
async fn two_projects_sharing_runbook_names() -> (Fleet, tempfile::TempDir) {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    seed_ops(&fleet);
    let dir = extracted_package(&fleet, "Ops", false).await;
    (fleet, dir)
}

/// Deploy the package as "Team A", then forget the requests: what follows must not touch it.
async fn deploy_team_a(fleet: &Fleet, dir: &Path) -> Vec<String> {
    let team_a = run_deploy(fleet, "deploy", dir, &["--exported-project-name", "Team A"]).await;
    assert_eq!(team_a.code, 0, "{}", team_a.stderr);
    // Team A's people edited their runbooks downstream: a deploy of Team B that adopted them
    // would now have something to overwrite.
    let space = america(fleet);
    let runbooks = fleet.emulator.list(&space, "runbooks");
    for runbook in &runbooks {
        fleet.emulator.seed_process(
            &space,
            runbook["RunbookProcessId"].as_str().unwrap(),
            json!([{"Name": "Team A's own step", "Actions": [{"Name": "Team A's own step", "ActionType": "Octopus.Script",
                    "Properties": {"Octopus.Action.Script.ScriptBody": "echo A"}}]}]),
        );
    }
    fleet.emulator.clear_requests();
    runbooks
        .iter()
        .flat_map(|r| {
            [
                r["Id"].as_str().unwrap().to_owned(),
                r["RunbookProcessId"].as_str().unwrap().to_owned(),
            ]
        })
        .collect()
}

/// No write since `deploy_team_a` went to one of Team A's runbooks or their processes.
fn assert_team_a_untouched(fleet: &Fleet, team_a_ids: &[String]) {
    for write in fleet.emulator.writes() {
        assert!(
            !team_a_ids.iter().any(|id| write.path.contains(id.as_str())),
            "Team B's deploy wrote into Team A: {} {}",
            write.method,
            write.path
        );
    }
}

/// Each project owns exactly its two runbooks, each with its own two-step process.
fn assert_each_project_owns_its_runbooks(fleet: &Fleet, projects: &[&str]) {
    let space = america(fleet);
    let all_runbooks = fleet.emulator.list(&space, "runbooks");
    for project in projects {
        let id = fleet.project_named(&space, project)["Id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut owned: Vec<&Value> = all_runbooks
            .iter()
            .filter(|r| r["ProjectId"] == id.as_str())
            .collect();
        owned.sort_by_key(|r| r["Name"].as_str().unwrap().to_owned());
        let names: Vec<&str> = owned.iter().map(|r| r["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Runbook 00", "Runbook 01"], "{project}'s runbooks");
        for runbook in owned {
            let process = fleet
                .emulator
                .get(
                    &space,
                    "runbookProcesses",
                    runbook["RunbookProcessId"].as_str().unwrap(),
                )
                .unwrap();
            let steps: Vec<&str> = process["Steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["Name"].as_str().unwrap())
                .collect();
            let expected = if *project == "Team A" { 1 } else { 2 };
            assert_eq!(
                steps.len(),
                expected,
                "{project} / {}: its own process, and only its own, was written: {steps:?}",
                runbook["Name"]
            );
        }
    }
    assert_eq!(all_runbooks.len(), 2 * projects.len(), "no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_runbook_create_never_adopts_another_projects_runbook() {
    let (fleet, dir) = two_projects_sharing_runbook_names().await;
    let team_a_ids = deploy_team_a(&fleet, dir.path()).await;
    // Team B's first runbook commits and the proxy answers 503; its second commits and the
    // connection drops. Both must be found in Team B, never in Team A.
    fleet
        .emulator
        .fail_after_commit("POST", "/runbooks", 1, 503);
    fleet
        .emulator
        .drop_connection_after_commit("POST", "/runbooks", 1);
    fleet.emulator.clear_requests();
    let team_b = run_deploy(
        &fleet,
        "deploy",
        dir.path(),
        &["--exported-project-name", "Team B"],
    )
    .await;
    fleet.emulator.clear_faults();
    assert_eq!(team_b.code, 0, "{}", team_b.stderr);
    assert_every_fault_fired(&fleet.emulator);
    // Each lost answer was followed by the owner-scoped re-read, never by a second POST.
    assert_each_resource_posted_once(&fleet.emulator);
    assert_team_a_untouched(&fleet, &team_a_ids);
    assert_each_project_owns_its_runbooks(&fleet, &["Team A", "Team B"]);
    // And a re-run finds nothing to do.
    let plan = run_deploy(
        &fleet,
        "plan",
        dir.path(),
        &["--exported-project-name", "Team B"],
    )
    .await;
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_deploys_of_projects_sharing_runbook_names_stay_apart() {
    let (fleet, dir) = two_projects_sharing_runbook_names().await;
    let team_a_ids = deploy_team_a(&fleet, dir.path()).await;
    // Three first deploys of Team B race: the losers' runbook creates are refused as duplicates
    // and must find Team B's runbooks, not Team A's (which come first in the space's list).
    fleet
        .emulator
        .set_latency(std::time::Duration::from_millis(10));
    let (b1, b2, b3) = tokio::join!(
        run_deploy(
            &fleet,
            "deploy",
            dir.path(),
            &["--exported-project-name", "Team B"]
        ),
        run_deploy(
            &fleet,
            "deploy",
            dir.path(),
            &["--exported-project-name", "Team B"]
        ),
        run_deploy(
            &fleet,
            "deploy",
            dir.path(),
            &["--exported-project-name", "Team B"]
        ),
    );
    fleet.emulator.set_latency(std::time::Duration::ZERO);
    for run in [&b1, &b2, &b3] {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_team_a_untouched(&fleet, &team_a_ids);
    assert_each_project_owns_its_runbooks(&fleet, &["Team A", "Team B"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_as_code_convert_refused_503_then_429_is_tried_again() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    fleet.emulator.refuse("POST", "/git/convert", 1, 503);
    fleet.emulator.refuse("POST", "/git/convert", 1, 429);
    let fork = "https://git.example.com/octopuscac/america_hello_world_cac.git";
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", fork]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_every_fault_fired(&fleet.emulator);
    let converts: Vec<u16> = fleet
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/git/convert"))
        .map(|r| r.status)
        .collect();
    assert_eq!(converts, [503, 429, 200]);
    let project = fleet
        .emulator
        .list(&america(&fleet), "projects")
        .into_iter()
        .find(|p| p["Name"] == "Hello World CaC")
        .unwrap();
    assert_eq!(project["PersistenceSettings"]["Url"], json!(fork));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_keeps_changing_underneath_fails_the_deploy() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    // Two concurrent edits: rebuilt on the re-read, and written.
    fleet.emulator.edit_concurrently("/deploymentprocesses/", 2);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rules = fleet.emulator.fault_rules();
    assert_eq!(
        rules[0].fired, 2,
        "both concurrent edits happened: {rules:?}"
    );
    // Someone who never stops writing: the deploy gives up and says so.
    let changed = dir.path().join("project.json");
    let mut project: Value =
        serde_json::from_str(&std::fs::read_to_string(&changed).unwrap()).unwrap();
    project["deployment_process"]["steps"][0]["name"] = json!("Renamed Step");
    project["deployment_process"]["steps"][0]["actions"][0]["name"] = json!("Renamed Step");
    std::fs::write(&changed, serde_json::to_string_pretty(&project).unwrap()).unwrap();
    fleet
        .emulator
        .edit_concurrently("/deploymentprocesses/", 100);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    fleet.emulator.clear_faults();
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("deploymentprocesses"), "{}", run.stderr);
    assert_every_fault_fired(&fleet.emulator);
}

/// Someone edits Hello World's `App.Greeting` in America's space.
async fn edit_greeting_downstream(fleet: &Fleet, value: &str) {
    let set_path = format!(
        "/api/{}/variables/variableset-{}",
        america(fleet),
        downstream_id(fleet)
    );
    let mut set = crate::support::api_get(&fleet.emulator, &set_path).await;
    for variable in set["Variables"].as_array_mut().unwrap() {
        if variable["Name"] == "App.Greeting" {
            variable["Value"] = json!(value);
        }
    }
    crate::support::api_put(&fleet.emulator, &set_path, &set).await;
}

/// Each kind of drift gets its line in a plan (exit 3): a step edited upstream (`~ update`), a
/// step removed upstream (`- remove`) and a variable edited downstream (`keep`). After a deploy
/// the update and removal are gone (exit 0); the downstream edit is still reported as kept (it
/// is no change: deploys keep it) until a deploy with `--overwrite-variables` replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reports_update_remove_and_keep_until_a_deploy_converges() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(drift_lines(&plan), Vec::<String>::new(), "converged");

    // Upstream: the first step is removed, the other one's script edited.
    let (path, mut project) = project_json(dir.path());
    let steps = project["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap();
    assert_eq!(steps[0]["name"], "Hello World");
    steps.remove(0);
    assert_eq!(steps[0]["name"], "Show Configuration");
    steps[0]["actions"][0]["properties"]["Octopus.Action.Script.ScriptBody"] =
        json!("echo edited upstream");
    write_json(&path, &project);
    // Downstream: someone edits a variable in America's space.
    edit_greeting_downstream(&fleet, "Hola").await;

    fleet.emulator.clear_requests();
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 3, "changes: {}", plan.stderr);
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");
    assert_eq!(
        drift_lines(&plan),
        [
            "~ update step `Hello World / Show Configuration` (Actions[Show Configuration].Properties)",
            "- remove step `Hello World / Hello World`",
            "keep variable `App.Greeting` (downstream edit: Value)",
        ],
        "{}",
        plan.stderr
    );

    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "converged: {}", plan.stderr);
    assert_eq!(
        drift_lines(&plan),
        ["keep variable `App.Greeting` (downstream edit: Value)"],
        "{}",
        plan.stderr
    );

    let run = run_deploy(&fleet, "deploy", dir.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(drift_lines(&plan), Vec::<String>::new(), "{}", plan.stderr);
}

/// A sensitive action property (the rich project's `Deploy API` / `Octopus.Action.Secret`)
/// reaches a new space through its `secrets.json` entry, substituted from
/// `Octofleet.Secret[Deploy API].Octopus.Action.Secret`; a re-deploy writes nothing, a plan
/// reports no change, and the placeholder left unsubstituted keeps the value the space holds.
/// Into a space that holds none, an unsubstituted one is refused before anything is written,
/// as a new secret variable is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_action_properties_are_deployed_from_their_substituted_secret() {
    const VARIABLE: &str = "Octofleet.Secret[Deploy API].Octopus.Action.Secret";
    let fleet = fleet_with_rich().await;
    let raw = extracted_package(&fleet, "Rich", false).await;
    let secrets = std::fs::read_to_string(raw.path().join("secrets.json")).unwrap();
    assert!(
        secrets.contains(&format!("#{{{VARIABLE} | JsonEscape}}")),
        "{secrets}"
    );
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", raw.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(VARIABLE), "{}", run.stderr);
    assert!(fleet.emulator.writes().is_empty(), "nothing written");
    let plan = run_deploy(&fleet, "plan", raw.path(), &[]).await;
    assert!(
        plan.all_output()
            .contains("Deploy API / Octopus.Action.Secret")
            && plan.all_output().contains("secret not substituted"),
        "{}",
        plan.all_output()
    );

    let substituted = extracted_package(&fleet, "Rich", true).await;
    let run = run_deploy(&fleet, "deploy", substituted.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Rich");
    let process_id = format!("deploymentprocess-{}", project["Id"].as_str().unwrap());
    let process = fleet
        .emulator
        .get(&space, "deploymentprocesses", &process_id)
        .unwrap();
    let action = process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| step["Actions"].as_array().unwrap())
        .find(|action| action["Name"] == "Deploy API")
        .unwrap();
    assert_eq!(
        action["Properties"]["Octopus.Action.Secret"]["HasValue"], true,
        "{action}"
    );
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &process_id, "Octopus.Action.Secret")
            .as_deref(),
        Some(SEEDED_SECRETS[1])
    );

    for dir in [&substituted, &raw] {
        fleet.emulator.clear_requests();
        let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            fleet.emulator.writes().is_empty(),
            "a re-deploy writes nothing: {:?}",
            fleet.emulator.writes()
        );
        let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
        assert_eq!(plan.code, 0, "no changes: {}", plan.all_output());
    }
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &process_id, "Octopus.Action.Secret")
            .as_deref(),
        Some(SEEDED_SECRETS[1]),
        "never wiped"
    );
}

/// The report a person reads in Octopus. A plan with drift writes `octofleet-plan-<tenant>.html`
/// and `.json` (attached as artifacts): every resource with what would happen, each changed
/// value before and after (the old and the new script, the downstream greeting and the
/// package's), the secrets resent under `--overwrite-variables` masked and no secret anywhere.
/// The page is valid, self-contained, and renders in headless Chromium at a phone's width
/// without one request. Deploy writes its own, linking the project in the managed space; under
/// Octopus (Calamari's marker set) a report goes to the step's working directory by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_deploy_reports_show_every_change_and_no_secret() {
    use crate::support::reports::{assert_renders, assert_self_contained, chromium, png_size};
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let (path, mut project) = project_json(dir.path());
    let script = &mut project["deployment_process"]["steps"][1]["actions"][0]["properties"]
        ["Octopus.Action.Script.ScriptBody"];
    let old_script = script.as_str().unwrap().to_owned();
    *script = json!("echo <edited upstream> & done");
    write_json(&path, &project);
    edit_greeting_downstream(&fleet, "Hola").await;

    let reports = tempfile::tempdir().unwrap();
    let report_dir = reports.path().join("reports");
    let report_arg = report_dir.to_str().unwrap();
    let plan = run_deploy(
        &fleet,
        "plan",
        dir.path(),
        &["--overwrite-variables", "--report-dir", report_arg],
    )
    .await;
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    let html_path = report_dir.join("octofleet-plan-America.html");
    let json_path = report_dir.join("octofleet-plan-America.json");
    let html = std::fs::read_to_string(&html_path).expect("the HTML report is written");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let artifacts = crate::support::calamari::service_messages(&plan.stdout, "createArtifact");
    let attached: Vec<&str> = artifacts.iter().map(|a| a["name"].as_str()).collect();
    assert_eq!(
        attached,
        ["octofleet-plan-America.html", "octofleet-plan-America.json"]
    );
    assert_eq!(artifacts[0]["path"], html_path.to_string_lossy());
    assert_eq!(artifacts[0]["length"], html.len().to_string());

    // Every resource of the plan is in both, and each change has its values.
    let resources = data["resources"].as_array().unwrap();
    for line in drift_lines(&plan) {
        let name = line.split('`').nth(1).unwrap();
        assert!(
            html.contains(&crate::support::reports::escaped(name)),
            "{name}: {html}"
        );
    }
    let step = resources
        .iter()
        .find(|r| r["name"] == "Hello World / Show Configuration")
        .unwrap();
    let script_change = step["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["field"]
                .as_str()
                .unwrap()
                .ends_with("[\"Octopus.Action.Script.ScriptBody\"]")
        })
        .unwrap_or_else(|| panic!("{step}"));
    assert_eq!(script_change["before"], old_script.as_str());
    assert_eq!(script_change["after"], "echo <edited upstream> & done");
    assert!(
        html.contains("echo &lt;edited upstream&gt; &amp; done"),
        "{html}"
    );
    let greeting = resources
        .iter()
        .find(|r| r["name"] == "App.Greeting")
        .unwrap();
    assert_eq!(greeting["action"], "updated");
    assert_eq!(greeting["changes"][0]["before"], "Hola");
    let resent: Vec<&Value> = resources
        .iter()
        .filter(|r| r["action"] == "secret_resent")
        .collect();
    assert!(!resent.is_empty(), "{data}");
    for text in [&html, &data.to_string()] {
        for secret in SEEDED_SECRETS {
            assert!(!text.contains(secret), "a secret in the report");
        }
    }
    assert_self_contained(&html);
    assert!(html.len() < 300_000, "{} bytes", html.len());

    if let Some(chromium) = chromium() {
        let rendered = assert_renders(&chromium, &html_path, "plan-report").await;
        assert!(rendered.dom.contains("changes pending"), "{}", rendered.dom);
        assert!(rendered.dom.contains("Show Configuration"));
        assert_eq!(png_size(&rendered.screenshot).0, 390);
    }

    let run = run_deploy(&fleet, "deploy", dir.path(), &["--report-dir", report_arg]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(report_dir.join("octofleet-deploy-America.html")).unwrap();
    let project_id = downstream_id(&fleet);
    let link = format!(
        "href=\"{}/app#/{}/projects/{project_id}\"",
        fleet.emulator.url().trim_end_matches('/'),
        america(&fleet)
    );
    assert!(html.contains(&link), "{link}: {html}");
    assert_self_contained(&html);

    // Under Octopus, the step's working directory by default.
    let working = tempfile::tempdir().unwrap();
    let marker = working.path().to_str().unwrap();
    let env = deploy_env(&fleet);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("OctopusCalamariWorkingDirectory", marker));
    let plan = octofleet(
        &["plan", "--package-dir", dir.path().to_str().unwrap()],
        &env,
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert!(working.path().join("octofleet-plan-America.html").is_file());
    assert!(
        plan.stderr.is_empty(),
        "a green step looks green: {}",
        plan.stderr
    );

    // `Octofleet.NoReport`: none written, none attached; with a report directory too, exit 2.
    let quiet = tempfile::tempdir().unwrap();
    let quiet_marker = quiet.path().to_str().unwrap();
    let env: Vec<(&str, &str)> = env
        .into_iter()
        .map(|(k, v)| {
            if k == "OctopusCalamariWorkingDirectory" {
                (k, quiet_marker)
            } else {
                (k, v)
            }
        })
        .chain([("OCTOFLEET_NOREPORT", "True")])
        .collect();
    let package = dir.path().to_str().unwrap();
    let plan = octofleet(&["plan", "--package-dir", package], &env).await;
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert_eq!(std::fs::read_dir(quiet.path()).unwrap().count(), 0);
    assert!(!plan.stdout.contains("createArtifact"), "{}", plan.stdout);
    // A report directory that cannot take the report stops the run before any write.
    let blocked = quiet.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    fleet.emulator.clear_requests();
    let run = run_deploy(
        &fleet,
        "deploy",
        dir.path(),
        &["--report-dir", blocked.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("Octofleet.ReportDir"), "{}", run.stderr);
    assert!(
        fleet.emulator.requests().is_empty(),
        "nothing asked, nothing written"
    );
    let both = octofleet(
        &["plan", "--package-dir", package, "--report-dir", report_arg],
        &env,
    )
    .await;
    assert_eq!(both.code, 2, "{}", both.all_output());
    assert!(
        both.all_output().contains("Octofleet.NoReport"),
        "{}",
        both.all_output()
    );
}

/// "Any `secrets.json` value that reached a report is replaced on the way out" (security.md):
/// a script body that spells out the substituted database password and a text variable that
/// holds it are plain text, so the plan and the deploy reports show their changes, but neither
/// the HTML nor the JSON may hold the value; it reads `(sensitive value)` there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_substituted_secret_in_plain_text_is_masked_in_both_reports() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World", true).await;
    assert_eq!(run_deploy(&fleet, "deploy", dir.path(), &[]).await.code, 0);
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("secrets.json")).unwrap())
            .unwrap();
    // The value is what Octopus substituted into secrets.json, not something the test made up.
    assert!(
        secrets
            .as_object()
            .unwrap()
            .values()
            .any(|value| value == SEEDED_SECRETS[0]),
        "{secrets}"
    );
    let (path, mut project) = project_json(dir.path());
    project["deployment_process"]["steps"][1]["actions"][0]["properties"]
        ["Octopus.Action.Script.ScriptBody"] = json!(format!(
        "psql \"postgres://app:{}@db/app\" -c 'select 1'",
        SEEDED_SECRETS[0]
    ));
    let greeting = project["variables"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|v| v["name"] == "App.Greeting")
        .unwrap();
    greeting["value"] = json!(format!("Hello from {}", SEEDED_SECRETS[0]));
    write_json(&path, &project);

    let reports = tempfile::tempdir().unwrap();
    let report_dir = reports.path().to_str().unwrap();
    for (action, code) in [("plan", 3), ("deploy", 0)] {
        let run = run_deploy(&fleet, action, dir.path(), &["--report-dir", report_dir]).await;
        assert_eq!(run.code, code, "{action}: {}", run.all_output());
        let html = std::fs::read_to_string(
            reports
                .path()
                .join(format!("octofleet-{action}-America.html")),
        )
        .unwrap();
        let json_text = std::fs::read_to_string(
            reports
                .path()
                .join(format!("octofleet-{action}-America.json")),
        )
        .unwrap();
        for secret in SEEDED_SECRETS {
            assert!(
                !html.contains(secret) && !json_text.contains(secret),
                "{action}: `{secret}` is in a report"
            );
        }
        // The changes are there, with the secret replaced where it stood.
        assert!(
            html.contains("psql \"postgres://app:(sensitive value)@db/app\"")
                || html.contains("psql &quot;postgres://app:(sensitive value)@db/app&quot;"),
            "{action}: the script change is shown, masked: {html}"
        );
        let data: Value = serde_json::from_str(&json_text).unwrap();
        let greeting = data["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "App.Greeting")
            .unwrap_or_else(|| panic!("{action}: {data}"));
        assert_eq!(
            greeting["changes"][0]["after"], "Hello from (sensitive value)",
            "{action}: {greeting}"
        );
    }
}

/// A sensitive project-template default (the rich project's `Tenant.Key`) reaches a new space
/// through its `secrets.json` entry, substituted from
/// `Octofleet.Secret[Project Templates].Tenant.Key`; unsubstituted, it is refused before anything
/// is written. The default the space holds is kept by a re-deploy (nothing written, plan exit 0)
/// and replaced under `--overwrite-variables`, reported as resent; a plan of the converged space
/// still exits 0, with the flag or without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_template_defaults_are_deployed_from_their_substituted_secret() {
    const VARIABLE: &str = "Octofleet.Secret[Project Templates].Tenant.Key";
    let fleet = fleet_with_rich().await;
    let raw = extracted_package(&fleet, "Rich", false).await;
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", raw.path(), &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(VARIABLE), "{}", run.stderr);
    assert!(fleet.emulator.writes().is_empty(), "nothing written");
    let plan = run_deploy(&fleet, "plan", raw.path(), &[]).await;
    assert!(
        plan.all_output().contains("template `Tenant.Key`") && plan.all_output().contains(VARIABLE),
        "{}",
        plan.all_output()
    );

    let first = package_with_every_secret(&fleet, "Rich", "first-template-secret").await;
    let run = run_deploy(&fleet, "deploy", first.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Rich");
    let id = project["Id"].as_str().unwrap().to_owned();
    let held = || {
        fleet
            .emulator
            .secret_value(&space, &id, "Tenant.Key.DefaultValue")
    };
    assert_eq!(held().as_deref(), Some("first-template-secret"));
    let served = api_get(&fleet.emulator, &format!("/api/{space}/projects/{id}")).await;
    let template = served["Templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "Tenant.Key")
        .unwrap();
    assert_eq!(
        template["DefaultValue"],
        json!({"HasValue": true, "NewValue": null}),
        "never returned: {template}"
    );

    let rotated = package_with_every_secret(&fleet, "Rich", "rotated-template-secret").await;
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", rotated.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "kept without --overwrite-variables: {:?}",
        fleet.emulator.writes()
    );
    assert_eq!(held().as_deref(), Some("first-template-secret"));

    let run = run_deploy(&fleet, "deploy", rotated.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(held().as_deref(), Some("rotated-template-secret"));
    assert!(
        run.all_output().contains("resent    project `Rich`"),
        "{}",
        run.all_output()
    );
    assert!(!run.all_output().contains("rotated-template-secret"));
    for args in [&[][..], &["--overwrite-variables"][..]] {
        let plan = run_deploy(&fleet, "plan", rotated.path(), args).await;
        assert_eq!(plan.code, 0, "{args:?}: {}", plan.all_output());
    }
}

/// Rotating a sensitive action property: a re-deploy with a new substituted secret keeps the
/// value the space holds (nothing written), and `--overwrite-variables` sends the new one, which
/// reaches the server (the step reported as resent, not changed); a plan of the converged space
/// still exits 0 with the flag, and without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensitive_action_property_is_rotated_with_overwrite_variables() {
    let fleet = fleet_with_rich().await;
    let first = package_with_every_secret(&fleet, "Rich", "first-action-secret").await;
    let run = run_deploy(&fleet, "deploy", first.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Rich");
    let process_id = format!("deploymentprocess-{}", project["Id"].as_str().unwrap());
    let held = || {
        fleet
            .emulator
            .secret_value(&space, &process_id, "Octopus.Action.Secret")
    };
    assert_eq!(held().as_deref(), Some("first-action-secret"));

    let rotated = package_with_every_secret(&fleet, "Rich", "rotated-action-secret").await;
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", rotated.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );
    assert_eq!(
        held().as_deref(),
        Some("first-action-secret"),
        "kept without the flag"
    );

    let run = run_deploy(&fleet, "deploy", rotated.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(held().as_deref(), Some("rotated-action-secret"));
    assert!(
        run.all_output()
            .contains("resent    step `Rich / Deploy API`"),
        "{}",
        run.all_output()
    );
    assert!(!run.all_output().contains("rotated-action-secret"));
    let served = api_get(
        &fleet.emulator,
        &format!("/api/{space}/deploymentprocesses/{process_id}"),
    )
    .await;
    let action = served["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| step["Actions"].as_array().unwrap())
        .find(|action| action["Name"] == "Deploy API")
        .unwrap();
    assert_eq!(
        action["Properties"]["Octopus.Action.Secret"],
        json!({"HasValue": true, "NewValue": null}),
        "never returned: {action}"
    );

    let plan = run_deploy(&fleet, "plan", rotated.path(), &["--overwrite-variables"]).await;
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert!(
        plan.all_output()
            .contains("? resend step `Rich / Deploy API`"),
        "{}",
        plan.all_output()
    );
    let plan = run_deploy(&fleet, "plan", rotated.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.all_output());

    // Rotated again while upstream also changed the process: one write of the process carries
    // both.
    let again = package_with_every_secret(&fleet, "Rich", "third-action-secret").await;
    let (path, mut package) = project_json(again.path());
    package["deployment_process"]["steps"][0]["actions"][0]["notes"] = json!("edited upstream");
    write_json(&path, &package);
    fleet.emulator.clear_requests();
    let run = run_deploy(&fleet, "deploy", again.path(), &["--overwrite-variables"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(held().as_deref(), Some("third-action-secret"));
    assert!(
        run.all_output().contains("updated   step"),
        "{}",
        run.all_output()
    );
    let process_writes = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|write| write.path.ends_with(&process_id))
        .count();
    assert_eq!(process_writes, 1, "{:?}", fleet.emulator.writes());
}

// Config-as-Code deploys as a real server runs them (issue 18): the fork already holds the
// upstream's OCL, the conversion connects to it, text variables live in git from the
// conversion on, and a package that carries text variables commits them through the
// branch-scoped route.

/// The fork `octofleet fork` made of the template's repository (same base path).
const FORK: &str = "https://git.example.com/octopuscac/america_hello_world_cac.git";
const BASE_PATH: &str = ".octopus/hello_world_cac";

/// The template's repository forked for America, as `octofleet fork` leaves it.
fn fork_the_template(fleet: &Fleet) {
    fleet
        .emulator
        .fork_repository((CAC_URL, BASE_PATH), (FORK, BASE_PATH));
}

/// `project` serialized from `space` with its git values (`--include-cac-values`), with the
/// default filters (the template) or none (the downstream, read back).
async fn with_git_values(
    fleet: &Fleet,
    space: &str,
    project: &str,
    no_filters: bool,
) -> PortableProject {
    let mut args = vec!["--include-cac-values"];
    if no_filters {
        args.extend([
            "--exclude-runbooks",
            "-",
            "--exclude-library-variable-sets",
            "-",
        ]);
    }
    let mut archive = serialized(fleet, space, project, &args).await;
    let mut text = String::new();
    archive
        .by_name("project.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn step_names(process: &Value) -> Vec<&str> {
    process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect()
}

/// The "Done when" of issue 18: the template keeps its text variables in its database (a
/// project converted before Git variables: `carries_text_variables`), the fork has no
/// `variables.ocl`; after deploy the downstream, as the server returns it, holds them in git,
/// its secret in the database, and the process the fork holds; a re-deploy writes nothing and
/// a plan is clean; both sides serialized with their git values are the same project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_with_database_text_variables_ends_with_them_in_the_downstreams_git() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    let (_, package) = project_json(dir.path());
    assert_eq!(
        package["project"]["version_control"]["carries_text_variables"],
        json!(true)
    );
    fork_the_template(&fleet);

    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Hello World CaC");
    let pid = project["Id"].as_str().unwrap().to_owned();
    assert_eq!(
        project["PersistenceSettings"]["ConversionState"],
        json!({"VariablesAreInGit": true, "RunbooksAreInGit": false})
    );
    // As the server returns them over its API.
    let in_git = api_get(
        &fleet.emulator,
        &format!("/api/{space}/projects/{pid}/refs%2Fheads%2Fmain/variables"),
    )
    .await;
    let text: Vec<(&str, &str)> = in_git["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["Name"].as_str().unwrap(), v["Value"].as_str().unwrap()))
        .collect();
    assert_eq!(text, [("Slack.Channel", "#deployments")]);
    assert_eq!(
        project_variables(&fleet, &space, &pid),
        ["\"Slack.Token\"=null"]
    );
    assert_eq!(
        fleet
            .emulator
            .secret_value(&space, &pid, "Slack.Token")
            .as_deref(),
        Some(SEEDED_SECRETS[1])
    );
    // The conversion connected to the fork's OCL instead of committing the new project's
    // empty database process over it.
    let process = api_get(
        &fleet.emulator,
        &format!("/api/{space}/projects/{pid}/main/deploymentprocesses"),
    )
    .await;
    assert_eq!(step_names(&process), ["Approve Production", "Hello World"]);
    let writes = fleet.emulator.writes();
    let git_writes: Vec<&str> = writes
        .iter()
        .filter(|w| {
            w.path.contains("/main/variables") || w.path.contains("refs%2Fheads%2Fmain/variables")
        })
        .map(|w| w.method.as_str())
        .collect();
    assert_eq!(git_writes, ["PUT"], "one commit of the text variables");

    // Both sides as the server returns them: the process from each one's git, variables
    // from wherever each keeps them.
    assert_server_views_equal(&fleet, "Hello World CaC", |upstream| {
        upstream["settings"]["PersistenceSettings"]["Url"] = json!(FORK);
        // Converted by a current server downstream: text variables in git.
        upstream["settings"]["PersistenceSettings"]["ConversionState"]["VariablesAreInGit"] =
            json!(true);
    });
    let upstream = with_git_values(&fleet, "Spaces-1", "Hello World CaC", false).await;
    let downstream = with_git_values(&fleet, &space, "Hello World CaC", true).await;
    let mut expected = comparable(&upstream);
    expected["project"]["version_control"]["url"] = json!(FORK);
    assert_eq!(comparable(&downstream), expected);

    fleet.emulator.clear_requests();
    let again = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "re-deploy wrote: {:?}",
        fleet.emulator.writes()
    );
    let plan = run_deploy(&fleet, "plan", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

/// A text variable the template adds reaches the downstream's git; one the downstream edited
/// keeps its value unless `--overwrite-variables` (the same rules as the database set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_text_variables_are_committed_and_downstream_edits_kept() {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    let dir = extracted_package(&fleet, "Hello World CaC", true).await;
    fork_the_template(&fleet);
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let space = america(&fleet);
    let pid = fleet.project_named(&space, "Hello World CaC")["Id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (path, mut package) = project_json(dir.path());
    let variables = package["variables"].as_array_mut().unwrap();
    for variable in variables.iter_mut() {
        if variable["name"] == "Slack.Channel" {
            variable["value"] = json!("#changed");
        }
    }
    variables.push(json!({"name": "Slack.Icon", "type": "String", "value": ":rocket:"}));
    std::fs::write(&path, serde_json::to_string_pretty(&package).unwrap()).unwrap();

    let plan = run_deploy(&fleet, "plan", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(plan.code, 3, "{}{}", plan.stdout, plan.stderr);
    let run = run_deploy(&fleet, "deploy", dir.path(), &["--git-url", FORK]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        git_variables(&fleet, &space, &pid),
        [
            "\"Slack.Channel\"=\"#deployments\"",
            "\"Slack.Icon\"=\":rocket:\""
        ]
    );
    let run = run_deploy(
        &fleet,
        "deploy",
        dir.path(),
        &["--git-url", FORK, "--overwrite-variables"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        git_variables(&fleet, &space, &pid),
        [
            "\"Slack.Channel\"=\"#changed\"",
            "\"Slack.Icon\"=\":rocket:\""
        ]
    );
    assert_eq!(
        project_variables(&fleet, &space, &pid),
        ["\"Slack.Token\"=null"],
        "no text variable in the database set"
    );
}

/// The donor package of a versioning strategy moves to a renamed step (issue 18, item 6). A
/// process write that drops the donor's step leaves the project unloadable on a real server
/// (OctopusDeploy/Issues#7230, #7521), so the deploy versions by a template across the write and
/// sets the new donor after it; and servers before 2024.1.1085 keep a template sent as `null`
/// (#8455), so the switch back to a donor clears it with `""`. Both kinds of server; a deploy
/// stopped at the project write leaves the project loadable, and a re-run converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_moving_to_a_renamed_step_never_dangles_on_old_or_new_servers() {
    for keeps_template_on_null in [false, true] {
        let fleet = fleet_with(EmulatorConfig {
            keeps_template_on_null,
            ..EmulatorConfig::default()
        })
        .await;
        seed_rich_dependencies(&fleet.emulator, "Spaces-1");
        seed_rich_project(&fleet.emulator, "Spaces-1");
        seed_rich_dependencies(&fleet.emulator, &america(&fleet));
        let dir = extracted_package(&fleet, "Rich", true).await;
        let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let space = america(&fleet);
        let project = fleet.project_named(&space, "Rich");
        let pid = project["Id"].as_str().unwrap().to_owned();
        assert_eq!(
            project["VersioningStrategy"]["DonorPackage"]["DeploymentAction"],
            "Deploy API"
        );

        // Upstream renamed the donor's step; the donor follows it.
        let path = dir.path().join("project.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"Deploy API\"", "\"Deploy API v2\"")).unwrap();

        // A deploy stopped at its first project write: nothing dangles.
        fleet
            .emulator
            .deny("PUT", &format!("/projects/{pid}"), "ProjectEdit");
        let stopped = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(stopped.code, 1, "{}", stopped.stderr);
        let loaded = reqwest::Client::new()
            .get(format!(
                "{}/api/{space}/projects/{pid}",
                fleet.emulator.url()
            ))
            .header("X-Octopus-ApiKey", API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(
            loaded.status().as_u16(),
            200,
            "keeps_template_on_null {keeps_template_on_null}: the project must stay loadable: {}",
            loaded.text().await.unwrap()
        );

        fleet.emulator.clear_faults();
        let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(
            run.code, 0,
            "keeps_template_on_null {keeps_template_on_null}: {}",
            run.stderr
        );
        let project = fleet.project_named(&space, "Rich");
        let strategy = &project["VersioningStrategy"];
        assert_eq!(
            strategy["DonorPackage"]["DeploymentAction"],
            "Deploy API v2"
        );
        assert!(
            strategy["Template"].as_str().unwrap_or_default().is_empty(),
            "{strategy}"
        );
        fleet.emulator.clear_requests();
        let again = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(
            fleet.emulator.writes().is_empty(),
            "re-deploy wrote: {:?}",
            fleet.emulator.writes()
        );
    }
}

/// Reads sent together (issue 20) fail as a sequential read did: one failing read of a group is
/// named, with the same exit code and nothing written; with two failing, the one first in program
/// order is reported even when it answers last (here after a retry), never whichever failed first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_among_concurrent_reads_is_reported_in_program_order() {
    let fleet = fleet_with_rich().await;
    let dir = extracted_package(&fleet, "Rich", true).await;
    let deployed = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Rich");
    let pid = project["Id"].as_str().unwrap().to_owned();

    // The channels are read beside the process, the variables, the runbooks, the triggers and
    // the space's index.
    let channels = format!("/projects/{pid}/channels");
    fleet.emulator.deny("GET", &channels, "ProjectView");
    fleet.emulator.clear_requests();
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stderr.contains(&channels), "{}", plan.stderr);
    assert!(plan.stderr.contains("ProjectView"), "{}", plan.stderr);
    assert!(fleet.emulator.writes().is_empty());

    // The process read comes before the channels in program order; it fails too, but only
    // after a retry (a 503 first), so the channels' refusal arrives first.
    fleet
        .emulator
        .refuse("GET", "/deploymentprocesses/", 1, 503);
    fleet
        .emulator
        .deny("GET", "/deploymentprocesses/", "ProcessView");
    let deploy = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(deploy.code, 1, "{}", deploy.stderr);
    assert!(
        deploy.stderr.contains("/deploymentprocesses/") && deploy.stderr.contains("ProcessView"),
        "the first read in program order is reported: {}",
        deploy.stderr
    );
    assert!(!deploy.stderr.contains(&channels), "{}", deploy.stderr);
    assert!(fleet.emulator.writes().is_empty());
    crate::support::fault_rules::assert_every_fault_fired(&fleet.emulator);
}

/// Independent reads go out together, yet never more than the client's bound
/// (`MAX_IN_FLIGHT`, 8) at once: counted from the emulator's log of when each request arrived
/// and was answered, with a latency long enough for reads sent together to overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_out_together_but_never_more_than_eight_at_once() {
    let fleet = fleet_with_rich().await;
    let dir = extracted_package(&fleet, "Rich", true).await;
    let deployed = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    fleet
        .emulator
        .set_latency(std::time::Duration::from_millis(40));
    fleet.emulator.clear_requests();
    let plan = run_deploy(&fleet, "plan", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let requests = fleet.emulator.requests();
    // Answers before arrivals at the same instant: a request that ended frees its place.
    let mut events: Vec<(u64, i32)> = requests
        .iter()
        .flat_map(|r| [(r.received_us, 1), (r.answered_us, -1)])
        .collect();
    events.sort();
    let most = events
        .iter()
        .scan(0, |in_flight, (_, step)| {
            *in_flight += step;
            Some(*in_flight)
        })
        .max()
        .unwrap_or(0);
    assert!(
        (2..=8).contains(&most),
        "{most} requests were in flight at once (of {})",
        requests.len()
    );
}

/// deploy looks the managed space up while it reads the package, and the errors keep the order
/// they had one after the other: with a bad package and no space for the tenant, the package is
/// what is reported (exit 2), not the missing space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_package_is_reported_before_a_missing_space() {
    let fleet = Fleet::start().await;
    assert!(fleet.space_named("America").is_none(), "no space yet");
    let empty = tempfile::tempdir().unwrap();
    for action in ["deploy", "plan"] {
        let run = run_deploy(&fleet, action, empty.path(), &[]).await;
        assert_eq!(run.code, 2, "{action}: {}", run.all_output());
        assert!(
            run.stderr.contains("project.json") && !run.stderr.contains("create-space"),
            "{action}: the package, not the space: {}",
            run.stderr
        );
    }
}

/// "Ops" (one step; two runbooks "Runbook 00" and "Runbook 01" of two steps each) in Spaces-1;
/// returns its ID.
fn seed_ops(fleet: &Fleet) -> String {
    octofleet_sandbox::seed_large_project(
        &fleet.emulator,
        "Spaces-1",
        "Ops",
        octofleet_sandbox::LargeProjectShape {
            steps: 1,
            variables: 0,
            environments: 0,
            runbooks: 2,
            runbook_steps: 2,
            library_variable_sets: 0,
        },
    )
}

/// "Ops" with `variables` in its set (given the process of its "Runbook 01").
fn seed_ops_with_variables(fleet: &Fleet, variables: impl FnOnce(&Value) -> Value) {
    let project_id = seed_ops(fleet);
    let process = runbook_process(fleet, "Spaces-1", &project_id, "Runbook 01");
    fleet
        .emulator
        .seed_variables("Spaces-1", &project_id, variables(&process));
}

/// "Ops" with `variables` serialized from Spaces-1, then the emulator answering after `latency`
/// with its request log cleared: the setup of the tests of writes sent together.
async fn ops_ready_to_deploy(
    variables: impl FnOnce(&Value) -> Value,
    latency: std::time::Duration,
) -> (Fleet, tempfile::TempDir) {
    let fleet = fleet_with(EmulatorConfig::default()).await;
    seed_ops_with_variables(&fleet, variables);
    let dir = extracted_package(&fleet, "Ops", false).await;
    fleet.emulator.set_latency(latency);
    fleet.emulator.clear_requests();
    (fleet, dir)
}

/// The process of `project_id`'s runbook named `name`, as the emulator holds it.
fn runbook_process(fleet: &Fleet, space: &str, project_id: &str, name: &str) -> Value {
    let runbook = fleet
        .emulator
        .list(space, "runbooks")
        .into_iter()
        .find(|r| r["ProjectId"] == project_id && r["Name"] == name)
        .unwrap_or_else(|| panic!("{project_id} has a runbook {name}"));
    fleet
        .emulator
        .get(
            space,
            "runbookProcesses",
            runbook["RunbookProcessId"].as_str().unwrap(),
        )
        .unwrap()
}

/// When the emulator received the first request matching `method` and `path` (by substring),
/// and when it answered the last: from its log, in microseconds.
fn first_received_last_answered(fleet: &Fleet, method: &str, path: &str) -> (u64, u64) {
    let matching: Vec<_> = fleet
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.contains(path))
        .collect();
    assert!(!matching.is_empty(), "no {method} {path} in the log");
    (
        matching.iter().map(|r| r.received_us).min().unwrap(),
        matching.iter().map(|r| r.answered_us).max().unwrap(),
    )
}

/// A variable scoped to a runbook's step needs the step's id downstream, which the server gives
/// when that runbook's process is written: the variables wait for the runbooks' processes, and
/// the scope arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_scoped_to_a_runbook_step_waits_for_that_step() {
    let (fleet, dir) = ops_ready_to_deploy(
        |process| {
            let action = &process["Steps"][1]["Actions"][0];
            json!([
                {"Name": "Rotation.Window", "Value": "02:00", "Type": "String", "Scope": {"Action": [action["Id"]]}},
                {"Name": "Plain", "Value": "p", "Type": "String"}
            ])
        },
        std::time::Duration::from_millis(20),
    )
    .await;
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let space = america(&fleet);
    let project = fleet.project_named(&space, "Ops");
    let project_id = project["Id"].as_str().unwrap();
    let process = runbook_process(&fleet, &space, project_id, "Runbook 01");
    let action = &process["Steps"][1]["Actions"][0];
    let set = fleet.emulator.get(&space, "variables", project_id).unwrap();
    let scoped = set["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["Name"] == "Rotation.Window")
        .expect("the scoped variable was deployed");
    assert_eq!(
        scoped["Scope"]["Action"],
        json!([action["Id"]]),
        "scoped to {} downstream: {scoped}",
        action["Name"]
    );
    let (_, processes_answered) = first_received_last_answered(&fleet, "PUT", "/runbookProcesses/");
    let (variables_received, _) = first_received_last_answered(&fleet, "PUT", "/variables/");
    assert!(
        variables_received >= processes_answered,
        "the variables went out before the runbooks' processes were written"
    );
}

/// With no variable scoped to a runbook's step, a first deploy's independent writes go out
/// together: the runbooks beside the project's process, the variables beside the runbooks'
/// processes (timed from the emulator's log, with a latency long enough to tell). The writes
/// stay ordered where the server needs it: each runbook's process after its runbook, the
/// process after the project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_deploy_sends_independent_writes_together() {
    let (fleet, dir) = ops_ready_to_deploy(
        |_| json!([{"Name": "Plain", "Value": "p", "Type": "String"}]),
        std::time::Duration::from_millis(60),
    )
    .await;
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let (project_received, project_answered) =
        first_received_last_answered(&fleet, "POST", "/projects");
    let (runbooks_received, runbooks_answered) =
        first_received_last_answered(&fleet, "POST", "/runbooks");
    let (process_received, process_answered) =
        first_received_last_answered(&fleet, "PUT", "/deploymentprocesses/");
    let (runbook_processes_received, runbook_processes_answered) =
        first_received_last_answered(&fleet, "PUT", "/runbookProcesses/");
    let (variables_received, _) = first_received_last_answered(&fleet, "PUT", "/variables/");
    assert!(project_received < project_answered);
    assert!(runbooks_received >= project_answered && process_received >= project_answered);
    assert!(runbook_processes_received >= runbooks_answered);
    assert!(
        runbooks_received < process_answered,
        "the runbooks waited for the project's process"
    );
    assert!(
        variables_received < runbook_processes_answered,
        "the variables waited for the runbooks' processes"
    );
}

/// With the managed space's id, its index is read beside the lookup; a space that is not there
/// is what the deploy reports (as when the lookup went first), not the index's failed reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_space_id_is_reported_before_the_index_reads() {
    let fleet = fleet_with_rich().await;
    let dir = extracted_package(&fleet, "Rich", true).await;
    let mut env = deploy_env(&fleet);
    env.retain(|(name, _)| name != "OCTOPUS_DEPLOYMENT_TENANT_NAME");
    env.push(("MANAGEDTENANT_OCTOPUS_SPACEID".into(), "Spaces-404".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for action in ["deploy", "plan"] {
        fleet.emulator.clear_requests();
        let run = octofleet(
            &[action, "--package-dir", dir.path().to_str().unwrap()],
            &env,
        )
        .await;
        assert_ne!(run.code, 0, "{action}: {}", run.all_output());
        assert!(
            run.stderr.contains("Spaces-404")
                && run.stderr.contains("ManagedTenant.Octopus.SpaceId")
                && !run.stderr.contains("environments"),
            "{action}: the space, not its index: {}",
            run.stderr
        );
        assert!(fleet.emulator.writes().is_empty());
    }
}

/// Writes sent together fail as sequential ones did: with the project's process and a runbook
/// both refused, the process (first in program order) is reported though the runbook's refusal
/// answers first (the process goes out after the project's parts are read); the other writes
/// ran to their end, and a second deploy converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_among_concurrent_writes_is_reported_in_program_order() {
    let (fleet, dir) = ops_ready_to_deploy(
        |_| json!([{"Name": "Plain", "Value": "p", "Type": "String"}]),
        std::time::Duration::from_millis(20),
    )
    .await;
    fleet
        .emulator
        .refuse("PUT", "/deploymentprocesses/", 1, 400);
    fleet.emulator.refuse("POST", "/runbooks", 1, 400);
    let run = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr.contains("/deploymentprocesses/") && !run.stderr.contains("/runbooks"),
        "the first write in program order is reported: {}",
        run.stderr
    );
    assert_every_fault_fired(&fleet.emulator);
    let refused_runbook = fleet
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.contains("/runbooks") && r.status == 400)
        .expect("a runbook was refused")
        .answered_us;
    let (_, process_answered) =
        first_received_last_answered(&fleet, "PUT", "/deploymentprocesses/");
    assert!(
        refused_runbook < process_answered,
        "the runbook's refusal came first"
    );

    let again = run_deploy(&fleet, "deploy", dir.path(), &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    let space = america(&fleet);
    let project = fleet.project_named(&space, "Ops");
    let project_id = project["Id"].as_str().unwrap();
    for name in ["Runbook 00", "Runbook 01"] {
        let process = runbook_process(&fleet, &space, project_id, name);
        assert_eq!(process["Steps"].as_array().unwrap().len(), 2, "{name}");
    }
}
