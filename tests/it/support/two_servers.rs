//! The management instance and a managed instance as two emulators with different API keys, so
//! a test can see which key went where ("the management key only to the management server").
//! `Fleet` (harness.rs) plays both roles with one emulator and one key, where a key sent to the
//! wrong server cannot show.

use super::harness::{octofleet, Run};
use octofleet_sandbox::{seed_management_space, ManagementSpace, MANAGEMENT_SPACE};
use octopus_emulator::{key_fingerprint, Emulator, EmulatorConfig};
use std::collections::BTreeSet;

/// The management server's key (`Management.Octopus.ApiKey`).
pub const MANAGEMENT_KEY: &str = "API-MANAGEMENTKEY00000000000001";
/// The managed server's key (`ManagedTenant.Octopus.ApiKey`).
pub const MANAGED_KEY: &str = "API-MANAGEDKEY0000000000000002";

/// Which of the two servers a step is expected to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Only the management server (serialize).
    Management,
    /// Only the managed server (deploy from a package directory).
    Managed,
    /// Both (create-space with its write-back, plan and deploy from the feed).
    Both,
}

/// The article's management space on one emulator; its tenants' `ManagedTenant.Octopus.Url` and
/// `.ApiKey` point at the other.
pub struct TwoServers {
    /// The management instance: the management space, its tenants and the built-in feed.
    pub management: Emulator,
    /// The instance the tenants' managed spaces live on.
    pub managed: Emulator,
    /// What was seeded into the management space.
    pub space: ManagementSpace,
}

async fn started(api_key: &str) -> Emulator {
    Emulator::start(EmulatorConfig {
        api_key: api_key.to_owned(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts")
}

impl TwoServers {
    /// Both emulators started, each with its own key, and the management space seeded.
    pub async fn start() -> TwoServers {
        let management = started(MANAGEMENT_KEY).await;
        let managed = started(MANAGED_KEY).await;
        let space = seed_management_space(
            &management,
            &managed.url(),
            MANAGED_KEY,
            &["America", "Europe"],
        );
        TwoServers {
            management,
            managed,
            space,
        }
    }

    /// What the step templates export for `tenant`: the managed server from the tenant's
    /// variables, the management server from the system variables, each with its own key.
    pub fn step_env(&self, tenant: &str) -> Vec<(String, String)> {
        [
            ("MANAGEDTENANT_OCTOPUS_URL", self.managed.url()),
            ("MANAGEDTENANT_OCTOPUS_APIKEY", MANAGED_KEY.to_owned()),
            ("OCTOPUS_DEPLOYMENT_TENANT_NAME", tenant.to_owned()),
            (
                "OCTOPUS_DEPLOYMENT_TENANT_ID",
                self.space.tenant_id(tenant).to_owned(),
            ),
            ("OCTOPUS_WEB_SERVERURI", self.management.url()),
            ("OCTOPUS_SPACE_ID", MANAGEMENT_SPACE.to_owned()),
            ("MANAGEMENT_OCTOPUS_APIKEY", MANAGEMENT_KEY.to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// Run `octofleet` for `tenant` with [`TwoServers::step_env`] and `extra`.
    pub async fn run(&self, tenant: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut env = self.step_env(tenant);
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        octofleet(args, &env).await
    }

    /// Forget both request logs, so the next assertion is about the next step alone.
    pub fn clear_requests(&self) {
        self.management.clear_requests();
        self.managed.clear_requests();
    }

    /// Each server saw only its own key, never a 401, and at least one request with its key
    /// where `asked` says the step used it (none where it did not). Every problem on either
    /// server is reported at once.
    pub fn assert_each_saw_only_its_own_key(&self, step: &str, asked: Asked) {
        let label = |fingerprint: &str| match fingerprint {
            f if f == key_fingerprint(MANAGEMENT_KEY) => "the management key".to_owned(),
            f if f == key_fingerprint(MANAGED_KEY) => "the managed key".to_owned(),
            other => format!("a key fingerprinted {other}"),
        };
        let mut problems = Vec::new();
        for (role, emulator, own, used) in [
            (
                "management",
                &self.management,
                MANAGEMENT_KEY,
                asked != Asked::Managed,
            ),
            (
                "managed",
                &self.managed,
                MANAGED_KEY,
                asked != Asked::Management,
            ),
        ] {
            let requests = emulator.requests();
            let own = key_fingerprint(own);
            let seen: BTreeSet<String> = requests.iter().filter_map(|r| r.key.clone()).collect();
            for other in seen.iter().filter(|key| **key != own) {
                let sent: Vec<String> = requests
                    .iter()
                    .filter(|r| r.key.as_ref() == Some(other))
                    .map(|r| format!("{} {} {}", r.method, r.path, r.status))
                    .collect();
                problems.push(format!(
                    "the {role} server was sent {}: {sent:?}",
                    label(other)
                ));
            }
            match (used, seen.contains(&own)) {
                (true, false) => {
                    problems.push(format!("the {role} server saw no request with its key"))
                }
                (false, true) => {
                    problems.push(format!("the {role} server was not to be asked, and was"))
                }
                _ => {}
            }
            let refused: Vec<String> = requests
                .iter()
                .filter(|r| r.status == 401)
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            if !refused.is_empty() {
                problems.push(format!("the {role} server answered 401 to {refused:?}"));
            }
        }
        assert!(problems.is_empty(), "{step}: {}", problems.join("; "));
    }
}
