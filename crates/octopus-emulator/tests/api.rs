//! The emulator's HTTP behaviour, exercised with reqwest as a client would. Each test of a real
//! server's rule names the rule's public source, or says what was searched when none was found.

// An integration test crate is test code throughout: its helpers may unwrap as its tests do
// (clippy's allow-unwrap-in-tests covers only #[test] functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used)]

use octopus_emulator::{Emulator, EmulatorConfig};
use reqwest::Method;
use serde_json::{json, Value};

struct Api {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api::with(EmulatorConfig::default()).await
    }

    async fn with(config: EmulatorConfig) -> Api {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        Api {
            emulator,
            http: reqwest::Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.emulator.url()))
            .header("X-Octopus-ApiKey", self.emulator.api_key())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// A project in Spaces-1 with the seeded lifecycle and project group.
    async fn project(&self, name: &str) -> Value {
        let (status, project) = self
            .post(
                "/api/Spaces-1/projects",
                json!({"Name": name, "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1"}),
            )
            .await;
        assert_eq!(status, 201, "{project}");
        project
    }
}

fn errors(body: &Value) -> Vec<String> {
    body["Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// Without the key, or with another one, the server answers 401 with its text
/// (OctopusDeploy/Issues#5625 quotes it). The key is taken from `X-Octopus-ApiKey` or the `ApiKey`
/// query parameter (the server's swagger, `securityDefinitions`, in OctopusDeploy/go-octopusdeploy
/// `api/octopus_deploy.json`), and the root `/api` is anonymous with `Application: "Octopus
/// Deploy"`, `ApiVersion: "3.0.0"` (every captured root in
/// `tests/fixtures/octopus-payloads/api-root__*`).
#[tokio::test]
async fn requests_without_a_valid_key_get_the_401_body() {
    let api = Api::start().await;
    let url = api.emulator.url();
    let response = api
        .http
        .get(format!("{url}/api/spaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ErrorMessage": "You must be logged in to request this resource or provide a valid API key. Your account may have been disabled, please contact your Octopus administrator.", "Errors": []})
    );
    let wrong = api
        .http
        .get(format!("{url}/api/spaces"))
        .header("X-Octopus-ApiKey", "API-WRONG")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    // The root document is anonymous; the query-string key works too.
    let root: Value = api
        .http
        .get(format!("{url}/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root["Application"], "Octopus Deploy");
    assert_eq!(root["ApiVersion"], "3.0.0");
    let by_query = api
        .http
        .get(format!(
            "{url}/api/spaces?apikey={}",
            api.emulator.api_key()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status().as_u16(), 200);
}

/// A collection without `take` is a page of 30 with `Page.Next` (`ItemsPerPage: 30` and `Page.Next:
/// …?skip=30` in the real capture
/// `paged-collection-machine-tasks__octopusclients-cannedresponse-demo-2017.json` under
/// `tests/fixtures/octopus-payloads`; the envelope's fields as in the other `paged-collection-*`
/// captures there); the last page has no `Page.Next`, and `/all` is a bare array (the swagger's
/// `/api/{baseSpaceId}/environments/all`).
#[tokio::test]
async fn collections_page_by_thirty_with_page_next() {
    let api = Api::start().await;
    for i in 0..35 {
        api.emulator.seed(
            "Spaces-1",
            "environments",
            json!({"Name": format!("Env {i:02}")}),
        );
    }
    let (status, first) = api.get("/api/Spaces-1/environments").await;
    assert_eq!(status, 200);
    assert_eq!(first["ItemType"], "Environment");
    assert_eq!(first["TotalResults"], 35);
    assert_eq!(first["ItemsPerPage"], 30);
    assert_eq!(first["NumberOfPages"], 2);
    assert_eq!(first["LastPageNumber"], 1);
    assert_eq!(first["Items"].as_array().unwrap().len(), 30);
    assert_eq!(first["Items"][0]["SortOrder"], 0);
    assert_eq!(first["Items"][29]["Name"], "Env 29");
    let next = first["Links"]["Page.Next"].as_str().unwrap();
    assert_eq!(next, "/api/Spaces-1/environments?skip=30&take=30");
    let (_, second) = api.get(next).await;
    assert_eq!(second["Items"].as_array().unwrap().len(), 5);
    assert!(second["Links"].get("Page.Next").is_none());
    assert_eq!(
        second["Links"]["Page.Last"],
        "/api/Spaces-1/environments?skip=30&take=30"
    );
    let (_, all) = api.get("/api/Spaces-1/environments/all").await;
    assert_eq!(all.as_array().unwrap().len(), 35);
}

/// `partialName` matches part of a name and `name` the whole name (the provider's environments data
/// source takes both: OctopusDeployLabs/terraform-provider-octopusdeploy
/// `docs/data-sources/environments.md`); on projects `name` is the obsolete alias of `partialName`.
/// Source of the project rule: the API pages generated from the server's swagger in
/// OctopusDeploy/docs, as the research notes cite them (not re-read here).
#[tokio::test]
async fn name_is_exact_where_partial_name_is_contains() {
    let api = Api::start().await;
    for name in ["Production", "Pre-Production", "Dev"] {
        api.post("/api/Spaces-1/environments", json!({"Name": name}))
            .await;
    }
    let (_, exact) = api.get("/api/Spaces-1/environments?name=production").await;
    assert_eq!(exact["TotalResults"], 1);
    assert_eq!(exact["Items"][0]["Name"], "Production");
    let (_, partial) = api
        .get("/api/Spaces-1/environments?partialName=PRODUCTION")
        .await;
    assert_eq!(partial["TotalResults"], 2);
    let (_, ids) = api
        .get("/api/Spaces-1/environments?ids=Environments-1&ids=environments-3")
        .await;
    assert_eq!(ids["TotalResults"], 2);
    // On projects `name` is the obsolete alias of partialName.
    api.project("Web Shop").await;
    api.project("Web").await;
    let (_, projects) = api.get("/api/Spaces-1/projects?name=web").await;
    assert_eq!(projects["TotalResults"], 2);
}

/// A duplicate name (compared without case) and a missing `Name` are 400s with the headline "There
/// was a problem with your request." and the detail in `Errors` (a real `Errors` entry, "The
/// SpaceManagersTeamMembers field is required.", in OctopusDeploy/Issues#9643). The duplicate-name
/// text itself has no public source: GitHub issues and code were searched for "with this name
/// already exists. Please choose a different name" and nothing was found.
#[tokio::test]
async fn duplicate_names_and_missing_fields_are_400s() {
    let api = Api::start().await;
    let (status, _) = api
        .post("/api/Spaces-1/environments", json!({"Name": "Test"}))
        .await;
    assert_eq!(status, 201);
    let (status, body) = api
        .post("/api/Spaces-1/environments", json!({"Name": "test"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["ErrorMessage"],
        "There was a problem with your request."
    );
    assert_eq!(
        errors(&body),
        vec!["An environment with this name already exists. Please choose a different name."]
    );
    let (status, body) = api.post("/api/Spaces-1/feeds", json!({"Name": "Octopus Server (built-in)", "FeedType": "NuGet", "FeedUri": "https://x"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body),
        vec!["A feed with this name already exists. Please choose a different name."]
    );
    let (status, body) = api
        .post(
            "/api/Spaces-1/environments",
            json!({"Description": "no name"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(errors(&body), vec!["The Name field is required."]);
    let (status, body) = api.post("/api/Spaces-1/projects", json!({"Name": "P", "LifecycleId": "Lifecycles-99", "ProjectGroupId": "ProjectGroups-1"})).await;
    assert_eq!(status, 400, "{body}");
}

/// An unknown ID is 404 "The resource 'X' was not found." (the text in OctopusDeploy/Issues#7060),
/// an unknown route 404 "The resource you requested was not found." (Octopus.Client's
/// `OctopusResourceNotFoundException` from a real server, quoted in
/// Zywave/OctopusDeploy-Kraken#61).
#[tokio::test]
async fn unknown_ids_and_routes_are_404s() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/Spaces-1/environments/Environments-99").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ErrorMessage": "The resource 'Environments-99' was not found.", "Errors": []})
    );
    let (status, body) = api.get("/api/Spaces-1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["ErrorMessage"],
        "The resource you requested was not found."
    );
}

/// Routes and IDs match without case, and a space-scoped route answers under `/api/{spaceId}/…`,
/// `/api/spaces/{id}/…` and the legacy `/api/…` of the default space (octoterra sends PascalCase
/// segments: OctopusSolutionsEngineering/OctopusTerraformExport
/// `cmd/internal/client/octopus_client.go`; the alternate routes: the OctopusDeploy/docs generated
/// API README, as the research notes cite it, not re-read here). Git credentials list as a
/// collection of `GitCredential` (go-octopusdeploy `pkg/credentials`).
#[tokio::test]
async fn routes_and_ids_are_case_insensitive_with_all_space_forms() {
    let api = Api::start().await;
    let (status, env) = api
        .post("/api/Spaces-1/Environments/", json!({"Name": "Dev"}))
        .await;
    assert_eq!(status, 201);
    let id = env["Id"].as_str().unwrap();
    for path in [
        format!("/api/spaces-1/environments/{}", id.to_lowercase()),
        format!("/api/Spaces/Spaces-1/Environments/{id}"),
        format!("/api/spaces/default/environments/{id}?skip=0"),
        format!("/api/environments/{id}"),
        format!("/API/SPACES-1/ENVIRONMENTS/{}/", id.to_uppercase()),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["Id"], id);
    }
    let (status, space) = api.get("/api/Spaces/Spaces-1").await;
    assert_eq!(status, 200);
    assert_eq!(space["IsDefault"], true);
    let (status, creds) = api.get("/api/Spaces-1/Git-Credentials").await;
    assert_eq!(status, 200);
    assert_eq!(creds["ItemType"], "GitCredential");
}

/// A new space needs `SpaceManagersTeams` or `SpaceManagersTeamMembers` (OctopusDeploy/Issues#9643:
/// "you must supply either one, or both of Teams or Users as the space manager"), gets a slug, and
/// holds what octoterra looks up by name in every space: "Default Lifecycle", "Default Project
/// Group", the built-in feed "Octopus Server (built-in)" and "Default Worker Pool"
/// (OctopusSolutionsEngineering/OctopusTerraformExport `cmd/internal/converters/`:
/// `lifecycle_converter.go`, `project_group_converter.go`, `octopus_action_processor.go`,
/// `worker_pool_converter.go`); deleting it needs its task queue stopped first
/// (OctopusDeploy/OctopusDeploy-Api `Scripts/DeleteSpace/index.md`, as the research notes cite it,
/// not re-read here).
#[tokio::test]
async fn a_new_space_is_seeded_like_a_real_server() {
    let api = Api::start().await;
    let (status, body) = api
        .post(
            "/api/spaces",
            json!({"Name": "Team A", "SpaceManagersTeams": [], "SpaceManagersTeamMembers": []}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body),
        vec!["The SpaceManagersTeamMembers field is required."]
    );
    let (status, space) = api
        .post("/api/spaces", json!({"Name": "Team A", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []}))
        .await;
    assert_eq!(status, 201);
    let id = space["Id"].as_str().unwrap();
    assert_eq!(id, "Spaces-2");
    assert_eq!(space["Slug"], "team-a");
    assert_eq!(
        space["SpaceManagersTeams"],
        json!(["teams-administrators", "teams-spacemanagers-Spaces-2"])
    );
    let (status, body) = api
        .post("/api/spaces", json!({"Name": "team a", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body),
        vec!["A space with this name already exists. Please choose a different name."]
    );

    let (_, lifecycles) = api.get(&format!("/api/{id}/lifecycles")).await;
    assert_eq!(lifecycles["Items"][0]["Name"], "Default Lifecycle");
    assert_eq!(lifecycles["Items"][0]["Phases"], json!([]));
    assert_eq!(
        lifecycles["Items"][0]["ReleaseRetentionPolicy"]["ShouldKeepForever"],
        true
    );
    let (_, groups) = api.get(&format!("/api/{id}/projectgroups/all")).await;
    assert_eq!(groups[0]["Name"], "Default Project Group");
    let (status, feed) = api.get(&format!("/api/{id}/feeds/feeds-builtin")).await;
    assert_eq!(status, 200);
    assert_eq!(feed["FeedType"], "BuiltIn");
    assert_eq!(feed["Name"], "Octopus Server (built-in)");
    let (_, pools) = api.get(&format!("/api/{id}/workerpools")).await;
    assert_eq!(pools["Items"][0]["Name"], "Default Worker Pool");
    let (_, teams) = api.get("/api/teams").await;
    let team_ids: Vec<&str> = teams["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Id"].as_str().unwrap())
        .collect();
    assert!(team_ids.contains(&"teams-spacemanagers-Spaces-2"));
    assert!(team_ids.contains(&"teams-everyone"));
    // Deleting needs the task queue stopped first.
    let path = format!("/api/spaces/{id}");
    let (status, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 400);
    let mut stopped = space.clone();
    stopped["TaskQueueStopped"] = json!(true);
    let (status, _) = api.put(&path, stopped).await;
    assert_eq!(status, 200);
    let (status, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 200);
}

/// Creating a project creates its `deploymentprocess-`, `variableset-` and `deploymentsettings-`
/// documents and a "Default" channel, and a project is found by slug (the IDs as in the real
/// captures `tests/fixtures/octopus-payloads/project-database__*`; the Default channel:
/// `channel__octopusdeployutilities-2018.11.2.json`); version-controlled persistence is refused on
/// create (convert is `POST …/git/convert`: go-octopusdeploy `pkg/projects`); a runbook gets its
/// `RunbookProcess-` (go-octopusdeploy `pkg/runbooks`).
#[tokio::test]
async fn creating_a_project_creates_its_process_variables_and_channel() {
    let api = Api::start().await;
    let project = api.project("Sample Project").await;
    let id = project["Id"].as_str().unwrap();
    assert_eq!(project["Slug"], "sample-project");
    assert_eq!(project["VariableSetId"], format!("variableset-{id}"));
    assert_eq!(
        project["DeploymentProcessId"],
        format!("deploymentprocess-{id}")
    );
    assert_eq!(project["PersistenceSettings"], json!({"Type": "Database"}));
    assert_eq!(
        project["Links"]["DeploymentProcess"],
        format!("/api/Spaces-1/projects/{id}/deploymentprocesses")
    );
    let (_, by_slug) = api.get("/api/Spaces-1/projects/sample-project").await;
    assert_eq!(by_slug["Id"], id);
    let (_, process) = api
        .get(&format!(
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"
        ))
        .await;
    assert_eq!(process["Version"], 0);
    assert_eq!(process["Steps"], json!([]));
    let (_, variables) = api
        .get(&format!("/api/Spaces-1/variables/variableset-{id}"))
        .await;
    assert_eq!(variables["OwnerId"], id);
    let (_, channels) = api
        .get(&format!("/api/Spaces-1/projects/{id}/channels"))
        .await;
    assert_eq!(channels["Items"][0]["Name"], "Default");
    assert_eq!(channels["Items"][0]["IsDefault"], true);
    let (_, settings) = api
        .get(&format!("/api/Spaces-1/projects/{id}/deploymentsettings"))
        .await;
    assert_eq!(settings["Id"], format!("deploymentsettings-{id}"));
    // Version-controlled persistence is refused on create.
    let (status, _) = api
        .post(
            "/api/Spaces-1/projects",
            json!({"Name": "CaC", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1",
                   "PersistenceSettings": {"Type": "VersionControlled", "Url": "https://example.com/r.git"}}),
        )
        .await;
    assert_eq!(status, 400);
    // Runbooks get their process.
    let (status, runbook) = api
        .post(
            &format!("/api/Spaces-1/projects/{id}/runbooks"),
            json!({"Name": "Restart"}),
        )
        .await;
    assert_eq!(status, 201, "{runbook}");
    let runbook_id = runbook["Id"].as_str().unwrap();
    assert_eq!(
        runbook["RunbookProcessId"],
        format!("RunbookProcess-{runbook_id}")
    );
    let (status, _) = api
        .get(&format!(
            "/api/Spaces-1/runbookProcesses/RunbookProcess-{runbook_id}"
        ))
        .await;
    assert_eq!(status, 200);
}

/// A sensitive action property and a sensitive template default: a new `NewValue` replaces the
/// held secret (a rotation), `HasValue:true, NewValue:null` keeps it, and no read returns it.
///
/// Source of the rule: go-octopusdeploy `pkg/core/sensitive_value.go` (`NewSensitiveValue` sends
/// `{HasValue: true, NewValue}`) and `pkg/core/property_value.go`, as `src/secrets.rs` cites them.
#[tokio::test]
async fn sensitive_properties_and_template_defaults_rotate_and_are_never_returned() {
    let api = Api::start().await;
    let sensitive = |value: Option<&str>| json!({"HasValue": true, "NewValue": value});
    let hidden = sensitive(None);
    let template = |value: Option<&str>| {
        json!([{"Name": "Tenant.Key", "DefaultValue": sensitive(value),
                "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}])
    };
    let (status, mut project) = api
        .post(
            "/api/Spaces-1/projects",
            json!({"Name": "P", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1",
                   "Templates": template(Some("first"))}),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let id = project["Id"].as_str().unwrap().to_owned();
    let path = format!("/api/Spaces-1/projects/{id}");
    let held = |name: &str| api.emulator.secret_value("Spaces-1", &id, name);
    assert_eq!(project["Templates"][0]["DefaultValue"], hidden);
    assert_eq!(held("Tenant.Key.DefaultValue").as_deref(), Some("first"));
    for (sent, expected) in [(Some("second"), "second"), (None, "second")] {
        project["Templates"][0]["DefaultValue"] = sensitive(sent);
        let (status, saved) = api.put(&path, project.clone()).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["Templates"][0]["DefaultValue"], hidden);
        assert_eq!(held("Tenant.Key.DefaultValue").as_deref(), Some(expected));
    }
    let (_, read) = api.get(&path).await;
    assert_eq!(read["Templates"][0]["DefaultValue"], hidden);

    let process_path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}");
    let process_secret = || {
        api.emulator.secret_value(
            "Spaces-1",
            &format!("deploymentprocess-{id}"),
            "Slack.Webhook",
        )
    };
    let (_, mut process) = api.get(&process_path).await;
    for (sent, expected) in [
        (Some("hook-1"), "hook-1"),
        (Some("hook-2"), "hook-2"),
        (None, "hook-2"),
    ] {
        let properties = json!({"Slack.Webhook": sensitive(sent)});
        match process["Steps"][0].get("Actions") {
            Some(_) => process["Steps"][0]["Actions"][0]["Properties"] = properties,
            None => {
                process["Steps"] = json!([{"Name": "Notify", "Actions": [{"Name": "Notify",
                    "ActionType": "Octopus.Script", "Properties": properties}]}])
            }
        }
        let (status, saved) = api.put(&process_path, process.clone()).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(
            saved["Steps"][0]["Actions"][0]["Properties"]["Slack.Webhook"],
            hidden
        );
        assert_eq!(process_secret().as_deref(), Some(expected));
        process = saved;
    }
    let (_, read) = api.get(&process_path).await;
    assert_eq!(
        read["Steps"][0]["Actions"][0]["Properties"]["Slack.Webhook"],
        hidden
    );
}

/// A PUT of a deployment process or a variable set whose `Version` is not the stored one is
/// refused: the server rejects edits that are not to the latest version (OctopusDeploy/Issues#716).
/// The texts are the 400s of `updateDeploymentProcess` and `updateVariableSet` in the server's
/// swagger (go-octopusdeploy `api/octopus_deploy.json`).
#[tokio::test]
async fn stale_versions_of_processes_and_variable_sets_are_refused() {
    let api = Api::start().await;
    let project = api.project("P").await;
    let path = format!(
        "/api/Spaces-1/projects/{}/deploymentprocesses",
        project["Id"].as_str().unwrap()
    );
    let (_, mut process) = api.get(&path).await;
    process["Steps"] = json!([{"Name": "Run a Script", "Actions": [{"Name": "Run a Script", "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.ScriptBody": "echo hi"}}]}]);
    let (status, saved) = api.put(&path, process.clone()).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["Version"], 1);
    assert!(saved["Steps"][0]["Id"].as_str().unwrap().len() == 36);
    assert_eq!(saved["Steps"][0]["Slug"], "run-a-script");
    let (status, body) = api.put(&path, process).await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body)[0],
        "Changes to this deployment process could not be saved, because another user has made changes to the deployment process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes."
    );

    let variables = format!(
        "/api/Spaces-1/variables/{}",
        project["VariableSetId"].as_str().unwrap()
    );
    let (_, mut set) = api.get(&variables).await;
    set["Variables"] = json!([{"Name": "A", "Value": "1", "Type": "String"}]);
    let (status, saved) = api.put(&variables, set.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(saved["Version"], 1);
    let (status, body) = api.put(&variables, set.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body)[0],
        "Changes to these variables could not be saved, because another user has made changes to the variables between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes."
    );

    set["Version"] = json!(1);
    set["Variables"] = json!([{"Name": "A", "Value": "1"}]);
    let (status, body) = api.put(&variables, set.clone()).await;
    assert_eq!(status, 500);
    assert!(body["FullException"]
        .as_str()
        .unwrap()
        .starts_with("System.NullReferenceException"));
    set["Variables"] = json!([{"Id": "x", "Name": "A", "Type": "String"}, {"Id": "x", "Name": "B", "Type": "String"}]);
    let (status, body) = api.put(&variables, set).await;
    assert_eq!(status, 400);
    assert_eq!(errors(&body), vec!["Variable ids must be unique."]);
}

/// Sensitive variables: write-only (never read back: the real captures
/// `variableset-scoped-sensitive__octopusdeployutilities-2018.11.2.json` hold `Value: null`), kept
/// when sent back with their `Id` and no value, replaced with a value, wiped without an `Id`; a
/// variable without `Type` is a 500 (OctopusDeploy/Issues#8817). The keep/wipe rule is
/// `src/secrets.rs`'s (`store_variable`), measured against a server in issue 10's review; no public
/// source states it.
#[tokio::test]
async fn sensitive_values_are_write_only_and_follow_keep_and_wipe_rules() {
    let api = Api::start().await;
    let project = api.project("P").await;
    let pid = project["Id"].as_str().unwrap();
    let path = format!("/api/Spaces-1/projects/{pid}/variables");
    let (_, mut set) = api.get(&path).await;
    set["Variables"] = json!([
        {"Name": "Password", "Value": "s3cret", "Type": "Sensitive", "IsSensitive": true},
        {"Name": "Other", "Value": "other-secret", "Type": "Sensitive"},
        {"Name": "Plain", "Value": "visible", "Type": "String"}
    ]);
    let (status, body) = api.put(&path, set).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (_, set) = api.get(&path).await;
    let vars = set["Variables"].as_array().unwrap().clone();
    assert_eq!(vars[0]["Value"], Value::Null);
    assert_eq!(vars[0]["IsSensitive"], true);
    assert_eq!(vars[2]["Value"], "visible");
    assert!(!set.to_string().contains("s3cret"));
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", pid, "Password")
            .as_deref(),
        Some("s3cret")
    );

    // Re-sent with its Id and a null value: kept. Without its Id and empty: wiped.
    let mut next = set.clone();
    next["Variables"] = json!([
        {"Id": vars[0]["Id"], "Name": "Password", "Value": null, "Type": "Sensitive", "IsSensitive": true},
        {"Name": "Other", "Value": "", "Type": "Sensitive", "IsSensitive": true},
        vars[2].clone()
    ]);
    let (status, _) = api.put(&path, next).await;
    assert_eq!(status, 200);
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", pid, "Password")
            .as_deref(),
        Some("s3cret")
    );
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", pid, "Other")
            .as_deref(),
        Some("")
    );

    // SensitiveValue objects: set, read back without value, keep, clear.
    let (status, feed) = api
        .post("/api/Spaces-1/feeds", json!({"Name": "NuGet", "FeedType": "NuGet", "FeedUri": "https://nuget.example", "Username": "u", "Password": {"HasValue": true, "NewValue": "feed-pass"}}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        feed["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    let feed_id = feed["Id"].as_str().unwrap();
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", feed_id, "Password")
            .as_deref(),
        Some("feed-pass")
    );
    let feed_path = format!("/api/Spaces-1/feeds/{feed_id}");
    let (_, read) = api.get(&feed_path).await;
    let (status, kept) = api.put(&feed_path, read.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(kept["Password"]["HasValue"], true);
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", feed_id, "Password")
            .as_deref(),
        Some("feed-pass")
    );
    let mut cleared = read;
    cleared["Password"] = json!({"HasValue": false});
    let (_, cleared) = api.put(&feed_path, cleared).await;
    assert_eq!(cleared["Password"]["HasValue"], false);
    assert_eq!(
        api.emulator.secret_value("Spaces-1", feed_id, "Password"),
        None
    );

    // Git credentials answer with the newer {Id, Links} / {} shapes.
    let (status, created) = api
        .post("/api/Spaces-1/git-credentials", json!({"Name": "gh", "Details": {"Type": "UsernamePassword", "Username": "bot", "Password": {"HasValue": true, "NewValue": "token"}}}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        created.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["Id", "Links"]
    );
    let cred_id = created["Id"].as_str().unwrap();
    let (_, listed) = api.get("/api/Spaces-1/git-credentials?name=gh").await;
    assert_eq!(listed["TotalResults"], 1);
    assert_eq!(
        listed["Items"][0]["Details"]["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", cred_id, "Details.Password")
            .as_deref(),
        Some("token")
    );
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/git-credentials/{cred_id}"),
            listed["Items"][0].clone(),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", cred_id, "Password")
            .as_deref(),
        Some("token")
    );
}

fn zip_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

async fn upload(api: &Api, query: &str, file_name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string());
    let form = reqwest::multipart::Form::new().part("fileData", part);
    let response = api
        .request(Method::POST, &format!("/api/Spaces-1/packages/raw{query}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Built-in feed uploads (`POST …/packages/raw`) with `overwriteMode` `FailIfExists` (409 "A
/// package with the same ID and version already exists. To proceed anyway, specify an overwriteMode
/// of OverwriteExisting or IgnoreIfExists.": the server's swagger, `pushNuGetPackage`, in
/// go-octopusdeploy `api/octopus_deploy.json`), `OverwriteExisting` and `IgnoreIfExists`; the
/// download is the same bytes.
#[tokio::test]
async fn packages_upload_with_overwrite_modes_and_download_identically() {
    let api = Api::start().await;
    let bytes = zip_bytes(4096);
    let (status, package) = upload(&api, "", "hello-world.1.0.0.zip", bytes.clone()).await;
    assert_eq!(status, 201, "{package}");
    assert_eq!(package["Id"], "packages-hello-world.1.0.0");
    assert_eq!(package["PackageId"], "hello-world");
    assert_eq!(package["Version"], "1.0.0");
    assert_eq!(package["PackageSizeBytes"], 4096);
    let (status, body) = upload(&api, "", "hello-world.1.0.0.zip", bytes.clone()).await;
    assert_eq!(status, 409);
    assert!(body["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    let (status, _) = upload(
        &api,
        "?overwriteMode=IgnoreIfExists",
        "hello-world.1.0.0.zip",
        zip_bytes(10),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = upload(
        &api,
        "?overwriteMode=FailIfExists",
        "hello-world.1.10.0.zip",
        zip_bytes(10),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = upload(&api, "", "empty.1.0.0.zip", Vec::new()).await;
    assert_eq!(status, 400);
    assert!(errors(&body)[0].contains("length equal to 0"));

    let raw = api
        .request(
            Method::GET,
            "/api/Spaces-1/packages/packages-hello-world.1.0.0/raw",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 200);
    assert_eq!(raw.bytes().await.unwrap().to_vec(), bytes);
    let (_, versions) = api
        .get("/api/Spaces-1/packages?nuGetPackageId=hello-world")
        .await;
    assert_eq!(versions["Items"][0]["Version"], "1.10.0");
    let (_, latest) = api
        .get("/api/Spaces-1/feeds/feeds-builtin/packages/versions?packageId=hello-world&take=1")
        .await;
    assert_eq!(latest["Items"].as_array().unwrap().len(), 1);
    assert_eq!(latest["Items"][0]["Version"], "1.10.0");
    let (status, _) = api
        .get("/api/Spaces-1/packages/packages-nope.1.0.0/raw")
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/Spaces-1/packages/packages-hello-world.1.0.0",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .get("/api/Spaces-1/packages/packages-hello-world.1.0.0")
        .await;
    assert_eq!(status, 404);
}

/// A zip holding `entries` (name, content), as `nuget pack` writes a `.nupkg`.
fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A real server takes a `.nupkg`'s identity from its `.nuspec`, whatever the file is called,
/// and refuses one without a readable manifest; a zip is identified by its file name.
///
/// Source of the rule: OctopusDeploy/Issues#1491 and the docs' "Supported Packages", as
/// `src/packages.rs` cites them.
#[tokio::test]
async fn a_nupkg_is_identified_by_its_nuspec_not_its_file_name() {
    let api = Api::start().await;
    let nuspec = r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><ID>Acme.Web</ID><Version>2.1.0-beta.1</Version><authors>acme</authors></metadata>
</package>"#;
    let nupkg = zip_of(&[("Acme.Web.nuspec", nuspec), ("content/app.txt", "hello")]);
    let (status, package) = upload(&api, "", "wrong-name.9.9.9.nupkg", nupkg.clone()).await;
    assert_eq!(status, 201, "{package}");
    assert_eq!(package["PackageId"], "Acme.Web");
    assert_eq!(package["Version"], "2.1.0-beta.1");
    assert_eq!(package["Id"], "packages-Acme.Web.2.1.0-beta.1");
    assert_eq!(package["FileExtension"], ".nupkg");
    let (status, body) = api
        .get("/api/Spaces-1/packages/packages-wrong-name.9.9.9")
        .await;
    assert_eq!(status, 404, "{body}");
    // No version in the file name at all: the manifest is enough.
    let (status, body) = upload(&api, "", "package.nupkg", nupkg).await;
    assert_eq!(status, 409, "{body}");

    for (what, bytes) in [
        ("no manifest", zip_of(&[("content/app.txt", "hello")])),
        (
            "a manifest only in a folder",
            zip_of(&[("nested/Acme.Web.nuspec", nuspec)]),
        ),
        (
            "no version",
            zip_of(&[(
                "a.nuspec",
                "<package><metadata><id>Acme.Web</id></metadata></package>",
            )]),
        ),
        ("not XML", zip_of(&[("a.nuspec", "<package><metadata>")])),
        ("not a zip", zip_bytes(64)),
    ] {
        let (status, body) = upload(&api, "", "Acme.Web.3.0.0.nupkg", bytes).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(
            errors(&body),
            vec!["The uploaded file isn't a valid NuGet package."],
            "{what}"
        );
    }
    let (_, listed) = api
        .get("/api/Spaces-1/packages?nuGetPackageId=Acme.Web")
        .await;
    assert_eq!(listed["Items"].as_array().unwrap().len(), 1, "{listed}");
}

/// The legacy `/tenants/{id}/variables` document (real captures
/// `tests/fixtures/octopus-payloads/tenant-variables-legacy__*`) and the scoped
/// `commonvariables`/`projectvariables` lists (go-octopusdeploy `pkg/tenants` and the generated
/// `tenants.md` of OctopusDeploy/docs) read and write the same stored values; sensitive values read
/// `{HasValue: true, NewValue: null}`.
#[tokio::test]
async fn legacy_and_scoped_tenant_variables_read_and_write_the_same_values() {
    let api = Api::start().await;
    let env = api
        .emulator
        .seed("Spaces-1", "environments", json!({"Name": "Production"}));
    let env_id = env["Id"].as_str().unwrap().to_string();
    let lvs = api.emulator.seed(
        "Spaces-1",
        "libraryvariablesets",
        json!({"Name": "ManagedTenant", "Templates": [
            {"Name": "ManagedTenant.Octopus.Url", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
            {"Name": "ManagedTenant.Octopus.ApiKey", "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}
        ]}),
    );
    let lvs_id = lvs["Id"].as_str().unwrap().to_string();
    let url_template = lvs["Templates"][0]["Id"].as_str().unwrap().to_string();
    let key_template = lvs["Templates"][1]["Id"].as_str().unwrap().to_string();
    let project = api.emulator.seed(
        "Spaces-1",
        "projects",
        json!({"Name": "P", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1",
               "IncludedLibraryVariableSetIds": [lvs_id], "Templates": [{"Name": "Region", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}}]}),
    );
    let pid = project["Id"].as_str().unwrap().to_string();
    let region_template = project["Templates"][0]["Id"].as_str().unwrap().to_string();
    let (status, tenant) = api
        .post(
            "/api/Spaces-1/tenants",
            json!({"Name": "Acme", "ProjectEnvironments": {pid.clone(): [env_id.clone()]}}),
        )
        .await;
    assert_eq!(status, 201);
    let tid = tenant["Id"].as_str().unwrap().to_string();
    assert_eq!(
        tenant["Links"]["Variables"],
        format!("/api/Spaces-1/tenants/{tid}/variables")
    );

    // Legacy shape: entries exist with empty Variables, never null.
    let legacy_path = format!("/api/Spaces-1/tenants/{tid}/variables");
    let (_, mut legacy) = api.get(&legacy_path).await;
    assert_eq!(legacy["LibraryVariables"][&lvs_id]["Variables"], json!({}));
    assert_eq!(
        legacy["ProjectVariables"][&pid]["Variables"][&env_id],
        json!({})
    );

    legacy["LibraryVariables"][&lvs_id]["Variables"] = json!({
        url_template.clone(): "https://managed.example",
        key_template.clone(): {"HasValue": true, "NewValue": "API-KEY1"}
    });
    legacy["ProjectVariables"][&pid]["Variables"][&env_id] = json!({region_template.clone(): "eu"});
    let (status, written) = api.put(&legacy_path, legacy).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        written["LibraryVariables"][&lvs_id]["Variables"][&key_template],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", &tid, "ManagedTenant.Octopus.ApiKey")
            .as_deref(),
        Some("API-KEY1")
    );

    // The scoped API sees the same values.
    let (_, common) = api
        .get(&format!(
            "/api/Spaces-1/tenants/{tid}/commonvariables?includeMissingVariables=true"
        ))
        .await;
    let values = common["Variables"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    let url_value = values
        .iter()
        .find(|v| v["TemplateId"] == url_template.as_str())
        .unwrap();
    assert_eq!(url_value["Value"], "https://managed.example");
    assert_eq!(url_value["LibraryVariableSetId"], lvs_id.as_str());
    assert_eq!(common["MissingVariables"], json!([]));
    let (_, projectvars) = api
        .get(&format!("/api/Spaces-1/tenants/{tid}/projectvariables"))
        .await;
    assert_eq!(projectvars["Variables"][0]["Value"], "eu");
    assert_eq!(
        projectvars["Variables"][0]["Scope"]["EnvironmentIds"],
        json!([env_id.clone()])
    );

    // Scoped PUT (Go client naming, sensitive kept by Id, URL changed) shows through the legacy API.
    let key_value = values
        .iter()
        .find(|v| v["TemplateId"] == key_template.as_str())
        .unwrap();
    let body = json!({"Variables": [
        {"LibraryVariableSetId": lvs_id, "TemplateId": url_template, "Value": "https://changed.example", "Scope": {"EnvironmentIds": []}},
        {"Id": key_value["Id"], "LibraryVariableSetId": lvs_id, "TemplateId": key_template, "Value": {"HasValue": true, "NewValue": null}, "Scope": {"EnvironmentIds": []}}
    ]});
    let (status, put) = api
        .put(
            &format!("/api/Spaces-1/tenants/{tid}/commonvariables?IncludeMissingVariables="),
            body,
        )
        .await;
    assert_eq!(status, 200, "{put}");
    let (_, legacy) = api.get(&legacy_path).await;
    assert_eq!(
        legacy["LibraryVariables"][&lvs_id]["Variables"][&url_template],
        "https://changed.example"
    );
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", &tid, "ManagedTenant.Octopus.ApiKey")
            .as_deref(),
        Some("API-KEY1")
    );

    // The list is complete: an empty PUT deletes the common values.
    let (status, _) = api
        .put(
            &format!("/api/Spaces-1/tenants/{tid}/commonvariables"),
            json!({"Variables": []}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, legacy) = api.get(&legacy_path).await;
    assert_eq!(legacy["LibraryVariables"][&lvs_id]["Variables"], json!({}));
    assert_eq!(
        legacy["ProjectVariables"][&pid]["Variables"][&env_id][&region_template],
        "eu"
    );
    let (_, all) = api
        .get(&format!(
            "/api/Spaces-1/tenantvariables/all?projectId={pid}"
        ))
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);

    api.emulator.seed_tenant_common_variable(
        "Spaces-1",
        &tid,
        &lvs_id,
        "ManagedTenant.Octopus.Url",
        "https://seeded",
    );
    let (_, legacy) = api.get(&legacy_path).await;
    assert_eq!(
        legacy["LibraryVariables"][&lvs_id]["Variables"][&url_template],
        "https://seeded"
    );
}

async fn statuses(seed: u64) -> Vec<u16> {
    let api = Api::with(EmulatorConfig {
        fault_rate: 0.5,
        seed,
        ..EmulatorConfig::default()
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        let response = api
            .request(Method::GET, "/api/Spaces-1/environments")
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 429 {
            assert_eq!(response.headers()["retry-after"], "1");
        }
        out.push(response.status().as_u16());
    }
    assert_eq!(api.emulator.requests().len(), 40);
    out
}

/// The emulator's own fault injection (not a server rule): the same seed gives the same faults.
#[tokio::test]
async fn seeded_faults_are_deterministic() {
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert_ne!(first, statuses(8).await);
    for status in [200, 500, 503, 429] {
        assert!(first.contains(&status), "{first:?} lacks {status}");
    }
}

/// The emulator's own fault injection (not a server rule).
#[tokio::test]
async fn a_dropped_write_commits_but_the_client_sees_a_connection_error() {
    let api = Api::start().await;
    api.emulator
        .drop_connection_after_commit("POST", "/environments", 1);
    let result = api
        .request(Method::POST, "/api/Spaces-1/environments")
        .json(&json!({"Name": "Lost Reply"}))
        .send()
        .await;
    let error = result.expect_err("the connection must be dropped");
    assert!(!error.is_status() && error.status().is_none(), "{error:?}");
    let (_, envs) = api
        .get("/api/Spaces-1/environments?name=Lost%20Reply")
        .await;
    assert_eq!(envs["TotalResults"], 1);
    assert_eq!(api.emulator.writes().len(), 1);
    assert!(api.emulator.unfired_faults().is_empty());
    // One shot: the retry now answers normally (with the duplicate-name 400).
    let (status, _) = api
        .post("/api/Spaces-1/environments", json!({"Name": "Lost Reply"}))
        .await;
    assert_eq!(status, 400);
}

/// The emulator's own fault injection (not a server rule), and its request log.
#[tokio::test]
async fn writes_fail_after_the_budget_without_committing() {
    let api = Api::start().await;
    api.emulator.fail_writes_after(2);
    for (name, expected) in [("A", 201), ("B", 201), ("C", 503)] {
        let (status, _) = api
            .post("/api/Spaces-1/environments", json!({"Name": name}))
            .await;
        assert_eq!(status, expected);
    }
    assert_eq!(api.emulator.list("Spaces-1", "environments").len(), 2);
    let (status, _) = api.get("/api/Spaces-1/environments").await;
    assert_eq!(status, 200);
    api.emulator.clear_faults();
    let (status, _) = api
        .post("/api/Spaces-1/environments", json!({"Name": "C"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.emulator.writes().len(), 3);
    let log: Value = reqwest::get(format!("{}/_emulator/requests", api.emulator.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 5);
    // The key is logged as a fingerprint only; a create's name is logged, to count creates by.
    let fingerprint = octopus_emulator::key_fingerprint(api.emulator.api_key());
    // When it arrived and was answered (µs on the emulator's clock) vary from run to run.
    let mut entry = log[2].clone();
    let times = entry.as_object_mut().unwrap();
    let received = times.remove("received_us").unwrap().as_u64().unwrap();
    let answered = times.remove("answered_us").unwrap().as_u64().unwrap();
    assert!(received <= answered, "{received} > {answered}");
    assert_eq!(
        entry,
        json!({"method": "POST", "path": "/api/Spaces-1/environments", "query": "", "status": 503,
               "name": "C", "key": fingerprint})
    );
    assert!(!log.to_string().contains(api.emulator.api_key()));
    assert_eq!(
        api.emulator.fault_rules()[0].rule,
        "every write after the first 2 refused 503"
    );
    assert!(api.emulator.unfired_faults().is_empty());
}

/// Every rule armed is reported with how often it fired, cleared ones included, so a test can
/// tell that the fault it armed happened. The request log says which key each request presented
/// (a fingerprint, never the key) and the name a POST created.
#[tokio::test]
async fn fault_rules_report_whether_they_fired_and_the_log_names_keys_and_creates() {
    let api = Api::start().await;
    api.emulator.refuse("POST", "/environments", 2, 503);
    api.emulator.refuse("PUT", "/never-called", 1, 503);
    api.emulator
        .deny("DELETE", "/environments", "EnvironmentDelete");
    let (status, _) = api
        .post("/api/Spaces-1/environments", json!({"Name": "Once"}))
        .await;
    assert_eq!(status, 503);
    api.emulator.clear_faults();
    api.emulator.set_fault_rate(0.5, 1);
    let unfired: Vec<String> = api
        .emulator
        .unfired_faults()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unfired,
        [
            "PUT …/never-called: refused 503 before anything changes (fired 0 of 1)",
            "DELETE …/environments: denied, missing permission EnvironmentDelete (fired 0)",
            "random 500/503/429 at rate 0.5 (seed 1) (fired 0)",
        ]
    );
    let rules: Value = reqwest::get(format!("{}/_emulator/faults", api.emulator.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        rules[0],
        json!({"rule": "POST …/environments: refused 503 before anything changes", "shots": 2, "fired": 1})
    );

    let other = api
        .http
        .get(format!("{}/api/spaces", api.emulator.url()))
        .header("X-Octopus-ApiKey", "API-SOMEONEELSE0000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 401);
    let log = api.emulator.requests();
    assert_eq!(log[0].name.as_deref(), Some("Once"));
    assert_eq!(
        log[0].key,
        Some(octopus_emulator::key_fingerprint(api.emulator.api_key()))
    );
    let last = log.last().unwrap();
    assert_eq!(
        last.key,
        Some(octopus_emulator::key_fingerprint(
            "API-SOMEONEELSE0000000000000000"
        ))
    );
    assert_ne!(log[0].key, last.key);
    assert_eq!(last.name, None);
}

/// Config-as-Code: `POST …/git/convert` answers 200 `{}` and the project's process and settings are
/// then served per git ref (`/projects/{id}/{gitRef}/deploymentprocesses`, `…/{gitRef}/runbooks`,
/// `…/{gitRef}/variables`: go-octopusdeploy `uritemplates/links.go`; octoterra reads the process
/// the same way, OctopusSolutionsEngineering/OctopusTerraformExport
/// `cmd/internal/converters/deployment_process_converter.go`). The `{}` answer to convert is from
/// the API pages generated in OctopusDeploy/docs, as the research notes cite them (not re-read
/// here).
#[tokio::test]
async fn config_as_code_conversion_serves_git_ref_routes() {
    let api = Api::start().await;
    let project = api.project("Git Project").await;
    let pid = project["Id"].as_str().unwrap();
    let convert = json!({"CommitMessage": "Initial", "VersionControlSettings": {
        "Type": "VersionControlled", "Url": "https://git.example/repo.git", "DefaultBranch": "main", "BasePath": ".octopus",
        "Credentials": {"Type": "UsernamePassword", "Username": "bot", "Password": {"HasValue": true, "NewValue": "git-pass"}}}});
    let (status, body) = api
        .post(
            &format!("/api/Spaces-1/projects/{pid}/git/convert"),
            convert,
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, project) = api.get(&format!("/api/Spaces-1/projects/{pid}")).await;
    assert_eq!(project["IsVersionControlled"], true);
    assert_eq!(project["VersioningStrategy"], Value::Null);
    assert_eq!(
        project["PersistenceSettings"]["Credentials"]["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        project["Links"]["DeploymentProcess"],
        format!("/api/Spaces-1/projects/{pid}/{{gitRef}}/deploymentprocesses")
    );
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", pid, "Credentials.Password")
            .as_deref(),
        Some("git-pass")
    );

    for git_ref in ["main", "refs%2Fheads%2Fmain", "refs/heads/main"] {
        let (status, process) = api
            .get(&format!(
                "/api/Spaces-1/projects/{pid}/{git_ref}/deploymentprocesses"
            ))
            .await;
        assert_eq!(status, 200, "{git_ref}");
        assert_eq!(
            process["Links"]["Self"],
            format!("/api/Spaces-1/projects/{pid}/refs%2Fheads%2Fmain/deploymentprocesses")
        );
    }
    let path = format!("/api/Spaces-1/projects/{pid}/refs%2Fheads%2Fmain/deploymentprocesses");
    let (_, mut process) = api.get(&path).await;
    process["Steps"] =
        json!([{"Name": "Hello", "Actions": [{"Name": "Hello", "ActionType": "Octopus.Script"}]}]);
    let (status, saved) = api.put(&path, process).await;
    assert_eq!(status, 200);
    assert_eq!(saved["Steps"][0]["Name"], "Hello");
    let (status, _) = api
        .get(&format!(
            "/api/Spaces-1/projects/{pid}/main/deploymentsettings"
        ))
        .await;
    assert_eq!(status, 200);
    let (_, branches) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/git/branches"))
        .await;
    assert_eq!(branches["Items"][0]["Name"], "main");
    let (status, _) = api
        .get(&format!(
            "/api/Spaces-1/projects/{pid}/nope/deploymentprocesses"
        ))
        .await;
    assert_eq!(status, 404);
    let (status, body) = api
        .post(
            &format!("/api/Spaces-1/projects/{pid}/git/migrate-variables"),
            json!({}),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, project) = api.get(&format!("/api/Spaces-1/projects/{pid}")).await;
    assert_eq!(
        project["PersistenceSettings"]["ConversionState"]["VariablesAreInGit"],
        true
    );
}

/// With `check_git_urls`, a repository URL that does not answer `info/refs` is refused before the
/// conversion: the server clones it first (the refusal text `UNREACHABLE` in
/// `src/config_as_code.rs` is the emulator's; no public capture of it was found).
#[tokio::test]
async fn git_urls_are_checked_when_configured() {
    let api = Api::with(EmulatorConfig {
        check_git_urls: true,
        ..EmulatorConfig::default()
    })
    .await;
    let project = api.project("Checked").await;
    let pid = project["Id"].as_str().unwrap();
    // Nothing listens on port 9 of localhost.
    let convert = json!({"CommitMessage": "x", "VersionControlSettings": {"Type": "VersionControlled", "Url": "http://127.0.0.1:9/repo.git", "Credentials": {"Type": "Anonymous"}}});
    let (status, body) = api
        .post(
            &format!("/api/Spaces-1/projects/{pid}/git/convert"),
            convert,
        )
        .await;
    assert_eq!(status, 400);
    assert!(errors(&body)[0].starts_with("Unable to connect to the specified Git repository."));
    // A stand-in git server that answers 200 and reports the Authorization header it got.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let git_url = format!("http://{}/repo.git", listener.local_addr().unwrap());
    let seen = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0; 4096];
        let n = stream.read(&mut buffer).await.unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    });
    let convert = json!({"CommitMessage": "x", "VersionControlSettings": {"Type": "VersionControlled", "Url": git_url,
        "Credentials": {"Type": "UsernamePassword", "Username": "bot", "Password": {"HasValue": true, "NewValue": "pw"}}}});
    let (status, body) = api
        .post(
            &format!("/api/Spaces-1/projects/{pid}/git/convert"),
            convert,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let request = seen.await.unwrap();
    assert!(
        request.starts_with("GET /repo.git/info/refs?service=git-upload-pack "),
        "{request}"
    );
    // bot:pw
    assert!(
        request
            .to_lowercase()
            .contains("authorization: basic ym90onb3"),
        "{request}"
    );
}

/// The emulator's own persistence (not a server rule).
#[tokio::test]
async fn the_state_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = EmulatorConfig {
        state_file: Some(file.clone()),
        ..EmulatorConfig::default()
    };
    let api = Api::with(config.clone()).await;
    api.post("/api/Spaces-1/environments", json!({"Name": "Persisted"}))
        .await;
    let project = api.project("P").await;
    let path = format!(
        "/api/Spaces-1/projects/{}/variables",
        project["Id"].as_str().unwrap()
    );
    let (_, mut set) = api.get(&path).await;
    set["Variables"] = json!([{"Name": "S", "Value": "kept-secret", "Type": "Sensitive"}]);
    api.put(&path, set).await;
    upload(&api, "", "pkg.2.0.0.zip", zip_bytes(100)).await;
    api.emulator.clone().shutdown().await;
    assert!(file.exists());

    let again = Api::with(config).await;
    let (_, envs) = again.get("/api/Spaces-1/environments?name=Persisted").await;
    assert_eq!(envs["TotalResults"], 1);
    assert_eq!(
        again
            .emulator
            .secret_value("Spaces-1", project["Id"].as_str().unwrap(), "S")
            .as_deref(),
        Some("kept-secret")
    );
    let raw = again
        .request(Method::GET, "/api/Spaces-1/packages/packages-pkg.2.0.0/raw")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.bytes().await.unwrap().to_vec(), zip_bytes(100));
    // IDs continue where they stopped.
    let (_, env) = again
        .post("/api/Spaces-1/environments", json!({"Name": "Next"}))
        .await;
    assert_eq!(env["Id"], "Environments-2");
}

/// Every link a space root advertises is served: `EnvironmentSortOrder` reorders by ID list (the
/// server's swagger in go-octopusdeploy `api/octopus_deploy.json`, `updateSortEnvironments_Spaces`:
/// "Takes an array of environment IDs as the request body…").
#[tokio::test]
async fn the_advertised_environment_sort_order_route_is_served() {
    let api = Api::start().await;
    let (_, root) = api.get("/api/Spaces-1").await;
    assert_eq!(
        root["Links"]["EnvironmentSortOrder"],
        "/api/Spaces-1/environments/sortorder"
    );
    let mut ids = Vec::new();
    for name in ["Dev", "Test", "Prod"] {
        let (status, env) = api
            .post("/api/Spaces-1/environments", json!({"Name": name}))
            .await;
        assert_eq!(status, 201);
        ids.push(env["Id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let (status, _) = api
        .put("/api/Spaces-1/environments/sortorder", json!(ids))
        .await;
    assert_eq!(status, 200);
    let (_, page) = api.get("/api/Spaces-1/environments").await;
    let names: Vec<&str> = page["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Prod", "Test", "Dev"]);
    let (status, _) = api
        .put("/api/Spaces-1/environments/sortorder", json!([ids[0]]))
        .await;
    assert_eq!(status, 400, "an incomplete order is refused");
}

/// A key without a permission gets the real server's 403 text (OctopusDeploy/Issues#9197 and
/// #7181, OctopusDeploy/OctopusClients#391, as `src/faults.rs` cites them).
#[tokio::test]
async fn a_denied_permission_is_the_real_403() {
    let api = Api::start().await;
    api.emulator
        .deny("POST", "/environments", "EnvironmentCreate");
    let (status, body) = api
        .post("/api/Spaces-1/environments", json!({"Name": "Dev"}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["ErrorMessage"],
        "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: EnvironmentCreate"
    );
    let (status, _) = api.get("/api/Spaces-1/environments").await;
    assert_eq!(status, 200, "reads are still allowed");
    assert!(api.emulator.unfired_faults().is_empty());
}

/// Two projects cannot share one repository and base path (OctopusDeploy/Issues#7194), in any
/// space of the instance, whether by convert or by a settings update.
#[tokio::test]
async fn two_projects_cannot_share_a_repository_and_base_path() {
    let api = Api::start().await;
    let convert = |url: &str, base: &str| {
        json!({"CommitMessage": "x", "VersionControlSettings": {"Type": "VersionControlled", "Url": url,
               "BasePath": base, "Credentials": {"Type": "Anonymous"}}})
    };
    let first = api.project("First").await;
    let second = api.project("Second").await;
    let path = |p: &Value| {
        format!(
            "/api/Spaces-1/projects/{}/git/convert",
            p["Id"].as_str().unwrap()
        )
    };
    let (status, _) = api
        .post(
            &path(&first),
            convert("https://git.example.com/o/r.git", ".octopus"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .post(
            &path(&second),
            convert("https://git.example.com/o/r", ".octopus/"),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        errors(&body)[0].contains("already used by the project 'First'"),
        "{body}"
    );
    let (status, _) = api
        .post(
            &path(&second),
            convert("https://git.example.com/o/r.git", ".octopus/second"),
        )
        .await;
    assert_eq!(status, 200, "another base path is fine");
    // A settings update onto the first project's place is refused too.
    let (_, stored) = api
        .get(&format!(
            "/api/Spaces-1/projects/{}",
            second["Id"].as_str().unwrap()
        ))
        .await;
    let mut moved = stored.clone();
    moved["PersistenceSettings"]["BasePath"] = json!(".octopus");
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/projects/{}", second["Id"].as_str().unwrap()),
            moved,
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

/// Automatic release creation needs a strategy naming a channel of the project and a package
/// step; the texts are the `createProject`/`updateProject` 400s of the server's swagger
/// (go-octopusdeploy `api/octopus_deploy.json`).
#[tokio::test]
async fn automatic_release_creation_needs_a_strategy() {
    let api = Api::start().await;
    let (status, body) = api
        .post(
            "/api/Spaces-1/projects",
            json!({"Name": "Auto", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1", "AutoCreateRelease": true}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        errors(&body)[0],
        "A channel ID must be provided to enable Automatic Release Creation."
    );
    let project = api.project("Auto").await;
    let pid = project["Id"].as_str().unwrap();
    let other = api.project("Other").await;
    let mut channels = Vec::new();
    for owner in [pid, other["Id"].as_str().unwrap()] {
        let (_, listed) = api
            .get(&format!("/api/Spaces-1/projects/{owner}/channels"))
            .await;
        channels.push(listed["Items"][0]["Id"].as_str().unwrap().to_owned());
    }
    let (ours, theirs) = (channels[0].clone(), channels[1].clone());
    let with = |channel: &str, package: Value| {
        let mut sent = project.clone();
        sent["AutoCreateRelease"] = json!(true);
        sent["ReleaseCreationStrategy"] =
            json!({"ChannelId": channel, "ReleaseCreationPackage": package});
        sent
    };
    let package = json!({"DeploymentAction": "Deploy", "PackageReference": ""});
    for (sent, text) in [
        (
            with(&ours, Value::Null),
            "A package step must be provided to enable Automatic Release Creation.",
        ),
        (
            with(&theirs, package.clone()),
            "The specified Automatic Release Creation channel belongs to a different project.",
        ),
    ] {
        let (status, body) = api
            .put(&format!("/api/Spaces-1/projects/{pid}"), sent)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(errors(&body)[0], text);
    }
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/projects/{pid}"),
            with(&ours, package),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A versioning strategy is a template or a donor package, and a donor names a step the process
/// has (OctopusDeploy/Issues#6947, #7230, #8455).
#[tokio::test]
async fn versioning_takes_a_template_or_an_existing_donor_step() {
    let api = Api::start().await;
    let project = api.project("Versioned").await;
    let id = project["Id"].as_str().unwrap();
    let path = format!("/api/Spaces-1/projects/{id}");
    let with = |strategy: Value| {
        let mut body = project.clone();
        body["VersioningStrategy"] = strategy;
        body
    };
    let donor = json!({"DeploymentAction": "Deploy", "PackageReference": ""});
    let (status, body) = api
        .put(
            &path,
            with(json!({"Template": "1.0.#{Octopus.Version.NextPatch}", "DonorPackage": donor})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        errors(&body)[0]
            .starts_with("Only one of either a donor package step or a version template"),
        "{body}"
    );
    let (status, body) = api
        .put(
            &path,
            with(json!({"Template": null, "DonorPackage": donor})),
        )
        .await;
    assert_eq!(status, 400, "a donor step the process lacks: {body}");
    let (status, _) = api
        .put(
            &format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"),
            json!({"Version": 0, "Steps": [{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.TentaclePackage",
                   "Packages": [{"Name": "", "PackageId": "app", "FeedId": "feeds-builtin"}]}]}]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .put(
            &path,
            with(json!({"Template": null, "DonorPackage": donor})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A protected default branch cannot take the conversion's first commit: the client names the
/// branch it goes to, and nothing is stored when it does not. Source of the rule: octofleet's issue
/// 10 review (`src/config_as_code.rs`); the refusal's text is a guess, no public capture was
/// found.
#[tokio::test]
async fn a_protected_default_branch_needs_an_initial_commit_branch() {
    let api = Api::start().await;
    let project = api.project("Protected").await;
    let path = format!(
        "/api/Spaces-1/projects/{}/git/convert",
        project["Id"].as_str().unwrap()
    );
    let settings = json!({"Type": "VersionControlled", "Url": "https://git.example.com/o/p.git",
                          "DefaultBranch": "main", "ProtectedDefaultBranch": true, "Credentials": {"Type": "Anonymous"}});
    let (status, body) = api
        .post(
            &path,
            json!({"CommitMessage": "x", "VersionControlSettings": settings}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, stored) = api
        .get(&format!(
            "/api/Spaces-1/projects/{}",
            project["Id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        stored["IsVersionControlled"],
        json!(false),
        "nothing stored"
    );
    let (status, body) = api
        .post(&path, json!({"CommitMessage": "x", "InitialCommitBranchName": "initial", "VersionControlSettings": settings}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The test certificates in `tests/fixtures/certificates` (see its README for how they were made
/// and for openssl's fingerprints).
fn certificate_fixture(name: &str) -> String {
    use base64::Engine;
    let path = format!(
        "{}/../../tests/fixtures/certificates/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(path).expect("fixture"))
}

/// openssl x509 -fingerprint -sha1 of `leaf.pem` and `ca.pem`.
const LEAF_THUMBPRINT: &str = "5BFE69D1BD88F48FE3D6649504C5F73920CC21EB";
const CA_THUMBPRINT: &str = "D67DEBFB5866E981F03601ED68CA03D1CF67820F";

/// An account's secrets are written as SensitiveValues, never read back, kept by `NewValue: null`;
/// its type is fixed; each type's required fields are required.
#[tokio::test]
async fn accounts_hold_secrets_out_of_sight() {
    let api = Api::start().await;
    let (status, created) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "AWS Prod", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AKIA1",
                   "SecretKey": {"HasValue": true, "NewValue": "aws-secret"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("Accounts-"), "{id}");
    assert_eq!(
        created["SecretKey"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(created["TenantedDeploymentParticipation"], "Untenanted");
    assert!(!created.to_string().contains("aws-secret"));
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", &id, "SecretKey")
            .as_deref(),
        Some("aws-secret")
    );

    // Re-sent as read: the secret is kept.
    let mut edited = created.clone();
    edited["Description"] = json!("edited");
    let (status, updated) = api
        .put(&format!("/api/Spaces-1/accounts/{id}"), edited.clone())
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", &id, "SecretKey")
            .as_deref(),
        Some("aws-secret")
    );

    // The type is fixed, a bare string secret is refused, required fields are required.
    let mut retyped = edited.clone();
    retyped["AccountType"] = json!("Token");
    let (status, _) = api
        .put(&format!("/api/Spaces-1/accounts/{id}"), retyped)
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "Plain", "AccountType": "Token", "Token": "in-clear"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.to_string().contains("in-clear"));
    let (status, body) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "No key", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AKIA2"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(errors(&body), ["The SecretKey field is required."]);
    let (status, _) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "Odd", "AccountType": "Carrier pigeon"}),
        )
        .await;
    assert_eq!(status, 400);

    // Names are unique in the space; the list filters by type.
    let (status, _) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "aws prod", "AccountType": "Token", "Token": {"HasValue": true, "NewValue": "t"}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .post(
            "/api/Spaces-1/accounts",
            json!({"Name": "Token", "AccountType": "Token", "Token": {"HasValue": true, "NewValue": "t"}}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, tokens) = api.get("/api/Spaces-1/accounts?accountType=Token").await;
    let names: Vec<&str> = tokens["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Token"]);
}

/// A certificate upload is read as the server reads it: PEM, DER and PFX (with its password, the
/// legacy and the OpenSSL 3 encryption); the thumbprint is the SHA-1 of the certificate that holds
/// the private key (not the CA in the chain); the data and password never come back.
#[tokio::test]
async fn certificate_uploads_give_the_thumbprint_and_stay_secret() {
    let api = Api::start().await;
    let cases = [
        ("leaf.pem", None, "Pem", false, LEAF_THUMBPRINT),
        ("leaf-with-key.pem", None, "Pem", true, LEAF_THUMBPRINT),
        ("leaf.der", None, "Der", false, LEAF_THUMBPRINT),
        (
            "leaf-chain-aes.pfx",
            Some("pfx-password"),
            "Pkcs12",
            true,
            LEAF_THUMBPRINT,
        ),
        (
            "leaf-chain-3des.pfx",
            Some("pfx-password"),
            "Pkcs12",
            true,
            LEAF_THUMBPRINT,
        ),
        ("ca.pem", None, "Pem", false, CA_THUMBPRINT),
    ];
    for (file, password, format, has_key, thumbprint) in cases {
        let data = certificate_fixture(file);
        let mut body =
            json!({"Name": file, "CertificateData": {"HasValue": true, "NewValue": data}});
        if let Some(password) = password {
            body["Password"] = json!({"HasValue": true, "NewValue": password});
        }
        let (status, created) = api.post("/api/Spaces-1/certificates", body).await;
        assert_eq!(status, 201, "{file}: {created}");
        assert_eq!(created["Thumbprint"], thumbprint, "{file}");
        assert_eq!(created["CertificateDataFormat"], format, "{file}");
        assert_eq!(created["HasPrivateKey"], has_key, "{file}");
        assert_eq!(
            created["CertificateData"],
            json!({"HasValue": true, "NewValue": null})
        );
        assert!(!created.to_string().contains(&data[..40]), "{file}");
        if let Some(password) = password {
            assert!(!created.to_string().contains(password));
        }
        if thumbprint == LEAF_THUMBPRINT {
            assert_eq!(
                created["SubjectDistinguishedName"],
                "CN=payments.example.com, O=Octofleet Test, C=NZ"
            );
            assert_eq!(created["IssuerCommonName"], "Octofleet Test CA");
            assert_eq!(created["SelfSigned"], false);
            assert_eq!(
                created["SerialNumber"],
                "1AE319C1EED11D7A14F37407ECA71D97EA71623E"
            );
        } else {
            assert_eq!(created["SelfSigned"], true);
        }
    }

    // The wrong password, or bytes that are no certificate: refused with the server's message.
    let (status, body) = api
        .post(
            "/api/Spaces-1/certificates",
            json!({"Name": "Wrong", "CertificateData": {"HasValue": true, "NewValue": certificate_fixture("leaf-chain-aes.pfx")},
                   "Password": {"HasValue": true, "NewValue": "not-it"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        errors(&body)[0].starts_with("Could not parse certificate data."),
        "{body}"
    );
    let (status, _) = api
        .post(
            "/api/Spaces-1/certificates",
            json!({"Name": "Junk", "CertificateData": {"HasValue": true, "NewValue": "aGVsbG8="}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post("/api/Spaces-1/certificates", json!({"Name": "Empty"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(errors(&body), ["The CertificateData field is required."]);

    // A PUT as read keeps the data; the derived fields cannot be set by the client.
    let (_, list) = api
        .get("/api/Spaces-1/certificates?partialName=leaf.der")
        .await;
    let mut stored = list["Items"][0].clone();
    let id = stored["Id"].as_str().unwrap().to_owned();
    stored["Notes"] = json!("rotated yearly");
    stored["Thumbprint"] = json!("0000");
    let (status, updated) = api
        .put(&format!("/api/Spaces-1/certificates/{id}"), stored)
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["Notes"], "rotated yearly");
    assert_eq!(updated["Thumbprint"], LEAF_THUMBPRINT);
}

fn convert_body(url: &str, extra: Value) -> Value {
    let mut settings = json!({"Type": "VersionControlled", "Url": url, "DefaultBranch": "main",
                              "BasePath": ".octopus", "Credentials": {"Type": "Anonymous"}});
    if let (Value::Object(settings), Value::Object(extra)) = (&mut settings, extra) {
        settings.extend(extra);
    }
    json!({"CommitMessage": "Initial", "VersionControlSettings": settings})
}

impl Api {
    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// A project whose database process has one script step named `step`.
    async fn project_with_step(&self, name: &str, step: &str) -> String {
        let project = self.project(name).await;
        let pid = project["Id"].as_str().unwrap().to_owned();
        let path = format!("/api/Spaces-1/projects/{pid}/deploymentprocesses");
        let (_, mut process) = self.get(&path).await;
        process["Steps"] = json!([{"Name": step, "Actions": [{"Name": step,
            "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Script.ScriptBody": step}}]}]);
        let (status, body) = self.put(&path, process).await;
        assert_eq!(status, 200, "{body}");
        pid
    }

    async fn convert(&self, pid: &str, body: Value) {
        let (status, answer) = self
            .post(&format!("/api/Spaces-1/projects/{pid}/git/convert"), body)
            .await;
        assert_eq!((status, answer), (200, json!({})));
    }

    /// The step names of a project's process on `git_ref`, or the status when it is not served.
    async fn git_steps(&self, pid: &str, git_ref: &str) -> Result<Vec<String>, u16> {
        let (status, process) = self
            .get(&format!(
                "/api/Spaces-1/projects/{pid}/{git_ref}/deploymentprocesses"
            ))
            .await;
        if status != 200 {
            return Err(status);
        }
        Ok(process["Steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Name"].as_str().unwrap().to_owned())
            .collect())
    }
}

fn names(set: &Value) -> Vec<String> {
    let mut names: Vec<String> = set["Variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// A conversion on a current server commits the text variables as `variables.ocl` and sets
/// `VariablesAreInGit` (Octopus docs, projects/version-control/converting/migrating-variables:
/// "All newly configured Git projects will automatically have variables migrated when
/// converting the project to Git"); sensitive ones stay in the database set, which now takes
/// no text variable (#7555's refusal; OctopusClients reads it as `SensitiveVariables`).
/// `RunbooksAreInGit` stays false (no source either way).
#[tokio::test]
async fn a_conversion_moves_text_variables_to_git_and_keeps_secrets_in_the_database() {
    let api = Api::start().await;
    let pid = api.project_with_step("Git Variables", "Hello").await;
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/projects/{pid}/variables"),
            json!({"Version": 0, "Variables": [
                {"Name": "Greeting", "Value": "hi", "Type": "String"},
                {"Name": "Token", "Value": "s3cret", "Type": "Sensitive", "IsSensitive": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    api.convert(
        &pid,
        convert_body("https://git.example.com/o/vars.git", json!({})),
    )
    .await;

    let (_, project) = api.get(&format!("/api/Spaces-1/projects/{pid}")).await;
    assert_eq!(
        project["PersistenceSettings"]["ConversionState"],
        json!({"VariablesAreInGit": true, "RunbooksAreInGit": false})
    );
    assert_eq!(
        project["Links"]["Variables"],
        format!("/api/Spaces-1/projects/{pid}/{{gitRef}}/variables")
    );
    let (status, in_git) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/main/variables"))
        .await;
    assert_eq!(status, 200, "{in_git}");
    assert_eq!(names(&in_git), ["Greeting"]);
    assert_eq!(in_git["Variables"][0]["Value"], "hi");
    let (_, database) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/variables"))
        .await;
    assert_eq!(names(&database), ["Token"]);

    // The database route takes secrets only; the git-ref route takes the text ones.
    let mut with_text = database.clone();
    with_text["Variables"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Name": "Greeting", "Value": "hello", "Type": "String"}));
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/projects/{pid}/variables"),
            with_text.clone(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(errors(&body)[0].starts_with(
        "We received a request for a version-controlled resource on a non-version control route"
    ));
    let set_id = project["VariableSetId"].as_str().unwrap();
    let (status, _) = api
        .put(&format!("/api/Spaces-1/variables/{set_id}"), with_text)
        .await;
    assert_eq!(status, 400);
    let mut git_set = in_git.clone();
    git_set["Variables"][0]["Value"] = json!("hello");
    let (status, body) = api
        .put(
            &format!("/api/Spaces-1/projects/{pid}/main/variables"),
            git_set,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, in_git) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/main/variables"))
        .await;
    assert_eq!(in_git["Variables"][0]["Value"], "hello");
    assert_eq!(
        api.emulator
            .secret_value("Spaces-1", &pid, "Token")
            .as_deref(),
        Some("s3cret")
    );
}

/// A repository that already holds OCL at the base path is connected to, not overwritten with
/// the database copy (OctopusDeploy/Issues#7330: a project recreated on the repository of a
/// deleted one "should be updated to point at that repo"; #7789); with a protected default
/// branch and an empty repository the initial commit goes only to `InitialCommitBranchName`
/// (#7830: the default branch then has no OCL).
#[tokio::test]
async fn a_conversion_connects_to_the_ocl_a_repository_already_holds() {
    let api = Api::start().await;
    let url = "https://git.example.com/o/existing.git";
    let first = api.project_with_step("First", "From Git").await;
    api.convert(&first, convert_body(url, json!({}))).await;
    let (status, _) = api.delete(&format!("/api/Spaces-1/projects/{first}")).await;
    assert!((200..300).contains(&status), "{status}");

    let second = api.project_with_step("Second", "From the database").await;
    api.convert(&second, convert_body(url, json!({}))).await;
    assert_eq!(
        api.git_steps(&second, "main").await,
        Ok(vec!["From Git".to_owned()]),
        "the repository's OCL, not the database copy"
    );

    // The fork of a repository holds its branches: the same holds there.
    api.emulator.fork_repository(
        (url, ".octopus"),
        ("https://git.example.com/t/fork.git", ".octopus"),
    );
    let third = api.project_with_step("Third", "Database").await;
    api.convert(
        &third,
        convert_body("https://git.example.com/t/fork.git", json!({})),
    )
    .await;
    assert_eq!(
        api.git_steps(&third, "main").await,
        Ok(vec!["From Git".to_owned()])
    );

    let protected = api.project_with_step("Protected", "Initial").await;
    api.convert(
        &protected,
        convert_body(
            "https://git.example.com/o/empty.git",
            json!({"ProtectedDefaultBranch": true}),
        )
        .as_object()
        .cloned()
        .map(|mut body| {
            body.insert(
                "InitialCommitBranchName".into(),
                json!("octopus-vcs-conversion"),
            );
            Value::Object(body)
        })
        .unwrap(),
    )
    .await;
    assert_eq!(api.git_steps(&protected, "main").await, Err(404));
    assert_eq!(
        api.git_steps(&protected, "octopus-vcs-conversion").await,
        Ok(vec!["Initial".to_owned()])
    );
}

/// Real servers refuse what a version-controlled project keeps in git on the database routes
/// (OctopusDeploy/Issues#7555: "We received a request for a version-controlled resource on a
/// non-version control route..."), and its deployment settings on `PUT /projects/{id}` (the
/// provider's `resource_project.go` clears them there and PUTs them to
/// `/{gitRef}/deploymentsettings`).
#[tokio::test]
async fn version_controlled_resources_are_refused_on_database_routes() {
    let api = Api::start().await;
    let pid = api.project_with_step("Routes", "Hello").await;
    api.convert(
        &pid,
        convert_body("https://git.example.com/o/routes.git", json!({})),
    )
    .await;
    let (_, project) = api.get(&format!("/api/Spaces-1/projects/{pid}")).await;
    for path in [
        format!("/api/Spaces-1/projects/{pid}/deploymentprocesses"),
        format!("/api/Spaces-1/projects/{pid}/deploymentsettings"),
        format!(
            "/api/Spaces-1/deploymentprocesses/{}",
            project["DeploymentProcessId"].as_str().unwrap()
        ),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    // The project as read back (its deployment settings cleared) is accepted again...
    let (status, body) = api
        .put(&format!("/api/Spaces-1/projects/{pid}"), project.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    // ...but not with a deployment setting on it.
    for (field, value) in [
        ("ReleaseNotesTemplate", json!("Notes")),
        ("DefaultGuidedFailureMode", json!("On")),
        (
            "VersioningStrategy",
            json!({"Template": "1.0.#{Octopus.Version.NextPatch}"}),
        ),
        (
            "ProjectConnectivityPolicy",
            json!({"SkipMachineBehavior": "None"}),
        ),
    ] {
        let mut sent = project.clone();
        sent[field] = value;
        let (status, body) = api
            .put(&format!("/api/Spaces-1/projects/{pid}"), sent)
            .await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(errors(&body)[0].contains(field), "{body}");
    }
    // Runbooks in git: the database runbook routes are refused too.
    let (status, _) = api
        .post(
            &format!("/api/Spaces-1/projects/{pid}/git/migrate-runbooks"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/runbooks"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .get(&format!("/api/Spaces-1/projects/{pid}/main/runbooks"))
        .await;
    assert_eq!(status, 200);
}

/// The official TypeScript client's runbook operations on the project-nested routes, request by
/// request as it sends them (OctopusDeploy/api-client.ts): `resolveSpaceId` (src/spaceResolver.ts:17,
/// `GET /api/spaces?partialName=…&skip=0&take=2147483647`), then `RunbookRepository` with base
/// `/api/{spaceId}/projects/{projectId}/runbooks` (src/features/projects/runbooks/runbookRepository.ts:17):
/// `create` (POST the new runbook), `list` (`{?skip,take,ids,partialName}`), `get` (GET
/// `/{id}`), `modify` (PUT `/{id}` with the whole runbook), `del` (DELETE `/{id}`)
/// (src/features/basicRepository.ts:39-59, spaceScopedBasicRepository.ts:25-47); and
/// `RunbookProcessRepository` `get` / `update` on `/projects/{projectId}/runbookProcesses{/id}`
/// with the runbook's `RunbookProcessId` (runbookProcessRepository.ts:19,38).
#[tokio::test]
async fn the_typescript_clients_runbook_operations_succeed_on_the_project_routes() {
    let api = Api::start().await;
    let (status, spaces) = api
        .get("/api/spaces?partialName=Default&skip=0&take=2147483647")
        .await;
    assert_eq!(status, 200);
    let space = spaces["Items"][0]["Id"].as_str().unwrap().to_owned();
    let pid = api.project("TS Client").await["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/api/{space}/projects/{pid}/runbooks");

    let (status, created) = api
        .post(
            &base,
            json!({"Name": "Restart", "ProjectId": pid, "Description": "", "SpaceId": space}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_owned();
    let (status, listed) = api
        .get(&format!("{base}?skip=0&take=30&partialName=Rest"))
        .await;
    assert_eq!(
        (status, listed["Items"][0]["Id"].as_str()),
        (200, Some(id.as_str()))
    );

    let (status, mut runbook) = api.get(&format!("{base}/{id}")).await;
    assert_eq!(status, 200, "get: {runbook}");
    runbook["Description"] = json!("Restarts the service");
    let (status, modified) = api.put(&format!("{base}/{id}"), runbook.clone()).await;
    assert_eq!(status, 200, "modify: {modified}");
    assert_eq!(modified["Description"], "Restarts the service");

    let process_path = format!(
        "/api/{space}/projects/{pid}/runbookProcesses/{}",
        runbook["RunbookProcessId"].as_str().unwrap()
    );
    let (status, mut process) = api.get(&process_path).await;
    assert_eq!(status, 200, "runbook process get: {process}");
    process["Steps"] = json!([{"Name": "Restart", "Actions": [{"Name": "Restart",
        "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Script.ScriptBody": "restart"}}]}]);
    let (status, updated) = api.put(&process_path, process).await;
    assert_eq!(status, 200, "runbook process update: {updated}");
    assert_eq!(updated["Steps"][0]["Name"], "Restart");

    // Another project's runbook is not reachable through this project.
    let other = api.project("Other").await["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = api
        .get(&format!("/api/{space}/projects/{other}/runbooks/{id}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .get(&format!(
            "/api/{space}/projects/{other}/runbookProcesses/{}",
            runbook["RunbookProcessId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 404);

    let (status, _) = api.delete(&format!("{base}/{id}")).await;
    assert!((200..300).contains(&status), "del: {status}");
    let (status, _) = api.get(&format!("{base}/{id}")).await;
    assert_eq!(status, 404);
}

/// `OctopusUseBundledTooling` is injected when an action runs inside a container, whatever its
/// type, and not by type (the provider's resource_process_step.go and its acceptance test
/// `TestAccOctopusDeployProcessStepContainerBundledTooling`, an `Octopus.Script` step).
#[tokio::test]
async fn bundled_tooling_is_injected_for_a_step_in_a_container() {
    let api = Api::start().await;
    let pid = api.project("Containers").await["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/Spaces-1/projects/{pid}/deploymentprocesses");
    let (_, mut process) = api.get(&path).await;
    process["Steps"] = json!([
        {"Name": "In a container", "Actions": [{"Name": "In a container", "ActionType": "Octopus.Script",
            "Container": {"Image": "octopusdeploy/worker-tools:latest", "FeedId": null},
            "Properties": {"Octopus.Action.Script.ScriptBody": "echo"}}]},
        {"Name": "Raw YAML", "Actions": [{"Name": "Raw YAML", "ActionType": "Octopus.KubernetesDeployRawYaml",
            "Properties": {"Octopus.Action.KubernetesContainers.CustomResourceYaml": "kind: ConfigMap"}}]}
    ]);
    let (status, saved) = api.put(&path, process).await;
    assert_eq!(status, 200, "{saved}");
    let properties = |i: usize| saved["Steps"][i]["Actions"][0]["Properties"].clone();
    assert_eq!(properties(0)["OctopusUseBundledTooling"], "False");
    assert_eq!(properties(1).get("OctopusUseBundledTooling"), None);
}

/// A process write that drops the donor's step is taken, and the project then cannot be loaded,
/// alone or in a list (OctopusDeploy/Issues#7230, #7521: "The resource '<step>' was not
/// found."); a server before 2024.1.1085 keeps a template sent as `null` (#8455), so a switch to a
/// donor must send `""`.
#[tokio::test]
async fn a_dangling_donor_makes_the_project_unloadable_and_old_servers_keep_a_null_template() {
    for keeps_template_on_null in [false, true] {
        let api = Api::with(EmulatorConfig {
            keeps_template_on_null,
            ..EmulatorConfig::default()
        })
        .await;
        let pid = api.project_with_step("Donor", "Deploy").await;
        let (_, project) = api.get(&format!("/api/Spaces-1/projects/{pid}")).await;
        let donor = json!({"DeploymentAction": "Deploy", "PackageReference": ""});
        let mut sent = project.clone();
        sent["VersioningStrategy"] = json!({"Template": null, "DonorPackage": donor});
        let (status, body) = api
            .put(&format!("/api/Spaces-1/projects/{pid}"), sent.clone())
            .await;
        if keeps_template_on_null {
            assert_eq!(status, 400, "{body}");
            assert_eq!(
                errors(&body)[0],
                "Only one of either a donor package step or a version template may be provided."
            );
            sent["VersioningStrategy"]["Template"] = json!("");
            let (status, body) = api
                .put(&format!("/api/Spaces-1/projects/{pid}"), sent)
                .await;
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
        }

        let path = format!("/api/Spaces-1/projects/{pid}/deploymentprocesses");
        let (_, mut process) = api.get(&path).await;
        process["Steps"][0]["Name"] = json!("Deploy v2");
        process["Steps"][0]["Actions"][0]["Name"] = json!("Deploy v2");
        let (status, body) = api.put(&path, process).await;
        assert_eq!(status, 200, "{body}");
        for route in [
            format!("/api/Spaces-1/projects/{pid}"),
            "/api/Spaces-1/projects".to_owned(),
            "/api/Spaces-1/projects/all".to_owned(),
        ] {
            let (status, body) = api.get(&route).await;
            assert_eq!(status, 404, "{route}: {body}");
            assert_eq!(body["ErrorMessage"], "The resource 'Deploy' was not found.");
        }
    }
}
