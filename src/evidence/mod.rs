//! Evidence model and parsers: the LOCAL layer of `pulldoctor check`.
//!
//! What this module gathers (issue 3, points 1–6 and 8): the shell environment,
//! systemd units and their drop-ins, configuration files, external commands, listening
//! sockets and "where am I running". Network probes live in `crate::probe`.
//!
//! Rules of the layer:
//! - **Read-only and bounded.** Files are read under [`LocalOptions::root`], never written;
//!   each read is capped ([`FILE_CAP`], `/etc/hosts` is streamed up to [`HOSTS_CAP`]); FIFOs,
//!   sockets and devices are never opened (opening a FIFO could block); symlinks are
//!   resolved by hand inside the root with a hop limit, so a loop is reported, not followed.
//!   Nothing recurses, so there is no way into a `/proc` loop.
//! - **Failures are evidence.** A file that is missing, unreadable, too large, not UTF-8 or
//!   a symlink loop becomes a [`Note`]; a command that is missing, fails, prints garbage or
//!   hangs becomes a [`commands::CommandRecord`] saying so. Nothing here returns an error.
//! - **Provenance.** Every fact carries a [`Source`]: the file (path, mtime), the command
//!   (argv, exit code, duration, timed out) or the environment.
//! - **No secrets.** `~/.docker/config.json` yields only the *names* of `auths` entries and
//!   credential helpers, never an auth value or token. Proxy URLs are kept as written
//!   (the probes need them); the report layer masks userinfo when rendering.
//! - **Thin shell, pure parsers.** Each collector reads bytes and hands `&str` to a `parse_*`
//!   function that is tested on captured real-world output.
//!
//! Entry points: [`collect_local`] (sync, offline, a few milliseconds),
//! [`commands::collect_commands`] (async, concurrent, one deadline) and
//! [`complete_with_commands`] (reads the drop-ins that `systemctl show` named but that are
//! not in a standard directory).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod colima;
pub mod commands;
pub mod containerd;
pub mod daemon_json;
pub mod dns;
pub mod docker_cli;
pub mod docker_config;
pub mod envfile;
mod fsread;
pub mod platform;
pub mod procnet;
pub mod systemd;

pub use commands::{
    CommandOptions, CommandRecord, CommandStatus, CommandsEvidence, collect_commands,
};
pub use docker_cli::{DockerInfo, is_docker_desktop};

use fsread::Fs;

/// Largest file read whole (bytes). Bigger files are refused and noted.
pub const FILE_CAP: u64 = 4 * 1024 * 1024;
/// How much of `/etc/hosts` is scanned (bytes); the rest is skipped and noted.
pub const HOSTS_CAP: u64 = 1024 * 1024;

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A file or directory, by its path on the diagnosed system (not prefixed by `--root`).
    File {
        path: String,
        /// The final path when `path` went through symlinks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<String>,
        /// Modification time, seconds since the Unix epoch.
        mtime: Option<i64>,
    },
    /// An external command.
    Command {
        argv: Vec<String>,
        exit_code: Option<i32>,
        duration_ms: u64,
        timed_out: bool,
    },
    /// The environment pulldoctor was started with.
    #[default]
    Env,
}

impl Source {
    /// The file path, for a file source.
    pub fn path(&self) -> Option<&str> {
        match self {
            Source::File { path, .. } => Some(path),
            _ => None,
        }
    }
    /// The modification time, for a file source.
    pub fn mtime(&self) -> Option<i64> {
        match self {
            Source::File { mtime, .. } => *mtime,
            _ => None,
        }
    }
}

/// A value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// Why something could not be read. Recorded as evidence, never raised as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Path on the diagnosed system.
    pub path: String,
    pub kind: NoteKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Missing,
    PermissionDenied,
    TooLarge,
    NotUtf8,
    SymlinkLoop,
    /// A directory, FIFO, socket or device where a regular file was expected.
    NotAFile,
    /// Only the first part was read (e.g. a huge `/etc/hosts`).
    Truncated,
    IoError,
}

/// How to collect local evidence.
///
/// Path semantics: every path is a path **on the diagnosed system** and is read under
/// `root` (`/` normally, `--root DIR` in tests and for offline trees). `home` is the home
/// directory as the diagnosed system sees it (e.g. `/home/alice`), so `~/.docker/config.json`
/// is read from `root/home/alice/.docker/config.json`. `env` is the environment to
/// diagnose (the caller's, injected so tests need not touch the process environment);
/// path-valued variables such as `DOCKER_CONFIG` and `XDG_RUNTIME_DIR` are likewise read
/// under `root`.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    pub root: PathBuf,
    pub home: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl LocalOptions {
    /// Options for `root` with `env`; `home` comes from `env["HOME"]` (else `/root`).
    pub fn new(root: impl Into<PathBuf>, env: BTreeMap<String, String>) -> Self {
        let home = env
            .get("HOME")
            .filter(|h| h.starts_with('/'))
            .cloned()
            .unwrap_or_else(|| "/root".into());
        LocalOptions {
            root: root.into(),
            home: PathBuf::from(home),
            env,
        }
    }

    /// Options for the running machine: root `/` and this process's environment
    /// (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::new("/", env)
    }

    /// `home` as a logical path string (always absolute).
    pub(crate) fn home_str(&self) -> String {
        let h = self.home.to_string_lossy().into_owned();
        if h.starts_with('/') {
            h.trim_end_matches('/').to_string()
        } else {
            format!("/{}", h.trim_end_matches('/'))
        }
    }

    /// A non-empty environment variable.
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `$XDG_CONFIG_HOME` if absolute, else `~/.config`.
    pub(crate) fn config_home(&self) -> String {
        match self.var("XDG_CONFIG_HOME") {
            Some(x) if x.starts_with('/') => x.trim_end_matches('/').to_string(),
            _ => format!("{}/.config", self.home_str()),
        }
    }
}

