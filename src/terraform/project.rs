//! The project and what hangs off it directly: its settings, Git persistence, tenant templates,
//! versioning strategy, channels and runbooks.

use super::emit::{self, BlockWriter};
use super::lookups::Shared;
use super::naming;
use super::Writer;
use crate::portable::{ConnectivityPolicy, RunRetention};
use hcl::Block;
use std::collections::BTreeMap;

impl Writer<'_> {
    pub(super) fn write_project(&mut self) {
        let model = self.model;
        let settings = &model.project;
        let name_variable = naming::project_name_variable(&settings.name);
        let file = format!("project_{}.tf", self.project_label);

        let mut blocks = vec![BlockWriter::new("variable", &[&name_variable])
            .attr("type", emit::keyword("string"))
            .attr("nullable", false.into())
            .attr("sensitive", false.into())
            .attr(
                "description",
                emit::text("The name of the project exported from the template project"),
            )
            .attr("default", emit::text(&settings.name))
            .build()];

        let lifecycle_id = self.lookup(Shared::Lifecycle, &settings.lifecycle);
        let project_group_id = self.lookup(Shared::ProjectGroup, &settings.project_group);
        // Sorted, as octoterra does: the provider reports an "unexpected new value" otherwise.
        let mut library_sets = settings.included_library_variable_sets.clone();
        library_sets.sort();
        library_sets.dedup();
        let library_set_ids: Vec<String> = library_sets
            .iter()
            .map(|set| {
                self.carried_module(set)
                    .unwrap_or_else(|| self.lookup(Shared::LibraryVariableSet, set))
            })
            .collect();
        let mut project_tags = settings.project_tags.clone();
        project_tags.sort();

        let mut project =
            BlockWriter::new("resource", &["octopusdeploy_project", &self.project_label])
                .attr("name", emit::reference(&format!("var.{name_variable}")))
                .opt(
                    "description",
                    settings.description.as_deref().map(emit::text),
                )
                .attr("lifecycle_id", emit::reference(&lifecycle_id))
                .attr("project_group_id", emit::reference(&project_group_id))
                .attr(
                    "tenanted_deployment_participation",
                    emit::text(&settings.tenanted_deployment_mode),
                )
                .attr(
                    "default_guided_failure_mode",
                    emit::text(&settings.default_guided_failure_mode),
                )
                .attr(
                    "default_to_skip_if_already_installed",
                    settings.default_to_skip_if_already_installed.into(),
                )
                .attr("is_disabled", settings.is_disabled.into())
                .attr(
                    "is_discrete_channel_release",
                    settings.discrete_channel_release.into(),
                )
                .opt(
                    "release_notes_template",
                    settings.release_notes_template.as_deref().map(emit::text),
                )
                .opt(
                    "deployment_changes_template",
                    settings
                        .deployment_changes_template
                        .as_deref()
                        .map(emit::text),
                )
                .collection(
                    "included_library_variable_sets",
                    emit::reference_list(library_set_ids),
                );
        if !project_tags.is_empty() {
            project = project.attr("project_tags", emit::text_list(&project_tags));
        }
        if let Some(policy) = &settings.connectivity_policy {
            project = project.block(connectivity_policy_block(policy));
        }
        for template in &settings.templates {
            let default_value = template.default_value.as_ref().map(|value| {
                self.property_value(
                    value,
                    naming::project_template_variable(&settings.name, &template.name),
                    format!(
                        "The sensitive default value of the tenant template {}",
                        template.name
                    ),
                )
            });
            project = project.block(
                BlockWriter::new("template", &[])
                    .attr("name", emit::text(&template.name))
                    .opt("label", template.label.as_deref().map(emit::text))
                    .opt("help_text", template.help_text.as_deref().map(emit::text))
                    .opt("default_value", default_value)
                    .collection("display_settings", string_map(&template.display_settings))
                    .build(),
            );
        }

        if let Some(git) = &settings.version_control {
            let url_variable = naming::project_git_url_variable(&settings.name);
            blocks.push(
                BlockWriter::new("variable", &[&url_variable])
                    .attr("type", emit::keyword("string"))
                    .attr("nullable", false.into())
                    .attr("sensitive", false.into())
                    .attr("description", emit::text("The Git repository of the Config-as-Code project (the downstream fork's URL)"))
                    .attr("default", emit::text(&git.url))
                    .build(),
            );
            let settings_block = |kind: &str| {
                BlockWriter::new(kind, &[])
                    .attr("url", emit::reference(&format!("var.{url_variable}")))
            };
            let with_branches = |block: BlockWriter| {
                block
                    .attr("base_path", emit::text(&git.base_path))
                    .attr("default_branch", emit::text(&git.default_branch))
                    .collection(
                        "protected_branches",
                        emit::text_list(&git.protected_branch_name_patterns),
                    )
                    .build()
            };
            match git.credentials.kind.as_str() {
                "Reference" => match &git.credentials.name {
                    Some(credential) => {
                        let credential_id = self.lookup(Shared::GitCredential, credential);
                        let block = settings_block("git_library_persistence_settings")
                            .attr("git_credential_id", emit::reference(&credential_id));
                        project = project.block(with_branches(block));
                    }
                    None => self.add_comment(&file, "Git persistence left out: a Reference credential without a name.".into()),
                },
                "Anonymous" => project = project.block(with_branches(settings_block("git_anonymous_persistence_settings"))),
                "UsernamePassword" => {
                    let password_variable = self.tf_variables.claim(naming::project_git_password_variable(&settings.name));
                    self.declare_secret_variable(
                        &password_variable,
                        &password_variable,
                        "The password of the Config-as-Code project's Git repository",
                    );
                    let block = settings_block("git_username_password_persistence_settings")
                        .attr("username", emit::text(git.credentials.username.as_deref().unwrap_or_default()))
                        .attr("password", emit::reference(&format!("var.{password_variable}")));
                    project = project.block(with_branches(block));
                }
                other => self.add_comment(
                    &file,
                    format!(
                        "Git persistence left out: credential kind {other:?} needs a per-space connection the portable model does not name."
                    ),
                ),
            }
            if git.protected_default_branch {
                self.add_comment(
                    &file,
                    "The upstream protects its default branch; provider 1.x has no setting for that, protect it in the fork.".into(),
                );
            }
            // As octoterra: for a Config-as-Code project the server keeps the connectivity policy
            // in Git, so a plan would otherwise keep reporting it.
            project = project.block(
                BlockWriter::new("lifecycle", &[])
                    .attr(
                        "ignore_changes",
                        emit::list([emit::keyword("connectivity_policy")]),
                    )
                    .build(),
            );
        }
        blocks.push(project.build());
        self.add_blocks(&file, blocks);
    }

    /// Labels and ID expressions of every channel, before anything references them.
    pub(super) fn plan_channels(&mut self) {
        let model = self.model;
        for channel in &model.channels {
            let stem = naming::label("channel", &[&model.project.name, &channel.name]);
            let (label, id) = if channel.is_default {
                // The default channel exists as soon as the project does, so it is not a
                // resource here (octoterra's hard-coded `Channels-1` lookup is wrong in any
                // space but the first). It is read back from the project instead; its own
                // settings (lifecycle, rules, tags) stay as the server created them.
                let data_label = self.claim_label("octopusdeploy_channels", stem);
                let id = format!(
                    "[for channel in data.octopusdeploy_channels.{data_label}.channels : channel.id if channel.is_default][0]"
                );
                (data_label, id)
            } else {
                let resource_label = self.claim_label("octopusdeploy_channel", stem);
                let id = format!("octopusdeploy_channel.{resource_label}.id");
                (resource_label, id)
            };
            self.channel_labels.insert(channel.name.clone(), label);
            self.channel_ids.insert(channel.name.clone(), id);
        }
    }

    pub(super) fn write_channels(&mut self) {
        let model = self.model;
        for channel in &model.channels {
            let label = self.channel_labels[&channel.name].clone();
            let data_label = label.as_str();
            let file = format!("{data_label}.tf");
            if channel.is_default {
                if !self.referenced_channels.contains(&channel.name) {
                    continue;
                }
                let lookup = BlockWriter::new("data", &["octopusdeploy_channels", data_label])
                    .attr("project_id", emit::reference(&self.project_id()))
                    .attr("skip", 0.into())
                    .attr("take", 1000.into())
                    .block(
                        BlockWriter::new("lifecycle", &[])
                            .block(
                                BlockWriter::new("postcondition", &[])
                                    .attr("error_message", emit::text("The project has no default channel."))
                                    .attr(
                                        "condition",
                                        emit::bare("length([for channel in self.channels : channel.id if channel.is_default]) == 1"),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build();
                self.add_comment(
                    &file,
                    format!(
                        "The default channel ({}) is created with the project: it is looked up, not managed.",
                        channel.name
                    ),
                );
                self.add_blocks(&file, vec![lookup]);
                continue;
            }
            let lifecycle_id = channel
                .lifecycle
                .as_ref()
                .map(|name| self.lookup(Shared::Lifecycle, name));
            let mut resource = BlockWriter::new("resource", &["octopusdeploy_channel", data_label])
                .attr("name", emit::text(&channel.name))
                .opt(
                    "description",
                    channel.description.as_deref().map(emit::text),
                )
                .attr("project_id", emit::reference(&self.project_id()))
                .opt("lifecycle_id", lifecycle_id.as_deref().map(emit::reference))
                .collection("tenant_tags", emit::text_list(&channel.tenant_tags));
            for rule in &channel.rules {
                let mut block = BlockWriter::new("rule", &[])
                    .opt(
                        "version_range",
                        rule.version_range.as_deref().map(emit::text),
                    )
                    .opt("tag", rule.tag.as_deref().map(emit::text));
                for package in &rule.action_packages {
                    block = block.block(
                        BlockWriter::new("action_package", &[])
                            .attr("deployment_action", emit::text(&package.deployment_action))
                            .attr(
                                "package_reference",
                                emit::text(
                                    package.package_reference.as_deref().unwrap_or_default(),
                                ),
                            )
                            .build(),
                    );
                }
                resource = resource.block(block.build());
            }
            if let Some(order) = &self.deployment_steps_order {
                resource = resource.attr("depends_on", emit::list([emit::bare(order)]));
            }
            self.add_blocks(&file, vec![resource.build()]);
        }
    }

    pub(super) fn plan_runbooks(&mut self) {
        let model = self.model;
        for runbook in &model.runbooks {
            let label = self.claim_label(
                "octopusdeploy_runbook",
                naming::runbook_label(&model.project.name, &runbook.name),
            );
            self.runbook_ids.insert(
                runbook.name.clone(),
                format!("octopusdeploy_runbook.{label}.id"),
            );
        }
    }

    pub(super) fn write_runbooks(&mut self) {
        let model = self.model;
        for runbook in &model.runbooks {
            let id = self.runbook_ids[&runbook.name].clone();
            let label = id
                .split('.')
                .nth(1)
                .expect("runbook id expressions name a label")
                .to_owned();
            let name_variable = self.tf_variables.claim(format!("{label}_name"));
            let environment_ids: Vec<String> = runbook
                .environments
                .iter()
                .map(|name| self.lookup(Shared::Environment, name))
                .collect();
            let mut resource = BlockWriter::new("resource", &["octopusdeploy_runbook", &label])
                .attr("name", emit::reference(&format!("var.{name_variable}")))
                .attr("project_id", emit::reference(&self.project_id()))
                .opt(
                    "description",
                    runbook.description.as_deref().map(emit::text),
                )
                .attr("environment_scope", emit::text(&runbook.environment_scope))
                .collection("environments", emit::reference_list(environment_ids))
                .attr(
                    "multi_tenancy_mode",
                    emit::text(&runbook.multi_tenancy_mode),
                )
                .attr(
                    "default_guided_failure_mode",
                    emit::text(&runbook.default_guided_failure_mode),
                )
                .attr(
                    "force_package_download",
                    runbook.force_package_download.into(),
                );
            if let Some(policy) = &runbook.connectivity_policy {
                resource = resource.block(connectivity_policy_block(policy));
            }
            if let Some(retention) = &runbook.retention_policy {
                resource = resource.block(retention_block(retention));
            }
            let variable = BlockWriter::new("variable", &[&name_variable])
                .attr("type", emit::keyword("string"))
                .attr("nullable", false.into())
                .attr("sensitive", false.into())
                .attr(
                    "description",
                    emit::text(&format!(
                        "The name of the runbook exported from {}",
                        runbook.name
                    )),
                )
                .attr("default", emit::text(&runbook.name))
                .build();
            self.add_blocks(&format!("{label}.tf"), vec![variable, resource.build()]);
            let owner = naming::label(&model.project.name, &[&runbook.name]);
            self.write_process(&owner, Some(&id), &runbook.process);
        }
    }

    /// Provider 1.x moved the project's `versioning_strategy` block into its own resource.
    pub(super) fn write_versioning_strategy(&mut self) {
        let model = self.model;
        let Some(strategy) = &model.project.versioning_strategy else {
            return;
        };
        let label = naming::label("project_versioning_strategy", &[&model.project.name]);
        let file = format!("{label}.tf");
        let mut resource = BlockWriter::new(
            "resource",
            &["octopusdeploy_project_versioning_strategy", &label],
        )
        .attr("project_id", emit::reference(&self.project_id()));
        // The provider's validators refuse `template` with `donor_package`, and
        // `donor_package.deployment_action` with `donor_package_step_id` (issue 10, item 2):
        // a donor package alone (which Octopus uses when set), else the template alone. The
        // donor's step exists first: the resource depends on the steps order below.
        if strategy.donor_package.is_none() {
            resource = resource.opt("template", strategy.template.as_deref().map(emit::text));
        }
        if let Some(donor) = &strategy.donor_package {
            match self.action_ids.get(&donor.deployment_action).cloned() {
                Some(_) => {
                    resource = resource.attr(
                        "donor_package",
                        emit::object(vec![
                            ("deployment_action", emit::text(&donor.deployment_action)),
                            (
                                "package_reference",
                                emit::text(donor.package_reference.as_deref().unwrap_or_default()),
                            ),
                        ]),
                    );
                }
                None => self.add_comment(
                    &file,
                    format!(
                        "Donor package left out: no step {:?} in the deployment process.",
                        donor.deployment_action
                    ),
                ),
            }
        }
        if let Some(order) = &self.deployment_steps_order {
            resource = resource.attr("depends_on", emit::list([emit::bare(order)]));
        }
        self.add_blocks(&file, vec![resource.build()]);
    }
}

fn string_map(entries: &BTreeMap<String, String>) -> hcl::Expression {
    emit::map(
        entries
            .iter()
            .map(|(key, value)| (key.clone(), emit::text(value)))
            .collect(),
    )
}

fn connectivity_policy_block(policy: &ConnectivityPolicy) -> Block {
    BlockWriter::new("connectivity_policy", &[])
        .attr(
            "allow_deployments_to_no_targets",
            policy.allow_deployments_to_no_targets.into(),
        )
        .attr(
            "exclude_unhealthy_targets",
            policy.exclude_unhealthy_targets.into(),
        )
        .attr(
            "skip_machine_behavior",
            emit::text(&policy.skip_machine_behavior),
        )
        .collection("target_roles", emit::text_list(&policy.target_roles))
        .build()
}

/// The server's retention strategies: `Forever`, or `Count` of `unit`s.
fn retention_block(retention: &RunRetention) -> Block {
    let block = BlockWriter::new("retention_policy_with_strategy", &[]);
    if retention.should_keep_forever {
        return block.attr("strategy", emit::text("Forever")).build();
    }
    block
        .attr("strategy", emit::text("Count"))
        .attr("quantity_to_keep", retention.quantity_to_keep.into())
        .opt("unit", retention.unit.as_deref().map(emit::text))
        .build()
}
