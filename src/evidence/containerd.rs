//! containerd, registry host directories and BuildKit configuration:
//! `/etc/containerd/config.toml`, `certs.d/*/hosts.toml`, `/etc/docker/certs.d/*/`,
//! `buildkitd.toml`, `/etc/crictl.yaml`.
//!
//! CRI registry settings live under `plugins."io.containerd.grpc.v1.cri".registry`
//! (containerd 1.x, config `version = 2`), `plugins."io.containerd.cri.v1.images".registry`
//! (containerd 2.x, `version = 3`) or `plugins.cri.registry` (config version 1). Only the
//! registry names of `registry.configs` are kept: they may hold `auth` credentials.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use super::fsread::{Fs, Kind};
use super::{FILE_CAP, LocalOptions, Source};

/// A TOML parse error, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TomlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

fn toml_error(text: &str, e: &toml::de::Error) -> TomlError {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        }
        None => (0, 0),
    };
    TomlError {
        message: e.message().trim().to_string(),
        line,
        column,
    }
}

/// `/etc/containerd/config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContainerdConfig {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TomlError>,
    /// `version` (1 when absent: containerd's default for old files).
    pub version: Option<i64>,
    /// The table the CRI registry settings were found in, e.g.
    /// `plugins."io.containerd.grpc.v1.cri".registry`.
    pub cri_registry_table: Option<String>,
    /// `config_path` (hosts directories, `:`-separated).
    pub config_path: Option<String>,
    /// Deprecated `registry.mirrors."host".endpoint` lists, by host.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Registry names under the deprecated `registry.configs` (values never kept).
    pub configs_hosts: Vec<String>,
    /// `disabled_plugins` (Docker's containerd package disables `cri`).
    pub disabled_plugins: Vec<String>,
    /// `imports`.
    pub imports: Vec<String>,
}

impl ContainerdConfig {
    /// Whether the CRI plugin is disabled (`cri` or its full id in `disabled_plugins`).
    pub fn cri_disabled(&self) -> bool {
        self.disabled_plugins.iter().any(|p| {
            p == "cri" || p == "io.containerd.grpc.v1.cri" || p.starts_with("io.containerd.cri.v1")
        })
    }
}

fn get_path<'a>(t: &'a Table, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = t.get(*first)?;
    for p in rest {
        v = v.as_table()?.get(*p)?;
    }
    Some(v)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .flat_map(|x| match x {
                Value::String(s) => vec![s.clone()],
                Value::Array(inner) => inner
                    .iter()
                    .filter_map(|y| y.as_str().map(String::from))
                    .collect(),
                _ => vec![],
            })
            .collect(),
        _ => vec![],
    }
}

/// Parse containerd's config.toml.
pub fn parse_containerd_config(text: &str) -> ContainerdConfig {
    let mut c = ContainerdConfig::default();
    let t: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            c.error = Some(toml_error(text, &e));
            return c;
        }
    };
    c.version = Some(t.get("version").and_then(Value::as_integer).unwrap_or(1));
    c.disabled_plugins = strings(t.get("disabled_plugins"));
    c.imports = strings(t.get("imports"));
    let candidates: [(&[&str], &str); 3] = [
        (
            &["plugins", "io.containerd.cri.v1.images", "registry"],
            "plugins.\"io.containerd.cri.v1.images\".registry",
        ),
        (
            &["plugins", "io.containerd.grpc.v1.cri", "registry"],
            "plugins.\"io.containerd.grpc.v1.cri\".registry",
        ),
        (&["plugins", "cri", "registry"], "plugins.cri.registry"),
    ];
    for (path, name) in candidates {
        let Some(Value::Table(reg)) = get_path(&t, path) else {
            continue;
        };
        c.cri_registry_table = Some(name.to_string());
        c.config_path = reg
            .get("config_path")
            .and_then(Value::as_str)
            .map(String::from);
        if let Some(Value::Table(m)) = reg.get("mirrors") {
            for (host, v) in m {
                c.mirrors.insert(
                    host.clone(),
                    strings(v.as_table().and_then(|x| x.get("endpoint"))),
                );
            }
        }
        if let Some(Value::Table(cf)) = reg.get("configs") {
            c.configs_hosts = cf.keys().cloned().collect();
        }
        break;
    }
    c
}

