//! What a reference to a space's shared resource is: its kind (account, certificate, worker
//! pool, feed, git credential, environment) and the resource's name. A leaf of `portable`: the
//! model holds references, `references` finds and checks them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A kind of shared resource a step property, a typed variable or a template default names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum ReferenceKind {
    /// Any account type (AWS, Azure, Google Cloud, username/password, token, OIDC, SSH).
    Account,
    /// An X.509 certificate of the space's library.
    Certificate,
    /// A worker pool.
    WorkerPool,
    /// A package feed.
    Feed,
    /// A shared git credential.
    GitCredential,
    /// An environment.
    Environment,
}

impl ReferenceKind {
    /// Every kind, for lookups by id prefix.
    pub const ALL: [ReferenceKind; 6] = [
        ReferenceKind::Account,
        ReferenceKind::Certificate,
        ReferenceKind::WorkerPool,
        ReferenceKind::Feed,
        ReferenceKind::GitCredential,
        ReferenceKind::Environment,
    ];

    /// How people call it: "account", "worker pool".
    pub fn noun(self) -> &'static str {
        match self {
            ReferenceKind::Account => "account",
            ReferenceKind::Certificate => "certificate",
            ReferenceKind::WorkerPool => "worker pool",
            ReferenceKind::Feed => "feed",
            ReferenceKind::GitCredential => "git credential",
            ReferenceKind::Environment => "environment",
        }
    }

    /// The prefix of the server's ids of this kind (`Accounts-12`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            ReferenceKind::Account => "Accounts",
            ReferenceKind::Certificate => "Certificates",
            ReferenceKind::WorkerPool => "WorkerPools",
            ReferenceKind::Feed => "Feeds",
            ReferenceKind::GitCredential => "GitCredentials",
            ReferenceKind::Environment => "Environments",
        }
    }

    /// The kind of resource a variable of type `variable_type` holds the id of: `WorkerPool`,
    /// `Certificate` and the account types. The server's variable types are `String`,
    /// `Sensitive`, `Certificate`, `AmazonWebServicesAccount`, `AzureAccount`,
    /// `GoogleCloudAccount`, `WorkerPool`, `UsernamePasswordAccount` and `GenericOidcAccount`
    /// (OctopusDeploy/mcp-server `src/tools/getVariables.ts`, `VariableType`; the provider's
    /// `octopusdeploy_variable` lists the same less `GenericOidcAccount`); a newer account type
    /// ends in `Account` too.
    pub fn of_variable_type(variable_type: &str) -> Option<ReferenceKind> {
        match variable_type {
            "WorkerPool" => Some(ReferenceKind::WorkerPool),
            "Certificate" => Some(ReferenceKind::Certificate),
            account if account.ends_with("Account") => Some(ReferenceKind::Account),
            _ => None,
        }
    }

    /// The kind a prompt's or template's `Octopus.ControlType` display setting names: the
    /// control types `Certificate`, `WorkerPool` and the account types (`AzureAccount`,
    /// `AmazonWebServicesAccount`, `GoogleCloudAccount`, `UsernamePasswordAccount`,
    /// `GenericOidcAccount`: go-octopusdeploy `pkg/resources/display_settings.go`, OctopusClients
    /// `Model/ControlType.cs`), whose value is a resource id.
    pub fn of_display_settings(settings: &BTreeMap<String, String>) -> Option<ReferenceKind> {
        settings
            .get("Octopus.ControlType")
            .and_then(|control| ReferenceKind::of_variable_type(control))
    }

    /// The kind whose ids start with `prefix` (any case).
    pub fn of_id_prefix(prefix: &str) -> Option<ReferenceKind> {
        ReferenceKind::ALL
            .into_iter()
            .find(|kind| kind.id_prefix().eq_ignore_ascii_case(prefix))
    }
}

/// A property value or template default that names a shared resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceReference {
    /// What it names.
    pub kind: ReferenceKind,
    /// The resource's name; deploy resolves it to the id in the managed space.
    pub name: String,
}
