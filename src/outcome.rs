//! What converging did to each resource, and the created/updated/unchanged summary.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "fields")]
pub enum OutcomeAction {
    Created,
    /// The fields that differed.
    Updated(Vec<String>),
    Unchanged,
    /// Differs from the package, and the downstream value was kept (variables, by default).
    KeptDownstream(Vec<String>),
    Removed,
    /// A secret sent again because it was asked for (`--overwrite-variables`): Octopus never
    /// returns secret values, so whether this changes anything cannot be known. Not a change
    /// for a plan's exit code (or a plan of a converged space would never be clean).
    SecretResent,
}

impl OutcomeAction {
    /// A write happened (or, in a plan, would happen).
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            OutcomeAction::Created | OutcomeAction::Updated(_) | OutcomeAction::Removed
        )
    }

    /// Something must be sent: a change, or a secret that cannot be compared.
    pub fn needs_write(&self) -> bool {
        self.is_change() || *self == OutcomeAction::SecretResent
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub kind: &'static str,
    pub name: String,
    #[serde(flatten)]
    pub action: OutcomeAction,
    /// What the server held and what the package wants, field by field, for an update (or a
    /// downstream edit that was kept); secrets masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
}

impl Outcome {
    pub fn new(kind: &'static str, name: &str, action: OutcomeAction) -> Self {
        Outcome {
            kind,
            name: name.to_owned(),
            action,
            changes: Vec::new(),
        }
    }

    pub fn with_changes(mut self, changes: Vec<FieldChange>) -> Self {
        self.changes = changes;
        self
    }
}

/// One value that differs: where it is in the resource, and its text on each side (`None`:
/// absent or null). Secret values never appear: they read [`MASKED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `Description`, `Actions[Deploy].Properties["Octopus.Action.Script.ScriptBody"]`, ….
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a secret value reads as in a report.
pub const MASKED: &str = "(sensitive value)";

/// Changes listed per resource; the rest are counted in one last entry. Keeps the report of a
/// project rewritten wholesale readable and small.
const MAX_CHANGES: usize = 40;

/// Characters of one value shown; longer ones (script bodies) are cut with a count.
const MAX_VALUE_CHARS: usize = 3000;

impl FieldChange {
    pub fn new(field: &str, before: Option<&str>, after: Option<&str>) -> Self {
        FieldChange {
            field: field.to_owned(),
            before: before.map(shorten),
            after: after.map(shorten),
        }
    }

    /// A secret that differs (or cannot be compared): both sides masked.
    pub fn masked(field: &str, before: bool, after: bool) -> Self {
        FieldChange {
            field: field.to_owned(),
            before: before.then(|| MASKED.to_owned()),
            after: after.then(|| MASKED.to_owned()),
        }
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!(
            "{}… ({} more characters)",
            &text[..cut],
            text[cut..].chars().count()
        ),
    }
}

/// The values that differ between what the server has and what is wanted, by path: objects by
/// key, lists of named objects by name, other lists by position. Sensitive values
/// (`{HasValue, NewValue}`, and the `Value` of an `IsSensitive` variable) are masked.
pub fn value_changes<T: Serialize>(current: &T, desired: &T) -> Vec<FieldChange> {
    let current = serde_json::to_value(current).expect("models serialize");
    let desired = serde_json::to_value(desired).expect("models serialize");
    let mut changes = Vec::new();
    walk("", Some(&current), Some(&desired), false, &mut changes);
    if changes.len() > MAX_CHANGES {
        let more = changes.len() - MAX_CHANGES;
        changes.truncate(MAX_CHANGES);
        changes.push(FieldChange::new(
            &format!("… and {more} more changed values"),
            None,
            None,
        ));
    }
    changes
}

use serde_json::Value;

fn child_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!(
            "{path}[{}]",
            serde_json::to_string(key).expect("strings serialize")
        ),
    }
}

fn is_sensitive_value(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_object)
        .is_some_and(|object| object.contains_key("HasValue") || object.contains_key("NewValue"))
}

fn holds_value(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Object(object)) if object.contains_key("HasValue") => {
            object.get("HasValue") == Some(&Value::Bool(true))
                || object.get("NewValue").is_some_and(|v| !v.is_null())
        }
        Some(_) => true,
    }
}

fn named(items: &[Value]) -> Option<Vec<&str>> {
    items
        .iter()
        .map(|item| item.get("Name").and_then(Value::as_str))
        .collect()
}

fn render(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(serde_json::to_string_pretty(other).expect("values serialize")),
    }
}

