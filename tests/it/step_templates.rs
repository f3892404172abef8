//! The Octopus step templates in `step-templates/`: the Library's rules for every file, and each
//! script run under bash the way Calamari runs it, with the real binary against the emulator.

use crate::support::calamari::{
    all, article_variables, binary_dir, extracted_path_variable, highlights, lines_at,
    result_message, run_like_calamari, run_like_calamari_in, service_messages, stage_package,
    substitute_in_files, task_log, template, templates_dir, LogLevel, StepTemplate,
    CALAMARI_ENVIRONMENT,
};
use crate::support::packages::{download, unzip};
use crate::support::{Fleet, Run, API_KEY};
use octofleet_sandbox::MANAGEMENT_SPACE;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The image every template's `Description` must name, so a version bump cannot miss them.
pub fn image_reference() -> String {
    format!("ghcr.io/octofleet/octofleet:{}", env!("CARGO_PKG_VERSION"))
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

/// A successful run as Octopus shows it: exit 0, nothing on stderr (Calamari logs every stderr
/// line as an Error), no Error line at all, and the log itself on stdout.
pub fn assert_clean_success(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr.lines().count(),
        0,
        "a successful step printed on stderr, which Octopus shows as errors:\n{}",
        run.stderr
    );
    assert!(
        lines_at(run, LogLevel::Error).is_empty(),
        "{:?}",
        task_log(run)
    );
    assert!(
        !lines_at(run, LogLevel::Info).is_empty(),
        "the log is on stdout: {}",
        run.stdout
    );
}

/// A failed run: its error on stderr (and only there), the reason in the task summary.
pub fn assert_failure_on_stderr(run: &Run, code: i32) -> String {
    assert_eq!(run.code, code, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with("error: "),
        "stderr holds the final error alone: {}",
        run.stderr
    );
    let message = result_message(&run.stdout).expect("a resultMessage");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        message.starts_with(first.trim_start_matches("error: ").trim()),
        "the summary and stderr say the same: {message} / {}",
        run.stderr
    );
    message
}

