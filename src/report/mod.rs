//! The reports a person reads in Octopus: an HTML page and the same data as JSON, written side
//! by side as `octofleet-<action>-<subject>.{html,json}` and attached to the task as artifacts.

pub mod deploy;
pub mod fleet;
pub mod fork;
pub mod html;
pub mod merge;
mod repository;

use crate::service_messages::ServiceMessage;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::fleet::reports::{ReportHeader, FORMAT_VERSION};

/// Where a report goes and whom it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    /// Created if missing.
    pub dir: PathBuf,
    /// The tenant when known, else the repository or space: the file names' last part.
    pub subject: String,
    /// The tenant the step ran for, named in the JSON's header.
    pub tenant: Option<String>,
}

/// One written file: its absolute path and size.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFile {
    /// The absolute path.
    pub path: String,
    /// Its size.
    pub bytes: u64,
}

impl ReportFile {
    /// `createArtifact` for this file, named as on disk.
    pub fn artifact(&self) -> ServiceMessage {
        let name = Path::new(&self.path)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        ServiceMessage::create_artifact(&self.path, &name, self.bytes)
    }
}

/// The HTML page and its JSON twin.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFiles {
    /// The page.
    pub html: ReportFile,
    /// The same data as JSON.
    pub json: ReportFile,
}

impl ReportFiles {
    /// Both files as task artifacts.
    pub fn artifacts(&self) -> Vec<ServiceMessage> {
        vec![self.html.artifact(), self.json.artifact()]
    }
}

/// A report could not be written into its directory.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the {action} report into {}", dir.display())]
pub struct WriteError {
    action: String,
    dir: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Make sure `dir` can take a report (created if missing, a file can be made in it), so a run
/// that could not write its report stops before it changes anything.
pub fn check_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    tempfile::NamedTempFile::new_in(dir).map(drop)
}

/// `text` reduced to what is safe in a file name on every platform Octopus runs on.
pub fn file_stem(action: &str, subject: &str) -> String {
    let subject: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let subject = subject.trim_matches(['-', '.']);
    if subject.is_empty() {
        format!("octofleet-{action}")
    } else {
        format!("octofleet-{action}-{subject}")
    }
}

/// Write the page and the data, each whole or not at all (a temporary file renamed into
/// place). Any of `secrets` that reached the text anyway is masked on the way out: a report is
/// shown to everyone who can see the task.
pub fn write(
    target: &ReportTarget,
    action: &str,
    html: &str,
    data: &impl Serialize,
    secrets: &[&str],
) -> Result<ReportFiles, WriteError> {
    let failed = |source: std::io::Error| WriteError {
        action: action.to_owned(),
        dir: target.dir.clone(),
        source,
    };
    std::fs::create_dir_all(&target.dir).map_err(failed)?;
    let dir = std::path::absolute(&target.dir).map_err(failed)?;
    let stem = file_stem(action, &target.subject);
    let json = serde_json::to_string_pretty(&with_header(data, action, target.tenant.clone()))
        .expect("reports serialize");
    let html = mask(html, secrets, html::escape);
    let json = mask(&json, secrets, |secret| {
        let quoted = serde_json::to_string(secret).expect("strings serialize");
        quoted[1..quoted.len() - 1].to_owned()
    });
    let html = place(&dir, &format!("{stem}.html"), &html).map_err(failed)?;
    let json = place(&dir, &format!("{stem}.json"), &json).map_err(failed)?;
    tracing::info!("{action} report: {}", html.path);
    Ok(ReportFiles { html, json })
}

/// `data` as JSON with the [`ReportHeader`] first.
fn with_header(data: &impl Serialize, action: &str, tenant: Option<String>) -> serde_json::Value {
    let header = ReportHeader {
        format_version: FORMAT_VERSION,
        action: action.to_owned(),
        tenant,
    };
    let mut object = serde_json::Map::new();
    object.insert(
        "report".to_owned(),
        serde_json::to_value(header).expect("the header serializes"),
    );
    match serde_json::to_value(data).expect("reports serialize") {
        serde_json::Value::Object(fields) => object.extend(fields),
        other => {
            object.insert("data".to_owned(), other);
        }
    }
    serde_json::Value::Object(object)
}

/// Secrets shorter than this are not searched for: masking every "on" or "1" would garble the
/// report while protecting nothing a reader could not guess.
const MIN_MASKED_LENGTH: usize = 4;

/// Every form of every secret masked in one pass over `text`. Where two overlap, the longest
/// starting first is masked whole (a secret that is the start of another does not leave the
/// other's tail in clear, as one replacement after another could).
fn mask(text: &str, secrets: &[&str], encode: impl Fn(&str) -> String) -> String {
    let forms: Vec<String> = secrets
        .iter()
        .filter(|secret| secret.chars().count() >= MIN_MASKED_LENGTH)
        .flat_map(|secret| [secret.to_string(), encode(secret)])
        .collect();
    if forms.is_empty() {
        return text.to_owned();
    }
    let searcher = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&forms)
        .expect("a few hundred secrets make a small automaton");
    searcher.replace_all(text, &vec![crate::outcome::MASKED; forms.len()])
}

fn place(dir: &Path, name: &str, text: &str) -> std::io::Result<ReportFile> {
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    let path = dir.join(name);
    file.persist(&path).map_err(|error| error.error)?;
    Ok(ReportFile {
        path: path.to_string_lossy().into_owned(),
        bytes: text.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(
            file_stem("plan", "Europe West"),
            "octofleet-plan-Europe-West"
        );
        assert_eq!(
            file_stem("fork", "../../etc/passwd"),
            "octofleet-fork-etc-passwd"
        );
        assert_eq!(file_stem("deploy", "--"), "octofleet-deploy");
    }

    #[test]
    fn a_secret_that_starts_another_does_not_leave_the_other_in_clear() {
        let masked = mask(
            "key=123456 pin=1234 again 123456",
            &["1234", "123456"],
            str::to_owned,
        );
        assert_eq!(
            masked,
            format!("key={m} pin={m} again {m}", m = crate::outcome::MASKED)
        );
        assert_eq!(mask("on and on", &["on"], str::to_owned), "on and on");
    }

    #[test]
    fn written_files_mask_secrets_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let target = ReportTarget {
            dir: dir.path().join("reports"),
            subject: "Europe".into(),
            tenant: Some("Europe".into()),
        };
        let data = serde_json::json!({"note": "pa\"ss<word>"});
        let files = write(
            &target,
            "plan",
            &format!("<p>{}</p>", html::escape("pa\"ss<word>")),
            &data,
            &["pa\"ss<word>", "on"],
        )
        .unwrap();
        let html = std::fs::read_to_string(&files.html.path).unwrap();
        let json = std::fs::read_to_string(&files.json.path).unwrap();
        assert!(files
            .html
            .path
            .ends_with("reports/octofleet-plan-Europe.html"));
        assert!(
            !html.contains("ss&lt;word") && !json.contains("ss<word"),
            "{html}{json}"
        );
        assert!(html.contains(crate::outcome::MASKED));
        let data: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(data["report"]["format_version"], FORMAT_VERSION);
        assert_eq!(data["report"]["action"], "plan");
        assert_eq!(data["report"]["tenant"], "Europe");
        assert_eq!(files.html.bytes, html.len() as u64);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files are left: {names:?}");
    }
}
