//! Deployment and runbook processes in provider 1.x form: `octopusdeploy_process`, one step
//! resource per step (its first action merged in), child steps for the other actions, and the
//! explicit step orders.

use super::emit::{self, BlockWriter};
use super::lookups::Shared;
use super::naming;
use super::Writer;
use crate::portable::{Action, PackageReference, Process, Step};
use hcl::Expression;
use std::collections::BTreeMap;

/// Properties the templated resources set from `template_id` / `template_version` themselves.
const TEMPLATE_REFERENCE_PROPERTIES: [&str; 2] = [
    "Octopus.Action.Template.Id",
    "Octopus.Action.Template.Version",
];

/// Action properties the provider maintains from `primary_package`.
const PRIMARY_PACKAGE_MIRROR_PROPERTIES: [&str; 3] = [
    "Octopus.Action.Package.FeedId",
    "Octopus.Action.Package.PackageId",
    "Octopus.Action.Package.DownloadOnTentacle",
];

impl Writer<'_> {
    pub(super) fn write_processes(&mut self) {
        let model = self.model;
        if let Some(process) = &model.deployment_process {
            let owner = naming::sanitize(&model.project.name);
            self.deployment_steps_order = self.write_process(&owner, None, process);
        }
    }

    /// Writes one process; returns its steps-order resource address, when it has steps.
    pub(super) fn write_process(
        &mut self,
        owner: &str,
        runbook_id: Option<&str>,
        process: &Process,
    ) -> Option<String> {
        let process_label =
            self.claim_label("octopusdeploy_process", naming::label("process", &[owner]));
        let process_id = format!("octopusdeploy_process.{process_label}.id");
        let block = BlockWriter::new("resource", &["octopusdeploy_process", &process_label])
            .attr("project_id", emit::reference(&self.project_id()))
            .opt("runbook_id", runbook_id.map(emit::reference))
            .build();
        self.add_blocks(&format!("{process_label}.tf"), vec![block]);

        let mut step_ids: Vec<String> = Vec::new();
        for step in &process.steps {
            // Each step waits for the one before it: the server resets `StartWithPrevious` on
            // whichever step of a process exists first, so created in parallel the steps could
            // come out with the wrong start triggers (octoterra chains them the same way).
            let previous = step_ids
                .last()
                .map(|id| id.trim_end_matches(".id").to_owned());
            if let Some(step_id) = self.write_step(owner, &process_id, step, previous.as_deref()) {
                step_ids.push(step_id);
            }
        }
        if step_ids.is_empty() {
            return None;
        }
        let order_label = self.claim_label(
            "octopusdeploy_process_steps_order",
            naming::label("process_step_order", &[owner]),
        );
        let block = BlockWriter::new(
            "resource",
            &["octopusdeploy_process_steps_order", &order_label],
        )
        .attr("process_id", emit::reference(&process_id))
        .attr("steps", emit::reference_list(step_ids))
        .build();
        self.add_blocks(&format!("{order_label}.tf"), vec![block]);
        Some(format!("octopusdeploy_process_steps_order.{order_label}"))
    }

    /// Writes a step; returns the expression of its ID.
    fn write_step(
        &mut self,
        owner: &str,
        process_id: &str,
        step: &Step,
        previous_step: Option<&str>,
    ) -> Option<String> {
        // Step resources of both kinds share one label space so their files cannot collide.
        let step_label = self.claim_label(
            "process_step",
            naming::label("process_step", &[owner, &step.name]),
        );
        let file = format!("{step_label}.tf");
        let Some((first, children)) = step.actions.split_first() else {
            self.add_comment(
                &file,
                format!("Step {:?} left out: it has no actions.", step.name),
            );
            return None;
        };
        let templated = first.step_template.is_some();
        let resource_type = if templated {
            "octopusdeploy_process_templated_step"
        } else {
            "octopusdeploy_process_step"
        };
        let step_address = format!("{resource_type}.{step_label}");
        // A templated step has no `action_id`; its `id` is what the server scopes by.
        let first_action_id = if templated {
            format!("{step_address}.id")
        } else {
            format!("{step_address}.action_id")
        };
        self.action_ids
            .entry(first.name.clone())
            .or_insert(first_action_id);

        // A step resource merges the step with its first action: `properties` are the STEP's
        // Properties (target roles, max parallelism, condition expression) and
        // `execution_properties` the ACTION's (script body, syntax, feature flags), as in
        // octoterra's fixtures (OctopusSolutionsEngineering/OctopusTerraformExport,
        // test/terraform/89-everystep/space_population/process_step_*.tf).
        let mut step_properties: BTreeMap<String, Expression> = BTreeMap::new();
        if !step.roles.is_empty() {
            // The provider has no roles attribute: roles are the step property the server reads.
            step_properties.insert(
                "Octopus.Action.TargetRoles".into(),
                emit::text(&step.roles.join(",")),
            );
        }
        for (key, value) in &step.properties {
            let stem = naming::action_secret_variable(owner, &step.name, key);
            let description = format!(
                "The sensitive value of the property {key} of step {}",
                step.name
            );
            step_properties.insert(key.clone(), self.property_value(value, stem, description));
        }

        let block = BlockWriter::new("resource", &[resource_type, &step_label])
            .attr("process_id", emit::reference(process_id))
            .attr("name", emit::text(&step.name))
            .attr("start_trigger", emit::text(&step.start_trigger))
            .attr("package_requirement", emit::text(&step.package_requirement))
            .attr("condition", emit::text(&step.condition));
        let block = self.action_attributes(
            block,
            owner,
            first,
            templated,
            "execution_properties",
            &file,
        );
        let mut block = block.collection("properties", emit::map(step_properties));
        if let Some(previous) = previous_step {
            block = block.attr("depends_on", emit::list([emit::bare(previous)]));
        }
        self.add_blocks(&file, vec![block.build()]);

        if !children.is_empty() {
            self.write_children(owner, process_id, step, &step_address, children);
        }
        Some(format!("{step_address}.id"))
    }

    fn write_children(
        &mut self,
        owner: &str,
        process_id: &str,
        step: &Step,
        step_address: &str,
        children: &[Action],
    ) {
        let mut child_ids = Vec::new();
        for action in children {
            let child_label = self.claim_label(
                "process_child_step",
                naming::label("process_child_step", &[owner, &action.name]),
            );
            let file = format!("{child_label}.tf");
            let templated = action.step_template.is_some();
            let resource_type = if templated {
                "octopusdeploy_process_templated_child_step"
            } else {
                "octopusdeploy_process_child_step"
            };
            let child_id = format!("{resource_type}.{child_label}.id");
            self.action_ids
                .entry(action.name.clone())
                .or_insert_with(|| child_id.clone());
            child_ids.push(child_id);
            let block = BlockWriter::new("resource", &[resource_type, &child_label])
                .attr("process_id", emit::reference(process_id))
                .attr("parent_id", emit::reference(&format!("{step_address}.id")))
                .attr("name", emit::text(&action.name))
                .opt("condition", action.condition.as_deref().map(emit::text));
            // A child step has no step-level settings: its action's properties are the
            // resource's `execution_properties`.
            let block = self.action_attributes(
                block,
                owner,
                action,
                templated,
                "execution_properties",
                &file,
            );
            self.add_blocks(&file, vec![block.build()]);
        }
        let order_label = self.claim_label(
            "octopusdeploy_process_child_steps_order",
            naming::label("process_child_step_order", &[owner, &step.name]),
        );
        let block = BlockWriter::new(
            "resource",
            &["octopusdeploy_process_child_steps_order", &order_label],
        )
        .attr("process_id", emit::reference(process_id))
        .attr("parent_id", emit::reference(&format!("{step_address}.id")))
        .attr("children", emit::reference_list(child_ids))
        .build();
        self.add_blocks(&format!("{order_label}.tf"), vec![block]);
    }

    /// The attributes an action contributes to its step or child-step resource.
    fn action_attributes(
        &mut self,
        mut block: BlockWriter,
        owner: &str,
        action: &Action,
        templated: bool,
        properties_attribute: &str,
        file: &str,
    ) -> BlockWriter {
        let mut properties: BTreeMap<String, Expression> = BTreeMap::new();
        let mut parameters: BTreeMap<String, Expression> = BTreeMap::new();
        let has_primary_package = !templated && action.packages.iter().any(|p| p.name.is_empty());
        for (key, value) in &action.properties {
            if templated && TEMPLATE_REFERENCE_PROPERTIES.contains(&key.as_str()) {
                continue;
            }
            // The provider computes these from `primary_package` (with the feed's real id);
            // written literally they would override it with a feed *name* (octoterra drops them).
            if has_primary_package && PRIMARY_PACKAGE_MIRROR_PROPERTIES.contains(&key.as_str()) {
                continue;
            }
            let stem = naming::action_secret_variable(owner, &action.name, key);
            let description = format!(
                "The sensitive value of the property {key} of step {}",
                action.name
            );
            let value = self.property_value(value, stem, description);
            // Step template parameters are named by the template's author; the server's own
            // settings all start with `Octopus.`.
            if templated && !key.starts_with("Octopus.") {
                parameters.insert(key.clone(), value);
            } else {
                properties.insert(key.clone(), value);
            }
        }

        if let Some(template) = &action.step_template {
            // A carried template: the space's or the one the module creates, at its version
            // where the step used the template's current one, else 0 (an update is offered, as
            // octoterra's `ReplaceStepTemplateVersion` does).
            let carried = self
                .model
                .step_templates
                .iter()
                .find(|t| t.name == template.name);
            let (template_id, version) =
                match (carried, self.carried_template(&template.name, "id")) {
                    (Some(carried), Some(id)) => {
                        let version = match self.carried_template(&template.name, "version") {
                            Some(version) if carried.version == template.version => {
                                emit::reference(&version)
                            }
                            _ => Expression::from(0),
                        };
                        (emit::reference(&id), version)
                    }
                    _ => (
                        emit::reference(&self.lookup(Shared::StepTemplate, &template.name)),
                        template.version.into(),
                    ),
                };
            block = block
                .attr("template_id", template_id)
                .attr("template_version", version)
                .collection("parameters", emit::map(parameters));
        } else {
            block = block.attr("type", emit::text(&action.action_type));
        }

        block = block
            .attr("is_disabled", action.is_disabled.into())
            .attr("is_required", action.is_required.into());
        block = block.opt("notes", action.notes.as_deref().map(emit::text));
        // One or the other: the server rejects both (octoterra #14).
        if let Some(variable) = &action.worker_pool_variable {
            block = block.attr("worker_pool_variable", emit::text(variable));
        } else if let Some(pool) = &action.worker_pool {
            let pool_id = self.lookup(Shared::WorkerPool, pool);
            block = block.attr("worker_pool_id", emit::reference(&pool_id));
        }

        let environments: Vec<String> = action
            .environments
            .iter()
            .map(|name| self.lookup(Shared::Environment, name))
            .collect();
        let excluded: Vec<String> = action
            .excluded_environments
            .iter()
            .map(|name| self.lookup(Shared::Environment, name))
            .collect();
        let mut channels = Vec::new();
        for name in &action.channels {
            match self.channel_id(name) {
                Some(id) => channels.push(id),
                None => self.add_comment(
                    file,
                    format!(
                        "Channel {name:?} left out of {:?}: not a channel of the project.",
                        action.name
                    ),
                ),
            }
        }
        block = block
            .collection("environments", emit::reference_list(environments))
            .collection("excluded_environments", emit::reference_list(excluded))
            .collection("channels", emit::reference_list(channels))
            .collection("tenant_tags", emit::text_list(&action.tenant_tags));

        if let Some(container) = &action.container {
            let feed_id = container
                .feed
                .as_ref()
                .map(|feed| emit::reference(&self.lookup(Shared::Feed, feed)));
            let mut fields = Vec::new();
            if let Some(feed_id) = feed_id {
                fields.push(("feed_id", feed_id));
            }
            if let Some(image) = &container.image {
                fields.push(("image", emit::text(image)));
            }
            block = block.attr("container", emit::object(fields));
        }

        if templated {
            // The templated resources compute packages and Git dependencies from the template.
            if !action.packages.is_empty() || !action.git_dependencies.is_empty() {
                self.add_comment(
                    file,
                    format!(
                        "Packages and Git dependencies of {:?} come from its step template.",
                        action.name
                    ),
                );
            }
        } else {
            let mut packages = BTreeMap::new();
            for package in &action.packages {
                let value = self.package(package);
                if package.name.is_empty() {
                    block = block.attr("primary_package", value);
                } else {
                    packages.insert(package.name.clone(), value);
                }
            }
            if !packages.is_empty() {
                block = block.attr("packages", emit::map(packages));
            }
            let git_dependencies = self.git_dependencies(action, file);
            if !git_dependencies.is_empty() {
                block = block.attr("git_dependencies", emit::map(git_dependencies));
            }
        }
        block.collection(properties_attribute, emit::map(properties))
    }

    fn package(&mut self, package: &PackageReference) -> Expression {
        let feed_id = self.lookup(Shared::Feed, &package.feed);
        let mut fields = vec![
            ("package_id", emit::text(&package.package_id)),
            ("feed_id", emit::reference(&feed_id)),
            (
                "acquisition_location",
                emit::text(&package.acquisition_location),
            ),
        ];
        if !package.properties.is_empty() {
            let properties = package
                .properties
                .iter()
                .map(|(key, value)| (key.clone(), emit::text(value)))
                .collect();
            fields.push(("properties", emit::map(properties)));
        }
        emit::object(fields)
    }

    /// Git dependencies are carried as the server's JSON; a shared credential must be named
    /// (`GitCredentialName`), since an ID means nothing in another space.
    fn git_dependencies(&mut self, action: &Action, file: &str) -> BTreeMap<String, Expression> {
        let mut out = BTreeMap::new();
        for dependency in &action.git_dependencies {
            let name = dependency
                .get("Name")
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned();
            let Some(fields) = self.git_dependency_fields(dependency) else {
                self.add_comment(
                    file,
                    format!("Git dependency {name:?} of {:?} left out: it lacks a repository, branch or credential type.", action.name),
                );
                continue;
            };
            let named = dependency.get("GitCredentialName").is_some();
            if !named
                && dependency.get("GitCredentialType").and_then(|t| t.as_str()) == Some("Library")
            {
                self.add_comment(
                    file,
                    format!("Git dependency {name:?} of {:?}: its credential is not named; set git_credential_id.", action.name),
                );
            }
            out.insert(name, emit::object(fields));
        }
        out
    }

    /// A git dependency's attributes (repository, branch, credential type, path filters, the
    /// shared credential looked up by name), or `None` when it lacks a required one.
    pub(super) fn git_dependency_fields(
        &mut self,
        dependency: &serde_json::Value,
    ) -> Option<Vec<(&'static str, Expression)>> {
        let field = |key: &str| {
            dependency
                .get(key)
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        let (Some(repository_uri), Some(default_branch), Some(credential_type)) = (
            field("RepositoryUri"),
            field("DefaultBranch"),
            field("GitCredentialType"),
        ) else {
            return None;
        };
        let filters: Vec<String> = dependency
            .get("FilePathFilters")
            .and_then(|value| value.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut fields = vec![
            ("repository_uri", emit::text(&repository_uri)),
            ("default_branch", emit::text(&default_branch)),
            ("git_credential_type", emit::text(&credential_type)),
        ];
        if !filters.is_empty() {
            fields.push(("file_path_filters", emit::text_list(&filters)));
        }
        if let Some(credential) = field("GitCredentialName") {
            fields.push((
                "git_credential_id",
                emit::reference(&self.lookup(Shared::GitCredential, &credential)),
            ));
        }
        Some(fields)
    }
}
