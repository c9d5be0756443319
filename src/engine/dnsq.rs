//! Raw DNS questions: one exchange with one server through hickory-net's client, keeping
//! the response code, the AA bit and every section (a stub resolver hides them), UDP first
//! and TCP when the answer is truncated. Shared by the sweep's resolver and the DCV checks.

use hickory_resolver::net::client::Client;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::FirstAnswer;
use hickory_resolver::net::DnsHandle;
use hickory_resolver::proto::op::{DnsRequestOptions, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use std::net::SocketAddr;
use std::time::Duration;

/// The system's nameservers (`/etc/resolv.conf`) and its search list.
pub fn system_servers() -> Result<(Vec<SocketAddr>, Vec<Name>), String> {
    let (cfg, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?;
    let mut out = Vec::new();
    for ns in cfg.name_servers() {
        let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
        let sa = SocketAddr::new(ns.ip, port);
        if !out.contains(&sa) {
            out.push(sa);
        }
    }
    if out.is_empty() {
        return Err("the system resolver configuration names no nameserver; use --resolver".into());
    }
    let mut search: Vec<Name> = cfg.search().to_vec();
    if let Some(d) = cfg.domain() {
        if !search.contains(d) {
            search.push(d.clone());
        }
    }
    Ok((out, search))
}

/// A DNS response, reduced to what the callers read.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Response code.
    pub rcode: ResponseCode,
    /// The AA bit: the server answered from its own zone.
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (SOA of negative answers, referrals).
    pub authorities: Vec<Record>,
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No response within the timeout (every attempt).
    Timeout,
    /// A network or protocol error.
    Network(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timed out"),
            Failure::Network(m) => f.write_str(m),
        }
    }
}

/// Sends one question to `server` (UDP, then TCP when the answer is truncated), with RD set
/// to `recursion`.
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let first = exchange(server, name, rtype, recursion, timeout, false).await?;
    if first.1 {
        // Truncated: a CA retries over TCP, and so does this; large TXT or CAA sets need it.
        return exchange(server, name, rtype, recursion, timeout, true)
            .await
            .map(|a| a.0);
    }
    Ok(first.0)
}

async fn exchange(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
    tcp: bool,
) -> Result<(Answer, bool), Failure> {
    let provider = TokioRuntimeProvider::default();
    let (client, bg) = if tcp {
        let (stream, handle) = TcpClientStream::new(server, None, Some(timeout), provider);
        let stream = match tokio::time::timeout(timeout, stream).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(e)) => return Err(Failure::Network(format!("TCP to {server}: {e}"))),
            Ok(Ok(s)) => s,
        };
        let (c, bg) = Client::<TokioRuntimeProvider>::with_timeout(stream, handle, timeout);
        (c, tokio::spawn(bg))
    } else {
        let stream = UdpClientStream::builder(server, provider)
            .with_timeout(Some(timeout))
            .build();
        let (c, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
        (c, tokio::spawn(bg))
    };
    let mut opts = DnsRequestOptions::default();
    opts.recursion_desired = recursion;
    opts.use_edns = true;
    // The size Let's Encrypt's resolvers advertise: answers larger than this come truncated
    // and need TCP, which is part of what is being checked.
    opts.edns_payload_len = 1232;
    let fut = client
        .lookup(Query::query(name.clone(), rtype), opts)
        .first_answer();
    let result = tokio::time::timeout(timeout + Duration::from_millis(200), fut).await;
    bg.abort();
    let resp = match result {
        Err(_) => return Err(Failure::Timeout),
        Ok(Err(e)) => {
            let text = e.to_string();
            return Err(if text.contains("timed out") || text.contains("timeout") {
                Failure::Timeout
            } else {
                Failure::Network(text)
            });
        }
        Ok(Ok(r)) => r,
    };
    let msg = resp.into_message();
    let truncated = msg.metadata.truncation;
    Ok((
        Answer {
            rcode: msg.metadata.response_code,
            authoritative: msg.metadata.authoritative,
            answers: msg.answers,
            authorities: msg.authorities,
        },
        truncated,
    ))
}

/// The name as an absolute DNS name.
pub fn fqdn(ascii: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(ascii).map_err(|e| format!("{ascii}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}
