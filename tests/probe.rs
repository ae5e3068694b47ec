//! Probe layer against in-process loopback servers only: a TLS registry with an rcgen test
//! CA, CONNECT proxies (tunnel, 407), a refused port, a listener that never answers, slow
//! and oversized responders, and hand-built UDP DNS responders. Every target, proxy and
//! resolver is 127.0.0.1 / ::1, and the system resolver is off, so no packet leaves the host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulldoctor::probe::dns::{self, DnsProbe};
use pulldoctor::probe::http::HubEndpoints;
use pulldoctor::probe::tls::VerdictReason;
use pulldoctor::probe::util::{base64, http_date, unix_now};
use pulldoctor::probe::{
    ErrorClass, ExtraCa, Outcome, ProbeEvidence, ProbeOptions, Role, Scheme, Target, TargetProbe,
    plan, probe_all, probe_proxy_reachability, probe_target,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::Instant;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const TOKEN: &str = "SECRET-TOKEN-d41d8cd98f00b204";
const PROXY_PASSWORD: &str = "s3cret-pw-7f3a";

// ---------------------------------------------------------------- test PKI

struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "pulldoctor test CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Pki {
            ca: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn ca_pem(&self) -> Vec<u8> {
        self.ca.pem().into_bytes()
    }

    /// A leaf for `sans`, chain = [leaf, CA].
    fn leaf(
        &self,
        sans: &[&str],
        expired: bool,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "test registry");
        if expired {
            p.not_before = date_time_ymd(2019, 1, 1);
            p.not_after = date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.ca).unwrap();
        (
            vec![cert.der().clone(), self.ca.der().clone()],
            PrivateKeyDer::from(key),
        )
    }

    fn server(&self, sans: &[&str], expired: bool) -> Arc<ServerConfig> {
        let (chain, key) = self.leaf(sans, expired);
        server_config(chain, key)
    }
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

fn extra_ca(pki: &Pki, applies_to: &str) -> ExtraCa {
    ExtraCa {
        applies_to: Some(applies_to.to_string()),
        source: format!("/etc/docker/certs.d/{applies_to}/ca.crt"),
        pem: pki.ca_pem(),
    }
}

// ---------------------------------------------------------------- servers

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.first() != Some(&0x16) {
        if buf.len() > 64 * 1024 || s.read(&mut b).await.ok()? == 0 {
            return None;
        }
        buf.push(b[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A registry: `/v2/` → 401 with a Bearer challenge and a `Date` `skew` seconds off;
/// `/token` → a chunked JSON token; `HEAD` of the ratelimitpreview manifest with the
/// token → 200 with RateLimit headers.
async fn serve_registry<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, port: u16, skew: i64) {
    let Some(head) = read_head(&mut s).await else {
        return;
    };
    if head.starts_with('\u{16}') {
        // A TLS ClientHello on the plain port: Go's http server answers 400.
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request")
            .await;
        return;
    }
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    let date = http_date(unix_now() + skew);
    let resp = if path == "/v2/" {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
             Docker-Distribution-Api-Version: registry/2.0\r\n\
             Www-Authenticate: Bearer realm=\"https://127.0.0.1:{port}/token\",service=\"test\"\r\n\
             Date: {date}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    } else if path.starts_with("/token?") {
        let body = format!(r#"{{"token":"{TOKEN}","access_token":"{TOKEN}","expires_in":300}}"#);
        let (a, b) = body.split_at(10);
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nDate: {date}\r\n\r\n\
             {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        )
    } else if method == "HEAD" && path == "/v2/ratelimitpreview/test/manifests/latest" {
        if header(&head, "authorization") == Some(&format!("Bearer {TOKEN}")) {
            "HTTP/1.1 200 OK\r\nContent-Length: 2782\r\nDocker-Content-Digest: sha256:767a\r\n\
             RateLimit-Limit: 100;w=21600\r\nRateLimit-Remaining: 76;w=21600\r\n\
             Docker-RateLimit-Source: 127.0.0.1\r\n\r\n"
                .to_string()
        } else {
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
        }
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
    };
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// A TLS registry on 127.0.0.1; returns its port.
async fn spawn_tls_registry(cfg: Arc<ServerConfig>, skew: i64) -> u16 {
    let (l, port) = listener().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    serve_registry(tls, port, skew).await;
                }
            });
        }
    });
    port
}

