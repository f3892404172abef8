//! The sandbox's demo, the whole workflow on one machine: starts the Octopus and forge emulators
//! in-process, seeds the article's management space, and runs the real `octofleet` binary for
//! each tenant with the environment a step template would export, reporting what happened:
//! create-space for each tenant (and again), serialize for each template project, deploy and
//! plan, a step added upstream, then fork and deploy of the Config-as-Code project, merges of
//! upstream changes, and a rollout of a new template version to five tenants in two waves on the
//! emulator's task queue (a failure stops it, a re-run resumes), ending with the fleet report.
//! `cargo run -p octofleet-sandbox` runs it; `tests/it/sandbox.rs` runs it as a test.

use crate::{
    output_variables, seed_management_space, seed_template_projects, ManagementSpace,
    MANAGEMENT_SPACE,
};
use forge_emulator::{ForgeConfig, ForgeEmulator};
use octopus_emulator::{Emulator, EmulatorConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const API_KEY: &str = "API-SANDBOX00000000000000000000";
const TENANTS: [&str; 2] = ["America", "Europe"];
/// The shared git credential: create-space puts it in every managed space, fork uses it.
const GIT_USERNAME: &str = "octopus";
const GIT_PASSWORD: &str = "sandbox-git-token";
const GIT_ORGANIZATION: &str = "octopuscac";

/// Where the demo reports: every line is kept, and printed on stdout when `echo` is set.
#[derive(Default)]
pub struct Log {
    echo: bool,
    lines: Mutex<Vec<String>>,
}

impl Log {
    /// A log that prints each line as it comes (the `octofleet-sandbox` binary).
    pub fn printing() -> Log {
        Log {
            echo: true,
            ..Log::default()
        }
    }

    /// A log that only keeps the lines (tests).
    pub fn quiet() -> Log {
        Log::default()
    }

    /// Keep `line`, and print it unless the log is quiet.
    pub fn line(&self, line: String) {
        if self.echo {
            println!("{line}");
        }
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Everything reported so far, one line each.
    pub fn text(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }
}

macro_rules! say {
    ($log:expr, $($arg:tt)*) => {
        $log.line(format!($($arg)*))
    };
}

mod merge_step;
mod rollout_step;

/// The whole workflow against the emulators with the real `octofleet` binary: each step's
/// outcome is said on `log`, and its reports go into `reports`; the first failure ends it.
pub async fn run(octofleet: &Path, reports: &Path, log: &Log) -> Result<(), String> {
    let octofleet = octofleet.to_path_buf();
    // Git first: the template project's repository lives there, and Octopus checks that a
    // Config-as-Code repository answers before converting a project to it.
    let forge = ForgeEmulator::start(ForgeConfig {
        username: GIT_USERNAME.to_owned(),
        password: GIT_PASSWORD.to_owned(),
        ..ForgeConfig::default()
    })
    .await
    .map_err(|error| format!("cannot start the git forge emulator: {error}"))?;
    let upstream = seed_upstream_repository(&forge)?;
    say!(
        log,
        "Gitea emulator listening on {} with the upstream repository {upstream}",
        forge.url()
    );
    let emulator = Emulator::start(EmulatorConfig {
        api_key: API_KEY.to_owned(),
        check_git_urls: true,
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|error| format!("cannot start the Octopus emulator: {error}"))?;
    let url = emulator.url();
    say!(
        log,
        "Octopus emulator listening on {url} (API key {API_KEY})"
    );
    // The reports plan, deploy, fork and merge leave in `reports` (Octopus attaches them to the
    // task): one directory per template project, as each project's runbooks are separate tasks
    // in Octopus.
    let (hello_reports, cac_reports) =
        (reports.join("hello-world"), reports.join("hello-world-cac"));

    // One emulator plays both the management instance and the managed instance, as in the
    // article's reference implementation where the spaces share one server.
    let management = seed_management_space(&emulator, &url, API_KEY, &TENANTS);
    say!(
        log,
        "seeded management space {}: library variable set \"Octopus Server\" ({}), project \"__ Client Space\", tenants {}",
        management.space_id,
        management.library_variable_set_id,
        TENANTS.join(", ")
    );
    let templates = seed_template_projects(&emulator, &management, &upstream);
    say!(
        log,
        "seeded template projects \"Hello World\" ({}) and \"Hello World CaC\" ({}), library variable set \"Export Options\"",
        templates.hello_world, templates.hello_world_cac
    );

    for tenant in TENANTS {
        say!(log, "\n== create-space for tenant {tenant}");
        emulator.clear_requests();
        let (stdout, stderr, status) = create_space(&octofleet, &url, &management, tenant).await?;
        print_run(log, &stdout, &stderr);
        if !status {
            return Err(format!("octofleet create-space failed for {tenant}"));
        }
        print_traffic(log, &emulator);
        let stored = tenant_space_id(&url, &management, tenant).await?;
        say!(log, "   tenant variable ManagedTenant.Octopus.SpaceId on the management space is now `{stored}`");
    }

    say!(
        log,
        "\n== create-space for tenant America again (nothing changed upstream)"
    );
    emulator.clear_requests();
    let (_, stderr, status) = create_space(&octofleet, &url, &management, "America").await?;
    if let Some(summary) = stderr.lines().last() {
        say!(log, "   | {summary}");
    }
    if !status {
        return Err("the second run failed".into());
    }
    print_traffic(log, &emulator);

    let mut pushed: Vec<(String, String)> = Vec::new();
    for project in ["Hello World", "Hello World CaC"] {
        say!(
            log,
            "\n== serialize {project} (the \"__ 1. Serialize Project\" runbook)"
        );
        emulator.clear_requests();
        let (stdout, stderr, status) = serialize(&octofleet, &url, project).await?;
        let variables = print_run(log, &stdout, &stderr);
        if !status {
            return Err(format!("octofleet serialize failed for {project}"));
        }
        let value = |key: &str| {
            variables
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        pushed.push((value("PackageId"), value("PackageVersion")));
        print_traffic(log, &emulator);
    }
    say!(log, "\nbuilt-in feed of {MANAGEMENT_SPACE}:");
    for (id, version) in &pushed {
        let stored = emulator
            .get(
                MANAGEMENT_SPACE,
                "packages",
                &format!("packages-{id}.{version}"),
            )
            .ok_or_else(|| format!("{id} {version} is not in the built-in feed"))?;
        say!(
            log,
            "   {id} {version} ({} bytes)",
            stored["PackageSizeBytes"]
        );
    }

    // The article's "__ 2. Deploy Project" runbook, for each tenant: the package from the feed,
    // extracted with secrets.json substituted (as Octopus does in the Sync environment).
    let hello_world = pushed
        .iter()
        .find(|(id, _)| id == "Hello_World")
        .cloned()
        .ok_or("Hello World was not pushed")?;
    let package = extract_substituted(&emulator, &url, &hello_world.0, &hello_world.1).await?;
    for tenant in TENANTS {
        say!(
            log,
            "\n== deploy Hello World into {tenant}'s space (\"__ 2. Deploy Project\")"
        );
        emulator.clear_requests();
        let (_, stderr, code) = run_octofleet(
            &octofleet,
            "deploy",
            &deploy_env(&url, tenant, package.path(), &hello_reports),
        )
        .await?;
        print_summary(log, &stderr);
        if code != 0 {
            return Err(format!("deploy failed for {tenant}:\n{stderr}"));
        }
        print_traffic(log, &emulator);
        emulator.clear_requests();
        let (_, stderr, code) = run_octofleet(
            &octofleet,
            "plan",
            &deploy_env(&url, tenant, package.path(), &hello_reports),
        )
        .await?;
        print_summary(log, &stderr);
        say!(
            log,
            "   plan exit code {code} ({}), {}",
            plan_outcome(code),
            crate::writes_label(emulator.writes().len())
        );
        if code != 0 {
            return Err(format!(
                "the plan right after deploying into {tenant} did not find the space converged:\n{stderr}"
            ));
        }
    }

    say!(
        log,
        "\n== a step is added upstream; serialize again, plan, deploy (America)"
    );
    let process_id = format!("deploymentprocess-{}", templates.hello_world);
    let mut steps = emulator
        .get(MANAGEMENT_SPACE, "deploymentprocesses", &process_id)
        .ok_or("the upstream process")?["Steps"]
        .clone();
    let mut smoke_test = steps[0].clone();
    for field in ["Id", "Slug"] {
        smoke_test.as_object_mut().map(|step| step.remove(field));
    }
    smoke_test["Name"] = "Smoke Test".into();
    smoke_test["Actions"] = serde_json::json!([{
        "Name": "Smoke Test", "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptSource": "Inline",
                       "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.Script.ScriptBody": "curl -fsS http://localhost/health"}
    }]);
    steps.as_array_mut().ok_or("steps")?.push(smoke_test);
    emulator.seed_process(MANAGEMENT_SPACE, &process_id, steps);
    let (stdout, stderr, status) = serialize(&octofleet, &url, "Hello World").await?;
    if !status {
        return Err(format!("serialize failed:\n{stderr}"));
    }
    let variables = output_variables(&stdout);
    let version = variables
        .iter()
        .find(|(name, _)| name == "PackageVersion")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let package = extract_substituted(&emulator, &url, "Hello_World", &version).await?;
    let (_, stderr, code) = run_octofleet(
        &octofleet,
        "plan",
        &deploy_env(&url, "America", package.path(), &hello_reports),
    )
    .await?;
    for line in stderr.lines().filter(|line| {
        line.contains(" + create") || line.contains(" ~ update") || line.contains(" - remove")
    }) {
        say!(log, "   | {}", line.trim());
    }
    say!(log, "   plan exit code {code} ({})", plan_outcome(code));
    if code != 3 {
        return Err(format!("the plan did not report the added step:\n{stderr}"));
    }
    let (_, stderr, code) = run_octofleet(
        &octofleet,
        "deploy",
        &deploy_env(&url, "America", package.path(), &hello_reports),
    )
    .await?;
    print_summary(log, &stderr);
    if code != 0 {
        return Err(format!("deploy failed:\n{stderr}"));
    }

    // The article's "__ 2. Fork and Deploy Project" for the Config-as-Code project: fork the
    // upstream repository per tenant, then deploy with the project pointed at the fork.
    let cac = pushed
        .iter()
        .find(|(id, _)| id == "Hello_World_CaC")
        .cloned()
        .ok_or("Hello World CaC was not pushed")?;
    let cac_package = extract_substituted(&emulator, &url, &cac.0, &cac.1).await?;
    let mut fork_envs = Vec::new();
    for tenant in TENANTS {
        say!(
            log,
            "\n== fork Hello World CaC for {tenant}, then deploy it"
        );
        let env = vec![
            ("GIT_PLATFORM".to_owned(), "gitea".to_owned()),
            ("GIT_URL_PROTOCOL".to_owned(), "http".to_owned()),
            ("GIT_URL_HOST".to_owned(), forge.host()),
            (
                "GIT_URL_ORGANIZATION".to_owned(),
                GIT_ORGANIZATION.to_owned(),
            ),
            (
                "GIT_CREDENTIALS_USERNAME".to_owned(),
                GIT_USERNAME.to_owned(),
            ),
            (
                "GIT_CREDENTIALS_PASSWORD".to_owned(),
                GIT_PASSWORD.to_owned(),
            ),
            (
                "OCTOPUS_DEPLOYMENT_TENANT_NAME".to_owned(),
                tenant.to_owned(),
            ),
            (
                "OCTOPUS_PROJECT_NAME".to_owned(),
                "Hello World CaC".to_owned(),
            ),
            ("OCTOPUS_WEB_SERVERURI".to_owned(), url.clone()),
            ("OCTOPUS_SPACE_ID".to_owned(), MANAGEMENT_SPACE.to_owned()),
            ("MANAGEMENT_OCTOPUS_APIKEY".to_owned(), API_KEY.to_owned()),
            (
                "OCTOFLEET_REPORTDIR".to_owned(),
                cac_reports.display().to_string(),
            ),
        ];
        let (stdout, stderr, code) = run_octofleet(&octofleet, "fork", &env).await?;
        let variables = print_run(log, &stdout, &stderr);
        if code != 0 {
            return Err(format!("fork failed for {tenant}"));
        }
        fork_envs.push((tenant, env));
        let repository = variables
            .into_iter()
            .find(|(name, _)| name == "RepositoryUrl")
            .map(|(_, value)| value)
            .ok_or("fork printed no RepositoryUrl")?;
        let mut env = deploy_env(&url, tenant, cac_package.path(), &cac_reports);
        env.push(("OCTOFLEET_GIT_URL".to_owned(), repository.clone()));
        let (_, stderr, code) = run_octofleet(&octofleet, "deploy", &env).await?;
        print_summary(log, &stderr);
        if code != 0 {
            return Err(format!(
                "deploy of Hello World CaC failed for {tenant}:\n{stderr}"
            ));
        }
        let space = emulator
            .list("", "spaces")
            .into_iter()
            .find(|s| s["Name"] == tenant)
            .ok_or("the tenant's space")?;
        let project = emulator
            .list(space["Id"].as_str().unwrap_or_default(), "projects")
            .into_iter()
            .find(|p| p["Name"] == "Hello World CaC")
            .ok_or("the downstream CaC project")?;
        say!(
            log,
            "   {tenant}'s Hello World CaC is version controlled at {}",
            project["PersistenceSettings"]["Url"]
        );
    }
    merge_step::merge_upstream_changes(log, &octofleet, &forge, &fork_envs).await?;
    let fleet_page = rollout_step::roll_out(
        log,
        &octofleet,
        &emulator,
        &management,
        &templates,
        &hello_world.1,
        reports,
    )
    .await?;
    print_reports(log, reports)?;
    say!(log, "\nfleet report: {}", fleet_page.display());
    forge.shutdown().await;
    emulator.shutdown().await;
    Ok(())
}

/// The upstream repository of "Hello World CaC" on the forge, holding the project's `.octopus/`
/// OCL files in one commit on `main`. Returns its clone URL.
fn seed_upstream_repository(forge: &ForgeEmulator) -> Result<String, String> {
    forge.create_org(GIT_ORGANIZATION);
    let bare = forge.create_repo(GIT_ORGANIZATION, "hello_world_cac");
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let base = work.path().join(".octopus/hello_world_cac");
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    for (file, content) in OCL_FILES {
        std::fs::write(base.join(file), content).map_err(|e| e.to_string())?;
    }
    let git = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=Octopus Platform Team",
                "-c",
                "user.email=platform@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(work.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("git: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("git {} failed", args.join(" ")))
    };
    git(&["init", "-q"])?;
    git(&["add", "."])?;
    git(&[
        "commit",
        "-q",
        "-m",
        "Hello World CaC: initial Config-as-Code",
    ])?;
    git(&[
        "push",
        "-q",
        bare.to_str().ok_or("a path")?,
        "HEAD:refs/heads/main",
    ])?;
    Ok(format!(
        "{}/{GIT_ORGANIZATION}/hello_world_cac.git",
        forge.url()
    ))
}

/// What Octopus writes for the "Hello World CaC" project: a manual intervention in Production,
/// then a script step.
const OCL_FILES: [(&str, &str); 3] = [
    (
        "deployment_process.ocl",
        r#"step "approve-production" {
    name = "Approve Production"

    action {
        action_type = "Octopus.Manual"
        environments = ["production"]
        properties = {
            Octopus.Action.Manual.BlockConcurrentDeployments = "False"
            Octopus.Action.Manual.Instructions = "Approve the deployment to Production."
        }
    }
}

step "hello-world" {
    name = "Hello World"

    action {
        action_type = "Octopus.Script"
        properties = {
            Octopus.Action.RunOnServer = "true"
            Octopus.Action.Script.ScriptBody = "echo "Hello from the CaC project in #{Octopus.Environment.Name}""
            Octopus.Action.Script.ScriptSource = "Inline"
            Octopus.Action.Script.Syntax = "Bash"
        }
    }
}
"#,
    ),
    (
        "deployment_settings.ocl",
        "connectivity_policy {\n    allow_deployments_to_no_targets = false\n}\n\nversioning_strategy {\n    template = \"#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}\"\n}\n",
    ),
    ("variables.ocl", "variable \"Slack.Channel\" {\n    value \"#deployments\" {}\n}\n"),
];

