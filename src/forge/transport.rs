//! The git2 plumbing `mirror` and `merge` share: credentials scoped per origin, a temporary bare
//! repository, ref advertisements, fetches into it and pushes of explicit refspecs with every
//! ref's status checked.
//!
//! Every call that talks to a remote goes through `git_http` (the run's one HTTP client), which
//! offers a side's credential only to that side's origin (scheme, host, port): the forge's to
//! `Git.Url.Protocol://Git.Url.Host`, the upstream's own to the upstream's origin. Credentials
//! never go into a URL or a config file, and the temporary repository is removed when the work
//! ends, whatever the outcome.

use super::git_http::{GitHttp, OriginCredential, WireFailure};
use super::mirror_error::MirrorError;
use crate::origin;
use crate::secret::Secret;
use git2::{AutotagOption, Direction, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository};
use std::cell::{Cell, RefCell};
use url::Url;

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

/// One side (upstream or downstream): its URL and the credential it may be offered.
pub struct Side<'a> {
    pub name: &'static str,
    pub url: &'a str,
    scope: Option<Scoped<'a>>,
    credentials: &'a MirrorCredentials,
    http: &'a GitHttp,
}

impl Side<'_> {
    /// Run one git2 call that talks to this side's remote, with the side's credential offered
    /// to its origin only; a failure becomes the error that says what to check.
    fn talk<T>(
        &self,
        context: &str,
        work: impl FnOnce() -> Result<T, git2::Error>,
    ) -> Result<T, MirrorError> {
        let credential = self.scope.as_ref().map(|scope| OriginCredential {
            origin: scope.origin.clone(),
            username: scope.credentials.username.clone(),
            password: scope.credentials.password.clone(),
        });
        let (outcome, failure) = self.http.run(credential, work);
        outcome.map_err(|error| self.classify(error, failure, context))
    }

    fn classify(
        &self,
        error: git2::Error,
        failure: Option<WireFailure>,
        context: &str,
    ) -> MirrorError {
        let url = origin::display_text(self.url);
        match failure {
            Some(WireFailure::Refused) => MirrorError::Unauthorized {
                url,
                inputs: self
                    .scope
                    .as_ref()
                    .map_or(FORGE_INPUTS, |scope| scope.inputs),
            },
            Some(WireFailure::Withheld) => MirrorError::CredentialsWithheld {
                side: self.name,
                url,
                hint: self.credentials.missing_hint(self.name),
            },
            Some(WireFailure::NotFound) => MirrorError::RepositoryMissing {
                side: self.name,
                url,
            },
            None => MirrorError::Git {
                context: format!("{context} {url}"),
                error,
            },
        }
    }
}

/// Fetch `refspecs` from `url` into the scratch repository; returns the bytes received.
pub fn fetch(scratch: &Repository, side: &Side, refspecs: &[String]) -> Result<usize, MirrorError> {
    let mut remote = side.remote(scratch)?;
    let received = Cell::new(0usize);
    let mut callbacks = RemoteCallbacks::new();
    // libgit2 counts received bytes only while a progress callback is registered.
    callbacks.transfer_progress(|progress| {
        received.set(progress.received_bytes());
        true
    });
    let mut options = FetchOptions::new();
    // No FETCH_HEAD: nothing a run does reads it, and a kept repository (merge's object cache)
    // should hold objects and our refs only.
    options
        .remote_callbacks(callbacks)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    let specs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
    side.talk("fetching from", || {
        remote.fetch(&specs, Some(&mut options), None)
    })?;
    Ok(received.get().max(remote.stats().received_bytes()))
}

impl Side<'_> {
    fn remote<'r>(&self, scratch: &'r Repository) -> Result<git2::Remote<'r>, MirrorError> {
        scratch
            .remote_anonymous(self.url)
            .map_err(|error| MirrorError::Git {
                context: format!("{} URL {}", self.name, origin::display_text(self.url)),
                error,
            })
    }
}

/// The refs `url` advertises, as `(name under refs/, oid)`, without fetching any object.
pub fn advertised(scratch: &Repository, side: &Side) -> Result<Vec<(String, Oid)>, MirrorError> {
    let mut remote = side.remote(scratch)?;
    let heads = side.talk("listing the refs of", || {
        let connection = remote.connect_auth(Direction::Fetch, None, None)?;
        let heads = connection
            .list()?
            .iter()
            .map(|head| (head.name().to_owned(), head.oid()))
            .collect::<Vec<_>>();
        Ok(heads)
    })?;
    Ok(heads
        .into_iter()
        .filter(|(name, _)| !name.ends_with("^{}"))
        .filter_map(|(name, oid)| Some((name.strip_prefix("refs/")?.to_owned(), oid)))
        .collect())
}

/// `(name under refs/, oid)` for every ref under `namespace`, e.g. `heads/main`.
pub fn refs_under(
    scratch: &Repository,
    namespace: &str,
) -> Result<Vec<(String, Oid)>, MirrorError> {
    let git = |error| MirrorError::Git {
        context: "reading the local repository".to_owned(),
        error,
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

/// Push explicit refspecs (libgit2 cannot push globs) and check each ref's status: `push`
/// returns Ok even when the server refuses a ref.
pub fn push(scratch: &Repository, side: &Side, refspecs: &[String]) -> Result<usize, MirrorError> {
    let statuses: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let remote_messages = RefCell::new(String::new());
    let bytes = Cell::new(0usize);
    let mut remote = side.remote(scratch)?;
    {
        let mut callbacks = RemoteCallbacks::new();
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
        side.talk("pushing to", || remote.push(&specs, Some(&mut options)))?;
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

/// Run `work` in a temporary bare repository (prefix `octofleet-<what>-`), removed afterwards
/// whatever the outcome; a failure to remove it is reported (dropping would ignore it).
pub fn in_scratch<T, E: From<MirrorError>>(
    what: &str,
    work: impl FnOnce(&Repository) -> Result<T, E>,
) -> Result<T, E> {
    let scratch_dir = tempfile::Builder::new()
        .prefix(&format!("octofleet-{what}-"))
        .tempdir()
        .map_err(MirrorError::Scratch)?;
    let scratch = Repository::init_bare(scratch_dir.path()).map_err(|error| MirrorError::Git {
        context: "creating the temporary repository".to_owned(),
        error,
    })?;
    let outcome = work(&scratch);
    drop(scratch);
    scratch_dir.close().map_err(MirrorError::Scratch)?;
    outcome
}

impl<'a> Side<'a> {
    /// `name` is `upstream` or `downstream`; the credential it may be offered follows from it.
    pub fn new(
        name: &'static str,
        url: &'a str,
        credentials: &'a MirrorCredentials,
        upstream_url: &str,
        http: &'a GitHttp,
    ) -> Side<'a> {
        Side {
            name,
            url,
            scope: credentials.for_side(name, upstream_url),
            credentials,
            http,
        }
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
