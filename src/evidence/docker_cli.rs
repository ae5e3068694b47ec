//! Parsers for external command output: `docker info|version|context ls` (JSON),
//! `colima status`, `nerdctl version`, `ctr version`, `crictl info`, `wslinfo`.
//!
//! `docker info --format '{{json .}}'` prints the server's `system.Info` at the top level
//! next to `ClientInfo`, `ServerErrors` and `ClientErrors` (docker/cli
//! `cli/command/system/info.go`). When the daemon is unreachable the server fields are
//! zero values and `ServerErrors` holds the reason. Field names follow moby
//! `api/types/system/info.go` (`HttpProxy`, `HttpsProxy`, `NoProxy`, `RegistryConfig`, …).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `RegistryConfig.IndexConfigs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IndexConfig {
    pub mirrors: Vec<String>,
    pub secure: bool,
    pub official: bool,
}

/// The parts of `docker info` pulldoctor uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DockerInfo {
    /// The daemon answered (`ServerVersion` set and no `ServerErrors`).
    pub server_reachable: bool,
    pub server_errors: Vec<String>,
    pub client_errors: Vec<String>,
    pub server_version: Option<String>,
    pub operating_system: Option<String>,
    pub os_type: Option<String>,
    pub kernel_version: Option<String>,
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_status: Vec<(String, String)>,
    /// The containerd image store is in use (`DriverStatus` has
    /// `["driver-type", "io.containerd.snapshotter.v1"]`).
    pub containerd_snapshotter: bool,
    /// As reported (credentials already masked by dockerd as `xxxxx:xxxxx`).
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    /// `RegistryConfig.Mirrors` (normalized by dockerd with a trailing `/`).
    pub registry_mirrors: Vec<String>,
    pub insecure_registry_cidrs: Vec<String>,
    pub index_configs: BTreeMap<String, IndexConfig>,
    pub live_restore: Option<bool>,
    pub labels: Vec<String>,
    pub security_options: Vec<String>,
    /// `SecurityOptions` has `name=rootless`.
    pub rootless: bool,
    pub docker_root_dir: Option<String>,
    /// `Containerd.Address` (Docker 25+).
    pub containerd_address: Option<String>,
    pub warnings: Vec<String>,
    /// `ClientInfo.Context`.
    pub client_context: Option<String>,
    /// `ClientInfo.Version` (absent before Docker 23's CLI).
    pub client_version: Option<String>,
}

