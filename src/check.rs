//! `pulldoctor check`: collect the evidence of a machine (read-only, under one
//! deadline), then diagnose from it with the same rules `explain` uses.
//!
//! Collection and diagnosis are separate: [`collect`] does all the I/O and
//! returns an [`Evidence`] value; [`diagnose`] is a pure function of it, so a
//! saved report can be replayed offline (`pulldoctor replay`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::{Classifier, Prefilter};
use crate::evidence::commands::{CommandOptions, CommandsEvidence, collect_commands};
use crate::evidence::daemon_json::JsonStatus;
use crate::evidence::{self, HostEvidence, LocalOptions};
use crate::probe::{self, Outcome, ProbeEvidence, ProbeOptions, ReachabilityCheck, Role, Target};
use crate::report::{Area, Finding};
use crate::route::{self, Component, ComponentEnv};
use crate::rules::{Catalog, Lang};

pub const EVIDENCE_SCHEMA: &str = "pulldoctor/evidence/v1";

/// What `check` is asked to do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub local: LocalOptions,
    pub offline: bool,
    /// Extra registries (`--registry HOST[:PORT]`, and those named by `--image`).
    pub registries: Vec<String>,
    /// Resolvers to ask (`--dns-server`); default: resolv.conf's.
    pub dns_servers: Vec<SocketAddr>,
    /// Where the VM host is (`--vm-gateway`); default 192.168.5.2 inside a Lima guest.
    pub vm_gateway: Option<IpAddr>,
    /// The one deadline for the whole run.
    pub timeout: Duration,
    /// Leave out Docker Hub's endpoints (tests pointing at a lab registry).
    pub no_hub: bool,
}

/// Everything `check` learned, secrets redacted when serialised into a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub schema: String,
    pub host: HostEvidence,
    pub commands: CommandsEvidence,
    /// The proxy environment of each component, with provenance.
    pub components: BTreeMap<String, ComponentEnv>,
    /// Absent with `--offline`.
    pub probes: Option<ProbeEvidence>,
    pub elapsed_ms: u64,
}

/// Collects the evidence. Commands get at most 40 % of the deadline (a wedged
/// dockerd makes `docker info` hang); probes then run concurrently until the
/// deadline, so the whole run is bounded by `timeout` plus a small constant.
pub async fn collect(opts: &CheckOptions) -> Evidence {
    let start = tokio::time::Instant::now();
    let cmd_deadline = start + opts.timeout.mul_f32(0.4);
    // The files are read on a blocking thread while the commands run.
    let local = opts.local.clone();
    let cmd_opts = CommandOptions::new(opts.local.env.clone());
    let (host, cmds) = tokio::join!(
        tokio::task::spawn_blocking(move || evidence::collect_local(&local)),
        collect_commands(&cmd_opts, cmd_deadline),
    );
    let mut host = host.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    evidence::complete_with_commands(&opts.local, &mut host, &cmds);
    let components: BTreeMap<String, ComponentEnv> = Component::ALL
        .iter()
        .map(|c| (c.name().to_string(), route::component_env(&host, &cmds, *c)))
        .collect();
    let probes = if opts.offline {
        None
    } else {
        let remaining = opts.timeout.saturating_sub(start.elapsed());
        Some(run_probes(opts, &host, &components, remaining).await)
    };
    Evidence {
        schema: EVIDENCE_SCHEMA.into(),
        host,
        commands: cmds,
        components,
        probes,
        elapsed_ms: start.elapsed().as_millis() as u64,
    }
}

/// The component whose settings decide a pull on this machine.
fn puller(ev_host: &HostEvidence, components: &BTreeMap<String, ComponentEnv>) -> Component {
    let docker_known = components.get("dockerd").is_some_and(|c| c.known)
        || ev_host.units.contains_key("docker.service");
    if ev_host.platform.kubernetes_node.detected && !docker_known {
        Component::Containerd
    } else {
        Component::Dockerd
    }
}

