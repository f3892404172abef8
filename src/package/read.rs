//! Reading template packages (for `deploy`): a zip from the feed, or the directory Octopus
//! extracted it to. Every entry is checked before anything is parsed, sizes are counted from the
//! bytes actually read (never from the zip headers), and only `project.json` and `secrets.json`
//! are parsed.

use std::collections::BTreeMap;

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
    /// A version 1 package that carries ids where names belong.
    #[error(
        "project.json was written by an earlier octofleet (format version 1), which carried the ids of the \
         template project's space where names belong; ids are space-scoped, so deployed they would point at \
         whatever has that id in the managed space:\n  - {}\nRe-serialize the template project with this \
         octofleet (`octofleet serialize`), which names them; nothing was written",
        .fields.join("\n  - ")
    )]
    IdsOfTheTemplateSpace { fields: Vec<String> },
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
    let found = value.get("format_version").and_then(|v| v.as_u64());
    if let Some(found) = found {
        let readable = crate::portable::upgrade::READABLE_VERSIONS
            .iter()
            .any(|version| u64::from(*version) == found);
        if !readable {
            return Err(PackageReadError::UnknownFormatVersion {
                found,
                supported: crate::portable::FORMAT_VERSION,
            });
        }
    }
    let mut project: crate::portable::PortableProject = serde_path_to_error::deserialize(value)
        .map_err(|error| PackageReadError::InvalidProject {
            at: error.path().to_string(),
            message: error.inner().to_string(),
        })?;
    let version = project.format_version;
    crate::portable::upgrade::upgrade(&mut project, version)
        .map_err(|fields| PackageReadError::IdsOfTheTemplateSpace { fields })?;
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
mod tests;
