//! The HTTP side: our own accept loop (so a connection can be dropped mid-request), and the
//! per-request pipeline of latency, random faults, auth, write budget, routing, persistence,
//! drop-after-commit and the request log.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::faults::{self, Faults, LostAnswer};
use crate::paging::Query;
use crate::reply::{ApiError, Reply, ReplyBody};
use crate::routes::{self, Call};
use crate::state::State;
use crate::RequestRecord;

/// Uploads are the largest bodies; a generous cap keeps a runaway client from exhausting memory.
const BODY_LIMIT: usize = 512 * 1024 * 1024;

/// Everything request handlers share.
pub struct Shared {
    pub api_key: String,
    pub check_git_urls: bool,
    pub legacy_tenant_variables: bool,
    /// A server before 2024.1.1085 (see `EmulatorConfig::keeps_template_on_null`).
    pub keeps_template_on_null: bool,
    pub state_file: Option<PathBuf>,
    pub http: reqwest::Client,
    state: Mutex<State>,
    faults: Mutex<Faults>,
    latency: Mutex<Duration>,
    log: Mutex<Vec<RequestRecord>>,
    /// Serialises state-file writes so an older snapshot never overwrites a newer one.
    save_lock: Mutex<()>,
    /// The clock of the request log's times.
    started: std::time::Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(config: &crate::EmulatorConfig, state: State) -> Shared {
        Shared {
            api_key: config.api_key.clone(),
            check_git_urls: config.check_git_urls,
            legacy_tenant_variables: config.legacy_tenant_variables,
            keeps_template_on_null: config.keeps_template_on_null,
            state_file: config.state_file.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            state: Mutex::new(state),
            faults: Mutex::new(Faults::new(config.fault_rate, config.seed)),
            latency: Mutex::new(config.latency),
            log: Mutex::new(Vec::new()),
            save_lock: Mutex::new(()),
            started: std::time::Instant::now(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// The request log's clock: µs since the emulator started.
    pub fn clock_us(&self) -> u64 {
        elapsed_us(&self.started)
    }

    pub fn log(&self) -> MutexGuard<'_, Vec<RequestRecord>> {
        lock(&self.log)
    }

    /// Write the whole state to the state file, atomically (temp file + rename).
    pub fn save(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let _order = lock(&self.save_lock);
        let snapshot = match serde_json::to_vec(&*self.state()) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(%error, "could not serialise the emulator state");
                return;
            }
        };
        let temp = path.with_extension("tmp");
        let written = std::fs::write(&temp, snapshot).and_then(|()| std::fs::rename(&temp, path));
        if let Err(error) = written {
            tracing::warn!(%error, path = %path.display(), "could not save the emulator state");
        }
    }
}

/// Accept connections until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                tokio::spawn(connection(stream, shared.clone(), shutdown.clone()));
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// One HTTP/1.1 connection. A handler that must "lose" its response notifies `kill`; dropping the
/// connection future then closes the socket before a single response byte is written.
async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |request| {
            let shared = shared.clone();
            let kill = kill.clone();
            async move { Ok::<_, Infallible>(handle(shared, kill, request).await) }
        })
    };
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = kill.notified() => {}
        _ = shutdown.changed() => {}
    }
}

fn elapsed_us(since: &std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// The API keys a request presents, in the places a real server reads them: the
/// `X-Octopus-ApiKey` header, `X-NuGet-ApiKey` (package pushes) and the `apikey` query parameter.
fn presented_keys<'a>(
    request: &'a axum::http::request::Parts,
    query: &'a Query,
) -> impl Iterator<Item = &'a str> {
    let header_key = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    [
        header_key("x-octopus-apikey"),
        header_key("x-nuget-apikey"),
        query.get("apikey"),
    ]
    .into_iter()
    .flatten()
}

fn authorised(shared: &Shared, request: &axum::http::request::Parts, query: &Query) -> bool {
    presented_keys(request, query).any(|key| key == shared.api_key)
}

/// The fingerprint of the first key the request presents, for the request log.
fn presented_key(request: &axum::http::request::Parts, query: &Query) -> Option<String> {
    presented_keys(request, query)
        .next()
        .map(crate::key_fingerprint)
}

