//! The emulator's answers against the real Octopus responses in tests/fixtures/octopus-payloads
//! (issue 18, item 10): for every resource kind held there, the emulator serves the same
//! resource and the two are compared key by key (ids and values aside). Every key the newest real
//! capture of a kind has and the emulator lacks, and every key the emulator adds that no capture
//! of the kind has, is fixed or listed in [`KNOWN`] with its reason.

use octopus_emulator::{Emulator, EmulatorConfig};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Objects whose keys are data (rels, property names, setting names), not the resource's shape:
/// their contents are not compared. `Links`' rels vary with the server's version and the
/// caller's permissions; the emulator serves the rels clients follow (the tests of each route
/// check those).
const MAPS: [&str; 3] = ["Links", "Properties", "DisplaySettings"];

/// Differences kept on purpose: (kind, `missing` or `extra`, key path, reason). A kind ending in
/// `*` covers the kinds it starts; a path starting with `*` covers the paths it ends, one ending
/// in `*` those it starts. Sources: go-octopusdeploy's resource models (`pkg/…`), OctopusClients,
/// the captures themselves (tests/fixtures/octopus-payloads/SOURCES.md).
const KNOWN: &[(&str, &str, &str, &str)] = &[
    ("*", "extra", "*SpaceId", "spaces came with 2019.1: the 2018 captures predate them; the 2023–2024 captures (deploymentprocess-k8s, project-database, projectgroup, space) have SpaceId"),
    ("*", "extra", "*Slug", "slugs came after these captures: the 2024 project and space captures, and the 2023 process's steps and actions, have Slug"),
    ("*", "extra", "*LastModifiedOn", "the server's audit field: the 2016 environment, 2018 built-in feed and 2024 space captures have it, other 2018 exports of the same kinds do not (the capturing tool's choice or the era's; our sources do not say)"),
    ("*", "extra", "*LastModifiedBy", "as LastModifiedOn (the 2016 environment and 2018 built-in feed captures have it)"),
    ("api-root", "extra", "IsEarlyAccessProgram", "go-octopusdeploy pkg/client/root_resource.go `IsEarlyAccessProgram`, beside `HasLongTermSupport` (which the 2020.4 and 2023.1 captures have)"),
    ("deploymentprocess", "extra", "Steps[].Actions[]*", "fields of later servers: the 2023 k8s capture's actions have Condition, Container, GitDependencies, Notes, Slug, WorkerPoolVariable"),
    ("deploymentprocess-script", "extra", "Steps[].Actions[]*", "fields of later servers (the 2023 k8s capture's actions have them), and the package reference keys of the 2018 package capture (deploymentprocess__…2018.11.2): this script capture has no package"),
    ("paged-collection-machine-tasks", "missing", "*", "the emulator has no deployment targets (machines), so no machine tasks: octofleet never reads them"),
    ("environment", "extra", "EnvironmentTags", "go-octopusdeploy pkg/environments/environment.go `EnvironmentTags` (a later field than the 2016/2018 captures)"),
    ("environment", "extra", "ExtensionSettings", "go-octopusdeploy pkg/environments/environment.go `ExtensionSettings`"),
    ("paged-collection-environments", "extra", "Items[].EnvironmentTags", "as environment's EnvironmentTags (go-octopusdeploy environment.go)"),
    ("error-500", "extra", "Errors", "the capture was transcribed from an issue and holds ErrorMessage alone; Octopus errors carry `Errors` (OctopusClients' exception factory reads ErrorMessage, Errors and FullException: Octopus.Client.Tests/Exceptions/OctopusExceptionFactoryFixture.cs)"),
    ("error-500", "extra", "FullException", "as Errors: a 500 carries the exception (OctopusExceptionFactoryFixture.cs)"),
    ("feed-builtin", "missing", "EnhancedMode", "the 2018 capture is the built-in feed when it was a NuGet feed at `octopus://`; the BuiltIn feed type has no URI, credentials or mode (go-octopusdeploy pkg/feeds/built_in_feed.go)"),
    ("feed-builtin", "missing", "FeedUri", "as EnhancedMode (built_in_feed.go has no FeedUri)"),
    ("feed-builtin", "missing", "Password", "as EnhancedMode (built_in_feed.go has no credentials)"),
    ("feed-builtin", "missing", "Username", "as EnhancedMode (built_in_feed.go has no credentials)"),
    ("feed-builtin", "extra", "DeletePackagesAssociatedWithReleases", "go-octopusdeploy pkg/feeds/built_in_feed.go (the BuiltIn feed's retention settings)"),
    ("feed-builtin", "extra", "DeleteUnreleasedPackagesAfterDays", "go-octopusdeploy pkg/feeds/built_in_feed.go"),
    ("feed-builtin", "extra", "IsBuiltInRepoSyncEnabled", "go-octopusdeploy pkg/feeds/built_in_feed.go"),
    ("lifecycle", "missing", "Phases[].ReleaseRetentionPolicy.*", "the capture's phase sets its own retention policies; the emulator's phase inherits the lifecycle's (null), as a phase made without one"),
    ("lifecycle", "missing", "Phases[].TentacleRetentionPolicy.*", "as the phase's ReleaseRetentionPolicy"),
    ("lifecycle", "extra", "Phases[].IsPriorityPhase", "go-octopusdeploy pkg/lifecycles/phase.go `IsPriorityPhase`"),
    ("lifecycle*", "extra", "*RetentionPolicy.Strategy", "later servers' retention policy (`Strategy`: Default/Count/Forever), go-octopusdeploy pkg/core/retention_period.go; the 2018 captures predate it"),
    ("project-database", "missing", "ExecuteDeploymentsOnResilientPipeline", "a 2024.3 setting the emulator does not model; octofleet carries a project's unknown fields through `extra` untouched"),
    ("project-database", "missing", "Icon.*", "the captured project has an icon; the emulator's projects have none (Icon null), as a project made without one"),
    ("spaces-all", "extra", "[].ExtensionSettings", "the 2024 space capture has ExtensionSettings; the 2019 list predates it"),
    ("spaces-all", "extra", "[].Icon", "the 2024 space capture has Icon"),
    ("spaces-all", "extra", "[].IsPrivate", "the 2024 space capture has IsPrivate"),
    ("tenant", "extra", "ClonedFromTenantId", "go-octopusdeploy pkg/tenants/tenant.go `ClonedFromTenantId`"),
    ("tenant", "extra", "Description", "go-octopusdeploy pkg/tenants/tenant.go"),
    ("tenant", "extra", "IsDisabled", "go-octopusdeploy pkg/tenants/tenant.go `IsDisabled`"),
    ("tenant-variables-legacy", "extra", "ConcurrencyToken", "the tenant variables' concurrency token of later servers (OctopusClients source/Octopus.Server.Client/Model/TenantVariableResource.cs `ConcurrencyToken`)"),
    ("variableset*", "extra", "ScopeValues*", "the 2018 captures had ScopeValues removed by the export tool (SOURCES.md); go-octopusdeploy pkg/variables/variable_scope_values.go has Processes and TenantTags beside the 2016 capture's keys"),
    ("variableset*", "extra", "Variables[].Description", "go-octopusdeploy pkg/variables/variable.go `Description`"),
    ("variableset*", "extra", "Variables[].Type", "go-octopusdeploy pkg/variables/variable.go `Type` (the 2016 capture predates typed variables)"),
    ("variableset*", "extra", "Variables[].Scope.*", "the emulator's set holds environment- and role-scoped variables together; each capture holds one kind of scope"),
];