/// The environment variables recorded (the proxy set, Docker/containerd selectors, and a
/// few path variables other collectors use). Values are kept as given.
pub const ENV_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "CONTAINERD_ADDRESS",
    "CONTAINERD_NAMESPACE",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "COLIMA_HOME",
    "WSL_DISTRO_NAME",
];

/// The shell environment (point 1), as given by [`LocalOptions::env`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvEvidence {
    pub source: Source,
    /// Only the variables of [`ENV_VARS`] that are set (possibly to the empty string).
    pub vars: BTreeMap<String, String>,
}

/// Everything [`collect_local`] found. Deterministic: maps are `BTreeMap`, lists are sorted
/// or kept in the order that matters (e.g. drop-in precedence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HostEvidence {
    /// The root the files were read under (`/` on a live run).
    pub root: String,
    /// The home directory used for `~` (a path on the diagnosed system).
    pub home: String,
    pub env: EnvEvidence,
    /// System units (`docker.service`, `containerd.service`, `buildkit.service`): unit file
    /// and drop-ins as they are on disk now.
    pub units: BTreeMap<String, systemd::UnitFiles>,
    /// User units of rootless Docker/BuildKit (`~/.config/systemd/user`).
    pub user_units: BTreeMap<String, systemd::UnitFiles>,
    pub files: FilesEvidence,
    pub sockets: procnet::SocketsEvidence,
    pub platform: platform::Platform,
    /// What could not be read, and why.
    pub notes: Vec<Note>,
    /// Wall time of the collection, milliseconds (not stable; excluded from comparisons by
    /// tests that compare whole structures).
    pub collect_ms: u64,
}

/// The configuration files (point 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FilesEvidence {
    /// `/etc/docker/daemon.json`.
    pub daemon_json: Option<daemon_json::DaemonJson>,
    /// Rootless: `$XDG_CONFIG_HOME/docker/daemon.json` (default `~/.config/docker/daemon.json`).
    pub rootless_daemon_json: Option<daemon_json::DaemonJson>,
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub docker_config: Option<docker_config::DockerConfig>,
    /// `/etc/default/docker` (SysVinit; ignored by systemd unless a unit loads it).
    pub default_docker: Option<envfile::EnvFile>,
    /// `/etc/sysconfig/docker` (RHEL-family units load it with `EnvironmentFile=`).
    pub sysconfig_docker: Option<envfile::EnvFile>,
    /// `/etc/environment` (pam_env: login sessions, not system services).
    pub etc_environment: Option<envfile::EnvFile>,
    /// `/etc/containerd/config.toml`.
    pub containerd_config: Option<containerd::ContainerdConfig>,
    /// `hosts.toml` files under `/etc/containerd/certs.d/*/` and `/etc/docker/certs.d/*/`,
    /// by path.
    pub hosts_toml: BTreeMap<String, containerd::HostsToml>,
    /// Certificate directories `/etc/docker/certs.d/*/`, `/etc/containerd/certs.d/*/` and
    /// the rootless `~/.config/docker/certs.d/*/`, by path.
    pub certs_dirs: BTreeMap<String, containerd::CertsDir>,
    /// `/etc/buildkit/buildkitd.toml` and the rootless `~/.config/buildkit/buildkitd.toml`,
    /// by path.
    pub buildkitd: BTreeMap<String, containerd::BuildkitConfig>,
    /// `/etc/resolv.conf`.
    pub resolv_conf: Option<dns::ResolvConf>,
    /// `/etc/hosts`, registry-related entries only.
    pub etc_hosts: Option<dns::EtcHosts>,
    /// Colima profiles `~/.colima/<profile>/colima.yaml` (or `$COLIMA_HOME`), by profile.
    pub colima: BTreeMap<String, colima::ColimaConfig>,
    /// `/etc/wsl.conf`.
    pub wsl_conf: Option<colima::IniFile>,
    /// `/proc/version`, trimmed.
    pub proc_version: Option<Sourced<String>>,
    /// `/etc/hostname`, trimmed.
    pub hostname: Option<Sourced<String>>,
    /// `/etc/crictl.yaml` endpoints.
    pub crictl_yaml: Option<containerd::CrictlYaml>,
}

