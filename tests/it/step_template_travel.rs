//! Issue 21: the step templates a template project uses (a platform team's own and one from the
//! community Library) travel in its package and reach every managed space; the steps point at
//! the managed space's templates. (Not `step_templates.rs`: that one tests octofleet's own step
//! templates in `step-templates/`.)

use crate::support::definitions::{
    deploy_run, drift_lines, project_json, serialize_and_push, space_id, write_project_json,
};
use crate::support::packages::{download, unzip};
use crate::support::server_view::server_view;
use crate::support::terraform_schema::Schema;
use crate::support::{api_post, Fleet};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const PROJECT: &str = "Templated";
const NOTIFY: &str = "Notify Team";
const SMTP: &str = "Octopus - Check SMTP Server Configured";
const SMTP_PAGE: &str =
    "https://library.octopus.com/step-templates/ad8126be-37af-4297-b46e-fce02ba3987a";
/// The feed Notify Team's package parameter names (by id upstream).
const FEED: &str = "Chat Images";
/// The sensitive default of Notify Team's token upstream: it must never travel.
const UPSTREAM_TOKEN: &str = "upstream-token-3c9d";
/// What Octopus substitutes for every `secrets.json` placeholder in the tests' Sync environment.
const SUBSTITUTED: &str = "substituted-token-77a1";

fn id(doc: &Value) -> String {
    doc["Id"].as_str().unwrap().to_owned()
}

fn named(fleet: &Fleet, space: &str, collection: &str, name: &str) -> Value {
    fleet
        .emulator
        .list(space, collection)
        .into_iter()
        .find(|item| item["Name"] == name)
        .unwrap_or_else(|| panic!("no {collection} `{name}` in {space}"))
}

/// The Library entry of the seed's SMTP check (the reference implementation's projects use it).
fn library_smtp(version: u64, body: &str) -> Value {
    json!({
        "Name": SMTP, "Type": "Octopus.Script", "Version": version, "Website": SMTP_PAGE,
        "Author": "octopus", "Description": "Checks that SMTP is configured.",
        "Properties": {"Octopus.Action.Script.ScriptBody": body, "Octopus.Action.Script.Syntax": "PowerShell"},
        "Parameters": [{"Name": "SmtpCheck.Timeout", "Label": "Timeout", "DefaultValue": "30", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}}]
    })
}

/// The custom template as a platform team writes it: a script, a URL, a sensitive token with a
/// default, and a package parameter naming a feed by id.
fn notify_team(feed: &str, body: &str) -> Value {
    json!({
        "Name": NOTIFY, "Description": "Tells the team.", "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.ScriptBody": body, "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.Script.ScriptSource": "Inline"},
        "Parameters": [
            {"Name": "Notify.Url", "Label": "URL", "DefaultValue": "https://chat.example.com", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
            {"Name": "Notify.Token", "Label": "Token", "DefaultValue": {"HasValue": true, "NewValue": UPSTREAM_TOKEN}, "DisplaySettings": {"Octopus.ControlType": "Sensitive"}},
            {"Name": "Notify.Image", "Label": "Image", "DefaultValue": format!("{{\"PackageId\":\"notifier\",\"FeedId\":\"{feed}\"}}"), "DisplaySettings": {"Octopus.ControlType": "Package"}}
        ],
        "Packages": [{"Name": "tools", "PackageId": "chat-tools", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {"Extract": "True", "SelectionMode": "immediate"}}]
    })
}