async fn run_probes(
    opts: &CheckOptions,
    host: &HostEvidence,
    components: &BTreeMap<String, ComponentEnv>,
    deadline: Duration,
) -> ProbeEvidence {
    let who = puller(host, components);
    let env = components.get(who.name()).cloned().unwrap_or_default();
    let cfg = env.go_config();
    let mut targets: Vec<Target> = Vec::new();
    if !opts.no_hub {
        targets.extend(Target::docker_hub());
    }
    let mut mirrors: Vec<String> = host
        .files
        .daemon_json
        .as_ref()
        .map(|d| d.registry_mirrors.clone())
        .unwrap_or_default();
    mirrors.sort();
    mirrors.dedup();
    for m in &mirrors {
        if let Ok(t) = Target::parse(m, Role::Mirror) {
            targets.push(t);
        }
    }
    for r in &opts.registries {
        if let Ok(t) = Target::parse(r, Role::Registry) {
            targets.push(t);
        }
    }
    targets.dedup_by(|a, b| a.host == b.host && a.port == b.port && a.scheme == b.scheme);
    for t in &mut targets {
        let url = format!(
            "{}://{}/v2/",
            t.scheme.as_str(),
            host_port(&t.host, t.port, t.scheme.default_port())
        );
        if let crate::proxyenv::Decision::Proxy { url, .. } =
            crate::proxyenv::go_proxy_for(&cfg, &url)
        {
            t.proxy = Some(url);
        }
    }
    let mut dns_servers = opts.dns_servers.clone();
    if dns_servers.is_empty()
        && let Some(rc) = &host.files.resolv_conf
    {
        dns_servers = rc
            .nameservers
            .iter()
            .filter_map(|n| n.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
    }
    let gateway = opts.vm_gateway.or_else(|| {
        (host.platform.lima_guest.detected || host.platform.colima_guest.detected)
            .then_some(probe::VM_GATEWAY_DEFAULT)
    });
    let mut reach: Vec<ReachabilityCheck> = Vec::new();
    for c in components.values() {
        for k in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            let Some(s) = c.vars.get(k) else { continue };
            let Some((h, port)) = proxy_host_port(&s.value) else {
                continue;
            };
            let loopback = h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            let mut addrs: Vec<IpAddr> = Vec::new();
            if loopback {
                addrs.push(IpAddr::from([127, 0, 0, 1]));
            }
            if let Some(g) = gateway
                && (loopback || h.parse::<IpAddr>().ok() == Some(g))
            {
                addrs.push(g);
            }
            if !addrs.is_empty() && !reach.iter().any(|r| r.port == port && r.addrs == addrs) {
                reach.push(ReachabilityCheck { port, addrs });
            }
        }
    }
    let extra_ca = read_extra_cas(opts, host);
    let popts = ProbeOptions {
        dns_servers,
        system_resolver: true,
        system_store: true,
        extra_ca,
        deadline,
        hub_quota: !opts.no_hub,
        reachability: reach,
        ..ProbeOptions::default()
    };
    probe::probe_all(targets, &popts).await
}

fn host_port(host: &str, port: u16, default: u16) -> String {
    let h = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    if port == default {
        h
    } else {
        format!("{h}:{port}")
    }
}

/// Host and port of a proxy value as Go would dial it.
fn proxy_host_port(value: &str) -> Option<(String, u16)> {
    let u = crate::proxyenv::go_parse_proxy(value, &Default::default()).ok()??;
    let dial = crate::proxyenv::go_proxy_dial_addr(&u)?;
    let (h, p) = dial.rsplit_once(':')?;
    Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))
}

/// CA certificates under `/etc/docker/certs.d/HOST/*.crt` (read-only, capped).
fn read_extra_cas(opts: &CheckOptions, host: &HostEvidence) -> Vec<probe::ExtraCa> {
    let mut out = Vec::new();
    for (dir, certs) in &host.files.certs_dirs {
        for name in &certs.ca_certs {
            let logical = format!("{}/{name}", dir.trim_end_matches('/'));
            let path = opts.local.root.join(logical.trim_start_matches('/'));
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.len() < 1 << 20
                && let Ok(pem) = std::fs::read(&path)
            {
                out.push(probe::ExtraCa {
                    applies_to: Some(certs.registry.clone()),
                    source: logical,
                    pem,
                });
            }
        }
    }
    out
}

