//! An in-process emulator of the Octopus Deploy REST API subset octofleet uses, faithful to the
//! real server's observable behaviour, with fault injection and a request log for tests. Each
//! rule cites its public source where it is made: the server's swagger
//! (OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`), go-octopusdeploy's client and
//! `uritemplates/links.go`, the API pages generated from the server's swagger in
//! OctopusDeploy/docs, the Terraform provider, octoterra, real responses under
//! `tests/fixtures/octopus-payloads`, and OctopusDeploy/Issues threads.
//!
//! Documents are stored as raw JSON (`serde_json::Value`), never as a client's typed structs, so
//! a client serde bug cannot be mirrored here.

mod accounts;
mod artifacts;
mod certificates;
mod collections;
mod config_as_code;
mod documents;
mod executor;
mod faults;
mod kinds;
mod packages;
mod paging;
mod platform_hub;
mod processes;
mod projects;
mod reply;
mod routes;
mod runbook_runs;
mod runbook_snapshots;
mod script_modules;
mod secrets;
mod server;
mod spaces;
mod state;
mod step_templates;
mod system;
mod tasks;
mod tenant_variables;
mod triggers;
mod variables;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use executor::{ExecutorConfig, JobStep, RunbookJob, TaskEffect, TaskRule};
pub use faults::FaultRule;
pub use reply::{PROBLEM, UNAUTHORIZED};

use crate::documents::{find_by_id, same_id};
use crate::server::Shared;
use crate::state::State;

/// Error texts clients may match on.
pub mod messages {
    pub use crate::config_as_code::UNREACHABLE as GIT_UNREACHABLE;
    pub use crate::packages::{
        DUPLICATE as PACKAGE_EXISTS, EMPTY_FILE as PACKAGE_EMPTY, NO_FILE as PACKAGE_MISSING,
    };
    pub use crate::processes::VERSION_CONFLICT as PROCESS_VERSION_CONFLICT;
    pub use crate::reply::{PROBLEM, UNAUTHORIZED};
    pub use crate::variables::VERSION_CONFLICT as VARIABLES_VERSION_CONFLICT;
}

/// How an emulator starts: its API key, address, latency, faults and state.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The one API key it takes (`X-Octopus-ApiKey`); anything else is 401.
    pub api_key: String,
    /// Where it listens (port 0: any free port).
    pub listen: SocketAddr,
    /// Added to every answer, as a remote server's round trip.
    pub latency: Duration,
    /// The share of requests that fail (500, 503 or 429), from the start.
    pub fault_rate: f64,
    /// The seed of the fault generator, so a faulty run can be repeated.
    pub seed: u64,
    /// Loaded at start when it exists; rewritten (atomically) after every committed write.
    pub state_file: Option<PathBuf>,
    /// Convert and persistence-settings updates GET `{Url}/info/refs?service=git-upload-pack` first.
    pub check_git_urls: bool,
    /// Behave like a server before 2025.2: no scoped tenant-variable routes
    /// (`commonvariables`/`projectvariables` are unknown routes) and the scoping toggle off.
    pub legacy_tenant_variables: bool,
    /// Behave like a server before 2024.1.1085: a project PUT whose `VersioningStrategy.Template`
    /// is `null` keeps the stored template instead of clearing it (OctopusDeploy/Issues#8455:
    /// "sending a `null` template, Octopus does not clear the current template", fixed in
    /// 2024.1.1085; workaround: send `""`).
    pub keeps_template_on_null: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            api_key: "API-EMULATOR0000000000000000000".to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: 0,
            state_file: None,
            check_git_urls: false,
            legacy_tenant_variables: false,
            keeps_template_on_null: false,
        }
    }
}

