//! The report checks themselves can fail: a page that loads an image from elsewhere is caught
//! by both the static check and the browser's recording proxy, and one wider than a phone by the
//! width probe.

use crate::support::reports::{assert_self_contained, chromium, is_chromiums_own, render};

const LOADS_AN_IMAGE: &str =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title></head>\
<body><p>hello</p><img src=\"https://images.example.com/logo.png\" alt=\"\"></body></html>\n";

#[test]
fn the_static_check_refuses_a_page_that_loads_something() {
    let caught = std::panic::catch_unwind(|| assert_self_contained(LOADS_AN_IMAGE));
    assert!(
        caught.is_err(),
        "an <img src> from elsewhere must fail the check"
    );
    let caught = std::panic::catch_unwind(|| {
        assert_self_contained("<!DOCTYPE html><html lang=\"en\"><head><title>t</title></head><body><p>an unclosed paragraph is valid</body></html>")
    });
    assert!(caught.is_ok(), "valid HTML passes");
    let caught = std::panic::catch_unwind(|| {
        assert_self_contained("<html><body><p>no doctype</p></body></html>")
    });
    assert!(caught.is_err(), "a parse error fails the check");
}

/// Only Chromium's own service domains are left out of the recorded requests, by host.
#[test]
fn only_chromiums_own_calls_are_left_out() {
    assert!(is_chromiums_own(
        "CONNECT update.googleapis.com:443 HTTP/1.1"
    ));
    assert!(is_chromiums_own(
        "GET http://clients2.google.com/time/1/current HTTP/1.1"
    ));
    for page_request in [
        "CONNECT images.example.com:443 HTTP/1.1",
        "GET http://evilgoogle.com/x.png HTTP/1.1",
        "GET http://google.com.example.net/x.png HTTP/1.1",
    ] {
        assert!(!is_chromiums_own(page_request), "{page_request}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_check_sees_a_request_leave() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("loads.html");
    std::fs::write(&page, LOADS_AN_IMAGE).unwrap();
    let rendered = render(&chromium, &page, "loads-an-image").await;
    assert!(
        rendered
            .requests
            .iter()
            .any(|request| request.contains("images.example.com")),
        "{:?}",
        rendered.requests
    );

    let wide = dir.path().join("wide.html");
    let line = "x".repeat(300);
    std::fs::write(
        &wide,
        format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>t</title></head><body><pre>{line}</pre></body></html>\n"),
    )
    .unwrap();
    let rendered = render(&chromium, &wide, "too-wide").await;
    assert!(
        !rendered.fits_width(),
        "{} px in {} px",
        rendered.page_width,
        rendered.window_width
    );
}
