//! systemd: `systemctl show` output and unit files / drop-ins on disk.
//!
//! `systemctl show` prints a string-array property (`Environment`, `DropInPaths`) as the
//! items joined by one space, each passed through systemd's `shell_maybe_quote(s, 0)`
//! (`src/shared/bus-print-properties.c`): an item with whitespace, a control character or
//! one of ``"\`$*?['()<>|&;!`` is wrapped in double quotes, with `"`, `\`, `` ` `` and `$`
//! backslash-escaped and control characters C-escaped (`\n`, `\t`, octal `\ooo`). So
//! `Environment="NO_PROXY=a b"` in a unit is shown as `Environment="NO_PROXY=a b"`, and
//! `Environment=HTTPS_PROXY=http://127.0.0.1:7890` is shown unquoted. (systemd older than
//! v239 printed the items unquoted; a value with a space is then ambiguous.)
//! `EnvironmentFiles` is printed once per file as `PATH (ignore_errors=yes|no)`.
//! Timestamps are `Www YYYY-MM-DD HH:MM:SS TZ`; the command is run with `TZ=UTC` so they can
//! be turned into epoch seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fsread::{Fs, Kind};
use super::{FILE_CAP, LocalOptions, Source, envfile};

/// Units inspected.
pub const UNITS: &[&str] = &["docker.service", "containerd.service", "buildkit.service"];

/// Properties requested from `systemctl show` (`LoadState` tells "not installed" apart).
/// `NeedDaemonReload` says whether unit files changed on disk since systemd loaded them.
pub const SHOW_PROPERTIES: &str = "Environment,EnvironmentFiles,DropInPaths,FragmentPath,ActiveState,ActiveEnterTimestamp,ExecMainStartTimestamp,LoadState,NeedDaemonReload";

/// System unit directories, highest precedence first.
pub const SYSTEM_UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// Parsed `systemctl show UNIT --property=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SystemctlShow {
    pub load_state: Option<String>,
    pub active_state: Option<String>,
    pub fragment_path: Option<String>,
    /// The environment the unit's processes get from `Environment=` (not from
    /// `EnvironmentFile=`, which systemd reads at start and `show` does not expand).
    pub environment: BTreeMap<String, String>,
    /// Items of `Environment` without `=`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_invalid: Vec<String>,
    pub environment_files: Vec<EnvironmentFileRef>,
    pub drop_in_paths: Vec<String>,
    pub active_enter_timestamp: Option<String>,
    /// `active_enter_timestamp` as epoch seconds (only when printed in UTC or as `@N`).
    pub active_enter_unix: Option<i64>,
    pub exec_main_start_timestamp: Option<String>,
    pub exec_main_start_unix: Option<i64>,
    /// `NeedDaemonReload`: the unit files changed since `systemctl daemon-reload`.
    pub need_daemon_reload: Option<bool>,
    /// Any other `Name=value` line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
}

impl SystemctlShow {
    /// Whether systemd knows the unit (`LoadState` is not `not-found`).
    pub fn installed(&self) -> bool {
        !matches!(self.load_state.as_deref(), Some("not-found") | None)
            || self.fragment_path.is_some()
    }
    /// When the running daemon started: `ExecMainStartTimestamp`, else `ActiveEnterTimestamp`.
    pub fn started_unix(&self) -> Option<i64> {
        self.exec_main_start_unix.or(self.active_enter_unix)
    }
}

/// An `EnvironmentFile=` reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvironmentFileRef {
    pub path: String,
    /// Written with a leading `-`: a missing file is not an error.
    pub ignore_errors: bool,
    /// Line in the unit file (absent when it comes from `systemctl show`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// Parse `systemctl show` output for one unit.