/// `pattern` as KNOWN writes it, against `text`.
fn matches(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        text.ends_with(suffix)
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        text.starts_with(prefix)
    } else {
        pattern == text
    }
}

struct Api {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.emulator.url()))
            .header("X-Octopus-ApiKey", self.emulator.api_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method.clone(), path, Some(body)).await;
        assert!((200..300).contains(&status), "{method} {path}: {answer}");
        answer
    }
}

/// Every key path of `value`: objects by key, arrays by `[]` (their elements merged), the
/// contents of [`MAPS`] and of objects keyed by ids (`Projects-1`, GUIDs) taken as `*`.
fn key_paths(value: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let id_like = key.split_once('-').is_some_and(|(kind, number)| {
                    kind.chars().all(|c| c.is_ascii_alphabetic())
                        && number.chars().all(|c| c.is_ascii_digit())
                }) || (key.len() == 36 && key.matches('-').count() == 4);
                let segment = if id_like { "*" } else { key.as_str() };
                let path = if prefix.is_empty() {
                    segment.to_owned()
                } else {
                    format!("{prefix}.{segment}")
                };
                paths.insert(path.clone());
                if !MAPS.contains(&key.as_str()) {
                    key_paths(child, &path, paths);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), paths);
            }
        }
        _ => {}
    }
}

fn paths_of(value: &Value) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    key_paths(value, "", &mut paths);
    paths
}

