//! HTTP-01 the way a CA's validation authority fetches it: one address at a time, HTTP/1.1,
//! redirects followed by the CA's rules (301/302/307/308 only, ports 80/443 only, at most 10,
//! loops detected, each hop's address recorded), a small body read.

use super::dns::{is_reserved, Recursive};
use super::{short, Check, Evidence};
use crate::engine::handshake::TlsClient;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, ACCEPT, CONNECTION, HOST, LOCATION, SERVER, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

/// The most redirects a CA follows.
pub const MAX_REDIRECTS: usize = 10;
/// A body this long or longer is not a key authorization.
pub const MAX_BODY: usize = 128;
/// How much of a body is kept to recognise error pages and firewalls.
const KEEP_BODY: usize = 8192;

/// Where and how to fetch.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The port `http://` URLs (and explicit `:80`) go to.
    pub http_port: u16,
    /// The port `https://` URLs (and explicit `:443`) go to.
    pub tls_port: u16,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for the response after connecting.
    pub read_timeout: Duration,
    /// Accept private and reserved addresses (a private CA validating inside the network).
    pub allow_private: bool,
    /// Names and addresses never connected to (`--exclude`): a redirect to one is not
    /// followed.
    pub exclude: Option<std::sync::Arc<crate::engine::exclude::Exclusions>>,
}

/// The final response at one address.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL that answered.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Up to 8 KiB of the body.
    pub body: Vec<u8>,
    /// Whether the body went on beyond what was kept.
    pub body_truncated: bool,
    /// The `Server` header.
    pub server: Option<String>,
    /// The CDN or proxy the headers name, if any.
    pub cdn: Option<&'static str>,
    /// Headers say the response came from a cache (`X-Cache: HIT`, `CF-Cache-Status: HIT`,
    /// `Age`).
    pub cached: bool,
}

/// Why a fetch at one address did not produce a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Check id.
    pub id: &'static str,
    /// Sentence (without the address).
    pub message: String,
    /// The TCP connection to the first hop could not be made (a CA would fall back from
    /// IPv6 to IPv4 only for this).
    pub dial: bool,
}

/// Everything seen at one address.
#[derive(Debug, Clone)]
pub struct AddressResult {
    /// The address of the first hop.
    pub ip: IpAddr,
    /// `url → status (address:port)`, in order.
    pub hops: Vec<String>,
    /// The final response or why there was none.
    pub outcome: Result<Response, Problem>,
}

fn problem(id: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        id,
        message: message.into(),
        dial: false,
    }
}

/// Fetches `http://host{path}` starting at `ip`, following redirects.
pub async fn probe(
    settings: &HttpSettings,
    tls: &TlsClient,
    dns: &Recursive,
    host: &str,
    ip: IpAddr,
    path: &str,
) -> AddressResult {
    let mut hops = Vec::new();
    let outcome = follow(settings, tls, dns, host, ip, path, &mut hops).await;
    AddressResult { ip, hops, outcome }
}

