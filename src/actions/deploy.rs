//! `deploy` and `plan`: load the template package, find the managed space, apply (or compare)
//! the portable project through the REST API, report. Orchestration only.

use super::server::find_space;
use super::{ActionError, Report, Server, SpaceName, EXIT_CHANGES, GIVE_ID_OR_NAME};
use crate::apply::deploy::{DeployError, DeployOptions};
use crate::apply::project::deploy;
use crate::apply::Summary;
use crate::config::{DeployConfig, PackageSource, TargetSpace};
use crate::inputs::{quoted, GIT_URL};
use crate::log_format::progress;
use crate::octopus::space_index::SpaceIndex;
use crate::octopus::{feed, OctopusError};
use crate::package::{self, PackageContents, PackageLimits, PackageName};
use crate::report::deploy::{project_url, DeployReport};
use crate::report::ReportTarget;
use crate::service_messages::ServiceMessage;

impl Report for DeployReport {
    /// `ProjectId`, only when something was deployed (a plan writes nothing); the gates a runbook
    /// can put a step condition on: `HasChanges`, the counts, and `OverwritesDownstream` (something
    /// the managed space holds would be, or was, replaced or removed: an update or a removal, not
    /// only additions).
    fn output_variables(&self) -> Vec<ServiceMessage> {
        let mut messages = match &self.project_id {
            Some(project_id) if !self.dry_run => {
                vec![ServiceMessage::set_variable("ProjectId", project_id)]
            }
            _ => Vec::new(),
        };
        let flag = |value: bool| if value { "True" } else { "False" };
        let summary = &self.summary;
        for (name, value) in [
            ("HasChanges", flag(self.changes).to_owned()),
            ("CreatedCount", summary.created.to_string()),
            ("UpdatedCount", summary.updated.to_string()),
            ("RemovedCount", summary.removed.to_string()),
            ("UnchangedCount", summary.unchanged.to_string()),
            ("KeptCount", summary.kept.to_string()),
            (
                "OverwritesDownstream",
                flag(summary.updated + summary.removed > 0).to_owned(),
            ),
        ] {
            messages.push(ServiceMessage::set_variable(name, &value));
        }
        if let Some(files) = &self.report_files {
            messages.extend(files.artifacts());
        }
        messages
    }

    fn details(&self) -> Vec<String> {
        self.resources
            .iter()
            .map(|outcome| {
                if self.dry_run {
                    outcome.as_plan_line()
                } else {
                    outcome.to_string()
                }
            })
            .collect()
    }

    fn exit_code(&self) -> u8 {
        if self.dry_run && self.changes {
            EXIT_CHANGES as u8
        } else {
            0
        }
    }
}

