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
