//! The built-in package feed: upload (with the hash-checked retry), download, latest version.

use super::client::{ApiRequest, OctopusClient};
use super::error::OctopusError;
use super::paging::Page;
use crate::inputs::{OVERWRITE_MODE, PACKAGE_VERSION};
use serde::Deserialize;

/// The built-in feed's upload modes (`overwriteMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum OverwriteMode {
    /// Refuse a version the feed already has (400).
    FailIfExists,
    /// The article's `--replace-existing`.
    #[default]
    OverwriteExisting,
    /// Keep the version the feed has, and answer 200.
    IgnoreIfExists,
}

impl OverwriteMode {
    const ALL: [OverwriteMode; 3] = [
        OverwriteMode::FailIfExists,
        OverwriteMode::OverwriteExisting,
        OverwriteMode::IgnoreIfExists,
    ];

    /// The API's names, in any case.
    pub fn parse(text: &str) -> Option<OverwriteMode> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.api_name().eq_ignore_ascii_case(text))
    }

    /// The API's name for the mode (`overwriteMode=...`).
    pub fn api_name(self) -> &'static str {
        match self {
            OverwriteMode::FailIfExists => "FailIfExists",
            OverwriteMode::OverwriteExisting => "OverwriteExisting",
            OverwriteMode::IgnoreIfExists => "IgnoreIfExists",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadOutcome {
    /// A new file was stored (201).
    Stored,
    /// The feed kept the version it had (`IgnoreIfExists`, 200).
    KeptExisting,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "package {package_id} version {version} is already in the built-in feed of {space} and the overwrite mode is \
         FailIfExists: give a new {} (--{}) or set {} (--{}) to OverwriteExisting",
        PACKAGE_VERSION.octopus,
        PACKAGE_VERSION.flag,
        OVERWRITE_MODE.octopus,
        OVERWRITE_MODE.flag
    )]
    AlreadyExists {
        package_id: String,
        version: String,
        space: String,
    },
    #[error(transparent)]
    Octopus(#[from] OctopusError),
}

/// One package in the built-in feed, as `GET /packages` and `/packages/{id}` describe it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FeedPackage {
    pub package_id: Option<String>,
    pub version: Option<String>,
    /// SHA-1 of the stored file, hex.
    pub hash: Option<String>,
    /// When the version reached the feed (the server's clock).
    pub published: Option<String>,
}

/// The built-in feed's file name for a package version.
pub fn file_name(package_id: &str, version: &str) -> String {
    format!("{package_id}.{version}.zip")
}

fn package_path(space_id: &str, package_id: &str, version: &str) -> String {
    format!("api/{space_id}/packages/packages-{package_id}.{version}")
}

/// Upload to the built-in feed of `space_id`. An upload is a POST: after an ambiguous failure
/// (the connection dropped, a 5xx) the feed is asked whether this exact file (same SHA-1) landed
/// before trying again.
pub async fn upload(
    client: &OctopusClient,
    space_id: &str,
    package_id: &str,
    version: &str,
    bytes: &[u8],
    mode: OverwriteMode,
) -> Result<UploadOutcome, PackageError> {
    let path = format!("api/{space_id}/packages/raw");
    let query = vec![("overwriteMode".to_owned(), mode.api_name().to_owned())];
    let name = file_name(package_id, version);
    let hash = sha1_smol::Sha1::from(bytes).digest().to_string();
    let policy = client.retry_policy();
    let mut attempt = 1;
    loop {
        let error = match client.upload(&path, &query, &name, bytes.to_vec()).await {
            Ok(response) if response.status.as_u16() == 201 => return Ok(UploadOutcome::Stored),
            Ok(_) => return Ok(UploadOutcome::KeptExisting),
            Err(error) if error.status().map(|s| s.as_u16()) == Some(409) => {
                return Err(PackageError::AlreadyExists {
                    package_id: package_id.to_owned(),
                    version: version.to_owned(),
                    space: space_id.to_owned(),
                })
            }
            Err(error) if error.is_transient() => error,
            Err(error) => return Err(error.into()),
        };
        let stored = client
            .get_opt::<FeedPackage>(&package_path(space_id, package_id, version))
            .await?;
        if stored
            .and_then(|stored| stored.hash)
            .is_some_and(|stored| stored.eq_ignore_ascii_case(&hash))
        {
            return Ok(UploadOutcome::Stored);
        }
        if !policy.should_retry(attempt, error.is_timeout()) {
            return Err(error.into());
        }
        tokio::time::sleep(policy.delay(attempt, error.retry_after())).await;
        attempt += 1;
    }
}

/// Download a package's bytes from the built-in feed (404 → `None`).
pub async fn download(
    client: &OctopusClient,
    space_id: &str,
    package_id: &str,
    version: &str,
) -> Result<Option<Vec<u8>>, OctopusError> {
    let path = format!("{}/raw", package_path(space_id, package_id, version));
    match client.send(&ApiRequest::get(path)).await {
        Ok(response) => Ok(Some(response.body)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The newest version of `package_id` in the built-in feed (`None` when there is none). The feed
/// lists a package's versions newest first.
pub async fn latest_version(
    client: &OctopusClient,
    space_id: &str,
    package_id: &str,
) -> Result<Option<String>, OctopusError> {
    Ok(latest(client, space_id, package_id)
        .await?
        .and_then(|package| package.version))
}

/// The newest version of `package_id` in the built-in feed, with when it was published.
pub async fn latest(
    client: &OctopusClient,
    space_id: &str,
    package_id: &str,
) -> Result<Option<FeedPackage>, OctopusError> {
    let request = ApiRequest::get(format!("api/{space_id}/packages"))
        .query("nuGetPackageId", package_id)
        .query("take", 1);
    let page: Page<FeedPackage> = client.send_json(&request).await?;
    Ok(newest_of(page.items, package_id))
}

/// The first listed package when it is `package_id` (the filter matches by prefix).
fn newest_of(items: Vec<FeedPackage>, package_id: &str) -> Option<FeedPackage> {
    items.into_iter().next().filter(|item| {
        item.package_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(package_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_packages_read_typed_and_tolerate_nulls() {
        let item: FeedPackage = serde_json::from_value(serde_json::json!({
            "PackageId": "Hello_World", "Version": "2026.1.1", "Hash": "ABC", "Links": {}
        }))
        .unwrap();
        assert_eq!(item.hash.as_deref(), Some("ABC"));
        let empty: FeedPackage =
            serde_json::from_value(serde_json::json!({"PackageId": null})).unwrap();
        assert_eq!(empty, FeedPackage::default());
    }

    #[test]
    fn the_newest_version_must_be_the_same_package() {
        let item = |id: &str, version: &str| FeedPackage {
            package_id: Some(id.into()),
            version: Some(version.into()),
            hash: None,
            published: None,
        };
        assert_eq!(
            newest_of(vec![item("hello_world", "2")], "Hello_World")
                .and_then(|p| p.version)
                .as_deref(),
            Some("2")
        );
        assert_eq!(
            newest_of(vec![item("Hello_World_CaC", "3")], "Hello_World"),
            None
        );
        assert_eq!(newest_of(Vec::new(), "Hello_World"), None);
        assert_eq!(file_name("Hello_World", "1.0.0"), "Hello_World.1.0.0.zip");
    }
}
