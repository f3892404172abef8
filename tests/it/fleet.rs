//! `octofleet fleet` and its step template "Octofleet - Fleet Report", against a fleet whose
//! tenants are in every state, each row checked against what the server holds (its tasks and
//! the reports they attached), not against octofleet's own output; and plan's gates and the
//! names every report gives (item 3 of the fleet issue).

use crate::support::calamari::{result_message, service_messages};
use crate::support::fleet_world::{assert_green, FleetWorld, DEPLOY, PACKAGE_ID, PLAN, PROJECT};
use crate::support::forge::{forge_with_upstream, run_action, ORG};
use crate::support::reports::{assert_renders, assert_self_contained, chromium};
use crate::support::{octofleet, Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use octopus_emulator::SeededRun;
use serde_json::{json, Value};

/// The step template's outcome: the run, the fleet JSON and the page's path.
async fn fleet_template(
    world: &FleetWorld,
    overrides: &[(&str, &str)],
) -> (Run, Value, std::path::PathBuf, tempfile::TempDir) {
    let (run, work) = world
        .run_template("octofleet-fleet-report.json", overrides)
        .await;
    let artifacts = service_messages(&run.stdout, "createArtifact");
    let path = |ext: &str| {
        artifacts
            .iter()
            .map(|a| std::path::PathBuf::from(&a["path"]))
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap_or_else(|| panic!("no .{ext} artifact: {}\n{}", run.stdout, run.stderr))
    };
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path("json")).unwrap()).unwrap();
    let html = path("html");
    (run, json, html, work)
}

fn row<'a>(report: &'a Value, tenant: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["tenant"]["name"] == tenant)
        .unwrap_or_else(|| panic!("no row for {tenant}: {report}"))
}

