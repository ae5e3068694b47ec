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
  pulldoctor check                   inspect this machine (read-only)\n\
  pulldoctor route URL               which proxy each component uses for URL\n\
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
    /// Collect the evidence of this machine and diagnose from it (read-only).
    ///
    /// Reads the environment, config files, systemd units, `docker info` and
    /// friends, listening sockets, and probes DNS, proxies, TLS and registries
    /// concurrently under one deadline. Exit status: 0 nothing wrong, 1
    /// findings of severity error, 2 pulldoctor itself could not run.
    Check(CheckArgs),
    /// Re-run the current rules over the evidence of a saved report (`check --save`),
    /// with no access to the machine.
    Replay(ReplayArgs),
    /// Say which proxy each component uses for URL, and why.
    Route(RouteArgs),
    /// List the rules, or print the long explanation of one (by id, number or slug).
    Rules(RulesArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also probe this registry (repeatable).
    #[arg(long = "registry", value_name = "HOST[:PORT]")]
    pub registries: Vec<String>,
    /// Also probe the registry of this image reference (repeatable).
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,
    /// Ask this resolver instead of resolv.conf's (repeatable).
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    pub dns_servers: Vec<String>,
    /// Where the VM host is seen from here (default 192.168.5.2 inside a Colima/Lima guest).
    #[arg(long, value_name = "IP")]
    pub vm_gateway: Option<std::net::IpAddr>,
    /// Read every file (the home directory included) under DIR instead of /.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The one deadline for the whole run, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub timeout: f64,
    /// No network probes at all.
    #[arg(long)]
    pub offline: bool,
    /// Do not probe Docker Hub's endpoints (only --registry / --image / mirrors).
    #[arg(long)]
    pub no_hub: bool,
    /// Write the report (JSON, secrets redacted) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Show the evidence.
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A report saved with `pulldoctor check --save FILE`.
    pub file: PathBuf,
    #[command(flatten)]
    pub redact: RedactArgs,
}

/// What is hidden beyond secrets (which always are).
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Also hide user names in URLs.
    #[arg(long)]
    pub redact_users: bool,
    /// Replace internal host names and private IP addresses by aliases
    /// (the same host gets the same alias across the report).
    #[arg(long)]
    pub redact_hosts: bool,
}

impl RedactArgs {
    pub fn options(&self) -> pulldoctor::redact::Options {
        pulldoctor::redact::Options {
            users: self.redact_users,
            hosts: self.redact_hosts,
        }
    }
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The URL a component fetches, e.g. https://registry-1.docker.io/v2/
    pub url: String,
    /// Which component (default: all of them, a line each).
    #[arg(long = "as", value_enum)]
    pub component: Option<ComponentArg>,
    /// Read every file under DIR instead of /.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Deadline for the commands it runs (systemctl show, docker info), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub timeout: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComponentArg {
    Dockerd,
    Containerd,
    BuildRun,
    Go,
    Curl,
    Buildkitd,
    Nerdctl,
    Ctr,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Log files to read ("-" or nothing: standard input).
    pub files: Vec<PathBuf>,
    /// Then probe what the log names (that proxy, that host) and mark each
    /// finding confirmed, refuted or untested.
    #[arg(long)]
    pub check: bool,
    /// Deadline for --check probes, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, requires = "check")]
    pub timeout: f64,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (PD1001), its number (1001) or its slug (proxy-refused).
    pub rule: Option<String>,
}
