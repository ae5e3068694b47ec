//! DNS probes: the system resolver (getaddrinfo, what nsswitch and /etc/hosts say) and
//! hickory-resolver against each explicit nameserver (what Go's pure resolver would ask).
//!
//! One hickory resolver per nameserver, `attempts = 1`, no cache, no /etc/hosts
//! (`ResolveHosts::Never`), so the evidence reads "10.0.0.2 answered, 10.0.0.3 timed out".

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::util::{ms, remaining};
use super::{ErrorClass, ProbeError};

/// The resolver label used for the system (getaddrinfo) answer.
pub const SYSTEM: &str = "system";

/// One resolver's answer for one name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    /// `"system"` (getaddrinfo) or the nameserver's `IP:PORT`.
    pub resolver: String,
    /// The addresses, in the resolver's order, duplicates removed.
    pub addrs: Vec<IpAddr>,
    pub elapsed_ms: u64,
    pub error: Option<ProbeError>,
}

impl DnsAnswer {
    pub fn ok(&self) -> bool {
        self.error.is_none() && !self.addrs.is_empty()
    }
}

/// Everything the resolvers said about one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsProbe {
    pub host: String,
    /// Set when the host is an IP literal: nothing was looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<IpAddr>,
    /// getaddrinfo's answer; `None` when the system resolver was not asked.
    pub system: Option<DnsAnswer>,
    /// One answer per explicit nameserver, in the configured order.
    pub servers: Vec<DnsAnswer>,
    /// `Some(false)` when two successful answers disagree on the address set (split DNS,
    /// a stale /etc/hosts entry); `None` when fewer than two resolvers answered.
    pub agree: Option<bool>,
}

impl DnsProbe {
    /// The addresses a dialer should use: the system answer (it includes /etc/hosts), else
    /// the first nameserver that answered.
    pub fn dial_addrs(&self) -> Vec<IpAddr> {
        if let Some(ip) = self.literal {
            return vec![ip];
        }
        self.system
            .iter()
            .chain(self.servers.iter())
            .find(|a| a.ok())
            .map(|a| a.addrs.clone())
            .unwrap_or_default()
    }

    /// The error a Go program would report when no resolver answered: a nameserver's
    /// (Go's pure resolver names it) before the system one.
    pub fn go_error(&self) -> Option<ProbeError> {
        if self.literal.is_some()
            || self
                .system
                .iter()
                .chain(self.servers.iter())
                .any(|a| a.ok())
        {
            return None;
        }
        self.servers
            .iter()
            .chain(self.system.iter())
            .find_map(|a| a.error.clone())
            .or_else(|| {
                Some(ProbeError::new(
                    ErrorClass::Other,
                    format!("lookup {}: no resolver configured", self.host),
                    "no system resolver and no nameserver to ask",
                ))
            })
    }
}

/// Parses `--dns-server IP[:PORT]` (`[v6]:port` for IPv6 with a port). Port defaults to 53.
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("invalid DNS server {s:?}: want IP or IP:PORT"))
}

/// The nameservers of a resolv.conf, in order, as Go reads them (`nameserver IP`, port 53,
/// zone ids dropped). Go falls back to 127.0.0.1:53 and [::1]:53 when there are none.
pub fn servers_from_resolv_conf(content: &str) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for line in content.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut f = line.split_whitespace();
        if f.next() != Some("nameserver") {
            continue;
        }
        let Some(addr) = f.next() else { continue };
        let addr = addr.split('%').next().unwrap_or_default();
        if let Ok(ip) = addr.parse::<IpAddr>() {
            let sa = SocketAddr::new(ip, 53);
            if !out.contains(&sa) {
                out.push(sa);
            }
        }
    }
    if out.is_empty() {
        out.push(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 53));
        out.push(SocketAddr::new(
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
            53,
        ));
    }
    out
}

fn dedup(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut seen = BTreeSet::new();
    addrs.into_iter().filter(|a| seen.insert(*a)).collect()
}

