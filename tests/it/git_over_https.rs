//! git over HTTPS and redirects: fork and merge speak to a forge behind a TLS front whose
//! certificate comes from the test CA (`fixtures/tls`, in no trust store), through the same
//! client as the platform API; and a git host that redirects elsewhere never passes a credential.

use crate::support::forge::{
    forge, forge_with_upstream, run_action, separate_edits, NEW_REPO, ORG, UPSTREAM,
    UPSTREAM_PASSWORD,
};
use crate::support::tls::{tls_fixture, tls_proxy};
use crate::support::{http_response, request_path, TinyServer};
use std::sync::atomic::Ordering;

fn main_of(forge: &forge_emulator::ForgeEmulator, repo: &str) -> Option<String> {
    forge.rev_parse(ORG, repo, "refs/heads/main")
}

/// The whole forge (API and git) behind HTTPS with a private CA: fork and merge refuse it, naming
/// the input to set, until `--ca-certificate` names the CA; then both run to the end over TLS,
/// pushes included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_and_merge_over_https_trust_a_private_ca_only_with_ca_certificate() {
    let forge = forge_with_upstream().await;
    let (https, handshakes) = tls_proxy(&forge.url()).await;
    forge.serve_as(&https);
    let host = https.trim_start_matches("https://").to_owned();
    let over_tls = [
        ("GIT_URL_PROTOCOL", "https"),
        ("GIT_URL_HOST", host.as_str()),
    ];

    let refused = run_action(&forge, "fork", "gitea", &[], &over_tls).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.to_lowercase().contains("certificate")
            && refused.stderr.contains("Octofleet.CaCertificateFile"),
        "a certificate error naming the input: {}",
        refused.stderr
    );
    assert_eq!(forge.requests(), Vec::new(), "nothing got through");
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);

    let ca = tls_fixture("ca.pem");
    let with_ca = ["--ca-certificate", ca.as_str()];
    let run = run_action(&forge, "fork", "gitea", &with_ca, &over_tls).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(main_of(&forge, NEW_REPO), main_of(&forge, UPSTREAM));
    assert_eq!(
        run.output_variable("RepositoryUrl"),
        Some(format!("{https}/{ORG}/{NEW_REPO}.git"))
    );
    let git_requests: Vec<_> = forge
        .requests()
        .into_iter()
        .filter(|request| !request.path.starts_with("/api/"))
        .collect();
    assert!(
        git_requests.iter().any(|request| request.is_receive_pack()),
        "the push went through the TLS front: {git_requests:#?}"
    );
    let after_fork = handshakes.load(Ordering::SeqCst);
    assert!(after_fork > 0);

    // Both sides moved: merge fetches both over TLS and pushes a merge commit.
    separate_edits(&forge);
    let before = main_of(&forge, NEW_REPO);
    forge.clear_requests();
    let refused = run_action(&forge, "merge", "gitea", &[], &over_tls).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Octofleet.CaCertificateFile"),
        "{}",
        refused.stderr
    );
    assert_eq!(forge.requests(), Vec::new());
    assert_eq!(main_of(&forge, NEW_REPO), before);

    let run = run_action(&forge, "merge", "gitea", &with_ca, &over_tls).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        forge
            .file_at(ORG, NEW_REPO, "main", "upstream.txt")
            .as_deref(),
        Some("theirs")
    );
    assert_eq!(
        forge
            .file_at(ORG, NEW_REPO, "main", "tenant.txt")
            .as_deref(),
        Some("mine")
    );
    assert!(handshakes.load(Ordering::SeqCst) > after_fork);
}

/// The platform's API over plain HTTP, the upstream over HTTPS (the same forge behind the TLS
/// front, so another origin with its own credential): git's own TLS refusal names the CA input,
/// and with it the upstream is fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_needs_the_ca_for_git_itself() {
    let forge = forge_with_upstream().await;
    let (https, handshakes) = tls_proxy(&forge.url()).await;
    let upstream_url = format!("{https}/{ORG}/{UPSTREAM}.git");
    let password = forge.password().to_owned();
    let env = [
        ("GIT_URL_UPSTREAM", upstream_url.as_str()),
        ("GIT_UPSTREAM_CREDENTIALS_USERNAME", "octopus"),
        ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", password.as_str()),
    ];
    let refused = run_action(&forge, "fork", "gitea", &[], &env).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&upstream_url)
            && refused.stderr.to_lowercase().contains("certificate")
            && refused.stderr.contains("Octofleet.CaCertificateFile"),
        "git's certificate error names the input: {}",
        refused.stderr
    );
    assert_eq!(
        refused
            .stderr
            .matches("Octofleet.CaCertificateFile")
            .count(),
        1,
        "said once, not again by a cause that repeats git's message: {}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("class="), "{}", refused.stderr);
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(main_of(&forge, NEW_REPO), None, "nothing pushed");

    let ca = tls_fixture("ca.pem");
    let run = run_action(&forge, "fork", "gitea", &["--ca-certificate", &ca], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(handshakes.load(Ordering::SeqCst) > 0);
    assert_eq!(main_of(&forge, NEW_REPO), main_of(&forge, UPSTREAM));
}

/// Another origin, which answers every request with a Basic challenge (and logs what reached it).
async fn asking_for_credentials() -> TinyServer {
    TinyServer::start(|_| {
        Some(http_response(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"elsewhere\"")],
            "",
        ))
    })
    .await
}

