//! Turn the documents read from a server (typed, already fetched) into a portable project:
//! ids become names, the filters apply, and secrets become placeholders.

use super::model::{self as portable, PortableProject, FORMAT_VERSION};
pub use super::naming::{sanitize, secret_key};
use crate::octopus::resources::{
    Channel, DeploymentProcess, ProcessAction, ProcessStep, Project, PropertyValue, Runbook,
    Variable, VariableSet,
};
use crate::octopus::space_index::{Names, SpaceIndex, BUILT_IN_FEED_ID};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};

pub use crate::octopus::project_export::ProjectDocuments;

/// What to leave out, with the article's defaults.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Library variable sets excluded by name (default "Export Options").
    pub excluded_library_variable_sets: Vec<String>,
    /// Environments removed from variable scopes (default "Sync"); a variable scoped only to
    /// them becomes unscoped, as octoterra's `-excludeVariableEnvironmentScopes`.
    pub excluded_variable_environments: Vec<String>,
    /// Runbooks excluded by name (default `^__ `, the management runbooks).
    pub excluded_runbooks: Option<Regex>,
    /// Variables excluded by name (default none).
    pub excluded_variables: Option<Regex>,
    /// Several sensitive values under one name cannot be told apart by one placeholder.
    pub allow_ambiguous_secrets: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            excluded_library_variable_sets: vec!["Export Options".to_owned()],
            excluded_variable_environments: vec!["Sync".to_owned()],
            excluded_runbooks: Some(Regex::new("^__ ").expect("a valid regex")),
            excluded_variables: None,
            allow_ambiguous_secrets: false,
        }
    }
}

/// The portable project, its `secrets.json` map, and warnings for the log.
#[derive(Debug, Clone)]
pub struct ReadResult {
    pub project: PortableProject,
    /// Secret key → Octostache placeholder `#{Name | JsonEscape}`.
    pub secrets: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "sensitive variable{} {} {} several scoped values, and one placeholder cannot supply several secrets: \
         give each value its own name (scoped to the Sync environment, as the article requires), or pass \
         Octofleet.AllowAmbiguousSecrets (--allow-ambiguous-secrets) to export them with one placeholder each",
        if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
        if .0.len() == 1 { "has" } else { "have" }
    )]
    AmbiguousSecrets(Vec<String>),
    #[error("the server's answer is missing the {0}")]
    Missing(&'static str),
}

/// Ids → names: the space's index, and the project's channels.
struct Lookups<'a> {
    index: &'a SpaceIndex,
    channels: Names,
}

impl<'a> Lookups<'a> {
    fn new(documents: &'a ProjectDocuments) -> Lookups<'a> {
        Lookups {
            index: &documents.index,
            channels: Names::of_resources(&documents.parts.channels),
        }
    }
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
    let lookups = Lookups::new(documents);
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

    let settings = project_settings(project, documents, filters, &lookups);
    let deployment_process = documents
        .parts
        .deployment_process
        .as_ref()
        .map(|process| portable_process(process, &lookups));
    let channels = documents
        .parts
        .channels
        .iter()
        .map(|channel| portable_channel(channel, &lookups))
        .collect();
    let runbooks = included_runbooks
        .iter()
        .map(|(runbook, process)| portable_runbook(runbook, process.as_ref(), &lookups))
        .collect();

    let (variables, secrets) = portable_variables(
        documents,
        filters,
        &project.name,
        &excluded_runbook_names,
        &mut warnings,
    )?;

    Ok(ReadResult {
        project: PortableProject {
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
        },
        secrets,
        warnings,
    })
}

/// Project fields the portable model names explicitly; everything else on the project document
/// that is neither server-owned nor an id is carried in `extra`.
const SERVER_OWNED: &[&str] = &[
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

fn project_settings(
    project: &Project,
    documents: &ProjectDocuments,
    filters: &Filters,
    lookups: &Lookups<'_>,
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
    let project_tags = project
        .extra
        .get("ProjectTags")
        .and_then(|tags| serde_json::from_value::<Vec<String>>(tags.clone()).ok())
        .unwrap_or_default();
    let mut included: Vec<String> = lookups
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
        project_group: lookups
            .index
            .project_groups
            .name(project.project_group_id.as_deref().unwrap_or_default()),
        lifecycle: lookups
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
        templates: project.templates.iter().map(portable_template).collect(),
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
                            .map(|id| lookups.index.git_credentials.name(id)),
                        username: credentials.and_then(|c| c.username.clone()),
                    },
                }
            }),
        extra,
    }
}

