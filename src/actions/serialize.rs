//! `serialize`: read the template project, write the template package (project.json, secrets.json,
//! terraform/), keep it on disk and/or upload it to the built-in feed, report. Orchestration only.

use super::{ActionError, Report, Server, While, GIVE_ID_OR_NAME};
use crate::config::SerializeConfig;
use crate::convert;
use crate::octopus::feed::{self, OverwriteMode, PackageError, UploadOutcome};
use crate::octopus::project_export::{fetch_project, find_project, ExportOptions, FetchError};
use crate::octopus::resources::is_space_id;
use crate::octopus::space_index::SpaceIndex;
use crate::package;
use crate::portable::definitions::carry_history;
use crate::service_messages::ServiceMessage;
use crate::terraform::{write_module, ModuleOptions};
use serde::Serialize;
use std::path::PathBuf;

/// What serialize wrote: the package, what it holds, and where it went.
#[derive(Debug, Clone, Serialize)]
pub struct SerializeReport {
    /// The template project's name.
    pub project: String,
    /// The space it was read from.
    pub space_id: String,
    /// The package ID in the built-in feed.
    pub package_id: String,
    /// The package version.
    pub package_version: String,
    /// The zip's size.
    pub bytes: usize,
    /// Files in the package.
    pub files: usize,
    /// Project variables exported.
    pub variables: usize,
    /// Secret placeholders in `secrets.json`.
    pub secrets: usize,
    /// Runbooks exported.
    pub runbooks: usize,
    /// Where the package went: "stored", "kept_existing", or absent with --no-push.
    pub upload: Option<UploadOutcome>,
    /// The space whose built-in feed took the package (absent with --no-push).
    pub upload_space_id: Option<String>,
    /// Where the zip was written on disk, with an output directory.
    pub zip_path: Option<PathBuf>,
    /// What was left out or may surprise (also logged as warnings).
    pub warnings: Vec<String>,
}

impl std::fmt::Display for SerializeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} → {} {} ({} bytes, {} files, {} variables, {} secret placeholders, {} runbooks)",
            self.project,
            self.package_id,
            self.package_version,
            self.bytes,
            self.files,
            self.variables,
            self.secrets,
            self.runbooks
        )?;
        match (&self.upload, &self.upload_space_id) {
            (Some(outcome), Some(space)) => {
                write!(
                    f,
                    "; uploaded to the built-in feed of {space} ({outcome:?})"
                )
            }
            _ => write!(f, "; not uploaded"),
        }
    }
}

impl Report for SerializeReport {
    fn output_variables(&self) -> Vec<ServiceMessage> {
        vec![
            ServiceMessage::set_variable("PackageId", &self.package_id),
            ServiceMessage::set_variable("PackageVersion", &self.package_version),
        ]
    }
}