pub fn parse_systemctl_show(text: &str) -> SystemctlShow {
    let mut s = SystemctlShow::default();
    for line in text.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let nonempty = || {
            (!value.is_empty() && value != "n/a" && value != "[not set]").then(|| value.to_string())
        };
        match name {
            "LoadState" => s.load_state = nonempty(),
            "ActiveState" => s.active_state = nonempty(),
            "FragmentPath" => s.fragment_path = nonempty(),
            "Environment" => {
                for item in split_systemctl_strv(value) {
                    match item.split_once('=') {
                        Some((k, v)) if !k.is_empty() => {
                            s.environment.insert(k.to_string(), v.to_string());
                        }
                        _ => s.environment_invalid.push(item),
                    }
                }
            }
            "EnvironmentFiles" => {
                if let Some(r) = parse_environment_files_value(value) {
                    s.environment_files.push(r);
                }
            }
            "DropInPaths" => s.drop_in_paths = split_systemctl_strv(value),
            "NeedDaemonReload" => {
                s.need_daemon_reload = match value {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                }
            }
            "ActiveEnterTimestamp" => {
                s.active_enter_timestamp = nonempty();
                s.active_enter_unix = parse_systemd_timestamp(value);
            }
            "ExecMainStartTimestamp" => {
                s.exec_main_start_timestamp = nonempty();
                s.exec_main_start_unix = parse_systemd_timestamp(value);
            }
            _ => {
                if !name.is_empty() && !name.contains(char::is_whitespace) {
                    s.other.insert(name.to_string(), value.to_string());
                }
            }
        }
    }
    s
}

/// `/etc/default/docker (ignore_errors=yes)` → path + flag.
fn parse_environment_files_value(value: &str) -> Option<EnvironmentFileRef> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (path, ignore) = match value.rsplit_once(" (ignore_errors=") {
        Some((p, rest)) => (p, rest.trim_end_matches(')') == "yes"),
        None => (value, false),
    };
    Some(EnvironmentFileRef {
        path: path.to_string(),
        ignore_errors: ignore,
        line: None,
    })
}

/// Split a string-array property as printed by `systemctl show` (see module docs).
pub fn split_systemctl_strv(value: &str) -> Vec<String> {
    split_words(value, Escapes::Shell)
        .unwrap_or_else(|_| value.split_whitespace().map(String::from).collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// `systemctl show` output: `shell_maybe_quote` + C escapes.
    Shell,
    /// Unit-file values: systemd's `extract_first_word(UNQUOTE|CUNESCAPE|RELAX)`.
    Unit,
}

/// Split `s` into words: whitespace separates, `"…"` and `'…'` quote (anywhere in a word),
/// backslash escapes. Errors on an unterminated quote.
fn split_words(s: &str, mode: Escapes) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match quote {
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            Some(q) if c == q => quote = None,
            _ if c == '\\' => {
                in_word = true;
                unescape_one(&mut it, &mut cur, mode);
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Decode one C-style escape after a backslash (systemd `cunescape_one`).
fn unescape_one(
    it: &mut std::iter::Peekable<std::str::Chars<'_>>,
    out: &mut String,
    mode: Escapes,
) {
    let Some(c) = it.next() else {
        out.push('\\');
        return;
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        's' => Some(' '),
        '\\' | '"' | '\'' => Some(c),
        '$' | '`' if mode == Escapes::Shell => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        out.push(ch);
        return;
    }
    let mut digits = |n: usize, radix: u32| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let x = it.peek()?.to_digit(radix)?;
            it.next();
            v = v * radix + x;
        }
        Some(v)
    };
    let decoded = match c {
        'x' => digits(2, 16),
        'u' => digits(4, 16),
        'U' => digits(8, 16),
        '0'..='7' => digits(2, 8).map(|rest| c.to_digit(8).unwrap_or(0) * 64 + rest),
        _ => None,
    };
    match decoded.and_then(char::from_u32) {
        Some(ch) => out.push(ch),
        None => {
            // RELAX: keep unknown escapes verbatim.
            out.push('\\');
            out.push(c);
        }
    }
}

/// Parse a systemd timestamp as printed by `systemctl show` into epoch seconds:
/// `Sat 2026-11-21 10:02:11 UTC` (only UTC/GMT zones, the command runs with `TZ=UTC`) or
/// `@1763719331`. `n/a`, empty or another zone gives `None`.
pub fn parse_systemd_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(n) = s.strip_prefix('@') {
        return n.split('.').next()?.parse().ok();
    }
    let toks: Vec<&str> = s.split_whitespace().collect();
    let di = toks
        .iter()
        .position(|t| t.len() == 10 && t.as_bytes().get(4) == Some(&b'-'))?;
    let date = toks[di];
    let time = toks.get(di + 1)?;
    let zone = toks.get(di + 2).copied().unwrap_or("UTC");
    if !matches!(zone, "UTC" | "GMT" | "Z" | "+0000" | "UCT") {
        return None;
    }
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(['.', ':']).map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, dd) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// Unit files and drop-ins on disk.

