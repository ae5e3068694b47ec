//! Network probes: the route dockerd would take to a registry, recorded as evidence.
//!
//! Every probe is async, bounded by one deadline and never hangs; every result is plain
//! data (`Serialize + Deserialize + Debug + Clone`) so it can go into a JSON report and be
//! replayed offline. Failures are rendered in Go's vocabulary (`dial tcp 127.0.0.1:7890:
//! connect: connection refused`, `lookup HOST on SERVER: no such host`, `x509: certificate
//! signed by unknown authority`) so `check` findings and `explain` rules share one language.
//!
//! - [`dns`]: the system resolver (getaddrinfo) and hickory against explicit servers.
//! - [`tcp`]: connects, with Go's error texts.
//! - [`tls`]: handshake with a recording verifier, then offline verdicts per root store.
//! - [`http`]: proxy CONNECT, `GET /v2/`, Docker Hub's pull quota.
//! - [`plan`]: targets, options, and the concurrent runner under one deadline.
//! - [`util`]: dates and small encoders shared by the probes (and by tests).
//!
//! Nothing here reads a credential from disk. A proxy password given in a proxy URL is
//! sent to that proxy only and never recorded; Hub's anonymous token is never recorded.

pub mod dns;
pub mod http;
pub mod plan;
pub mod tcp;
pub mod tls;
pub mod util;

pub use plan::{
    ExtraCa, Outcome, ProbeEvidence, ProbeOptions, ReachabilityCheck, Role, Scheme, Target,
    TargetProbe, VM_GATEWAY_DEFAULT, probe_all, probe_hub_quota, probe_proxy_reachability,
    probe_target,
};

use serde::{Deserialize, Serialize};

/// What kind of failure a probe met. The Go-style text is in [`ProbeError::go`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The deadline (or a Go-equivalent timeout) expired.
    Timeout,
    /// TCP RST on connect (nothing listening), or ICMP port unreachable for UDP.
    ConnectionRefused,
    /// `ENETUNREACH`.
    NetworkUnreachable,
    /// `EHOSTUNREACH`.
    HostUnreachable,
    /// The peer reset an established connection.
    ConnectionReset,
    /// The peer closed the connection before answering.
    Eof,
    /// DNS: NXDOMAIN.
    NxDomain,
    /// DNS: the name exists but has no A/AAAA records.
    NoData,
    /// DNS: SERVFAIL or another error rcode.
    ServFail,
    /// DNS: rcode REFUSED.
    DnsRefused,
    /// DNS: an answer that could not be parsed.
    Garbage,
    /// Proxy answered CONNECT with 407.
    ProxyAuthRequired,
    /// Proxy answered CONNECT with another non-200 status.
    ProxyStatus,
    /// TLS handshake failed.
    Tls,
    /// The certificate chain is not trusted by the store that dockerd would use.
    Untrusted,
    /// A peer sent more than pulldoctor's cap (e.g. a 10 MB certificate chain).
    TooLarge,
    /// Plain HTTP where TLS was expected, or the reverse.
    ProtocolMismatch,
    /// An answer that is not valid HTTP.
    MalformedResponse,
    /// Something pulldoctor does not probe (e.g. a socks5 proxy).
    Unsupported,
    /// Bad input (an unparsable proxy URL or host).
    InvalidInput,
    /// Anything else; see `detail`.
    Other,
}

/// A failure, with Go's rendering of it and pulldoctor's own detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    pub class: ErrorClass,
    /// What a Go program (dockerd, containerd) would print, e.g.
    /// `dial tcp 127.0.0.1:7890: connect: connection refused`.
    pub go: String,
    /// pulldoctor's own detail (the Rust error text), for the verbose view.
    pub detail: String,
}

impl ProbeError {
    pub fn new(class: ErrorClass, go: impl Into<String>, detail: impl Into<String>) -> Self {
        ProbeError {
            class,
            go: go.into(),
            detail: detail.into(),
        }
    }

    /// The same error with Go's text wrapped (`proxyconnect tcp: ` + inner).
    pub(crate) fn wrap(mut self, prefix: &str) -> Self {
        self.go = format!("{prefix}{}", self.go);
        self
    }
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.go)
    }
}

/// The crate-wide user agent of probe requests.
pub(crate) const USER_AGENT: &str = concat!("pulldoctor/", env!("CARGO_PKG_VERSION"));
