//! git's smart HTTP over the run's one reqwest client: registered once as libgit2's `http://` and
//! `https://` transport, it sends each request of a fetch or push with the credential that may go
//! to that request's origin, within the action's deadline, and records what the wire said.
//!
//! libgit2 calls a transport synchronously on the thread that runs `fetch`/`connect`/`push`,
//! and our client is async: each git operation runs on a blocking thread (the actions use
//! `spawn_blocking`) inside [`GitHttp::run`], which makes the operation's context (client,
//! runtime handle, credential, deadline) the calling thread's for the length of the call; the
//! transport drives each request with that runtime's handle (`Handle::block_on`, legal on a
//! blocking thread), so no runtime is started per request.
//!
//! Why a thread-local and not a registry keyed by URL: libgit2 creates the transport on the
//! thread that called it, during the call, so the thread identifies the operation exactly; two
//! operations at once (fleet, rollout, tests, two forks of one upstream) may name the same URL
//! with other credentials or deadlines, where a URL key would mix them up, and a guard that
//! restores the previous value on drop (panics included) leaves nothing behind to clean up.
//!
//! Smart HTTP as git and libgit2 speak it (git's `Documentation/gitprotocol-http.txt`;
//! libgit2 `src/libgit2/transports/http.c`): `GET …/info/refs?service=git-upload-pack` (or
//! `git-receive-pack`) answered 200 with `application/x-git-<service>-advertisement`, then
//! `POST …/git-<service>` with `application/x-git-<service>-request`, answered with
//! `application/x-git-<service>-result`. A redirect of the first request moves the repository's
//! base URL for the rest of the operation (libgit2's `git_net_url_apply_redirect`, git's
//! `http.followRedirects=initial`); the client's policy refuses any that leaves the origin.

use crate::http_client;
use crate::inputs::TIMEOUT;
use crate::origin;
use crate::secret::Secret;
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, StatusCode};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use url::Url;

/// How git reaches its servers in one action: the run's HTTP client, the runtime that drives it,
/// and the action's deadline.
#[derive(Clone)]
pub struct GitHttp {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    deadline: Option<Instant>,
}

/// One credential and the one origin (scheme, host, port) it may be sent to.
#[derive(Debug, Clone)]
pub struct OriginCredential {
    pub origin: Url,
    pub username: String,
    pub password: Secret,
}

/// What the wire said that a git2 error cannot carry, for the error the caller makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFailure {
    /// 401 to a request that carried our credential: the server refused it.
    Refused,
    /// 401 to a request that carried none, because none of ours may go to that origin.
    Withheld,
    /// 404: no repository there.
    NotFound,
}

/// The context of one git operation (a ref listing, a fetch, a push).
pub struct Operation {
    http: GitHttp,
    credential: Option<OriginCredential>,
    failure: Mutex<Option<WireFailure>>,
}

/// Without a deadline (a library caller gave none), one git request may take this long.
const REQUEST_BOUND: Duration = Duration::from_secs(600);

/// The User-Agent product libgit2 sent before (its `git_settings__user_agent_product` default,
/// `src/libgit2/settings.c`): servers may treat clients whose agent starts with `git/` as git.
const GIT_USER_AGENT: &str = concat!("git/2.0 (octofleet ", env!("CARGO_PKG_VERSION"), ")");

thread_local! {
    /// The operation this thread is running inside [`GitHttp::run`], if any.
    static CURRENT: RefCell<Option<Arc<Operation>>> = const { RefCell::new(None) };
}

impl GitHttp {
    /// git over `http` (the run's one client) with `deadline`; call it from within the runtime
    /// (an async action), whose handle it keeps.
    pub fn new(http: reqwest::Client, deadline: Option<Instant>) -> GitHttp {
        GitHttp {
            http,
            runtime: tokio::runtime::Handle::current(),
            deadline,
        }
    }

    /// Run `work` (one git2 call that talks to a remote) on this thread with `credential` offered
    /// to its origin only; returns what `work` returned and what the wire said. Must run on a
    /// blocking thread (not an async worker): the transport blocks on each request.
    pub fn run<T>(
        &self,
        credential: Option<OriginCredential>,
        work: impl FnOnce() -> Result<T, git2::Error>,
    ) -> (Result<T, git2::Error>, Option<WireFailure>) {
        if let Err(error) = register_transports() {
            return (Err(error), None);
        }
        let operation = Arc::new(Operation {
            http: self.clone(),
            credential,
            failure: Mutex::new(None),
        });
        let outcome = {
            let _entered = Entered::new(operation.clone());
            work()
        };
        let failure = *operation
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (outcome, failure)
    }
}