/// The fixtures by kind (the file name before `__`), newest last (the year or version after it).
fn fixtures() -> BTreeMap<String, Vec<(String, Value)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/octopus-payloads");
    let mut kinds: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (kind, _) = name.split_once("__").unwrap();
        let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        kinds.entry(kind.to_owned()).or_default().push((name, json));
    }
    // A capture's era: the first number of its name that reads as a year or a 20xx version
    // (`…-2018.11.2`, `…-2016`); one without (the forum's transcription) sorts first.
    let version = |name: &str| -> Vec<u32> {
        name.trim_end_matches(".json")
            .split(['-', '_'])
            .find(|part| part.starts_with("20") && part.len() >= 4)
            .map(|part| part.split('.').filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    };
    for captures in kinds.values_mut() {
        captures.sort_by_key(|(name, _)| version(name));
    }
    kinds
}

/// The emulator's answer for each kind, from resources made like the captured ones.
async fn emulator_answers(api: &Api) -> BTreeMap<&'static str, Value> {
    let s = "/api/Spaces-1";
    let environment = api
        .send(
            Method::POST,
            &format!("{s}/environments"),
            json!({"Name": "Production"}),
        )
        .await;
    let env_id = environment["Id"].as_str().unwrap().to_owned();
    let lifecycle = api
        .send(
            Method::POST,
            &format!("{s}/lifecycles"),
            json!({"Name": "Phased", "Phases": [{"Name": "Production", "OptionalDeploymentTargets": [env_id]}]}),
        )
        .await;
    let project = api
        .send(
            Method::POST,
            &format!("{s}/projects"),
            json!({"Name": "Web", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1"}),
        )
        .await;
    let pid = project["Id"].as_str().unwrap().to_owned();
    let process_path = format!("{s}/projects/{pid}/deploymentprocesses");
    let mut process = api.get(&process_path).await;
    process["Steps"] = json!([
        {"Name": "Run a Script", "Properties": {"Octopus.Action.TargetRoles": "web"},
         "Actions": [{"Name": "Run a Script", "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.Script.ScriptBody": "echo"}}]},
        {"Name": "Deploy Package", "Actions": [{"Name": "Deploy Package", "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": "web", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {}}],
            "Properties": {}}]},
        {"Name": "Deploy Container", "Actions": [{"Name": "Deploy Container", "ActionType": "Octopus.KubernetesDeployContainers",
            "Container": {"Image": "octopuslabs/k8s-workertools", "FeedId": null},
            "Properties": {"Octopus.Action.KubernetesContainers.DeploymentName": "web"}}]}
    ]);
    let process = api.send(Method::PUT, &process_path, process).await;
    let variables_path = format!(
        "{s}/variables/{}",
        project["VariableSetId"].as_str().unwrap()
    );
    let mut set = api.get(&variables_path).await;
    set["Variables"] = json!([
        {"Name": "Url", "Value": "https://prod", "Type": "String", "Scope": {"Environment": [env_id]}},
        {"Name": "Url", "Value": "https://dev", "Type": "String", "Scope": {"Role": ["web"]}},
        {"Name": "Password", "Value": "s3cret", "Type": "Sensitive", "IsSensitive": true, "Scope": {}}
    ]);
    api.send(Method::PUT, &variables_path, set).await;
    let variables = api.get(&variables_path).await;
    let library = api
        .send(
            Method::POST,
            &format!("{s}/libraryvariablesets"),
            json!({"Name": "Shared"}),
        )
        .await;
    let library_set = format!(
        "{s}/variables/{}",
        library["VariableSetId"].as_str().unwrap()
    );
    let mut lvs_set = api.get(&library_set).await;
    lvs_set["Variables"] = json!([{"Name": "Shared.Url", "Value": "x", "Type": "String"}]);
    api.send(Method::PUT, &library_set, lvs_set).await;
    let tenant = api
        .send(
            Method::POST,
            &format!("{s}/tenants"),
            json!({"Name": "Team A", "ProjectEnvironments": {pid.clone(): [env_id]}}),
        )
        .await;
    let channels = api.get(&format!("{s}/projects/{pid}/channels")).await;
    // The 500 a variable without `Type` gets (OctopusDeploy/Issues#8817), as the error shape.
    let mut untyped = api.get(&library_set).await;
    untyped["Variables"] = json!([{"Name": "A", "Value": "1"}]);
    let (status, error) = api.call(Method::PUT, &library_set, Some(untyped)).await;
    assert_eq!(status, 500);

    let mut answers = BTreeMap::new();
    answers.insert("api-root", api.get("/api").await);
    answers.insert("channel", channels["Items"][0].clone());
    for kind in [
        "deploymentprocess",
        "deploymentprocess-k8s",
        "deploymentprocess-script",
    ] {
        answers.insert(kind, process.clone());
    }
    answers.insert("environment", environment.clone());
    answers.insert("error-500", error);
    answers.insert(
        "feed-builtin",
        api.get(&format!("{s}/feeds/feeds-builtin")).await,
    );
    answers.insert(
        "libraryvariableset",
        api.get(&format!(
            "{s}/libraryvariablesets/{}",
            library["Id"].as_str().unwrap()
        ))
        .await,
    );
    answers.insert(
        "lifecycle",
        api.get(&format!(
            "{s}/lifecycles/{}",
            lifecycle["Id"].as_str().unwrap()
        ))
        .await,
    );
    answers.insert(
        "lifecycle-default-nophases",
        api.get(&format!("{s}/lifecycles/Lifecycles-1")).await,
    );
    answers.insert(
        "paged-collection-environments",
        api.get(&format!("{s}/environments")).await,
    );
    answers.insert(
        "paged-collection-projectgroups",
        api.get(&format!("{s}/projectgroups")).await,
    );
    answers.insert("paged-collection-spaces", api.get("/api/spaces").await);
    answers.insert("paged-collection-machine-tasks", Value::Null);
    answers.insert(
        "project-database",
        api.get(&format!("{s}/projects/{pid}")).await,
    );
    answers.insert(
        "projectgroup",
        api.get(&format!("{s}/projectgroups/ProjectGroups-1")).await,
    );
    answers.insert(
        "projectgroups-all",
        api.get(&format!("{s}/projectgroups/all")).await,
    );
    answers.insert("space", api.get("/api/spaces/Spaces-1").await);
    answers.insert("spaces-all", api.get("/api/spaces/all").await);
    answers.insert(
        "tenant",
        api.get(&format!("{s}/tenants/{}", tenant["Id"].as_str().unwrap()))
            .await,
    );
    answers.insert(
        "tenant-variables-legacy",
        api.get(&format!(
            "{s}/tenants/{}/variables",
            tenant["Id"].as_str().unwrap()
        ))
        .await,
    );
    for kind in [
        "variableset",
        "variableset-role-scoped-sensitive",
        "variableset-scoped-sensitive",
    ] {
        answers.insert(kind, variables.clone());
    }
    answers.insert(
        "variableset-of-libraryvariableset",
        api.get(&library_set).await,
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_with_the_keys_real_servers_answer_with() {
    let api = Api {
        emulator: Emulator::start(EmulatorConfig::default()).await.unwrap(),
        http: reqwest::Client::new(),
    };
    let answers = emulator_answers(&api).await;
    let known = |kind: &str, side: &str, path: &str| {
        KNOWN
            .iter()
            .any(|(k, s, p, _)| matches(k, kind) && *s == side && matches(p, path))
    };
    let mut unexplained = Vec::new();
    let fixtures = fixtures();
    for (kind, captures) in &fixtures {
        let answer = answers
            .get(kind.as_str())
            .unwrap_or_else(|| panic!("no emulator answer for the kind `{kind}`"));
        let emulator = paths_of(answer);
        let (newest_name, newest) = captures.last().unwrap();
        let real_newest = paths_of(newest);
        let real_any: BTreeSet<String> = captures.iter().flat_map(|(_, v)| paths_of(v)).collect();
        for path in real_newest.difference(&emulator) {
            if !known(kind, "missing", path) {
                unexplained.push(format!("{kind}: missing `{path}` (in {newest_name})"));
            }
        }
        for path in emulator.difference(&real_any) {
            if !known(kind, "extra", path) {
                unexplained.push(format!("{kind}: extra `{path}`"));
            }
        }
    }
    // Every entry still explains a difference (kinds and paths as the comparison saw them).
    for (kind, side, path, _) in KNOWN {
        let used = fixtures.iter().any(|(name, captures)| {
            if !matches(kind, name) {
                return false;
            }
            let emulator = paths_of(&answers[name.as_str()]);
            let real_newest = paths_of(&captures.last().unwrap().1);
            let real_any: BTreeSet<String> =
                captures.iter().flat_map(|(_, v)| paths_of(v)).collect();
            match *side {
                "missing" => real_newest.difference(&emulator).any(|p| matches(path, p)),
                _ => emulator.difference(&real_any).any(|p| matches(path, p)),
            }
        });
        if !used {
            unexplained.push(format!(
                "KNOWN lists {kind} {side} `{path}`, which no longer differs: remove it"
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "keys that differ from the real payloads, neither fixed nor listed in KNOWN:\n{}",
        unexplained.join("\n")
    );
}