/// The steps of the project: one per template, each pinned to the template's version and
/// carrying its settings (Octopus copies a template into each step).
fn steps(fleet: &Fleet, notify_body: &str) -> Value {
    let notify = named(fleet, "Spaces-1", "actiontemplates", NOTIFY);
    let smtp = named(fleet, "Spaces-1", "actiontemplates", SMTP);
    let feed = id(&named(fleet, "Spaces-1", "feeds", FEED));
    json!([
        {"Name": "Notify", "Actions": [{"Name": "Notify", "ActionType": "Octopus.Script", "Properties": {
            "Octopus.Action.Template.Id": id(&notify), "Octopus.Action.Template.Version": notify["Version"].to_string(),
            "Octopus.Action.Script.ScriptBody": notify_body, "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.Script.ScriptSource": "Inline",
            "Notify.Url": "https://chat.example.com/ops",
            "Notify.Image": format!("{{\"PackageId\":\"notifier\",\"FeedId\":\"{feed}\"}}")
        }}]},
        {"Name": "Check SMTP", "Actions": [{"Name": "Check SMTP", "ActionType": "Octopus.Script", "Properties": {
            "Octopus.Action.Template.Id": id(&smtp), "Octopus.Action.Template.Version": smtp["Version"].to_string(),
            "Octopus.Action.Script.ScriptBody": smtp["Properties"]["Octopus.Action.Script.ScriptBody"], "Octopus.Action.Script.Syntax": "PowerShell",
            "SmtpCheck.Timeout": "60"
        }}]}
    ])
}

/// The management space with the Library's SMTP check installed, Notify Team, and the project
/// using both; America's space created by create-space (no templates), both with a Docker feed.
async fn fleet_with_templated_project() -> Fleet {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.create_space("America", &[], &[]).await.code, 0);
    for space in ["Spaces-1".to_owned(), space_id(&fleet, "America")] {
        fleet.emulator.seed(
            &space,
            "feeds",
            json!({"Name": FEED, "FeedType": "Docker", "FeedUri": "https://images.example.com"}),
        );
    }
    let entry = fleet
        .emulator
        .seed_community_template(library_smtp(5, "Test-Smtp"));
    api_post(
        &fleet.emulator,
        &format!(
            "/api/communityactiontemplates/{}/installation/Spaces-1",
            id(&entry)
        ),
        &json!({}),
    )
    .await;
    let feed = id(&named(&fleet, "Spaces-1", "feeds", FEED));
    fleet.emulator.seed(
        "Spaces-1",
        "actiontemplates",
        notify_team(&feed, "notify v1"),
    );
    let project = fleet.emulator.seed("Spaces-1", "projects", json!({
        "Name": PROJECT,
        "LifecycleId": id(&named(&fleet, "Spaces-1", "lifecycles", "Default Lifecycle")),
        "ProjectGroupId": id(&named(&fleet, "Spaces-1", "projectgroups", "Default Project Group"))
    }));
    let process = project["DeploymentProcessId"].as_str().unwrap().to_owned();
    fleet
        .emulator
        .seed_process("Spaces-1", &process, steps(&fleet, "notify v1"));
    fleet
}

/// `value` with every feed id of `space` written inside it (a package parameter's JSON text holds
/// one) replaced by the feed's name, to compare across spaces.
fn feeds_named(fleet: &Fleet, space: &str, value: &Value) -> Value {
    let feeds: BTreeMap<String, String> = fleet
        .emulator
        .list(space, "feeds")
        .into_iter()
        .map(|feed| {
            (
                id(&feed),
                format!("feed:{}", feed["Name"].as_str().unwrap()),
            )
        })
        .collect();
    let ids = regex::Regex::new(r"Feeds-\d+").unwrap();
    let text = value.to_string();
    let text = ids.replace_all(&text, |found: &regex::Captures<'_>| {
        feeds
            .get(&found[0])
            .cloned()
            .unwrap_or_else(|| found[0].to_owned())
    });
    serde_json::from_str(&text).unwrap()
}

/// A template as the server returns it, comparable across spaces: server-owned fields gone,
/// parameter ids gone, feed ids named, a secret as whether it is held.
fn comparable_template(fleet: &Fleet, space: &str, name: &str) -> Value {
    let mut template = named(fleet, space, "actiontemplates", name);
    let object = template.as_object_mut().unwrap();
    for owned in ["Id", "SpaceId", "Links", "LastModifiedOn", "LastModifiedBy"] {
        object.remove(owned);
    }
    let mut template = feeds_named(fleet, space, &template);
    for parameter in template["Parameters"].as_array_mut().unwrap() {
        let parameter = parameter.as_object_mut().unwrap();
        parameter.remove("Id");
        // A real server answers every field of `ActionTemplateParameterResource`; the emulator
        // stores what it was sent, so an unset one is null on one side and absent on the other.
        parameter.retain(|_, value| !value.is_null());
    }
    template
}

