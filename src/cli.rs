//! The command line: one definition, clap derive.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pulldoctor",
    version,
    about = "Diagnose container image pull failures: proxies, mirrors, DNS, TLS, daemons",
    long_about = "pulldoctor finds out why `docker pull` (or nerdctl, containerd, crictl, buildkit, \
podman, skopeo) fails and says exactly what to do.\n\n\
  pulldoctor explain < error.log     classify a pasted error log\n\
  pulldoctor rules PD1001            the long explanation of a rule"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Language of the report [default: from LC_ALL / LC_MESSAGES / LANG; zh* gives Chinese].
    #[arg(long, global = true, value_enum)]
    pub lang: Option<LangArg>,
    /// When to use colours (auto: only on a terminal, and never with NO_COLOR set).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify a pasted error log into root causes with concrete fixes.
    ///
    /// Reads standard input, or the files given ("-" is standard input).
    /// Exit status: 0 a cause was found, 1 nothing matched, 2 usage error or
    /// unreadable / empty input.
    Explain(ExplainArgs),
    /// List the rules, or print the long explanation of one (by id, number or slug).
    Rules(RulesArgs),
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Log files to read ("-" or nothing: standard input).
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (PD1001), its number (1001) or its slug (proxy-refused).
    pub rule: Option<String>,
}