async fn follow(
    s: &HttpSettings,
    tls: &TlsClient,
    dns: &Recursive,
    host: &str,
    first_ip: IpAddr,
    path: &str,
    hops: &mut Vec<String>,
) -> Result<Response, Problem> {
    let mut url = Url::parse(&format!("http://{host}{path}")).map_err(|e| {
        problem(
            "http_bad_redirect",
            format!("cannot form the challenge URL: {e}"),
        )
    })?;
    let mut seen: HashSet<String> = HashSet::new();
    seen.insert(url.to_string());
    for hop in 0..=MAX_REDIRECTS {
        let https = url.scheme() == "https";
        let port = if https { s.tls_port } else { s.http_port };
        let port = match url.port() {
            Some(80) => s.http_port,
            Some(443) => s.tls_port,
            _ => port,
        };
        let url_host = url.host_str().unwrap_or_default().to_string();
        let ip = if hop == 0 {
            first_ip
        } else {
            redirect_address(s, dns, &url_host).await?
        };
        let addr = SocketAddr::new(ip, port);
        if s.exclude
            .as_deref()
            .is_some_and(|x| x.address(ip) || x.name(&url_host))
        {
            hops.push(format!("{url} → excluded ({addr})"));
            return Err(problem(
                "excluded",
                format!("{url} ({addr}) is on the --exclude list, so it was not fetched; a CA's validation will reach it"),
            ));
        }
        let mut resp = fetch(s, tls, &url, addr, hop == 0).await;
        if let Err(p) = &mut resp {
            hops.push(format!("{url} → {} ({addr})", p.id));
        }
        let resp = resp?;
        hops.push(format!("{url} → {} ({addr})", resp.status));
        if ![301, 302, 307, 308].contains(&resp.status) {
            if (300..400).contains(&resp.status) && resp.status != 304 {
                return Err(problem(
                    "http_bad_redirect",
                    format!("{url} answered redirect status {}, which CAs do not follow (only 301, 302, 307, 308)", resp.status),
                ));
            }
            return Ok(resp.response);
        }
        let Some(location) = resp.location else {
            return Err(problem(
                "http_bad_redirect",
                format!("{url} answered {} without a Location header", resp.status),
            ));
        };
        let next = url.join(&location).map_err(|e| {
            problem(
                "http_bad_redirect",
                format!("{url} redirects to \"{location}\", which is not a URL ({e})"),
            )
        })?;
        check_redirect(&url, &next, s.allow_private)?;
        if hop == MAX_REDIRECTS {
            break;
        }
        if !seen.insert(next.to_string()) {
            return Err(problem(
                "http_redirect_loop",
                format!("redirect loop: {url} sends back to {next}, already visited"),
            ));
        }
        url = next;
    }
    Err(problem(
        "http_too_many_redirects",
        format!("more than {MAX_REDIRECTS} redirects from http://{host}{path}; CAs stop there. Redirect at most a few times"),
    ))
}

/// The CA's rules for a redirect target.
fn check_redirect(from: &Url, to: &Url, allow_private: bool) -> Result<(), Problem> {
    let bad = |why: String| {
        Err(problem(
            "http_bad_redirect",
            format!("{from} redirects to {to}: {why}"),
        ))
    };
    if to.scheme() != "http" && to.scheme() != "https" {
        return bad(format!(
            "scheme {} (only http and https are followed)",
            to.scheme()
        ));
    }
    if let Some(p) = to.port() {
        if p != 80 && p != 443 {
            return bad(format!(
                "port {p}; CAs only follow redirects to ports 80 and 443"
            ));
        }
    }
    let host = to.host_str().unwrap_or_default();
    if host.is_empty() {
        return bad("no host".into());
    }
    if host.ends_with(".well-known") {
        return bad("the host ends in .well-known (a missing '/' in the Location?)".into());
    }
    if to.path().len() > 2000 {
        return bad("a path longer than 2000 bytes".into());
    }
    // A name must end in a real top-level domain (an IP literal is judged by its address).
    let is_ip = matches!(
        to.host(),
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    );
    if !is_ip && !allow_private && !psl::suffix(host.as_bytes()).is_some_and(|s| s.is_known()) {
        return bad(format!(
            "{host} is not under a public top-level domain, so a CA will not follow it"
        ));
    }
    Ok(())
}