/// One `Environment=` line of a unit file or drop-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnitEnvLine {
    pub line: usize,
    /// The value as written (after `Environment=`).
    pub raw: String,
    /// Assignments after systemd unquoting and `%%` → `%`.
    pub vars: BTreeMap<String, String>,
    /// Words without `=` (systemd ignores them with a warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<String>,
    /// `Environment=` with an empty value: resets everything set before it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// `%` specifiers other than `%%` (e.g. `%h`, or `%40` from a URL-encoded password).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specifiers: Vec<String>,
    /// An unknown specifier: systemd logs "Failed to resolve specifiers" and ignores the
    /// whole line. Also set for an unterminated quote (systemd ignores the line too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_by_systemd: Option<String>,
}

/// Environment-related content of one unit file or drop-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnitFile {
    pub source: Source,
    /// Symlinked to `/dev/null` (masked) — nothing read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
    pub environment: Vec<UnitEnvLine>,
    pub environment_files: Vec<EnvironmentFileRef>,
    /// Lines with `Environment=`/`EnvironmentFile=` outside a `[Service]` section; systemd
    /// ignores them ("Assignment outside of section" or "Unknown key name").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside_service: Vec<usize>,
}

/// A unit as it is on disk now: its unit file, its drop-ins in the order systemd applies
/// them, and the environment files they reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnitFiles {
    pub fragment: Option<UnitFile>,
    pub drop_ins: Vec<UnitFile>,
    /// Files named by `EnvironmentFile=` (proxy and DOCKER_* assignments only), by path.
    pub environment_files: BTreeMap<String, envfile::EnvFile>,
}

impl UnitFiles {
    /// The environment the files configure now (unit file, then drop-ins in order; an empty
    /// `Environment=` resets; lines systemd ignores are skipped). Compare with
    /// [`SystemctlShow::environment`] to find edits not yet applied.
    pub fn configured_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for f in self.fragment.iter().chain(&self.drop_ins) {
            for l in &f.environment {
                if l.reset {
                    env.clear();
                }
                if l.ignored_by_systemd.is_none() {
                    env.extend(l.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        env
    }

    /// The newest modification time among the unit file and drop-ins.
    pub fn newest_mtime(&self) -> Option<i64> {
        self.fragment
            .iter()
            .chain(&self.drop_ins)
            .filter_map(|f| f.source.mtime())
            .max()
    }
}

/// Parse a unit file or drop-in for `Environment=` and `EnvironmentFile=` (other keys are
/// ignored). Comments start with `#` or `;`; a trailing `\` continues a line.
pub fn parse_unit_file(text: &str) -> UnitFile {
    let mut uf = UnitFile::default();
    let mut section: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw_line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw_line.trim();
        let (start, mut acc) = match pending.take() {
            Some((s, acc)) => {
                if line.starts_with('#') || line.starts_with(';') {
                    pending = Some((s, acc));
                    continue;
                }
                (s, acc)
            }
            None => {
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                (lineno, String::new())
            }
        };
        if let Some(body) = line.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(line);
        let line = acc.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = Some(line[1..line.len() - 1].to_string());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let in_service = section.as_deref() == Some("Service");
        match key {
            "Environment" if in_service => {
                uf.environment.push(parse_environment_line(start, value))
            }
            "EnvironmentFile" if in_service => {
                if value.is_empty() {
                    uf.environment_files.clear();
                } else {
                    let (path, ignore) = match value.strip_prefix('-') {
                        Some(p) => (p, true),
                        None => (value, false),
                    };
                    uf.environment_files.push(EnvironmentFileRef {
                        path: path.to_string(),
                        ignore_errors: ignore,
                        line: Some(start),
                    });
                }
            }
            "Environment" | "EnvironmentFile" => uf.outside_service.push(start),
            _ => {}
        }
    }
    uf
}

/// Specifier characters systemd knows (systemd.unit(5) "Specifiers").
const KNOWN_SPECIFIERS: &str = "aAbBCdEfgGhHiIjJlLmMnNopPqrRsStTuUvVwWyY";

fn parse_environment_line(line: usize, value: &str) -> UnitEnvLine {
    let mut l = UnitEnvLine {
        line,
        raw: value.to_string(),
        ..Default::default()
    };
    if value.is_empty() {
        l.reset = true;
        return l;
    }
    let words = match split_words(value, Escapes::Unit) {
        Ok(w) => w,
        Err(e) => {
            l.ignored_by_systemd = Some(e);
            return l;
        }
    };
    for w in words {
        let (expanded, specs, bad) = expand_percent(&w);
        l.specifiers.extend(specs);
        if let Some(b) = bad {
            l.ignored_by_systemd
                .get_or_insert(format!("unknown specifier {b}"));
        }
        match expanded.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                l.vars.insert(k.to_string(), v.to_string());
            }
            _ => l.invalid.push(expanded),
        }
    }
    l
}

