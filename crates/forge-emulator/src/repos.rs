//! The forge's state: owners (the user and organizations), repository records, and the bare
//! repositories on disk, created and read with real git so that git alone decides what they hold.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    User,
    Org,
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub id: u64,
    pub name: String,
    pub kind: OwnerKind,
}

#[derive(Debug, Clone)]
pub struct RepoRecord {
    pub id: u64,
    pub owner: Owner,
    /// The path: what URLs and the disk use.
    pub name: String,
    /// GitLab's project name, which may differ from its path ("My Repo" at `my-repo`); the
    /// path elsewhere.
    pub display_name: String,
    pub description: String,
    pub private: bool,
    /// `(owner, name)` of the repository this one was forked from.
    pub parent: Option<(String, String)>,
    pub created_at: String,
}

impl RepoRecord {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner.name, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoError {
    OwnerMissing,
    NameTaken,
    /// The owner already has a fork of that repository (Gitea allows one per owner).
    AlreadyForked,
    InvalidName,
    Git(String),
}

/// A pull request (GitLab: merge request) between two branches of one repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PullRecord {
    /// Unique over the forge.
    pub id: u64,
    /// Per repository: Gitea's and GitHub's `number`, GitLab's `iid`.
    pub number: u64,
    /// The repository it belongs to.
    pub repo_id: u64,
    /// The branch it merges from.
    pub head: String,
    /// The branch it merges into.
    pub base: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub body: String,
    /// `open` (the emulator never closes or merges one).
    pub state: String,
    /// When it was opened (RFC 3339).
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullError {
    /// An open one with the same head and base exists.
    Exists(Box<PullRecord>),
    /// `head` or `base` is not a branch of the repository: which one.
    BranchMissing(&'static str, String),
    /// Head and base are the same branch.
    SameBranch,
}

#[derive(Default)]
struct State {
    next_id: u64,
    owners: Vec<Owner>,
    repos: Vec<RepoRecord>,
    pulls: Vec<PullRecord>,
}

pub struct Repos {
    root: TempDir,
    state: Mutex<State>,
}

/// Gitea's `AlphaDashDot` rule (GitHub's and GitLab's paths accept the same characters), at most
/// 100 characters, and not `.`/`..`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && !name.ends_with(".git")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Repos {
    pub fn new(username: &str) -> std::io::Result<Repos> {
        let root = tempfile::Builder::new()
            .prefix("forge-emulator-")
            .tempdir()?;
        let state = State {
            next_id: 2,
            owners: vec![Owner {
                id: 1,
                name: username.to_owned(),
                kind: OwnerKind::User,
            }],
            repos: Vec::new(),
            pulls: Vec::new(),
        };
        Ok(Repos {
            root,
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn user(&self) -> Owner {
        self.state().owners[0].clone()
    }

    /// Every user and organization, oldest first.
    pub fn owners(&self) -> Vec<Owner> {
        self.state().owners.clone()
    }

    pub fn owner(&self, name: &str) -> Option<Owner> {
        self.state()
            .owners
            .iter()
            .find(|owner| owner.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    pub fn owner_by_id(&self, id: u64) -> Option<Owner> {
        self.state()
            .owners
            .iter()
            .find(|owner| owner.id == id)
            .cloned()
    }

    /// Create an organization; `NameTaken` when a user or organization has the name.
    pub fn try_create_org(&self, name: &str) -> Result<Owner, RepoError> {
        if !valid_name(name) {
            return Err(RepoError::InvalidName);
        }
        let mut state = self.state();
        if state
            .owners
            .iter()
            .any(|owner| owner.name.eq_ignore_ascii_case(name))
        {
            return Err(RepoError::NameTaken);
        }
        let owner = Owner {
            id: state.next_id,
            name: name.to_owned(),
            kind: OwnerKind::Org,
        };
        state.next_id += 1;
        state.owners.push(owner.clone());
        Ok(owner)
    }

    pub fn create_org(&self, name: &str) {
        match self.try_create_org(name) {
            Ok(_) | Err(RepoError::NameTaken) => {}
            Err(error) => panic!("create_org({name}): {error:?}"),
        }
    }

    pub fn find(&self, owner: &str, name: &str) -> Option<RepoRecord> {
        let name = name.strip_suffix(".git").unwrap_or(name);
        self.state()
            .repos
            .iter()
            .find(|repo| {
                repo.owner.name.eq_ignore_ascii_case(owner) && repo.name.eq_ignore_ascii_case(name)
            })
            .cloned()
    }

    pub fn find_by_id(&self, id: u64) -> Option<RepoRecord> {
        self.state()
            .repos
            .iter()
            .find(|repo| repo.id == id)
            .cloned()
    }

    pub fn path(&self, repo: &RepoRecord) -> PathBuf {
        self.root()
            .join(&repo.owner.name)
            .join(format!("{}.git", repo.name))
    }

    pub fn path_of(&self, owner: &str, name: &str) -> Option<PathBuf> {
        self.find(owner, name).map(|repo| self.path(&repo))
    }

    /// Path relative to the root, as `git http-backend` wants it in `PATH_INFO`.
    pub fn relative_path(repo: &RepoRecord) -> String {
        format!("/{}/{}.git", repo.owner.name, repo.name)
    }

    fn insert(
        &self,
        owner: &str,
        name: &str,
        display_name: &str,
        description: &str,
        private: bool,
        parent: Option<(String, String)>,
    ) -> Result<RepoRecord, RepoError> {
        if !valid_name(name) {
            return Err(RepoError::InvalidName);
        }
        let owner = self.owner(owner).ok_or(RepoError::OwnerMissing)?;
        let mut state = self.state();
        let taken = state
            .repos
            .iter()
            .any(|repo| repo.owner.id == owner.id && repo.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(RepoError::NameTaken);
        }
        if let Some((base_owner, base_name)) = &parent {
            let forked = state.repos.iter().any(|repo| {
                repo.owner.id == owner.id
                    && repo.parent.as_ref().is_some_and(|(o, n)| {
                        o.eq_ignore_ascii_case(base_owner) && n.eq_ignore_ascii_case(base_name)
                    })
            });
            if forked {
                return Err(RepoError::AlreadyForked);
            }
        }
        let record = RepoRecord {
            id: state.next_id,
            owner,
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            description: description.to_owned(),
            private,
            parent,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        state.next_id += 1;
        state.repos.push(record.clone());
        Ok(record)
    }

    fn remove(&self, id: u64) {
        self.state().repos.retain(|repo| repo.id != id);
    }

    /// An empty bare repository whose `HEAD` names `main` (Gitea's `DEFAULT_BRANCH`).
    pub fn create(
        &self,
        owner: &str,
        name: &str,
        display_name: &str,
        description: &str,
        private: bool,
    ) -> Result<RepoRecord, RepoError> {
        let record = self.insert(owner, name, display_name, description, private, None)?;
        let path = self.path(&record);
        if let Err(error) = git(
            None,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
            Some(&path),
        ) {
            self.remove(record.id);
            return Err(RepoError::Git(error));
        }
        Ok(record)
    }

    pub fn create_repo(&self, owner: &str, name: &str) -> Result<PathBuf, RepoError> {
        self.create(owner, name, name, "", true)
            .map(|record| self.path(&record))
    }

    /// A bare clone of `base` owned by `target_owner`, linked to its parent.
    pub fn fork(
        &self,
        base: &RepoRecord,
        target_owner: &str,
        name: &str,
    ) -> Result<RepoRecord, RepoError> {
        let record = self.insert(
            target_owner,
            name,
            name,
            &base.description,
            base.private,
            Some((base.owner.name.clone(), base.name.clone())),
        )?;
        let from = self.path(base);
        let to = self.path(&record);
        let clone = git(
            None,
            &[
                "clone",
                "--quiet",
                "--bare",
                &from.to_string_lossy(),
                &to.to_string_lossy(),
            ],
            None,
        );
        if let Err(error) = clone {
            self.remove(record.id);
            return Err(RepoError::Git(error));
        }
        Ok(record)
    }

    /// Open a pull request from `head` into `base`, both branches of `repo`.
    pub fn create_pull(
        &self,
        repo: &RepoRecord,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRecord, PullError> {
        let path = self.path(repo);
        for (which, branch) in [("head", head), ("base", base)] {
            if !has_branch(&path, branch) {
                return Err(PullError::BranchMissing(which, branch.to_owned()));
            }
        }
        if head == base {
            return Err(PullError::SameBranch);
        }
        let mut state = self.state();
        if let Some(existing) = state.pulls.iter().find(|pull| {
            pull.repo_id == repo.id
                && pull.head == head
                && pull.base == base
                && pull.state == "open"
        }) {
            return Err(PullError::Exists(Box::new(existing.clone())));
        }
        let number = 1 + state
            .pulls
            .iter()
            .filter(|pull| pull.repo_id == repo.id)
            .count() as u64;
        let record = PullRecord {
            id: state.next_id,
            number,
            repo_id: repo.id,
            head: head.to_owned(),
            base: base.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            state: "open".to_owned(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        state.next_id += 1;
        state.pulls.push(record.clone());
        Ok(record)
    }

    /// Every pull request of `repo`, oldest first.
    pub fn pulls(&self, repo: &RepoRecord) -> Vec<PullRecord> {
        self.state()
            .pulls
            .iter()
            .filter(|pull| pull.repo_id == repo.id)
            .cloned()
            .collect()
    }

    pub fn default_branch(&self, owner: &str, name: &str) -> Option<String> {
        head_branch(&self.path_of(owner, name)?)
    }
}

/// Run git; `path` is appended as the last argument (when `dir` is None) or used as `--git-dir`.
fn git(git_dir: Option<&Path>, args: &[&str], last: Option<&Path>) -> Result<String, String> {
    git_with_input(git_dir, args, last, None)
}

fn git_with_input(
    git_dir: Option<&Path>,
    args: &[&str],
    last: Option<&Path>,
    input: Option<&[u8]>,
) -> Result<String, String> {
    let mut command = Command::new("git");
    if let Some(dir) = git_dir {
        command.arg("--git-dir").arg(dir);
    }
    command.args(args);
    if let Some(path) = last {
        command.arg(path);
    }
    // Test machines' global git settings must not change what the repositories hold.
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(input)
            .map_err(|error| format!("writing to git: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("waiting for git: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

pub fn head_branch(path: &Path) -> Option<String> {
    git(Some(path), &["symbolic-ref", "--short", "HEAD"], None).ok()
}

pub fn is_empty(path: &Path) -> bool {
    git(
        Some(path),
        &[
            "for-each-ref",
            "--count=1",
            "--format=%(refname)",
            "refs/heads",
        ],
        None,
    )
    .map(|out| out.is_empty())
    .unwrap_or(true)
}

pub fn has_branch(path: &Path, branch: &str) -> bool {
    rev_parse(path, &format!("refs/heads/{branch}")).is_some()
}

pub fn set_head(path: &Path, branch: &str) -> Result<(), String> {
    git(
        Some(path),
        &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        None,
    )
    .map(drop)
}

pub fn rev_parse(path: &Path, rev: &str) -> Option<String> {
    git(Some(path), &["rev-parse", "--verify", "--quiet", rev], None)
        .ok()
        .filter(|oid| !oid.is_empty())
}

pub fn refs(path: &Path) -> Vec<(String, String)> {
    let listing = git(
        Some(path),
        &["for-each-ref", "--format=%(refname) %(objectname)"],
        None,
    )
    .unwrap_or_default();
    let mut refs: Vec<(String, String)> = listing
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, oid)| (name.to_owned(), oid.to_owned()))
        .collect();
    refs.sort();
    refs
}

/// The history of an upstream repository, built with one `git fast-import`.
#[derive(Debug, Clone)]
pub struct UpstreamSpec {
    /// The main line, e.g. `main`; it becomes `HEAD`.
    pub branch: String,
    /// Commits on the main line (at least 1).
    pub commits: usize,
    /// Other branches, each one commit on top of a main-line commit spread over the history.
    pub branches: Vec<String>,
    /// Annotated tags on the main line's tip.
    pub tags: Vec<String>,
}

impl UpstreamSpec {
    /// A history of `commits` commits on `branch` alone, with no other branch or tag.
    pub fn main_line(branch: &str, commits: usize) -> Self {
        UpstreamSpec {
            branch: branch.to_owned(),
            commits,
            branches: Vec::new(),
            tags: Vec::new(),
        }
    }
}

fn data(stream: &mut String, text: &str) {
    stream.push_str(&format!("data {}\n{text}\n", text.len()));
}

pub fn build_history(path: &Path, spec: &UpstreamSpec) -> Result<(), String> {
    let commits = spec.commits.max(1);
    let mut stream = String::new();
    for i in 1..=commits {
        stream.push_str(&format!(
            "commit refs/heads/{}\nmark :{i}\ncommitter Upstream <upstream@example.com> {} +0000\n",
            spec.branch,
            1_700_000_000 + i
        ));
        data(&mut stream, &format!("Upstream change {i}"));
        stream.push_str("M 100644 inline .octopus/deployment_process.ocl\n");
        data(
            &mut stream,
            &format!("step \"Run a Script\" {{\n  revision = {i}\n}}\n"),
        );
        stream.push('\n');
    }
    let mut mark = commits;
    for (index, branch) in spec.branches.iter().enumerate() {
        mark += 1;
        let base = 1 + index * commits / spec.branches.len().max(1);
        stream.push_str(&format!(
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter Upstream <upstream@example.com> {} +0000\n",
            1_700_100_000 + index
        ));
        data(&mut stream, &format!("Work on {branch}"));
        stream.push_str(&format!("from :{base}\n"));
        stream.push_str(&format!("M 100644 inline branches/{branch}.txt\n"));
        data(&mut stream, &format!("{branch}\n"));
        stream.push('\n');
    }
    for tag in &spec.tags {
        stream.push_str(&format!(
            "tag {tag}\nfrom :{commits}\ntagger Upstream <upstream@example.com> 1700200000 +0000\n"
        ));
        // A tag has no optional LF of its own after its data (a commit does).
        data(&mut stream, &format!("Release {tag}"));
    }
    git_with_input(
        Some(path),
        &["fast-import", "--quiet"],
        None,
        Some(stream.as_bytes()),
    )?;
    set_head(path, &spec.branch)
}

/// Distinguishes commits made in the same second with the same message.
static COMMIT_COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn commit_on(path: &Path, branch: &str, message: &str) -> Result<String, String> {
    let serial = COMMIT_COUNTER.fetch_add(1, Ordering::Relaxed);
    let content = format!("{message}\n{serial}\n");
    commit_files(
        path,
        branch,
        message,
        &[(&format!("changes/{serial}.txt"), Some(&content))],
    )
}

/// One commit on `branch` writing (or with `None` deleting) each file.
pub fn commit_files(
    path: &Path,
    branch: &str,
    message: &str,
    files: &[(&str, Option<&str>)],
) -> Result<String, String> {
    let tip = rev_parse(path, &format!("refs/heads/{branch}"));
    let seconds = chrono::Utc::now().timestamp();
    let mut stream = format!(
        "commit refs/heads/{branch}\ncommitter Someone <someone@example.com> {seconds} +0000\n"
    );
    data(&mut stream, message);
    if let Some(tip) = tip {
        stream.push_str(&format!("from {tip}\n"));
    }
    for (file, content) in files {
        match content {
            Some(content) => {
                stream.push_str(&format!("M 100644 inline {file}\n"));
                data(&mut stream, content);
            }
            None => stream.push_str(&format!("D {file}\n")),
        }
    }
    stream.push('\n');
    git_with_input(
        Some(path),
        &["fast-import", "--quiet"],
        None,
        Some(stream.as_bytes()),
    )?;
    rev_parse(path, &format!("refs/heads/{branch}"))
        .ok_or_else(|| format!("refs/heads/{branch} missing after fast-import"))
}

/// `git show <object>`, e.g. `main:path`.
pub fn show(path: &Path, object: &str) -> Option<String> {
    git(Some(path), &["show", object], None).ok()
}

pub fn parents(path: &Path, rev: &str) -> Vec<String> {
    git(Some(path), &["rev-list", "--parents", "-n", "1", rev], None)
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// GitLab's "Allowed to force push" on the default branch (read by the GitLab pre-receive hook).
pub fn allow_force_push(path: &Path) -> Result<(), String> {
    git(
        Some(path),
        &["config", "emulator.allowForcePush", "true"],
        None,
    )
    .map(drop)
}

/// GitLab's "Allowed to push and merge" on the default branch without the user's role (read by
/// the GitLab pre-receive hook).
pub fn deny_pushes_by_role(path: &Path) -> Result<(), String> {
    git(
        Some(path),
        &["config", "emulator.pushDeniedByRole", "true"],
        None,
    )
    .map(drop)
}

pub fn install_refusing_hook(path: &Path, message: &str) -> std::io::Result<()> {
    let hooks = path.join("hooks");
    std::fs::create_dir_all(&hooks)?;
    let quoted = format!("'{}'", message.replace('\'', r"'\''"));
    let hook = hooks.join("pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\necho {quoted} >&2\nexit 1\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
