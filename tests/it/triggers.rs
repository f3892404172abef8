//! Project triggers travel (issue 23): a template project's scheduled runbook trigger, scheduled
//! deployment trigger and deployment target trigger (and its feed and built-in feed triggers)
//! are serialized by name and deployed into managed spaces, where every id they hold is the
//! managed space's. Everything is read back through the emulator's API, never from octofleet's
//! own output.

use crate::support::packages::{extract, run_on_package, serialize_run};
use crate::support::{api_get, Fleet, Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::{json, Value};
use std::path::Path;

const PROJECT: &str = "Scheduled App";

/// The id of the item of `collection` named `name` in `space`.
fn id_named(fleet: &Fleet, space: &str, collection: &str, name: &str) -> String {
    fleet
        .emulator
        .list(space, collection)
        .into_iter()
        .find(|item| item["Name"] == name)
        .unwrap_or_else(|| panic!("no {collection} `{name}` in {space}"))["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn environment(fleet: &Fleet, space: &str, name: &str) -> String {
    id_named(fleet, space, "environments", name)
}

/// The template project (beside the article's): a deployment step, a "Hotfix" channel, the runbook "Nightly Backup"
/// and a management runbook the package leaves out, with a trigger for each kind that travels
/// and one for the left-out runbook. Returns the project's id.
fn seed_template(fleet: &Fleet) -> String {
    let emulator = &fleet.emulator;
    // The article's template projects, and with them the environments.
    octofleet_sandbox::seed_template_projects(
        emulator,
        &fleet.management,
        "https://git.example.com/o/r.git",
    );
    let space = MANAGEMENT_SPACE;
    let project = emulator.seed(
        space,
        "projects",
        json!({"Name": PROJECT, "LifecycleId": id_named(fleet, space, "lifecycles", "Default Lifecycle"),
               "ProjectGroupId": id_named(fleet, space, "projectgroups", "Default Project Group")}),
    );
    let project_id = project["Id"].as_str().unwrap().to_owned();
    emulator.seed_process(
        space,
        project["DeploymentProcessId"].as_str().unwrap(),
        json!([{"Name": "Deploy", "Properties": {}, "Actions": [{
            "Name": "Deploy", "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptSource": "Inline",
                           "Octopus.Action.Script.ScriptBody": "echo deploying"}}]}]),
    );
    let hotfix = emulator.seed(
        space,
        "channels",
        json!({"Name": "Hotfix", "ProjectId": project_id}),
    );
    let backup = emulator.seed(
        space,
        "runbooks",
        json!({"Name": "Nightly Backup", "ProjectId": project_id}),
    );
    let internal = emulator.seed(
        space,
        "runbooks",
        json!({"Name": "__ Internal sync", "ProjectId": project_id}),
    );
    let production = environment(fleet, space, "Production");
    let test = environment(fleet, space, "Test");
    for trigger in [
        json!({"Name": "Nightly backup", "Description": "Back up at 02:00",
               "Filter": {"FilterType": "CronExpressionSchedule", "CronExpression": "0 0 2 * * *", "Timezone": "UTC"},
               "Action": {"ActionType": "RunRunbook", "RunbookId": backup["Id"], "EnvironmentIds": [production],
                          "TenantIds": [], "TenantTags": []}}),
        json!({"Name": "Promote to Production",
               "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-03-22T09:00:00.000",
                          "DaysOfWeek": ["Monday", "Friday"], "Timezone": "E. Australia Standard Time"},
               "Action": {"ActionType": "DeployLatestRelease", "SourceEnvironmentIds": [test],
                          "DestinationEnvironmentId": production, "ChannelId": hotfix["Id"],
                          "ShouldRedeployWhenReleaseIsCurrent": true, "TenantIds": [], "TenantTags": []}}),
        json!({"Name": "New web server",
               "Filter": {"FilterType": "MachineFilter", "EnvironmentIds": [production], "Roles": ["web"],
                          "EventGroups": ["MachineAvailableForDeployment"], "EventCategories": []},
               "Action": {"ActionType": "AutoDeploy", "ShouldRedeployWhenMachineHasBeenDeployedTo": false}}),
        json!({"Name": "Internal sync",
               "Filter": {"FilterType": "CronExpressionSchedule", "CronExpression": "0 */5 * * * *", "Timezone": "UTC"},
               "Action": {"ActionType": "RunRunbook", "RunbookId": internal["Id"], "EnvironmentIds": [production]}}),
    ] {
        let mut trigger = trigger;
        trigger["ProjectId"] = json!(project_id);
        emulator.seed(space, "projecttriggers", trigger);
    }
    project_id
}

