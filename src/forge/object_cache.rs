//! The git object cache (`Octofleet.Git.CacheDir`): one bare repository per upstream and
//! downstream pair, kept between runs for its objects only, locked while a run uses it.

use crate::origin;
use git2::Repository;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a run waits for another run on the same pair to finish with the cache before it
/// goes on without it.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);
const LOCK_POLL: Duration = Duration::from_millis(100);

/// libgit2 never repacks, and every fetch adds a pack: past this many, reading slows down, so
/// the cache starts over (one full fetch) rather than grow without end.
const MAX_PACKS: usize = 64;

/// The pair's repository in `cache_dir`: a hash of both URLs, shown without userinfo, query or
/// fragment, so no credential is ever part of a path.
pub fn repository_path(cache_dir: &Path, upstream_url: &str, downstream_url: &str) -> PathBuf {
    let pair = format!(
        "{}\n{}",
        origin::display_text(upstream_url),
        origin::display_text(downstream_url)
    );
    cache_dir.join(format!("{}.git", sha1_smol::Sha1::from(pair).digest()))
}

/// Why the cache cannot be used this run.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error("cannot create or open {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("another run has held its lock for more than {} s", LOCK_WAIT.as_secs())]
    Busy,
    #[error("{path} is not a readable bare git repository ({}); delete it to start the cache over (it holds only copies of git objects)", .source.message())]
    Damaged {
        path: String,
        #[source]
        source: git2::Error,
    },
}

/// Run `work` in the pair's cache repository while holding its lock. None, after a warning
/// naming the reason, when the cache cannot be used: the caller runs `work` elsewhere.
///
/// A cache, not state: callers read refs from the remotes, so losing it changes what a run
/// transfers, never what it decides. Nothing secret reaches it: the directory is named by a hash
/// of URLs without userinfo, remotes are anonymous (no `config` entry), fetches write no
/// `FETCH_HEAD`.
pub fn with_cached_repository<T>(
    cache_dir: &Path,
    upstream_url: &str,
    downstream_url: &str,
    work: impl FnOnce(&Repository) -> T,
) -> Option<T> {
    let path = repository_path(cache_dir, upstream_url, downstream_url);
    let unusable = |problem: Unusable| {
        tracing::warn!(
            "the git object cache ({}) cannot be used, so this run fetches into a temporary repository: {problem}",
            crate::inputs::GIT_CACHE_DIR.octopus
        );
        None
    };
    let lock_file = match open_lock_file(&path) {
        Ok(file) => file,
        Err(problem) => return unusable(problem),
    };
    let mut lock = fd_lock::RwLock::new(lock_file);
    let deadline = Instant::now() + LOCK_WAIT;
    let mut waiting = false;
    let guard = loop {
        match lock.try_write() {
            Ok(guard) => break Ok(guard),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if !waiting {
                    waiting = true;
                    tracing::info!(
                        "another run is using the git object cache for this pair: waiting up to {} s",
                        LOCK_WAIT.as_secs()
                    );
                }
                if Instant::now() >= deadline {
                    break Err(Unusable::Busy);
                }
                std::thread::sleep(LOCK_POLL);
            }
            Err(source) => {
                break Err(Unusable::Io {
                    path: lock_path(&path).display().to_string(),
                    source,
                })
            }
        }
    };
    let _guard = match guard {
        Ok(guard) => guard,
        Err(problem) => return unusable(problem),
    };
    let repository = match open_or_create(&path, upstream_url, downstream_url) {
        Ok(repository) => repository,
        Err(problem) => return unusable(problem),
    };
    tracing::debug!("git object cache: {}", path.display());
    Some(work(&repository))
}

/// Beside the repository, not in it: removing the repository never removes a held lock.
fn lock_path(repository: &Path) -> PathBuf {
    repository.with_extension("lock")
}

fn open_lock_file(repository: &Path) -> Result<File, Unusable> {
    let io_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| Unusable::Io { path, source }
    };
    let cache_dir = repository.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(cache_dir).map_err(io_error(cache_dir))?;
    let lock = lock_path(repository);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io_error(&lock))
}

