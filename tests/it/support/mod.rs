//! What the integration test modules share. Test modules import only from here, never from each
//! other.
//!
//! - [`definitions`]: step template and script module tests: a package pushed to the feed and
//!   extracted with its secrets substituted, deploy and plan runs of it.
//! - [`fault_rules`]: what a test that arms faults asserts: every rule fired, no resource POSTed
//!   twice.
//! - [`fleet_world`]: a fleet on Octopus's task queue (tenants with managed spaces, a template
//!   project with published tenanted runbooks, the emulator's executor) for fleet and rollout.
//! - [`forge`]: the forge emulator as the fork and merge tests set it up, and `fork`/`merge` runs
//!   against it.
//! - [`harness`]: an emulator per test, the `Fleet` (the article's management space), and the
//!   real `octofleet` binary run with only `PATH` and the given environment.
//! - [`server_view`]: a project as the server returns it, normalised to compare across spaces.
//! - [`servers`]: `TinyServer`, a raw HTTP/1.1 server, and `http_response`.
//! - [`calamari`]: the one emulation of Calamari (the step templates, its Bash bootstrap, package
//!   staging) and of Octostache (variable substitution in parameters and files).
//! - [`packages`]: template packages in the built-in feed: download and unzip.
//! - [`reports`]: what every report must be: valid, self-contained, rendered in Chromium.
//! - [`seeds`]: projects and shared resources seeded into the emulator beyond the sandbox's.
//! - [`terraform_schema`]: the checker of Terraform modules against the provider schema.
//! - [`two_servers`]: the management and a managed instance as two emulators with different
//!   keys, to see which key reached which server.
//! - [`tls`]: HTTPS listeners with a certificate from the test CA: a canned 401, and a TLS front
//!   for the emulator.

pub mod calamari;
pub mod definitions;
pub mod fault_rules;
pub mod fleet_world;
pub mod forge;
pub mod harness;
pub mod packages;
pub mod reports;
pub mod seeds;
pub mod server_view;
pub mod servers;
pub mod terraform_schema;
pub mod tls;
pub mod two_servers;

pub use harness::*;
pub use servers::*;

/// The id of the `collection` document named `name` in `space` on `emulator` (panics when none).
pub fn id_named(
    emulator: &octopus_emulator::Emulator,
    space: &str,
    collection: &str,
    name: &str,
) -> String {
    emulator
        .list(space, collection)
        .into_iter()
        .find(|doc| doc["Name"] == name)
        .unwrap_or_else(|| panic!("no {collection} `{name}`"))["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}
