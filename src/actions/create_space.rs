//! `create-space`: find or create the tenant's space, converge it to the blueprint, write the
//! space ID back to the tenant, report. Orchestration only; the work is in `octopus` and `apply`.

use super::ActionError;
use crate::apply::space_blueprint;
use crate::apply::{Outcome, OutcomeAction, Summary};
use crate::config::{CreateSpaceConfig, ServerConfig, WriteBackConfig};
use crate::octopus::resources::{Space, Team};
use crate::octopus::tenant_variables::{self, TenantVariableWrite};
use crate::octopus::{Api, ClientConfig, OctopusClient};
use serde::Serialize;

/// The name of the tenant variable template the space ID is written to (the article's name).
pub const SPACE_ID_TEMPLATE: &str = "ManagedTenant.Octopus.SpaceId";

#[derive(Debug, Clone, Serialize)]
pub struct CreateSpaceReport {
    pub space_id: String,
    pub space_name: String,
    pub space: OutcomeAction,
    pub resources: Vec<Outcome>,
    pub summary: Summary,
    /// "updated", "unchanged", or "skipped" when no management inputs were given.
    pub tenant_variable: &'static str,
}

pub fn connect(server: &ServerConfig) -> Result<OctopusClient, ActionError> {
    let mut config = ClientConfig::new(server.url.clone(), server.api_key.clone());
    config.ca_file = server.ca_file.clone();
    OctopusClient::new(config).map_err(ActionError::client_build)
}

pub async fn run(config: &CreateSpaceConfig) -> Result<CreateSpaceReport, ActionError> {
    let target_name = format!("the managed space's server {}", config.target.url);
    let client = connect(&config.target)?;
    tracing::info!(space = %config.space_name, blueprint = %config.blueprint_source, "converging managed space");

    let spaces = Api::<Space>::new(&client, None);
    let existing = spaces
        .find_by_name(&config.space_name)
        .await
        .map_err(ActionError::octopus(&target_name))?;
    let (space, created) = match existing {
        Some(space) => (space, false),
        None => {
            let managers = resolve_teams(&client, &config.space_managers, &target_name).await?;
            let space = spaces
                .create(&Space::new(&config.space_name, managers))
                .await
                .map_err(ActionError::octopus(&target_name))?;
            (space, true)
        }
    };
    let space_id = space.id.clone().unwrap_or_default();
    tracing::info!(space_id = %space_id, "{} space `{}`", if created { "created" } else { "found" }, space.name);

    // The blueprint and the write-back touch different servers (or spaces): run them together.
    let converge = async {
        space_blueprint::converge(&client, &space_id, &config.blueprint)
            .await
            .map_err(ActionError::converge(&target_name))
    };
    let write_back = async {
        match &config.write_back {
            Some(write_back) => write_space_id(write_back, &space_id).await.map(Some),
            None => Ok(None),
        }
    };
    let (resources, tenant_write) = tokio::try_join!(converge, write_back)?;
    for outcome in &resources {
        tracing::info!("{outcome}");
    }
    let tenant_variable = match tenant_write {
        Some(TenantVariableWrite::Updated) => "updated",
        Some(TenantVariableWrite::Unchanged) => "unchanged",
        None => "skipped",
    };
    Ok(CreateSpaceReport {
        summary: Summary::of(&resources),
        space_id,
        space_name: space.name,
        space: if created {
            OutcomeAction::Created
        } else {
            OutcomeAction::Unchanged
        },
        resources,
        tenant_variable,
    })
}

/// Space managers may be given as team IDs or exact team names; both become IDs, and a team that
/// does not exist is an input error before anything is created.
async fn resolve_teams(
    client: &OctopusClient,
    wanted: &[String],
    server: &str,
) -> Result<Vec<String>, ActionError> {
    let teams = Api::<Team>::new(client, None)
        .list()
        .await
        .map_err(ActionError::octopus(server))?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for entry in wanted {
        match teams
            .iter()
            .find(|team| team.id.as_deref() == Some(entry.as_str()) || team.name == *entry)
        {
            Some(team) => ids.extend(team.id.clone()),
            None => unknown.push(format!("`{entry}`")),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(ActionError::Input(format!(
            "Octofleet.Space.Managers (env OCTOFLEET_SPACE_MANAGERS, flag --space-managers): no team {} on {server}; give team IDs (e.g. teams-administrators) or exact team names",
            unknown.join(", ")
        )))
    }
}

async fn write_space_id(
    config: &WriteBackConfig,
    space_id: &str,
) -> Result<TenantVariableWrite, ActionError> {
    let server_name = format!("the management server {}", config.server.url);
    let client = connect(&config.server)?;
    let management_space = Api::<Space>::new(&client, None)
        .resolve(&config.space)
        .await
        .map_err(ActionError::octopus(&server_name))?
        .and_then(|space| space.id)
        .ok_or_else(|| {
            ActionError::Input(format!(
                "management space `{}` was not found on {}: give its ID (Spaces-N) or exact name",
                config.space, config.server.url
            ))
        })?;
    let write = tenant_variables::set_common_variable(
        &client,
        &management_space,
        &config.tenant_id,
        SPACE_ID_TEMPLATE,
        space_id,
    )
    .await
    .map_err(|source| ActionError::TenantVariable {
        server: server_name.clone(),
        source: Box::new(source),
    })?;
    tracing::info!(tenant = %config.tenant_id, "{} tenant variable {SPACE_ID_TEMPLATE}", if write == TenantVariableWrite::Updated { "wrote" } else { "unchanged:" });
    Ok(write)
}
