//! Colima's `colima.yaml` (`env:` mapping, hand-parsed: no YAML crate) and INI files
//! (`/etc/wsl.conf`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fsread::{Fs, Kind};
use super::{FILE_CAP, LocalOptions, Source};

/// One Colima profile's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ColimaConfig {
    pub source: Source,
    /// `env:` — "Environment variables for the virtual machine"; proxies here reach the
    /// VM (loopback hosts rewritten to the host's address) and Colima's daemon.json.
    pub env: BTreeMap<String, String>,
    /// `runtime:` (docker, containerd, incus).
    pub runtime: Option<String>,
    /// Lines of the `env:` block that could not be read as `KEY: value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Strip quotes and a trailing comment from a YAML scalar.
pub fn yaml_scalar(v: &str) -> String {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut it = rest.chars();
        while let Some(c) = it.next() {
            match c {
                '"' => break,
                '\\' => match it.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(o) => out.push(o),
                    None => {}
                },
                _ => out.push(c),
            }
        }
        return out;
    }
    if let Some(rest) = v.strip_prefix('\'') {
        // '' is an escaped quote inside single quotes.
        let mut out = String::new();
        let mut it = rest.chars().peekable();
        while let Some(c) = it.next() {
            if c == '\'' {
                if it.peek() == Some(&'\'') {
                    out.push('\'');
                    it.next();
                    continue;
                }
                break;
            }
            out.push(c);
        }
        return out;
    }
    let v = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    let v = v.trim();
    if v == "~" || v == "null" {
        String::new()
    } else {
        v.to_string()
    }
}

/// Parse a flow mapping `{ A: b, C: "d" }`.
fn parse_flow_map(s: &str, out: &mut BTreeMap<String, String>, warnings: &mut Vec<String>) {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    for part in split_flow(inner) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once(':') {
            Some((k, v)) => {
                out.insert(yaml_scalar(k), yaml_scalar(v));
            }
            None => warnings.push(part.to_string()),
        }
    }
}

/// Split on commas outside quotes.
fn split_flow(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut q: Option<char> = None;
    for c in s.chars() {
        match (q, c) {
            (None, '"') | (None, '\'') => {
                q = Some(c);
                cur.push(c);
            }
            (Some(x), _) if c == x => {
                q = None;
                cur.push(c);
            }
            (None, ',') => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// Parse the `env:` mapping and `runtime:` of a colima.yaml.
pub fn parse_colima_yaml(text: &str) -> ColimaConfig {
    let mut c = ColimaConfig::default();
    let mut in_env = false;
    let mut env_indent: Option<usize> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            in_env = false;
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key.trim() {
                "env" => {
                    let v = value.trim();
                    let v = if v.starts_with('{') {
                        v
                    } else {
                        v.split(" #").next().unwrap_or("").trim()
                    };
                    if v.starts_with('{') {
                        parse_flow_map(v, &mut c.env, &mut c.warnings);
                    } else if v.is_empty() {
                        in_env = true;
                        env_indent = None;
                    }
                }
                "runtime" => c.runtime = Some(yaml_scalar(value)).filter(|s| !s.is_empty()),
                _ => {}
            }
            continue;
        }
        if !in_env {
            continue;
        }
        // Keys of the env mapping share the first entry's indentation.
        let ind = *env_indent.get_or_insert(indent);
        if indent != ind {
            c.warnings.push(trimmed.to_string());
            continue;
        }
        match trimmed.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                c.env.insert(yaml_scalar(k), yaml_scalar(v));
            }
            _ => c.warnings.push(trimmed.to_string()),
        }
    }
    c
}

/// Every profile under `$COLIMA_HOME` (default `~/.colima`) that has a `colima.yaml`.
pub(crate) fn collect(fs: &mut Fs, opts: &LocalOptions) -> BTreeMap<String, ColimaConfig> {
    let base = match opts.var("COLIMA_HOME") {
        Some(d) if d.starts_with('/') => d.trim_end_matches('/').to_string(),
        _ => format!("{}/.colima", opts.home_str()),
    };
    let mut out = BTreeMap::new();
    let Some((entries, _)) = fs.list_dir(&base, false) else {
        return out;
    };
    for (name, kind) in entries {
        if kind != Kind::Dir || name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let path = format!("{base}/{name}/colima.yaml");
        if let Some((text, source)) = fs.read_text(&path, FILE_CAP, false) {
            let mut c = parse_colima_yaml(&text);
            c.source = source;
            out.insert(name, c);
        }
    }
    out
}

/// An INI file: sections → key → value (keys as written; later duplicates win).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IniFile {
    pub source: Source,
    pub sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl IniFile {
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(String::as_str)
    }
}

/// Parse an INI file (`#`/`;` comments, `key = value`, quotes stripped).
pub fn parse_ini(text: &str) -> IniFile {
    let mut ini = IniFile::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string();
            ini.sections
                .entry(section.clone())
                .or_default()
                .insert(k.trim().to_string(), v);
        }
    }
    ini
}

pub(crate) fn collect_ini(fs: &mut Fs, path: &str) -> Option<IniFile> {
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    let mut ini = parse_ini(&text);
    ini.source = source;
    Some(ini)
}