/// The findings the evidence shows directly. Probe failures and command
/// errors are rendered in Go's words and classified by the same rules as
/// `explain`, so both commands speak one vocabulary. The evidence rules
/// ([`crate::detect`]) then add what the configuration proves, each with its
/// facts as `matched` lines; a detection supersedes the generic finding it
/// explains. Findings come out by severity, then rank (what to fix first).
pub fn diagnose(ev: &Evidence, lang: Lang) -> Result<Vec<Finding>, String> {
    let cat = Catalog::builtin()?;
    let pre = Prefilter::for_catalog(cat);
    let mut c = Classifier::new(cat, pre);
    let mut n = 0u64;
    let mut line = |c: &mut Classifier, source: &str, text: &str| {
        n += 1;
        c.set_source(source);
        c.line(n, text);
    };
    // Where we run decides context-dependent rules.
    let p = &ev.host.platform;
    if p.colima_guest.detected || p.lima_guest.detected {
        line(&mut c, "platform", "running in a colima / lima guest");
    }
    if let Some(w) = &p.wsl {
        line(
            &mut c,
            "platform",
            &format!("running in WSL{} ({})", w.version, w.networking_mode),
        );
    }
    if p.rootless_docker.detected {
        line(&mut c, "platform", "rootless dockerd");
    }
    if let Some(info) = &ev.commands.docker_info.parsed
        && crate::evidence::docker_cli::is_docker_desktop(info)
    {
        line(&mut c, "platform", "Docker Desktop");
    }
    // daemon.json that dockerd would refuse.
    if let Some(dj) = &ev.host.files.daemon_json
        && dj.status == JsonStatus::Invalid
        && let Some(e) = &dj.error
    {
        let path = dj.source.path().unwrap_or("/etc/docker/daemon.json");
        line(
            &mut c,
            path,
            &format!(
                "unable to configure the Docker daemon with file {path}: {} (line {}, column {}: {})",
                e.message,
                e.line,
                e.column,
                e.line_text.trim()
            ),
        );
    }
    // The Docker daemon: what `docker info` said.
    let di = &ev.commands.docker_info;
    if di.found() {
        if di.timed_out() {
            line(
                &mut c,
                "docker info",
                "docker info did not answer before the deadline: context deadline exceeded (the daemon may be wedged)",
            );
        } else {
            for l in di.stderr.lines().filter(|l| !l.trim().is_empty()).take(20) {
                line(&mut c, "docker info", l);
            }
            if let Some(info) = &di.parsed {
                for e in info.server_errors.iter().chain(&info.client_errors) {
                    line(&mut c, "docker info", e);
                }
            }
        }
    }
    // Probes.
    if let Some(pr) = &ev.probes {
        for t in &pr.targets {
            if t.outcome == Outcome::Ok {
                // `GET /v2/` answers 401 or 200 on a healthy registry; 429
                // and 5xx are what a pull would meet too (containerd's words).
                if let Some(r) = &t.http.response
                    && (r.status == 429 || r.status >= 500)
                {
                    let url = format!(
                        "{}://{}/v2/",
                        t.target.scheme.as_str(),
                        host_port(
                            &t.target.host,
                            t.target.port,
                            t.target.scheme.default_port()
                        )
                    );
                    line(
                        &mut c,
                        "probe",
                        &format!("unexpected status code {url}: {} {}", r.status, r.reason),
                    );
                }
                continue;
            }
            if let Some(e) = &t.error {
                // Go's text already names the URL (`Get "https://…/v2/": …`).
                let prefix = if t.target.role == Role::BlobCdn {
                    "failed to copy: httpReadSeeker: failed open: failed to do request: "
                } else {
                    ""
                };
                line(&mut c, "probe", &format!("{prefix}{}", e.go));
            }
        }
        for r in &pr.reachability {
            if let Some(e) = &r.error {
                line(&mut c, "probe", &format!("proxyconnect tcp: {}", e.go));
            }
        }
    }
    let mut findings = c.finish(lang);
    findings.retain(|f| f.category != "unknown");
    for f in &mut findings {
        for m in &mut f.matched {
            m.line = 0;
        }
        enrich_from_probes(f, ev, cat, lang);
    }
    // Evidence rules: what the configuration and the probes prove, with the facts.
    let mut derived: Vec<Finding> = Vec::new();
    for d in crate::detect::detect(ev) {
        let Some(rule) = cat.rule(d.rule) else {
            continue;
        };
        let mut entities = d.entities;
        crate::engine::redact_entities(&mut entities);
        let mut f = crate::engine::finding(rule, &entities, lang);
        f.matched = d
            .evidence
            .iter()
            .map(|e| crate::report::Matched {
                file: Some("evidence".into()),
                line: 0,
                text: crate::redact::text(e).into_owned(),
            })
            .collect();
        derived.push(f);
    }
    // A detection says more than the generic finding of a probe's error line.
    findings.retain(|g| !derived.iter().any(|d| supersedes(d, g)));
    findings.extend(derived);
    let rank = |f: &Finding| cat.rule(&f.rule).map_or(u8::MAX, |r| r.rank);
    let severity = |f: &Finding| match f.severity.as_str() {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    findings.sort_by_key(|f| (severity(f), rank(f)));
    Ok(findings)
}

/// The categories of generic (log-rule) findings an evidence finding of `category` explains.
fn superseded_categories(category: &str) -> &'static [&'static str] {
    match category {
        "proxy-loopback-in-vm" => &["proxy-loopback-in-vm", "proxy-refused"],
        "no-proxy-bypass" => &[
            "no-proxy-bypass",
            "network-timeout",
            "connection-reset-eof",
            "blob-download-bypass",
            "dns-failure",
        ],
        "blob-download-bypass" => &[
            "blob-download-bypass",
            "network-timeout",
            "connection-reset-eof",
        ],
        "dns-poisoned" => &[
            "dns-poisoned",
            "tls-hostname-mismatch",
            "dns-failure",
            "network-timeout",
            "connection-reset-eof",
        ],
        "ipv6-unreachable" => &["ipv6-unreachable", "network-timeout"],
        "mirror-failure" => &[
            "mirror-failure",
            "dns-failure",
            "network-timeout",
            "connection-reset-eof",
            "tls-hostname-mismatch",
            "tls-unknown-authority",
            "tls-expired-or-clock",
            "insecure-registry-http",
        ],
        "proxy-refused" => &["proxy-refused"],
        "tls-unknown-authority" => &["tls-unknown-authority"],
        "tls-expired-or-clock" => &["tls-expired-or-clock"],
        "rate-limit" => &["rate-limit"],
        _ => &[],
    }
}

