//! Writes a portable project as a Terraform module for the `OctopusDeploy/octopusdeploy` provider
//! 1.x, following octoterra's lookup-mode conventions so existing runbooks can apply it.
//!
//! Layout of the module (paths relative to `terraform/`):
//! - `config.tf`, `provider.tf`, `provider_vars.tf`: provider requirement, optional backend, and
//!   the `octopus_server` / `octopus_apikey` / `octopus_space_id` variables.
//! - one `data` lookup per shared resource: `environment_<e>.tf`, `lifecycle_<n>.tf`,
//!   `projectgroup_project_group_<g>.tf`, `feed_<n>.tf`, `gitcredential_<n>.tf`,
//!   `workerpool_<n>.tf`, `library_variable_set_<n>.tf`, `steptemplate_<n>.tf`, `account_<n>.tf`,
//!   `certificate_<n>.tf`, `target_<n>.tf`.
//! - what the project runs, with its definition, created where the space lacks it:
//!   `steptemplate_<n>.tf` (and a Library template's `communitysteptemplate_<n>` blocks in it),
//!   `library_variable_set_scriptmodule_<n>.tf`.
//! - `project_project_<p>.tf` (project + `project_<p>_name`/`_git_url` variables),
//!   `project_versioning_strategy_<p>.tf`, `channel_<p>_<c>.tf`, `runbook_<p>_<r>.tf`.
//! - processes: `process_<owner>.tf`, `process_step_<owner>_<step>.tf`,
//!   `process_child_step_<owner>_<action>.tf`, `process_step_order_<owner>.tf`,
//!   `process_child_step_order_<owner>_<step>.tf`; the owner is `<p>`, or `<p>_<r>` for a runbook.
//! - triggers: `projecttrigger_<p>_<t>.tf` (octoterra's), the built-in feed trigger
//!   `projecttrigger_<p>_built_in_feed.tf`.
//! - variables: `project_variable_<label>.tf`, and `project_variable_sensitive_<label>.tf` for
//!   secrets and every other sensitive Terraform variable: only files matching
//!   `project_variable_sensitive*.tf` get Octostache substitution in the apply step.

mod definitions;
mod emit;
mod lookups;
pub mod naming;
mod process;
mod project;
mod provider;
mod triggers;
mod variables;

use crate::portable::{PortableProject, PropertyValue, SensitiveProperty};
use hcl::Block;
use lookups::{Lookups, Shared};
use naming::UniqueNames;
use std::collections::{BTreeMap, BTreeSet};

pub use naming::{project_variable_labels, sanitize, sensitive_variable_label};

/// The provider constraint by default: the schema this writer is checked against is 1.17.0, and
/// the 1.x line keeps its resources compatible (octoterra itself pins 1.19.2).
pub const DEFAULT_PROVIDER_VERSION: &str = ">= 1.17.0, < 2.0.0";

/// How the Terraform module is written: the provider constraint, the backend, and where secrets
/// come from at apply time.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleOptions {
    /// The `version` constraint of `OctopusDeploy/octopusdeploy` in `config.tf`.
    pub provider_version: String,
    /// Writes `backend "<type>" {}` into `config.tf` (e.g. `pg`, `s3`, `azurerm`).
    pub backend: Option<String>,
    /// Where secrets other than project variables come from at apply time: secret key → the
    /// Octopus variable whose value supplies it; the Terraform variable then defaults to
    /// `#{<that name>}`. The key is the model's `secret` field where it has one (step properties,
    /// template defaults), otherwise the Terraform variable's name (`project_<p>_git_password`).
    /// A secret without an entry gets no default and must be passed with `-var`.
    /// Sensitive project variables always default to `#{<their own name>}`, as in the article.
    pub secrets: BTreeMap<String, String>,
    /// Environments dropped from variable scopes (octoterra's `-excludeVariableEnvironmentScopes`):
    /// the management space's `Sync` environment does not exist downstream.
    pub excluded_scope_environments: BTreeSet<String>,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions {
            provider_version: DEFAULT_PROVIDER_VERSION.to_owned(),
            backend: None,
            secrets: BTreeMap::new(),
            excluded_scope_environments: BTreeSet::from(["Sync".to_owned()]),
        }
    }
}