fn s(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(String::from)
}

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                // Very old daemons marshalled CIDRs as {"IP": "...", "Mask": "..."}.
                Value::Object(o) => s(o.get("IP")).map(|ip| match s(o.get("Mask")) {
                    Some(m) => format!("{ip}/{m}"),
                    None => ip,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Parse `docker info --format '{{json .}}'`.
pub fn parse_docker_info(text: &str) -> Result<DockerInfo, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(o) = v else {
        return Err("not a JSON object".into());
    };
    let mut i = DockerInfo {
        server_errors: strs(o.get("ServerErrors")),
        client_errors: strs(o.get("ClientErrors")),
        server_version: s(o.get("ServerVersion")),
        operating_system: s(o.get("OperatingSystem")),
        os_type: s(o.get("OSType")),
        kernel_version: s(o.get("KernelVersion")),
        architecture: s(o.get("Architecture")),
        name: s(o.get("Name")),
        driver: s(o.get("Driver")),
        http_proxy: s(o.get("HttpProxy")),
        https_proxy: s(o.get("HttpsProxy")),
        no_proxy: s(o.get("NoProxy")),
        live_restore: o.get("LiveRestoreEnabled").and_then(Value::as_bool),
        labels: strs(o.get("Labels")),
        security_options: strs(o.get("SecurityOptions")),
        docker_root_dir: s(o.get("DockerRootDir")),
        warnings: strs(o.get("Warnings")),
        ..Default::default()
    };
    if let Some(Value::Array(ds)) = o.get("DriverStatus") {
        for pair in ds {
            if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
                i.driver_status.push((
                    k.as_str().unwrap_or("").to_string(),
                    v.as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    i.containerd_snapshotter = i
        .driver_status
        .iter()
        .any(|(k, v)| k == "driver-type" && v == "io.containerd.snapshotter.v1");
    if let Some(Value::Object(rc)) = o.get("RegistryConfig") {
        i.registry_mirrors = strs(rc.get("Mirrors"));
        i.insecure_registry_cidrs = strs(rc.get("InsecureRegistryCIDRs"));
        if let Some(Value::Object(ic)) = rc.get("IndexConfigs") {
            for (name, c) in ic {
                i.index_configs.insert(
                    name.clone(),
                    IndexConfig {
                        mirrors: strs(c.get("Mirrors")),
                        secure: c.get("Secure").and_then(Value::as_bool).unwrap_or(false),
                        official: c.get("Official").and_then(Value::as_bool).unwrap_or(false),
                    },
                );
            }
        }
    }
    i.rootless = i
        .security_options
        .iter()
        .any(|x| x.split(',').any(|p| p == "name=rootless"));
    if let Some(Value::Object(c)) = o.get("Containerd") {
        i.containerd_address = s(c.get("Address"));
    }
    if let Some(Value::Object(c)) = o.get("ClientInfo") {
        i.client_context = s(c.get("Context"));
        i.client_version = s(c.get("Version"));
    }
    i.server_reachable = i.server_errors.is_empty() && i.server_version.is_some();
    Ok(i)
}

/// Docker Desktop, from `docker info`: `OperatingSystem: Docker Desktop`,
/// `Name: docker-desktop`, or a `com.docker.desktop.address` label. On Desktop the
/// reported proxy is Desktop's internal `http.docker.internal:3128`, not a misconfiguration.
pub fn is_docker_desktop(info: &DockerInfo) -> bool {
    info.operating_system.as_deref() == Some("Docker Desktop")
        || info.name.as_deref() == Some("docker-desktop")
        || info
            .labels
            .iter()
            .any(|l| l.starts_with("com.docker.desktop.address="))
}

/// The parts of `docker version --format '{{json .}}'` pulldoctor uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DockerVersion {
    pub client_version: Option<String>,
    pub client_api_version: Option<String>,
    pub client_context: Option<String>,
    /// `Server` was null or absent: the daemon did not answer.
    pub server_present: bool,
    pub server_version: Option<String>,
    pub server_api_version: Option<String>,
    /// `Server.Platform.Name`, e.g. `Docker Engine - Community` or `Docker Desktop 4.37.1`.
    pub server_platform: Option<String>,
    /// `Server.Components[].Name` → `Version` (`Engine`, `containerd`, `runc`, `docker-init`).
    pub components: BTreeMap<String, String>,
}

pub fn parse_docker_version(text: &str) -> Result<DockerVersion, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(o) = v else {
        return Err("not a JSON object".into());
    };
    let mut d = DockerVersion::default();
    if let Some(Value::Object(c)) = o.get("Client") {
        d.client_version = s(c.get("Version"));
        d.client_api_version = s(c.get("ApiVersion"));
        d.client_context = s(c.get("Context"));
    }
    if let Some(Value::Object(sv)) = o.get("Server") {
        d.server_present = true;
        d.server_version = s(sv.get("Version"));
        d.server_api_version = s(sv.get("ApiVersion"));
        d.server_platform = sv.get("Platform").and_then(|p| s(p.get("Name")));
        if let Some(Value::Array(cs)) = sv.get("Components") {
            for c in cs {
                if let (Some(n), Some(v)) = (s(c.get("Name")), s(c.get("Version"))) {
                    d.components.insert(n, v);
                }
            }
        }
    }
    Ok(d)
}

/// One line of `docker context ls --format '{{json .}}'`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DockerContext {
    pub name: String,
    pub current: bool,
    pub docker_endpoint: Option<String>,
    pub description: Option<String>,
    pub error: Option<String>,
}

/// Parse `docker context ls --format '{{json .}}'`: one JSON object per line (a JSON array
/// is accepted too).
pub fn parse_docker_context_ls(text: &str) -> Result<Vec<DockerContext>, String> {
    let one = |v: &Value| -> Option<DockerContext> {
        let o = v.as_object()?;
        Some(DockerContext {
            name: s(o.get("Name"))?,
            current: o.get("Current").and_then(Value::as_bool).unwrap_or(false),
            docker_endpoint: s(o.get("DockerEndpoint")),
            description: s(o.get("Description")),
            error: s(o.get("Error")),
        })
    };
    let t = text.trim();
    if t.starts_with('[') {
        let v: Value = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
        return Ok(v
            .as_array()
            .map(|a| a.iter().filter_map(one).collect())
            .unwrap_or_default());
    }
    let mut out = Vec::new();
    for line in t.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        out.push(one(&v).ok_or("context entry without Name")?);
    }
    if out.is_empty() {
        return Err("no contexts listed".into());
    }
    Ok(out)
}

/// `colima status` (text; colima logs to stderr, so pass stdout and stderr together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ColimaStatus {
    pub running: Option<bool>,
    /// `key: value` facts such as `arch`, `runtime`, `socket`, `mountType`, `address`.
    pub facts: BTreeMap<String, String>,
    pub messages: Vec<String>,
}

/// Extract logrus messages: `INFO[0000] text` or `time="…" level=info msg="text"`.
fn log_message(line: &str) -> String {
    let l = line.trim();
    if let Some(i) = l.find(" msg=\"") {
        let rest = &l[i + 6..];
        let mut out = String::new();
        let mut it = rest.chars();
        while let Some(c) = it.next() {
            match c {
                '"' => break,
                '\\' => out.extend(it.next()),
                _ => out.push(c),
            }
        }
        return out;
    }
    if let Some(i) = l.find("] ")
        && l[..i].contains('[')
        && l[..i]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
    {
        return l[i + 2..].trim().to_string();
    }
    l.to_string()
}