/// While alive, the thread's current operation; restores the one before when dropped.
struct Entered {
    previous: Option<Arc<Operation>>,
}

impl Entered {
    fn new(operation: Arc<Operation>) -> Entered {
        let previous = CURRENT.with(|current| current.replace(Some(operation)));
        Entered { previous }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// Make our transport libgit2's for `http://` and `https://`, once per process.
fn register_transports() -> Result<(), git2::Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // The workspace's one exception to `unsafe_code`. git2 marks `register` unsafe because
            // libgit2's list of custom transports is not synchronised with transport lookups.
            // Sound here: the OnceLock runs it once, and every lookup (a remote connect, fetch or
            // push) happens inside `GitHttp::run`, which waits for this initialisation first;
            // nothing else in octofleet connects a remote. The factory is 'static and Sync.
            #[allow(unsafe_code)]
            let registered = unsafe {
                git2::transport::register("http", transport)
                    .and_then(|()| git2::transport::register("https", transport))
            };
            registered.map_err(|error| error.message().to_owned())
        })
        .clone()
        .map_err(|message| {
            git2::Error::from_str(&format!("cannot set up git over HTTP: {message}"))
        })
}

/// libgit2's transport factory: the calling thread's operation, if any. Without one (a remote
/// call outside [`GitHttp::run`]: no credential scope, no deadline) every action fails; failing
/// there rather than here keeps the message (git2 passes on only the code of a factory's error).
fn transport(remote: &git2::Remote<'_>) -> Result<Transport, git2::Error> {
    let operation = CURRENT.with(|current| current.borrow().clone());
    Transport::smart(
        remote,
        true,
        Subtransport {
            operation,
            redirected_base: Arc::new(Mutex::new(None)),
        },
    )
}

/// The stateless (RPC) subtransport of one remote: one HTTP request per action.
struct Subtransport {
    operation: Option<Arc<Operation>>,
    /// Where a redirect of the first request moved the repository, for the requests after it.
    redirected_base: Arc<Mutex<Option<Url>>>,
}

impl SmartSubtransport for Subtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let operation = self.operation.clone().ok_or_else(|| {
            git2::Error::from_str("git over HTTP is used only inside an octofleet git operation")
        })?;
        let redirected = self
            .redirected_base
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let base = match redirected {
            Some(base) => base,
            None => Url::parse(url).map_err(|_| {
                git2::Error::from_str(&format!("{} is not a URL", origin::display_text(url)))
            })?,
        };
        let (service, advertisement) = match action {
            Service::UploadPackLs => ("upload-pack", true),
            Service::UploadPack => ("upload-pack", false),
            Service::ReceivePackLs => ("receive-pack", true),
            Service::ReceivePack => ("receive-pack", false),
        };
        Ok(Box::new(Exchange {
            operation,
            redirected_base: self.redirected_base.clone(),
            url: service_url(&base, service, advertisement),
            service,
            advertisement,
            body: Vec::new(),
            response: None,
            pending: Vec::new(),
            read_at: 0,
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// `<base>/info/refs?service=git-<service>` (the advertisement) or `<base>/git-<service>`.
fn service_url(base: &Url, service: &str, advertisement: bool) -> Url {
    let mut url = base.clone();
    let path = base.path().trim_end_matches('/').to_owned();
    if advertisement {
        url.set_path(&format!("{path}/info/refs"));
        url.set_query(Some(&format!("service=git-{service}")));
    } else {
        url.set_path(&format!("{path}/git-{service}"));
        url.set_query(None);
    }
    url.set_fragment(None);
    url
}

/// The repository's base URL from where the advertisement request ended up (after a
/// redirect): its URL without the `/info/refs` suffix and the query, or None when the server
/// moved it somewhere that is not an advertisement (libgit2 refuses that too).
fn base_of_advertisement(url: &Url) -> Option<Url> {
    let path = url.path().strip_suffix("/info/refs")?.to_owned();
    let mut base = url.clone();
    base.set_path(&path);
    base.set_query(None);
    base.set_fragment(None);
    Some(base)
}

/// One request and its answer: git writes the request body (buffered: a negotiation or a push's
/// pack), then reads the answer, which streams from the server as git reads it.
struct Exchange {
    operation: Arc<Operation>,
    redirected_base: Arc<Mutex<Option<Url>>>,
    url: Url,
    service: &'static str,
    advertisement: bool,
    body: Vec<u8>,
    response: Option<reqwest::Response>,
    /// The chunk being handed to git, and how much of it git has taken.
    pending: Vec<u8>,
    read_at: usize,
}

impl Write for Exchange {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other("git wrote after reading the answer"));
        }
        self.body.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Exchange {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            let response = self.send()?;
            self.response = Some(response);
        }
        while self.read_at == self.pending.len() {
            let response = self.response.as_mut().expect("sent above");
            let operation = &self.operation;
            let url = &self.url;
            let chunk = operation
                .http
                .runtime
                .block_on(response.chunk())
                .map_err(|error| operation.wire_error(url, "reading the answer of", error))?;
            match chunk {
                Some(chunk) => {
                    self.pending = chunk.to_vec();
                    self.read_at = 0;
                }
                None => return Ok(0),
            }
        }
        let taken = buffer.len().min(self.pending.len() - self.read_at);
        buffer[..taken].copy_from_slice(&self.pending[self.read_at..self.read_at + taken]);
        self.read_at += taken;
        Ok(taken)
    }
}

