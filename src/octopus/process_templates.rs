//! Platform Hub process templates as a space sees them: whether the instance has one, whether it
//! is shared with the space, and whether a published version matches a step's version mask.
//!
//! Routes (the Octopus API reference, octopus.com/docs/api/process-templates):
//! `GET /api/platformhub/processtemplates/{slug}/share` → `{IndividuallySharedSpaceIds,
//! SharedToAllSpaces}`, and `GET /api/platformhub/processtemplates/{slug}/versions
//! {?versionMask,skip,take}`. A server without the template (or without Platform Hub) answers
//! 404.

use super::client::{ApiRequest, OctopusClient};
use super::error::OctopusError;
use serde::Deserialize;

/// The step type that runs a process template, and the properties that name it (the provider's
/// docs/resources/process.md, "Using Process Templates").
pub const STEP_TYPE: &str = "Octopus.ProcessTemplate";
/// The template's slug, on a `STEP_TYPE` action.
pub const SLUG: &str = "Octopus.Action.ProcessTemplate.Reference.Slug";
/// Which versions the step takes (`1.X`).
pub const VERSION_MASK: &str = "Octopus.Action.ProcessTemplate.Reference.VersionMask";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sharing {
    #[serde(default)]
    individually_shared_space_ids: Vec<String>,
    #[serde(default)]
    shared_to_all_spaces: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Versions {
    #[serde(default)]
    total_results: Option<u64>,
    #[serde(default)]
    items: Vec<serde_json::Value>,
}

/// Why a space cannot use a process template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// The instance has no process template with this slug (or no Platform Hub).
    NotOnTheInstance,
    /// It exists, but is not shared with the space.
    NotShared,
    /// It is shared, but no published version matches the mask.
    NoVersion(String),
}

/// Whether `space_id` may use the process template `slug` at `mask`: `None` when it may.
pub async fn unusable(
    client: &OctopusClient,
    space_id: &str,
    slug: &str,
    mask: Option<&str>,
) -> Result<Option<Unusable>, OctopusError> {
    let encoded: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    let base = format!("api/platformhub/processtemplates/{encoded}");
    let Some(sharing) = client.get_opt::<Sharing>(&format!("{base}/share")).await? else {
        return Ok(Some(Unusable::NotOnTheInstance));
    };
    let shared = sharing.shared_to_all_spaces
        || sharing
            .individually_shared_space_ids
            .iter()
            .any(|id| id.eq_ignore_ascii_case(space_id));
    if !shared {
        return Ok(Some(Unusable::NotShared));
    }
    let Some(mask) = mask.filter(|m| !m.trim().is_empty()) else {
        return Ok(None);
    };
    let request = ApiRequest::get(format!("{base}/versions"))
        .query("versionMask", mask)
        .query("take", 1);
    let versions: Versions = client.send_json(&request).await?;
    let any = versions
        .total_results
        .unwrap_or(versions.items.len() as u64)
        > 0;
    Ok((!any).then(|| Unusable::NoVersion(mask.to_owned())))
}
