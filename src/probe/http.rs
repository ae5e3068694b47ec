//! Hand-written HTTP/1.1 probes (httparse + tokio), because we need what Go's transport
//! would see: the raw CONNECT answer of a proxy (status, `Proxy-Authenticate`, `Via`), the
//! registry's `GET /v2/` (`WWW-Authenticate`, `Docker-Distribution-Api-Version`, `Date`),
//! and Docker Hub's pull quota. Each request is one connection with `Connection: close`.
//!
//! Secrets: a proxy password (URL userinfo) is sent as `Proxy-Authorization: Basic` to that
//! proxy and never recorded; Hub's anonymous token is used for one `HEAD` and never recorded.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::dns::{self, DnsProbe};
use super::plan::Scheme;
use super::tcp::{self, DialProbe};
use super::tls::{self, TlsProbe, TrustStores};
use super::util::{BoxIo, base64, ms, parse_http_date, percent_decode, rfc3339, unix_now};
use super::{ErrorClass, ProbeError, USER_AGENT};

/// A proxy's CONNECT answer is read byte by byte up to this many bytes.
pub const CONNECT_HEAD_CAP: usize = 16 * 1024;
/// A response head larger than this is abandoned.
pub const RESPONSE_HEAD_CAP: usize = 64 * 1024;
/// At most this many body bytes are recorded as text.
pub const BODY_RECORD_CAP: usize = 2048;
/// After the response head, the body is read for at most this long.
pub const BODY_GRACE: Duration = Duration::from_secs(2);

/// A proxy URL, parsed the way Go's `httpproxy.parseProxy` does: a value without a scheme
/// (or that does not parse) is read as `http://VALUE`; default ports http 80, https 443,
/// socks5 1080. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    pub scheme: String,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    username: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Splits `host[:port]` / `[v6][:port]`. Returns the host without brackets.
fn split_host_port(hp: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("missing ']' in {hp:?}"))?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after IPv6 address")),
        };
        (rest[..end].to_string(), port)
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return Err(format!("IPv6 address {hp:?} needs brackets")),
            None => (hp.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {hp:?}"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("invalid port {p:?}"))?,
        ),
    };
    Ok((host, port))
}

impl ProxyUrl {
    pub fn parse(value: &str) -> Result<ProxyUrl, String> {
        let value = value.trim();
        match Self::parse_strict(value) {
            Ok(p) => Ok(p),
            Err(_) if !value.contains("://") => Self::parse_strict(&format!("http://{value}")),
            Err(e) => Err(e),
        }
    }

    fn parse_strict(value: &str) -> Result<ProxyUrl, String> {
        let (scheme, rest) = value.split_once("://").ok_or("no scheme")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("invalid scheme {scheme:?}"));
        }
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let port = port.unwrap_or(match scheme.as_str() {
            "https" => 443,
            "socks5" | "socks5h" => 1080,
            _ => 80,
        });
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((n, p)) => (Some(percent_decode(n)), Some(percent_decode(p))),
                None => (Some(percent_decode(u)), None),
            },
        };
        Ok(ProxyUrl {
            scheme,
            host,
            port,
            username,
            password,
        })
    }

    /// `scheme://user:***@host:port`: the form that goes into evidence.
    pub fn redacted(&self) -> String {
        let auth = match (&self.username, &self.password) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        format!(
            "{}://{auth}{}:{}",
            self.scheme,
            bracket(&self.host),
            self.port
        )
    }

    /// `host:port` as dialled.
    pub fn authority(&self) -> String {
        format!("{}:{}", bracket(&self.host), self.port)
    }

    pub fn has_credentials(&self) -> bool {
        self.username.is_some()
    }

    /// The `Proxy-Authorization` value Go sends for URL userinfo.
    fn basic_auth(&self) -> Option<String> {
        let u = self.username.as_ref()?;
        let p = self.password.as_deref().unwrap_or_default();
        Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes())))
    }
}