/// The same registry over plain HTTP.
async fn spawn_plain_registry() -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve_registry(s, port, 0));
        }
    });
    port
}

/// A CONNECT proxy. With `auth`, a request without the matching `Proxy-Authorization`
/// gets `407 Proxy Authentication Required` + `Proxy-Authenticate: Basic realm="x"`.
/// Tunnels only to 127.0.0.1 (anything else gets 403). Records the request heads it saw.
async fn spawn_proxy(auth: Option<String>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let (l, port) = listener().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let (auth, seen) = (auth.clone(), seen2.clone());
            tokio::spawn(async move {
                let Some(head) = read_head(&mut s).await else {
                    return;
                };
                seen.lock().unwrap().push(head.clone());
                if let Some(want) = &auth
                    && header(&head, "proxy-authorization") != Some(want.as_str())
                {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\
                              Via: 1.1 testproxy\r\nServer: testproxy/1.0\r\nContent-Length: 0\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let target = head.split(' ').nth(1).unwrap_or_default().to_string();
                let dest: Option<SocketAddr> = target
                    .parse()
                    .ok()
                    .filter(|a: &SocketAddr| a.ip().is_loopback());
                let Some(dest) = dest.filter(|_| head.starts_with("CONNECT ")) else {
                    let _ = s
                        .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let Ok(mut up) = TcpStream::connect(dest).await else {
                    let _ = s
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let _ = s
                    .write_all(b"HTTP/1.1 200 Connection established\r\nVia: 1.1 testproxy\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
            });
        }
    });
    (port, seen)
}

/// A port where nothing listens (bound, then dropped).
async fn refused_port() -> u16 {
    let (l, port) = listener().await;
    drop(l);
    port
}

/// Accepts connections and never answers (holds them open).
async fn spawn_blackhole() -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    port
}

/// Accepts and sends `bytes` one byte every 100 ms.
async fn spawn_dribbler(bytes: &'static [u8]) -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                for b in bytes.iter().cycle() {
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    port
}

/// A hand-built DNS responder on 127.0.0.1/UDP. `Answer` decides per query.
#[derive(Clone, Copy)]
enum Dns {
    /// rcode only (3 NXDOMAIN, 2 SERVFAIL, 5 REFUSED), no records.
    Rcode(u8),
    /// A queries → 127.0.0.1; other types → NOERROR, no records.
    Loopback,
    /// The query id, then bytes that do not parse.
    Garbage,
    /// Never answers.
    Silent,
}

fn dns_reply(q: &[u8], kind: Dns) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    // End of the question: labels up to the 0 byte, then QTYPE and QCLASS.
    let mut i = 12;
    while i < q.len() && q[i] != 0 {
        i += 1 + q[i] as usize;
    }
    let qend = i + 5;
    if qend > q.len() {
        return None;
    }
    let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
    let rd = q[2] & 0x01;
    let mut r = vec![q[0], q[1]];
    match kind {
        Dns::Silent => return None,
        Dns::Garbage => {
            r.extend_from_slice(&[0x81, 0x80, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]);
            r.extend_from_slice(&[0xc0, 0xff, 0x3f, 0x41, 0x41, 0x00, 0x07]);
            return Some(r);
        }
        Dns::Rcode(code) => {
            r.extend_from_slice(&[0x80 | rd, 0x80 | code, 0, 1, 0, 0, 0, 0, 0, 0]);
            r.extend_from_slice(&q[12..qend]);
        }
        Dns::Loopback => {
            let an = u8::from(qtype == 1);
            r.extend_from_slice(&[0x84 | rd, 0x80, 0, 1, 0, an, 0, 0, 0, 0]);
            r.extend_from_slice(&q[12..qend]);
            if an == 1 {
                // name pointer to the question, A, IN, TTL 60, 4 bytes, 127.0.0.1
                r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
            }
        }
    }
    Some(r)
}

