//! Template packages: a deterministic zip of the package files, and reading one back with limits.
//! Uploading to and downloading from the built-in feed is `octopus::feed`.

/// The feed's side (upload, download, versions) lives in `octopus::feed`; the upload mode is an
/// input of serialize, named here too.
pub use crate::octopus::feed::{file_name, OverwriteMode};
use std::collections::BTreeMap;
use std::io::Write;

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

// ---------------------------------------------------------------------------------------------
// Reading template packages (for `deploy`): a zip from the feed, or the directory Octopus
// extracted it to. Every entry is checked before anything is parsed, sizes are counted from the
// bytes actually read (never from the zip headers), and only `project.json` and `secrets.json`
// are parsed.

/// Bounds on what reading one package may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageLimits {
    /// Uncompressed bytes of all files together (default 64 MiB).
    pub max_total_bytes: u64,
    /// Entries (files and directories) in the package (default 10 000).
    pub max_entries: usize,
    /// Uncompressed bytes of one file (default 32 MiB).
    pub max_entry_bytes: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            max_total_bytes: 64 * 1024 * 1024,
            max_entries: 10_000,
            max_entry_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What a template package holds, once read and checked.
#[derive(Debug, Clone)]
pub struct PackageContents {
    pub project: crate::portable::PortableProject,
    /// `secrets.json`: secret key → value (a `#{Name | JsonEscape}` placeholder until Octopus's file
    /// substitution has run). Empty when the package has no `secrets.json`.
    pub secrets: BTreeMap<String, crate::secret::Secret>,
    /// Regular files in the package (directories not counted).
    pub file_count: usize,
}

const REBUILD: &str = "rebuild the package with `octofleet serialize`";

/// Why a template package was refused. Entry names are shown escaped (no control characters reach
/// the log); secret values are never part of a message.
#[derive(Debug, thiserror::Error)]
pub enum PackageReadError {
    #[error("the package is not a readable zip file ({source}): download it again, or {REBUILD}")]
    NotAZip {
        #[source]
        source: zip::result::ZipError,
    },
    #[error(
        "package entry `{entry}` cannot be read ({source}): the package is corrupt or uses an unsupported \
         zip feature (only stored or deflated, unencrypted entries are read); download it again, or {REBUILD}"
    )]
    CorruptEntry {
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read `{path}` ({source}): check that the package was extracted completely and that this worker may read it")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{path}` is not a directory: give the directory Octopus extracted the template package to"
    )]
    NotADirectory { path: String },
    #[error(
        "package entry `{entry}` {reason}: refusing to read a package with unsafe paths; {REBUILD}"
    )]
    UnsafePath { entry: String, reason: &'static str },
    #[error(
        "package entry `{entry}` is a symbolic link: template packages hold only regular files and directories; \
         replace the link with the file it points to, or {REBUILD}"
    )]
    Symlink { entry: String },
    #[error(
        "package entry `{entry}` is not a regular file or directory (a device, pipe or socket): remove it, or {REBUILD}"
    )]
    SpecialFile { entry: String },
    #[error("package entry `{entry}` appears more than once: remove the duplicate, or {REBUILD}")]
    DuplicateEntry { entry: String },
    #[error(
        "the package's zip directory does not add up (its records disagree with its end record): the package is \
         corrupt or was crafted; download it again, or {REBUILD}"
    )]
    UnreadableDirectory,
    #[error(
        "the package has more than {limit} entries, the limit: it is not a template package octofleet wrote; \
         check the package ID and version, or {REBUILD}"
    )]
    TooManyEntries { limit: usize },
    #[error(
        "package entry `{entry}` is larger than {limit} bytes uncompressed, the limit for one file: \
         check the package ID and version, or {REBUILD}"
    )]
    EntryTooLarge { entry: String, limit: u64 },
    #[error(
        "the package holds more than {limit} bytes uncompressed, the limit (reached at entry `{entry}`): \
         check the package ID and version, or {REBUILD}"
    )]
    TooLarge { entry: String, limit: u64 },
    #[error(
        "the package has no project.json at its root: it is not a template package; check the package ID and \
         version, or {REBUILD}"
    )]
    MissingProject,
    #[error(
        "project.json has format_version {found}, but this octofleet ({ours}) reads format version {supported}: \
         upgrade octofleet to a version that reads format {found}, or re-serialize the template project with this \
         octofleet (`octofleet serialize`)",
        ours = env!("CARGO_PKG_VERSION")
    )]
    UnknownFormatVersion { found: u64, supported: u32 },
    #[error(
        "project.json is not a valid portable project at `{at}`: {message}; fix that field, or re-serialize the \
         template project (`octofleet serialize`)"
    )]
    InvalidProject { at: String, message: String },
    #[error(
        "secrets.json is not valid JSON (line {line}, column {column}): every value must be a JSON string; when \
         Octopus substitutes the secrets, the placeholders must read `#{{Name | JsonEscape}}` so a secret with quotes \
         or backslashes stays valid JSON"
    )]
    SecretsNotJson { line: usize, column: usize },
    #[error(
        "secrets.json is a JSON {found}, not an object of secret names to string values: {REBUILD}"
    )]
    SecretsNotObject { found: &'static str },
    #[error(
        "secrets.json: the value of `{key}` is a JSON {found}, not a string: every secret must be a string \
         (`\"#{{Name | JsonEscape}}\"` before substitution); fix secrets.json, or {REBUILD}"
    )]
    SecretNotString { key: String, found: &'static str },
}