/// `%%` → `%`; returns the other specifiers seen and the first unknown one.
fn expand_percent(w: &str) -> (String, Vec<String>, Option<String>) {
    let mut out = String::with_capacity(w.len());
    let mut specs = Vec::new();
    let mut bad = None;
    let mut it = w.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some(s) => {
                let spec = format!("%{s}");
                if !KNOWN_SPECIFIERS.contains(s) && bad.is_none() {
                    bad = Some(spec.clone());
                }
                out.push_str(&spec);
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
            None => {
                out.push('%');
                bad.get_or_insert_with(|| "% at end".into());
            }
        }
    }
    (out, specs, bad)
}

/// What differs between a unit's files on disk and what systemd reports for it.
///
/// `systemctl show -p Environment` reflects the unit as systemd last *loaded* it (at the
/// last `daemon-reload`), while the daemon process got its environment when it *started*.
/// So a variable in the files but not in `show` means a missing `daemon-reload`, and a
/// file modified after `ExecMainStartTimestamp` means a missing restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnitDrift {
    /// Set in the files, absent from the loaded `Environment`.
    pub only_in_files: BTreeMap<String, String>,
    /// In the loaded `Environment`, no longer in the files.
    pub only_loaded: BTreeMap<String, String>,
    /// Different values: name → (files, loaded).
    pub different: BTreeMap<String, (String, String)>,
    /// Unit file / drop-ins modified after the main process started (paths).
    pub modified_after_start: Vec<String>,
    /// systemd itself says `NeedDaemonReload=yes`.
    pub need_daemon_reload: bool,
}

impl UnitDrift {
    pub fn is_empty(&self) -> bool {
        *self == UnitDrift::default()
    }
}

/// Compare the files on disk with `systemctl show`. Variables that come from
/// `EnvironmentFile=` are not part of `Environment` on either side.
pub fn compare(files: &UnitFiles, show: &SystemctlShow) -> UnitDrift {
    let on_disk = files.configured_env();
    let mut d = UnitDrift {
        need_daemon_reload: show.need_daemon_reload == Some(true),
        ..Default::default()
    };
    for (k, v) in &on_disk {
        match show.environment.get(k) {
            None => {
                d.only_in_files.insert(k.clone(), v.clone());
            }
            Some(l) if l != v => {
                d.different.insert(k.clone(), (v.clone(), l.clone()));
            }
            _ => {}
        }
    }
    for (k, v) in &show.environment {
        if !on_disk.contains_key(k) {
            d.only_loaded.insert(k.clone(), v.clone());
        }
    }
    if let Some(started) = show.started_unix() {
        for f in files.fragment.iter().chain(&files.drop_ins) {
            if let (Some(m), Some(p)) = (f.source.mtime(), f.source.path())
                && m > started
            {
                d.modified_after_start.push(p.to_string());
            }
        }
    }
    d
}

// ---------------------------------------------------------------------------------------
// Collection.

fn read_unit_file(fs: &mut Fs, path: &str) -> Option<UnitFile> {
    if let Ok(r) = fs.resolve(path)
        && r.logical == "/dev/null"
    {
        let source = Source::File {
            path: path.to_string(),
            resolved: Some(r.logical),
            mtime: None,
        };
        return Some(UnitFile {
            source,
            masked: true,
            ..Default::default()
        });
    }
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    let mut uf = parse_unit_file(&text);
    uf.source = source;
    Some(uf)
}