fn statuses(row: &Value) -> Vec<String> {
    row["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The package version a deploy task's report (held by the server as an artifact) names.
fn deployed_version(world: &FleetWorld, task: &Value) -> String {
    let reports = world.reports_of(task["Id"].as_str().unwrap());
    reports
        .iter()
        .find(|r| r["report"]["action"] == "deploy")
        .unwrap_or_else(|| panic!("no deploy report on {task}"))["package"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A real merge that meets a conflict, run for `tenant`: its JSON report.
async fn conflicted_merge_report(tenant: &str) -> (Vec<u8>, String) {
    let forge = forge_with_upstream().await;
    let env = [("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant)];
    let fork = run_action(&forge, "fork", "gitea", &[], &env).await;
    assert_eq!(fork.code, 0, "{}", fork.stderr);
    let repo = format!("{}_hello_world_cac", tenant.to_lowercase());
    forge.commit_files(
        ORG,
        &repo,
        "main",
        "Tenant",
        &[("notes.txt", Some("the tenant's\n"))],
    );
    forge.commit_files(
        ORG,
        "hello_world_cac",
        "main",
        "Upstream",
        &[("notes.txt", Some("upstream's\n"))],
    );
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let merge = run_action(&forge, "merge", "gitea", &["--report-dir", &dir_arg], &env).await;
    assert_eq!(
        merge.code, 3,
        "a conflict: {}\n{}",
        merge.stdout, merge.stderr
    );
    let name = format!("octofleet-merge-{tenant}.json");
    let bytes = std::fs::read(dir.path().join(&name)).unwrap();
    let pulls = forge.pull_requests(ORG, &repo);
    assert_eq!(pulls.len(), 1, "merge opened a pull request");
    (bytes, name)
}

/// Six tenants, one in each state: up to date, behind, drifted, conflicted, failed, never run.
/// Each row is checked against the server: the task it links is the tenant's latest task there,
/// the version it shows is the one the server's deploy artifact names, the drift is the plan
/// artifact's count, the pull request the merge artifact's. The fleet finds tasks by query (per
/// runbook and tenant, a few at a time), never by listing them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_report_shows_every_tenant_in_its_state() {
    let tenants = [
        "Current",
        "Behind",
        "Drifted",
        "Conflicted",
        "Failed",
        "Never",
    ];
    let world = FleetWorld::start(&tenants.map(|t| (t, &[][..])), 4).await;
    let e = &world.fleet.emulator;
    world.serialize("1.0.0").await;
    world
        .run_and_wait(
            DEPLOY,
            &["Current", "Behind", "Drifted", "Conflicted", "Failed"],
            "Success",
        )
        .await;
    world.serialize("1.0.1").await;
    world
        .run_and_wait(DEPLOY, &["Current", "Drifted", "Conflicted"], "Success")
        .await;
    e.fail_tasks(Some("Failed"), Some(DEPLOY), Some(1));
    world.run_and_wait(DEPLOY, &["Failed"], "Failed").await;
    // Someone edits Drifted's project in its managed space; the plan finds it.
    let drifted_space = world.fleet.space_named("Drifted").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let downstream = world.fleet.project_named(&drifted_space, PROJECT);
    e.seed_update(
        &drifted_space,
        "projects",
        downstream["Id"].as_str().unwrap(),
        json!({"Description": "edited by hand"}),
    );
    world
        .run_and_wait(PLAN, &["Current", "Drifted"], "Success")
        .await;
    // A merge runbook whose last run met a conflict (the step fails on it: exit 3).
    let merge = e.seed(
        MANAGEMENT_SPACE,
        "runbooks",
        json!({"Name": "__ Merge", "ProjectId": world.project_id, "MultiTenancyMode": "Tenanted"}),
    );
    let merge_body = crate::support::calamari::template("octofleet-merge-upstream-changes.json")
        .script_body()
        .to_owned();
    e.seed_process(
        MANAGEMENT_SPACE,
        merge["RunbookProcessId"].as_str().unwrap(),
        json!([{"Name": "Merge", "Properties": {}, "Actions": [{"Name": "Merge", "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.Script.ScriptBody": merge_body}}]}]),
    );
    let (merge_report, merge_file) = conflicted_merge_report("Conflicted").await;
    let sync = e
        .list(MANAGEMENT_SPACE, "environments")
        .into_iter()
        .find(|x| x["Name"] == "Sync")
        .unwrap();
    let merge_task = e.seed_runbook_run(SeededRun {
        space_id: MANAGEMENT_SPACE.into(),
        project_id: world.project_id.clone(),
        runbook_id: merge["Id"].as_str().unwrap().into(),
        environment_id: sync["Id"].as_str().unwrap().into(),
        tenant_id: Some(world.tenant_id("Conflicted")),
        state: "Failed".into(),
        completed: chrono::Utc::now(),
        artifacts: vec![(merge_file, merge_report.clone())],
    });
    e.clear_requests();

    let (run, report, html_path, _work) = fleet_template(&world, &[]).await;
    assert_green(&run);
    let variable = |name: &str| {
        run.output_variable(name)
            .unwrap_or_else(|| panic!("{name}: {}", run.stdout))
    };
    for (name, count) in [
        ("TenantCount", "6"),
        ("AttentionCount", "5"),
        ("UpToDateCount", "1"),
        ("BehindCount", "2"),
        ("DriftedCount", "1"),
        ("ConflictedCount", "1"),
        ("FailedCount", "1"),
        ("NeverRunCount", "1"),
    ] {
        assert_eq!(variable(name), count, "{name}");
    }
    // Attention first, worst first.
    let order: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenant"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "Failed",
            "Conflicted",
            "Drifted",
            "Behind",
            "Never",
            "Current"
        ]
    );
    assert_eq!(report["newest_version"], "1.0.1");
    assert_eq!(report["package_id"], PACKAGE_ID);
    let web = |task: &Value| {
        format!(
            "{}/app#/{MANAGEMENT_SPACE}/tasks/{}",
            e.url(),
            task["Id"].as_str().unwrap()
        )
    };

    // Current: deployed the newest, no drift, its last run is its latest task on the server.
    let current = row(&report, "Current");
    assert_eq!(statuses(current), ["up_to_date"]);
    let latest_deploy = &world.tasks_of("Current", DEPLOY)[0];
    assert_eq!(
        current["deployed"]["version"],
        deployed_version(&world, latest_deploy)
    );
    assert_eq!(
        current["space"]["id"],
        world.fleet.space_named("Current").unwrap()["Id"]
    );
    assert_eq!(current["space"]["name"], "Current");
    assert_eq!(current["drift"]["state"], "clean");
    assert_eq!(
        current["last_run"]["url"],
        web(&world.tasks_of("Current", PLAN)[0])
    );

    // Behind: the server's latest deploy artifact names 1.0.0, the feed has 1.0.1.
    let behind = row(&report, "Behind");
    assert_eq!(statuses(behind), ["behind"]);
    assert_eq!(
        deployed_version(&world, &world.tasks_of("Behind", DEPLOY)[0]),
        "1.0.0"
    );
    assert_eq!(behind["deployed"]["version"], "1.0.0");

    // Drifted: the plan artifact's changes.
    let drifted = row(&report, "Drifted");
    assert_eq!(statuses(drifted), ["drifted"]);
    let plan = &world.reports_of(world.tasks_of("Drifted", PLAN)[0]["Id"].as_str().unwrap())[0];
    let changes = ["created", "updated", "removed"]
        .iter()
        .map(|k| plan["summary"][k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert!(changes > 0, "{plan}");
    assert_eq!(drifted["drift"]["count"], changes);
    assert_eq!(
        drifted["drift"]["overwrites"], true,
        "an update overwrites the edit"
    );

    // Conflicted: the merge artifact's pull request.
    let conflicted = row(&report, "Conflicted");
    assert_eq!(statuses(conflicted), ["conflicted"]);
    let merge_json: Value = serde_json::from_slice(&merge_report).unwrap();
    assert_eq!(
        conflicted["merge"]["pull_request"],
        merge_json["pull_requests"][0]["url"]
    );
    assert_eq!(
        conflicted["last_run"]["url"],
        format!("{}/app#/{MANAGEMENT_SPACE}/tasks/{merge_task}", e.url())
    );

    // Failed: its latest deploy task failed on the server; it links that task.
    let failed = row(&report, "Failed");
    assert_eq!(statuses(failed), ["failed", "behind"]);
    let failed_task = &world.tasks_of("Failed", DEPLOY)[0];
    assert_eq!(failed_task["State"], "Failed");
    assert_eq!(failed["failures"][0]["url"], web(failed_task));
    assert_eq!(
        failed["deployed"]["version"], "1.0.0",
        "the last successful deploy"
    );

    // Never: no task at all on the server.
    let never = row(&report, "Never");
    assert!(world.tasks_of("Never", DEPLOY).is_empty() && world.tasks_of("Never", PLAN).is_empty());
    assert_eq!(statuses(never), ["never_run"]);
    assert!(never["last_run"].is_null());

    // Found by query: every task list asked for one runbook and one tenant, a few at a time.
    let task_lists: Vec<_> = e
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/tasks"))
        .collect();
    assert_eq!(
        task_lists.len(),
        6 * 3,
        "one query per tenant and octofleet runbook"
    );
    for request in &task_lists {
        let query = octofleet_query(&request.query);
        assert!(
            query.contains_key("runbook") && query.contains_key("tenant"),
            "{}",
            request.query
        );
        assert!(
            query["take"].parse::<usize>().unwrap() <= 3,
            "{}",
            request.query
        );
    }

    // The page: loads nothing, fits a phone.
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("5 of 6 tenants need attention"), "{html}");
    if let Some(chromium) = chromium() {
        let rendered = assert_renders(&chromium, &html_path, "fleet-report").await;
        assert!(rendered.dom.contains("Conflicted"));
    }

    // Failing on attention is a choice.
    let (run, _, _, _work) = fleet_template(&world, &[("Octofleet.FailOnAttention", "True")]).await;
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(result_message(&run.stdout)
        .unwrap()
        .contains("need attention"));
}

fn octofleet_query(query: &str) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Plan's gates (item 3): whether there are changes, the counts, and whether something the
/// managed space holds would be overwritten, as output variables a step condition can read; and
/// every report names the tenant, the managed space by name and ID, and the package by ID and
/// version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_sets_its_gates_and_reports_name_tenant_space_and_package() {
    let world = FleetWorld::start(&[("Europe", &[])], 2).await;
    world.serialize("2.0.0").await;
    world.run_and_wait(DEPLOY, &["Europe"], "Success").await;
    let space = world.fleet.space_named("Europe").unwrap();
    let space_id = space["Id"].as_str().unwrap().to_owned();
    let url = world.fleet.emulator.url();
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let plan = || async {
        octofleet(
            &["plan", "--report-dir", &dir_arg],
            &[
                ("MANAGEDTENANT_OCTOPUS_URL", &url),
                ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
                ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "Europe"),
                ("OCTOPUS_WEB_SERVERURI", &url),
                ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE),
                ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
                ("OCTOPUS_PROJECT_NAME", PROJECT),
            ],
        )
        .await
    };
    let clean = plan().await;
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert_eq!(
        clean.output_variable("HasChanges").as_deref(),
        Some("False")
    );
    assert_eq!(
        clean.output_variable("OverwritesDownstream").as_deref(),
        Some("False")
    );
    assert_eq!(clean.output_variable("UpdatedCount").as_deref(), Some("0"));
    assert!(
        clean
            .output_variable("UnchangedCount")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );

    let downstream = world.fleet.project_named(&space_id, PROJECT);
    world.fleet.emulator.seed_update(
        &space_id,
        "projects",
        downstream["Id"].as_str().unwrap(),
        json!({"Description": "edited by hand"}),
    );
    let drifted = plan().await;
    assert_eq!(drifted.code, 3, "{}", drifted.stderr);
    assert_eq!(
        drifted.output_variable("HasChanges").as_deref(),
        Some("True")
    );
    assert_eq!(
        drifted.output_variable("UpdatedCount").as_deref(),
        Some("1")
    );
    assert_eq!(
        drifted.output_variable("CreatedCount").as_deref(),
        Some("0")
    );
    assert_eq!(
        drifted.output_variable("OverwritesDownstream").as_deref(),
        Some("True")
    );

    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("octofleet-plan-Europe.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["report"]["format_version"], 1);
    assert_eq!(report["report"]["action"], "plan");
    assert_eq!(report["report"]["tenant"], "Europe");
    assert_eq!(report["space_id"], space_id.as_str());
    assert_eq!(report["space_name"], "Europe");
    assert_eq!(report["package"]["id"], PACKAGE_ID);
    assert_eq!(report["package"]["version"], "2.0.0");
    let html = std::fs::read_to_string(dir.path().join("octofleet-plan-Europe.html")).unwrap();
    assert!(html.contains(&format!("Europe ({space_id})")), "{html}");
    assert!(html.contains("Fleet_App 2.0.0"));
    assert!(!html.contains("/tmp/"), "no temporary directory is named");

    // The deploy the executor ran: its report (an artifact on the server) names them too.
    let task = &world.tasks_of("Europe", DEPLOY)[0];
    let deploy = &world.reports_of(task["Id"].as_str().unwrap())[0];
    assert_eq!(deploy["report"]["tenant"], "Europe");
    assert_eq!(deploy["space_name"], "Europe");
    assert_eq!(deploy["package"]["version"], "2.0.0");
}
