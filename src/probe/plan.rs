//! What to probe and how: targets, options, and the runner that probes every target
//! concurrently under one deadline (the wall time of `probe_all` is bounded by the deadline
//! plus [`GRACE`] even when every probe blackholes).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::dns::{self, DnsProbe};
use super::http::{
    self, Env, HttpTrace, HubEndpoints, HubQuotaProbe, ProxyUrl, Request, RequestUrl,
};
use super::tcp::{self, TcpProbe};
pub use super::tls::ExtraCa;
use super::tls::{StoresInfo, TrustStores};
use super::util::{ms, rfc3339, unix_now};
use super::{ErrorClass, ProbeError};

/// The evidence schema of [`ProbeEvidence`].
pub const SCHEMA: &str = "pulldoctor/probe/v1";
/// Colima/Lima's host gateway as seen from the guest (`--vm-gateway` overrides it).
pub const VM_GATEWAY_DEFAULT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 5, 2));
/// How long past the deadline the runner waits before abandoning a probe. Probes bound
/// themselves by the deadline; this only guards against a bug.
pub const GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Https,
    Http,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// Why a host is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Registry,
    Auth,
    BlobCdn,
    Mirror,
}

pub(crate) fn ser_proxy<S: Serializer>(p: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        None => s.serialize_none(),
        Some(v) => s.serialize_some(&redact_proxy(v)),
    }
}

/// A proxy URL as it may appear in evidence: the password replaced by `***`.
pub fn redact_proxy(value: &str) -> String {
    match ProxyUrl::parse(value) {
        Ok(p) => p.redacted(),
        Err(_) => "<unparsable proxy URL>".into(),
    }
}

/// A host to probe. `GET /v2/` is sent to it. `Debug` and `Serialize` redact the proxy's
/// password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub scheme: Scheme,
    pub role: Role,
    /// The proxy the caller chose for this target with Go's rules (`None`: direct). It is
    /// per target because NO_PROXY differs per host; serialized with the password redacted.
    #[serde(default, serialize_with = "ser_proxy")]
    pub proxy: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("role", &self.role)
            .field("proxy", &self.proxy.as_deref().map(redact_proxy))
            .finish()
    }
}

impl Target {
    pub fn new(host: impl Into<String>, port: u16, scheme: Scheme, role: Role) -> Target {
        let host = host.into();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Target {
            host,
            port,
            scheme,
            role,
            proxy: None,
        }
    }

    /// `host`, `host:port`, `[v6]:port`, or a URL `https://host[:port][/...]`.
    pub fn parse(s: &str, role: Role) -> Result<Target, String> {
        let s = s.trim();
        let url = if s.contains("://") {
            s.to_string()
        } else {
            format!("https://{s}")
        };
        let u = RequestUrl::parse(&url)?;
        Ok(Target::new(u.host, u.port, u.scheme, role))
    }

    pub fn with_proxy(mut self, proxy: Option<String>) -> Target {
        self.proxy = proxy;
        self
    }

    /// Docker Hub's endpoints: registry, auth, and the blob CDN.
    pub fn docker_hub() -> Vec<Target> {
        vec![
            Target::new("registry-1.docker.io", 443, Scheme::Https, Role::Registry),
            Target::new("auth.docker.io", 443, Scheme::Https, Role::Auth),
            Target::new(
                "production.cloudflare.docker.com",
                443,
                Scheme::Https,
                Role::BlobCdn,
            ),
        ]
    }

    /// The URL probed: `SCHEME://HOST[:PORT]/v2/`.
    pub fn url(&self) -> RequestUrl {
        RequestUrl {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
            path: "/v2/".into(),
        }
    }
}