/// A request URL (`https://host[:port]/path?query`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUrl {
    pub scheme: Scheme,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl RequestUrl {
    pub fn parse(s: &str) -> Result<RequestUrl, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("no scheme in {s:?}"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => return Err(format!("unsupported scheme {other:?}")),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (hostport, path) = rest.split_at(split);
        let (host, port) = split_host_port(hostport)?;
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(RequestUrl {
            port: port.unwrap_or(scheme.default_port()),
            scheme,
            host,
            path,
        })
    }

    /// `host:port`, always with the port (the CONNECT authority).
    pub fn authority(&self) -> String {
        format!("{}:{}", bracket(&self.host), self.port)
    }

    /// `host[:port]`, the port only when not the scheme's default (the Host header).
    pub fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            bracket(&self.host)
        } else {
            self.authority()
        }
    }
}

impl std::fmt::Display for RequestUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            self.path
        )
    }
}

/// A parsed `WWW-Authenticate` challenge (`Bearer realm="…",service="…"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WwwAuthenticate {
    pub raw: String,
    pub scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub params: BTreeMap<String, String>,
}

/// Parses one challenge: `SCHEME k=v, k="quoted \" value"`.
pub fn parse_www_authenticate(raw: &str) -> WwwAuthenticate {
    let raw_t = raw.trim();
    let (scheme, rest) = raw_t.split_once(char::is_whitespace).unwrap_or((raw_t, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.trim().is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| *c == ' ') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => val.extend(chars.next()),
                        '"' => break,
                        c => val.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    val.push(c);
                    chars.next();
                }
                val = val.trim().to_string();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), val);
    }
    WwwAuthenticate {
        raw: raw.to_string(),
        scheme: scheme.to_string(),
        realm: params.get("realm").cloned(),
        service: params.get("service").cloned(),
        scope: params.get("scope").cloned(),
        params,
    }
}

/// A proxy's answer to `CONNECT host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectProbe {
    /// The proxy, credentials redacted.
    pub proxy: String,
    /// The `host:port` asked for.
    pub authority: String,
    /// Whether `Proxy-Authorization: Basic` was sent (the credential itself is not recorded).
    pub auth_sent: bool,
    pub ok: bool,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_line: Option<String>,
    /// `Proxy-Authenticate` challenges (NTLM/Negotiate mean the proxy wants SSO).
    pub proxy_authenticate: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub squid_error: Option<String>,
    pub headers: Vec<(String, String)>,
    pub bytes_read: usize,
    pub error: Option<ProbeError>,
}

/// A response, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Every header in order (`Set-Cookie` values are replaced by `<redacted>`).
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub www_authenticate: Option<WwwAuthenticate>,
    /// `Docker-Distribution-Api-Version` (`registry/2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The `Date` header as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The local clock when the head arrived (RFC 3339).
    pub local_time: String,
    /// Server `Date` minus local clock, seconds (positive: the server is ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_secs: Option<i64>,
    /// Time from sending the request to the first response byte.
    pub ttfb_ms: u64,
    /// The body as text, capped at [`BODY_RECORD_CAP`]; `None` when not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Body bytes read (raw, before de-chunking).
    pub body_bytes: u64,
    /// The body was not read to its end (cap, time limit, or error).
    pub body_truncated: bool,
}

impl HttpResponse {
    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request's route and result: DNS of the dialled host, TCP, TLS to an https proxy,
/// CONNECT, TLS to the target, the response, and the first error as Go would print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpTrace {
    pub method: String,
    pub url: String,
    /// The proxy used, credentials redacted; `None` for a direct connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Resolution of the dialled host (the proxy, or the target when not resolved before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial: Option<DialProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_tls: Option<TlsProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
    /// The first failure, composed as Go's http.Client prints it:
    /// `Get "https://host/v2/": dial tcp 1.2.3.4:443: i/o timeout`.
    pub error: Option<ProbeError>,
    pub elapsed_ms: u64,
}

impl HttpTrace {
    fn new(method: &str, url: &RequestUrl) -> Self {
        HttpTrace {
            method: method.to_string(),
            url: url.to_string(),
            proxy: None,
            dns: None,
            dial: None,
            proxy_tls: None,
            connect: None,
            tls: None,
            response: None,
            error: None,
            elapsed_ms: 0,
        }
    }

    /// A trace that failed before any network step.
    pub(crate) fn failed(method: &str, url: &RequestUrl, e: ProbeError) -> HttpTrace {
        let mut t = HttpTrace::new(method, url);
        t.fail(e);
        t
    }

