//! Loopback DNS and HTTP fixtures for the DCV tests and benchmark: authoritative zones
//! served by in-process hickory-server instances and hyper HTTP/1.1 servers.
#![allow(dead_code)]

use bytes::Bytes;
use hickory_server::proto::rr::rdata::{A, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::proto::serialize::binary::{BinDecoder, Restrict};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

pub fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

pub fn rec(n: &str, data: RData) -> Record {
    Record::from_rdata(name(n), 60, data)
}

pub fn a(n: &str, ip: [u8; 4]) -> Record {
    rec(n, RData::A(A(Ipv4Addr::from(ip))))
}

pub fn cname(n: &str, target: &str) -> Record {
    rec(
        n,
        RData::CNAME(hickory_server::proto::rr::rdata::CNAME(name(target))),
    )
}

pub fn txt(n: &str, v: &str) -> Record {
    rec(n, RData::TXT(TXT::new(vec![v.to_string()])))
}

/// A CAA record with any flags and tag, built from its wire form (the typed constructors
/// only make well-formed issue records).
pub fn caa(n: &str, flags: u8, tag: &str, value: &str) -> Record {
    let mut wire = vec![flags, tag.len() as u8];
    wire.extend_from_slice(tag.as_bytes());
    wire.extend_from_slice(value.as_bytes());
    let mut d = BinDecoder::new(&wire);
    let data = RData::read(&mut d, RecordType::CAA, Restrict::new(wire.len() as u16)).unwrap();
    rec(n, data)
}

/// A `3 1 1` TLSA record (DANE-EE, the key, SHA-256) at `owner` pinning `key_sha256`.
pub fn tlsa_pin(owner: &str, key_sha256: Vec<u8>) -> Record {
    tlsa(owner, 3, 1, 1, key_sha256)
}

/// A TLSA record of any usage, selector and matching type (`3 1 1` is [`tlsa_pin`]).
pub fn tlsa(owner: &str, usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Record {
    use hickory_server::proto::rr::rdata::tlsa::TLSA;
    rec(
        owner,
        RData::TLSA(TLSA::new(
            usage.into(),
            selector.into(),
            matching.into(),
            data,
        )),
    )
}

pub struct Zone {
    pub origin: &'static str,
    pub serial: u32,
    pub records: Vec<Record>,
}

pub async fn catalog(zones: &[Zone]) -> Catalog {
    let mut cat = Catalog::new();
    for z in zones {
        let origin = name(z.origin);
        let handler =
            InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
                origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            );
        let soa = SOA::new(
            name("ns1.example.com."),
            name("hostmaster.example.com."),
            z.serial,
            3600,
            600,
            86400,
            60,
        );
        handler
            .upsert(
                Record::from_rdata(origin.clone(), 60, RData::SOA(soa)),
                z.serial,
            )
            .await;
        for r in &z.records {
            handler.upsert(r.clone(), z.serial).await;
        }
        cat.upsert(LowerName::new(&origin), vec![Arc::new(handler)]);
    }
    cat
}

/// One port on which UDP and TCP are bound at each of `hosts` (127.0.0.h), and UDP alone
/// at each of `udp_only`: the port authoritative nameservers are asked on, its sockets held
/// from the moment it is found.
pub fn one_port_on(
    hosts: &[u8],
    udp_only: &[u8],
) -> (
    u16,
    Vec<(std::net::UdpSocket, std::net::TcpListener)>,
    Vec<std::net::UdpSocket>,
) {
    let ip = |h: u8| std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, h));
    let (first, rest) = hosts.split_first().expect("a host");
    for _ in 0..20 {
        let bound_first = udp_and_tcp(ip(*first));
        let port = bound_first.0.local_addr().unwrap().port();
        let others: Option<Vec<_>> = rest
            .iter()
            .map(|h| {
                let udp = std::net::UdpSocket::bind((ip(*h), port)).ok()?;
                let tcp = std::net::TcpListener::bind((ip(*h), port)).ok()?;
                Some((udp, tcp))
            })
            .collect();
        let alone: Option<Vec<_>> = udp_only
            .iter()
            .map(|h| std::net::UdpSocket::bind((ip(*h), port)).ok())
            .collect();
        if let (Some(others), Some(alone)) = (others, alone) {
            let mut bound = vec![bound_first];
            bound.extend(others);
            return (port, bound, alone);
        }
    }
    panic!("no port free at every address");
}

/// A UDP socket and a TCP listener on one free port of `ip`, held from the start. A port
/// found free, let go and bound again later races the other tests running at once: their
/// client sockets (the engine's, bound to 0.0.0.0 and so taking a port on every address) are
/// given the same ephemeral ports.
pub fn udp_and_tcp(ip: std::net::IpAddr) -> (std::net::UdpSocket, std::net::TcpListener) {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind((ip, port)) {
            return (udp, tcp);
        }
    }
    panic!("no port of {ip} free for both UDP and TCP");
}

