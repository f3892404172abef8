//! Mirror upstream refs into the downstream repository with git2: fetch both into a temporary
//! bare repository, decide per ref (create, unchanged, fast-forward, diverged), push explicit
//! refspecs, and check every ref's push status.
//!
//! Credentials go through git2's credentials callback only, never into a URL or a config file,
//! and the temporary repository is removed when the mirror ends, whatever the outcome.

use crate::secret::Secret;
use git2::{
    AutotagOption, Cred, CredentialType, Direction, ErrorClass, FetchOptions, Oid, PushOptions,
    RemoteCallbacks, Repository,
};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::fmt;

/// Local namespaces of the scratch repository: what each side had when we fetched it.
const UPSTREAM_NS: &str = "refs/upstream/";
const DOWNSTREAM_NS: &str = "refs/downstream/";

#[derive(Debug, Clone)]
pub struct GitCredentials {
    pub username: String,
    /// A password or an access token.
    pub password: Secret,
}

#[derive(Debug, Clone)]
pub struct MirrorRequest {
    pub upstream_url: String,
    pub downstream_url: String,
    /// The main line, e.g. `main`; must exist upstream.
    pub branch: String,
    /// Every upstream branch and tag, not only `branch`.
    pub all_branches: bool,
    /// Reset refs that differ in any other way than "behind upstream" to upstream's value.
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefAction {
    /// Missing downstream: pushed.
    Created,
    /// Already at upstream's commit.
    Unchanged,
    /// Behind upstream: pushed as a fast-forward.
    FastForwarded,
    /// Diverged or ahead, and `force` was given: reset to upstream.
    Forced,
    /// Ahead of upstream (the tenant built on it): left as it is.
    KeptAhead,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefOutcome {
    /// The full ref name, e.g. `refs/heads/main`.
    pub name: String,
    pub action: RefAction,
    pub upstream: String,
    /// The downstream value before this run.
    pub downstream: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MirrorReport {
    pub refs: Vec<RefOutcome>,
    /// Refs pushed (zero on a re-run with no upstream change: nothing was sent).
    pub pushed_refs: usize,
    pub bytes_fetched: usize,
    pub bytes_pushed: usize,
    /// The main line did not exist downstream before this run.
    pub main_line_created: bool,
}

/// A ref whose downstream value is not behind upstream's and not equal to it.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub name: String,
    pub downstream: String,
    pub upstream: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the git server refused the credentials for {url} (401): check Git.Credentials.Username and Git.Credentials.Password")]
    Unauthorized { url: String },
    #[error("the {side} repository {url} was not found (404){}", if *.side == "upstream" { ": check Git.Url.Upstream (or Git.Url.Organization and Git.Url.Template)" } else { "" })]
    RepositoryMissing { side: &'static str, url: String },
    #[error("the upstream repository {url} has no branch `{branch}`: check Git.Branch.MainLine")]
    UpstreamBranchMissing { url: String, branch: String },
    #[error("{}", diverged_message(.0))]
    Diverged(Vec<Divergence>),
    #[error("the downstream repository {url} refused {}{}", refused_list(.refs), remote_text(.remote_messages))]
    Rejected {
        url: String,
        refs: Vec<(String, String)>,
        remote_messages: String,
    },
    #[error("{context}: {}", .source.message())]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    #[error("cannot create the temporary repository: {0}")]
    Scratch(#[source] std::io::Error),
}

fn diverged_message(divergences: &[Divergence]) -> String {
    let mut text = String::from(
        "the downstream repository has commits that upstream does not have (the tenant committed to it), so fork will not overwrite it:",
    );
    for divergence in divergences {
        text.push_str(&format!(
            "\n  - {}: downstream is at {}, upstream is at {}",
            divergence.name, divergence.downstream, divergence.upstream
        ));
    }
    text.push_str("\nmerge upstream into the downstream branch, or re-run with --force (Octofleet.Fork.Force) to reset it to upstream, discarding the downstream commits");
    text
}

fn refused_list(refs: &[(String, String)]) -> String {
    refs.iter()
        .map(|(name, status)| format!("{name} ({status})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn remote_text(messages: &str) -> String {
    let text = messages
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        String::new()
    } else {
        format!("; the server said: {text}")
    }
}

impl fmt::Display for RefAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefAction::Created => "created",
            RefAction::Unchanged => "unchanged",
            RefAction::FastForwarded => "fast-forwarded",
            RefAction::Forced => "forced",
            RefAction::KeptAhead => "kept (ahead of upstream)",
        })
    }
}

/// Callbacks with the credentials. libgit2 asks again while the server keeps answering 401; the
/// second ask means the credentials were refused, so it is an error (and noted in `refused`).
fn callbacks<'a>(credentials: &'a GitCredentials, refused: &'a Cell<bool>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut asked = 0;
    callbacks.credentials(move |_url, _username_from_url, allowed| {
        asked += 1;
        if asked > 1 {
            refused.set(true);
            return Err(git2::Error::from_str("the server refused the credentials"));
        }
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return Err(git2::Error::from_str(
                "the server asks for a kind of credentials other than a username and password",
            ));
        }
        Cred::userpass_plaintext(&credentials.username, credentials.password.expose())
    });
    callbacks
}