/// The project's triggers as the server lists them: both categories (runbook triggers are listed
/// only with theirs).
async fn triggers_of(fleet: &Fleet, space: &str, project_id: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for category in ["Deployment", "Runbook"] {
        let page = api_get(
            &fleet.emulator,
            &format!(
                "/api/{space}/projects/{project_id}/triggers?triggerActionCategory={category}"
            ),
        )
        .await;
        all.extend(page["Items"].as_array().unwrap().iter().cloned());
    }
    all
}

fn named<'a>(triggers: &'a [Value], name: &str) -> &'a Value {
    triggers
        .iter()
        .find(|trigger| trigger["Name"] == name)
        .unwrap_or_else(|| panic!("no trigger `{name}` in {triggers:?}"))
}

/// Serialize the template project (no push) into a directory, as deploy's `--package-dir` reads it.
async fn serialize(fleet: &Fleet) -> (Run, tempfile::TempDir) {
    let (run, package) = serialize_run(fleet, MANAGEMENT_SPACE, PROJECT, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    (run, extract(&package.unwrap()))
}

async fn managed_space(fleet: &Fleet, tenant: &str) -> String {
    assert_eq!(fleet.create_space(tenant, &[], &[]).await.code, 0);
    fleet.space_named(tenant).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The id of the downstream project in `space`.
fn project_id(fleet: &Fleet, space: &str) -> String {
    fleet.project_named(space, PROJECT)["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn writes(fleet: &Fleet) -> Vec<String> {
    fleet
        .emulator
        .requests()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "DELETE"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn project_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("project.json")).unwrap()).unwrap()
}

/// Done when: the three kinds of trigger deploy into a fresh managed space and point at its
/// runbook, environments and channel, as the server returns them; plan then exits 0 and a
/// re-deploy writes nothing.
#[tokio::test]
async fn triggers_reach_a_fresh_managed_space_by_name() {
    let fleet = Fleet::start().await;
    seed_template(&fleet);
    let (run, dir) = serialize(&fleet).await;
    assert!(
        run.stderr
            .contains("trigger `Internal sync` runs runbook `__ Internal sync`"),
        "{}",
        run.stderr
    );

    // By name in the package (sorted by name); no id of the management space.
    let package = project_json(dir.path());
    let triggers = package["triggers"].as_array().unwrap();
    let names: Vec<&str> = triggers
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["New web server", "Nightly backup", "Promote to Production"]
    );
    let portable = |name: &str| triggers.iter().find(|t| t["name"] == name).unwrap();
    assert_eq!(
        portable("Nightly backup")["action"]["runbook"],
        "Nightly Backup"
    );
    assert_eq!(
        portable("Nightly backup")["action"]["environments"],
        json!(["Production"])
    );
    let promote = &portable("Promote to Production")["action"];
    assert_eq!(promote["channel"], "Hotfix");
    assert_eq!(promote["source_environments"], json!(["Test"]));
    assert_eq!(promote["destination_environment"], "Production");
    assert_eq!(
        portable("New web server")["filter"]["environments"],
        json!(["Production"])
    );
    let text = serde_json::to_string(&package["triggers"]).unwrap();
    for prefix in ["Environments-", "Runbooks-", "Channels-", "Projects-"] {
        assert!(!text.contains(prefix), "{prefix} in {text}");
    }

    let america = managed_space(&fleet, "America").await;
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);

    let project_id = project_id(&fleet, &america);
    let downstream = triggers_of(&fleet, &america, &project_id).await;
    assert_eq!(downstream.len(), 3, "{downstream:?}");
    // Without a category the server lists no runbook trigger (octoterra reads both for this).
    let uncategorised = api_get(
        &fleet.emulator,
        &format!("/api/{america}/projects/{project_id}/triggers"),
    )
    .await;
    assert_eq!(uncategorised["TotalResults"], 2, "{uncategorised}");
    let production = environment(&fleet, &america, "Production");
    assert_ne!(
        production,
        environment(&fleet, MANAGEMENT_SPACE, "Production")
    );
    let runbook = id_named(&fleet, &america, "runbooks", "Nightly Backup");
    let nightly = named(&downstream, "Nightly backup");
    assert_eq!(nightly["Action"]["RunbookId"], json!(runbook));
    assert_eq!(nightly["Action"]["EnvironmentIds"], json!([production]));
    assert_eq!(nightly["Filter"]["CronExpression"], "0 0 2 * * *");
    assert_eq!(nightly["Description"], "Back up at 02:00");
    let promote = named(&downstream, "Promote to Production");
    let hotfix = fleet
        .emulator
        .list(&america, "channels")
        .into_iter()
        .find(|c| c["Name"] == "Hotfix" && c["ProjectId"] == json!(project_id))
        .unwrap();
    assert_eq!(promote["Action"]["ChannelId"], hotfix["Id"]);
    assert_eq!(
        promote["Action"]["SourceEnvironmentIds"],
        json!([environment(&fleet, &america, "Test")])
    );
    assert_eq!(
        promote["Action"]["DestinationEnvironmentId"],
        json!(production)
    );
    assert_eq!(promote["Filter"]["DaysOfWeek"], json!(["Monday", "Friday"]));
    let target = named(&downstream, "New web server");
    assert_eq!(target["Filter"]["EnvironmentIds"], json!([production]));
    assert_eq!(target["Filter"]["Roles"], json!(["web"]));
    assert_eq!(target["Action"]["ActionType"], "AutoDeploy");

    // Every field made it: the managed space's project serializes to the same triggers.
    let (run, read_back) = serialize_run(&fleet, &america, PROJECT, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read_back = project_json(extract(&read_back.unwrap()).path());
    assert_eq!(read_back["triggers"], package["triggers"]);

    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    fleet.emulator.clear_requests();
    let again = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(writes(&fleet), Vec::<String>::new());
}

