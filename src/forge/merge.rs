//! Bring upstream commits into the downstream repository with git2: per branch both have, read
//! the two advertised commits, and when they differ fetch what is missing into a bare repository
//! (temporary, or the pair's object cache) and decide: up to date, behind (fast-forward), ahead
//! (nothing), or diverged (a three-way merge: clean → a merge commit with both parents;
//! conflicts → the upstream commit on a branch of its own in the downstream, for a pull request
//! a person resolves).
//!
//! Nothing is ever force-pushed: a downstream that moved meanwhile refuses the push. With
//! `check`, the same outcome is computed and nothing is pushed.

use super::git_http::GitHttp;
use super::mirror_error::MirrorError;
use super::object_cache;
use super::transport::MirrorCredentials;
use super::transport::{self, advertised, fetch, push, refs_under, Side};
use git2::{
    Commit, IndexConflict, IndexEntry, MergeFileOptions, MergeOptions, Oid, Repository, Signature,
};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

const UPSTREAM_NS: &str = "refs/upstream/";
const DOWNSTREAM_NS: &str = "refs/downstream/";
/// Merge commits made locally, pushed from here.
const MERGED_NS: &str = "refs/merged/";
/// In the object cache, the tips earlier runs left in the namespaces above: fetches offer them as
/// what we have (so only new objects travel) and they keep their objects reachable. Never read
/// as either side's state.
const KNOWN_NS: &str = "refs/known/";
/// Where the upstream commit goes in the downstream when the merge needs a person.
pub const CONFLICT_BRANCH_PREFIX: &str = "octofleet/upstream-";

#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub upstream_url: String,
    pub downstream_url: String,
    /// The main line, e.g. `main`; must exist on both sides.
    pub branch: String,
    /// Every branch both sides have, not only the main line.
    pub all_branches: bool,
    /// Author and committer of merge commits.
    pub author_name: String,
    pub author_email: String,
    /// Compute the outcome; push nothing.
    pub check: bool,
    /// Keep objects between runs here (`Octofleet.Git.CacheDir`); None: a temporary repository.
    pub cache_dir: Option<PathBuf>,
}

/// Where one branch stands, as `--check` reports it and as merge acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    UpToDate,
    /// Upstream has commits the downstream lacks, and the downstream has none of its own.
    Behind,
    /// The downstream has commits of its own and every upstream commit.
    Ahead,
    /// Both have commits of their own; git merges them without a conflict.
    DivergedClean,
    /// Both have commits of their own, and some change the same lines.
    DivergedConflicts,
}

impl Outcome {
    /// There is something for merge to do (or for a person, with conflicts).
    pub fn pending(self) -> bool {
        matches!(
            self,
            Outcome::Behind | Outcome::DivergedClean | Outcome::DivergedConflicts
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up-to-date",
            Outcome::Behind => "behind",
            Outcome::Ahead => "ahead",
            Outcome::DivergedClean => "diverged-clean",
            Outcome::DivergedConflicts => "diverged-conflicts",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lines `start ..= start + count - 1` (1-based) of one side; `count` 0 is an empty range
/// before line `start` (that side deleted the lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRange {
    pub start: usize,
    pub count: usize,
}

impl fmt::Display for LineRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            0 => write!(f, "none (before line {})", self.start),
            1 => write!(f, "line {}", self.start),
            count => write!(f, "lines {}-{}", self.start, self.start + count - 1),
        }
    }
}

/// One conflicting hunk: the downstream's lines and upstream's lines that both changed, where
/// they are and what they say (OCL from the repositories: Config-as-Code keeps no secret in git).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    pub downstream: LineRange,
    pub upstream: LineRange,
    /// The downstream's lines, at most [`MAX_HUNK_LINES`] of them (then a count of the rest).
    pub downstream_text: String,
    pub upstream_text: String,
}

/// Lines of each side of a hunk kept for the log, the JSON and the report; the line ranges
/// still cover the whole hunk.
pub const MAX_HUNK_LINES: usize = 40;