    /// Records `e` (Go text prefixed with `Get "URL": `) unless an earlier error is recorded.
    fn fail(&mut self, e: ProbeError) {
        if self.error.is_none() {
            let mut m = self.method.to_ascii_lowercase();
            if let Some(f) = m.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            self.error = Some(e.wrap(&format!("{m} {:?}: ", self.url)));
        }
    }
}

/// Where and how an exchange runs.
pub(crate) struct Env<'a> {
    pub dns_servers: &'a [SocketAddr],
    pub system_resolver: bool,
    pub stores: Option<&'a TrustStores>,
    pub deadline: Instant,
}

/// What to send.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub url: &'a RequestUrl,
    /// Extra headers that are sent but never recorded (e.g. `Authorization`).
    pub secret_headers: Vec<(String, String)>,
    pub record_body: bool,
    /// Body bytes read at most (raw).
    pub body_cap: usize,
}

fn untrusted(v: &tls::StoreVerdict) -> ProbeError {
    ProbeError::new(
        ErrorClass::Untrusted,
        format!(
            "tls: failed to verify certificate: {}",
            v.go_error
                .as_deref()
                .unwrap_or("x509: certificate verification failed")
        ),
        v.detail.clone().unwrap_or_default(),
    )
}

/// TLS over `io` with verdicts; returns the new stream, or records the failure.
async fn tls_step(
    io: BoxIo,
    host: &str,
    port: u16,
    env: &Env<'_>,
) -> (Option<BoxIo>, TlsProbe, Option<ProbeError>) {
    let (stream, mut probe, chain) = tls::handshake(io, host, env.deadline).await;
    if let Some(stores) = env.stores
        && !chain.is_empty()
    {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        probe.verdicts = stores.verdicts(&chain, bare, port);
    }
    let err = match (&stream, &probe.error) {
        (None, Some(e)) => Some(e.clone()),
        (None, None) => Some(ProbeError::new(
            ErrorClass::Tls,
            "tls: handshake failed",
            "",
        )),
        (Some(_), _) => probe.verdict("docker").filter(|v| !v.ok).map(untrusted),
    };
    (stream, probe, err)
}

/// Runs one request along the route Go's transport would take, recording every step.
/// Returns the trace and the raw (de-chunked) body, which is for the caller only.
pub(crate) async fn exchange(
    req: &Request<'_>,
    proxy: Option<&str>,
    pre_resolved: Option<Vec<IpAddr>>,
    env: &Env<'_>,
) -> (HttpTrace, Vec<u8>) {
    let start = Instant::now();
    let mut t = HttpTrace::new(req.method, req.url);
    let body = run(&mut t, req, proxy, pre_resolved, env).await;
    t.elapsed_ms = ms(start.elapsed());
    (t, body)
}