fn classify(
    error: git2::Error,
    refused: bool,
    side: &'static str,
    url: &str,
    context: &str,
) -> MirrorError {
    if refused {
        return MirrorError::Unauthorized {
            url: url.to_owned(),
        };
    }
    if error.class() == ErrorClass::Http && error.message().contains("404") {
        return MirrorError::RepositoryMissing {
            side,
            url: url.to_owned(),
        };
    }
    MirrorError::Git {
        context: format!("{context} {url}"),
        source: error,
    }
}

/// Fetch `refspecs` from `url` into the scratch repository; returns the bytes received.
fn fetch(
    scratch: &Repository,
    url: &str,
    refspecs: &[String],
    credentials: &GitCredentials,
    side: &'static str,
) -> Result<usize, MirrorError> {
    let refused = Cell::new(false);
    let mut remote = scratch
        .remote_anonymous(url)
        .map_err(|source| MirrorError::Git {
            context: format!("{side} URL {url}"),
            source,
        })?;
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks(credentials, &refused))
        .download_tags(AutotagOption::None);
    let specs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
    remote
        .fetch(&specs, Some(&mut options), None)
        .map_err(|error| classify(error, refused.get(), side, url, "fetching from"))?;
    Ok(remote.stats().received_bytes())
}

/// The refs `url` advertises, as `(name under refs/, oid)`, without fetching any object.
fn advertised(
    scratch: &Repository,
    url: &str,
    credentials: &GitCredentials,
    side: &'static str,
) -> Result<Vec<(String, Oid)>, MirrorError> {
    let refused = Cell::new(false);
    let mut remote = scratch
        .remote_anonymous(url)
        .map_err(|source| MirrorError::Git {
            context: format!("{side} URL {url}"),
            source,
        })?;
    let connection = remote
        .connect_auth(
            Direction::Fetch,
            Some(callbacks(credentials, &refused)),
            None,
        )
        .map_err(|error| classify(error, refused.get(), side, url, "connecting to"))?;
    let heads = connection
        .list()
        .map_err(|error| classify(error, refused.get(), side, url, "listing the refs of"))?;
    Ok(heads
        .iter()
        .filter(|head| !head.name().ends_with("^{}"))
        .filter_map(|head| {
            let name = head.name().strip_prefix("refs/")?;
            Some((name.to_owned(), head.oid()))
        })
        .collect())
}

/// `(name under refs/, oid)` for every ref under `namespace`, e.g. `heads/main`.
fn refs_under(scratch: &Repository, namespace: &str) -> Result<Vec<(String, Oid)>, MirrorError> {
    let git = |source| MirrorError::Git {
        context: "reading the temporary repository".to_owned(),
        source,
    };
    let mut found = Vec::new();
    for reference in scratch
        .references_glob(&format!("{namespace}*"))
        .map_err(git)?
    {
        let reference = reference.map_err(git)?;
        if let (Some(name), Some(target)) = (reference.name(), reference.target()) {
            found.push((name[namespace.len()..].to_owned(), target));
        }
    }
    found.sort();
    Ok(found)
}