/// `lines` joined, cut after [`MAX_HUNK_LINES`] with a count of what was left out.
fn hunk_text(lines: &[&str]) -> String {
    let mut text = lines
        .iter()
        .take(MAX_HUNK_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > MAX_HUNK_LINES {
        text.push_str(&format!(
            "\n… ({} more lines)",
            lines.len() - MAX_HUNK_LINES
        ));
    }
    text
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictedPath {
    pub path: String,
    /// `content` (both changed the same lines), `add/add`, `deleted downstream`, `deleted upstream`.
    pub kind: &'static str,
    /// For `content` and `add/add`.
    pub hunks: Vec<Hunk>,
}

impl fmt::Display for ConflictedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path, self.kind)?;
        for hunk in &self.hunks {
            write!(
                f,
                "; downstream {} vs upstream {}",
                hunk.downstream, hunk.upstream
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchMerge {
    pub branch: String,
    pub outcome: Outcome,
    pub upstream: String,
    /// The downstream's commit before this run.
    pub downstream: String,
    /// Upstream commits the downstream lacks.
    pub behind: usize,
    /// Downstream commits upstream lacks.
    pub ahead: usize,
    /// The merge commit (diverged-clean): pushed, or with `check` only computed.
    pub merge_commit: Option<String>,
    pub conflicts: Vec<ConflictedPath>,
    /// Diverged with conflicts: the downstream branch holding the upstream commit.
    pub conflict_branch: Option<String>,
    /// This run pushed the branch (fast-forward or merge commit) or the conflict branch.
    pub pushed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub branches: Vec<BranchMerge>,
    pub pushed_refs: usize,
    pub bytes_fetched: usize,
    pub bytes_pushed: usize,
    /// The run worked in the object cache (else in a temporary repository).
    pub used_object_cache: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Transport(#[from] MirrorError),
    #[error("the downstream repository {url} has no branch `{branch}`: fork it first (octofleet fork, step template Octofleet - Fork Repository), or check {}", crate::inputs::GIT_MAIN_LINE.octopus)]
    DownstreamBranchMissing { url: String, branch: String },
    /// git's message is shown; the error is not chained as a cause, whose text would repeat it
    /// with libgit2's class and code.
    #[error("{context}: {}", .error.message())]
    Git { context: String, error: git2::Error },
}

fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> MergeError {
    let context = context.into();
    move |error| MergeError::Git { context, error }
}

/// The branch in the downstream that carries `upstream`'s commit when merging it needs a person.
pub fn conflict_branch(upstream: &str) -> String {
    format!(
        "{CONFLICT_BRANCH_PREFIX}{}",
        &upstream[..upstream.len().min(7)]
    )
}

/// Merge upstream into the downstream (or with `check`, say what that would do), in the pair's
/// object cache when there is one, else in a temporary repository.
pub fn merge(
    request: &MergeRequest,
    credentials: &MirrorCredentials,
    http: &GitHttp,
) -> Result<MergeReport, MergeError> {
    let work = |repository: &Repository| merge_in(repository, request, credentials, http);
    if let Some(cache_dir) = &request.cache_dir {
        let cached = object_cache::with_cached_repository(
            cache_dir,
            &request.upstream_url,
            &request.downstream_url,
            |cache| match work(cache) {
                // Only reading or writing the local repository fails this way, always before the
                // push: the cache may be damaged, and a temporary repository does not need it.
                Err(MergeError::Git { context, error }) => {
                    tracing::warn!(
                        "the git object cache failed ({context}: {}), so this run starts again in a temporary repository; delete {} to start the cache over (it holds only copies of git objects)",
                        error.message(),
                        object_cache::repository_path(
                            cache_dir,
                            &request.upstream_url,
                            &request.downstream_url
                        )
                        .display()
                    );
                    None
                }
                outcome => Some(outcome.map(|report| MergeReport {
                    used_object_cache: true,
                    ..report
                })),
            },
        );
        if let Some(Some(outcome)) = cached {
            return outcome;
        }
    }
    transport::in_scratch("merge", work)
}

/// `refs_under`, with its failure as what it is: reading the local repository.
fn local_refs(repository: &Repository, namespace: &str) -> Result<Vec<(String, Oid)>, MergeError> {
    refs_under(repository, namespace).map_err(|error| match error {
        MirrorError::Git { context, error } => MergeError::Git { context, error },
        other => other.into(),
    })
}

/// Move what an earlier run left in this run's namespaces to `KNOWN_NS` (a no-op in a new
/// repository), so that what this run reads there is what this run put there.
fn keep_earlier_tips(repository: &Repository) -> Result<(), MergeError> {
    for namespace in [UPSTREAM_NS, DOWNSTREAM_NS, MERGED_NS] {
        for (name, oid) in local_refs(repository, namespace)? {
            let side = namespace.trim_start_matches("refs/");
            repository
                .reference(&format!("{KNOWN_NS}{side}{name}"), oid, true, "kept")
                .map_err(git("keeping an earlier run's refs"))?;
            repository
                .find_reference(&format!("{namespace}{name}"))
                .and_then(|mut reference| reference.delete())
                .map_err(git("keeping an earlier run's refs"))?;
        }
    }
    Ok(())
}

fn merge_in(
    repository: &Repository,
    request: &MergeRequest,
    credentials: &MirrorCredentials,
    http: &GitHttp,
) -> Result<MergeReport, MergeError> {
    let upstream = Side::new(
        "upstream",
        &request.upstream_url,
        credentials,
        &request.upstream_url,
        http,
    );
    let downstream = Side::new(
        "downstream",
        &request.downstream_url,
        credentials,
        &request.upstream_url,
        http,
    );
    let main_line = request.branch.as_str();
    let heads = |refs: Vec<(String, Oid)>| -> Vec<(String, Oid)> {
        refs.into_iter()
            .filter_map(|(name, oid)| Some((name.strip_prefix("heads/")?.to_owned(), oid)))
            .collect()
    };
    keep_earlier_tips(repository)?;
    let upstream_heads = heads(advertised(repository, &upstream)?);
    let downstream_heads = heads(advertised(repository, &downstream)?);
    if !upstream_heads.iter().any(|(name, _)| name == main_line) {
        return Err(MirrorError::UpstreamBranchMissing {
            url: request.upstream_url.clone(),
            branch: main_line.to_owned(),
        }
        .into());
    }
    let find = |refs: &[(String, Oid)], name: &str| {
        refs.iter()
            .find(|(other, _)| other == name)
            .map(|(_, oid)| *oid)
    };
    if find(&downstream_heads, main_line).is_none() {
        return Err(MergeError::DownstreamBranchMissing {
            url: crate::origin::display_text(&request.downstream_url),
            branch: main_line.to_owned(),
        });
    }
    // The main line first, then every other branch both have (not our own conflict branches).
    let mut branches: Vec<(String, Oid, Oid)> = upstream_heads
        .iter()
        .filter(|(name, _)| {
            name == main_line || (request.all_branches && !name.starts_with(CONFLICT_BRANCH_PREFIX))
        })
        .filter_map(|(name, up)| Some((name.clone(), *up, find(&downstream_heads, name)?)))
        .collect();
    branches.sort_by_key(|(name, _, _)| (name != main_line, name.clone()));

    // Branches at the same commit on both sides need no object at all. For the others, the
    // downstream's commits first: when it already holds upstream's (merged before), nothing
    // comes from upstream. A commit the repository holds (the object cache) is not fetched
    // again: its history came with it.
    let mut bytes_fetched = 0;
    for (side, namespace) in [(&downstream, DOWNSTREAM_NS), (&upstream, UPSTREAM_NS)] {
        let odb = repository
            .odb()
            .map_err(git("reading the local repository"))?;
        let mut missing = Vec::new();
        for (name, up, down) in branches.iter().filter(|(_, up, down)| up != down) {
            let oid = if namespace == UPSTREAM_NS { *up } else { *down };
            if odb.exists(oid) {
                repository
                    .reference(&format!("{namespace}heads/{name}"), oid, true, "known")
                    .map_err(git("recording a commit the repository holds"))?;
            } else {
                missing.push(format!("+refs/heads/{name}:{namespace}heads/{name}"));
            }
        }
        if !missing.is_empty() {
            bytes_fetched += fetch(repository, side, &missing)?;
        }
    }
    // What was fetched is what counts (a side may have moved since the advertisement).
    let fetched_up = local_refs(repository, UPSTREAM_NS)?;
    let fetched_down = local_refs(repository, DOWNSTREAM_NS)?;

    let mut results = Vec::new();
    let mut refspecs = Vec::new();
    for (name, advertised_up, advertised_down) in &branches {
        let key = format!("heads/{name}");
        let up = find(&fetched_up, &key).unwrap_or(*advertised_up);
        let down = find(&fetched_down, &key).unwrap_or(*advertised_down);
        let mut result = BranchMerge {
            branch: name.clone(),
            outcome: Outcome::UpToDate,
            upstream: up.to_string(),
            downstream: down.to_string(),
            behind: 0,
            ahead: 0,
            merge_commit: None,
            conflicts: Vec::new(),
            conflict_branch: None,
            pushed: false,
        };
        if up != down {
            let (ahead, behind) = repository
                .graph_ahead_behind(down, up)
                .map_err(git(format!("comparing the two sides of {name}")))?;
            result.ahead = ahead;
            result.behind = behind;
            result.outcome = match (ahead, behind) {
                (_, 0) => Outcome::Ahead,
                (0, _) => Outcome::Behind,
                _ => diverged(repository, request, name, up, down, &mut result)?,
            };
        }
        match result.outcome {
            Outcome::Behind => {
                refspecs.push(format!("{UPSTREAM_NS}heads/{name}:refs/heads/{name}"));
                result.pushed = true;
            }
            Outcome::DivergedClean => {
                refspecs.push(format!("{MERGED_NS}heads/{name}:refs/heads/{name}"));
                result.pushed = true;
            }
            Outcome::DivergedConflicts => {
                let branch = conflict_branch(&result.upstream);
                // Found on a re-run (or holding a person's resolution): left as it is.
                if find(&downstream_heads, &branch).is_none() {
                    refspecs.push(format!("{UPSTREAM_NS}heads/{name}:refs/heads/{branch}"));
                    result.pushed = true;
                }
                result.conflict_branch = Some(branch);
            }
            Outcome::UpToDate | Outcome::Ahead => {}
        }
        results.push(result);
    }
    if request.check {
        refspecs.clear();
        for result in &mut results {
            result.pushed = false;
        }
    }
    let bytes_pushed = if refspecs.is_empty() {
        0
    } else {
        push(repository, &downstream, &refspecs)?
    };
    Ok(MergeReport {
        branches: results,
        pushed_refs: refspecs.len(),
        bytes_fetched,
        bytes_pushed,
        used_object_cache: false,
    })
}

/// The three-way merge of `up` into `down`: a merge commit under `refs/merged/heads/<name>`, or
/// the conflicted paths.
fn diverged(
    repository: &Repository,
    request: &MergeRequest,
    name: &str,
    up: Oid,
    down: Oid,
    result: &mut BranchMerge,
) -> Result<Outcome, MergeError> {
    let commit = |oid: Oid| -> Result<Commit<'_>, MergeError> {
        repository
            .find_commit(oid)
            .map_err(git(format!("reading commit {oid}")))
    };
    let (ours, theirs) = (commit(down)?, commit(up)?);
    let mut options = MergeOptions::new();
    // Differences in whitespace at line ends (CRLF against LF included) are no conflict.
    options.find_renames(true).ignore_whitespace_eol(true);
    let mut index = repository
        .merge_commits(&ours, &theirs, Some(&options))
        .map_err(git(format!(
            "merging upstream's {name} into the downstream's"
        )))?;
    if index.has_conflicts() {
        let conflicts = index
            .conflicts()
            .map_err(git("listing the conflicts"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(git("listing the conflicts"))?;
        for conflict in conflicts {
            result
                .conflicts
                .push(conflicted_path(repository, &conflict)?);
        }
        result.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        return Ok(Outcome::DivergedConflicts);
    }
    let tree_id = index
        .write_tree_to(repository)
        .map_err(git("writing the merged tree"))?;
    let tree = repository
        .find_tree(tree_id)
        .map_err(git("reading the merged tree"))?;
    let signature =
        Signature::now(&request.author_name, &request.author_email).map_err(git(format!(
            "the merge commit's author ({})",
            crate::inputs::GIT_AUTHOR.octopus
        )))?;
    let message = format!(
        "Merge upstream {short} into {name}\n\nMerges upstream commit {up} ({summary}) from {url} into {name}.\n",
        short = &up.to_string()[..7],
        summary = theirs.summary().unwrap_or("no summary"),
        url = crate::origin::display_text(&request.upstream_url),
    );
    let merged = repository
        .commit(
            Some(&format!("{MERGED_NS}heads/{name}")),
            &signature,
            &signature,
            &message,
            &tree,
            &[&ours, &theirs],
        )
        .map_err(git("writing the merge commit"))?;
    result.merge_commit = Some(merged.to_string());
    Ok(Outcome::DivergedClean)
}

fn entry_path(entry: &IndexEntry) -> String {
    String::from_utf8_lossy(&entry.path).into_owned()
}

/// One conflicted path with its conflicting hunks' line ranges on each side.
fn conflicted_path(
    repository: &Repository,
    conflict: &IndexConflict,
) -> Result<ConflictedPath, MergeError> {
    let (ours, theirs) = match (&conflict.our, &conflict.their) {
        (Some(ours), Some(theirs)) => (ours, theirs),
        (Some(ours), None) => {
            return Ok(ConflictedPath {
                path: entry_path(ours),
                kind: "deleted upstream",
                hunks: Vec::new(),
            })
        }
        (None, Some(theirs)) => {
            return Ok(ConflictedPath {
                path: entry_path(theirs),
                kind: "deleted downstream",
                hunks: Vec::new(),
            })
        }
        (None, None) => {
            let path = conflict
                .ancestor
                .as_ref()
                .map(entry_path)
                .unwrap_or_default();
            return Ok(ConflictedPath {
                path,
                kind: "deleted on both sides",
                hunks: Vec::new(),
            });
        }
    };
    // Added on both sides: merged against an empty ancestor.
    let empty_ancestor;
    let (ancestor, kind) = match &conflict.ancestor {
        Some(ancestor) => (ancestor, "content"),
        None => {
            let empty = repository.blob(b"").map_err(git("writing an empty blob"))?;
            empty_ancestor = IndexEntry {
                ctime: ours.ctime,
                mtime: ours.mtime,
                dev: ours.dev,
                ino: ours.ino,
                mode: ours.mode,
                uid: ours.uid,
                gid: ours.gid,
                file_size: 0,
                id: empty,
                flags: ours.flags,
                flags_extended: ours.flags_extended,
                path: ours.path.clone(),
            };
            (&empty_ancestor, "add/add")
        }
    };
    let mut options = MergeFileOptions::new();
    options
        .our_label("downstream")
        .their_label("upstream")
        .style_standard(true)
        .ignore_whitespace_eol(true);
    let merged = repository
        .merge_file_from_index(ancestor, ours, theirs, Some(&mut options))
        .map_err(git(format!("merging {}", entry_path(ours))))?;
    Ok(ConflictedPath {
        path: entry_path(ours),
        kind,
        hunks: hunks(&String::from_utf8_lossy(merged.content())),
    })
}

/// The conflicting hunks of a file merged with standard conflict markers: lines outside them are
/// on both sides, `<<<<<<<`…`=======` the downstream's, `=======`…`>>>>>>>` upstream's.
fn hunks(merged: &str) -> Vec<Hunk> {
    enum In {
        Both,
        Downstream,
        Upstream,
    }
    let mut found = Vec::new();
    let (mut down_line, mut up_line) = (0usize, 0usize);
    let mut state = In::Both;
    let (mut start_down, mut start_up) = (0, 0);
    let (mut down_lines, mut up_lines): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for line in merged.lines() {
        match state {
            In::Both if line.starts_with("<<<<<<< ") || line == "<<<<<<<" => {
                (start_down, start_up) = (down_line + 1, up_line + 1);
                down_lines.clear();
                up_lines.clear();
                state = In::Downstream;
            }
            In::Both => {
                down_line += 1;
                up_line += 1;
            }
            In::Downstream if line == "=======" => state = In::Upstream,
            In::Downstream => {
                down_line += 1;
                down_lines.push(line);
            }
            In::Upstream if line.starts_with(">>>>>>> ") || line == ">>>>>>>" => {
                found.push(Hunk {
                    downstream: LineRange {
                        start: start_down,
                        count: down_lines.len(),
                    },
                    upstream: LineRange {
                        start: start_up,
                        count: up_lines.len(),
                    },
                    downstream_text: hunk_text(&down_lines),
                    upstream_text: hunk_text(&up_lines),
                });
                state = In::Both;
            }
            In::Upstream => {
                up_line += 1;
                up_lines.push(line);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_count_lines_on_each_side() {
        let merged = "a\nb\n<<<<<<< downstream\nmine\nmine2\n=======\ntheirs\n>>>>>>> upstream\nc\n<<<<<<< downstream\n=======\nadded\n>>>>>>> upstream\n";
        assert_eq!(
            hunks(merged),
            vec![
                Hunk {
                    downstream: LineRange { start: 3, count: 2 },
                    upstream: LineRange { start: 3, count: 1 },
                    downstream_text: "mine\nmine2".into(),
                    upstream_text: "theirs".into(),
                },
                Hunk {
                    downstream: LineRange { start: 6, count: 0 },
                    upstream: LineRange { start: 5, count: 1 },
                    downstream_text: String::new(),
                    upstream_text: "added".into(),
                },
            ]
        );
        assert_eq!(LineRange { start: 3, count: 2 }.to_string(), "lines 3-4");
        let long: Vec<&str> = vec!["x"; MAX_HUNK_LINES + 2];
        assert!(hunk_text(&long).ends_with("x\n… (2 more lines)"));
        assert_eq!(
            conflict_branch("0123456789abcdef"),
            "octofleet/upstream-0123456"
        );
    }
}