/// Asks getaddrinfo for `host`, bounded by `deadline`.
///
/// getaddrinfo cannot be cancelled, so it runs on a detached thread: at the deadline the
/// probe returns a timeout and the thread is left to finish on its own (process exit does
/// not wait for it, unlike tokio's blocking pool at runtime shutdown).
pub async fn lookup_system(host: &str, deadline: Instant) -> DnsAnswer {
    let start = Instant::now();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let h = host.to_string();
    let spawned = std::thread::Builder::new()
        .name("pulldoctor-getaddrinfo".into())
        .spawn(move || {
            let r = (h.as_str(), 0u16)
                .to_socket_addrs()
                .map(|it| it.map(|sa| sa.ip()).collect::<Vec<_>>());
            let _ = tx.send(r);
        });
    let result = match spawned {
        Err(e) => Err(ProbeError::new(
            ErrorClass::Other,
            format!("lookup {host}: {e}"),
            format!("cannot start resolver thread: {e}"),
        )),
        Ok(_) => match tokio::time::timeout_at(deadline, rx).await {
            Err(_) => Err(ProbeError::new(
                ErrorClass::Timeout,
                format!("lookup {host}: i/o timeout"),
                "getaddrinfo did not return before the deadline",
            )),
            Ok(Err(_)) => Err(ProbeError::new(
                ErrorClass::Other,
                format!("lookup {host}: resolver thread failed"),
                "getaddrinfo thread ended without an answer",
            )),
            Ok(Ok(Ok(addrs))) => Ok(dedup(addrs)),
            Ok(Ok(Err(e))) => Err(system_error(host, &e)),
        },
    };
    let elapsed_ms = ms(start.elapsed());
    match result {
        Ok(addrs) if addrs.is_empty() => DnsAnswer {
            resolver: SYSTEM.into(),
            addrs,
            elapsed_ms,
            error: Some(ProbeError::new(
                ErrorClass::NoData,
                format!("lookup {host}: no such host"),
                "getaddrinfo returned no addresses",
            )),
        },
        Ok(addrs) => DnsAnswer {
            resolver: SYSTEM.into(),
            addrs,
            elapsed_ms,
            error: None,
        },
        Err(e) => DnsAnswer {
            resolver: SYSTEM.into(),
            addrs: vec![],
            elapsed_ms,
            error: Some(e),
        },
    }
}

/// Maps getaddrinfo's error (only its text is exposed) the way Go's cgo resolver does:
/// EAI_NONAME/EAI_NODATA become `no such host`; anything else keeps gai_strerror's text.
fn system_error(host: &str, e: &std::io::Error) -> ProbeError {
    let text = e.to_string();
    let gai = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text)
        .to_string();
    let lower = gai.to_ascii_lowercase();
    if lower.contains("name or service not known")
        || lower.contains("nodename nor servname")
        || lower.contains("no address associated")
        || lower.contains("name does not resolve")
    {
        ProbeError::new(
            ErrorClass::NxDomain,
            format!("lookup {host}: no such host"),
            text,
        )
    } else if lower.contains("temporary failure") {
        ProbeError::new(ErrorClass::Timeout, format!("lookup {host}: {gai}"), text)
    } else {
        ProbeError::new(ErrorClass::Other, format!("lookup {host}: {gai}"), text)
    }
}

/// Asks one nameserver (UDP) for `host`'s A and AAAA records, bounded by `deadline`.
pub async fn lookup_server(host: &str, server: SocketAddr, deadline: Instant) -> DnsAnswer {
    let start = Instant::now();
    let label = server.to_string();
    let budget = remaining(deadline).max(Duration::from_millis(1));
    let result = match build_resolver(server, budget) {
        Err(e) => Err(ProbeError::new(
            ErrorClass::Other,
            format!("lookup {host} on {label}: {e}"),
            format!("cannot build resolver: {e}"),
        )),
        Ok(r) => {
            // Absolute name: no search list, as Go does first for names with enough dots.
            let fqdn = if host.ends_with('.') {
                host.to_string()
            } else {
                format!("{host}.")
            };
            let lookup = tokio::time::timeout_at(deadline, r.lookup_ip(fqdn.as_str()));
            tokio::select! {
                res = lookup => match res {
                    Err(_) => Err(timeout_error(host, &label, "deadline")),
                    Ok(Ok(l)) => Ok(dedup(l.iter())),
                    Ok(Err(e)) => Err(server_error(host, &label, &e)),
                },
                e = refusal(&fqdn, server) => Err(ProbeError::new(
                    ErrorClass::ConnectionRefused,
                    format!("lookup {host} on {label}: read udp {label}: read: connection refused"),
                    e.to_string(),
                )),
            }
        }
    };
    let elapsed_ms = ms(start.elapsed());
    match result {
        Ok(addrs) if addrs.is_empty() => DnsAnswer {
            resolver: label.clone(),
            addrs,
            elapsed_ms,
            error: Some(ProbeError::new(
                ErrorClass::NoData,
                format!("lookup {host} on {label}: no such host"),
                "empty answer",
            )),
        },
        Ok(addrs) => DnsAnswer {
            resolver: label,
            addrs,
            elapsed_ms,
            error: None,
        },
        Err(e) => DnsAnswer {
            resolver: label,
            addrs: vec![],
            elapsed_ms,
            error: Some(e),
        },
    }
}

