//! Building a template package: its files (`project.json`, `secrets.json`, `terraform/`,
//! `README.md`) and a deterministic zip of them.

use crate::inputs::{EXPORTED_PROJECT_NAME, MANAGED_SPACE_ID, TENANT_API_KEY, TENANT_URL};
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
///
/// Each entry is deflated at level 3 (zlib-rs's fast strategy: for the thousands of small
/// entries of a large project's package, about 70 ms less than the default level 6, for a
/// package under 1% larger) by a compressor reused from one entry to the next, on two threads,
/// and then written in path order. The zip crate starts a fresh compressor for every entry,
/// which was a third of the zip's time for a large project (2,402 entries); rawzip takes the
/// deflated bytes as they are (benches/serialize.rs). rawzip puts each entry's CRC and sizes in a
/// data descriptor (flag bit 3), which readers take from the central directory: Calamari's
/// `ZipPackageExtractor` opens packages with SharpCompress's `ZipArchive.Open` (Calamari.Common,
/// Features/Packages), the zip crate reads them back here.
pub fn build_zip(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let entries: Vec<(&String, &Vec<u8>)> = files.iter().collect();
    let (first, second) = entries.split_at(entries.len() / 2);
    let deflated: Vec<Deflated> = std::thread::scope(|scope| {
        let second = scope.spawn(|| deflate_each(second));
        let mut deflated = deflate_each(first);
        deflated.extend(second.join().expect("deflating in memory does not panic"));
        deflated
    });
    let size = deflated
        .iter()
        .map(|entry| entry.bytes.len())
        .sum::<usize>();
    let mut output = Vec::with_capacity(size + entries.len() * 128);
    let mut archive = rawzip::ZipArchiveWriter::new(&mut output);
    let epoch = rawzip::time::UtcDateTime::from_components(1980, 1, 1, 0, 0, 0, 0)
        .expect("1980-01-01 is a date");
    for ((path, _), entry) in entries.iter().zip(deflated) {
        // As given (rawzip would otherwise normalize it): the package's own paths are plain
        // relative ones, and the reader's tests build hostile names through here.
        let (mut writer, _) = archive
            .new_file(rawzip::path::EntryPath::verbatim(path.as_bytes()))
            .compression_method(rawzip::CompressionMethod::DEFLATE)
            .last_modified(epoch)
            // A regular file (S_IFREG), rw-r--r--: what package readers check.
            .unix_permissions(0o100_644)
            .start()
            .expect("package paths are valid zip entry names");
        writer
            .write_all(&entry.bytes)
            .expect("writing to memory cannot fail");
        writer
            .finish(rawzip::DataDescriptorOutput::new(entry.crc, entry.size))
            .expect("writing to memory cannot fail");
    }
    archive.finish().expect("writing to memory cannot fail");
    output
}

/// One entry's raw DEFLATE stream, with what the zip records about its content.
struct Deflated {
    bytes: Vec<u8>,
    crc: u32,
    size: u64,
}

/// Deflate each entry's bytes with one compressor, reset between entries.
fn deflate_each(entries: &[(&String, &Vec<u8>)]) -> Vec<Deflated> {
    let mut compressor = flate2::Compress::new(flate2::Compression::new(3), false);
    entries
        .iter()
        .map(|(_, content)| {
            compressor.reset();
            let mut bytes = Vec::with_capacity(content.len() / 2 + 64);
            loop {
                let (read, written) = (compressor.total_in(), compressor.total_out());
                let status = compressor
                    .compress_vec(
                        &content[read as usize..],
                        &mut bytes,
                        flate2::FlushCompress::Finish,
                    )
                    .expect("deflating in memory cannot fail");
                if status == flate2::Status::StreamEnd {
                    break;
                }
                // With room to write, a compressor that moves nothing is broken: stop, not spin.
                assert!(
                    (compressor.total_in(), compressor.total_out()) != (read, written),
                    "the compressor made no progress"
                );
                bytes.reserve(bytes.capacity().max(64));
            }
            Deflated {
                bytes,
                crc: rawzip::crc32(content),
                size: content.len() as u64,
            }
        })
        .collect()
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
         `-var=\"octopus_server=#{{{url}}}\" -var=\"octopus_space_id=#{{{space_id}}}\" \
         -var=\"octopus_apikey=#{{{api_key}}}\" -var=\"project_{label}_name=#{{{project_name}}}\"`.\n\n\
         Package ID `{package_id}`.\n",
        space = project.source.space_name,
        server = project.source.server,
        version = project.source.octofleet_version,
        format = project.format_version,
        count = secrets.len(),
        url = TENANT_URL.octopus,
        space_id = MANAGED_SPACE_ID.octopus,
        api_key = TENANT_API_KEY.octopus,
        project_name = EXPORTED_PROJECT_NAME.octopus,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::file_name;

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

    /// Entries deflated on two threads by reused compressors come back as written, each under
    /// its own path, in path order, as regular files of 1980-01-01: empty ones, small ones, and
    /// one that does not compress (its output outgrows the first buffer).
    #[test]
    fn every_entry_reads_back_as_written() {
        let mut noise = Vec::new();
        let mut state = 0x2545_f491_u32;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            noise.push(state as u8);
        }
        let mut files: BTreeMap<String, Vec<u8>> = (0..301)
            .map(|i| {
                let content =
                    format!("resource \"octopusdeploy_variable\" \"v{i}\" {{}}\n").repeat(i % 7);
                (format!("terraform/v{i:03}.tf"), content.into_bytes())
            })
            .collect();
        files.insert("noise.bin".to_owned(), noise);
        let bytes = build_zip(&files);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "entries in path order");
        assert_eq!(names.len(), files.len());
        for (path, content) in &files {
            let mut entry = archive.by_name(path).unwrap();
            assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
            assert_eq!(entry.unix_mode(), Some(0o100_644), "{path}");
            let modified = entry.last_modified().unwrap();
            assert_eq!(
                (modified.year(), modified.month(), modified.day()),
                (1980, 1, 1)
            );
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut read).unwrap();
            assert!(&read == content, "{path} reads back as written");
        }
    }
}
