//! The portable project: everything needed to recreate a template project in another space,
//! by name, never by server ID. Versioned by `format_version`; its JSON Schema is published.
//!
//! Fields the model does not know are kept in `extra` maps and written back as they came, so a
//! newer server's settings survive the trip.

pub use super::reference_kind::{ReferenceKind, ResourceReference};
pub use super::trigger::{BuiltInTrigger, Trigger, TriggerAction, TriggerFilter, TriggerPackage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of this format. Readers refuse any other but the earlier versions
/// `portable::upgrade` reads.
///
/// 2: typed variables (worker pool, account, certificate), template defaults of those control
/// types and step properties that referred to a resource by id name it instead
/// ([`ResourceReference`]); version 1 carried those ids as they were.
pub const FORMAT_VERSION: u32 = 2;

/// JSON objects carried through unchanged (sorted keys: identical input gives identical bytes).
pub type ExtraFields = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortableProject {
    /// Always [`FORMAT_VERSION`] when written by this octofleet.
    pub format_version: u32,
    /// Where and when the project was read.
    pub source: Source,
    pub project: ProjectSettings,
    /// Absent for Config-as-Code projects unless their git values were included: the process
    /// then lives in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_process: Option<Process>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Project variables. For Config-as-Code projects whose text variables are in git (and
    /// whose git values were not included), only the sensitive ones (Octopus keeps those out of
    /// git): see `version_control.carries_text_variables`.
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub runbooks: Vec<Runbook>,
    /// The step templates the deployment process and runbooks use, each with its definition, so
    /// deploy can give a managed space the ones it lacks (absent in packages written before
    /// octofleet carried them: such a package needs the templates downstream already).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_templates: Vec<StepTemplate>,
    /// The script modules the project includes, each with its body and language, so deploy can
    /// give a managed space the ones it lacks (absent in packages written before octofleet
    /// carried them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script_modules: Vec<ScriptModule>,
    /// Project triggers (scheduled, deployment target, feed), by name. Absent in packages of
    /// octofleets that did not carry triggers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// The built-in feed trigger (automatic release creation), when the template has it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_in_trigger: Option<BuiltInTrigger>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The management server's URL.
    pub server: String,
    pub space_id: String,
    pub space_name: String,
    pub project_id: String,
    pub project_name: String,
    pub octofleet_version: String,
    /// UTC, RFC 3339. The only field (with the package version) that changes between two
    /// exports of an unchanged project.
    pub exported_at: String,
    /// For Config-as-Code projects: the git ref the process and variables were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Project group name.
    pub project_group: String,
    /// Lifecycle name.
    pub lifecycle: String,
    /// "Untenanted", "TenantedOrUntenanted" or "Tenanted".
    pub tenanted_deployment_mode: String,
    /// "EnvironmentDefault", "Off" or "On".
    pub default_guided_failure_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_changes_template: Option<String>,
    #[serde(default)]
    pub discrete_channel_release: bool,
    #[serde(default)]
    pub default_to_skip_if_already_installed: bool,
    #[serde(default)]
    pub is_disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning_strategy: Option<VersioningStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity_policy: Option<ConnectivityPolicy>,
    /// Tenant project variable templates.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Names of the included library variable sets (after the exclusion filter).
    #[serde(default)]
    pub included_library_variable_sets: Vec<String>,
    /// Canonical tag names ("Set/Tag") of the project's own tags (2026 servers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub project_tags: Vec<String>,
    /// Config-as-Code persistence, absent for database projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_control: Option<VersionControl>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: ExtraFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersioningStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Version from a package of a step instead of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_package: Option<DonorPackage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DonorPackage {
    /// Action (step) name.
    pub deployment_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectivityPolicy {
    /// "None", "SkipUnavailableMachines" or "SkipUnavailableMachinesAndUnhealthyMachines"...
    pub skip_machine_behavior: String,
    #[serde(default)]
    pub target_roles: Vec<String>,
    #[serde(default)]
    pub allow_deployments_to_no_targets: bool,
    #[serde(default)]
    pub exclude_unhealthy_targets: bool,
}

/// A variable template (tenant project variable, or a step template parameter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<PropertyValue>,
    #[serde(default)]
    pub display_settings: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionControl {
    pub url: String,
    pub default_branch: String,
    pub base_path: String,
    #[serde(default)]
    pub protected_default_branch: bool,
    #[serde(default)]
    pub protected_branch_name_patterns: Vec<String>,
    pub credentials: GitCredentialsRef,
    /// The package carries the project's text variables: the template project still kept them
    /// in its database (`ConversionState.VariablesAreInGit` false, as after `git/convert`), or
    /// its git values were included (`--include-cac-values`). Otherwise `variables` holds only
    /// the secrets. Absent (false) in packages written before octofleet recorded it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub carries_text_variables: bool,
    /// The package carries the project's runbooks: the template project still kept them in its
    /// database (`ConversionState.RunbooksAreInGit` false), or its git values were included.
    /// Absent (false) in packages written before octofleet recorded it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub carries_runbooks: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// How the project authenticates to its repository: by kind, and by name for a shared credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitCredentialsRef {
    /// "Anonymous", "Reference" (a shared git credential), "UsernamePassword" or "GitHub".
    pub kind: String,
    /// The shared git credential's name, for "Reference".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For "UsernamePassword"; the password is a secret (see `secrets.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A property value: text, a secret the API does not reveal, or a shared resource by name
/// (upstream the property held its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PropertyValue {
    Text(String),
    Sensitive(SensitiveProperty),
    /// `{"kind": "Account", "name": "Azure Production"}`: deploy writes the id the managed space
    /// gives that name.
    Reference(ResourceReference),
    /// A JSON value holding references inside it, such as a package parameter
    /// `{"PackageId":"acme","FeedId":"Feeds-5"}`: deploy writes it back with the managed space's
    /// ids.
    Json(JsonWithReferences),
}

/// A JSON value (a property's or a default's text) whose strings at `references` name shared
/// resources: upstream they held the resources' ids, here they hold their names
/// (`{"json": "{\"PackageId\":\"acme\",\"FeedId\":\"Docker Hub\"}", "references": {"/FeedId": "Feed"}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonWithReferences {
    /// The JSON text, each referenced id replaced by the resource's name (kept as text, so its
    /// keys keep their order).
    pub json: String,
    /// JSON pointer (RFC 6901, `/FeedId`) of each string that names a resource → its kind.
    pub references: BTreeMap<String, ReferenceKind>,
}

/// A sensitive property: its value is never exported. `secret` names the entry in
/// `secrets.json` that supplies it at deploy time, when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitiveProperty {
    pub sensitive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Process {
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    /// "LetOctopusDecide", "BeforePackageAcquisition" or "AfterPackageAcquisition".
    pub package_requirement: String,
    /// "Success", "Failure", "Always" or "Variable".
    pub condition: String,
    /// "StartAfterPrevious" or "StartWithPrevious".
    pub start_trigger: String,
    /// Target roles (from `Octopus.Action.TargetRoles`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Step properties other than the roles (e.g. `Octopus.Action.MaxParallelism`,
    /// `Octopus.Step.ConditionVariableExpression`).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: ExtraFields,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub name: String,
    pub action_type: String,
    #[serde(default)]
    pub is_disabled: bool,
    #[serde(default)]
    pub is_required: bool,
    #[serde(default)]
    pub can_be_used_for_project_versioning: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Worker pool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pool_variable: Option<String>,
    /// Environment names.
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub excluded_environments: Vec<String>,
    /// Channel names.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Canonical tag names ("Set/Tag").
    #[serde(default)]
    pub tenant_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    #[serde(default)]
    pub packages: Vec<PackageReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git_dependencies: Vec<serde_json::Value>,
    /// The step template this action uses, by name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_template: Option<StepTemplateRef>,
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: ExtraFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// Feed name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageReference {
    /// "" for the primary package.
    pub name: String,
    pub package_id: String,
    /// Feed name; the built-in feed is "Octopus Server (built-in)".
    pub feed: String,
    /// "Server", "ExecutionTarget", "NotAcquired" or a variable expression.
    pub acquisition_location: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepTemplateRef {
    pub name: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    /// Lifecycle name; absent means the project's lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    #[serde(default)]
    pub tenant_tags: Vec<String>,
    #[serde(default)]
    pub rules: Vec<ChannelRule>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: ExtraFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default)]
    pub action_packages: Vec<ActionPackage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionPackage {
    /// Action (step) name.
    pub deployment_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    /// Absent for sensitive variables (see `secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// "String", "Sensitive", "Certificate", account types, "WorkerPool". For the worker pool,
    /// account and certificate types (and a prompt whose control type is one of them) `value` is
    /// the resource's name (format version 2; version 1 held its id).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Prompt>,
    #[serde(default, skip_serializing_if = "Scope::is_empty")]
    pub scope: Scope,
    /// For sensitive variables: the key in `secrets.json` whose value is this variable's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Variable {
    pub fn is_sensitive(&self) -> bool {
        self.kind == "Sensitive"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub display_settings: BTreeMap<String, String>,
}

/// A variable's scope, by name. Empty lists are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Step (action) names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_tags: Vec<String>,
    /// Runbook names ("processes" in the API; the deployment process is "Deployment Process").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// Deployment target names; machines are not portable, but kept so nothing is lost silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self == &Scope::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "All", "Specified" or "FromProjectLifecycles".
    pub environment_scope: String,
    #[serde(default)]
    pub environments: Vec<String>,
    pub multi_tenancy_mode: String,
    pub default_guided_failure_mode: String,
    #[serde(default)]
    pub force_package_download: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity_policy: Option<ConnectivityPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RunRetention>,
    pub process: Process,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: ExtraFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRetention {
    pub quantity_to_keep: i32,
    pub should_keep_forever: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A step template the project runs, carried with its definition (the API's `ActionTemplate`,
/// by name): deploy finds it by name in the managed space, creates it where it is missing (a
/// community template through the instance's Library when it has one), and updates a copy an
/// earlier package delivered (see `earlier_definitions`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepTemplate {
    /// The template's name: its identity in every space.
    pub name: String,
    /// The template's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The step type it is based on (`Octopus.Script`); the server never changes it after
    /// creation.
    pub action_type: String,
    /// The template's version in the template project's space. A step pinned to this version
    /// (`Action.step_template.version`) uses the template as it is; an older pin is kept older
    /// downstream, as octoterra does.
    pub version: i64,
    /// For step-package steps, the step package's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_package_id: Option<String>,
    /// Set for a template installed from the community Library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<CommunityTemplate>,
    /// The step's settings (`Octopus.Action.Script.ScriptBody`, …); sensitive ones are secrets
    /// (see `secrets.json`).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// The template's parameters; a sensitive default is a secret (see `secrets.json`).
    #[serde(default)]
    pub parameters: Vec<Template>,
    /// Packages the template references, feeds by name.
    #[serde(default)]
    pub packages: Vec<PackageReference>,
    /// Git dependencies, credentials by name (`GitCredentialName`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git_dependencies: Vec<serde_json::Value>,
    /// Fingerprints of the definitions earlier packages of this project carried (newest first):
    /// a downstream copy equal to one of them was delivered by octofleet and not edited since, so
    /// deploy updates it; a copy equal to none was edited downstream and is kept unless
    /// overwrite is asked for. See `portable::definitions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_definitions: Vec<String>,
}

/// Where a community step template comes from: the Library, as the template project's
/// instance knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityTemplate {
    /// The community template's id on the template project's instance
    /// (`CommunityActionTemplates-123`).
    pub id: String,
    /// Its Library page (`https://library.octopus.com/step-templates/<guid>`): the same on every
    /// instance, so deploy finds the Library's template by it (as octoterra's data source does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// A script module the project includes: a library variable set of content type
/// `ScriptModule`, whose body and language are its variables `Octopus.Script.Module[<name>]` and
/// `Octopus.Script.Module.Language[<name>]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptModule {
    /// The module's (library variable set's) name: its identity in every space.
    pub name: String,
    /// The library variable set's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The module's language: `PowerShell`, `Bash`, `CSharp`, `FSharp` or `Python`.
    pub syntax: String,
    /// The module's code.
    pub body: String,
    /// Fingerprints of the definitions earlier packages carried, as for step templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_definitions: Vec<String>,
}