async fn spawn_dns(kind: Dns) -> SocketAddr {
    let sock = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if let Some(r) = dns_reply(&buf[..n], kind) {
                let _ = sock.send_to(&r, from).await;
            }
        }
    });
    addr
}

// ---------------------------------------------------------------- helpers

/// Options that keep every packet on loopback: no system resolver, Hub endpoints local.
fn opts(deadline_ms: u64) -> ProbeOptions {
    ProbeOptions {
        dns_servers: vec![],
        system_resolver: false,
        system_store: false,
        extra_ca: vec![],
        deadline: Duration::from_millis(deadline_ms),
        hub_quota: false,
        hub_endpoints: HubEndpoints {
            token_url: "https://127.0.0.1:9/token?service=x".into(),
            manifest_url: "https://127.0.0.1:9/v2/x/manifests/latest".into(),
            token_proxy: None,
            manifest_proxy: None,
        },
        reachability: vec![],
    }
}

fn registry(port: u16) -> Target {
    Target::new("127.0.0.1", port, Scheme::Https, Role::Registry)
}

fn go(p: &TargetProbe) -> String {
    p.error.as_ref().map(|e| e.go.clone()).unwrap_or_default()
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &T,
) -> String {
    // Proxy URLs are redacted when serialized, so compare the JSON, not the values.
    let json = serde_json::to_string_pretty(v).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&back).unwrap(),
        json,
        "evidence must survive a JSON round trip"
    );
    json
}

// ---------------------------------------------------------------- TLS registry

#[tokio::test]
async fn tls_registry_challenge_skew_and_verdicts() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1", "registry.test"], false), -7200).await;
    let mut o = opts(3000);
    o.system_store = true; // local files only
    o.extra_ca = vec![
        extra_ca(&pki, &format!("127.0.0.1:{port}")),
        extra_ca(&pki, "elsewhere.test"),
    ];
    let p = probe_target(&registry(port), &o).await;
    assert_eq!(p.outcome, Outcome::Ok, "{p:#?}");
    assert!(p.error.is_none());

    let r = p.http.response.as_ref().unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.api_version.as_deref(), Some("registry/2.0"));
    let w = r.www_authenticate.as_ref().unwrap();
    assert_eq!(w.scheme, "Bearer");
    assert_eq!(
        w.realm.as_deref(),
        Some(format!("https://127.0.0.1:{port}/token").as_str())
    );
    assert_eq!(w.service.as_deref(), Some("test"));
    let skew = p.clock_skew_secs.unwrap();
    assert!((-7260..=-7140).contains(&skew), "skew {skew}");
    assert!(r.body.as_deref().unwrap().contains("UNAUTHORIZED"));

    let tls = p.http.tls.as_ref().unwrap();
    assert!(tls.ok);
    assert_eq!(tls.chain_presented, 2);
    assert_eq!(tls.version.as_deref(), Some("TLS 1.3"));
    let leaf = &tls.chain[0];
    assert_eq!(leaf.ip_addresses, vec![LOCALHOST]);
    assert_eq!(leaf.dns_names, vec!["registry.test".to_string()]);
    assert!(
        leaf.issuer.contains("pulldoctor test CA"),
        "{}",
        leaf.issuer
    );
    assert!(!leaf.is_ca && tls.chain[1].is_ca && tls.chain[1].self_signed);
    assert_eq!(leaf.sha256.len(), 64);
    assert!(leaf.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));

    let moz = tls.verdict("mozilla").unwrap();
    assert!(!moz.ok);
    assert_eq!(moz.reason, VerdictReason::UnknownAuthority);
    assert_eq!(
        moz.go_error.as_deref(),
        Some("x509: certificate signed by unknown authority")
    );
    assert!(!tls.verdict("system").unwrap().ok);
    let extra = tls
        .verdict(&format!(
            "extra:/etc/docker/certs.d/127.0.0.1:{port}/ca.crt"
        ))
        .unwrap();
    assert!(extra.ok, "{extra:?}");
    assert!(
        extra
            .trusted_via
            .as_deref()
            .unwrap()
            .contains("pulldoctor test CA")
    );
    assert!(
        tls.verdict("extra:/etc/docker/certs.d/elsewhere.test/ca.crt")
            .is_none()
    );
    assert!(tls.verdict("docker").unwrap().ok);
    round_trip(&p);
}

