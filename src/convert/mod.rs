//! PURE conversions between the Octopus API's resources and the portable model, both
//! directions side by side, one file per resource: `from_api` direction (ids → names, the
//! `portable_*` functions) and `to_api` direction (names → ids on top of what the server holds,
//! the `desired_*` functions). `blueprint.rs` does the same for create-space: a space
//! blueprint's specs → the desired resources. No I/O: everything here takes what was already read.

pub mod blueprint;
pub mod channel_runbook;
pub mod fields;
pub mod process;
pub mod project;
pub mod references;
pub mod script_modules;
pub mod server_rewrites;
pub mod step_templates;
pub mod triggers;
pub mod variables;

use crate::octopus::project_export::ProjectDocuments;
use crate::octopus::resources::{Channel, DeploymentProcess, Runbook};
use crate::octopus::space_index::{Names, SpaceIndex};
pub use crate::portable::reader::Filters;
use crate::portable::{self, PortableProject, FORMAT_VERSION};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// Names ↔ ids a conversion needs, in either direction: the space's index and the project's
/// channels.
pub struct Context<'a> {
    pub index: &'a SpaceIndex,
    pub channels: Names,
    /// `secrets.json` as deploy read it (to_api direction): a sensitive property whose entry was
    /// substituted is written with that value where the server holds none.
    pub secrets: Option<&'a BTreeMap<String, Secret>>,
}

impl<'a> Context<'a> {
    pub fn new(index: &'a SpaceIndex, channels: &[Channel]) -> Context<'a> {
        Context {
            index,
            channels: Names::of_resources(channels),
            secrets: None,
        }
    }
}

/// The portable project, its `secrets.json` map, and warnings for the log.
#[derive(Debug, Clone)]
pub struct ReadResult {
    pub project: PortableProject,
    /// Secret key → Octostache placeholder `#{Name | JsonEscape}`.
    pub secrets: BTreeMap<String, String>,
    /// Secret key → the Octopus variable that supplies it, for the sensitive properties of steps
    /// and actions (`Octofleet.Secret[<step or action>].<property>`) and sensitive template
    /// defaults (`Octofleet.Secret[Project Templates].<template>`): the Terraform module's
    /// `ModuleOptions::secrets`.
    pub property_secrets: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "sensitive variable{} {} {} several scoped values, and one placeholder cannot supply several secrets: \
         give each value its own name (scoped to the Sync environment, as the article requires), or pass \
         {} (--{}) to export them with one placeholder each",
        if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
        if .0.len() == 1 { "has" } else { "have" },
        crate::inputs::ALLOW_AMBIGUOUS_SECRETS.octopus,
        crate::inputs::ALLOW_AMBIGUOUS_SECRETS.flag
    )]
    AmbiguousSecrets(Vec<String>),
    #[error("the server's answer is missing the {0}")]
    Missing(&'static str),
    /// Fields that still hold an id of the template's space after conversion: ids are
    /// space-scoped, so the package would point at whatever has that id in a managed space.
    #[error(
        "ids of the template's space cannot travel to a managed space (there they name another resource, or \
         none), and {} still hold{} one after every reference octofleet knows was named; nothing was written. \
         Fix the template project, then serialize again:\n  - {}",
        if .0.len() == 1 { "this field" } else { "these fields" },
        if .0.len() == 1 { "s" } else { "" },
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    IdsLeft(Vec<references::NamedIdLeft>),
}

