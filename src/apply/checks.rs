//! The checks a deploy makes before it writes anything: the package's own fields, secrets,
//! version control and the fork's URL. Each failure is a `DeployError` naming what to do.

use super::deploy::{DeployError, DeployOptions};
use crate::convert::variables::substituted;
use crate::octopus::project_parts::ProjectParts;
use crate::octopus::resources::{DeploymentProcess, PropertyValue, VariableSet};
use crate::octopus::space_index::SpaceIndex;
use crate::portable::{self, PortableProject};
use crate::secret::Secret;
use std::collections::{BTreeMap, BTreeSet};

/// Before any request: a package may add settings, never override a modelled one.
pub(super) fn check_package(package: &PortableProject) -> Result<(), DeployError> {
    let overriding = crate::convert::fields::overriding_fields(package)
        .into_iter()
        .chain(crate::convert::triggers::overriding_trigger_fields(package));
    if let Some(first) = overriding.into_iter().next() {
        return Err(DeployError::OverridingField(first));
    }
    let dangling = crate::convert::triggers::dangling_references(package);
    if dangling.is_empty() {
        return Ok(());
    }
    Err(DeployError::Unsupported(format!(
        "the package's triggers name what the package does not hold; nothing was written. Re-serialize the \
         template project (`octofleet serialize`):\n  - {}",
        dangling.join("\n  - ")
    )))
}

/// Secrets and version control. A plan reports unsubstituted secrets ("not created") instead of
/// failing.
pub(super) fn check(
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    index: &SpaceIndex,
    current: &ProjectParts,
    options: &DeployOptions,
    carried: &[String],
) -> Result<(), DeployError> {
    if !options.dry_run {
        check_secrets(package, secrets, current, carried)?;
    }
    check_version_control(package, index)?;
    check_fork_url(package, current, options)
}

/// A Config-as-Code project downstream needs a repository of its own (the fork): two projects
/// cannot share one repository and base path, and a real server refuses the conversion when
/// the template project on the same instance holds it (OctopusDeploy/Issues#7194). Without
/// `Octofleet.Git.Url` only a downstream project already under version control may go on (it
/// keeps its own repository).
pub(super) fn check_fork_url(
    package: &PortableProject,
    current: &ProjectParts,
    options: &DeployOptions,
) -> Result<(), DeployError> {
    let Some(vcs) = &package.project.version_control else {
        return Ok(());
    };
    let already = current
        .project
        .as_ref()
        .is_some_and(|project| project.is_config_as_code());
    if options.git_url.is_some() || already {
        return Ok(());
    }
    Err(DeployError::ForkUrlMissing(crate::origin::display_text(
        &vcs.url,
    )))
}

