//! What a project runs, carried with its definition (step templates, script modules): each
//! definition's fingerprint, the history of definitions earlier packages carried, and the
//! verdict deploy reaches for a downstream copy found by name: create it, leave it, update it,
//! or keep a tenant's edit.
//!
//! Octopus keeps no record of where a space's template or module came from, and octofleet keeps
//! no state, so the package remembers: each definition lists the fingerprints of the definitions
//! earlier packages of the project carried (serialize takes them from the previous package in
//! the feed). A downstream copy equal to one of them is one octofleet delivered and nobody edited
//! since: the package's newer definition replaces it. A copy equal to none was edited downstream
//! (or made there by hand): it is kept, and reported, unless overwrite is asked for.

use super::model::{PackageReference, PropertyValue, ScriptModule, StepTemplate, Template};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Fingerprints kept per definition, newest first: years of weekly packages of a template that
/// changes every week. An older delivered copy than that reads as a downstream edit (kept, and
/// reported; overwrite replaces it).
pub const MAX_EARLIER: usize = 200;

/// The languages a script module may be written in: the provider's `octopusdeploy_script_module`
/// validates `syntax` against these, case-insensitively
/// (`octopusdeploy_framework/schemas/script_modules.go`, `OneOfCaseInsensitive`). OctopusClients'
/// `ScriptSyntax` has all but `FSharp`, which Octopus no longer runs; a module in it is carried
/// as it is.
pub const SCRIPT_SYNTAXES: [&str; 5] = ["Bash", "CSharp", "FSharp", "PowerShell", "Python"];

/// The `version` of a community template that follows the instance's Library (a blueprint's):
/// whatever version the Library has is wanted.
pub const LIBRARY_LATEST: i64 = i64::MAX;

/// A definition a package carries and deploy reconciles by name.
pub trait Definition {
    /// What people call this kind ("step template").
    const KIND: &'static str;
    /// The name it is found by in every space.
    fn name(&self) -> &str;
    /// The definition as compared: what a person can edit, without the name, the version, the
    /// history or a secret's `secrets.json` key (a secret compares by being there).
    fn comparable(&self) -> Value;
    /// Fingerprints of the definitions earlier packages carried.
    fn earlier(&self) -> &[String];
    /// The same, to be set by serialize.
    fn earlier_mut(&mut self) -> &mut Vec<String>;
}

impl Definition for StepTemplate {
    const KIND: &'static str = "step template";

    fn name(&self) -> &str {
        &self.name
    }

    fn comparable(&self) -> Value {
        let properties: Map<String, Value> = self
            .properties
            .iter()
            .map(|(key, value)| (key.clone(), comparable_value(value)))
            .collect();
        json!({
            "description": text(self.description.as_deref()),
            "action_type": self.action_type,
            "step_package_id": text(self.step_package_id.as_deref()),
            "properties": properties,
            "parameters": self.parameters.iter().map(comparable_parameter).collect::<Vec<_>>(),
            "packages": self.packages.iter().map(comparable_package).collect::<Vec<_>>(),
            "git_dependencies": self.git_dependencies,
        })
    }

    fn earlier(&self) -> &[String] {
        &self.earlier_definitions
    }

    fn earlier_mut(&mut self) -> &mut Vec<String> {
        &mut self.earlier_definitions
    }
}

impl Definition for ScriptModule {
    const KIND: &'static str = "script module";

    fn name(&self) -> &str {
        &self.name
    }

    fn comparable(&self) -> Value {
        json!({
            "description": text(self.description.as_deref()),
            "syntax": self.syntax,
            "body": self.body,
        })
    }

    fn earlier(&self) -> &[String] {
        &self.earlier_definitions
    }

    fn earlier_mut(&mut self) -> &mut Vec<String> {
        &mut self.earlier_definitions
    }
}

/// Empty and absent texts are the same to the server (it stores `""` for either).
fn text(value: Option<&str>) -> Value {
    match value {
        Some(text) if !text.is_empty() => Value::String(text.to_owned()),
        _ => Value::Null,
    }
}

/// A secret compares by being one: its value is never read back, its key is the package's own.
fn comparable_value(value: &PropertyValue) -> Value {
    match value {
        PropertyValue::Sensitive(_) => json!({"sensitive": true}),
        other => serde_json::to_value(other).expect("property values serialize"),
    }
}

fn comparable_parameter(parameter: &Template) -> Value {
    json!({
        "name": parameter.name,
        "label": text(parameter.label.as_deref()),
        "help_text": text(parameter.help_text.as_deref()),
        "default_value": parameter.default_value.as_ref().map(comparable_value),
        "display_settings": parameter.display_settings,
    })
}

