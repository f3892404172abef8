//! Template packages: a deterministic zip of the package files (`build`), and reading one back
//! with limits (`read`). Uploading to and downloading from the built-in feed is `octopus::feed`.

mod build;
mod read;

/// The feed's side (upload, download, versions) lives in `octopus::feed`; the upload mode is an
/// input of serialize, named here too.
pub use crate::octopus::feed::{file_name, OverwriteMode};
pub use build::{build_zip, canonical_json, package_files, package_id_for, version_at};
pub use read::{read_dir, read_zip, PackageContents, PackageLimits, PackageReadError};