/// The address a redirect goes to: the first AAAA, else the first A (no fallback between
/// them, as a CA does for redirects).
async fn redirect_address(
    s: &HttpSettings,
    dns: &Recursive,
    host: &str,
) -> Result<IpAddr, Problem> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if let Ok(ip) = literal.parse::<IpAddr>() {
        ip
    } else {
        let name = super::dns::fqdn(host)
            .map_err(|e| problem("http_bad_redirect", format!("redirect host {e}")))?;
        let (v6, v4) = dns.addresses(&name).await;
        let pick = v6
            .records
            .iter()
            .chain(v4.records.iter())
            .find_map(|r| match r {
                hickory_resolver::proto::rr::RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                hickory_resolver::proto::rr::RData::A(a) => Some(IpAddr::V4(a.0)),
                _ => None,
            });
        match pick {
            Some(ip) => ip,
            None => {
                return Err(problem(
                    "http_bad_redirect",
                    format!(
                        "redirect host {host} has no address ({})",
                        super::dns::describe(&v4.status)
                    ),
                ))
            }
        }
    };
    if is_reserved(ip) && !s.allow_private {
        return Err(problem(
            "http_bad_redirect",
            format!("redirect host {host} is at the reserved address {ip}, which a CA will not connect to"),
        ));
    }
    Ok(ip)
}

struct Fetched {
    status: u16,
    location: Option<String>,
    response: Response,
}

async fn fetch(
    s: &HttpSettings,
    tls: &TlsClient,
    url: &Url,
    addr: SocketAddr,
    first: bool,
) -> Result<Fetched, Problem> {
    let tcp = match tokio::time::timeout(s.connect_timeout, TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(Problem {
                dial: first,
                ..problem(
                    "http_connect_timeout",
                    "Timeout during connect (likely firewall problem)",
                )
            })
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::NetworkUnreachable => {
            return Err(Problem {
                dial: first,
                ..problem("no_route_from_here", crate::model::NO_ROUTE)
            })
        }
        Ok(Err(e)) => {
            let id = match e.kind() {
                io::ErrorKind::ConnectionRefused => "http_connect_refused",
                io::ErrorKind::TimedOut => "http_connect_timeout",
                // Accepted, then reset before the connection was handed over.
                io::ErrorKind::ConnectionReset => "http_reset",
                _ => "http_connect_error",
            };
            let text = match e.kind() {
                io::ErrorKind::ConnectionRefused => {
                    "Connection refused (nothing listens on the port)".to_string()
                }
                io::ErrorKind::ConnectionReset => "Connection reset by peer".to_string(),
                _ => format!("cannot connect: {e}"),
            };
            return Err(Problem {
                dial: first,
                ..problem(id, text)
            });
        }
        Ok(Ok(t)) => t,
    };
    let host = url.host_str().unwrap_or_default().to_string();
    if url.scheme() == "https" {
        let name = match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(host.clone()).map_err(|e| {
                problem(
                    "http_tls_error",
                    format!("{host} cannot be sent as SNI: {e}"),
                )
            })?,
        };
        let (connector, _slot) = tls.connector();
        let stream = match tokio::time::timeout(s.read_timeout, connector.connect(name, tcp)).await
        {
            Err(_) => {
                return Err(problem(
                    "http_read_timeout",
                    "Timeout during the TLS handshake",
                ))
            }
            Ok(Err(e)) => {
                let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
                return Err(match inner {
                    Some(rustls::Error::InvalidMessage(_)) => problem(
                        "http_not_tls",
                        format!(
                            "{url}: the server only speaks plain HTTP on port {}, not TLS",
                            addr.port()
                        ),
                    ),
                    Some(other) => problem(
                        "http_tls_error",
                        format!("{url}: TLS handshake failed: {other}"),
                    ),
                    None => problem(
                        "http_tls_error",
                        format!("{url}: TLS handshake failed: {e}"),
                    ),
                });
            }
            Ok(Ok(t)) => t,
        };
        request(s, url, stream).await
    } else {
        request(s, url, tcp).await
    }
}

