//! octoterra's naming rules: how names become Terraform labels, variable names and file names.
//!
//! Every rule here is part of a contract with runbooks written for octoterra modules (for example
//! `-var=project_<name>_name=…`), so a change here is a breaking change for downstream spaces.

use crate::portable::PortableProject;
use std::collections::{BTreeMap, BTreeSet};

pub use crate::portable::naming::{sanitize, secret_key as sensitive_variable_label};

/// A label made of a fixed prefix and names. The whole string is sanitized at once, which for a
/// prefix starting with a letter equals the runbooks' Octostache rule
/// `#{Name | ToLower | Replace "[^a-zA-Z0-9]" "_"}` applied to each name.
pub fn label(prefix: &str, names: &[&str]) -> String {
    let mut raw = prefix.to_owned();
    for name in names {
        raw.push('_');
        raw.push_str(name);
    }
    sanitize(&raw)
}

/// `project_<p>`: the project resource's label, and the stem of its Terraform variables.
pub fn project_label(project_name: &str) -> String {
    label("project", &[project_name])
}

/// `project_<p>_name`: overrides the downstream project's name (octoterra's contract).
pub fn project_name_variable(project_name: &str) -> String {
    format!("{}_name", project_label(project_name))
}

/// `project_<p>_git_url`: overrides the Config-as-Code repository (the fork's URL).
pub fn project_git_url_variable(project_name: &str) -> String {
    format!("{}_git_url", project_label(project_name))
}

/// `project_<p>_git_password`: the password of username/password Git persistence.
pub fn project_git_password_variable(project_name: &str) -> String {
    format!("{}_git_password", project_label(project_name))
}

/// `project_<p>_template_<t>`: a sensitive tenant template default (octoterra's name).
pub fn project_template_variable(project_name: &str, template_name: &str) -> String {
    label("project", &[project_name, "template", template_name])
}

/// `runbook_<p>_<r>`: a runbook resource's label.
pub fn runbook_label(project_name: &str, runbook_name: &str) -> String {
    label("runbook", &[project_name, runbook_name])
}

/// `runbook_<p>_<r>_name`: overrides a downstream runbook's name.
pub fn runbook_name_variable(project_name: &str, runbook_name: &str) -> String {
    format!("{}_name", runbook_label(project_name, runbook_name))
}

/// The label of each project variable, in model order, unique across the project.
/// A secret's label is its `secret` key (the reader's `secrets.json` key, built by the same rule
/// as [`sensitive_variable_label`]); a secret without one is numbered among the secrets of its
/// name. Other variables take the next `n` of their name not already taken.
pub fn project_variable_labels(project: &PortableProject) -> Vec<String> {
    let project_name = &project.project.name;
    let mut labels: Vec<Option<String>> = vec![None; project.variables.len()];
    let mut taken = UniqueNames::default();
    let mut secret_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, variable) in project
        .variables
        .iter()
        .enumerate()
        .filter(|(_, variable)| variable.is_sensitive())
    {
        let n = secret_counts.entry(&variable.name).or_insert(0);
        *n += 1;
        let label = match &variable.secret {
            Some(key) => sanitize(key),
            None => sensitive_variable_label(project_name, &variable.name, *n),
        };
        labels[index] = Some(taken.claim(label));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, variable) in project.variables.iter().enumerate() {
        if labels[index].is_some() {
            continue;
        }
        let n = counts.entry(&variable.name).or_insert(0);
        let label = loop {
            *n += 1;
            let candidate = sensitive_variable_label(project_name, &variable.name, *n);
            if taken.try_claim(&candidate) {
                break candidate;
            }
        };
        labels[index] = Some(label);
    }
    labels
        .into_iter()
        .map(|label| label.expect("every variable is labelled"))
        .collect()
}

/// `action_<owner>_<action>_<property>_sensitive_value`: a sensitive step property. octoterra
/// hashes the ID here; IDs do not exist in the portable model, so the name is spelled out.
pub fn action_secret_variable(owner: &str, action_name: &str, property: &str) -> String {
    format!(
        "{}_sensitive_value",
        label("action", &[owner, action_name, property])
    )
}

/// Hands out labels that are unique within one namespace (a resource type, or all Terraform
/// variables) by appending `_2`, `_3`… to a repeated stem; assignment follows call order, which
/// the writer keeps deterministic.
#[derive(Debug, Default)]
pub struct UniqueNames {
    taken: BTreeSet<String>,
}

impl UniqueNames {
    /// `stem` if it is free, else `stem_2`, `stem_3`…; the label is then taken.
    pub fn claim(&mut self, stem: String) -> String {
        if self.taken.insert(stem.clone()) {
            return stem;
        }
        (2..)
            .map(|n| format!("{stem}_{n}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .expect("an unused suffix exists")
    }

    /// Claims `name` exactly, if it is free.
    pub fn try_claim(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_owned())
    }

    /// Records a name that is fixed by contract, so later stems avoid it.
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_follows_octoterra() {
        assert_eq!(sanitize("Hello World"), "hello_world");
        assert_eq!(
            sanitize("Database[Development].Password"),
            "database_development__password"
        );
        assert_eq!(sanitize("123 App"), "_123_app");
        assert_eq!(sanitize("_x"), "_x");
        assert_eq!(sanitize("Ünïcode-Ω"), "_n_code__");
        assert_eq!(sanitize(""), "_");
    }

    #[test]
    fn article_labels() {
        assert_eq!(
            sensitive_variable_label("Hello World", "Database[Development].Password", 1),
            "hello_world_database_development__password_1"
        );
        assert_eq!(
            project_name_variable("Hello World"),
            "project_hello_world_name"
        );
        assert_eq!(
            project_git_url_variable("Hello World CaC"),
            "project_hello_world_cac_git_url"
        );
        // A digit-leading project name keeps the runbooks' Octostache spelling.
        assert_eq!(project_name_variable("1st App"), "project_1st_app_name");
    }

    #[test]
    fn variable_labels_keep_secret_keys_and_stay_unique() {
        let project: PortableProject = serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "source": {"server": "s", "space_id": "Spaces-1", "space_name": "S", "project_id": "Projects-1",
                       "project_name": "P", "octofleet_version": "0", "exported_at": "t"},
            "project": {"name": "P", "project_group": "G", "lifecycle": "L",
                        "tenanted_deployment_mode": "Untenanted", "default_guided_failure_mode": "Off"},
            "variables": [
                {"name": "X", "type": "String", "value": "a"},
                {"name": "X", "type": "Sensitive", "secret": "p_x_1"},
                {"name": "X", "type": "Sensitive"},
                {"name": "A.B", "type": "String", "value": "b"},
                {"name": "A_B", "type": "String", "value": "c"}
            ]
        }))
        .unwrap();
        assert_eq!(
            project_variable_labels(&project),
            ["p_x_3", "p_x_1", "p_x_2", "p_a_b_1", "p_a_b_2"]
        );
    }

    #[test]
    fn unique_names_suffix_repeats() {
        let mut names = UniqueNames::default();
        names.reserve("a_2");
        assert_eq!(names.claim("a".into()), "a");
        assert_eq!(names.claim("a".into()), "a_3");
        assert_eq!(names.claim("b".into()), "b");
    }
}