async fn run(
    t: &mut HttpTrace,
    req: &Request<'_>,
    proxy: Option<&str>,
    pre_resolved: Option<Vec<IpAddr>>,
    env: &Env<'_>,
) -> Vec<u8> {
    let url = req.url;
    let proxy = match proxy.map(ProxyUrl::parse) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            t.fail(ProbeError::new(
                ErrorClass::InvalidInput,
                "proxyconnect tcp: invalid proxy URL",
                e,
            ));
            return vec![];
        }
    };
    t.proxy = proxy.as_ref().map(ProxyUrl::redacted);
    let pc = if proxy.is_some() {
        "proxyconnect tcp: "
    } else {
        ""
    };

    // DNS + TCP to the proxy or the target.
    let (host, port) = match &proxy {
        Some(p) => (p.host.clone(), p.port),
        None => (url.host.clone(), url.port),
    };
    let addrs = match pre_resolved.filter(|a| proxy.is_none() && !a.is_empty()) {
        Some(a) => a,
        None => {
            let d = dns::probe_dns(&host, env.dns_servers, env.system_resolver, env.deadline).await;
            let addrs = d.dial_addrs();
            let err = d.go_error();
            t.dns = Some(d);
            if addrs.is_empty() {
                let e =
                    err.unwrap_or_else(|| ProbeError::new(ErrorClass::Other, "no addresses", ""));
                t.fail(e.wrap(&format!("{pc}dial tcp: ")));
                return vec![];
            }
            addrs
        }
    };
    let (stream, dial) = tcp::dial(
        &format!("{}:{port}", bracket(&host)),
        &addrs,
        port,
        env.deadline,
    )
    .await;
    let dial_err = dial.error.clone();
    t.dial = Some(dial);
    let Some(stream) = stream else {
        let e = dial_err.unwrap_or_else(|| ProbeError::new(ErrorClass::Other, "dial failed", ""));
        t.fail(e.wrap(pc));
        return vec![];
    };
    let mut io: BoxIo = Box::new(stream);

    // TLS to an https proxy; CONNECT for https targets.
    if let Some(p) = &proxy {
        match p.scheme.as_str() {
            "http" => {}
            "https" => {
                let (s, probe, err) = tls_step(io, &p.host, p.port, env).await;
                t.proxy_tls = Some(probe);
                if let Some(e) = err {
                    t.fail(e.wrap(pc));
                }
                match s {
                    Some(s) => io = s,
                    None => return vec![],
                }
            }
            other => {
                t.fail(ProbeError::new(
                    ErrorClass::Unsupported,
                    format!("{pc}{other} proxy not probed by pulldoctor"),
                    "only http:// and https:// proxies are probed past the TCP connect",
                ));
                return vec![];
            }
        }
        if url.scheme == Scheme::Https {
            let cp = connect_tunnel(&mut io, p, &url.authority(), env.deadline).await;
            let err = cp.error.clone();
            t.connect = Some(cp);
            if let Some(e) = err {
                t.fail(e);
                return vec![];
            }
        }
    }
    if url.scheme == Scheme::Https {
        let (s, probe, err) = tls_step(io, &url.host, url.port, env).await;
        t.tls = Some(probe);
        if let Some(e) = err {
            t.fail(e);
        }
        match s {
            Some(s) => io = s,
            None => return vec![],
        }
    }

    // The request itself.
    let absolute = proxy.is_some() && url.scheme == Scheme::Http;
    let mut head = if absolute {
        format!("{} {url} HTTP/1.1\r\n", req.method)
    } else {
        format!("{} {} HTTP/1.1\r\n", req.method, url.path)
    };
    head += &format!(
        "Host: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n",
        url.host_header()
    );
    if absolute && let Some(a) = proxy.as_ref().and_then(ProxyUrl::basic_auth) {
        head += &format!("Proxy-Authorization: {a}\r\n");
    }
    for (k, v) in &req.secret_headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "Connection: close\r\n\r\n";
    let sent = Instant::now();
    match tokio::time::timeout_at(env.deadline, io.write_all(head.as_bytes())).await {
        Err(_) => {
            t.fail(ProbeError::new(
                ErrorClass::Timeout,
                "i/o timeout",
                "request not sent before the deadline",
            ));
            return vec![];
        }
        Ok(Err(e)) => {
            t.fail(tcp::io_error("write", &e));
            return vec![];
        }
        Ok(Ok(())) => {}
    }
    let _ = tokio::time::timeout_at(env.deadline, io.flush()).await;
    match read_response(&mut io, req, sent, env.deadline).await {
        Ok((resp, body)) => {
            t.response = Some(resp);
            body
        }
        Err(e) => {
            t.fail(e);
            vec![]
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn record_headers(h: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    h.iter()
        .map(|h| {
            let v = if h.name.eq_ignore_ascii_case("set-cookie") {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(h.value).into_owned()
            };
            (h.name.to_string(), v)
        })
        .collect()
}

fn get<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sends `CONNECT authority` on `io` and reads the answer byte by byte (so nothing of the
/// tunnel is over-read), up to [`CONNECT_HEAD_CAP`] bytes.
async fn connect_tunnel(
    io: &mut BoxIo,
    p: &ProxyUrl,
    authority: &str,
    deadline: Instant,
) -> ConnectProbe {
    let start = Instant::now();
    let auth = p.basic_auth();
    let mut cp = ConnectProbe {
        proxy: p.redacted(),
        authority: authority.to_string(),
        auth_sent: auth.is_some(),
        ok: false,
        elapsed_ms: 0,
        status: None,
        reason: None,
        status_line: None,
        proxy_authenticate: vec![],
        via: None,
        server: None,
        squid_error: None,
        headers: vec![],
        bytes_read: 0,
        error: None,
    };
    let mut req = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
    );
    if let Some(a) = &auth {
        req += &format!("Proxy-Authorization: {a}\r\n");
    }
    req += "\r\n";
    let mut buf = Vec::with_capacity(256);
    let result: Result<(), ProbeError> = async {
        match tokio::time::timeout_at(deadline, io.write_all(req.as_bytes())).await {
            Err(_) => {
                return Err(ProbeError::new(
                    ErrorClass::Timeout,
                    "context deadline exceeded",
                    "CONNECT not sent",
                ));
            }
            Ok(Err(e)) => return Err(tcp::io_error("write", &e)),
            Ok(Ok(())) => {}
        }
        let mut b = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if buf.len() >= CONNECT_HEAD_CAP {
                return Err(ProbeError::new(
                    ErrorClass::TooLarge,
                    format!("proxy CONNECT response headers exceeded {CONNECT_HEAD_CAP} bytes"),
                    "pulldoctor cap",
                ));
            }
            match tokio::time::timeout_at(deadline, io.read(&mut b)).await {
                Err(_) => {
                    return Err(ProbeError::new(
                        ErrorClass::Timeout,
                        "context deadline exceeded",
                        format!(
                            "proxy sent {} bytes of its CONNECT answer before the deadline",
                            buf.len()
                        ),
                    ));
                }
                Ok(Err(e)) => return Err(tcp::io_error("read", &e)),
                Ok(Ok(0)) => {
                    let go = if buf.is_empty() {
                        "EOF"
                    } else {
                        "unexpected EOF"
                    };
                    return Err(ProbeError::new(
                        ErrorClass::Eof,
                        go,
                        "proxy closed the connection",
                    ));
                }
                Ok(Ok(_)) => buf.push(b[0]),
            }
        }
        Ok(())
    }
    .await;
    cp.bytes_read = buf.len();
    cp.elapsed_ms = ms(start.elapsed());
    if let Err(e) = result {
        cp.error = Some(e);
        return cp;
    }
    let mut hdrs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hdrs);
    match resp.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            let first =
                String::from_utf8_lossy(buf.split(|b| *b == b'\n').next().unwrap_or_default());
            cp.error = Some(ProbeError::new(
                ErrorClass::MalformedResponse,
                format!("malformed HTTP response {:?}", first.trim_end()),
                "CONNECT answer is not HTTP",
            ));
            return cp;
        }
    }
    let status = resp.code.unwrap_or_default();
    let reason = resp.reason.unwrap_or_default().to_string();
    cp.status = Some(status);
    cp.reason = Some(reason.clone());
    cp.status_line = String::from_utf8_lossy(buf.split(|b| *b == b'\n').next().unwrap_or_default())
        .trim_end()
        .to_string()
        .into();
    cp.headers = record_headers(resp.headers);
    cp.proxy_authenticate = cp
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("proxy-authenticate"))
        .map(|(_, v)| v.clone())
        .collect();
    cp.via = get(&cp.headers, "via").map(str::to_string);
    cp.server = get(&cp.headers, "server").map(str::to_string);
    cp.squid_error = get(&cp.headers, "x-squid-error").map(str::to_string);
    if status == 200 {
        cp.ok = true;
    } else {
        // Go (transport.go dialConn): the error is the reason phrase alone, not wrapped.
        let go = if reason.is_empty() {
            "unknown status code".to_string()
        } else {
            reason
        };
        let class = if status == 407 {
            ErrorClass::ProxyAuthRequired
        } else {
            ErrorClass::ProxyStatus
        };
        cp.error = Some(ProbeError::new(
            class,
            go,
            format!("proxy answered CONNECT with {status}"),
        ));
    }
    cp
}

