//! Where pulldoctor runs: a Lima/Colima guest, WSL (1 or 2; NAT or mirrored), a host with
//! rootless Docker, a Kubernetes node, a container. Docker Desktop is recognised from
//! `docker info` instead ([`super::docker_cli::is_docker_desktop`]).
//!
//! Each detection lists its signals, so a report can say *why*.

use serde::{Deserialize, Serialize};

use super::commands::CommandsEvidence;
use super::fsread::{Fs, Kind};
use super::procnet::{Route, parse_proc_net_route};
use super::{FILE_CAP, HostEvidence, LocalOptions, Source};

/// Lima's user-mode network gateway: the host's loopback as seen from the guest.
pub const LIMA_GATEWAY: &str = "192.168.5.2";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Detection {
    pub detected: bool,
    /// Human-readable reasons, e.g. `/etc/hosts maps host.lima.internal`.
    pub signals: Vec<String>,
}

impl Detection {
    fn add(&mut self, signal: impl Into<String>) {
        self.signals.push(signal.into());
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WslPlatform {
    /// 1 or 2.
    pub version: u8,
    /// `/proc/version`'s kernel release.
    pub kernel: String,
    /// `mirrored` (an interface `loopback0` exists), `nat` (WSL2 without it) or `n/a`
    /// (WSL1). `wslinfo --networking-mode`, when run, is authoritative: see
    /// [`wsl_networking_mode`].
    pub networking_mode: String,
    pub signals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub lima_guest: Detection,
    /// A Lima guest run by Colima (hostname `colima` or `colima-<profile>`).
    pub colima_guest: Detection,
    pub wsl: Option<WslPlatform>,
    pub rootless_docker: Detection,
    pub kubernetes_node: Detection,
    /// pulldoctor itself runs in a container (`/.dockerenv`, `/run/.containerenv`).
    pub in_container: Detection,
    /// Default IPv4 routes from `/proc/net/route`.
    pub default_routes: Vec<Route>,
    pub route_source: Option<Source>,
    /// Docker API sockets that exist (paths on the diagnosed system).
    pub docker_sockets: Vec<String>,
    /// CRI sockets that exist.
    pub cri_sockets: Vec<String>,
}

impl Platform {
    /// The default gateway (first default route), if any.
    pub fn default_gateway(&self) -> Option<&str> {
        self.default_routes.first().map(|r| r.gateway.as_str())
    }
}

pub(crate) fn detect(fs: &mut Fs, opts: &LocalOptions, ev: &HostEvidence) -> Platform {
    let mut p = Platform::default();
    let home = opts.home_str();

    if let Some((text, src)) = fs.read_text("/proc/net/route", FILE_CAP, false) {
        p.default_routes = parse_proc_net_route(&text)
            .into_iter()
            .filter(Route::is_default)
            .collect();
        p.default_routes.sort_by_key(|r| r.metric);
        p.route_source = Some(src);
    }

    // --- Lima / Colima.
    let lima = &mut p.lima_guest;
    let mut strong = false;
    if let Some(h) = &ev.files.etc_hosts
        && h.entries
            .iter()
            .any(|e| e.names.iter().any(|n| n == "host.lima.internal"))
    {
        lima.add("/etc/hosts maps host.lima.internal");
        strong = true;
    }
    if ev
        .files
        .etc_environment
        .as_ref()
        .is_some_and(|e| e.lima_block)
    {
        lima.add("/etc/environment has a #LIMA-START block");
        strong = true;
    }
    if fs.kind("/mnt/lima-cidata") == Some(Kind::Dir) {
        lima.add("/mnt/lima-cidata exists");
        strong = true;
    }
    if let Some((entries, _)) = fs.list_dir("/etc", false) {
        for (name, _) in entries
            .iter()
            .filter(|(n, _)| n.starts_with("lima-") || n == "lima")
        {
            lima.add(format!("/etc/{name} exists"));
            strong = true;
        }
    }
    if opts.env.keys().any(|k| k.starts_with("LIMA_CIDATA")) {
        lima.add("LIMA_CIDATA_* variables are set");
        strong = true;
    }
    if home.ends_with(".linux") && home.starts_with("/home/") {
        lima.add(format!(
            "home directory {home} follows Lima's <user>.linux pattern"
        ));
    }
    if opts.env.get("USER").is_some_and(|u| u == "lima") {
        lima.add("user is lima");
    }
    if p.default_routes.iter().any(|r| r.gateway == LIMA_GATEWAY) {
        lima.add(format!("default gateway is {LIMA_GATEWAY}"));
    }
    lima.detected = strong || lima.signals.len() >= 2;

    if let Some(h) = &ev.files.hostname {
        let name = h.value.as_str();
        if name == "colima" || name.starts_with("colima-") {
            p.colima_guest.add(format!("hostname is {name}"));
        }
    }
    p.colima_guest.detected = p.lima_guest.detected && !p.colima_guest.signals.is_empty();

    // --- WSL.
    if let Some(v) = &ev.files.proc_version {
        let text = v.value.as_str();
        let kernel = text.split_whitespace().nth(2).unwrap_or("").to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("microsoft") || lower.contains("wsl") {
            let version = if lower.contains("wsl2") || lower.contains("microsoft-standard") {
                2
            } else {
                1
            };
            let mut w = WslPlatform {
                version,
                kernel,
                ..Default::default()
            };
            w.signals.push(format!(
                "/proc/version: {}",
                text.chars().take(120).collect::<String>()
            ));
            if let Some(d) = opts.var("WSL_DISTRO_NAME") {
                w.signals.push(format!("WSL_DISTRO_NAME={d}"));
            }
            w.networking_mode = if version == 1 {
                "n/a".into()
            } else if fs.exists("/sys/class/net/loopback0") {
                w.signals
                    .push("interface loopback0 exists (mirrored networking)".into());
                "mirrored".into()
            } else {
                w.signals
                    .push("no loopback0 interface (NAT networking)".into());
                "nat".into()
            };
            if let Some(c) = &ev.files.wsl_conf {
                if let Some(s) = c.get("boot", "systemd") {
                    w.signals.push(format!("/etc/wsl.conf [boot] systemd={s}"));
                }
                if let Some(s) = c.get("network", "generateResolvConf") {
                    w.signals
                        .push(format!("/etc/wsl.conf [network] generateResolvConf={s}"));
                }
            }
            p.wsl = Some(w);
        }
    }

    // --- Rootless Docker.
    let rl = &mut p.rootless_docker;
    if let Some(h) = opts.var("DOCKER_HOST")
        && let Some(rest) = h.strip_prefix("unix:///run/user/")
        && rest.ends_with("/docker.sock")
    {
        rl.add(format!("DOCKER_HOST={h}"));
    }
    if let Some(x) = opts.var("XDG_RUNTIME_DIR") {
        let sock = format!("{}/docker.sock", x.trim_end_matches('/'));
        if fs.kind(&sock) == Some(Kind::Socket) {
            rl.add(format!("{sock} exists"));
        }
    }
    if ev.user_units.contains_key("docker.service") {
        rl.add("user unit docker.service exists");
    }
    if ev.files.rootless_daemon_json.is_some() {
        rl.add("rootless daemon.json exists");
    }
    rl.detected = !rl.signals.is_empty();

    // --- Kubernetes node.
    let k = &mut p.kubernetes_node;
    for path in [
        "/etc/kubernetes/kubelet.conf",
        "/var/lib/kubelet/config.yaml",
        "/etc/kubernetes/manifests",
        "/var/lib/kubelet",
    ] {
        if fs.exists(path) {
            k.add(format!("{path} exists"));
        }
    }
    k.detected = !k.signals.is_empty();
    for sock in [
        "/run/containerd/containerd.sock",
        "/run/k3s/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/run/cri-dockerd.sock",
    ] {
        if fs.kind(sock) == Some(Kind::Socket) {
            p.cri_sockets.push(sock.to_string());
        }
    }

    // --- Docker sockets.
    let mut socks = vec![
        "/var/run/docker.sock".to_string(),
        "/run/docker.sock".to_string(),
        format!("{home}/.docker/run/docker.sock"),
        format!("{home}/.docker/desktop/docker.sock"),
    ];
    if let Some(x) = opts.var("XDG_RUNTIME_DIR") {
        socks.push(format!("{}/docker.sock", x.trim_end_matches('/')));
    }
    for profile in ev.files.colima.keys() {
        socks.push(format!("{home}/.colima/{profile}/docker.sock"));
    }
    let mut seen = Vec::new();
    for s in socks {
        // /var/run is usually a symlink to /run: report each socket once.
        if let Ok(r) = fs.resolve(&s)
            && fs.kind(&s) == Some(Kind::Socket)
            && !seen.contains(&r.logical)
        {
            seen.push(r.logical);
            p.docker_sockets.push(s);
        }
    }

    // --- Container.
    for path in ["/.dockerenv", "/run/.containerenv"] {
        if fs.exists(path) {
            p.in_container.add(format!("{path} exists"));
        }
    }
    p.in_container.detected = !p.in_container.signals.is_empty();

    p
}

/// WSL networking mode: `wslinfo --networking-mode` when it ran, else the file-based guess.
pub fn wsl_networking_mode(host: &HostEvidence, cmds: &CommandsEvidence) -> Option<String> {
    if let Some(m) = cmds.wslinfo.parsed.clone() {
        return Some(m);
    }
    host.platform
        .wsl
        .as_ref()
        .map(|w| w.networking_mode.clone())
}

/// Whether the Docker daemon looks rootless from either side: files/environment, or
/// `docker info` reporting `name=rootless` in SecurityOptions.
pub fn rootless_docker(host: &HostEvidence, cmds: &CommandsEvidence) -> bool {
    host.platform.rootless_docker.detected
        || cmds.docker_info.parsed.as_ref().is_some_and(|i| i.rootless)
}