pub fn read(
    documents: &ProjectDocuments,
    filters: &Filters,
    octofleet_version: &str,
    exported_at: &str,
) -> Result<ReadResult, ReadError> {
    let project = documents
        .parts
        .project
        .as_ref()
        .ok_or(ReadError::Missing("project"))?;
    let space = documents
        .space
        .as_ref()
        .ok_or(ReadError::Missing("space"))?;
    let lookups = Context::new(&documents.index, &documents.parts.channels);
    let mut warnings = Vec::new();

    let included_runbooks: Vec<&(Runbook, Option<DeploymentProcess>)> = documents
        .parts
        .runbooks
        .iter()
        .filter(|(runbook, _)| {
            !filters
                .excluded_runbooks
                .as_ref()
                .is_some_and(|re| re.is_match(&runbook.name))
        })
        .collect();
    let excluded_runbook_names: Vec<String> = documents
        .parts
        .runbooks
        .iter()
        .map(|(runbook, _)| runbook.name.clone())
        .filter(|name| !included_runbooks.iter().any(|(r, _)| &r.name == name))
        .collect();

    let mut settings = project::project_settings(project, documents, filters, &lookups);
    let mut deployment_process = documents
        .parts
        .deployment_process
        .as_ref()
        .map(|process| process::portable_process(process, &lookups));
    let channels = documents
        .parts
        .channels
        .iter()
        .map(|channel| channel_runbook::portable_channel(channel, &lookups))
        .collect();
    let mut runbooks: Vec<portable::Runbook> = included_runbooks
        .iter()
        .map(|(runbook, process)| {
            channel_runbook::portable_runbook(runbook, process.as_ref(), &lookups)
        })
        .collect();

    let (variables, mut secrets) = variables::portable_variables(
        documents,
        filters,
        &project.name,
        &excluded_runbook_names,
        &mut warnings,
    )?;
    // After the variables, so a property's key steps around a variable's.
    let mut property_secrets = BTreeMap::new();
    if let Some(process) = deployment_process.as_mut() {
        process::assign_property_secrets(
            process,
            &project.name,
            None,
            &mut secrets,
            &mut property_secrets,
        );
    }
    project::assign_template_secrets(
        &mut settings.templates,
        &project.name,
        &mut secrets,
        &mut property_secrets,
    );
    for runbook in &mut runbooks {
        process::assign_property_secrets(
            &mut runbook.process,
            &project.name,
            Some(&runbook.name),
            &mut secrets,
            &mut property_secrets,
        );
    }

    let trigger_sources = triggers::TriggerSources {
        context: &lookups,
        runbooks: &documents.parts.runbooks,
        excluded_runbooks: &excluded_runbook_names,
        runbooks_unread: project.conversion_state("RunbooksAreInGit")
            && documents.parts.git_ref.is_none(),
        process: documents.parts.deployment_process.as_ref(),
    };
    let project_triggers =
        triggers::portable_triggers(&documents.parts.triggers, &trigger_sources, &mut warnings);
    let built_in_trigger =
        triggers::portable_built_in_trigger(project, &trigger_sources, &mut warnings);
    let mut step_templates = used_step_templates(documents, deployment_process.as_ref(), &runbooks);
    step_templates::assign_step_template_secrets(
        &mut step_templates,
        &project.name,
        &mut secrets,
        &mut property_secrets,
    );
    let script_modules = documents
        .definitions
        .script_modules
        .iter()
        .filter(|(set, _)| settings.included_library_variable_sets.contains(&set.name))
        .map(|(set, variables)| script_modules::portable_script_module(set, variables))
        .collect();

    let project = PortableProject {
        format_version: FORMAT_VERSION,
        source: portable::Source {
            server: documents.server.clone(),
            space_id: space.id.clone().unwrap_or_default(),
            space_name: space.name.clone(),
            project_id: project.id.clone().unwrap_or_default(),
            project_name: project.name.clone(),
            octofleet_version: octofleet_version.to_owned(),
            exported_at: exported_at.to_owned(),
            git_ref: documents.parts.git_ref.clone(),
        },
        project: settings,
        deployment_process,
        channels,
        variables,
        runbooks,
        triggers: project_triggers,
        built_in_trigger,
        step_templates,
        script_modules,
    };
    let left = references::ids_left_named(&project, &documents.index);
    if !left.is_empty() {
        return Err(ReadError::IdsLeft(left));
    }
    Ok(ReadResult {
        project,
        secrets,
        property_secrets,
        warnings,
    })
}

/// The step templates the exported processes use (those of excluded runbooks left out), in the
/// order the server returned them.
fn used_step_templates(
    documents: &ProjectDocuments,
    deployment_process: Option<&portable::Process>,
    runbooks: &[portable::Runbook],
) -> Vec<portable::StepTemplate> {
    let used: Vec<&str> = deployment_process
        .into_iter()
        .chain(runbooks.iter().map(|runbook| &runbook.process))
        .flat_map(|process| &process.steps)
        .flat_map(|step| &step.actions)
        .filter_map(|action| action.step_template.as_ref())
        .map(|template| template.name.as_str())
        .collect();
    documents
        .definitions
        .step_templates
        .iter()
        .filter(|(template, _)| used.contains(&template.name.as_str()))
        .map(|(template, community)| {
            step_templates::portable_step_template(template, community.as_ref(), &documents.index)
        })
        .collect()
}

/// Shared by the conversion tests: real payloads and an index that names every id they hold.
#[cfg(test)]
pub(crate) mod testing {
    use crate::octopus::space_index::{Names, SpaceIndex};
    use serde_json::Value;

    /// A payload from `tests/fixtures/octopus-payloads/`.
    pub fn payload<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_json::from_str(text).expect("a fixture decodes")
    }

    /// An index (and channel names) naming every id the payload refers to `Name of <id>`, as the
    /// target space of a deploy would.
    pub fn index_for(payload: &Value) -> (SpaceIndex, Names) {
        let mut index = SpaceIndex::default();
        let mut channels = Names::default();
        let mut visit = vec![payload];
        while let Some(value) = visit.pop() {
            match value {
                Value::Object(map) => visit.extend(map.values()),
                Value::Array(items) => visit.extend(items),
                Value::String(id) => {
                    let lower = id.to_ascii_lowercase();
                    let names = if lower.starts_with("environments-") {
                        &mut index.environments
                    } else if lower.starts_with("feeds-") {
                        &mut index.feeds
                    } else if lower.starts_with("workerpools-") {
                        &mut index.worker_pools
                    } else if lower.starts_with("lifecycles-") {
                        &mut index.lifecycles
                    } else if lower.starts_with("projectgroups-") {
                        &mut index.project_groups
                    } else if lower.starts_with("libraryvariablesets-") {
                        &mut index.library_variable_sets
                    } else if lower.starts_with("accounts-") {
                        &mut index.accounts
                    } else if lower.starts_with("certificates-") {
                        &mut index.certificates
                    } else if lower.starts_with("gitcredentials-") {
                        &mut index.git_credentials
                    } else if lower.starts_with("channels-") {
                        &mut channels
                    } else {
                        continue;
                    };
                    names.insert(id, &format!("Name of {id}"));
                }
                _ => {}
            }
        }
        index.add_built_in_feed();
        (index, channels)
    }
}
