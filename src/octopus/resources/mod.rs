//! Typed Octopus resources and one generic handle, `Api<T>`, that lists, finds, creates and updates any of them.
//!
//! Every model keeps the fields it does not know in `extra`, so a read-modify-write never drops
//! what a newer server added. Every field tolerates `null` and absence: real servers from 2016
//! to 2026 omit or null different fields.

/// `impl Resource` for a space-scoped model with `id: Option<String>` and `name: String`.
/// With `owned_by_project`, the model's `project_id` is its owner (names unique per project).
macro_rules! space_resource {
    ($ty:ty, $kind:literal, $collection:literal) => {
        space_resource!($ty, $kind, $collection, {});
    };
    ($ty:ty, $kind:literal, $collection:literal, owned_by_project) => {
        space_resource!($ty, $kind, $collection, {
            fn owner_project(&self) -> Option<&str> {
                self.project_id.as_deref()
            }
        });
    };
    ($ty:ty, $kind:literal, $collection:literal, { $($owner:tt)* }) => {
        impl super::Resource for $ty {
            const KIND: &'static str = $kind;
            const COLLECTION: &'static str = $collection;

            fn id(&self) -> Option<&str> {
                self.id.as_deref()
            }
            fn name(&self) -> &str {
                &self.name
            }
            $($owner)*
        }
    };
}

// The models mirror the Octopus API's JSON: each field is the API's, spelled as the API spells it
// (serde renames it), and means what the API's own documentation says it means. Repeating that on
// every field would be noise, so `missing_docs` is allowed for the model modules (and only them);
// what is ours rather than the API's (a kind's route, a helper, a rule the server applies) is
// documented where it stands.
#[allow(missing_docs)]
mod account;
#[allow(missing_docs)]
mod action_template;
#[allow(missing_docs)]
mod artifact;
#[allow(missing_docs)]
mod certificate;
#[allow(missing_docs)]
mod channel;
#[allow(missing_docs)]
mod deployment_process;
#[allow(missing_docs)]
mod environment;
#[allow(missing_docs)]
mod feed;
#[allow(missing_docs)]
mod git_credential;
#[allow(missing_docs)]
mod library_variable_set;
#[allow(missing_docs)]
mod lifecycle;
#[allow(missing_docs)]
mod project;
#[allow(missing_docs)]
mod project_group;
#[allow(missing_docs)]
mod project_trigger;
#[allow(missing_docs)]
mod runbook;
#[allow(missing_docs)]
mod runbook_run;
#[allow(missing_docs)]
mod sensitive;
#[allow(missing_docs)]
mod server_task;
#[allow(missing_docs)]
mod space;
#[allow(missing_docs)]
mod tag_set;
#[allow(missing_docs)]
mod team;
#[allow(missing_docs)]
mod tenant;
#[allow(missing_docs)]
mod tenant_variables;
#[allow(missing_docs)]
mod variable_set;
#[allow(missing_docs)]
mod worker_pool;

pub use account::Account;
pub use action_template::{
    install_community_template, update_community_installation, ActionTemplate,
    CommunityActionTemplate,
};
pub use artifact::Artifact;
pub use certificate::Certificate;
pub use channel::{Channel, ChannelActionPackage, ChannelRule};
pub use deployment_process::{
    ActionContainer, ActionPackageReference, DeploymentProcess, ProcessAction, ProcessKind,
    ProcessStep,
};
pub use environment::Environment;
pub use feed::{Feed, FeedType};
pub use git_credential::{GitCredential, GitCredentialDetails, RepositoryRestrictions};
pub use library_variable_set::{ActionTemplateParameter, LibraryVariableSet};
pub use lifecycle::{Lifecycle, Phase, RetentionPolicy};
pub use project::{
    ConnectivityPolicy, DonorPackage, GitPersistenceCredentials, PersistenceSettings, Project,
    ProjectVersioningStrategy,
};
pub use project_group::ProjectGroup;
pub use project_trigger::{
    built_in_trigger_of, trigger_action_category, triggers_of_project, ProjectTrigger,
    ReleaseCreationPackage, ReleaseCreationStrategy, TriggerAction, TriggerFilter, TriggerPackage,
    AUTO_CREATE_RELEASE, RELEASE_CREATION_STRATEGY,
};
pub use runbook::{
    pair_with_processes, processes_by_ids as runbook_processes_by_ids, runbooks_in_branch,
    RunRetentionPolicy, Runbook,
};
pub use runbook_run::{RunRunbook, RunRunbookResponse, RunbookRunServerTask};
pub use sensitive::{PropertyValue, SensitiveValue};
pub use server_task::{ServerTask, COMPLETED_STATES};
pub use space::{is_space_id, Space};
pub use tag_set::{Tag, TagSet};
pub use team::Team;
pub use tenant::Tenant;
pub use tenant_variables::{
    CommonVariable, CommonVariableScope, CommonVariables, LegacyLibraryVariables,
    LegacyTenantVariables,
};
pub use variable_set::{Variable, VariableSet, VariableSetWrite, VariableSets};
pub use worker_pool::WorkerPool;