/// Deploy (or plan) the template package into the managed space: read it, find the space,
/// converge the project through the REST API, report.
pub async fn run(config: &DeployConfig) -> Result<DeployReport, ActionError> {
    super::check_report_dir(config.report_dir.as_deref())?;
    progress(0, "Reading the template package");
    // The managed space is looked up, and its index read, while the package is read (about
    // 30 ms of CPU for a large package, two round trips saved). Errors keep their order: a bad
    // package is reported before a missing space, and a missing space before the index's
    // errors, as when they ran one after the other; these are reads only.
    let target = Server::managed(&config.target);
    let (package, space) = match &target {
        Ok(target) => {
            let (package, space) =
                tokio::join!(load_package(config), locate(target, &config.space));
            (package, Some(space))
        }
        Err(_) => (load_package(config).await, None),
    };
    let (contents, package_name) = package?;
    tracing::debug!(
        "read {package_name}: {} files, {} secrets",
        contents.file_count,
        contents.secrets.len()
    );
    if let (Some(placeholder), Some(_)) = (
        &config.git_url_unsubstituted,
        &contents.project.project.version_control,
    ) {
        tracing::warn!("{GIT_URL} is {}, an Octopus variable reference that was never substituted: a Config-as-Code project already downstream keeps its own repository, and a new one needs the fork; run the fork step (named as in the reference) before this one", quoted(placeholder));
    }
    progress(20, "Finding the managed space");
    let target = target?;
    let (
        SpaceName {
            id: space_id,
            name: space_name,
        },
        index,
    ) = space.expect("the space is looked up whenever the server input is valid")?;
    let project_name = config
        .project_name
        .clone()
        .unwrap_or_else(|| contents.project.project.name.clone());
    tracing::info!(
        project = %project_name,
        space = %space_id,
        package = %package_name,
        "{}",
        if config.dry_run { "planning deploy" } else { "deploying template package" }
    );
    let verb = if config.dry_run {
        "Comparing"
    } else {
        "Applying"
    };
    progress(
        40,
        &format!("{verb} project `{project_name}` in {space_id}"),
    );
    let options = DeployOptions {
        project_name: project_name.clone(),
        overwrite_variables: config.overwrite_variables,
        overwrite_triggers: config.overwrite_triggers,
        git_url: config.git_url.clone(),
        dry_run: config.dry_run,
    };
    let result = deploy(
        &target.client,
        &space_id,
        index,
        &contents.project,
        &contents.secrets,
        &options,
    )
    .await
    .map_err(|error| match error {
        DeployError::Octopus(source) => target.error()(source),
        // The managed space cannot take the package until someone creates what it lacks: the
        // run cannot succeed as it is (exit 2, as issue 22 asks), nothing was written.
        invalid @ (DeployError::MissingDependencies(_)
        | DeployError::Unreconcilable(_)
        | DeployError::UnsubstitutedSecrets(_)
        | DeployError::Unsupported(_)
        | DeployError::OverridingField(_)
        | DeployError::ForkUrlMissing(_)
        | DeployError::ProcessTemplates(_)) => ActionError::input(invalid),
    })?;
    let server = crate::origin::display(&config.target.url);
    let space_url = format!("{}/app#/{space_id}", server.trim_end_matches('/'));
    let project_url = result
        .project_id
        .as_ref()
        .map(|id| project_url(&config.target.url, &space_id, id));
    let mut report = DeployReport {
        summary: Summary::of(&result.outcomes),
        changes: result.outcomes.iter().any(|o| o.action.is_change()),
        project: project_name,
        project_id: result.project_id,
        tenant: config.space.tenant_name.clone(),
        space_id,
        space_name,
        server,
        space_url,
        project_url,
        package: package_name,
        dry_run: config.dry_run,
        resources: result.outcomes,
        report_files: None,
    };
    if let Some(dir) = &config.report_dir {
        let target = ReportTarget {
            dir: dir.clone(),
            subject: config
                .space
                .tenant_name
                .clone()
                .unwrap_or_else(|| report.space_id.clone()),
            tenant: config.space.tenant_name.clone(),
        };
        let action = if config.dry_run { "plan" } else { "deploy" };
        let secrets: Vec<&str> = contents.secrets.values().map(|s| s.expose()).collect();
        let files = crate::report::write(&target, action, &report.html(), &report, &secrets)
            .map_err(ActionError::failed)?;
        report.report_files = Some(files);
    }
    Ok(report)
}

/// The managed space and its index (the names the package's references resolve against): the
/// index's reads go out beside the lookup when the space's id is known, after it when only its
/// name is. An error reading the index is the deploy's to report, after the package's.
async fn locate(
    target: &Server,
    space: &TargetSpace,
) -> Result<(SpaceName, Result<SpaceIndex, OctopusError>), ActionError> {
    match &space.id {
        Some(id) => {
            let (found, index) = tokio::join!(
                find_space(target, space),
                SpaceIndex::read(&target.client, id)
            );
            Ok((found?, index))
        }
        None => {
            let found = find_space(target, space).await?;
            let index = SpaceIndex::read(&target.client, &found.id).await;
            Ok((found, index))
        }
    }
}

async fn load_package(
    config: &DeployConfig,
) -> Result<(PackageContents, PackageName), ActionError> {
    let limits = PackageLimits::default();
    match &config.source {
        PackageSource::Dir(dir) => {
            // Read on a blocking thread, so that the space lookup beside it can go out meanwhile.
            let path = dir.clone();
            let contents = tokio::task::spawn_blocking(move || package::read_dir(&path, &limits))
                .await
                .map_err(|_| {
                    ActionError::failed("reading the package directory stopped unexpectedly")
                })?
                .map_err(ActionError::input)?;
            let name = PackageName {
                id: config.package_id.clone(),
                version: config.package_version.clone(),
                directory: Some(dir.display().to_string()),
            };
            Ok((contents, name))
        }
        PackageSource::Feed {
            server,
            space,
            package_id,
            version,
        } => {
            let server = Server::management(server)?;
            let space_id = server.space_id(space, GIVE_ID_OR_NAME).await?;
            let name = server.label();
            let version = match version {
                Some(version) => version.clone(),
                None => feed::latest_version(&server.client, &space_id, package_id)
                    .await
                    .map_err(server.error())?
                    .ok_or_else(|| ActionError::failed(format!("package {package_id} is not in the built-in feed of {space_id} on {name}: run the serialize step first")))?,
            };
            let bytes = feed::download(&server.client, &space_id, package_id, &version)
                .await
                .map_err(server.error())?
                .ok_or_else(|| ActionError::failed(format!("package {package_id} version {version} is not in the built-in feed of {space_id} on {name}")))?;
            let contents = package::read_zip(&bytes, &limits).map_err(ActionError::input)?;
            let name = PackageName {
                id: Some(package_id.clone()),
                version: Some(version),
                directory: None,
            };
            Ok((contents, name))
        }
    }
}