/// The module's files: path relative to `terraform/` → content. Deterministic: the same project
/// and options always give the same bytes.
pub fn write_module(
    project: &PortableProject,
    options: &ModuleOptions,
) -> BTreeMap<String, String> {
    let mut writer = Writer::new(project, options);
    writer.write_all();
    writer.finish()
}

/// A file under construction: comments explaining what was left out, then blocks.
#[derive(Default)]
struct File {
    comments: Vec<String>,
    blocks: Vec<Block>,
}

/// The state shared by the resource writers while one module is written.
struct Writer<'a> {
    model: &'a PortableProject,
    options: &'a ModuleOptions,
    /// `project_<p>`.
    project_label: String,
    lookups: Lookups,
    /// Every Terraform variable name, so generated names never collide.
    tf_variables: UniqueNames,
    /// Labels per resource type.
    labels: BTreeMap<&'static str, UniqueNames>,
    files: BTreeMap<String, File>,
    /// Action name → expression of the action's ID (variable scopes, versioning donor).
    action_ids: BTreeMap<String, String>,
    /// Channel name → expression of the channel's ID.
    channel_ids: BTreeMap<String, String>,
    /// Channel name → its resource (or, for the default channel, lookup) label.
    channel_labels: BTreeMap<String, String>,
    /// Channels something refers to: the default channel's lookup is written only if used.
    referenced_channels: BTreeSet<String>,
    /// Runbook name → expression of the runbook's ID (variable `processes` scope).
    runbook_ids: BTreeMap<String, String>,
    /// The resource every channel and the versioning strategy wait for: the deployment process's
    /// step order (octoterra: channel rules name steps that must exist first).
    deployment_steps_order: Option<String>,
    /// Step template name → the labels of its blocks (the templates the package carries).
    template_labels: BTreeMap<String, definitions::TemplateLabels>,
    /// Script module name → its blocks' label.
    module_labels: BTreeMap<String, String>,
}

impl<'a> Writer<'a> {
    fn new(model: &'a PortableProject, options: &'a ModuleOptions) -> Self {
        let mut tf_variables = UniqueNames::default();
        for fixed in ["octopus_server", "octopus_apikey", "octopus_space_id"] {
            tf_variables.reserve(fixed);
        }
        // Contract names first, so generated names step around them.
        tf_variables.reserve(&naming::project_name_variable(&model.project.name));
        tf_variables.reserve(&naming::project_git_url_variable(&model.project.name));
        for (variable, label) in model.variables.iter().zip(project_variable_labels(model)) {
            if variable.is_sensitive() {
                tf_variables.reserve(&label);
            }
        }
        Writer {
            model,
            options,
            project_label: naming::project_label(&model.project.name),
            lookups: Lookups::default(),
            tf_variables,
            labels: BTreeMap::new(),
            files: BTreeMap::new(),
            action_ids: BTreeMap::new(),
            channel_ids: BTreeMap::new(),
            channel_labels: BTreeMap::new(),
            referenced_channels: BTreeSet::new(),
            runbook_ids: BTreeMap::new(),
            deployment_steps_order: None,
            template_labels: BTreeMap::new(),
            module_labels: BTreeMap::new(),
        }
    }

    fn write_all(&mut self) {
        self.add_blocks("config.tf", provider::config_file(self.options));
        self.add_blocks("provider.tf", provider::provider_file());
        self.add_blocks("provider_vars.tf", provider::provider_vars_file());
        // IDs first: steps reference channels, variables reference steps, channels and runbooks.
        self.plan_channels();
        self.plan_runbooks();
        self.plan_definitions();
        self.write_definitions();
        self.write_project();
        self.write_processes();
        self.write_runbooks();
        self.write_versioning_strategy();
        self.write_variables();
        self.write_triggers();
        // Last: only now is it known whether anything refers to the default channel.
        self.write_channels();
    }

