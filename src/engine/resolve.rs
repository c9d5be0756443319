//! Names to addresses: every A and AAAA answer becomes its own endpoint.

use crate::model::{ErrorClass, ErrorInfo};
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which address families to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// A and AAAA.
    #[default]
    Both,
    /// A only.
    V4,
    /// AAAA only.
    V6,
}

/// A resolver whose answers are kept for the whole run.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
    family: Family,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns").field("family", &self.family).finish()
    }
}

impl Dns {
    /// The system resolver (`/etc/resolv.conf`), or the server at `server` when given.
    pub fn new(server: Option<SocketAddr>, family: Family) -> Result<Self, String> {
        let mut builder = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?,
        };
        let opts = builder.options_mut();
        opts.ip_strategy = match family {
            Family::Both => LookupIpStrategy::Ipv4AndIpv6,
            Family::V4 => LookupIpStrategy::Ipv4Only,
            Family::V6 => LookupIpStrategy::Ipv6Only,
        };
        // Answers are cached for the run: a sweep must see one consistent picture of a name
        // even when many ports of it are listed, and must not re-ask for every one.
        opts.cache_size = 16_384;
        opts.positive_min_ttl = Some(Duration::from_secs(24 * 3600));
        opts.negative_min_ttl = Some(Duration::from_secs(24 * 3600));
        opts.timeout = Duration::from_secs(3);
        opts.attempts = 2;
        let resolver = builder
            .build()
            .map_err(|e| format!("cannot build the resolver: {e}"))?;
        Ok(Dns { resolver, family })
    }

    /// All addresses of `name` (A before AAAA), deduplicated, or the class of failure.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, ErrorInfo> {
        // A dotted name is asked as-is (FQDN): search domains would multiply queries and
        // could answer for a different name.
        let query = if name.contains('.') {
            format!("{name}.")
        } else {
            name.to_string()
        };
        match self.resolver.lookup_ip(query.as_str()).await {
            Ok(l) => {
                let mut out: Vec<IpAddr> = Vec::new();
                for ip in l.iter() {
                    let wanted = match self.family {
                        Family::Both => true,
                        Family::V4 => ip.is_ipv4(),
                        Family::V6 => ip.is_ipv6(),
                    };
                    if wanted && !out.contains(&ip) {
                        out.push(ip);
                    }
                }
                if out.is_empty() {
                    Err(ErrorInfo {
                        class: ErrorClass::DnsNoAddress,
                        message: format!("{name} has no address records"),
                    })
                } else {
                    Ok(out)
                }
            }
            Err(e) if e.is_nx_domain() => Err(ErrorInfo {
                class: ErrorClass::DnsNxdomain,
                message: format!("{name} does not exist (NXDOMAIN)"),
            }),
            Err(e) if e.is_no_records_found() => Err(ErrorInfo {
                class: ErrorClass::DnsNoAddress,
                message: format!("{name} has no address records"),
            }),
            Err(e) => Err(ErrorInfo {
                class: ErrorClass::DnsError,
                message: format!("lookup of {name} failed: {e}"),
            }),
        }
    }
}
