//! Shared fixtures for the integration tests: an in-process authoritative DNS server.
#![allow(dead_code)]

pub mod dcvfix;
pub mod openssl;
pub mod sweeping;

use hickory_server::proto::rr::rdata::{A, AAAA, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use tokio::net::UdpSocket;

/// A running DNS server for one zone; stops when dropped.
pub struct Dns {
    pub addr: SocketAddr,
    _server: hickory_server::Server<Catalog>,
}

/// Serves zone `origin` (e.g. "test.") on 127.0.0.1 with the given address records and
/// names that exist without addresses (a TXT record only).
pub async fn dns_server(origin: &str, addrs: &[(&str, IpAddr)], txt_only: &[&str]) -> Dns {
    let origin_name = Name::from_str(origin).unwrap();
    let zone = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
        origin_name.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        Name::from_str(&format!("ns.{origin}")).unwrap(),
        Name::from_str(&format!("hostmaster.{origin}")).unwrap(),
        1,
        3600,
        600,
        86400,
        60,
    );
    zone.upsert(
        Record::from_rdata(origin_name.clone(), 60, RData::SOA(soa)),
        1,
    )
    .await;
    for (name, ip) in addrs {
        let n = Name::from_str(name).unwrap();
        let rdata = match ip {
            IpAddr::V4(v4) => RData::A(A(*v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
        };
        zone.upsert(Record::from_rdata(n, 60, rdata), 1).await;
    }
    for name in txt_only {
        let n = Name::from_str(name).unwrap();
        zone.upsert(
            Record::from_rdata(n, 60, RData::TXT(TXT::new(vec!["x".to_string()]))),
            1,
        )
        .await;
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin_name), vec![Arc::new(zone)]);
    let mut server = hickory_server::Server::new(catalog);
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    server.register_socket(socket);
    Dns {
        addr,
        _server: server,
    }
}

/// Whether [::1] can be bound here.
pub fn have_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Sends `signal` (`INT`, `TERM`) to the running binary and waits for it to end (30 s at
/// most, a stop that is never heard fails the test): what it wrote and its status.
pub async fn stop_and_wait(child: tokio::process::Child, signal: &str) -> std::process::Output {
    let pid = child.id().expect("the child is running");
    // The shell's own kill: no procps needed on a minimal machine.
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{signal} {pid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the run did not end after SIG{signal}"))
        .unwrap()
}

/// The generated tests' random numbers: a seeded xorshift (13, 7, 17), as the library's own
/// tests use, so that a failing round is the same round on every run and machine.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (not zero: xorshift stays at zero).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    /// A number below `n` (`n` above zero).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
