//! `deploy`'s and `plan`'s settings.

use super::server::{self, Management, ManagementInputs};
use super::*;
use crate::cli::DeployArgs;
use std::path::PathBuf;

/// The inputs deploy and plan read, each with what it is for (docs/inputs.md).
pub(crate) const INPUTS: &[(Input, &str)] = &[
    (TENANT_URL, "required"),
    (TENANT_API_KEY, "required"),
    (
        MANAGED_SPACE_ID,
        "`Spaces-N`; blank, `#{…}` or `TBD`: the space named after the tenant",
    ),
    (TENANT_NAME, "finds the space when its ID is unknown"),
    (PACKAGE_DIR, "the extracted package; else the feed below"),
    (
        MANAGEMENT_URL,
        "feed source; default `Octopus.Web.ServerUri` (also when it is an unsubstituted `#{…}`)",
    ),
    (SERVER_URI, "system variable: the server running the step"),
    (MANAGEMENT_API_KEY, "feed source"),
    (
        MANAGEMENT_SPACE,
        "feed source (ID or name); default `Octopus.Space.Id`",
    ),
    (SPACE_ID, "system variable: the space running the step"),
    (PROJECT_NAME, "default package ID (sanitized)"),
    (
        PACKAGE_ID,
        "the package in the feed; with a package directory, the ID the report names it by (the step templates pass Octopus's `Octopus.Action.Package[Octofleet.Package].PackageId`)",
    ),
    (
        PACKAGE_VERSION,
        "default: the latest; with a package directory, the version the report names (`….PackageVersion`)",
    ),
    (
        EXPORTED_PROJECT_NAME,
        "the downstream project's name; default: the package's",
    ),
    (
        GIT_URL,
        "Config-as-Code: the tenant's fork; a `#{…}` counts as unset, with a warning only for a Config-as-Code package",
    ),
    (OVERWRITE_VARIABLES, "True/False"),
    (
        OVERWRITE_TRIGGERS,
        "`False` (default): a trigger disabled in the managed space (and automatic release creation turned off there) stays so; `True`: enable it again as the package has it",
    ),
    (DRY_RUN, "True/False (`plan` implies it)"),
    (REPORT_DIR, REPORT_DIR_PURPOSE),
    (NO_REPORT, NO_REPORT_PURPOSE),
    (CA_CERTIFICATE, "extra PEM CA"),
    (
        TIMEOUT,
        "the whole action's deadline: `90`, `90s`, `10m`, `1h`; default `10m`",
    ),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

/// Where the managed space is: its ID, or the space named after the tenant (the article's
/// "Lookup New Space" step) while `ManagedTenant.Octopus.SpaceId` still holds its placeholder
/// (`#{…}`, "TBD", anything that is not a space ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpace {
    /// `ManagedTenant.Octopus.SpaceId` when it holds a space ID (`Spaces-N`).
    pub(crate) id: Option<String>,
    /// `Octopus.Deployment.Tenant.Name`: the space's name when the ID is unknown.
    pub(crate) tenant_name: Option<String>,
}

/// Where the template package comes from.
#[derive(Debug, Clone)]
pub enum PackageSource {
    /// As Octopus extracts a referenced package for a step (secrets.json already substituted).
    Dir(PathBuf),
    /// The built-in feed of the management space; `None` version means the latest.
    Feed {
        /// The management server.
        server: ServerConfig,
        /// The management space (ID or name).
        space: String,
        /// The package ID.
        package_id: String,
        /// The version; `None`: the latest in the feed.
        version: Option<String>,
    },
}

/// Validated settings for `deploy` and `plan`.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub(crate) target: ServerConfig,
    pub(crate) space: TargetSpace,
    pub(crate) source: PackageSource,
    /// `Exported.Project.Name`; the package's project name when absent.
    pub(crate) project_name: Option<String>,
    pub(crate) git_url: Option<String>,
    /// `Octofleet.Git.Url` as an unsubstituted `#{…}` (the fork step's output where no fork
    /// step ran): unset, and worth a warning only for a Config-as-Code package.
    pub(crate) git_url_unsubstituted: Option<String>,
    pub(crate) overwrite_variables: bool,
    pub(crate) overwrite_triggers: bool,
    pub(crate) dry_run: bool,
    /// Where to write the report (see [`report_dir`]).
    pub(crate) report_dir: Option<PathBuf>,
    /// With a package directory: the package's ID, for the report (the feed's is in `source`).
    pub(crate) package_id: Option<String>,
    /// With a package directory: the package's version, for the report.
    pub(crate) package_version: Option<String>,
}

/// The URL a Config-as-Code project is pointed at.
const CLONE_URL: values::UrlAdvice = values::UrlAdvice {
    credential: "which Octopus would store and show in the project's settings: give the clone URL alone; the credential is the space's git credential",
    expected: "give the repository's clone URL (the fork step's RepositoryUrl output)",
};

