//! The container image: built offline with podman from the repository's Dockerfile (its runtime
//! stage fed with the `dist` binary, built here with the builder stage's own cargo command), then
//! run against the emulator, and the step template's script run inside it with the image's own
//! bash and openssl. The binary and the image are held to their size budgets.
//!
//! Needs podman and root (debootstrap, vfs storage). CI (`CI=true`) fails without podman; a
//! developer machine without it prints "skipped: podman not installed".

use crate::support::calamari::{article_variables, template, write_calamari_files};
use crate::support::{Fleet, Run};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/octofleet:it";
/// The name the Dockerfile builds on; a local debootstrap stand-in when it cannot be pulled.
const BASE_IMAGE: &str = "docker.io/library/debian:bookworm-slim";
/// The shipped binary's budget (issue 20), in bytes as `ls` shows them.
const BINARY_BUDGET: u64 = 10_000_000;
/// The image's budget (issue 20), as podman reports its size (uncompressed layers). Checked on the
/// debootstrap stand-in when that is the base here: it is larger than the real bookworm-slim
/// (docs/testing.md), so an image within budget here is within it on the real base too.
const IMAGE_BUDGET: u64 = 130_000_000;
/// The builder stage's command (Dockerfile), so the `prebuilt` binary is the one users get.
const DIST_BUILD: [&str; 7] = [
    "build",
    "--profile",
    "dist",
    "--locked",
    "-p",
    "octofleet",
    "--bin",
];

/// A notice that reaches the terminal: libtest captures `println!`, not writes to the handle.
fn notice(text: &str) {
    let _ = writeln!(std::io::stderr(), "image test: {text}");
}

