//! `create-space`: find or create the tenant's space, converge it to the blueprint, write the
//! space ID back to the tenant, report. Orchestration only; the work is in `octopus` and `apply`.

use super::{ActionError, Report, Server, GIVE_ID_OR_NAME};
use crate::apply::space_blueprint;
use crate::apply::{Outcome, OutcomeAction, Summary};
use crate::config::{CreateSpaceConfig, WriteBackConfig};
use crate::inputs::{MANAGED_SPACE_ID, SPACE_MANAGERS};
use crate::octopus::in_order::InOrder;
use crate::octopus::resources::{Space, Team};
use crate::octopus::tenant_variables::{self, TenantVariableWrite};
use crate::octopus::Api;
use crate::service_messages::ServiceMessage;
use serde::Serialize;

/// The name of the tenant variable template the space ID is written to (the article's name):
/// the variable deploy reads the managed space from.
pub(crate) const SPACE_ID_TEMPLATE: &str = MANAGED_SPACE_ID.octopus;

/// What create-space did: the space, each blueprint resource, and the tenant write-back.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSpaceReport {
    /// The managed space's ID.
    pub space_id: String,
    /// Its name.
    pub space_name: String,
    /// Whether the space was created, updated (its managers) or left as it was.
    pub space: OutcomeAction,
    /// Each resource of the blueprint and what converging did to it.
    pub resources: Vec<Outcome>,
    /// The counts of `resources` by what happened.
    pub summary: Summary,
    /// "updated", "unchanged", or "skipped" when no management inputs were given.
    pub tenant_variable: &'static str,
}

impl std::fmt::Display for CreateSpaceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "space `{}` ({}): {}; tenant variable {}",
            self.space_name, self.space_id, self.summary, self.tenant_variable
        )
    }
}

impl Report for CreateSpaceReport {
    fn output_variables(&self) -> Vec<ServiceMessage> {
        vec![ServiceMessage::set_variable("SpaceId", &self.space_id)]
    }
}

/// Find or create the tenant's space, converge it to the blueprint, write its ID back to the
/// tenant; the report says what changed.
pub async fn run(config: &CreateSpaceConfig) -> Result<CreateSpaceReport, ActionError> {
    let target = Server::managed(&config.target)?;
    tracing::info!(space = %config.space_name, blueprint = %config.blueprint_source, "converging managed space");

    let spaces = Api::<Space>::new(&target.client, None);
    let existing = spaces
        .find_by_name(&config.space_name)
        .await
        .map_err(target.error())?;
    let (space, created) = match existing {
        Some(space) => (space, false),
        None => {
            let managers = resolve_teams(&target, &config.space_managers).await?;
            let space = spaces
                .create(&Space::new(&config.space_name, managers))
                .await
                .map_err(target.error())?;
            (space, true)
        }
    };
    let space_id = space.id.clone().unwrap_or_default();
    tracing::info!(space_id = %space_id, "{} space `{}`", if created { "created" } else { "found" }, space.name);

    // The blueprint and the write-back touch different servers (or spaces): run them together.
    let converge = async {
        space_blueprint::converge(&target.client, &space_id, &config.blueprint)
            .await
            .map_err(ActionError::converge(target.label()))
    };
    let write_back = async {
        match &config.write_back {
            Some(write_back) => write_space_id(write_back, &space_id).await.map(Some),
            None => Ok(None),
        }
    };
    let (resources, tenant_write) = tokio::join!(converge, write_back).in_order()?;
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
async fn resolve_teams(server: &Server, wanted: &[String]) -> Result<Vec<String>, ActionError> {
    let teams = Api::<Team>::new(&server.client, None)
        .list()
        .await
        .map_err(server.error())?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for entry in wanted {
        match teams
            .iter()
            .find(|team| team.id.as_deref() == Some(entry.as_str()) || team.name == *entry)
        {
            Some(team) => ids.extend(team.id.clone()),
            None => unknown.push(crate::inputs::quoted(entry)),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(ActionError::input(format!(
            "{SPACE_MANAGERS}: no team {} on {}; give team IDs (e.g. teams-administrators) or exact team names",
            unknown.join(", "),
            server.label()
        )))
    }
}

async fn write_space_id(
    config: &WriteBackConfig,
    space_id: &str,
) -> Result<TenantVariableWrite, ActionError> {
    let management = Server::management(&config.server)?;
    let management_space = management.space_id(&config.space, GIVE_ID_OR_NAME).await?;
    let write = tenant_variables::set_common_variable(
        &management.client,
        &management_space,
        &config.tenant_id,
        SPACE_ID_TEMPLATE,
        space_id,
    )
    .await
    .map_err(|source| ActionError::TenantVariable {
        server: management.label().to_owned(),
        source: Box::new(source),
    })?;
    tracing::info!(tenant = %config.tenant_id, "{} tenant variable {SPACE_ID_TEMPLATE}", if write == TenantVariableWrite::Updated { "wrote" } else { "unchanged:" });
    Ok(write)
}