pub fn parse_colima_status(text: &str) -> ColimaStatus {
    let mut st = ColimaStatus::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let m = log_message(line);
        let lower = m.to_ascii_lowercase();
        if lower.contains("is not running") || lower.contains("not running") {
            st.running = Some(false);
        } else if lower.contains("is running") {
            st.running = Some(true);
        }
        if let Some((k, v)) = m.split_once(": ")
            && !k.contains(' ')
            && !k.is_empty()
        {
            st.facts.insert(k.to_string(), v.trim().to_string());
        }
        st.messages.push(m);
    }
    st.messages.truncate(20);
    st
}

/// `nerdctl version` / `ctr version`: client and containerd versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClientServerVersion {
    pub client_version: Option<String>,
    /// containerd's version as the server reports it.
    pub containerd_version: Option<String>,
    /// Other components (`buildctl`, `runc`, …) → version.
    pub components: BTreeMap<String, String>,
}

/// Parse `nerdctl version --format '{{json .}}'`, or the plain text form.
pub fn parse_nerdctl_version(text: &str) -> Result<ClientServerVersion, String> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
        let mut out = ClientServerVersion::default();
        if let Some(c) = v.get("Client") {
            out.client_version = s(c.get("Version"));
            if let Some(Value::Array(cs)) = c.get("Components") {
                for x in cs {
                    if let (Some(n), Some(ver)) = (s(x.get("Name")), s(x.get("Version"))) {
                        out.components.insert(n, ver);
                    }
                }
            }
        }
        if let Some(Value::Array(cs)) = v.get("Server").and_then(|sv| sv.get("Components")) {
            for x in cs {
                if let (Some(n), Some(ver)) = (s(x.get("Name")), s(x.get("Version"))) {
                    if n == "containerd" {
                        out.containerd_version = Some(ver);
                    } else {
                        out.components.insert(n, ver);
                    }
                }
            }
        }
        return Ok(out);
    }
    parse_version_text(t)
}

/// Parse the text layout shared by `ctr version` and `nerdctl version`:
/// `Client:` / `Server:` sections with `Version:` lines, nested component headers.
pub fn parse_version_text(text: &str) -> Result<ClientServerVersion, String> {
    let mut out = ClientServerVersion::default();
    let mut section = "";
    let mut component: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            section = if t.starts_with("Client") {
                "client"
            } else if t.starts_with("Server") {
                "server"
            } else {
                ""
            };
            component = None;
            continue;
        }
        if let Some(name) = t.strip_suffix(':') {
            component = Some(name.to_string());
            continue;
        }
        let Some((k, v)) = t.split_once(':') else {
            continue;
        };
        if k.trim() != "Version" {
            continue;
        }
        let v = v.trim().to_string();
        match (section, component.as_deref()) {
            ("client", None) => out.client_version = Some(v),
            ("server", None) | ("server", Some("containerd")) => out.containerd_version = Some(v),
            (_, Some(c)) => {
                out.components.insert(c.to_string(), v);
            }
            _ => {}
        }
    }
    if out.client_version.is_none() && out.containerd_version.is_none() {
        return Err("no Version line found".into());
    }
    Ok(out)
}

/// The parts of `crictl info` pulldoctor uses (registry auth sections are never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CrictlInfo {
    /// `registry.configPath` wherever it appears under `config`.
    pub config_path: Option<String>,
    /// Deprecated `registry.mirrors` host → endpoints.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// `status.conditions`: type → (status, reason).
    pub conditions: BTreeMap<String, (bool, String)>,
}

fn find_registry(v: &Value, depth: usize) -> Option<&serde_json::Map<String, Value>> {
    if depth > 6 {
        return None;
    }
    let o = v.as_object()?;
    if let Some(Value::Object(r)) = o.get("registry") {
        return Some(r);
    }
    o.values().find_map(|x| find_registry(x, depth + 1))
}

pub fn parse_crictl_info(text: &str) -> Result<CrictlInfo, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| format!("not JSON: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let mut c = CrictlInfo::default();
    if let Some(r) = v.get("config").and_then(|x| find_registry(x, 0)) {
        c.config_path = s(r.get("configPath")).or_else(|| s(r.get("config_path")));
        if let Some(Value::Object(m)) = r.get("mirrors") {
            for (host, e) in m {
                c.mirrors.insert(
                    host.clone(),
                    strs(e.get("endpoint").or_else(|| e.get("Endpoint"))),
                );
            }
        }
    }
    if let Some(Value::Array(conds)) = v.get("status").and_then(|s| s.get("conditions")) {
        for x in conds {
            if let Some(t) = s(x.get("type")) {
                c.conditions.insert(
                    t,
                    (
                        x.get("status").and_then(Value::as_bool).unwrap_or(false),
                        s(x.get("reason")).unwrap_or_default(),
                    ),
                );
            }
        }
    }
    Ok(c)
}

/// `wslinfo --networking-mode` → `nat`, `mirrored`, `virtioproxy`, `none`.
pub fn parse_wslinfo(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() || t.contains(' ') {
        return Err("unexpected output".into());
    }
    Ok(t)
}