fn collect_unit(fs: &mut Fs, unit: &str, dirs: &[String]) -> Option<UnitFiles> {
    let mut uf = UnitFiles::default();
    for d in dirs {
        let p = format!("{d}/{unit}");
        if fs.kind(&p).is_some() {
            uf.fragment = read_unit_file(fs, &p);
            if uf.fragment.is_some() {
                break;
            }
        }
    }
    // Drop-ins: the same file name in a higher-precedence directory wins; then by name.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for d in dirs {
        let dir = format!("{d}/{unit}.d");
        let Some((entries, _)) = fs.list_dir(&dir, false) else {
            continue;
        };
        for (name, kind) in entries {
            if name.ends_with(".conf") && matches!(kind, Kind::File | Kind::Other) {
                by_name
                    .entry(name.clone())
                    .or_insert(format!("{dir}/{name}"));
            }
        }
    }
    for path in by_name.values() {
        if let Some(f) = read_unit_file(fs, path) {
            uf.drop_ins.push(f);
        }
    }
    read_referenced_env_files(fs, &mut uf);
    (uf.fragment.is_some() || !uf.drop_ins.is_empty()).then_some(uf)
}

fn read_referenced_env_files(fs: &mut Fs, uf: &mut UnitFiles) {
    let refs: Vec<EnvironmentFileRef> = uf
        .fragment
        .iter()
        .chain(&uf.drop_ins)
        .flat_map(|f| f.environment_files.iter().cloned())
        .collect();
    for r in refs {
        if r.path.contains('%')
            || !r.path.starts_with('/')
            || uf.environment_files.contains_key(&r.path)
        {
            continue;
        }
        if let Some(e) =
            envfile::collect(fs, &r.path, envfile::Keep::ProxyAndDocker, !r.ignore_errors)
        {
            uf.environment_files.insert(r.path.clone(), e);
        }
    }
}

/// Scan the standard unit directories for [`UNITS`] (system) and the rootless user units.
pub(crate) fn collect_units(
    fs: &mut Fs,
    opts: &LocalOptions,
) -> (BTreeMap<String, UnitFiles>, BTreeMap<String, UnitFiles>) {
    let sys_dirs: Vec<String> = SYSTEM_UNIT_DIRS.iter().map(|s| (*s).to_string()).collect();
    let mut system = BTreeMap::new();
    for u in UNITS {
        if let Some(uf) = collect_unit(fs, u, &sys_dirs) {
            system.insert((*u).to_string(), uf);
        }
    }
    let home = opts.home_str();
    let user_dirs = vec![
        format!("{}/systemd/user", opts.config_home()),
        "/etc/systemd/user".to_string(),
        format!("{home}/.local/share/systemd/user"),
        "/usr/lib/systemd/user".to_string(),
    ];
    let mut user = BTreeMap::new();
    for u in UNITS {
        if let Some(uf) = collect_unit(fs, u, &user_dirs) {
            user.insert((*u).to_string(), uf);
        }
    }
    (system, user)
}

/// Add the fragment and drop-ins that `systemctl show` named but the scan did not find,
/// then order the drop-ins as `DropInPaths` lists them.
pub(crate) fn add_reported_files(fs: &mut Fs, uf: &mut UnitFiles, show: &SystemctlShow) {
    if uf.fragment.is_none()
        && let Some(fp) = &show.fragment_path
    {
        uf.fragment = read_unit_file(fs, fp);
    }
    let mut added = false;
    for p in &show.drop_in_paths {
        if uf
            .drop_ins
            .iter()
            .any(|d| d.source.path() == Some(p.as_str()))
        {
            continue;
        }
        if let Some(f) = read_unit_file(fs, p) {
            uf.drop_ins.push(f);
            added = true;
        }
    }
    if added {
        let pos = |f: &UnitFile| {
            f.source
                .path()
                .and_then(|p| show.drop_in_paths.iter().position(|x| x == p))
                .unwrap_or(usize::MAX)
        };
        uf.drop_ins.sort_by_key(pos);
        read_referenced_env_files(fs, uf);
    }
}
