//! HTTPS listeners with a certificate for 127.0.0.1 from the test CA in `fixtures/tls` (made for
//! these tests only; the key protects nothing; the CA is in no trust store).

use super::servers::http_response;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The path of a file in `tests/it/fixtures/tls` (`ca.pem`, `server.pem`, `server.key`).
pub fn tls_fixture(name: &str) -> String {
    format!(
        "{}/tests/it/fixtures/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn acceptor() -> TlsAcceptor {
    let chain = CertificateDer::pem_slice_iter(include_bytes!("../fixtures/tls/server.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../fixtures/tls/server.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// An HTTPS listener answering every request with 401 and the message "reached over verified
/// TLS". Returns its URL (`https://127.0.0.1:PORT/`).
pub async fn tls_server() -> String {
    let acceptor = acceptor();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"ErrorMessage":"reached over verified TLS"}"#;
                let response = http_response("401 Unauthorized", &[], body);
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

/// A TLS front for a plain-HTTP server (`http://127.0.0.1:PORT`, e.g. the emulator): every
/// connection's TLS is terminated here and its bytes relayed to `target`, so the whole API is
/// served over HTTPS. Returns the HTTPS URL (`https://127.0.0.1:PORT`, no trailing slash) and a
/// counter of completed TLS handshakes.
pub async fn tls_proxy(target: &str) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let target = target
        .strip_prefix("http://")
        .expect("an http:// target")
        .trim_end_matches('/')
        .to_owned();
    let acceptor = acceptor();
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let counter = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, target, counter) = (acceptor.clone(), target.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(socket).await else {
                    return;
                };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (url, handshakes)
}
