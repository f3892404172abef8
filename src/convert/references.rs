//! References to shared resources, both directions: an id of the template's space becomes a
//! [`ResourceReference`] (serialize), a reference becomes the managed space's id (deploy); and
//! the ids a conversion could not name, each with the field that holds it.

use crate::octopus::space_index::{Names, SpaceIndex};
use crate::portable::references::{ids_left, is_reference_value, space_id, IdLeft};
use crate::portable::{
    self, JsonWithReferences, PortableProject, ReferenceKind, ResourceReference,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The property that mirrors the primary package's feed; its value is a feed id even where it
/// does not look like one (`feeds-builtin`).
pub const PRIMARY_FEED_PROPERTY: &str = "Octopus.Action.Package.FeedId";

/// A git dependency's credential, by id on the server and by name in a package.
const GIT_CREDENTIAL_ID: &str = "GitCredentialId";
const GIT_CREDENTIAL_NAME: &str = "GitCredentialName";

/// Name ↔ id of one kind in `index`.
pub fn names_of(index: &SpaceIndex, kind: ReferenceKind) -> &Names {
    match kind {
        ReferenceKind::Account => &index.accounts,
        ReferenceKind::Certificate => &index.certificates,
        ReferenceKind::WorkerPool => &index.worker_pools,
        ReferenceKind::Feed => &index.feeds,
        ReferenceKind::GitCredential => &index.git_credentials,
        ReferenceKind::Environment => &index.environments,
    }
}

/// The reference to the resource whose id is `id`, when `index` knows it.
pub fn reference_to(
    index: &SpaceIndex,
    kind: ReferenceKind,
    id: &str,
) -> Option<ResourceReference> {
    names_of(index, kind)
        .known_name(id)
        .map(|name| ResourceReference {
            kind,
            name: name.to_owned(),
        })
}

/// The id `reference` has in `index`.
pub fn id_of(index: &SpaceIndex, reference: &ResourceReference) -> Option<String> {
    names_of(index, reference.kind).id(&reference.name).cloned()
}

/// A text property as the package carries it: a whole id of a kind octofleet carries (or any
/// value of the primary package's feed property) becomes a reference when the space knows it;
/// anything else stays text (an id left there is refused by [`ids_left_named`]).
pub fn portable_text_property(
    index: &SpaceIndex,
    key: &str,
    text: &str,
) -> portable::PropertyValue {
    let kind = if key == PRIMARY_FEED_PROPERTY {
        is_reference_value(text).then_some(ReferenceKind::Feed)
    } else {
        space_id(text).and_then(|(prefix, _)| ReferenceKind::of_id_prefix(prefix))
    };
    match kind.and_then(|kind| reference_to(index, kind, text.trim())) {
        Some(reference) => portable::PropertyValue::Reference(reference),
        None => match portable_json(index, text) {
            Some(json) => portable::PropertyValue::Json(json),
            None => portable::PropertyValue::Text(text.to_owned()),
        },
    }
}

/// A JSON object or array whose strings include ids of kinds octofleet carries (a package
/// parameter's `{"PackageId":"acme","FeedId":"Feeds-5"}`), with each id `index` knows replaced
/// by its name, as octoterra's `replaceFeedIds` does for feeds; `None` for anything else. An id
/// the space does not know stays, and serialize refuses it ([`ids_left_named`]).
pub fn portable_json(index: &SpaceIndex, text: &str) -> Option<JsonWithReferences> {
    if !text.trim_start().starts_with(['{', '[']) {
        return None;
    }
    let mut json: Value = serde_json::from_str(text).ok()?;
    let mut references = BTreeMap::new();
    name_ids(index, &mut json, String::new(), &mut references);
    (!references.is_empty()).then(|| JsonWithReferences {
        json: json.to_string(),
        references,
    })
}

fn name_ids(
    index: &SpaceIndex,
    value: &mut Value,
    pointer: String,
    references: &mut BTreeMap<String, ReferenceKind>,
) {
    match value {
        Value::String(text) => {
            let reference = space_id(text)
                .and_then(|(prefix, _)| ReferenceKind::of_id_prefix(prefix))
                .and_then(|kind| reference_to(index, kind, text.trim()));
            if let Some(reference) = reference {
                *text = reference.name;
                references.insert(pointer, reference.kind);
            }
        }
        Value::Array(items) => {
            for (at, item) in items.iter_mut().enumerate() {
                name_ids(index, item, format!("{pointer}/{at}"), references);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                name_ids(index, item, format!("{pointer}/{escaped}"), references);
            }
        }
        _ => {}
    }
}

/// A JSON value downstream: its text with each named resource's id in `index`; `None` when one
/// is missing (deploy has refused that before writing, `apply::resolve`).
pub fn desired_json(index: &SpaceIndex, value: &JsonWithReferences) -> Option<String> {
    let mut json: Value = serde_json::from_str(&value.json).ok()?;
    for (pointer, kind) in &value.references {
        let slot = json.pointer_mut(pointer)?;
        let name = slot.as_str()?.to_owned();
        let id = id_of(index, &ResourceReference { kind: *kind, name })?;
        *slot = Value::String(id);
    }
    Some(json.to_string())
}

/// A reference-typed value (a typed variable's, a template default's): the name of the resource
/// `id` names, or the value as it is (empty, an expression, or an unknown id, refused later).
pub fn portable_reference_value(index: &SpaceIndex, kind: ReferenceKind, value: &str) -> String {
    if !is_reference_value(value) {
        return value.to_owned();
    }
    names_of(index, kind)
        .known_name(value.trim())
        .map_or_else(|| value.to_owned(), str::to_owned)
}

/// A reference-typed value downstream: the id of the resource it names (deploy has refused a
/// missing one before writing), or the value as it is (empty, an expression).
pub fn desired_reference_value(index: &SpaceIndex, kind: ReferenceKind, value: &str) -> String {
    if !is_reference_value(value) {
        return value.to_owned();
    }
    names_of(index, kind)
        .id(value)
        .cloned()
        .unwrap_or_else(|| value.to_owned())
}

/// A git dependency as the package carries it: its credential by name.
pub fn portable_git_dependency(index: &SpaceIndex, dependency: &Value) -> Value {
    let mut dependency = dependency.clone();
    if let Some(map) = dependency.as_object_mut() {
        let name = map
            .get(GIT_CREDENTIAL_ID)
            .and_then(Value::as_str)
            .and_then(|id| index.git_credentials.known_name(id))
            .map(str::to_owned);
        if let Some(name) = name {
            map.remove(GIT_CREDENTIAL_ID);
            map.insert(GIT_CREDENTIAL_NAME.to_owned(), Value::String(name));
        }
    }
    dependency
}

/// A git dependency downstream: its credential by the managed space's id.
pub fn desired_git_dependency(index: &SpaceIndex, dependency: &Value) -> Value {
    let mut dependency = dependency.clone();
    if let Some(map) = dependency.as_object_mut() {
        if let Some(Value::String(name)) = map.remove(GIT_CREDENTIAL_NAME) {
            let id = index.git_credentials.id(&name).cloned().unwrap_or(name);
            map.insert(GIT_CREDENTIAL_ID.to_owned(), Value::String(id));
        }
    }
    dependency
}

/// The name of the git credential a package's git dependency uses, if any.
pub fn git_dependency_credential(dependency: &Value) -> Option<&str> {
    dependency.get(GIT_CREDENTIAL_NAME).and_then(Value::as_str)
}

/// An id the conversion left in a project, with the name the template's space gives it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedIdLeft {
    /// The field and the id.
    pub left: IdLeft,
    /// The resource's name in the template's space, when it has one there.
    pub name: Option<String>,
}

