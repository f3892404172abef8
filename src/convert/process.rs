//! Processes (a project's deployment process, a runbook's): steps, actions and their
//! properties, both directions.

use super::fields::{carried, merge, set_text};
use super::references::{
    desired_git_dependency, desired_json, id_of, portable_git_dependency, portable_text_property,
};
use super::Context;
use crate::octopus::resources::{
    ActionContainer, ActionPackageReference, DeploymentProcess, ProcessAction, ProcessStep,
    PropertyValue, SensitiveValue,
};
use crate::octopus::space_index::{SpaceIndex, BUILT_IN_FEED_ID};
use crate::portable;
use crate::portable::naming::{property_secret_key, property_secret_name};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// Properties that hold ids of the source space; the model names what they point at instead.
pub const ID_PROPERTIES: &[&str] = &[
    "Octopus.Action.Template.Id",
    "Octopus.Action.Template.Version",
];

/// A step or action property as the package carries it: an id of a shared resource (an account,
/// a certificate, a feed, …) by name (see `convert::references`), a secret by its placeholder.
pub fn portable_property_in(
    context: &Context<'_>,
    key: &str,
    value: &PropertyValue,
) -> portable::PropertyValue {
    match value {
        PropertyValue::Text(text) => portable_text_property(context.index, key, text),
        PropertyValue::Sensitive(_) => portable_property(value),
    }
}

pub fn portable_property(value: &PropertyValue) -> portable::PropertyValue {
    match value {
        PropertyValue::Text(text) => portable::PropertyValue::Text(text.clone()),
        PropertyValue::Sensitive(_) => {
            portable::PropertyValue::Sensitive(portable::SensitiveProperty {
                sensitive: true,
                secret: None,
            })
        }
    }
}

/// Gives every sensitive property of `process`'s steps and actions an entry in `secrets`
/// (`secrets.json`), as sensitive variables have: the key goes into the property's `secret`, the
/// value is the placeholder `#{Octofleet.Secret[<step or action>].<property> | JsonEscape}`, and
/// `names` learns key → that Octopus variable (the Terraform module's defaults). `runbook` names
/// the process's runbook (`None`: the deployment process). A key already taken (another
/// variable or property sanitized alike) takes the next occurrence number.
pub fn assign_property_secrets(
    process: &mut portable::Process,
    project_name: &str,
    runbook: Option<&str>,
    secrets: &mut BTreeMap<String, String>,
    names: &mut BTreeMap<String, String>,
) {
    let mut assign = |owner: &str, properties: &mut BTreeMap<String, portable::PropertyValue>| {
        for (property, value) in properties.iter_mut() {
            if let portable::PropertyValue::Sensitive(sensitive) = value {
                let name = property_secret_name(owner, property);
                sensitive.secret = Some(assign_secret(project_name, runbook, name, secrets, names));
            }
        }
    };
    for step in &mut process.steps {
        assign(&step.name, &mut step.properties);
        for action in &mut step.actions {
            assign(&action.name, &mut action.properties);
        }
    }
}

/// A `secrets.json` entry for the Octopus variable `name`: its key (the variables' rule, the next
/// occurrence number when taken), the placeholder `#{<name> | JsonEscape}` as its value, and
/// key → `name` in `names` (the Terraform module's defaults). Returns the key.
pub fn assign_secret(
    project_name: &str,
    runbook: Option<&str>,
    name: String,
    secrets: &mut BTreeMap<String, String>,
    names: &mut BTreeMap<String, String>,
) -> String {
    let key = (1..)
        .map(|n| property_secret_key(project_name, runbook, &name, n))
        .find(|key| !secrets.contains_key(key))
        .expect("an unused occurrence number");
    secrets.insert(key.clone(), format!("#{{{name} | JsonEscape}}"));
    names.insert(key.clone(), name);
    key
}

pub fn portable_process(process: &DeploymentProcess, context: &Context<'_>) -> portable::Process {
    portable::Process {
        steps: process
            .steps
            .iter()
            .map(|step| portable_step(step, context))
            .collect(),
    }
}

