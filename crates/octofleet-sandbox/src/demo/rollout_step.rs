//! After the merges: the fleet grows to five tenants, the template changes, and `octofleet
//! rollout` runs the "__ 2. Deploy Project" runbook for every tenant on the emulator's task queue
//! (its executor plays Octopus's workers: the real binary, each tenant's variables) in two waves:
//! the canaries America and Africa, then the rest. Africa's API key was rotated without its tenant
//! variable: its run fails, the rollout stops and names who ran and who did not; once the
//! variable is fixed, the rollout resumes. It ends with the fleet report.

use super::{
    create_space, deploy_env, extract_substituted, output_variables, print_summary, run_octofleet,
    serialize, Log, API_KEY,
};
use crate::{ManagementSpace, TemplateProjects, MANAGEMENT_SPACE};
use octopus_emulator::{Emulator, ExecutorConfig, JobStep, RunbookJob};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The runbook the rollout runs, seeded by `seed_template_projects`.
const RUNBOOK: &str = "__ 2. Deploy Project";
/// The tenants the fleet grows by.
const NEW_TENANTS: [&str; 3] = ["Asia", "Africa", "Oceania"];
/// A key Africa's server no longer accepts (well-formed: the run reaches the server).
const ROTATED_KEY: &str = "API-ROTATEDAWAY0000000000000000";

/// The deploy step template's script: the runbook's step, as Octopus copies it from the template.
fn deploy_script() -> Result<String, String> {
    let template: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../step-templates/octofleet-deploy-project.json"
    ))
    .map_err(|e| e.to_string())?;
    template["Properties"]["Octopus.Action.Script.ScriptBody"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the deploy template has no script".to_owned())
}

fn id(value: &serde_json::Value) -> Result<String, String> {
    value["Id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no Id in {value}"))
}

/// The log lines of a rollout worth showing, and its exit code.
fn print_rollout(log: &Log, stderr: &str, code: i32) {
    for line in stderr.lines() {
        let line = line.trim();
        let keep = [
            ": started",
            ": skipped",
            ": succeeded",
            ": failed",
            ": not started",
            "waves (",
            "error:",
        ]
        .iter()
        .any(|needle| line.contains(needle));
        if keep {
            // The text log's lines start with their level.
            let text = match line.split_once(' ') {
                Some((level, rest)) if ["INFO", "WARN", "ERROR"].contains(&level) => rest.trim(),
                _ => line,
            };
            say!(log, "   | {text}");
        }
    }
    say!(log, "   rollout exit code {code}");
}

