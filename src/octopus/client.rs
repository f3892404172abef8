//! The HTTP client for one Octopus server: builds requests (pure, unit-tested), sends them with
//! retries for idempotent methods, and decodes JSON with errors that name the failing path.

use super::error::{truncate, ErrorBody, OctopusError, RequestLine, MAX_ERROR_TEXT_CHARS};
use super::paging::Page;
use super::retry::{parse_retry_after, RetryPolicy};
use crate::http_client::{self, HttpSettings};
use crate::origin;
use crate::secret::Secret;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Everything needed to talk to one server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's address, with or without a path prefix (`https://host/octopus/`).
    pub base_url: Url,
    /// The API key, sent as `X-Octopus-ApiKey` to this server only.
    pub api_key: Secret,
    /// An extra PEM CA certificate to trust (private CAs). The bundled webpki roots and the OS
    /// trust store (when it can be read) stay trusted as well.
    pub ca_file: Option<PathBuf>,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long a request may wait with nothing arriving from the server.
    pub read_timeout: Duration,
    /// The most one attempt may take in all (sending, waiting, reading the body).
    pub request_timeout: Duration,
    /// When and how often an idempotent request is tried again.
    pub retry: RetryPolicy,
}

/// The most a JSON answer may be: far above any real Octopus response, far below a worker's memory.
pub const JSON_BODY_LIMIT: u64 = 64 << 20;
/// The most a package download (`.../raw`) may be; a template package is bounded to 64 MiB
/// uncompressed when it is read, so its zip is well below this.
pub const PACKAGE_BODY_LIMIT: u64 = 256 << 20;

/// The most requests one client has in flight to its server at once; more wait their turn, in the
/// order they were sent. See docs/actions.md ("Requests sent together") for why this number.
pub const MAX_IN_FLIGHT: usize = 8;

impl ClientConfig {
    /// The defaults for `base_url` with `api_key`: no extra CA, the timeouts below, the default retries.
    pub fn new(base_url: Url, api_key: Secret) -> Self {
        let defaults = HttpSettings::new(None);
        ClientConfig {
            base_url,
            api_key,
            ca_file: None,
            // The shared defaults (5 s to connect, 30 s of silence, 60 s per request). A
            // timed-out request is tried twice (RetryPolicy::max_attempts_after_timeout), so a
            // silent server costs about a minute; the action's deadline (Octofleet.Timeout)
            // bounds the rest.
            connect_timeout: defaults.connect_timeout,
            read_timeout: defaults.read_timeout,
            request_timeout: defaults.request_timeout,
            retry: RetryPolicy::default(),
        }
    }
}

pub use crate::http_client::ClientBuildError;

/// A cheap-to-clone handle to one Octopus server.
#[derive(Clone)]
pub struct OctopusClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Always ends with `/`, so `api/...` joins under any path prefix.
    base: Url,
    api_key: Secret,
    retry: RetryPolicy,
    /// Requests sent, retries included: the benchmarks and tests read it.
    requests_sent: AtomicU64,
    writes_sent: AtomicU64,
    /// [`MAX_IN_FLIGHT`] permits, one taken per attempt for as long as it is on the wire (never
    /// during a retry's wait); tokio's semaphore is fair, so requests go out in the order sent.
    in_flight: tokio::sync::Semaphore,
}

impl fmt::Debug for OctopusClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OctopusClient")
            .field("base", &self.inner.base.as_str())
            .field("api_key", &self.inner.api_key)
            .finish()
    }
}

/// What to send: method, a path relative to the server root (`api/spaces`) or a server link
/// (`/api/Spaces-1/...`), query pairs and an optional JSON body.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// `api/...` relative to the server root, or a link the server gave (`/api/...`).
    pub path: String,
    /// Query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

impl ApiRequest {
    /// A `GET` of `path` with no query and no body.
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    /// The same request with another method.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// One more query pair.
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    /// With `body` as its JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Repeating it cannot create a second resource.
    fn is_idempotent(&self) -> bool {
        self.method == Method::GET
            || self.method == Method::PUT
            || self.method == Method::DELETE
            || self.method == Method::HEAD
    }

    fn request_line(&self) -> RequestLine {
        RequestLine {
            method: self.method.clone(),
            path: self.path.clone(),
        }
    }
}

/// A raw answer: status and body bytes.
#[derive(Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, bounded by the kind of request (see [`JSON_BODY_LIMIT`]).
    pub body: Vec<u8>,
}

