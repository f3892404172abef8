//! `serialize`: read the template project, write the template package (project.json, secrets.json,
//! terraform/), keep it on disk and/or upload it to the built-in feed, report. Orchestration only.

use super::create_space::connect;
use super::ActionError;
use crate::config::SerializeConfig;
use crate::convert::{self, ReadError};
use crate::octopus::feed::{self, OverwriteMode, PackageError, UploadOutcome};
use crate::octopus::project_export::{fetch_project, ExportOptions, FetchError};
use crate::octopus::resources::Space;
use crate::octopus::Api;
use crate::package;
use crate::terraform::{write_module, ModuleOptions};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
pub struct SerializeReport {
    pub project: String,
    pub space_id: String,
    pub package_id: String,
    pub package_version: String,
    pub bytes: usize,
    pub files: usize,
    pub variables: usize,
    pub secrets: usize,
    pub runbooks: usize,
    /// Where the package went: "stored", "kept_existing", or absent with --no-push.
    pub upload: Option<UploadOutcome>,
    pub upload_space_id: Option<String>,
    pub zip_path: Option<PathBuf>,
    pub warnings: Vec<String>,
}

pub async fn run(config: &SerializeConfig) -> Result<SerializeReport, ActionError> {
    let server = format!("the management server {}", config.source.url);
    let client = connect(&config.source)?;
    let spaces = Api::<Space>::new(&client, None);
    let space_id = resolve_space(&spaces, &config.space, &server).await?;
    tracing::info!(project = %config.project_name, space = %space_id, "reading template project");

    let documents = fetch_project(
        &client,
        &space_id,
        &config.project_name,
        ExportOptions {
            include_cac_values: config.include_cac_values,
        },
    )
    .await
    .map_err(|error| match error {
        FetchError::ProjectMissing { .. } => ActionError::Input(error.to_string()),
        FetchError::Octopus(source) => ActionError::octopus(&server)(source),
    })?;
    let now = chrono::Utc::now();
    let exported_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let read = convert::read(
        &documents,
        &config.filters,
        env!("CARGO_PKG_VERSION"),
        &exported_at,
    )
    .map_err(|error| match error {
        ReadError::AmbiguousSecrets(_) => ActionError::Input(error.to_string()),
        ReadError::Missing(_) => ActionError::Input(error.to_string()),
    })?;
    for warning in &read.warnings {
        tracing::warn!("{warning}");
        crate::service_messages::emit_warning(warning);
    }

    let module = write_module(
        &read.project,
        &ModuleOptions {
            backend: config.terraform_backend.clone(),
            excluded_scope_environments: config
                .filters
                .excluded_variable_environments
                .iter()
                .cloned()
                .collect(),
            ..ModuleOptions::default()
        },
    );
    let package_id = config
        .package_id
        .clone()
        .unwrap_or_else(|| package::package_id_for(&read.project.project.name));
    let version = config
        .package_version
        .clone()
        .unwrap_or_else(|| package::version_at(now));
    let files = package::package_files(&read.project, &read.secrets, &module, &package_id);
    let zip = package::build_zip(&files);
    tracing::info!(package = %package_id, version = %version, bytes = zip.len(), files = files.len(), "built template package");

    let zip_path = match &config.output_dir {
        Some(dir) => Some(write_zip(
            dir,
            &package::file_name(&package_id, &version),
            &zip,
        )?),
        None => None,
    };
    let (upload, upload_space_id) = if config.push {
        let upload_space = match &config.upload_space {
            Some(space) => resolve_space(&spaces, space, &server).await?,
            None => space_id.clone(),
        };
        let outcome = feed::upload(
            &client,
            &upload_space,
            &package_id,
            &version,
            &zip,
            config.overwrite_mode,
        )
        .await
        .map_err(|error| match error {
            PackageError::AlreadyExists { .. } => ActionError::Failed(error.to_string()),
            PackageError::Octopus(source) => ActionError::octopus(&server)(source),
        })?;
        if outcome == UploadOutcome::KeptExisting
            && config.overwrite_mode == OverwriteMode::IgnoreIfExists
        {
            tracing::info!("the feed already had {package_id} {version}; kept it (IgnoreIfExists)");
        }
        (Some(outcome), Some(upload_space))
    } else {
        (None, None)
    };
    Ok(SerializeReport {
        project: read.project.project.name.clone(),
        space_id,
        package_id,
        package_version: version,
        bytes: zip.len(),
        files: files.len(),
        variables: read.project.variables.len(),
        secrets: read.secrets.len(),
        runbooks: read.project.runbooks.len(),
        upload,
        upload_space_id,
        zip_path,
        warnings: read.warnings,
    })
}

async fn resolve_space(
    spaces: &Api<Space>,
    id_or_name: &str,
    server: &str,
) -> Result<String, ActionError> {
    spaces
        .resolve(id_or_name)
        .await
        .map_err(ActionError::octopus(server))?
        .and_then(|space| space.id)
        .ok_or_else(|| ActionError::Input(format!("space `{id_or_name}` was not found on {server}: give its ID (Spaces-N) or exact name")))
}

/// Write atomically (temporary file, then rename) so a crash never leaves half a zip.
fn write_zip(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ActionError> {
    let failed = |error: std::io::Error| {
        ActionError::Failed(format!(
            "cannot write the package into {}: {error}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut file, bytes).map_err(failed)?;
    let path = dir.join(name);
    file.persist(&path).map_err(|error| failed(error.error))?;
    Ok(path)
}
