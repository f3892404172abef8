//! Project settings (with tenant templates and Config-as-Code settings), both directions; and
//! the version control of a Config-as-Code project deployed onto its fork.

use super::fields::{merge, set_text};
use super::process::portable_property;
use super::references::{desired_json, id_of, portable_text_property, reference_to};
use super::{Context, Filters};
use crate::octopus::project_export::ProjectDocuments;
use crate::octopus::resources::{
    ActionTemplateParameter, ConnectivityPolicy, DonorPackage, Extra, GitPersistenceCredentials,
    PersistenceSettings, Project, ProjectVersioningStrategy, PropertyValue, SensitiveValue,
};
use crate::octopus::space_index::SpaceIndex;
use crate::portable::naming::template_secret_name;
use crate::portable::references::is_reference_value;
use crate::portable::{self, PortableProject, ReferenceKind};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// Project fields the portable model names explicitly; everything else on the project document
/// that is neither server-owned nor an id is carried in `extra`.
pub const SERVER_OWNED: &[&str] = &[
    "Links",
    "LastModifiedOn",
    "LastModifiedBy",
    "ClonedFromProjectId",
    "DeploymentProcessId",
    "VariableSetId",
    "SpaceId",
    "Slug",
    "Icon",
    "ExtensionSettings",
    "ProjectGroupId",
    "LifecycleId",
    "AutoDeployReleaseOverrides",
    "ReleaseCreationStrategy",
    "ConversionState",
    "DeprovisioningRunbookId",
    "ProvisioningRunbookId",
    "ProjectTags",
    "ProjectTemplateDetails",
];

/// Carried as the package's `built_in_trigger` (convert/triggers.rs), with the release
/// creation strategy it needs, never as a setting of its own.
const AUTO_CREATE_RELEASE: &str = "AutoCreateRelease";

/// Whether a Config-as-Code project's package carries what `flag` (a `ConversionState` flag)
/// says may have moved to git: it has not (the server still keeps it in the database, as after
/// `git/convert`), or the git values were read (`--include-cac-values`).
pub fn carries(project: &Project, documents: &ProjectDocuments, flag: &str) -> bool {
    !project.conversion_state(flag) || documents.parts.git_ref.is_some()
}