use super::client::{ApiRequest, OctopusClient};
use super::error::OctopusError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::marker::PhantomData;

/// Fields a model does not know, kept for the next write.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// `null` and absent both mean the type's default (`[]`, `false`, `0`, `{}`).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A resource that lives in an Octopus collection (`/api/{space}/environments`).
pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// For messages: "environment", "git credential".
    const KIND: &'static str;
    /// The collection's route segment.
    const COLLECTION: &'static str;
    /// Spaces and teams live at `/api/...`; everything else inside a space.
    const SPACE_SCOPED: bool = true;
    /// Whether POST answers with the whole resource (git credentials answer `{Id, Links}`).
    const CREATE_RETURNS_RESOURCE: bool = true;
    /// The owner project's route segment for its items (`/projects/{id}/runbooks`).
    const OWNER_COLLECTION: &'static str = Self::COLLECTION;

    /// The server's ID (`None` before it is created).
    fn id(&self) -> Option<&str>;
    /// The name, unique in its space (or its owner project).
    fn name(&self) -> &str;

    /// The project that owns it, for resources whose names are unique only within a project
    /// (runbooks, channels). A re-read after an ambiguous create must stay inside the owner, or
    /// another project's runbook of the same name would be adopted and overwritten.
    fn owner_project(&self) -> Option<&str> {
        None
    }

    /// Query parameters the owner's collection needs to list this item (a trigger's category).
    fn owner_query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The collection of `T` in one space (or the system collection for spaces and teams).
#[derive(Debug, Clone)]
pub struct Api<T> {
    client: OctopusClient,
    space_id: Option<String>,
    _resource: PhantomData<fn() -> T>,
}

impl<T: Resource> Api<T> {
    /// The collection in `space_id`; `None` means the server's default space (legacy routes).
    pub fn new(client: &OctopusClient, space_id: Option<&str>) -> Self {
        Api {
            client: client.clone(),
            space_id: space_id.map(str::to_owned),
            _resource: PhantomData,
        }
    }

    /// `api/{space}/{collection}` (or `api/{collection}` for system resources).
    pub fn collection_path(&self) -> String {
        match (&self.space_id, T::SPACE_SCOPED) {
            (Some(space), true) => format!("api/{space}/{}", T::COLLECTION),
            _ => format!("api/{}", T::COLLECTION),
        }
    }

    /// One item's path: the collection's, then the ID (encoded).
    pub fn item_path(&self, id: &str) -> String {
        format!("{}/{}", self.collection_path(), encode_segment(id))
    }

    /// A request for the collection; `take` is large so most collections fit one page.
    pub fn list_request(&self) -> ApiRequest {
        ApiRequest::get(self.collection_path())
            .query("skip", 0)
            .query("take", 1000)
    }

    /// Every item of the collection in `space_id`, across all pages (an owned handle, so several
    /// can be read at once in one `join!`).
    pub async fn list_in(client: &OctopusClient, space_id: &str) -> Result<Vec<T>, OctopusError> {
        Api::<T>::new(client, Some(space_id)).list().await
    }

    /// Every item, across all pages.
    pub async fn list(&self) -> Result<Vec<T>, OctopusError> {
        self.client.list_all(self.list_request()).await
    }

    /// The item with this ID.
    pub async fn get(&self, id: &str) -> Result<T, OctopusError> {
        self.client.get(&self.item_path(id)).await
    }

    /// 404 → `None`.
    pub async fn get_opt(&self, id: &str) -> Result<Option<T>, OctopusError> {
        self.client.get_opt(&self.item_path(id)).await
    }