/// One `[host."…"]` of a hosts.toml, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostsTomlHost {
    pub url: String,
    /// `capabilities`; absent means containerd's default `["pull", "resolve", "push"]`.
    pub capabilities: Option<Vec<String>>,
    pub skip_verify: Option<bool>,
    pub ca: Vec<String>,
    pub client: Vec<String>,
    pub override_path: Option<bool>,
    /// Header names only (values may be tokens).
    pub header_names: Vec<String>,
}

/// A `hosts.toml` (containerd's registry host configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostsToml {
    pub source: Source,
    /// The registry namespace: the directory name (`docker.io`, `_default`, `host:5000`).
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TomlError>,
    /// `server` (the upstream, tried after every host).
    pub server: Option<String>,
    /// Top-level `capabilities`/`skip_verify`/`ca` apply to `server`.
    pub server_skip_verify: Option<bool>,
    pub server_ca: Vec<String>,
    /// `[host."…"]` entries in the order containerd tries them.
    pub hosts: Vec<HostsTomlHost>,
}

fn host_entry(url: &str, t: &Table) -> HostsTomlHost {
    HostsTomlHost {
        url: url.to_string(),
        capabilities: t.get("capabilities").map(|v| strings(Some(v))),
        skip_verify: t.get("skip_verify").and_then(Value::as_bool),
        ca: strings(t.get("ca")),
        client: strings(t.get("client")),
        override_path: t.get("override_path").and_then(Value::as_bool),
        header_names: t
            .get("header")
            .and_then(Value::as_table)
            .map(|h| h.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

/// Parse a hosts.toml. Host order is taken from the `[host."…"]` headers in the text
/// (the TOML table itself is unordered).
pub fn parse_hosts_toml(text: &str) -> HostsToml {
    let mut h = HostsToml::default();
    let t: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            h.error = Some(toml_error(text, &e));
            return h;
        }
    };
    h.server = t.get("server").and_then(Value::as_str).map(String::from);
    h.server_skip_verify = t.get("skip_verify").and_then(Value::as_bool);
    h.server_ca = strings(t.get("ca"));
    let Some(Value::Table(hosts)) = t.get("host") else {
        return h;
    };
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?m)^\s*\[\s*host\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]"#,
        )
        .expect("static regex")
    });
    let re = &*RE;
    let mut order: Vec<String> = Vec::new();
    for cap in re.captures_iter(text) {
        let k = cap
            .get(1)
            .or(cap.get(2))
            .or(cap.get(3))
            .map(|m| m.as_str().replace("\\\"", "\""))
            .unwrap_or_default();
        if hosts.contains_key(&k) && !order.contains(&k) {
            order.push(k);
        }
    }
    for k in hosts.keys() {
        if !order.contains(k) {
            order.push(k.clone());
        }
    }
    for k in order {
        if let Some(Value::Table(e)) = hosts.get(&k) {
            h.hosts.push(host_entry(&k, e));
        }
    }
    h
}

/// A certificate directory `<certs.d>/<host>/` (file names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CertsDir {
    pub source: Source,
    /// The directory name: the registry `host[:port]`.
    pub registry: String,
    /// `*.crt` — CA roots added to the system pool.
    pub ca_certs: Vec<String>,
    /// `*.cert` — client certificates (each needs a matching `.key`).
    pub client_certs: Vec<String>,
    /// `*.key`.
    pub client_keys: Vec<String>,
    pub has_hosts_toml: bool,
    /// Other entries (e.g. a `ca.pem` that Docker ignores).
    pub other: Vec<String>,
}

