//! Template packages: a deterministic zip of the package files, uploaded to and downloaded from
//! an Octopus built-in feed.

use crate::octopus::client::OctopusClient;
use crate::octopus::error::OctopusError;
use std::collections::BTreeMap;
use std::io::Write;

/// The built-in feed's upload modes (`overwriteMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum OverwriteMode {
    FailIfExists,
    /// The article's `--replace-existing`.
    #[default]
    OverwriteExisting,
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

    pub fn api_name(self) -> &'static str {
        match self {
            OverwriteMode::FailIfExists => "FailIfExists",
            OverwriteMode::OverwriteExisting => "OverwriteExisting",
            OverwriteMode::IgnoreIfExists => "IgnoreIfExists",
        }
    }
}

/// The package ID the article's script derives from a project name: every character outside
/// `[A-Za-z0-9]` becomes `_`.
pub fn package_id_for(project_name: &str) -> String {
    project_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `YYYY.MM.DD.HHMMSS` in UTC, the article's default version.
pub fn version_at(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y.%m.%d.%H%M%S").to_string()
}

pub fn file_name(package_id: &str, version: &str) -> String {
    format!("{package_id}.{version}.zip")
}

/// Zip `files` (path → bytes) so that the same files give the same bytes: entries sorted by
/// path, a fixed timestamp (1980-01-01) and fixed permissions.
pub fn build_zip(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (path, bytes) in files {
        writer
            .start_file(path.as_str(), options)
            .expect("writing to memory cannot fail");
        writer
            .write_all(bytes)
            .expect("writing to memory cannot fail");
    }
    writer
        .finish()
        .expect("writing to memory cannot fail")
        .into_inner()
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
         FailIfExists: give a new Octofleet.Package.Version (--package-version) or set Octofleet.Package.OverwriteMode \
         (--overwrite-mode) to OverwriteExisting"
    )]
    AlreadyExists {
        package_id: String,
        version: String,
        space: String,
    },
    #[error(transparent)]
    Octopus(#[from] OctopusError),
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
        if let Some(stored) = client
            .get_opt::<serde_json::Value>(&format!(
                "api/{space_id}/packages/packages-{package_id}.{version}"
            ))
            .await?
        {
            if stored
                .get("Hash")
                .and_then(|h| h.as_str())
                .is_some_and(|h| h.eq_ignore_ascii_case(&hash))
            {
                return Ok(UploadOutcome::Stored);
            }
        }
        if attempt >= policy.max_attempts {
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
    let path = format!("api/{space_id}/packages/packages-{package_id}.{version}/raw");
    match client.send(&crate::octopus::ApiRequest::get(path)).await {
        Ok(response) => Ok(Some(response.body)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// JSON with object keys sorted at every level and a final newline: identical input, identical bytes.
pub fn canonical_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    let value = sorted(serde_json::to_value(value).expect("package documents serialize"));
    let mut bytes = serde_json::to_vec_pretty(&value).expect("JSON values serialize");
    bytes.push(b'\n');
    bytes
}

/// The files of a template package: `project.json`, `secrets.json`, `README.md` and `terraform/`.
pub fn package_files(
    project: &crate::portable::PortableProject,
    secrets: &BTreeMap<String, String>,
    terraform: &BTreeMap<String, String>,
    package_id: &str,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert("project.json".to_owned(), canonical_json(project));
    files.insert("secrets.json".to_owned(), canonical_json(secrets));
    files.insert(
        "README.md".to_owned(),
        package_readme(project, secrets, package_id).into_bytes(),
    );
    for (path, content) in terraform {
        files.insert(format!("terraform/{path}"), content.as_bytes().to_vec());
    }
    files
}

fn package_readme(
    project: &crate::portable::PortableProject,
    secrets: &BTreeMap<String, String>,
    package_id: &str,
) -> String {
    let name = &project.project.name;
    let label = crate::portable::reader::sanitize(name);
    let kind = if project.project.version_control.is_some() {
        "Config-as-Code"
    } else {
        "database"
    };
    format!(
        "# Template package: {name}\n\n\
         The {kind} project `{name}` from space `{space}` on {server}, exported by octofleet {version}.\n\n\
         - `project.json` — the portable project (format version {format}): settings, process, channels, \
         variables and runbooks by name. `octofleet deploy` applies it through the REST API.\n\
         - `secrets.json` — {count} secret placeholder(s), `#{{Name | JsonEscape}}`. Enable Octopus's \
         *Substitute Variables in Files* on `secrets.json` and run the deploy step in the `Sync` environment, \
         where the secrets are scoped, so Octopus fills them in.\n\
         - `terraform/` — the same project as a module for the `OctopusDeploy/octopusdeploy` provider \
         (octoterra conventions). Apply it with the *Apply a Terraform template* step: substitute \
         variables in `**/project_variable_sensitive*.tf`, and pass\n\
         `-var=\"octopus_server=#{{ManagedTenant.Octopus.Url}}\" -var=\"octopus_space_id=#{{ManagedTenant.Octopus.SpaceId}}\" \
         -var=\"octopus_apikey=#{{ManagedTenant.Octopus.ApiKey}}\" -var=\"project_{label}_name=#{{Exported.Project.Name}}\"`.\n\n\
         Package ID `{package_id}`.\n",
        space = project.source.space_name,
        server = project.source.server,
        version = project.source.octofleet_version,
        format = project.format_version,
        count = secrets.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_versions_and_names_follow_the_article() {
        assert_eq!(package_id_for("Hello World CaC"), "Hello_World_CaC");
        let time = chrono::DateTime::parse_from_rfc3339("2026-11-26T09:05:02Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(version_at(time), "2026.11.26.090502");
        assert_eq!(file_name("Hello_World", "1.0.0"), "Hello_World.1.0.0.zip");
    }

    #[test]
    fn zips_are_deterministic() {
        let files: BTreeMap<String, Vec<u8>> = [("b.txt", "two"), ("a/one.json", "{}")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        let first = build_zip(&files);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(first, build_zip(&files));
        let archive = zip::ZipArchive::new(std::io::Cursor::new(first)).unwrap();
        let names: Vec<_> = archive.file_names().collect();
        assert!(names.contains(&"a/one.json") && names.contains(&"b.txt"));
    }
}