/// A finished runbook run for [`Emulator::seed_runbook_run`].
#[derive(Debug, Clone)]
pub struct SeededRun {
    /// The space it ran in.
    pub space_id: String,
    /// The runbook's project.
    pub project_id: String,
    /// The runbook.
    pub runbook_id: String,
    /// The environment it ran in.
    pub environment_id: String,
    /// The tenant it ran for, if any.
    pub tenant_id: Option<String>,
    /// `Success`, `Failed`, `Canceled` or `TimedOut`.
    pub state: String,
    /// When it ended (it started five seconds before).
    pub completed: chrono::DateTime<chrono::Utc>,
    /// File name and content of each artifact the run attached.
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// One request as the emulator saw it. `status` is what the server answered, or for a
/// dropped-after-commit write what it would have answered (the write did commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// As sent, still percent-encoded.
    pub path: String,
    /// The query string as sent.
    pub query: String,
    /// The status answered (or that a dropped write would have answered).
    pub status: u16,
    /// For a POST whose JSON body has a string `Name`: that name, so a test can count the creates
    /// of one resource (a lost answer must be followed by a re-read, never by a second POST).
    #[serde(default)]
    pub name: Option<String>,
    /// The [`key_fingerprint`] of the API key the request presented (`X-Octopus-ApiKey`,
    /// `X-NuGet-ApiKey` or `?apikey=`), whether or not it was this server's: which key reached
    /// which server, never the key itself.
    #[serde(default)]
    pub key: Option<String>,
    /// When the request arrived, before its latency, in µs since the emulator started.
    #[serde(default)]
    pub received_us: u64,
    /// When it was answered (or its answer lost), in µs since the emulator started. With
    /// `received_us`, which requests overlapped: [`rounds_of`] counts the rounds of a run.
    #[serde(default)]
    pub answered_us: u64,
}

/// A short, one-way label of an API key for the request log: `sha1:` and the first 12 hex
/// digits of the key's SHA-1. Tells keys apart without keeping or printing one.
pub fn key_fingerprint(key: &str) -> String {
    let digest = sha1_smol::Sha1::from(key).digest().to_string();
    format!("sha1:{}", &digest[..12])
}

impl RequestRecord {
    /// A committed write: not GET/HEAD, status below 400.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD") && self.status < 400
    }
}

/// Each request with its round, in the order they arrived: a request sent after another was
/// answered is one round later than it (it may have waited for that answer); one sent while
/// another was still in flight shares its round. The last round is the number of latencies the
/// client could not avoid paying, whatever its CPU time.
pub fn rounds_of(records: &[RequestRecord]) -> Vec<(usize, &RequestRecord)> {
    let mut by_arrival: Vec<&RequestRecord> = records.iter().collect();
    by_arrival.sort_by_key(|record| record.received_us);
    let mut rounds: Vec<(usize, &RequestRecord)> = Vec::with_capacity(by_arrival.len());
    for record in by_arrival {
        let after = rounds
            .iter()
            .filter(|(_, earlier)| earlier.answered_us <= record.received_us)
            .map(|(round, _)| *round)
            .max()
            .unwrap_or(0);
        rounds.push((after + 1, record));
    }
    rounds
}

