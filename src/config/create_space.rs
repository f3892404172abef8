//! `create-space`'s settings.

use super::server::{self, ManagementInputs, ServerConfig, WriteBackConfig};
use super::*;
use crate::blueprint::{Blueprint, BlueprintSource};
use crate::cli::CreateSpaceArgs;
use crate::secret::Secret;
use std::path::PathBuf;

/// The inputs create-space reads, each with what it is for (docs/inputs.md).
pub(crate) const INPUTS: &[(Input, &str)] = &[
    (TENANT_URL, "required; the managed space's server (a path prefix such as `https://host/octopus/` works)"),
    (TENANT_API_KEY, "required; `API-…`"),
    (TENANT_NAME, "the space's name, unless `Octofleet.Space.Name` is set"),
    (SPACE_NAME, "overrides the space name (≤ 50 characters)"),
    (SPACE_MANAGERS, "teams for a new space, comma separated IDs or exact names (checked before the space is created); default `teams-administrators`"),
    (BLUEPRINT, "blueprint file (YAML or JSON); default: the built-in blueprint"),
    (GIT_USERNAME, "built-in blueprint: the shared git credential `Git`"),
    (GIT_PASSWORD, "its password or token"),
    (CA_CERTIFICATE, "extra PEM CA to trust (TLS verification stays on)"),
    (TIMEOUT, "the whole action's deadline: `90`, `90s`, `10m`, `1h`; default `10m`"),
    (MANAGEMENT_URL, "write-back server; default `Octopus.Web.ServerUri` (also when it is an unsubstituted `#{…}`)"),
    (SERVER_URI, "system variable: the server running the step"),
    (MANAGEMENT_API_KEY, "turns the write-back on"),
    (MANAGEMENT_SPACE, "space holding the tenants (ID or name); default `Octopus.Space.Id`"),
    (SPACE_ID, "system variable: the space running the step"),
    (TENANT_ID, "system variable: the tenant to write the space ID to"),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

/// Validated settings for `create-space`.
#[derive(Debug, Clone)]
pub struct CreateSpaceConfig {
    pub(crate) target: ServerConfig,
    pub(crate) space_name: String,
    pub(crate) space_managers: Vec<String>,
    pub(crate) blueprint: Blueprint,
    pub(crate) blueprint_source: BlueprintSource,
    pub(crate) write_back: Option<WriteBackConfig>,
}

/// Octopus limits space names to 50 characters.
const SPACE_NAME_LIMIT: usize = 50;

impl CreateSpaceConfig {
    /// `create-space`'s inputs, validated: every problem at once.
    pub fn from_args(args: &CreateSpaceArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let target = server::target(&mut reader, &args.target);
        let write_back = write_back(&mut reader, args, target.as_ref());

        let (name_input, name) = match reader.optional(SPACE_NAME, &args.space_name) {
            Some(name) => (SPACE_NAME, Some(name)),
            None => match raw(&args.tenant_name, TENANT_NAME, true) {
                // The space name left as `#{…}` and no tenant: that reference is the problem.
                None if reader.placeholder(SPACE_NAME).is_some() => (SPACE_NAME, None),
                tenant_name => (TENANT_NAME, tenant_name),
            },
        };
        let name = reader.present(name_input, name);
        let space_name = reader.check(name_input, name, |name| {
            let name = values::name(name)?;
            if name.chars().count() > SPACE_NAME_LIMIT {
                return Err(format!("{} is longer than Octopus allows for a space name ({SPACE_NAME_LIMIT} characters): pass a shorter --{}", quoted(&name), SPACE_NAME.flag));
            }
            Ok(name)
        });

        let space_managers = values::items(
            &reader
                .optional(SPACE_MANAGERS, &args.space_managers)
                .unwrap_or_else(|| "teams-administrators".to_owned()),
        );
        if space_managers.is_empty() {
            reader.add(
                SPACE_MANAGERS,
                "names no team: give at least one team ID, e.g. teams-administrators",
            );
        }

        let git_username = reader.optional(GIT_USERNAME, &args.git_username);
        let git_password = reader
            .optional(GIT_PASSWORD, &args.git_password)
            .map(Secret::new);
        let (blueprint, blueprint_source) = match reader.optional(BLUEPRINT, &args.blueprint) {
            Some(path) => {
                let path = PathBuf::from(path);
                let blueprint = match Blueprint::load_file(&path, |name| std::env::var(name).ok()) {
                    Ok(blueprint) => Some(blueprint),
                    Err(errors) => {
                        for error in errors {
                            reader.add(BLUEPRINT, error);
                        }
                        None
                    }
                };
                (blueprint, BlueprintSource::File(path))
            }
            None => {
                match (&git_username, &git_password) {
                    (Some(_), None) => {
                        let unset = reader.unset(GIT_PASSWORD);
                        reader.add(
                            GIT_PASSWORD,
                            format!(
                                "{unset} while {} is set: give both or neither",
                                GIT_USERNAME.octopus
                            ),
                        )
                    }
                    (None, Some(_)) => {
                        let unset = reader.unset(GIT_USERNAME);
                        reader.add(
                            GIT_USERNAME,
                            format!(
                                "{unset} while {} is set: give both or neither",
                                GIT_PASSWORD.octopus
                            ),
                        )
                    }
                    _ => {}
                }
                let credential = git_username.zip(git_password);
                (
                    Some(Blueprint::built_in(credential)),
                    BlueprintSource::BuiltIn,
                )
            }
        };

        reader.finish(|| CreateSpaceConfig {
            target: target.expect("no problems means a target"),
            space_name: space_name.expect("no problems means a name"),
            space_managers,
            blueprint: blueprint.expect("no problems means a blueprint"),
            blueprint_source,
            write_back,
        })
    }
}

/// Management inputs are optional as a whole: none given means no write-back. Given in part,
/// the missing ones are reported (a half-configured write-back is a mistake, not a choice).
fn write_back(
    reader: &mut Reader,
    args: &CreateSpaceArgs,
    target: Option<&ServerConfig>,
) -> Option<WriteBackConfig> {
    let management = ManagementInputs::read(reader, &args.management.server);
    if !management.any_given() {
        return None;
    }
    let ca_file = target.and_then(|target| target.ca_file.clone());
    let management = management.resolve(reader, ca_file);
    let tenant_id = reader.required(TENANT_ID, &args.management.tenant_id);
    let management = management?;
    Some(WriteBackConfig {
        server: management.server,
        space: management.space,
        tenant_id: tenant_id?,
    })
}