/// The action of the project's step `step` in `space`.
fn action(fleet: &Fleet, space: &str, step: &str) -> Value {
    let project = fleet.project_named(space, PROJECT);
    let process = fleet
        .emulator
        .get(
            space,
            "deploymentprocesses",
            project["DeploymentProcessId"].as_str().unwrap(),
        )
        .unwrap();
    process["Steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == step)
        .unwrap()["Actions"][0]
        .clone()
}

/// Done when: a template project using one custom and one community step template deploys into a
/// fresh managed space; the steps reference the downstream templates; the round trip compares both
/// projects and both sets of templates as the server returns them; plan then exits 0 and a
/// re-deploy writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_and_community_templates_reach_a_fresh_space_and_the_steps_point_at_them() {
    let fleet = fleet_with_templated_project().await;
    let america = space_id(&fleet, "America");
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    let package = project_json(dir.path());
    let mut carried: Vec<&str> = package["step_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    carried.sort();
    assert_eq!(carried, [NOTIFY, SMTP]);
    let smtp = package["step_templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == SMTP)
        .unwrap();
    assert_eq!(smtp["community"]["website"], SMTP_PAGE);

    let run = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("created   step template `{NOTIFY}`")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("created   step template `{SMTP}`")),
        "{}",
        run.stderr
    );
    assert!(
        run.all_output()
            .contains("from this instance's community Library"),
        "{}",
        run.all_output()
    );

    // The Library template is installed from the Library, the custom one created.
    let installed = named(&fleet, &america, "actiontemplates", SMTP);
    assert!(installed["CommunityActionTemplateId"]
        .as_str()
        .is_some_and(|id| id.starts_with("CommunityActionTemplates-")));
    let notify = named(&fleet, &america, "actiontemplates", NOTIFY);
    assert!(notify["CommunityActionTemplateId"].is_null());
    assert_eq!(
        fleet
            .emulator
            .secret_value(&america, &id(&notify), "Notify.Token.DefaultValue")
            .as_deref(),
        Some(SUBSTITUTED),
        "the token comes from its substituted secret, never from the template project"
    );

    // The steps point at the managed space's templates, at their versions there.
    for (step, template) in [("Notify", &notify), ("Check SMTP", &installed)] {
        let properties = &action(&fleet, &america, step)["Properties"];
        assert_eq!(
            properties["Octopus.Action.Template.Id"], template["Id"],
            "{step}"
        );
        assert_eq!(
            properties["Octopus.Action.Template.Version"],
            template["Version"].to_string(),
            "{step}"
        );
    }

    // Both projects and both sets of templates, as the server returns them.
    let mut upstream = feeds_named(
        &fleet,
        "Spaces-1",
        &server_view(&fleet.emulator, "Spaces-1", PROJECT),
    );
    let mut downstream = feeds_named(
        &fleet,
        &america,
        &server_view(&fleet.emulator, &america, PROJECT),
    );
    for view in [&mut upstream, &mut downstream] {
        view["settings"]
            .as_object_mut()
            .unwrap()
            .remove("AutoCreateRelease");
    }
    assert_eq!(downstream, upstream);
    for name in [NOTIFY, SMTP] {
        assert_eq!(
            comparable_template(&fleet, &america, name),
            comparable_template(&fleet, "Spaces-1", name),
            "{name}"
        );
    }

    let plan = deploy_run(&fleet, "plan", dir.path(), "America", &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    fleet.emulator.clear_requests();
    let again = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        fleet.emulator.writes().is_empty(),
        "re-deploy wrote: {:?}",
        fleet.emulator.writes()
    );
}