/// Done when: a trigger changed upstream shows in plan and is updated by deploy.
#[tokio::test]
async fn a_trigger_changed_upstream_shows_in_plan_and_deploy_updates_it() {
    let fleet = Fleet::start().await;
    let template = seed_template(&fleet);
    let (_, dir) = serialize(&fleet).await;
    let america = managed_space(&fleet, "America").await;
    assert_eq!(
        run_on_package(&fleet, "deploy", "America", dir.path(), &[])
            .await
            .code,
        0
    );

    let upstream = triggers_of(&fleet, MANAGEMENT_SPACE, &template).await;
    let nightly = named(&upstream, "Nightly backup");
    let mut filter = nightly["Filter"].clone();
    filter["CronExpression"] = json!("0 30 3 * * Mon-Fri");
    fleet.emulator.seed_update(
        MANAGEMENT_SPACE,
        "projecttriggers",
        nightly["Id"].as_str().unwrap(),
        json!({"Filter": filter}),
    );
    let (_, dir) = serialize(&fleet).await;

    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &["--output", "json"]).await;
    assert_eq!(plan.code, 3, "{}\n{}", plan.stdout, plan.stderr);
    let report: Value = serde_json::from_str(&plan.stdout).unwrap();
    let changed: Vec<&Value> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["kind"], "trigger");
    assert_eq!(changed[0]["name"], "Nightly backup");
    assert_eq!(
        changed[0]["changes"],
        json!([{"field": "Filter.CronExpression", "before": "0 0 2 * * *", "after": "0 30 3 * * Mon-Fri"}])
    );

    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let project_id = project_id(&fleet, &america);
    let downstream = triggers_of(&fleet, &america, &project_id).await;
    assert_eq!(
        named(&downstream, "Nightly backup")["Filter"]["CronExpression"],
        "0 30 3 * * Mon-Fri"
    );
    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// Done when: a trigger disabled downstream stays disabled (also when the package changes it);
/// `--overwrite-triggers` enables it again.
#[tokio::test]
async fn a_trigger_disabled_downstream_stays_disabled() {
    let fleet = Fleet::start().await;
    let template = seed_template(&fleet);
    let (_, dir) = serialize(&fleet).await;
    let america = managed_space(&fleet, "America").await;
    assert_eq!(
        run_on_package(&fleet, "deploy", "America", dir.path(), &[])
            .await
            .code,
        0
    );
    let project_id = project_id(&fleet, &america);
    let nightly = |triggers: &[Value]| named(triggers, "Nightly backup").clone();
    let downstream = nightly(&triggers_of(&fleet, &america, &project_id).await);
    fleet.emulator.seed_update(
        &america,
        "projecttriggers",
        downstream["Id"].as_str().unwrap(),
        json!({"IsDisabled": true}),
    );

    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        format!("{}{}", plan.stdout, plan.stderr)
            .contains("keep trigger `Nightly backup` (downstream edit: IsDisabled)"),
        "{}",
        plan.stderr
    );
    fleet.emulator.clear_requests();
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    assert_eq!(writes(&fleet), Vec::<String>::new());

    // Changed upstream: updated, and still disabled.
    let upstream = nightly(&triggers_of(&fleet, MANAGEMENT_SPACE, &template).await);
    let mut filter = upstream["Filter"].clone();
    filter["CronExpression"] = json!("0 0 4 * * *");
    fleet.emulator.seed_update(
        MANAGEMENT_SPACE,
        "projecttriggers",
        upstream["Id"].as_str().unwrap(),
        json!({"Filter": filter}),
    );
    let (_, dir) = serialize(&fleet).await;
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let now = nightly(&triggers_of(&fleet, &america, &project_id).await);
    assert_eq!(now["Filter"]["CronExpression"], "0 0 4 * * *");
    assert_eq!(now["IsDisabled"], true);

    let deploy = run_on_package(
        &fleet,
        "deploy",
        "America",
        dir.path(),
        &["--overwrite-triggers"],
    )
    .await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let now = nightly(&triggers_of(&fleet, &america, &project_id).await);
    assert_eq!(now["IsDisabled"], false);
}