impl HostEvidence {
    /// Listening sockets on `port` (TCP over IPv4 and IPv6).
    pub fn listeners(&self, port: u16) -> Vec<&procnet::ListenSocket> {
        self.sockets
            .listening
            .iter()
            .filter(|s| s.port == port)
            .collect()
    }
}

/// Collect every local fact. Synchronous, offline, bounded: a few milliseconds on a normal
/// machine, whatever the size of `/etc/hosts`.
pub fn collect_local(opts: &LocalOptions) -> HostEvidence {
    let started = std::time::Instant::now();
    let mut fs = Fs::new(&opts.root);
    let mut ev = HostEvidence {
        root: opts.root.to_string_lossy().into_owned(),
        home: opts.home_str(),
        ..HostEvidence::default()
    };

    ev.env = EnvEvidence {
        source: Source::Env,
        vars: ENV_VARS
            .iter()
            .filter_map(|k| opts.env.get(*k).map(|v| ((*k).to_string(), v.clone())))
            .collect(),
    };

    let (units, user_units) = systemd::collect_units(&mut fs, opts);
    ev.units = units;
    ev.user_units = user_units;

    let files = &mut ev.files;
    files.daemon_json = daemon_json::collect(&mut fs, "/etc/docker/daemon.json", true);
    files.rootless_daemon_json = daemon_json::collect(
        &mut fs,
        &format!("{}/docker/daemon.json", opts.config_home()),
        false,
    );
    files.docker_config = docker_config::collect(&mut fs, opts);
    files.default_docker = envfile::collect(
        &mut fs,
        "/etc/default/docker",
        envfile::Keep::ProxyAndDocker,
        false,
    );
    files.sysconfig_docker = envfile::collect(
        &mut fs,
        "/etc/sysconfig/docker",
        envfile::Keep::ProxyAndDocker,
        false,
    );
    files.etc_environment =
        envfile::collect(&mut fs, "/etc/environment", envfile::Keep::Proxy, true);
    files.containerd_config = containerd::collect_config(&mut fs, "/etc/containerd/config.toml");
    containerd::collect_certs_dirs(&mut fs, opts, &mut files.certs_dirs, &mut files.hosts_toml);
    for path in [
        "/etc/buildkit/buildkitd.toml".to_string(),
        format!("{}/buildkit/buildkitd.toml", opts.config_home()),
    ] {
        if let Some(b) = containerd::collect_buildkitd(&mut fs, &path) {
            files.buildkitd.insert(path, b);
        }
    }
    files.resolv_conf = dns::collect_resolv(&mut fs, "/etc/resolv.conf");
    files.colima = colima::collect(&mut fs, opts);
    files.wsl_conf = colima::collect_ini(&mut fs, "/etc/wsl.conf");
    files.proc_version = read_trimmed(&mut fs, "/proc/version");
    files.hostname = read_trimmed(&mut fs, "/etc/hostname");
    files.crictl_yaml = containerd::collect_crictl_yaml(&mut fs, "/etc/crictl.yaml");

    // /etc/hosts last: what counts as "registry-ish" depends on what is configured.
    let interesting = dns::interesting_hosts(&ev.env, &ev.files, &ev.units);
    ev.files.etc_hosts = dns::collect_hosts(&mut fs, "/etc/hosts", &interesting);

    ev.sockets = procnet::collect_sockets(&mut fs);
    ev.platform = platform::detect(&mut fs, opts, &ev);

    ev.notes = fs.into_notes();
    ev.collect_ms = started.elapsed().as_millis() as u64;
    ev
}

/// Read the drop-ins that `systemctl show` reported (`DropInPaths`) but that the scan of the
/// standard directories did not find (e.g. under `/run/systemd/transient`), and the unit
/// files it named (`FragmentPath`). Cheap; call after [`commands::collect_commands`].
pub fn complete_with_commands(
    opts: &LocalOptions,
    host: &mut HostEvidence,
    cmds: &CommandsEvidence,
) {
    let mut fs = Fs::new(&opts.root);
    for (unit, rec) in &cmds.systemd {
        let Some(show) = &rec.parsed else { continue };
        let entry = host.units.entry(unit.clone()).or_default();
        systemd::add_reported_files(&mut fs, entry, show);
    }
    let mut notes = fs.into_notes();
    host.notes.append(&mut notes);
    host.notes.sort_by(|a, b| a.path.cmp(&b.path));
    host.notes.dedup();
}

fn read_trimmed(fs: &mut Fs, path: &str) -> Option<Sourced<String>> {
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    Some(Sourced {
        value: text.trim().to_string(),
        source,
    })
}

/// Host part of a URL-ish value (`http://user:pw@proxy:3128/x` → `proxy`,
/// `registry:5000` → `registry`, `[::1]:80` → `::1`), lowercased.
pub fn host_of(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let v = v.split(['/', '?', '#']).next().unwrap_or("");
    let v = v.rsplit_once('@').map_or(v, |(_, h)| h);
    let host = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if v.matches(':').count() > 1 {
        v // bare IPv6
    } else {
        v.split(':').next().unwrap_or("")
    };
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}
