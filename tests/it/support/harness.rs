//! Test scaffolding: an emulator per test, the real binary run with only `PATH`
//! and the given environment.

use octofleet_sandbox::{seed_management_space, ManagementSpace, MANAGEMENT_SPACE};
use octopus_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use std::time::Duration;

pub const API_KEY: &str = "API-TESTKEY000000000000000000001";

pub async fn emulator() -> Emulator {
    emulator_with(EmulatorConfig::default()).await
}

pub async fn emulator_with(config: EmulatorConfig) -> Emulator {
    Emulator::start(EmulatorConfig {
        api_key: API_KEY.to_owned(),
        ..config
    })
    .await
    .expect("the emulator starts")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything the binary printed, for "never appears in the output" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn output_variable(&self, name: &str) -> Option<String> {
        octofleet_sandbox::output_variables(&self.stdout)
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }
}

/// Run `octofleet` with only `PATH` (to find `git` and the shell) and `env` set: no other
/// inherited variable can leak in.
pub async fn octofleet(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_octofleet"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("octofleet finishes within two minutes")
        .expect("octofleet runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The article's setting: management space with tenants, the managed spaces on the same server.
pub struct Fleet {
    pub emulator: Emulator,
    pub management: ManagementSpace,
}

impl Fleet {
    pub async fn start() -> Fleet {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Fleet {
        let emulator = emulator_with(config).await;
        let url = emulator.url();
        let management = seed_management_space(&emulator, &url, API_KEY, &["America", "Europe"]);
        Fleet {
            emulator,
            management,
        }
    }

    /// The environment the create-space step template exports for `tenant`.
    pub fn step_env(&self, tenant: &str) -> Vec<(String, String)> {
        let url = self.emulator.url();
        vec![
            ("MANAGEDTENANT_OCTOPUS_URL".into(), url.clone()),
            ("MANAGEDTENANT_OCTOPUS_APIKEY".into(), API_KEY.into()),
            ("OCTOPUS_DEPLOYMENT_TENANT_NAME".into(), tenant.into()),
            (
                "OCTOPUS_DEPLOYMENT_TENANT_ID".into(),
                self.management.tenant_id(tenant).into(),
            ),
            ("OCTOPUS_WEB_SERVERURI".into(), url),
            ("OCTOPUS_SPACE_ID".into(), MANAGEMENT_SPACE.into()),
            ("MANAGEMENT_OCTOPUS_APIKEY".into(), API_KEY.into()),
            ("GIT_CREDENTIALS_USERNAME".into(), "octopus".into()),
            (
                "GIT_CREDENTIALS_PASSWORD".into(),
                "git-token-value-42".into(),
            ),
        ]
    }

    pub async fn create_space(
        &self,
        tenant: &str,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Run {
        let mut env = self.step_env(tenant);
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut args = vec!["create-space"];
        args.extend_from_slice(extra_args);
        octofleet(&args, &env).await
    }

    pub fn space_named(&self, name: &str) -> Option<Value> {
        self.emulator
            .list("", "spaces")
            .into_iter()
            .find(|space| space["Name"] == name)
    }

    /// The project named `name` in `space_id`, as the server holds it (it must exist).
    pub fn project_named(&self, space_id: &str, name: &str) -> Value {
        self.emulator
            .list(space_id, "projects")
            .into_iter()
            .find(|project| project["Name"] == name)
            .unwrap_or_else(|| panic!("no project `{name}` in {space_id}"))
    }

    /// The tenant's `ManagedTenant.Octopus.SpaceId` as the scoped API returns it.
    pub async fn tenant_space_id(&self, tenant: &str) -> Option<String> {
        let path = format!(
            "/api/{}/tenants/{}/commonvariables",
            self.management.space_id,
            self.management.tenant_id(tenant)
        );
        let body = api_get(&self.emulator, &path).await;
        let template = self.management.template_id("ManagedTenant.Octopus.SpaceId");
        body["Variables"]
            .as_array()?
            .iter()
            .find(|variable| variable["TemplateId"] == template)
            .and_then(|variable| variable["Value"].as_str().map(str::to_owned))
    }
}

pub async fn api_get(emulator: &Emulator, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn api_post(emulator: &Emulator, path: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "POST {path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

pub async fn api_put(emulator: &Emulator, path: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .put(format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "PUT {path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// Names of the items in a space's collection, sorted, duplicates kept (so a duplicate shows).
pub fn names(emulator: &Emulator, space_id: &str, collection: &str) -> Vec<String> {
    let mut names: Vec<String> = emulator
        .list(space_id, collection)
        .iter()
        .map(|item| item["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// The run was cut where asked: the server refused a write, exactly `n` writes committed (the
/// budget), and fewer than a clean run makes.
pub fn assert_the_cut_happened(
    emulator: &octopus_emulator::Emulator,
    n: usize,
    writes_of_a_clean_run: usize,
    interrupted: &Run,
) {
    let committed = emulator.writes().len();
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD") && r.status == 503)
        .count();
    // The emulator takes the budget before a write runs, so exactly n commit even when
    // several writes are sent at once.
    assert!(
        refused > 0 && committed == n && committed < writes_of_a_clean_run,
        "cut after {n} writes: {committed} committed, {refused} refused (a clean run writes \
         {writes_of_a_clean_run}): {:?}\n{}",
        emulator.writes(),
        interrupted.stderr
    );
}