fn walk(
    path: &str,
    current: Option<&Value>,
    desired: Option<&Value>,
    secret: bool,
    changes: &mut Vec<FieldChange>,
) {
    if current == desired {
        return;
    }
    if secret || is_sensitive_value(current) || is_sensitive_value(desired) {
        changes.push(FieldChange::masked(
            path,
            holds_value(current),
            holds_value(desired),
        ));
        return;
    }
    match (current, desired) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let sensitive = |object: &serde_json::Map<String, Value>| {
                object.get("IsSensitive") == Some(&Value::Bool(true))
            };
            let masked = sensitive(a) || sensitive(b);
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(
                    &child_path(path, key),
                    a.get(key),
                    b.get(key),
                    masked && key == "Value",
                    changes,
                );
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => match (named(a), named(b)) {
            (Some(names_a), Some(names_b)) => {
                for (item, name) in b.iter().zip(&names_b) {
                    let before = names_a.iter().position(|n| n == name).map(|i| &a[i]);
                    walk(
                        &format!("{path}[{name}]"),
                        before,
                        Some(item),
                        false,
                        changes,
                    );
                }
                for (item, name) in a.iter().zip(&names_a) {
                    if !names_b.contains(name) {
                        walk(&format!("{path}[{name}]"), Some(item), None, false, changes);
                    }
                }
                let common = |names: &[&str], other: &[&str]| -> Vec<String> {
                    names
                        .iter()
                        .filter(|n| other.contains(n))
                        .map(|n| n.to_string())
                        .collect()
                };
                let (order_a, order_b) = (common(&names_a, &names_b), common(&names_b, &names_a));
                if order_a != order_b {
                    changes.push(FieldChange::new(
                        &format!("{path} (order)"),
                        Some(&order_a.join(", ")),
                        Some(&order_b.join(", ")),
                    ));
                }
            }
            _ if a.len() == b.len() => {
                for (index, (x, y)) in a.iter().zip(b).enumerate() {
                    walk(
                        &format!("{path}[{index}]"),
                        Some(x),
                        Some(y),
                        false,
                        changes,
                    );
                }
            }
            _ => changes.push(FieldChange::new(
                path,
                render(current).as_deref(),
                render(desired).as_deref(),
            )),
        },
        _ => changes.push(FieldChange::new(
            path,
            render(current).as_deref(),
            render(desired).as_deref(),
        )),
    }
}

