//! Every real Octopus response in tests/fixtures/octopus-payloads decodes with our models, and
//! re-encoding keeps every field (what a read-modify-write sends back).

use octofleet::octopus::error::ErrorBody;
use octofleet::octopus::paging::Page;
use octofleet::octopus::resources::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/octopus-payloads");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "fixtures missing from {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (name, json)
        })
        .collect()
}

/// Every non-null value of `original` is in `encoded`, recursively (null and absent mean the same
/// to Octopus; our models may add defaults but must not lose or change data).
fn assert_kept(name: &str, path: &str, original: &Value, encoded: &Value) {
    match (original, encoded) {
        (Value::Object(original), Value::Object(encoded)) => {
            for (key, value) in original.iter().filter(|(_, value)| !value.is_null()) {
                let inner = format!("{path}.{key}");
                let Some(kept) = encoded.get(key) else {
                    panic!("{name}: `{inner}` was dropped on re-encoding");
                };
                assert_kept(name, &inner, value, kept);
            }
        }
        (Value::Array(original), Value::Array(encoded)) => {
            assert_eq!(
                original.len(),
                encoded.len(),
                "{name}: `{path}` changed length"
            );
            for (index, (value, kept)) in original.iter().zip(encoded).enumerate() {
                assert_kept(name, &format!("{path}[{index}]"), value, kept);
            }
        }
        (original, encoded) => assert_eq!(original, encoded, "{name}: `{path}` changed"),
    }
}

/// Decode as `T` (naming the JSON path on failure) and check that nothing of the original is
/// lost after encoding again.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str, json: &Value) {
    let text = json.to_string();
    let deserializer = &mut serde_json::Deserializer::from_str(&text);
    let decoded: T = serde_path_to_error::deserialize(deserializer)
        .unwrap_or_else(|error| panic!("{name}: at `{}`: {}", error.path(), error.inner()));
    let encoded = serde_json::to_value(&decoded).unwrap();
    assert_kept(name, "", json, &encoded);
}

fn round_trip_items<T: DeserializeOwned + Serialize>(name: &str, items: &Value) {
    for item in items.as_array().unwrap() {
        round_trip::<T>(name, item);
    }
}

#[test]
fn every_payload_decodes_and_keeps_its_fields() {
    let mut checked = 0;
    for (name, json) in fixtures() {
        let kind = name.split("__").next().unwrap();
        match kind {
            "space" => round_trip::<Space>(&name, &json),
            "spaces-all" => round_trip_items::<Space>(&name, &json),
            "environment" => round_trip::<Environment>(&name, &json),
            "lifecycle" | "lifecycle-default-nophases" => round_trip::<Lifecycle>(&name, &json),
            "projectgroup" => round_trip::<ProjectGroup>(&name, &json),
            "projectgroups-all" => round_trip_items::<ProjectGroup>(&name, &json),
            "feed-builtin" => round_trip::<Feed>(&name, &json),
            "libraryvariableset" => round_trip::<LibraryVariableSet>(&name, &json),
            "tenant" => round_trip::<Tenant>(&name, &json),
            "tenant-variables-legacy" => round_trip::<LegacyTenantVariables>(&name, &json),
            kind if kind.starts_with("variableset") => round_trip::<VariableSet>(&name, &json),
            "project-database" => round_trip::<Project>(&name, &json),
            kind if kind.starts_with("deploymentprocess") => {
                round_trip::<DeploymentProcess>(&name, &json)
            }
            "channel" => round_trip::<Channel>(&name, &json),
            "paged-collection-environments" => {
                let page: Page<Environment> = serde_json::from_value(json.clone()).unwrap();
                assert_eq!(page.items.len(), json["Items"].as_array().unwrap().len());
                round_trip_items::<Environment>(&name, &json["Items"]);
            }
            "paged-collection-projectgroups" => {
                serde_json::from_value::<Page<ProjectGroup>>(json.clone()).unwrap();
                round_trip_items::<ProjectGroup>(&name, &json["Items"]);
            }
            "paged-collection-spaces" => {
                serde_json::from_value::<Page<Space>>(json.clone()).unwrap();
                round_trip_items::<Space>(&name, &json["Items"]);
            }
            "paged-collection-machine-tasks" => {
                let page: Page<Value> = serde_json::from_value(json.clone()).unwrap();
                assert!(!page.items.is_empty());
            }
            "error-500" => {
                let body: ErrorBody = serde_json::from_value(json.clone()).unwrap();
                assert!(body.message.is_some(), "{name}");
            }
            // Root documents: clients only follow their links.
            _ => {
                assert!(
                    json.get("Links").is_some() || json.get("Id").is_some(),
                    "{name}: unexpected shape"
                );
                checked -= 1;
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 20,
        "only {checked} payloads were checked against a model"
    );
}

#[test]
fn legacy_tenant_variables_keep_sensitive_values_hidden_in_debug() {
    let json = serde_json::json!({
        "TenantId": "Tenants-1",
        "LibraryVariables": {"LibraryVariableSets-1": {
            "LibraryVariableSetId": "LibraryVariableSets-1",
            "Templates": [],
            "Variables": {"t1": {"HasValue": true, "NewValue": "s3cret-value"}}
        }}
    });
    let decoded: LegacyTenantVariables = serde_json::from_value(json).unwrap();
    assert!(!format!("{decoded:?}").contains("s3cret-value"));
}
