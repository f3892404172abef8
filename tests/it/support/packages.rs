//! Template packages in the management space's built-in feed.

use super::harness::{octofleet, Fleet, Run, API_KEY};
use std::collections::BTreeMap;
use std::io::Read;

/// The files of a zip, by entry name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|index| {
            let mut entry = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().to_owned(), content)
        })
        .collect()
}

pub async fn download(fleet: &Fleet, id: &str, version: &str) -> Vec<u8> {
    let url = format!(
        "{}/api/Spaces-1/packages/packages-{id}.{version}/raw",
        fleet.emulator.url()
    );
    let response = reqwest::Client::new()
        .get(url)
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await.unwrap().to_vec()
}

/// `project` serialized from `space` (no push, version 1.0.0, plus `extra_args`): the package's
/// bytes, or the run when it failed.
pub async fn serialize_package(
    fleet: &Fleet,
    space: &str,
    project: &str,
    extra_args: &[&str],
) -> Result<Vec<u8>, Run> {
    match serialize_run(fleet, space, project, extra_args).await {
        (run, Some(package)) if run.code == 0 => Ok(package),
        (run, _) => Err(run),
    }
}

/// As [`serialize_package`], with the run (its log) beside the package it wrote.
pub async fn serialize_run(
    fleet: &Fleet,
    space: &str,
    project: &str,
    extra_args: &[&str],
) -> (Run, Option<Vec<u8>>) {
    let out = tempfile::tempdir().unwrap();
    let url = fleet.emulator.url();
    let env = [
        ("OCTOPUS_WEB_SERVERURI", url.as_str()),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_SPACE_ID", space),
        ("OCTOPUS_PROJECT_NAME", project),
    ];
    let mut args = vec![
        "serialize",
        "--no-push",
        "--package-version",
        "1.0.0",
        "--output-dir",
        out.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra_args);
    let run = octofleet(&args, &env).await;
    if run.code != 0 {
        return (run, None);
    }
    let zip = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let package = std::fs::read(zip).unwrap();
    (run, Some(package))
}

/// A package's files written into a new directory, as Octopus extracts it for a step.
pub fn extract(package: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in unzip(package) {
        let path = dir.path().join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// `action` (deploy, plan) of the package extracted in `dir`, for the space named after `tenant`
/// on the fleet's emulator, without a report, with `extra` arguments.
pub async fn run_on_package(
    fleet: &Fleet,
    action: &str,
    tenant: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> Run {
    let url = fleet.emulator.url();
    let env = [
        ("MANAGEDTENANT_OCTOPUS_URL", url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant),
    ];
    let mut args = vec![
        action,
        "--package-dir",
        dir.to_str().unwrap(),
        "--no-report",
    ];
    args.extend_from_slice(extra);
    octofleet(&args, &env).await
}

/// Every `secrets.json` entry of an extracted package set to `value`, as Octopus's file
/// substitution leaves it in the `Sync` environment.
pub fn substitute_every_secret(dir: &std::path::Path, value: &str) {
    let path = dir.join("secrets.json");
    let secrets: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let substituted: serde_json::Map<String, serde_json::Value> = secrets
        .into_iter()
        .map(|(key, _)| (key, serde_json::Value::String(value.to_owned())))
        .collect();
    std::fs::write(&path, serde_json::to_string(&substituted).unwrap()).unwrap();
}
