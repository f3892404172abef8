//! `fleet`'s and `rollout`'s settings: the management server, the template project and which of
//! its tenants; for rollout the runbook, its environment, the waves and the failure budget.

use super::server::{self, Management, ManagementInputs};
use super::*;
use crate::cli::{FleetArgs, RolloutArgs};
use std::path::PathBuf;

const MANAGEMENT_ROWS: &[(Input, &str)] = &[
    (
        MANAGEMENT_URL,
        "default `Octopus.Web.ServerUri` (also when it is an unsubstituted `#{…}`)",
    ),
    (SERVER_URI, "system variable: the server running the step"),
    (
        MANAGEMENT_API_KEY,
        "required; needs only to read the project, tenants, tasks, artifacts and the feed (rollout: to run the runbook)",
    ),
    (MANAGEMENT_SPACE, "ID or name; default `Octopus.Space.Id`"),
    (SPACE_ID, "system variable: the space running the step"),
    (PROJECT_NAME, "required: the template project"),
    (
        PACKAGE_ID,
        "the template package in the built-in feed; default: the project name with every character outside `[A-Za-z0-9]` as `_`",
    ),
    (
        TENANT_TAGS,
        "comma list of tenant tags (`Tag Set/Tag`): only the project's tenants that have them (any tag of one tag set, every tag set named)",
    ),
    (CA_CERTIFICATE, "extra PEM CA"),
    (
        TIMEOUT,
        "the whole action's deadline: `90`, `90s`, `10m`, `1h`; default `10m`",
    ),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

/// What the fleet report's directory is for.
const FLEET_REPORT_PURPOSE: &str = "under Octopus the step's working directory (default), else none; a directory (created if missing) for `octofleet-fleet-<project>.html` and `.json`, attached to the task as artifacts";

/// The inputs fleet reads, each with what it is for (docs/inputs.md).
pub const FLEET_INPUTS: &[(Input, &str)] = &[
    MANAGEMENT_ROWS[0],
    MANAGEMENT_ROWS[1],
    MANAGEMENT_ROWS[2],
    MANAGEMENT_ROWS[3],
    MANAGEMENT_ROWS[4],
    MANAGEMENT_ROWS[5],
    MANAGEMENT_ROWS[6],
    MANAGEMENT_ROWS[7],
    (
        FAIL_ON_ATTENTION,
        "`False` (default); `True`: exit 3 when a tenant needs attention (failed, conflicted, drifted, behind or never run)",
    ),
    (REPORT_DIR, FLEET_REPORT_PURPOSE),
    (NO_REPORT, NO_REPORT_PURPOSE),
    MANAGEMENT_ROWS[8],
    MANAGEMENT_ROWS[9],
    MANAGEMENT_ROWS[10],
];

/// The inputs rollout reads (docs/inputs.md).
pub const ROLLOUT_INPUTS: &[(Input, &str)] = &[
    MANAGEMENT_ROWS[0],
    MANAGEMENT_ROWS[1],
    MANAGEMENT_ROWS[2],
    MANAGEMENT_ROWS[3],
    MANAGEMENT_ROWS[4],
    MANAGEMENT_ROWS[5],
    MANAGEMENT_ROWS[6],
    MANAGEMENT_ROWS[7],
    (
        ROLLOUT_RUNBOOK,
        "required: the template project's runbook to run for each tenant (its published snapshot), e.g. `__ 2. Fork and Deploy Project`",
    ),
    (
        ROLLOUT_ENVIRONMENT,
        "required: the environment it runs in, e.g. `Sync` (the step template binds `Octopus.Environment.Name`)",
    ),
    (
        ROLLOUT_WAVES,
        "comma list of tenant tags, one wave each in this order (e.g. `Rollout/Canary`); the tenants without any of them form the last wave",
    ),
    (
        ROLLOUT_BATCH_SIZE,
        "at most this many tenants per wave (waves are split); default: no limit",
    ),
    (
        ROLLOUT_MAX_FAILURES,
        "failed tenants the rollout goes on after; default `0`: stop after the wave with the first failure",
    ),
    (
        ROLLOUT_CANCEL_ON_TIMEOUT,
        "`False` (default): at the deadline the started tasks go on in Octopus; `True`: cancel the ones not finished",
    ),
    (
        FAIL_ON_ATTENTION,
        "`False` (default); `True`: a rollout that ran to the end exits 3 when the fleet report finds a tenant needing attention",
    ),
    (REPORT_DIR, FLEET_REPORT_PURPOSE),
    (NO_REPORT, NO_REPORT_PURPOSE),
    MANAGEMENT_ROWS[8],
    MANAGEMENT_ROWS[9],
    MANAGEMENT_ROWS[10],
];

/// Validated settings for `fleet`.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// The management server and space.
    pub management: Management,
    /// The template project.
    pub project_name: String,
    /// The template package in the built-in feed.
    pub package_id: String,
    /// Only the tenants with these tags.
    pub tenant_tags: Vec<String>,
    /// Exit 3 when a tenant needs attention.
    pub fail_on_attention: bool,
    /// Where the fleet report goes.
    pub report_dir: Option<PathBuf>,
}

