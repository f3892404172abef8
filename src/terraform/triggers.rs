//! Project triggers as octoterra writes them (`cmd/internal/converters/project_trigger_converter.go`),
//! one file each, `projecttrigger_<p>_<t>.tf`: scheduled triggers as
//! `octopusdeploy_project_scheduled_trigger`, deployment target triggers as
//! `octopusdeploy_project_deployment_target_trigger`, external feed triggers as
//! `octopusdeploy_external_feed_create_release_trigger`, git triggers as `octopusdeploy_git_trigger`,
//! and the built-in feed trigger as
//! `octopusdeploy_built_in_trigger`. What the provider cannot express is left out with a comment.

use super::emit::{self, BlockWriter};
use super::lookups::Shared;
use super::{naming, Writer};
use crate::portable::trigger::slug_of;
use crate::portable::{Trigger, TriggerFilter};
use hcl::Block;

/// octoterra's space id expression (`trimspace(var.octopus_space_id)`).
const SPACE_ID: &str = "trimspace(var.octopus_space_id)";

impl Writer<'_> {
    /// Every trigger, after the channels, runbooks and process they name were planned.
    pub(super) fn write_triggers(&mut self) {
        let model = self.model;
        for trigger in &model.triggers {
            let stem = naming::label("projecttrigger", &[&model.project.name, &trigger.name]);
            let file = format!("{stem}.tf");
            let written = match trigger.filter.filter_type.as_str() {
                "OnceDailySchedule"
                | "ContinuousDailySchedule"
                | "DaysPerMonthSchedule"
                | "CronExpressionSchedule" => self.scheduled_trigger(trigger, stem, &file),
                "MachineFilter" => Some(self.deployment_target_trigger(trigger, stem, &file)),
                "FeedFilter" => Some(self.feed_trigger(trigger, stem)),
                "GitFilter" => self.git_trigger(trigger, stem),
                _ => None,
            };
            match written {
                Some(block) => self.add_blocks(&file, vec![block]),
                None => self.add_comment(
                    &file,
                    format!(
                        "Trigger {:?} ({} / {}) is left out: the provider has no resource for it; deploy creates it.",
                        trigger.name, trigger.filter.filter_type, trigger.action.action_type
                    ),
                ),
            }
        }
        self.write_built_in_trigger();
    }

    /// The channel a trigger names, else the project's default channel (the provider requires
    /// one where the server takes the default).
    fn trigger_channel(&mut self, name: Option<&String>) -> Option<String> {
        let name = name.cloned().or_else(|| {
            self.model
                .channels
                .iter()
                .find(|channel| channel.is_default)
                .map(|channel| channel.name.clone())
        })?;
        self.channel_id(&name)
    }

    fn environment_ids(&mut self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .map(|name| self.lookup(Shared::Environment, name))
            .collect()
    }

    fn scheduled_trigger(&mut self, trigger: &Trigger, stem: String, file: &str) -> Option<Block> {
        let action = &trigger.action;
        let action_block = match action.action_type.as_str() {
            "RunRunbook" => {
                let runbook = self.runbook_ids.get(action.runbook.as_ref()?)?.clone();
                let environments = self.environment_ids(&action.environments);
                BlockWriter::new("run_runbook_action", &[])
                    .attr("target_environment_ids", emit::reference_list(environments))
                    .attr("runbook_id", emit::reference(&runbook))
                    .build()
            }
            "DeployNewRelease" => {
                let environment = self.lookup(Shared::Environment, action.environment.as_ref()?);
                BlockWriter::new("deploy_new_release_action", &[])
                    .attr("destination_environment_id", emit::reference(&environment))
                    .build()
            }
            "DeployLatestRelease" => {
                // The provider takes one source environment (octoterra writes the first).
                let source = self.lookup(Shared::Environment, action.source_environments.first()?);
                let destination = self.lookup(
                    Shared::Environment,
                    action.destination_environment.as_ref()?,
                );
                BlockWriter::new("deploy_latest_release_action", &[])
                    .attr("source_environment_id", emit::reference(&source))
                    .attr("destination_environment_id", emit::reference(&destination))
                    .opt(
                        "should_redeploy",
                        action
                            .should_redeploy_when_release_is_current
                            .map(Into::into),
                    )
                    .build()
            }
            _ => return None,
        };
        if !action.tenant_tags.is_empty() {
            self.add_comment(
                file,
                format!(
                    "The provider's scheduled trigger has no tenant tags: set {} on the trigger in Octopus (deploy does).",
                    action.tenant_tags.join(", ")
                ),
            );
        }
        let label = self.claim_label("octopusdeploy_project_scheduled_trigger", stem);
        let channel = action
            .channel
            .as_ref()
            .and_then(|name| self.channel_id(name));
        Some(
            BlockWriter::new(
                "resource",
                &["octopusdeploy_project_scheduled_trigger", &label],
            )
            .attr("space_id", emit::reference(SPACE_ID))
            .attr("name", emit::text(&trigger.name))
            .opt(
                "description",
                trigger.description.as_deref().map(emit::text),
            )
            .opt(
                "timezone",
                trigger.filter.timezone.as_deref().map(emit::text),
            )
            .attr("is_disabled", trigger.is_disabled.into())
            .attr("project_id", emit::reference(&self.project_id()))
            .opt("channel_id", channel.as_deref().map(emit::reference))
            .block(schedule_block(&trigger.filter)?)
            .block(action_block)
            .build(),
        )
    }

    fn deployment_target_trigger(&mut self, trigger: &Trigger, stem: String, file: &str) -> Block {
        let filter = &trigger.filter;
        if trigger.is_disabled {
            self.add_comment(
                file,
                "The provider's deployment target trigger cannot be disabled: disable it in Octopus (deploy does).".to_owned(),
            );
        }
        let environments = self.environment_ids(&filter.environments);
        let label = self.claim_label("octopusdeploy_project_deployment_target_trigger", stem);
        BlockWriter::new(
            "resource",
            &["octopusdeploy_project_deployment_target_trigger", &label],
        )
        .attr("name", emit::text(&trigger.name))
        .attr("project_id", emit::reference(&self.project_id()))
        .collection("environment_ids", emit::reference_list(environments))
        .collection(
            "event_categories",
            emit::text_list(&filter.event_categories),
        )
        .collection("event_groups", emit::text_list(&filter.event_groups))
        .collection("roles", emit::text_list(&filter.roles))
        .opt(
            "should_redeploy",
            trigger
                .action
                .should_redeploy_when_machine_has_been_deployed_to
                .map(Into::into),
        )
        .build()
    }

    fn feed_trigger(&mut self, trigger: &Trigger, stem: String) -> Block {
        let label = self.claim_label("octopusdeploy_external_feed_create_release_trigger", stem);
        let channel = self.trigger_channel(trigger.action.channel.as_ref());
        let mut resource = BlockWriter::new(
            "resource",
            &["octopusdeploy_external_feed_create_release_trigger", &label],
        )
        .attr("space_id", emit::reference(SPACE_ID))
        .attr("name", emit::text(&trigger.name))
        .attr("project_id", emit::reference(&self.project_id()))
        .opt("channel_id", channel.as_deref().map(emit::reference))
        .attr("is_disabled", trigger.is_disabled.into());
        for package in &trigger.filter.packages {
            let slug = match (&package.deployment_action, &package.deployment_action_slug) {
                (Some(name), _) => slug_of(name),
                (None, Some(slug)) => slug.clone(),
                (None, None) => String::new(),
            };
            resource = resource.block(
                BlockWriter::new("package", &[])
                    .attr("deployment_action_slug", emit::text(&slug))
                    .attr("package_reference", emit::text(&package.package_reference))
                    .build(),
            );
        }
        // The steps must exist first (octoterra: "This trigger needs the deployment process to be
        // created first to ensure step names exist").
        if let Some(order) = &self.deployment_steps_order {
            resource = resource.attr("depends_on", emit::list([emit::bare(order)]));
        }
        resource.build()
    }

    /// The filter's `Sources` (carried as the server wrote them: slugs and a git dependency's
    /// name, no ids) as the provider's `sources` list.
    fn git_trigger(&mut self, trigger: &Trigger, stem: String) -> Option<Block> {
        let sources = trigger.filter.extra.get("Sources")?.as_array()?;
        let text = |source: &serde_json::Value, key: &str| {
            emit::text(source.get(key).and_then(|v| v.as_str()).unwrap_or_default())
        };
        let paths = |source: &serde_json::Value, key: &str| {
            emit::list(
                source
                    .get(key)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|path| path.as_str())
                    .map(emit::text),
            )
        };
        let sources = emit::list(sources.iter().map(|source| {
            emit::object(vec![
                (
                    "deployment_action_slug",
                    text(source, "DeploymentActionSlug"),
                ),
                ("git_dependency_name", text(source, "GitDependencyName")),
                ("include_file_paths", paths(source, "IncludeFilePaths")),
                ("exclude_file_paths", paths(source, "ExcludeFilePaths")),
            ])
        }));
        let label = self.claim_label("octopusdeploy_git_trigger", stem);
        let channel = self.trigger_channel(trigger.action.channel.as_ref());
        let mut resource = BlockWriter::new("resource", &["octopusdeploy_git_trigger", &label])
            .attr("space_id", emit::reference(SPACE_ID))
            .attr("name", emit::text(&trigger.name))
            .opt(
                "description",
                trigger.description.as_deref().map(emit::text),
            )
            .attr("project_id", emit::reference(&self.project_id()))
            .opt("channel_id", channel.as_deref().map(emit::reference))
            .attr("is_disabled", trigger.is_disabled.into())
            .attr("sources", sources);
        if let Some(order) = &self.deployment_steps_order {
            resource = resource.attr("depends_on", emit::list([emit::bare(order)]));
        }
        Some(resource.build())
    }

    fn write_built_in_trigger(&mut self) {
        let model = self.model;
        let Some(trigger) = &model.built_in_trigger else {
            return;
        };
        let stem = naming::label("projecttrigger", &[&model.project.name, "built_in_feed"]);
        let label = self.claim_label("octopusdeploy_built_in_trigger", stem);
        let channel = self.trigger_channel(trigger.channel.as_ref());
        let mut resource =
            BlockWriter::new("resource", &["octopusdeploy_built_in_trigger", &label])
                .attr("space_id", emit::reference(SPACE_ID))
                .attr("project_id", emit::reference(&self.project_id()))
                .opt("channel_id", channel.as_deref().map(emit::reference))
                .attr(
                    "release_creation_package",
                    emit::object(vec![
                        ("deployment_action", emit::text(&trigger.deployment_action)),
                        ("package_reference", emit::text(&trigger.package_reference)),
                    ]),
                );
        if let Some(order) = &self.deployment_steps_order {
            resource = resource.attr("depends_on", emit::list([emit::bare(order)]));
        }
        self.add_blocks(&format!("{label}.tf"), vec![resource.build()]);
    }
}