/// What to do with one ref, or the divergence that stops the mirror.
fn decide(
    scratch: &Repository,
    name: &str,
    upstream: Oid,
    downstream: Option<Oid>,
    force: bool,
) -> Result<Result<RefAction, Divergence>, MirrorError> {
    let Some(downstream) = downstream else {
        return Ok(Ok(RefAction::Created));
    };
    if downstream == upstream {
        return Ok(Ok(RefAction::Unchanged));
    }
    let is_branch = name.starts_with("heads/");
    let descends = |commit: Oid, ancestor: Oid| {
        scratch
            .graph_descendant_of(commit, ancestor)
            .map_err(|source| MirrorError::Git {
                context: format!("comparing refs/{name}"),
                source,
            })
    };
    if is_branch && descends(upstream, downstream)? {
        return Ok(Ok(RefAction::FastForwarded));
    }
    if force {
        return Ok(Ok(RefAction::Forced));
    }
    if is_branch && descends(downstream, upstream)? {
        return Ok(Ok(RefAction::KeptAhead));
    }
    Ok(Err(Divergence {
        name: format!("refs/{name}"),
        downstream: downstream.to_string(),
        upstream: upstream.to_string(),
    }))
}

/// Mirror `request.branch` (or every branch and tag) from upstream into downstream.
pub fn mirror(
    request: &MirrorRequest,
    credentials: &GitCredentials,
) -> Result<MirrorReport, MirrorError> {
    let scratch_dir = tempfile::Builder::new()
        .prefix("octofleet-fork-")
        .tempdir()
        .map_err(MirrorError::Scratch)?;
    let scratch = Repository::init_bare(scratch_dir.path()).map_err(|source| MirrorError::Git {
        context: "creating the temporary repository".to_owned(),
        source,
    })?;
    let report = mirror_in(&scratch, request, credentials);
    drop(scratch);
    // Removing it explicitly reports a failure (dropping would ignore it): nothing is left behind.
    scratch_dir.close().map_err(MirrorError::Scratch)?;
    report
}

fn mirror_in(
    scratch: &Repository,
    request: &MirrorRequest,
    credentials: &GitCredentials,
) -> Result<MirrorReport, MirrorError> {
    let branch = &request.branch;
    let specs = |namespace: &str| -> Vec<String> {
        if request.all_branches {
            vec![
                format!("+refs/heads/*:{namespace}heads/*"),
                format!("+refs/tags/*:{namespace}tags/*"),
            ]
        } else {
            vec![format!("+refs/heads/{branch}:{namespace}heads/{branch}")]
        }
    };
    // The ref advertisements alone settle a re-run with nothing new upstream: no object moves.
    let main_line = format!("heads/{branch}");
    let wanted = |name: &str| {
        if request.all_branches {
            name.starts_with("heads/") || name.starts_with("tags/")
        } else {
            name == main_line
        }
    };
    let upstream_advertised: Vec<(String, Oid)> =
        advertised(scratch, &request.upstream_url, credentials, "upstream")?
            .into_iter()
            .filter(|(name, _)| wanted(name))
            .collect();
    if !upstream_advertised
        .iter()
        .any(|(name, _)| *name == main_line)
    {
        return Err(MirrorError::UpstreamBranchMissing {
            url: request.upstream_url.clone(),
            branch: branch.clone(),
        });
    }
    let downstream_advertised =
        advertised(scratch, &request.downstream_url, credentials, "downstream")?;
    let unchanged = upstream_advertised
        .iter()
        .all(|ref_| downstream_advertised.contains(ref_));
    if unchanged {
        return Ok(MirrorReport {
            refs: upstream_advertised
                .iter()
                .map(|(name, oid)| RefOutcome {
                    name: format!("refs/{name}"),
                    action: RefAction::Unchanged,
                    upstream: oid.to_string(),
                    downstream: Some(oid.to_string()),
                })
                .collect(),
            pushed_refs: 0,
            bytes_fetched: 0,
            bytes_pushed: 0,
            main_line_created: false,
        });
    }

    let mut bytes_fetched = fetch(
        scratch,
        &request.upstream_url,
        &specs(UPSTREAM_NS),
        credentials,
        "upstream",
    )?;
    let upstream_refs = refs_under(scratch, UPSTREAM_NS)?;
    if !upstream_refs.iter().any(|(name, _)| *name == main_line) {
        return Err(MirrorError::UpstreamBranchMissing {
            url: request.upstream_url.clone(),
            branch: branch.clone(),
        });
    }
    // The downstream's current refs and their objects (a tenant's commits included): objects we
    // already have from upstream are not transferred again.
    bytes_fetched += fetch(
        scratch,
        &request.downstream_url,
        &specs(DOWNSTREAM_NS),
        credentials,
        "downstream",
    )?;
    let downstream_refs = refs_under(scratch, DOWNSTREAM_NS)?;

    let mut outcomes = Vec::new();
    let mut divergences = Vec::new();
    for (name, upstream) in &upstream_refs {
        let downstream = downstream_refs
            .iter()
            .find(|(other, _)| other == name)
            .map(|(_, oid)| *oid);
        match decide(scratch, name, *upstream, downstream, request.force)? {
            Ok(action) => outcomes.push(RefOutcome {
                name: format!("refs/{name}"),
                action,
                upstream: upstream.to_string(),
                downstream: downstream.map(|oid| oid.to_string()),
            }),
            Err(divergence) => divergences.push(divergence),
        }
    }
    // All or nothing: a diverged ref stops the whole mirror before anything is pushed.
    if !divergences.is_empty() {
        return Err(MirrorError::Diverged(divergences));
    }
    // The main line first, so a platform that takes the first pushed branch as the default
    // branch of an empty repository takes the right one.
    outcomes.sort_by_key(|outcome| outcome.name != format!("refs/{main_line}"));

    let refspecs: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| {
            let target = &outcome.name;
            let source = format!("{UPSTREAM_NS}{}", &target["refs/".len()..]);
            match outcome.action {
                RefAction::Created | RefAction::FastForwarded => Some(format!("{source}:{target}")),
                RefAction::Forced => Some(format!("+{source}:{target}")),
                RefAction::Unchanged | RefAction::KeptAhead => None,
            }
        })
        .collect();
    let bytes_pushed = if refspecs.is_empty() {
        0
    } else {
        push(scratch, &request.downstream_url, &refspecs, credentials)?
    };
    let main_line_created = !downstream_refs.iter().any(|(name, _)| *name == main_line);
    Ok(MirrorReport {
        pushed_refs: refspecs.len(),
        refs: outcomes,
        bytes_fetched,
        bytes_pushed,
        main_line_created,
    })
}