/// Decodes a chunked body, best effort (a truncated body yields what was complete).
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(eol) = find(rest, b"\r\n") {
        let size_txt = String::from_utf8_lossy(&rest[..eol]);
        let size_txt = size_txt.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_txt, 16) else {
            break;
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        let take = size.min(rest.len());
        out.extend_from_slice(&rest[..take]);
        if take < size || rest.len() < size + 2 {
            break;
        }
        rest = &rest[size + 2..];
    }
    out
}

async fn read_response(
    io: &mut BoxIo,
    req: &Request<'_>,
    sent: Instant,
    deadline: Instant,
) -> Result<(HttpResponse, Vec<u8>), ProbeError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut tmp = vec![0u8; 8192];
    let mut ttfb = None;
    let head_end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > RESPONSE_HEAD_CAP {
            return Err(ProbeError::new(
                ErrorClass::TooLarge,
                format!(
                    "net/http: server response headers exceeded {RESPONSE_HEAD_CAP} bytes; aborted"
                ),
                "pulldoctor cap",
            ));
        }
        match tokio::time::timeout_at(deadline, io.read(&mut tmp)).await {
            Err(_) => {
                return Err(ProbeError::new(
                    ErrorClass::Timeout,
                    "net/http: timeout awaiting response headers",
                    format!(
                        "{} bytes of the response head before the deadline",
                        buf.len()
                    ),
                ));
            }
            Ok(Err(e)) if buf.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(ProbeError::new(ErrorClass::Eof, "EOF", e.to_string()));
            }
            Ok(Err(e)) => return Err(tcp::io_error("read", &e)),
            Ok(Ok(0)) => {
                let go = if buf.is_empty() {
                    "EOF"
                } else {
                    "unexpected EOF"
                };
                return Err(ProbeError::new(
                    ErrorClass::Eof,
                    go,
                    "connection closed before the response head",
                ));
            }
            Ok(Ok(n)) => {
                ttfb.get_or_insert_with(|| sent.elapsed());
                buf.extend_from_slice(&tmp[..n]);
            }
        }
    };
    let local = unix_now();
    let mut hdrs = vec![httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut hdrs);
    if !matches!(
        resp.parse(&buf[..head_end]),
        Ok(httparse::Status::Complete(_))
    ) {
        let first = String::from_utf8_lossy(buf.split(|b| *b == b'\n').next().unwrap_or_default());
        return Err(ProbeError::new(
            ErrorClass::MalformedResponse,
            format!(
                "net/http: HTTP/1.x transport connection broken: malformed HTTP response {:?}",
                first.trim_end()
            ),
            "response head does not parse",
        ));
    }
    let status = resp.code.unwrap_or_default();
    let headers = record_headers(resp.headers);
    let version = format!("HTTP/1.{}", resp.version.unwrap_or(1));
    let reason = resp.reason.unwrap_or_default().to_string();

    // Body: framing per RFC 9112, bounded by the cap and a short grace period.
    let no_body =
        req.method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304 || status < 200;
    let chunked = get(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = get(&headers, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    let mut raw = buf[head_end..].to_vec();
    let mut complete = no_body;
    if !no_body {
        let body_deadline = deadline.min(Instant::now() + BODY_GRACE);
        loop {
            let done = if chunked {
                find(&raw, b"0\r\n\r\n").is_some_and(|p| p == 0 || raw[..p].ends_with(b"\r\n"))
            } else {
                length.is_some_and(|l| raw.len() >= l)
            };
            if done {
                complete = true;
                break;
            }
            if raw.len() >= req.body_cap {
                break;
            }
            match tokio::time::timeout_at(body_deadline, io.read(&mut tmp)).await {
                Ok(Ok(0)) => {
                    complete = !chunked && length.is_none();
                    break;
                }
                Ok(Ok(n)) => raw.extend_from_slice(&tmp[..n]),
                _ => break,
            }
        }
    }
    let body_bytes = raw.len() as u64;
    raw.truncate(req.body_cap);
    let body = if no_body {
        vec![]
    } else if chunked {
        dechunk(&raw)
    } else {
        match length {
            Some(l) => raw[..l.min(raw.len())].to_vec(),
            None => raw,
        }
    };
    let date = get(&headers, "date").map(str::to_string);
    let r = HttpResponse {
        version,
        status,
        reason,
        www_authenticate: get(&headers, "www-authenticate").map(parse_www_authenticate),
        api_version: get(&headers, "docker-distribution-api-version").map(str::to_string),
        server: get(&headers, "server").map(str::to_string),
        clock_skew_secs: date.as_deref().and_then(parse_http_date).map(|d| d - local),
        date,
        local_time: rfc3339(local),
        ttfb_ms: ms(ttfb.unwrap_or_default()),
        body: req.record_body.then(|| {
            String::from_utf8_lossy(&body[..body.len().min(BODY_RECORD_CAP)]).into_owned()
        }),
        body_bytes,
        body_truncated: !complete,
        headers,
    };
    Ok((r, body))
}

/// Where Docker Hub's pull quota is read: an anonymous token, then a `HEAD` of a manifest.
/// Configurable so tests can point it at a local server. Proxies are redacted in `Debug`
/// and when serialized.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubEndpoints {
    pub token_url: String,
    pub manifest_url: String,
    /// Proxy for the token URL, chosen by the caller with Go's rules (`None`: direct).
    #[serde(default, serialize_with = "super::plan::ser_proxy")]
    pub token_proxy: Option<String>,
    /// Proxy for the manifest URL.
    #[serde(default, serialize_with = "super::plan::ser_proxy")]
    pub manifest_proxy: Option<String>,
}

