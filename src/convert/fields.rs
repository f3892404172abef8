//! Field rules shared by every conversion: absent text is empty text (`set_text`), unknown
//! fields are carried (`carried`) and merged back (`merge`), never over a modelled one.
//! A package's `extra` fields (settings a newer server added, carried through unchanged) may add
//! to a resource, never override what octofleet models or the identity of what it writes to.

use crate::octopus::resources::{Channel, Extra, ProcessAction, ProcessStep, Project, Runbook};
use crate::portable::{ExtraFields, PortableProject};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Keys that name or place a resource; some models skip them when unset, so they are listed.
const IDENTITY_KEYS: &[&str] = &[
    "Id",
    "SpaceId",
    "ProjectId",
    "OwnerId",
    "Links",
    "Version",
    "Slug",
    "DeploymentProcessId",
    "RunbookProcessId",
    "VariableSetId",
];

/// The least JSON each model reads from (every other field tolerates absence).
fn blank_of<T>() -> serde_json::Value {
    if std::any::type_name::<T>() == std::any::type_name::<ProcessAction>() {
        serde_json::json!({"Name": "", "ActionType": ""})
    } else {
        serde_json::json!({"Name": ""})
    }
}

/// Every key the API model `T` writes itself: the fields of a blank `T` plus the identity keys.
pub fn modelled_keys<T: DeserializeOwned + Serialize>() -> BTreeSet<String> {
    let blank: T = serde_json::from_value(blank_of::<T>())
        .expect("every model reads from its name (and an action from its type)");
    let mut keys: BTreeSet<String> = match serde_json::to_value(blank) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    };
    keys.extend(IDENTITY_KEYS.iter().map(|key| key.to_string()));
    keys
}

/// An `extra` key in the package that would override a modelled field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overriding {
    /// JSON path of the extra map, e.g. `runbooks[0].extra`.
    pub at: String,
    pub key: String,
}

/// Every extra key in the package that a modelled field owns (checked before anything is sent).
pub fn overriding_fields(package: &PortableProject) -> Vec<Overriding> {
    let mut found = Vec::new();
    let mut check = |at: String, extra: &ExtraFields, modelled: &BTreeSet<String>| {
        for key in extra.keys() {
            if modelled.contains(key) || IDENTITY_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                found.push(Overriding {
                    at: at.clone(),
                    key: key.clone(),
                });
            }
        }
    };
    let (project, channel, runbook, step, action) = (
        modelled_keys::<Project>(),
        modelled_keys::<Channel>(),
        modelled_keys::<Runbook>(),
        modelled_keys::<ProcessStep>(),
        modelled_keys::<ProcessAction>(),
    );
    check("project.extra".into(), &package.project.extra, &project);
    for (i, c) in package.channels.iter().enumerate() {
        check(format!("channels[{i}].extra"), &c.extra, &channel);
    }
    let processes = package
        .deployment_process
        .iter()
        .map(|p| ("deployment_process".to_owned(), p))
        .chain(package.runbooks.iter().enumerate().map(|(i, r)| {
            check(format!("runbooks[{i}].extra"), &r.extra, &runbook);
            (format!("runbooks[{i}].process"), &r.process)
        }))
        .collect::<Vec<_>>();
    for (at, process) in processes {
        for (s, st) in process.steps.iter().enumerate() {
            check(format!("{at}.steps[{s}].extra"), &st.extra, &step);
            for (a, ac) in st.actions.iter().enumerate() {
                check(
                    format!("{at}.steps[{s}].actions[{a}].extra"),
                    &ac.extra,
                    &action,
                );
            }
        }
    }
    found
}

/// Copy the package's extra fields into a resource's `extra`, skipping any that `T` models
/// (defence in depth: [`overriding_fields`] has refused such a package already).
pub fn merge<T: DeserializeOwned + Serialize>(target: &mut Extra, extra: &ExtraFields) {
    let modelled = modelled_keys::<T>();
    for (key, value) in extra {
        if !modelled.contains(key) {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// Set a text field; absent upstream and empty downstream are the same thing.
pub fn set_text(target: &mut Option<String>, value: &Option<String>) {
    let current_empty = target.as_deref().unwrap_or("").is_empty();
    match value {
        None if current_empty => {}
        None => *target = Some(String::new()),
        Some(value) => *target = Some(value.clone()),
    }
}

/// Unknown fields, minus server-owned ones and nulls.
pub fn carried(
    extra: &crate::octopus::resources::Extra,
    server_owned: &[&str],
) -> BTreeMap<String, serde_json::Value> {
    extra
        .iter()
        .filter(|(key, value)| !server_owned.contains(&key.as_str()) && !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_reads_from_a_name_alone_and_names_its_fields() {
        let project = modelled_keys::<Project>();
        for key in ["Name", "Id", "SpaceId", "ProjectGroupId", "LifecycleId"] {
            assert!(project.contains(key), "{key}: {project:?}");
        }
        assert!(modelled_keys::<Runbook>().contains("ProjectId"));
        assert!(modelled_keys::<Channel>().contains("LifecycleId"));
        assert!(modelled_keys::<ProcessStep>().contains("Actions"));
        assert!(modelled_keys::<ProcessAction>().contains("ActionType"));
        assert!(
            !project.contains("ProjectTags"),
            "an unmodelled field may pass"
        );
    }

    #[test]
    fn merge_never_overrides_a_modelled_field() {
        let mut target = Extra::new();
        let extra: ExtraFields = [
            ("Name".to_owned(), serde_json::json!("Renamed")),
            ("NewSetting".to_owned(), serde_json::json!(true)),
        ]
        .into();
        merge::<Project>(&mut target, &extra);
        assert_eq!(target.len(), 1);
        assert_eq!(target["NewSetting"], serde_json::json!(true));
    }
}