impl std::fmt::Display for NamedIdLeft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let left = &self.left;
        match &self.name {
            Some(name) => write!(
                f,
                "{} holds `{}`, the {} `{name}` by id, as text: text is copied as it is, and that id names \
                 another {}, or none, in a managed space. Refer to it where octofleet names it (a variable of \
                 the {} type, the step's own setting), or through a variable",
                left.at, left.id, left.noun, left.noun, left.noun
            ),
            None => write!(f, "{} holds `{}`: {}", left.at, left.id, left.advice()),
        }
    }
}

/// Every id left in `project` after conversion, named through the template's space `index`.
pub fn ids_left_named(project: &PortableProject, index: &SpaceIndex) -> Vec<NamedIdLeft> {
    ids_left(project)
        .into_iter()
        .map(|left| {
            let name = space_id(&left.id)
                .and_then(|(prefix, _)| ReferenceKind::of_id_prefix(prefix))
                .and_then(|kind| names_of(index, kind).known_name(&left.id))
                .map(str::to_owned);
            NamedIdLeft { left, name }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::octopus::space_index::Names;
    use crate::portable::references::json_references;

    fn index() -> SpaceIndex {
        let mut index = SpaceIndex {
            accounts: Names::of([(Some("Accounts-12"), "Azure Production")]),
            git_credentials: Names::of([(Some("GitCredentials-2"), "GitHub")]),
            ..SpaceIndex::default()
        };
        index.add_built_in_feed();
        index
    }

    #[test]
    fn ids_become_references_and_back() {
        let mut index = index();
        let reference =
            portable_text_property(&index, "Octopus.Action.Azure.AccountId", "Accounts-12");
        let expected = ResourceReference {
            kind: ReferenceKind::Account,
            name: "Azure Production".into(),
        };
        assert_eq!(
            reference,
            portable::PropertyValue::Reference(expected.clone())
        );
        assert_eq!(id_of(&index, &expected).as_deref(), Some("Accounts-12"));
        // The built-in feed's id does not look like an id, but the feed property names a feed.
        assert!(matches!(
            portable_text_property(&index, PRIMARY_FEED_PROPERTY, "feeds-builtin"),
            portable::PropertyValue::Reference(ResourceReference {
                kind: ReferenceKind::Feed,
                ..
            })
        ));
        // Unknown ids and plain text stay text.
        for text in ["Accounts-99", "Production", "#{Azure.Account}"] {
            assert_eq!(
                portable_text_property(&index, "Some.Property", text),
                portable::PropertyValue::Text(text.into())
            );
        }
        // A package parameter's JSON names its feed; the feed's id comes back downstream.
        index.feeds.insert("Feeds-5", "Docker Hub");
        let text = r#"{"PackageId":"acme","FeedId":"Feeds-5"}"#;
        let portable::PropertyValue::Json(json) =
            portable_text_property(&index, "Notify.Package", text)
        else {
            panic!("a JSON value with an id");
        };
        assert_eq!(json.json, r#"{"PackageId":"acme","FeedId":"Docker Hub"}"#);
        assert_eq!(
            json_references(&json),
            [(
                "/FeedId",
                ResourceReference {
                    kind: ReferenceKind::Feed,
                    name: "Docker Hub".into()
                }
            )]
        );
        assert_eq!(desired_json(&index, &json).as_deref(), Some(text));
        // Without the feed downstream there is nothing to write.
        assert_eq!(desired_json(&SpaceIndex::default(), &json), None);
        // JSON naming no known id stays text (an unknown id is refused later).
        for text in [
            r#"{"PackageId":"acme","FeedId":"feeds-builtin"}"#,
            r#"{"FeedId":"Feeds-99"}"#,
        ] {
            assert_eq!(
                portable_text_property(&index, "P", text),
                portable::PropertyValue::Text(text.into())
            );
        }
        let dependency = serde_json::json!({"Name": "", "GitCredentialType": "Library", "GitCredentialId": "GitCredentials-2"});
        let carried = portable_git_dependency(&index, &dependency);
        assert_eq!(git_dependency_credential(&carried), Some("GitHub"));
        assert_eq!(desired_git_dependency(&index, &carried), dependency);
    }
}