/// The environment the deploy step template exports for `tenant`.
/// deploy's and plan's environment, with the report written into `reports`.
fn deploy_env(
    url: &str,
    tenant: &str,
    package: &std::path::Path,
    reports: &std::path::Path,
) -> Vec<(String, String)> {
    vec![
        ("OCTOFLEET_REPORTDIR".into(), reports.display().to_string()),
        ("MANAGEDTENANT_OCTOPUS_URL".into(), url.into()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY".into(), API_KEY.into()),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME".into(), tenant.into()),
        (
            "OCTOFLEET_PACKAGE_DIR".into(),
            package.display().to_string(),
        ),
    ]
}

/// What a plan's exit code says: 0 no changes, 3 changes, anything else a failure.
fn plan_outcome(code: i32) -> &'static str {
    match code {
        0 => "no changes",
        3 => "changes",
        _ => "failed",
    }
}

/// Print a run's log lines and its output variables; return the variables.
fn print_run(log: &Log, stdout: &str, stderr: &str) -> Vec<(String, String)> {
    for line in stderr.lines() {
        say!(log, "   | {line}");
    }
    let variables = output_variables(stdout);
    for (name, value) in &variables {
        say!(log, "   output variable {name} = {value}");
    }
    variables
}

fn print_traffic(log: &Log, emulator: &Emulator) {
    say!(
        log,
        "   {} requests, {} writes",
        emulator.requests().len(),
        emulator.writes().len()
    );
}

