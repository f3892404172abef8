//! The one emulation of Calamari and Octostache the tests use: the step templates in
//! `step-templates/` and how Octopus binds their parameters, Calamari's Bash bootstrap and how it
//! runs a step script, package staging and *Substitute Variables in Templates*, and the service
//! messages a script prints.

use super::harness::{Fleet, Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct StepTemplate {
    pub file: PathBuf,
    pub json: Value,
}

impl StepTemplate {
    pub fn script_body(&self) -> &str {
        self.json["Properties"]["Octopus.Action.Script.ScriptBody"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no inline ScriptBody", self.file.display()))
    }

    pub fn parameters(&self) -> &[Value] {
        self.json["Parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The parameter values Octopus hands the script: each default with `#{Name}` substituted
    /// from `variables`, then `overrides` (what a user typed into the step). Like Octostache, an
    /// undefined variable stays as it was written.
    pub fn bind(
        &self,
        variables: &BTreeMap<&str, String>,
        overrides: &[(&str, &str)],
    ) -> BTreeMap<String, String> {
        let mut values: BTreeMap<String, String> = self
            .parameters()
            .iter()
            .map(|parameter| {
                let default = parameter["DefaultValue"].as_str().unwrap_or_default();
                (
                    parameter["Name"].as_str().unwrap().to_owned(),
                    substitute(default, variables),
                )
            })
            .collect();
        for (name, value) in overrides {
            assert!(values.contains_key(*name), "no parameter {name}");
            values.insert(name.to_string(), substitute(value, variables));
        }
        values
    }
}

/// `#{Name}` → its value; anything else (filters, conditionals, undefined names) is kept.
fn substitute(text: &str, variables: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if variables.contains_key(&after[..end]) => {
                out.push_str(&variables[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("#{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("step-templates")
}

/// Every `*.json` in `step-templates/`, parsed strictly (serde_json takes no comments, trailing
/// commas or BOM, as the Library's jsonlint).
pub fn all() -> Vec<StepTemplate> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(templates_dir())
        .expect("step-templates/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no step templates found");
    files
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
                "{}: starts with a BOM",
                file.display()
            );
            assert!(
                !bytes.contains(&b'\r'),
                "{}: has CR line endings",
                file.display()
            );
            let json = serde_json::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("{}: not strict JSON: {error}", file.display()));
            StepTemplate { file, json }
        })
        .collect()
}

pub fn template(file_name: &str) -> StepTemplate {
    all()
        .into_iter()
        .find(|template| template.file.file_name().unwrap() == file_name)
        .unwrap_or_else(|| panic!("step-templates/{file_name} exists"))
}

/// A stand-in for Calamari's Bash bootstrap (`Bootstrap.sh`): the parameters in
/// `octopus_parameters`, the functions a step script may call, service message values
/// base64-encoded with openssl as Calamari does, then the script sourced.
const CALAMARI_BOOTSTRAP: &str = r###"
get_octopusvariable() {
  printf '%s' "${octopus_parameters[$1]-}"
}

encode_servicemessagevalue() {
  printf '%s' "$1" | openssl enc -base64 -A
}

set_octopusvariable() {
  local sensitive=""
  if [ "${3-}" = "-sensitive" ]; then
    sensitive=" sensitive='$(encode_servicemessagevalue "True")'"
  fi
  echo "##octopus[setVariable name='$(encode_servicemessagevalue "$1")' value='$(encode_servicemessagevalue "$2")'${sensitive}]"
}

new_octopusartifact() {
  local path name
  path="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  name="${2:-$(basename "$1")}"
  echo "##octopus[createArtifact path='$(encode_servicemessagevalue "$path")' name='$(encode_servicemessagevalue "$name")' length='$(encode_servicemessagevalue "$(wc -c < "$1" | tr -d ' ')")']"
}

write_highlight() {
  echo "##octopus[stdout-highlight]"
  echo "$1"
  echo "##octopus[stdout-default]"
}

write_warning() {
  echo "##octopus[stdout-warning]"
  echo "$1"
  echo "##octopus[stdout-default]"
}

write_verbose() {
  echo "##octopus[stdout-verbose]"
  echo "$1"
  echo "##octopus[stdout-default]"
}

update_progress() {
  echo "##octopus[progress percentage='$(encode_servicemessagevalue "$1")' message='$(encode_servicemessagevalue "$2")']"
}

fail_step() {
  if [ -n "${1-}" ]; then
    echo "##octopus[resultMessage message='$(encode_servicemessagevalue "$1")']"
  fi
  exit 1
}

source "$1"
"###;

fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Write `bootstrap.sh` (the stand-in above with `parameters` declared) and `script.sh` into
/// `dir`; run them as `bash bootstrap.sh script.sh` from `dir`, as Calamari does.
pub fn write_calamari_files(dir: &Path, script: &str, parameters: &BTreeMap<String, String>) {
    let mut bootstrap = String::from("declare -A octopus_parameters=(\n");
    for (name, value) in parameters {
        bootstrap.push_str(&format!(
            "  [{}]={}\n",
            single_quoted(name),
            single_quoted(value)
        ));
    }
    bootstrap.push_str(")\n");
    bootstrap.push_str(CALAMARI_BOOTSTRAP);
    std::fs::write(dir.join("bootstrap.sh"), bootstrap).unwrap();
    std::fs::write(dir.join("script.sh"), script).unwrap();
}

/// The Octopus variables of the article's setting, for `tenant` of `fleet`: tenant variables,
/// system variables, and the user's management API key variable.
pub fn article_variables(fleet: &Fleet, tenant: &str) -> BTreeMap<&'static str, String> {
    let url = fleet.emulator.url();
    BTreeMap::from([
        ("ManagedTenant.Octopus.Url", url.clone()),
        ("ManagedTenant.Octopus.ApiKey", API_KEY.to_owned()),
        ("ManagedTenant.Octopus.SpaceId", "TBD".to_owned()),
        ("Octopus.Deployment.Tenant.Name", tenant.to_owned()),
        (
            "Octopus.Deployment.Tenant.Id",
            fleet.management.tenant_id(tenant).to_owned(),
        ),
        ("Octopus.Web.ServerUri", url),
        ("Octopus.Space.Id", MANAGEMENT_SPACE.to_owned()),
        ("Git.Credentials.Username", "octopus".to_owned()),
        ("Git.Credentials.Password", "git-token-value-42".to_owned()),
        ("Management.Octopus.ApiKey", API_KEY.to_owned()),
    ])
}

/// Run `script` under host bash with the stand-in bootstrap, `path_first` leading `PATH`, and
/// nothing else inherited but what Calamari itself sets for every script
/// ([`CALAMARI_ENVIRONMENT`]): Octopus variables are not environment variables.
pub async fn run_like_calamari(
    script: &str,
    parameters: &BTreeMap<String, String>,
    path_first: Option<&Path>,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    run_like_calamari_in(dir.path(), script, parameters, path_first).await
}

/// As [`run_like_calamari`], in the working directory `dir` (where Calamari stages the packages
/// the step references).
pub async fn run_like_calamari_in(
    dir: &Path,
    script: &str,
    parameters: &BTreeMap<String, String>,
    path_first: Option<&Path>,
) -> Run {
    write_calamari_files(dir, script, parameters);
    let system_path = "/usr/local/bin:/usr/bin:/bin";
    let path = match path_first {
        Some(first) => format!("{}:{system_path}", first.display()),
        None => system_path.to_owned(),
    };
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("bash")
            .args(["bootstrap.sh", "script.sh"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env(CALAMARI_ENVIRONMENT, dir)
            .output(),
    )
    .await
    .expect("the script finishes within two minutes")
    .expect("bash runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The environment variable Calamari sets in its own process at start, so every script it runs
/// has it: its working directory (Calamari `CalamariFlavourProgram.cs`).
pub const CALAMARI_ENVIRONMENT: &str = "OctopusCalamariWorkingDirectory";

/// The level Octopus shows a line of the task log at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Verbose,
    Info,
    Highlight,
    Wait,
    Warning,
    /// Every stderr line (Calamari's `LogCommandInvocationOutputSink.WriteError`) and
    /// `stdout-error` lines.
    Error,
}

/// The task log as Octopus shows a step's output: each stdout line at the level the last
/// `##octopus[stdout-…]` set (other service messages are consumed, not shown), then each stderr
/// line at Error. (The two streams' interleaving is lost here; stderr goes last.)
pub fn task_log(run: &Run) -> Vec<(LogLevel, String)> {
    let mut level = LogLevel::Info;
    let mut log = Vec::new();
    for line in run.stdout.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("##octopus[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            match name {
                "stdout-default" => level = LogLevel::Info,
                "stdout-verbose" => level = LogLevel::Verbose,
                "stdout-warning" => level = LogLevel::Warning,
                "stdout-highlight" => level = LogLevel::Highlight,
                "stdout-wait" => level = LogLevel::Wait,
                "stdout-error" => level = LogLevel::Error,
                _ => {}
            }
            continue;
        }
        assert!(
            !line.contains("##octopus"),
            "a stdout line Calamari would take for a service message: {line}"
        );
        log.push((level, line.to_owned()));
    }
    log.extend(
        run.stderr
            .lines()
            .map(|line| (LogLevel::Error, line.to_owned())),
    );
    log
}

/// The lines Octopus would show at `level`.
pub fn lines_at(run: &Run, level: LogLevel) -> Vec<String> {
    task_log(run)
        .into_iter()
        .filter(|(at, _)| *at == level)
        .map(|(_, line)| line)
        .collect()
}

/// The directory holding the `octofleet` binary cargo built for the tests.
pub fn binary_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_octofleet")).parent().unwrap()
}

/// The attributes of each `##octopus[<name> …]` service message, base64-decoded.
pub fn service_messages(stdout: &str, name: &str) -> Vec<BTreeMap<String, String>> {
    use base64::Engine;
    let prefix = format!("##octopus[{name} ");
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .map(|rest| {
            rest.trim_end_matches(']')
                .split_whitespace()
                .filter_map(|attribute| {
                    let (key, value) = attribute.split_once('=')?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(value.trim_matches('\''))
                        .ok()?;
                    Some((key.to_owned(), String::from_utf8(bytes).ok()?))
                })
                .collect()
        })
        .collect()
}

/// The text of the first `##octopus[resultMessage message='…']` line.
pub fn result_message(stdout: &str) -> Option<String> {
    use base64::Engine;
    let line = stdout.lines().find_map(|line| {
        line.trim()
            .strip_prefix("##octopus[resultMessage message='")
    })?;
    let encoded = line.split('\'').next()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The variable in which Calamari gives a referenced package's extraction directory.
pub fn extracted_path_variable(reference: &str) -> String {
    format!("Octopus.Action.Package[{reference}].ExtractedPath")
}

/// Octostache as far as a template package needs it: `#{Name}` and `#{Name | JsonEscape}` of a
/// defined variable are replaced; anything else is kept as written.
pub fn octostache(text: &str, variables: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let mut parts = after[..end].split('|').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let filters: Vec<&str> = parts.collect();
        match variables.get(name) {
            Some(value) if filters.iter().all(|filter| *filter == "JsonEscape") => {
                if filters.is_empty() {
                    out.push_str(value);
                } else {
                    let quoted = serde_json::to_string(value).unwrap();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                }
            }
            _ => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The variable names of the `#{Name}` and `#{Name | Filter}` expressions in `text`, in order.
pub fn octostache_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("#{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        names.extend(after[..end].split('|').map(str::trim).next());
        rest = &after[end + 1..];
    }
    names
}

/// `*` in one path component, against one name.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
    }
}

/// Calamari's *Substitute Variables in Templates* for a script step: each line of the template's
/// `TargetFiles` is a path relative to the working directory `work` (`*` within a file name),
/// and every file it matches is substituted. Returns the files substituted.
pub fn substitute_in_files(
    template: &StepTemplate,
    work: &Path,
    variables: &BTreeMap<&str, String>,
) -> Vec<PathBuf> {
    let properties = &template.json["Properties"];
    let features = properties["Octopus.Action.EnabledFeatures"]
        .as_str()
        .unwrap_or_default();
    if !features.contains("Octopus.Features.SubstituteInFiles") {
        return Vec::new();
    }
    let mut substituted = Vec::new();
    let targets = properties["Octopus.Action.SubstituteInFiles.TargetFiles"]
        .as_str()
        .unwrap_or_default();
    for target in targets.lines().map(str::trim).filter(|t| !t.is_empty()) {
        let (dir, pattern) = target.rsplit_once('/').unwrap_or(("", target));
        let Ok(entries) = std::fs::read_dir(work.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_file() && wildcard_match(pattern, &name) {
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, octostache(&text, variables)).unwrap();
                substituted.push(path);
            }
        }
    }
    substituted
}

/// Stage `files` (a template package) in the working directory `work` as Calamari stages a
/// referenced package with extraction on: under a directory named after the reference.
pub fn stage_package(work: &Path, reference: &str, files: &BTreeMap<String, Vec<u8>>) -> PathBuf {
    let root = work.join(reference);
    for (name, content) in files {
        if name.ends_with('/') {
            continue;
        }
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    root
}

/// The lines Calamari would show highlighted (`write_highlight`).
pub fn highlights(stdout: &str) -> Vec<String> {
    let mut lines = stdout.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line.trim() == "##octopus[stdout-highlight]" {
            found.extend(lines.next().map(str::to_owned));
        }
    }
    found
}