/// A port to try at several addresses (is the proxy reachable from a VM?).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachabilityCheck {
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// How to probe. The caller fills this from resolv.conf, flags, and the daemon's environment.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Nameservers for hickory (resolv.conf's, or `--dns-server`); each is asked separately.
    pub dns_servers: Vec<SocketAddr>,
    /// Also ask getaddrinfo (nsswitch, /etc/hosts). Tests turn this off to keep every
    /// packet on loopback.
    pub system_resolver: bool,
    /// Load the system root store (rustls-native-certs; honours SSL_CERT_FILE/SSL_CERT_DIR).
    pub system_store: bool,
    /// Extra CA files (certs.d), as PEM bytes read by the caller.
    pub extra_ca: Vec<ExtraCa>,
    /// The one deadline for the whole run.
    pub deadline: Duration,
    /// Read Docker Hub's pull quota.
    pub hub_quota: bool,
    pub hub_endpoints: HubEndpoints,
    /// Ports to try at several addresses (proxy at 127.0.0.1 and at the VM gateway).
    pub reachability: Vec<ReachabilityCheck>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            dns_servers: vec![],
            system_resolver: true,
            system_store: true,
            extra_ca: vec![],
            deadline: Duration::from_secs(5),
            hub_quota: false,
            hub_endpoints: HubEndpoints::default(),
            reachability: vec![],
        }
    }
}

/// How far a target's probe got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `GET /v2/` answered over a connection dockerd would trust (any HTTP status).
    Ok,
    InvalidInput,
    DnsFailed,
    ProxyUnreachable,
    ProxyTlsFailed,
    ProxyAuthRequired,
    /// The proxy answered CONNECT with another non-200 status.
    ProxyRejected,
    /// The proxy accepted TCP but gave no (valid) answer to CONNECT: silence, EOF, garbage.
    ProxyNoAnswer,
    /// TCP to the target failed (refused, timeout, unreachable).
    Unreachable,
    /// The TLS handshake itself failed.
    TlsFailed,
    /// The handshake completed but the chain is not trusted by the store dockerd uses.
    TlsUntrusted,
    /// Connected, but no valid HTTP answer.
    HttpFailed,
    /// Not probed past a point (e.g. a socks5 proxy).
    Unsupported,
    /// The probe did not finish by the deadline (should not happen: probes bound themselves).
    Abandoned,
}

/// Everything learned about one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetProbe {
    pub target: Target,
    pub outcome: Outcome,
    /// The target's own DNS (asked even when a proxy resolves it, as evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsProbe>,
    /// The route and the `GET /v2/`.
    pub http: HttpTrace,
    /// Registry `Date` minus local clock (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_secs: Option<i64>,
    /// The first failure as Go would print it (same as `http.error`).
    pub error: Option<ProbeError>,
    pub elapsed_ms: u64,
}

/// All probe evidence of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeEvidence {
    pub schema: String,
    pub started_at: String,
    pub deadline_ms: u64,
    pub elapsed_ms: u64,
    pub dns_servers: Vec<SocketAddr>,
    pub system_resolver: bool,
    pub stores: StoresInfo,
    pub targets: Vec<TargetProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_quota: Option<HubQuotaProbe>,
    #[serde(default)]
    pub reachability: Vec<TcpProbe>,
}

fn outcome(t: &HttpTrace, via_proxy: bool) -> Outcome {
    let Some(e) = &t.error else {
        return if t.response.is_some() {
            Outcome::Ok
        } else {
            Outcome::HttpFailed
        };
    };
    if e.class == ErrorClass::InvalidInput {
        return Outcome::InvalidInput;
    }
    match &t.dial {
        None => {
            return if via_proxy {
                Outcome::ProxyUnreachable
            } else {
                Outcome::DnsFailed
            };
        }
        Some(d) if !d.ok() => {
            return if via_proxy {
                Outcome::ProxyUnreachable
            } else {
                Outcome::Unreachable
            };
        }
        _ => {}
    }
    if e.class == ErrorClass::Unsupported {
        return Outcome::Unsupported;
    }
    if let Some(p) = &t.proxy_tls
        && (!p.ok || p.verdict("docker").is_some_and(|v| !v.ok))
    {
        return Outcome::ProxyTlsFailed;
    }
    if let Some(c) = &t.connect
        && !c.ok
    {
        return match c.status {
            Some(407) => Outcome::ProxyAuthRequired,
            Some(_) => Outcome::ProxyRejected,
            None => Outcome::ProxyNoAnswer,
        };
    }
    if let Some(tls) = &t.tls {
        if !tls.ok {
            return Outcome::TlsFailed;
        }
        if tls.verdict("docker").is_some_and(|v| !v.ok) {
            return Outcome::TlsUntrusted;
        }
    }
    Outcome::HttpFailed
}

