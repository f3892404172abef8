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
}

impl Outcome {
    pub fn new(kind: &'static str, name: &str, action: OutcomeAction) -> Self {
        Outcome {
            kind,
            name: name.to_owned(),
            action,
        }
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