impl Outcome {
    /// The drift-report line of a plan: `+ create`, `~ update (fields)`, `- remove`, or what stays.
    pub fn as_plan_line(&self) -> String {
        match &self.action {
            OutcomeAction::Created => format!("+ create {} `{}`", self.kind, self.name),
            OutcomeAction::Updated(fields) => format!(
                "~ update {} `{}` ({})",
                self.kind,
                self.name,
                fields.join(", ")
            ),
            OutcomeAction::Removed => format!("- remove {} `{}`", self.kind, self.name),
            OutcomeAction::Unchanged => format!("  unchanged {} `{}`", self.kind, self.name),
            OutcomeAction::KeptDownstream(fields) => {
                format!(
                    "  keep {} `{}` (downstream edit: {})",
                    self.kind,
                    self.name,
                    fields.join(", ")
                )
            }
            OutcomeAction::SecretResent => format!(
                "? resend {} `{}` (a secret: Octopus never returns its value, so it cannot be compared)",
                self.kind, self.name
            ),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            OutcomeAction::Created => write!(f, "created   {} `{}`", self.kind, self.name),
            OutcomeAction::Updated(fields) => {
                write!(
                    f,
                    "updated   {} `{}` ({})",
                    self.kind,
                    self.name,
                    fields.join(", ")
                )
            }
            OutcomeAction::Unchanged => write!(f, "unchanged {} `{}`", self.kind, self.name),
            OutcomeAction::KeptDownstream(fields) => {
                write!(
                    f,
                    "kept      {} `{}` (downstream edit: {})",
                    self.kind,
                    self.name,
                    fields.join(", ")
                )
            }
            OutcomeAction::Removed => write!(f, "removed   {} `{}`", self.kind, self.name),
            OutcomeAction::SecretResent => write!(
                f,
                "resent    {} `{}` (secret value, not comparable)",
                self.kind, self.name
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub kept: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub removed: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub secrets_resent: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Self {
        let mut summary = Summary::default();
        for outcome in outcomes {
            match outcome.action {
                OutcomeAction::Created => summary.created += 1,
                OutcomeAction::Updated(_) => summary.updated += 1,
                OutcomeAction::Unchanged => summary.unchanged += 1,
                OutcomeAction::KeptDownstream(_) => summary.kept += 1,
                OutcomeAction::Removed => summary.removed += 1,
                OutcomeAction::SecretResent => summary.secrets_resent += 1,
            }
        }
        summary
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )?;
        if self.kept > 0 {
            write!(f, ", {} kept downstream", self.kept)?;
        }
        if self.removed > 0 {
            write!(f, ", {} removed", self.removed)?;
        }
        if self.secrets_resent > 0 {
            write!(f, ", {} secrets resent", self.secrets_resent)?;
        }
        Ok(())
    }
}

/// The top-level fields whose JSON differs between what the server has and what we want.
/// Both sides come from the same model, so only the fields we changed can differ.
pub fn changed_fields<T: Serialize>(current: &T, desired: &T) -> Vec<String> {
    let current = serde_json::to_value(current).expect("models serialize");
    let desired = serde_json::to_value(desired).expect("models serialize");
    let (Some(current), Some(desired)) = (current.as_object(), desired.as_object()) else {
        return if current == desired {
            Vec::new()
        } else {
            vec!["(value)".to_owned()]
        };
    };
    let mut fields: Vec<String> = current
        .keys()
        .chain(desired.keys())
        .filter(|key| current.get(*key) != desired.get(*key))
        .cloned()
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_lists_only_differences() {
        let a = serde_json::json!({"Name": "Dev", "Description": "x", "SortOrder": 1});
        let b = serde_json::json!({"Name": "Dev", "Description": "y", "SortOrder": 1, "New": true});
        assert_eq!(
            changed_fields(&a, &b),
            vec!["Description".to_owned(), "New".to_owned()]
        );
        assert!(changed_fields(&a, &a).is_empty());
    }

    #[test]
    fn value_changes_name_each_path_and_mask_secrets() {
        let a = serde_json::json!({
            "Name": "Deploy", "Description": "old",
            "Actions": [{"Name": "Run", "Properties": {
                "Octopus.Action.Script.ScriptBody": "echo 1",
                "Token": {"HasValue": true, "NewValue": null}}}],
            "Variables": [{"Name": "Pass", "IsSensitive": true, "Value": null}],
        });
        let b = serde_json::json!({
            "Name": "Deploy", "Description": null,
            "Actions": [{"Name": "Run", "Properties": {
                "Octopus.Action.Script.ScriptBody": "echo 2",
                "Token": {"HasValue": true, "NewValue": "hunter2"}}}],
            "Variables": [{"Name": "Pass", "IsSensitive": true, "Value": "s3cret"}],
        });
        let changes = value_changes(&a, &b);
        let text = serde_json::to_string(&changes).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        assert_eq!(
            changes,
            vec![
                FieldChange::new(
                    r#"Actions[Run].Properties["Octopus.Action.Script.ScriptBody"]"#,
                    Some("echo 1"),
                    Some("echo 2")
                ),
                FieldChange::masked("Actions[Run].Properties.Token", true, true),
                FieldChange::new("Description", Some("old"), None),
                FieldChange::masked("Variables[Pass].Value", false, true),
            ]
        );
    }

    #[test]
    fn value_changes_are_capped_and_long_values_cut() {
        let a: serde_json::Map<String, serde_json::Value> =
            (0..60).map(|i| (format!("K{i:02}"), 1.into())).collect();
        let b: serde_json::Map<String, serde_json::Value> =
            (0..60).map(|i| (format!("K{i:02}"), 2.into())).collect();
        let changes = value_changes(&a, &b);
        assert_eq!(changes.len(), MAX_CHANGES + 1);
        assert_eq!(changes[MAX_CHANGES].field, "… and 20 more changed values");
        let long = "x".repeat(MAX_VALUE_CHARS + 5);
        let change = FieldChange::new("Script", None, Some(&long));
        assert!(change.after.unwrap().ends_with("… (5 more characters)"));
    }

    #[test]
    fn summary_counts() {
        let outcomes = vec![
            Outcome::new("environment", "A", OutcomeAction::Created),
            Outcome::new(
                "environment",
                "B",
                OutcomeAction::Updated(vec!["Description".into()]),
            ),
            Outcome::new("feed", "C", OutcomeAction::Unchanged),
        ];
        assert_eq!(
            Summary::of(&outcomes).to_string(),
            "1 created, 1 updated, 1 unchanged"
        );
        assert_eq!(
            outcomes[1].to_string(),
            "updated   environment `B` (Description)"
        );
    }
}
