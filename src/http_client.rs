//! The one way octofleet builds an HTTP client, for the Octopus API, the platform APIs and git
//! alike: the trusted roots (bundled, the OS store, `Octofleet.CaCertificateFile`), redirects
//! only within the origin of the request they answer, timeouts, and the proxies the environment
//! names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read by reqwest).

use crate::inputs::CA_CERTIFICATE;
use crate::origin;
use std::path::PathBuf;
use std::time::Duration;

/// What a client is built with.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// An extra PEM CA certificate (bundle) to trust (private CAs). The bundled webpki roots and
    /// the OS trust store (when it can be read) stay trusted as well.
    pub ca_file: Option<PathBuf>,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long a request may wait with nothing arriving from the server.
    pub read_timeout: Duration,
    /// The most one request may take in all (sending, waiting, reading the body), unless the
    /// request sets its own (git does: up to the action's deadline).
    pub request_timeout: Duration,
}

impl HttpSettings {
    /// The defaults, trusting `ca_file` besides the bundled roots and the OS store.
    pub fn new(ca_file: Option<PathBuf>) -> HttpSettings {
        HttpSettings {
            ca_file,
            connect_timeout: Duration::from_secs(5),
            // A silent server costs 30 s; one still sending is cut at 60 s per request. The
            // action's deadline (Octofleet.Timeout) bounds the rest.
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a client could not be set up (all of them input problems: the CA file, the TLS setup).
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The CA certificate file could not be read.
    #[error("{CA_CERTIFICATE}: cannot read the CA certificate file {path}: {source}")]
    CaFile {
        /// The file as given.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The CA certificate file holds no certificate rustls can use.
    #[error("{CA_CERTIFICATE}: the CA certificate file {path} holds no usable PEM certificate: give the path of a PEM certificate")]
    CaPem {
        /// The file as given.
        path: PathBuf,
    },
    /// The HTTP client itself could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// The client: rustls with the bundled roots, the OS store and the CA file; redirects followed
/// only within the origin of the request (reqwest would carry custom credential headers such as
/// `X-Octopus-ApiKey` or `PRIVATE-TOKEN` to any host); the timeouts of `settings`.
pub fn build(settings: &HttpSettings) -> Result<reqwest::Client, ClientBuildError> {
    let mut certificates = Vec::new();
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path).map_err(|source| ClientBuildError::CaFile {
            path: path.clone(),
            source,
        })?;
        certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| ClientBuildError::CaPem { path: path.clone() })?;
        if certificates.is_empty() {
            return Err(ClientBuildError::CaPem { path: path.clone() });
        }
    }
    let builder = |native_roots: bool| {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .timeout(settings.request_timeout)
            .redirect(origin::redirect_policy())
            .tls_built_in_native_certs(native_roots)
            // GitHub refuses API requests without a User-Agent; the others log it.
            .user_agent(concat!("octofleet/", env!("CARGO_PKG_VERSION")));
        for certificate in &certificates {
            builder = builder.add_root_certificate(certificate.clone());
        }
        builder.build()
    };
    // An OS store that holds only certificates rustls cannot parse fails the build; the bundled
    // roots and the CA file still work without it, so that is a warning, not a stop.
    match builder(true) {
        Ok(client) => Ok(client),
        Err(error) => {
            tracing::warn!(
                "the OS certificate store cannot be used ({error}); trusting the bundled roots{} only",
                if certificates.is_empty() {
                    ""
                } else {
                    " and the CA certificate file"
                }
            );
            builder(false).map_err(ClientBuildError::Http)
        }
    }
}

/// What to add to the error of a request to `url` that failed: when the server's certificate
/// was not trusted (rustls says "invalid peer certificate: UnknownIssuer" somewhere in the
/// chain), the input that makes it trusted; else nothing.
pub fn untrusted_certificate_hint(url: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = Some(error);
    let mut about_certificate = false;
    while let Some(current) = cause {
        about_certificate |= current
            .to_string()
            .to_ascii_lowercase()
            .contains("certificate");
        cause = current.source();
    }
    if about_certificate && url.starts_with("https://") {
        format!(": if the server's certificate comes from a private CA, set {CA_CERTIFICATE} to that CA's PEM file")
    } else {
        String::new()
    }
}