async fn request<T>(s: &HttpSettings, url: &Url, io: T) -> Result<Fetched, Problem>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| problem("http_protocol", format!("{url}: {e}")))?;
    let driver = tokio::spawn(conn);
    let host = url.host_str().unwrap_or_default();
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let req = hyper::Request::get(path)
        .header(
            HOST,
            HeaderValue::from_str(&host_header).unwrap_or(HeaderValue::from_static("invalid")),
        )
        .header(
            USER_AGENT,
            concat!("certsweep/", env!("CARGO_PKG_VERSION"), " (DCV pre-check)"),
        )
        // mod_security rejects requests without Accept; CAs send it for that reason.
        .header(ACCEPT, "*/*")
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| {
            problem(
                "http_protocol",
                format!("{url}: cannot build the request: {e}"),
            )
        })?;
    let result = tokio::time::timeout(s.read_timeout, async {
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let header = |h| {
            resp.headers()
                .get(h)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header(LOCATION);
        let server = header(SERVER);
        let (cdn, cached) = cdn_of(resp.headers());
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
                if buf.len() >= KEEP_BODY {
                    buf.truncate(KEEP_BODY);
                    truncated = true;
                    break;
                }
            }
        }
        Ok::<_, hyper::Error>((status, location, server, cdn, cached, buf, truncated))
    })
    .await;
    driver.abort();
    match result {
        Err(_) => Err(problem(
            "http_read_timeout",
            "Timeout during read (the server may be slow or overloaded)",
        )),
        Ok(Err(e)) => Err(classify_hyper(url, &e)),
        Ok(Ok((status, location, server, cdn, cached, body, body_truncated))) => Ok(Fetched {
            status,
            location,
            response: Response {
                url: url.to_string(),
                status,
                body,
                body_truncated,
                server,
                cdn,
                cached,
            },
        }),
    }
}

/// Recognises a CDN or caching proxy in front of the web server from its headers.
fn cdn_of(h: &hyper::HeaderMap) -> (Option<&'static str>, bool) {
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let server = get("server");
    let via = get("via");
    let cdn = if h.contains_key("cf-ray") || server.contains("cloudflare") {
        Some("Cloudflare")
    } else if h.contains_key("x-amz-cf-id") || via.contains("cloudfront") {
        Some("CloudFront")
    } else if server.contains("akamai") || h.keys().any(|k| k.as_str().starts_with("x-akamai")) {
        Some("Akamai")
    } else if h.contains_key("x-served-by") && get("x-served-by").contains("cache-") {
        Some("Fastly")
    } else if via.contains("varnish") || h.contains_key("x-varnish") {
        Some("a Varnish cache")
    } else {
        None
    };
    let cached = get("cf-cache-status") == "hit"
        || get("x-cache").contains("hit")
        || get("age").parse::<u64>().is_ok_and(|a| a > 0);
    (cdn, cached)
}

fn classify_hyper(url: &Url, e: &hyper::Error) -> Problem {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionReset {
                return problem("http_reset", format!("{url}: Connection reset by peer"));
            }
        }
        src = s.source();
    }
    if e.is_incomplete_message() {
        return problem(
            "http_reset",
            format!("{url}: the connection closed before a complete response"),
        );
    }
    if e.is_parse() {
        return problem(
            "http_protocol",
            format!("{url}: the answer is not HTTP/1.1 ({e}); HTTP/2 without TLS or another protocol on the port?"),
        );
    }
    problem("http_protocol", format!("{url}: {e}"))
}

/// Signatures of pages that mean something else than the web server answered.
fn interception(resp: &Response, redirected: bool) -> Option<(&'static str, String)> {
    let body = String::from_utf8_lossy(&resp.body);
    if body.contains("The plain HTTP request was sent to HTTPS port")
        || body.contains("speaking plain HTTP to an SSL-enabled server port")
    {
        return Some((
            "http_on_https_port",
            if redirected {
                format!("{} reached a TLS port with plain HTTP (\"plain HTTP request was sent to HTTPS port\"): a redirect sends http:// to port 443; redirect to https:// instead", resp.url)
            } else {
                format!("{} is answered by a TLS listener (\"plain HTTP request was sent to HTTPS port\"): the HTTP port must speak plain HTTP", resp.url)
            },
        ));
    }
    if body.contains("aes.min.js") || body.contains("testcookie") {
        return Some((
            "http_waf_block",
            format!("{} is answered by an nginx testcookie bot filter, which the CA cannot pass; exempt /.well-known/acme-challenge/", resp.url),
        ));
    }
    if body.contains("acme-protocol")
        || body
            .to_ascii_lowercase()
            .contains("web application firewall")
    {
        return Some((
            "http_waf_block",
            format!("{} is answered by a firewall block page; exempt /.well-known/acme-challenge/ from it", resp.url),
        ));
    }
    None
}