async fn run_target(
    target: &Target,
    opts: &ProbeOptions,
    stores: &TrustStores,
    deadline: Instant,
) -> TargetProbe {
    let start = Instant::now();
    let url = target.url();
    let env = Env {
        dns_servers: &opts.dns_servers,
        system_resolver: opts.system_resolver,
        stores: Some(stores),
        deadline,
    };
    let req = Request {
        method: "GET",
        url: &url,
        secret_headers: vec![],
        record_body: true,
        body_cap: 16 * 1024,
    };
    let dns_fut = dns::probe_dns(
        &target.host,
        &opts.dns_servers,
        opts.system_resolver,
        deadline,
    );
    let (dns, http) = match &target.proxy {
        // Through a proxy the target is resolved by the proxy: ask DNS alongside, as evidence.
        Some(p) => {
            let (d, (h, _)) = tokio::join!(dns_fut, http::exchange(&req, Some(p), None, &env));
            (d, h)
        }
        None => {
            let d = dns_fut.await;
            let addrs = d.dial_addrs();
            let h = if addrs.is_empty() {
                let e = d
                    .go_error()
                    .unwrap_or_else(|| ProbeError::new(ErrorClass::Other, "no addresses", ""));
                HttpTrace::failed("GET", &url, e.wrap("dial tcp: "))
            } else {
                http::exchange(&req, None, Some(addrs), &env).await.0
            };
            (d, h)
        }
    };
    TargetProbe {
        target: target.clone(),
        outcome: outcome(&http, target.proxy.is_some()),
        dns: Some(dns),
        clock_skew_secs: http.response.as_ref().and_then(|r| r.clock_skew_secs),
        error: http.error.clone(),
        http,
        elapsed_ms: ms(start.elapsed()),
    }
}

fn abandoned(target: &Target, why: &str) -> TargetProbe {
    let e = ProbeError::new(ErrorClass::Timeout, "context deadline exceeded", why);
    TargetProbe {
        target: target.clone(),
        outcome: Outcome::Abandoned,
        dns: None,
        http: HttpTrace::failed("GET", &target.url(), e.clone()),
        clock_skew_secs: None,
        error: Some(e),
        elapsed_ms: 0,
    }
}

/// Loads the root stores on a thread (file reads), bounded by `deadline` and 2 s.
async fn load_stores(opts: &ProbeOptions, deadline: Instant) -> TrustStores {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (extra, system) = (opts.extra_ca.clone(), opts.system_store);
    let spawned = std::thread::Builder::new()
        .name("pulldoctor-roots".into())
        .spawn(move || {
            let _ = tx.send(TrustStores::load(&extra, system));
        });
    let limit = deadline.min(Instant::now() + Duration::from_secs(2));
    match spawned {
        Ok(_) => match tokio::time::timeout_at(limit, rx).await {
            Ok(Ok(s)) => s,
            _ => {
                let mut s = TrustStores::load(&opts.extra_ca, false);
                s.info
                    .system
                    .errors
                    .push("timed out loading the system root store".into());
                s
            }
        },
        Err(e) => {
            let mut s = TrustStores::load(&opts.extra_ca, false);
            s.info
                .system
                .errors
                .push(format!("cannot start loader thread: {e}"));
            s
        }
    }
}

/// Probes one target under `opts.deadline`.
pub async fn probe_target(target: &Target, opts: &ProbeOptions) -> TargetProbe {
    let deadline = Instant::now() + opts.deadline;
    let stores = load_stores(opts, deadline).await;
    match tokio::time::timeout_at(
        deadline + GRACE,
        run_target(target, opts, &stores, deadline),
    )
    .await
    {
        Ok(p) => p,
        Err(_) => abandoned(target, "probe did not finish by the deadline"),
    }
}

/// Reads Docker Hub's pull quota from `opts.hub_endpoints` under `opts.deadline`.
pub async fn probe_hub_quota(opts: &ProbeOptions) -> HubQuotaProbe {
    let deadline = Instant::now() + opts.deadline;
    let env = Env {
        dns_servers: &opts.dns_servers,
        system_resolver: opts.system_resolver,
        stores: None,
        deadline,
    };
    http::hub_quota(&opts.hub_endpoints, &env).await
}