/// Done when: a template changed upstream (a new version) shows in plan, and deploy brings it and
/// the steps' versions along. A tenant's edit downstream is then kept (and reported) until a
/// deploy asked to overwrite replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_upstream_is_planned_and_deployed_and_a_tenants_edit_is_kept() {
    let fleet = fleet_with_templated_project().await;
    let america = space_id(&fleet, "America");
    let first = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    assert_eq!(
        deploy_run(&fleet, "deploy", first.path(), "America", &[])
            .await
            .code,
        0
    );

    // Upstream: a new version of Notify Team, and the step updated to it (the Usage page's update).
    let upstream = named(&fleet, "Spaces-1", "actiontemplates", NOTIFY);
    let mut changed = upstream.clone();
    changed["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("notify v2");
    let changed =
        fleet
            .emulator
            .seed_update("Spaces-1", "actiontemplates", &id(&upstream), changed);
    assert_eq!(changed["Version"], 1);
    let process = fleet.project_named("Spaces-1", PROJECT)["DeploymentProcessId"]
        .as_str()
        .unwrap()
        .to_owned();
    fleet
        .emulator
        .seed_process("Spaces-1", &process, steps(&fleet, "notify v2"));
    let second = serialize_and_push(&fleet, PROJECT, "1.0.1", SUBSTITUTED).await;
    let carried = project_json(second.path());
    let notify = carried["step_templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == NOTIFY)
        .unwrap();
    assert_eq!(
        notify["earlier_definitions"].as_array().unwrap().len(),
        1,
        "the previous package's definition is remembered"
    );

    fleet.emulator.clear_requests();
    let plan = deploy_run(&fleet, "plan", second.path(), "America", &[]).await;
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    let lines = drift_lines(&plan);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("~ update step template `{NOTIFY}` (properties)"))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("~ update step `{PROJECT} / Notify`"))),
        "{lines:#?}"
    );
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");

    assert_eq!(
        deploy_run(&fleet, "deploy", second.path(), "America", &[])
            .await
            .code,
        0
    );
    let downstream = named(&fleet, &america, "actiontemplates", NOTIFY);
    assert_eq!(
        downstream["Properties"]["Octopus.Action.Script.ScriptBody"],
        "notify v2"
    );
    assert_eq!(downstream["Version"], 1);
    let properties = &action(&fleet, &america, "Notify")["Properties"];
    assert_eq!(properties["Octopus.Action.Template.Version"], "1");
    assert_eq!(properties["Octopus.Action.Script.ScriptBody"], "notify v2");
    assert_eq!(
        deploy_run(&fleet, "plan", second.path(), "America", &[])
            .await
            .code,
        0
    );

    // A tenant edits the template in their space: kept, reported, not a change for plan.
    let mut edited = downstream.clone();
    edited["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("tenant's own");
    fleet
        .emulator
        .seed_update(&america, "actiontemplates", &id(&downstream), edited);
    let run = deploy_run(&fleet, "deploy", second.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "kept      step template `{NOTIFY}` (downstream edit: properties)"
        )),
        "{}",
        run.stderr
    );
    let kept = named(&fleet, &america, "actiontemplates", NOTIFY);
    assert_eq!(
        kept["Properties"]["Octopus.Action.Script.ScriptBody"],
        "tenant's own"
    );
    let plan = deploy_run(&fleet, "plan", second.path(), "America", &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        drift_lines(&plan)
            .iter()
            .any(|l| l.starts_with(&format!("keep step template `{NOTIFY}`"))),
        "{:#?}",
        drift_lines(&plan)
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
    assert!(
        run.stderr
            .contains(&format!("updated   step template `{NOTIFY}`")),
        "{}",
        run.stderr
    );
    let replaced = named(&fleet, &america, "actiontemplates", NOTIFY);
    assert_eq!(
        replaced["Properties"]["Octopus.Action.Script.ScriptBody"],
        "notify v2"
    );
    assert_eq!(
        action(&fleet, &america, "Notify")["Properties"]["Octopus.Action.Template.Version"],
        replaced["Version"].to_string()
    );
}

