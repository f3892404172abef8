//! Issue 24: the script modules a template project includes travel in its package (body and
//! language) and reach every managed space, created or updated there by name; a same-named
//! variable set of the other content type is refused before any write.

use crate::support::definitions::{deploy_run, drift_lines, serialize_and_push, space_id};
use crate::support::Fleet;
use serde_json::{json, Value};

const PROJECT: &str = "Scripted";
const BASH: &str = "Deploy Helpers";
const POWERSHELL: &str = "Windows Helpers";

fn id(doc: &Value) -> String {
    doc["Id"].as_str().unwrap().to_owned()
}

fn named(fleet: &Fleet, space: &str, collection: &str, name: &str) -> Option<Value> {
    fleet
        .emulator
        .list(space, collection)
        .into_iter()
        .find(|item| item["Name"] == name)
}

/// A script module in `space` as the server returns it: the set's name, description and content
/// type, and its variables' names and values.
fn module_view(fleet: &Fleet, space: &str, name: &str) -> Value {
    let set = named(fleet, space, "libraryvariablesets", name)
        .unwrap_or_else(|| panic!("no `{name}` in {space}"));
    let variables = fleet
        .emulator
        .get(space, "variables", set["VariableSetId"].as_str().unwrap())
        .unwrap();
    let mut pairs: Vec<(String, String)> = variables["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["Name"].as_str().unwrap().to_owned(),
                v["Value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    json!({"Name": set["Name"], "Description": set["Description"], "ContentType": set["ContentType"], "Variables": pairs})
}

/// Set a module's body and language in `space` as the Octopus UI saves them.
fn write_module(fleet: &Fleet, space: &str, set: &Value, body: &str, syntax: &str) {
    let name = set["Name"].as_str().unwrap();
    fleet.emulator.seed_variables(space, &id(set), json!([
        {"Name": format!("Octopus.Script.Module[{name}]"), "Value": body, "Type": "String"},
        {"Name": format!("Octopus.Script.Module.Language[{name}]"), "Value": syntax, "Type": "String"}
    ]));
}

/// The management space with a Bash and a PowerShell module included by the project (and one
/// ordinary variable set beside them); America's space created by create-space.
async fn fleet_with_modules() -> Fleet {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    let bash = fleet.emulator.seed(
        "Spaces-1",
        "libraryvariablesets",
        json!({"Name": BASH, "Description": "Shell helpers", "ContentType": "ScriptModule"}),
    );
    write_module(
        &fleet,
        "Spaces-1",
        &bash,
        "deploy_helper() { echo \"deploying $1\"; }",
        "Bash",
    );
    let powershell = fleet.emulator.seed(
        "Spaces-1",
        "libraryvariablesets",
        json!({"Name": POWERSHELL, "ContentType": "ScriptModule"}),
    );
    write_module(
        &fleet,
        "Spaces-1",
        &powershell,
        "function Write-Deploy($Name) { Write-Host \"deploying $Name\" }",
        "PowerShell",
    );
    let lifecycle = id(&named(&fleet, "Spaces-1", "lifecycles", "Default Lifecycle").unwrap());
    let group = id(&named(&fleet, "Spaces-1", "projectgroups", "Default Project Group").unwrap());
    let project = fleet.emulator.seed(
        "Spaces-1",
        "projects",
        json!({
            "Name": PROJECT, "LifecycleId": lifecycle, "ProjectGroupId": group,
            "IncludedLibraryVariableSetIds": [id(&bash), id(&powershell)]
        }),
    );
    fleet.emulator.seed_process("Spaces-1", project["DeploymentProcessId"].as_str().unwrap(), json!([
        {"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.Script", "Properties": {
            "Octopus.Action.Script.ScriptBody": "deploy_helper app", "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.RunOnServer": "true"
        }}]}
    ]));
    fleet
}