fn portable_connectivity(
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

fn portable_template(
    template: &crate::octopus::resources::ActionTemplateParameter,
) -> portable::Template {
    portable::Template {
        name: template.name.clone(),
        label: template.label.clone().filter(|l| !l.is_empty()),
        help_text: template.help_text.clone().filter(|h| !h.is_empty()),
        default_value: template.default_value.as_ref().map(portable_property),
        display_settings: template.display_settings.clone(),
    }
}

fn portable_property(value: &PropertyValue) -> portable::PropertyValue {
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

/// Properties that hold ids of the source space; the model names what they point at instead.
const ID_PROPERTIES: &[&str] = &[
    "Octopus.Action.Template.Id",
    "Octopus.Action.Template.Version",
];

fn portable_process(process: &DeploymentProcess, lookups: &Lookups<'_>) -> portable::Process {
    portable::Process {
        steps: process
            .steps
            .iter()
            .map(|step| portable_step(step, lookups))
            .collect(),
    }
}

fn portable_step(step: &ProcessStep, lookups: &Lookups<'_>) -> portable::Step {
    let mut properties: BTreeMap<String, portable::PropertyValue> = step
        .properties
        .iter()
        .map(|(key, value)| (key.clone(), portable_property(value)))
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
            .map(|action| portable_action(action, lookups))
            .collect(),
        extra: carried(&step.extra, &["Id", "Slug", "Links"]),
    }
}

fn portable_action(action: &ProcessAction, lookups: &Lookups<'_>) -> portable::Action {
    let template_id = action
        .properties
        .get("Octopus.Action.Template.Id")
        .and_then(PropertyValue::as_text);
    let template_version = action
        .properties
        .get("Octopus.Action.Template.Version")
        .and_then(PropertyValue::as_text)
        .and_then(|v| v.parse::<i64>().ok());
    let step_template = template_id.map(|id| match lookups.index.step_template_by_id(id) {
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
        .map(|(key, value)| {
            // The primary package's feed is mirrored into a property; name it like the package.
            let value = match (key.as_str(), value) {
                ("Octopus.Action.Package.FeedId", PropertyValue::Text(id)) => {
                    portable::PropertyValue::Text(lookups.index.feeds.name(id))
                }
                _ => portable_property(value),
            };
            (key.clone(), value)
        })
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
            .map(|id| lookups.index.worker_pools.name(id)),
        worker_pool_variable: action
            .worker_pool_variable
            .clone()
            .filter(|v| !v.is_empty()),
        environments: lookups.index.environments.names(&action.environments),
        excluded_environments: lookups
            .index
            .environments
            .names(&action.excluded_environments),
        channels: lookups.channels.names(&action.channels),
        tenant_tags: action.tenant_tags.clone(),
        container: action
            .container
            .as_ref()
            .filter(|c| c.image.as_deref().is_some_and(|i| !i.is_empty()) || c.feed_id.is_some())
            .map(|container| portable::Container {
                feed: container
                    .feed_id
                    .as_deref()
                    .map(|id| lookups.index.feeds.name(id)),
                image: container.image.clone(),
            }),
        packages: action
            .packages
            .iter()
            .map(|package| portable::PackageReference {
                name: package.name.clone(),
                package_id: package.package_id.clone(),
                feed: lookups
                    .index
                    .feeds
                    .name(package.feed_id.as_deref().unwrap_or(BUILT_IN_FEED_ID)),
                acquisition_location: package
                    .acquisition_location
                    .clone()
                    .unwrap_or_else(|| "Server".to_owned()),
                properties: package.properties.clone(),
            })
            .collect(),
        git_dependencies: action.git_dependencies.clone(),
        step_template,
        properties,
        extra: carried(&action.extra, &["Id", "Slug", "Links", "StepPackageId"]),
    }
}

/// Unknown fields, minus server-owned ones and nulls.
fn carried(
    extra: &crate::octopus::resources::Extra,
    server_owned: &[&str],
) -> BTreeMap<String, serde_json::Value> {
    extra
        .iter()
        .filter(|(key, value)| !server_owned.contains(&key.as_str()) && !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn portable_channel(channel: &Channel, lookups: &Lookups<'_>) -> portable::Channel {
    portable::Channel {
        name: channel.name.clone(),
        description: channel.description.clone().filter(|d| !d.is_empty()),
        is_default: channel.is_default,
        lifecycle: channel
            .lifecycle_id
            .as_deref()
            .map(|id| lookups.index.lifecycles.name(id)),
        tenant_tags: channel.tenant_tags.clone(),
        rules: channel
            .rules
            .iter()
            .map(|rule| portable::ChannelRule {
                version_range: rule.version_range.clone().filter(|v| !v.is_empty()),
                tag: rule.tag.clone().filter(|t| !t.is_empty()),
                action_packages: rule
                    .action_packages
                    .iter()
                    .map(|package| portable::ActionPackage {
                        deployment_action: package.deployment_action.clone().unwrap_or_default(),
                        package_reference: package
                            .package_reference
                            .clone()
                            .filter(|r| !r.is_empty()),
                    })
                    .collect(),
            })
            .collect(),
        extra: carried(
            &channel.extra,
            &[
                "Links",
                "LastModifiedOn",
                "LastModifiedBy",
                "Slug",
                "Id",
                "SpaceId",
                "ProjectId",
            ],
        ),
    }
}

fn portable_runbook(
    runbook: &Runbook,
    process: Option<&DeploymentProcess>,
    lookups: &Lookups<'_>,
) -> portable::Runbook {
    portable::Runbook {
        name: runbook.name.clone(),
        description: runbook.description.clone().filter(|d| !d.is_empty()),
        environment_scope: runbook
            .environment_scope
            .clone()
            .unwrap_or_else(|| "All".to_owned()),
        environments: lookups.index.environments.names(&runbook.environments),
        multi_tenancy_mode: runbook
            .multi_tenancy_mode
            .clone()
            .unwrap_or_else(|| "Untenanted".to_owned()),
        default_guided_failure_mode: runbook
            .default_guided_failure_mode
            .clone()
            .unwrap_or_else(|| "EnvironmentDefault".to_owned()),
        force_package_download: runbook.force_package_download,
        connectivity_policy: runbook
            .connectivity_policy
            .as_ref()
            .map(portable_connectivity),
        retention_policy: runbook.run_retention_policy.as_ref().map(|policy| {
            portable::RunRetention {
                quantity_to_keep: policy.quantity_to_keep,
                should_keep_forever: policy.should_keep_forever,
                unit: policy.unit.clone(),
            }
        }),
        process: process
            .map(|p| portable_process(p, lookups))
            .unwrap_or_default(),
        extra: carried(
            &runbook.extra,
            &[
                "Links",
                "LastModifiedOn",
                "LastModifiedBy",
                "Slug",
                "PublishedRunbookSnapshotId",
                "RunbookProcessId",
                "Id",
                "SpaceId",
                "ProjectId",
            ],
        ),
    }
}

/// Scope ids → names through the set's `ScopeValues` (the server's own naming of each id).
fn scope_names(set: &VariableSet) -> HashMap<(String, String), String> {
    let mut names = HashMap::new();
    let Some(values) = set.extra.get("ScopeValues").and_then(|v| v.as_object()) else {
        return names;
    };
    for (collection, scope_key) in [
        ("Environments", "Environment"),
        ("Machines", "Machine"),
        ("Actions", "Action"),
        ("Roles", "Role"),
        ("Channels", "Channel"),
        ("TenantTags", "TenantTag"),
        ("Processes", "ProcessOwner"),
    ] {
        for item in values
            .get(collection)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (
                item.get("Id").and_then(|v| v.as_str()),
                item.get("Name").and_then(|v| v.as_str()),
            ) {
                names.insert(
                    (scope_key.to_owned(), id.to_ascii_lowercase()),
                    name.to_owned(),
                );
            }
        }
    }
    names
}

fn portable_variables(
    documents: &ProjectDocuments,
    filters: &Filters,
    project_name: &str,
    excluded_runbooks: &[String],
    warnings: &mut Vec<String>,
) -> Result<(Vec<portable::Variable>, BTreeMap<String, String>), ReadError> {
    // Which variables each set contributes: git holds text variables only, the database set
    // holds the secrets (and everything, until variables are migrated to git). Without the git
    // values, a Config-as-Code project contributes its secrets only.
    #[derive(PartialEq)]
    enum Take {
        All,
        TextOnly,
        SecretsOnly,
    }
    let cac = documents
        .parts
        .project
        .as_ref()
        .is_some_and(Project::is_config_as_code);
    let include_git = documents.parts.git_ref.is_some();
    let mut sources: Vec<(&VariableSet, Take)> = Vec::new();
    if let Some(git) = &documents.parts.git_variables {
        sources.push((git, Take::TextOnly));
    }
    if let Some(database) = &documents.parts.variables {
        let take = match (cac, include_git, documents.parts.git_variables.is_some()) {
            (false, _, _) | (true, true, false) => Take::All,
            _ => Take::SecretsOnly,
        };
        sources.push((database, take));
    }
    let mut variables = Vec::new();
    for (set, take) in sources {
        let names = scope_names(set);
        for variable in &set.variables {
            let wanted = match take {
                Take::All => true,
                Take::TextOnly => !variable.is_secret(),
                Take::SecretsOnly => variable.is_secret(),
            };
            if !wanted {
                continue;
            }
            if filters
                .excluded_variables
                .as_ref()
                .is_some_and(|re| re.is_match(&variable.name))
            {
                continue;
            }
            if let Some(portable) = portable_variable(variable, &names, filters, excluded_runbooks)
            {
                variables.push(portable);
            }
        }
    }

    // Secrets: one placeholder per name; several scoped values under one name are ambiguous.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for variable in variables.iter().filter(|v| v.is_sensitive()) {
        *counts.entry(variable.name.clone()).or_default() += 1;
    }
    let ambiguous: Vec<String> = counts
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(name, _)| name.clone())
        .collect();
    if !ambiguous.is_empty() {
        if !filters.allow_ambiguous_secrets {
            return Err(ReadError::AmbiguousSecrets(ambiguous));
        }
        warnings.push(format!(
            "sensitive variables with several scoped values share one placeholder each and will all receive the same secret: {}",
            ambiguous.join(", ")
        ));
    }
    let mut secrets = BTreeMap::new();
    let mut occurrence: HashMap<String, usize> = HashMap::new();
    for variable in variables.iter_mut().filter(|v| v.is_sensitive()) {
        let n = occurrence.entry(variable.name.clone()).or_default();
        *n += 1;
        let key = secret_key(project_name, &variable.name, *n);
        secrets.insert(key.clone(), format!("#{{{} | JsonEscape}}", variable.name));
        variable.secret = Some(key);
    }
    variables.sort_by(|a, b| {
        (
            &a.name,
            a.is_sensitive(),
            serde_json::to_string(&a.scope).ok(),
        )
            .cmp(&(
                &b.name,
                b.is_sensitive(),
                serde_json::to_string(&b.scope).ok(),
            ))
    });
    Ok((variables, secrets))
}

fn portable_variable(
    variable: &Variable,
    names: &HashMap<(String, String), String>,
    filters: &Filters,
    excluded_runbooks: &[String],
) -> Option<portable::Variable> {
    let resolve = |key: &str, ids: &[String]| -> Vec<String> {
        let mut resolved: Vec<String> = ids
            .iter()
            .map(|id| {
                names
                    .get(&(key.to_owned(), id.to_ascii_lowercase()))
                    .cloned()
                    .unwrap_or_else(|| id.clone())
            })
            .collect();
        resolved.sort();
        resolved
    };
    let scope_of = |key: &str| {
        variable
            .scope
            .get(key)
            .map(|ids| resolve(key, ids))
            .unwrap_or_default()
    };
    let environments: Vec<String> = scope_of("Environment")
        .into_iter()
        .filter(|name| !filters.excluded_variable_environments.contains(name))
        .collect();
    let all_processes = scope_of("ProcessOwner");
    let processes: Vec<String> = all_processes
        .iter()
        .filter(|name| !excluded_runbooks.contains(name))
        .cloned()
        .collect();
    // Scoped only to excluded runbooks: it belongs to them, not to the template.
    if !all_processes.is_empty() && processes.is_empty() {
        return None;
    }
    let prompt = variable
        .prompt
        .as_ref()
        .filter(|p| !p.is_null())
        .map(|prompt| portable::Prompt {
            label: prompt
                .get("Label")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            description: prompt
                .get("Description")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            required: prompt
                .get("Required")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            display_settings: prompt
                .get("DisplaySettings")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
        });
    let sensitive = variable.is_secret();
    Some(portable::Variable {
        name: variable.name.clone(),
        value: if sensitive {
            None
        } else {
            variable.value.clone()
        },
        kind: if sensitive {
            "Sensitive".to_owned()
        } else {
            variable.kind.clone()
        },
        description: variable.description.clone().filter(|d| !d.is_empty()),
        prompt,
        scope: portable::Scope {
            environments,
            roles: scope_of("Role"),
            channels: scope_of("Channel"),
            steps: scope_of("Action"),
            // Tenant tag scopes already hold canonical names ("Set/Tag"), which is how they are
            // referred to everywhere; `ScopeValues` would give the bare tag name.
            tenant_tags: {
                let mut tags = variable.scope.get("TenantTag").cloned().unwrap_or_default();
                tags.sort();
                tags
            },
            processes,
            machines: scope_of("Machine"),
        },
        secret: None,
    })
}
