//! Mirror upstream refs into the downstream repository with git2: fetch both into a temporary
//! bare repository, decide per ref (create, unchanged, fast-forward, diverged), push explicit
//! refspecs, and check every ref's push status.
//!
//! Credentials go through git2's credentials callback only, never into a URL or a config file,
//! and the temporary repository is removed when the mirror ends, whatever the outcome. The
//! callback offers a credential only to the origin (scheme, host, port) it is meant for: the
//! forge's to `Git.Url.Protocol://Git.Url.Host`, the upstream's own to the upstream's origin.

use crate::origin;
use crate::secret::Secret;
use git2::{
    AutotagOption, Cred, CredentialType, Direction, ErrorClass, FetchOptions, Oid, PushOptions,
    RemoteCallbacks, Repository,
};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::Path;
use url::Url;

/// Local namespaces of the scratch repository: what each side had when we fetched it.
const UPSTREAM_NS: &str = "refs/upstream/";
const DOWNSTREAM_NS: &str = "refs/downstream/";

#[derive(Debug, Clone)]
pub struct GitCredentials {
    pub username: String,
    /// A password or an access token.
    pub password: Secret,
}

const FORGE_INPUTS: &str = "Git.Credentials.Username and Git.Credentials.Password";
const UPSTREAM_INPUTS: &str =
    "Git.Upstream.Credentials.Username and Git.Upstream.Credentials.Password";

/// Which credential may go where.
#[derive(Debug, Clone)]
pub struct MirrorCredentials {
    /// `Git.Url.Protocol://Git.Url.Host/`: the only origin `forge` is sent to.
    pub forge_origin: Url,
    /// `Git.Credentials.*`: for the downstream, and for an upstream on the forge's origin when
    /// `upstream` is not given.
    pub forge: GitCredentials,
    /// `Git.Upstream.Credentials.*`: sent only to the upstream URL's origin.
    pub upstream: Option<GitCredentials>,
}

/// One credential and the one origin it may be offered to.
struct Scoped<'a> {
    origin: Url,
    credentials: &'a GitCredentials,
    inputs: &'static str,
}

impl MirrorCredentials {
    fn for_side(&self, side: &'static str, upstream_url: &str) -> Option<Scoped<'_>> {
        let forge = Scoped {
            origin: self.forge_origin.clone(),
            credentials: &self.forge,
            inputs: FORGE_INPUTS,
        };
        if side == "downstream" {
            return Some(forge);
        }
        let upstream_url = Url::parse(upstream_url).ok()?;
        match &self.upstream {
            Some(credentials) => Some(Scoped {
                origin: upstream_url,
                credentials,
                inputs: UPSTREAM_INPUTS,
            }),
            None if origin::same_origin(&upstream_url, &self.forge_origin) => Some(forge),
            None => None,
        }
    }

    /// What to do when `url` (on `side`) asks for credentials none of ours may go to.
    fn missing_hint(&self, side: &'static str) -> String {
        let forge = self.forge_origin.origin().ascii_serialization();
        match (side, &self.upstream) {
            ("upstream", None) => format!("{FORGE_INPUTS} are sent only to the git platform ({forge}); set {UPSTREAM_INPUTS} for the upstream"),
            ("upstream", Some(_)) => format!("{UPSTREAM_INPUTS} are sent only to the origin of Git.Url.Upstream (or of the template project's repository); give the upstream's final address"),
            _ => format!("{FORGE_INPUTS} are sent only to {forge}: set Git.Url.Protocol and Git.Url.Host to the address the platform puts in its clone URLs"),
        }
    }
}

/// Trust the PEM certificates in `path` for git over https, besides the system's.
///
/// libgit2 (vendored, with vendored OpenSSL) passes the file to `SSL_CTX_load_verify_locations`
/// on its one SSL context, which adds to the default verify paths rather than replacing them;
/// git2 has pointed those at the system store (openssl-probe sets `SSL_CERT_FILE`/`SSL_CERT_DIR`).
pub fn trust_ca_file(path: &Path) -> Result<(), MirrorError> {
    // SAFETY: libgit2's global options are not synchronised; fork calls this once, before any
    // other git2 call of the run can be under way (it runs before the mirror task starts).
    unsafe { git2::opts::set_ssl_cert_file(path) }.map_err(|source| MirrorError::Git {
        context: format!(
            "invalid input: {}: git cannot load {}",
            crate::config::CA_CERTIFICATE,
            path.display()
        ),
        source,
    })
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
    #[error("the git server refused the credentials for {url} (401): check {inputs}")]
    Unauthorized { url: String, inputs: &'static str },
    #[error("the {side} repository {url} asks for credentials (401) and octofleet has none it may send there: {hint}")]
    CredentialsWithheld {
        side: &'static str,
        url: String,
        hint: String,
    },
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

/// What the credentials callback saw, for the error that follows.
#[derive(Default)]
struct AuthOutcome {
    /// Asked a second time: the server refused what we offered.
    refused: Cell<bool>,
    /// Asked by a URL outside the credential's origin (or on a side with none): nothing offered.
    withheld: Cell<bool>,
}

/// Callbacks with the side's credential, offered only to its origin: libgit2 passes the URL it
/// is talking to (after any redirect), so a hop to another host gets nothing. libgit2 asks again
/// while the server keeps answering 401; the second ask means the credentials were refused.
fn callbacks<'a>(scope: Option<&'a Scoped<'a>>, outcome: &'a AuthOutcome) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut asked = 0;
    callbacks.credentials(move |url, _username_from_url, allowed| {
        let in_scope = Url::parse(url)
            .ok()
            .and_then(|url| scope.filter(|scope| origin::same_origin(&scope.origin, &url)));
        let Some(scope) = in_scope else {
            outcome.withheld.set(true);
            return Err(git2::Error::from_str(
                "no credential may be sent to this server",
            ));
        };
        asked += 1;
        if asked > 1 {
            outcome.refused.set(true);
            return Err(git2::Error::from_str("the server refused the credentials"));
        }
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return Err(git2::Error::from_str(
                "the server asks for a kind of credentials other than a username and password",
            ));
        }
        Cred::userpass_plaintext(
            &scope.credentials.username,
            scope.credentials.password.expose(),
        )
    });
    callbacks
}