impl DeployConfig {
    /// `deploy`'s (or, with `plan`, `plan`'s) inputs, validated: every problem at once.
    pub fn from_args(args: &DeployArgs, plan: bool) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let target = server::target(&mut reader, &args.target);
        let space = target_space(&mut reader, &args.managed_space_id, &args.tenant_name);
        let (mut package_id, mut package_version) = (None, None);
        let source = match reader.optional(PACKAGE_DIR, &args.package_dir) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    reader.add(PACKAGE_DIR, format!("{} is not a directory: give the directory Octopus extracted the package into", dir.display()));
                }
                // Only names for the report: the package is the directory.
                package_id = reader.optional_as(PACKAGE_ID, &args.package_id, values::package_id);
                package_version = reader.optional_as(
                    PACKAGE_VERSION,
                    &args.package_version,
                    values::package_version,
                );
                Some(PackageSource::Dir(dir))
            }
            None => feed(&mut reader, args, target.as_ref()),
        };
        // Its default reads the fork step's output, which a database project's runbook does not
        // have: the action warns about a `#{…}` only for a Config-as-Code package.
        let (git_url, git_url_unsubstituted) =
            match reader.optional_or_unsubstituted(GIT_URL, &args.git_url) {
                Given::Unset => (None, None),
                Given::Unsubstituted(placeholder) => (None, Some(placeholder)),
                Given::Value(text) => {
                    let url = reader.check(GIT_URL, Some(text), |text| {
                        values::http_url(text, &CLONE_URL).map(|_| text.to_owned())
                    });
                    (url, None)
                }
            };
        let overwrite_variables = reader.flag(OVERWRITE_VARIABLES, &args.overwrite_variables);
        let overwrite_triggers = reader.flag(OVERWRITE_TRIGGERS, &args.overwrite_triggers);
        let dry_run = plan || reader.flag(DRY_RUN, &args.dry_run);
        let report_dir = report_dir(&mut reader, &args.report_dir, &args.no_report, process_env);
        let project_name = reader.optional_as(
            EXPORTED_PROJECT_NAME,
            &args.exported_project_name,
            values::name,
        );
        reader.finish(|| DeployConfig {
            target: target.expect("no problems means a target"),
            space: space.expect("no problems means a space"),
            source: source.expect("no problems means a package source"),
            project_name,
            git_url,
            git_url_unsubstituted,
            overwrite_variables,
            overwrite_triggers,
            dry_run,
            report_dir,
            package_id,
            package_version,
        })
    }
}

/// The managed space's ID, else the tenant's name to find it by.
pub(super) fn target_space(
    reader: &mut Reader,
    managed_space_id: &Option<String>,
    tenant_name: &Option<String>,
) -> Option<TargetSpace> {
    // Only "not known yet" falls back to the tenant's name (blank and `#{…}` are already
    // `None`; the article's tenants start with `TBD`); anything else that is not a space ID
    // is a typo that must not silently pick a space by name.
    let id = match reader.optional(MANAGED_SPACE_ID, managed_space_id) {
        Some(id) if crate::octopus::resources::is_space_id(&id) => Some(id),
        Some(placeholder) if placeholder.eq_ignore_ascii_case("TBD") => {
            tracing::info!("{MANAGED_SPACE_ID} is `TBD`, not a space ID yet: finding the space by the tenant's name");
            None
        }
        Some(other) => {
            reader.add(MANAGED_SPACE_ID, format!("{} is not a space ID: give the tenant's space ID (Spaces-N, which create-space writes), or leave it `TBD` to find the space by the tenant's name", quoted(&other)));
            None
        }
        None => None,
    };
    let tenant_name = reader.optional_as(TENANT_NAME, tenant_name, values::name);
    if id.is_none() && tenant_name.is_none() {
        reader.add(
            MANAGED_SPACE_ID,
            format!(
                "missing (and {} is not set either to find the space by name): set the tenant's {} (create-space writes it) or run as a tenant",
                TENANT_NAME.octopus, MANAGED_SPACE_ID.octopus
            ),
        );
        return None;
    }
    Some(TargetSpace { id, tenant_name })
}

/// The package in the management space's built-in feed.
fn feed(
    reader: &mut Reader,
    args: &DeployArgs,
    target: Option<&ServerConfig>,
) -> Option<PackageSource> {
    let ca_file = target.and_then(|target| target.ca_file.clone());
    let management = ManagementInputs::read(reader, &args.source).resolve(reader, ca_file);
    let package_id = match reader.optional(PACKAGE_ID, &args.package_id) {
        Some(id) => reader.check(PACKAGE_ID, Some(id), values::package_id),
        None => {
            let derived = reader
                .optional_as(PROJECT_NAME, &args.project_name, values::name)
                .map(|name| crate::package::package_id_for(&name));
            if derived.is_none() {
                reader.add(PACKAGE_ID, format!("missing: give the package ID, {} to derive it, or {} for an extracted package", PROJECT_NAME.octopus, PACKAGE_DIR.octopus));
            }
            derived
        }
    };
    let version = reader.optional_as(
        PACKAGE_VERSION,
        &args.package_version,
        values::package_version,
    );
    let Management { server, space } = management?;
    Some(PackageSource::Feed {
        server,
        space,
        package_id: package_id?,
        version,
    })
}
