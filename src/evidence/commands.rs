//! External commands, run concurrently under one deadline.
//!
//! Each program is looked up on the `PATH` of [`CommandOptions::env`] (so tests can put fake
//! `docker`/`systemctl` scripts first); a missing program is recorded, not an error. Every
//! command runs with stdin closed, a cleared environment (the options' `env` plus
//! `LC_ALL=C`), its stdout/stderr read concurrently and capped
//! ([`CommandOptions::output_cap`]; the excess is drained and counted, so a chatty
//! command never blocks on a full pipe).
//!
//! **Deadline.** At the deadline a command still running is sent SIGKILL
//! (`Child::start_kill`) and waited for (at most [`REAP_WAIT`]), so it is reaped; it is
//! recorded with `timed_out = true` and whatever output it had printed. The spawned child
//! stays in pulldoctor's process group so Ctrl-C still reaches it; grandchildren of a
//! killed command are not killed (none of the commands run here leave any), and their
//! pipes are abandoned rather than waited on, so they cannot stall the run. Once a command
//! has exited, its pipes get [`PIPE_GRACE`] to reach end-of-file. `kill_on_drop(true)`
//! covers cancellation of the whole future.
//!
//! **Read-only.** Only `show`, `info`, `version`, `ls` and `status` subcommands are run. No
//! credential helper is ever run, and no command that prints secrets is kept verbatim:
//! stdout is parsed into typed evidence and only kept (as an excerpt) when it could not be
//! parsed, never for `crictl info` (it can echo registry auth).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

use super::Source;
use super::docker_cli::{
    ClientServerVersion, ColimaStatus, CrictlInfo, DockerContext, DockerInfo, DockerVersion,
    parse_colima_status, parse_crictl_info, parse_docker_context_ls, parse_docker_info,
    parse_docker_version, parse_nerdctl_version, parse_version_text, parse_wslinfo,
};
use super::systemd::{SHOW_PROPERTIES, SystemctlShow, UNITS, parse_systemctl_show};

/// Bytes kept per output stream by default.
pub const OUTPUT_CAP: usize = 1024 * 1024;
/// stderr kept in the record (bytes).
pub const STDERR_KEEP: usize = 4096;
/// stdout excerpt kept when parsing failed (bytes).
pub const STDOUT_EXCERPT: usize = 2048;
/// After a command exits, how long its pipes may stay open (held by a grandchild).
pub const PIPE_GRACE: Duration = Duration::from_millis(250);
/// After SIGKILL, how long to wait for the child to be reaped.
pub const REAP_WAIT: Duration = Duration::from_millis(500);
/// `PATH` used when the environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How to run the commands.
#[derive(Debug, Clone)]
pub struct CommandOptions {
    /// Environment of the commands (and the `PATH` they are found on).
    pub env: BTreeMap<String, String>,
    /// Bytes kept per output stream.
    pub output_cap: usize,
}

impl CommandOptions {
    pub fn new(env: BTreeMap<String, String>) -> Self {
        CommandOptions {
            env,
            output_cap: OUTPUT_CAP,
        }
    }

    /// This process's environment (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self::new(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }
}

/// What happened to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    /// Not on `PATH`.
    #[default]
    NotFound,
    /// Found but could not be started (e.g. not executable, bad interpreter).
    SpawnFailed,
    /// The deadline had already passed; not started.
    Skipped,
    /// Not run because its answer is known without it (see `error`).
    Unneeded,
    /// Ran to completion (see `exit_code` / `signal`).
    Exited,
    /// Killed at the deadline.
    TimedOut,
}

/// One command's evidence: provenance, outcome and the parsed result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord<T> {
    /// `Source::Command { argv, exit_code, duration_ms, timed_out }`.
    pub source: Source,
    pub status: CommandStatus,
    /// The program found on `PATH`.
    pub program: Option<String>,
    /// Terminating signal, when killed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Spawn error text (`status = spawn_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub stdout_bytes: u64,
    pub stdout_truncated: bool,
    /// stderr (lossy UTF-8, at most [`STDERR_KEEP`] bytes).
    pub stderr: String,
    pub stderr_truncated: bool,
    /// Start of stdout, only when it could not be parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_excerpt: Option<String>,
    pub parsed: Option<T>,
    /// Why stdout could not be parsed ("garbage output"), or `no output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Process id while it ran (not serialized; lets tests check reaping).
    #[serde(skip)]
    pub pid: Option<u32>,
}

impl<T> Default for CommandRecord<T> {
    fn default() -> Self {
        CommandRecord {
            source: Source::Command {
                argv: Vec::new(),
                exit_code: None,
                duration_ms: 0,
                timed_out: false,
            },
            status: CommandStatus::NotFound,
            program: None,
            signal: None,
            error: None,
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_truncated: false,
            stdout_excerpt: None,
            parsed: None,
            parse_error: None,
            pid: None,
        }
    }
}