/// One side of the mirror: its URL and the credential it may be offered.
struct Side<'a> {
    name: &'static str,
    url: &'a str,
    scope: Option<Scoped<'a>>,
    credentials: &'a MirrorCredentials,
}

impl Side<'_> {
    fn classify(&self, error: git2::Error, outcome: &AuthOutcome, context: &str) -> MirrorError {
        let url = origin::display_text(self.url);
        if outcome.refused.get() {
            return MirrorError::Unauthorized {
                url,
                inputs: self
                    .scope
                    .as_ref()
                    .map_or(FORGE_INPUTS, |scope| scope.inputs),
            };
        }
        if outcome.withheld.get() {
            return MirrorError::CredentialsWithheld {
                side: self.name,
                url,
                hint: self.credentials.missing_hint(self.name),
            };
        }
        classify(error, self.name, &url, context)
    }
}

fn classify(error: git2::Error, side: &'static str, url: &str, context: &str) -> MirrorError {
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
fn fetch(scratch: &Repository, side: &Side, refspecs: &[String]) -> Result<usize, MirrorError> {
    let outcome = AuthOutcome::default();
    let mut remote = side.remote(scratch)?;
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks(side.scope.as_ref(), &outcome))
        .download_tags(AutotagOption::None);
    let specs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
    remote
        .fetch(&specs, Some(&mut options), None)
        .map_err(|error| side.classify(error, &outcome, "fetching from"))?;
    Ok(remote.stats().received_bytes())
}

impl Side<'_> {
    fn remote<'r>(&self, scratch: &'r Repository) -> Result<git2::Remote<'r>, MirrorError> {
        scratch
            .remote_anonymous(self.url)
            .map_err(|source| MirrorError::Git {
                context: format!("{} URL {}", self.name, origin::display_text(self.url)),
                source,
            })
    }
}