    fn finish(mut self) -> BTreeMap<String, String> {
        for (file, block) in std::mem::take(&mut self.lookups).into_files() {
            self.add_blocks(&file, vec![block]);
        }
        self.files
            .into_iter()
            .map(|(path, file)| {
                let content = emit::render(&file.comments, file.blocks);
                (path, content)
            })
            .collect()
    }

    fn add_blocks(&mut self, file: &str, blocks: Vec<Block>) {
        self.files
            .entry(file.to_owned())
            .or_default()
            .blocks
            .extend(blocks);
    }

    fn add_comment(&mut self, file: &str, comment: String) {
        self.files
            .entry(file.to_owned())
            .or_default()
            .comments
            .push(comment);
    }

    /// A label unique among the resources of `resource_type`.
    fn claim_label(&mut self, resource_type: &'static str, stem: String) -> String {
        self.labels.entry(resource_type).or_default().claim(stem)
    }

    fn lookup(&mut self, kind: Shared, name: &str) -> String {
        self.lookups.id(kind, name)
    }

    /// The expression of a project channel's ID, noting that it is used.
    fn channel_id(&mut self, name: &str) -> Option<String> {
        let id = self.channel_ids.get(name).cloned()?;
        self.referenced_channels.insert(name.to_owned());
        Some(id)
    }

    fn project_id(&self) -> String {
        format!("octopusdeploy_project.{}.id", self.project_label)
    }

    /// A property value: text as is, a reference as the looked-up id of the named resource, a
    /// secret as a sensitive Terraform variable declared in its own
    /// `project_variable_sensitive_<name>.tf` (so its Octostache default is substituted).
    fn property_value(
        &mut self,
        value: &PropertyValue,
        variable_stem: String,
        description: String,
    ) -> hcl::Expression {
        match value {
            PropertyValue::Text(text) => emit::text(text),
            // The id of the same-named resource in the target space, as octoterra's lookups.
            PropertyValue::Reference(reference) => {
                emit::reference(&self.lookup(reference.kind.into(), &reference.name))
            }
            // A JSON value naming resources: `jsonencode` of it with each lookup in place.
            PropertyValue::Json(json) => {
                let replaced = crate::portable::references::json_references(json)
                    .into_iter()
                    .map(|(pointer, reference)| {
                        let id = self.lookup(reference.kind.into(), &reference.name);
                        (pointer.to_owned(), emit::bare(&id))
                    })
                    .collect();
                let value = serde_json::from_str(&json.json).unwrap_or_default();
                emit::json_encode(&value, &replaced)
            }
            PropertyValue::Sensitive(secret) => {
                let name = self.secret_variable(variable_stem, secret, description);
                emit::reference(&format!("var.{name}"))
            }
        }
    }

    fn secret_variable(
        &mut self,
        stem: String,
        secret: &SensitiveProperty,
        description: String,
    ) -> String {
        let name = self.tf_variables.claim(stem);
        let key = secret.secret.clone().unwrap_or_else(|| name.clone());
        self.declare_secret_variable(&name, &key, &description);
        name
    }

    /// Declares a sensitive Terraform variable whose default, when `options.secrets` knows the
    /// secret, is the Octostache reference Octopus fills in during the apply step.
    fn declare_secret_variable(&mut self, name: &str, secret_key: &str, description: &str) {
        let default = self
            .options
            .secrets
            .get(secret_key)
            .map(|octopus_name| format!("#{{{octopus_name}}}"));
        let block = variables::sensitive_variable_block(name, description, default.as_deref());
        self.add_blocks(
            &format!("project_variable_sensitive_{name}.tf"),
            vec![block],
        );
    }
}
