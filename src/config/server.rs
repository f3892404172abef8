//! The servers an action talks to: the managed space's server (`ManagedTenant.*`) and the
//! management server (`Management.*` with Octopus's system variables as defaults), parsed in one
//! place for every action.

use super::{raw, unless_placeholder, values, Reader};
use crate::cli::{SourceArgs, TargetArgs};
use crate::inputs::{
    CA_CERTIFICATE, MANAGEMENT_API_KEY, MANAGEMENT_SPACE, MANAGEMENT_URL, SERVER_URI, SPACE_ID,
    TENANT_API_KEY, TENANT_URL,
};
use crate::secret::Secret;
use std::path::PathBuf;
use url::Url;

/// A server to talk to.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) url: Url,
    pub(crate) api_key: Secret,
    pub(crate) ca_file: Option<PathBuf>,
}

/// The management server and the space on it (an ID or a name).
#[derive(Debug, Clone)]
pub struct Management {
    pub(crate) server: ServerConfig,
    pub(crate) space: String,
}

/// Where and for whom to write the space ID back on the management instance.
#[derive(Debug, Clone)]
pub struct WriteBackConfig {
    pub(crate) server: ServerConfig,
    /// A space ID (`Spaces-1`) or a space name.
    pub(crate) space: String,
    pub(crate) tenant_id: String,
}

/// `Octofleet.CaCertificateFile`: an extra PEM CA to trust.
pub(super) fn ca_file(reader: &mut Reader, given: &Option<String>) -> Option<PathBuf> {
    reader.optional_as(CA_CERTIFICATE, given, values::ca_file)
}

/// The managed space's server (`ManagedTenant.Octopus.Url`, `.ApiKey`, the CA file).
pub(super) fn target(reader: &mut Reader, args: &TargetArgs) -> Option<ServerConfig> {
    let url = reader.required_as(TENANT_URL, &args.url, |text| {
        values::http_url(text, &values::SERVER_URL)
    });
    let api_key = reader.required_as(TENANT_API_KEY, &args.api_key, values::api_key);
    let ca_file = ca_file(reader, &args.ca_certificate);
    Some(ServerConfig {
        url: url?,
        api_key: api_key?,
        ca_file,
    })
}

/// The management inputs as given, before the action decides whether it needs the server.
///
/// One parse for every action (create-space's write-back, serialize's source, deploy's feed,
/// fork's upstream lookup), with one rule for the explicit inputs and their defaults:
///
/// - `Management.Octopus.Url` is optional. Blank, or an unsubstituted `#{…}`, counts as unset
///   (with a warning in the log) and the URL is `Octopus.Web.ServerUri`, the server running the
///   step. This is what a user expects: the step templates bind the parameter to a variable that
///   is often only defined for some tenants or environments, and "not defined here" means "this
///   server", never a literal URL `#{…}`. (serialize used to refuse the `#{…}` instead, unlike
///   the other actions.) The fallback then is required, and a problem names
///   `Octopus.Web.ServerUri`, the input actually read.
/// - `Management.Octopus.SpaceId` follows the same rule with `Octopus.Space.Id`.
/// - `Management.Octopus.ApiKey` has no default: once the server is needed it is required, and
///   a `#{…}` is a problem naming it.
pub(super) struct ManagementInputs<'a> {
    args: &'a SourceArgs,
    url: Option<String>,
    api_key: Option<String>,
    space: Option<String>,
}

impl<'a> ManagementInputs<'a> {
    pub(super) fn read(reader: &mut Reader, args: &'a SourceArgs) -> Self {
        ManagementInputs {
            args,
            url: reader.optional(MANAGEMENT_URL, &args.management_url),
            api_key: raw(&args.management_api_key, MANAGEMENT_API_KEY, true),
            space: reader.optional(MANAGEMENT_SPACE, &args.management_space_id),
        }
    }

    /// Whether the management API key is given; a `#{…}` is not (said in the log).
    pub(super) fn has_api_key(&self) -> bool {
        unless_placeholder(self.api_key.clone(), MANAGEMENT_API_KEY).is_some()
    }

    /// Whether any explicit management input is given.
    pub(super) fn any_given(&self) -> bool {
        self.url.is_some() || self.space.is_some() || self.has_api_key()
    }

    /// The management server and space, each problem reported against the input read.
    pub(super) fn resolve(
        self,
        reader: &mut Reader,
        ca_file: Option<PathBuf>,
    ) -> Option<Management> {
        let server_url = |text: &str| values::http_url(text, &values::SERVER_URL);
        let url = match self.url {
            Some(url) => reader.check(MANAGEMENT_URL, Some(url), server_url),
            None => reader.required_as(SERVER_URI, &self.args.server_uri, server_url),
        };
        let api_key = reader.present(MANAGEMENT_API_KEY, self.api_key);
        let api_key = reader.check(MANAGEMENT_API_KEY, api_key, values::api_key);
        let space = match self.space {
            Some(space) => Some(space),
            None => reader.required(SPACE_ID, &self.args.space_id),
        };
        Some(Management {
            server: ServerConfig {
                url: url?,
                api_key: api_key?,
                ca_file,
            },
            space: space?,
        })
    }
}