impl std::fmt::Debug for HubEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = |p: &Option<String>| p.as_deref().map(super::plan::redact_proxy);
        f.debug_struct("HubEndpoints")
            .field("token_url", &self.token_url)
            .field("manifest_url", &self.manifest_url)
            .field("token_proxy", &r(&self.token_proxy))
            .field("manifest_proxy", &r(&self.manifest_proxy))
            .finish()
    }
}

impl Default for HubEndpoints {
    fn default() -> Self {
        HubEndpoints {
            token_url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:ratelimitpreview/test:pull"
                .into(),
            manifest_url: "https://registry-1.docker.io/v2/ratelimitpreview/test/manifests/latest".into(),
            token_proxy: None,
            manifest_proxy: None,
        }
    }
}

/// Docker Hub's remaining pull quota, as its headers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubQuotaProbe {
    /// The token request (its body, which holds the token, is never recorded).
    pub token: HttpTrace,
    pub token_obtained: bool,
    /// The `HEAD` of the manifest (the bearer token is not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<HttpTrace>,
    /// `RateLimit-Limit` (`100;w=21600` → 100 and 21600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_window_secs: Option<u64>,
    /// `RateLimit-Remaining`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_window_secs: Option<u64>,
    /// `Docker-RateLimit-Source` (the address Hub counts pulls against).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub error: Option<ProbeError>,
}