pub fn portable_step(step: &ProcessStep, context: &Context<'_>) -> portable::Step {
    let mut properties: BTreeMap<String, portable::PropertyValue> = step
        .properties
        .iter()
        .map(|(key, value)| (key.clone(), portable_property_in(context, key, value)))
        .collect();
    let roles = match properties.remove("Octopus.Action.TargetRoles") {
        Some(portable::PropertyValue::Text(roles)) => roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    portable::Step {
        name: step.name.clone(),
        package_requirement: step
            .package_requirement
            .clone()
            .unwrap_or_else(|| "LetOctopusDecide".to_owned()),
        condition: step
            .condition
            .clone()
            .unwrap_or_else(|| "Success".to_owned()),
        start_trigger: step
            .start_trigger
            .clone()
            .unwrap_or_else(|| "StartAfterPrevious".to_owned()),
        roles,
        properties,
        actions: step
            .actions
            .iter()
            .map(|action| portable_action(action, context))
            .collect(),
        extra: carried(&step.extra, &["Id", "Slug", "Links"]),
    }
}

pub fn portable_action(action: &ProcessAction, context: &Context<'_>) -> portable::Action {
    let template_id = action
        .properties
        .get("Octopus.Action.Template.Id")
        .and_then(PropertyValue::as_text);
    let template_version = action
        .properties
        .get("Octopus.Action.Template.Version")
        .and_then(PropertyValue::as_text)
        .and_then(|v| v.parse::<i64>().ok());
    let step_template = template_id.map(|id| match context.index.step_template_by_id(id) {
        Some(template) => portable::StepTemplateRef {
            name: template.name.clone(),
            version: template_version.or(template.version).unwrap_or(0),
        },
        None => portable::StepTemplateRef {
            name: id.to_owned(),
            version: template_version.unwrap_or(0),
        },
    });
    let properties = action
        .properties
        .iter()
        .filter(|(key, _)| !ID_PROPERTIES.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), portable_property_in(context, key, value)))
        .collect();
    portable::Action {
        name: action.name.clone(),
        action_type: action.action_type.clone(),
        is_disabled: action.is_disabled,
        is_required: action.is_required,
        can_be_used_for_project_versioning: action.can_be_used_for_project_versioning,
        condition: action.condition.clone().filter(|c| !c.is_empty()),
        notes: action.notes.clone().filter(|n| !n.is_empty()),
        worker_pool: action
            .worker_pool_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(|id| context.index.worker_pools.name(id)),
        worker_pool_variable: action
            .worker_pool_variable
            .clone()
            .filter(|v| !v.is_empty()),
        environments: context.index.environments.names(&action.environments),
        excluded_environments: context
            .index
            .environments
            .names(&action.excluded_environments),
        channels: context.channels.names(&action.channels),
        tenant_tags: action.tenant_tags.clone(),
        container: action
            .container
            .as_ref()
            .filter(|c| c.image.as_deref().is_some_and(|i| !i.is_empty()) || c.feed_id.is_some())
            .map(|container| portable::Container {
                feed: container
                    .feed_id
                    .as_deref()
                    .map(|id| context.index.feeds.name(id)),
                image: container.image.clone(),
            }),
        packages: portable_packages(&action.packages, context.index),
        git_dependencies: action
            .git_dependencies
            .iter()
            .map(|dependency| portable_git_dependency(context.index, dependency))
            .collect(),
        step_template,
        properties,
        extra: carried(&action.extra, &["Id", "Slug", "Links", "StepPackageId"]),
    }
}

/// Package references by feed name (an action's, a step template's).
pub fn portable_packages(
    packages: &[ActionPackageReference],
    index: &SpaceIndex,
) -> Vec<portable::PackageReference> {
    packages
        .iter()
        .map(|package| portable::PackageReference {
            name: package.name.clone(),
            package_id: package.package_id.clone(),
            feed: index
                .feeds
                .name(package.feed_id.as_deref().unwrap_or(BUILT_IN_FEED_ID)),
            acquisition_location: package
                .acquisition_location
                .clone()
                .unwrap_or_else(|| "Server".to_owned()),
            properties: package.properties.clone(),
        })
        .collect()
}

