//! Evidence rules: pure detectors over a machine's [`Evidence`].
//!
//! Each detector is a function `fn(&Evidence) -> Vec<Detection>` for one rule of
//! `rules/evidence.toml` (family 7). A [`Detection`] names the rule, the entities its
//! texts interpolate (the user's own proxy, unit, drop-in, mirror…) and the facts that
//! prove it, each with its provenance (`drop-in /etc/systemd/system/docker.service.d/
//! http-proxy.conf modified 2026-11-22T10:00:00Z after docker.service started
//! 2026-11-22T09:00:00Z`).
//!
//! Which settings a component really reads comes from [`crate::route`] (per component,
//! with provenance) and Go's proxy semantics from [`crate::proxyenv`]; nothing here does
//! I/O. [`crate::check::diagnose`] turns detections into findings.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::check::Evidence;
use crate::evidence::daemon_json::{DaemonJson, JsonStatus};
use crate::evidence::docker_cli::{DockerInfo, is_docker_desktop};
use crate::evidence::platform;
use crate::evidence::procnet::ListenSocket;
use crate::evidence::systemd::{SystemctlShow, UnitFiles};
use crate::evidence::{Source, host_of};
use crate::probe::tls::{TlsProbe, VerdictReason};
use crate::probe::{ErrorClass, Outcome, Role, TargetProbe};
use crate::proxyenv::{self, Decision, DirectReason, GoSemantics};
use crate::route::{ComponentEnv, Setting};
use crate::rules::Catalog;

/// One rule that the evidence proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// The rule's slug (`rules/evidence.toml`).
    pub rule: &'static str,
    /// Values for the rule's placeholders.
    pub entities: BTreeMap<String, String>,
    /// The facts that prove it, each naming where it was read.
    pub evidence: Vec<String>,
}

impl Detection {
    fn new(rule: &'static str) -> Detection {
        Detection {
            rule,
            entities: BTreeMap::new(),
            evidence: Vec::new(),
        }
    }

    fn with(mut self, k: &str, v: impl Into<String>) -> Detection {
        self.entities.insert(k.to_string(), v.into());
        self
    }

    fn fact(mut self, f: impl Into<String>) -> Detection {
        let f = f.into();
        if !self.evidence.contains(&f) {
            self.evidence.push(f);
        }
        self
    }

    fn facts(mut self, fs: impl IntoIterator<Item = String>) -> Detection {
        for f in fs {
            self = self.fact(f);
        }
        self
    }
}

/// A detector: one rule, evaluated on the evidence.
pub type Detector = fn(&Evidence) -> Vec<Detection>;

/// Every detector, by the slug of the rule it reports.
pub const DETECTORS: &[(&str, Detector)] = &[
    ("daemon-proxy-missing", daemon_proxy_missing),
    ("client-only-proxy", client_only_proxy),
    ("containerd-proxy-missing", containerd_proxy_missing),
    ("daemon-proxy-not-applied", daemon_proxy_not_applied),
    ("daemon-json-not-applied", daemon_json_not_applied),
    ("colima-env-not-applied", colima_env_not_applied),
    ("no-proxy-bypass", no_proxy_bypass),
    ("no-proxy-bypass-daemon-json", no_proxy_bypass_daemon_json),
    ("all-proxy-only", all_proxy_only),
    ("http-proxy-only", http_proxy_only),
    ("proxy-value-unparsable", proxy_value_unparsable),
    ("default-docker-ignored", default_docker_ignored),
    ("etc-environment-ignored", etc_environment_ignored),
    ("shell-proxy-ignored-by-go", shell_proxy_ignored_by_go),
    ("all-proxy-ignored", all_proxy_ignored),
    ("wsl-nat-loopback-proxy", wsl_nat_loopback_proxy),
    ("lima-loopback-proxy", lima_loopback_proxy),
    ("lima-gateway-refused", lima_gateway_refused),
    ("rootless-loopback-proxy", rootless_loopback_proxy),
    ("build-proxy-loopback", build_proxy_loopback),
    ("proxy-not-listening", proxy_not_listening),
    ("desktop-proxy-settings", desktop_proxy_settings),
    ("dead-mirror-daemon-json", dead_mirror_daemon_json),
    ("dead-mirror-hosts-toml", dead_mirror_hosts_toml),
    ("mirror-url-no-scheme", mirror_url_no_scheme),
    ("mirror-url-with-path", mirror_url_with_path),
    ("mirror-probe-failed", mirror_probe_failed),
    ("mirror-for-other-registry", mirror_for_other_registry),
    (
        "daemon-mirrors-not-for-containerd",
        daemon_mirrors_not_for_containerd,
    ),
    ("dns-resolvers-disagree", dns_resolvers_disagree),
    ("dns-cert-other-domain", dns_cert_other_domain),
    ("etc-hosts-pins-registry", etc_hosts_pins_registry),
    ("tls-inspection-product", tls_inspection_product),
    ("tls-untrusted-issuer", tls_untrusted_issuer),
    ("clock-skew", clock_skew),
    ("hub-quota-exhausted", hub_quota_exhausted),
    ("ipv6-dial-failed", ipv6_dial_failed),
    ("blob-cdn-unreachable", blob_cdn_unreachable),
];

/// Runs every detector. Identical detections (same rule and entities) are merged.
pub fn detect(ev: &Evidence) -> Vec<Detection> {
    let mut out: Vec<Detection> = Vec::new();
    for (_, f) in DETECTORS {
        for d in f(ev) {
            match out
                .iter_mut()
                .find(|o| o.rule == d.rule && o.entities == d.entities)
            {
                Some(o) => {
                    for e in d.evidence {
                        if !o.evidence.contains(&e) {
                            o.evidence.push(e);
                        }
                    }
                }
                None => out.push(d),
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Facts shared by the detectors.

/// Docker Hub's hosts a pull contacts: registry, token service, blob CDNs.
pub const HUB_HOSTS: &[&str] = &[
    "registry-1.docker.io",
    "auth.docker.io",
    "production.cloudflare.docker.com",
    "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
];

/// Public registries: an answer in a private range for one of these is not the real one.
const PUBLIC_REGISTRY_SUFFIXES: &[&str] = &[
    "docker.io",
    "docker.com",
    "gcr.io",
    "ghcr.io",
    "quay.io",
    "registry.k8s.io",
    "k8s.gcr.io",
    "mcr.microsoft.com",
    "pkg.dev",
    "public.ecr.aws",
];

/// How far the registry's clock may be from ours before TLS and tokens suffer.
pub const CLOCK_SKEW_LIMIT_SECS: i64 = 300;

/// Docker version from which rootless dockerd runs in the host network namespace
/// (`--detach-netns` by default), so a host proxy on 127.0.0.1 works.
const ROOTLESS_DETACH_NETNS_VERSION: (u64, u64) = (29, 5);

const UNIT_PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

fn docker_info(ev: &Evidence) -> Option<&DockerInfo> {
    ev.commands.docker_info.parsed.as_ref()
}

fn desktop(ev: &Evidence) -> bool {
    docker_info(ev).is_some_and(is_docker_desktop)
}

/// The CLI talks to a daemon on another machine (`DOCKER_HOST=tcp://…`, `ssh://…`).
fn docker_remote(ev: &Evidence) -> bool {
    ev.host
        .env
        .vars
        .get("DOCKER_HOST")
        .is_some_and(|h| h.starts_with("tcp://") || h.starts_with("ssh://"))
}

fn show<'a>(ev: &'a Evidence, unit: &str) -> Option<&'a SystemctlShow> {
    ev.commands
        .systemd
        .get(unit)
        .and_then(|r| r.parsed.as_ref())
        .filter(|s| s.installed())
}

/// systemd manages `unit` here (systemctl knows it, or its unit file is on disk).
fn systemd_unit(ev: &Evidence, unit: &str) -> bool {
    show(ev, unit).is_some()
        || ev
            .host
            .units
            .get(unit)
            .is_some_and(|u| u.fragment.as_ref().is_some_and(|f| !f.masked))
}

fn rootless(ev: &Evidence) -> bool {
    platform::rootless_docker(&ev.host, &ev.commands)
}

fn rootless_unit(ev: &Evidence) -> Option<&UnitFiles> {
    ev.host.user_units.get("docker.service")
}

fn wsl_nat(ev: &Evidence) -> bool {
    ev.host
        .platform
        .wsl
        .as_ref()
        .is_some_and(|w| w.version == 2)
        && platform::wsl_networking_mode(&ev.host, &ev.commands).as_deref() == Some("nat")
}

fn lima(ev: &Evidence) -> bool {
    ev.host.platform.lima_guest.detected || ev.host.platform.colima_guest.detected
}

fn platform_label(ev: &Evidence) -> String {
    let p = &ev.host.platform;
    if p.colima_guest.detected {
        "Colima VM".into()
    } else if p.lima_guest.detected {
        "Lima VM".into()
    } else if let Some(w) = &p.wsl {
        format!("WSL{} ({})", w.version, w.networking_mode)
    } else {
        "host".into()
    }
}

/// The environment dockerd runs with: the system unit (via [`crate::route`]), or the user
/// unit and rootless daemon.json of a rootless daemon.
fn dockerd_env(ev: &Evidence) -> ComponentEnv {
    if rootless(ev)
        && let Some(u) = rootless_unit(ev)
    {
        let mut env = ComponentEnv {
            known: true,
            ..ComponentEnv::default()
        };
        for f in u.fragment.iter().chain(&u.drop_ins) {
            let from = f
                .source
                .path()
                .unwrap_or("user unit docker.service")
                .to_string();
            for l in &f.environment {
                if l.reset {
                    env.vars.clear();
                }
                if l.ignored_by_systemd.is_some() {
                    continue;
                }
                for (k, v) in &l.vars {
                    if UNIT_PROXY_VARS.contains(&k.as_str()) {
                        env.vars.insert(
                            k.clone(),
                            Setting {
                                value: v.clone(),
                                from: from.clone(),
                            },
                        );
                    }
                }
            }
        }
        if let Some(dj) = &ev.host.files.rootless_daemon_json
            && let Some(p) = &dj.proxies
        {
            let from = format!("{} proxies", dj.source.path().unwrap_or("daemon.json"));
            for (upper, v) in [
                ("HTTP_PROXY", &p.http_proxy),
                ("HTTPS_PROXY", &p.https_proxy),
                ("NO_PROXY", &p.no_proxy),
            ] {
                if let Some(v) = v {
                    for k in [upper.to_string(), upper.to_ascii_lowercase()] {
                        env.vars.insert(
                            k,
                            Setting {
                                value: v.clone(),
                                from: from.clone(),
                            },
                        );
                    }
                }
            }
        }
        return env;
    }
    ev.components.get("dockerd").cloned().unwrap_or_default()
}

fn containerd_env(ev: &Evidence) -> ComponentEnv {
    ev.components.get("containerd").cloned().unwrap_or_default()
}

/// A proxy value as Go reads it: where it dials, and whether that is a loopback address.
#[derive(Debug, Clone)]
struct Px {
    value: String,
    var: String,
    from: String,
    /// Go's `url.URL.String()` of the parsed value.
    url: Option<String>,
    host: String,
    port: u16,
    loopback: bool,
}

impl Px {
    fn new(value: &str, var: &str, from: &str) -> Px {
        let mut px = Px {
            value: value.to_string(),
            var: var.to_string(),
            from: from.to_string(),
            url: None,
            host: String::new(),
            port: 0,
            loopback: false,
        };
        if let Ok(Some(u)) = proxyenv::go_parse_proxy(value, &GoSemantics::CURRENT) {
            px.url = Some(u.to_go_string());
            px.host = String::from_utf8_lossy(u.hostname()).to_ascii_lowercase();
            if let Some(dial) = proxyenv::go_proxy_dial_addr(&u)
                && let Some((_, p)) = dial.rsplit_once(':')
            {
                px.port = p.parse().unwrap_or(0);
            }
            px.loopback = is_loopback_name(&px.host);
        }
        px
    }

    fn parsed(&self) -> bool {
        self.url.is_some()
    }

    /// `host:port` as dialled.
    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `VAR=value (from)`.
    fn describe(&self) -> String {
        format!("{}={} ({})", self.var, self.value, self.from)
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The proxy Go uses for `https://` URLs in `env`, with where it was set.
fn https_proxy(env: &ComponentEnv) -> Option<Px> {
    let cfg = env.go_config();
    if cfg.https_proxy.is_empty() {
        return None;
    }
    let from = env
        .vars
        .get(cfg.https_proxy_var)
        .map(|s| s.from.clone())
        .unwrap_or_default();
    Some(Px::new(&cfg.https_proxy, cfg.https_proxy_var, &from))
}

/// The first non-empty of `vars` in `env`.
fn first_var<'a>(
    env: &'a ComponentEnv,
    vars: &[&'static str],
) -> Option<(&'static str, &'a Setting)> {
    vars.iter().find_map(|k| {
        env.vars
            .get(*k)
            .filter(|s| !s.value.is_empty())
            .map(|s| (*k, s))
    })
}

/// The NO_PROXY Go uses in `env`: (variable, value, where set).
fn no_proxy(env: &ComponentEnv) -> Option<(&'static str, String, String)> {
    let cfg = env.go_config();
    if cfg.no_proxy.is_empty() {
        return None;
    }
    let from = env
        .vars
        .get(cfg.no_proxy_var)
        .map(|s| s.from.clone())
        .unwrap_or_default();
    Some((cfg.no_proxy_var, cfg.no_proxy, from))
}

/// The shell's proxy, as a user would copy it: HTTPS first, then HTTP, then ALL_PROXY.
fn shell_proxy(ev: &Evidence) -> Option<(&'static str, String)> {
    let vars = &ev.host.env.vars;
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .find_map(|k| {
        vars.get(*k)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*k, v.clone()))
    })
}

fn shell_no_proxy(ev: &Evidence) -> Option<String> {
    let vars = &ev.host.env.vars;
    ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|k| vars.get(*k).filter(|v| !v.trim().is_empty()).cloned())
}

/// Colima profiles whose `env:` sets a proxy: (profile, colima.yaml path, var, value).
fn colima_proxies(ev: &Evidence) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for (profile, c) in &ev.host.files.colima {
        for k in ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"] {
            if let Some(v) = c.env.get(k).filter(|v| !v.trim().is_empty()) {
                out.push((
                    profile.clone(),
                    c.source.path().unwrap_or("colima.yaml").to_string(),
                    k.to_string(),
                    v.clone(),
                ));
                break;
            }
        }
    }
    out
}