/// A secret still unsubstituted is fine for a variable that exists downstream (its value is
/// kept); for a new one it is an error, found before anything is written. The same rule holds
/// for sensitive step and action properties and template defaults: one the server holds a value
/// for keeps it, one it holds none for (a new step, action or template) is an error, named by
/// the `Octofleet.Secret[…]` variable that supplies it; `carried` adds the step templates' (see
/// `definitions::Definitions::unsubstituted`).
pub(super) fn check_secrets(
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    current: &ProjectParts,
    carried: &[String],
) -> Result<(), DeployError> {
    let existing: Option<&VariableSet> = current.variables.as_ref();
    let existing_secrets: BTreeSet<&str> = existing
        .map(|set| {
            set.variables
                .iter()
                .filter(|v| v.is_secret())
                .map(|v| v.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut unsubstituted: Vec<String> = package
        .variables
        .iter()
        .filter(|v| v.is_sensitive())
        .filter(|v| substituted(secrets, v.secret.as_deref()).is_none())
        .filter(|v| !existing_secrets.contains(v.name.as_str()))
        .map(|v| v.name.clone())
        .collect();
    unsubstituted.dedup();
    let properties = unsubstituted_property_secrets(package, secrets, current)
        .into_iter()
        .map(|property| property.variable);
    for variable in properties.chain(carried.iter().cloned()) {
        if !unsubstituted.contains(&variable) {
            unsubstituted.push(variable);
        }
    }
    if unsubstituted.is_empty() {
        Ok(())
    } else {
        Err(DeployError::UnsubstitutedSecrets(unsubstituted))
    }
}

/// A sensitive property or template default a deploy could not write: what and where it is,
/// and the Octopus variable whose substitution supplies it.
pub(super) struct UnsubstitutedProperty {
    /// `property` or `template`.
    pub(super) kind: &'static str,
    /// `<process owner> / <step or action> / <property>`, or the template's name.
    pub(super) at: String,
    pub(super) variable: String,
}

/// The sensitive step and action properties and template defaults whose `secrets.json` entry is
/// still a placeholder and that the server holds no value for: a deploy would leave them out.
/// Those without a `secret` key (packages from before octofleet gave them one) are left out as
/// before.
pub(super) fn unsubstituted_property_secrets(
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    current: &ProjectParts,
) -> Vec<UnsubstitutedProperty> {
    let mut found = unsubstituted_template_secrets(package, secrets, current);
    let mut processes: Vec<(&str, &portable::Process, Option<&DeploymentProcess>)> = Vec::new();
    if let (None, Some(process)) = (
        &package.project.version_control,
        &package.deployment_process,
    ) {
        processes.push((
            "deployment process",
            process,
            current.deployment_process.as_ref(),
        ));
    }
    // Runbooks already in git downstream are not written by a deploy: nothing to check there.
    let runbooks_in_git = package.project.version_control.is_some()
        && current.project.as_ref().is_some_and(|project| {
            project.is_config_as_code() && project.conversion_state("RunbooksAreInGit")
        });
    for runbook in package.runbooks.iter().filter(|_| !runbooks_in_git) {
        let existing = current
            .runbooks
            .iter()
            .find(|(r, _)| r.name == runbook.name)
            .and_then(|(_, process)| process.as_ref());
        processes.push((&runbook.name, &runbook.process, existing));
    }
    let mut visit = |at: String,
                     owner: &str,
                     properties: &BTreeMap<String, portable::PropertyValue>,
                     held: Option<&BTreeMap<String, PropertyValue>>| {
        for (key, value) in properties {
            let portable::PropertyValue::Sensitive(sensitive) = value else {
                continue;
            };
            let Some(secret) = sensitive.secret.as_deref() else {
                continue;
            };
            let has_value = held.and_then(|held| held.get(key)).is_some_and(
                |value| matches!(value, PropertyValue::Sensitive(held) if held.has_value),
            );
            if !has_value && substituted(secrets, Some(secret)).is_none() {
                found.push(UnsubstitutedProperty {
                    kind: "property",
                    at: format!("{at} / {key}"),
                    variable: crate::portable::naming::property_secret_name(owner, key),
                });
            }
        }
    };
    for (owner, process, existing) in processes {
        for step in &process.steps {
            let existing_step = existing.and_then(|p| p.steps.iter().find(|s| s.name == step.name));
            visit(
                format!("{owner} / {}", step.name),
                &step.name,
                &step.properties,
                existing_step.map(|s| &s.properties),
            );
            for action in &step.actions {
                let existing_action =
                    existing_step.and_then(|s| s.actions.iter().find(|a| a.name == action.name));
                visit(
                    format!("{owner} / {}", action.name),
                    &action.name,
                    &action.properties,
                    existing_action.map(|a| &a.properties),
                );
            }
        }
    }
    found
}

fn unsubstituted_template_secrets(
    package: &PortableProject,
    secrets: &BTreeMap<String, Secret>,
    current: &ProjectParts,
) -> Vec<UnsubstitutedProperty> {
    let held = |name: &str| {
        current
            .project
            .iter()
            .flat_map(|project| &project.templates)
            .find(|t| t.name == name)
            .is_some_and(|t| {
                matches!(&t.default_value, Some(PropertyValue::Sensitive(held)) if held.has_value)
            })
    };
    package
        .project
        .templates
        .iter()
        .filter_map(|template| match &template.default_value {
            Some(portable::PropertyValue::Sensitive(sensitive)) => {
                Some((template, sensitive.secret.as_deref()?))
            }
            _ => None,
        })
        .filter(|(template, secret)| {
            !held(&template.name) && substituted(secrets, Some(secret)).is_none()
        })
        .map(|(template, _)| UnsubstitutedProperty {
            kind: "template",
            at: template.name.clone(),
            variable: crate::portable::naming::template_secret_name(&template.name),
        })
        .collect()
}

pub(super) fn check_version_control(
    package: &PortableProject,
    index: &SpaceIndex,
) -> Result<(), DeployError> {
    let Some(vcs) = &package.project.version_control else {
        return Ok(());
    };
    match vcs.credentials.kind.as_str() {
        "Anonymous" => Ok(()),
        "Reference" if vcs.credentials.name.as_ref().is_some_and(|n| index.git_credentials.has_name(n)) => Ok(()),
        "Reference" => Err(DeployError::Unsupported("the Config-as-Code project refers to a git credential without a name; re-serialize it".into())),
        other => Err(DeployError::Unsupported(format!(
            "the Config-as-Code project authenticates with `{other}` credentials, which cannot be exported (the API never returns the password): use a shared git credential (Library → Git Credentials) in the template project"
        ))),
    }
}
