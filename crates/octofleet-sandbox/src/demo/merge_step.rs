//! After the forks: upstream changes the process, each tenant edits its own copy, and
//! `octofleet merge` brings the change in. Europe edited another step (a clean three-way merge);
//! America edited the same line (a conflict: a pull request for a person, exit 3).

use super::{print_run, run_octofleet, Log, GIT_ORGANIZATION};
use forge_emulator::ForgeEmulator;
use std::path::PathBuf;

const PROCESS: &str = ".octopus/hello_world_cac/deployment_process.ocl";
const INSTRUCTIONS: &str = "Approve the deployment to Production.";

/// `fork_envs`: each tenant with the environment its fork step ran with (merge reads the same).
pub async fn merge_upstream_changes(
    log: &Log,
    octofleet: &PathBuf,
    forge: &ForgeEmulator,
    fork_envs: &[(&str, Vec<(String, String)>)],
) -> Result<(), String> {
    say!(
        log,
        "\n== upstream changes the approval instructions; the tenants edited their forks"
    );
    let upstream = forge
        .file_at(GIT_ORGANIZATION, "hello_world_cac", "main", PROCESS)
        .ok_or("the upstream process")?;
    let change = |text: &str| upstream.replace(INSTRUCTIONS, text) + "\n";
    forge.commit_files(
        GIT_ORGANIZATION,
        "hello_world_cac",
        "main",
        "Platform team: approval checklist",
        &[(
            PROCESS,
            Some(&change("Approve Production: run the checklist first.")),
        )],
    );
    for (tenant, env) in fork_envs {
        let fork = env
            .iter()
            .find(|(name, _)| name == "OCTOPUS_DEPLOYMENT_TENANT_NAME")
            .map(|(_, value)| octofleet::forge::repository_name(value))
            .ok_or("the tenant's name")?
            + "_hello_world_cac";
        let edited = match *tenant {
            // Another line than upstream's: merges cleanly.
            "Europe" => {
                upstream.replace("Hello from the CaC project", "Hallo from the CaC project")
            }
            // The line upstream changed too: a conflict.
            _ => upstream.replace(INSTRUCTIONS, &format!("{tenant}: two approvers.")),
        } + "\n";
        forge.commit_files(
            GIT_ORGANIZATION,
            &fork,
            "main",
            &format!("{tenant}: local edit"),
            &[(PROCESS, Some(&edited))],
        );
        say!(
            log,
            "\n== merge upstream into {tenant}'s fork {GIT_ORGANIZATION}/{fork}"
        );
        let (stdout, stderr, code) = run_octofleet(octofleet, "merge", env).await?;
        print_run(log, &stdout, &stderr);
        match code {
            0 => say!(log, "   merged (exit 0)"),
            3 => say!(
                log,
                "   conflicts: a person resolves the pull request (exit 3)"
            ),
            _ => return Err(format!("merge failed for {tenant} (exit {code})")),
        }
    }
    Ok(())
}