/// A UDP socket on a free loopback port, held (see [`udp_and_tcp`]).
pub fn udp_here() -> (UdpSocket, SocketAddr) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    (tokio_udp(socket), addr)
}

fn tokio_udp(socket: std::net::UdpSocket) -> UdpSocket {
    socket.set_nonblocking(true).unwrap();
    UdpSocket::from_std(socket).unwrap()
}

/// Authoritative answers for `zones` over `udp` and `tcp`.
pub async fn dns_serving(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    zones: &[Zone],
) -> hickory_server::Server<Catalog> {
    let mut server = hickory_server::Server::new(catalog(zones).await);
    server.register_socket(tokio_udp(udp));
    tcp.set_nonblocking(true).unwrap();
    server.register_listener(
        TcpListener::from_std(tcp).unwrap(),
        Duration::from_secs(5),
        64,
    );
    server
}

/// Authoritative answers for `zones` at `addr`, UDP and TCP (the benchmark's nameservers, on
/// a port found free when nothing else runs).
pub async fn dns_on(addr: SocketAddr, zones: &[Zone]) -> hickory_server::Server<Catalog> {
    let udp = std::net::UdpSocket::bind(addr).unwrap();
    let tcp = std::net::TcpListener::bind(addr).unwrap();
    dns_serving(udp, tcp, zones).await
}

/// Authoritative answers for `zones` on a free loopback port (UDP and TCP), and its address.
pub async fn dns_here(zones: &[Zone]) -> (SocketAddr, hickory_server::Server<Catalog>) {
    let (udp, tcp) = udp_and_tcp(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
    let addr = udp.local_addr().unwrap();
    (addr, dns_serving(udp, tcp, zones).await)
}

/// A resolver's address on loopback that passes questions to the DNS server `upstream`
/// and its answers back, except those for names starting with `silent`, which it never
/// answers: names whose zone's servers are gone, as a recursive resolver meets them.
pub async fn silent_for(upstream: SocketAddr, silent: &'static str) -> SocketAddr {
    use hickory_server::proto::op::Message;
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = front.local_addr().unwrap();
    let client = Arc::new(std::sync::Mutex::new(None));
    let (f, b, c) = (front.clone(), back.clone(), client.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = f.recv_from(&mut buf).await {
            let Ok(question) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let name = question
                .queries
                .first()
                .map(|q| q.name().to_ascii())
                .unwrap_or_default();
            if name.starts_with(silent) {
                continue;
            }
            *c.lock().unwrap() = Some(from);
            let _ = b.send_to(&buf[..n], upstream).await;
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, _)) = back.recv_from(&mut buf).await {
            let to = *client.lock().unwrap();
            if let Some(to) = to {
                let _ = front.send_to(&buf[..n], to).await;
            }
        }
    });
    addr
}

pub type Handler = fn(&str) -> (u16, Vec<(&'static str, String)>, String);

/// A hyper HTTP/1.1 server answering by path.
pub async fn http_on(listener: TcpListener, handler: Handler) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let host = req
                        .headers()
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let path = format!("{host}{}", req.uri().path());
                    let (status, headers, body) = handler(&path);
                    let mut resp = hyper::Response::builder().status(status);
                    for (k, v) in headers {
                        resp = resp.header(k, v);
                    }
                    async move { Ok::<_, Infallible>(resp.body(Full::new(Bytes::from(body))).unwrap()) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    })
}

/// Binds TCP listeners on 127.0.0.<n> for every n, all on one port number (the port the
/// checks are told to use).
pub async fn listeners(hosts: &[u8]) -> (u16, Vec<TcpListener>) {
    'retry: for _ in 0..20 {
        let first = TcpListener::bind((Ipv4Addr::new(127, 0, 0, hosts[0]), 0))
            .await
            .unwrap();
        let port = first.local_addr().unwrap().port();
        let mut out = vec![first];
        for h in &hosts[1..] {
            match TcpListener::bind((Ipv4Addr::new(127, 0, 0, *h), port)).await {
                Ok(l) => out.push(l),
                Err(_) => continue 'retry,
            }
        }
        return (port, out);
    }
    panic!("no common free port on the loopback addresses");
}

/// Answers `request` SERVFAIL, with `edns` (say, an Extended DNS Error) when given: what a
/// test resolver's handler sends for the names it fails.
pub async fn send_servfail<R: hickory_server::server::ResponseHandler>(
    request: &hickory_server::server::Request,
    mut response_handle: R,
    edns: Option<&hickory_server::proto::op::Edns>,
) -> hickory_server::server::ResponseInfo {
    use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
    let response =
        hickory_server::zone_handler::MessageResponseBuilder::new(&request.queries, edns)
            .error_msg(&request.metadata, ResponseCode::ServFail);
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(_) => hickory_server::server::ResponseInfo::from(Header {
            metadata: Metadata::response_from_request(&request.metadata),
            counts: HeaderCounts::default(),
        }),
    }
}

