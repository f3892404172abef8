//! The `octofleet` binary: its whole flow is the library's [`octofleet::entry_point::main`], which
//! the sandbox also runs when it re-executes itself as `octofleet`.

fn main() -> std::process::ExitCode {
    octofleet::entry_point::main()
}
