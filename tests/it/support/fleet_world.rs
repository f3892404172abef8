//! A fleet on Octopus's task queue, for the fleet and rollout tests: the article's management
//! space with tenants (tagged as asked) that each have a managed space, a template project
//! "Fleet App" whose tenanted runbooks "__ Deploy" and "__ Plan" run the deploy and plan step templates'
//! scripts (published), its template package in the built-in feed, and the emulator's executor
//! playing the workers: each run is the real `octofleet` with that tenant's variables.

use super::calamari::{binary_dir, lines_at, run_like_calamari_in, template, LogLevel};
use super::harness::{api_post, emulator, Fleet, Run, API_KEY};
use octofleet_sandbox::{seed_management_space, MANAGEMENT_SPACE};
use octopus_emulator::{ExecutorConfig, JobStep, RunbookJob};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The template project.
pub const PROJECT: &str = "Fleet App";
/// Its package ID in the built-in feed.
pub const PACKAGE_ID: &str = "Fleet_App";
/// Its runbooks, named as the article names management runbooks (`__ …`), which serialize leaves
/// out of the template package.
pub const DEPLOY: &str = "__ Deploy";
/// The plan runbook.
pub const PLAN: &str = "__ Plan";
/// The environment its runbooks run in.
pub const SYNC: &str = "Sync";

/// The world: the emulator as management and managed server, the template project, its runbooks.
pub struct FleetWorld {
    pub fleet: Fleet,
    pub project_id: String,
    /// Runbook name → ID.
    pub runbooks: BTreeMap<String, String>,
}

fn step(name: &str, template_file: &str) -> Value {
    json!({
        "Name": name,
        "PackageRequirement": "LetOctopusDecide",
        "Condition": "Success",
        "StartTrigger": "StartAfterPrevious",
        "Properties": {},
        "Actions": [{
            "Name": name,
            "ActionType": "Octopus.Script",
            "Properties": {
                "Octopus.Action.RunOnServer": "true",
                "Octopus.Action.Script.ScriptSource": "Inline",
                "Octopus.Action.Script.Syntax": "Bash",
                "Octopus.Action.Script.ScriptBody": template(template_file).script_body()
            }
        }]
    })
}

