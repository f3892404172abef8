//! The list of everything a portable project needs that the
//! space does not have (all of it, before anything is written).

use crate::convert::references::{git_dependency_credential, names_of};
pub use crate::octopus::space_index::SpaceIndex;
use crate::portable::references::{json_references, variable_reference};
use crate::portable::{
    PackageReference, PortableProject, Process, PropertyValue, ResourceReference, Template,
};
use std::collections::{BTreeMap, BTreeSet};

/// One thing the space lacks: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    pub kind: &'static str,
    pub name: String,
}

/// Everything `project` refers to that `index` lacks, each once, sorted. The step templates and
/// script modules the package carries are not among them (deploy creates them), but what they
/// refer to is.
pub fn missing_dependencies(project: &PortableProject, index: &SpaceIndex) -> Vec<Missing> {
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    let template_carried = |name: &str| project.step_templates.iter().any(|t| same(&t.name, name));
    let module_carried = |name: &str| project.script_modules.iter().any(|m| same(&m.name, name));
    let mut missing = BTreeSet::new();
    let mut need = |kind: &'static str, map_has: bool, name: &str| {
        if !map_has {
            missing.insert(Missing {
                kind,
                name: name.to_owned(),
            });
        }
    };
    let settings = &project.project;
    need(
        "lifecycle",
        index.lifecycles.has_name(&settings.lifecycle),
        &settings.lifecycle,
    );
    need(
        "project group",
        index.project_groups.has_name(&settings.project_group),
        &settings.project_group,
    );
    for set in &settings.included_library_variable_sets {
        need(
            "library variable set",
            module_carried(set) || index.library_variable_sets.has_name(set),
            set,
        );
    }
    for tag in &settings.project_tags {
        need("tag", index.tags.contains(tag), tag);
    }
    template_references(&settings.templates, index, &mut need);
    for template in &project.step_templates {
        property_references(&template.properties, index, &mut need);
        template_references(&template.parameters, index, &mut need);
        package_feeds(&template.packages, index, &mut need);
        git_credentials(&template.git_dependencies, index, &mut need);
    }
    if let Some(vcs) = &settings.version_control {
        if let (Some(name), "Reference") = (&vcs.credentials.name, vcs.credentials.kind.as_str()) {
            need("git credential", index.git_credentials.has_name(name), name);
        }
    }
    for channel in &project.channels {
        if let Some(lifecycle) = &channel.lifecycle {
            need("lifecycle", index.lifecycles.has_name(lifecycle), lifecycle);
        }
        for tag in &channel.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
    }
    let processes = project
        .deployment_process
        .iter()
        .chain(project.runbooks.iter().map(|runbook| &runbook.process));
    for process in processes {
        process_dependencies(process, index, &template_carried, &mut need);
    }
    for runbook in &project.runbooks {
        for environment in &runbook.environments {
            need(
                "environment",
                index.environments.has_name(environment),
                environment,
            );
        }
    }
    for variable in &project.variables {
        for environment in &variable.scope.environments {
            need(
                "environment",
                index.environments.has_name(environment),
                environment,
            );
        }
        for tag in &variable.scope.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
        if let Some((kind, name)) = variable_reference(variable) {
            need(kind.noun(), names_of(index, kind).has_name(name), name);
        }
    }
    for (kind, name) in crate::convert::triggers::shared_names(&project.triggers) {
        let has = match kind {
            "tag" => index.tags.contains(name),
            _ => index.environments.has_name(name),
        };
        need(kind, has, name);
    }
    missing.into_iter().collect()
}

fn need_reference(
    index: &SpaceIndex,
    reference: &ResourceReference,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    let kind = reference.kind;
    need(
        kind.noun(),
        names_of(index, kind).has_name(&reference.name),
        &reference.name,
    );
}

/// The resources a value names: a reference, or each one a JSON value names.
fn value_references(
    value: &PropertyValue,
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    match value {
        PropertyValue::Reference(reference) => need_reference(index, reference, need),
        PropertyValue::Json(json) => {
            for (_, reference) in json_references(json) {
                need_reference(index, &reference, need);
            }
        }
        PropertyValue::Text(_) | PropertyValue::Sensitive(_) => {}
    }
}

fn property_references(
    properties: &BTreeMap<String, PropertyValue>,
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for value in properties.values() {
        value_references(value, index, need);
    }
}

fn template_references(
    templates: &[Template],
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for value in templates.iter().filter_map(|t| t.default_value.as_ref()) {
        value_references(value, index, need);
    }
}

fn git_credentials(
    dependencies: &[serde_json::Value],
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for credential in dependencies.iter().filter_map(git_dependency_credential) {
        need(
            "git credential",
            index.git_credentials.has_name(credential),
            credential,
        );
    }
}

fn package_feeds(
    packages: &[PackageReference],
    index: &SpaceIndex,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for package in packages {
        need("feed", index.feeds.has_name(&package.feed), &package.feed);
    }
}

fn process_dependencies(
    process: &Process,
    index: &SpaceIndex,
    template_carried: &impl Fn(&str) -> bool,
    need: &mut impl FnMut(&'static str, bool, &str),
) {
    for step in &process.steps {
        property_references(&step.properties, index, need);
    }
    for action in process.steps.iter().flat_map(|step| &step.actions) {
        property_references(&action.properties, index, need);
        git_credentials(&action.git_dependencies, index, need);
        for environment in action
            .environments
            .iter()
            .chain(&action.excluded_environments)
        {
            need(
                "environment",
                index.environments.has_name(environment),
                environment,
            );
        }
        if let Some(pool) = &action.worker_pool {
            need("worker pool", index.worker_pools.has_name(pool), pool);
        }
        if let Some(feed) = action.container.as_ref().and_then(|c| c.feed.as_ref()) {
            need("feed", index.feeds.has_name(feed), feed);
        }
        package_feeds(&action.packages, index, need);
        if let Some(template) = &action.step_template {
            need(
                "step template",
                template_carried(&template.name)
                    || index.step_template_named(&template.name).is_some(),
                &template.name,
            );
        }
        for tag in &action.tenant_tags {
            need("tag", index.tags.contains(tag), tag);
        }
    }
}

/// The Platform Hub process templates the package's steps run (deployment process and
/// runbooks): each `Octopus.ProcessTemplate` action's slug, with its version mask when set.
pub fn process_template_usages(project: &PortableProject) -> BTreeSet<(String, Option<String>)> {
    use crate::octopus::process_templates::{SLUG, STEP_TYPE, VERSION_MASK};
    let text = |value: Option<&PropertyValue>| match value {
        Some(PropertyValue::Text(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    };
    project
        .deployment_process
        .iter()
        .chain(project.runbooks.iter().map(|runbook| &runbook.process))
        .flat_map(|process| process.steps.iter())
        .flat_map(|step| step.actions.iter())
        .filter(|action| action.action_type == STEP_TYPE)
        .filter_map(|action| {
            let slug = text(action.properties.get(SLUG))?;
            Some((slug, text(action.properties.get(VERSION_MASK))))
        })
        .collect()
}
