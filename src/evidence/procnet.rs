//! Listening TCP sockets (`/proc/net/tcp`, `/proc/net/tcp6`) and the routing table
//! (`/proc/net/route`).
//!
//! The kernel prints each address as the hex of its in-memory 32-bit words, so on a
//! little-endian machine (x86-64, arm64: every platform pulldoctor supports) `0100007F`
//! is 127.0.0.1. These files describe pulldoctor's own network namespace.

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::fsread::Fs;
use super::{FILE_CAP, Source};

/// Who can connect to a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindScope {
    /// 127.0.0.0/8, ::1 or ::ffff:127.x: this machine (this network namespace) only.
    Loopback,
    /// 0.0.0.0 or ::: every address.
    Any,
    /// One specific address.
    Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenSocket {
    /// `tcp` or `tcp6`.
    pub proto: String,
    pub address: String,
    pub port: u16,
    pub scope: BindScope,
    pub uid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SocketsEvidence {
    pub sources: Vec<Source>,
    /// LISTEN sockets, sorted by port then address, de-duplicated.
    pub listening: Vec<ListenSocket>,
}

fn hex_v4(h: &str) -> Option<Ipv4Addr> {
    let n = u32::from_str_radix(h, 16).ok()?;
    Some(Ipv4Addr::from(n.to_le_bytes()))
}

fn hex_v6(h: &str) -> Option<Ipv6Addr> {
    if h.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for i in 0..4 {
        let w = u32::from_str_radix(&h[i * 8..i * 8 + 8], 16).ok()?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

fn scope_of(ip: IpAddr) -> BindScope {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if ip.is_loopback() {
        BindScope::Loopback
    } else if ip.is_unspecified() {
        BindScope::Any
    } else {
        BindScope::Address
    }
}

/// One line of `/proc/net/tcp(6)`: `Some(Ok(socket))` for a LISTEN line, `Some(Err(()))`
/// for another connection state, `None` for a line that does not parse.
fn parse_tcp_line(line: &str, v6: bool) -> Option<Result<ListenSocket, ()>> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 4 || !f[0].ends_with(':') {
        return None;
    }
    if f[3] != "0A" {
        return Some(Err(()));
    }
    let (addr, port) = f[1].split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        IpAddr::V6(hex_v6(addr)?)
    } else {
        IpAddr::V4(hex_v4(addr)?)
    };
    Some(Ok(ListenSocket {
        proto: if v6 { "tcp6" } else { "tcp" }.to_string(),
        address: ip.to_string(),
        port,
        scope: scope_of(ip),
        uid: f.get(7).and_then(|u| u.parse().ok()),
    }))
}

/// Parse `/proc/net/tcp` (`v6 = false`) or `/proc/net/tcp6` (`v6 = true`) and return the
/// LISTEN (state `0A`) sockets.
pub fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<ListenSocket> {
    text.lines()
        .skip(1)
        .filter_map(|l| parse_tcp_line(l, v6)?.ok())
        .collect()
}

/// Stream `/proc/net/tcp(6)`: the kernel lists the listening hash table before the
/// established one, so reading stops at the first line in another state. A busy server's
/// table of 100 000 connections is therefore never read whole. At most `cap` bytes.
pub fn scan_proc_net_tcp<R: Read>(reader: R, v6: bool, cap: u64) -> Vec<ListenSocket> {
    let mut out = Vec::new();
    for line in BufReader::new(reader.take(cap)).lines().skip(1) {
        let Ok(line) = line else { break };
        match parse_tcp_line(&line, v6) {
            Some(Ok(s)) => out.push(s),
            Some(Err(())) => break,
            None => {}
        }
    }
    out
}

/// A route from `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub iface: String,
    pub destination: String,
    pub gateway: String,
    pub mask: String,
    pub metric: u32,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.destination == "0.0.0.0" && self.mask == "0.0.0.0"
    }
}

/// Parse `/proc/net/route` (IPv4).
pub fn parse_proc_net_route(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(Route {
                iface: f[0].to_string(),
                destination: hex_v4(f[1])?.to_string(),
                gateway: hex_v4(f[2])?.to_string(),
                mask: hex_v4(f[7])?.to_string(),
                metric: f[6].parse().unwrap_or(0),
            })
        })
        .collect()
}

pub(crate) fn collect_sockets(fs: &mut Fs) -> SocketsEvidence {
    let mut ev = SocketsEvidence::default();
    for (path, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Some((file, _, src)) = fs.open(path, true) {
            ev.listening.extend(scan_proc_net_tcp(file, v6, FILE_CAP));
            ev.sources.push(src);
        }
    }
    ev.listening
        .sort_by(|a, b| (a.port, &a.proto, &a.address).cmp(&(b.port, &b.proto, &b.address)));
    ev.listening.dedup();
    ev
}