impl FleetWorld {
    /// `tenants` (name, tags as `Rollout/<Tag>`), each with its managed space; the executor
    /// runs at most `task_cap` tasks at once.
    pub async fn start(tenants: &[(&str, &[&str])], task_cap: usize) -> FleetWorld {
        let emulator = emulator().await;
        let url = emulator.url();
        let names: Vec<&str> = tenants.iter().map(|(name, _)| *name).collect();
        let management = seed_management_space(&emulator, &url, API_KEY, &names);
        let space = MANAGEMENT_SPACE;
        let named = |collection: &str, name: &str| -> String {
            emulator
                .list(space, collection)
                .into_iter()
                .find(|item| item["Name"] == name)
                .unwrap_or_else(|| panic!("no {name} in {collection}"))["Id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let sync = named("environments", SYNC);
        let project = emulator.seed(
            space,
            "projects",
            json!({
                "Name": PROJECT,
                "Description": "A template project rolled out to every tenant.",
                "LifecycleId": named("lifecycles", "Default Lifecycle"),
                "ProjectGroupId": named("projectgroups", "Default Project Group"),
                "TenantedDeploymentMode": "Tenanted"
            }),
        );
        let project_id = project["Id"].as_str().unwrap().to_owned();
        emulator.seed_process(
            space,
            project["DeploymentProcessId"].as_str().unwrap(),
            json!([{
                "Name": "Hello", "PackageRequirement": "LetOctopusDecide", "Condition": "Success",
                "StartTrigger": "StartAfterPrevious", "Properties": {},
                "Actions": [{"Name": "Hello", "ActionType": "Octopus.Script", "Properties": {
                    "Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptSource": "Inline",
                    "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.Script.ScriptBody": "echo hello"}}]
            }]),
        );
        emulator.seed_variables(
            space,
            &project_id,
            json!([{"Name": "App.Greeting", "Value": "hello", "Type": "String", "Scope": {}}]),
        );
        let mut runbooks = BTreeMap::new();
        for (name, template_file) in [
            (DEPLOY, "octofleet-deploy-project.json"),
            (PLAN, "octofleet-plan-project.json"),
        ] {
            let runbook = emulator.seed(
                space,
                "runbooks",
                json!({"Name": name, "ProjectId": project_id, "MultiTenancyMode": "Tenanted",
                       "EnvironmentScope": "Specified", "Environments": [sync]}),
            );
            let id = runbook["Id"].as_str().unwrap().to_owned();
            emulator.seed_process(
                space,
                runbook["RunbookProcessId"].as_str().unwrap(),
                json!([step(name, template_file)]),
            );
            emulator.seed_published_snapshot(space, &id, "Snapshot 1");
            runbooks.insert(name.to_owned(), id);
        }
        let tags: Vec<&str> = tenants
            .iter()
            .flat_map(|(_, tags)| tags.iter().copied())
            .collect();
        let mut tag_names: Vec<&str> = tags
            .iter()
            .filter_map(|tag| tag.strip_prefix("Rollout/"))
            .collect();
        tag_names.sort();
        tag_names.dedup();
        if !tag_names.is_empty() {
            let tags: Vec<Value> = tag_names.iter().map(|t| json!({"Name": t})).collect();
            emulator.seed(space, "tagsets", json!({"Name": "Rollout", "Tags": tags}));
        }
        for (name, tags) in tenants {
            let id = management.tenant_id(name).to_owned();
            emulator.seed_update(
                space,
                "tenants",
                &id,
                json!({
                    "ProjectEnvironments": {management.project_id.clone(): [sync], project_id.clone(): [sync]},
                    "TenantTags": tags,
                }),
            );
        }
        let fleet = Fleet {
            emulator,
            management,
        };
        for (name, _) in tenants {
            let run = fleet.create_space(name, &[], &[]).await;
            assert_eq!(run.code, 0, "create-space for {name}: {}", run.stderr);
        }
        fleet.emulator.start_executor(ExecutorConfig {
            octofleet: env!("CARGO_BIN_EXE_octofleet").into(),
            task_cap,
            jobs: vec![
                RunbookJob {
                    runbook: DEPLOY.into(),
                    steps: vec![JobStep::octofleet("Deploy Project", &["deploy"])],
                },
                RunbookJob {
                    runbook: PLAN.into(),
                    steps: vec![JobStep::Octofleet {
                        name: "Plan Project".into(),
                        args: vec!["plan".into()],
                        env: Vec::new(),
                        // The plan template maps exit 3 (changes) to success.
                        success_codes: vec![0, 3],
                    }],
                },
            ],
            variables: vec![("Management.Octopus.ApiKey".into(), API_KEY.into())],
        });
        FleetWorld {
            fleet,
            project_id,
            runbooks,
        }
    }

    pub fn tenant_id(&self, name: &str) -> String {
        self.fleet.management.tenant_id(name).to_owned()
    }

    /// Serialize the template project into the built-in feed as `version`.
    pub async fn serialize(&self, version: &str) {
        let url = self.fleet.emulator.url();
        let run = super::harness::octofleet(
            &["serialize", "--package-version", version],
            &[
                ("OCTOPUS_WEB_SERVERURI", &url),
                ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE),
                ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
                ("OCTOPUS_PROJECT_NAME", PROJECT),
            ],
        )
        .await;
        assert_eq!(run.code, 0, "serialize {version}: {}", run.stderr);
    }

    /// Start `runbook` for `tenants` through create/v1; the tasks queued.
    pub async fn run(&self, runbook: &str, tenants: &[&str]) -> Vec<String> {
        let answer = api_post(
            &self.fleet.emulator,
            &format!("/api/{MANAGEMENT_SPACE}/runbook-runs/create/v1"),
            &json!({"SpaceId": MANAGEMENT_SPACE, "ProjectName": PROJECT, "RunbookName": runbook,
                    "EnvironmentNames": [SYNC], "Tenants": tenants}),
        )
        .await;
        answer["RunbookRunServerTasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|task| task["ServerTaskId"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Wait until every task in `ids` has finished; the tasks as the server holds them.
    pub async fn wait(&self, ids: &[String]) -> Vec<Value> {
        for _ in 0..1200 {
            let tasks: Vec<Value> = self
                .fleet
                .emulator
                .tasks()
                .into_iter()
                .filter(|task| ids.iter().any(|id| task["Id"] == id.as_str()))
                .collect();
            if tasks.len() == ids.len() && tasks.iter().all(|task| task["IsCompleted"] == true) {
                return tasks;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "tasks {ids:?} did not finish: {:?}",
            self.fleet.emulator.tasks()
        )
    }

    /// Run `runbook` for `tenants` and wait for it; every task must end `expected`.
    pub async fn run_and_wait(&self, runbook: &str, tenants: &[&str], expected: &str) {
        let ids = self.run(runbook, tenants).await;
        for task in self.wait(&ids).await {
            assert_eq!(task["State"], expected, "{task}\n{:?}", self.log(&task));
        }
    }

    /// A task as the server holds it, for failure messages.
    pub fn log(&self, task: &Value) -> String {
        task.to_string()
    }

    /// The runbook runs' tasks of `tenant` for `runbook`, newest first, as the server holds
    /// them (matched through the stored runs' `TenantId` and `RunbookId`).
    pub fn tasks_of(&self, tenant: &str, runbook: &str) -> Vec<Value> {
        let tenant_id = self.tenant_id(tenant);
        let runbook_id = &self.runbooks[runbook];
        let task_ids: Vec<String> = self
            .fleet
            .emulator
            .runbook_runs()
            .into_iter()
            .filter(|run| {
                run["TenantId"] == tenant_id.as_str() && run["RunbookId"] == runbook_id.as_str()
            })
            .map(|run| run["TaskId"].as_str().unwrap().to_owned())
            .collect();
        let mut found: Vec<Value> = self
            .fleet
            .emulator
            .tasks()
            .into_iter()
            .filter(|task| task_ids.iter().any(|id| task["Id"] == id.as_str()))
            .collect();
        found.reverse();
        found
    }

    /// The JSON reports a task attached, parsed.
    pub fn reports_of(&self, task_id: &str) -> Vec<Value> {
        self.fleet
            .emulator
            .artifacts_of(task_id)
            .into_iter()
            .filter(|(name, _)| name.ends_with(".json"))
            .map(|(_, bytes)| serde_json::from_slice(&bytes).unwrap())
            .collect()
    }

    /// Run `file`'s step template the Calamari way, untenanted in the management space, the
    /// management API key bound, with `overrides` on its parameters; in a working directory kept
    /// as long as the returned directory lives.
    pub async fn run_template(
        &self,
        file: &str,
        overrides: &[(&str, &str)],
    ) -> (Run, tempfile::TempDir) {
        let template = template(file);
        let mut given = vec![(
            "Octofleet.Management.ApiKey",
            "#{Management.Octopus.ApiKey}",
        )];
        given.extend_from_slice(overrides);
        let parameters = template.bind(&self.management_variables(), &given);
        let work = tempfile::tempdir().unwrap();
        let run = run_like_calamari_in(
            work.path(),
            template.script_body(),
            &parameters,
            Some(binary_dir()),
        )
        .await;
        (run, work)
    }

    /// The variables a step of the management space sees (untenanted, in Sync).
    pub fn management_variables(&self) -> BTreeMap<&'static str, String> {
        let url = self.fleet.emulator.url();
        BTreeMap::from([
            ("Octopus.Web.ServerUri", url),
            ("Octopus.Space.Id", MANAGEMENT_SPACE.to_owned()),
            ("Octopus.Project.Name", PROJECT.to_owned()),
            ("Octopus.Environment.Name", SYNC.to_owned()),
            ("Management.Octopus.ApiKey", API_KEY.to_owned()),
        ])
    }
}

/// A step that succeeded as Octopus shows it: exit 0, not one stderr line (Calamari logs each as
/// an error), no error line, and its log on stdout.
pub fn assert_green(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 0, "stderr: {}", run.stderr);
    assert!(lines_at(run, LogLevel::Error).is_empty(), "{}", run.stdout);
    assert!(
        !lines_at(run, LogLevel::Info).is_empty(),
        "the log is on stdout"
    );
}