/// The `Name` of a JSON body (a create), if it has one.
fn posted_name(body: &[u8]) -> Option<String> {
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let document: Value = serde_json::from_slice(body).ok()?;
    document.get("Name")?.as_str().map(str::to_owned)
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or_default().to_string();
    let segments = split_path(&path);
    if segments.first().is_some_and(|s| s == "_emulator") {
        let query = Query::parse(&raw_query);
        return to_response(control(&shared, &parts.method, &segments[1..], &query));
    }

    let received_us = elapsed_us(&shared.started);
    // Copied out: the lock is never held while sleeping, so requests sent together each wait
    // their own latency, as on a real network, instead of queueing behind one another.
    let latency = *lock(&shared.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Read the body first so a faulted reply never leaves a half-read request on a kept-alive
    // connection; faults still come before anything is changed.
    let body = axum::body::to_bytes(Body::new(body), BODY_LIMIT)
        .await
        .unwrap_or_default();
    let name = (parts.method == Method::POST)
        .then(|| posted_name(&body))
        .flatten();
    let key = presented_key(&parts, &Query::parse(&raw_query));
    let record = |status: StatusCode| RequestRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        query: raw_query.clone(),
        status: status.as_u16(),
        name: name.clone(),
        key: key.clone(),
        received_us,
        answered_us: elapsed_us(&shared.started),
    };
    let refusal = shared.faults().take_refusal(parts.method.as_str(), &path);
    if let Some(reply) = refusal {
        shared.log().push(record(reply.status));
        return to_response(reply);
    }
    let fault = shared.faults().draw();
    if let Some(fault) = fault {
        let reply = fault.reply();
        shared.log().push(record(reply.status));
        return to_response(reply);
    }

    if shared
        .faults()
        .take_concurrent_edit(parts.method.as_str(), &path)
    {
        if let Some(id) = segments.last() {
            crate::processes::bump_version(&mut shared.state(), id);
        }
    }
    // The write budget (`fail_writes_after`) is taken before the write runs: a server that goes
    // away after n commits refuses the (n+1)th however many were sent together.
    let reserved = if is_read(&parts.method) {
        false
    } else {
        match shared.faults().reserve_write() {
            Ok(reserved) => reserved,
            Err(()) => {
                let reply = faults::unavailable();
                shared.log().push(record(reply.status));
                return to_response(reply);
            }
        }
    };
    let query = Query::parse(&raw_query);
    let reply = answer(&shared, &parts, segments, query, body).await;
    let committed = !is_read(&parts.method) && reply.status.as_u16() < 400;
    if reserved && !committed {
        shared.faults().refund_write();
    }
    let lost = if committed {
        shared.faults().take_drop(parts.method.as_str(), &path)
    } else {
        None
    };
    if committed {
        shared.save();
    }
    // The log keeps what the write did (it committed), whatever the client is told.
    shared.log().push(record(reply.status));
    match lost {
        Some(LostAnswer::Drop) => {
            kill.notify_one();
            // Never answer: the connection task drops the connection (and this future) instead.
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes")
        }
        Some(LostAnswer::Status(status)) => to_response(faults::lost_answer_reply(status)),
        None => to_response(reply),
    }
}

/// Auth, the write budget, then the API routes.
async fn answer(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    segments: Vec<String>,
    query: Query,
    body: Bytes,
) -> Reply {
    if !segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("api"))
    {
        return ApiError::unknown_route().into();
    }
    let segments = segments[1..].to_vec();
    // The API root is anonymous on real servers; everything else needs the key.
    let anonymous = segments.is_empty() && is_read(&parts.method);
    if !anonymous && !authorised(shared, parts, &query) {
        return ApiError::unauthorized().into();
    }
    let path = parts.uri.path();
    if let Some(denied) = shared.faults().denial(parts.method.as_str(), path) {
        return denied;
    }
    let call = Call {
        method: parts.method.clone(),
        segments,
        query,
        body,
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    routes::route(shared, &call).await
}

/// `/_emulator/*`: the request log, the fault rules and how often each fired, and a state dump;
/// never delayed, faulted or logged.
fn control(shared: &Shared, method: &Method, segments: &[String], query: &Query) -> Reply {
    match (method.as_str(), segments.first().map(String::as_str)) {
        ("GET", Some("requests")) => Reply::ok(json!(*shared.log())),
        ("DELETE", Some("requests")) => {
            shared.log().clear();
            Reply::empty_object()
        }
        ("GET", Some("faults")) => Reply::ok(json!(shared.faults().report())),
        (_, Some("task-rules")) => crate::executor::control(shared, method.as_str(), query),
        ("GET", Some("state")) => {
            Reply::ok(serde_json::to_value(&*shared.state()).unwrap_or(Value::Null))
        }
        _ => ApiError::unknown_route().into(),
    }
}

fn to_response(reply: Reply) -> Response<Body> {
    let mut builder = Response::builder().status(reply.status);
    let body = match reply.body {
        ReplyBody::Json(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json; charset=utf-8");
            Body::from(serde_json::to_vec(&value).unwrap_or_default())
        }
        ReplyBody::Bytes {
            content_type,
            bytes,
        } => {
            builder = builder.header(header::CONTENT_TYPE, content_type);
            Body::from(bytes)
        }
        ReplyBody::Empty => Body::empty(),
    };
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