/// What the CA will compare the response with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The key authorization: status 200 and exactly this body (trailing whitespace trimmed).
    KeyAuthorization(String),
    /// Only the token is known: the file must be served (200); its body is reported.
    TokenOnly,
    /// Nothing known: a random path was asked; 404 or 2xx shows the path is reachable.
    Nothing,
}

/// Judges the per-address results: pushes findings (with the address in each sentence) and
/// returns the evidence rows.
pub fn judge(
    results: &[AddressResult],
    expect: &Expectation,
    out: &mut Vec<Check>,
) -> Vec<Evidence> {
    let v4_ok = results.iter().any(|r| r.ip.is_ipv4() && r.outcome.is_ok());
    let mut evidence = Vec::new();
    let mut finals: Vec<(IpAddr, String)> = Vec::new();
    for r in results {
        let at = r.ip.to_string();
        match &r.outcome {
            Err(p) => {
                let msg = format!("[{at}] {}", p.message);
                if p.id == "excluded" {
                    out.push(Check::unknown(
                        p.id,
                        format!("[{at}] not probed: {}", p.message),
                    ));
                } else if p.id == "no_route_from_here" {
                    // This host cannot reach the address (no IPv6 here): the CA can, so
                    // nothing is known of the server there.
                    out.push(Check::unknown(
                        p.id,
                        format!(
                            "[{at}] not tried: {}; check from a host that has it",
                            p.message
                        ),
                    ));
                } else if p.dial && r.ip.is_ipv6() && v4_ok {
                    out.push(Check::warning(
                        p.id,
                        format!("{msg}; a CA falls back to IPv4 here, but fix the server or remove the AAAA record"),
                    ));
                } else {
                    out.push(Check::error(p.id, msg));
                }
                evidence.push(Evidence {
                    at,
                    result: p.id.to_string(),
                    hops: r.hops.clone(),
                });
            }
            Ok(resp) => {
                let body = String::from_utf8_lossy(&resp.body).into_owned();
                let trimmed = body.trim_end().to_string();
                let mut result = format!("{}", resp.status);
                if let Some((id, msg)) = interception(resp, r.hops.len() > 1) {
                    out.push(Check::error(id, format!("[{at}] {msg}")));
                    result = format!("{} {id}", resp.status);
                } else {
                    match expect {
                        Expectation::KeyAuthorization(ka) => {
                            if resp.status != 200 {
                                out.push(Check::error(
                                    "http_unexpected_status",
                                    format!("[{at}] Invalid response from {}: {} (the CA needs 200 with the key authorization)", resp.url, resp.status),
                                ));
                            } else if resp.body.len() >= MAX_BODY || resp.body_truncated {
                                out.push(Check::error(
                                    "http_body_too_large",
                                    format!("[{at}] {} returned {} or more bytes; the key authorization is shorter than {MAX_BODY}", resp.url, resp.body.len()),
                                ));
                            } else if trimmed != *ka {
                                out.push(Check::error(
                                    "http_body_mismatch",
                                    format!("[{at}] {} returned \"{}\" instead of the key authorization", resp.url, short(&trimmed)),
                                ));
                            } else {
                                result = "200 key authorization matches".to_string();
                            }
                        }
                        Expectation::TokenOnly => {
                            if resp.status != 200 {
                                out.push(Check::error(
                                    "http_unexpected_status",
                                    format!("[{at}] Invalid response from {}: {} (the challenge file is not served)", resp.url, resp.status),
                                ));
                            } else {
                                out.push(Check::info(
                                    "http_body_not_judged",
                                    format!("[{at}] {} serves \"{}\" (not judged: no key authorization given)", resp.url, short(&trimmed)),
                                ));
                            }
                        }
                        Expectation::Nothing => {
                            if !(resp.status == 404 || (200..300).contains(&resp.status)) {
                                out.push(Check::warning(
                                    "http_unexpected_status",
                                    format!("[{at}] {} answered {} to an unknown challenge path (expected 404); the challenge path may be blocked", resp.url, resp.status),
                                ));
                            }
                        }
                    }
                }
                if let Some(cdn) = resp.cdn {
                    out.push(Check::warning(
                        "http_cdn_proxy",
                        format!("[{at}] {} is answered through {cdn}: the challenge path must reach the origin (or be served by {cdn}) and its 404s must not be cached", resp.url),
                    ));
                }
                if resp.cached {
                    out.push(Check::warning(
                        "http_cdn_cached",
                        format!("[{at}] the answer for {} came from a cache: a challenge file placed now may not be seen; exempt /.well-known/acme-challenge/ from caching", resp.url),
                    ));
                }
                finals.push((r.ip, format!("{} {}", resp.status, short(&trimmed))));
                // Which software answered tells a router's admin page or a proxy apart from
                // the web server that should hold the file.
                if let Some(server) = &resp.server {
                    result = format!("{result} (server: {})", short(server));
                }
                evidence.push(Evidence {
                    at,
                    result,
                    hops: r.hops.clone(),
                });
            }
        }
    }
    let distinct: HashSet<&String> = finals.iter().map(|f| &f.1).collect();
    if distinct.len() > 1 {
        let each: Vec<String> = finals.iter().map(|(ip, f)| format!("{ip} → {f}")).collect();
        out.push(Check::warning(
            "http_ip_discrepancy",
            format!("the addresses answer differently ({}); every address must serve the same challenge", each.join(", ")),
        ));
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(from: &str, to: &str, allow_private: bool) -> Result<(), &'static str> {
        let (f, t) = (Url::parse(from).unwrap(), Url::parse(to).unwrap());
        check_redirect(&f, &t, allow_private).map_err(|p| p.id)
    }

    #[test]
    fn an_address_this_host_cannot_reach_is_not_judged() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let results = [AddressResult {
            ip: v6,
            hops: vec![],
            outcome: Err(Problem {
                dial: true,
                ..problem("no_route_from_here", crate::model::NO_ROUTE)
            }),
        }];
        let mut out = Vec::new();
        judge(&results, &Expectation::Nothing, &mut out);
        assert_eq!(out.len(), 1);
        // Inconclusive (unknown), not an error blaming the server's AAAA record.
        assert!(out[0].inconclusive, "{:?}", out[0]);
        assert_eq!(out[0].id, "no_route_from_here");
    }

    #[test]
    fn redirect_rules() {
        let from = "http://www.example.com/.well-known/acme-challenge/t";
        assert!(check(from, "https://www.example.com/x", false).is_ok());
        assert!(check(from, "http://www.example.com:443/x", false).is_ok());
        assert!(check(from, "http://198.51.100.7/x", false).is_ok());
        assert_eq!(
            check(from, "http://www.example.com:8080/x", false),
            Err("http_bad_redirect")
        );
        assert_eq!(
            check(from, "ftp://www.example.com/x", false),
            Err("http_bad_redirect")
        );
        assert_eq!(
            check(from, "http://example.com.well-known/x", false),
            Err("http_bad_redirect")
        );
        assert_eq!(
            check(from, "http://intranet.corp/x", false),
            Err("http_bad_redirect")
        );
        assert!(check(from, "http://intranet.corp/x", true).is_ok());
        let long = format!("http://www.example.com/{}", "a".repeat(2001));
        assert_eq!(check(from, &long, false), Err("http_bad_redirect"));
    }
}