/// How a rollout is cut into waves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waves {
    /// One wave per tag, in order; the rest last.
    pub tags: Vec<String>,
    /// At most this many tenants per wave.
    pub batch_size: Option<usize>,
}

/// Validated settings for `rollout`.
#[derive(Debug, Clone)]
pub struct RolloutConfig {
    /// The fleet the rollout works on and reports at the end.
    pub fleet: FleetConfig,
    /// The runbook to run.
    pub runbook: String,
    /// The environment it runs in.
    pub environment: String,
    /// The waves.
    pub waves: Waves,
    /// Failed tenants the rollout goes on after.
    pub max_failures: usize,
    /// Cancel the unfinished tasks at the deadline.
    pub cancel_on_timeout: bool,
}

/// A comma list of tenant tags, each `Tag Set/Tag`.
fn tags(text: &str) -> Result<Vec<String>, String> {
    let tags = values::items(text);
    match tags.iter().find(|tag| {
        tag.split_once('/')
            .is_none_or(|(set, name)| set.trim().is_empty() || name.trim().is_empty())
    }) {
        Some(bad) => Err(format!(
            "{} is not a tenant tag: give tags as `Tag Set/Tag`, comma separated (e.g. `Rollout/Canary`)",
            quoted(bad)
        )),
        None => Ok(tags),
    }
}

fn count(text: &str, least: usize) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= least => Ok(n),
        _ => Err(format!(
            "{} is not a whole number of {least} or more",
            quoted(text)
        )),
    }
}

/// The parts fleet and rollout share.
fn fleet(reader: &mut Reader, args: &FleetArgs) -> Option<FleetConfig> {
    let ca_file = server::ca_file(reader, &args.ca_certificate);
    let management = ManagementInputs::read(reader, &args.source).resolve(reader, ca_file);
    let project_name = reader.required_as(PROJECT_NAME, &args.project_name, values::name);
    let package_id = reader
        .optional_as(PACKAGE_ID, &args.package_id, values::package_id)
        .or_else(|| project_name.as_deref().map(crate::package::package_id_for));
    let tenant_tags = reader
        .optional_as(TENANT_TAGS, &args.tenant_tags, tags)
        .unwrap_or_default();
    let fail_on_attention = reader.flag(FAIL_ON_ATTENTION, &args.fail_on_attention);
    let report_dir = report_dir(reader, &args.report_dir, &args.no_report, process_env);
    Some(FleetConfig {
        management: management?,
        project_name: project_name?,
        package_id: package_id?,
        tenant_tags,
        fail_on_attention,
        report_dir,
    })
}

impl FleetConfig {
    /// Validate `fleet`'s arguments, every problem at once.
    pub fn from_args(args: &FleetArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let config = fleet(&mut reader, args);
        reader.finish(|| config.expect("no problems means a fleet"))
    }
}

impl RolloutConfig {
    /// Validate `rollout`'s arguments, every problem at once.
    pub fn from_args(args: &RolloutArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let fleet = fleet(&mut reader, &args.fleet);
        let runbook = reader.required_as(ROLLOUT_RUNBOOK, &args.runbook, values::name);
        let environment = reader.required_as(ROLLOUT_ENVIRONMENT, &args.environment, values::name);
        let waves = Waves {
            tags: reader
                .optional_as(ROLLOUT_WAVES, &args.waves, tags)
                .unwrap_or_default(),
            batch_size: reader.optional_as(ROLLOUT_BATCH_SIZE, &args.batch_size, |n| count(n, 1)),
        };
        let max_failures = reader
            .optional_as(ROLLOUT_MAX_FAILURES, &args.max_failures, |n| count(n, 0))
            .unwrap_or(0);
        let cancel_on_timeout = reader.flag(ROLLOUT_CANCEL_ON_TIMEOUT, &args.cancel_on_timeout);
        reader.finish(|| RolloutConfig {
            fleet: fleet.expect("no problems means a fleet"),
            runbook: runbook.expect("no problems means a runbook"),
            environment: environment.expect("no problems means an environment"),
            waves,
            max_failures,
            cancel_on_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_counts_are_checked() {
        assert_eq!(
            tags("Rollout/Canary, Region/EU").unwrap(),
            ["Rollout/Canary", "Region/EU"]
        );
        assert!(tags("Canary").unwrap_err().contains("Tag Set/Tag"));
        assert!(tags("Rollout/").is_err());
        assert_eq!(count("0", 0), Ok(0));
        assert!(count("0", 1).is_err());
        assert!(count("-1", 0).is_err());
        assert!(count("two", 0).is_err());
    }
}
