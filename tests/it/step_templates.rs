//! The Octopus step templates in `step-templates/`: the Library's rules for every file, and each
//! script run under bash the way Calamari runs it, with the real binary against the emulator.

use crate::harness::{Fleet, Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The image every template's `Description` must name, so a version bump cannot miss them.
pub fn image_reference() -> String {
    format!("ghcr.io/octofleet/octofleet:{}", env!("CARGO_PKG_VERSION"))
}

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

/// The names a script reads with `get_octopusvariable "Name"` (or single quotes).
pub fn read_names(script: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("get_octopusvariable") {
        rest = rest[at + "get_octopusvariable".len()..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let body = &rest[1..];
        let end = body.find(quote).expect("a closing quote");
        names.push(body[..end].to_owned());
        rest = &body[end..];
    }
    names
}

/// The names of the packages a template references (`Packages[].Name`).
pub fn package_references(template: &StepTemplate) -> Vec<String> {
    template.json["Packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| package["Name"].as_str().map(str::to_owned))
        .collect()
}

/// The environment variables a script exports (`export NAME=...`).
pub fn exported_names(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("export "))
        .filter_map(|rest| rest.split_once('='))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

fn assert_random_guid(id: &str, what: &str) {
    // The Library's own check is an unanchored `.{8}-.{4}-.{4}-.{4}-.{12}`; a parsed v4 UUID is
    // stricter and also rules out hand-made ones.
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("{what}: `{id}` is no GUID"));
    assert_eq!(
        uuid.hyphenated().to_string(),
        id,
        "{what}: write GUIDs hyphenated, lower case"
    );
    assert!(
        ![
            "00000000-0000-0000-0000-000000000000",
            "abcdef00-ab00-cd00-ef00-000000abcdef"
        ]
        .contains(&id),
        "{what}: `{id}` is the Library's placeholder"
    );
    assert_eq!(
        uuid.get_version_num(),
        4,
        "{what}: `{id}` is not a random (v4) GUID"
    );
}

/// The Library's CI checks (`spec/step-template-validation-tests.js`) and its review rules.
#[test]
fn every_template_follows_the_library_rules() {
    for entry in std::fs::read_dir(templates_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let allowed = if path.is_dir() {
            name == "logos" || name == "tests"
        } else {
            name.ends_with(".json") || name.ends_with(".ScriptBody.ps1")
        };
        assert!(allowed, "step-templates/{name} is not allowed there");
    }

    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for template in all() {
        let file = template
            .file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let json = &template.json;
        let id = json["Id"].as_str().unwrap_or_default();
        assert_random_guid(id, &file);
        assert!(ids.insert(id.to_owned()), "{file}: Id {id} is not unique");
        let name = json["Name"].as_str().unwrap_or_default();
        assert!(
            !name.is_empty() && name.chars().count() <= 200,
            "{file}: Name"
        );
        assert!(
            names.insert(name.to_owned()),
            "{file}: Name {name} is not unique"
        );
        assert!(
            json["LastModifiedBy"]
                .as_str()
                .is_some_and(|by| !by.is_empty()),
            "{file}: LastModifiedBy"
        );
        assert!(
            json["$Meta"]["ExportedAt"].is_string(),
            "{file}: $Meta.ExportedAt"
        );
        assert_eq!(json["$Meta"]["Type"], "ActionTemplate", "{file}");
        assert!(json["Version"].is_u64(), "{file}: Version is an integer");
        assert!(json["Category"].is_string(), "{file}: Category");
        for package in json["Packages"].as_array().into_iter().flatten() {
            let feed = &package["FeedId"];
            assert!(
                feed.is_null() || feed.as_str().is_some_and(|feed| feed.starts_with('#')),
                "{file}: Packages[].FeedId must be null or a #{{…}} variable, not {feed}"
            );
            // A package the user picks in a `Package` parameter, as Octopus exports one: the
            // reference named after the parameter, its ID and feed deferred to it.
            let reference = package["Name"].as_str().unwrap_or_default();
            assert_random_guid(
                package["Id"].as_str().unwrap_or_default(),
                &format!("{file}: package {reference}"),
            );
            assert!(
                ids.insert(package["Id"].as_str().unwrap().to_owned()),
                "{file}: package {reference}: Id reused"
            );
            let properties = &package["Properties"];
            assert_eq!(
                properties["SelectionMode"], "deferred",
                "{file}: {reference}"
            );
            assert_eq!(
                properties["PackageParameterName"], reference,
                "{file}: the package reference is named after its parameter"
            );
            assert!(package["PackageId"].is_null(), "{file}: {reference}");
            assert!(
                template
                    .parameters()
                    .iter()
                    .any(|parameter| parameter["Name"] == reference
                        && parameter["DisplaySettings"]["Octopus.ControlType"] == "Package"),
                "{file}: no Package parameter {reference}"
            );
            assert!(
                ["Server", "ExecutionTarget"]
                    .contains(&package["AcquisitionLocation"].as_str().unwrap_or_default()),
                "{file}: {reference}: AcquisitionLocation"
            );
            assert!(
                ["True", "False"].contains(&properties["Extract"].as_str().unwrap_or_default()),
                "{file}: {reference}: Extract is True or False"
            );
            for (key, value) in properties.as_object().expect("package Properties") {
                assert!(value.is_string(), "{file}: {reference}: {key} is no string");
            }
        }
        // File substitution is a feature: Calamari runs it only when it is in EnabledFeatures.
        // In a script step the paths are relative to the working directory, and a referenced
        // package is extracted into a directory named after its reference.
        if json["Properties"]["Octopus.Action.SubstituteInFiles.Enabled"] == "True" {
            let features = json["Properties"]["Octopus.Action.EnabledFeatures"]
                .as_str()
                .unwrap_or_default();
            assert!(
                features
                    .split(',')
                    .any(|feature| feature.trim() == "Octopus.Features.SubstituteInFiles"),
                "{file}: EnabledFeatures lacks Octopus.Features.SubstituteInFiles"
            );
            let targets = json["Properties"]["Octopus.Action.SubstituteInFiles.TargetFiles"]
                .as_str()
                .unwrap_or_default();
            assert!(!targets.trim().is_empty(), "{file}: no TargetFiles");
            for target in targets.lines() {
                assert!(
                    package_references(&template)
                        .iter()
                        .any(|reference| target.starts_with(&format!("{reference}/"))),
                    "{file}: TargetFiles `{target}` is not inside an extracted package"
                );
            }
        }
        for (key, value) in json["Properties"].as_object().expect("Properties") {
            assert!(value.is_string(), "{file}: property {key} is not a string");
        }

        // Our own conventions: a worker in the octofleet execution container, Bash, inline.
        let properties = &json["Properties"];
        assert_eq!(json["ActionType"], "Octopus.Script", "{file}");
        assert_eq!(properties["Octopus.Action.RunOnServer"], "true", "{file}");
        assert_eq!(properties["Octopus.Action.Script.Syntax"], "Bash", "{file}");
        assert_eq!(
            properties["Octopus.Action.Script.ScriptSource"], "Inline",
            "{file}"
        );
        assert!(
            json["Description"]
                .as_str()
                .is_some_and(|text| text.contains(&image_reference())),
            "{file}: Description must name the image {}",
            image_reference()
        );

        let mut parameter_names = BTreeSet::new();
        for parameter in template.parameters() {
            let name = parameter["Name"].as_str().unwrap_or_default();
            assert!(
                name.starts_with("Octofleet."),
                "{file}: parameter {name} lacks the prefix"
            );
            assert!(
                parameter_names.insert(name),
                "{file}: parameter {name} twice"
            );
            if let Some(id) = parameter["Id"].as_str() {
                assert_random_guid(id, &format!("{file}: parameter {name}"));
                assert!(
                    ids.insert(id.to_owned()),
                    "{file}: parameter {name}: Id {id} reused"
                );
            }
            for key in ["Label", "HelpText"] {
                assert!(
                    parameter[key].as_str().is_some_and(|text| !text.is_empty()),
                    "{file}: parameter {name} has no {key}"
                );
            }
            let default = &parameter["DefaultValue"];
            assert!(
                default.is_null() || default.is_string(),
                "{file}: {name} default"
            );
            let control = parameter["DisplaySettings"]["Octopus.ControlType"]
                .as_str()
                .unwrap_or_default();
            let secret = ["ApiKey", "Password", "Token", "PrivateKey"]
                .iter()
                .any(|word| name.contains(word));
            assert_eq!(
                control == "Sensitive",
                secret,
                "{file}: {name} is {control}; secrets, and only they, are Sensitive"
            );
            if control == "Checkbox" {
                assert!(
                    default.is_null() || default == "True" || default == "False",
                    "{file}: checkbox {name} defaults to True or False"
                );
            }
            if control == "Select" {
                let options = parameter["DisplaySettings"]["Octopus.SelectOptions"]
                    .as_str()
                    .unwrap_or_default();
                let values: Vec<&str> = options
                    .lines()
                    .map(|option| option.split_once('|').map_or(option, |(value, _)| value))
                    .collect();
                assert!(!values.is_empty(), "{file}: select {name} has no options");
                assert!(
                    default.is_null() || values.iter().any(|value| default == value),
                    "{file}: select {name} defaults to one of its options"
                );
            }
        }
    }
}

/// The script and the parameters agree, and what it exports is what the binary reads.
#[test]
fn scripts_read_every_parameter_and_export_only_known_inputs() {
    let known: BTreeSet<&str> = octofleet::config::ALL_INPUTS
        .iter()
        .map(|input| input.env)
        .collect();
    for template in all() {
        let file = template.file.display().to_string();
        let script = template.script_body();
        assert!(
            script.starts_with("set -euo pipefail\n"),
            "{file}: the script starts with `set -euo pipefail`"
        );
        // Inline `#{…}` would be substituted into the script text before bash sees it, so a
        // quote in a value (or a secret) would break it: values come from get_octopusvariable.
        assert!(
            !script.contains("#{"),
            "{file}: the script uses #{{…}} substitution"
        );

        let declared: BTreeSet<String> = template
            .parameters()
            .iter()
            .map(|parameter| parameter["Name"].as_str().unwrap().to_owned())
            .collect();
        // Octopus sets `Octopus.Action.Package[<reference>].ExtractedPath` for each package the
        // step references: reading it is how the script uses a `Package` parameter.
        let mut read: BTreeSet<String> = BTreeSet::new();
        for name in read_names(script) {
            let package = package_references(&template).into_iter().find(|reference| {
                name == format!("Octopus.Action.Package[{reference}].ExtractedPath")
            });
            read.insert(package.unwrap_or(name));
        }
        let undeclared: Vec<_> = read.difference(&declared).collect();
        let unread: Vec<_> = declared.difference(&read).collect();
        assert!(
            undeclared.is_empty(),
            "{file}: reads undeclared {undeclared:?}"
        );
        assert!(unread.is_empty(), "{file}: never reads {unread:?}");

        let exported = exported_names(script);
        assert!(!exported.is_empty(), "{file}: exports nothing");
        for name in &exported {
            assert!(
                known.contains(name.as_str()),
                "{file}: exports {name}, which octofleet does not read"
            );
        }
        let unique: BTreeSet<_> = exported.iter().collect();
        assert_eq!(unique.len(), exported.len(), "{file}: exports a name twice");
        assert!(
            script.contains(&image_reference()),
            "{file}: the missing-binary message names the image"
        );
    }
}

#[test]
fn scripts_pass_bash_syntax_check() {
    for template in all() {
        let output = std::process::Command::new("bash")
            .arg("-n")
            .arg("-c")
            .arg(template.script_body())
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "{}: {}",
            template.file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
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
/// nothing else inherited: Octopus variables are not environment variables.
async fn run_like_calamari(
    script: &str,
    parameters: &BTreeMap<String, String>,
    path_first: Option<&Path>,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    run_like_calamari_in(dir.path(), script, parameters, path_first).await
}

/// As [`run_like_calamari`], in the working directory `dir` (where Calamari stages the packages
/// the step references).
async fn run_like_calamari_in(
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

fn binary_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_octofleet")).parent().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_template_runs_like_calamari_runs_it() {
    let fleet = Fleet::start().await;
    let template = template("octofleet-create-space.json");

    // America, with the management API key bound: the space is created and its ID written back.
    let parameters = template.bind(
        &article_variables(&fleet, "America"),
        &[(
            "Octofleet.Management.ApiKey",
            "#{Management.Octopus.ApiKey}",
        )],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let space = fleet.space_named("America").expect("the space exists");
    let space_id = space["Id"].as_str().unwrap();
    assert_eq!(run.output_variable("SpaceId").as_deref(), Some(space_id));
    assert_eq!(
        fleet.tenant_space_id("America").await.as_deref(),
        Some(space_id)
    );
    let credentials = fleet.emulator.list(space_id, "git-credentials");
    assert!(
        credentials
            .iter()
            .any(|credential| credential["Name"] == "Git"),
        "the git credential from the Git.Credentials.* defaults"
    );
    for secret in [API_KEY, "git-token-value-42"] {
        assert!(!run.all_output().contains(secret), "a secret was printed");
    }

    // Europe with the defaults as shipped (management API key empty): no write-back.
    let parameters = template.bind(&article_variables(&fleet, "Europe"), &[]);
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let space = fleet.space_named("Europe").expect("the space exists");
    assert_eq!(
        run.output_variable("SpaceId").as_deref(),
        space["Id"].as_str()
    );
    assert_eq!(
        fleet.tenant_space_id("Europe").await.as_deref(),
        Some("TBD")
    );
}

#[tokio::test]
async fn every_template_fails_the_step_outside_the_container() {
    assert!(
        !Path::new("/usr/local/bin/octofleet").exists()
            && !Path::new("/usr/bin/octofleet").exists(),
        "this check needs a machine without octofleet installed system-wide"
    );
    for template in all() {
        let file = template.file.display().to_string();
        let run = run_like_calamari(template.script_body(), &BTreeMap::new(), None).await;
        assert_eq!(run.code, 1, "{file}: {}\n{}", run.stdout, run.stderr);
        let message = result_message(&run.stdout).expect("a resultMessage");
        assert!(message.contains(&image_reference()), "{file}: {message}");
    }
}

/// Run without a tenant, the tenant variables in the defaults stay `#{…}`: octofleet names them.
#[tokio::test]
async fn create_space_template_run_untenanted_reports_the_unsubstituted_variables() {
    let template = template("octofleet-create-space.json");
    let variables = BTreeMap::from([
        (
            "Octopus.Web.ServerUri",
            "https://octopus.example.com".to_owned(),
        ),
        ("Octopus.Space.Id", MANAGEMENT_SPACE.to_owned()),
    ]);
    let parameters = template.bind(&variables, &[]);
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    for variable in [
        "#{ManagedTenant.Octopus.Url}",
        "#{ManagedTenant.Octopus.ApiKey}",
        "#{Octopus.Deployment.Tenant.Name}",
    ] {
        assert!(run.stderr.contains(variable), "{variable}: {}", run.stderr);
    }
    assert!(result_message(&run.stdout).is_some(), "{}", run.stdout);
}

/// The Octopus variables of the template project's runbook "__ 1. Serialize Project" (the
/// article's management runbook) in `project`: system variables, and the user's sensitive
/// variable holding the management API key.
pub fn serialize_runbook_variables(fleet: &Fleet, project: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("Octopus.Web.ServerUri", fleet.emulator.url()),
        ("Octopus.Space.Id", MANAGEMENT_SPACE.to_owned()),
        ("Octopus.Project.Name", project.to_owned()),
        ("Octopus.Environment.Name", "Sync".to_owned()),
        ("Management.Octopus.ApiKey", API_KEY.to_owned()),
    ])
}

/// The management space with the article's template projects seeded.
async fn fleet_with_template_projects() -> Fleet {
    let fleet = Fleet::start().await;
    octofleet_sandbox::seed_template_projects(
        &fleet.emulator,
        &fleet.management,
        "https://git.example.com/x.git",
    );
    fleet
}

/// The files of the package `id` `version` in the management space's built-in feed.
async fn feed_package(fleet: &Fleet, id: &str, version: &str) -> BTreeMap<String, Vec<u8>> {
    crate::serialize::unzip(&crate::serialize::download(fleet, id, version).await)
}

/// The attributes of each `##octopus[<name> …]` service message, base64-decoded.
fn service_messages(stdout: &str, name: &str) -> Vec<BTreeMap<String, String>> {
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

fn assert_no_secrets_in(run: &Run, files: &BTreeMap<String, Vec<u8>>) {
    for secret in octofleet_sandbox::SEEDED_SECRETS.iter().chain([&API_KEY]) {
        assert!(!run.all_output().contains(secret), "{secret} was printed");
        for (name, content) in files {
            assert!(
                !String::from_utf8_lossy(content).contains(secret),
                "{secret} in {name}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialize_template_runs_like_calamari_runs_it() {
    let fleet = fleet_with_template_projects().await;
    let template = template("octofleet-serialize-project.json");
    let variables = serialize_runbook_variables(&fleet, "Hello World");
    let api_key = (
        "Octofleet.Management.ApiKey",
        "#{Management.Octopus.ApiKey}",
    );

    // The runbook "__ 1. Serialize Project" of "Hello World" with the defaults as shipped and
    // the API key bound: the package lands in the built-in feed under a timestamp version.
    let parameters = template.bind(&variables, &[api_key]);
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("PackageId").as_deref(),
        Some("Hello_World")
    );
    let version = run
        .output_variable("PackageVersion")
        .expect("PackageVersion");
    let parts: Vec<usize> = version.split('.').map(str::len).collect();
    assert!(
        parts == [4, 2, 2, 6] && version.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "{version} is not YYYY.MM.DD.HHMMSS"
    );
    let entry = fleet
        .emulator
        .get(
            MANAGEMENT_SPACE,
            "packages",
            &format!("packages-Hello_World.{version}"),
        )
        .expect("the package is in the built-in feed");
    assert_eq!(entry["PackageId"], "Hello_World");
    assert!(service_messages(&run.stdout, "createArtifact").is_empty());

    // The article's filters, from the defaults.
    let files = feed_package(&fleet, "Hello_World", &version).await;
    for required in ["project.json", "secrets.json", "terraform/config.tf"] {
        assert!(files.contains_key(required), "{required} missing");
    }
    let project: octofleet::portable::PortableProject =
        serde_json::from_slice(&files["project.json"]).unwrap();
    assert!(
        project.project.included_library_variable_sets.is_empty(),
        "Export Options is left out"
    );
    assert!(project.runbooks.is_empty(), "the __ runbooks are left out");
    assert!(
        project.variables.iter().all(|variable| !variable
            .scope
            .environments
            .iter()
            .any(|e| e == "Sync")),
        "Sync is removed from variable scopes"
    );
    assert_no_secrets_in(&run, &files);

    // "Do not push" checked: the output variables, the zip as an artifact, nothing in the feed.
    let parameters = template.bind(
        &variables,
        &[
            api_key,
            ("Octofleet.NoPush", "True"),
            ("Octofleet.Package.Version", "2.0.0"),
        ],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("PackageVersion").as_deref(),
        Some("2.0.0")
    );
    let artifacts = service_messages(&run.stdout, "createArtifact");
    assert_eq!(artifacts.len(), 1, "{}", run.stdout);
    assert_eq!(artifacts[0]["name"], "Hello_World.2.0.0.zip");
    assert!(artifacts[0]["path"].ends_with("/octofleet-package/Hello_World.2.0.0.zip"));
    assert!(artifacts[0]["length"].parse::<u64>().unwrap() > 0);
    assert!(fleet
        .emulator
        .get(MANAGEMENT_SPACE, "packages", "packages-Hello_World.2.0.0")
        .is_none());
    assert_no_secrets_in(&run, &BTreeMap::new());

    // "Fail the step" for a version the feed already holds: exit 1, the reason in the summary.
    let parameters = template.bind(
        &variables,
        &[
            api_key,
            ("Octofleet.Package.Version", version.as_str()),
            ("Octofleet.Package.OverwriteMode", "FailIfExists"),
        ],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let message = result_message(&run.stdout).expect("a resultMessage");
    assert!(
        message.contains("already in the built-in feed"),
        "{message}"
    );
}

/// A project name that matches nothing: exit 2, and the task summary names the closest project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialize_template_names_the_closest_project_for_an_unknown_one() {
    let fleet = fleet_with_template_projects().await;
    let template = template("octofleet-serialize-project.json");
    let parameters = template.bind(
        &serialize_runbook_variables(&fleet, "Hello World"),
        &[
            (
                "Octofleet.Management.ApiKey",
                "#{Management.Octopus.ApiKey}",
            ),
            ("Octofleet.Project.Name", "Hello Wrld"),
        ],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let message = result_message(&run.stdout).expect("a resultMessage");
    assert!(message.contains("`Hello Wrld`"), "{message}");
    assert!(message.contains("did you mean `Hello World`"), "{message}");
    assert!(run.output_variable("PackageId").is_none());
    assert_no_secrets_in(&run, &BTreeMap::new());
}

/// Select parameters offer values the binary takes, and default to one of them.
#[test]
fn serialize_template_overwrite_modes_are_the_binarys() {
    use octofleet::package::OverwriteMode;
    let template = template("octofleet-serialize-project.json");
    let parameter = template
        .parameters()
        .iter()
        .find(|parameter| parameter["Name"] == "Octofleet.Package.OverwriteMode")
        .expect("the overwrite mode parameter");
    assert_eq!(
        parameter["DisplaySettings"]["Octopus.ControlType"],
        "Select"
    );
    let values: Vec<&str> = parameter["DisplaySettings"]["Octopus.SelectOptions"]
        .as_str()
        .unwrap()
        .lines()
        .map(|option| option.split_once('|').expect("value|label").0)
        .collect();
    let mut modes: Vec<&str> = values
        .iter()
        .map(|value| {
            OverwriteMode::parse(value)
                .unwrap_or_else(|| panic!("{value} is no overwrite mode"))
                .api_name()
        })
        .collect();
    assert_eq!(modes, values, "the API's spelling");
    modes.sort();
    assert_eq!(
        modes,
        ["FailIfExists", "IgnoreIfExists", "OverwriteExisting"]
    );
    assert_eq!(
        parameter["DefaultValue"],
        OverwriteMode::default().api_name()
    );
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

/// The package reference of the deploy template, and where Calamari extracts it: a directory
/// named after the reference in the step's working directory.
const DEPLOY_PACKAGE: &str = "Octofleet.Package";

fn extracted_path_variable(reference: &str) -> String {
    format!("Octopus.Action.Package[{reference}].ExtractedPath")
}

/// The variables in scope when the runbook "__ 2. Fork and Deploy Project" of "Hello World" runs
/// for `tenant` in the `Sync` environment: the article's variables, the template project's
/// secret scoped to `Sync`, and the project's name.
fn deploy_runbook_variables(fleet: &Fleet, tenant: &str) -> BTreeMap<&'static str, String> {
    let mut variables = article_variables(fleet, tenant);
    variables.insert("Octopus.Project.Name", "Hello World".to_owned());
    variables.insert("Octopus.Environment.Name", "Sync".to_owned());
    variables.insert(
        "Database[Development].Password",
        octofleet_sandbox::SEEDED_SECRETS[0].to_owned(),
    );
    variables
}

/// Octostache as far as a template package needs it: `#{Name}` and `#{Name | JsonEscape}` of a
/// defined variable are replaced; anything else is kept as written.
fn octostache(text: &str, variables: &BTreeMap<&str, String>) -> String {
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
fn substitute_in_files(
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
fn stage_package(work: &Path, reference: &str, files: &BTreeMap<String, Vec<u8>>) -> PathBuf {
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

fn project_named(fleet: &Fleet, space_id: &str, name: &str) -> Option<Value> {
    fleet
        .emulator
        .list(space_id, "projects")
        .into_iter()
        .find(|project| project["Name"] == name)
}

/// The lines Calamari would show highlighted (`write_highlight`).
fn highlights(stdout: &str) -> Vec<String> {
    let mut lines = stdout.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line.trim() == "##octopus[stdout-highlight]" {
            found.extend(lines.next().map(str::to_owned));
        }
    }
    found
}

/// The management space with the template projects, America's space created, "Hello World"
/// serialized into the built-in feed as 1.0.0 by the serialize template, and the deploy
/// step's working directory with that package staged and substituted as Octopus does in `Sync`.
async fn fleet_with_hello_world_staged() -> (Fleet, tempfile::TempDir, PathBuf) {
    let fleet = fleet_with_template_projects().await;
    let create = fleet.create_space("America", &[], &[]).await;
    assert_eq!(create.code, 0, "{}", create.stderr);

    let serialize = template("octofleet-serialize-project.json");
    let parameters = serialize.bind(
        &serialize_runbook_variables(&fleet, "Hello World"),
        &[
            (
                "Octofleet.Management.ApiKey",
                "#{Management.Octopus.ApiKey}",
            ),
            ("Octofleet.Package.Version", "1.0.0"),
        ],
    );
    let run = run_like_calamari(serialize.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let files = feed_package(&fleet, "Hello_World", "1.0.0").await;

    let deploy = template("octofleet-deploy-project.json");
    let work = tempfile::tempdir().unwrap();
    let package_dir = stage_package(work.path(), DEPLOY_PACKAGE, &files);
    let substituted = substitute_in_files(
        &deploy,
        work.path(),
        &deploy_runbook_variables(&fleet, "America"),
    );
    let relative: Vec<String> = substituted
        .iter()
        .map(|path| {
            path.strip_prefix(&package_dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert!(
        relative.contains(&"secrets.json".to_owned()),
        "TargetFiles miss secrets.json: {relative:?}"
    );
    assert!(
        relative
            .iter()
            .any(|path| path.starts_with("terraform/project_variable_sensitive")),
        "TargetFiles miss the sensitive Terraform variables: {relative:?}"
    );
    let secrets = std::fs::read_to_string(package_dir.join("secrets.json")).unwrap();
    assert!(
        !secrets.contains("#{") && secrets.contains(octofleet_sandbox::SEEDED_SECRETS[0]),
        "secrets.json substituted: {secrets}"
    );
    (fleet, work, package_dir)
}

/// The deploy template's parameters as the runbook binds them, with the package reference's
/// extracted path that Calamari sets.
fn deploy_parameters(
    fleet: &Fleet,
    package_dir: &Path,
    overrides: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut parameters = template("octofleet-deploy-project.json")
        .bind(&deploy_runbook_variables(fleet, "America"), overrides);
    parameters.insert(
        extracted_path_variable(DEPLOY_PACKAGE),
        package_dir.display().to_string(),
    );
    parameters
}

/// The deploy template as the runbook "__ 2. Fork and Deploy Project" runs it for America in
/// `Sync`: the package from the feed staged and substituted by Octopus, the space found by the
/// tenant's name (its ID is still `TBD` in the snapshot), the project created, `ProjectId` set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_template_runs_like_calamari_runs_it() {
    let (fleet, work, package_dir) = fleet_with_hello_world_staged().await;
    let deploy = template("octofleet-deploy-project.json");
    let parameters = deploy_parameters(&fleet, &package_dir, &[]);
    assert_eq!(parameters["Octofleet.Octopus.SpaceId"], "TBD");
    let run = run_like_calamari_in(
        work.path(),
        deploy.script_body(),
        &parameters,
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let space = fleet.space_named("America").expect("America's space");
    let space_id = space["Id"].as_str().unwrap();
    let project = project_named(&fleet, space_id, "Hello World").expect("the project exists");
    let project_id = project["Id"].as_str().unwrap();
    assert_eq!(
        run.output_variable("ProjectId").as_deref(),
        Some(project_id)
    );
    assert_eq!(
        fleet
            .emulator
            .secret_value(space_id, project_id, "Database[Development].Password")
            .as_deref(),
        Some(octofleet_sandbox::SEEDED_SECRETS[0]),
        "the secret substituted by Octopus reached the managed space"
    );
    assert!(
        project_named(&fleet, MANAGEMENT_SPACE, "Hello World").is_some(),
        "the template project stays"
    );
    assert_no_secrets_in(&run, &BTreeMap::new());

    // Re-run with the space ID bound to create-space's output: nothing to write.
    fleet.emulator.clear_requests();
    let parameters = deploy_parameters(
        &fleet,
        &package_dir,
        &[("Octofleet.Octopus.SpaceId", space_id)],
    );
    let run = run_like_calamari_in(
        work.path(),
        deploy.script_body(),
        &parameters,
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("ProjectId").as_deref(),
        Some(project_id)
    );
    assert!(
        fleet.emulator.writes().is_empty(),
        "a re-run wrote: {:?}",
        fleet.emulator.writes()
    );
    assert_no_secrets_in(&run, &BTreeMap::new());
}

/// The plan template after a deploy: no changes (from the feed, secrets unsubstituted) exits 0;
/// a step added to the package is a change, mapped to success unless *Fail when there are
/// changes* is checked; the deploy template's dry run likewise; then a deploy applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_template_reports_changes_and_fails_only_when_asked() {
    let (fleet, work, package_dir) = fleet_with_hello_world_staged().await;
    let plan = template("octofleet-plan-project.json");
    let variables = deploy_runbook_variables(&fleet, "America");
    let api_key = (
        "Octofleet.Management.ApiKey",
        "#{Management.Octopus.ApiKey}",
    );

    // Before the first deploy, a plan reports the whole project as new (the feed's secret is
    // still a placeholder: the plan says it would not be created) and writes nothing.
    fleet.emulator.clear_requests();
    let run = run_like_calamari(
        plan.script_body(),
        &plan.bind(&variables, &[api_key]),
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("The plan found changes"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("+ create project `Hello World`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Database[Development].Password")
            && run.stderr.contains("secret not substituted"),
        "{}",
        run.stderr
    );
    assert!(fleet.emulator.writes().is_empty());

    let deploy = template("octofleet-deploy-project.json");
    let run = run_like_calamari_in(
        work.path(),
        deploy.script_body(),
        &deploy_parameters(&fleet, &package_dir, &[]),
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // From the built-in feed (the latest, 1.0.0), as shipped plus the API key: nothing changed.
    fleet.emulator.clear_requests();
    let parameters = plan.bind(&variables, &[api_key]);
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        highlights(&run.stdout)
            .iter()
            .any(|line| line.starts_with("No changes")),
        "{}",
        run.stdout
    );
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");
    assert_no_secrets_in(&run, &BTreeMap::new());

    // A step added upstream (in the extracted package): a change, reported, the step succeeds.
    let path = package_dir.join("project.json");
    let mut project: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut step = project["deployment_process"]["steps"][0].clone();
    step["name"] = "Smoke Test".into();
    step["actions"][0]["name"] = "Smoke Test".into();
    project["deployment_process"]["steps"]
        .as_array_mut()
        .unwrap()
        .push(step);
    std::fs::write(&path, serde_json::to_string(&project).unwrap()).unwrap();
    let package_dir_text = package_dir.display().to_string();
    let from_dir = ("Octofleet.Package.Dir", package_dir_text.as_str());

    let parameters = plan.bind(&variables, &[from_dir]);
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        highlights(&run.stdout)
            .iter()
            .any(|line| line.starts_with("The plan found changes")),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("Smoke Test"), "{}", run.stderr);
    assert!(result_message(&run.stdout).is_none(), "{}", run.stdout);
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");

    // "Fail when there are changes" checked: exit 3, the reason in the task summary.
    let parameters = plan.bind(&variables, &[from_dir, ("Octofleet.FailOnChanges", "True")]);
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let message = result_message(&run.stdout).expect("a resultMessage");
    assert!(message.contains("the plan found changes"), "{message}");
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");

    // The deploy template's dry run: the same answer, the step succeeds, nothing is written.
    let run = run_like_calamari_in(
        work.path(),
        deploy.script_body(),
        &deploy_parameters(&fleet, &package_dir, &[("Octofleet.DryRun", "True")]),
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        highlights(&run.stdout)
            .iter()
            .any(|line| line.starts_with("Dry run")),
        "{}",
        run.stdout
    );
    assert!(run.output_variable("ProjectId").is_none());
    assert!(
        fleet.emulator.writes().is_empty(),
        "a dry run writes nothing"
    );

    // Deployed, the plan is clean again.
    let run = run_like_calamari_in(
        work.path(),
        deploy.script_body(),
        &deploy_parameters(&fleet, &package_dir, &[]),
        Some(binary_dir()),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let parameters = plan.bind(&variables, &[from_dir, ("Octofleet.FailOnChanges", "True")]);
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_no_secrets_in(&run, &BTreeMap::new());
}

/// The step added without choosing the package: the script says so instead of octofleet asking
/// for feed inputs the template does not have.
#[tokio::test]
async fn deploy_template_without_the_package_names_the_parameter() {
    let template = template("octofleet-deploy-project.json");
    let run = run_like_calamari(template.script_body(), &BTreeMap::new(), Some(binary_dir())).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let message = result_message(&run.stdout).expect("a resultMessage");
    assert!(message.contains("Template package"), "{message}");
}

/// What the deploy template promises in its Description and help texts matches its settings.
#[test]
fn deploy_template_references_and_substitutes_its_package() {
    let template = template("octofleet-deploy-project.json");
    assert_eq!(package_references(&template), [DEPLOY_PACKAGE]);
    let package = &template.json["Packages"][0];
    assert!(package["FeedId"].is_null());
    assert_eq!(package["Properties"]["Extract"], "True");
    let properties = &template.json["Properties"];
    assert_eq!(
        properties["Octopus.Action.SubstituteInFiles.Enabled"],
        "True"
    );
    let targets: Vec<&str> = properties["Octopus.Action.SubstituteInFiles.TargetFiles"]
        .as_str()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        targets,
        [
            format!("{DEPLOY_PACKAGE}/secrets.json"),
            format!("{DEPLOY_PACKAGE}/terraform/project_variable_sensitive*.tf"),
        ]
    );
    assert!(template
        .script_body()
        .contains(&extracted_path_variable(DEPLOY_PACKAGE)));
    let description = template.json["Description"].as_str().unwrap();
    assert!(description.contains("`Sync`"), "{description}");
    assert!(description.contains("`ProjectId`"), "{description}");
    let git_url = template
        .parameters()
        .iter()
        .find(|parameter| parameter["Name"] == "Octofleet.Git.Url")
        .unwrap();
    assert_eq!(
        git_url["DefaultValue"],
        "#{Octopus.Action[Fork Repository].Output.RepositoryUrl}"
    );
    let fork = self::template("octofleet-fork-repository.json");
    assert_eq!(fork.json["Name"], "Octofleet - Fork Repository");
    assert!(fork.json["Description"]
        .as_str()
        .unwrap()
        .contains("`RepositoryUrl`"));
}

/// Unchecked by default: a scheduled drift check must not fail on drift unless asked to.
#[test]
fn plan_template_fails_on_changes_only_when_checked() {
    let template = template("octofleet-plan-project.json");
    let parameter = template
        .parameters()
        .iter()
        .find(|parameter| parameter["Name"] == "Octofleet.FailOnChanges")
        .expect("the checkbox");
    assert_eq!(
        parameter["DisplaySettings"]["Octopus.ControlType"],
        "Checkbox"
    );
    assert_eq!(parameter["DefaultValue"], "False");
    assert!(template.json["Packages"].as_array().unwrap().is_empty());
    assert!(template.json["Properties"]["Octopus.Action.SubstituteInFiles.Enabled"].is_null());
}
