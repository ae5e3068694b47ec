//! Shell-style environment files: `/etc/default/docker`, `/etc/sysconfig/docker`,
//! `/etc/environment` and files named by `EnvironmentFile=`.
//!
//! Only assignments whose name mentions `proxy` (any case), and for Docker's files those
//! starting with `DOCKER`, are kept: these files can hold unrelated secrets. Commented-out
//! assignments are kept too, flagged, because the stock `/etc/default/docker` ships
//! `#export http_proxy="http://127.0.0.1:3128/"` and users edit the wrong line.

use serde::{Deserialize, Serialize};

use super::fsread::Fs;
use super::{FILE_CAP, Source};

/// One `NAME=value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvAssignment {
    pub line: usize,
    pub name: String,
    /// Value after shell-style unquoting.
    pub value: String,
    /// Written as `export NAME=…`. systemd's `EnvironmentFile=` does not understand
    /// `export` (the line is rejected); pam_env neither.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exported: bool,
    /// The line is commented out (`#NAME=…` / `# export NAME=…`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commented: bool,
}

/// A parsed environment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvFile {
    pub source: Source,
    pub vars: Vec<EnvAssignment>,
    /// The file starts with Docker's `# THIS FILE DOES NOT APPLY TO SYSTEMD` banner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_for_systemd_banner: bool,
    /// Lima's `#LIMA-START` … `#LIMA-END` block is present (a Lima/Colima guest).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lima_block: bool,
}

impl EnvFile {
    /// The active (not commented) value of `name`, last assignment wins.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|a| !a.commented && a.name == name)
            .map(|a| a.value.as_str())
    }
}

/// Which assignments to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Names containing `proxy` (any case).
    Proxy,
    /// Proxy names and names starting with `DOCKER`.
    ProxyAndDocker,
}

impl Keep {
    fn wants(self, name: &str) -> bool {
        let l = name.to_ascii_lowercase();
        l.contains("proxy") || (self == Keep::ProxyAndDocker && l.starts_with("docker"))
    }
}

/// Parse an environment file.
pub fn parse_env_file(text: &str, keep: Keep) -> EnvFile {
    let mut ef = EnvFile::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.contains("THIS FILE DOES NOT APPLY TO SYSTEMD") {
            ef.not_for_systemd_banner = true;
        }
        if line.starts_with("#LIMA-START") {
            ef.lima_block = true;
        }
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, line),
        };
        let (exported, body) = match body
            .strip_prefix("export ")
            .or_else(|| body.strip_prefix("export\t"))
        {
            Some(rest) => (true, rest.trim_start()),
            None => (false, body),
        };
        let Some((name, value)) = body.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if !keep.wants(name) {
            continue;
        }
        ef.vars.push(EnvAssignment {
            line: i + 1,
            name: name.to_string(),
            value: shell_unquote(value),
            exported,
            commented,
        });
    }
    ef
}

/// Shell-style value: `"…"` (with `\"`, `\\`, `\$`, `` \` `` escapes), `'…'` literal, or
/// bare up to whitespace / ` #`.
pub fn shell_unquote(v: &str) -> String {
    let v = v.trim();
    let mut out = String::new();
    let mut it = v.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = it.next() {
        match (quote, c) {
            (None, '"') | (None, '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (Some('"'), '\\') => match it.peek() {
                Some(&n) if matches!(n, '"' | '\\' | '$' | '`') => {
                    out.push(n);
                    it.next();
                }
                _ => out.push('\\'),
            },
            (None, '\\') => {
                if let Some(n) = it.next() {
                    out.push(n);
                }
            }
            (None, c) if c.is_whitespace() => break,
            (None, '#') if out.is_empty() => break,
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn collect(fs: &mut Fs, path: &str, keep: Keep, note_missing: bool) -> Option<EnvFile> {
    let (text, source) = fs.read_text(path, FILE_CAP, note_missing)?;
    let mut ef = parse_env_file(&text, keep);
    ef.source = source;
    Some(ef)
}
