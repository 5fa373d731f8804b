//! The postdesk binary: parse the command line, set up logging, dispatch,
//! and turn the outcome into a sysexits exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use postdesk::commands::cli::{Cli, CliCommand, LogFormat};
use postdesk::commands::{self, exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logging(&cli);
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("postdesk: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

/// The daemon logs what it takes at info; one-shot commands only warn,
/// so their own output stays readable. RUST_LOG overrides both.
fn init_logging(cli: &Cli) {
    let base = match (&cli.command, cli.verbose) {
        (_, 2..) => "debug",
        (_, 1) | (CliCommand::Run, _) => "info",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(base));
    // async-imap traces every line it sends, LOGIN passwords and AUTHENTICATE
    // tokens included: never logged, whatever RUST_LOG says.
    let filter = filter.add_directive(
        "async_imap::imap_stream=off"
            .parse()
            .expect("a valid directive"),
    );
    // Colour only for a person at a terminal; journald and files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
