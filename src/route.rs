//! Which proxy settings each component really sees, and where each came from.
//!
//! dockerd reads its own process environment (systemd unit and drop-ins,
//! `EnvironmentFile=`), overridden per field by daemon.json `proxies`; never
//! the shell. containerd (and crictl, kubelet) read containerd.service's. Build
//! RUN steps get `~/.docker/config.json` proxies as build args. A Go program
//! started from the shell (skopeo, podman, client-side nerdctl) reads the
//! shell's variables under Go's rules; curl under curl's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evidence::commands::CommandsEvidence;
use crate::evidence::{HostEvidence, Source};
use crate::proxyenv::{self, Decision, GoProxyConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Dockerd,
    Containerd,
    BuildRun,
    Go,
    Curl,
    /// buildkitd run as its own service (nerdctl build, buildctl).
    Buildkitd,
    /// nerdctl pull: client-side or daemon-side depending on versions.
    Nerdctl,
    /// ctr images pull: client-side on containerd 1.x, daemon-side on 2.x.
    Ctr,
}

impl Component {
    pub const ALL: [Component; 8] = [
        Component::Dockerd,
        Component::Containerd,
        Component::BuildRun,
        Component::Go,
        Component::Curl,
        Component::Buildkitd,
        Component::Nerdctl,
        Component::Ctr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Dockerd => "dockerd",
            Component::Containerd => "containerd",
            Component::BuildRun => "build-run",
            Component::Go => "go",
            Component::Curl => "curl",
            Component::Buildkitd => "buildkitd",
            Component::Nerdctl => "nerdctl",
            Component::Ctr => "ctr",
        }
    }
}

/// One variable as a component sees it, with where it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub value: String,
    /// Human-readable origin: a file path, `systemctl show docker.service`, `shell`.
    pub from: String,
}

/// The proxy environment of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentEnv {
    pub vars: BTreeMap<String, Setting>,
    /// Whether anything at all is known about this component's environment.
    pub known: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ComponentEnv {
    fn set(&mut self, k: &str, v: &str, from: &str) {
        self.vars.insert(
            k.to_string(),
            Setting {
                value: v.to_string(),
                from: from.to_string(),
            },
        );
    }

    fn get(&self, k: &str) -> Option<String> {
        self.vars.get(k).map(|s| s.value.clone())
    }

    /// Go's view of these variables.
    pub fn go_config(&self) -> GoProxyConfig {
        GoProxyConfig::from_env(|k| self.get(k))
    }
}

const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

fn source_label(s: &Source) -> String {
    match s {
        Source::File { path, .. } => path.clone(),
        Source::Command { argv, .. } => argv.join(" "),
        Source::Env => "shell".into(),
    }
}