/// Tenants of the management space do not travel (a managed space has its own); tenant tags
/// do, and one the managed space lacks is refused before any write.
#[tokio::test]
async fn tenant_tags_travel_tenants_do_not() {
    let fleet = Fleet::start().await;
    let template = seed_template(&fleet);
    let emulator = &fleet.emulator;
    let tag_set = json!({"Name": "Region", "Tags": [{"Name": "EU"}]});
    emulator.seed(MANAGEMENT_SPACE, "tagsets", tag_set.clone());
    let tenant = emulator.seed(
        MANAGEMENT_SPACE,
        "tenants",
        json!({"Name": "Acme", "TenantTags": ["Region/EU"]}),
    );
    let upstream = triggers_of(&fleet, MANAGEMENT_SPACE, &template).await;
    let nightly = named(&upstream, "Nightly backup");
    let mut action = nightly["Action"].clone();
    action["TenantIds"] = json!([tenant["Id"]]);
    action["TenantTags"] = json!(["Region/EU"]);
    emulator.seed_update(
        MANAGEMENT_SPACE,
        "projecttriggers",
        nightly["Id"].as_str().unwrap(),
        json!({"Action": action}),
    );
    let (run, dir) = serialize(&fleet).await;
    assert!(
        run.stderr
            .contains("trigger `Nightly backup` targets 1 tenant of the management space"),
        "{}",
        run.stderr
    );
    let package = project_json(dir.path());
    let trigger = &package["triggers"][1];
    assert_eq!(trigger["name"], "Nightly backup");
    assert_eq!(trigger["action"]["tenant_tags"], json!(["Region/EU"]));
    assert_eq!(trigger["tenants_left_out"], 1);
    assert!(!package.to_string().contains(tenant["Id"].as_str().unwrap()));

    let europe = managed_space(&fleet, "Europe").await;
    fleet.emulator.clear_requests();
    let deploy = run_on_package(&fleet, "deploy", "Europe", dir.path(), &[]).await;
    assert_eq!(deploy.code, 2, "{}", deploy.stderr);
    assert!(
        deploy.stderr.contains("tag `Region/EU`"),
        "{}",
        deploy.stderr
    );
    assert_eq!(writes(&fleet), Vec::<String>::new());

    emulator.seed(&europe, "tagsets", tag_set);
    let deploy = run_on_package(&fleet, "deploy", "Europe", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    assert!(
        deploy
            .stderr
            .contains("trigger `Nightly backup` targeted 1 tenant of the management space"),
        "{}",
        deploy.stderr
    );
    let project_id = project_id(&fleet, &europe);
    let downstream = triggers_of(&fleet, &europe, &project_id).await;
    let nightly = named(&downstream, "Nightly backup");
    assert_eq!(nightly["Action"]["TenantTags"], json!(["Region/EU"]));
    assert_eq!(nightly["Action"]["TenantIds"], json!([]));
}

/// An external feed trigger (by the action's name in the package, its slug downstream) and the
/// built-in feed trigger (the project's automatic release creation) travel; automatic release
/// creation a tenant turned off stays off.
#[tokio::test]
async fn feed_and_built_in_feed_triggers_travel() {
    let fleet = Fleet::start().await;
    let emulator = &fleet.emulator;
    let template = seed_template(&fleet);
    let docker =
        json!({"Name": "Docker Hub", "FeedType": "Docker", "FeedUri": "https://index.docker.io"});
    let feed = emulator.seed(MANAGEMENT_SPACE, "feeds", docker);
    let project = fleet.project_named(MANAGEMENT_SPACE, PROJECT);
    emulator.seed_process(
        MANAGEMENT_SPACE,
        project["DeploymentProcessId"].as_str().unwrap(),
        json!([{"Name": "Deploy API", "Properties": {}, "Actions": [{
            "Name": "Deploy API", "ActionType": "Octopus.Script",
            "Packages": [
                {"Name": "", "PackageId": "acme/api", "FeedId": feed["Id"], "AcquisitionLocation": "NotAcquired", "Properties": {}},
                {"Name": "migrations", "PackageId": "Acme.Migrations", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {}}
            ],
            "Properties": {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptSource": "Inline",
                           "Octopus.Action.Script.ScriptBody": "echo deploying"}}]}]),
    );
    let hotfix = fleet
        .emulator
        .list(MANAGEMENT_SPACE, "channels")
        .into_iter()
        .find(|c| c["Name"] == "Hotfix" && c["ProjectId"] == json!(template))
        .unwrap();
    emulator.seed(
        MANAGEMENT_SPACE,
        "projecttriggers",
        json!({"Name": "New image", "ProjectId": template,
               "Filter": {"FilterType": "FeedFilter", "Packages": [{"DeploymentActionSlug": "deploy-api", "PackageReference": ""}]},
               "Action": {"ActionType": "CreateRelease", "ChannelId": hotfix["Id"]}}),
    );
    emulator.seed_update(
        MANAGEMENT_SPACE,
        "projects",
        &template,
        json!({"AutoCreateRelease": true, "ReleaseCreationStrategy": {
            "ChannelId": hotfix["Id"], "ReleaseCreationPackageStepId": null,
            "ReleaseCreationPackage": {"DeploymentAction": "Deploy API", "PackageReference": "migrations"}}}),
    );
    let (_, dir) = serialize(&fleet).await;
    let package = project_json(dir.path());
    assert_eq!(
        package["built_in_trigger"],
        json!({"channel": "Hotfix", "deployment_action": "Deploy API", "package_reference": "migrations"})
    );
    let new_image = package["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "New image")
        .unwrap();
    assert_eq!(
        new_image["filter"]["packages"],
        json!([{"deployment_action": "Deploy API", "package_reference": ""}])
    );
    assert!(package["project"]["extra"]
        .get("AutoCreateRelease")
        .is_none());

    let america = managed_space(&fleet, "America").await;
    // create-space's default blueprint gives it the "Docker Hub" feed.
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    let project = fleet.project_named(&america, PROJECT);
    let project_id = project["Id"].as_str().unwrap();
    let hotfix = fleet
        .emulator
        .list(&america, "channels")
        .into_iter()
        .find(|c| c["Name"] == "Hotfix" && c["ProjectId"] == json!(project_id))
        .unwrap();
    assert_eq!(project["AutoCreateRelease"], true);
    assert_eq!(
        project["ReleaseCreationStrategy"]["ChannelId"],
        hotfix["Id"]
    );
    assert_eq!(
        project["ReleaseCreationStrategy"]["ReleaseCreationPackage"],
        json!({"DeploymentAction": "Deploy API", "PackageReference": "migrations"})
    );
    let downstream = triggers_of(&fleet, &america, project_id).await;
    let new_image = named(&downstream, "New image");
    assert_eq!(new_image["Action"]["ChannelId"], hotfix["Id"]);
    assert_eq!(
        new_image["Filter"]["Packages"],
        json!([{"DeploymentActionSlug": "deploy-api", "PackageReference": ""}])
    );
    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);

    // Turned off downstream: kept off.
    emulator.seed_update(
        &america,
        "projects",
        project_id,
        json!({"AutoCreateRelease": false}),
    );
    let plan = run_on_package(&fleet, "plan", "America", dir.path(), &[]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 0, "{}", deploy.stderr);
    assert_eq!(
        fleet.project_named(&america, PROJECT)["AutoCreateRelease"],
        false
    );
}

/// A trigger naming an environment the template's space no longer has is a serialize error
/// naming the field (its id would name another environment, or none, downstream).
#[tokio::test]
async fn a_trigger_holding_an_id_it_cannot_name_is_a_serialize_error() {
    let fleet = Fleet::start().await;
    let template = seed_template(&fleet);
    let upstream = triggers_of(&fleet, MANAGEMENT_SPACE, &template).await;
    let target = named(&upstream, "New web server");
    let doomed = fleet
        .emulator
        .seed(MANAGEMENT_SPACE, "environments", json!({"Name": "Doomed"}));
    let doomed = doomed["Id"].as_str().unwrap().to_owned();
    let mut filter = target["Filter"].clone();
    filter["EnvironmentIds"] = json!([doomed]);
    fleet.emulator.seed_update(
        MANAGEMENT_SPACE,
        "projecttriggers",
        target["Id"].as_str().unwrap(),
        json!({"Filter": filter}),
    );
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/api/{MANAGEMENT_SPACE}/environments/{doomed}",
            fleet.emulator.url()
        ))
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let (run, package) = serialize_run(&fleet, MANAGEMENT_SPACE, PROJECT, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(package.is_none());
    assert!(
        run.stderr.contains(&format!(
            "trigger `New web server` filter environments holds `{doomed}`"
        )),
        "{}",
        run.stderr
    );
}

