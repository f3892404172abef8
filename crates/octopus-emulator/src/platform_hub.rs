//! Platform Hub process templates as projects of a space consume them: which spaces a template
//! is shared with, and its published versions. Instance-wide, like the Platform Hub itself.
//!
//! Routes, from the Octopus API reference (octopus.com/docs/api/process-templates):
//! - `GET /api/platformhub/processtemplates/{slug}/share` → 200 `{IndividuallySharedSpaceIds:
//!   [...], SharedToAllSpaces: bool}` ("Get the sharing configuration for a given process
//!   template");
//! - `GET /api/platformhub/processtemplates/{slug}/versions{?versionMask,skip,take}` → the
//!   template's versions (`Name`, `Slug`, `Version`, `IsPreRelease`, `Parameters`,
//!   `PublishedDate`, …), here as a paged collection. An unknown slug is a 404 (the reference
//!   lists no other answer; a 404 with the server's text is what every other resource gives).
//!
//! A project uses one through a step of type `Octopus.ProcessTemplate` whose properties name it:
//! `Octopus.Action.ProcessTemplate.Reference.Slug` and `.VersionMask` (the provider's
//! docs/resources/process.md, "Using Process Templates", and its
//! `resource-process-template-usage.tf`). The emulator stores that step as any action: whether a
//! real server checks the template when the process is saved is not in what was read (the
//! provider's process docs and example, the API reference page above), so it does not refuse it
//! there.

use serde_json::{json, Value};

use crate::documents::str_field;
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult};

/// A stored process template: `Slug`, `Name`, `Versions` (each `{Version, IsPreRelease}`),
/// `SharedToAllSpaces`, `IndividuallySharedSpaceIds`.
fn find<'a>(templates: &'a [Value], slug: &str) -> ApiResult<&'a Value> {
    templates
        .iter()
        .find(|t| str_field(t, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(slug)))
        .ok_or_else(|| ApiError::not_found(slug))
}

/// `GET …/processtemplates/{slug}/share`.
pub fn share(templates: &[Value], slug: &str) -> ApiResult<Value> {
    let template = find(templates, slug)?;
    Ok(json!({
        "IndividuallySharedSpaceIds": template["IndividuallySharedSpaceIds"].clone(),
        "SharedToAllSpaces": template["SharedToAllSpaces"].clone(),
    }))
}

/// Whether `version` (`1.2.0`) matches a mask (`1.X`, `1.2.X`, `1.*`, or a whole version).
fn matches_mask(mask: &str, version: &str) -> bool {
    let mask: Vec<&str> = mask.split('.').collect();
    let parts: Vec<&str> = version.split(['.', '-']).collect();
    mask.iter().enumerate().all(|(i, part)| {
        matches!(*part, "X" | "x" | "*") || parts.get(i).is_some_and(|p| p == part)
    })
}

/// `GET …/processtemplates/{slug}/versions{?versionMask,skip,take}`.
pub fn versions(templates: &[Value], slug: &str, query: &Query) -> ApiResult<Value> {
    let template = find(templates, slug)?;
    let mask = query.get("versionMask");
    let items: Vec<Value> = template["Versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| {
            mask.is_none_or(|mask| matches_mask(mask, str_field(v, "Version").unwrap_or_default()))
        })
        .map(|v| {
            json!({
                "Id": format!("{}-{}", str_field(template, "Slug").unwrap_or_default(), str_field(v, "Version").unwrap_or_default()),
                "Name": template["Name"].clone(),
                "Slug": template["Slug"].clone(),
                "Version": v["Version"].clone(),
                "IsPreRelease": v.get("IsPreRelease").cloned().unwrap_or(json!(false)),
                "Description": "",
                "Parameters": [],
                "PublishedDate": "2025-01-01T00:00:00.000+00:00",
            })
        })
        .collect();
    Ok(page(
        items,
        "ProcessTemplateVersion",
        &format!("/api/platformhub/processtemplates/{slug}/versions"),
        "{?versionMask,skip,take}",
        query,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_masks_match_by_part() {
        assert!(super::matches_mask("1.X", "1.4.0"));
        assert!(super::matches_mask("1.2.X", "1.2.9"));
        assert!(!super::matches_mask("1.2.X", "1.3.0"));
        assert!(!super::matches_mask("2.X", "1.0.0"));
        assert!(super::matches_mask("1.0.0", "1.0.0"));
    }
}