/// The proxy environment `c` runs with, from the machine's evidence.
pub fn component_env(host: &HostEvidence, cmds: &CommandsEvidence, c: Component) -> ComponentEnv {
    let mut env = ComponentEnv::default();
    match c {
        Component::Dockerd | Component::Containerd => {
            let unit = if c == Component::Dockerd {
                "docker.service"
            } else {
                "containerd.service"
            };
            unit_env(host, cmds, unit, &mut env);
            if c == Component::Dockerd {
                daemon_json_env(host, &mut env);
                if let Some(info) = cmds
                    .docker_info
                    .parsed
                    .as_ref()
                    .filter(|i| i.server_reachable)
                {
                    if crate::evidence::docker_cli::is_docker_desktop(info) {
                        env.notes.push(
                            "Docker Desktop: pulls use Desktop's own proxy settings (Settings → Resources → Proxies); daemon.json proxies are ignored".into(),
                        );
                    }
                    if !env
                        .vars
                        .keys()
                        .any(|k| k.to_ascii_lowercase().ends_with("_proxy"))
                    {
                        let from = "docker info (the running daemon)";
                        for (k, v) in [
                            ("HTTP_PROXY", &info.http_proxy),
                            ("HTTPS_PROXY", &info.https_proxy),
                            ("NO_PROXY", &info.no_proxy),
                        ] {
                            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                                env.set(k, v, from);
                                env.known = true;
                            }
                        }
                    }
                }
            }
        }
        Component::BuildRun => {
            if let Some(cfg) = &host.files.docker_config {
                let from = format!("{} proxies", source_label(&cfg.source));
                let docker_host = host
                    .env
                    .vars
                    .get("DOCKER_HOST")
                    .cloned()
                    .unwrap_or_default();
                let p = cfg
                    .proxies
                    .get(&docker_host)
                    .or_else(|| cfg.proxies.get("default"));
                if let Some(p) = p {
                    env.known = true;
                    // buildx passes these (upper case) as build args; BuildKit exports both cases.
                    for (k, v) in [
                        ("HTTP_PROXY", &p.http_proxy),
                        ("HTTPS_PROXY", &p.https_proxy),
                        ("NO_PROXY", &p.no_proxy),
                    ] {
                        if let Some(v) = v {
                            env.set(k, v, &from);
                            env.set(&k.to_ascii_lowercase(), v, &from);
                        }
                    }
                }
            }
            if env.vars.values().any(|s| {
                crate::evidence::host_of(&s.value).is_some_and(|h| {
                    h == "localhost"
                        || h.parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                })
            }) {
                env.notes.push(
                    "inside a RUN step, 127.0.0.1 is the build container itself, not the host"
                        .into(),
                );
            }
        }
        Component::Go | Component::Curl => shell_env(host, &mut env),
        Component::Buildkitd => unit_env(host, cmds, "buildkit.service", &mut env),
        Component::Nerdctl | Component::Ctr => {
            let v = if c == Component::Nerdctl {
                cmds.nerdctl_version.parsed.as_ref()
            } else {
                cmds.ctr_version.parsed.as_ref()
            };
            let client = v.and_then(|v| v.client_version.clone());
            let server = v.and_then(|v| v.containerd_version.clone());
            let server_2 = server.as_deref().is_some_and(|v| version_at_least(v, 2, 0));
            // nerdctl >= 2.3 on containerd >= 2.0 pulls through the transfer
            // service; ctr on containerd 2.x does unless --local (DOMAIN.md §6).
            let daemon_side = match c {
                Component::Nerdctl => {
                    client.as_deref().is_some_and(|v| version_at_least(v, 2, 3)) && server_2
                }
                _ => server_2,
            };
            let versions = format!(
                "{} {}, containerd {}",
                c.name(),
                client.as_deref().unwrap_or("(version unknown)"),
                server.as_deref().unwrap_or("(version unknown)")
            );
            if daemon_side {
                unit_env(host, cmds, "containerd.service", &mut env);
                let local = if c == Component::Ctr {
                    "; `ctr images pull --local` pulls client-side instead"
                } else {
                    ""
                };
                env.notes.push(format!(
                    "{versions}: pulls run inside containerd (transfer service), so containerd.service's environment applies{local}"
                ));
            } else {
                shell_env(host, &mut env);
                env.notes.push(format!(
                    "{versions}: pulls run in the {} process, so the shell's environment applies",
                    c.name()
                ));
            }
        }
    }
    env
}

fn shell_env(host: &HostEvidence, env: &mut ComponentEnv) {
    env.known = true;
    for k in PROXY_VARS {
        if let Some(v) = host.env.vars.get(*k) {
            env.set(k, v, "shell");
        }
    }
}