/// The refs `url` advertises, as `(name under refs/, oid)`, without fetching any object.
fn advertised(scratch: &Repository, side: &Side) -> Result<Vec<(String, Oid)>, MirrorError> {
    let outcome = AuthOutcome::default();
    let mut remote = side.remote(scratch)?;
    let connection = remote
        .connect_auth(
            Direction::Fetch,
            Some(callbacks(side.scope.as_ref(), &outcome)),
            None,
        )
        .map_err(|error| side.classify(error, &outcome, "connecting to"))?;
    let heads = connection
        .list()
        .map_err(|error| side.classify(error, &outcome, "listing the refs of"))?;
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
    credentials: &MirrorCredentials,
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
    credentials: &MirrorCredentials,
) -> Result<MirrorReport, MirrorError> {
    let side = |name: &'static str, url| Side {
        name,
        url,
        scope: credentials.for_side(name, &request.upstream_url),
        credentials,
    };
    let upstream = side("upstream", &request.upstream_url);
    let downstream = side("downstream", &request.downstream_url);
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
    let upstream_advertised: Vec<(String, Oid)> = advertised(scratch, &upstream)?
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
    let downstream_advertised = advertised(scratch, &downstream)?;
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

    let mut bytes_fetched = fetch(scratch, &upstream, &specs(UPSTREAM_NS))?;
    let upstream_refs = refs_under(scratch, UPSTREAM_NS)?;
    if !upstream_refs.iter().any(|(name, _)| *name == main_line) {
        return Err(MirrorError::UpstreamBranchMissing {
            url: request.upstream_url.clone(),
            branch: branch.clone(),
        });
    }
    // The downstream's current refs and their objects (a tenant's commits included): objects we
    // already have from upstream are not transferred again.
    bytes_fetched += fetch(scratch, &downstream, &specs(DOWNSTREAM_NS))?;
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
        push(scratch, &downstream, &refspecs)?
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
fn push(scratch: &Repository, side: &Side, refspecs: &[String]) -> Result<usize, MirrorError> {
    let outcome = AuthOutcome::default();
    let statuses: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let remote_messages = RefCell::new(String::new());
    let bytes = Cell::new(0usize);
    let mut remote = side.remote(scratch)?;
    {
        let mut callbacks = callbacks(side.scope.as_ref(), &outcome);
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
            .map_err(|error| side.classify(error, &outcome, "pushing to"))?;
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
            url: origin::display_text(side.url),
            refs: refused_refs,
            remote_messages: remote_messages.into_inner(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(upstream: Option<&str>) -> MirrorCredentials {
        MirrorCredentials {
            forge_origin: Url::parse("https://gitea.example.com:3000/").unwrap(),
            forge: GitCredentials {
                username: "forge".to_owned(),
                password: Secret::new("forge-secret"),
            },
            upstream: upstream.map(|username| GitCredentials {
                username: username.to_owned(),
                password: Secret::new("upstream-secret"),
            }),
        }
    }

    fn offered(
        credentials: &MirrorCredentials,
        side: &'static str,
        upstream: &str,
    ) -> Option<String> {
        credentials.for_side(side, upstream).map(|scope| {
            format!(
                "{} @ {}",
                scope.credentials.username,
                scope.origin.origin().ascii_serialization()
            )
        })
    }

    #[test]
    fn each_credential_is_scoped_to_its_origin() {
        let on_forge = "https://gitea.example.com:3000/org/template.git";
        let elsewhere = "https://git.other.example.com/org/template.git";
        let forge_only = credentials(None);
        let forge = Some("forge @ https://gitea.example.com:3000".to_owned());
        assert_eq!(offered(&forge_only, "downstream", elsewhere), forge);
        assert_eq!(offered(&forge_only, "upstream", on_forge), forge);
        assert_eq!(offered(&forge_only, "upstream", elsewhere), None);
        // Another port or a downgrade is another origin.
        assert_eq!(
            offered(
                &forge_only,
                "upstream",
                "https://gitea.example.com/org/t.git"
            ),
            None
        );
        assert_eq!(
            offered(
                &forge_only,
                "upstream",
                "http://gitea.example.com:3000/org/t.git"
            ),
            None
        );
        let both = credentials(Some("reader"));
        assert_eq!(
            offered(&both, "upstream", elsewhere),
            Some("reader @ https://git.other.example.com".to_owned())
        );
        assert_eq!(
            offered(&both, "upstream", on_forge),
            Some("reader @ https://gitea.example.com:3000".to_owned())
        );
        assert_eq!(offered(&both, "downstream", elsewhere), forge);
        assert!(forge_only
            .missing_hint("upstream")
            .contains("Git.Upstream.Credentials.Password"));
    }
}