/// Whether the evidence finding `d` supersedes the generic finding `g`: `g`'s category is
/// one `d` explains, and they are about the same host, registry, proxy or mirror (a `g`
/// without any such entity is superseded only by a finding of its own category).
fn supersedes(d: &Finding, g: &Finding) -> bool {
    let gk = key_values(g);
    // A daemon without a usable proxy explains why Docker Hub fails on the direct route.
    if matches!(
        d.category.as_str(),
        "daemon-proxy-missing"
            | "client-only-proxy"
            | "containerd-proxy-missing"
            | "proxy-var-ignored"
    ) && d.severity == "error"
        && matches!(
            g.category.as_str(),
            "network-timeout" | "dns-failure" | "connection-reset-eof" | "blob-download-bypass"
        )
        && gk
            .iter()
            .any(|k| crate::detect::HUB_HOSTS.contains(&k.split(':').next().unwrap_or(k)))
    {
        return true;
    }
    if !superseded_categories(&d.category).contains(&g.category.as_str()) {
        return false;
    }
    if gk.is_empty() {
        return d.category == g.category;
    }
    !gk.is_disjoint(&key_values(d))
}

/// The hosts a finding is about, normalised (`http://u:p@127.0.0.1:7890/` → `127.0.0.1:7890`,
/// `registry-1.docker.io:443` → `registry-1.docker.io`).
fn key_values(f: &Finding) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for k in [
        "host",
        "registry",
        "proxy",
        "proxy_host",
        "mirror",
        "server_name",
    ] {
        let Some(v) = f.entities.get(k) else { continue };
        for part in v.split([',', ' ']).filter(|p| !p.is_empty()) {
            let p = part.trim().trim_matches('"');
            let p = p.split_once("://").map_or(p, |(_, r)| r);
            let p = p.split('/').next().unwrap_or(p);
            let p = p.rsplit_once('@').map_or(p, |(_, h)| h);
            let p = p.trim_end_matches(":443").to_ascii_lowercase();
            if !p.is_empty() {
                out.insert(p);
            }
        }
    }
    out
}