/// The address a daemon in this VM must use for a proxy at `px` on the VM's host.
fn vm_reachable(ev: &Evidence, px: &Px) -> String {
    let gw = if lima(ev) {
        lima_gateway(ev)
    } else if wsl_nat(ev) {
        match ev.host.platform.default_gateway() {
            Some(g) => g.to_string(),
            None => return px.value.clone(),
        }
    } else {
        return px.url.clone().unwrap_or_else(|| px.value.clone());
    };
    if !px.loopback || !px.parsed() {
        return px.url.clone().unwrap_or_else(|| px.value.clone());
    }
    rewrite_host(px, &gw)
}

fn rewrite_host(px: &Px, host: &str) -> String {
    let url = px.url.clone().unwrap_or_else(|| px.value.clone());
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(scheme_end);
    let (auth, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let userinfo = auth.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!(
        "{scheme}{}{host}:{}{}",
        userinfo.unwrap_or_default(),
        px.port,
        path.trim_end_matches('/')
    )
}

/// Lima's host address inside the guest: `host.lima.internal` from /etc/hosts, else
/// 192.168.5.2.
fn lima_gateway(ev: &Evidence) -> String {
    ev.host
        .files
        .etc_hosts
        .as_ref()
        .and_then(|h| {
            h.entries
                .iter()
                .find(|e| e.names.iter().any(|n| n == "host.lima.internal"))
                .map(|e| e.ip.clone())
        })
        .unwrap_or_else(|| platform::LIMA_GATEWAY.to_string())
}

/// Listeners on `port`, or `None` when /proc/net/tcp could not be read.
fn listeners(ev: &Evidence, port: u16) -> Option<Vec<&ListenSocket>> {
    if ev.host.sockets.sources.is_empty() {
        return None;
    }
    Some(ev.host.listeners(port))
}

fn live_restore(ev: &Evidence) -> &'static str {
    let from_info = docker_info(ev)
        .filter(|i| i.server_reachable)
        .and_then(|i| i.live_restore);
    let from_file = ev
        .host
        .files
        .daemon_json
        .as_ref()
        .filter(|d| d.status != JsonStatus::Invalid)
        .map(|d| d.live_restore.unwrap_or(false));
    match from_info.or(from_file) {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    }
}

fn started(ev: &Evidence, unit: &str) -> Option<i64> {
    show(ev, unit).and_then(SystemctlShow::started_unix)
}

fn rfc3339(unix: i64) -> String {
    crate::probe::util::rfc3339(unix)
}

fn probes(ev: &Evidence) -> &[TargetProbe] {
    ev.probes.as_ref().map_or(&[], |p| p.targets.as_slice())
}

fn target<'a>(ev: &'a Evidence, host: &str) -> Option<&'a TargetProbe> {
    probes(ev)
        .iter()
        .find(|t| t.target.host.eq_ignore_ascii_case(host))
}

/// Probes ran and Docker Hub's registry answered.
fn hub_reachable(ev: &Evidence) -> bool {
    target(ev, "registry-1.docker.io").is_some_and(|t| t.outcome == Outcome::Ok)
}

/// `localhost,127.0.0.1` plus `base`, without the entries that would send a Docker Hub
/// host around the proxy.
fn safe_no_proxy(base: Option<&str>, extra: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    for e in ["localhost", "127.0.0.1"]
        .into_iter()
        .map(String::from)
        .chain(base.unwrap_or("").split(',').map(|s| s.trim().to_string()))
        .chain(extra.iter().map(|s| s.to_string()))
    {
        if e.is_empty() || out.contains(&e) || bypasses_hub(&e) {
            continue;
        }
        out.push(e);
    }
    out.join(",")
}

/// Whether one NO_PROXY entry sends a Docker Hub host direct.
fn bypasses_hub(entry: &str) -> bool {
    let np = proxyenv::parse_no_proxy(entry);
    HUB_HOSTS.iter().any(|h| {
        matches!(
            np.bypass(h, "443"),
            Some(DirectReason::NoProxyEntry { .. } | DirectReason::NoProxyWildcard { .. })
        )
    })
}

/// The drop-in to write a proxy into: the last drop-in of `unit` that sets one of the
/// proxy variables (so the fix replaces it), else `http-proxy.conf`.
fn dropin_for(ev: &Evidence, unit: &str, user: bool) -> String {
    let files = if user {
        ev.host.user_units.get(unit)
    } else {
        ev.host.units.get(unit)
    };
    if let Some(u) = files
        && let Some(p) = u
            .drop_ins
            .iter()
            .rev()
            .filter(|f| {
                f.environment
                    .iter()
                    .any(|l| l.vars.keys().any(|k| UNIT_PROXY_VARS.contains(&k.as_str())))
            })
            .find_map(|f| f.source.path())
            // Never a drop-in a package owns (/usr/lib, /run): those are overwritten.
            .filter(|p| p.starts_with("/etc/systemd/") || p.starts_with(&ev.host.home))
    {
        return p.to_string();
    }
    if user {
        format!(
            "{}/.config/systemd/user/{unit}.d/http-proxy.conf",
            ev.host.home
        )
    } else {
        format!("/etc/systemd/system/{unit}.d/http-proxy.conf")
    }
}

/// The file a proxy setting was read from: daemon.json, or the unit file or drop-in of
/// `unit` that sets its variable (else the drop-in a fix would write).
fn setting_file(ev: &Evidence, unit: &str, px: &Px, user: bool) -> String {
    if let Some(p) = px.from.strip_suffix(" proxies") {
        return p.to_string();
    }
    if px.from.starts_with('/') {
        return px.from.clone();
    }
    let files = if user {
        ev.host.user_units.get(unit)
    } else {
        ev.host.units.get(unit)
    };
    files
        .and_then(|u| {
            u.fragment
                .iter()
                .chain(&u.drop_ins)
                .rev()
                .find(|f| f.environment.iter().any(|l| l.vars.contains_key(&px.var)))
                .and_then(|f| f.source.path().map(String::from))
        })
        .unwrap_or_else(|| dropin_for(ev, unit, user))
}

/// The entities of the "write a drop-in, reload, restart" fix.
fn unit_fix(d: Detection, ev: &Evidence, unit: &str, user: bool) -> Detection {
    let dropin = dropin_for(ev, unit, user);
    let dir = dropin
        .rsplit_once('/')
        .map_or(dropin.clone(), |(d, _)| d.to_string());
    d.with("unit", unit)
        .with("dropin", dropin)
        .with("dropin_dir", dir)
        .with("sudo", if user { "" } else { "sudo " })
        .with("user_flag", if user { " --user" } else { "" })
        .with("live_restore", live_restore(ev))
}

/// The daemons whose settings decide pulls here, with their environment.
fn daemons(ev: &Evidence) -> Vec<(&'static str, &'static str, ComponentEnv, bool)> {
    let mut out = Vec::new();
    if !desktop(ev) && !docker_remote(ev) {
        let user = rootless(ev) && rootless_unit(ev).is_some();
        if user || systemd_unit(ev, "docker.service") {
            out.push(("dockerd", "docker.service", dockerd_env(ev), user));
        }
    }
    if systemd_unit(ev, "containerd.service") && containerd_pulls(ev).is_some() {
        out.push((
            "containerd",
            "containerd.service",
            containerd_env(ev),
            false,
        ));
    }
    out
}

/// Why containerd itself fetches images here (so its own environment matters).
fn containerd_pulls(ev: &Evidence) -> Option<(String, Vec<String>)> {
    let cri_off = ev
        .host
        .files
        .containerd_config
        .as_ref()
        .is_some_and(|c| c.cri_disabled());
    let p = &ev.host.platform;
    let mut facts = Vec::new();
    if p.kubernetes_node.detected && !cri_off {
        facts.extend(
            p.kubernetes_node
                .signals
                .iter()
                .map(|s| format!("Kubernetes node: {s}")),
        );
        return Some(("kubelet / crictl (CRI)".into(), facts));
    }
    if let Some(c) = &ev.host.files.crictl_yaml
        && !cri_off
        && c.runtime_endpoint
            .iter()
            .chain(&c.image_endpoint)
            .any(|e| e.contains("containerd"))
    {
        facts.push(format!(
            "{}: crictl talks to containerd ({})",
            c.source.path().unwrap_or("/etc/crictl.yaml"),
            c.image_endpoint
                .clone()
                .or(c.runtime_endpoint.clone())
                .unwrap_or_default()
        ));
        return Some(("crictl (CRI)".into(), facts));
    }
    if let Some(v) = &ev.commands.nerdctl_version.parsed
        && let (Some(n), Some(c)) = (&v.client_version, &v.containerd_version)
        && version_at_least(n, (2, 3))
        && version_at_least(c, (2, 0))
    {
        facts.push(format!(
            "`nerdctl version`: nerdctl {n} with containerd {c} pulls through containerd's transfer service"
        ));
        return Some((format!("nerdctl {n}"), facts));
    }
    let dockerd_here =
        systemd_unit(ev, "docker.service") || docker_info(ev).is_some_and(|i| i.server_reachable);
    if !dockerd_here
        && let Some(v) = &ev.commands.ctr_version.parsed
        && let Some(c) = &v.containerd_version
        && version_at_least(c, (2, 0))
    {
        facts.push(format!(
            "`ctr version`: containerd {c}; `ctr images pull` uses the transfer service (daemon-side)"
        ));
        return Some(("ctr".into(), facts));
    }
    None
}

/// `v` (`2.3.1`, `v1.7.27`, `29.5.0-rc.1`) ≥ `min` (major, minor).
fn version_at_least(v: &str, min: (u64, u64)) -> bool {
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
    let major = it.next().flatten();
    let minor = it.next().flatten().unwrap_or(0);
    major.is_some_and(|m| (m, minor) >= min)
}

fn env_has_proxy(env: &ComponentEnv) -> bool {
    env.vars
        .iter()
        .any(|(k, s)| !s.value.is_empty() && !k.eq_ignore_ascii_case("no_proxy"))
}