/// A name from the package as it may appear in a message: control characters (a newline could
/// forge an Octopus service message) escaped, and at most 200 characters.
fn shown(name: &str) -> String {
    let mut text = String::new();
    for (index, c) in name.chars().enumerate() {
        if index == 200 {
            text.push('…');
            break;
        }
        // Control characters, and the bidirectional overrides that can make a name read differently.
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            text.extend(c.escape_unicode());
        } else {
            text.push(c);
        }
    }
    text
}

/// Checks an entry's path and returns it normalized (`/`-separated, no `.` or empty components).
fn entry_path(name: &str) -> Result<String, PackageReadError> {
    let refuse = |reason| {
        Err(PackageReadError::UnsafePath {
            entry: shown(name),
            reason,
        })
    };
    let bytes = name.as_bytes();
    if name.contains('\0') {
        return refuse("contains a NUL character");
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return refuse("is an absolute path");
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return refuse("is a Windows drive path");
    }
    let parts: Vec<&str> = name
        .split(['/', '\\'])
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return refuse("climbs out of the package with `..`");
    }
    Ok(parts.join("/"))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

const PROJECT_FILE: &str = "project.json";
const SECRETS_FILE: &str = "secrets.json";

/// Counts entries and bytes against the limits and keeps the two documents that are parsed.
struct PackageReader<'a> {
    limits: &'a PackageLimits,
    entries: usize,
    total_bytes: u64,
    file_count: usize,
    seen: std::collections::BTreeSet<String>,
    project: Option<Vec<u8>>,
    secrets: Option<Vec<u8>>,
}

impl<'a> PackageReader<'a> {
    fn new(limits: &'a PackageLimits) -> Self {
        PackageReader {
            limits,
            entries: 0,
            total_bytes: 0,
            file_count: 0,
            seen: Default::default(),
            project: None,
            secrets: None,
        }
    }