/// Done when: a sensitive parameter default travels only as a placeholder (project.json,
/// secrets.json and the Terraform module), and the module declares the templates as octoterra
/// does, checked against the provider's schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensitive_default_travels_only_as_a_placeholder_and_the_module_declares_the_templates() {
    let fleet = fleet_with_templated_project().await;
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    drop(dir);
    let bytes = download(&fleet, "Templated", "1.0.0").await;
    let files = unzip(&bytes);
    for (name, content) in &files {
        assert!(
            !String::from_utf8_lossy(content).contains(UPSTREAM_TOKEN),
            "{name} holds the token"
        );
    }
    let secrets: Value = serde_json::from_slice(&files["secrets.json"]).unwrap();
    let placeholder = "#{Octofleet.Secret[Step Templates/Notify Team].Notify.Token | JsonEscape}";
    assert!(
        secrets
            .as_object()
            .unwrap()
            .values()
            .any(|v| v == placeholder),
        "{secrets}"
    );
    let module: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(name, content)| {
            name.strip_prefix("terraform/")
                .map(|path| (path.to_owned(), String::from_utf8(content.clone()).unwrap()))
        })
        .collect();
    let problems = Schema::load().check(&module);
    assert!(problems.is_empty(), "{problems:#?}");
    let notify = &module["steptemplate_notify_team.tf"];
    assert!(
        notify.contains("resource \"octopusdeploy_step_template\" \"steptemplate_notify_team\""),
        "{notify}"
    );
    assert!(
        notify.contains("data \"octopusdeploy_step_template\" \"steptemplate_notify_team\""),
        "{notify}"
    );
    assert!(
        notify.contains("jsonencode("),
        "the package parameter names its feed: {notify}"
    );
    let smtp = &module["steptemplate_octopus___check_smtp_server_configured.tf"];
    assert!(
        smtp.contains("resource \"octopusdeploy_community_step_template\""),
        "{smtp}"
    );
    assert!(smtp.contains(SMTP_PAGE), "{smtp}");
    let sensitive: Vec<&String> = module
        .iter()
        .filter(|(path, _)| path.starts_with("project_variable_sensitive_"))
        .map(|(_, content)| content)
        .collect();
    assert!(
        sensitive
            .iter()
            .any(|c| c.contains("#{Octofleet.Secret[Step Templates/Notify Team].Notify.Token}")),
        "{sensitive:#?}"
    );
    let steps: String = module
        .iter()
        .filter(|(path, _)| path.starts_with("process_step_"))
        .map(|(_, content)| content.clone())
        .collect();
    assert!(
        steps.contains("data.octopusdeploy_step_template.steptemplate_notify_team.step_template"),
        "{steps}"
    );
}

/// A Library template on an instance whose Library lacks it is created as a custom template with
/// the package's definition, and the log says so; a re-deploy then writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_library_a_community_template_is_created_with_its_definition() {
    let fleet = fleet_with_templated_project().await;
    let america = space_id(&fleet, "America");
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    let mut package = project_json(dir.path());
    for template in package["step_templates"].as_array_mut().unwrap() {
        if template["name"] == SMTP {
            template["community"] = json!({"id": "CommunityActionTemplates-4242", "website": "https://library.octopus.com/step-templates/elsewhere"});
        }
    }
    // Another instance's Library: not this one's entry, under another name too.
    let smtp_elsewhere = package["step_templates"]
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t["name"] == SMTP)
        .unwrap();
    package["step_templates"][smtp_elsewhere]["name"] = json!("SMTP Check (elsewhere)");
    for step in package["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap()
    {
        for action in step["actions"].as_array_mut().unwrap() {
            if action["step_template"]["name"] == SMTP {
                action["step_template"]["name"] = json!("SMTP Check (elsewhere)");
            }
        }
    }
    write_project_json(dir.path(), &package);
    let run = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.all_output()
            .contains("community Library has no `SMTP Check (elsewhere)`"),
        "{}",
        run.all_output()
    );
    let created = named(
        &fleet,
        &america,
        "actiontemplates",
        "SMTP Check (elsewhere)",
    );
    assert!(created["CommunityActionTemplateId"].is_null());
    assert_eq!(
        created["Properties"]["Octopus.Action.Script.ScriptBody"],
        "Test-Smtp"
    );
    assert_eq!(
        action(&fleet, &america, "Check SMTP")["Properties"]["Octopus.Action.Template.Id"],
        created["Id"]
    );
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

/// A same-named template of another step type cannot become the package's: refused with exit 2,
/// naming it, before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_named_template_of_another_step_type_is_refused_before_any_write() {
    let fleet = fleet_with_templated_project().await;
    let america = space_id(&fleet, "America");
    fleet.emulator.seed(
        &america,
        "actiontemplates",
        json!({"Name": NOTIFY, "ActionType": "Octopus.TentaclePackage"}),
    );
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    fleet.emulator.clear_requests();
    let run = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "step template `{NOTIFY}` in the managed space is a `Octopus.TentaclePackage` step"
        )),
        "{}",
        run.stderr
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );
}