impl<T> CommandRecord<T> {
    pub fn exit_code(&self) -> Option<i32> {
        match &self.source {
            Source::Command { exit_code, .. } => *exit_code,
            _ => None,
        }
    }
    pub fn timed_out(&self) -> bool {
        self.status == CommandStatus::TimedOut
    }
    pub fn found(&self) -> bool {
        self.status != CommandStatus::NotFound
    }
    /// Exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.status == CommandStatus::Exited && self.exit_code() == Some(0)
    }
}

/// Everything the commands said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommandsEvidence {
    /// The `PATH` searched.
    pub path: String,
    /// `systemctl show UNIT --property=…` per unit.
    pub systemd: BTreeMap<String, CommandRecord<SystemctlShow>>,
    pub docker_info: CommandRecord<DockerInfo>,
    pub docker_version: CommandRecord<DockerVersion>,
    pub docker_context: CommandRecord<Vec<DockerContext>>,
    pub colima_status: CommandRecord<ColimaStatus>,
    pub nerdctl_version: CommandRecord<ClientServerVersion>,
    pub ctr_version: CommandRecord<ClientServerVersion>,
    pub crictl_info: CommandRecord<CrictlInfo>,
    pub wslinfo: CommandRecord<String>,
    /// Wall time of the whole collection (ms).
    pub collect_ms: u64,
}

/// The raw outcome of one command.
#[derive(Debug, Clone, Default)]
pub struct RawOutput {
    pub argv: Vec<String>,
    pub program: Option<PathBuf>,
    pub status: CommandStatus,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub stdout: Vec<u8>,
    pub stdout_bytes: u64,
    pub stdout_truncated: bool,
    pub stderr: Vec<u8>,
    pub stderr_truncated: bool,
    pub error: Option<String>,
    pub pid: Option<u32>,
}

/// Find `name` on `path` (`:`-separated; empty and relative entries are skipped): an
/// executable regular file. A `name` with a `/` is used as is.
pub fn find_on_path(name: &str, path: &str) -> Option<PathBuf> {
    let is_exec = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_exec(&p).then_some(p);
    }
    path.split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| Path::new(d).join(name))
        .find(|p| is_exec(p))
}

struct Capped {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped {
            buf: Vec::new(),
            cap,
            total: 0,
        }
    }
    fn push(&mut self, b: &[u8]) {
        self.total += b.len() as u64;
        let room = self.cap.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&b[..b.len().min(room)]);
    }
    fn truncated(&self) -> bool {
        self.total > self.buf.len() as u64
    }
}

/// Run `argv` with `env` (plus `extra_env`) until it exits or `deadline` passes.
pub async fn run_command(
    argv: &[String],
    env: &BTreeMap<String, String>,
    extra_env: &[(&str, &str)],
    cap: usize,
    deadline: Instant,
) -> RawOutput {
    let mut raw = RawOutput {
        argv: argv.to_vec(),
        ..Default::default()
    };
    let Some(name) = argv.first() else {
        raw.error = Some("empty argv".into());
        return raw;
    };
    let path_var = env.get("PATH").map_or(DEFAULT_PATH, String::as_str);
    let Some(program) = find_on_path(name, path_var) else {
        return raw;
    };
    raw.program = Some(program.clone());
    let start = Instant::now();
    if start >= deadline {
        raw.status = CommandStatus::Skipped;
        return raw;
    }
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env)
        .env("LC_ALL", "C")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that whatever it started can be killed
        // with it (a `docker` wrapper script's `sleep` holds our pipes).
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            raw.status = CommandStatus::SpawnFailed;
            raw.error = Some(e.to_string());
            raw.duration_ms = start.elapsed().as_millis() as u64;
            return raw;
        }
    };
    raw.pid = child.id();
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        raw.status = CommandStatus::SpawnFailed;
        raw.error = Some("no pipes".into());
        return raw;
    };
    let mut ob = Capped::new(cap);
    let mut eb = Capped::new(cap);
    let (mut o_done, mut e_done) = (false, false);
    let mut status = None;
    let mut stop_at = deadline;
    let mut b1 = vec![0u8; 16 * 1024];
    let mut b2 = vec![0u8; 16 * 1024];
    loop {
        if o_done && e_done && status.is_some() {
            break;
        }
        tokio::select! {
            r = out.read(&mut b1), if !o_done => match r {
                Ok(0) | Err(_) => o_done = true,
                Ok(n) => ob.push(&b1[..n]),
            },
            r = err.read(&mut b2), if !e_done => match r {
                Ok(0) | Err(_) => e_done = true,
                Ok(n) => eb.push(&b2[..n]),
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s);
                stop_at = stop_at.min(Instant::now() + PIPE_GRACE);
            },
            _ = tokio::time::sleep_until(stop_at) => break,
        }
    }
    drop(out);
    drop(err);
    // Whatever the command left running in its group (a grandchild after a
    // timeout, or one that outlived its parent holding our pipes) goes too.
    if let Some(pid) = raw.pid {
        kill_group(pid);
    }
    let exit = match status {
        Some(s) => {
            raw.status = CommandStatus::Exited;
            s.ok()
        }
        None => {
            raw.status = CommandStatus::TimedOut;
            let _ = child.start_kill();
            tokio::time::timeout(REAP_WAIT, child.wait())
                .await
                .ok()
                .and_then(Result::ok)
        }
    };
    if let Some(s) = exit {
        raw.exit_code = s.code();
        raw.signal = s.signal();
    }
    raw.duration_ms = start.elapsed().as_millis() as u64;
    raw.stdout_bytes = ob.total;
    raw.stdout_truncated = ob.truncated();
    raw.stderr_truncated = eb.truncated();
    raw.stdout = ob.buf;
    raw.stderr = eb.buf;
    raw
}