/// `100;w=21600` → (100, Some(21600)).
pub fn parse_ratelimit(v: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = v.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let w = parts.find_map(|p| {
        p.trim()
            .strip_prefix("w=")
            .and_then(|w| w.trim().parse().ok())
    });
    Some((n, w))
}

pub(crate) async fn hub_quota(ep: &HubEndpoints, env: &Env<'_>) -> HubQuotaProbe {
    let bad = |what: &str, e: String| {
        let u = RequestUrl {
            scheme: Scheme::Https,
            host: "invalid".into(),
            port: 443,
            path: "/".into(),
        };
        let mut t = HttpTrace::new("GET", &u);
        t.url = what.to_string();
        t.error = Some(ProbeError::new(
            ErrorClass::InvalidInput,
            format!("invalid URL {what:?}"),
            e,
        ));
        t
    };
    let mut q = HubQuotaProbe {
        token: bad(&ep.token_url, String::new()),
        token_obtained: false,
        manifest: None,
        limit: None,
        limit_window_secs: None,
        remaining: None,
        remaining_window_secs: None,
        source: None,
        error: None,
    };
    let token_url = match RequestUrl::parse(&ep.token_url) {
        Ok(u) => u,
        Err(e) => {
            q.token = bad(&ep.token_url, e);
            q.error = q.token.error.clone();
            return q;
        }
    };
    let manifest_url = match RequestUrl::parse(&ep.manifest_url) {
        Ok(u) => u,
        Err(e) => {
            q.error = Some(ProbeError::new(
                ErrorClass::InvalidInput,
                format!("invalid URL {:?}", ep.manifest_url),
                e,
            ));
            return q;
        }
    };
    let treq = Request {
        method: "GET",
        url: &token_url,
        secret_headers: vec![],
        record_body: false,
        body_cap: 64 * 1024,
    };
    let (trace, body) = exchange(&treq, ep.token_proxy.as_deref(), None, env).await;
    q.token = trace;
    let token = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("token")
                .or_else(|| v.get("access_token"))
                .and_then(|t| t.as_str())
                .map(str::to_string)
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        q.error = q.token.error.clone().or_else(|| {
            let status = q
                .token
                .response
                .as_ref()
                .map(|r| r.status)
                .unwrap_or_default();
            Some(ProbeError::new(
                ErrorClass::Other,
                format!(
                    "no token in the answer of {} (status {status})",
                    q.token.url
                ),
                "token endpoint did not return a token",
            ))
        });
        return q;
    };
    q.token_obtained = true;
    let mreq = Request {
        method: "HEAD",
        url: &manifest_url,
        secret_headers: vec![
            ("Authorization".into(), format!("Bearer {token}")),
            (
                "Accept".into(),
                "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json".into(),
            ),
        ],
        record_body: false,
        body_cap: 0,
    };
    let (m, _) = exchange(&mreq, ep.manifest_proxy.as_deref(), None, env).await;
    if let Some(r) = &m.response {
        if let Some((n, w)) = r.header("ratelimit-limit").and_then(parse_ratelimit) {
            q.limit = Some(n);
            q.limit_window_secs = w;
        }
        if let Some((n, w)) = r.header("ratelimit-remaining").and_then(parse_ratelimit) {
            q.remaining = Some(n);
            q.remaining_window_secs = w;
        }
        q.source = r.header("docker-ratelimit-source").map(str::to_string);
    }
    q.error = m.error.clone();
    q.manifest = Some(m);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_go_style() {
        let p = ProxyUrl::parse("127.0.0.1:7890").unwrap();
        assert_eq!(
            (p.scheme.as_str(), p.host.as_str(), p.port),
            ("http", "127.0.0.1", 7890)
        );
        let p = ProxyUrl::parse("https://proxy.corp").unwrap();
        assert_eq!(p.port, 443);
        let p = ProxyUrl::parse("proxy.corp").unwrap();
        assert_eq!(p.port, 80);
        let p = ProxyUrl::parse("http://us%40r:p%3Ass@[::1]:3128/").unwrap();
        assert_eq!(p.host, "::1");
        assert_eq!(p.redacted(), "http://us@r:***@[::1]:3128");
        assert_eq!(
            p.basic_auth().unwrap(),
            format!("Basic {}", base64(b"us@r:p:ss"))
        );
        assert!(!format!("{p:?}").contains("p:ss"));
        assert_eq!(ProxyUrl::parse("socks5://h").unwrap().port, 1080);
    }

    #[test]
    fn request_urls() {
        let u = RequestUrl::parse("https://registry-1.docker.io/v2/").unwrap();
        assert_eq!(u.authority(), "registry-1.docker.io:443");
        assert_eq!(u.to_string(), "https://registry-1.docker.io/v2/");
        let u = RequestUrl::parse("http://[::1]:5000?x=1").unwrap();
        assert_eq!(u.to_string(), "http://[::1]:5000/?x=1");
    }

    #[test]
    fn challenges() {
        let w = parse_www_authenticate(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="a,b""#,
        );
        assert_eq!(w.scheme, "Bearer");
        assert_eq!(w.realm.as_deref(), Some("https://auth.docker.io/token"));
        assert_eq!(w.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(w.scope.as_deref(), Some("a,b"));
        let w = parse_www_authenticate("Basic realm=x");
        assert_eq!(w.realm.as_deref(), Some("x"));
    }

    #[test]
    fn chunks_and_limits() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n"),
            b"Wikipedia"
        );
        assert_eq!(dechunk(b"4\r\nWi"), b"Wi");
        assert_eq!(parse_ratelimit("100;w=21600"), Some((100, Some(21600))));
        assert_eq!(parse_ratelimit("76"), Some((76, None)));
    }
}
