//! `serialize`'s settings.

use super::server::{self, Management, ManagementInputs};
use super::*;
use crate::cli::SerializeArgs;
use crate::package::OverwriteMode;
use crate::portable::reader::Filters;
use std::path::PathBuf;

/// The inputs serialize reads, each with what it is for (docs/inputs.md).
pub(crate) const INPUTS: &[(Input, &str)] = &[
    (
        MANAGEMENT_URL,
        "default `Octopus.Web.ServerUri` (also when it is an unsubstituted `#{…}`)",
    ),
    (SERVER_URI, "system variable: the server running the step"),
    (MANAGEMENT_API_KEY, "required"),
    (MANAGEMENT_SPACE, "ID or name; default `Octopus.Space.Id`"),
    (SPACE_ID, "system variable: the space running the step"),
    (PROJECT_NAME, "required: the template project"),
    (
        EXCLUDE_LIBRARY_VARIABLE_SETS,
        "comma list; default `Export Options`; `-` for none",
    ),
    (
        EXCLUDE_VARIABLE_ENVIRONMENTS,
        "comma list; default `Sync`; `-` for none",
    ),
    (EXCLUDE_RUNBOOKS, "regex; default `^__ `; `-` for none"),
    (EXCLUDE_VARIABLES, "regex; default none"),
    (INCLUDE_CAC_VALUES, "True/False"),
    (ALLOW_AMBIGUOUS_SECRETS, "True/False"),
    (
        TERRAFORM_BACKEND,
        "`pg`, `s3`, `azurerm`, `gcs`, … adds `backend \"<type>\" {}`",
    ),
    (
        PACKAGE_ID,
        "default: project name, every character outside `[A-Za-z0-9]` → `_`",
    ),
    (PACKAGE_VERSION, "default UTC `YYYY.MM.DD.HHMMSS`"),
    (UPLOAD_SPACE, "default the management space"),
    (
        OVERWRITE_MODE,
        "`FailIfExists`, `OverwriteExisting` (default), `IgnoreIfExists`",
    ),
    (OUTPUT_DIR, "also keep the zip here"),
    (NO_PUSH, "True/False"),
    (CA_CERTIFICATE, "extra PEM CA"),
    (
        TIMEOUT,
        "the whole action's deadline: `90`, `90s`, `10m`, `1h`; default `10m`",
    ),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

/// Validated settings for `serialize`.
#[derive(Debug, Clone)]
pub struct SerializeConfig {
    pub(crate) source: ServerConfig,
    /// Management space, an ID or a name.
    pub(crate) space: String,
    pub(crate) project_name: String,
    pub(crate) filters: Filters,
    pub(crate) include_cac_values: bool,
    pub(crate) terraform_backend: Option<String>,
    pub(crate) package_id: Option<String>,
    pub(crate) package_version: Option<String>,
    /// Defaults to the management space.
    pub(crate) upload_space: Option<String>,
    pub(crate) overwrite_mode: OverwriteMode,
    pub(crate) output_dir: Option<PathBuf>,
    pub(crate) push: bool,
}

/// Backends Terraform itself ships (`backend "<type>" {}`).
const TERRAFORM_BACKENDS: &[&str] = &[
    "azurerm",
    "consul",
    "cos",
    "gcs",
    "http",
    "kubernetes",
    "local",
    "oci",
    "oss",
    "pg",
    "remote",
    "s3",
];

impl SerializeConfig {
    /// `serialize`'s inputs, validated: every problem at once.
    pub fn from_args(args: &SerializeArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let ca_file = server::ca_file(&mut reader, &args.ca_certificate);
        let management =
            ManagementInputs::read(&mut reader, &args.source).resolve(&mut reader, ca_file);
        let project_name = reader.required_as(PROJECT_NAME, &args.project_name, values::name);

        let excluded_runbooks = reader
            .optional_untrimmed(EXCLUDE_RUNBOOKS, &args.exclude_runbooks)
            .or_else(|| Some("^__ ".to_owned()));
        let excluded_variables =
            reader.optional_untrimmed(EXCLUDE_VARIABLES, &args.exclude_variables);
        let filters = Filters {
            excluded_library_variable_sets: values::list(
                reader.optional(
                    EXCLUDE_LIBRARY_VARIABLE_SETS,
                    &args.exclude_library_variable_sets,
                ),
                &["Export Options"],
            ),
            excluded_variable_environments: values::list(
                reader.optional(
                    EXCLUDE_VARIABLE_ENVIRONMENTS,
                    &args.exclude_variable_environment_scopes,
                ),
                &["Sync"],
            ),
            excluded_runbooks: reader
                .check(EXCLUDE_RUNBOOKS, excluded_runbooks, values::regex_or_none)
                .flatten(),
            excluded_variables: reader
                .check(EXCLUDE_VARIABLES, excluded_variables, values::regex_or_none)
                .flatten(),
            allow_ambiguous_secrets: reader
                .flag(ALLOW_AMBIGUOUS_SECRETS, &args.allow_ambiguous_secrets),
        };
        let include_cac_values = reader.flag(INCLUDE_CAC_VALUES, &args.include_cac_values);
        let push = !reader.flag(NO_PUSH, &args.no_push);

        let terraform_backend =
            reader.optional_as(TERRAFORM_BACKEND, &args.terraform_backend, |backend| {
                let backend = backend.to_ascii_lowercase();
                if TERRAFORM_BACKENDS.contains(&backend.as_str()) {
                    Ok(backend)
                } else {
                    Err(format!(
                        "{} is not a Terraform backend: use one of {}",
                        quoted(&backend),
                        TERRAFORM_BACKENDS.join(", ")
                    ))
                }
            });
        let package_id = reader.optional_as(PACKAGE_ID, &args.package_id, values::package_id);
        let package_version = reader.optional_as(
            PACKAGE_VERSION,
            &args.package_version,
            values::package_version,
        );
        let overwrite_mode = reader
            .optional_as(OVERWRITE_MODE, &args.overwrite_mode, |mode| {
                OverwriteMode::parse(mode).ok_or_else(|| format!("{} is not an overwrite mode: use FailIfExists, OverwriteExisting or IgnoreIfExists", quoted(mode)))
            })
            .unwrap_or_default();
        let output_dir = reader.optional_as(OUTPUT_DIR, &args.output_dir, |dir| {
            let dir = PathBuf::from(dir);
            if dir.exists() && !dir.is_dir() {
                Err(format!("{} exists and is not a directory", dir.display()))
            } else {
                Ok(dir)
            }
        });
        let upload_space = reader.optional(UPLOAD_SPACE, &args.upload_space);
        reader.finish(|| {
            let Management { server, space } = management.expect("no problems means a server");
            SerializeConfig {
                source: server,
                space,
                project_name: project_name.expect("no problems means a project"),
                filters,
                include_cac_values,
                terraform_backend,
                package_id,
                package_version,
                upload_space,
                overwrite_mode,
                output_dir,
                push,
            }
        })
    }
}
