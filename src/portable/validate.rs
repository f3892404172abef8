//! Checks a portable project read from an untrusted package before anything acts on it: names
//! unique where Octopus keys by them, and free of control characters.

use super::model::{PortableProject, Process};
use std::collections::BTreeSet;

/// One thing wrong with a project, with the JSON path of the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The JSON path of the field (`runbooks[2].process.steps[0].name`).
    pub at: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every problem in `project`, in document order; empty when it may be applied.
pub fn problems(project: &PortableProject) -> Vec<Problem> {
    let mut found = Vec::new();
    check_name(&mut found, "project.name", &project.project.name);
    if let Some(process) = &project.deployment_process {
        check_process(&mut found, "deployment_process", process);
    }
    unique(
        &mut found,
        "channels",
        "channel",
        project.channels.iter().map(|c| c.name.as_str()),
    );
    unique(
        &mut found,
        "runbooks",
        "runbook",
        project.runbooks.iter().map(|r| r.name.as_str()),
    );
    for (index, runbook) in project.runbooks.iter().enumerate() {
        check_process(
            &mut found,
            &format!("runbooks[{index}].process"),
            &runbook.process,
        );
    }
    unique(
        &mut found,
        "triggers",
        "trigger",
        project.triggers.iter().map(|t| t.name.as_str()),
    );
    unique(
        &mut found,
        "step_templates",
        "step template",
        project.step_templates.iter().map(|t| t.name.as_str()),
    );
    unique(
        &mut found,
        "script_modules",
        "script module",
        project.script_modules.iter().map(|m| m.name.as_str()),
    );
    for (index, variable) in project.variables.iter().enumerate() {
        check_name(
            &mut found,
            &format!("variables[{index}].name"),
            &variable.name,
        );
    }
    found
}

/// Step names are unique within a process, and so are action names (Octopus refuses a process
/// with two actions of one name; octofleet matches steps and actions by name).
fn check_process(found: &mut Vec<Problem>, at: &str, process: &Process) {
    unique(
        found,
        &format!("{at}.steps"),
        "step",
        process.steps.iter().map(|s| s.name.as_str()),
    );
    unique(
        found,
        &format!("{at}.steps[].actions"),
        "action",
        process
            .steps
            .iter()
            .flat_map(|s| s.actions.iter().map(|a| a.name.as_str())),
    );
}

fn unique<'a>(
    found: &mut Vec<Problem>,
    at: &str,
    kind: &str,
    names: impl Iterator<Item = &'a str>,
) {
    let mut seen = BTreeSet::new();
    for (index, name) in names.enumerate() {
        let path = format!("{at}[{index}].name");
        check_name(found, &path, name);
        if !seen.insert(name) {
            found.push(Problem {
                at: path,
                message: format!(
                    "a second {kind} named {}: names must be unique (octofleet and Octopus match them by name)",
                    crate::inputs::quoted(name)
                ),
            });
        }
    }
}

/// Names reach logs and service messages: a line break in one would forge a line of its own.
fn check_name(found: &mut Vec<Problem>, at: &str, name: &str) {
    if name.trim().is_empty() {
        found.push(Problem {
            at: at.to_owned(),
            message: "is empty".to_owned(),
        });
    } else if name.chars().any(char::is_control) {
        found.push(Problem {
            at: at.to_owned(),
            message: format!(
                "{} has a control character (a line break or tab) in it",
                crate::inputs::quoted(name)
            ),
        });
    }
}