/// Read the template project, write the package (project.json, secrets.json, terraform/), keep
/// it on disk and/or upload it to the built-in feed.
pub async fn run(config: &SerializeConfig) -> Result<SerializeReport, ActionError> {
    let server = Server::management(&config.source)?;
    let client = &server.client;
    let fetch_error = |error| match error {
        FetchError::Octopus(source) => server.error()(source),
        missing @ FetchError::ProjectMissing { .. } => ActionError::input(missing),
    };
    // A space given by ID is most likely that space: the project is looked up, and the space's
    // index read, in it while the space is read (two rounds fewer); the project's parts go out
    // as soon as the project is found, beside the index's reads. The space's answer is taken
    // first, and what was read in another space than the one found (an ID that was a space's
    // name) is read again.
    let guessed_space = is_space_id(&config.space).then_some(config.space.as_str());
    let (index_sender, early_index) = tokio::sync::oneshot::channel();
    let read_index_early = async {
        if let Some(space_id) = guessed_space {
            // Unsent only when the export stopped first: nobody waits for it then.
            let _ = index_sender.send(SpaceIndex::read(client, space_id).await);
        }
    };
    let export = async {
        let (space, guessed_project) = tokio::join!(
            server.space_resource(&config.space, GIVE_ID_OR_NAME),
            async {
                match guessed_space {
                    Some(space_id) => {
                        Some(find_project(client, space_id, &config.project_name).await)
                    }
                    None => None,
                }
            }
        );
        let space = space?;
        let space_id = space.id.clone().unwrap_or_default();
        tracing::info!(project = %config.project_name, space = %space_id, "reading template project");
        let guessed_right = guessed_space == Some(space_id.as_str());
        let project = match guessed_project {
            Some(found) if guessed_right => found,
            _ => find_project(client, &space_id, &config.project_name).await,
        }
        .map_err(fetch_error)?;
        let index = guessed_right.then_some(async {
            early_index
                .await
                .expect("the early index read sends its result when it was started")
        });
        let documents = fetch_project(
            client,
            space,
            project,
            index,
            ExportOptions {
                include_cac_values: config.include_cac_values,
            },
        )
        .await
        .map_err(fetch_error)?;
        Ok::<_, ActionError>((space_id, documents))
    };
    // Listed first, the space's and the project's lookups go out first.
    let (exported, ()) = tokio::join!(export, read_index_early);
    let (space_id, documents) = exported?;
    let now = chrono::Utc::now();
    let exported_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut read = convert::read(
        &documents,
        &config.filters,
        env!("CARGO_PKG_VERSION"),
        &exported_at,
    )
    .map_err(ActionError::input)?;
    for warning in &read.warnings {
        tracing::warn!("{warning}");
        crate::log_format::emit_warning(warning);
    }

    let package_id = config
        .package_id
        .clone()
        .unwrap_or_else(|| package::package_id_for(&read.project.project.name));
    let feed_space = match &config.upload_space {
        Some(space) => server.space_id(space, GIVE_ID_OR_NAME).await?,
        None => space_id.clone(),
    };
    carry_definition_history(client, &feed_space, &package_id, &mut read).await;

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
            // Sensitive step and action properties default to their `Octofleet.Secret[…]` variable.
            secrets: read.property_secrets.clone(),
            ..ModuleOptions::default()
        },
    );
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
        let upload_space = feed_space;
        let outcome = feed::upload(
            client,
            &upload_space,
            &package_id,
            &version,
            &zip,
            config.overwrite_mode,
        )
        .await
        .map_err(|error| match error {
            PackageError::Octopus(source) => server.error()(source),
            exists @ PackageError::AlreadyExists { .. } => ActionError::failed(exists),
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

/// The step templates and script modules remember the definitions the previous package of this
/// project carried (the latest version in the feed): deploy updates a downstream copy equal to
/// one of them, and keeps any other as a tenant's edit (`portable::definitions`). Without a
/// previous package (the first one, or a feed that cannot be read: a warning) nothing is
/// remembered, and a copy that differs is kept until deploy is asked to overwrite.
async fn carry_definition_history(
    client: &crate::octopus::OctopusClient,
    feed_space: &str,
    package_id: &str,
    read: &mut convert::ReadResult,
) {
    let project = &mut read.project;
    if project.step_templates.is_empty() && project.script_modules.is_empty() {
        return;
    }
    let previous = async {
        let Some(version) = feed::latest_version(client, feed_space, package_id)
            .await
            .map_err(|error| error.to_string())?
        else {
            return Ok::<_, String>(None);
        };
        let Some(bytes) = feed::download(client, feed_space, package_id, &version)
            .await
            .map_err(|error| error.to_string())?
        else {
            return Ok(None);
        };
        package::read_zip(&bytes, &package::PackageLimits::default())
            .map(|contents| Some(contents.project))
            .map_err(|error| format!("{package_id} {version}: {error}"))
    };
    match previous.await {
        Ok(Some(previous)) => {
            carry_history(&mut project.step_templates, &previous.step_templates);
            carry_history(&mut project.script_modules, &previous.script_modules);
        }
        Ok(None) => {}
        Err(error) => {
            let warning = format!(
                "the previous package could not be read ({error}), so this one does not know the step \
                 templates' and script modules' earlier definitions: a managed space's copy that differs is \
                 kept (as a downstream edit) until a deploy with overwrite"
            );
            tracing::warn!("{warning}");
            crate::log_format::emit_warning(&warning);
            read.warnings.push(warning);
        }
    }
}

/// Write atomically (temporary file, then rename) so a crash never leaves half a zip.
fn write_zip(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ActionError> {
    let failed = |error: std::io::Error| {
        ActionError::failed(While::new(
            format!("cannot write the package into {}", dir.display()),
            error,
        ))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut file, bytes).map_err(failed)?;
    let path = dir.join(name);
    file.persist(&path).map_err(|error| failed(error.error))?;
    Ok(path)
}