/// Adds what the probe knows but Go's error text does not say (the proxy a
/// 407 came from, the registry probed) to a finding made from a probe line,
/// and renders its text again with them.
fn enrich_from_probes(f: &mut Finding, ev: &Evidence, cat: &Catalog, lang: Lang) {
    let Some(pr) = &ev.probes else { return };
    let Some(rule) = cat.rule(&f.rule) else {
        return;
    };
    let mut added = false;
    for m in f
        .matched
        .iter()
        .filter(|m| m.file.as_deref() == Some("probe"))
    {
        for t in &pr.targets {
            let Some(e) = &t.error else { continue };
            if !m.text.contains(&crate::redact::text(&e.go).into_owned()) {
                continue;
            }
            let registry = host_port(
                &t.target.host,
                t.target.port,
                t.target.scheme.default_port(),
            );
            let mut put = |k: &str, v: String| {
                if !f.entities.contains_key(k) {
                    f.entities.insert(k.to_string(), v);
                    added = true;
                }
            };
            put("registry", registry);
            if let Some(p) = &t.target.proxy
                && let Some((h, port)) = proxy_host_port(p)
            {
                put("proxy", host_port(&h, port, 0));
                put("proxy_host", h);
                put("proxy_port", port.to_string());
            }
        }
    }
    if added {
        let (count, matched, status) = (f.count, std::mem::take(&mut f.matched), f.status.take());
        crate::engine::redact_entities(&mut f.entities);
        *f = crate::engine::finding(rule, &f.entities, lang);
        f.count = count;
        f.matched = matched;
        f.status = status;
    }
}