struct Running {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A running emulator; clones are handles to the same server.
#[derive(Clone)]
pub struct Emulator {
    running: Arc<Running>,
}

fn load_state(path: &std::path::Path) -> std::io::Result<State> {
    let text = std::fs::read(path)?;
    serde_json::from_slice(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

impl Emulator {
    /// Start a server (from `state_file` when it exists, else a fresh server) on a task of the
    /// current runtime.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let mut state = match &config.state_file {
            Some(path) if path.exists() => load_state(path)?,
            _ => spaces::fresh_state(),
        };
        state.executions.reindex();
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config, state));
        let (shutdown, signal) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), signal));
        Ok(Emulator {
            running: Arc::new(Running {
                shared,
                addr,
                shutdown,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.running.shared
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The API key it takes.
    pub fn api_key(&self) -> &str {
        &self.running.shared.api_key
    }

    /// Every request in arrival-completion order, faulted ones included, `/_emulator/*` excluded.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared().log().clone()
    }

    /// Committed writes: non-GET/HEAD requests with status < 400 (dropped-after-commit included).
    pub fn writes(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(RequestRecord::is_write)
            .collect()
    }

    /// The request log's clock now (µs since the emulator started), to place a run's start and
    /// end beside its requests' `received_us` and `answered_us`.
    pub fn clock_us(&self) -> u64 {
        self.shared().clock_us()
    }

    /// Forget the requests seen so far.
    pub fn clear_requests(&self) {
        self.shared().log().clear();
    }

    /// Answer every later request after `d`.
    pub fn set_latency(&self, d: Duration) {
        self.shared().set_latency(d);
    }

    /// Each later request fails with probability `rate` (500, 503 or 429 + `Retry-After: 1`,
    /// uniformly), drawn from a generator restarted with `seed`.
    pub fn set_fault_rate(&self, rate: f64, seed: u64) {
        self.shared().faults().set_rate(rate, seed);
    }

    /// The next `times` committed writes whose method matches and whose path contains
    /// `path_contains` (case-insensitively) commit, then lose their connection before any
    /// response byte is sent.
    pub fn drop_connection_after_commit(&self, method: &str, path_contains: &str, times: usize) {
        self.shared()
            .faults()
            .arm_drop(method, path_contains, times);
    }

    /// The next `times` requests matching `method` and `path_contains` are answered `status`
    /// (e.g. 503, 429) without anything being changed.
    pub fn refuse(&self, method: &str, path_contains: &str, times: usize, status: u16) {
        self.shared()
            .faults()
            .arm_refusal(method, path_contains, times, status);
    }

    /// From now on the API key's user lacks `permission` for requests matching `method` and
    /// `path_contains`: they are answered 403 as a real server answers them.
    pub fn deny(&self, method: &str, path_contains: &str, permission: &str) {
        self.shared()
            .faults()
            .deny(method, path_contains, permission);
    }

    /// The next `times` PUTs whose path contains `path_contains` (a process route) find that
    /// another writer committed to the process just before them.
    pub fn edit_concurrently(&self, path_contains: &str, times: usize) {
        self.shared()
            .faults()
            .arm_concurrent_edit(path_contains, times);
    }

    /// The next `times` matching writes commit, then are answered `status` (e.g. 503 from a
    /// proxy) instead of their real answer.
    pub fn fail_after_commit(&self, method: &str, path_contains: &str, times: usize, status: u16) {
        self.shared().faults().arm_lost_answer(
            method,
            path_contains,
            times,
            faults::LostAnswer::Status(status),
        );
    }

    /// After `n` more committed writes, every write is answered 503 without committing.
    pub fn fail_writes_after(&self, n: usize) {
        self.shared().faults().fail_writes_after(n);
    }

    /// Remove the fault rate, drop rules and write budget (latency stays). The cleared rules stay
    /// in [`Emulator::fault_rules`].
    pub fn clear_faults(&self) {
        self.shared().faults().clear();
    }

    /// Every fault rule armed since the emulator started (by the methods above or
    /// `EmulatorConfig::fault_rate`), cleared ones included, with how often each fired. Also served
    /// as `GET /_emulator/faults`.
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.shared().faults().report()
    }

    /// The armed rules that never fired: a test whose rule never fired did not test what it
    /// meant to.
    pub fn unfired_faults(&self) -> Vec<FaultRule> {
        self.fault_rules()
            .into_iter()
            .filter(|rule| rule.fired == 0)
            .collect()
    }

    fn space_index(state: &State, space_id: &str) -> usize {
        state
            .space_index(space_id)
            .unwrap_or_else(|| panic!("the emulator has no space {space_id}"))
    }

    fn seeded(&self) {
        self.shared().save();
    }

    /// Create a space as `POST /api/spaces` would (with its seeded defaults); returns it as GET does.
    /// Panics when the space cannot be created (e.g. duplicate name).
    pub fn seed_space(&self, name: &str) -> Value {
        let doc = {
            let mut state = self.shared().state();
            let body = serde_json::json!({
                "Name": name, "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []
            });
            let index = spaces::create(&mut state, body)
                .unwrap_or_else(|e| panic!("seed_space({name}): {:?}", e.body()));
            spaces::render(&state.spaces[index].space)
        };
        self.seeded();
        doc
    }

    /// Create a document as `POST /api/{space}/{collection}` would, with the same side effects
    /// (a project's variable set, process and Default channel…). Returns it as GET does.
    /// Panics on an unknown space/collection or a validation error.
    pub fn seed(&self, space_id: &str, collection: &str, doc: Value) -> Value {
        let rendered = {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let kind = kinds::kind(collection)
                .unwrap_or_else(|| panic!("unknown collection {collection}"));
            let stored = collections::create(&mut state.space_mut(index), kind, doc)
                .unwrap_or_else(|e| panic!("seed({collection}): {:?}", e.body()));
            collections::render(state.spaces[index].id(), kind, &stored)
        };
        self.seeded();
        rendered
    }

    /// Add a template to the instance's community Library, as the Library sync does
    /// (`Name`, `Type`, `Version`, `Website`, `Properties`, `Parameters`, `Packages`…); a
    /// template with the same `Website` is replaced. Returns it as
    /// `GET /api/communityactiontemplates/{id}` does.
    pub fn seed_community_template(&self, doc: Value) -> Value {
        let rendered = step_templates::seed_community(&mut self.shared().state(), doc);
        self.seeded();
        rendered
    }

    /// Change fields of a stored document as a PUT would (its rules apply), `patch`'s keys over
    /// the stored ones.
    pub fn seed_update(&self, space_id: &str, collection: &str, id: &str, patch: Value) -> Value {
        let rendered = {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let kind = kinds::kind(collection)
                .unwrap_or_else(|| panic!("unknown collection {collection}"));
            let mut doc = collections::get(&state.spaces[index], kind, id)
                .unwrap_or_else(|e| panic!("seed_update({collection}/{id}): {:?}", e.body()));
            if let (Value::Object(doc), Value::Object(patch)) = (&mut doc, patch) {
                doc.extend(patch);
            }
            let stored = collections::update(&mut state.space_mut(index), kind, id, doc)
                .unwrap_or_else(|e| panic!("seed_update({collection}/{id}): {:?}", e.body()));
            collections::render(state.spaces[index].id(), kind, &stored)
        };
        self.seeded();
        rendered
    }

    /// Replace the `Variables` of an owner's variable set (`Projects-1`, `LibraryVariableSets-1`
    /// or `variableset-…`), no `Version` check; sensitive values are stored as secrets.
    pub fn seed_variables(&self, space_id: &str, owner_id: &str, variables: Value) {
        {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let space = &mut state.spaces[index];
            let set = variables::position(space, owner_id)
                .unwrap_or_else(|| panic!("no variable set for {owner_id}"));
            variables::store_variables(space, set, variables)
                .unwrap_or_else(|e| panic!("seed_variables({owner_id}): {:?}", e.body()));
        }
        self.seeded();
    }

    /// Replace the `Steps` of a deployment or runbook process (`deploymentprocess-Projects-1`,
    /// `RunbookProcess-Runbooks-1`) as a PUT would (ids, slugs and secrets filled in, `Version`
    /// incremented), without the `Version` check. Returns the process as GET does.
    pub fn seed_process(&self, space_id: &str, process_id: &str, steps: Value) -> Value {
        let rendered = {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let space = &mut state.spaces[index];
            let position = processes::position(space, process_id)
                .unwrap_or_else(|| panic!("no process {process_id}"));
            let stored = space.processes[position].clone();
            let body = serde_json::json!({"Steps": steps, "Version": stored["Version"].clone()});
            let replaced = processes::replaced(&stored, body, false)
                .unwrap_or_else(|e| panic!("seed_process({process_id}): {:?}", e.body()));
            space.processes[position] = replaced;
            let doc = &space.processes[position];
            processes::render(space.id(), doc, &processes::db_self_link(space.id(), doc))
        };
        self.seeded();
        rendered
    }

    /// Put a project under version control as `POST …/git/convert` did on a server from before
    /// Git variables (2022.1–2022.3): its database process and settings become the default
    /// branch, its variables and runbooks stay in the database (`ConversionState` both false),
    /// as on the older template projects a platform team still has. No check of the repository
    /// URL. `settings` is the `VersionControlSettings` body.
    pub fn seed_convert(&self, space_id: &str, project_id: &str, settings: Value) {
        {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let space = &state.spaces[index];
            let projects = kinds::kind("projects").expect("the projects kind");
            let position = collections::position(space, projects, project_id)
                .unwrap_or_else(|| panic!("no project {project_id}"));
            let settings = config_as_code::persistence_settings(space, &settings, None)
                .unwrap_or_else(|e| panic!("seed_convert({project_id}): {:?}", e.body()));
            config_as_code::convert(&mut state, index, position, settings, None, false)
                .unwrap_or_else(|e| panic!("seed_convert({project_id}): {:?}", e.body()));
        }
        self.seeded();
    }

    /// A Platform Hub process template of this instance: `slug`, its `name`, its published
    /// `versions` (`1.0.0`, …), and the spaces it is shared with (all of them, or `space_ids`).
    pub fn seed_process_template(
        &self,
        slug: &str,
        name: &str,
        versions: &[&str],
        shared_to_all: bool,
        space_ids: &[&str],
    ) {
        {
            let mut state = self.shared().state();
            state.process_templates.retain(|t| t["Slug"] != slug);
            state.process_templates.push(serde_json::json!({
                "Slug": slug,
                "Name": name,
                "Versions": versions.iter().map(|v| serde_json::json!({"Version": v})).collect::<Vec<_>>(),
                "SharedToAllSpaces": shared_to_all,
                "IndividuallySharedSpaceIds": space_ids,
            }));
        }
        self.seeded();
    }

    /// What `octofleet fork` does to the git world this server reads: the repository at `to`
    /// holds every branch of the one at `from` (each URL with its base path), so a project
    /// converted onto `to` finds the upstream's OCL there. Panics when `from` holds nothing.
    pub fn fork_repository(&self, from: (&str, &str), to: (&str, &str)) {
        {
            let mut state = self.shared().state();
            let key = |(url, base_path): (&str, &str)| {
                config_as_code::repository_key(
                    &serde_json::json!({"Url": url, "BasePath": base_path}),
                )
            };
            let repo = state
                .repositories
                .get(&key(from))
                .cloned()
                .unwrap_or_else(|| panic!("no repository at {from:?}"));
            state.repositories.insert(key(to), repo);
        }
        self.seeded();
    }

    /// A version-controlled project's document on a git ref as `GET
    /// /projects/{id}/{gitRef}/{what}` returns it: `what` is `deploymentprocesses`,
    /// `deploymentsettings` or `variables`. `None` when the branch or the document is missing.
    pub fn git_document(
        &self,
        space_id: &str,
        project_id: &str,
        git_ref: &str,
        what: &str,
    ) -> Option<Value> {
        let state = self.shared().state();
        let space = &state.spaces[state.space_index(space_id)?];
        let projects = kinds::kind("projects").expect("the projects kind");
        let project = collections::stored(space, projects, project_id).ok()?;
        let branch = config_as_code::branch_name(git_ref);
        let docs = config_as_code::branch(&state.repositories, project, &branch).ok()?;
        let checkout = |doc: &Value| config_as_code::checkout(space, doc.clone());
        match what {
            "deploymentprocesses" => docs.deployment_process.as_ref().map(checkout).map(|doc| {
                let link = config_as_code::process_link(space.id(), project, &branch, &doc);
                processes::render(space.id(), &doc, &link)
            }),
            "deploymentsettings" => docs.deployment_settings.as_ref().map(checkout).map(|doc| {
                let link = config_as_code::settings_link(space.id(), project, &branch);
                projects::render_settings(&doc, &link)
            }),
            "variables" => docs
                .variables
                .as_ref()
                .map(checkout)
                .map(|set| config_as_code::render_variables(space, &set, project, &branch)),
            _ => None,
        }
    }

    /// Set a tenant's unscoped common variable value for a library variable set template, by
    /// template name (sensitive when the template's control type is Sensitive).
    pub fn seed_tenant_common_variable(
        &self,
        space_id: &str,
        tenant_id: &str,
        lvs_id: &str,
        template_name: &str,
        value: &str,
    ) {
        {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let State { ids, spaces, .. } = &mut *state;
            tenant_variables::seed_common(
                &mut spaces[index],
                ids,
                tenant_id,
                lvs_id,
                template_name,
                value,
            )
            .unwrap_or_else(|e| panic!("seed_tenant_common_variable: {:?}", e.body()));
        }
        self.seeded();
    }

    /// A document as GET returns it. `collection` is a collection route segment
    /// (`environments`, `projects` — by ID or slug —, `feeds`, …) or one of `spaces`,
    /// `variables` (set ID or owner ID), `deploymentprocesses`, `runbookprocesses`, `packages`
    /// (`packages-<id>.<version>`).
    pub fn get(&self, space_id: &str, collection: &str, id: &str) -> Option<Value> {
        let state = self.shared().state();
        if collection.eq_ignore_ascii_case("spaces") {
            return state
                .space_index(id)
                .map(|i| spaces::render(&state.spaces[i].space));
        }
        let space = &state.spaces[state.space_index(space_id)?];
        match collection.to_ascii_lowercase().as_str() {
            "variables" | "variablesets" => variables::position(space, id).map(|i| {
                let set = &space.variable_sets[i];
                variables::render(
                    space,
                    set,
                    &variables::self_link(space.id(), documents::id_of(set)),
                )
            }),
            "deploymentprocesses" | "runbookprocesses" => processes::position(space, id).map(|i| {
                let doc = &space.processes[i];
                processes::render(space.id(), doc, &processes::db_self_link(space.id(), doc))
            }),
            "packages" => packages::get(space, id).ok(),
            other => collections::get(space, kinds::kind(other)?, id).ok(),
        }
    }

    /// Every document of a collection as GET returns them (no paging); `spaces` lists spaces.
    pub fn list(&self, space_id: &str, collection: &str) -> Vec<Value> {
        let state = self.shared().state();
        let all = paging::Query::parse("");
        if collection.eq_ignore_ascii_case("spaces") {
            return spaces::all(&state, &all)
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        let Some(index) = state.space_index(space_id) else {
            return Vec::new();
        };
        let Some(kind) = kinds::kind(collection) else {
            return Vec::new();
        };
        collections::all(&state.spaces[index], kind, &all)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// A stored secret, for assertions. `owner_or_resource_id` is a tenant (then `name` is a
    /// template name), a variable-set owner or set ID (`name` = variable name), a process ID, or
    /// any document ID (`name` = dotted path or suffix: `Password`, `Details.Password`,
    /// `PersistenceSettings.Credentials.Password`, an action property name).
    pub fn secret_value(
        &self,
        space_id: &str,
        owner_or_resource_id: &str,
        name: &str,
    ) -> Option<String> {
        let state = self.shared().state();
        let space = &state.spaces[state.space_index(space_id)?];
        let id = owner_or_resource_id;
        if find_by_id(space.docs("tenants"), id).is_some() {
            if let Some(secret) = tenant_variables::secret(space, id, name) {
                return Some(secret);
            }
        }
        let documents = space
            .collections
            .values()
            .flatten()
            .filter(|d| same_id(documents::id_of(d), id))
            .chain(variables::position(space, id).map(|i| &space.variable_sets[i]))
            .chain(space.processes.iter().filter(|p| {
                same_id(documents::id_of(p), id)
                    || same_id(documents::id_of(p), &processes::deployment_process_id(id))
            }));
        documents
            .into_iter()
            .find_map(|doc| secrets::find_secret(doc, name))
    }

    /// The whole state (what `--state` persists), secrets included.
    pub fn state_json(&self) -> Value {
        serde_json::to_value(&*self.shared().state()).unwrap_or(Value::Null)
    }

    /// Start the task executor ([`ExecutorConfig`]): from now on queued runbook runs are taken
    /// and run, at most `task_cap` at once, until the emulator shuts down. Without it tasks
    /// stay queued, as on a server whose task queue is stopped.
    pub fn start_executor(&self, config: ExecutorConfig) {
        tokio::spawn(executor::run(
            self.running.shared.clone(),
            Arc::new(config),
            self.url(),
            self.running.shutdown.subscribe(),
        ));
    }

    /// Emulator-only: the next `shots` tasks (`None`: all) of `tenant` (name or ID; `None`: any)
    /// running `runbook` (name or ID; `None`: any) fail when they start.
    pub fn fail_tasks(&self, tenant: Option<&str>, runbook: Option<&str>, shots: Option<usize>) {
        self.add_task_rule(tenant, runbook, TaskEffect::Fail, shots);
    }

    /// Emulator-only: the next `shots` matching tasks start and then hang, holding their worker,
    /// until they are cancelled.
    pub fn hang_tasks(&self, tenant: Option<&str>, runbook: Option<&str>, shots: Option<usize>) {
        self.add_task_rule(tenant, runbook, TaskEffect::Hang, shots);
    }

    fn add_task_rule(
        &self,
        tenant: Option<&str>,
        runbook: Option<&str>,
        effect: TaskEffect,
        shots: Option<usize>,
    ) {
        self.shared().state().executions.rules.push(TaskRule {
            tenant: tenant.map(str::to_owned),
            runbook: runbook.map(str::to_owned),
            effect,
            shots,
            fired: 0,
        });
    }

    /// Every task rule with how often it fired (also `GET /_emulator/task-rules`).
    pub fn task_rules(&self) -> Vec<TaskRule> {
        self.shared().state().executions.rules.clone()
    }

    /// Cancel a task as a person would in the web UI (`POST /api/tasks/{id}/cancel`).
    pub fn cancel_task(&self, task_id: &str) -> Option<Value> {
        let cancelled = tasks::cancel(&mut self.shared().state(), task_id).ok();
        self.seeded();
        cancelled
    }

    /// Every task, oldest first, as `GET /api/tasks/{id}` returns it.
    pub fn tasks(&self) -> Vec<Value> {
        self.shared()
            .state()
            .executions
            .tasks
            .iter()
            .map(tasks::render)
            .collect()
    }

    /// Every runbook run, oldest first, as stored (`TaskId`, `TenantId`, `RunbookId`, …).
    pub fn runbook_runs(&self) -> Vec<Value> {
        self.shared().state().executions.runs.clone()
    }

    /// The artifacts a task attached: file name and content.
    pub fn artifacts_of(&self, task_id: &str) -> Vec<(String, Vec<u8>)> {
        self.shared()
            .state()
            .executions
            .artifacts
            .iter()
            .filter(|a| documents::same_id(&a.server_task_id, task_id))
            .map(|a| (a.filename.clone(), a.content.clone()))
            .collect()
    }

    /// Create a runbook snapshot of `runbook_id` and publish it, as `POST
    /// /api/{space}/runbookSnapshots?publish=true` would. Returns the snapshot.
    pub fn seed_published_snapshot(&self, space_id: &str, runbook_id: &str, name: &str) -> Value {
        let snapshot = {
            let mut state = self.shared().state();
            let index = Self::space_index(&state, space_id);
            let project = state.spaces[index]
                .docs("runbooks")
                .iter()
                .find(|r| documents::same_id(documents::id_of(r), runbook_id))
                .and_then(|r| r.get("ProjectId").cloned())
                .unwrap_or(Value::Null);
            let body =
                serde_json::json!({"Name": name, "ProjectId": project, "RunbookId": runbook_id});
            let reply = runbook_snapshots::route(
                &mut state,
                "POST",
                index,
                &["runbookSnapshots".to_owned()],
                &paging::Query::parse("publish=true"),
                body,
            )
            .unwrap_or_else(|e| panic!("seed_published_snapshot({runbook_id}): {:?}", e.body()));
            match reply.body {
                reply::ReplyBody::Json(value) => value,
                _ => Value::Null,
            }
        };
        self.seeded();
        snapshot
    }

    /// Add a finished runbook run to the task history without running it (benchmarks' year of
    /// history, tests' past runs): the run, its task ended in `run.state` at `run.completed`,
    /// and its artifacts. Returns the task's ID.
    pub fn seed_runbook_run(&self, run: SeededRun) -> String {
        let task_id = {
            let mut state = self.shared().state();
            let run_id = state.ids.next("RunbookRuns");
            let task_id = state.ids.next("ServerTasks");
            let time = |at: chrono::DateTime<chrono::Utc>| {
                at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
            };
            let started = run.completed - chrono::Duration::seconds(5);
            state.executions.runs.push(serde_json::json!({
                "Id": run_id, "SpaceId": run.space_id, "ProjectId": run.project_id,
                "RunbookId": run.runbook_id, "EnvironmentId": run.environment_id,
                "TenantId": run.tenant_id, "TaskId": task_id, "Created": time(started),
                "RunbookSnapshotId": null, "FrozenRunbookProcessId": null,
            }));
            state.executions.push_task(tasks::Task {
                number: tasks::number_of(&task_id),
                id: task_id.clone(),
                space_id: run.space_id.clone(),
                name: tasks::RUNBOOK_RUN.to_owned(),
                description: "Seeded runbook run".to_owned(),
                arguments: serde_json::json!({"RunbookRunId": run_id}),
                state: run.state.clone(),
                project_id: Some(run.project_id.clone()),
                runbook_id: Some(run.runbook_id.clone()),
                tenant_id: run.tenant_id.clone(),
                environment_id: Some(run.environment_id.clone()),
                queue_time: time(started),
                start_time: Some(time(started)),
                completed_time: Some(time(run.completed)),
                last_updated_time: time(run.completed),
                error_message: (run.state != "Success").then(|| "Seeded failure".to_owned()),
                has_warnings_or_errors: false,
                log: Vec::new(),
            });
            for (name, content) in run.artifacts {
                artifacts::attach(&mut state, &task_id, &name, "seeded", content);
            }
            task_id
        };
        self.seeded();
        task_id
    }

    /// Stop accepting connections, close open ones and wait for the server task.
    pub async fn shutdown(self) {
        let _ = self.running.shutdown.send(true);
        let task = self.running.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
