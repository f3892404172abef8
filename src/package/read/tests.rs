//! Reading template packages: every refusal, and what a valid package gives.

use super::*;
use crate::package::{build_zip, package_files};
use std::io::Write;

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
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        archive.by_index_raw(0).unwrap().size(),
        10,
        "the header lies"
    );

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
        message.starts_with(
            "the package holds more than 1000 bytes uncompressed, the limit (reached at entry `"
        ),
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
        message
            .ends_with("): download it again, or rebuild the package with `octofleet serialize`"),
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
        message
            .starts_with("project.json is not a valid portable project at `.`: EOF while parsing"),
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
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("terraform/modules/x.tf")).unwrap();
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

/// A format 1 package is read where it is correct (the primary package's feed, named as text, is
/// a reference now) and refused where it carried ids: a worker pool variable, an account held
/// by a step property. Each such field is named.
#[test]
fn a_format_1_package_is_read_where_correct_and_refused_where_it_holds_ids() {
    let mut value = project_value(1);
    value["deployment_process"] = serde_json::json!({"steps": [{
        "name": "Deploy", "package_requirement": "LetOctopusDecide", "condition": "Success",
        "start_trigger": "StartAfterPrevious",
        "actions": [{"name": "Deploy", "action_type": "Octopus.Script",
                     "properties": {"Octopus.Action.Package.FeedId": "Docker Hub"}}]
    }]});
    let read = |value: &serde_json::Value| {
        read_zip(
            &build_zip(&files_with(&[(
                "project.json",
                &serde_json::to_vec(value).unwrap(),
            )])),
            &PackageLimits::default(),
        )
    };
    let contents = read(&value).unwrap();
    assert_eq!(
        contents.project.format_version,
        crate::portable::FORMAT_VERSION
    );
    let action = &contents.project.deployment_process.unwrap().steps[0].actions[0];
    assert_eq!(
        action.properties["Octopus.Action.Package.FeedId"],
        crate::portable::PropertyValue::Reference(crate::portable::ResourceReference {
            kind: crate::portable::ReferenceKind::Feed,
            name: "Docker Hub".into()
        })
    );

    value["variables"] = serde_json::json!([
        {"name": "Deploy.WorkerPool", "value": "WorkerPools-2", "type": "WorkerPool"}
    ]);
    value["deployment_process"]["steps"][0]["actions"][0]["properties"]
        ["Octopus.Action.Azure.AccountId"] = serde_json::json!("Accounts-12");
    let error = read(&value).unwrap_err().to_string();
    for expected in [
        "format version 1",
        "variable `Deploy.WorkerPool` (WorkerPool) value holds `WorkerPools-2`, the id of a worker pool",
        "property `Octopus.Action.Azure.AccountId` holds `Accounts-12`, the id of an account",
        "Re-serialize the template project",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    // The same values in a format 2 package are names: read as they are.
    value["format_version"] = serde_json::json!(2);
    assert!(read(&value).is_ok());
}