fn describe_env(env: &ComponentEnv, unit: &str) -> String {
    let vars: Vec<String> = env
        .vars
        .iter()
        .map(|(k, s)| format!("{k}={} ({})", s.value, s.from))
        .collect();
    if vars.is_empty() && unit == "docker.service" {
        format!("{unit}: no proxy variable in its environment or in daemon.json \"proxies\"")
    } else if vars.is_empty() {
        format!("{unit}: no proxy variable in its environment")
    } else {
        format!("{unit}: {}", vars.join(", "))
    }
}

fn dj_path(d: &DaemonJson) -> String {
    d.source
        .path()
        .unwrap_or("/etc/docker/daemon.json")
        .to_string()
}

fn mtime_of(s: &Source) -> Option<i64> {
    s.mtime()
}

// ---------------------------------------------------------------------------------------
// Proxy settings in the wrong layer.

/// The shell or colima.yaml has a proxy, dockerd has none.
pub fn daemon_proxy_missing(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, unit, env, user) in daemons(ev) {
        if name != "dockerd" || https_proxy(&env).is_some() || http_only(&env).is_some() {
            continue;
        }
        if first_var(&env, &["ALL_PROXY", "all_proxy"]).is_some() {
            continue; // all-proxy-only says more.
        }
        if !default_docker_ignored(ev).is_empty() {
            continue;
        }
        let (source, value) = match shell_proxy(ev) {
            Some((var, v)) => (format!("${var}"), v),
            None => continue,
        };
        if hub_reachable(ev) {
            continue;
        }
        if ev.probes.is_none() && has_live_mirrors(ev) {
            continue; // mirrors instead of a proxy: a choice, not a mistake.
        }
        let mut facts = vec![format!("shell: {}", shell_facts(ev))];
        if let Some(t) = target(ev, "registry-1.docker.io")
            && let Some(e) = &t.error
        {
            facts.push(format!(
                "probe: direct GET https://registry-1.docker.io/v2/ failed: {}",
                e.go
            ));
        }
        let px = Px::new(&value, "", "");
        let suggest = vm_reachable(ev, &px);
        let np = safe_no_proxy(shell_no_proxy(ev).as_deref(), &[]);
        facts.push(describe_env(&env, unit));
        if let Some(dj) = &ev.host.files.daemon_json {
            facts.push(format!("{}: no \"proxies\"", dj_path(dj)));
        }
        if let Some(e) = ev.host.files.etc_environment.as_ref()
            && let Some(a) = e.vars.iter().find(|a| !a.commented)
        {
            facts.push(format!(
                "{}:{} sets {} (read by login sessions only, never by {unit})",
                e.source.path().unwrap_or("/etc/environment"),
                a.line,
                a.name
            ));
        }
        let d = Detection::new("daemon-proxy-missing")
            .with("source", source)
            .with("proxy", suggest)
            .with("no_proxy", np)
            .facts(facts);
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

fn shell_facts(ev: &Evidence) -> String {
    let v: Vec<String> = ev
        .host
        .env
        .vars
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().ends_with("_proxy"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    v.join(" ")
}

/// Registry mirrors that are configured and not on the dead list.
fn has_live_mirrors(ev: &Evidence) -> bool {
    let dead = dead_list();
    ev.host
        .files
        .daemon_json
        .iter()
        .flat_map(|d| &d.registry_mirrors)
        .any(|m| !is_dead(&dead, m))
}

/// Proxies only in `~/.docker/config.json`: they reach containers and builds, not pulls.
pub fn client_only_proxy(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    let Some(cfg) = &ev.host.files.docker_config else {
        return out;
    };
    let docker_host = ev
        .host
        .env
        .vars
        .get("DOCKER_HOST")
        .cloned()
        .unwrap_or_default();
    let Some((key, p)) = cfg
        .proxies
        .get_key_value(&docker_host)
        .or_else(|| cfg.proxies.get_key_value("default"))
    else {
        return out;
    };
    let Some(value) = p
        .https_proxy
        .clone()
        .or(p.http_proxy.clone())
        .filter(|v| !v.is_empty())
    else {
        return out;
    };
    if shell_proxy(ev).is_some() || hub_reachable(ev) {
        return out;
    }
    for (name, unit, env, user) in daemons(ev) {
        if name != "dockerd" || env_has_proxy(&env) {
            continue;
        }
        if ev.probes.is_none() && has_live_mirrors(ev) {
            continue;
        }
        let path = cfg
            .source
            .path()
            .unwrap_or("~/.docker/config.json")
            .to_string();
        let px = Px::new(&value, "", "");
        let d = Detection::new("client-only-proxy")
            .with("path", path.clone())
            .with("proxy", vm_reachable(ev, &px))
            .with("no_proxy", safe_no_proxy(p.no_proxy.as_deref(), &[]))
            .fact(format!(
                "{path}: proxies.{key} httpsProxy={} httpProxy={}",
                p.https_proxy.as_deref().unwrap_or("-"),
                p.http_proxy.as_deref().unwrap_or("-")
            ))
            .fact("shell: no proxy variable set".to_string())
            .fact(describe_env(&env, unit));
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// containerd fetches images itself here, and containerd.service has no proxy.
pub fn containerd_proxy_missing(ev: &Evidence) -> Vec<Detection> {
    let Some((puller, why)) = containerd_pulls(ev) else {
        return vec![];
    };
    if !systemd_unit(ev, "containerd.service") {
        return vec![];
    }
    let env = containerd_env(ev);
    if https_proxy(&env).is_some() || env_has_proxy(&env) {
        return vec![];
    }
    let dockerd = dockerd_env(ev);
    let (source, px, np) = if let Some(px) = https_proxy(&dockerd) {
        (
            "docker.service".to_string(),
            px,
            no_proxy(&dockerd).map(|(_, v, _)| v),
        )
    } else if let Some((var, v)) = shell_proxy(ev) {
        (
            format!("${var}"),
            Px::new(&v, var, "shell"),
            shell_no_proxy(ev),
        )
    } else {
        return vec![];
    };
    let k8s = ev.host.platform.kubernetes_node.detected;
    let extra: &[&str] = if k8s {
        &[".svc", ".cluster.local"]
    } else {
        &[]
    };
    let d = Detection::new("containerd-proxy-missing")
        .with("puller", puller)
        .with("source", source)
        .with("proxy", vm_reachable(ev, &px))
        .with("no_proxy", safe_no_proxy(np.as_deref(), extra))
        .facts(why)
        .fact(describe_env(&env, "containerd.service"))
        .fact(format!("proxy seen elsewhere: {}", px.describe()));
    vec![unit_fix(d, ev, "containerd.service", false)]
}

/// A drop-in changed after the daemon started, or systemd has not loaded its variables.
pub fn daemon_proxy_not_applied(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for unit in ["docker.service", "containerd.service"] {
        let (Some(files), Some(show)) = (ev.host.units.get(unit), show(ev, unit)) else {
            continue;
        };
        if unit == "docker.service" && desktop(ev) {
            continue;
        }
        let drift = crate::evidence::systemd::compare(files, show);
        let is_proxy = |k: &str| UNIT_PROXY_VARS.contains(&k);
        let mut facts = Vec::new();
        let mut var = None;
        let mut dropin = None;
        let mut modified = None;
        let path_setting = |k: &str| -> Option<String> {
            files
                .fragment
                .iter()
                .chain(&files.drop_ins)
                .rev()
                .find(|f| f.environment.iter().any(|l| l.vars.contains_key(k)))
                .and_then(|f| f.source.path().map(String::from))
        };
        for (k, v) in drift.only_in_files.iter().filter(|(k, _)| is_proxy(k)) {
            let p = path_setting(k).unwrap_or_else(|| unit.to_string());
            facts.push(format!(
                "{p} sets {k}={v}, but `systemctl show {unit}` has no {k}: systemd has not reloaded the unit"
            ));
            var.get_or_insert(k.clone());
            dropin.get_or_insert(p);
        }
        for (k, (disk, loaded)) in drift.different.iter().filter(|(k, _)| is_proxy(k)) {
            let p = path_setting(k).unwrap_or_else(|| unit.to_string());
            facts.push(format!(
                "{p} sets {k}={disk}, but systemd still has {k}={loaded} (`systemctl show {unit}`)"
            ));
            var.get_or_insert(k.clone());
            dropin.get_or_insert(p);
        }
        if let Some(start) = show.started_unix() {
            for f in files.fragment.iter().chain(&files.drop_ins) {
                let proxy_file = f
                    .environment
                    .iter()
                    .any(|l| l.vars.keys().any(|k| is_proxy(k)))
                    || !f.environment_files.is_empty();
                if let (Some(m), Some(p)) = (f.source.mtime(), f.source.path())
                    && m > start
                    && proxy_file
                {
                    facts.push(format!(
                        "drop-in {p} modified {} after {unit} started {}",
                        rfc3339(m),
                        rfc3339(start)
                    ));
                    dropin.get_or_insert(p.to_string());
                    modified.get_or_insert(m);
                    if var.is_none() {
                        var = f
                            .environment
                            .iter()
                            .flat_map(|l| l.vars.keys())
                            .find(|k| is_proxy(k))
                            .cloned();
                    }
                }
            }
        }
        if facts.is_empty() || (unit == "docker.service" && running_matches(ev, files)) {
            continue;
        }
        if drift.need_daemon_reload {
            facts.push(format!("systemd reports NeedDaemonReload=yes for {unit}"));
        }
        let start = show
            .started_unix()
            .map(rfc3339)
            .or(show.exec_main_start_timestamp.clone())
            .unwrap_or_else(|| "unknown".into());
        let dropin = dropin.unwrap_or_else(|| unit.to_string());
        let d = Detection::new("daemon-proxy-not-applied")
            .with("dropin", dropin)
            .with("var", var.unwrap_or_else(|| "HTTPS_PROXY".into()))
            .with("started", start)
            .with("unit", unit)
            .with("live_restore", live_restore(ev))
            .facts(facts);
        let d = match modified {
            Some(m) => d.with("modified", rfc3339(m)),
            None => d.with("modified", "-"),
        };
        out.push(d);
    }
    out
}

/// `docker info` answered and reports the proxies the unit files configure now (so the
/// running daemon has them, whatever the modification times say).
fn running_matches(ev: &Evidence, files: &UnitFiles) -> bool {
    let Some(info) = docker_info(ev).filter(|i| i.server_reachable) else {
        return false;
    };
    if ev
        .host
        .files
        .daemon_json
        .as_ref()
        .is_some_and(|d| d.proxies.is_some())
    {
        return false; // daemon.json overrides what docker info shows
    }
    let on_disk = files.configured_env();
    let get = |a: &str, b: &str| {
        on_disk
            .get(a)
            .filter(|v| !v.is_empty())
            .or(on_disk.get(b).filter(|v| !v.is_empty()))
            .cloned()
    };
    let same_host = |file: Option<String>, running: &Option<String>| {
        file.as_deref().and_then(host_of) == running.as_deref().and_then(host_of)
    };
    same_host(get("HTTPS_PROXY", "https_proxy"), &info.https_proxy)
        && same_host(get("HTTP_PROXY", "http_proxy"), &info.http_proxy)
        && get("NO_PROXY", "no_proxy").unwrap_or_default()
            == info.no_proxy.clone().unwrap_or_default()
}

/// daemon.json changed after dockerd started, or the running daemon reports other
/// proxies / mirrors than the file.
pub fn daemon_json_not_applied(ev: &Evidence) -> Vec<Detection> {
    let Some(dj) = &ev.host.files.daemon_json else {
        return vec![];
    };
    if dj.status != JsonStatus::Valid || desktop(ev) || docker_remote(ev) {
        return vec![];
    }
    let path = dj_path(dj);
    let mut facts = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    let start = started(ev, "docker.service");
    let info = docker_info(ev).filter(|i| i.server_reachable);
    // With `docker info`, the running daemon's values decide; the time is only a hint.
    if let (Some(m), Some(s)) = (mtime_of(&dj.source), start)
        && m > s
        && info.is_none()
    {
        facts.push(format!(
            "{path} modified {} after docker.service started {}",
            rfc3339(m),
            rfc3339(s)
        ));
    }
    if let Some(info) = info {
        if let Some(p) = &dj.proxies {
            for (k, file, running) in [
                ("https-proxy", &p.https_proxy, &info.https_proxy),
                ("http-proxy", &p.http_proxy, &info.http_proxy),
            ] {
                if let Some(f) = file
                    && host_of(f) != running.as_deref().and_then(host_of)
                {
                    facts.push(format!(
                        "{path} proxies.{k}={f}, but `docker info` reports {}",
                        running.as_deref().unwrap_or("no proxy")
                    ));
                    if !keys.contains(&"proxies") {
                        keys.push("proxies");
                    }
                }
            }
        }
        let norm = |m: &str| m.trim().trim_end_matches('/').to_ascii_lowercase();
        let running: BTreeSet<String> = info.registry_mirrors.iter().map(|m| norm(m)).collect();
        let missing: Vec<&String> = dj
            .registry_mirrors
            .iter()
            .filter(|m| m.contains("://") && !running.contains(&norm(m)))
            .collect();
        if !missing.is_empty() {
            facts.push(format!(
                "{path} registry-mirrors has {}, which `docker info` does not list",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            keys.push("registry-mirrors");
        }
    }
    if facts.is_empty() {
        return vec![];
    }
    if let (Some(m), Some(s)) = (mtime_of(&dj.source), start)
        && m > s
        && info.is_some()
    {
        facts.push(format!(
            "{path} modified {} after docker.service started {}",
            rfc3339(m),
            rfc3339(s)
        ));
    }
    if keys.is_empty() {
        if dj.proxies.is_some() {
            keys.push("proxies");
        }
        if !dj.registry_mirrors.is_empty() {
            keys.push("registry-mirrors");
        }
        if keys.is_empty() {
            keys.push("settings");
        }
    }
    vec![
        Detection::new("daemon-json-not-applied")
            .with("path", path)
            .with("var", keys.join(", "))
            .with(
                "started",
                start.map(rfc3339).unwrap_or_else(|| "unknown".into()),
            )
            .with(
                "modified",
                mtime_of(&dj.source)
                    .map(rfc3339)
                    .unwrap_or_else(|| "-".into()),
            )
            .with("live_restore", live_restore(ev))
            .facts(facts),
    ]
}

/// colima.yaml `env:` has a proxy that the VM's dockerd does not have.
pub fn colima_env_not_applied(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (profile, path, var, value) in colima_proxies(ev) {
        let runtime = ev
            .host
            .files
            .colima
            .get(&profile)
            .and_then(|c| c.runtime.clone())
            .unwrap_or_else(|| "docker".into());
        if runtime != "docker" {
            continue;
        }
        // Inside the guest: Colima writes the proxy into /etc/docker/daemon.json.
        let in_guest = lima(ev);
        let daemon_has = if in_guest {
            ev.host
                .files
                .daemon_json
                .as_ref()
                .and_then(|d| d.proxies.as_ref())
                .is_some_and(|p| p.https_proxy.is_some() || p.http_proxy.is_some())
                || https_proxy(&dockerd_env(ev)).is_some()
        } else {
            match docker_info(ev).filter(|i| i.server_reachable) {
                Some(i) => i.https_proxy.is_some() || i.http_proxy.is_some(),
                None => true, // nothing known about the VM's daemon
            }
        };
        if daemon_has {
            continue;
        }
        let seen = if in_guest {
            "/etc/docker/daemon.json in the VM has no \"proxies\"".to_string()
        } else {
            "`docker info` (Colima's daemon) reports no HTTP(S) proxy".to_string()
        };
        out.push(
            Detection::new("colima-env-not-applied")
                .with("path", path.clone())
                .with("proxy", value.clone())
                .with("profile", profile.clone())
                .fact(format!("{path}: env {var}={value}"))
                .fact(seen),
        );
    }
    out
}

/// What a daemon's NO_PROXY sends around its proxy.
struct Bypass {
    px: Px,
    var: &'static str,
    value: String,
    from: String,
    host: String,
    entry: String,
    new: String,
    facts: Vec<String>,
}

/// The daemon's NO_PROXY sends a Docker Hub host (or a probed registry) direct.
fn bypass_of(ev: &Evidence, env: &ComponentEnv) -> Option<Bypass> {
    let px = https_proxy(env)?;
    let (var, value, from) = no_proxy(env)?;
    let cfg = env.go_config();
    let mut hosts: Vec<String> = HUB_HOSTS.iter().map(|s| s.to_string()).collect();
    for t in probes(ev) {
        if matches!(t.target.role, Role::Registry | Role::Auth | Role::BlobCdn)
            && !hosts.contains(&t.target.host)
        {
            hosts.push(t.target.host.clone());
        }
    }
    let mut facts = vec![
        format!("{} applies to https:// URLs", px.describe()),
        format!("{var}={value} ({from})"),
    ];
    let mut first: Option<(String, String)> = None;
    let mut bad: Vec<String> = Vec::new();
    for h in &hosts {
        let url = format!("https://{h}/v2/");
        let Decision::Direct { reason } = proxyenv::go_proxy_for(&cfg, &url) else {
            continue;
        };
        let entry = match reason {
            DirectReason::NoProxyEntry { entry, .. } => entry,
            DirectReason::NoProxyWildcard { .. } => "*".to_string(),
            _ => continue,
        };
        // With probes, only a direct route that failed is a problem.
        let probe = target(ev, h);
        if probe.is_some_and(|t| t.outcome == Outcome::Ok) {
            continue;
        }
        let mut f = format!(
            "{var} entry `{entry}` matches {h}: Go connects to it directly, not through {}",
            px.value
        );
        if let Some(e) = probe.and_then(|t| t.error.as_ref()) {
            f.push_str(&format!("; probe of the direct route: {}", e.go));
        }
        facts.push(f);
        if !bad.contains(&entry) {
            bad.push(entry.clone());
        }
        first.get_or_insert((h.clone(), entry));
    }
    let (host, entry) = first?;
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !bad.iter().any(|b| b.eq_ignore_ascii_case(e)))
        .collect();
    let new = safe_no_proxy(Some(&kept.join(",")), &[]);
    facts.push(format!("{var} without the offending entries: {new}"));
    Some(Bypass {
        px,
        var,
        value,
        from,
        host,
        entry,
        new,
        facts,
    })
}

/// NO_PROXY set in a systemd unit or drop-in bypasses Docker Hub.
pub fn no_proxy_bypass(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (_, unit, env, user) in daemons(ev) {
        let Some(b) = bypass_of(ev, &env) else {
            continue;
        };
        if b.from.contains("daemon.json") {
            continue; // no-proxy-bypass-daemon-json
        }
        let d = Detection::new("no-proxy-bypass")
            .with("host", b.host)
            .with("entry", b.entry)
            .with("var", b.var)
            .with("no_proxy", b.value)
            .with("no_proxy_new", b.new)
            .with("proxy", b.px.url.clone().unwrap_or(b.px.value.clone()))
            .facts(b.facts);
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// daemon.json `proxies.no-proxy` bypasses Docker Hub.
pub fn no_proxy_bypass_daemon_json(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, _, env, _) in daemons(ev) {
        if name != "dockerd" {
            continue;
        }
        let Some(b) = bypass_of(ev, &env) else {
            continue;
        };
        let Some(path) = b.from.strip_suffix(" proxies") else {
            continue;
        };
        out.push(
            Detection::new("no-proxy-bypass-daemon-json")
                .with("host", b.host.clone())
                .with("entry", b.entry.clone())
                .with("path", path)
                .with("no_proxy", b.value.clone())
                .with("no_proxy_new", b.new.clone())
                .with("proxy", b.px.url.clone().unwrap_or(b.px.value.clone()))
                .with("live_restore", live_restore(ev))
                .facts(b.facts.clone()),
        );
    }
    out
}

/// Only an HTTP proxy for https:// registries: Go goes direct.
fn http_only(env: &ComponentEnv) -> Option<(&'static str, &Setting)> {
    if https_proxy(env).is_some() {
        return None;
    }
    first_var(env, &["HTTP_PROXY", "http_proxy"])
}

/// Only ALL_PROXY: Go never reads it.
pub fn all_proxy_only(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, unit, env, user) in daemons(ev) {
        if https_proxy(&env).is_some() || http_only(&env).is_some() {
            continue;
        }
        let Some((var, s)) = first_var(&env, &["ALL_PROXY", "all_proxy"]) else {
            continue;
        };
        let px = Px::new(&s.value, var, &s.from);
        let d = Detection::new("all-proxy-only")
            .with("component", name)
            .with("var", var)
            .with("value", s.value.clone())
            .with("proxy", vm_reachable(ev, &px))
            .with(
                "no_proxy",
                safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
            )
            .fact(format!("{var}={} ({})", s.value, s.from))
            .fact(format!("{unit}: no HTTPS_PROXY / https_proxy"));
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// Only HTTP_PROXY for https:// registries.
pub fn http_proxy_only(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, unit, env, user) in daemons(ev) {
        let Some((var, s)) = http_only(&env) else {
            continue;
        };
        let px = Px::new(&s.value, var, &s.from);
        let d = Detection::new("http-proxy-only")
            .with("component", name)
            .with("var", var)
            .with("value", s.value.clone())
            .with("proxy", vm_reachable(ev, &px))
            .with(
                "no_proxy",
                safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
            )
            .fact(format!("{var}={} ({})", s.value, s.from))
            .fact(format!(
                "{unit}: no HTTPS_PROXY / https_proxy; registries are https://, so Go (1.16+) connects directly"
            ));
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// A proxy value Go cannot parse: silently no proxy.
pub fn proxy_value_unparsable(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, unit, env, user) in daemons(ev) {
        let cfg = env.go_config();
        for (var, value) in [
            (cfg.https_proxy_var, &cfg.https_proxy),
            (cfg.http_proxy_var, &cfg.http_proxy),
        ] {
            if value.is_empty() {
                continue;
            }
            let Err(err) = proxyenv::go_parse_proxy(value, &GoSemantics::CURRENT) else {
                continue;
            };
            let from = env
                .vars
                .get(var)
                .map(|s| s.from.clone())
                .unwrap_or_default();
            if from.contains("daemon.json") {
                continue;
            }
            let cleaned = value.trim().trim_matches(['"', '\'']).trim().to_string();
            let d = Detection::new("proxy-value-unparsable")
                .with("component", name)
                .with("var", var)
                .with("value", value.clone())
                .with("error", err.clone())
                .with("proxy", cleaned)
                .with(
                    "no_proxy",
                    safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
                )
                .fact(format!("{var}={value} ({from})"))
                .fact(format!("Go's url.Parse: {err}"));
            out.push(unit_fix(d, ev, unit, user));
            break;
        }
    }
    out
}

/// `/etc/default/docker` sets a proxy, but systemd's docker.service never reads it.
pub fn default_docker_ignored(ev: &Evidence) -> Vec<Detection> {
    let Some(f) = &ev.host.files.default_docker else {
        return vec![];
    };
    if !systemd_unit(ev, "docker.service") || desktop(ev) {
        return vec![];
    }
    let path = f.source.path().unwrap_or("/etc/default/docker").to_string();
    let Some(a) = f.vars.iter().rev().find(|a| {
        !a.commented
            && a.name.to_ascii_lowercase().ends_with("_proxy")
            && !a.name.eq_ignore_ascii_case("no_proxy")
    }) else {
        return vec![];
    };
    let loaded_by_show = show(ev, "docker.service")
        .is_some_and(|s| s.environment_files.iter().any(|r| r.path == path));
    let loaded_by_files = ev.host.units.get("docker.service").is_some_and(|u| {
        u.fragment
            .iter()
            .chain(&u.drop_ins)
            .any(|f| f.environment_files.iter().any(|r| r.path == path))
    });
    if (loaded_by_show || loaded_by_files) && !a.exported {
        return vec![];
    }
    let env = dockerd_env(ev);
    let mut d = Detection::new("default-docker-ignored")
        .with("path", path.clone())
        .with("var", a.name.clone())
        .with("value", a.value.clone())
        .with("line", a.line.to_string())
        .with("proxy", a.value.trim_end_matches('/').to_string())
        .with(
            "no_proxy",
            safe_no_proxy(f.get("no_proxy").or(f.get("NO_PROXY")), &[]),
        )
        .fact(format!(
            "{path}:{} {}{}={}",
            a.line,
            if a.exported { "export " } else { "" },
            a.name,
            a.value
        ));
    if f.not_for_systemd_banner {
        d = d.fact(format!(
            "{path} starts with \"THIS FILE DOES NOT APPLY TO SYSTEMD\""
        ));
    }
    d = if loaded_by_show || loaded_by_files {
        d.fact(format!(
            "docker.service loads {path} with EnvironmentFile=, but systemd rejects `export NAME=value` lines"
        ))
    } else {
        d.fact(format!("docker.service has no EnvironmentFile={path}"))
    };
    d = d.fact(describe_env(&env, "docker.service"));
    vec![unit_fix(d, ev, "docker.service", false)]
}

/// `/etc/environment` sets a proxy that system services never read.
pub fn etc_environment_ignored(ev: &Evidence) -> Vec<Detection> {
    let Some(f) = &ev.host.files.etc_environment else {
        return vec![];
    };
    if shell_proxy(ev).is_some() {
        return vec![]; // daemon-proxy-missing names it
    }
    let Some(a) = f.vars.iter().find(|a| {
        !a.commented
            && a.name.to_ascii_lowercase().ends_with("_proxy")
            && !a.name.eq_ignore_ascii_case("no_proxy")
            && !a.value.is_empty()
    }) else {
        return vec![];
    };
    let path = f.source.path().unwrap_or("/etc/environment").to_string();
    let np = f.get("NO_PROXY").or(f.get("no_proxy")).map(String::from);
    let mut out = Vec::new();
    for (name, unit, env, user) in daemons(ev) {
        if env_has_proxy(&env) {
            continue;
        }
        let px = Px::new(&a.value, &a.name, &path);
        let mut d = Detection::new("etc-environment-ignored")
            .with("component", name)
            .with("path", path.clone())
            .with("var", a.name.clone())
            .with("value", a.value.clone())
            .with("proxy", vm_reachable(ev, &px))
            .with("no_proxy", safe_no_proxy(np.as_deref(), &[]))
            .fact(format!("{path}:{} {}={}", a.line, a.name, a.value));
        if f.lima_block {
            d = d.fact(format!(
                "{path} has Lima's #LIMA-START block (written at VM start)"
            ));
        }
        d = d.fact(describe_env(&env, unit));
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// The shell's variables mean something else to Go than to curl.
pub fn shell_proxy_ignored_by_go(ev: &Evidence) -> Vec<Detection> {
    let vars = &ev.host.env.vars;
    let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
    let env = ComponentEnv {
        vars: vars
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Setting {
                        value: v.clone(),
                        from: "shell".into(),
                    },
                )
            })
            .collect(),
        known: true,
        notes: vec![],
    };
    let np = safe_no_proxy(shell_no_proxy(ev).as_deref(), &[]);
    let mk = |var: &str, value: &str, proxy: &str, why: String| {
        let px = Px::new(proxy, var, "shell");
        Detection::new("shell-proxy-ignored-by-go")
            .with("var", var)
            .with("value", value)
            .with("proxy", px.url.clone().unwrap_or(proxy.to_string()))
            .with("no_proxy", np.clone())
            .fact(format!("shell: {}", shell_facts(ev)))
            .fact(why)
    };
    // Upper and lower case disagree: Go takes the upper, curl and Lima the lower.
    for (upper, lower) in [("HTTPS_PROXY", "https_proxy"), ("HTTP_PROXY", "http_proxy")] {
        if let (Some(u), Some(l)) = (get(upper), get(lower))
            && u.trim() != l.trim()
        {
            return vec![
                mk(
                    lower,
                    &l,
                    &u,
                    format!("{upper}={u} and {lower}={l} differ: Go programs use {upper}, curl uses {lower}"),
                )
                .with("other_var", upper)
                .with("other_value", u),
            ];
        }
    }
    if https_proxy(&env).is_some() {
        return vec![];
    }
    if let Some((var, s)) = first_var(&env, &["HTTP_PROXY", "http_proxy"]) {
        return vec![mk(
            var,
            &s.value,
            &s.value,
            format!("only {var} is set: Go uses it for http:// URLs only, so every https:// registry is contacted directly"),
        )
        .with("other_var", "HTTPS_PROXY")
        .with("other_value", "-")];
    }
    if let Some((var, s)) = first_var(&env, &["ALL_PROXY", "all_proxy"]) {
        return vec![mk(
            var,
            &s.value,
            &s.value,
            format!("only {var} is set: curl honours it, Go programs (skopeo, podman, crane, nerdctl) never read it"),
        )
        .with("other_var", "HTTPS_PROXY")
        .with("other_value", "-")];
    }
    vec![]
}

/// ALL_PROXY next to a working HTTPS_PROXY: harmless, but does not do what it says.
pub fn all_proxy_ignored(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for (name, unit, env, _) in daemons(ev) {
        let Some(px) = https_proxy(&env) else {
            continue;
        };
        let Some((var, s)) = first_var(&env, &["ALL_PROXY", "all_proxy"]) else {
            continue;
        };
        out.push(
            Detection::new("all-proxy-ignored")
                .with("component", name)
                .with("unit", unit)
                .with("var", var)
                .with("value", s.value.clone())
                .with("proxy", px.value.clone())
                .fact(format!("{var}={} ({})", s.value, s.from))
                .fact(px.describe()),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------
// A loopback proxy where loopback is somewhere else.

/// The daemons' HTTPS proxies that point at a loopback address.
fn loopback_proxies(ev: &Evidence) -> Vec<(&'static str, &'static str, Px, ComponentEnv, bool)> {
    daemons(ev)
        .into_iter()
        .filter_map(|(name, unit, env, user)| {
            let px = https_proxy(&env)?;
            px.loopback.then_some((name, unit, px, env, user))
        })
        .collect()
}

/// WSL2 in NAT mode: 127.0.0.1 is the Linux VM, not Windows.
pub fn wsl_nat_loopback_proxy(ev: &Evidence) -> Vec<Detection> {
    if !wsl_nat(ev) {
        return vec![];
    }
    let gw = ev.host.platform.default_gateway().map(String::from);
    let mut out = Vec::new();
    for (name, unit, px, env, user) in loopback_proxies(ev) {
        if listeners(ev, px.port).is_some_and(|l| !l.is_empty()) {
            continue; // a proxy runs inside the distro itself
        }
        let gw = gw.clone().unwrap_or_else(|| "172.17.0.1".into());
        let d = Detection::new("wsl-nat-loopback-proxy")
            .with("component", name)
            .with("proxy", px.addr())
            .with("value", px.value.clone())
            .with("proxy_port", px.port.to_string())
            .with("gateway", gw.clone())
            .with("proxy_new", rewrite_host(&px, &gw))
            .with("path", setting_file(ev, unit, &px, user))
            .with(
                "no_proxy",
                safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
            )
            .fact(px.describe())
            .facts(wsl_facts(ev))
            .fact(match listeners(ev, px.port) {
                Some(_) => format!(
                    "/proc/net/tcp: nothing listens on port {} inside WSL",
                    px.port
                ),
                None => "/proc/net/tcp could not be read".into(),
            })
            .fact(format!("default gateway (the Windows host): {gw}"));
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

fn wsl_facts(ev: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(w) = &ev.host.platform.wsl {
        out.push(format!(
            "WSL{} networking mode {}",
            w.version, w.networking_mode
        ));
        out.extend(w.signals.iter().cloned());
    }
    if let Some(m) = &ev.commands.wslinfo.parsed {
        out.push(format!("`wslinfo --networking-mode`: {m}"));
    }
    out
}

/// A Lima/Colima guest whose daemon uses 127.0.0.1: that is the VM itself.
pub fn lima_loopback_proxy(ev: &Evidence) -> Vec<Detection> {
    if !lima(ev) {
        return vec![];
    }
    let gw = lima_gateway(ev);
    let mut out = Vec::new();
    for (name, unit, px, env, user) in loopback_proxies(ev) {
        if listeners(ev, px.port).is_some_and(|l| !l.is_empty()) {
            continue;
        }
        let mut d = Detection::new("lima-loopback-proxy")
            .with("component", name)
            .with("proxy", px.addr())
            .with("value", px.value.clone())
            .with("proxy_port", px.port.to_string())
            .with("gateway", gw.clone())
            .with("proxy_new", rewrite_host(&px, &gw))
            .with("path", setting_file(ev, unit, &px, user))
            .with(
                "no_proxy",
                safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
            )
            .fact(px.describe())
            .fact(format!(
                "{}: {}",
                platform_label(ev),
                ev.host.platform.lima_guest.signals.join("; ")
            ))
            .fact(format!(
                "/proc/net/tcp: nothing listens on port {} inside the VM",
                px.port
            ));
        for (_, p, var, v) in colima_proxies(ev) {
            d = d.fact(format!("{p}: env {var}={v}"));
        }
        for r in ev.probes.iter().flat_map(|p| &p.reachability) {
            if r.addr.port() == px.port {
                d = d.fact(format!(
                    "probe: connect {}: {}",
                    r.addr,
                    if r.ok {
                        "answers".to_string()
                    } else {
                        r.error.as_ref().map_or("failed".into(), |e| e.go.clone())
                    }
                ));
            }
        }
        out.push(unit_fix(d, ev, unit, user));
    }
    out
}

/// Inside a Lima/Colima guest the host's proxy port refuses at the gateway: the proxy
/// app accepts only its own machine's connections ("allow LAN" is off).
pub fn lima_gateway_refused(ev: &Evidence) -> Vec<Detection> {
    let Some(pr) = &ev.probes else {
        return vec![];
    };
    if !lima(ev) {
        return vec![];
    }
    let gw = lima_gateway(ev);
    let mut out = Vec::new();
    for (name, _, env, _) in daemons(ev) {
        let Some(px) = https_proxy(&env) else {
            continue;
        };
        if !(px.loopback || px.host == gw || px.host == "host.lima.internal") {
            continue;
        }
        let refused = pr.reachability.iter().find(|r| {
            r.addr.port() == px.port
                && r.addr.ip().to_string() == gw
                && !r.ok
                && r.error
                    .as_ref()
                    .is_some_and(|e| e.class == ErrorClass::ConnectionRefused)
        });
        let Some(r) = refused else {
            continue;
        };
        let mut d = Detection::new("lima-gateway-refused")
            .with("component", name)
            .with("proxy", px.addr())
            .with("value", px.value.clone())
            .with("proxy_port", px.port.to_string())
            .with("gateway", gw.clone())
            .fact(px.describe())
            .fact(format!(
                "probe: connect {}: {}",
                r.addr,
                r.error.as_ref().map(|e| e.go.as_str()).unwrap_or("failed")
            ));
        for (_, p, var, v) in colima_proxies(ev) {
            d = d.fact(format!("{p}: env {var}={v}"));
        }
        out.push(d);
    }
    out
}

/// Rootless dockerd before 29.5 runs in its own network namespace.
pub fn rootless_loopback_proxy(ev: &Evidence) -> Vec<Detection> {
    if !rootless(ev) {
        return vec![];
    }
    let version = docker_info(ev)
        .and_then(|i| i.server_version.clone())
        .unwrap_or_else(|| "unknown".into());
    if version_at_least(&version, ROOTLESS_DETACH_NETNS_VERSION) {
        return vec![];
    }
    let env = dockerd_env(ev);
    let Some(px) = https_proxy(&env).filter(|p| p.loopback) else {
        return vec![];
    };
    let d = Detection::new("rootless-loopback-proxy")
        .with("proxy", px.addr())
        .with("value", px.value.clone())
        .with("proxy_port", px.port.to_string())
        .with("proxy_new", rewrite_host(&px, "10.0.2.2"))
        .with("version", version.clone())
        .with(
            "no_proxy",
            safe_no_proxy(no_proxy(&env).map(|(_, v, _)| v).as_deref(), &[]),
        )
        .fact(px.describe())
        .fact(format!(
            "rootless dockerd {version}: {}",
            ev.host.platform.rootless_docker.signals.join("; ")
        ));
    vec![unit_fix(d, ev, "docker.service", true)]
}

/// `~/.docker/config.json` gives build steps a 127.0.0.1 proxy: the build container itself.
pub fn build_proxy_loopback(ev: &Evidence) -> Vec<Detection> {
    let env = ev.components.get("build-run").cloned().unwrap_or_default();
    let Some(px) = https_proxy(&env)
        .or_else(|| first_var(&env, &["HTTP_PROXY"]).map(|(k, s)| Px::new(&s.value, k, &s.from)))
    else {
        return vec![];
    };
    if !px.loopback {
        return vec![];
    }
    let path = ev
        .host
        .files
        .docker_config
        .as_ref()
        .and_then(|c| c.source.path())
        .unwrap_or("~/.docker/config.json")
        .to_string();
    vec![
        Detection::new("build-proxy-loopback")
            .with("proxy", px.value.clone())
            .with("proxy_port", px.port.to_string())
            .with("path", path)
            .fact(px.describe()),
    ]
}

/// A daemon on this host uses a proxy on 127.0.0.1 and nothing listens on that port.
pub fn proxy_not_listening(ev: &Evidence) -> Vec<Detection> {
    let p = &ev.host.platform;
    if wsl_nat(ev) || lima(ev) || p.in_container.detected || rootless(ev) {
        return vec![];
    }
    let mut out = Vec::new();
    for (name, unit, px, _, user) in loopback_proxies(ev) {
        let Some(l) = listeners(ev, px.port) else {
            continue;
        };
        if !l.is_empty() {
            continue;
        }
        if ev.probes.as_ref().is_some_and(|pr| {
            pr.reachability
                .iter()
                .any(|r| r.ok && r.addr.port() == px.port)
        }) {
            continue;
        }
        out.push(
            Detection::new("proxy-not-listening")
                .with("component", name)
                .with("unit", unit)
                .with("proxy", px.addr())
                .with("proxy_port", px.port.to_string())
                .with("path", setting_file(ev, unit, &px, user))
                .fact(px.describe())
                .fact(format!(
                    "/proc/net/tcp, /proc/net/tcp6: no socket listens on port {}",
                    px.port
                )),
        );
    }
    out
}

/// Docker Desktop: proxies belong in its settings; what is set elsewhere is ignored.
pub fn desktop_proxy_settings(ev: &Evidence) -> Vec<Detection> {
    if !desktop(ev) {
        return vec![];
    }
    let mut facts = Vec::new();
    let mut source = None;
    let mut proxy = None;
    if let Some(dj) = &ev.host.files.daemon_json
        && let Some(p) = &dj.proxies
        && let Some(v) = p.https_proxy.clone().or(p.http_proxy.clone())
    {
        facts.push(format!(
            "{} proxies: {v} (Docker Desktop ignores daemon.json proxies)",
            dj_path(dj)
        ));
        source.get_or_insert(dj_path(dj));
        proxy.get_or_insert(v);
    }
    if let Some(u) = ev.host.units.get("docker.service") {
        let env = u.configured_env();
        if let Some((k, v)) = env.iter().find(|(k, v)| {
            !v.is_empty()
                && k.to_ascii_lowercase().ends_with("_proxy")
                && !k.eq_ignore_ascii_case("no_proxy")
        }) {
            facts.push(format!(
                "docker.service drop-in sets {k}={v}, but the daemon is Docker Desktop's"
            ));
            source.get_or_insert("docker.service".into());
            proxy.get_or_insert(v.clone());
        }
    }
    if let Some((var, v)) = shell_proxy(ev) {
        facts.push(format!(
            "shell: {var}={v} (the CLI's environment; pulls run in Desktop's VM)"
        ));
        source.get_or_insert(format!("${var}"));
        proxy.get_or_insert(v);
    }
    let (Some(source), Some(proxy)) = (source, proxy) else {
        return vec![];
    };
    let info = docker_info(ev).cloned().unwrap_or_default();
    facts.insert(
        0,
        format!(
            "`docker info`: {} (Name {}), HTTPS Proxy {}",
            info.operating_system.as_deref().unwrap_or("Docker Desktop"),
            info.name.as_deref().unwrap_or("-"),
            info.https_proxy.as_deref().unwrap_or("-")
        ),
    );
    vec![
        Detection::new("desktop-proxy-settings")
            .with("source", source)
            .with("proxy", proxy)
            .facts(facts),
    ]
}

// ---------------------------------------------------------------------------------------
// Mirrors.

fn dead_list() -> Vec<String> {
    Catalog::builtin()
        .ok()
        .and_then(|c| c.list("dead-mirrors"))
        .map(|l| l.entries.clone())
        .unwrap_or_default()
}

fn dead_list_date() -> String {
    Catalog::builtin()
        .ok()
        .and_then(|c| c.list("dead-mirrors"))
        .map(|l| l.updated.clone())
        .unwrap_or_default()
}

fn is_dead(dead: &[String], mirror: &str) -> bool {
    host_of(mirror).is_some_and(|h| {
        dead.iter()
            .any(|d| h == *d || h.ends_with(&format!(".{d}")))
    })
}

/// `"https://a", "https://b"` as a JSON array.
fn json_array(items: &[&String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

/// daemon.json lists registry mirrors that are dead (rules/context.toml `dead-mirrors`).
pub fn dead_mirror_daemon_json(ev: &Evidence) -> Vec<Detection> {
    let dead = dead_list();
    let mut out = Vec::new();
    for dj in ev
        .host
        .files
        .daemon_json
        .iter()
        .chain(&ev.host.files.rootless_daemon_json)
    {
        let gone: Vec<&String> = dj
            .registry_mirrors
            .iter()
            .filter(|m| is_dead(&dead, m))
            .collect();
        if gone.is_empty() {
            continue;
        }
        let kept: Vec<&String> = dj
            .registry_mirrors
            .iter()
            .filter(|m| !is_dead(&dead, m))
            .collect();
        let path = dj_path(dj);
        let names: Vec<String> = gone.iter().filter_map(|m| host_of(m)).collect();
        let mut d = Detection::new("dead-mirror-daemon-json")
            .with("mirror", names.join(", "))
            .with("mirrors_json", json_array(&gone))
            .with("mirrors_kept", json_array(&kept))
            .with("path", path.clone())
            .with("updated", dead_list_date())
            .with("live_restore", live_restore(ev));
        for m in &gone {
            d = d.fact(format!(
                "{path} registry-mirrors: {m} (dead or restricted to its provider's network, list of {})",
                dead_list_date()
            ));
        }
        if let Some(t) = probes(ev).iter().find(|t| {
            t.target.role == Role::Mirror
                && gone
                    .iter()
                    .any(|m| host_of(m).as_deref() == Some(t.target.host.as_str()))
        }) && let Some(e) = &t.error
        {
            d = d.fact(format!("probe: {}", e.go));
        }
        out.push(d);
    }
    out
}

/// containerd hosts.toml or buildkitd.toml lists a dead mirror.
pub fn dead_mirror_hosts_toml(ev: &Evidence) -> Vec<Detection> {
    let dead = dead_list();
    let mut out = Vec::new();
    for (path, h) in &ev.host.files.hosts_toml {
        for host in &h.hosts {
            if is_dead(&dead, &host.url) {
                out.push(
                    Detection::new("dead-mirror-hosts-toml")
                        .with("mirror", host.url.clone())
                        .with("path", path.clone())
                        .with("registry", h.namespace.clone())
                        .with("updated", dead_list_date())
                        .fact(format!(
                            "{path}: [host.\"{}\"] for {} (dead-mirrors list of {})",
                            host.url,
                            h.namespace,
                            dead_list_date()
                        )),
                );
            }
        }
    }
    for (path, b) in &ev.host.files.buildkitd {
        for (reg, r) in &b.registries {
            for m in r.mirrors.iter().filter(|m| is_dead(&dead, m)) {
                out.push(
                    Detection::new("dead-mirror-hosts-toml")
                        .with("mirror", m.clone())
                        .with("path", path.clone())
                        .with("registry", reg.clone())
                        .with("updated", dead_list_date())
                        .fact(format!("{path}: [registry.\"{reg}\"] mirrors has {m}")),
                );
            }
        }
    }
    out
}

/// A registry-mirrors entry without `http://` or `https://`: dockerd refuses to start.
pub fn mirror_url_no_scheme(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for dj in ev
        .host
        .files
        .daemon_json
        .iter()
        .chain(&ev.host.files.rootless_daemon_json)
    {
        let path = dj_path(dj);
        for m in dj
            .registry_mirrors
            .iter()
            .filter(|m| !m.trim().contains("://"))
        {
            let fixed = format!("https://{}", m.trim().trim_end_matches('/'));
            out.push(
                Detection::new("mirror-url-no-scheme")
                    .with("mirror", m.clone())
                    .with("value", fixed)
                    .with("path", path.clone())
                    .fact(format!("{path} registry-mirrors: \"{m}\" has no scheme"))
                    .fact(format!(
                        "dockerd: invalid mirror: no scheme specified for \"{m}\": must use either 'https://' or 'http://'"
                    )),
            );
        }
    }
    out
}

/// A registry-mirrors entry with a path: dockerd appends /v2/ to it.
pub fn mirror_url_with_path(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for dj in ev
        .host
        .files
        .daemon_json
        .iter()
        .chain(&ev.host.files.rootless_daemon_json)
    {
        let path = dj_path(dj);
        for m in dj.registry_mirrors.iter().filter(|m| m.contains("://")) {
            let (scheme, rest) = m.trim().split_once("://").unwrap_or(("https", m));
            let Some(i) = rest.find('/') else {
                continue;
            };
            let p = &rest[i..];
            if p.trim_end_matches('/').is_empty() {
                continue;
            }
            let fixed = format!("{scheme}://{}", &rest[..i]);
            out.push(
                Detection::new("mirror-url-with-path")
                    .with("mirror", m.clone())
                    .with("value", fixed)
                    .with("path", path.clone())
                    .with("live_restore", live_restore(ev))
                    .fact(format!("{path} registry-mirrors: \"{m}\" has the path {p}")),
            );
        }
    }
    out
}

/// A configured mirror failed its probe.
pub fn mirror_probe_failed(ev: &Evidence) -> Vec<Detection> {
    let dead = dead_list();
    let mut out = Vec::new();
    let path = ev
        .host
        .files
        .daemon_json
        .as_ref()
        .map(dj_path)
        .unwrap_or_else(|| "/etc/docker/daemon.json".into());
    for t in probes(ev).iter().filter(|t| t.target.role == Role::Mirror) {
        if t.outcome == Outcome::Ok || is_dead(&dead, &t.target.host) {
            continue;
        }
        let Some(e) = &t.error else {
            continue;
        };
        let mirror = if t.target.port == t.target.scheme.default_port() {
            t.target.host.clone()
        } else {
            format!("{}:{}", t.target.host, t.target.port)
        };
        let written = ev
            .host
            .files
            .daemon_json
            .iter()
            .flat_map(|d| &d.registry_mirrors)
            .find(|m| host_of(m).as_deref() == Some(t.target.host.as_str()))
            .cloned()
            .unwrap_or_else(|| format!("{}://{mirror}", t.target.scheme.as_str()));
        out.push(
            Detection::new("mirror-probe-failed")
                .with("mirror", mirror.clone())
                .with("value", written)
                .with("error", go_tail(&e.go))
                .with("path", path.clone())
                .fact(format!("probe: {} → {:?}: {}", t.http.url, t.outcome, e.go)),
        );
    }
    out
}

/// Go's error without the `Get "URL": ` of the http.Client (the URL is named elsewhere).
fn go_tail(e: &str) -> String {
    for op in ["Get ", "Head "] {
        if let Some(rest) = e.strip_prefix(op)
            && let Some(i) = rest.find(": ")
            && rest[..i].ends_with('"')
        {
            return rest[i + 2..].to_string();
        }
    }
    e.to_string()
}

/// Which registry a mirror host name says it mirrors (`k8s.m.daocloud.io` → registry.k8s.io).
fn mirrored_registry(host: &str) -> Option<&'static str> {
    if host == "mirror.gcr.io" {
        return None; // Google's Docker Hub mirror
    }
    let first = host.split('.').next().unwrap_or("");
    let by_label = match first {
        "gcr" => Some("gcr.io"),
        "k8s" | "k8s-gcr" | "registry-k8s" | "k8sgcr" => Some("registry.k8s.io"),
        "quay" => Some("quay.io"),
        "ghcr" => Some("ghcr.io"),
        "mcr" => Some("mcr.microsoft.com"),
        "nvcr" => Some("nvcr.io"),
        "elastic" => Some("docker.elastic.co"),
        _ => None,
    };
    by_label.or_else(|| {
        [
            ("gcr.io", "gcr.io"),
            ("k8s.io", "registry.k8s.io"),
            ("quay.io", "quay.io"),
            ("ghcr.io", "ghcr.io"),
        ]
        .into_iter()
        .find(|(s, _)| host == *s || host.ends_with(&format!(".{s}")))
        .map(|(_, r)| r)
    })
}

fn mirror_url(m: &str) -> String {
    let m = m.trim().trim_end_matches('/');
    if m.contains("://") {
        m.to_string()
    } else {
        format!("https://{m}")
    }
}

/// registry-mirrors only apply to Docker Hub: a mirror of another registry there, or a
/// failing non-Hub registry while mirrors are configured.
pub fn mirror_for_other_registry(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    let Some(dj) = &ev.host.files.daemon_json else {
        return out;
    };
    let path = dj_path(dj);
    for m in &dj.registry_mirrors {
        let Some(h) = host_of(m) else { continue };
        if let Some(reg) = mirrored_registry(&h) {
            out.push(
                Detection::new("mirror-for-other-registry")
                    .with("mirror", mirror_url(m))
                    .with("registry", reg)
                    .with("path", path.clone())
                    .fact(format!(
                        "{path} registry-mirrors: {m}, a mirror of {reg} by its name; dockerd uses registry-mirrors for docker.io only"
                    )),
            );
        }
    }
    if let Some(m) = dj.registry_mirrors.first() {
        for t in probes(ev) {
            if t.target.role != Role::Registry
                || t.outcome == Outcome::Ok
                || HUB_HOSTS.contains(&t.target.host.as_str())
                || t.target.host.ends_with("docker.io")
            {
                continue;
            }
            let mut d = Detection::new("mirror-for-other-registry")
                .with("mirror", mirror_url(m))
                .with("registry", t.target.host.clone())
                .with("path", path.clone())
                .fact(format!(
                    "{path} registry-mirrors: {} (used for docker.io only)",
                    dj.registry_mirrors.join(", ")
                ));
            if let Some(e) = &t.error {
                d = d.fact(format!("probe: {}", e.go));
            }
            out.push(d);
        }
    }
    out
}

/// Kubernetes pulls through containerd, which never reads daemon.json's mirrors.
pub fn daemon_mirrors_not_for_containerd(ev: &Evidence) -> Vec<Detection> {
    let Some((puller, why)) = containerd_pulls(ev) else {
        return vec![];
    };
    let dead = dead_list();
    let Some(dj) = &ev.host.files.daemon_json else {
        return vec![];
    };
    let Some(m) = dj.registry_mirrors.iter().find(|m| !is_dead(&dead, m)) else {
        return vec![];
    };
    let cfg = ev.host.files.containerd_config.as_ref();
    if cfg.is_some_and(|c| c.mirrors.contains_key("docker.io")) {
        return vec![];
    }
    if ev
        .host
        .files
        .hosts_toml
        .values()
        .any(|h| h.namespace == "docker.io" || h.namespace == "_default")
    {
        return vec![];
    }
    let config_path = cfg
        .and_then(|c| c.config_path.clone())
        .unwrap_or_else(|| "(not set)".into());
    vec![
        Detection::new("daemon-mirrors-not-for-containerd")
            .with("puller", puller)
            .with("mirror", mirror_url(m))
            .with("path", "/etc/containerd/certs.d/docker.io/hosts.toml")
            .with("config_path", config_path.clone())
            .fact(format!("{} registry-mirrors: {}", dj_path(dj), dj.registry_mirrors.join(", ")))
            .facts(why)
            .fact(format!(
                "containerd: no hosts.toml for docker.io, no registry.mirrors; config_path {config_path}"
            )),
    ]
}

// ---------------------------------------------------------------------------------------
// DNS.

fn is_public_registry(host: &str) -> bool {
    PUBLIC_REGISTRY_SUFFIXES
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")))
        || HUB_HOSTS.contains(&host)
}

/// An answer no public registry has: loopback, private, CGNAT, link-local, the
/// 198.18.0.0/15 range that Clash-style "fake-ip" DNS hands out, or reserved.
fn bogus(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn join_ips(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The system resolver and a reference resolver disagree, and the system's answer is
/// bogus or does not work.
pub fn dns_resolvers_disagree(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for t in probes(ev) {
        if t.target.proxy.is_some() {
            continue; // the proxy resolves the name, not this machine
        }
        let Some(dns) = &t.dns else { continue };
        let Some(sys) = dns.system.as_ref().filter(|a| a.ok()) else {
            continue;
        };
        let sys_set: BTreeSet<&IpAddr> = sys.addrs.iter().collect();
        let Some(reference) = dns
            .servers
            .iter()
            .find(|a| a.ok() && a.addrs.iter().all(|ip| !sys_set.contains(ip)))
        else {
            continue;
        };
        let sys_bogus = sys.addrs.iter().all(bogus) && is_public_registry(&t.target.host);
        let failed = t.outcome != Outcome::Ok;
        if !(sys_bogus || failed) || reference.addrs.iter().all(bogus) {
            continue;
        }
        let mut d = Detection::new("dns-resolvers-disagree")
            .with("host", t.target.host.clone())
            .with("system_answer", join_ips(&sys.addrs))
            .with("reference_answer", join_ips(&reference.addrs))
            .with("dns_server", reference.resolver.clone())
            .fact(format!(
                "system resolver (getaddrinfo, /etc/hosts included): {} → {}",
                t.target.host,
                join_ips(&sys.addrs)
            ))
            .fact(format!(
                "resolver {}: {} → {}",
                reference.resolver,
                t.target.host,
                join_ips(&reference.addrs)
            ));
        if sys_bogus {
            d = d.fact(format!(
                "{} is not an address a public registry uses (private, loopback or fake-ip range)",
                join_ips(&sys.addrs)
            ));
        }
        if let Some(e) = &t.error {
            d = d.fact(format!("probe via the system's answer: {}", e.go));
        }
        out.push(d);
    }
    out
}

/// The last two labels of a host name (`registry-1.docker.io` → `docker.io`).
fn site(host: &str) -> String {
    let labels: Vec<&str> = host.trim_start_matches("*.").rsplitn(3, '.').collect();
    match labels.as_slice() {
        [tld, sld, ..] => format!("{sld}.{tld}"),
        _ => host.to_string(),
    }
}

fn leaf_names(tls: &TlsProbe) -> Vec<String> {
    tls.chain
        .first()
        .map(|c| c.dns_names.clone())
        .unwrap_or_default()
}

/// A registry host answered (directly) with a certificate for an unrelated domain.
pub fn dns_cert_other_domain(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for t in probes(ev) {
        if t.target.proxy.is_some() {
            continue;
        }
        let Some(tls) = &t.http.tls else { continue };
        let mismatch = tls
            .verdicts
            .iter()
            .any(|v| v.reason == VerdictReason::NameMismatch);
        if !mismatch {
            continue;
        }
        let names = leaf_names(tls);
        let want = site(&t.target.host);
        if names.is_empty() || names.iter().any(|n| site(n) == want) {
            continue;
        }
        // Poisoning needs a name that was resolved, and a reason to doubt the
        // answer: a public registry (whose real certificate is known to match),
        // or resolvers that disagree. A private registry serving the wrong
        // certificate at its own address is a plain name mismatch.
        let literal = t.target.host.parse::<std::net::IpAddr>().is_ok();
        let disagree = t.dns.as_ref().and_then(|d| d.agree) == Some(false);
        if literal || !(is_public_registry(&t.target.host) || disagree) {
            continue;
        }
        let addr = t
            .http
            .dial
            .as_ref()
            .and_then(|d| d.attempts.iter().find(|a| a.ok))
            .map(|a| a.addr.ip().to_string())
            .unwrap_or_else(|| "?".into());
        let mut d = Detection::new("dns-cert-other-domain")
            .with("host", t.target.host.clone())
            .with("address", addr.clone())
            .with("names", names.join(", "))
            .fact(format!(
                "TLS to {} at {addr}: the certificate is for {} (issuer {})",
                t.target.host,
                names.join(", "),
                tls.chain.first().map(|c| c.issuer.as_str()).unwrap_or("?")
            ));
        if let Some(dns) = &t.dns
            && let Some(sys) = &dns.system
        {
            d = d.fact(format!(
                "system resolver: {} → {}",
                t.target.host,
                join_ips(&sys.addrs)
            ));
        }
        out.push(d);
    }
    out
}

/// `/etc/hosts` pins a public registry host to a fixed address.
pub fn etc_hosts_pins_registry(ev: &Evidence) -> Vec<Detection> {
    let Some(h) = &ev.host.files.etc_hosts else {
        return vec![];
    };
    let path = h.source.path().unwrap_or("/etc/hosts").to_string();
    let mut out = Vec::new();
    for e in &h.entries {
        let Some(name) = e
            .names
            .iter()
            .find(|n| is_public_registry(&n.to_ascii_lowercase()))
        else {
            continue;
        };
        let mut d = Detection::new("etc-hosts-pins-registry")
            .with("host", name.clone())
            .with("address", e.ip.clone())
            .with("line", e.line.to_string())
            .with("path", path.clone())
            .fact(format!("{path}:{} {} {}", e.line, e.ip, e.names.join(" ")));
        if let Some(t) = target(ev, name)
            && let Some(err) = &t.error
        {
            d = d.fact(format!("probe: {}", err.go));
        }
        out.push(d);
    }
    out
}

// ---------------------------------------------------------------------------------------
// TLS, time, quota, IPv6, CDN.

/// TLS-inspection products, by a word of their CA's name.
const INSPECTORS: &[(&str, &str)] = &[
    ("zscaler", "Zscaler"),
    ("fortinet", "Fortinet FortiGate"),
    ("fortigate", "Fortinet FortiGate"),
    ("palo alto", "Palo Alto Networks"),
    ("paloalto", "Palo Alto Networks"),
    ("netskope", "Netskope"),
    ("umbrella", "Cisco Umbrella"),
    ("opendns", "Cisco Umbrella"),
    ("cisco", "Cisco"),
    ("sophos", "Sophos"),
    ("kaspersky", "Kaspersky"),
    ("blue coat", "Blue Coat (Symantec ProxySG)"),
    ("bluecoat", "Blue Coat (Symantec ProxySG)"),
    ("proxysg", "Blue Coat (Symantec ProxySG)"),
    ("symantec", "Symantec"),
    ("check point", "Check Point"),
    ("checkpoint", "Check Point"),
    ("forcepoint", "Forcepoint"),
    ("websense", "Forcepoint (Websense)"),
    ("mcafee", "McAfee / Skyhigh Web Gateway"),
    ("skyhigh", "McAfee / Skyhigh Web Gateway"),
    ("barracuda", "Barracuda"),
    ("watchguard", "WatchGuard"),
    ("sonicwall", "SonicWall"),
    ("eset", "ESET"),
    ("avast", "Avast"),
    ("avg ", "AVG"),
    ("bitdefender", "Bitdefender"),
    ("trend micro", "Trend Micro"),
    ("iboss", "iboss"),
    ("menlo", "Menlo Security"),
    ("cloudflare for teams", "Cloudflare Gateway"),
    ("gateway ca - cloudflare", "Cloudflare Gateway"),
    ("sangfor", "Sangfor (深信服)"),
    ("深信服", "Sangfor (深信服)"),
    ("hillstone", "Hillstone (山石网科)"),
    ("qianxin", "Qi-Anxin (奇安信)"),
    ("qi-anxin", "Qi-Anxin (奇安信)"),
    ("奇安信", "Qi-Anxin (奇安信)"),
    ("topsec", "Topsec (天融信)"),
    ("nsfocus", "NSFOCUS (绿盟)"),
    ("h3c", "H3C"),
    ("ruijie", "Ruijie (锐捷)"),
    ("fiddler", "Fiddler"),
    ("charles proxy", "Charles Proxy"),
    ("mitmproxy", "mitmproxy"),
    ("portswigger", "Burp Suite"),
];

fn inspector(tls: &TlsProbe) -> Option<&'static str> {
    tls.chain.iter().find_map(|c| {
        let text = format!("{} {}", c.issuer, c.subject).to_lowercase();
        INSPECTORS
            .iter()
            .find(|(k, _)| text.contains(k))
            .map(|(_, p)| *p)
    })
}

/// The chain of `t` is not trusted for lack of a root, by the store dockerd uses nor by
/// Mozilla's.
fn untrusted_chain(t: &TargetProbe) -> Option<&TlsProbe> {
    let tls = t.http.tls.as_ref()?;
    let docker = tls.verdict("docker").or(tls.verdict("system"))?;
    let unknown = |r: VerdictReason| {
        matches!(
            r,
            VerdictReason::UnknownAuthority | VerdictReason::BadSignature
        )
    };
    if docker.ok || !unknown(docker.reason) {
        return None;
    }
    if tls.verdict("mozilla").is_some_and(|m| m.ok) {
        return None;
    }
    Some(tls)
}

fn chain_issuer(tls: &TlsProbe) -> String {
    tls.chain
        .last()
        .map(|c| c.issuer.clone())
        .unwrap_or_else(|| "?".into())
}

fn chain_facts(t: &TargetProbe, tls: &TlsProbe) -> Vec<String> {
    let mut out = vec![format!(
        "TLS to {}:{}{}: {} certificate(s) presented",
        t.target.host,
        t.target.port,
        t.target
            .proxy
            .as_ref()
            .map(|p| format!(" via {}", crate::probe::plan::redact_proxy(p)))
            .unwrap_or_default(),
        tls.chain_presented
    )];
    for (i, c) in tls.chain.iter().enumerate() {
        out.push(format!(
            "  #{i} subject {} / issuer {}",
            c.subject, c.issuer
        ));
    }
    for v in &tls.verdicts {
        out.push(format!(
            "store {} ({} roots): {}",
            v.store,
            v.roots,
            if v.ok {
                "trusted".to_string()
            } else {
                v.go_error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", v.reason))
            }
        ));
    }
    out
}

/// `host[:port]` as Docker names a registry (and its `certs.d` directory).
fn registry_name(t: &TargetProbe) -> String {
    if t.target.port == t.target.scheme.default_port() {
        t.target.host.clone()
    } else {
        format!("{}:{}", t.target.host, t.target.port)
    }
}

/// A TLS-inspecting product sits between this machine and a registry.
pub fn tls_inspection_product(ev: &Evidence) -> Vec<Detection> {
    let mut out: Vec<Detection> = Vec::new();
    for t in probes(ev) {
        let Some(tls) = untrusted_chain(t) else {
            continue;
        };
        let Some(product) = inspector(tls) else {
            continue;
        };
        out.push(
            Detection::new("tls-inspection-product")
                .with("host", t.target.host.clone())
                .with("server_name", tls.server_name.clone())
                .with("port", t.target.port.to_string())
                .with("registry", registry_name(t))
                .with("product", product)
                .with("issuer", chain_issuer(tls))
                .facts(chain_facts(t, tls)),
        );
    }
    out
}

/// A registry presents a chain no trusted root vouches for (issuer unknown to us).
pub fn tls_untrusted_issuer(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for t in probes(ev) {
        let Some(tls) = untrusted_chain(t) else {
            continue;
        };
        if inspector(tls).is_some() {
            continue;
        }
        out.push(
            Detection::new("tls-untrusted-issuer")
                .with("host", t.target.host.clone())
                .with("server_name", tls.server_name.clone())
                .with("port", t.target.port.to_string())
                .with("registry", registry_name(t))
                .with("issuer", chain_issuer(tls))
                .facts(chain_facts(t, tls)),
        );
    }
    out
}

fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 && d == 0 {
        out.push_str(&format!("{m}m"));
    }
    if out.is_empty() || (d == 0 && h == 0 && sec > 0 && m < 10) {
        out.push_str(&format!("{sec}s"));
    }
    format!("{}{out}", if secs < 0 { "-" } else { "+" })
}

/// The registry's Date header and the local clock differ by more than five minutes.
pub fn clock_skew(ev: &Evidence) -> Vec<Detection> {
    // The registry's own clock first, then the largest difference.
    let Some(t) = probes(ev)
        .iter()
        .filter(|t| {
            t.clock_skew_secs
                .is_some_and(|s| s.abs() >= CLOCK_SKEW_LIMIT_SECS)
        })
        .min_by_key(|t| {
            (
                t.target.role != Role::Registry,
                -t.clock_skew_secs.map_or(0, i64::abs),
            )
        })
    else {
        return vec![];
    };
    let skew = t.clock_skew_secs.unwrap_or(0);
    let resp = t.http.response.as_ref();
    let date = resp
        .and_then(|r| r.date.clone())
        .unwrap_or_else(|| "?".into());
    let local = resp
        .map(|r| r.local_time.clone())
        .unwrap_or_else(|| "?".into());
    let mut d = Detection::new("clock-skew")
        .with("host", t.target.host.clone())
        .with("skew", human_duration(skew))
        .with("date", date.clone())
        .with("local_time", local.clone())
        .fact(format!(
            "{}: Date: {date}; local clock {local}; registry minus local = {skew} s",
            t.target.host
        ));
    if let Some(tls) = &t.http.tls {
        for v in tls.verdicts.iter().filter(|v| {
            matches!(
                v.reason,
                VerdictReason::Expired | VerdictReason::NotYetValid
            )
        }) {
            d = d.fact(format!(
                "store {}: {}",
                v.store,
                v.go_error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", v.reason))
            ));
        }
    }
    vec![d]
}

/// Docker Hub says no anonymous pulls are left for this address.
pub fn hub_quota_exhausted(ev: &Evidence) -> Vec<Detection> {
    let Some(q) = ev.probes.as_ref().and_then(|p| p.hub_quota.as_ref()) else {
        return vec![];
    };
    if q.remaining != Some(0) {
        return vec![];
    }
    let window = q
        .remaining_window_secs
        .or(q.limit_window_secs)
        .map(|w| human_duration(w as i64).trim_start_matches('+').to_string())
        .unwrap_or_else(|| "?".into());
    vec![
        Detection::new("hub-quota-exhausted")
            .with("remaining", "0")
            .with(
                "limit",
                q.limit.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
            )
            .with("window", window.clone())
            .with(
                "source",
                q.source.clone().unwrap_or_else(|| "this address".into()),
            )
            .fact(format!(
                "Docker Hub RateLimit-Remaining: 0 (limit {} per {window}){}",
                q.limit.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
                q.source
                    .as_ref()
                    .map(|s| format!(", counted against {s}"))
                    .unwrap_or_default()
            )),
    ]
}

/// A registry's AAAA answer is dialled and there is no IPv6 route.
pub fn ipv6_dial_failed(ev: &Evidence) -> Vec<Detection> {
    let mut out = Vec::new();
    for t in probes(ev) {
        if t.target.proxy.is_some() {
            continue;
        }
        let Some(dial) = &t.http.dial else { continue };
        let Some(a) = dial.attempts.iter().find(|a| {
            a.addr.is_ipv6()
                && !a.ok
                && a.error.as_ref().is_some_and(|e| {
                    matches!(
                        e.class,
                        ErrorClass::NetworkUnreachable
                            | ErrorClass::HostUnreachable
                            | ErrorClass::Timeout
                    )
                })
        }) else {
            continue;
        };
        let err = a.error.as_ref().map(|e| e.go.clone()).unwrap_or_default();
        let v4_ok = dial.attempts.iter().any(|x| x.ok && x.addr.is_ipv4());
        let mut d = Detection::new("ipv6-dial-failed")
            .with("host", t.target.host.clone())
            .with("address", a.addr.ip().to_string())
            .with("error", err.clone())
            .fact(format!("dial {}: {err}", a.addr));
        if let Some(dns) = &t.dns {
            let v6: Vec<IpAddr> = dns
                .dial_addrs()
                .into_iter()
                .filter(IpAddr::is_ipv6)
                .collect();
            if !v6.is_empty() {
                d = d.fact(format!(
                    "{} has IPv6 (AAAA) answers: {}",
                    t.target.host,
                    join_ips(&v6)
                ));
            }
        }
        d = d.fact(if v4_ok {
            "IPv4 connected afterwards: pulls work but wait for the IPv6 attempt first".to_string()
        } else {
            "no IPv4 attempt connected".to_string()
        });
        out.push(d);
    }
    out
}

/// Docker Hub's registry answers, its blob CDN does not.
pub fn blob_cdn_unreachable(ev: &Evidence) -> Vec<Detection> {
    let Some(reg) = probes(ev)
        .iter()
        .find(|t| t.target.role == Role::Registry && t.outcome == Outcome::Ok)
    else {
        return vec![];
    };
    let mut out = Vec::new();
    for t in probes(ev)
        .iter()
        .filter(|t| t.target.role == Role::BlobCdn && t.outcome != Outcome::Ok)
    {
        let err = t
            .error
            .as_ref()
            .map(|e| go_tail(&e.go))
            .unwrap_or_else(|| format!("{:?}", t.outcome));
        let full = t.error.as_ref().map_or(err.clone(), |e| e.go.clone());
        let route = |p: &Option<String>| {
            p.as_ref()
                .map(|p| format!("via {}", crate::probe::plan::redact_proxy(p)))
                .unwrap_or_else(|| "direct".into())
        };
        out.push(
            Detection::new("blob-cdn-unreachable")
                .with("host", t.target.host.clone())
                .with("registry", reg.target.host.clone())
                .with("error", err.clone())
                .fact(format!(
                    "probe {} ({}): answered",
                    reg.http.url,
                    route(&reg.target.proxy)
                ))
                .fact(format!(
                    "probe {} ({}): {full}",
                    t.http.url,
                    route(&t.target.proxy)
                )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detector_names_an_evidence_rule() {
        let cat = Catalog::builtin().unwrap();
        for (slug, _) in DETECTORS {
            let r = cat
                .rule(slug)
                .unwrap_or_else(|| panic!("detector {slug}: no such rule"));
            assert_eq!(r.family(), 7, "{slug} is not an evidence rule");
            assert!(!r.is_log_rule(), "{slug} has patterns");
        }
        for r in cat.rules.iter().filter(|r| r.family() == 7) {
            assert!(
                DETECTORS.iter().any(|(s, _)| *s == r.slug),
                "rule {} ({}) has no detector",
                r.id,
                r.slug
            );
        }
    }

    #[test]
    fn versions() {
        assert!(version_at_least("2.3.1", (2, 3)));
        assert!(version_at_least("v2.10.0", (2, 3)));
        assert!(!version_at_least("2.2.9", (2, 3)));
        assert!(version_at_least("29.5.0-rc.1", (29, 5)));
        assert!(!version_at_least("28.1.1", (29, 5)));
        assert!(!version_at_least("unknown", (1, 0)));
    }

    #[test]
    fn hub_bypass_entries() {
        assert!(bypasses_hub(".docker.io"));
        assert!(bypasses_hub(".docker.com"));
        assert!(bypasses_hub("*"));
        assert!(bypasses_hub("docker.io"));
        assert!(!bypasses_hub("docker-registry.example.com"));
        assert!(!bypasses_hub("10.0.0.0/8"));
        assert_eq!(
            safe_no_proxy(
                Some("localhost,127.0.0.1,.corp,.docker.io,.docker.com"),
                &[]
            ),
            "localhost,127.0.0.1,.corp"
        );
    }

    #[test]
    fn loopback_rewrite() {
        let px = Px::new("http://127.0.0.1:7890", "HTTPS_PROXY", "x");
        assert!(px.loopback);
        assert_eq!(rewrite_host(&px, "192.168.5.2"), "http://192.168.5.2:7890");
        let px = Px::new("socks5://u:p@localhost:1080/", "HTTPS_PROXY", "x");
        assert_eq!(
            rewrite_host(&px, "172.28.160.1"),
            "socks5://u:p@172.28.160.1:1080"
        );
        let px = Px::new("127.0.0.1:3128", "HTTPS_PROXY", "x");
        assert_eq!(px.url.as_deref(), Some("http://127.0.0.1:3128"));
        assert_eq!(px.port, 3128);
    }

    #[test]
    fn mirror_names() {
        assert_eq!(
            mirrored_registry("k8s.m.daocloud.io"),
            Some("registry.k8s.io")
        );
        assert_eq!(mirrored_registry("gcr.mirrors.ustc.edu.cn"), Some("gcr.io"));
        assert_eq!(mirrored_registry("docker.m.daocloud.io"), None);
        assert_eq!(mirrored_registry("mirror.gcr.io"), None);
        assert_eq!(site("registry-1.docker.io"), "docker.io");
        assert_eq!(site("*.facebook.com"), "facebook.com");
        assert_eq!(human_duration(-7380), "-2h3m");
        assert_eq!(human_duration(21600), "+6h");
        assert_eq!(human_duration(400), "+6m40s");
    }
}
