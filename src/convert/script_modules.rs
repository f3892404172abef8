//! Script modules, both directions: a library variable set of content type `ScriptModule` and
//! its two variables ↔ the portable module (name, description, language, body), and what a
//! managed space's set and variables should hold.
//!
//! The body is the variable `Octopus.Script.Module[<name>]`, the language
//! `Octopus.Script.Module.Language[<name>]` (go-octopusdeploy `pkg/variables/script_module_service.go`,
//! which writes both on create and finds them by these prefixes on read; octoterra
//! `library_variable_set_converter.go`, `writeScriptModule`).

use crate::octopus::resources::{LibraryVariableSet, Variable, VariableSet};
use crate::portable;

/// The content type of a script module's library variable set (the other is `Variables`).
pub const SCRIPT_MODULE: &str = "ScriptModule";

/// A module without a language variable is PowerShell: the language Octopus had before it
/// offered others (octoterra: "An empty script language is assumed to be PowerShell").
pub const DEFAULT_SYNTAX: &str = "PowerShell";

const BODY_PREFIX: &str = "Octopus.Script.Module[";
const SYNTAX_PREFIX: &str = "Octopus.Script.Module.Language[";

/// `Octopus.Script.Module[<name>]`.
pub fn body_variable(name: &str) -> String {
    format!("{BODY_PREFIX}{name}]")
}

/// `Octopus.Script.Module.Language[<name>]`.
pub fn syntax_variable(name: &str) -> String {
    format!("{SYNTAX_PREFIX}{name}]")
}

/// Whether a library variable set is a script module (old servers omit the content type: a set
/// without one is a variable set).
pub fn is_script_module(set: &LibraryVariableSet) -> bool {
    set.content_type
        .as_deref()
        .is_some_and(|kind| kind.eq_ignore_ascii_case(SCRIPT_MODULE))
}

/// The module's variable named `exact`, else (a set renamed after its variables were written)
/// the first whose name starts with `prefix`, as go-octopusdeploy reads them.
fn module_variable<'a>(set: &'a VariableSet, exact: &str, prefix: &str) -> Option<&'a Variable> {
    set.variables
        .iter()
        .find(|v| v.name == exact)
        .or_else(|| set.variables.iter().find(|v| v.name.starts_with(prefix)))
}

/// The module as a package carries it.
pub fn portable_script_module(
    set: &LibraryVariableSet,
    variables: &VariableSet,
) -> portable::ScriptModule {
    let value = |exact: &str, prefix: &str| {
        module_variable(variables, exact, prefix)
            .and_then(|v| v.value.clone())
            .unwrap_or_default()
    };
    let syntax = value(&syntax_variable(&set.name), SYNTAX_PREFIX);
    portable::ScriptModule {
        name: set.name.clone(),
        description: set.description.clone().filter(|d| !d.is_empty()),
        syntax: if syntax.is_empty() {
            DEFAULT_SYNTAX.to_owned()
        } else {
            syntax
        },
        body: value(&body_variable(&set.name), BODY_PREFIX),
        earlier_definitions: Vec::new(),
    }
}

/// The library variable set a managed space should hold for `module`, on top of `existing`.
pub fn desired_script_module_set(
    existing: Option<&LibraryVariableSet>,
    module: &portable::ScriptModule,
) -> LibraryVariableSet {
    let mut desired = existing.cloned().unwrap_or_else(|| LibraryVariableSet {
        name: module.name.clone(),
        ..LibraryVariableSet::default()
    });
    desired.name = module.name.clone();
    desired.content_type = Some(SCRIPT_MODULE.to_owned());
    desired.description = Some(module.description.clone().unwrap_or_default());
    desired
}

/// Make `set` hold the module's body and language (each variable kept by its id when there, so
/// its history stays readable); other variables of the set are left alone. Whether anything
/// changed.
pub fn apply_script_module(set: &mut VariableSet, module: &portable::ScriptModule) -> bool {
    let mut changed = false;
    for (exact, prefix, value) in [
        (body_variable(&module.name), BODY_PREFIX, &module.body),
        (syntax_variable(&module.name), SYNTAX_PREFIX, &module.syntax),
    ] {
        let at = set
            .variables
            .iter()
            .position(|v| v.name == exact)
            .or_else(|| {
                set.variables
                    .iter()
                    .position(|v| v.name.starts_with(prefix))
            });
        match at {
            Some(at) => {
                let variable = &mut set.variables[at];
                if variable.name != exact || variable.value.as_deref() != Some(value.as_str()) {
                    variable.name = exact;
                    variable.value = Some(value.clone());
                    changed = true;
                }
            }
            None => {
                set.variables.push(Variable {
                    id: None,
                    name: exact,
                    value: Some(value.clone()),
                    description: None,
                    kind: "String".to_owned(),
                    is_sensitive: false,
                    scope: Default::default(),
                    prompt: None,
                    extra: Default::default(),
                });
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portable::definitions::Definition;

    #[test]
    fn a_module_round_trips_through_its_two_variables() {
        let set = LibraryVariableSet {
            id: Some("LibraryVariableSets-4".into()),
            name: "Deploy Helpers".into(),
            content_type: Some(SCRIPT_MODULE.into()),
            ..LibraryVariableSet::default()
        };
        let module = portable::ScriptModule {
            name: "Deploy Helpers".into(),
            syntax: "Bash".into(),
            body: "helper() { echo hi; }".into(),
            ..portable::ScriptModule::default()
        };
        let mut variables = VariableSet::default();
        assert!(apply_script_module(&mut variables, &module));
        assert!(!apply_script_module(&mut variables, &module));
        assert_eq!(
            variables.variables[0].name,
            "Octopus.Script.Module[Deploy Helpers]"
        );
        assert_eq!(
            portable_script_module(&set, &variables).comparable(),
            module.comparable()
        );
        // No language variable: PowerShell.
        variables
            .variables
            .retain(|v| !v.name.starts_with(SYNTAX_PREFIX));
        assert_eq!(
            portable_script_module(&set, &variables).syntax,
            "PowerShell"
        );
        assert!(is_script_module(&desired_script_module_set(None, &module)));
    }
}