/// The emulator refuses what the server refuses: a cron expression that does not parse, an
/// unknown day, a runbook of another project, a feed trigger on a step the process lacks.
#[tokio::test]
async fn the_server_refuses_an_invalid_trigger() {
    let fleet = Fleet::start().await;
    let template = seed_template(&fleet);
    let other = fleet.project_named(MANAGEMENT_SPACE, "Hello World");
    let foreign_runbook = fleet
        .emulator
        .list(MANAGEMENT_SPACE, "runbooks")
        .into_iter()
        .find(|r| r["ProjectId"] == other["Id"])
        .unwrap();
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let client = client.clone();
        let url = format!(
            "{}/api/{MANAGEMENT_SPACE}/projecttriggers",
            fleet.emulator.url()
        );
        async move {
            let response = client
                .post(url)
                .header("X-Octopus-ApiKey", API_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let cron = |expression: &str| {
        json!({"Name": format!("Cron {expression}"), "ProjectId": template,
               "Filter": {"FilterType": "CronExpressionSchedule", "CronExpression": expression, "Timezone": "UTC"},
               "Action": {"ActionType": "DeployNewRelease", "EnvironmentId": environment(&fleet, MANAGEMENT_SPACE, "Test")}})
    };
    let (status, body) = post(cron("0 1 2 3")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cron expression"), "{body}");
    let (status, body) = post(cron("0 0 6 * * Thurs")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(cron("0 0 6 * * Thu")).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(json!({"Name": "Foreign", "ProjectId": template,
        "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-03-22T09:00:00", "DaysOfWeek": ["Thursday"]},
        "Action": {"ActionType": "RunRunbook", "RunbookId": foreign_runbook["Id"], "EnvironmentIds": []}}))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("could not be found in this project"),
        "{body}"
    );
    let (status, body) = post(json!({"Name": "New image", "ProjectId": template,
        "Filter": {"FilterType": "FeedFilter", "Packages": [{"DeploymentActionSlug": "no-such-step", "PackageReference": ""}]},
        "Action": {"ActionType": "CreateRelease"}}))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no-such-step"), "{body}");
    let (status, body) = post(json!({"Name": "Someday", "ProjectId": template,
        "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-03-22T09:00:00", "DaysOfWeek": ["Someday"]},
        "Action": {"ActionType": "DeployNewRelease", "EnvironmentId": environment(&fleet, MANAGEMENT_SPACE, "Test")}}))
    .await;
    assert_eq!(status, 400, "{body}");
}

/// A package whose trigger runs a runbook the package does not hold (edited by hand) is refused
/// before any request that writes.
#[tokio::test]
async fn a_trigger_naming_what_the_package_lacks_is_refused_before_any_write() {
    let fleet = Fleet::start().await;
    seed_template(&fleet);
    let (_, dir) = serialize(&fleet).await;
    let mut package = project_json(dir.path());
    package["triggers"][1]["action"]["runbook"] = json!("Missing Runbook");
    std::fs::write(
        dir.path().join("project.json"),
        serde_json::to_string_pretty(&package).unwrap(),
    )
    .unwrap();
    managed_space(&fleet, "America").await;
    fleet.emulator.clear_requests();
    let deploy = run_on_package(&fleet, "deploy", "America", dir.path(), &[]).await;
    assert_eq!(deploy.code, 2, "{}", deploy.stderr);
    assert!(
        deploy
            .stderr
            .contains("trigger `Nightly backup` runs runbook `Missing Runbook`, which the package does not hold"),
        "{}",
        deploy.stderr
    );
    assert_eq!(writes(&fleet), Vec::<String>::new());
}