/// Push explicit refspecs (libgit2 cannot push globs) and check each ref's status: `push`
/// returns Ok even when the server refuses a ref.
fn push(
    scratch: &Repository,
    url: &str,
    refspecs: &[String],
    credentials: &GitCredentials,
) -> Result<usize, MirrorError> {
    let refused = Cell::new(false);
    let statuses: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let remote_messages = RefCell::new(String::new());
    let bytes = Cell::new(0usize);
    let mut remote = scratch
        .remote_anonymous(url)
        .map_err(|source| MirrorError::Git {
            context: format!("downstream URL {url}"),
            source,
        })?;
    {
        let mut callbacks = callbacks(credentials, &refused);
        callbacks.push_update_reference(|name, status| {
            statuses
                .borrow_mut()
                .push((name.to_owned(), status.map(str::to_owned)));
            Ok(())
        });
        callbacks.push_transfer_progress(|_current, _total, sent| bytes.set(sent));
        // The server's side-band text: a refusing hook's reason arrives here.
        callbacks.sideband_progress(|text| {
            remote_messages
                .borrow_mut()
                .push_str(&String::from_utf8_lossy(text));
            true
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let specs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
        remote
            .push(&specs, Some(&mut options))
            .map_err(|error| classify(error, refused.get(), "downstream", url, "pushing to"))?;
    }
    let statuses = statuses.into_inner();
    let mut refused_refs: Vec<(String, String)> = statuses
        .iter()
        .filter_map(|(name, status)| status.clone().map(|status| (name.clone(), status)))
        .collect();
    // A ref the server never reported on was not updated either.
    for spec in refspecs {
        let target = spec.rsplit(':').next().unwrap_or(spec);
        if !statuses.iter().any(|(name, _)| name == target) {
            refused_refs.push((target.to_owned(), "no status reported".to_owned()));
        }
    }
    if refused_refs.is_empty() {
        Ok(bytes.get())
    } else {
        Err(MirrorError::Rejected {
            url: url.to_owned(),
            refs: refused_refs,
            remote_messages: remote_messages.into_inner(),
        })
    }
}
