//! Channels and runbooks (each runbook's process is `process`), both directions.

use super::fields::{carried, merge, set_text};
use super::process::portable_process;
use super::project::{desired_connectivity, portable_connectivity};
use super::Context;
use crate::octopus::resources::{
    Channel, ChannelActionPackage, DeploymentProcess, Extra, RunRetentionPolicy, Runbook,
};
use crate::octopus::space_index::SpaceIndex;
use crate::portable;

pub fn portable_channel(channel: &Channel, context: &Context<'_>) -> portable::Channel {
    portable::Channel {
        name: channel.name.clone(),
        description: channel.description.clone().filter(|d| !d.is_empty()),
        is_default: channel.is_default,
        lifecycle: channel
            .lifecycle_id
            .as_deref()
            .map(|id| context.index.lifecycles.name(id)),
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

pub fn portable_runbook(
    runbook: &Runbook,
    process: Option<&DeploymentProcess>,
    context: &Context<'_>,
) -> portable::Runbook {
    portable::Runbook {
        name: runbook.name.clone(),
        description: runbook.description.clone().filter(|d| !d.is_empty()),
        environment_scope: runbook
            .environment_scope
            .clone()
            .unwrap_or_else(|| "All".to_owned()),
        environments: context.index.environments.names(&runbook.environments),
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
            .map(|p| portable_process(p, context))
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

pub fn desired_channel(
    existing: Option<&Channel>,
    channel: &portable::Channel,
    project_id: Option<&str>,
    space_id: &str,
    index: &SpaceIndex,
) -> Channel {
    let mut desired = existing.cloned().unwrap_or_else(|| Channel {
        space_id: Some(space_id.to_owned()),
        project_id: project_id.map(str::to_owned),
        name: channel.name.clone(),
        ..Default::default()
    });
    desired.name = channel.name.clone();
    set_text(&mut desired.description, &channel.description);
    desired.is_default = channel.is_default;
    desired.lifecycle_id = channel
        .lifecycle
        .as_ref()
        .and_then(|name| index.lifecycles.id(name))
        .cloned();
    desired.tenant_tags = channel.tenant_tags.clone();
    let current_rules = std::mem::take(&mut desired.rules);
    desired.rules = channel
        .rules
        .iter()
        .enumerate()
        .map(|(position, rule)| {
            let mut desired_rule = current_rules.get(position).cloned().unwrap_or_default();
            desired_rule.version_range = rule.version_range.clone();
            desired_rule.tag = rule.tag.clone();
            desired_rule.action_packages = rule
                .action_packages
                .iter()
                .map(|p| ChannelActionPackage {
                    deployment_action: Some(p.deployment_action.clone()),
                    package_reference: Some(p.package_reference.clone().unwrap_or_default()),
                })
                .collect();
            desired_rule
        })
        .collect();
    merge::<Channel>(&mut desired.extra, &channel.extra);
    desired
}

pub fn desired_runbook(
    existing: Option<&Runbook>,
    runbook: &portable::Runbook,
    project_id: Option<&str>,
    space_id: &str,
    index: &SpaceIndex,
) -> Runbook {
    let mut desired = existing.cloned().unwrap_or_else(|| Runbook {
        space_id: Some(space_id.to_owned()),
        project_id: project_id.map(str::to_owned),
        name: runbook.name.clone(),
        // Required on create; Octopus's own default.
        run_retention_policy: Some(RunRetentionPolicy {
            quantity_to_keep: 100,
            should_keep_forever: false,
            unit: Some("Items".into()),
            extra: Extra::new(),
        }),
        ..Default::default()
    });
    set_text(&mut desired.description, &runbook.description);
    desired.environment_scope = Some(runbook.environment_scope.clone());
    desired.environments = runbook
        .environments
        .iter()
        .filter_map(|name| index.environments.id(name))
        .cloned()
        .collect();
    desired.multi_tenancy_mode = Some(runbook.multi_tenancy_mode.clone());
    desired.default_guided_failure_mode = Some(runbook.default_guided_failure_mode.clone());
    desired.force_package_download = runbook.force_package_download;
    if let Some(policy) = &runbook.connectivity_policy {
        desired.connectivity_policy = Some(desired_connectivity(
            desired.connectivity_policy.as_ref(),
            policy,
        ));
    }
    if let Some(retention) = &runbook.retention_policy {
        let mut policy = desired.run_retention_policy.clone().unwrap_or_default();
        policy.quantity_to_keep = retention.quantity_to_keep;
        policy.should_keep_forever = retention.should_keep_forever;
        policy.unit = retention.unit.clone().or(policy.unit);
        desired.run_retention_policy = Some(policy);
    }
    merge::<Runbook>(&mut desired.extra, &runbook.extra);
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::testing::{index_for, payload};

    const CHANNEL: &str = include_str!(
        "../../tests/fixtures/octopus-payloads/channel__octopusdeployutilities-2018.11.2.json"
    );

    /// `from_api(to_api(x)) == x` on a real channel, onto itself and onto nothing.
    #[test]
    fn a_real_channel_round_trips() {
        let api: Channel = payload(CHANNEL);
        let (index, channels) = index_for(&serde_json::from_str(CHANNEL).unwrap());
        let context = Context {
            index: &index,
            channels,
            secrets: None,
        };
        let portable = portable_channel(&api, &context);
        for existing in [Some(&api), None] {
            let written =
                desired_channel(existing, &portable, Some("Projects-1"), "Spaces-1", &index);
            assert_eq!(portable_channel(&written, &context), portable);
        }
    }

    #[test]
    fn absent_text_is_empty_text_and_a_new_runbook_keeps_octopus_retention() {
        let index = SpaceIndex::default();
        let context = Context {
            index: &index,
            channels: Default::default(),
            secrets: None,
        };
        let runbook = Runbook {
            name: "Restart".into(),
            description: Some("old".into()),
            ..Default::default()
        };
        let portable = portable_runbook(&runbook, None, &context);
        let mut cleared = portable.clone();
        cleared.description = None;
        let written = desired_runbook(Some(&runbook), &cleared, None, "Spaces-1", &index);
        assert_eq!(written.description.as_deref(), Some(""));
        let created = desired_runbook(None, &cleared, None, "Spaces-1", &index);
        assert_eq!(created.run_retention_policy.unwrap().quantity_to_keep, 100);
        assert_eq!(portable_runbook(&written, None, &context), cleared);
    }
}
