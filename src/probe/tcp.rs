//! TCP connects with a deadline, errors rendered as Go's `net.OpError` texts
//! (`dial tcp 127.0.0.1:7890: connect: connection refused`, `dial tcp ADDR: i/o timeout`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::util::{ms, remaining};
use super::{ErrorClass, ProbeError};

/// One connect attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpProbe {
    pub addr: SocketAddr,
    pub ok: bool,
    pub elapsed_ms: u64,
    /// The local address of a successful connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_addr: Option<SocketAddr>,
    pub error: Option<ProbeError>,
}

/// A dial of a host: one attempt per address until one connects (Go's `dialSerial`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialProbe {
    /// `host:port` as dialled.
    pub target: String,
    pub attempts: Vec<TcpProbe>,
    /// The first attempt's error when none connected (Go reports the first error).
    pub error: Option<ProbeError>,
}

impl DialProbe {
    pub fn ok(&self) -> bool {
        self.attempts.iter().any(|a| a.ok)
    }
}

/// Go's text for a failed connect (`connect: ...` from the syscall), without the
/// `dial tcp ADDR: ` prefix. `None` when no Go phrase is known.
fn connect_phrase(e: &io::Error) -> Option<(ErrorClass, &'static str)> {
    use io::ErrorKind as K;
    let by_kind = match e.kind() {
        K::ConnectionRefused => {
            Some((ErrorClass::ConnectionRefused, "connect: connection refused"))
        }
        K::NetworkUnreachable => Some((
            ErrorClass::NetworkUnreachable,
            "connect: network is unreachable",
        )),
        K::HostUnreachable => Some((ErrorClass::HostUnreachable, "connect: no route to host")),
        K::TimedOut => Some((ErrorClass::Timeout, "connect: connection timed out")),
        K::ConnectionReset => Some((
            ErrorClass::ConnectionReset,
            "connect: connection reset by peer",
        )),
        K::AddrNotAvailable => Some((
            ErrorClass::Other,
            "connect: cannot assign requested address",
        )),
        K::PermissionDenied => Some((ErrorClass::Other, "connect: permission denied")),
        _ => None,
    };
    by_kind.or_else(|| {
        // Linux errno values, for kinds std does not classify.
        match e.raw_os_error()? {
            1 => Some((ErrorClass::Other, "connect: operation not permitted")),
            13 => Some((ErrorClass::Other, "connect: permission denied")),
            99 => Some((
                ErrorClass::Other,
                "connect: cannot assign requested address",
            )),
            101 => Some((
                ErrorClass::NetworkUnreachable,
                "connect: network is unreachable",
            )),
            104 => Some((
                ErrorClass::ConnectionReset,
                "connect: connection reset by peer",
            )),
            110 => Some((ErrorClass::Timeout, "connect: connection timed out")),
            111 => Some((ErrorClass::ConnectionRefused, "connect: connection refused")),
            113 => Some((ErrorClass::HostUnreachable, "connect: no route to host")),
            _ => None,
        }
    })
}

/// Go's `dial tcp ADDR: ...` for a connect error.
pub fn dial_error(addr: SocketAddr, e: &io::Error) -> ProbeError {
    let detail = e.to_string();
    match connect_phrase(e) {
        Some((class, phrase)) => {
            ProbeError::new(class, format!("dial tcp {addr}: {phrase}"), detail)
        }
        None => {
            // Strip Rust's " (os error N)" and lower-case the first letter, as Go prints errno.
            let text = detail
                .split(" (os error")
                .next()
                .unwrap_or(&detail)
                .to_string();
            let mut c = text.chars();
            let text = match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => text,
            };
            ProbeError::new(
                ErrorClass::Other,
                format!("dial tcp {addr}: connect: {text}"),
                detail,
            )
        }
    }
}