/// `Octofleet - Deploy Project` → `octofleet-deploy-project.json`, as the Library names files.
fn file_name_for(template_name: &str) -> String {
    let mut slug = String::new();
    for c in template_name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    format!("{}.json", slug.trim_end_matches('-'))
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
        // As a server's export writes them (OctopusVersion is the exporting server's version).
        assert!(
            json["$Meta"]["ExportedAt"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .is_some(),
            "{file}: $Meta.ExportedAt is an ISO 8601 time"
        );
        assert!(
            json["$Meta"]["OctopusVersion"]
                .as_str()
                .is_some_and(|version| version.split('.').count() >= 3),
            "{file}: $Meta.OctopusVersion"
        );
        // The Library names each file after its template: "Noun - Verb" → noun-verb.json.
        assert_eq!(
            file,
            file_name_for(name),
            "{file}: file name and Name differ"
        );
        assert!(
            name.split_once(" - ")
                .is_some_and(|(noun, verb)| !noun.is_empty() && !verb.is_empty()),
            "{file}: Name {name} is not \"Noun - Verb\""
        );
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
            // A sensitive default is shown masked in the step editor: the help says what it
            // binds, or nobody can tell without clearing it.
            if let Some(binding) = default.as_str().filter(|value| value.starts_with("#{")) {
                if control == "Sensitive" {
                    let help = parameter["HelpText"].as_str().unwrap_or_default();
                    assert!(
                        help.contains(&format!("`{binding}`")) && help.contains("masked"),
                        "{file}: sensitive {name} defaults to {binding}; its HelpText must say so (the editor masks it): {help}"
                    );
                }
            }
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
    let known: BTreeSet<&str> = octofleet::inputs::ALL_INPUTS
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
        // Octopus sets `Octopus.Action.Package[<reference>].ExtractedPath`, `.PackageId` and
        // `.PackageVersion` for each package the step references (Calamari `PackageVariables.cs`):
        // reading them is how the script uses a `Package` parameter.
        // The blueprint-secrets loop reads and exports names the user lists
        // (`get_octopusvariable "$variable"`, `export "$name=$value"`): those two dynamic forms
        // are allowed in the template that declares that parameter, and nowhere else.
        let dynamic = declared.contains("Octofleet.Blueprint.Secrets");
        let mut read: BTreeSet<String> = BTreeSet::new();
        for name in read_names(script) {
            if dynamic && name == "$variable" {
                continue;
            }
            let package = package_references(&template).into_iter().find(|reference| {
                ["ExtractedPath", "PackageId", "PackageVersion"]
                    .iter()
                    .any(|part| name == format!("Octopus.Action.Package[{reference}].{part}"))
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

        let exported: Vec<String> = exported_names(script)
            .into_iter()
            .filter(|name| !(dynamic && name == "\"$name"))
            .collect();
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

        // The log on stdout with Octopus's levels, set before octofleet runs.
        let log_format = script
            .find("\nexport OCTOFLEET_LOG_FORMAT=octopus\n")
            .unwrap_or_else(|| {
                panic!("{file}: the script does not export OCTOFLEET_LOG_FORMAT=octopus")
            });
        let first_run = script
            .lines()
            .filter(|line| {
                let line = line.trim_start();
                line.starts_with("octofleet ") || line.starts_with("exec octofleet ")
            })
            .filter_map(|line| script.find(line))
            .min()
            .unwrap_or_else(|| panic!("{file}: the script never runs octofleet"));
        assert!(
            script[..log_format].contains("command -v octofleet") && log_format < first_run,
            "{file}: OCTOFLEET_LOG_FORMAT is exported after the PATH check, before octofleet runs"
        );
        // The binary takes a blank CA file as unset: no script needs to guard the export.
        assert!(
            script.contains(
                "\nexport OCTOFLEET_CACERTIFICATEFILE=\"$(get_octopusvariable \"Octofleet.CaCertificateFile\")\"\n"
            ) && !script.contains("ca_certificate_file"),
            "{file}: export the CA file parameter as it is"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_template_runs_like_calamari_runs_it() {
    let fleet = Fleet::start().await;
    let template = template("octofleet-create-managed-space.json");

    // America, with the management API key bound: the space is created and its ID written back.
    let parameters = template.bind(
        &article_variables(&fleet, "America"),
        &[(
            "Octofleet.Management.ApiKey",
            "#{Management.Octopus.ApiKey}",
        )],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_clean_success(&run);
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
    assert_clean_success(&run);
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
    let template = template("octofleet-create-managed-space.json");
    let variables = BTreeMap::from([
        (
            "Octopus.Web.ServerUri",
            "https://octopus.example.com".to_owned(),
        ),
        ("Octopus.Space.Id", MANAGEMENT_SPACE.to_owned()),
    ]);
    let parameters = template.bind(&variables, &[]);
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    let message = assert_failure_on_stderr(&run, 2);
    for variable in [
        "#{ManagedTenant.Octopus.Url}",
        "#{ManagedTenant.Octopus.ApiKey}",
        "#{Octopus.Deployment.Tenant.Name}",
    ] {
        // In the error itself, not only in a warning before it.
        assert!(run.stderr.contains(variable), "{variable}: {}", run.stderr);
        assert!(message.contains(variable), "{variable}: {message}");
    }
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
    unzip(&download(fleet, id, version).await)
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
    assert_clean_success(&run);
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
    assert_clean_success(&run);
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

/// The package reference of the deploy template, and where Calamari extracts it: a directory
/// named after the reference in the step's working directory.
const DEPLOY_PACKAGE: &str = "Octofleet.Package";

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

fn project_named(fleet: &Fleet, space_id: &str, name: &str) -> Option<Value> {
    fleet
        .emulator
        .list(space_id, "projects")
        .into_iter()
        .find(|project| project["Name"] == name)
}

/// The management space with the template projects, America's space created, "Hello World"
/// serialized into the built-in feed as 1.0.0 by the serialize template, and the deploy
/// step's working directory with that package staged and substituted as Octopus does in `Sync`.
async fn fleet_with_hello_world_staged() -> (Fleet, tempfile::TempDir, PathBuf) {
    fleet_with_staged("Hello World").await
}

/// As [`fleet_with_hello_world_staged`], for the template project `project`.
async fn fleet_with_staged(project: &str) -> (Fleet, tempfile::TempDir, PathBuf) {
    let fleet = fleet_with_template_projects().await;
    let create = fleet.create_space("America", &[], &[]).await;
    assert_eq!(create.code, 0, "{}", create.stderr);

    let serialize = template("octofleet-serialize-project.json");
    let parameters = serialize.bind(
        &serialize_runbook_variables(&fleet, project),
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
    let files = feed_package(
        &fleet,
        &octofleet::package::package_id_for(project),
        "1.0.0",
    )
    .await;

    let deploy = template("octofleet-deploy-project.json");
    let work = tempfile::tempdir().unwrap();
    let package_dir = stage_package(work.path(), DEPLOY_PACKAGE, &files);
    let substituted = substitute_in_files(
        &deploy,
        work.path(),
        &deploy_runbook_variables(&fleet, "America"),
    );
    // The seeded secret of "Hello World", scoped to Sync, and its Terraform variable.
    if project == "Hello World" {
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
    }
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

/// The plan template's parameters as a runbook binds them for America, with its package
/// reference extracted at `package_dir` (Calamari's `ExtractedPath`).
fn plan_parameters(
    fleet: &Fleet,
    package_dir: &Path,
    overrides: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut parameters = template("octofleet-plan-project.json")
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
    assert_clean_success(&run);
    let progress: Vec<String> = service_messages(&run.stdout, "progress")
        .into_iter()
        .map(|message| format!("{}% {}", message["percentage"], message["message"]))
        .collect();
    assert_eq!(
        progress,
        [
            "0% Reading the template package",
            "20% Finding the managed space",
            "40% Applying project `Hello World` in Spaces-2",
        ],
        "deploy's phases as Octopus progress"
    );
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
    assert_clean_success(&run);
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
/// a step added to the referenced package is a change, mapped to success unless *Fail when there are
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
        run.stdout.contains("+ create project `Hello World`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Database[Development].Password")
            && run.stdout.contains("secret not substituted"),
        "{}",
        run.stdout
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

    let parameters = plan_parameters(&fleet, &package_dir, &[]);
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        highlights(&run.stdout)
            .iter()
            .any(|line| line.starts_with("The plan found changes")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Smoke Test"), "{}", run.stderr);
    assert!(result_message(&run.stdout).is_none(), "{}", run.stdout);
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");

    // "Fail when there are changes" checked: exit 3, the reason in the task summary.
    let parameters = plan_parameters(&fleet, &package_dir, &[("Octofleet.FailOnChanges", "True")]);
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
    let parameters = plan_parameters(&fleet, &package_dir, &[("Octofleet.FailOnChanges", "True")]);
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
}

/// The plan template references its package as the deploy template does (the same `Package`
/// parameter and `Packages` entry, apart from the Ids), without file substitution; the
/// management API key is optional and no help text offers a package the step cannot have.
#[test]
fn plan_template_references_its_package_like_the_deploy_template() {
    let plan = template("octofleet-plan-project.json");
    let deploy = template("octofleet-deploy-project.json");
    assert_eq!(package_references(&plan), [DEPLOY_PACKAGE]);
    let without_id = |value: &Value| {
        let mut value = value.clone();
        value.as_object_mut().unwrap().remove("Id");
        value
    };
    assert_eq!(
        without_id(&plan.json["Packages"][0]),
        without_id(&deploy.json["Packages"][0])
    );
    let parameter = |template: &StepTemplate| {
        template
            .parameters()
            .iter()
            .find(|parameter| parameter["Name"] == DEPLOY_PACKAGE)
            .cloned()
            .expect("the package parameter")
    };
    let (plan_package, deploy_package) = (parameter(&plan), parameter(&deploy));
    for key in ["Label", "DefaultValue", "DisplaySettings"] {
        assert_eq!(plan_package[key], deploy_package[key], "{key}");
    }
    let properties = &plan.json["Properties"];
    assert!(properties["Octopus.Action.SubstituteInFiles.Enabled"].is_null());
    assert!(properties["Octopus.Action.EnabledFeatures"].is_null());
    assert!(plan
        .script_body()
        .contains(&extracted_path_variable(DEPLOY_PACKAGE)));
    for parameter in plan.parameters() {
        let help = parameter["HelpText"].as_str().unwrap();
        assert!(
            !help.contains("Octopus.Action.Package["),
            "{}: offers a package reference the step editor cannot add: {help}",
            parameter["Name"]
        );
        assert_ne!(parameter["Name"], "Octofleet.Package.Dir");
    }
    let key = plan
        .parameters()
        .iter()
        .find(|parameter| parameter["Name"] == "Octofleet.Management.ApiKey")
        .unwrap();
    assert_eq!(key["DefaultValue"], "");
    assert!(key["HelpText"].as_str().unwrap().starts_with("Optional"));
}

/// The plan template as a drift-check runbook has it: every default as shipped (no management
/// API key) and the template package chosen. Green, quiet on stderr, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_template_with_its_defaults_and_a_package_runs_green() {
    let (fleet, _work, package_dir) = fleet_with_hello_world_staged().await;
    let plan = template("octofleet-plan-project.json");
    fleet.emulator.clear_requests();
    let run = run_like_calamari(
        plan.script_body(),
        &plan_parameters(&fleet, &package_dir, &[]),
        Some(binary_dir()),
    )
    .await;
    assert_clean_success(&run);
    assert!(
        highlights(&run.stdout)
            .iter()
            .any(|line| line.starts_with("The plan found changes")),
        "{}",
        run.stdout
    );
    let info = lines_at(&run, LogLevel::Info);
    assert!(
        info.iter()
            .any(|line| line.contains("+ create project `Hello World`")),
        "{info:?}"
    );
    // A database project: the fork step's unsubstituted output is no concern of it.
    let warnings = lines_at(&run, LogLevel::Warning);
    assert!(
        !warnings.iter().any(|line| line.contains("Git.Url")),
        "{warnings:?}"
    );
    assert!(fleet.emulator.writes().is_empty(), "a plan writes nothing");

    // Neither a package nor the key: the step says which parameter to set.
    let mut parameters = plan.bind(&deploy_runbook_variables(&fleet, "America"), &[]);
    parameters.remove(&extracted_path_variable(DEPLOY_PACKAGE));
    let run = run_like_calamari(plan.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let message = result_message(&run.stdout).expect("a resultMessage");
    assert!(
        message.contains("Template package") && message.contains("Management server API key"),
        "{message}"
    );
}

/// A Config-as-Code package deployed where no fork step ran: the unsubstituted default of
/// *Downstream repository URL* is worth a warning, shown as an Octopus warning (a database
/// project's runs, above, have none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fork_output_left_unsubstituted_warns_only_for_config_as_code_and_a_new_cac_project_needs_it(
) {
    let (fleet, _work, package_dir) = fleet_with_staged("Hello World CaC").await;
    let plan = template("octofleet-plan-project.json");
    let run = run_like_calamari(
        plan.script_body(),
        &plan_parameters(&fleet, &package_dir, &[]),
        Some(binary_dir()),
    )
    .await;
    // The project is not downstream yet, so without the fork's URL there is no repository of its
    // own to point it at: refused before any write (two projects cannot share one repository),
    // the warning still said once.
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("Octofleet.Git.Url") && run.stderr.contains("run the fork step first"),
        "{}",
        run.stderr
    );
    let warnings: Vec<String> = lines_at(&run, LogLevel::Warning)
        .into_iter()
        .filter(|line| line.contains("Git.Url"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", task_log(&run));
    assert!(
        warnings[0].contains("Octofleet.Git.Url")
            && warnings[0].contains("`#{Octopus.Action[Fork Repository].Output.RepositoryUrl}`")
            && warnings[0].contains("Config-as-Code"),
        "{}",
        warnings[0]
    );
    // The block as Calamari's write_warning prints it.
    assert!(
        run.stdout.contains(&format!(
            "##octopus[stdout-warning]\n{}\n##octopus[stdout-default]\n",
            warnings[0]
        )),
        "{}",
        run.stdout
    );
}

/// The fork template with the reference implementation's variables, some undefined: green with
/// nothing on stderr, each unsubstituted optional default as an Octopus warning block, and the
/// phases as progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_template_logs_on_stdout_with_octopus_levels() {
    use forge_emulator::{ForgeConfig, ForgeEmulator, UpstreamSpec};
    let forge = ForgeEmulator::start(ForgeConfig {
        username: "octopus".to_owned(),
        password: "forge-password-1".to_owned(),
        ..ForgeConfig::default()
    })
    .await
    .expect("the forge emulator starts");
    forge.create_org("octopuscac");
    forge.create_upstream(
        "octopuscac",
        "hello_world_cac",
        &UpstreamSpec::main_line("main", 2),
    );
    let template = template("octofleet-fork-repository.json");
    let variables = BTreeMap::from([
        ("Git.Url.Protocol", "http".to_owned()),
        ("Git.Url.Host", forge.host()),
        ("Git.Url.Organization", "octopuscac".to_owned()),
        ("Git.Credentials.Username", "octopus".to_owned()),
        ("Git.Credentials.Password", "forge-password-1".to_owned()),
        ("Octopus.Deployment.Tenant.Name", "America".to_owned()),
        ("Octopus.Project.Name", "Hello World CaC".to_owned()),
    ]);
    let run = run_like_calamari(
        template.script_body(),
        &template.bind(&variables, &[]),
        Some(binary_dir()),
    )
    .await;
    assert_clean_success(&run);
    let warnings = lines_at(&run, LogLevel::Warning);
    assert!(
        warnings
            .iter()
            .any(|line| line.contains("`#{Git.Branch.MainLine}`")),
        "{warnings:?}"
    );
    assert!(
        lines_at(&run, LogLevel::Info)
            .iter()
            .any(|line| line.starts_with("refs/heads/main: ")),
        "{:?}",
        task_log(&run)
    );
    let progress: Vec<String> = service_messages(&run.stdout, "progress")
        .into_iter()
        .map(|message| format!("{}% {}", message["percentage"], message["message"]))
        .collect();
    assert_eq!(
        progress,
        [
            "0% Finding or creating octopuscac/america_hello_world_cac",
            "20% Mirroring main into octopuscac/america_hello_world_cac",
            "90% 1 of 1 refs pushed",
        ]
    );
    assert!(!run.all_output().contains("forge-password-1"));
}

/// Unbound credentials name the `#{…}` left in them, as every other input does: fork's
/// `Git.Credentials.Username` (required on Gitea), and the halves of a username/password pair
/// (fork's upstream credentials, create-space's git credential), which used to say "missing".
#[tokio::test]
async fn unbound_credentials_name_the_unsubstituted_variable() {
    let fork = template("octofleet-fork-repository.json");
    let variables = BTreeMap::from([
        ("Git.Url.Host", "gitea.example.com".to_owned()),
        ("Git.Url.Organization", "octopuscac".to_owned()),
        ("Git.Credentials.Password", "forge-password-1".to_owned()),
        (
            "Git.Upstream.Credentials.Password",
            "read-token-1".to_owned(),
        ),
        ("Octopus.Deployment.Tenant.Name", "America".to_owned()),
        ("Octopus.Project.Name", "Hello World CaC".to_owned()),
    ]);
    let run = run_like_calamari(
        fork.script_body(),
        &fork.bind(&variables, &[]),
        Some(binary_dir()),
    )
    .await;
    let message = assert_failure_on_stderr(&run, 2);
    for unbound in [
        "`#{Git.Credentials.Username}` is an Octopus variable reference that was never substituted",
        "`#{Git.Upstream.Credentials.Username}`, an Octopus variable reference that was never substituted, while Git.Upstream.Credentials.Password is set",
    ] {
        assert!(run.stderr.contains(unbound), "{unbound}: {}", run.stderr);
        assert!(message.contains(unbound), "{unbound}: {message}");
    }
    assert!(!run.all_output().contains("missing"), "{}", run.stderr);

    let create_space = template("octofleet-create-managed-space.json");
    let variables = BTreeMap::from([
        (
            "ManagedTenant.Octopus.Url",
            "https://octopus.example.com".to_owned(),
        ),
        ("ManagedTenant.Octopus.ApiKey", API_KEY.to_owned()),
        ("Octopus.Deployment.Tenant.Name", "America".to_owned()),
        ("Git.Credentials.Password", "git-token-value-42".to_owned()),
    ]);
    let run = run_like_calamari(
        create_space.script_body(),
        &create_space.bind(&variables, &[]),
        Some(binary_dir()),
    )
    .await;
    assert_failure_on_stderr(&run, 2);
    assert!(
        run.stderr.contains("Git.Credentials.Username")
            && run.stderr.contains("`#{Git.Credentials.Username}`, an Octopus variable reference that was never substituted, while Git.Credentials.Password is set"),
        "{}",
        run.stderr
    );
    assert!(!run.all_output().contains("git-token-value-42"));
}

/// The format's selection outside the templates: Calamari's own environment variable turns the
/// Octopus format on, `text` (or `--output json`, whose stdout is the summary) keeps the log on
/// stderr, and `octopus` with `--output json` is refused.
#[tokio::test]
async fn the_log_format_follows_calamari_and_the_flags() {
    // An optional input left as `#{…}` (a warning), then a missing required one (the error).
    let env = [("OCTOFLEET_SPACE_MANAGERS", "#{Space.Managers}")];
    let warning = "`#{Space.Managers}`, an Octopus variable reference that was never substituted";

    let mut calamari = env.to_vec();
    calamari.push((CALAMARI_ENVIRONMENT, "/etc/octopus/Work/20261129"));
    let run = crate::support::octofleet(&["create-space"], &calamari).await;
    let message = assert_failure_on_stderr(&run, 2);
    assert!(message.contains("ManagedTenant.Octopus.Url"), "{message}");
    let warnings = lines_at(&run, LogLevel::Warning);
    assert!(
        warnings.len() == 1 && warnings[0].contains(warning),
        "{:?}",
        task_log(&run)
    );

    for (args, env) in [
        (vec!["create-space"], env.to_vec()),
        (
            vec!["create-space", "--log-format", "text"],
            calamari.clone(),
        ),
        (vec!["--output", "json", "create-space"], calamari.clone()),
    ] {
        let run = crate::support::octofleet(&args, &env).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(warning), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains(warning), "{args:?}: {}", run.stdout);
    }

    let run = crate::support::octofleet(
        &[
            "--output",
            "json",
            "--log-format",
            "octopus",
            "create-space",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains("Octofleet.Log.Format") && run.stdout.contains("--output json"),
        "{}",
        run.stdout
    );
}

/// A blueprint's `{from_env: NAME}` secrets under Octopus: "Blueprint secrets" maps each NAME to
/// an Octopus variable, the step exports it, and the value the server stored is that variable's
/// (read from the emulator's own store: the public API hides it). Nothing is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_template_passes_blueprint_secrets_from_octopus_variables() {
    let fleet = Fleet::start().await;
    let template = template("octofleet-create-managed-space.json");
    let certificate = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificates/leaf-with-key.pem"
    ))
    .unwrap();
    let mut variables = article_variables(&fleet, "Europe");
    variables.insert("Feeds.NuGet.Password", "nuget-from-octopus".to_owned());
    variables.insert("Blueprint.Database.Password", "db-from-octopus".to_owned());
    variables.insert("Blueprint.Aws.SecretKey", "aws-from-octopus".to_owned());
    variables.insert("Blueprint.Payments.Certificate", certificate);
    let mut parameters = template.bind(
        &variables,
        &[
            (
                "Octofleet.Blueprint",
                concat!(env!("CARGO_MANIFEST_DIR"), "/examples/blueprint.yaml"),
            ),
            (
                "Octofleet.Blueprint.Secrets",
                // As a user types it: a comment, a blank line, spaces and a Windows line end.
                "# the example blueprint's secrets\r\nNUGET_PASSWORD=Feeds.NuGet.Password\r\n\n  DATABASE_PASSWORD = Blueprint.Database.Password\nAWS_SECRET_ACCESS_KEY=Blueprint.Aws.SecretKey\nPAYMENTS_TLS_CERTIFICATE=Blueprint.Payments.Certificate",
            ),
        ],
    );
    // Calamari's variables file holds every variable of the deployment, not only the step's.
    for (name, value) in &variables {
        parameters
            .entry(name.to_string())
            .or_insert_with(|| value.clone());
    }
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_clean_success(&run);
    for secret in ["nuget-from-octopus", "db-from-octopus", "aws-from-octopus"] {
        assert!(!run.all_output().contains(secret), "{secret} was printed");
    }
    let space_id = fleet.space_named("Europe").unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id_of = |collection: &str, name: &str| {
        crate::support::id_named(&fleet.emulator, &space_id, collection, name)
    };
    let stored = |owner: &str, name: &str| fleet.emulator.secret_value(&space_id, owner, name);
    assert_eq!(
        stored(&id_of("feeds", "Company NuGet"), "Password").as_deref(),
        Some("nuget-from-octopus")
    );
    assert_eq!(
        {
            let set = fleet
                .emulator
                .list(&space_id, "libraryvariablesets")
                .into_iter()
                .find(|s| s["Name"] == "Shared Settings")
                .unwrap();
            stored(set["VariableSetId"].as_str().unwrap(), "Database.Password")
        }
        .as_deref(),
        Some("db-from-octopus")
    );
    assert_eq!(
        fleet
            .emulator
            .list(&space_id, "certificates")
            .iter()
            .filter(|c| c["Name"] == "Payments TLS" && c["HasPrivateKey"] == true)
            .count(),
        1,
        "the certificate from its Octopus variable"
    );
}

/// Bad "Blueprint secrets" lines stop the step before octofleet runs: exit code 2, the line and
/// what to do in the task summary and on stderr, and no space created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_space_template_refuses_bad_blueprint_secret_lines() {
    let fleet = Fleet::start().await;
    let template = template("octofleet-create-managed-space.json");
    let cases = [
        ("NUGET_PASSWORD", "line 1: write NAME=Octopus.Variable.Name"),
        (
            "# secrets\nNUGET-PASSWORD=Feeds.NuGet.Password",
            "line 2: `NUGET-PASSWORD` is not an environment variable name",
        ),
        (
            "MANAGEDTENANT_OCTOPUS_APIKEY=Feeds.NuGet.Password",
            "MANAGEDTENANT_OCTOPUS_APIKEY is already set",
        ),
        ("PATH=Feeds.NuGet.Password", "PATH is already set"),
        (
            "LD_PRELOAD=Feeds.NuGet.Password",
            "LD_PRELOAD is already set",
        ),
        (
            "NUGET_PASSWORD=",
            "name the Octopus variable that holds NUGET_PASSWORD",
        ),
        (
            "NUGET_PASSWORD=Feeds.NuGet.Missing",
            "the Octopus variable Feeds.NuGet.Missing is empty or not defined",
        ),
    ];
    for (lines, expected) in cases {
        let parameters = template.bind(
            &article_variables(&fleet, "Europe"),
            &[("Octofleet.Blueprint.Secrets", lines)],
        );
        let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
        let message = assert_failure_on_stderr(&run, 2);
        assert!(message.contains("Octofleet.Blueprint.Secrets"), "{message}");
        assert!(message.contains(expected), "{lines:?}: {message}");
        assert!(
            fleet.space_named("Europe").is_none(),
            "{lines:?}: nothing is written"
        );
    }
}