/// The package references `packages` name, by the managed space's feed ids; one whose name
/// matches a `current` one keeps its id and the server's extra fields.
pub fn desired_packages(
    current: &[ActionPackageReference],
    packages: &[portable::PackageReference],
    index: &SpaceIndex,
) -> Vec<ActionPackageReference> {
    packages
        .iter()
        .map(|package| {
            let mut desired = current
                .iter()
                .find(|p| p.name == package.name)
                .cloned()
                .unwrap_or(ActionPackageReference {
                    name: package.name.clone(),
                    ..Default::default()
                });
            desired.package_id = package.package_id.clone();
            desired.feed_id = index.feeds.id(&package.feed).cloned();
            desired.acquisition_location = Some(package.acquisition_location.clone());
            desired.properties = package.properties.clone();
            desired
        })
        .collect()
}

/// The package's steps in the package's order; a step or action whose name matches an existing
/// one keeps its id (and the server's extra fields), so the audit history stays readable.
pub fn desired_process(
    existing: &DeploymentProcess,
    process: &portable::Process,
    context: &Context<'_>,
) -> DeploymentProcess {
    let mut desired = existing.clone();
    desired.steps = process
        .steps
        .iter()
        .map(|step| {
            desired_step(
                existing.steps.iter().find(|s| s.name == step.name),
                step,
                context,
            )
        })
        .collect();
    desired
}

pub fn desired_step(
    existing: Option<&ProcessStep>,
    step: &portable::Step,
    context: &Context<'_>,
) -> ProcessStep {
    let mut desired = existing.cloned().unwrap_or_else(|| ProcessStep {
        name: step.name.clone(),
        ..Default::default()
    });
    desired.package_requirement = Some(step.package_requirement.clone());
    desired.condition = Some(step.condition.clone());
    desired.start_trigger = Some(step.start_trigger.clone());
    let mut properties = desired_properties(&desired.properties, &step.properties, context);
    if !step.roles.is_empty() {
        properties.insert(
            "Octopus.Action.TargetRoles".into(),
            PropertyValue::Text(step.roles.join(",")),
        );
    }
    desired.properties = properties;
    let current_actions = std::mem::take(&mut desired.actions);
    desired.actions = step
        .actions
        .iter()
        .map(|action| {
            desired_action(
                current_actions.iter().find(|a| a.name == action.name),
                action,
                context,
            )
        })
        .collect();
    merge::<ProcessStep>(&mut desired.extra, &step.extra);
    desired
}

/// Text properties as the package has them, references as the managed space's id of the named
/// resource (deploy refuses a missing one before writing, `apply::resolve`); a sensitive
/// property keeps the value the server holds (so a re-deploy writes nothing and no
/// secret is compared); where the server holds none it is written with its substituted
/// `secrets.json` entry, and left out while that entry is still a placeholder (deploy refuses
/// that case before writing, see `apply::project::check_secrets`).
pub fn desired_properties(
    existing: &BTreeMap<String, PropertyValue>,
    properties: &BTreeMap<String, portable::PropertyValue>,
    context: &Context<'_>,
) -> BTreeMap<String, PropertyValue> {
    properties
        .iter()
        .filter_map(|(key, value)| {
            let value = match value {
                portable::PropertyValue::Reference(reference) => {
                    PropertyValue::Text(id_of(context.index, reference)?)
                }
                portable::PropertyValue::Json(json) => {
                    PropertyValue::Text(desired_json(context.index, json)?)
                }
                portable::PropertyValue::Text(text) => PropertyValue::Text(text.clone()),
                portable::PropertyValue::Sensitive(sensitive) => match existing.get(key) {
                    Some(PropertyValue::Sensitive(held)) if held.has_value => {
                        PropertyValue::Sensitive(SensitiveValue::keep())
                    }
                    _ => match context.secrets.and_then(|secrets| {
                        super::variables::substituted(secrets, sensitive.secret.as_deref())
                    }) {
                        Some(value) => PropertyValue::Sensitive(SensitiveValue::set(value)),
                        None => return None,
                    },
                },
            };
            Some((key.clone(), value))
        })
        .collect()
}