impl OctopusClient {
    /// A client for one server: its TLS roots (bundled, the OS store, the CA file), timeouts, the
    /// same-origin redirect policy and the retry policy.
    pub fn new(config: ClientConfig) -> Result<Self, ClientBuildError> {
        let base = normalized_base(&config.base_url);
        let http = http_client::build(&HttpSettings {
            ca_file: config.ca_file,
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            request_timeout: config.request_timeout,
        })?;
        Ok(OctopusClient {
            inner: Arc::new(Inner {
                http,
                base,
                api_key: config.api_key,
                retry: config.retry,
                requests_sent: AtomicU64::new(0),
                writes_sent: AtomicU64::new(0),
                in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            }),
        })
    }

    /// The server's address, ending with `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Requests sent so far (retries counted), and how many of them were writes.
    pub fn request_counts(&self) -> (u64, u64) {
        (
            self.inner.requests_sent.load(Ordering::Relaxed),
            self.inner.writes_sent.load(Ordering::Relaxed),
        )
    }

    /// The URL for a path or link: relative paths join under the base (and its prefix); links
    /// the server returned (`/octopus/api/...` or `/api/...`) are placed under the same prefix once.
    pub fn url_for(&self, path: &str, query: &[(String, String)]) -> Result<Url, OctopusError> {
        let mut url = resolve_path(&self.inner.base, path)?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// The key header, marked sensitive so HTTP-level debug output masks it.
    fn api_key_header(&self) -> Result<HeaderValue, OctopusError> {
        let mut key = HeaderValue::from_str(self.inner.api_key.expose()).map_err(|_| {
            OctopusError::Url("the API key holds characters not allowed in a header".into())
        })?;
        key.set_sensitive(true);
        Ok(key)
    }

    /// Build the HTTP request without sending it.
    pub fn build(&self, request: &ApiRequest) -> Result<reqwest::Request, OctopusError> {
        let url = self.url_for(&request.path, &request.query)?;
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        builder = builder.header("X-Octopus-ApiKey", self.api_key_header()?);
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).expect("a JSON value always serializes"));
        }
        builder.build().map_err(|source| OctopusError::Transport {
            request: request.request_line(),
            source,
        })
    }

    /// Send once, no retry: any status comes back as `Ok` unless it is an error status.
    async fn send_once(&self, request: &ApiRequest) -> Result<RawResponse, OctopusError> {
        self.execute(request.request_line(), self.build(request)?)
            .await
    }

    async fn execute(
        &self,
        line: RequestLine,
        http_request: reqwest::Request,
    ) -> Result<RawResponse, OctopusError> {
        // Held until the body is read: the request is on the wire until then.
        let _turn = self
            .inner
            .in_flight
            .acquire()
            .await
            .expect("the in-flight semaphore is never closed");
        self.inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        if line.method != Method::GET && line.method != Method::HEAD {
            self.inner.writes_sent.fetch_add(1, Ordering::Relaxed);
        }
        let started = Instant::now();
        let transport = |source| OctopusError::Transport {
            request: line.clone(),
            source,
        };
        let response = self
            .inner
            .http
            .execute(http_request)
            .await
            .map_err(|error| refused_redirect(&error).unwrap_or_else(|| transport(error)))?;
        let status = response.status();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok()),
        );
        let body = read_body(response, &line).await?;
        tracing::debug!(
            method = %line.method,
            path = %line.path,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "octopus request"
        );
        if status.is_success() {
            return Ok(RawResponse { status, body });
        }
        let error_body: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        let (message, errors) = error_body.bounded();
        let message = message.or_else(|| {
            (status == StatusCode::UNAUTHORIZED).then(|| "the API key was not accepted".to_owned())
        });
        Err(OctopusError::Api {
            request: line,
            status,
            message,
            errors,
            retry_after,
        })
    }

    /// Build a `multipart/form-data` POST with one file part, as the built-in feed expects
    /// (the part's file name gives the package identity).
    pub fn build_upload(
        &self,
        path: &str,
        query: &[(String, String)],
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<reqwest::Request, OctopusError> {
        let line = RequestLine {
            method: Method::POST,
            path: path.to_owned(),
        };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str("application/octet-stream")
            .expect("a valid MIME type");
        self.inner
            .http
            .post(self.url_for(path, query)?)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header("X-Octopus-ApiKey", self.api_key_header()?)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .build()
            .map_err(|source| OctopusError::Transport {
                request: line,
                source,
            })
    }

    /// One upload, never retried here (the caller checks whether it landed).
    pub async fn upload(
        &self,
        path: &str,
        query: &[(String, String)],
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<RawResponse, OctopusError> {
        let request = self.build_upload(path, query, file_name, bytes)?;
        self.execute(
            RequestLine {
                method: Method::POST,
                path: path.to_owned(),
            },
            request,
        )
        .await
    }

    /// Send; idempotent methods are retried on transient failures with backoff. POST is sent
    /// once: the caller decides (by re-reading) whether repeating it is safe.
    pub async fn send(&self, request: &ApiRequest) -> Result<RawResponse, OctopusError> {
        let policy = self.inner.retry;
        let mut attempt = 1;
        loop {
            match self.send_once(request).await {
                Ok(response) => return Ok(response),
                Err(error)
                    if request.is_idempotent()
                        && error.is_transient()
                        && policy.should_retry(attempt, error.is_timeout()) =>
                {
                    let wait = policy.delay(attempt, error.retry_after());
                    tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The retry policy this client was built with.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Send `request` (with retries when it is idempotent) and decode the answer as `T`.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<T, OctopusError> {
        let response = self.send(request).await?;
        decode(request, &response.body)
    }

    /// `GET` `path`, decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, OctopusError> {
        self.send_json(&ApiRequest::get(path)).await
    }

    /// `GET`, with 404 as `None`.
    pub async fn get_opt<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, OctopusError> {
        match self.get(path).await {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `PUT` `body` to `path` (idempotent, so retried like a `GET`).
    pub async fn put<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<RawResponse, OctopusError> {
        let body = serde_json::to_value(body).expect("request bodies always serialize");
        self.send(&ApiRequest::get(path).with_method(Method::PUT).json(body))
            .await
    }

    /// One POST, never retried here.
    pub async fn post<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<RawResponse, OctopusError> {
        let body = serde_json::to_value(body).expect("request bodies always serialize");
        self.send(&ApiRequest::get(path).with_method(Method::POST).json(body))
            .await
    }

    /// Every item of a paged collection, following `Links["Page.Next"]`.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<Vec<T>, OctopusError> {
        let mut items = Vec::new();
        let mut next = Some(request);
        // A server that links a page to itself must not loop us forever.
        let mut seen = std::collections::HashSet::new();
        while let Some(request) = next.take() {
            let page: Page<T> = self.send_json(&request).await?;
            if let Some(link) = page.next_link() {
                if seen.insert(link.to_owned()) {
                    next = Some(ApiRequest::get(link));
                }
            }
            items.extend(page.items);
        }
        Ok(items)
    }
}

/// `body` decoded as `T`; a failure names the JSON path that did not fit.
pub fn decode<T: DeserializeOwned>(request: &ApiRequest, body: &[u8]) -> Result<T, OctopusError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| OctopusError::Decode {
        request: request.request_line(),
        path: truncate(&error.path().to_string(), MAX_ERROR_TEXT_CHARS),
        // serde quotes the offending value, which may be as large as the response.
        message: truncate(&error.inner().to_string(), MAX_ERROR_TEXT_CHARS),
    })
}

/// A redirect the origin policy refused, as its own error: it is not retried and names both ends.
fn refused_redirect(error: &reqwest::Error) -> Option<OctopusError> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<origin::CrossOrigin>() {
            return Some(OctopusError::CrossOrigin(refused.clone()));
        }
        source = cause.source();
    }
    None
}

/// The body, refused once it passes the limit for its kind (a package download may be larger than
/// JSON), so a hostile or broken server cannot make us buffer without end.
async fn read_body(
    mut response: reqwest::Response,
    line: &RequestLine,
) -> Result<Vec<u8>, OctopusError> {
    let (limit, what) = if line.method == Method::GET && line.path.ends_with("/raw") {
        (PACKAGE_BODY_LIMIT, "a package download")
    } else {
        (JSON_BODY_LIMIT, "an API response")
    };
    let too_large = || OctopusError::TooLarge {
        request: line.clone(),
        limit_mib: limit >> 20,
        what,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| OctopusError::Transport {
            request: line.clone(),
            source,
        })?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn normalized_base(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

fn resolve_path(base: &Url, path: &str) -> Result<Url, OctopusError> {
    let invalid = || OctopusError::Url(origin::display_text(path));
    if path.starts_with("http://") || path.starts_with("https://") {
        // A server link (`Links.Page.Next`, ...) to another origin would carry the API key there.
        let url = Url::parse(path).map_err(|_| invalid())?;
        origin::check("a link", base, base, &url)?;
        return Ok(url);
    }
    let relative = match path.strip_prefix('/') {
        // A server link: it already carries the prefix when Octopus knows its virtual
        // directory, and does not when a proxy strips it.
        Some(rooted) => {
            let prefix = base.path().trim_start_matches('/');
            rooted
                .strip_prefix(prefix)
                .filter(|_| !prefix.is_empty())
                .unwrap_or(rooted)
        }
        None => path,
    };
    base.join(relative).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> OctopusClient {
        OctopusClient::new(ClientConfig::new(
            Url::parse(base).unwrap(),
            Secret::new("API-TEST123"),
        ))
        .unwrap()
    }

    #[test]
    fn base_with_or_without_trailing_slash_and_prefix() {
        for base in ["https://octo.example.com", "https://octo.example.com/"] {
            let url = client(base).url_for("api/spaces", &[]).unwrap();
            assert_eq!(url.as_str(), "https://octo.example.com/api/spaces");
        }
        for base in ["https://h/octopus", "https://h/octopus/"] {
            let c = client(base);
            assert_eq!(
                c.url_for("api/spaces", &[]).unwrap().as_str(),
                "https://h/octopus/api/spaces"
            );
            // Links with and without the virtual directory land in the same place.
            assert_eq!(
                c.url_for("/octopus/api/tenants/Tenants-1/variables", &[])
                    .unwrap()
                    .as_str(),
                "https://h/octopus/api/tenants/Tenants-1/variables"
            );
            assert_eq!(
                c.url_for("/api/Spaces-1/environments?skip=30&take=30", &[])
                    .unwrap()
                    .as_str(),
                "https://h/octopus/api/Spaces-1/environments?skip=30&take=30"
            );
        }
    }

    #[test]
    fn absolute_links_must_stay_on_the_base_origin() {
        let c = client("https://octo.example.com/octopus/");
        assert_eq!(
            c.url_for("https://octo.example.com/octopus/api/spaces?skip=30", &[])
                .unwrap()
                .as_str(),
            "https://octo.example.com/octopus/api/spaces?skip=30"
        );
        for link in [
            "https://evil.example.com/api/spaces?skip=30&apikey=API-LEAKED1",
            "http://octo.example.com/octopus/api/spaces",
            "https://octo.example.com:8443/octopus/api/spaces",
        ] {
            let error = c.url_for(link, &[]).unwrap_err();
            assert!(
                matches!(error, OctopusError::CrossOrigin(_)),
                "{link}: {error:?}"
            );
            let text = error.to_string();
            assert!(
                text.contains("https://octo.example.com") && text.contains(&link[..20]),
                "names both origins: {text}"
            );
            assert!(!text.contains("API-"), "{text}");
            assert!(!error.is_transient(), "a refused link is not retried");
        }
    }

    #[test]
    fn query_pairs_are_encoded() {
        let url = client("http://h")
            .url_for(
                "api/spaces",
                &[("partialName".into(), "Europe & Co".into())],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/api/spaces?partialName=Europe+%26+Co"
        );
    }

    #[test]
    fn built_request_carries_key_header_and_json() {
        let c = client("http://h/prefix");
        let request = ApiRequest::get("api/Spaces-1/environments")
            .with_method(Method::POST)
            .json(serde_json::json!({"Name": "Dev"}));
        let built = c.build(&request).unwrap();
        assert_eq!(built.method(), Method::POST);
        assert_eq!(
            built.url().as_str(),
            "http://h/prefix/api/Spaces-1/environments"
        );
        let key = built.headers().get("X-Octopus-ApiKey").unwrap();
        assert!(key.is_sensitive());
        assert_eq!(key.to_str().unwrap(), "API-TEST123");
        assert_eq!(built.headers()[CONTENT_TYPE], "application/json");
        assert!(!format!("{c:?}").contains("API-TEST123"));
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            #[serde(rename = "Items")]
            items: Vec<Inner>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            #[serde(rename = "SortOrder")]
            sort_order: i32,
        }
        let error = decode::<Item>(
            &ApiRequest::get("api/environments"),
            br#"{"Items":[{"SortOrder":1},{"SortOrder":"x"}]}"#,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("Items[1].SortOrder"), "{text}");
        assert!(text.contains("GET api/environments"), "{text}");
    }
}