/// Done when: a template project that includes a Bash and a PowerShell module deploys into a
/// fresh managed space, and the modules there hold the same bodies and languages, as the server
/// returns them; plan then exits 0, and a re-deploy writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_and_powershell_modules_reach_a_fresh_space_as_they_are_upstream() {
    let fleet = fleet_with_modules().await;
    let america = space_id(&fleet, "America");
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", "unused").await;
    let run = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in [BASH, POWERSHELL] {
        assert!(
            run.stderr
                .contains(&format!("created   script module `{name}`")),
            "{}",
            run.stderr
        );
        assert_eq!(
            module_view(&fleet, &america, name),
            module_view(&fleet, "Spaces-1", name),
            "{name}"
        );
    }
    // The project includes the managed space's modules.
    let project = fleet.project_named(&america, PROJECT);
    let mut included: Vec<String> = project["IncludedLibraryVariableSetIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            fleet
                .emulator
                .get(&america, "libraryvariablesets", id.as_str().unwrap())
                .unwrap()["Name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    included.sort();
    assert_eq!(included, [BASH, POWERSHELL]);

    let plan = deploy_run(&fleet, "plan", dir.path(), "America", &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    fleet.emulator.clear_requests();
    assert_eq!(
        deploy_run(&fleet, "deploy", dir.path(), "America", &[])
            .await
            .code,
        0
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );
}

/// Done when: a module changed upstream shows in plan and is updated by deploy. A tenant's edit
/// downstream is kept, with the same report lines as other resources, until overwrite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_changed_upstream_is_planned_and_updated_and_a_tenants_edit_is_kept() {
    let fleet = fleet_with_modules().await;
    let america = space_id(&fleet, "America");
    let first = serialize_and_push(&fleet, PROJECT, "1.0.0", "unused").await;
    assert_eq!(
        deploy_run(&fleet, "deploy", first.path(), "America", &[])
            .await
            .code,
        0
    );

    let upstream = named(&fleet, "Spaces-1", "libraryvariablesets", BASH).unwrap();
    write_module(
        &fleet,
        "Spaces-1",
        &upstream,
        "deploy_helper() { echo \"v2 $1\"; }",
        "Bash",
    );
    let second = serialize_and_push(&fleet, PROJECT, "1.0.1", "unused").await;
    fleet.emulator.clear_requests();
    let plan = deploy_run(&fleet, "plan", second.path(), "America", &[]).await;
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    assert!(
        drift_lines(&plan).contains(&format!("~ update script module `{BASH}` (body)")),
        "{:#?}",
        drift_lines(&plan)
    );
    assert!(fleet.emulator.writes().is_empty());
    let run = deploy_run(&fleet, "deploy", second.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("updated   script module `{BASH}` (body)")),
        "{}",
        run.stderr
    );
    assert_eq!(
        module_view(&fleet, &america, BASH),
        module_view(&fleet, "Spaces-1", BASH)
    );

    // The tenant changes the module's language and body in their space.
    let downstream = named(&fleet, &america, "libraryvariablesets", BASH).unwrap();
    write_module(
        &fleet,
        &america,
        &downstream,
        "Write-Host tenant",
        "PowerShell",
    );
    let run = deploy_run(&fleet, "deploy", second.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "kept      script module `{BASH}` (downstream edit: body, syntax)"
        )),
        "{}",
        run.stderr
    );
    let kept = module_view(&fleet, &america, BASH);
    let body = json!([
        format!("Octopus.Script.Module[{BASH}]"),
        "Write-Host tenant"
    ]);
    assert!(
        kept["Variables"].as_array().unwrap().contains(&body),
        "{kept}"
    );
    assert_eq!(
        deploy_run(&fleet, "plan", second.path(), "America", &[])
            .await
            .code,
        0,
        "a kept edit is no change"
    );
    let run = deploy_run(
        &fleet,
        "deploy",
        second.path(),
        "America",
        &["--overwrite-variables", "true"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        module_view(&fleet, &america, BASH),
        module_view(&fleet, "Spaces-1", BASH)
    );
}

/// Done when: a same-named variable set of the wrong content type is refused before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_named_variable_set_is_refused_before_any_write() {
    let fleet = fleet_with_modules().await;
    let america = space_id(&fleet, "America");
    fleet.emulator.seed(
        &america,
        "libraryvariablesets",
        json!({"Name": BASH, "ContentType": "Variables"}),
    );
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", "unused").await;
    fleet.emulator.clear_requests();
    for action in ["plan", "deploy"] {
        let run = deploy_run(&fleet, action, dir.path(), "America", &[]).await;
        assert_eq!(run.code, 2, "{action}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "library variable set `{BASH}` in the managed space holds variables"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );
}

/// create-space's blueprint declares script modules, the body inline or from a file beside the
/// blueprint; a second run writes nothing; a bad language is one clear error (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blueprint_declares_script_modules_inline_or_from_a_file() {
    let fleet = Fleet::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("modules")).unwrap();
    std::fs::write(
        dir.path().join("modules/helpers.ps1"),
        "function Write-Deploy { 'deploying' }\n",
    )
    .unwrap();
    let blueprint = dir.path().join("blueprint.yaml");
    std::fs::write(&blueprint, format!(
        "script_modules:\n  - name: {BASH}\n    syntax: bash\n    body: |\n      deploy_helper() {{ echo hi; }}\n  - name: {POWERSHELL}\n    description: From a file.\n    syntax: PowerShell\n    body_file: modules/helpers.ps1\n"
    )).unwrap();
    let path = blueprint.to_str().unwrap();
    let run = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let america = space_id(&fleet, "America");
    let bash = module_view(&fleet, &america, BASH);
    assert_eq!(bash["ContentType"], "ScriptModule");
    assert!(
        bash["Variables"].as_array().unwrap().contains(&json!([
            format!("Octopus.Script.Module.Language[{BASH}]"),
            "Bash"
        ])),
        "{bash}"
    );
    let powershell = module_view(&fleet, &america, POWERSHELL);
    assert!(
        powershell["Variables"]
            .as_array()
            .unwrap()
            .contains(&json!([
                format!("Octopus.Script.Module[{POWERSHELL}]"),
                "function Write-Deploy { 'deploying' }\n"
            ])),
        "{powershell}"
    );

    fleet.emulator.clear_requests();
    let again = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    let writes: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|w| !w.path.contains("/tenants/"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    std::fs::write(
        &blueprint,
        format!("script_modules:\n  - name: {BASH}\n    syntax: Ruby\n    body: puts 1\n"),
    )
    .unwrap();
    let bad = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("syntax `Ruby` is not one of"),
        "{}",
        bad.stderr
    );
}
