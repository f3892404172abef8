//! Raw local HTTP servers for what the emulators will not do: redirect elsewhere, never answer,
//! link to another origin.

/// A minimal HTTP/1.1 server for what the emulator will not do (redirect elsewhere, never answer,
/// link to another origin): `respond` gets the request head and returns the whole response, or
/// `None` to hold the connection open without a byte. Every head is recorded.
pub struct TinyServer {
    pub url: String,
    pub heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TinyServer {
    pub async fn start(respond: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let respond = std::sync::Arc::new(respond);
        let (heads_, accepted_) = (heads.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted_.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (heads, respond) = (heads_.clone(), respond.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    heads.lock().unwrap().push(head.clone());
                    match respond(&head) {
                        Some(response) => {
                            let _ = socket.write_all(response.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        // Keep the socket open and silent until the client gives up.
                        None => {
                            let _ = socket.read(&mut buffer).await;
                            std::future::pending::<()>().await;
                        }
                    }
                });
            }
        });
        TinyServer {
            url,
            heads,
            accepted,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// The path of a request head (`GET /api/spaces HTTP/1.1` → `/api/spaces`).
pub fn request_path(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("/")
}

pub fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut response = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    response
}