    /// The item whose name is exactly `name`. Octopus filters names by substring
    /// (`partialName=Europe` also returns "Europe-West"), so the exact match is made here.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<T>, OctopusError> {
        let request = self.list_request().query("partialName", name);
        let mut items: Vec<T> = self.client.list_all(request).await?;
        Ok(position_by_name(&items, name).map(|at| items.swap_remove(at)))
    }

    /// The item a create of `resource` may have made: same name and, for project-owned
    /// resources, the same project, read through the project's own collection
    /// (`/api/{space}/projects/{id}/runbooks`, `/channels`: go-octopusdeploy
    /// `uritemplates/links.go` `RunbooksByProject`, and the server's swagger in
    /// go-octopusdeploy `api/octopus_deploy.json`)
    /// and checked again here, since a server that ignored the scope must not hand us another
    /// project's item.
    pub async fn find_same(&self, resource: &T) -> Result<Option<T>, OctopusError> {
        let Some(owner) = resource.owner_project() else {
            return self.find_by_name(resource.name()).await;
        };
        let space = self.space_id.as_deref().ok_or_else(|| {
            OctopusError::Url(format!("a {} needs a space to be looked up in", T::KIND))
        })?;
        let mut request = ApiRequest::get(format!(
            "api/{space}/projects/{}/{}",
            encode_segment(owner),
            T::OWNER_COLLECTION
        ))
        .query("skip", 0)
        .query("take", 1000)
        .query("partialName", resource.name());
        for (key, value) in resource.owner_query() {
            request = request.query(key, value);
        }
        let mut items: Vec<T> = self.client.list_all(request).await?;
        items.retain(|item| item.owner_project() == Some(owner));
        Ok(position_by_name(&items, resource.name()).map(|at| items.swap_remove(at)))
    }

    /// POST a new resource. A POST is never repeated blindly: after an ambiguous failure (the
    /// connection dropped, a 5xx, a 429) or a 400 such as "name already exists", the owner's
    /// collection is re-read by name ([`Api::find_same`]), and an item found there is the result.
    pub async fn create(&self, resource: &T) -> Result<T, OctopusError> {
        let policy = self.client.retry_policy();
        let mut attempt = 1;
        loop {
            let error = match self.client.post(&self.collection_path(), resource).await {
                Ok(response) if T::CREATE_RETURNS_RESOURCE => {
                    let request = ApiRequest::get(self.collection_path());
                    return super::client::decode(&request, &response.body);
                }
                Ok(response) => {
                    let created: CreatedId = super::client::decode(
                        &ApiRequest::get(self.collection_path()),
                        &response.body,
                    )?;
                    return self.get(&created.id).await;
                }
                Err(error) => error,
            };
            let ambiguous = error.is_transient();
            let rejected = error.status() == Some(reqwest::StatusCode::BAD_REQUEST)
                || error.status() == Some(reqwest::StatusCode::CONFLICT);
            if !(ambiguous || rejected) {
                return Err(error);
            }
            if let Some(existing) = self.find_same(resource).await? {
                tracing::debug!(
                    kind = T::KIND,
                    name = resource.name(),
                    "created by an earlier attempt or a concurrent run"
                );
                return Ok(existing);
            }
            if rejected || !policy.should_retry(attempt, error.is_timeout()) {
                return Err(error);
            }
            tokio::time::sleep(policy.delay(attempt, error.retry_after())).await;
            attempt += 1;
        }
    }

    /// PUT the resource to its item route (retried: a PUT is idempotent).
    pub async fn update(&self, resource: &T) -> Result<(), OctopusError> {
        let id = resource.id().ok_or_else(|| {
            OctopusError::Url(format!(
                "{} `{}` has no Id to update",
                T::KIND,
                resource.name()
            ))
        })?;
        self.client
            .put(&self.item_path(id), resource)
            .await
            .map(|_| ())
    }

    /// Find by exact name, or create from `make()` when missing. Returns the resource and
    /// whether it was created.
    pub async fn get_or_create(
        &self,
        name: &str,
        make: impl FnOnce() -> T,
    ) -> Result<(T, bool), OctopusError> {
        match self.find_by_name(name).await? {
            Some(existing) => Ok((existing, false)),
            None => Ok((self.create(&make()).await?, true)),
        }
    }
}

/// Where the item named `name` is. Octopus compares names without case (it refuses
/// "hello world" beside "Hello World" as a duplicate; the emulator's uniqueness rule cites it), so
/// the exact spelling wins, and otherwise an item that differs only in case is the same resource
/// to the server: it is taken, and the difference is logged.
pub fn position_by_name<T: Resource>(items: &[T], name: &str) -> Option<usize> {
    if let Some(exact) = items.iter().position(|item| item.name() == name) {
        return Some(exact);
    }
    let folded = name.to_lowercase();
    let at = items
        .iter()
        .position(|item| item.name().to_lowercase() == folded)?;
    tracing::warn!(
        "the {} `{name}` is named `{}` on the server (Octopus compares names without case): using it",
        T::KIND,
        items[at].name()
    );
    Some(at)
}

#[derive(Deserialize)]
struct CreatedId {
    #[serde(rename = "Id")]
    id: String,
}

/// IDs are plain (`Environments-1`, `feeds-builtin`), but a slug or a name must not break the path.
fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
