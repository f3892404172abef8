//! What the step template and script module tests share: a template project's package
//! serialized and pushed to the management space's feed, as the platform team's runbook does
//! (so the next package knows the definitions this one carried), then extracted with its
//! secrets substituted; and deploy or plan runs of it into a tenant's space.

use super::calamari::{octostache, octostache_names};
use super::harness::{octofleet, Fleet, Run, API_KEY};
use super::packages::{download, extract};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Serialize `project` from the management space and push it as `version`; the package as Octopus
/// extracts it for the deploy step, each `secrets.json` placeholder substituted with `secret`.
pub async fn serialize_and_push(
    fleet: &Fleet,
    project: &str,
    version: &str,
    secret: &str,
) -> tempfile::TempDir {
    let url = fleet.emulator.url();
    let env = [
        ("OCTOPUS_WEB_SERVERURI", url.as_str()),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_SPACE_ID", "Spaces-1"),
        ("OCTOPUS_PROJECT_NAME", project),
    ];
    let run = octofleet(&["serialize", "--package-version", version], &env).await;
    assert_eq!(run.code, 0, "serialize: {}", run.stderr);
    let package_id = run.output_variable("PackageId").expect("PackageId");
    let dir = extract(&download(fleet, &package_id, version).await);
    let path = dir.path().join("secrets.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let values: BTreeMap<&str, String> = octostache_names(&text)
        .into_iter()
        .map(|name| (name, secret.to_owned()))
        .collect();
    std::fs::write(&path, octostache(&text, &values)).unwrap();
    dir
}

/// `deploy` or `plan` of the extracted package `dir` into `tenant`'s space.
pub async fn deploy_run(
    fleet: &Fleet,
    action: &str,
    dir: &Path,
    tenant: &str,
    args: &[&str],
) -> Run {
    let url = fleet.emulator.url();
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant),
    ];
    let mut all = vec![action, "--package-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    octofleet(&all, &env).await
}

/// The id of the space named `name`.
pub fn space_id(fleet: &Fleet, name: &str) -> String {
    fleet.space_named(name).expect("the space")["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An extracted package's `project.json`.
pub fn project_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("project.json")).unwrap()).unwrap()
}

/// Write `project` back as the package's `project.json`.
pub fn write_project_json(dir: &Path, project: &Value) {
    std::fs::write(
        dir.join("project.json"),
        serde_json::to_string(project).unwrap(),
    )
    .unwrap();
}

/// The drift lines a plan printed (`+ create`, `~ update`, `- remove`, `keep`), trimmed.
pub fn drift_lines(plan: &Run) -> Vec<String> {
    plan.stderr
        .lines()
        .map(|line| line.trim().trim_start_matches("INFO").trim())
        .filter(|line| {
            ["+ create ", "~ update ", "- remove ", "keep "]
                .iter()
                .any(|prefix| line.starts_with(prefix))
        })
        .map(str::to_owned)
        .collect()
}