/// Go's `dial tcp ADDR: i/o timeout`.
pub fn dial_timeout(addr: SocketAddr) -> ProbeError {
    ProbeError::new(
        ErrorClass::Timeout,
        format!("dial tcp {addr}: i/o timeout"),
        "no answer to SYN before the deadline",
    )
}

/// Go's text for an error reading or writing an established connection.
pub(crate) fn io_error(op: &str, e: &io::Error) -> ProbeError {
    use io::ErrorKind as K;
    let detail = e.to_string();
    match e.kind() {
        K::UnexpectedEof => ProbeError::new(ErrorClass::Eof, "EOF", detail),
        K::ConnectionReset => ProbeError::new(
            ErrorClass::ConnectionReset,
            format!("{op}: connection reset by peer"),
            detail,
        ),
        K::BrokenPipe => ProbeError::new(
            ErrorClass::ConnectionReset,
            format!("{op}: broken pipe"),
            detail,
        ),
        K::TimedOut => ProbeError::new(ErrorClass::Timeout, "i/o timeout", detail),
        _ => ProbeError::new(ErrorClass::Other, format!("{op}: {detail}"), detail.clone()),
    }
}

/// Connects to `addr`, bounded by `deadline`.
pub async fn connect(addr: SocketAddr, deadline: Instant) -> (Option<TcpStream>, TcpProbe) {
    let start = Instant::now();
    let r = tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await;
    let elapsed_ms = ms(start.elapsed());
    match r {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            let local_addr = s.local_addr().ok();
            (
                Some(s),
                TcpProbe {
                    addr,
                    ok: true,
                    elapsed_ms,
                    local_addr,
                    error: None,
                },
            )
        }
        Ok(Err(e)) => (
            None,
            TcpProbe {
                addr,
                ok: false,
                elapsed_ms,
                local_addr: None,
                error: Some(dial_error(addr, &e)),
            },
        ),
        Err(_) => (
            None,
            TcpProbe {
                addr,
                ok: false,
                elapsed_ms,
                local_addr: None,
                error: Some(dial_timeout(addr)),
            },
        ),
    }
}

/// Dials `addrs` one after another like Go's `dialSerial`: each attempt gets an equal
/// share of the remaining time (at least 2 s when that much is left).
pub async fn dial(
    target: &str,
    addrs: &[IpAddr],
    port: u16,
    deadline: Instant,
) -> (Option<TcpStream>, DialProbe) {
    let mut probe = DialProbe {
        target: target.to_string(),
        attempts: vec![],
        error: None,
    };
    if addrs.is_empty() {
        probe.error = Some(ProbeError::new(
            ErrorClass::Other,
            format!("dial tcp {target}: no addresses"),
            "nothing to connect to",
        ));
        return (None, probe);
    }
    for (i, ip) in addrs.iter().enumerate() {
        let left = remaining(deadline);
        if left.is_zero() && i > 0 {
            break;
        }
        let share = left / (addrs.len() - i) as u32;
        let share = share.max(Duration::from_secs(2)).min(left);
        let (stream, attempt) = connect(SocketAddr::new(*ip, port), Instant::now() + share).await;
        probe.attempts.push(attempt);
        if let Some(s) = stream {
            return (Some(s), probe);
        }
    }
    probe.error = probe.attempts.first().and_then(|a| a.error.clone());
    (None, probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_texts() {
        let a: SocketAddr = "127.0.0.1:7890".parse().unwrap();
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            dial_error(a, &e).go,
            "dial tcp 127.0.0.1:7890: connect: connection refused"
        );
        let e = io::Error::from_raw_os_error(113);
        assert_eq!(
            dial_error(a, &e).go,
            "dial tcp 127.0.0.1:7890: connect: no route to host"
        );
        let e = io::Error::from_raw_os_error(101);
        assert_eq!(dial_error(a, &e).class, ErrorClass::NetworkUnreachable);
        assert_eq!(dial_timeout(a).go, "dial tcp 127.0.0.1:7890: i/o timeout");
    }
}