fn print_summary(log: &Log, stderr: &str) {
    if let Some(line) = stderr.lines().rev().find(|line| line.contains("project `")) {
        say!(log, "   | {}", line.trim());
    }
}

/// Name each report the demo's runs left, to be opened in a browser.
fn print_reports(log: &Log, reports: &std::path::Path) -> Result<(), String> {
    say!(log, "\n== reports (open the .html files in a browser)");
    let mut files = Vec::new();
    for project in std::fs::read_dir(reports).map_err(|error| error.to_string())? {
        let project = project.map_err(|error| error.to_string())?.path();
        for file in std::fs::read_dir(&project).map_err(|error| error.to_string())? {
            files.push(file.map_err(|error| error.to_string())?.path());
        }
    }
    files.sort();
    for file in files {
        say!(log, "   {}", file.display());
    }
    Ok(())
}

async fn run_octofleet(
    octofleet: &PathBuf,
    action: &str,
    env: &[(String, String)],
) -> Result<(String, String, i32), String> {
    let output = tokio::process::Command::new(octofleet)
        .arg(action)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .map_err(|error| format!("cannot run {}: {error}", octofleet.display()))?;
    Ok((
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code().unwrap_or(-1),
    ))
}

/// Download the package from the built-in feed and extract it, replacing each secrets.json
/// placeholder `#{Name | JsonEscape}` with that variable's value in the template project, as
/// Octopus's file substitution does when the step runs in the Sync environment.
async fn extract_substituted(
    emulator: &Emulator,
    url: &str,
    id: &str,
    version: &str,
) -> Result<tempfile::TempDir, String> {
    let bytes = reqwest::Client::new()
        .get(format!(
            "{url}/api/{MANAGEMENT_SPACE}/packages/packages-{id}.{version}/raw"
        ))
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec()))
        .and_then(|mut archive| archive.extract(dir.path()))
        .map_err(|e| e.to_string())?;
    let path = dir.path().join("secrets.json");
    let secrets: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let project = emulator
        .list(MANAGEMENT_SPACE, "projects")
        .into_iter()
        .find(|p| octofleet::package::package_id_for(p["Name"].as_str().unwrap_or_default()) == id)
        .ok_or("the template project")?;
    let project_id = project["Id"].as_str().unwrap_or_default().to_owned();
    let mut substituted = std::collections::BTreeMap::new();
    for (key, placeholder) in secrets {
        let name = placeholder
            .trim_start_matches("#{")
            .split(" | ")
            .next()
            .unwrap_or_default()
            .trim_end_matches('}')
            .to_owned();
        let value = emulator
            .secret_value(MANAGEMENT_SPACE, &project_id, &name)
            .ok_or(format!("no value for {name}"))?;
        substituted.insert(key, value);
    }
    std::fs::write(
        &path,
        serde_json::to_string(&substituted).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Run `octofleet create-space` with the environment the create-space step template exports.
async fn create_space(
    octofleet: &PathBuf,
    url: &str,
    management: &ManagementSpace,
    tenant: &str,
) -> Result<(String, String, bool), String> {
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant),
        ("OCTOPUS_DEPLOYMENT_TENANT_ID", management.tenant_id(tenant)),
        ("OCTOPUS_WEB_SERVERURI", url),
        ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
        ("GIT_CREDENTIALS_USERNAME", GIT_USERNAME),
        ("GIT_CREDENTIALS_PASSWORD", GIT_PASSWORD),
    ];
    let (stdout, stderr, code) = run_octofleet(octofleet, "create-space", &owned(&env)).await?;
    Ok((stdout, stderr, code == 0))
}