/// The provider parses times without a zone (go-octopusdeploy `filters.RFC3339NanoNoZone`):
/// octoterra removes the server's (`dateutil.RemoveTimezone`).
fn local_time(text: &str) -> String {
    match text.split_once('T') {
        Some((date, time)) => {
            let end = time.find(['Z', '+', '-']).unwrap_or(time.len());
            format!("{date}T{}", &time[..end])
        }
        None => text.to_owned(),
    }
}

/// The schedule block of a scheduled trigger's filter, by its type.
fn schedule_block(filter: &TriggerFilter) -> Option<Block> {
    let start = || {
        filter
            .start_time
            .as_deref()
            .map(|t| emit::text(&local_time(t)))
    };
    let block = match filter.filter_type.as_str() {
        "OnceDailySchedule" => BlockWriter::new("once_daily_schedule", &[])
            .attr("start_time", start()?)
            .attr("days_of_week", emit::text_list(&filter.days_of_week)),
        "ContinuousDailySchedule" => BlockWriter::new("continuous_daily_schedule", &[])
            .attr("interval", emit::text(filter.interval.as_deref()?))
            .opt("hour_interval", filter.hour_interval.map(Into::into))
            .opt("minute_interval", filter.minute_interval.map(Into::into))
            .attr(
                "run_after",
                emit::text(&local_time(filter.run_after.as_deref()?)),
            )
            .attr(
                "run_until",
                emit::text(&local_time(filter.run_until.as_deref()?)),
            )
            .attr("days_of_week", emit::text_list(&filter.days_of_week)),
        "DaysPerMonthSchedule" => BlockWriter::new("days_per_month_schedule", &[])
            .attr(
                "monthly_schedule_type",
                emit::text(filter.monthly_schedule_type.as_deref()?),
            )
            .attr("start_time", start()?)
            .opt(
                "date_of_month",
                filter.date_of_month.as_deref().map(emit::text),
            )
            .opt(
                "day_number_of_month",
                filter.day_number_of_month.as_deref().map(emit::text),
            )
            .opt("day_of_week", filter.day_of_week.as_deref().map(emit::text)),
        "CronExpressionSchedule" => BlockWriter::new("cron_expression_schedule", &[]).attr(
            "cron_expression",
            emit::text(filter.cron_expression.as_deref()?),
        ),
        _ => return None,
    };
    Some(block.build())
}

#[cfg(test)]
mod tests {
    use super::local_time;

    #[test]
    fn times_lose_their_zone_as_octoterra_writes_them() {
        assert_eq!(
            local_time("2024-03-22T09:00:00.000"),
            "2024-03-22T09:00:00.000"
        );
        assert_eq!(
            local_time("2024-03-22T09:00:00+10:00"),
            "2024-03-22T09:00:00"
        );
        assert_eq!(local_time("2024-03-22T09:00:00Z"), "2024-03-22T09:00:00");
    }
}
