//! Template packages: a deterministic zip of the package files (`build`), and reading one back
//! with limits (`read`). Uploading to and downloading from the built-in feed is `octopus::feed`.

mod build;
mod read;

/// The feed's side (upload, download, versions) lives in `octopus::feed`; the upload mode is an
/// input of serialize, named here too.
pub(crate) use crate::octopus::feed::file_name;
pub use crate::octopus::feed::OverwriteMode;
pub(crate) use build::{build_zip, package_files, version_at};
pub use build::{canonical_json, package_id_for};
pub(crate) use read::{read_dir, read_zip, PackageContents, PackageLimits};

/// A template package as reports name it: by ID and version, and the directory Octopus extracted
/// it into when it came from one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageName {
    /// `Hello_World`; unknown for a directory nobody named.
    #[serde(default)]
    pub id: Option<String>,
    /// `2026.11.26.214000`; unknown for a directory nobody named.
    #[serde(default)]
    pub version: Option<String>,
    /// The extracted package's directory, when the package was read from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
}

impl std::fmt::Display for PackageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.id, &self.version, &self.directory) {
            (Some(id), Some(version), _) => write!(f, "{id} {version}"),
            (Some(id), None, _) => write!(f, "{id} (version unknown)"),
            (None, _, Some(directory)) => write!(f, "the package in {directory}"),
            (None, _, None) => write!(f, "an unnamed package"),
        }
    }
}
