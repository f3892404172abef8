//! Sensitive-value rules: how secrets are written, kept, cleared, stored out of sight and never read back.
//!
//! A secret is stored inside its document under [`SECRET_KEY`], so copies of a document (e.g. a
//! process copied into a Config-as-Code branch) carry it along; [`redact`] removes it from every
//! response.

use serde_json::{json, Map, Value};

use crate::documents::{id_of, is_missing, str_field};

/// Where a stored document keeps a secret. Never sent to clients.
pub const SECRET_KEY: &str = "__emulatorSecret";

/// `{HasValue, NewValue}` objects (feed passwords, git credential passwords, sensitive action
/// properties, template defaults): an object made only of those keys.
pub fn is_sensitive_value(value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    (map.contains_key("HasValue") || map.contains_key("NewValue"))
        && map
            .keys()
            .all(|k| matches!(k.as_str(), "HasValue" | "NewValue" | "Hint" | SECRET_KEY))
}

pub fn secret_of(value: &Value) -> Option<&str> {
    value.get(SECRET_KEY).and_then(Value::as_str)
}

/// The stored form of a SensitiveValue: `{HasValue, NewValue:null}` plus the hidden secret.
pub fn stored_sensitive(secret: Option<&str>) -> Value {
    match secret {
        Some(secret) => json!({ "HasValue": true, "NewValue": null, SECRET_KEY: secret }),
        None => json!({ "HasValue": false, "NewValue": null }),
    }
}

/// Apply the write rules to every SensitiveValue in `new`, against the previously stored `old`:
/// `NewValue:"x"` sets (also over a held value: this is how a client rotates a secret it cannot
/// read back), `HasValue:false` clears, `HasValue:true, NewValue:null` keeps; a read answers
/// `{HasValue:true, NewValue:null}` (see [`redact`]). Sources: OctopusDeploy/go-octopusdeploy
/// `pkg/core/sensitive_value.go` (`NewSensitiveValue` sends `{HasValue:true, NewValue}` for
/// every write of a sensitive property) and `pkg/core/property_value.go`.
/// Arrays are matched element by element by `Id`, falling back to position.
pub fn absorb(new: &mut Value, old: Option<&Value>) {
    if is_sensitive_value(new) {
        let secret = match (new.get("NewValue"), new.get("HasValue")) {
            (Some(Value::String(s)), _) => Some(s.clone()),
            (_, Some(Value::Bool(false))) => None,
            // Already absorbed (its own secret) or kept from the stored document.
            _ => secret_of(new)
                .or_else(|| old.and_then(secret_of))
                .map(str::to_string),
        };
        *new = stored_sensitive(secret.as_deref());
        return;
    }
    match new {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                absorb(value, old.and_then(|o| o.get(key)));
            }
        }
        Value::Array(items) => {
            let old_items = old.and_then(Value::as_array);
            for (index, item) in items.iter_mut().enumerate() {
                let id = id_of(item).to_string();
                let previous = old_items.and_then(|olds| {
                    if id.is_empty() {
                        olds.get(index)
                    } else {
                        olds.iter().find(|o| id_of(o).eq_ignore_ascii_case(&id))
                    }
                });
                absorb(item, previous);
            }
        }
        _ => {}
    }
}

/// Remove every stored secret from a document about to be sent.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove(SECRET_KEY);
            for value in map.values_mut() {
                redact(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

pub fn is_sensitive_variable(variable: &Value) -> bool {
    str_field(variable, "Type") == Some("Sensitive")
        || variable.get("IsSensitive").and_then(Value::as_bool) == Some(true)
}

/// Store one variable-set variable's value. Sensitive values go out of sight and follow the
/// measured keep/wipe rule: with its existing `Id` and an empty/null `Value` the secret is kept;
/// with a value it is replaced; without an `Id` an empty value wipes it to "".
pub fn absorb_variable(variable: &mut Map<String, Value>, previous: Option<&Value>, had_id: bool) {
    let as_value = Value::Object(variable.clone());
    if !is_sensitive_variable(&as_value) {
        variable.remove(SECRET_KEY);
        return;
    }
    let sent = match variable.get("Value") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let secret = match sent {
        Some(value) => value,
        None if had_id => previous
            .and_then(secret_of)
            .map(str::to_string)
            .unwrap_or_default(),
        None => String::new(),
    };
    variable.insert("Value".into(), Value::Null);
    variable.insert(SECRET_KEY.into(), Value::String(secret));
}

/// Find a stored secret by a human name, for test assertions: a variable's `Name`, a
/// SensitiveValue's dotted path (`Password`, `Details.Password`,
/// `PersistenceSettings.Credentials.Password`) or any dotted suffix of it such as an action
/// property name. Array elements appear in paths by their `Name`, else `Id`, else index.
pub fn find_secret(doc: &Value, name: &str) -> Option<String> {
    let mut found = None;
    walk_secrets(doc, String::new(), &mut |path, node| {
        if found.is_some() {
            return;
        }
        let Some(secret) = secret_of(node) else {
            return;
        };
        let is_named_variable = node.get("Name").and_then(Value::as_str) == Some(name);
        if is_named_variable || path == name || path.ends_with(&format!(".{name}")) {
            found = Some(secret.to_string());
        }
    });
    found
}

fn walk_secrets(node: &Value, path: String, visit: &mut dyn FnMut(&str, &Value)) {
    visit(&path, node);
    let join = |segment: &str| {
        if path.is_empty() {
            segment.to_string()
        } else {
            format!("{path}.{segment}")
        }
    };
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                walk_secrets(value, join(key), visit);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let label = match item {
                    Value::Object(map) if !is_missing(map, "Name") => {
                        str_field(item, "Name").unwrap_or_default().to_string()
                    }
                    Value::Object(map) if !is_missing(map, "Id") => id_of(item).to_string(),
                    _ => index.to_string(),
                };
                walk_secrets(item, join(&label), visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_set_keep_and_clear() {
        let mut stored = json!({"Password": {"HasValue": true, "NewValue": "s3cret"}});
        absorb(&mut stored, None);
        assert_eq!(find_secret(&stored, "Password").as_deref(), Some("s3cret"));

        let mut kept = json!({"Password": {"HasValue": true, "NewValue": null}});
        absorb(&mut kept, Some(&stored));
        assert_eq!(find_secret(&kept, "Password").as_deref(), Some("s3cret"));

        let mut cleared = json!({"Password": {"HasValue": false}});
        absorb(&mut cleared, Some(&kept));
        assert_eq!(find_secret(&cleared, "Password"), None);
        assert_eq!(cleared["Password"]["HasValue"], json!(false));

        redact(&mut kept);
        assert_eq!(
            kept,
            json!({"Password": {"HasValue": true, "NewValue": null}})
        );
    }

    #[test]
    fn plain_objects_are_not_sensitive_values() {
        assert!(!is_sensitive_value(&json!({"HasValue": true, "Name": "x"})));
        assert!(is_sensitive_value(&json!({"NewValue": "x"})));
    }
}