/// SIGKILL to the process group `pgid` (the command's own, see
/// `process_group(0)`); no group left is not an error.
fn kill_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: kill(2) with a negative pid signals a process group; it
        // touches no memory of ours.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

fn lossy_prefix(b: &[u8], max: usize) -> String {
    let mut s = String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned();
    if b.len() > max {
        s.push('…');
    }
    s
}

/// Turn a raw run into a record, parsing stdout with `parse`.
/// `parse_input` chooses what is parsed (stdout, or stdout and stderr together).
pub fn to_record<T>(
    raw: RawOutput,
    parse: impl FnOnce(&str) -> Result<T, String>,
    with_stderr: bool,
    keep_excerpt: bool,
) -> CommandRecord<T> {
    let timed_out = raw.status == CommandStatus::TimedOut;
    let mut rec = CommandRecord {
        source: Source::Command {
            argv: raw.argv.clone(),
            exit_code: raw.exit_code,
            duration_ms: raw.duration_ms,
            timed_out,
        },
        status: raw.status,
        program: raw
            .program
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        signal: raw.signal,
        error: raw.error.clone(),
        stdout_bytes: raw.stdout_bytes,
        stdout_truncated: raw.stdout_truncated,
        stderr: lossy_prefix(&raw.stderr, STDERR_KEEP),
        stderr_truncated: raw.stderr_truncated || raw.stderr.len() > STDERR_KEEP,
        pid: raw.pid,
        ..CommandRecord::default()
    };
    if !matches!(raw.status, CommandStatus::Exited | CommandStatus::TimedOut) {
        return rec;
    }
    let mut input = String::from_utf8_lossy(&raw.stdout).into_owned();
    if with_stderr {
        input.push('\n');
        input.push_str(&String::from_utf8_lossy(&raw.stderr));
    }
    if input.trim().is_empty() {
        rec.parse_error = Some("no output".into());
        return rec;
    }
    match parse(&input) {
        Ok(v) => rec.parsed = Some(v),
        Err(e) => {
            rec.parse_error = Some(e);
            if keep_excerpt {
                rec.stdout_excerpt = Some(lossy_prefix(&raw.stdout, STDOUT_EXCERPT));
            }
        }
    }
    rec
}

/// `ctr version`. Without a containerd socket, ctr retries the dial for 10 s
/// (after printing its client version) and would hold `check` until the
/// command deadline: with no socket to connect to, the dial is bounded.
fn ctr_version_argv(env: &BTreeMap<String, String>) -> Vec<String> {
    let socket = env
        .get("CONTAINERD_ADDRESS")
        .map(|a| a.trim_start_matches("unix://").to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "/run/containerd/containerd.sock".into());
    if Path::new(&socket).exists() {
        argv(&["ctr", "version"])
    } else {
        argv(&["ctr", "--connect-timeout", "10ms", "version"])
    }
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// `systemctl show` output must have at least one `Name=value` line.
pub fn parse_systemctl_checked(text: &str) -> Result<SystemctlShow, String> {
    let known = [
        "LoadState=",
        "ActiveState=",
        "FragmentPath=",
        "Environment=",
        "DropInPaths=",
    ];
    if !text.lines().any(|l| known.iter().any(|k| l.starts_with(k))) {
        return Err("no systemctl properties in output".into());
    }
    Ok(parse_systemctl_show(text))
}

/// Whether `docker context ls` can tell more than that the default context
/// is the only one: a context is selected by name (`DOCKER_CONTEXT`,
/// `currentContext` in config.json) or stored under the config directory's
/// `contexts/meta`. When neither, the command (a Go CLI start, a fifth of
/// what `check --offline` costs) is not run. Unknown (no `HOME`) counts as yes.
pub fn docker_contexts_possible(env: &BTreeMap<String, String>) -> bool {
    if env.get("DOCKER_CONTEXT").is_some_and(|c| !c.is_empty()) {
        return true;
    }
    let dir = match env.get("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match env.get("HOME").filter(|h| !h.is_empty()) {
            Some(h) => Path::new(h).join(".docker"),
            None => return true,
        },
    };
    let selected = std::fs::read(dir.join("config.json"))
        .is_ok_and(|b| memchr::memmem::find(&b, b"currentContext").is_some());
    selected
        || match std::fs::read_dir(dir.join("contexts").join("meta")) {
            Ok(mut entries) => entries.next().is_some(),
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        }
}