/// Go's resolver dials UDP (a connected socket), so an ICMP port unreachable
/// comes back at once as `connection refused`; hickory's unconnected socket
/// never sees it and waits for its timeout. This asks the same question on a
/// connected socket and completes only with that refusal (never otherwise:
/// an answer is hickory's to read).
async fn refusal(fqdn: &str, server: SocketAddr) -> std::io::Error {
    let refused = async {
        let query = a_query(fqdn)?;
        let any: SocketAddr = if server.is_ipv4() {
            (IpAddr::from([0u8; 4]), 0).into()
        } else {
            (IpAddr::from([0u16; 8]), 0).into()
        };
        let sock = tokio::net::UdpSocket::bind(any).await.ok()?;
        sock.connect(server).await.ok()?;
        sock.send(&query).await.ok()?;
        let mut buf = [0u8; 512];
        match sock.recv(&mut buf).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(e),
            _ => None,
        }
    };
    match refused.await {
        Some(e) => e,
        None => std::future::pending().await,
    }
}

/// A DNS query for the A records of `fqdn` (recursion desired), or `None`
/// for a name that is not valid on the wire.
fn a_query(fqdn: &str) -> Option<Vec<u8>> {
    let id = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .subsec_nanos()
        & 0xFFFF) as u16;
    let mut q = Vec::with_capacity(fqdn.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in fqdn.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 || !label.is_ascii() {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    (q.len() <= 512).then_some(q)
}

fn build_resolver(
    server: SocketAddr,
    timeout: Duration,
) -> Result<Resolver<TokioRuntimeProvider>, NetError> {
    let mut conn = ConnectionConfig::udp();
    conn.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_name_servers(vec![ns]);
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.try_tcp_on_error = false;
    opts.num_concurrent_reqs = 1;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.ndots = 0;
    Resolver::builder_with_config(cfg, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
}

fn timeout_error(host: &str, server: &str, detail: &str) -> ProbeError {
    ProbeError::new(
        ErrorClass::Timeout,
        format!("lookup {host} on {server}: i/o timeout"),
        format!("no answer from {server} ({detail})"),
    )
}

/// Go's texts (`net/dnsclient_unix.go`): NXDOMAIN and empty answers are `no such host`;
/// SERVFAIL and other rcodes `server misbehaving`; an unparsable answer `cannot unmarshal
/// DNS message`; a read that times out `i/o timeout`.
fn server_error(host: &str, server: &str, e: &NetError) -> ProbeError {
    let detail = e.to_string();
    let go = |tail: &str| format!("lookup {host} on {server}: {tail}");
    match e {
        _ if e.is_nx_domain() => ProbeError::new(ErrorClass::NxDomain, go("no such host"), detail),
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            let class = match nr.response_code {
                ResponseCode::NoError => ErrorClass::NoData,
                ResponseCode::Refused => ErrorClass::DnsRefused,
                ResponseCode::NXDomain => ErrorClass::NxDomain,
                _ => ErrorClass::ServFail,
            };
            let tail = match class {
                ErrorClass::NoData | ErrorClass::NxDomain => "no such host",
                _ => "server misbehaving",
            };
            ProbeError::new(class, go(tail), detail)
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            let class = match code {
                ResponseCode::Refused => ErrorClass::DnsRefused,
                _ => ErrorClass::ServFail,
            };
            ProbeError::new(class, go("server misbehaving"), detail)
        }
        NetError::Timeout => timeout_error(host, server, &detail),
        NetError::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => ProbeError::new(
                ErrorClass::ConnectionRefused,
                go(&format!("read udp {server}: read: connection refused")),
                detail,
            ),
            std::io::ErrorKind::TimedOut => timeout_error(host, server, &detail),
            std::io::ErrorKind::NetworkUnreachable => ProbeError::new(
                ErrorClass::NetworkUnreachable,
                go(&format!(
                    "dial udp {server}: connect: network is unreachable"
                )),
                detail,
            ),
            std::io::ErrorKind::HostUnreachable => ProbeError::new(
                ErrorClass::HostUnreachable,
                go(&format!("read udp {server}: read: no route to host")),
                detail,
            ),
            _ => ProbeError::new(ErrorClass::Other, go(&io.to_string()), detail),
        },
        NetError::Proto(_) | NetError::Truncated | NetError::ForeignClassRecord { .. } => {
            ProbeError::new(
                ErrorClass::Garbage,
                go("cannot unmarshal DNS message"),
                detail,
            )
        }
        _ if detail.contains("timed out") => timeout_error(host, server, &detail),
        _ => ProbeError::new(ErrorClass::Other, go(&detail), detail.clone()),
    }
}