fn comparable_package(package: &PackageReference) -> Value {
    serde_json::to_value(package).expect("package references serialize")
}

/// `sha256:<hex>` of the definition's canonical JSON (object keys sorted).
pub fn fingerprint<D: Definition>(definition: &D) -> String {
    let text = canonical(&definition.comparable()).to_string();
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// The value with every object's keys sorted, so equal definitions print equal.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|key| (key.clone(), canonical(&map[key])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Serialize: each definition of `current` remembers what the previous package carried under its
/// name (that package's definition first, then its history), less its own definition, newest
/// first, at most [`MAX_EARLIER`].
pub fn carry_history<D: Definition>(current: &mut [D], previous: &[D]) {
    for definition in current {
        let Some(before) = previous
            .iter()
            .find(|p| p.name().to_lowercase() == definition.name().to_lowercase())
        else {
            continue;
        };
        let own = fingerprint(definition);
        let mut earlier: Vec<String> = Vec::new();
        for print in std::iter::once(fingerprint(before)).chain(before.earlier().iter().cloned()) {
            if print != own && !earlier.contains(&print) {
                earlier.push(print);
            }
        }
        earlier.truncate(MAX_EARLIER);
        *definition.earlier_mut() = earlier;
    }
}

/// What deploy does with a definition, given the downstream copy found by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The space has none: create it.
    Create,
    /// The copy is the package's definition.
    Unchanged,
    /// The copy is one an earlier package delivered (or overwrite was asked for): replace it.
    Update,
    /// The copy was edited downstream (it matches no definition octofleet delivered): keep it.
    KeepDownstream,
}

/// The verdict for `wanted` given the `downstream` copy (converted to the portable form with
/// the managed space's names) and whether overwrite was asked for.
pub fn verdict<D: Definition>(downstream: Option<&D>, wanted: &D, overwrite: bool) -> Verdict {
    match downstream {
        None => Verdict::Create,
        Some(copy) if copy.comparable() == wanted.comparable() => Verdict::Unchanged,
        Some(copy) if overwrite || wanted.earlier().contains(&fingerprint(copy)) => Verdict::Update,
        Some(_) => Verdict::KeepDownstream,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portable::SensitiveProperty;

    fn module(body: &str) -> ScriptModule {
        ScriptModule {
            name: "Deploy Helpers".into(),
            syntax: "Bash".into(),
            body: body.into(),
            ..ScriptModule::default()
        }
    }

    #[test]
    fn a_copy_an_earlier_package_delivered_is_updated_and_an_edited_one_kept() {
        let v1 = module("echo 1");
        let mut v2 = module("echo 2");
        carry_history(std::slice::from_mut(&mut v2), std::slice::from_ref(&v1));
        assert_eq!(v2.earlier_definitions, [fingerprint(&v1)]);
        let mut v3 = module("echo 3");
        carry_history(std::slice::from_mut(&mut v3), std::slice::from_ref(&v2));
        assert_eq!(v3.earlier_definitions, [fingerprint(&v2), fingerprint(&v1)]);

        assert_eq!(verdict(None, &v3, false), Verdict::Create);
        assert_eq!(
            verdict(Some(&module("echo 3")), &v3, false),
            Verdict::Unchanged
        );
        assert_eq!(verdict(Some(&v1), &v3, false), Verdict::Update);
        let edited = module("echo tenant");
        assert_eq!(verdict(Some(&edited), &v3, false), Verdict::KeepDownstream);
        assert_eq!(verdict(Some(&edited), &v3, true), Verdict::Update);
        // A revert upstream drops the reverted-to definition from the history.
        let mut back = module("echo 1");
        carry_history(std::slice::from_mut(&mut back), std::slice::from_ref(&v3));
        assert!(!back.earlier_definitions.contains(&fingerprint(&v1)));
        assert_eq!(back.earlier_definitions[0], fingerprint(&v3));
    }

    #[test]
    fn secrets_compare_by_being_there_and_keys_do_not_matter() {
        let template = |secret: Option<&str>| StepTemplate {
            name: "Notify".into(),
            action_type: "Octopus.Script".into(),
            version: 3,
            properties: [(
                "Token".to_owned(),
                PropertyValue::Sensitive(SensitiveProperty {
                    sensitive: true,
                    secret: secret.map(str::to_owned),
                }),
            )]
            .into(),
            ..StepTemplate::default()
        };
        let mut other_version = template(None);
        other_version.version = 9;
        assert_eq!(
            fingerprint(&template(Some("key_1"))),
            fingerprint(&other_version)
        );
        assert!(fingerprint(&template(None)).starts_with("sha256:"));
    }
}