/// `v` (e.g. "v2.3.1", "2.0.0-rc.1", "1.7.27~ds1") is at least major.minor.
fn version_at_least(v: &str, major: u64, minor: u64) -> bool {
    let mut nums = v
        .trim_start_matches(['v', 'V'])
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

fn unit_env(host: &HostEvidence, cmds: &CommandsEvidence, unit: &str, env: &mut ComponentEnv) {
    let show = cmds
        .systemd
        .get(unit)
        .and_then(|r| r.parsed.as_ref())
        .filter(|s| s.installed());
    let files = host.units.get(unit);
    if let Some(show) = show {
        env.known = true;
        let from = format!("systemctl show {unit}");
        for (k, v) in &show.environment {
            if PROXY_VARS.contains(&k.as_str()) {
                env.set(k, v, &from);
            }
        }
    } else if let Some(files) = files {
        env.known = files.fragment.is_some() || !files.drop_ins.is_empty();
        let configured = files.configured_env();
        for f in files.fragment.iter().chain(&files.drop_ins) {
            for l in &f.environment {
                for k in l.vars.keys() {
                    if PROXY_VARS.contains(&k.as_str())
                        && let Some(v) = configured.get(k)
                    {
                        env.set(k, v, &source_label(&f.source));
                    }
                }
            }
        }
    }
    if let Some(files) = files {
        for (path, ef) in &files.environment_files {
            for k in PROXY_VARS {
                if !env.vars.contains_key(*k)
                    && let Some(v) = ef.get(k)
                {
                    env.set(k, v, path);
                }
            }
        }
    }
}

/// daemon.json `proxies` (Engine 23+): each field set there overrides both
/// cases of the variable (dockerd's `configureProxyEnv`).
fn daemon_json_env(host: &HostEvidence, env: &mut ComponentEnv) {
    let Some(dj) = &host.files.daemon_json else {
        return;
    };
    let Some(p) = &dj.proxies else { return };
    let from = format!("{} proxies", source_label(&dj.source));
    for (upper, v) in [
        ("HTTP_PROXY", &p.http_proxy),
        ("HTTPS_PROXY", &p.https_proxy),
        ("NO_PROXY", &p.no_proxy),
    ] {
        if let Some(v) = v {
            env.known = true;
            env.set(upper, v, &from);
            env.set(&upper.to_ascii_lowercase(), v, &from);
        }
    }
}

/// The answer of `pulldoctor route`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteAnswer {
    pub url: String,
    #[serde(rename = "as")]
    pub component: String,
    /// The proxy URL as Go's `url.URL.String()` writes it; `null` for direct.
    pub proxy: Option<String>,
    pub error: Option<String>,
    /// The variable that decided, and where it was set.
    pub source: Option<RouteSource>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteSource {
    pub var: String,
    pub from: String,
}

/// Which proxy `c`, with environment `env`, uses for `url`.
pub fn route(env: &ComponentEnv, c: Component, url: &str) -> RouteAnswer {
    let decision = match c {
        Component::Curl => proxyenv::curl_proxy_for(|k| env.get(k), url),
        _ => proxyenv::go_proxy_for(&env.go_config(), url),
    };
    let mut ans = RouteAnswer {
        url: url.to_string(),
        component: c.name().to_string(),
        proxy: None,
        error: None,
        source: None,
        reason: String::new(),
    };
    let src = |var: &str| {
        env.vars.get(var).map(|s| RouteSource {
            var: var.to_string(),
            from: s.from.clone(),
        })
    };
    match &decision {
        Decision::Proxy { url: p, var, .. } => {
            ans.proxy = Some(crate::redact::text(p).into_owned());
            ans.source = src(var);
            ans.reason = format!("{var} applies");
        }
        Decision::Direct { reason } => {
            ans.reason = reason.to_string();
            let var = match reason {
                proxyenv::DirectReason::NoProxyEntry { var, .. }
                | proxyenv::DirectReason::NoProxyWildcard { var } => Some(var.to_string()),
                proxyenv::DirectReason::UnparsableProxy { var, .. } => Some(var.to_string()),
                _ => None,
            };
            ans.source = var.and_then(|v| src(&v));
        }
        Decision::Error(e) | Decision::InvalidRequestUrl(e) => {
            ans.error = Some(e.clone());
            ans.reason = e.clone();
        }
    }
    if !env.notes.is_empty() {
        ans.reason = format!("{} ({})", ans.reason, env.notes.join("; "));
    }
    if !env.known {
        ans.reason = format!(
            "{} (nothing is known about {}'s environment here)",
            ans.reason,
            c.name()
        );
    }
    ans.reason = crate::redact::text(&ans.reason).into_owned();
    ans
}