impl Exchange {
    /// Send the request (with the credential when its origin is the credential's) and check the
    /// answer's status and content type, as libgit2 checks them.
    fn send(&mut self) -> io::Result<reqwest::Response> {
        let operation = &self.operation;
        let shown = origin::display(&self.url);
        let timeout = match operation.http.deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::other(deadline_message(&shown)));
                }
                left
            }
            None => REQUEST_BOUND,
        };
        let method = if self.advertisement {
            Method::GET
        } else {
            Method::POST
        };
        let mut request = operation
            .http
            .http
            .request(method, self.url.clone())
            .timeout(timeout)
            .header(USER_AGENT, GIT_USER_AGENT);
        if !self.advertisement {
            request = request
                .header(
                    CONTENT_TYPE,
                    format!("application/x-git-{}-request", self.service),
                )
                .header(ACCEPT, format!("application/x-git-{}-result", self.service))
                .body(std::mem::take(&mut self.body));
        }
        // Offered at once, not after a 401: it goes only to the origin it is for, so waiting for
        // a challenge from that same origin adds no safety, and it saves a round trip per
        // request (a push's pack would otherwise go twice, or need a probe first).
        let credential = operation
            .credential
            .as_ref()
            .filter(|credential| origin::same_origin(&credential.origin, &self.url));
        if let Some(credential) = credential {
            request = request.basic_auth(&credential.username, Some(credential.password.expose()));
        }
        let response = operation
            .http
            .runtime
            .block_on(request.send())
            .map_err(|error| operation.wire_error(&self.url, "sending a request to", error))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            operation.record(if credential.is_some() {
                WireFailure::Refused
            } else {
                WireFailure::Withheld
            });
            return Err(io::Error::other(format!(
                "{shown} answered 401 Unauthorized"
            )));
        }
        if status == StatusCode::NOT_FOUND {
            operation.record(WireFailure::NotFound);
            return Err(io::Error::other(format!("{shown} answered 404 Not Found")));
        }
        if status != StatusCode::OK {
            return Err(io::Error::other(format!("{shown} answered {status}")));
        }
        let expected = format!(
            "application/x-git-{}-{}",
            self.service,
            if self.advertisement {
                "advertisement"
            } else {
                "result"
            }
        );
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("none");
        if content_type != expected {
            return Err(io::Error::other(format!(
                "{shown} is not a git smart HTTP endpoint: it answered with content type {content_type}, not {expected}"
            )));
        }
        if response.url() != &self.url {
            // Followed within the origin (the client's policy refuses any other hop).
            let base = base_of_advertisement(response.url())
                .filter(|_| self.advertisement)
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "{shown} redirected to {}, which is not a git repository's address",
                        origin::display(response.url())
                    ))
                })?;
            let moved_from = base_of_advertisement(&self.url)
                .map(|from| origin::display(&from))
                .unwrap_or_default();
            tracing::info!(
                "git: {moved_from} moved to {}; using the new address",
                origin::display(&base)
            );
            *self
                .redirected_base
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(base);
        }
        Ok(response)
    }
}