/// A git host that answers the ref advertisement with a redirect to another origin: the hop is
/// refused with an error naming it, and nothing (so no credential) reaches the other origin.
/// git itself follows such a redirect (`http.followRedirects=initial`); octofleet follows only
/// those within the origin, because the credential was given for that origin alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_git_redirect_to_another_origin_is_refused_and_gets_no_credential() {
    let forge = forge().await;
    let elsewhere = asking_for_credentials().await;
    let target = elsewhere.url.clone();
    let git_host = TinyServer::start(move |head| {
        let location = format!("{target}{}", request_path(head));
        Some(http_response(
            "301 Moved Permanently",
            &[("Location", &location)],
            "",
        ))
    })
    .await;
    let upstream_url = format!("{}/{ORG}/{UPSTREAM}.git", git_host.url);
    let run = run_action(
        &forge,
        "fork",
        "gitea",
        &[],
        &[
            ("GIT_URL_UPSTREAM", upstream_url.as_str()),
            ("GIT_UPSTREAM_CREDENTIALS_USERNAME", "reader"),
            ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", UPSTREAM_PASSWORD),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused to follow a redirect")
            && run.stderr.contains(&elsewhere.url)
            && run.stderr.contains(&git_host.url),
        "{}",
        run.stderr
    );
    let leaked = elsewhere.heads();
    assert!(
        leaked.is_empty(),
        "the redirect was followed:\n{}",
        leaked.join("\n")
    );
    // The credential went to its own origin only (offered with the request, no challenge).
    let asked = git_host.heads();
    assert!(
        !asked.is_empty()
            && asked
                .iter()
                .all(|head| head.to_ascii_lowercase().contains("authorization: basic")),
        "{asked:#?}"
    );
    assert_eq!(main_of(&forge, NEW_REPO), None);
}

/// The platform names clone URLs on another origin than `Git.Url.Protocol://Git.Url.Host` (a
/// Gitea whose ROOT_URL points elsewhere): git asks there with no credential, and the error says
/// which inputs to align. The forge's credential goes only to the forge's origin, request by
/// request, whatever URL the platform hands out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_url_on_another_origin_gets_no_credential() {
    let forge = forge_with_upstream().await;
    let elsewhere = asking_for_credentials().await;
    forge.serve_as(&elsewhere.url);
    let run = run_action(&forge, "fork", "gitea", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&elsewhere.url)
            && run.stderr.contains("Git.Url.Host")
            && run.stderr.contains("none it may send there"),
        "{}",
        run.stderr
    );
    let asked = elsewhere.heads();
    assert!(!asked.is_empty(), "git asked the clone URL's host");
    assert!(
        asked
            .iter()
            .all(|head| !head.to_ascii_lowercase().contains("authorization")),
        "a credential reached another origin: {asked:#?}"
    );
}

/// git goes through the proxy the environment names, as the API calls do (reqwest reads
/// `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`): here the upstream (the forge under another name, so
/// another origin) through a proxy that refuses, the platform's API direct by `NO_PROXY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_requests_go_through_the_environments_proxy() {
    let forge = forge_with_upstream().await;
    let proxy = TinyServer::start(|_| Some(http_response("502 Bad Gateway", &[], ""))).await;
    let port = forge.host().rsplit(':').next().unwrap().to_owned();
    let upstream_url = format!("http://localhost:{port}/{ORG}/{UPSTREAM}.git");
    let password = forge.password().to_owned();
    let run = run_action(
        &forge,
        "fork",
        "gitea",
        &[],
        &[
            ("GIT_URL_UPSTREAM", upstream_url.as_str()),
            ("GIT_UPSTREAM_CREDENTIALS_USERNAME", "octopus"),
            ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", password.as_str()),
            ("HTTP_PROXY", proxy.url.as_str()),
            ("NO_PROXY", "127.0.0.1"),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("502"), "{}", run.stderr);
    let through_proxy = proxy.heads();
    let expected = format!("GET {upstream_url}/info/refs?service=git-upload-pack ");
    assert!(
        through_proxy.iter().any(|head| head.starts_with(&expected)),
        "{through_proxy:#?}"
    );
    assert!(
        forge
            .requests()
            .iter()
            .any(|request| request.path.starts_with("/api/")),
        "the API went direct"
    );
}