/// Tries `port` at each address concurrently (is a proxy bound to 127.0.0.1 only, or
/// reachable from a VM at its gateway?). Connections are closed at once.
pub async fn probe_proxy_reachability(
    port: u16,
    addrs: &[IpAddr],
    timeout: Duration,
) -> Vec<TcpProbe> {
    reach(port, addrs, Instant::now() + timeout).await
}

async fn reach(port: u16, addrs: &[IpAddr], deadline: Instant) -> Vec<TcpProbe> {
    let mut set = JoinSet::new();
    for (i, ip) in addrs.iter().enumerate() {
        let sa = SocketAddr::new(*ip, port);
        set.spawn(async move { (i, tcp::connect(sa, deadline).await.1) });
    }
    let mut out: Vec<Option<TcpProbe>> = vec![None; addrs.len()];
    while let Ok(Some(r)) = tokio::time::timeout_at(deadline + GRACE, set.join_next()).await {
        if let Ok((i, p)) = r {
            out[i] = Some(p);
        }
    }
    out.into_iter()
        .zip(addrs)
        .map(|(p, ip)| {
            p.unwrap_or_else(|| {
                let sa = SocketAddr::new(*ip, port);
                TcpProbe {
                    addr: sa,
                    ok: false,
                    elapsed_ms: 0,
                    local_addr: None,
                    error: Some(tcp::dial_timeout(sa)),
                }
            })
        })
        .collect()
}

enum Done {
    Target(usize, Box<TargetProbe>),
    Hub(Box<HubQuotaProbe>),
    Reach(Vec<TcpProbe>),
}

/// Probes every target, Hub's quota (when asked) and the reachability checks, all
/// concurrently, under one deadline: returns by `opts.deadline` + [`GRACE`] (+ the time to
/// spawn tasks) even when every probe blackholes.
pub async fn probe_all(targets: Vec<Target>, opts: &ProbeOptions) -> ProbeEvidence {
    let start = Instant::now();
    let started_at = rfc3339(unix_now());
    let deadline = start + opts.deadline;
    let stores = Arc::new(load_stores(opts, deadline).await);
    let shared = Arc::new(opts.clone());
    let mut set = JoinSet::new();
    for (i, t) in targets.iter().cloned().enumerate() {
        let (o, s) = (shared.clone(), stores.clone());
        set.spawn(async move { Done::Target(i, Box::new(run_target(&t, &o, &s, deadline).await)) });
    }
    if opts.hub_quota {
        let o = shared.clone();
        set.spawn(async move {
            let env = Env {
                dns_servers: &o.dns_servers,
                system_resolver: o.system_resolver,
                stores: None,
                deadline,
            };
            Done::Hub(Box::new(http::hub_quota(&o.hub_endpoints, &env).await))
        });
    }
    for r in opts.reachability.iter().cloned() {
        set.spawn(async move { Done::Reach(reach(r.port, &r.addrs, deadline).await) });
    }
    let mut results: Vec<Option<TargetProbe>> = vec![None; targets.len()];
    let mut hub = None;
    let mut reachability = vec![];
    loop {
        match tokio::time::timeout_at(deadline + GRACE, set.join_next()).await {
            Ok(Some(Ok(Done::Target(i, p)))) => results[i] = Some(*p),
            Ok(Some(Ok(Done::Hub(h)))) => hub = Some(*h),
            Ok(Some(Ok(Done::Reach(r)))) => reachability.extend(r),
            Ok(Some(Err(_))) => {}
            Ok(None) => break,
            Err(_) => {
                set.abort_all();
                break;
            }
        }
    }
    let targets = results
        .into_iter()
        .zip(&targets)
        .map(|(r, t)| r.unwrap_or_else(|| abandoned(t, "probe did not finish by the deadline")))
        .collect();
    ProbeEvidence {
        schema: SCHEMA.into(),
        started_at,
        deadline_ms: ms(opts.deadline),
        elapsed_ms: ms(start.elapsed()),
        dns_servers: opts.dns_servers.clone(),
        system_resolver: opts.system_resolver,
        stores: stores.info.clone(),
        targets,
        hub_quota: hub,
        reachability,
    }
}