#[tokio::test]
async fn untrusted_chain_is_recorded_and_named_like_go() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1"], false), 0).await;
    let p = probe_target(&registry(port), &opts(3000)).await;
    assert_eq!(p.outcome, Outcome::TlsUntrusted);
    assert_eq!(
        go(&p),
        format!(
            "Get \"https://127.0.0.1:{port}/v2/\": tls: failed to verify certificate: \
             x509: certificate signed by unknown authority"
        )
    );
    assert_eq!(p.error.as_ref().unwrap().class, ErrorClass::Untrusted);
    // Recording mode: the chain and the registry's answer are still there.
    assert_eq!(p.http.tls.as_ref().unwrap().chain.len(), 2);
    assert_eq!(p.http.response.as_ref().unwrap().status, 401);
    let docker = p.http.tls.as_ref().unwrap().verdict("docker").unwrap();
    assert_eq!(docker.reason, VerdictReason::NoRoots);
}

#[tokio::test]
async fn wrong_name_via_hickory_loopback_resolver() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["registry.test"], false), 0).await;
    let resolver = spawn_dns(Dns::Loopback).await;
    let mut o = opts(3000);
    o.dns_servers = vec![resolver];
    o.extra_ca = vec![ExtraCa {
        applies_to: None,
        source: "test-ca.pem".into(),
        pem: pki.ca_pem(),
    }];
    // The right name works end to end through the resolver.
    let ok = probe_target(
        &Target::new("registry.test", port, Scheme::Https, Role::Registry),
        &o,
    )
    .await;
    assert_eq!(ok.outcome, Outcome::Ok, "{ok:#?}");
    let d = ok.dns.as_ref().unwrap();
    assert_eq!(d.servers[0].addrs, vec![LOCALHOST]);
    assert!(d.system.is_none());

    let bad = probe_target(
        &Target::new("wrong.test", port, Scheme::Https, Role::Mirror),
        &o,
    )
    .await;
    assert_eq!(bad.outcome, Outcome::TlsUntrusted);
    let v = bad
        .http
        .tls
        .as_ref()
        .unwrap()
        .verdict("extra:test-ca.pem")
        .unwrap();
    assert_eq!(v.reason, VerdictReason::NameMismatch);
    assert_eq!(
        v.go_error.as_deref(),
        Some("x509: certificate is valid for registry.test, not wrong.test")
    );
    assert!(go(&bad).ends_with("x509: certificate is valid for registry.test, not wrong.test"));

    // An IP target against a certificate without IP SANs: Go's own wording.
    let ip = probe_target(&registry(port), &o).await;
    assert_eq!(
        ip.http
            .tls
            .as_ref()
            .unwrap()
            .verdict("docker")
            .unwrap()
            .go_error
            .as_deref(),
        Some(
            "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
        )
    );
}

