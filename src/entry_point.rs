//! The `octofleet` binary's whole flow as a library function: parse, run one action, print the
//! error chain once, exit with its code. `src/main.rs` is one call to it, and the sandbox calls
//! it when it is re-executed as `octofleet`, so one build serves both (no second cargo build).

use crate::actions::{
    create_space, deploy, fleet, fork, merge, rollout, serialize, ActionError, Report,
};
use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{
    self, ConfigError, CreateSpaceConfig, DeployConfig, FleetConfig, ForkConfig, MergeConfig,
    RolloutConfig, SerializeConfig,
};
use crate::log_format;
use crate::service_messages::{emit, ServiceMessage};
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The `octofleet` command line of this process (`std::env::args_os`, its environment) run to
/// the end: the exit code to leave with. Starts its own tokio runtime, so call it from a plain
/// `main`, never from inside a runtime.
pub fn main() -> ExitCode {
    let cli = crate::cli::parse();
    // The format is needed before the log exists; a bad value is reported with the other
    // problems once it does (text on stderr until then).
    let format = config::parse_log_format(&cli.log_format, cli.output, config::process_env);
    log_format::init(&cli.log, format.as_ref().copied().unwrap_or_default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let result = runtime.block_on(run(&cli, format));
    // After a missed deadline, work the action spawned may still be pending: leave it behind
    // rather than wait for it on the way out.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            report(&error, cli.output);
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// The action's exit code on success: 0, or 3 when a plan found changes or a merge needs a person.
/// `log_format` is the log format input as parsed: its problems are reported with the others.
async fn run(
    cli: &Cli,
    log_format: Result<log_format::LogFormat, ConfigError>,
) -> Result<u8, ActionError> {
    let timeout = both(config::parse_timeout(&cli.timeout), log_format).map(|(timeout, _)| timeout);
    Ok(match &cli.command {
        Command::CreateSpace(args) => {
            let (config, timeout) = both(CreateSpaceConfig::from_args(args), timeout)?;
            let report = within(timeout, "create-space", create_space::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Serialize(args) => {
            let (config, timeout) = both(SerializeConfig::from_args(args), timeout)?;
            let report = within(timeout, "serialize", serialize::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Fork(args) => {
            let (config, timeout) = both(ForkConfig::from_args(args), timeout)?;
            let config = config.with_deadline(Instant::now() + timeout);
            let report = within(timeout, "fork", fork::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Merge(args) => {
            let (config, timeout) = both(MergeConfig::from_args(args), timeout)?;
            let config = config.with_deadline(Instant::now() + timeout);
            let report = within(timeout, "merge", merge::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Deploy(args) | Command::Plan(args) => {
            let plan = matches!(cli.command, Command::Plan(_));
            let (config, timeout) = both(DeployConfig::from_args(args, plan), timeout)?;
            let name = if plan { "plan" } else { "deploy" };
            let report = within(timeout, name, deploy::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Fleet(args) => {
            let (config, timeout) = both(FleetConfig::from_args(args), timeout)?;
            let report = within(timeout, "fleet", fleet::run(&config)).await?;
            publish(&report, cli.output)
        }
        Command::Rollout(args) => {
            let (config, timeout) = both(RolloutConfig::from_args(args), timeout)?;
            let report = within(timeout, "rollout", rollout::run(&config, timeout)).await?;
            let code = publish(&report, cli.output);
            // A rollout that stopped has printed what it did; its reason is the final error (on
            // stderr and in the task summary), except in JSON, where the summary says it.
            match report.failure() {
                Some(reason) if cli.output == OutputFormat::Text => {
                    return Err(ActionError::failed(reason))
                }
                _ => code,
            }
        }
    })
}

/// The report in the log, its output variables (or the JSON summary) on stdout; its exit code.
fn publish(report: &impl Report, output: OutputFormat) -> u8 {
    for line in report.details() {
        tracing::info!("{line}");
    }
    tracing::info!("{report}");
    match output {
        OutputFormat::Text => emit(&report.output_variables()),
        OutputFormat::Json => print_json(report),
    }
    report.exit_code()
}

/// Both values (an action's inputs and the deadline, the deadline and the log format), or every
/// problem of either, reported together.
fn both<T, U>(
    first: Result<T, ConfigError>,
    second: Result<U, ConfigError>,
) -> Result<(T, U), ConfigError> {
    match (first, second) {
        (Ok(first), Ok(second)) => Ok((first, second)),
        (Err(mut error), Err(other)) => {
            error.problems.extend(other.problems);
            Err(error)
        }
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
    }
}

/// The action, stopped at the deadline (Octofleet.Timeout): the one bound on the whole run,
/// however many requests, retries and waits it is made of.
async fn within<T>(
    timeout: Duration,
    action: &str,
    run: impl Future<Output = Result<T, ActionError>>,
) -> Result<T, ActionError> {
    tokio::time::timeout(timeout, run)
        .await
        .unwrap_or_else(|_| {
            Err(ActionError::failed(format!(
                "{action} did not finish within {}, the limit set by {}, and was stopped. \
             Every action converges when run again, so re-running it picks up where this one \
             stopped; if the server is slow rather than stuck, raise the timeout.",
                show_duration(timeout),
                crate::inputs::TIMEOUT
            )))
        })
}

fn show_duration(duration: Duration) -> String {
    match duration.as_secs() {
        seconds if seconds % 3600 == 0 => format!("{}h", seconds / 3600),
        seconds if seconds % 60 == 0 => format!("{}m", seconds / 60),
        seconds => format!("{seconds}s"),
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialize")
    );
}

/// The one place errors reach the user: the message with its whole cause chain on stderr, and
/// Octopus's `resultMessage` on stdout so the task summary shows it instead of "exit code 1".
fn report(error: &ActionError, output: OutputFormat) {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!("\n  caused by: {cause_text}"));
        }
        source = cause.source();
    }
    eprintln!("error: {text}");
    match output {
        // The task summary shows one line: every problem goes into it, not just the heading.
        OutputFormat::Text => emit(&[ServiceMessage::result_message(&one_line(&text))]),
        OutputFormat::Json => {
            print_json(&serde_json::json!({"error": text, "exit_code": error.exit_code()}))
        }
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
