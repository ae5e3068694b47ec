//! pulldoctor: parse the command line, run, print, exit. Errors are printed
//! here (`pulldoctor: ...`), never as a panic or a backtrace.

mod cli;
mod commands;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = pulldoctor::redact::text(&e.to_string()).into_owned();
            let _ = writeln!(io::stderr(), "pulldoctor: {msg}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &commands::Error) -> bool {
    matches!(e, commands::Error::Io(io) if io.kind() == io::ErrorKind::BrokenPipe)
}