/// Resolves `host` with the system resolver (when `system`) and every server in `servers`,
/// all concurrently, under `deadline`. IP literals are not looked up: the answer is the IP.
pub async fn probe_dns(
    host: &str,
    servers: &[SocketAddr],
    system: bool,
    deadline: Instant,
) -> DnsProbe {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return DnsProbe {
            host: host.to_string(),
            literal: Some(ip),
            system: None,
            servers: vec![],
            agree: None,
        };
    }
    let sys = async {
        if system {
            Some(lookup_system(host, deadline).await)
        } else {
            None
        }
    };
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in servers.iter().enumerate() {
        let (h, s) = (host.to_string(), *s);
        set.spawn(async move { (i, lookup_server(&h, s, deadline).await) });
    }
    let each = async {
        let mut out: Vec<Option<DnsAnswer>> = vec![None; servers.len()];
        while let Some(r) = set.join_next().await {
            if let Ok((i, a)) = r {
                out[i] = Some(a);
            }
        }
        out
    };
    let (system, answers) = tokio::join!(sys, each);
    let servers: Vec<DnsAnswer> = answers
        .into_iter()
        .zip(servers)
        .map(|(a, s)| {
            a.unwrap_or_else(|| DnsAnswer {
                resolver: s.to_string(),
                addrs: vec![],
                elapsed_ms: 0,
                error: Some(ProbeError::new(
                    ErrorClass::Other,
                    format!("lookup {host} on {s}: probe failed"),
                    "the lookup task ended abnormally",
                )),
            })
        })
        .collect();
    let sets: Vec<BTreeSet<IpAddr>> = system
        .iter()
        .chain(servers.iter())
        .filter(|a| a.ok())
        .map(|a| a.addrs.iter().copied().collect())
        .collect();
    let agree = (sets.len() >= 2).then(|| sets.windows(2).all(|w| w[0] == w[1]));
    DnsProbe {
        host: host.to_string(),
        literal: None,
        system,
        servers,
        agree,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_servers() {
        let rc = "# generated\nsearch corp.example\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\n\
                  nameserver 10.0.0.2\noptions ndots:2\n";
        let s = servers_from_resolv_conf(rc);
        assert_eq!(
            s,
            vec![
                "10.0.0.2:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
        assert_eq!(servers_from_resolv_conf("").len(), 2);
    }

    #[test]
    fn getaddrinfo_texts_go_style() {
        let e = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        let p = system_error("nothere.test", &e);
        assert_eq!(
            (p.class, p.go.as_str()),
            (ErrorClass::NxDomain, "lookup nothere.test: no such host")
        );
        let e = std::io::Error::other(
            "failed to lookup address information: Temporary failure in name resolution",
        );
        let p = system_error("x.test", &e);
        assert_eq!(p.go, "lookup x.test: Temporary failure in name resolution");
    }

    #[test]
    fn dns_server_flag() {
        assert_eq!(
            parse_dns_server("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert!(parse_dns_server("dns.example").is_err());
    }
}