/// `--overwrite-variables`: each sensitive property of `process` (as written) that the server
/// already held before this deploy (`before`) is set again from its substituted `secrets.json`
/// entry, since Octopus never returns a secret and whether it changed cannot be known. One the
/// deploy has just created is not sent twice. Returns the names of the steps that carry one.
pub fn resend_held_property_secrets(
    process: &mut DeploymentProcess,
    before: &DeploymentProcess,
    portable: &portable::Process,
    secrets: &BTreeMap<String, Secret>,
) -> Vec<String> {
    let resend = |properties: &mut BTreeMap<String, PropertyValue>,
                  held_before: Option<&BTreeMap<String, PropertyValue>>,
                  wanted: &BTreeMap<String, portable::PropertyValue>| {
        let mut resent = false;
        for (key, value) in wanted {
            let portable::PropertyValue::Sensitive(sensitive) = value else {
                continue;
            };
            let was_held = held_before
                .and_then(|held| held.get(key))
                .is_some_and(|v| matches!(v, PropertyValue::Sensitive(held) if held.has_value));
            let Some(secret) = super::variables::substituted(secrets, sensitive.secret.as_deref())
            else {
                continue;
            };
            if was_held && properties.contains_key(key) {
                properties.insert(
                    key.clone(),
                    PropertyValue::Sensitive(SensitiveValue::set(secret)),
                );
                resent = true;
            }
        }
        resent
    };
    let mut steps = Vec::new();
    for step in &mut process.steps {
        let Some(wanted) = portable.steps.iter().find(|s| s.name == step.name) else {
            continue;
        };
        let step_before = before.steps.iter().find(|s| s.name == step.name);
        let mut resent = resend(
            &mut step.properties,
            step_before.map(|s| &s.properties),
            &wanted.properties,
        );
        for action in &mut step.actions {
            let Some(wanted_action) = wanted.actions.iter().find(|a| a.name == action.name) else {
                continue;
            };
            let action_before =
                step_before.and_then(|s| s.actions.iter().find(|a| a.name == action.name));
            resent |= resend(
                &mut action.properties,
                action_before.map(|a| &a.properties),
                &wanted_action.properties,
            );
        }
        if resent {
            steps.push(step.name.clone());
        }
    }
    steps
}

/// The version of the managed space's template a step is pinned to: the template's own where the
/// step used the template project's current one (or the package carries no template to tell),
/// else 0, so Octopus offers the update downstream as it did upstream (octoterra
/// `octopus_action_processor.go`, `ReplaceStepTemplateVersion`: "set the version to 0 to allow
/// the newly created step to show that an update is available").
fn template_version(
    template: &portable::StepTemplateRef,
    downstream: &crate::octopus::space_index::StepTemplate,
) -> i64 {
    match downstream.carried_version {
        Some(current) if current != template.version => 0,
        _ => downstream.version.unwrap_or(0),
    }
}