/// What a [`Filtered`] resolver does with a question.
pub enum Act {
    /// Answers from its catalog.
    Answer,
    /// Answers SERVFAIL, with these EDNS options (an Extended DNS Error) if any.
    Servfail(Option<hickory_server::proto::op::Edns>),
    /// Never answers (a zone whose nameservers are down, before the resolver gives up).
    Drop,
    /// Answers from its catalog with the AD bit set, as a validating resolver vouches for
    /// a signed zone's answers.
    AnswerAuthentic,
}

/// A response handler that sets the AD bit of what it sends.
#[derive(Clone)]
pub struct Vouching<R>(R);

#[async_trait::async_trait]
impl<R: hickory_server::server::ResponseHandler> hickory_server::server::ResponseHandler
    for Vouching<R>
{
    async fn send_response<'a>(
        &mut self,
        mut response: hickory_server::zone_handler::MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<hickory_server::server::ResponseInfo, hickory_server::net::NetError> {
        response.metadata_mut().authentic_data = true;
        self.0.send_response(response).await
    }
}

/// How a [`Filtered`] resolver decides.
pub type Decide = Box<dyn Fn(&hickory_server::server::Request) -> Act + Send + Sync>;

/// A resolver answering from its catalog, except where `act` says otherwise.
pub struct Filtered {
    pub catalog: Catalog,
    pub act: Decide,
}

#[async_trait::async_trait]
impl hickory_server::server::RequestHandler for Filtered {
    async fn handle_request<
        R: hickory_server::server::ResponseHandler,
        T: hickory_server::net::runtime::Time,
    >(
        &self,
        request: &hickory_server::server::Request,
        response_handle: R,
    ) -> hickory_server::server::ResponseInfo {
        match (self.act)(request) {
            Act::Answer => {
                self.catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await
            }
            Act::Servfail(edns) => send_servfail(request, response_handle, edns.as_ref()).await,
            Act::Drop => std::future::pending().await,
            Act::AnswerAuthentic => {
                self.catalog
                    .handle_request::<Vouching<R>, T>(request, Vouching(response_handle))
                    .await
            }
        }
    }
}

/// A [`Filtered`] resolver over `catalog` deciding by `act`, on a free loopback port over
/// UDP: its address, and the server (kept alive for the test).
pub fn filtered_here(
    catalog: Catalog,
    act: Decide,
) -> (SocketAddr, hickory_server::Server<Filtered>) {
    let mut server = hickory_server::Server::new(Filtered { catalog, act });
    let (socket, addr) = udp_here();
    server.register_socket(socket);
    (addr, server)
}

/// The name a request's first question asks for, as written (`_25._tcp.mx.test.`); empty
/// without a question.
pub fn asked_name(request: &hickory_server::server::Request) -> String {
    let first = request.queries.queries().first();
    first.map(|q| q.name().to_string()).unwrap_or_default()
}

/// SERVFAIL with an Extended DNS Error (RFC 8914) of `code` and `text`, as a validating
/// resolver says why a zone failed validation (7: "Signature Expired").
pub fn servfail_saying(code: u16, text: &str) -> Act {
    use hickory_server::proto::op::Edns;
    use hickory_server::proto::rr::rdata::opt::EdnsOption;
    let mut edns = Edns::new();
    let mut ede = code.to_be_bytes().to_vec();
    ede.extend_from_slice(text.as_bytes());
    edns.options_mut().insert(EdnsOption::Unknown(15, ede));
    Act::Servfail(Some(edns))
}

/// A resolver that validates DNSSEC as a CA's does, over `zones`, on a free loopback port
/// over UDP (its address returned with it): a
/// question for a name under one of `bogus` fails validation (SERVFAIL with Extended DNS
/// Error 7, "Signature Expired") unless it sets CD, as an expired RRSIG makes it; one under
/// `broken` is SERVFAIL whatever the question (lame nameservers). The rest is answered.
pub async fn validating_here(
    zones: &[Zone],
    bogus: &[&str],
    broken: &[&str],
) -> (SocketAddr, hickory_server::Server<Filtered>) {
    use hickory_server::proto::op::Edns;
    let lower =
        |l: &[&str]| -> Vec<LowerName> { l.iter().map(|n| LowerName::new(&name(n))).collect() };
    let (bogus, broken) = (lower(bogus), lower(broken));
    let act: Decide = Box::new(move |request| {
        let under = |list: &[LowerName]| {
            request
                .queries
                .queries()
                .first()
                .is_some_and(|q| list.iter().any(|z| z.zone_of(q.name())))
        };
        if under(&bogus) && !request.metadata.checking_disabled {
            servfail_saying(7, "RRSIG expired 2026-01-01")
        } else if under(&broken) {
            Act::Servfail(Some(Edns::new()))
        } else {
            Act::Answer
        }
    });
    let (addr, server) = filtered_here(catalog(zones).await, act);
    (addr, server)
}