    fn count_entry(&mut self) -> Result<(), PackageReadError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(PackageReadError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Registers a regular file; true when its content is one of the parsed documents.
    fn start_file(&mut self, path: &str, name: &str) -> Result<bool, PackageReadError> {
        if path.is_empty() {
            return Err(PackageReadError::UnsafePath {
                entry: shown(name),
                reason: "has an empty name",
            });
        }
        if !self.seen.insert(path.to_owned()) {
            return Err(PackageReadError::DuplicateEntry { entry: shown(path) });
        }
        self.file_count += 1;
        Ok(path == PROJECT_FILE || path == SECRETS_FILE)
    }

    /// Adds `size` actual bytes of `path` to the totals.
    fn add_bytes(&mut self, path: &str, size: u64) -> Result<(), PackageReadError> {
        if size > self.limits.max_entry_bytes {
            return Err(PackageReadError::EntryTooLarge {
                entry: shown(path),
                limit: self.limits.max_entry_bytes,
            });
        }
        self.total_bytes = self.total_bytes.saturating_add(size);
        if self.total_bytes > self.limits.max_total_bytes {
            return Err(PackageReadError::TooLarge {
                entry: shown(path),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }

    /// Reads an entry through a bound one byte above what is still allowed, so a file larger than
    /// its header claims (or than the limits) is caught by the bytes themselves, then counts what
    /// was read. Returns the content when `keep`, otherwise discards it.
    fn read_content(
        &mut self,
        path: &str,
        reader: impl std::io::Read,
        keep: bool,
        on_error: impl FnOnce(std::io::Error) -> PackageReadError,
    ) -> Result<Option<Vec<u8>>, PackageReadError> {
        let remaining = self.limits.max_total_bytes.saturating_sub(self.total_bytes);
        let bound = self.limits.max_entry_bytes.min(remaining).saturating_add(1);
        let mut limited = std::io::Read::take(reader, bound);
        let read = if keep {
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut limited, &mut content)
                .map(|size| (size as u64, Some(content)))
        } else {
            std::io::copy(&mut limited, &mut std::io::sink()).map(|size| (size, None))
        };
        let (size, content) = read.map_err(on_error)?;
        self.add_bytes(path, size)?;
        Ok(content)
    }

    fn keep(&mut self, path: &str, content: Vec<u8>) {
        if path == PROJECT_FILE {
            self.project = Some(content);
        } else {
            self.secrets = Some(content);
        }
    }

    fn finish(self) -> Result<PackageContents, PackageReadError> {
        let project = parse_project(&self.project.ok_or(PackageReadError::MissingProject)?)?;
        let secrets = match self.secrets {
            Some(bytes) => parse_secrets(&bytes)?,
            None => BTreeMap::new(),
        };
        Ok(PackageContents {
            project,
            secrets,
            file_count: self.file_count,
        })
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn parse_project(bytes: &[u8]) -> Result<crate::portable::PortableProject, PackageReadError> {
    let value: serde_json::Value = serde_json::from_slice(strip_bom(bytes)).map_err(|error| {
        PackageReadError::InvalidProject {
            at: ".".to_owned(),
            message: error.to_string(),
        }
    })?;
    // The version first: a newer format deserves "upgrade", not an unknown-field error.
    if let Some(found) = value.get("format_version").and_then(|v| v.as_u64()) {
        if found != u64::from(crate::portable::FORMAT_VERSION) {
            return Err(PackageReadError::UnknownFormatVersion {
                found,
                supported: crate::portable::FORMAT_VERSION,
            });
        }
    }
    let project: crate::portable::PortableProject = serde_path_to_error::deserialize(value)
        .map_err(|error| PackageReadError::InvalidProject {
            at: error.path().to_string(),
            message: error.inner().to_string(),
        })?;
    match crate::portable::validate::problems(&project)
        .into_iter()
        .next()
    {
        None => Ok(project),
        Some(problem) => Err(PackageReadError::InvalidProject {
            at: problem.at,
            message: problem.message,
        }),
    }
}

/// Never lets serde's messages through: they can quote the offending value, a secret.
fn parse_secrets(
    bytes: &[u8],
) -> Result<BTreeMap<String, crate::secret::Secret>, PackageReadError> {
    let value: serde_json::Value = serde_json::from_slice(strip_bom(bytes)).map_err(|error| {
        PackageReadError::SecretsNotJson {
            line: error.line(),
            column: error.column(),
        }
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(PackageReadError::SecretsNotObject {
            found: json_kind(&value),
        });
    };
    map.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => Ok((key, crate::secret::Secret::new(text))),
            other => Err(PackageReadError::SecretNotString {
                key: shown(&key),
                found: json_kind(&other),
            }),
        })
        .collect()
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

fn le_u16(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        bytes.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The names of the zip's central-directory records, read from the bytes themselves (APPNOTE
/// 4.3.12, 4.3.14–16). The zip crate keys entries by name, so an exact duplicate silently
/// replaces the first and `len()` never shows it, while another extractor (Octopus's, `unzip`)
/// may take the other copy: the records must be counted here. `None` when the directory cannot
/// be walked (the zip crate's own error then says why).
fn central_directory_names(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    const END: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    const ZIP64_END: &[u8] = b"PK\x06\x06";
    const RECORD: &[u8] = b"PK\x01\x02";
    // The end record is the last 22 bytes plus a comment of up to 65535.
    let lowest = bytes.len().saturating_sub(22 + 65535);
    let end = (lowest..=bytes.len().checked_sub(22)?)
        .rev()
        .find(|&at| bytes[at..].starts_with(END))?;
    let (mut total, mut size, mut directory_end) = (
        le_u16(bytes, end + 10)?,
        le_u32(bytes, end + 12)?,
        end as u64,
    );
    if total == 0xFFFF || size == 0xFFFF_FFFF {
        let locator = end.checked_sub(20)?;
        if !bytes[locator..].starts_with(ZIP64_LOCATOR) {
            return None;
        }
        let record = usize::try_from(le_u64(bytes, locator + 8)?).ok()?;
        if !bytes.get(record..)?.starts_with(ZIP64_END) {
            return None;
        }
        total = le_u64(bytes, record + 32)?;
        size = le_u64(bytes, record + 40)?;
        directory_end = record as u64;
    }
    // The directory ends where the end record starts (a prefix before the zip, as in a
    // self-extracting archive, shifts the stored offset but not this).
    let mut at = usize::try_from(directory_end.checked_sub(size)?).ok()?;
    let stop = usize::try_from(directory_end).ok()?;
    let mut names = Vec::new();
    while at < stop {
        if !bytes.get(at..)?.starts_with(RECORD) {
            return None;
        }
        let name_length = le_u16(bytes, at + 28)? as usize;
        let extra_length = le_u16(bytes, at + 30)? as usize;
        let comment_length = le_u16(bytes, at + 32)? as usize;
        names.push(bytes.get(at + 46..at + 46 + name_length)?.to_vec());
        at += 46 + name_length + extra_length + comment_length;
    }
    (names.len() as u64 == total).then_some(names)
}

/// Read a template package from zip bytes (as downloaded from the feed).
pub fn read_zip(bytes: &[u8], limits: &PackageLimits) -> Result<PackageContents, PackageReadError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|source| PackageReadError::NotAZip { source })?;
    if archive.len() > limits.max_entries {
        return Err(PackageReadError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let records = central_directory_names(bytes).ok_or(PackageReadError::UnreadableDirectory)?;
    if records.len() > limits.max_entries {
        return Err(PackageReadError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &records {
        if !seen.insert(name.as_slice()) {
            return Err(PackageReadError::DuplicateEntry {
                entry: shown(&String::from_utf8_lossy(name)),
            });
        }
    }
    if records.len() != archive.len() {
        return Err(PackageReadError::UnreadableDirectory);
    }
    let mut reader = PackageReader::new(limits);
    for index in 0..archive.len() {
        let name = archive.name_for_index(index).unwrap_or_default().to_owned();
        let mut file =
            archive
                .by_index(index)
                .map_err(|source| PackageReadError::CorruptEntry {
                    entry: shown(&name),
                    source: source.into(),
                })?;
        let path = entry_path(&name)?;
        reader.count_entry()?;
        match file.unix_mode().map(|mode| mode & S_IFMT) {
            Some(S_IFLNK) => {
                return Err(PackageReadError::Symlink {
                    entry: shown(&name),
                })
            }
            None | Some(0 | S_IFREG | S_IFDIR) => {}
            Some(_) => {
                return Err(PackageReadError::SpecialFile {
                    entry: shown(&name),
                })
            }
        }
        if file.is_dir() {
            continue;
        }
        let keep = reader.start_file(&path, &name)?;
        let content = reader.read_content(&path, &mut file, keep, |source| {
            PackageReadError::CorruptEntry {
                entry: shown(&name),
                source,
            }
        })?;
        if let Some(content) = content {
            reader.keep(&path, content);
        }
    }
    reader.finish()
}

/// Read a template package from the directory Octopus extracted it to. Any symbolic link in the
/// tree is refused (links are never followed); `dir` itself may be reached through one.
pub fn read_dir(
    dir: &std::path::Path,
    limits: &PackageLimits,
) -> Result<PackageContents, PackageReadError> {
    let io_error = |path: &std::path::Path| {
        let path = shown(&path.display().to_string());
        move |source| PackageReadError::Io { path, source }
    };
    if !std::fs::metadata(dir).map_err(io_error(dir))?.is_dir() {
        return Err(PackageReadError::NotADirectory {
            path: shown(&dir.display().to_string()),
        });
    }
    let mut reader = PackageReader::new(limits);
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((absolute, relative)) = pending.pop() {
        let mut children = Vec::new();
        for child in std::fs::read_dir(&absolute).map_err(io_error(&absolute))? {
            let child = child.map_err(io_error(&absolute))?;
            reader.count_entry()?;
            children.push(child);
        }
        children.sort_by_key(|child| child.file_name());
        for child in children {
            let child_path = child.path();
            let Some(name) = child.file_name().to_str().map(str::to_owned) else {
                return Err(PackageReadError::UnsafePath {
                    entry: shown(&child_path.display().to_string()),
                    reason: "is not valid UTF-8",
                });
            };
            let name = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let path = entry_path(&name)?;
            let metadata = std::fs::symlink_metadata(&child_path).map_err(io_error(&child_path))?;
            let kind = metadata.file_type();
            if kind.is_symlink() {
                return Err(PackageReadError::Symlink {
                    entry: shown(&name),
                });
            } else if kind.is_dir() {
                pending.push((child_path, name));
            } else if kind.is_file() {
                if reader.start_file(&path, &name)? {
                    let file = std::fs::File::open(&child_path).map_err(io_error(&child_path))?;
                    // The file opened must be the one inspected: not swapped for a link since.
                    let opened = file.metadata().map_err(io_error(&child_path))?;
                    if !opened.is_file() || !same_file(&metadata, &opened) {
                        return Err(PackageReadError::Symlink {
                            entry: shown(&name),
                        });
                    }
                    let content = reader.read_content(&path, file, true, io_error(&child_path))?;
                    reader.keep(&path, content.expect("kept"));
                } else {
                    // A regular file's length on disk is its actual size, not a declared one.
                    reader.add_bytes(&path, metadata.len())?;
                }
            } else {
                return Err(PackageReadError::SpecialFile {
                    entry: shown(&name),
                });
            }
        }
    }
    reader.finish()
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
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

    // --- reading template packages ---

    fn project_value(format_version: u64) -> serde_json::Value {
        serde_json::json!({
            "format_version": format_version,
            "source": {
                "server": "https://octopus.example",
                "space_id": "Spaces-1",
                "space_name": "Default",
                "project_id": "Projects-1",
                "project_name": "Hello World",
                "octofleet_version": "0.1.0",
                "exported_at": "2026-01-01T00:00:00Z"
            },
            "project": {
                "name": "Hello World",
                "project_group": "Default Project Group",
                "lifecycle": "Default Lifecycle",
                "tenanted_deployment_mode": "Tenanted",
                "default_guided_failure_mode": "EnvironmentDefault"
            }
        })
    }

    fn project() -> crate::portable::PortableProject {
        serde_json::from_value(project_value(u64::from(crate::portable::FORMAT_VERSION))).unwrap()
    }

    fn valid_files() -> BTreeMap<String, Vec<u8>> {
        let secrets: BTreeMap<String, String> = [(
            "Database.Password".to_owned(),
            "#{Database.Password | JsonEscape}".to_owned(),
        )]
        .into();
        let terraform: BTreeMap<String, String> =
            [("main.tf".to_owned(), "terraform {}\n".to_owned())].into();
        package_files(&project(), &secrets, &terraform, "Hello_World")
    }

    fn files_with(changes: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        let mut files = valid_files();
        for (path, bytes) in changes {
            files.insert(path.to_string(), bytes.to_vec());
        }
        files
    }

    fn zip_error(bytes: &[u8], limits: &PackageLimits) -> String {
        read_zip(bytes, limits)
            .expect_err("the package must be refused")
            .to_string()
    }

    fn options() -> zip::write::SimpleFileOptions {
        zip::write::SimpleFileOptions::default()
    }

    /// The valid package plus entries written raw with `add`.
    fn zip_with(add: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, bytes) in valid_files() {
            writer.start_file(path, options()).unwrap();
            writer.write_all(&bytes).unwrap();
        }
        add(&mut writer);
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_valid_package_round_trips() {
        let contents = read_zip(&build_zip(&valid_files()), &PackageLimits::default()).unwrap();
        assert_eq!(contents.project, project());
        assert_eq!(contents.file_count, 4);
        assert_eq!(
            contents.secrets["Database.Password"].expose(),
            "#{Database.Password | JsonEscape}"
        );
        assert_eq!(
            format!("{:?}", contents.secrets),
            r#"{"Database.Password": Secret(***)}"#
        );
    }

    #[test]
    fn substituted_secrets_are_read_and_a_missing_secrets_file_means_none() {
        let files = files_with(&[("secrets.json", br#"{"Api.Key": "API-\"quoted\"\\"}"#)]);
        let contents = read_zip(&build_zip(&files), &PackageLimits::default()).unwrap();
        assert_eq!(contents.secrets["Api.Key"].expose(), r#"API-"quoted"\"#);

        let mut files = valid_files();
        files.remove("secrets.json");
        let contents = read_zip(&build_zip(&files), &PackageLimits::default()).unwrap();
        assert!(contents.secrets.is_empty());
        assert_eq!(contents.file_count, 3);
    }

    #[test]
    fn zip_slip_absolute_and_drive_paths_are_refused() {
        let limits = PackageLimits::default();
        for (name, reason) in [
            ("../evil", "climbs out of the package with `..`"),
            (
                "terraform/../../evil",
                "climbs out of the package with `..`",
            ),
            (
                "terraform\\..\\..\\evil",
                "climbs out of the package with `..`",
            ),
            ("/etc/x", "is an absolute path"),
            ("\\windows\\x", "is an absolute path"),
            ("C:/Windows/x", "is a Windows drive path"),
        ] {
            let bytes = build_zip(&files_with(&[(name, b"x")]));
            assert_eq!(
                zip_error(&bytes, &limits),
                format!(
                    "package entry `{name}` {reason}: refusing to read a package with unsafe paths; \
                     rebuild the package with `octofleet serialize`"
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn entry_names_cannot_inject_lines_into_the_log() {
        let name = "x\n##octopus[setVariable name='a' value='b']";
        let bytes = build_zip(&[(name.to_owned(), vec![b'a'; 100])].into());
        let limits = PackageLimits {
            max_entry_bytes: 10,
            ..PackageLimits::default()
        };
        let message = zip_error(&bytes, &limits);
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains(r"x\u{a}##octopus"), "{message}");
    }

    #[test]
    fn duplicate_and_empty_entries_are_refused() {
        let bytes = build_zip(&files_with(&[("./project.json", b"{}")]));
        assert_eq!(
            zip_error(&bytes, &PackageLimits::default()),
            "package entry `project.json` appears more than once: remove the duplicate, or rebuild the package \
             with `octofleet serialize`"
        );
        let bytes = build_zip(&files_with(&[(".", b"x")]));
        assert_eq!(
            zip_error(&bytes, &PackageLimits::default()),
            "package entry `.` has an empty name: refusing to read a package with unsafe paths; rebuild the \
             package with `octofleet serialize`"
        );
    }

    #[test]
    fn an_exact_duplicate_entry_is_refused_though_the_zip_crate_hides_it() {
        // Two records named project.json: the zip writer refuses that, so the second is written
        // under another name of the same length and renamed in the bytes.
        let evil = br#"{"format_version": 1, "evil": true}"#;
        let mut bytes = build_zip(&files_with(&[("projecX.json", evil)]));
        let needle = b"projecX.json";
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
            bytes[at + found..at + found + needle.len()].copy_from_slice(b"project.json");
            at += found + needle.len();
        }
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(
            archive.len(),
            valid_files().len(),
            "the zip crate shows one project.json, not two"
        );
        assert!(
            zip_error(&bytes, &PackageLimits::default())
                .starts_with("package entry `project.json` appears more than once"),
            "{}",
            zip_error(&bytes, &PackageLimits::default())
        );
        // A directory whose records disagree with the end record is refused too.
        let valid = build_zip(&valid_files());
        let end = valid.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        let mut short = valid.clone();
        short[end + 10] -= 1;
        short[end + 8] -= 1;
        assert!(read_zip(&short, &PackageLimits::default()).is_err());
    }

    #[test]
    fn names_in_project_json_must_be_unique_and_on_one_line() {
        let step = |name: &str| {
            serde_json::json!({"name": name, "package_requirement": "LetOctopusDecide", "condition": "Success",
                "start_trigger": "StartAfterPrevious", "actions": [{"name": name, "action_type": "Octopus.Script"}]})
        };
        let runbook = serde_json::json!({"name": "Restart", "environment_scope": "All", "multi_tenancy_mode": "Untenanted",
            "default_guided_failure_mode": "EnvironmentDefault", "process": {"steps": []}});
        let cases = [
            (
                serde_json::json!({"runbooks": [runbook, runbook]}),
                "runbooks[1].name",
                "a second runbook named `Restart`",
            ),
            (
                serde_json::json!({"deployment_process": {"steps": [step("Deploy"), step("Deploy")]}}),
                "deployment_process.steps[1].name",
                "a second step named `Deploy`",
            ),
            (
                serde_json::json!({"channels": [{"name": "Default\n##octopus[setVariable]"}]}),
                "channels[0].name",
                "control character",
            ),
        ];
        for (fields, at, message) in cases {
            let mut value = project_value(u64::from(crate::portable::FORMAT_VERSION));
            for (key, field) in fields.as_object().unwrap() {
                value[key] = field.clone();
            }
            let bytes = serde_json::to_vec(&value).unwrap();
            let error = zip_error(
                &build_zip(&files_with(&[("project.json", &bytes)])),
                &PackageLimits::default(),
            );
            assert!(error.contains(at) && error.contains(message), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn symlink_entries_are_refused() {
        let bytes = zip_with(|writer| {
            writer
                .add_symlink("terraform/passwd.tf", "/etc/passwd", options())
                .unwrap();
        });
        assert_eq!(
            zip_error(&bytes, &PackageLimits::default()),
            "package entry `terraform/passwd.tf` is a symbolic link: template packages hold only regular files \
             and directories; replace the link with the file it points to, or rebuild the package with \
             `octofleet serialize`"
        );
    }

    #[test]
    fn sizes_are_counted_from_the_bytes_not_the_header() {
        // A well-compressible entry whose header then claims 10 bytes.
        let mut bytes = build_zip(&[("terraform/big.tf".to_owned(), vec![b'a'; 4096])].into());
        let patch = |bytes: &mut Vec<u8>, signature: &[u8; 4], offset: usize| {
            let at = bytes
                .windows(4)
                .position(|window| window == signature)
                .unwrap();
            bytes[at + offset..at + offset + 4].copy_from_slice(&10u32.to_le_bytes());
        };
        patch(&mut bytes, b"PK\x03\x04", 22); // local header: uncompressed size
        patch(&mut bytes, b"PK\x01\x02", 24); // central directory: uncompressed size
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(archive.decompressed_size(), Some(10), "the header lies");

        let limits = PackageLimits {
            max_entry_bytes: 1000,
            ..PackageLimits::default()
        };
        assert_eq!(
            zip_error(&bytes, &limits),
            "package entry `terraform/big.tf` is larger than 1000 bytes uncompressed, the limit for one file: \
             check the package ID and version, or rebuild the package with `octofleet serialize`"
        );
    }

    #[test]
    fn the_total_is_limited() {
        let bytes = build_zip(&files_with(&[
            ("terraform/a.tf", &[b'a'; 600]),
            ("terraform/b.tf", &[b'b'; 600]),
        ]));
        let limits = PackageLimits {
            max_total_bytes: 1000,
            ..PackageLimits::default()
        };
        let message = zip_error(&bytes, &limits);
        assert!(
            message.starts_with("the package holds more than 1000 bytes uncompressed, the limit (reached at entry `"),
            "{message}"
        );
        assert!(
            message.ends_with("`): check the package ID and version, or rebuild the package with `octofleet serialize`"),
            "{message}"
        );
    }

    #[test]
    fn too_many_entries_are_refused() {
        let limits = PackageLimits {
            max_entries: 3,
            ..PackageLimits::default()
        };
        assert_eq!(
            zip_error(&build_zip(&valid_files()), &limits),
            "the package has more than 3 entries, the limit: it is not a template package octofleet wrote; \
             check the package ID and version, or rebuild the package with `octofleet serialize`"
        );
    }

    #[test]
    fn corrupt_bytes_are_refused() {
        let message = zip_error(b"this is not a zip file", &PackageLimits::default());
        assert!(
            message.starts_with("the package is not a readable zip file ("),
            "{message}"
        );
        assert!(
            message.ends_with(
                "): download it again, or rebuild the package with `octofleet serialize`"
            ),
            "{message}"
        );

        // A flipped byte inside the compressed data of one entry.
        let mut bytes = build_zip(&[("README.md".to_owned(), vec![b'r'; 2000])].into());
        let data = 30 + "README.md".len() + 2;
        bytes[data] ^= 0xFF;
        let message = zip_error(&bytes, &PackageLimits::default());
        assert!(
            message.starts_with("package entry `README.md` cannot be read ("),
            "{message}"
        );
        assert!(
            message.ends_with(
                "): the package is corrupt or uses an unsupported zip feature (only stored or deflated, \
                 unencrypted entries are read); download it again, or rebuild the package with `octofleet serialize`"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_missing_project_is_refused() {
        let mut files = valid_files();
        files.remove("project.json");
        files.insert("terraform/project.json".to_owned(), b"{}".to_vec());
        assert_eq!(
            zip_error(&build_zip(&files), &PackageLimits::default()),
            "the package has no project.json at its root: it is not a template package; check the package ID and \
             version, or rebuild the package with `octofleet serialize`"
        );
    }

    #[test]
    fn an_unknown_format_version_says_what_to_do() {
        // Unknown fields too: the version is checked before the shape.
        let mut value = project_value(99);
        value["something_new"] = serde_json::json!(true);
        let bytes = build_zip(&files_with(&[(
            "project.json",
            &serde_json::to_vec(&value).unwrap(),
        )]));
        assert_eq!(
            zip_error(&bytes, &PackageLimits::default()),
            format!(
                "project.json has format_version 99, but this octofleet ({}) reads format version {}: upgrade \
                 octofleet to a version that reads format 99, or re-serialize the template project with this \
                 octofleet (`octofleet serialize`)",
                env!("CARGO_PKG_VERSION"),
                crate::portable::FORMAT_VERSION
            )
        );
    }

    #[test]
    fn an_invalid_project_names_the_json_path() {
        let mut value = project_value(u64::from(crate::portable::FORMAT_VERSION));
        value["project"]["lifecycle"] = serde_json::json!(7);
        let bytes = build_zip(&files_with(&[(
            "project.json",
            &serde_json::to_vec(&value).unwrap(),
        )]));
        assert_eq!(
            zip_error(&bytes, &PackageLimits::default()),
            "project.json is not a valid portable project at `project.lifecycle`: invalid type: integer `7`, \
             expected a string; fix that field, or re-serialize the template project (`octofleet serialize`)"
        );

        let bytes = build_zip(&files_with(&[("project.json", b"{\"format_version\": 1,")]));
        let message = zip_error(&bytes, &PackageLimits::default());
        assert!(
            message.starts_with(
                "project.json is not a valid portable project at `.`: EOF while parsing"
            ),
            "{message}"
        );
    }

    #[test]
    fn bad_secrets_files_are_refused_without_their_values() {
        let limits = PackageLimits::default();
        let bytes = build_zip(&files_with(&[(
            "secrets.json",
            br#"{"Api.Key": "API-SECRET"broken"}"#,
        )]));
        let message = zip_error(&bytes, &limits);
        assert_eq!(
            message,
            "secrets.json is not valid JSON (line 1, column 25): every value must be a JSON string; when Octopus \
             substitutes the secrets, the placeholders must read `#{Name | JsonEscape}` so a secret with quotes or \
             backslashes stays valid JSON"
        );

        let bytes = build_zip(&files_with(&[("secrets.json", br#"["API-SECRET"]"#)]));
        assert_eq!(
            zip_error(&bytes, &limits),
            "secrets.json is a JSON array, not an object of secret names to string values: rebuild the package \
             with `octofleet serialize`"
        );

        let bytes = build_zip(&files_with(&[("secrets.json", br#"{"Pin": 123456789}"#)]));
        let message = zip_error(&bytes, &limits);
        assert_eq!(
            message,
            "secrets.json: the value of `Pin` is a JSON number, not a string: every secret must be a string \
             (`\"#{Name | JsonEscape}\"` before substitution); fix secrets.json, or rebuild the package with \
             `octofleet serialize`"
        );
        assert!(!message.contains("123456789"));
    }

    fn write_dir(files: &BTreeMap<String, Vec<u8>>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        dir
    }

    #[test]
    fn a_valid_directory_is_read() {
        let dir = write_dir(&valid_files());
        let contents = read_dir(dir.path(), &PackageLimits::default()).unwrap();
        assert_eq!(contents.project, project());
        assert_eq!(contents.file_count, 4);
        assert_eq!(
            contents.secrets["Database.Password"].expose(),
            "#{Database.Password | JsonEscape}"
        );

        // The same limits apply: 4 files and the terraform directory are 5 entries.
        let limits = PackageLimits {
            max_entries: 4,
            ..PackageLimits::default()
        };
        assert_eq!(
            read_dir(dir.path(), &limits).unwrap_err().to_string(),
            "the package has more than 4 entries, the limit: it is not a template package octofleet wrote; \
             check the package ID and version, or rebuild the package with `octofleet serialize`"
        );
        let limits = PackageLimits {
            max_entry_bytes: 10,
            ..PackageLimits::default()
        };
        assert_eq!(
            read_dir(dir.path(), &limits).unwrap_err().to_string(),
            "package entry `README.md` is larger than 10 bytes uncompressed, the limit for one file: check the \
             package ID and version, or rebuild the package with `octofleet serialize`"
        );

        let file = dir.path().join("README.md");
        assert_eq!(
            read_dir(&file, &PackageLimits::default())
                .unwrap_err()
                .to_string(),
            format!(
                "`{}` is not a directory: give the directory Octopus extracted the template package to",
                file.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_anywhere_in_a_directory_is_refused() {
        let dir = write_dir(&valid_files());
        std::fs::create_dir_all(dir.path().join("terraform/modules")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("terraform/modules/x.tf"))
            .unwrap();
        assert_eq!(
            read_dir(dir.path(), &PackageLimits::default())
                .unwrap_err()
                .to_string(),
            "package entry `terraform/modules/x.tf` is a symbolic link: template packages hold only regular files \
             and directories; replace the link with the file it points to, or rebuild the package with \
             `octofleet serialize`"
        );

        // A link to a directory is not followed either, nor is a linked project.json.
        let dir = write_dir(&valid_files());
        let elsewhere = write_dir(&valid_files());
        std::fs::remove_file(dir.path().join("project.json")).unwrap();
        std::os::unix::fs::symlink(
            elsewhere.path().join("project.json"),
            dir.path().join("project.json"),
        )
        .unwrap();
        assert!(matches!(
            read_dir(dir.path(), &PackageLimits::default()),
            Err(PackageReadError::Symlink { entry }) if entry == "project.json"
        ));
        let dir = write_dir(&valid_files());
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("linked")).unwrap();
        assert!(matches!(
            read_dir(dir.path(), &PackageLimits::default()),
            Err(PackageReadError::Symlink { entry }) if entry == "linked"
        ));
    }
}