#[tokio::test]
async fn expired_certificate() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1"], true), 0).await;
    let mut o = opts(3000);
    o.extra_ca = vec![extra_ca(&pki, &format!("127.0.0.1:{port}"))];
    let p = probe_target(&registry(port), &o).await;
    assert_eq!(p.outcome, Outcome::TlsUntrusted);
    let tls = p.http.tls.as_ref().unwrap();
    assert_eq!(tls.chain[0].not_after, "2020-01-01T00:00:00Z");
    let v = tls.verdict("docker").unwrap();
    assert_eq!(v.reason, VerdictReason::Expired);
    let g = v.go_error.as_deref().unwrap();
    assert!(
        g.starts_with("x509: certificate has expired or is not yet valid: current time ")
            && g.ends_with(" is after 2020-01-01T00:00:00Z"),
        "{g}"
    );
}

#[tokio::test]
async fn plain_http_registry_and_protocol_mismatch() {
    let port = spawn_plain_registry().await;
    let plain = probe_target(
        &Target::new("127.0.0.1", port, Scheme::Http, Role::Registry),
        &opts(3000),
    )
    .await;
    assert_eq!(plain.outcome, Outcome::Ok);
    assert_eq!(plain.http.response.as_ref().unwrap().status, 401);
    assert!(plain.http.tls.is_none());

    let tls = probe_target(&registry(port), &opts(3000)).await;
    assert_eq!(tls.outcome, Outcome::TlsFailed);
    assert!(
        go(&tls).ends_with(": http: server gave HTTP response to HTTPS client"),
        "{}",
        go(&tls)
    );
}

// ---------------------------------------------------------------- proxies

#[tokio::test]
async fn connect_tunnel_through_proxy() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1"], false), 0).await;
    let (pport, seen) = spawn_proxy(None).await;
    let mut o = opts(3000);
    o.extra_ca = vec![extra_ca(&pki, &format!("127.0.0.1:{port}"))];
    let t = registry(port).with_proxy(Some(format!("http://127.0.0.1:{pport}")));
    let p = probe_target(&t, &o).await;
    assert_eq!(p.outcome, Outcome::Ok, "{p:#?}");
    let c = p.http.connect.as_ref().unwrap();
    assert!(c.ok && !c.auth_sent);
    assert_eq!(c.status, Some(200));
    assert_eq!(c.reason.as_deref(), Some("Connection established"));
    assert_eq!(c.via.as_deref(), Some("1.1 testproxy"));
    assert_eq!(c.authority, format!("127.0.0.1:{port}"));
    assert_eq!(p.http.dial.as_ref().unwrap().attempts[0].addr.port(), pport);
    assert_eq!(p.http.response.as_ref().unwrap().status, 401);
    assert!(seen.lock().unwrap()[0].starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")));
}

