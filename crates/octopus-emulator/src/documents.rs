//! Small operations on stored raw JSON documents: server-owned fields, defaults, slugs, lookups by id.

use serde_json::{Map, Value};

use crate::reply::{ApiError, ApiResult};

/// Who the emulator says changed a document (the real server names the API key's user).
pub const MODIFIED_BY: &str = "admin";

/// `2024-08-21T16:17:46.750+00:00`, the server's timestamp format.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Octopus slugs: lower case, runs of anything outside `[a-z0-9]` become one `-`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

pub fn str_field<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

pub fn id_of(doc: &Value) -> &str {
    str_field(doc, "Id").unwrap_or("")
}

pub fn name_of(doc: &Value) -> &str {
    str_field(doc, "Name").unwrap_or("")
}

/// IDs match case-insensitively on the real server (`projects-1` finds `Projects-1`).
pub fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub fn position_by_id(docs: &[Value], id: &str) -> Option<usize> {
    docs.iter().position(|d| same_id(id_of(d), id))
}

pub fn find_by_id<'a>(docs: &'a [Value], id: &str) -> Option<&'a Value> {
    docs.iter().find(|d| same_id(id_of(d), id))
}

/// The body of a create or update must be a JSON object.
pub fn into_object(body: Value) -> ApiResult<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        )),
    }
}

/// A field counts as missing when absent, null or an empty string, as ASP.NET's `[Required]` does.
pub fn is_missing(doc: &Map<String, Value>, field: &str) -> bool {
    match doc.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

pub fn require(doc: &Map<String, Value>, fields: &[&str]) -> ApiResult<()> {
    match fields.iter().find(|f| is_missing(doc, f)) {
        Some(field) => Err(ApiError::required(field)),
        None => Ok(()),
    }
}

/// Fill every field of `defaults` the document lacks (null counts as sent, as on the real server).
pub fn fill_defaults(doc: &mut Map<String, Value>, defaults: &Value) {
    if let Value::Object(defaults) = defaults {
        for (key, value) in defaults {
            if !doc.contains_key(key) {
                doc.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Rebuild a document with the server-owned fields set: `Id` and `SpaceId` first, the client's
/// fields next. `Links` and `LastModified*` are dropped: `Links` is computed when rendering,
/// [`stamp_modified`] adds the rest once the document is complete.
pub fn with_envelope(
    doc: Map<String, Value>,
    id: &str,
    space_id: Option<&str>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("Id".into(), Value::String(id.to_string()));
    if let Some(space_id) = space_id {
        out.insert("SpaceId".into(), Value::String(space_id.to_string()));
    }
    for (key, value) in doc {
        if !matches!(
            key.as_str(),
            "Id" | "SpaceId" | "Links" | "LastModifiedOn" | "LastModifiedBy"
        ) {
            out.insert(key, value);
        }
    }
    out
}

/// Set `LastModifiedOn/By` as the last fields before `Links`, where the real server writes them.
pub fn stamp_modified(doc: &mut Map<String, Value>) {
    doc.remove("LastModifiedOn");
    doc.remove("LastModifiedBy");
    doc.insert("LastModifiedOn".into(), Value::String(now()));
    doc.insert("LastModifiedBy".into(), Value::String(MODIFIED_BY.into()));
}

/// Bump `LastModifiedOn` on a document changed as a side effect.
pub fn touch(doc: &mut Value) {
    if let Value::Object(map) = doc {
        stamp_modified(map);
    }
}

/// Put `Links` last, where the real server writes it.
pub fn with_links(mut doc: Value, links: Map<String, Value>) -> Value {
    if let Value::Object(map) = &mut doc {
        map.remove("Links");
        map.insert("Links".into(), Value::Object(links));
    }
    doc
}

pub fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Give every object in `doc[key]` (an array) a GUID `Id` when it has none.
pub fn assign_guid_ids(doc: &mut Value, key: &str) {
    if let Some(items) = doc.get_mut(key).and_then(Value::as_array_mut) {
        for item in items {
            if let Value::Object(item) = item {
                if is_missing(item, "Id") {
                    item.insert("Id".into(), Value::String(guid()));
                }
            }
        }
    }
}

/// `a` or `an` before a noun, for the "A feed / An environment with this name" messages.
pub fn article(noun: &str) -> &'static str {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "An",
        _ => "A",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_collapse_separators() {
        assert_eq!(slugify("Sample Project"), "sample-project");
        assert_eq!(slugify("  Ops / Team__A!"), "ops-team-a");
    }
}