/// Run `octofleet serialize` with the environment the serialize step template exports, as the
/// project's own "__ 1. Serialize Project" runbook would.
async fn serialize(
    octofleet: &PathBuf,
    url: &str,
    project: &str,
) -> Result<(String, String, bool), String> {
    let env = [
        ("OCTOPUS_WEB_SERVERURI", url),
        ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE),
        ("OCTOPUS_PROJECT_NAME", project),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
    ];
    let (stdout, stderr, code) = run_octofleet(octofleet, "serialize", &owned(&env)).await?;
    Ok((stdout, stderr, code == 0))
}

fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Read the tenant's `ManagedTenant.Octopus.SpaceId` back through the API.
async fn tenant_space_id(
    url: &str,
    management: &ManagementSpace,
    tenant: &str,
) -> Result<String, String> {
    let response: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{url}/api/{}/tenants/{}/commonvariables",
            management.space_id,
            management.tenant_id(tenant)
        ))
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .and_then(|response| response.error_for_status())
        .map_err(|error| error.to_string())?
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let template_id = management.template_id("ManagedTenant.Octopus.SpaceId");
    response["Variables"]
        .as_array()
        .and_then(|variables| variables.iter().find(|v| v["TemplateId"] == template_id))
        .and_then(|variable| variable["Value"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the tenant has no ManagedTenant.Octopus.SpaceId value".to_owned())
}
