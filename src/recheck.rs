//! `explain --check`: after a log is classified, probe what it names (that
//! proxy, that host) and mark each finding confirmed, refuted or untested.
//!
//! Only the addresses taken from the log are contacted, each once, under one
//! deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

use crate::probe::{dns, tcp};
use crate::report::{Finding, Status};

/// What a finding claims that a probe can test.
enum Claim {
    /// The proxy at host:port does not accept connections.
    ProxyDown { host: String, port: u16 },
    /// The name does not resolve.
    NameFails { host: String },
    /// host:port (an address from the log) cannot be reached directly.
    Unreachable { host: String, port: u16 },
}

fn claim(f: &Finding) -> Option<Claim> {
    let e = &f.entities;
    let port = |k: &str| e.get(k).and_then(|p| p.parse::<u16>().ok());
    let proxy_hp = || -> Option<(String, u16)> {
        if let (Some(h), Some(p)) = (e.get("proxy_host"), port("proxy_port")) {
            return Some((h.trim_matches(['[', ']']).to_string(), p));
        }
        let v = e.get("proxy")?;
        let v = v.rsplit_once('@').map_or(v.as_str(), |(_, h)| h);
        let v = v.split_once("://").map_or(v, |(_, r)| r);
        let (h, p) = v.trim_end_matches('/').rsplit_once(':')?;
        Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))
    };
    match f.category.as_str() {
        "proxy-refused" | "proxy-loopback-in-vm" => {
            proxy_hp().map(|(host, port)| Claim::ProxyDown { host, port })
        }
        "network-timeout" if e.contains_key("proxy") || e.contains_key("proxy_host") => {
            proxy_hp().map(|(host, port)| Claim::ProxyDown { host, port })
        }
        "dns-failure" => e.get("host").map(|h| Claim::NameFails { host: h.clone() }),
        "network-timeout"
        | "connection-reset-eof"
        | "ipv6-unreachable"
        | "blob-download-bypass" => {
            let addr = e.get("address")?;
            let (h, p) = addr.rsplit_once(':')?;
            Some(Claim::Unreachable {
                host: h.trim_matches(['[', ']']).to_string(),
                port: p.parse().ok()?,
            })
        }
        _ => None,
    }
}

fn status(verdict: &str, evidence: String) -> Status {
    Status {
        verdict: verdict.into(),
        evidence: crate::redact::text(&evidence).into_owned(),
    }
}

async fn resolve(host: &str, deadline: Instant) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let a = dns::lookup_system(host, deadline).await;
    match a.error {
        Some(e) => Err(e.go),
        None => Ok(a.addrs),
    }
}

async fn connect_any(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr, String> {
    let addrs = resolve(host, deadline).await?;
    let mut last = format!("no address for {host}");
    for ip in addrs {
        let sa = SocketAddr::new(ip, port);
        let (_stream, probe) = tcp::connect(sa, deadline).await;
        if probe.ok {
            return Ok(sa);
        }
        if let Some(e) = probe.error {
            last = e.go;
        }
    }
    Err(last)
}

async fn check_one(f: &Finding, deadline: Instant) -> Status {
    match claim(f) {
        None => status("untested", "nothing in this finding can be probed from here; `pulldoctor check` inspects the machine".into()),
        Some(Claim::ProxyDown { host, port }) => match connect_any(&host, port, deadline).await {
            Ok(sa) => status("refuted", format!("the proxy {host}:{port} accepts connections now ({sa}); it was down when the log was written, or the failing puller runs where {host} means something else")),
            Err(e) => status("confirmed", format!("from here: {e}")),
        },
        Some(Claim::NameFails { host }) => match resolve(&host, deadline).await {
            Ok(ips) => status(
                "refuted",
                format!("{host} resolves now with the system resolver: {}", ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")),
            ),
            Err(e) => status("confirmed", format!("from here: {e}")),
        },
        Some(Claim::Unreachable { host, port }) => match connect_any(&host, port, deadline).await {
            Ok(sa) => status("refuted", format!("{sa} accepts connections directly from here now")),
            Err(e) => status("confirmed", format!("from here: {e}")),
        },
    }
}

/// Probes every finding's claim concurrently and sets its `status`.
pub async fn recheck(findings: &mut [Finding], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let results = futures_join(findings.iter().map(|f| check_one(f, deadline)).collect()).await;
    for (f, s) in findings.iter_mut().zip(results) {
        if f.category != "unknown" {
            f.status = Some(s);
        }
    }
}

/// Runs futures concurrently on the current task and keeps their order.
async fn futures_join<F: std::future::Future<Output = Status>>(futs: Vec<F>) -> Vec<Status> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<Status>> = (0..futs.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(s) => out[i] = Some(s),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|s| s.unwrap_or_else(|| status("untested", "not finished".into())))
        .collect()
}
