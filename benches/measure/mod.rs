//! Running the real binary as a child and measuring it: wall time and its own peak RSS.

// Each benchmark target compiles this module and uses part of it.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Measure {
    pub wall: Duration,
    pub peak_rss_kib: i64,
}

/// Run `command` to completion; panics when it fails (a benchmark of a failure measures nothing).
pub fn run(command: &mut Command, what: &str) -> Measure {
    run_expecting(command, what, 0)
}

/// As [`run`], for a command whose success is another exit code (a plan with changes: 3).
#[allow(clippy::zombie_processes)]
// reaped by wait4 below
// wait4 is the one call that gives this child's own rusage (std's Child::wait drops it); it only
// writes into the zeroed struct and status we own. Benchmark code, never in the shipped binary.
#[allow(unsafe_code)]
pub fn run_expecting(command: &mut Command, what: &str, code: i32) -> Measure {
    let started = Instant::now();
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    // wait4 (not Child::wait) gives this child's own peak RSS; getrusage(RUSAGE_CHILDREN)
    // would be the maximum over every child so far.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == code,
        "{what} failed"
    );
    Measure {
        wall,
        peak_rss_kib: usage.ru_maxrss,
    }
}

/// The median by wall time.
pub fn median<T>(runs: &mut [T], wall: impl Fn(&T) -> Duration) -> &T {
    runs.sort_by_key(|run| wall(run));
    &runs[runs.len() / 2]
}

/// The rounds of requests the emulator saw (`octopus_emulator::rounds_of`) in a run that began at
/// `started_us` and ended at `ended_us` on the emulator's clock. With `OCTOFLEET_BENCH_TRACE` set,
/// each request is printed with its round and times, to find the chains and the CPU between them.
pub fn request_rounds(
    label: &str,
    records: &[octopus_emulator::RequestRecord],
    started_us: u64,
    ended_us: u64,
) -> usize {
    let rounds = octopus_emulator::rounds_of(records);
    if std::env::var_os("OCTOFLEET_BENCH_TRACE").is_some() {
        let ms = |us: u64| us.saturating_sub(started_us) as f64 / 1000.0;
        for (round, record) in &rounds {
            let query = if record.query.is_empty() {
                String::new()
            } else {
                format!("?{}", record.query)
            };
            let mut line = format!("{} {}{query}", record.method, record.path);
            line.truncate(110);
            println!(
                "  {label} round {round:>2} [{:>6.1}..{:>6.1} ms]: {line}",
                ms(record.received_us),
                ms(record.answered_us),
            );
        }
        println!("  {label} exited at {:.1} ms", ms(ended_us));
    }
    rounds.iter().map(|(round, _)| *round).max().unwrap_or(0)
}

/// "≈ N rounds": the wall time divided by the latency, as the goals count round trips.
pub fn rounds_label(wall: Duration, latency: Duration) -> String {
    format!("≈ {:.1} rounds", wall.as_secs_f64() / latency.as_secs_f64())
}

/// The round-trip goal of issue 20: `rounds` latencies and 100 ms of work, and whether `wall`
/// met it.
pub fn round_goal(wall: Duration, latency: Duration, rounds: u32) -> String {
    let goal = latency * rounds + Duration::from_millis(100);
    format!(
        "target <= {rounds} rounds + 100 ms = {} ms: {}",
        goal.as_millis(),
        if wall <= goal { "met" } else { "NOT met" }
    )
}
