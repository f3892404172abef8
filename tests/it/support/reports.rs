//! What every report must be: HTML a browser parses without error, self-contained (no script, no
//! style sheet, image, font or frame from anywhere), free of secrets, and rendered by headless
//! Chromium at a phone's width without one request leaving the machine.

use super::servers::TinyServer;
use std::path::{Path, PathBuf};

/// The HTML parses without a single parse error (html5ever, the WHATWG algorithm browsers
/// follow), loads nothing, runs nothing, and links only to http(s) pages.
pub fn assert_self_contained(html: &str) {
    let document = scraper::Html::parse_document(html);
    assert!(
        document.errors.is_empty(),
        "HTML parse errors {:?}",
        document.errors
    );
    let select = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        document.select(&selector).count()
    };
    for loading in [
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "[src]",
        "[srcset]",
        "[style]",
        "base",
        "form",
        "meta[http-equiv]",
    ] {
        assert_eq!(select(loading), 0, "{loading} in the report");
    }
    let style = scraper::Selector::parse("style").unwrap();
    for sheet in document.select(&style) {
        let text: String = sheet.text().collect();
        for external in ["url(", "@import", "@font-face"] {
            assert!(!text.contains(external), "{external} in the report's style");
        }
    }
    let links = scraper::Selector::parse("[href]").unwrap();
    for link in document.select(&links) {
        assert_eq!(link.value().name(), "a", "only <a> may have an href");
        let href = link.value().attr("href").unwrap();
        assert!(
            href.starts_with("https://") || href.starts_with("http://"),
            "link to {href}"
        );
        assert_eq!(link.value().attr("rel"), Some("noopener noreferrer"));
    }
}

/// Domains of the services Chromium itself calls whatever page it shows (component updates,
/// sign-in, network time, and others that come and go between versions): requests to them are
/// Chromium's, not the page's. A report loading from them is still caught by
/// [`assert_self_contained`], which allows no resource from anywhere.
const CHROMIUM_OWN_DOMAINS: &[&str] = &["googleapis.com", "google.com", "gvt1.com", "gvt2.com"];

/// Whether a request line (`CONNECT host:443 …`, `GET http://host/… …`) goes to one of
/// [`CHROMIUM_OWN_DOMAINS`].
pub fn is_chromiums_own(line: &str) -> bool {
    let target = line.split(' ').nth(1).unwrap_or_default();
    let host = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    CHROMIUM_OWN_DOMAINS
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// The Chromium binary, or `None` (a notice) off CI; on CI (`CI=true`) its absence fails.
pub fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = std::process::Command::new("which").arg(name).output() {
            if output.status.success() {
                let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                return Some(PathBuf::from(path));
            }
        }
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("chromium is not installed: CI must render the reports (.ci/run installs it)");
    }
    eprintln!("notice: chromium is not installed; the report is not rendered in a browser");
    None
}

/// What Chromium made of a page.
pub struct Rendered {
    /// The DOM after rendering.
    pub dom: String,
    /// The screenshot, kept under the test artifacts (`target/tmp/report-screenshots`).
    pub screenshot: PathBuf,
    /// Requests the page made (through a recording proxy), Chromium's own calls left out.
    pub requests: Vec<String>,
    /// The page's width in CSS pixels as laid out in a 390 px frame: wider than the frame means
    /// a person on a phone scrolls sideways (a table scrolling inside its own box does not count).
    pub page_width: u32,
    /// The width the page had to fit: a 390 px frame, less its scroll bar.
    pub window_width: u32,
}

impl Rendered {
    /// The page fits its window's width: no sideways scrolling.
    pub fn fits_width(&self) -> bool {
        self.page_width <= self.window_width
    }
}

/// Render `page` in headless Chromium at a phone's width (390 px; 1600 tall to show more in the screenshot), every request going through
/// a proxy that records it and answers nothing.
pub async fn render(chromium: &Path, page: &Path, name: &str) -> Rendered {
    let proxy = TinyServer::start(|_| Some(super::http_response("502 Bad Gateway", &[], ""))).await;
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir().unwrap();
    // One Chromium run on `target` with `extra` flags: its output, within a deadline.
    let run = |target: &Path, extra: Vec<String>| {
        let mut command = tokio::process::Command::new(chromium);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--window-size=390,1600",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--proxy-bypass-list=<-loopback>",
            ])
            .arg(format!("--proxy-server={}", proxy.url))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", target.display()))
            .kill_on_drop(true);
        async move {
            let output = tokio::time::timeout(std::time::Duration::from_secs(90), command.output())
                .await
                .expect("chromium renders within 90 s")
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
    };
    run(page, vec![format!("--screenshot={}", screenshot.display())]).await;
    let dom = run(page, vec!["--dump-dom".to_owned()]).await;
    let requests = proxy
        .heads()
        .into_iter()
        .filter_map(|head| head.lines().next().map(str::to_owned))
        .filter(|line| !is_chromiums_own(line))
        .collect();
    // The width is measured by a probe page of the test's own (the report has no script): it
    // shows the report in a 390 px frame (headless Chromium lays a window out at least 500 px
    // wide) and writes the report's laid-out width and the frame's into the DOM --dump-dom prints.
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = probe_dir.path().join("probe.html");
    let frame = format!(
        "<iframe id=\"report\" src=\"file://{}\" style=\"width: 390px; height: 1600px; border: 0\"></iframe>",
        page.display()
    );
    let script = "<script>window.addEventListener('load', function () { var d = document.getElementById('report').contentDocument.documentElement; document.body.setAttribute('data-widths', d.scrollWidth + ' ' + d.clientWidth); });</script>";
    std::fs::write(
        &probe,
        format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>probe</title></head><body style=\"margin: 0\">{frame}{script}</body></html>"),
    )
    .unwrap();
    let measured = run(
        &probe,
        vec![
            "--allow-file-access-from-files".to_owned(),
            "--virtual-time-budget=5000".to_owned(),
            "--dump-dom".to_owned(),
        ],
    )
    .await;
    let widths: Vec<u32> = measured
        .split("data-widths=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|widths| widths.split(' ').filter_map(|w| w.parse().ok()).collect())
        .unwrap_or_default();
    let [page_width, window_width] = widths[..] else {
        panic!("the probe reports the page's and the frame's width: {measured}")
    };
    Rendered {
        dom,
        screenshot,
        requests,
        page_width,
        window_width,
    }
}

/// Render `page` (see [`render`]) and hold it to what every report promises in a browser: no
/// request leaves the machine and nothing scrolls sideways on a phone.
pub async fn assert_renders(chromium: &Path, page: &Path, name: &str) -> Rendered {
    let rendered = render(chromium, page, name).await;
    assert_eq!(
        rendered.requests,
        Vec::<String>::new(),
        "{name}: the page loads nothing"
    );
    assert!(
        rendered.fits_width(),
        "{name}: no sideways scrolling: {} px in {} px",
        rendered.page_width,
        rendered.window_width
    );
    rendered
}

/// A PNG's width and height, from its header.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

/// `text` as the report's HTML spells it.
pub fn escaped(text: &str) -> String {
    octofleet::report::html::escape(text)
}