pub fn project_settings(
    project: &Project,
    documents: &ProjectDocuments,
    filters: &Filters,
    context: &Context<'_>,
) -> portable::ProjectSettings {
    // Config-as-Code projects keep these in git; the git ref's deployment settings hold them.
    let settings = documents.parts.deployment_settings.as_ref();
    let setting = |key: &str| settings.and_then(|s| s.get(key)).filter(|v| !v.is_null());
    let string_setting = |key: &str, fallback: &Option<String>| {
        setting(key)
            .and_then(|v| v.as_str().map(str::to_owned))
            .or_else(|| fallback.clone())
    };
    let versioning = match setting("VersioningStrategy") {
        Some(value) => serde_json::from_value(value.clone()).ok(),
        None => project.versioning_strategy.clone(),
    };
    let connectivity = match setting("ConnectivityPolicy") {
        Some(value) => serde_json::from_value(value.clone()).ok(),
        None => project.project_connectivity_policy.clone(),
    };
    let mut extra: BTreeMap<String, serde_json::Value> = project
        .extra
        .iter()
        .filter(|(key, value)| !SERVER_OWNED.contains(&key.as_str()) && !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    extra.remove("Id");
    extra.remove(AUTO_CREATE_RELEASE);
    let project_tags = project
        .extra
        .get("ProjectTags")
        .and_then(|tags| serde_json::from_value::<Vec<String>>(tags.clone()).ok())
        .unwrap_or_default();
    let mut included: Vec<String> = context
        .index
        .library_variable_sets
        .names(&project.included_library_variable_set_ids)
        .into_iter()
        .filter(|name| !filters.excluded_library_variable_sets.contains(name))
        .collect();
    included.sort();
    portable::ProjectSettings {
        name: project.name.clone(),
        description: project.description.clone().filter(|d| !d.is_empty()),
        project_group: context
            .index
            .project_groups
            .name(project.project_group_id.as_deref().unwrap_or_default()),
        lifecycle: context
            .index
            .lifecycles
            .name(project.lifecycle_id.as_deref().unwrap_or_default()),
        tenanted_deployment_mode: project
            .tenanted_deployment_mode
            .clone()
            .unwrap_or_else(|| "Untenanted".to_owned()),
        default_guided_failure_mode: string_setting(
            "DefaultGuidedFailureMode",
            &project.default_guided_failure_mode,
        )
        .unwrap_or_else(|| "EnvironmentDefault".to_owned()),
        release_notes_template: string_setting(
            "ReleaseNotesTemplate",
            &project.release_notes_template,
        ),
        deployment_changes_template: string_setting(
            "DeploymentChangesTemplate",
            &project.deployment_changes_template,
        ),
        discrete_channel_release: project.discrete_channel_release,
        default_to_skip_if_already_installed: setting("DefaultToSkipIfAlreadyInstalled")
            .and_then(|v| v.as_bool())
            .unwrap_or(project.default_to_skip_if_already_installed),
        is_disabled: project.is_disabled,
        versioning_strategy: versioning.map(
            |strategy: crate::octopus::resources::ProjectVersioningStrategy| {
                portable::VersioningStrategy {
                    template: strategy.template.filter(|t| !t.is_empty()),
                    donor_package: strategy.donor_package.and_then(|donor| {
                        Some(portable::DonorPackage {
                            deployment_action: donor.deployment_action.filter(|a| !a.is_empty())?,
                            package_reference: donor.package_reference.filter(|r| !r.is_empty()),
                        })
                    }),
                }
            },
        ),
        connectivity_policy: connectivity.map(
            |policy: crate::octopus::resources::ConnectivityPolicy| portable_connectivity(&policy),
        ),
        templates: project
            .templates
            .iter()
            .map(|template| portable_template(template, context.index))
            .collect(),
        included_library_variable_sets: included,
        project_tags,
        version_control: project
            .persistence_settings
            .as_ref()
            .filter(|s| s.kind == "VersionControlled")
            .map(|settings| {
                let credentials = settings.credentials.as_ref();
                portable::VersionControl {
                    url: settings.url.clone().unwrap_or_default(),
                    default_branch: settings
                        .default_branch
                        .clone()
                        .unwrap_or_else(|| "main".to_owned()),
                    base_path: settings
                        .base_path
                        .clone()
                        .unwrap_or_else(|| ".octopus".to_owned()),
                    protected_default_branch: settings.protected_default_branch.unwrap_or(false),
                    protected_branch_name_patterns: settings
                        .protected_branch_name_patterns
                        .clone()
                        .unwrap_or_default(),
                    credentials: portable::GitCredentialsRef {
                        kind: credentials.map_or("Anonymous".to_owned(), |c| c.kind.clone()),
                        name: credentials
                            .filter(|c| c.kind == "Reference")
                            .and_then(|c| c.id.as_deref())
                            .map(|id| context.index.git_credentials.name(id)),
                        username: credentials.and_then(|c| c.username.clone()),
                    },
                    carries_text_variables: carries(project, documents, "VariablesAreInGit"),
                    carries_runbooks: carries(project, documents, "RunbooksAreInGit"),
                }
            }),
        extra,
    }
}

pub fn portable_connectivity(
    policy: &crate::octopus::resources::ConnectivityPolicy,
) -> portable::ConnectivityPolicy {
    portable::ConnectivityPolicy {
        skip_machine_behavior: policy
            .skip_machine_behavior
            .clone()
            .unwrap_or_else(|| "None".to_owned()),
        target_roles: policy.target_roles.clone(),
        allow_deployments_to_no_targets: policy.allow_deployments_to_no_targets,
        exclude_unhealthy_targets: policy.exclude_unhealthy_targets,
    }
}

/// A tenant project template; a default whose control type names a resource (an account, a
/// certificate, a worker pool: its value is an id) is carried as a reference by name.
pub fn portable_template(
    template: &crate::octopus::resources::ActionTemplateParameter,
    index: &SpaceIndex,
) -> portable::Template {
    let kind = ReferenceKind::of_display_settings(&template.display_settings);
    let default_value = match (&template.default_value, kind) {
        (Some(PropertyValue::Text(id)), Some(kind)) if is_reference_value(id) => {
            Some(reference_to(index, kind, id.trim()).map_or_else(
                || portable::PropertyValue::Text(id.clone()),
                portable::PropertyValue::Reference,
            ))
        }
        // Any other text naming resources by id (a package parameter's JSON) names them.
        (Some(PropertyValue::Text(text)), _) => Some(portable_text_property(index, "", text)),
        (value, _) => value.as_ref().map(portable_property),
    };
    portable::Template {
        name: template.name.clone(),
        label: template.label.clone().filter(|l| !l.is_empty()),
        help_text: template.help_text.clone().filter(|h| !h.is_empty()),
        default_value,
        display_settings: template.display_settings.clone(),
    }
}

/// Gives every sensitive template default an entry in `secrets` (`secrets.json`), as sensitive
/// step properties have: the key (`<project>_octofleet_secret_project_templates__<template>_<n>`)
/// goes into the default's `secret`, the value is the placeholder
/// `#{Octofleet.Secret[Project Templates].<template> | JsonEscape}`, and `names` learns key → that
/// Octopus variable (the Terraform module's defaults). A key already taken takes the next
/// occurrence number.
pub fn assign_template_secrets(
    templates: &mut [portable::Template],
    project_name: &str,
    secrets: &mut BTreeMap<String, String>,
    names: &mut BTreeMap<String, String>,
) {
    for template in templates {
        let Some(portable::PropertyValue::Sensitive(sensitive)) = &mut template.default_value
        else {
            continue;
        };
        let name = template_secret_name(&template.name);
        sensitive.secret = Some(super::process::assign_secret(
            project_name,
            None,
            name,
            secrets,
            names,
        ));
    }
}

pub fn desired_connectivity(
    existing: Option<&ConnectivityPolicy>,
    policy: &portable::ConnectivityPolicy,
) -> ConnectivityPolicy {
    let mut desired = existing.cloned().unwrap_or_default();
    desired.skip_machine_behavior = Some(policy.skip_machine_behavior.clone());
    desired.target_roles = policy.target_roles.clone();
    desired.allow_deployments_to_no_targets = policy.allow_deployments_to_no_targets;
    desired.exclude_unhealthy_targets = policy.exclude_unhealthy_targets;
    desired
}

/// The project as the package wants it, on top of what the server holds. `secrets` (deploy's
/// substituted `secrets.json`) supplies sensitive template defaults the server holds none for;
/// a held one is kept (see [`desired_templates`] for sending it again).
pub fn desired_project(
    existing: Option<&Project>,
    package: &PortableProject,
    name: &str,
    index: &SpaceIndex,
    space_id: &str,
    secrets: Option<&BTreeMap<String, Secret>>,
) -> Project {
    let settings = &package.project;
    let mut project = existing.cloned().unwrap_or_else(|| Project {
        space_id: Some(space_id.to_owned()),
        name: name.to_owned(),
        ..Default::default()
    });
    project.name = name.to_owned();
    set_text(&mut project.description, &settings.description);
    project.is_disabled = settings.is_disabled;
    project.lifecycle_id = index.lifecycles.id(&settings.lifecycle).cloned();
    project.project_group_id = index.project_groups.id(&settings.project_group).cloned();
    project.tenanted_deployment_mode = Some(settings.tenanted_deployment_mode.clone());
    project.discrete_channel_release = settings.discrete_channel_release;
    project.included_library_variable_set_ids = settings
        .included_library_variable_sets
        .iter()
        .filter_map(|name| index.library_variable_sets.id(name).cloned())
        .collect();
    project.templates = desired_templates(&project.templates, &settings.templates, secrets, index);
    if !settings.project_tags.is_empty() {
        project.extra.insert(
            "ProjectTags".into(),
            serde_json::json!(settings.project_tags),
        );
    }
    merge::<Project>(&mut project.extra, &settings.extra);
    // Automatic release creation is never taken from a package: without its release creation
    // strategy (a channel and a package step, by id) a real server refuses it with a 400. The
    // downstream project keeps whatever it has (a person may have set it up there).
    match existing.and_then(|p| p.extra.get(AUTO_CREATE_RELEASE)) {
        Some(value) => {
            project
                .extra
                .insert(AUTO_CREATE_RELEASE.into(), value.clone());
        }
        None => {
            project.extra.remove(AUTO_CREATE_RELEASE);
        }
    }
    // Config-as-Code projects keep deployment settings in git; the server refuses them here.
    if !project.is_config_as_code() {
        project.default_guided_failure_mode = Some(settings.default_guided_failure_mode.clone());
        project.default_to_skip_if_already_installed =
            settings.default_to_skip_if_already_installed;
        set_text(
            &mut project.release_notes_template,
            &settings.release_notes_template,
        );
        set_text(
            &mut project.deployment_changes_template,
            &settings.deployment_changes_template,
        );
        if let Some(policy) = &settings.connectivity_policy {
            project.project_connectivity_policy = Some(desired_connectivity(
                project.project_connectivity_policy.as_ref(),
                policy,
            ));
        }
        if let Some(strategy) = &settings.versioning_strategy {
            let mut desired = project.versioning_strategy.clone().unwrap_or_default();
            desired.donor_package = strategy.donor_package.as_ref().map(|donor| DonorPackage {
                deployment_action: Some(donor.deployment_action.clone()),
                package_reference: Some(donor.package_reference.clone().unwrap_or_default()),
            });
            // A template beside a donor package is refused ("Only one of either a donor package
            // step or a version template may be provided"); the donor wins, as on the server.
            desired.template = match desired.donor_package {
                Some(_) => None,
                None => strategy.template.clone(),
            };
            clear_template_for_a_donor(project.versioning_strategy.as_ref(), &mut desired);
            project.versioning_strategy = Some(desired);
        }
    }
    project
}

/// Tenant project templates by name, keeping ids (tenant values are keyed by them). A sensitive
/// default where the server holds none is written with its substituted `secrets.json` entry
/// (left out while that is still a placeholder: deploy refuses that case before writing); a held
/// one is kept, so a re-deploy compares equal (see [`resend_held_template_secrets`]).
pub fn desired_templates(
    existing: &[ActionTemplateParameter],
    templates: &[portable::Template],
    secrets: Option<&BTreeMap<String, Secret>>,
    index: &SpaceIndex,
) -> Vec<ActionTemplateParameter> {
    templates
        .iter()
        .map(|template| {
            let current = existing.iter().find(|t| t.name == template.name);
            let mut desired = current.cloned().unwrap_or_else(|| ActionTemplateParameter {
                id: Some(uuid::Uuid::new_v4().to_string()),
                name: template.name.clone(),
                ..Default::default()
            });
            set_text(&mut desired.label, &template.label);
            set_text(&mut desired.help_text, &template.help_text);
            desired.display_settings = template.display_settings.clone();
            desired.default_value = match &template.default_value {
                Some(portable::PropertyValue::Text(text)) => {
                    Some(PropertyValue::Text(text.clone()))
                }
                // Deploy refused a missing one before writing (`apply::resolve`).
                Some(portable::PropertyValue::Reference(reference)) => {
                    id_of(index, reference).map(PropertyValue::Text)
                }
                Some(portable::PropertyValue::Json(json)) => {
                    desired_json(index, json).map(PropertyValue::Text)
                }
                Some(portable::PropertyValue::Sensitive(sensitive)) => {
                    let held = matches!(
                        current.and_then(|t| t.default_value.as_ref()),
                        Some(PropertyValue::Sensitive(held)) if held.has_value
                    );
                    let secret = secrets.and_then(|secrets| {
                        super::variables::substituted(secrets, sensitive.secret.as_deref())
                    });
                    match (secret, held) {
                        (_, true) => Some(PropertyValue::Sensitive(SensitiveValue::keep())),
                        (Some(secret), false) => {
                            Some(PropertyValue::Sensitive(SensitiveValue::set(secret)))
                        }
                        (None, false) => None,
                    }
                }
                None => None,
            };
            desired
        })
        .collect()
}

/// `--overwrite-variables`: the sensitive template defaults [`desired_templates`] kept as the
/// server holds them are set again from their substituted `secrets.json` entry (Octopus never
/// returns a secret, so whether it changed cannot be known). Whether any was.
pub fn resend_held_template_secrets(
    templates: &mut [ActionTemplateParameter],
    portable: &[portable::Template],
    secrets: &BTreeMap<String, Secret>,
) -> bool {
    let mut resent = false;
    for template in templates {
        let Some(PropertyValue::Sensitive(kept)) = &mut template.default_value else {
            continue;
        };
        if kept.new_value.is_some() {
            continue;
        }
        let secret = portable
            .iter()
            .find(|t| t.name == template.name)
            .and_then(|t| match &t.default_value {
                Some(portable::PropertyValue::Sensitive(sensitive)) => {
                    super::variables::substituted(secrets, sensitive.secret.as_deref())
                }
                _ => None,
            });
        if let Some(secret) = secret {
            *kept = SensitiveValue::set(secret);
            resent = true;
        }
    }
    resent
}

/// Config-as-Code: the credentials the downstream project reaches its repository with (a
/// shared git credential, by name, else anonymous).
fn git_credentials(
    vcs: &portable::VersionControl,
    index: &SpaceIndex,
) -> GitPersistenceCredentials {
    match vcs.credentials.kind.as_str() {
        "Reference" => GitPersistenceCredentials {
            kind: "Reference".into(),
            id: vcs
                .credentials
                .name
                .as_ref()
                .and_then(|n| index.git_credentials.id(n))
                .cloned(),
            username: None,
            password: None,
            extra: Extra::new(),
        },
        _ => GitPersistenceCredentials {
            kind: "Anonymous".into(),
            id: None,
            username: None,
            password: None,
            extra: Extra::new(),
        },
    }
}

/// The body of the request that converts a database project to Config-as-Code on `url`.
/// Where the conversion's first commit goes when the default branch is protected.
pub const INITIAL_CONVERSION_BRANCH: &str = "octofleet/initial-conversion";

pub fn convert_to_git_body(
    vcs: &portable::VersionControl,
    url: &str,
    index: &SpaceIndex,
) -> serde_json::Value {
    // Sent explicitly: with a protected default branch the first commit cannot go there, so it
    // goes to a branch of its own (merged by a person, as protection intends); otherwise to the
    // default branch (issue 10, item 10).
    let initial_branch = if vcs.protected_default_branch {
        INITIAL_CONVERSION_BRANCH.to_owned()
    } else {
        vcs.default_branch.clone()
    };
    serde_json::json!({
        "CommitMessage": "Initial version, converted by octofleet",
        "InitialCommitBranchName": initial_branch,
        "VersionControlSettings": {
            "Type": "VersionControlled",
            "Url": url,
            "DefaultBranch": vcs.default_branch,
            "BasePath": vcs.base_path,
            "ProtectedDefaultBranch": vcs.protected_default_branch,
            "ProtectedBranchNamePatterns": vcs.protected_branch_name_patterns,
            "Credentials": git_credentials(vcs, index),
        }
    })
}

/// A Config-as-Code project pointed at `url` (the fork): its persistence settings, keeping what
/// the server holds of the credentials but their kind and id.
pub fn desired_version_control(
    project: &Project,
    vcs: &portable::VersionControl,
    url: String,
    index: &SpaceIndex,
) -> Project {
    let credentials = git_credentials(vcs, index);
    let mut desired = project.clone();
    let settings = desired
        .persistence_settings
        .get_or_insert_with(|| PersistenceSettings {
            kind: "VersionControlled".into(),
            ..Default::default()
        });
    settings.url = Some(url);
    settings.default_branch = Some(vcs.default_branch.clone());
    settings.base_path = Some(vcs.base_path.clone());
    let mut held = settings.credentials.clone().unwrap_or(credentials.clone());
    held.kind = credentials.kind.clone();
    held.id = credentials.id.clone();
    settings.credentials = Some(held);
    desired
}

/// The version template of a new project, as real servers give it (the project payloads in
/// tests/fixtures/octopus-payloads, 2018 to 2024, hold it).
pub const DEFAULT_VERSION_TEMPLATE: &str =
    "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}";

/// A switch to a donor package sends `Template: ""` where the server holds a template: servers
/// before 2024.1.1085 keep the template when sent `null` and then refuse the strategy ("Only one
/// of either a donor package step or a version template may be provided"; OctopusDeploy/Issues
/// #8455, whose workaround is "Set the value to \"\" rather than null"). Where the server holds
/// none (null or ""), what it holds is sent back, so a re-deploy compares equal.
pub fn clear_template_for_a_donor(
    current: Option<&ProjectVersioningStrategy>,
    desired: &mut ProjectVersioningStrategy,
) {
    if desired.donor_package.is_none() {
        return;
    }
    let held = current.and_then(|c| c.template.clone());
    desired.template = match held {
        Some(template) if !template.is_empty() => Some(String::new()),
        held => held,
    };
}

/// Keep the project loadable across the process write: a donor the written process will not
/// have (`kept` says which action names it will have) dangles, and a server then cannot load
/// the project (OctopusDeploy/Issues#7230, #7448, #7521: "The resource '<step>' was not
/// found."). Such a donor gives way to a template first (the package's, else the default); the
/// package's donor is set once the process holds its step (`defer_donor_versioning`).
pub fn donor_kept_loadable(desired: &mut Project, kept: impl Fn(&str) -> bool) {
    let Some(strategy) = desired.versioning_strategy.as_mut() else {
        return;
    };
    let dangles = strategy
        .donor_package
        .as_ref()
        .and_then(|donor| donor.deployment_action.as_deref())
        .is_some_and(|action| !kept(action));
    if dangles {
        strategy.donor_package = None;
        strategy.donor_package_step_id = None;
        strategy.template = Some(DEFAULT_VERSION_TEMPLATE.to_owned());
    }
}

/// A donor-package versioning strategy names an action of the deployment process, and the server
/// refuses (or stores an unloadable project with) a donor that is not there yet
/// (OctopusDeploy/Issues#6947, #7230). When `process` lacks the donor action, the strategy is
/// taken out of `desired` (which keeps `existing`'s strategy, when that one is still valid) and
/// returned, to be set once the process holds the step.
pub fn defer_donor_versioning(
    desired: &mut Project,
    existing: Option<&Project>,
    process: Option<&crate::octopus::resources::DeploymentProcess>,
) -> Option<ProjectVersioningStrategy> {
    let has_action = |strategy: &ProjectVersioningStrategy| {
        let Some(action) = strategy
            .donor_package
            .as_ref()
            .and_then(|donor| donor.deployment_action.as_deref())
        else {
            return true;
        };
        process.is_some_and(|process| {
            process
                .steps
                .iter()
                .flat_map(|step| step.actions.iter())
                .any(|a| a.name == action || a.id.as_deref() == Some(action))
        })
    };
    let wanted = desired.versioning_strategy.as_ref()?;
    if has_action(wanted) {
        return None;
    }
    let deferred = desired.versioning_strategy.take();
    desired.versioning_strategy = existing
        .and_then(|project| project.versioning_strategy.clone())
        .filter(|strategy| has_action(strategy));
    deferred
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conversion_names_its_initial_commit_branch() {
        let mut vcs: portable::VersionControl = serde_json::from_value(serde_json::json!({
            "url": "https://git.example.com/o/p.git", "default_branch": "main", "base_path": ".octopus",
            "protected_default_branch": false, "protected_branch_name_patterns": [],
            "credentials": {"kind": "Anonymous"}
        }))
        .unwrap();
        let index = SpaceIndex::default();
        let body = convert_to_git_body(&vcs, "https://fork", &index);
        assert_eq!(body["InitialCommitBranchName"], "main");
        vcs.protected_default_branch = true;
        let body = convert_to_git_body(&vcs, "https://fork", &index);
        assert_eq!(body["InitialCommitBranchName"], INITIAL_CONVERSION_BRANCH);
    }

    #[test]
    fn a_donor_step_the_process_lacks_is_set_later() {
        use crate::octopus::resources::{
            DeploymentProcess, ProcessAction, ProcessStep, ProjectVersioningStrategy,
        };
        let donor = ProjectVersioningStrategy {
            donor_package: Some(DonorPackage {
                deployment_action: Some("Deploy".into()),
                package_reference: Some(String::new()),
            }),
            ..Default::default()
        };
        let template = ProjectVersioningStrategy {
            template: Some("1.0.#{Octopus.Version.NextPatch}".into()),
            ..Default::default()
        };
        let existing = Project {
            versioning_strategy: Some(template.clone()),
            ..Default::default()
        };
        let mut desired = Project {
            versioning_strategy: Some(donor.clone()),
            ..Default::default()
        };
        let empty = DeploymentProcess::default();
        assert_eq!(
            defer_donor_versioning(&mut desired, Some(&existing), Some(&empty)),
            Some(donor.clone())
        );
        assert_eq!(
            desired.versioning_strategy,
            Some(template),
            "the existing one is kept meanwhile"
        );
        let with_step = DeploymentProcess {
            steps: vec![ProcessStep {
                name: "Deploy".into(),
                actions: vec![ProcessAction {
                    name: "Deploy".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut desired = Project {
            versioning_strategy: Some(donor.clone()),
            ..Default::default()
        };
        assert_eq!(
            defer_donor_versioning(&mut desired, None, Some(&with_step)),
            None
        );
        assert_eq!(desired.versioning_strategy, Some(donor));
    }
    /// A sensitive template default where the server holds none is written from its
    /// substituted secret (left out while a placeholder); a held one is kept, and sent again
    /// only when asked (`--overwrite-variables`).
    #[test]
    fn sensitive_template_defaults_are_written_from_their_secret() {
        let mut templates = vec![portable::Template {
            name: "Tenant.Key".into(),
            label: None,
            help_text: None,
            default_value: Some(portable::PropertyValue::Sensitive(
                portable::SensitiveProperty {
                    sensitive: true,
                    secret: None,
                },
            )),
            display_settings: BTreeMap::from([(
                "Octopus.ControlType".to_owned(),
                "Sensitive".to_owned(),
            )]),
        }];
        let (mut secrets_json, mut names) = (BTreeMap::new(), BTreeMap::new());
        assign_template_secrets(&mut templates, "Rich", &mut secrets_json, &mut names);
        let key = "rich_octofleet_secret_project_templates__tenant_key_1";
        assert_eq!(
            secrets_json[key],
            "#{Octofleet.Secret[Project Templates].Tenant.Key | JsonEscape}"
        );
        assert_eq!(names[key], "Octofleet.Secret[Project Templates].Tenant.Key");

        let substituted = BTreeMap::from([(key.to_owned(), Secret::new("s3cret"))]);
        let placeholder = BTreeMap::from([(key.to_owned(), Secret::new(&secrets_json[key]))]);
        let default = |written: &[ActionTemplateParameter]| written[0].default_value.clone();
        let set = Some(PropertyValue::Sensitive(SensitiveValue::set(Secret::new(
            "s3cret",
        ))));
        let keep = Some(PropertyValue::Sensitive(SensitiveValue::keep()));
        assert_eq!(
            default(&desired_templates(
                &[],
                &templates,
                Some(&substituted),
                &SpaceIndex::default()
            )),
            set
        );
        assert_eq!(
            default(&desired_templates(
                &[],
                &templates,
                Some(&placeholder),
                &SpaceIndex::default()
            )),
            None
        );
        let held = desired_templates(&[], &templates, Some(&substituted), &SpaceIndex::default());
        let mut again = desired_templates(
            &held,
            &templates,
            Some(&substituted),
            &SpaceIndex::default(),
        );
        assert_eq!(again[0].id, held[0].id, "the id is kept");
        assert_eq!(default(&again), keep);
        assert!(!resend_held_template_secrets(
            &mut again.clone(),
            &templates,
            &placeholder
        ));
        assert!(resend_held_template_secrets(
            &mut again,
            &templates,
            &substituted
        ));
        assert_eq!(default(&again), set);
    }

    use crate::convert::testing::{index_for, payload};
    use crate::octopus::project_parts::ProjectParts;
    use crate::octopus::resources::Space;

    const PAYLOADS: [&str; 4] = [
        include_str!("../../tests/fixtures/octopus-payloads/project-database__go-octopusdeploy-2018.3.6.json"),
        include_str!("../../tests/fixtures/octopus-payloads/project-database__octopusdeployutilities-2018.11.2.json"),
        include_str!("../../tests/fixtures/octopus-payloads/project-database__port-docs-2024.3.10989.json"),
        include_str!("../../tests/fixtures/octopus-payloads/project-database__terra-farm-terraform-provider-octopus-2016.json"),
    ];

    /// The portable project of `api`, read as serialize reads it.
    fn portable_of(api: &Project, index: &SpaceIndex) -> PortableProject {
        let documents = ProjectDocuments {
            server: "https://octopus.example".into(),
            space: Some(Space::default()),
            parts: ProjectParts {
                project: Some(api.clone()),
                ..Default::default()
            },
            index: index.clone(),
            ..Default::default()
        };
        crate::convert::read(
            &documents,
            &Filters::default(),
            "test",
            "2024-01-01T00:00:00Z",
        )
        .expect("a real project reads")
        .project
    }

    /// `from_api(to_api(x)) == x` for the project settings, on real projects: onto the project
    /// itself (an unchanged re-deploy) and onto nothing (a first deploy). Adding a project
    /// setting: both directions of it must keep this test passing.
    #[test]
    fn real_project_settings_round_trip() {
        for text in PAYLOADS {
            let api: Project = payload(text);
            let (index, _) = index_for(&serde_json::from_str(text).unwrap());
            let portable = portable_of(&api, &index);
            let settings = &portable.project;
            assert!(!settings.lifecycle.is_empty() && !settings.project_group.is_empty());
            let name = settings.name.clone();
            let onto_itself =
                desired_project(Some(&api), &portable, &name, &index, "Spaces-1", None);
            assert_eq!(&portable_of(&onto_itself, &index).project, settings);
            let onto_empty = desired_project(None, &portable, &name, &index, "Spaces-1", None);
            assert_eq!(&portable_of(&onto_empty, &index).project, settings);
        }
    }
}
