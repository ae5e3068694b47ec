//! `/etc/resolv.conf` and the registry-related entries of `/etc/hosts`.
//!
//! `/etc/hosts` is streamed line by line and at most [`HOSTS_CAP`] bytes are scanned (ad
//! blockers ship files of 100 MB); only entries naming a registry-ish host are kept.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use super::fsread::Fs;
use super::{EnvEvidence, FILE_CAP, FilesEvidence, HOSTS_CAP, NoteKind, Source, host_of, systemd};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResolvConf {
    pub source: Source,
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub domain: Option<String>,
    pub options: Vec<String>,
}

/// Parse resolv.conf (`#` and `;` comments; the last `search`/`domain` wins, as in glibc).
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut r = ResolvConf::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("").trim();
        let mut it = line.split_whitespace();
        match it.next() {
            Some("nameserver") => r.nameservers.extend(it.next().map(String::from)),
            Some("search") => r.search = it.map(String::from).collect(),
            Some("domain") => r.domain = it.next().map(String::from),
            Some("options") => r.options.extend(it.map(String::from)),
            _ => {}
        }
    }
    r
}

pub(crate) fn collect_resolv(fs: &mut Fs, path: &str) -> Option<ResolvConf> {
    let (text, source) = fs.read_text(path, FILE_CAP, true)?;
    let mut r = parse_resolv_conf(&text);
    r.source = source;
    Some(r)
}

/// One kept `/etc/hosts` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostsEntry {
    pub line: usize,
    pub ip: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EtcHosts {
    pub source: Source,
    /// Entries naming a registry-ish host (at most [`MAX_HOSTS_ENTRIES`]).
    pub entries: Vec<HostsEntry>,
    pub lines_scanned: usize,
    pub bytes_scanned: u64,
    /// Stopped at the byte cap: entries after that point are unknown.
    pub truncated: bool,
}

/// Entries kept from `/etc/hosts`.
pub const MAX_HOSTS_ENTRIES: usize = 200;
/// Longest line considered (longer lines are skipped).
const MAX_LINE: usize = 4096;

/// Domains always of interest: registries, Docker Hub's CDN, and the VM gateway names.
pub const REGISTRY_SUFFIXES: &[&str] = &[
    "docker.io",
    "docker.com",
    "gcr.io",
    "ghcr.io",
    "quay.io",
    "k8s.io",
    "pkg.dev",
    "mcr.microsoft.com",
    "ecr.aws",
    "amazonaws.com",
    "azurecr.io",
    "host.lima.internal",
    "host.docker.internal",
    "gateway.docker.internal",
    "http.docker.internal",
];

/// Whether `name` equals or is a subdomain of one of `hosts`.
pub fn matches_any(name: &str, hosts: &BTreeSet<String>) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if hosts.contains(&name) {
        return true;
    }
    let mut rest = name.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        if hosts.contains(parent) {
            return true;
        }
        rest = parent;
    }
    false
}

/// Stream `/etc/hosts`-format text, keeping entries with a name in `interesting`.
/// Reads at most `cap` bytes.
pub fn scan_hosts<R: Read>(reader: R, cap: u64, interesting: &BTreeSet<String>) -> EtcHosts {
    let mut h = EtcHosts::default();
    let mut r = BufReader::new(reader.take(cap));
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let n = match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        h.bytes_scanned += n as u64;
        if buf.last() != Some(&b'\n') && h.bytes_scanned >= cap {
            // A partial last line at the cap: not a real line.
            h.truncated = true;
            break;
        }
        h.lines_scanned += 1;
        if buf.len() > MAX_LINE || h.entries.len() >= MAX_HOSTS_ENTRIES {
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.split('#').next().unwrap_or("");
        let mut it = line.split_whitespace();
        let Some(ip) = it.next() else { continue };
        let names: Vec<String> = it.map(String::from).collect();
        if names.iter().any(|n| matches_any(n, interesting)) {
            h.entries.push(HostsEntry {
                line: h.lines_scanned,
                ip: ip.to_string(),
                names,
            });
        }
    }
    if h.bytes_scanned >= cap {
        h.truncated = true;
    }
    h
}

pub(crate) fn collect_hosts(
    fs: &mut Fs,
    path: &str,
    interesting: &BTreeSet<String>,
) -> Option<EtcHosts> {
    let (file, _, source) = fs.open(path, true)?;
    let mut h = scan_hosts(file, HOSTS_CAP, interesting);
    if h.truncated {
        fs.note_kind(
            path,
            NoteKind::Truncated,
            format!("scanned the first {} bytes", h.bytes_scanned),
        );
    }
    h.source = source;
    Some(h)
}

/// The host names whose `/etc/hosts` entries matter: [`REGISTRY_SUFFIXES`] plus every
/// registry, mirror and proxy host the configuration mentions.
pub(crate) fn interesting_hosts(
    env: &EnvEvidence,
    files: &FilesEvidence,
    units: &BTreeMap<String, systemd::UnitFiles>,
) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = REGISTRY_SUFFIXES.iter().map(|s| (*s).to_string()).collect();
    let mut add = |v: &str| {
        if let Some(h) = host_of(v)
            && h.parse::<std::net::IpAddr>().is_err()
            && h.contains('.')
        {
            set.insert(h);
        }
    };
    for (k, v) in &env.vars {
        if k.to_ascii_lowercase().ends_with("_proxy") && !k.eq_ignore_ascii_case("no_proxy") {
            add(v);
        }
    }
    for dj in files.daemon_json.iter().chain(&files.rootless_daemon_json) {
        dj.registry_mirrors
            .iter()
            .chain(&dj.insecure_registries)
            .for_each(|m| add(m));
        if let Some(p) = &dj.proxies {
            p.http_proxy
                .iter()
                .chain(&p.https_proxy)
                .for_each(|m| add(m));
        }
    }
    if let Some(dc) = &files.docker_config {
        dc.auths_registries
            .iter()
            .chain(&dc.cred_helpers)
            .for_each(|m| add(m));
    }
    if let Some(c) = &files.containerd_config {
        for (host, eps) in &c.mirrors {
            add(host);
            eps.iter().for_each(|m| add(m));
        }
    }
    for h in files.hosts_toml.values() {
        add(&h.namespace);
        h.server.iter().for_each(|m| add(m));
        h.hosts.iter().for_each(|x| add(&x.url));
    }
    for c in files.certs_dirs.values() {
        add(&c.registry);
    }
    for b in files.buildkitd.values() {
        for (host, r) in &b.registries {
            add(host);
            r.mirrors.iter().for_each(|m| add(m));
        }
    }
    for c in files.colima.values() {
        for (k, v) in &c.env {
            if k.to_ascii_lowercase().ends_with("_proxy") && !k.eq_ignore_ascii_case("no_proxy") {
                add(v);
            }
        }
    }
    for u in units.values() {
        for (k, v) in u.configured_env() {
            if k.to_ascii_lowercase().ends_with("_proxy") && !k.eq_ignore_ascii_case("no_proxy") {
                add(&v);
            }
        }
    }
    set
}