#[tokio::test]
async fn proxy_407_then_basic_auth_never_recorded() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1"], false), 0).await;
    let want = format!(
        "Basic {}",
        base64(format!("alice:{PROXY_PASSWORD}").as_bytes())
    );
    let (pport, seen) = spawn_proxy(Some(want.clone())).await;
    let mut o = opts(3000);
    o.extra_ca = vec![extra_ca(&pki, &format!("127.0.0.1:{port}"))];

    let anon = probe_target(
        &registry(port).with_proxy(Some(format!("127.0.0.1:{pport}"))),
        &o,
    )
    .await;
    assert_eq!(anon.outcome, Outcome::ProxyAuthRequired);
    let c = anon.http.connect.as_ref().unwrap();
    assert_eq!(c.status, Some(407));
    assert_eq!(c.reason.as_deref(), Some("Proxy Authentication Required"));
    assert_eq!(c.proxy_authenticate, vec![r#"Basic realm="x""#.to_string()]);
    assert_eq!(c.via.as_deref(), Some("1.1 testproxy"));
    assert_eq!(c.server.as_deref(), Some("testproxy/1.0"));
    assert_eq!(
        anon.error.as_ref().unwrap().class,
        ErrorClass::ProxyAuthRequired
    );
    assert_eq!(
        go(&anon),
        format!("Get \"https://127.0.0.1:{port}/v2/\": Proxy Authentication Required")
    );
    assert!(anon.http.tls.is_none());

    let proxy = format!("http://alice:{PROXY_PASSWORD}@127.0.0.1:{pport}");
    let authed = probe_target(&registry(port).with_proxy(Some(proxy.clone())), &o).await;
    assert_eq!(authed.outcome, Outcome::Ok, "{authed:#?}");
    assert!(authed.http.connect.as_ref().unwrap().auth_sent);
    assert_eq!(
        header(seen.lock().unwrap().last().unwrap(), "proxy-authorization"),
        Some(want.as_str())
    );

    let json = round_trip(&authed);
    assert!(
        !json.contains(PROXY_PASSWORD) && !json.contains(&want[6..]),
        "credential leaked: {json}"
    );
    assert!(json.contains(&format!("http://alice:***@127.0.0.1:{pport}")));
    assert!(!format!("{authed:?}").contains(PROXY_PASSWORD));
}

#[tokio::test]
async fn refused_target_and_refused_proxy() {
    let dead = refused_port().await;
    let p = probe_target(&registry(dead), &opts(2000)).await;
    assert_eq!(p.outcome, Outcome::Unreachable);
    assert_eq!(
        p.error.as_ref().unwrap().class,
        ErrorClass::ConnectionRefused
    );
    assert_eq!(
        go(&p),
        format!(
            "Get \"https://127.0.0.1:{dead}/v2/\": dial tcp 127.0.0.1:{dead}: connect: connection refused"
        )
    );

    let via = registry(443).with_proxy(Some(format!("http://127.0.0.1:{dead}")));
    let p = probe_target(&via, &opts(2000)).await;
    assert_eq!(p.outcome, Outcome::ProxyUnreachable);
    assert_eq!(
        go(&p),
        format!(
            "Get \"https://127.0.0.1/v2/\": proxyconnect tcp: dial tcp 127.0.0.1:{dead}: connect: connection refused"
        )
    );
}

#[tokio::test]
async fn proxy_reachability_by_address() {
    let (l, port) = listener().await;
    let r = probe_proxy_reachability(
        port,
        &[LOCALHOST, "::1".parse().unwrap()],
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(r.len(), 2);
    assert!(r[0].ok, "{r:?}");
    assert_eq!(r[0].addr, SocketAddr::new(LOCALHOST, port));
    // Bound to 127.0.0.1 only: ::1 is refused (or has no IPv6 at all).
    assert!(!r[1].ok);
    drop(l);
}

// ---------------------------------------------------------------- deadlines

#[tokio::test]
async fn listener_that_never_answers_holds_the_deadline() {
    let port = spawn_blackhole().await;
    let start = Instant::now();
    let p = probe_target(&registry(port), &opts(1000)).await;
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(p.outcome, Outcome::TlsFailed);
    assert!(
        go(&p).ends_with(": net/http: TLS handshake timeout"),
        "{}",
        go(&p)
    );
    assert_eq!(p.error.as_ref().unwrap().class, ErrorClass::Timeout);

    // The same silence behind a CONNECT proxy.
    let start = Instant::now();
    let p = probe_target(
        &registry(443).with_proxy(Some(format!("http://127.0.0.1:{port}"))),
        &opts(1000),
    )
    .await;
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(p.outcome, Outcome::ProxyNoAnswer);
    assert_eq!(
        go(&p),
        "Get \"https://127.0.0.1/v2/\": context deadline exceeded"
    );
}

#[tokio::test]
async fn slow_dribblers_hold_the_deadline() {
    let tls_port = spawn_dribbler(b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03").await;
    let start = Instant::now();
    let p = probe_target(&registry(tls_port), &opts(1000)).await;
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(p.outcome, Outcome::TlsFailed);
    assert!(p.http.tls.as_ref().unwrap().bytes_received > 0);

    let http_port =
        spawn_dribbler(b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").await;
    let start = Instant::now();
    let p = probe_target(
        &Target::new("127.0.0.1", http_port, Scheme::Http, Role::Mirror),
        &opts(1000),
    )
    .await;
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(p.outcome, Outcome::HttpFailed);
    assert!(
        go(&p).ends_with(": net/http: timeout awaiting response headers"),
        "{}",
        go(&p)
    );
}

#[tokio::test]
async fn ten_megabyte_chain_is_capped() {
    let pki = Pki::new();
    let (mut chain, key) = pki.leaf(&["127.0.0.1"], false);
    let ca = chain[1].clone();
    let copies = 10 * 1024 * 1024 / ca.len() + 1;
    chain.extend(std::iter::repeat_n(ca, copies));
    let port = spawn_tls_registry(server_config(chain, key), 0).await;
    let start = Instant::now();
    let p = probe_target(&registry(port), &opts(3000)).await;
    assert!(start.elapsed() < Duration::from_millis(3500));
    assert_eq!(p.outcome, Outcome::TlsFailed);
    let tls = p.http.tls.as_ref().unwrap();
    assert_eq!(
        tls.error.as_ref().unwrap().class,
        ErrorClass::TooLarge,
        "{tls:#?}"
    );
    assert!(
        tls.bytes_received <= 512 * 1024,
        "read {} bytes",
        tls.bytes_received
    );
}

#[tokio::test]
async fn probe_all_runs_concurrently_under_one_deadline() {
    let hole = spawn_blackhole().await;
    let silent_dns = spawn_dns(Dns::Silent).await;
    let mut targets: Vec<Target> = (0..6).map(|_| registry(hole)).collect();
    targets.push(Target::new(
        "silent.test",
        443,
        Scheme::Https,
        Role::BlobCdn,
    ));
    targets.push(registry(443).with_proxy(Some(format!("http://127.0.0.1:{hole}"))));
    let mut o = opts(1000);
    o.dns_servers = vec![silent_dns];
    o.hub_quota = true;
    o.hub_endpoints.token_url = format!("https://127.0.0.1:{hole}/token?service=x");
    o.reachability = vec![plan::ReachabilityCheck {
        port: hole,
        addrs: vec![LOCALHOST],
    }];
    let start = Instant::now();
    let ev = probe_all(targets, &o).await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "probe_all took {took:?}"
    );
    assert_eq!(ev.targets.len(), 8);
    assert!(
        ev.targets
            .iter()
            .all(|t| t.outcome != Outcome::Ok && t.outcome != Outcome::Abandoned)
    );
    let dns_t = &ev.targets[6];
    assert_eq!(dns_t.outcome, Outcome::DnsFailed);
    assert_eq!(
        go(dns_t),
        format!(
            "Get \"https://silent.test/v2/\": dial tcp: lookup silent.test on {silent_dns}: i/o timeout"
        )
    );
    assert!(ev.hub_quota.as_ref().unwrap().error.is_some());
    assert!(ev.reachability[0].ok);
    assert_eq!(ev.schema, "pulldoctor/probe/v1");
    round_trip(&ev);
}

// ---------------------------------------------------------------- DNS

#[tokio::test]
async fn dns_nxdomain_servfail_refused_garbage_timeout() {
    let deadline = || Instant::now() + Duration::from_millis(1500);
    let nx = spawn_dns(Dns::Rcode(3)).await;
    let a = dns::lookup_server("nothere.test", nx, deadline()).await;
    let e = a.error.as_ref().unwrap();
    assert_eq!(e.class, ErrorClass::NxDomain, "{e:?}");
    assert_eq!(e.go, format!("lookup nothere.test on {nx}: no such host"));

    let sf = spawn_dns(Dns::Rcode(2)).await;
    let e = dns::lookup_server("broken.test", sf, deadline())
        .await
        .error
        .unwrap();
    assert_eq!(e.class, ErrorClass::ServFail, "{e:?}");
    assert_eq!(
        e.go,
        format!("lookup broken.test on {sf}: server misbehaving")
    );

    let rf = spawn_dns(Dns::Rcode(5)).await;
    let e = dns::lookup_server("closed.test", rf, deadline())
        .await
        .error
        .unwrap();
    assert_eq!(e.class, ErrorClass::DnsRefused, "{e:?}");

    let g = spawn_dns(Dns::Garbage).await;
    let e = dns::lookup_server("junk.test", g, deadline())
        .await
        .error
        .unwrap();
    assert_eq!(e.class, ErrorClass::Garbage, "{e:?}");
    assert_eq!(
        e.go,
        format!("lookup junk.test on {g}: cannot unmarshal DNS message")
    );

    let s = spawn_dns(Dns::Silent).await;
    let start = Instant::now();
    let e = dns::lookup_server("slow.test", s, Instant::now() + Duration::from_millis(800))
        .await
        .error
        .unwrap();
    assert!(start.elapsed() < Duration::from_millis(1300));
    assert_eq!(e.class, ErrorClass::Timeout, "{e:?}");
    assert_eq!(e.go, format!("lookup slow.test on {s}: i/o timeout"));

    // Per-server evidence, in order; disagreement is flagged.
    let ok = spawn_dns(Dns::Loopback).await;
    let probe: DnsProbe = dns::probe_dns("registry.test", &[ok, nx], false, deadline()).await;
    assert_eq!(probe.servers.len(), 2);
    assert!(probe.servers[0].ok() && !probe.servers[1].ok());
    assert_eq!(probe.dial_addrs(), vec![LOCALHOST]);
    assert_eq!(probe.agree, None);
    round_trip(&probe);
}

#[tokio::test]
async fn nxdomain_target_reads_like_go() {
    let nx = spawn_dns(Dns::Rcode(3)).await;
    let mut o = opts(2000);
    o.dns_servers = vec![nx];
    let p = probe_target(
        &Target::new("nothere.test", 443, Scheme::Https, Role::Registry),
        &o,
    )
    .await;
    assert_eq!(p.outcome, Outcome::DnsFailed);
    assert_eq!(
        go(&p),
        format!(
            "Get \"https://nothere.test/v2/\": dial tcp: lookup nothere.test on {nx}: no such host"
        )
    );
    assert!(p.http.dial.is_none());
}

// ---------------------------------------------------------------- Docker Hub quota

#[tokio::test]
async fn hub_quota_from_local_endpoints_never_records_the_token() {
    let pki = Pki::new();
    let port = spawn_tls_registry(pki.server(&["127.0.0.1"], false), 0).await;
    let mut o = opts(3000);
    o.hub_quota = true;
    o.hub_endpoints = HubEndpoints {
        token_url: format!(
            "https://127.0.0.1:{port}/token?service=registry.docker.io&scope=repository:ratelimitpreview/test:pull"
        ),
        manifest_url: format!("https://127.0.0.1:{port}/v2/ratelimitpreview/test/manifests/latest"),
        token_proxy: None,
        manifest_proxy: None,
    };
    let ev: ProbeEvidence = probe_all(vec![], &o).await;
    let q = ev.hub_quota.as_ref().unwrap();
    assert!(q.token_obtained, "{q:#?}");
    assert_eq!(q.error, None);
    assert_eq!((q.limit, q.limit_window_secs), (Some(100), Some(21600)));
    assert_eq!(
        (q.remaining, q.remaining_window_secs),
        (Some(76), Some(21600))
    );
    assert_eq!(q.source.as_deref(), Some("127.0.0.1"));
    let json = round_trip(&ev);
    assert!(!json.contains(TOKEN), "token leaked: {json}");
    assert!(!format!("{ev:?}").contains(TOKEN));
}