/// The pair's repository: created when missing, started over when it has too many packs, and
/// refused when it is not a bare repository git can read.
fn open_or_create(
    path: &Path,
    upstream_url: &str,
    downstream_url: &str,
) -> Result<Repository, Unusable> {
    let shown = path.display().to_string();
    if path.exists() && pack_count(path) > MAX_PACKS {
        tracing::info!(
            "the git object cache {shown} holds more than {MAX_PACKS} packs: starting it over"
        );
        std::fs::remove_dir_all(path).map_err(|source| Unusable::Io {
            path: shown.clone(),
            source,
        })?;
    }
    let damaged = |source| Unusable::Damaged {
        path: shown.clone(),
        source,
    };
    if !path.exists() {
        let repository = Repository::init_bare(path).map_err(damaged)?;
        // For a person looking at the directory: which pair it caches (URLs without userinfo).
        let description = format!(
            "octofleet merge object cache: {} into {}\n",
            origin::display_text(upstream_url),
            origin::display_text(downstream_url)
        );
        std::fs::write(path.join("description"), description).map_err(|source| Unusable::Io {
            path: shown.clone(),
            source,
        })?;
        return Ok(repository);
    }
    let repository = Repository::open_bare(path).map_err(damaged)?;
    if !repository.is_bare() {
        return Err(damaged(git2::Error::from_str("not a bare repository")));
    }
    // Reading HEAD and every ref is what a run does first; a repository that fails it is no use.
    repository.find_reference("HEAD").map_err(damaged)?;
    repository
        .references()
        .and_then(|references| references.collect::<Result<Vec<_>, _>>())
        .map_err(damaged)?;
    Ok(repository)
}

fn pack_count(repository: &Path) -> usize {
    std::fs::read_dir(repository.join("objects").join("pack"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "pack"))
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_same_with_or_without_credentials_and_never_holds_them() {
        let dir = Path::new("/cache");
        let plain = repository_path(
            dir,
            "https://git.example.com/org/template.git",
            "https://git.example.com/org/tenant.git",
        );
        let with_userinfo = repository_path(
            dir,
            "https://reader:s3cret@git.example.com/org/template.git",
            "https://x-access-token:t0ken@git.example.com/org/tenant.git",
        );
        assert_eq!(plain, with_userinfo);
        assert!(!with_userinfo.to_string_lossy().contains("s3cret"));
        // Another pair is another repository.
        let other = repository_path(
            dir,
            "https://git.example.com/org/template.git",
            "https://git.example.com/org/other.git",
        );
        assert_ne!(plain, other);
        assert_eq!(lock_path(&plain).extension().unwrap(), "lock");
    }

    #[test]
    fn a_run_waits_for_the_run_holding_the_lock() {
        let cache = tempfile::tempdir().unwrap();
        let (up, down) = ("http://h/o/up.git", "http://h/o/down.git");
        let (entered, wait) = std::sync::mpsc::channel();
        let holder = {
            let dir = cache.path().to_path_buf();
            std::thread::spawn(move || {
                with_cached_repository(&dir, up, down, |_| {
                    entered.send(Instant::now()).unwrap();
                    std::thread::sleep(Duration::from_millis(400));
                    Instant::now()
                })
            })
        };
        wait.recv().unwrap();
        let entered_second = with_cached_repository(cache.path(), up, down, |_| Instant::now());
        let left_first = holder.join().unwrap().unwrap();
        assert!(
            entered_second.unwrap() >= left_first,
            "the second run waited"
        );
    }

    #[test]
    fn a_new_cache_is_created_and_an_unusable_one_is_refused() {
        let cache = tempfile::tempdir().unwrap();
        let (up, down) = ("http://h/o/up.git", "http://h/o/down.git");
        let path = repository_path(cache.path(), up, down);
        let created = with_cached_repository(cache.path(), up, down, |repository| {
            repository.path().to_path_buf()
        });
        assert_eq!(
            created.map(|found| found.canonicalize().unwrap()),
            Some(path.canonicalize().unwrap())
        );
        assert!(std::fs::read_to_string(path.join("description"))
            .unwrap()
            .contains("up.git into"));

        std::fs::write(path.join("HEAD"), "garbage").unwrap();
        assert!(with_cached_repository(cache.path(), up, down, |_| ()).is_none());

        let file = cache.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        assert!(with_cached_repository(&file, up, down, |_| ()).is_none());
    }
}
