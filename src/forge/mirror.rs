//! Mirror upstream refs into the downstream repository with git2: fetch both into a temporary
//! bare repository, decide per ref (create, unchanged, fast-forward, diverged), push explicit
//! refspecs, and check every ref's push status.
//! The git2 plumbing (credentials scoped per origin, the temporary repository, fetch, push) is
//! in `transport`, shared with `merge`.

pub use super::git_http::GitHttp;
pub use super::mirror_error::{Divergence, MirrorError};
use super::transport::{self, advertised, fetch, push, refs_under, Side};
pub use super::transport::{GitCredentials, MirrorCredentials};
use git2::{Oid, Repository};
use serde::Serialize;
use std::fmt;

/// Local namespaces of the scratch repository: what each side had when we fetched it.
const UPSTREAM_NS: &str = "refs/upstream/";
const DOWNSTREAM_NS: &str = "refs/downstream/";

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
            .map_err(|error| MirrorError::Git {
                context: format!("comparing refs/{name}"),
                error,
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
    http: &GitHttp,
) -> Result<MirrorReport, MirrorError> {
    transport::in_scratch("fork", |scratch| {
        mirror_in(scratch, request, credentials, http)
    })
}

fn mirror_in(
    scratch: &Repository,
    request: &MirrorRequest,
    credentials: &MirrorCredentials,
    http: &GitHttp,
) -> Result<MirrorReport, MirrorError> {
    let side =
        |name: &'static str, url| Side::new(name, url, credentials, &request.upstream_url, http);
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
    let mut pushed_refs = refspecs.len();
    let bytes_pushed = if refspecs.is_empty() {
        0
    } else {
        match push(scratch, &downstream, &refspecs) {
            Ok(bytes) => bytes,
            // Two runs at once (Octopus retrying a step, a person re-running it): the other one
            // may have pushed the same commits first, so the refused refs already hold exactly
            // what this run wanted. That is success; anything else stays a refusal.
            Err(MirrorError::Rejected {
                url,
                refs,
                remote_messages,
            }) => {
                let now = advertised(scratch, &downstream)?;
                let already_there = |ref_name: &str| {
                    let short = ref_name.strip_prefix("refs/").unwrap_or(ref_name);
                    let wanted = upstream_refs.iter().find(|(name, _)| name == short);
                    wanted.is_some_and(|wanted| now.contains(wanted))
                };
                if !refs.iter().all(|(name, _)| already_there(name)) {
                    return Err(MirrorError::Rejected {
                        url,
                        refs,
                        remote_messages,
                    });
                }
                tracing::info!(
                    "another run pushed the same commits first; the downstream repository already matches upstream"
                );
                for outcome in &mut outcomes {
                    if refs.iter().any(|(name, _)| *name == outcome.name) {
                        outcome.action = RefAction::Unchanged;
                        pushed_refs -= 1;
                    }
                }
                0
            }
            Err(error) => return Err(error),
        }
    };
    let main_line_created = !downstream_refs.iter().any(|(name, _)| *name == main_line);
    Ok(MirrorReport {
        pushed_refs,
        refs: outcomes,
        bytes_fetched,
        bytes_pushed,
        main_line_created,
    })
}