impl Operation {
    /// Keep the first failure: later ones follow from it.
    fn record(&self, failure: WireFailure) {
        let mut slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(failure);
    }

    /// A transport error as people need it: a refused redirect as such, the deadline by its
    /// input, a certificate problem with the input that fixes it; never a credential.
    fn wire_error(&self, url: &Url, doing: &str, error: reqwest::Error) -> io::Error {
        let shown = origin::display(url);
        if let Some(refused) = cross_origin(&error) {
            return io::Error::other(refused.to_string());
        }
        if error.is_timeout() {
            let past_deadline = self
                .http
                .deadline
                .is_some_and(|deadline| Instant::now() + Duration::from_millis(50) >= deadline);
            return io::Error::other(if past_deadline {
                deadline_message(&shown)
            } else {
                format!(
                    "{doing} {shown}: the server stopped answering ({})",
                    chain(error)
                )
            });
        }
        let hint = http_client::untrusted_certificate_hint(url.as_str(), &error);
        io::Error::other(format!("{doing} {shown}: {}{hint}", chain(error)))
    }
}

fn deadline_message(shown: &str) -> String {
    format!("the git request to {shown} was cut at the action's deadline ({TIMEOUT}): run it again, or raise {TIMEOUT}")
}

/// The error and its causes, one after the other (reqwest's own text is only the outermost).
fn chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        let next = current.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = current.source();
    }
    text
}

/// The [`origin::CrossOrigin`] refusal our redirect policy put inside a reqwest error.
fn cross_origin(error: &reqwest::Error) -> Option<origin::CrossOrigin> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<origin::CrossOrigin>() {
            return Some(refused.clone());
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_client::{self, HttpSettings};

    #[test]
    fn service_urls_and_a_moved_repository() {
        let base = Url::parse("https://git.example.com/org/repo.git/").unwrap();
        assert_eq!(
            service_url(&base, "upload-pack", true).as_str(),
            "https://git.example.com/org/repo.git/info/refs?service=git-upload-pack"
        );
        assert_eq!(
            service_url(&base, "receive-pack", false).as_str(),
            "https://git.example.com/org/repo.git/git-receive-pack"
        );
        let moved = Url::parse("https://git.example.com/new/repo.git/info/refs?service=x").unwrap();
        assert_eq!(
            base_of_advertisement(&moved).unwrap().as_str(),
            "https://git.example.com/new/repo.git"
        );
        let login = Url::parse("https://git.example.com/login?next=/org/repo.git").unwrap();
        assert_eq!(base_of_advertisement(&login), None);
    }

    /// A git server that accepts the connection and never answers: the request is cut at the
    /// action's deadline (Octofleet.Timeout), not after the client's 30 s of silence or later.
    #[test]
    fn a_git_request_is_cut_at_the_deadline() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/org/repo.git", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for connection in listener.incoming() {
                held.push(connection);
            }
        });
        let http = http_client::build(&HttpSettings::new(None)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        let git = runtime.block_on(async { GitHttp::new(http, Some(deadline)) });
        let started = Instant::now();
        let outcome = runtime
            .block_on(runtime.spawn_blocking(move || {
                let dir = tempfile::tempdir().unwrap();
                let scratch = git2::Repository::init_bare(dir.path()).unwrap();
                let mut remote = scratch.remote_anonymous(&url).unwrap();
                git.run(None, || {
                    remote.connect(git2::Direction::Fetch)?;
                    Ok(())
                })
                .0
            }))
            .unwrap();
        let error = outcome.unwrap_err();
        assert!(error.message().contains("Octofleet.Timeout"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "cut after {:?}",
            started.elapsed()
        );
    }

    /// A remote call outside `GitHttp::run` gets no transport: no credential scope, no deadline.
    #[test]
    fn git_over_http_outside_an_operation_is_refused() {
        register_transports().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let scratch = git2::Repository::init_bare(dir.path()).unwrap();
        let mut remote = scratch
            .remote_anonymous("http://127.0.0.1:9/org/repo.git")
            .unwrap();
        let error = remote.connect(git2::Direction::Fetch).unwrap_err();
        assert!(error.message().contains("only inside"), "{error}");
    }
}