/// create-space's blueprint holds step templates: a custom one with its definition, and a
/// community one installed from the instance's Library by its page; a second run writes nothing;
/// a Library page this instance's Library lacks is refused before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blueprint_holds_custom_and_community_templates() {
    let fleet = Fleet::start().await;
    fleet
        .emulator
        .seed_community_template(library_smtp(5, "Test-Smtp"));
    let dir = tempfile::tempdir().unwrap();
    let blueprint = dir.path().join("blueprint.yaml");
    let write = |page: &str| {
        std::fs::write(&blueprint, format!(
            "step_templates:\n  - name: {NOTIFY}\n    action_type: Octopus.Script\n    properties:\n      Octopus.Action.Script.Syntax: Bash\n      Octopus.Action.Script.ScriptBody: echo hi\n    parameters:\n      - name: Notify.Url\n        label: URL\n  - name: {SMTP}\n    community: {page}\n"
        )).unwrap();
    };
    write(SMTP_PAGE);
    let path = blueprint.to_str().unwrap();
    let run = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let america = space_id(&fleet, "America");
    let notify = named(&fleet, &america, "actiontemplates", NOTIFY);
    assert_eq!(notify["Parameters"][0]["Name"], "Notify.Url");
    let smtp = named(&fleet, &america, "actiontemplates", SMTP);
    assert!(smtp["CommunityActionTemplateId"].is_string());
    assert_eq!(smtp["Version"], 5);

    fleet.emulator.clear_requests();
    assert_eq!(
        fleet
            .create_space("America", &["--blueprint", path], &[])
            .await
            .code,
        0
    );
    let writes: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|w| !w.path.contains("/tenants/"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    // The Library moves on: the next run brings the space's installation along.
    fleet
        .emulator
        .seed_community_template(library_smtp(6, "Test-Smtp v6"));
    let run = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        named(&fleet, &america, "actiontemplates", SMTP)["Version"],
        6
    );

    write("https://library.octopus.com/step-templates/not-in-this-library");
    std::fs::write(
        &blueprint,
        std::fs::read_to_string(&blueprint)
            .unwrap()
            .replace(SMTP, "Elsewhere"),
    )
    .unwrap();
    fleet.emulator.clear_requests();
    let refused = fleet
        .create_space("America", &["--blueprint", path], &[])
        .await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("community Library has no template at https://library.octopus.com/step-templates/not-in-this-library"), "{}", refused.stderr);
    let writes: Vec<_> = fleet
        .emulator
        .writes()
        .into_iter()
        .filter(|w| !w.path.contains("/tenants/"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// A new template's sensitive default whose secret was never substituted (the deploy step ran
/// outside `Sync`): deploy refuses before any write, naming the Octopus variable that supplies
/// it; plan reports it and exits 0 for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubstituted_template_secret_is_refused_before_any_write() {
    let fleet = fleet_with_templated_project().await;
    let dir = serialize_and_push(&fleet, PROJECT, "1.0.0", SUBSTITUTED).await;
    // Put the placeholder back, as Octopus leaves it outside the secret's scope.
    let path = dir.path().join("secrets.json");
    let mut secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let variable = "Octofleet.Secret[Step Templates/Notify Team].Notify.Token";
    for value in secrets.as_object_mut().unwrap().values_mut() {
        *value = json!(format!("#{{{variable} | JsonEscape}}"));
    }
    std::fs::write(&path, secrets.to_string()).unwrap();
    fleet.emulator.clear_requests();
    let run = deploy_run(&fleet, "deploy", dir.path(), "America", &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("`{variable}`")),
        "{}",
        run.stderr
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "{:?}",
        fleet.emulator.writes()
    );
    let plan = deploy_run(&fleet, "plan", dir.path(), "America", &[]).await;
    assert!(
        drift_lines(&plan)
            .iter()
            .any(|l| l.contains(&format!("keep step template `{NOTIFY} / Notify.Token`"))),
        "{:#?}",
        drift_lines(&plan)
    );
}