/// Scan `/etc/docker/certs.d`, `/etc/containerd/certs.d` and the rootless
/// `~/.config/docker/certs.d`: list each registry directory and parse its hosts.toml.
pub(crate) fn collect_certs_dirs(
    fs: &mut Fs,
    opts: &LocalOptions,
    certs: &mut BTreeMap<String, CertsDir>,
    hosts: &mut BTreeMap<String, HostsToml>,
) {
    let bases = [
        "/etc/docker/certs.d".to_string(),
        "/etc/containerd/certs.d".to_string(),
        format!("{}/docker/certs.d", opts.config_home()),
    ];
    for base in bases {
        let Some((entries, _)) = fs.list_dir(&base, false) else {
            continue;
        };
        for (name, kind) in entries {
            if kind != Kind::Dir {
                continue;
            }
            let dir = format!("{base}/{name}");
            let Some((files, source)) = fs.list_dir(&dir, false) else {
                continue;
            };
            let mut cd = CertsDir {
                source,
                registry: name.clone(),
                ..Default::default()
            };
            for (f, _) in files {
                if f.ends_with(".crt") {
                    cd.ca_certs.push(f);
                } else if f.ends_with(".cert") {
                    cd.client_certs.push(f);
                } else if f.ends_with(".key") {
                    cd.client_keys.push(f);
                } else if f == "hosts.toml" {
                    cd.has_hosts_toml = true;
                } else {
                    cd.other.push(f);
                }
            }
            if cd.has_hosts_toml {
                let p = format!("{dir}/hosts.toml");
                if let Some((text, source)) = fs.read_text(&p, FILE_CAP, true) {
                    let mut h = parse_hosts_toml(&text);
                    h.source = source;
                    h.namespace = name.clone();
                    hosts.insert(p, h);
                }
            }
            certs.insert(dir, cd);
        }
    }
}

pub(crate) fn collect_config(fs: &mut Fs, path: &str) -> Option<ContainerdConfig> {
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    let mut c = parse_containerd_config(&text);
    c.source = source;
    Some(c)
}

/// `[registry."host"]` of buildkitd.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BuildkitRegistry {
    pub mirrors: Vec<String>,
    pub http: Option<bool>,
    pub insecure: Option<bool>,
    pub ca: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BuildkitConfig {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TomlError>,
    pub registries: BTreeMap<String, BuildkitRegistry>,
}

/// Parse buildkitd.toml's `[registry."…"]` tables.
pub fn parse_buildkitd_toml(text: &str) -> BuildkitConfig {
    let mut b = BuildkitConfig::default();
    let t: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            b.error = Some(toml_error(text, &e));
            return b;
        }
    };
    if let Some(Value::Table(regs)) = t.get("registry") {
        for (host, v) in regs {
            let Some(r) = v.as_table() else { continue };
            b.registries.insert(
                host.clone(),
                BuildkitRegistry {
                    mirrors: strings(r.get("mirrors")),
                    http: r.get("http").and_then(Value::as_bool),
                    insecure: r.get("insecure").and_then(Value::as_bool),
                    ca: strings(r.get("ca")),
                },
            );
        }
    }
    b
}

pub(crate) fn collect_buildkitd(fs: &mut Fs, path: &str) -> Option<BuildkitConfig> {
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    let mut b = parse_buildkitd_toml(&text);
    b.source = source;
    Some(b)
}

/// `/etc/crictl.yaml` (flat `key: value` YAML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CrictlYaml {
    pub source: Source,
    pub runtime_endpoint: Option<String>,
    pub image_endpoint: Option<String>,
    pub timeout: Option<String>,
}

/// Parse crictl.yaml's top-level scalars.
pub fn parse_crictl_yaml(text: &str) -> CrictlYaml {
    let mut c = CrictlYaml::default();
    for line in text.lines() {
        if line.starts_with([' ', '\t', '#']) {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = super::colima::yaml_scalar(v);
        let v = (!v.is_empty()).then_some(v);
        match k.trim() {
            "runtime-endpoint" => c.runtime_endpoint = v,
            "image-endpoint" => c.image_endpoint = v,
            "timeout" => c.timeout = v,
            _ => {}
        }
    }
    c
}

pub(crate) fn collect_crictl_yaml(fs: &mut Fs, path: &str) -> Option<CrictlYaml> {
    let (text, source) = fs.read_text(path, FILE_CAP, false)?;
    let mut c = parse_crictl_yaml(&text);
    c.source = source;
    Some(c)
}