fn podman_installed() -> bool {
    std::process::Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Podman as containers.md runs it here: runc, cgroupfs, vfs, and no rlimits (the sandbox
/// forbids setting them), from a containers.conf of our own so the machine's stays untouched.
struct Podman {
    conf: PathBuf,
}

impl Podman {
    fn new(work: &Path) -> Podman {
        let conf = work.join("containers.conf");
        std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
        Podman { conf }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("podman");
        command
            .env("CONTAINERS_CONF", &self.conf)
            .args([
                "--runtime",
                "runc",
                "--cgroup-manager",
                "cgroupfs",
                "--storage-driver",
                "vfs",
            ])
            .args(args)
            .kill_on_drop(true);
        command
    }

    async fn dangling_images(&self) -> Vec<String> {
        let args = [
            "images",
            "--quiet",
            "--no-trunc",
            "--filter",
            "dangling=true",
        ];
        let listed = self.ok(&args, Duration::from_secs(60)).await;
        listed.lines().map(str::to_owned).collect()
    }

    async fn run(&self, args: &[&str], timeout: Duration) -> Run {
        output(self.command(args), timeout, &args.join(" ")).await
    }

    /// Run and require success; stdout.
    async fn ok(&self, args: &[&str], timeout: Duration) -> String {
        let run = self.run(args, timeout).await;
        assert_eq!(
            run.code,
            0,
            "podman {}:\n{}\n{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        run.stdout
    }
}

async fn output(mut command: tokio::process::Command, timeout: Duration, what: &str) -> Run {
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("`{what}` did not finish within {timeout:?}"))
        .unwrap_or_else(|error| panic!("`{what}` did not start: {error}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The base image, made once with debootstrap when it is not there; podman's storage keeps it
/// for later runs. The apt caches debootstrap leaves are dropped, as debian:*-slim has none.
async fn ensure_base_image(podman: &Podman, work: &Path) {
    if podman
        .run(&["image", "exists", BASE_IMAGE], Duration::from_secs(60))
        .await
        .code
        == 0
    {
        return;
    }
    let started = Instant::now();
    let mirror = std::env::var("OCTOFLEET_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned());
    let rootfs = work.join("rootfs");
    let _ = std::fs::remove_dir_all(&rootfs);
    let mut debootstrap = tokio::process::Command::new("debootstrap");
    debootstrap
        .args(["--variant=minbase", "bookworm"])
        .arg(&rootfs)
        .arg(&mirror)
        .kill_on_drop(true);
    let run = output(debootstrap, Duration::from_secs(300), "debootstrap").await;
    assert_eq!(
        run.code, 0,
        "debootstrap (is it installed? .ci/run installs it):\n{}",
        run.stderr
    );
    let mut import = tokio::process::Command::new("bash");
    import
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; cd {rootfs}; rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/*; \
             tar -c . | CONTAINERS_CONF={conf} podman --runtime runc --cgroup-manager cgroupfs --storage-driver vfs import - {BASE_IMAGE}",
            rootfs = rootfs.display(),
            conf = podman.conf.display(),
        ))
        .kill_on_drop(true);
    let run = output(import, Duration::from_secs(120), "podman import").await;
    assert_eq!(run.code, 0, "podman import:\n{}", run.stderr);
    let _ = std::fs::remove_dir_all(&rootfs);
    notice(&format!(
        "made the base image {BASE_IMAGE} with debootstrap in {:.0?}",
        started.elapsed()
    ));
}

/// The `dist` binary, built (or found current) by cargo with the Dockerfile builder's command, in
/// the target directory of this test run: the path cargo reports for it.
async fn dist_binary() -> PathBuf {
    let started = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut build = tokio::process::Command::new(cargo);
    build
        .args(DIST_BUILD)
        .args(["octofleet", "--message-format=json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    // Fat LTO over one codegen unit: minutes on 2 cores the first time, a no-op afterwards.
    let run = output(
        build,
        Duration::from_secs(40 * 60),
        "cargo build --profile dist",
    )
    .await;
    assert_eq!(run.code, 0, "cargo build --profile dist failed");
    let binary = run
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "octofleet"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the octofleet executable it built");
    notice(&format!(
        "dist binary {} ready in {:.0?}",
        binary.display(),
        started.elapsed()
    ));
    binary
}

/// Build the Dockerfile's runtime stage with `BINARY_SOURCE=prebuilt`, from a context holding
/// only `binary` where the `prebuilt` stage looks for it.
async fn build_image(podman: &Podman, work: &Path, binary: &Path) {
    let context = work.join("context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(context.join("target/image")).unwrap();
    std::fs::copy(binary, context.join("target/image/octofleet")).unwrap();
    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
    let dangling_before = podman.dangling_images().await;
    podman
        .ok(
            &[
                "build",
                "--network",
                "host",
                "--pull=never",
                "--build-arg",
                "BINARY_SOURCE=prebuilt",
                "-t",
                IMAGE,
                "-f",
                dockerfile.to_str().unwrap(),
                context.to_str().unwrap(),
            ],
            Duration::from_secs(240),
        )
        .await;
    // A build leaves the previous image and the `prebuilt` stage untagged, and vfs keeps full
    // copies of each: drop what this build left dangling (layers the new image still uses refuse).
    for image in podman.dangling_images().await {
        if !dangling_before.contains(&image) {
            let _ = podman.run(&["rmi", &image], Duration::from_secs(60)).await;
        }
    }
    let _ = std::fs::remove_dir_all(&context);
}

fn env_args(env: &[(String, String)]) -> Vec<String> {
    env.iter()
        .flat_map(|(key, value)| ["-e".to_owned(), format!("{key}={value}")])
        .collect()
}

/// The `prebuilt` binary this test builds is the one users get only while the Dockerfile's builder
/// stage runs the same command: checked without podman.
#[test]
fn the_builder_stage_builds_the_binary_as_this_test_does() {
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    let command = format!("RUN cargo {} octofleet ", DIST_BUILD.join(" "));
    assert!(
        dockerfile.contains(&command),
        "the Dockerfile's builder stage does not run `{command}`"
    );
    assert!(dockerfile.contains("install -D -m 0755 target/dist/octofleet /out/octofleet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_builds_offline_and_runs_create_space_and_the_step_template() {
    if !podman_installed() {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("podman is not installed: CI must run the image test (.ci/run installs podman)");
        }
        notice("skipped: podman not installed");
        return;
    }
    let started = Instant::now();
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("octofleet-image");
    std::fs::create_dir_all(&work).unwrap();
    let podman = Podman::new(&work);
    let minute = Duration::from_secs(60);

    let binary = dist_binary().await;
    let binary_size = std::fs::metadata(&binary).unwrap().len();
    ensure_base_image(&podman, &work).await;
    build_image(&podman, &work, &binary).await;
    let built = started.elapsed();

    // What users get: version, labels, entrypoint, and what Calamari needs inside.
    let version = podman
        .ok(&["run", "--rm", IMAGE, "octofleet", "--version"], minute)
        .await;
    assert_eq!(
        version.trim(),
        format!("octofleet {}", env!("CARGO_PKG_VERSION"))
    );
    let inspect: Value =
        serde_json::from_str(&podman.ok(&["image", "inspect", IMAGE], minute).await).unwrap();
    let image = &inspect[0];
    let labels = &image["Config"]["Labels"];
    for label in ["title", "description", "source", "licenses", "version"] {
        let key = format!("org.opencontainers.image.{label}");
        assert!(
            labels[&key].as_str().is_some_and(|v| !v.is_empty()),
            "label {key}"
        );
    }
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    // No entrypoint (OctopusDeploy/Issues#6788: servers before 2021.2.124 cannot replace one);
    // without a command the image prints the help.
    assert!(
        image["Config"]["Entrypoint"].is_null()
            || image["Config"]["Entrypoint"] == serde_json::json!([]),
        "{}",
        image["Config"]["Entrypoint"]
    );
    assert_eq!(
        image["Config"]["Cmd"],
        serde_json::json!(["octofleet", "--help"])
    );
    podman
        .ok(
            &[
                "run",
                "--rm",
                IMAGE,
                "bash",
                "-c",
                // .NET (Calamari) starts only with ICU or with globalization-invariant mode on
                // (Dockerfile); libssl3 is what its cryptography loads.
                "set -e; command -v octofleet openssl >/dev/null; ldconfig -p | grep -qF 'libssl.so.3 '; \
                 ldconfig -p | grep -qF libicuuc.so || test \"$DOTNET_SYSTEM_GLOBALIZATION_INVARIANT\" = 1; \
                 test -s /etc/ssl/certs/ca-certificates.crt; test \"$(command -v octofleet)\" = /usr/local/bin/octofleet",
            ],
            minute,
        )
        .await;

    // `docker run IMAGE octofleet create-space` with the environment the step template exports.
    let fleet = Fleet::start().await;
    let mut args: Vec<String> = ["run", "--rm", "--network", "host"]
        .map(String::from)
        .to_vec();
    args.extend(env_args(&fleet.step_env("America")));
    args.extend([
        IMAGE.to_owned(),
        "octofleet".to_owned(),
        "create-space".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = podman.run(&args, Duration::from_secs(120)).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let space = fleet.space_named("America").expect("the space exists");
    let space_id = space["Id"].as_str().unwrap();
    assert_eq!(run.output_variable("SpaceId").as_deref(), Some(space_id));
    assert_eq!(
        fleet.tenant_space_id("America").await.as_deref(),
        Some(space_id)
    );

    // The step template's script as Calamari runs it in an execution container: the image's
    // bash, its openssl for service messages, a command passed and no entrypoint to replace (as
    // a server before 2021.2.124 runs it).
    let template = template("octofleet-create-managed-space.json");
    let parameters = template.bind(
        &article_variables(&fleet, "Europe"),
        &[(
            "Octofleet.Management.ApiKey",
            "#{Management.Octopus.ApiKey}",
        )],
    );
    let scripts = tempfile::tempdir().unwrap();
    write_calamari_files(scripts.path(), template.script_body(), &parameters);
    let mount = format!("{}:/calamari:ro", scripts.path().display());
    let run = podman
        .run(
            &[
                "run",
                "--rm",
                "--network",
                "host",
                "-v",
                &mount,
                "-w",
                "/calamari",
                IMAGE,
                "bash",
                "bootstrap.sh",
                "script.sh",
            ],
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let space = fleet.space_named("Europe").expect("the space exists");
    let space_id = space["Id"].as_str().unwrap();
    assert_eq!(run.output_variable("SpaceId").as_deref(), Some(space_id));
    assert_eq!(
        fleet.tenant_space_id("Europe").await.as_deref(),
        Some(space_id)
    );

    let size = image["Size"]
        .as_u64()
        .expect("podman reports the image's size");
    notice(&format!(
        "{IMAGE} is {:.1} MB ({:.2} MB of it the dist binary, on the {BASE_IMAGE} here); built in {built:.0?}, all checks in {:.0?}",
        size as f64 / 1e6,
        binary_size as f64 / 1e6,
        started.elapsed()
    ));
    // The budgets last and together, so a run over them has still checked (and reported)
    // everything else, and names each budget it exceeds.
    let mut over = Vec::new();
    if binary_size > BINARY_BUDGET {
        over.push(format!(
            "the dist binary is {binary_size} bytes, over its budget of {BINARY_BUDGET}"
        ));
    }
    if size > IMAGE_BUDGET {
        over.push(format!(
            "the image is {size} bytes, over its budget of {IMAGE_BUDGET}"
        ));
    }
    assert!(over.is_empty(), "{}", over.join("; "));
}