/// The chapter: grow the fleet, change the template, roll it out, stop, resume, report.
pub async fn roll_out(
    log: &Log,
    octofleet: &PathBuf,
    emulator: &Emulator,
    management: &ManagementSpace,
    templates: &TemplateProjects,
    first_version: &str,
    reports: &Path,
) -> Result<PathBuf, String> {
    let url = emulator.url();
    let space = MANAGEMENT_SPACE;
    say!(
        log,
        "\n== the fleet grows: {} get their managed spaces and Hello World {first_version}",
        NEW_TENANTS.join(", ")
    );
    let sync = emulator
        .list(space, "environments")
        .into_iter()
        .find(|e| e["Name"] == "Sync")
        .ok_or("the Sync environment")?;
    let sync = id(&sync)?;
    let mut management = management.clone();
    for tenant in NEW_TENANTS {
        let seeded = emulator.seed(
            space,
            "tenants",
            json!({"Name": tenant, "ProjectEnvironments": {management.project_id.clone(): [sync]}}),
        );
        let tenant_id = id(&seeded)?;
        for (template, value) in [
            ("ManagedTenant.Octopus.Url", url.as_str()),
            ("ManagedTenant.Octopus.ApiKey", API_KEY),
            ("ManagedTenant.Octopus.SpaceId", "TBD"),
        ] {
            emulator.seed_tenant_common_variable(
                space,
                &tenant_id,
                &management.library_variable_set_id,
                template,
                value,
            );
        }
        management.tenants.push((tenant.to_owned(), tenant_id));
    }
    let package = extract_substituted(emulator, &url, "Hello_World", first_version).await?;
    let onboarding = tempfile::tempdir().map_err(|e| e.to_string())?;
    for tenant in NEW_TENANTS {
        let (_, stderr, created) = create_space(octofleet, &url, &management, tenant).await?;
        if !created {
            return Err(format!("create-space failed for {tenant}:\n{stderr}"));
        }
        let (_, stderr, code) = run_octofleet(
            octofleet,
            "deploy",
            &deploy_env(&url, tenant, package.path(), onboarding.path()),
        )
        .await?;
        print_summary(log, &stderr);
        if code != 0 {
            return Err(format!("deploy failed for {tenant}:\n{stderr}"));
        }
    }

    say!(log, "\n== the rollout runbook: `{RUNBOOK}` runs the deploy step template for each tenant in Sync");
    emulator.seed(
        space,
        "tagsets",
        json!({"Name": "Rollout", "Tags": [{"Name": "Canary"}]}),
    );
    for (tenant, tenant_id) in &management.tenants {
        let mut patch = json!({"ProjectEnvironments": {
            management.project_id.clone(): [sync],
            templates.hello_world.clone(): [sync],
        }});
        if tenant == "America" || tenant == "Africa" {
            patch["TenantTags"] = json!(["Rollout/Canary"]);
        }
        emulator.seed_update(space, "tenants", tenant_id, patch);
    }
    let runbook = emulator
        .list(space, "runbooks")
        .into_iter()
        .find(|r| r["Name"] == RUNBOOK && r["ProjectId"] == templates.hello_world.as_str())
        .ok_or("the deploy runbook")?;
    let runbook_id = id(&runbook)?;
    emulator.seed_update(
        space,
        "runbooks",
        &runbook_id,
        json!({"MultiTenancyMode": "Tenanted"}),
    );
    emulator.seed_process(
        space,
        runbook["RunbookProcessId"].as_str().ok_or("the runbook's process")?,
        json!([{
            "Name": "Deploy Project", "PackageRequirement": "LetOctopusDecide", "Condition": "Success",
            "StartTrigger": "StartAfterPrevious", "Properties": {},
            "Actions": [{"Name": "Deploy Project", "ActionType": "Octopus.Script", "Properties": {
                "Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.ScriptSource": "Inline",
                "Octopus.Action.Script.Syntax": "Bash", "Octopus.Action.Script.ScriptBody": deploy_script()?}}]
        }]),
    );
    emulator.seed_published_snapshot(space, &runbook_id, "Snapshot 1");
    say!(
        log,
        "   published; the emulator's executor plays Octopus's workers (task cap 5)"
    );
    emulator.start_executor(ExecutorConfig {
        octofleet: octofleet.clone(),
        task_cap: 5,
        jobs: vec![RunbookJob {
            runbook: RUNBOOK.to_owned(),
            steps: vec![JobStep::octofleet("Deploy Project", &["deploy"])],
        }],
        variables: vec![("Management.Octopus.ApiKey".to_owned(), API_KEY.to_owned())],
    });

    say!(
        log,
        "\n== the template changes: a new version of Hello World in the feed"
    );
    let process_id = format!("deploymentprocess-{}", templates.hello_world);
    let mut steps = emulator
        .get(space, "deploymentprocesses", &process_id)
        .ok_or("the upstream process")?["Steps"]
        .clone();
    if let Some(body) =
        steps[0]["Actions"][0]["Properties"].get_mut("Octopus.Action.Script.ScriptBody")
    {
        *body = json!("echo \"Hello from #{Octopus.Environment.Name}, now with a health check\"");
    }
    emulator.seed_process(space, &process_id, steps);
    let (stdout, stderr, serialized) = serialize(octofleet, &url, "Hello World").await?;
    if !serialized {
        return Err(format!("serialize failed:\n{stderr}"));
    }
    let version = output_variables(&stdout)
        .into_iter()
        .find(|(name, _)| name == "PackageVersion")
        .map(|(_, v)| v)
        .ok_or("no PackageVersion")?;
    say!(log, "   Hello_World {version}");
    let africa = management.tenant_id("Africa").to_owned();
    emulator.seed_tenant_common_variable(
        space,
        &africa,
        &management.library_variable_set_id,
        "ManagedTenant.Octopus.ApiKey",
        ROTATED_KEY,
    );
    say!(log, "   (Africa's API key was rotated on its server, and its tenant variable still holds the old one)");

    let report_dir = reports.join("rollout");
    let env = |report_dir: &Path| -> Vec<(String, String)> {
        [
            ("OCTOPUS_WEB_SERVERURI", url.as_str()),
            ("OCTOPUS_SPACE_ID", space),
            ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
            ("OCTOPUS_PROJECT_NAME", "Hello World"),
            ("OCTOFLEET_ROLLOUT_RUNBOOK", RUNBOOK),
            ("OCTOFLEET_ROLLOUT_ENVIRONMENT", "Sync"),
            ("OCTOFLEET_ROLLOUT_WAVES", "Rollout/Canary"),
            ("OCTOFLEET_TIMEOUT", "5m"),
            ("OCTOFLEET_LOG_FORMAT", "text"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain([(
            "OCTOFLEET_REPORTDIR".to_owned(),
            report_dir.display().to_string(),
        )])
        .collect()
    };
    say!(log, "\n== roll Hello World {version} out: the canaries America and Africa (Rollout/Canary) first, then the rest; no failure allowed");
    let (_, stderr, code) = run_octofleet(octofleet, "rollout", &env(&report_dir)).await?;
    print_rollout(log, &stderr, code);
    if code != 1 {
        return Err(format!(
            "the rollout should have stopped at Africa's failure:\n{stderr}"
        ));
    }

    say!(
        log,
        "\n== Africa's tenant variable gets the new key; the rollout runs again and resumes"
    );
    emulator.seed_tenant_common_variable(
        space,
        &africa,
        &management.library_variable_set_id,
        "ManagedTenant.Octopus.ApiKey",
        API_KEY,
    );
    let (_, stderr, code) = run_octofleet(octofleet, "rollout", &env(&report_dir)).await?;
    print_rollout(log, &stderr, code);
    if code != 0 {
        return Err(format!("the resumed rollout failed:\n{stderr}"));
    }
    let page = report_dir.join("octofleet-fleet-Hello-World.html");
    if !page.is_file() {
        return Err(format!("no fleet report at {}", page.display()));
    }
    say!(log, "\n== fleet report: {}", page.display());
    Ok(page)
}
