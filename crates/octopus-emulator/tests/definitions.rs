//! Step templates, the community Library and script modules over HTTP, as a client sees them.
//! Each rule's source is cited where the emulator makes it (`src/step_templates.rs`,
//! `src/script_modules.rs`).

#![allow(clippy::unwrap_used)]

use octopus_emulator::{Emulator, EmulatorConfig};
use reqwest::Method;
use serde_json::{json, Value};

async fn call(
    emulator: &Emulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", emulator.api_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// The error the server names (`Errors[0]`; `ErrorMessage` is the generic line).
fn message(body: &Value) -> String {
    body["Errors"][0].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_template_starts_at_version_0_and_every_save_is_a_version_kept() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (status, created) = call(&emulator, Method::POST, "/api/Spaces-1/actiontemplates", Some(json!({
        "Name": "Notify Team", "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.ScriptBody": "echo 1", "Octopus.Action.RunOnServer": "true"},
        "Parameters": [{"Name": "Notify.Url", "DefaultValue": "x", "DisplaySettings": {}}]
    }))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["Version"], 0);
    assert!(created["Parameters"][0]["Id"].is_string());
    assert!(created["Properties"]
        .get("Octopus.Action.RunOnServer")
        .is_none());
    let id = created["Id"].as_str().unwrap().to_owned();

    let mut edited = created.clone();
    edited["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("echo 2");
    // The step type never changes after creation.
    edited["ActionType"] = json!("Octopus.TentaclePackage");
    let path = format!("/api/Spaces-1/actiontemplates/{id}");
    let (status, updated) = call(&emulator, Method::PUT, &path, Some(edited)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["Version"], 1);
    assert_eq!(updated["ActionType"], "Octopus.Script");

    let (status, first) = call(&emulator, Method::GET, &format!("{path}/versions/0"), None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["Properties"]["Octopus.Action.Script.ScriptBody"],
        "echo 1"
    );
    let (_, second) = call(&emulator, Method::GET, &format!("{path}/versions/1"), None).await;
    assert_eq!(
        second["Properties"]["Octopus.Action.Script.ScriptBody"],
        "echo 2"
    );
    assert_eq!(
        call(&emulator, Method::GET, &format!("{path}/versions/7"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        updated["Links"]["Versions"],
        format!("/api/Spaces-1/actiontemplates/{id}/versions/{{version}}")
    );
}

#[tokio::test]
async fn packages_need_a_feed_of_the_space() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let template = |feed: Value| {
        json!({
            "Name": "Deploy Tool", "ActionType": "Octopus.Script",
            "Packages": [{"Name": "tool", "PackageId": "tool", "FeedId": feed, "AcquisitionLocation": "Server", "Properties": {}}]
        })
    };
    let path = "/api/Spaces-1/actiontemplates";
    let (status, body) = call(&emulator, Method::POST, path, Some(template(Value::Null))).await;
    assert_eq!(
        (status, message(&body).as_str()),
        (400, "No Feed Id was specified.")
    );
    let (status, body) = call(
        &emulator,
        Method::POST,
        path,
        Some(template(json!("Feeds-999"))),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        message(&body),
        "The following Feed Ids cannot be found: Feeds-999"
    );
    let (status, _) = call(
        &emulator,
        Method::POST,
        path,
        Some(template(json!("feeds-builtin"))),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn the_usage_route_lists_the_steps_that_use_a_template() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let template = emulator.seed(
        "Spaces-1",
        "actiontemplates",
        json!({"Name": "Notify Team", "ActionType": "Octopus.Script"}),
    );
    let project = emulator.seed("Spaces-1", "projects", json!({"Name": "Hello", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1"}));
    emulator.seed_process("Spaces-1", project["DeploymentProcessId"].as_str().unwrap(), json!([
        {"Name": "Notify", "Actions": [{"Name": "Notify", "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.Template.Id": template["Id"], "Octopus.Action.Template.Version": "0"}}]},
        {"Name": "Other", "Actions": [{"Name": "Other", "ActionType": "Octopus.Script", "Properties": {}}]}
    ]));
    let path = format!(
        "/api/Spaces-1/actiontemplates/{}/usage",
        template["Id"].as_str().unwrap()
    );
    let (status, usage) = call(&emulator, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{usage}");
    let usage = usage.as_array().unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["ProjectName"], "Hello");
    assert_eq!(usage[0]["ActionName"], "Notify");
    assert_eq!(usage[0]["ProcessType"], "Deployment");
    assert_eq!(usage[0]["Version"], "0");
}

#[tokio::test]
async fn a_library_template_is_installed_updated_only_through_the_library() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let library = |version: u64, body: &str| {
        json!({
            "Name": "Octopus - Check SMTP Server Configured", "Type": "Octopus.Script", "Version": version,
            "Website": "https://library.octopus.com/step-templates/ad8126be-37af-4297-b46e-fce02ba3987a",
            "Author": "octopus", "Description": "Checks SMTP",
            "Properties": {"Octopus.Action.Script.ScriptBody": body}, "Parameters": []
        })
    };
    let entry = emulator.seed_community_template(library(3, "v3"));
    let id = entry["Id"].as_str().unwrap().to_owned();
    let (status, page) = call(
        &emulator,
        Method::GET,
        "/api/communityactiontemplates",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["Items"][0]["Website"], entry["Website"]);

    let install = format!("/api/communityactiontemplates/{id}/installation/Spaces-1");
    let (status, body) = call(&emulator, Method::PUT, &install, None).await;
    assert_eq!(
        (status, message(&body).as_str()),
        (400, "Action template not yet installed.")
    );
    let (status, installed) = call(&emulator, Method::POST, &install, None).await;
    assert_eq!(status, 201, "{installed}");
    assert_eq!(installed["CommunityActionTemplateId"], id);
    assert_eq!(installed["Version"], 3);
    let (status, body) = call(&emulator, Method::POST, &install, None).await;
    assert_eq!(
        (status, message(&body).as_str()),
        (400, "Action Template already installed.")
    );

    // Not editable in the space.
    let path = format!(
        "/api/Spaces-1/actiontemplates/{}",
        installed["Id"].as_str().unwrap()
    );
    let (status, body) = call(&emulator, Method::PUT, &path, Some(installed.clone())).await;
    assert_eq!(
        (status, message(&body).as_str()),
        (400, "Only custom templates can be directly updated")
    );

    // The Library moves on; the installation follows it.
    emulator.seed_community_template(library(4, "v4"));
    let (status, updated) = call(&emulator, Method::PUT, &install, None).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["Version"], 4);
    assert_eq!(
        updated["Properties"]["Octopus.Action.Script.ScriptBody"],
        "v4"
    );
    assert_eq!(updated["Id"], installed["Id"]);
}

#[tokio::test]
async fn a_script_modules_content_type_is_set_once_and_listed_by_it() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let path = "/api/Spaces-1/libraryvariablesets";
    let (status, module) = call(
        &emulator,
        Method::POST,
        path,
        Some(json!({"Name": "Deploy Helpers", "ContentType": "ScriptModule"})),
    )
    .await;
    assert_eq!(status, 201, "{module}");
    let (status, _) = call(
        &emulator,
        Method::POST,
        path,
        Some(json!({"Name": "Shared"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, modules) = call(
        &emulator,
        Method::GET,
        &format!("{path}?contentType=ScriptModule"),
        None,
    )
    .await;
    let names: Vec<&str> = modules["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Deploy Helpers"]);
    let mut edited = module.clone();
    edited["ContentType"] = json!("Variables");
    let item = format!("{path}/{}", module["Id"].as_str().unwrap());
    let (status, updated) = call(&emulator, Method::PUT, &item, Some(edited)).await;
    assert_eq!(status, 200);
    assert_eq!(updated["ContentType"], "ScriptModule");
    let (status, _) = call(
        &emulator,
        Method::POST,
        path,
        Some(json!({"Name": "Odd", "ContentType": "Scripts"})),
    )
    .await;
    assert_eq!(status, 400);
    // The two variables are ordinary variables of the set.
    let variables = format!(
        "/api/Spaces-1/variables/{}",
        module["VariableSetId"].as_str().unwrap()
    );
    let (_, mut set) = call(&emulator, Method::GET, &variables, None).await;
    set["Variables"] = json!([
        {"Name": "Octopus.Script.Module[Deploy Helpers]", "Value": "helper() { :; }", "Type": "String"},
        {"Name": "Octopus.Script.Module.Language[Deploy Helpers]", "Value": "Bash", "Type": "String"}
    ]);
    let (status, stored) = call(&emulator, Method::PUT, &variables, Some(set)).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["Variables"][1]["Value"], "Bash");
}