pub fn desired_action(
    existing: Option<&ProcessAction>,
    action: &portable::Action,
    context: &Context<'_>,
) -> ProcessAction {
    let index = context.index;
    let mut desired = existing.cloned().unwrap_or_else(|| ProcessAction {
        name: action.name.clone(),
        action_type: action.action_type.clone(),
        ..Default::default()
    });
    desired.action_type = action.action_type.clone();
    desired.is_disabled = action.is_disabled;
    desired.is_required = action.is_required;
    desired.can_be_used_for_project_versioning = action.can_be_used_for_project_versioning;
    if action.condition.is_some() {
        desired.condition = action.condition.clone();
    }
    set_text(&mut desired.notes, &action.notes);
    desired.worker_pool_id = action
        .worker_pool
        .as_ref()
        .and_then(|name| index.worker_pools.id(name))
        .cloned();
    desired.worker_pool_variable = action.worker_pool_variable.clone();
    desired.environments = index.environments.ids(&action.environments);
    desired.excluded_environments = index.environments.ids(&action.excluded_environments);
    desired.channels = context.channels.ids(&action.channels);
    desired.tenant_tags = action.tenant_tags.clone();
    match &action.container {
        Some(container) => {
            let mut desired_container = desired.container.clone().unwrap_or_default();
            desired_container.feed_id = container
                .feed
                .as_ref()
                .and_then(|name| index.feeds.id(name))
                .cloned();
            desired_container.image = container.image.clone();
            desired.container = Some(desired_container);
        }
        None => {
            let empty = desired
                .container
                .as_ref()
                .is_none_or(|c: &ActionContainer| {
                    c.image.as_deref().unwrap_or("").is_empty() && c.feed_id.is_none()
                });
            if !empty {
                desired.container = None;
            }
        }
    }
    desired.packages = desired_packages(&desired.packages, &action.packages, index);
    desired.git_dependencies = action
        .git_dependencies
        .iter()
        .map(|dependency| desired_git_dependency(index, dependency))
        .collect();
    let mut properties = desired_properties(&desired.properties, &action.properties, context);
    if let Some(template) = &action.step_template {
        if let Some(downstream) = index.step_template_named(&template.name) {
            properties.insert(
                "Octopus.Action.Template.Id".into(),
                PropertyValue::Text(downstream.id.clone()),
            );
            properties.insert(
                "Octopus.Action.Template.Version".into(),
                PropertyValue::Text(template_version(template, downstream).to_string()),
            );
        }
    }
    desired.properties = properties;
    super::server_rewrites::as_the_server_stores(&mut desired);
    merge::<ProcessAction>(&mut desired.extra, &action.extra);
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::testing::{index_for, payload};
    use crate::octopus::space_index::SpaceIndex;
    use crate::secret::Secret;

    const PAYLOADS: [&str; 3] = [
        include_str!("../../tests/fixtures/octopus-payloads/deploymentprocess__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/deploymentprocess-script__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/deploymentprocess-k8s__octopus-docs-cloud-2023.json"),
    ];

    /// `from_api(to_api(x)) == x`, on real processes: onto the process itself (an unchanged
    /// re-deploy) and onto an empty one (a first deploy).
    #[test]
    fn real_processes_round_trip() {
        for text in PAYLOADS {
            let api: DeploymentProcess = payload(text);
            let (index, channels) = index_for(&serde_json::from_str(text).unwrap());
            let context = Context {
                index: &index,
                channels,
                secrets: None,
            };
            let mut portable = portable_process(&api, &context);
            assert!(!portable.steps.is_empty());
            // Known gap, kept as is (this restructure changes no behaviour): a package whose feed
            // is a variable expression (`#{Kubernetes.Deployment.Feed}`) has no feed id to write,
            // and deploy refuses it as a missing feed before writing anything.
            for action in portable.steps.iter_mut().flat_map(|s| s.actions.iter_mut()) {
                action.packages.retain(|p| !p.feed.starts_with("#{"));
            }
            let onto_itself = desired_process(&api, &portable, &context);
            assert_eq!(portable_process(&onto_itself, &context), portable);
            let onto_empty = desired_process(&DeploymentProcess::default(), &portable, &context);
            let mut again = portable_process(&onto_empty, &context);
            // A new action's sensitive properties have no value to keep: they are left out.
            let mut expected = portable.clone();
            for step in expected.steps.iter_mut().chain(again.steps.iter_mut()) {
                for action in &mut step.actions {
                    action
                        .properties
                        .retain(|_, v| matches!(v, portable::PropertyValue::Text(_)));
                }
            }
            assert_eq!(again, expected);
        }
    }

    #[test]
    fn properties_convert_both_ways() {
        let index = SpaceIndex {
            feeds: crate::octopus::space_index::Names::of([(Some("Feeds-7"), "Docker Hub")]),
            accounts: crate::octopus::space_index::Names::of([(Some("Accounts-4"), "Azure")]),
            ..SpaceIndex::default()
        };
        let context = Context {
            index: &index,
            channels: Default::default(),
            secrets: None,
        };
        let held = BTreeMap::from([(
            "Secret".to_owned(),
            PropertyValue::Sensitive(SensitiveValue {
                has_value: true,
                ..SensitiveValue::keep()
            }),
        )]);
        let sensitive = portable::PropertyValue::Sensitive(portable::SensitiveProperty {
            sensitive: true,
            secret: None,
        });
        // (portable property, what the server holds) → the property written
        let cases = [
            (
                "Octopus.Action.Package.FeedId",
                portable::PropertyValue::Reference(portable::ResourceReference {
                    kind: portable::ReferenceKind::Feed,
                    name: "Docker Hub".into(),
                }),
                &held,
                Some(PropertyValue::Text("Feeds-7".into())),
            ),
            (
                "Octopus.Action.Azure.AccountId",
                portable::PropertyValue::Reference(portable::ResourceReference {
                    kind: portable::ReferenceKind::Account,
                    name: "Azure".into(),
                }),
                &held,
                Some(PropertyValue::Text("Accounts-4".into())),
            ),
            (
                "Octopus.Action.Azure.AccountId",
                portable::PropertyValue::Reference(portable::ResourceReference {
                    kind: portable::ReferenceKind::Account,
                    name: "Not downstream".into(),
                }),
                &held,
                None,
            ),
            (
                "Plain",
                portable::PropertyValue::Text("x".into()),
                &held,
                Some(PropertyValue::Text("x".into())),
            ),
            (
                "Secret",
                sensitive.clone(),
                &held,
                Some(PropertyValue::Sensitive(SensitiveValue::keep())),
            ),
            ("Secret", sensitive, &BTreeMap::new(), None),
        ];
        for (key, value, existing, expected) in cases {
            let written = desired_properties(
                existing,
                &BTreeMap::from([(key.to_owned(), value)]),
                &context,
            );
            assert_eq!(written.get(key).cloned(), expected, "{key}");
        }
        assert_eq!(
            portable_property(&PropertyValue::Text("a".into())),
            portable::PropertyValue::Text("a".into())
        );
    }

    /// `--overwrite-variables`: a property the server held before the deploy is set again from
    /// its substituted secret; one the deploy has just created, or one still a placeholder, is not.
    #[test]
    fn held_property_secrets_are_resent_from_their_substituted_secret() {
        let sensitive = |key: &str| {
            portable::PropertyValue::Sensitive(portable::SensitiveProperty {
                sensitive: true,
                secret: Some(key.to_owned()),
            })
        };
        let portable = portable::Process {
            steps: vec![portable::Step {
                name: "Notify".into(),
                actions: vec![portable::Action {
                    name: "Notify Slack".into(),
                    properties: BTreeMap::from([
                        ("Held".to_owned(), sensitive("held")),
                        ("New".to_owned(), sensitive("new")),
                        ("Placeholder".to_owned(), sensitive("placeholder")),
                    ]),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let held = || PropertyValue::Sensitive(SensitiveValue::keep());
        let process = |keys: &[&str]| DeploymentProcess {
            steps: vec![ProcessStep {
                name: "Notify".into(),
                actions: vec![ProcessAction {
                    name: "Notify Slack".into(),
                    properties: keys.iter().map(|k| (k.to_string(), held())).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let before = process(&["Held", "Placeholder"]);
        let mut written = process(&["Held", "New", "Placeholder"]);
        let secrets = BTreeMap::from([
            ("held".to_owned(), Secret::new("rotated")),
            ("new".to_owned(), Secret::new("fresh")),
            ("placeholder".to_owned(), Secret::new("#{X | JsonEscape}")),
        ]);
        let steps = resend_held_property_secrets(&mut written, &before, &portable, &secrets);
        assert_eq!(steps, ["Notify"]);
        let properties = &written.steps[0].actions[0].properties;
        assert_eq!(
            properties["Held"],
            PropertyValue::Sensitive(SensitiveValue::set(Secret::new("rotated")))
        );
        assert_eq!(properties["New"], held());
        assert_eq!(properties["Placeholder"], held());
        let mut unchanged = before.clone();
        assert!(
            resend_held_property_secrets(&mut unchanged, &before, &portable, &BTreeMap::new())
                .is_empty()
        );
    }

    /// Serialize gives each sensitive property its own secrets.json entry; deploy writes the
    /// substituted value where the server holds none, keeps a held one (so a re-deploy compares
    /// equal), and leaves a placeholder out.
    #[test]
    fn sensitive_properties_get_a_secret_and_are_written_from_it() {
        let sensitive = || {
            portable::PropertyValue::Sensitive(portable::SensitiveProperty {
                sensitive: true,
                secret: None,
            })
        };
        let action = portable::Action {
            name: "Notify Slack".into(),
            properties: BTreeMap::from([
                ("Slack.Webhook".to_owned(), sensitive()),
                (
                    "Plain".to_owned(),
                    portable::PropertyValue::Text("x".into()),
                ),
            ]),
            ..Default::default()
        };
        let mut process = portable::Process {
            steps: vec![portable::Step {
                name: "Notify".into(),
                actions: vec![action],
                ..Default::default()
            }],
        };
        let mut runbook_process = process.clone();
        // A variable's key already takes the first occurrence.
        let taken = "hello_octofleet_secret_notify_slack__slack_webhook_1".to_owned();
        let mut secrets = BTreeMap::from([(taken.clone(), "#{Other}".to_owned())]);
        let mut names = BTreeMap::new();
        assign_property_secrets(&mut process, "Hello", None, &mut secrets, &mut names);
        assign_property_secrets(
            &mut runbook_process,
            "Hello",
            Some("Rotate"),
            &mut secrets,
            &mut names,
        );
        let placeholder = "#{Octofleet.Secret[Notify Slack].Slack.Webhook | JsonEscape}";
        let key = "hello_octofleet_secret_notify_slack__slack_webhook_2";
        let runbook_key = "hello_runbook_rotate_octofleet_secret_notify_slack__slack_webhook_1";
        assert_eq!(secrets[key], placeholder);
        assert_eq!(secrets[runbook_key], placeholder);
        assert_eq!(secrets[&taken], "#{Other}");
        assert_eq!(names[key], "Octofleet.Secret[Notify Slack].Slack.Webhook");
        let secret_of = |process: &portable::Process| match &process.steps[0].actions[0].properties
            ["Slack.Webhook"]
        {
            portable::PropertyValue::Sensitive(s) => s.secret.clone(),
            _ => None,
        };
        assert_eq!(secret_of(&process).as_deref(), Some(key));
        assert_eq!(secret_of(&runbook_process).as_deref(), Some(runbook_key));

        let index = SpaceIndex::default();
        let substituted = BTreeMap::from([
            (key.to_owned(), Secret::new("hook")),
            (runbook_key.to_owned(), Secret::new(placeholder)),
        ]);
        let context = Context {
            index: &index,
            channels: Default::default(),
            secrets: Some(&substituted),
        };
        let properties = &process.steps[0].actions[0].properties;
        let held = BTreeMap::from([(
            "Slack.Webhook".to_owned(),
            PropertyValue::Sensitive(SensitiveValue {
                has_value: true,
                ..SensitiveValue::keep()
            }),
        )]);
        assert_eq!(
            desired_properties(&BTreeMap::new(), properties, &context).get("Slack.Webhook"),
            Some(&PropertyValue::Sensitive(SensitiveValue::set(Secret::new(
                "hook"
            ))))
        );
        assert_eq!(
            desired_properties(&held, properties, &context).get("Slack.Webhook"),
            Some(&PropertyValue::Sensitive(SensitiveValue::keep()))
        );
        let unsubstituted = &runbook_process.steps[0].actions[0].properties;
        assert_eq!(
            desired_properties(&BTreeMap::new(), unsubstituted, &context).get("Slack.Webhook"),
            None
        );
    }
}