/// The flutter-doctor style summary: one line per area.
pub fn areas(ev: &Evidence, findings: &[Finding]) -> Vec<Area> {
    // The first finding of any of `cats`; a finding about a proxy (a proxy
    // that times out is `network-timeout`) also counts as a proxy problem.
    let has = |cats: &[&str]| -> Option<&Finding> {
        findings.iter().find(|f| {
            cats.iter().any(|c| f.category == *c)
                || (cats.contains(&"proxy-refused") && f.entities.contains_key("proxy"))
        })
    };
    let mark_for = |cats: &[&str], ok: String| -> (String, String) {
        match has(cats) {
            Some(f) if f.severity == "error" => ("✗".into(), f.title.clone()),
            Some(f) => ("!".into(), f.title.clone()),
            None => ("✓".into(), ok),
        }
    };
    let mut out = Vec::new();
    let shell = ev
        .host
        .env
        .vars
        .keys()
        .filter(|k| k.to_ascii_lowercase().ends_with("_proxy"))
        .count();
    out.push(area(
        "environment",
        (
            "✓".into(),
            format!(
                "{shell} proxy variables in the shell; platform: {}",
                platform_name(ev)
            ),
        ),
    ));
    let di = &ev.commands.docker_info;
    let daemon_ok = match &di.parsed {
        Some(i) if i.server_reachable => format!(
            "dockerd {} ({})",
            i.server_version.clone().unwrap_or_default(),
            i.operating_system.clone().unwrap_or_default()
        ),
        _ if !di.found() => "docker CLI not installed".into(),
        _ => "not reachable".into(),
    };
    out.push(area(
        "docker daemon",
        mark_for(&["daemon-config-invalid", "daemon-not-running"], daemon_ok),
    ));
    let ctd = ev
        .commands
        .systemd
        .get("containerd.service")
        .and_then(|r| r.parsed.as_ref());
    let ctd_ok = match ctd {
        Some(s) if s.installed() => format!(
            "containerd.service {}",
            s.active_state.clone().unwrap_or_default()
        ),
        _ => "no containerd.service".into(),
    };
    out.push(area(
        "containerd",
        mark_for(&["containerd-proxy-missing"], ctd_ok),
    ));
    let dproxy = ev
        .components
        .get("dockerd")
        .and_then(|c| {
            c.vars
                .get("HTTPS_PROXY")
                .or_else(|| c.vars.get("https_proxy"))
        })
        .map(|s| {
            format!(
                "dockerd uses {} (from {})",
                crate::redact::text(&s.value),
                s.from
            )
        })
        .unwrap_or_else(|| "dockerd has no HTTPS proxy".into());
    out.push(area(
        "proxy",
        mark_for(
            &[
                "proxy-refused",
                "proxy-loopback-in-vm",
                "proxy-auth",
                "proxy-scheme",
                "daemon-proxy-missing",
                "daemon-proxy-not-applied",
                "no-proxy-bypass",
                "proxy-var-ignored",
                "client-only-proxy",
                "desktop-proxy-settings",
            ],
            dproxy,
        ),
    ));
    // (succeeded, probed) among the targets of a role (None: all but mirrors).
    let tally = |role: Option<Role>, ok: &dyn Fn(Outcome) -> bool| -> (usize, usize) {
        ev.probes.as_ref().map_or((0, 0), |p| {
            let ts: Vec<_> = p
                .targets
                .iter()
                .filter(|t| match role {
                    Some(r) => t.target.role == r,
                    None => t.target.role != Role::Mirror,
                })
                .collect();
            (ts.iter().filter(|t| ok(t.outcome)).count(), ts.len())
        })
    };
    let answered = |o: Outcome| o == Outcome::Ok;
    let resolved = |o: Outcome| !matches!(o, Outcome::DnsFailed | Outcome::InvalidInput);
    let offline = ev.probes.is_none();
    let skip = |what: String| {
        if offline {
            "not probed (--offline)".to_string()
        } else {
            what
        }
    };
    let (dn, dt) = tally(None, &resolved);
    out.push(area(
        "DNS",
        mark_for(
            &["dns-failure", "dns-poisoned"],
            skip(format!("{dn} of {dt} names resolved")),
        ),
    ));
    out.push(area(
        "TLS",
        mark_for(
            &[
                "tls-unknown-authority",
                "tls-hostname-mismatch",
                "tls-expired-or-clock",
                "insecure-registry-http",
            ],
            skip("certificate chains trusted".into()),
        ),
    ));
    let (rn, rt) = tally(None, &answered);
    let mut registries = mark_for(
        &[
            "network-timeout",
            "connection-reset-eof",
            "blob-download-bypass",
            "rate-limit",
            "ipv6-unreachable",
        ],
        skip(format!("{rn} of {rt} endpoints answered")),
    );
    if registries.0 == "✓" && rn < rt {
        // Not answered, for a reason another area names.
        registries.0 = "!".into();
    }
    out.push(area("registries", registries));
    let (mn, mt) = tally(Some(Role::Mirror), &answered);
    out.push(area(
        "mirrors",
        mark_for(
            &["mirror-failure", "mirror-not-applicable"],
            if mt == 0 {
                "none configured".into()
            } else {
                skip(format!("{mn} of {mt} mirrors answered"))
            },
        ),
    ));
    out
}

fn area(name: &str, (mark, detail): (String, String)) -> Area {
    Area {
        name: name.into(),
        mark,
        detail,
    }
}

fn platform_name(ev: &Evidence) -> String {
    let p = &ev.host.platform;
    if let Some(info) = &ev.commands.docker_info.parsed
        && crate::evidence::docker_cli::is_docker_desktop(info)
    {
        return "Docker Desktop".into();
    }
    if p.colima_guest.detected {
        return "Colima guest".into();
    }
    if p.lima_guest.detected {
        return "Lima guest".into();
    }
    if let Some(w) = &p.wsl {
        return format!("WSL{} ({})", w.version, w.networking_mode);
    }
    if p.kubernetes_node.detected {
        return "Kubernetes node".into();
    }
    if p.in_container.detected {
        return "container".into();
    }
    "host".into()
}

/// The evidence as JSON with every secret redacted.
pub fn evidence_json(ev: &Evidence, opts: crate::redact::Options) -> serde_json::Value {
    let mut v = serde_json::to_value(ev).unwrap_or(serde_json::Value::Null);
    crate::redact::json(&mut v, opts);
    v
}
