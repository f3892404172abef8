//! The `octopus-emulator` binary: first stdout line, auth, state file, clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

#[tokio::test]
async fn the_binary_announces_its_url_serves_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_octopus-emulator"))
        .args(["--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .env("OCTOPUS_EMULATOR_API_KEY", "API-BINARY1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line announces the URL")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = reqwest::Client::new();
    let created = http
        .post(format!("{url}/api/Spaces-1/environments"))
        .header("X-Octopus-ApiKey", "API-BINARY1")
        .json(&json!({"Name": "From Binary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(saved.to_string().contains("From Binary"));

    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
    #[cfg(not(unix))]
    {
        child.kill().unwrap();
    }
}
