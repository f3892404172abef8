//! An Octopus server an action talks to: the client (with the CA file), the label errors name it
//! by, and the space lookups every action needs (the managed space: by ID, else by the tenant's
//! name).

use super::ActionError;
use crate::config::{ServerConfig, TargetSpace};
use crate::inputs::MANAGED_SPACE_ID;
use crate::octopus::resources::Space;
use crate::octopus::{Api, ClientConfig, OctopusClient, OctopusError};

/// An Octopus server an action talks to, with the label its errors name it by.
pub struct Server {
    /// The client for this server.
    pub client: OctopusClient,
    /// "the management server https://…", never with userinfo, query or fragment.
    label: String,
}

impl Server {
    /// The server that hosts the managed space (`ManagedTenant.*`).
    pub fn managed(config: &ServerConfig) -> Result<Server, ActionError> {
        Server::connect(config, "the managed space's server")
    }

    /// The management server (`Management.*`, `Octopus.Web.ServerUri`).
    pub fn management(config: &ServerConfig) -> Result<Server, ActionError> {
        Server::connect(config, "the management server")
    }

    fn connect(config: &ServerConfig, role: &str) -> Result<Server, ActionError> {
        let mut client_config = ClientConfig::new(config.url.clone(), config.api_key.clone());
        client_config.ca_file = config.ca_file.clone();
        Ok(Server {
            client: OctopusClient::new(client_config).map_err(ActionError::input)?,
            label: format!("{role} {}", crate::origin::display(&config.url)),
        })
    }

    /// "the management server https://…", as errors say it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// An error from this server, said with its label.
    pub fn error(&self) -> impl FnOnce(OctopusError) -> ActionError + '_ {
        ActionError::octopus(&self.label)
    }

    /// The ID of a space given by ID or by exact name; `hint` says what to do when it is not there.
    pub async fn space_id(&self, id_or_name: &str, hint: &str) -> Result<String, ActionError> {
        self.space(id_or_name, hint).await.map(|space| space.id)
    }

    /// A space given by ID or by exact name, with both; `hint` says what to do when it is not there.
    pub async fn space(&self, id_or_name: &str, hint: &str) -> Result<SpaceName, ActionError> {
        self.space_resource(id_or_name, hint)
            .await
            .map(SpaceName::of_found)
    }

    /// A space given by ID or by exact name, as the server describes it.
    pub async fn space_resource(&self, id_or_name: &str, hint: &str) -> Result<Space, ActionError> {
        let found = Api::<Space>::new(&self.client, None)
            .resolve(id_or_name)
            .await
            .map_err(self.error())?;
        self.found(found, id_or_name, hint)
    }

    /// The space with this exact name (never taken as an ID).
    pub async fn space_named(&self, name: &str, hint: &str) -> Result<SpaceName, ActionError> {
        let found = Api::<Space>::new(&self.client, None)
            .find_by_name(name)
            .await
            .map_err(self.error())?;
        self.found(found, name, hint).map(SpaceName::of_found)
    }

    /// The space found, when it has an ID.
    fn found(&self, space: Option<Space>, wanted: &str, hint: &str) -> Result<Space, ActionError> {
        space
            .filter(|space| space.id.is_some())
            .ok_or_else(|| self.not_found(wanted, hint))
    }

    fn not_found(&self, wanted: &str, hint: &str) -> ActionError {
        ActionError::input(format!(
            "space {} was not found on {}: {hint}",
            crate::inputs::quoted(wanted),
            self.label
        ))
    }
}

/// A space by ID and name, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceName {
    /// `Spaces-N`.
    pub id: String,
    /// The space's name.
    pub name: String,
}

impl SpaceName {
    /// A space [`Server::found`] returned, which has an ID.
    fn of_found(space: Space) -> SpaceName {
        SpaceName {
            id: space.id.unwrap_or_default(),
            name: space.name,
        }
    }
}

/// The hint for a space given as an input by ID or name.
pub const GIVE_ID_OR_NAME: &str = "give its ID (Spaces-N) or exact name";

/// The managed space by ID, or by the tenant's name when the ID is not known yet.
pub(super) async fn find_space(
    server: &Server,
    space: &TargetSpace,
) -> Result<SpaceName, ActionError> {
    match (&space.id, &space.tenant_name) {
        (Some(id), _) => {
            let hint = format!("check {}", MANAGED_SPACE_ID.octopus);
            server.space(id, &hint).await
        }
        (None, Some(name)) => {
            let hint = "it is named after the tenant: run create-space for this tenant first";
            server.space_named(name, hint).await
        }
        (None, None) => Err(ActionError::input("no managed space was given")),
    }
}
