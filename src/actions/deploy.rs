//! `deploy` and `plan`: load the template package, find the managed space, apply (or compare)
//! the portable project through the REST API, report. Orchestration only.

use super::create_space::connect;
use super::ActionError;
use crate::apply::project::{deploy, DeployError, DeployOptions};
use crate::apply::{Outcome, Summary};
use crate::config::{DeployConfig, PackageSource, TargetSpace};
use crate::octopus::feed;
use crate::octopus::resources::Space;
use crate::octopus::Api;
use crate::package::{self, PackageContents, PackageLimits};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub project: String,
    pub project_id: Option<String>,
    pub space_id: String,
    /// `<id> <version>`, or the directory the package was read from.
    pub package: String,
    pub dry_run: bool,
    pub summary: Summary,
    /// Whether anything was (or, in a plan, would be) written.
    pub changes: bool,
    pub resources: Vec<Outcome>,
}

pub async fn run(config: &DeployConfig) -> Result<DeployReport, ActionError> {
    let (contents, package_name) = load_package(&config.source).await?;
    let target = format!("the managed space's server {}", config.target.url);
    let client = connect(&config.target)?;
    let space_id = find_space(&client, &config.space, &target).await?;
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
    let options = DeployOptions {
        project_name: project_name.clone(),
        overwrite_variables: config.overwrite_variables,
        git_url: config.git_url.clone(),
        dry_run: config.dry_run,
    };
    let result = deploy(
        &client,
        &space_id,
        &contents.project,
        &contents.secrets,
        &options,
    )
    .await
    .map_err(|error| match error {
        DeployError::MissingDependencies(_) => ActionError::Failed(error.to_string()),
        DeployError::UnsubstitutedSecrets(_)
        | DeployError::Unsupported(_)
        | DeployError::OverridingField(_) => ActionError::Input(error.to_string()),
        DeployError::Octopus(source) => ActionError::octopus(&target)(source),
    })?;
    Ok(DeployReport {
        summary: Summary::of(&result.outcomes),
        changes: result.outcomes.iter().any(|o| o.action.is_change()),
        project: project_name,
        project_id: result.project_id,
        space_id,
        package: package_name,
        dry_run: config.dry_run,
        resources: result.outcomes,
    })
}

async fn load_package(source: &PackageSource) -> Result<(PackageContents, String), ActionError> {
    let limits = PackageLimits::default();
    match source {
        PackageSource::Dir(dir) => {
            let contents = package::read_dir(dir, &limits)
                .map_err(|error| ActionError::Input(error.to_string()))?;
            Ok((contents, dir.display().to_string()))
        }
        PackageSource::Feed {
            server,
            space,
            package_id,
            version,
        } => {
            let name = format!("the management server {}", server.url);
            let client = connect(server)?;
            let space_id = Api::<Space>::new(&client, None)
                .resolve(space)
                .await
                .map_err(ActionError::octopus(&name))?
                .and_then(|s| s.id)
                .ok_or_else(|| ActionError::Input(format!("space `{space}` was not found on {name}: give its ID (Spaces-N) or exact name")))?;
            let version = match version {
                Some(version) => version.clone(),
                None => feed::latest_version(&client, &space_id, package_id)
                    .await
                    .map_err(ActionError::octopus(&name))?
                    .ok_or_else(|| ActionError::Failed(format!("package {package_id} is not in the built-in feed of {space_id} on {name}: run the serialize step first")))?,
            };
            let bytes = feed::download(&client, &space_id, package_id, &version)
                .await
                .map_err(ActionError::octopus(&name))?
                .ok_or_else(|| ActionError::Failed(format!("package {package_id} version {version} is not in the built-in feed of {space_id} on {name}")))?;
            let contents = package::read_zip(&bytes, &limits)
                .map_err(|error| ActionError::Input(error.to_string()))?;
            Ok((contents, format!("{package_id} {version}")))
        }
    }
}

/// The managed space by id, or by the tenant's name when the id is not known yet.
async fn find_space(
    client: &crate::octopus::OctopusClient,
    space: &TargetSpace,
    server: &str,
) -> Result<String, ActionError> {
    let spaces = Api::<Space>::new(client, None);
    let found = match (&space.id, &space.tenant_name) {
        (Some(id), _) => spaces.get_opt(id).await,
        (None, Some(name)) => spaces.find_by_name(name).await,
        (None, None) => Ok(None),
    }
    .map_err(ActionError::octopus(server))?;
    found.and_then(|s| s.id).ok_or_else(|| {
        ActionError::Input(match (&space.id, &space.tenant_name) {
            (Some(id), _) => format!(
                "space `{id}` was not found on {server}: check ManagedTenant.Octopus.SpaceId"
            ),
            (None, Some(name)) => format!(
                "no space is named `{name}` on {server}: run create-space for this tenant first"
            ),
            (None, None) => "no managed space was given".to_owned(),
        })
    })
}