/// Run every command concurrently; each is killed at `deadline`.
pub async fn collect_commands(opts: &CommandOptions, deadline: Instant) -> CommandsEvidence {
    let started = Instant::now();
    let env = &opts.env;
    let cap = opts.output_cap;
    let prop = format!("--property={SHOW_PROPERTIES}");
    let sysd = |unit: &str| argv(&["systemctl", "show", unit, &prop, "--no-pager"]);
    let sys_env: &[(&str, &str)] = &[
        ("TZ", "UTC"),
        ("SYSTEMD_COLORS", "0"),
        ("SYSTEMD_PAGER", ""),
    ];
    let docker_env: &[(&str, &str)] = &[("DOCKER_CLI_HINTS", "false")];
    let (a0, a1, a2) = (sysd(UNITS[0]), sysd(UNITS[1]), sysd(UNITS[2]));
    let (di, dv, dc) = (
        argv(&["docker", "info", "--format", "{{json .}}"]),
        argv(&["docker", "version", "--format", "{{json .}}"]),
        argv(&["docker", "context", "ls", "--format", "{{json .}}"]),
    );
    let (co, ne, ct, cr, wi) = (
        argv(&["colima", "status"]),
        argv(&["nerdctl", "version", "--format", "{{json .}}"]),
        ctr_version_argv(env),
        argv(&["crictl", "info"]),
        argv(&["wslinfo", "--networking-mode"]),
    );
    let contexts = docker_contexts_possible(env);
    let (s0, s1, s2, r_di, r_dv, r_dc, r_co, r_ne, r_ct, r_cr, r_wi) = tokio::join!(
        run_command(&a0, env, sys_env, cap, deadline),
        run_command(&a1, env, sys_env, cap, deadline),
        run_command(&a2, env, sys_env, cap, deadline),
        run_command(&di, env, docker_env, cap, deadline),
        run_command(&dv, env, docker_env, cap, deadline),
        async {
            if contexts {
                return run_command(&dc, env, docker_env, cap, deadline).await;
            }
            RawOutput {
                argv: dc.clone(),
                status: CommandStatus::Unneeded,
                error: Some("no Docker context but the default one (none selected, none under contexts/meta)".into()),
                ..Default::default()
            }
        },
        run_command(&co, env, &[], cap, deadline),
        run_command(&ne, env, &[], cap, deadline),
        run_command(&ct, env, &[], cap, deadline),
        run_command(&cr, env, &[], cap, deadline),
        run_command(&wi, env, &[], cap, deadline),
    );
    let mut ev = CommandsEvidence {
        path: env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| DEFAULT_PATH.to_string()),
        ..Default::default()
    };
    for (unit, raw) in UNITS.iter().zip([s0, s1, s2]) {
        ev.systemd.insert(
            (*unit).to_string(),
            to_record(raw, parse_systemctl_checked, false, true),
        );
    }
    ev.docker_info = to_record(r_di, parse_docker_info, false, true);
    ev.docker_version = to_record(r_dv, parse_docker_version, false, true);
    ev.docker_context = to_record(r_dc, parse_docker_context_ls, false, true);
    ev.colima_status = to_record(r_co, |t| Ok(parse_colima_status(t)), true, false);
    ev.nerdctl_version = to_record(r_ne, parse_nerdctl_version, false, true);
    ev.ctr_version = to_record(r_ct, parse_version_text, false, true);
    ev.crictl_info = to_record(r_cr, parse_crictl_info, false, false);
    ev.wslinfo = to_record(r_wi, parse_wslinfo, false, true);
    ev.collect_ms = started.elapsed().as_millis() as u64;
    ev
}
