//! The task queue over HTTP: runbook snapshots and publishing, runbook runs (create/v1 and the
//! older runbookRuns), server tasks with the filters the clients send, cancellation, artifacts,
//! and the executor that runs each task's job. Each rule's source is cited in the module that
//! makes it (`tasks.rs`, `runbook_runs.rs`, `runbook_snapshots.rs`, `artifacts.rs`,
//! `executor.rs`).

// An integration test crate is test code throughout: its helpers may unwrap as its tests do
// (clippy's allow-unwrap-in-tests covers only #[test] functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used)]

use octopus_emulator::{Emulator, EmulatorConfig, ExecutorConfig, JobStep, RunbookJob};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

struct Api {
    emulator: Emulator,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api {
            emulator: Emulator::start(EmulatorConfig::default()).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

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
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// A project "Fleet" with a tenanted runbook "Deploy", the environment "Sync", and tenants
/// connected in Sync (with tags), one not connected.
struct World {
    api: Api,
    project: String,
    runbook: String,
    sync: String,
}

async fn world() -> World {
    let api = Api::start().await;
    let e = &api.emulator;
    let sync = e.seed("Spaces-1", "environments", json!({"Name": "Sync"}))["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.seed("Spaces-1", "environments", json!({"Name": "Production"}));
    let project = e.seed(
        "Spaces-1",
        "projects",
        json!({"Name": "Fleet", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1"}),
    )["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runbook = e.seed(
        "Spaces-1",
        "runbooks",
        json!({"Name": "Deploy", "ProjectId": project, "MultiTenancyMode": "Tenanted"}),
    )["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.seed(
        "Spaces-1",
        "tagsets",
        json!({"Name": "Rollout", "Tags": [{"Name": "Canary"}, {"Name": "Late"}]}),
    );
    for (name, tags) in [
        ("America", vec!["Rollout/Canary"]),
        ("Europe", vec![]),
        ("Asia", vec!["Rollout/Late"]),
    ] {
        e.seed(
            "Spaces-1",
            "tenants",
            json!({"Name": name, "TenantTags": tags, "ProjectEnvironments": {project.clone(): [sync.clone()]}}),
        );
    }
    e.seed("Spaces-1", "tenants", json!({"Name": "Elsewhere"}));
    World {
        api,
        project,
        runbook,
        sync,
    }
}

impl World {
    async fn publish(&self) -> Value {
        let (status, snapshot) = self
            .api
            .post(
                &format!(
                    "/api/Spaces-1/projects/{}/runbookSnapshots?publish=true",
                    self.project
                ),
                json!({"Name": "Snapshot 1", "ProjectId": self.project, "RunbookId": self.runbook}),
            )
            .await;
        assert_eq!(status, 201, "{snapshot}");
        snapshot
    }

    async fn run(&self, body: Value) -> (u16, Value) {
        self.api
            .post("/api/Spaces-1/runbook-runs/create/v1", body)
            .await
    }

    /// `tenant`'s task IDs from a create/v1 answer, via each run's `TenantId`.
    async fn task_of(&self, answer: &Value, tenant: &str) -> String {
        for item in answer["RunbookRunServerTasks"].as_array().unwrap() {
            let run = self
                .api
                .get(&format!(
                    "/api/Spaces-1/runbookRuns/{}",
                    item["RunbookRunId"].as_str().unwrap()
                ))
                .await;
            let tenants = self.api.emulator.list("Spaces-1", "tenants");
            let named = tenants.iter().find(|t| t["Name"] == tenant).unwrap();
            if run["TenantId"] == named["Id"] {
                return item["ServerTaskId"].as_str().unwrap().to_owned();
            }
        }
        panic!("no task for {tenant} in {answer}")
    }
}

/// A runbook runs its published snapshot: without one, create/v1 is refused (the Octopus CLI's
/// `findRunbookPublishedSnapshot`); `?publish=true` (api-client.ts) publishes it, and the runbook
/// names it in `PublishedRunbookSnapshotId`.
#[tokio::test]
async fn a_runbook_runs_only_once_a_snapshot_is_published() {
    let w = world().await;
    let body = json!({"spaceId": "Spaces-1", "spaceIdOrName": "Spaces-1", "projectName": "Fleet",
        "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["America"]});
    let (status, refused) = w.run(body.clone()).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["Errors"][0].as_str().unwrap().contains("published"));
    let snapshot = w.publish().await;
    let runbook = w
        .api
        .get(&format!("/api/Spaces-1/runbooks/{}", w.runbook))
        .await;
    assert_eq!(runbook["PublishedRunbookSnapshotId"], snapshot["Id"]);
    let listed = w
        .api
        .get(&format!(
            "/api/Spaces-1/projects/{}/runbookSnapshots/Snapshot 1",
            w.project
        ))
        .await;
    assert_eq!(listed["Id"], snapshot["Id"]);
    let (status, answer) = w.run(body).await;
    assert_eq!(status, 200, "{answer}");
    let tasks = answer["RunbookRunServerTasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    let task = w
        .api
        .get(&format!(
            "/api/tasks/{}",
            tasks[0]["ServerTaskId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(task["State"], "Queued");
    assert_eq!(task["Name"], "RunbookRun");
    assert_eq!(task["IsCompleted"], false);
    let run = w
        .api
        .get(&format!(
            "/api/Spaces-1/runbookRuns/{}",
            tasks[0]["RunbookRunId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(run["RunbookSnapshotId"], snapshot["Id"]);
    assert_eq!(run["TaskId"], task["Id"]);
}

/// create/v1 takes camelCase (go-octopusdeploy) and PascalCase (api-client.ts) keys, tenants by
/// name, ID or `*`, and tenant tags; it refuses a tenant not connected in the environment, an
/// untenanted run of a tenanted runbook, and unknown names, each with a 400 naming it.
#[tokio::test]
async fn create_v1_resolves_tenants_and_refuses_what_a_server_refuses() {
    let w = world().await;
    w.publish().await;
    let (status, answer) = w
        .run(
            json!({"SpaceIdOrName": "Default", "ProjectName": "Fleet", "RunbookName": "Deploy",
            "EnvironmentNames": ["Sync"], "Tenants": ["*"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["RunbookRunServerTasks"].as_array().unwrap().len(), 3);
    let (status, answer) = w
        .run(json!({"projectName": w.project, "runbookName": "Deploy",
            "environmentNames": ["Sync"], "tenantTags": ["Rollout/Canary", "Rollout/Late"]}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["RunbookRunServerTasks"].as_array().unwrap().len(), 2);
    for (body, words) in [
        (
            json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["Elsewhere"]}),
            "not connected",
        ),
        (
            json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"]}),
            "only be run for tenants",
        ),
        (
            json!({"projectName": "Fleet", "runbookName": "Nope", "environmentNames": ["Sync"], "tenants": ["America"]}),
            "Nope",
        ),
        (
            json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Nowhere"], "tenants": ["America"]}),
            "Nowhere",
        ),
        (
            json!({"projectName": "Fleet", "runbookName": "Deploy", "tenants": ["America"]}),
            "EnvironmentNames",
        ),
        (
            json!({"spaceIdOrName": "Spaces-9", "projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["America"]}),
            "Spaces-9",
        ),
    ] {
        let (status, refused) = w.run(body).await;
        assert_eq!(status, 400, "{refused}");
        let text = refused["Errors"].to_string();
        assert!(text.contains(words), "{words}: {text}");
    }
}

/// The task list filters as the clients send them (`name=RunbookRun`, `runbook`, `tenant`,
/// `project`, `states` as a comma list or repeated, `ids`, `take`), newest first; a queued task is
/// canceled at once; the older runbookRuns route makes a run from IDs.
#[tokio::test]
async fn tasks_are_found_by_query_and_cancelled() {
    let w = world().await;
    let snapshot = w.publish().await;
    let tenants = w.api.emulator.list("Spaces-1", "tenants");
    let america = tenants.iter().find(|t| t["Name"] == "America").unwrap()["Id"].clone();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (status, run) = w
            .api
            .post(
                "/api/Spaces-1/runbookRuns",
                json!({"RunbookId": w.runbook, "RunbookSnapshotId": snapshot["Id"],
                    "EnvironmentId": w.sync, "TenantId": america}),
            )
            .await;
        assert_eq!(status, 201, "{run}");
        tasks.push(run["TaskId"].as_str().unwrap().to_owned());
    }
    let (_, europe) = w
        .run(json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["Europe"]}))
        .await;
    let europe_task = w.task_of(&europe, "Europe").await;
    let query = format!(
        "/api/Spaces-1/tasks?name=RunbookRun&project={}&runbook={}&tenant={}&take=1",
        w.project,
        w.runbook,
        america.as_str().unwrap()
    );
    let page = w.api.get(&query).await;
    assert_eq!(page["Items"][0]["Id"], tasks[2].as_str(), "newest first");
    assert_eq!(page["TotalResults"], 3);
    let (status, cancelled) = w
        .api
        .post(&format!("/api/tasks/{}/cancel", tasks[2]), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["State"], "Canceled");
    let done = w
        .api
        .get(&format!(
            "/api/Spaces-1/tasks?states=Canceled,Failed&tenant={}",
            america.as_str().unwrap()
        ))
        .await;
    assert_eq!(done["TotalResults"], 1);
    let by_ids = w
        .api
        .get(&format!("/api/tasks?ids={},{europe_task}", tasks[0]))
        .await;
    assert_eq!(by_ids["TotalResults"], 2);
    let active = w.api.get("/api/Spaces-1/tasks?active=true").await;
    assert_eq!(active["TotalResults"], 3);
    let (status, _) = w
        .api
        .call(Method::GET, "/api/tasks/ServerTasks-999", None)
        .await;
    assert_eq!(status, 404);
}

/// A fake `octofleet` for the executor: prints its log, writes a report and attaches it with
/// `createArtifact` (as octofleet does), and exits with `$EXIT` or hangs when told to.
fn fake_octofleet(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("octofleet");
    std::fs::write(
        &path,
        r###"#!/bin/bash
echo "deploying for $OCTOPUS_DEPLOYMENT_TENANT_NAME ($MANAGEDTENANT_OCTOPUS_URL) from $Octopus_Web_ServerUri"
report="$OctopusCalamariWorkingDirectory/octofleet-deploy-$OCTOPUS_DEPLOYMENT_TENANT_NAME.json"
printf '{"tenant":"%s","task":"%s"}' "$OCTOPUS_DEPLOYMENT_TENANT_NAME" "$OCTOPUS_TASK_ID" > "$report"
b64() { printf '%s' "$1" | base64 -w0; }
echo "##octopus[createArtifact path='$(b64 "$report")' name='$(b64 "$(basename "$report")")' length='$(b64 1)']"
if [ "${OCTOPUS_DEPLOYMENT_TENANT_NAME}" = "Asia" ]; then sleep 30; fi
exit "${EXIT:-0}"
"###,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn wait_for(api: &Api, task: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let found = api.get(&format!("/api/tasks/{task}")).await;
        if done(&found) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {task} never got there")
}

/// The executor runs each queued run with the tenant's variables (`ManagedTenant.*` under their
/// aliases), attaches the files its `createArtifact` messages name, listed by `regarding` with
/// their content; a failing step fails the task; a task rule fails one without running it; a hung
/// task holds its worker (the task cap) until it is cancelled, and its script is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_plays_the_worker() {
    let w = world().await;
    w.publish().await;
    let e = &w.api.emulator;
    let tenants = e.list("Spaces-1", "tenants");
    let id_of = |name: &str| {
        tenants.iter().find(|t| t["Name"] == name).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let set = e.seed(
        "Spaces-1",
        "libraryvariablesets",
        json!({"Name": "Octopus Server", "Templates": [
            {"Name": "ManagedTenant.Octopus.Url", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}}
        ]}),
    );
    e.seed_update(
        "Spaces-1",
        "projects",
        &w.project,
        json!({"IncludedLibraryVariableSetIds": [set["Id"]]}),
    );
    for name in ["America", "Europe", "Asia"] {
        e.seed_tenant_common_variable(
            "Spaces-1",
            &id_of(name),
            set["Id"].as_str().unwrap(),
            "ManagedTenant.Octopus.Url",
            &format!("https://{name}.example"),
        );
    }
    let broken = e.seed(
        "Spaces-1",
        "runbooks",
        json!({"Name": "Broken", "ProjectId": w.project, "MultiTenancyMode": "Tenanted"}),
    );
    e.seed_published_snapshot("Spaces-1", broken["Id"].as_str().unwrap(), "Snapshot 1");
    let dir = tempfile::tempdir().unwrap();
    e.start_executor(ExecutorConfig {
        octofleet: fake_octofleet(dir.path()),
        task_cap: 1,
        jobs: vec![
            RunbookJob {
                runbook: "Deploy".into(),
                steps: vec![JobStep::Octofleet {
                    name: "Deploy Project".into(),
                    args: vec!["deploy".into()],
                    env: vec![],
                    success_codes: vec![0],
                }],
            },
            RunbookJob {
                runbook: "Broken".into(),
                steps: vec![JobStep::Octofleet {
                    name: "Broken".into(),
                    args: vec!["deploy".into()],
                    env: vec![("EXIT".into(), "2".into())],
                    success_codes: vec![0],
                }],
            },
        ],
        variables: vec![],
    });
    e.fail_tasks(Some("Europe"), Some("Deploy"), Some(1));
    // Asia hangs in its script; with a task cap of 1 America waits behind it.
    let (_, asia) = w.run(json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["Asia"]})).await;
    let asia = w.task_of(&asia, "Asia").await;
    wait_for(&w.api, &asia, |t| t["State"] == "Executing").await;
    let (_, others) = w.run(json!({"projectName": "Fleet", "runbookName": "Deploy", "environmentNames": ["Sync"], "tenants": ["America", "Europe"]})).await;
    let america = w.task_of(&others, "America").await;
    let europe = w.task_of(&others, "Europe").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        w.api.get(&format!("/api/tasks/{america}")).await["State"],
        "Queued",
        "the task cap holds it"
    );
    let (status, cancelling) = w
        .api
        .post(&format!("/api/Spaces-1/tasks/{asia}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(cancelling["State"], "Cancelling");
    let asia = wait_for(&w.api, &asia, |t| t["IsCompleted"] == true).await;
    assert_eq!(asia["State"], "Canceled");
    let america_task = wait_for(&w.api, &america, |t| t["IsCompleted"] == true).await;
    assert_eq!(america_task["State"], "Success", "{america_task}");
    let europe_task = wait_for(&w.api, &europe, |t| t["IsCompleted"] == true).await;
    assert_eq!(europe_task["State"], "Failed");
    assert!(europe_task["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("on purpose"));
    assert_eq!(e.task_rules()[0].fired, 1);

    let artifacts = w
        .api
        .get(&format!("/api/Spaces-1/artifacts?regarding={america}"))
        .await;
    assert_eq!(artifacts["TotalResults"], 1, "{artifacts}");
    let artifact = &artifacts["Items"][0];
    assert_eq!(artifact["Filename"], "octofleet-deploy-America.json");
    assert_eq!(artifact["ServerTaskId"], america.as_str());
    let (_, content) = w
        .api
        .call(
            Method::GET,
            artifact["Links"]["Content"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(content["tenant"], "America");
    assert_eq!(content["task"], america.as_str());
    let log = w
        .api
        .call(Method::GET, &format!("/api/tasks/{america}/raw"), None)
        .await
        .1;
    assert!(
        log.as_str()
            .unwrap()
            .contains("deploying for America (https://America.example)"),
        "{log}"
    );
    let details = w.api.get(&format!("/api/tasks/{america}/details")).await;
    assert_eq!(details["Task"]["Id"], america.as_str());

    // A step's exit code outside its success codes fails the task.
    let (_, broken) = w.run(json!({"projectName": "Fleet", "runbookName": "Broken", "environmentNames": ["Sync"], "tenants": ["America"]})).await;
    let broken = w.task_of(&broken, "America").await;
    let broken = wait_for(&w.api, &broken, |t| t["IsCompleted"] == true).await;
    assert_eq!(broken["State"], "Failed");
    assert!(
        broken["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("exited with code 2"),
        "{broken}"
    );
    let rules = w
        .api
        .call(Method::GET, "/_emulator/task-rules", None)
        .await
        .1;
    assert_eq!(rules[0]["effect"], "fail");
}
