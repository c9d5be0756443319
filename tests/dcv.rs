//! DCV pre-check against real servers on loopback: authoritative zones served by in-process
//! hickory-server instances, HTTP servers (hyper), TLS servers with and without `acme-tls/1`.

use certsweep::cli::DcvArgs;
use certsweep::dcv::{Method, Outcome, Verdict};
use hickory_server::proto::rr::rdata::{AAAA, CNAME, NS};
use hickory_server::proto::rr::RData;
use hickory_server::zone_handler::Catalog;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

mod support;
use support::dcvfix::*;

const KEY_AUTH: &str = "tok.thumbprint";
const LE: &str = "letsencrypt.org";
const ACCOUNT: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/1234";

fn challenge_ok(path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    if path.ends_with("/.well-known/acme-challenge/tok") {
        (200, vec![], format!("{KEY_AUTH}\n"))
    } else {
        (404, vec![], "not found".into())
    }
}

fn not_found(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    (404, vec![], "not found".into())
}

/// The host part of the handlers' `host[:port]/path` argument.
fn host_of(path: &str) -> &str {
    path.split(['/', ':']).next().unwrap_or("")
}

/// A redirect with an empty body.
fn redirect(status: u16, location: String) -> (u16, Vec<(&'static str, String)>, String) {
    (status, vec![("location", location)], String::new())
}

fn redirect_odd_port(path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    let host = host_of(path);
    redirect(
        301,
        format!("http://{host}:8080/.well-known/acme-challenge/tok"),
    )
}

/// Another host's challenge: what a site that moved to a new server answers.
fn redirect_to_ok(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    redirect(
        301,
        "http://ok.example.com/.well-known/acme-challenge/tok".into(),
    )
}

fn redirect_loop(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    redirect(302, "/.well-known/acme-challenge/tok".into())
}

fn redirect_https(path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    let host = host_of(path);
    redirect(
        301,
        format!("https://{host}/.well-known/acme-challenge/tok"),
    )
}

fn redirect_http_443(path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    let host = host_of(path);
    redirect(
        302,
        format!("http://{host}:443/.well-known/acme-challenge/tok"),
    )
}

fn nginx_https_port(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    (
        400,
        vec![("server", "nginx".into())],
        "<html><center>The plain HTTP request was sent to HTTPS port</center></html>".into(),
    )
}

fn cdn_cached_404(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    (
        404,
        vec![
            ("server", "cloudflare".into()),
            ("cf-cache-status", "HIT".into()),
        ],
        "not found".into(),
    )
}

fn waf_testcookie(_: &str) -> (u16, Vec<(&'static str, String)>, String) {
    (
        200,
        vec![],
        "<html><script type=\"text/javascript\" src=\"/aes.min.js\"></script></html>".into(),
    )
}

/// A TLS server presenting `cert` with ALPN `alpn` (none if empty).
async fn tls_on(
    listener: TcpListener,
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
    alpn: Vec<Vec<u8>>,
) -> certsweep::fleet::Server {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let signing = provider.key_provider.load_private_key(key).unwrap();
    // Served without rustls' own checks: the challenge certificate carries a critical
    // extension (acmeIdentifier) that a normal certificate loader refuses.
    let certified = Arc::new(rustls::sign::CertifiedKey::new(
        vec![cert.der().clone()],
        signing,
    ));
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
    cfg.alpn_protocols = alpn;
    certsweep::fleet::serve_config(listener, cfg).unwrap()
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// The RFC 8737 challenge certificate for `domain` and `key_auth`.
fn alpn_cert(domain: &str, key_auth: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let digest = ring::digest::digest(&ring::digest::SHA256, key_auth.as_bytes());
    let mut params = rcgen::CertificateParams::new(vec![domain.to_string()]).unwrap();
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(digest.as_ref()));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

fn plain_cert(domain: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let params = rcgen::CertificateParams::new(vec![domain.to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

/// The whole fixture: nameservers ns1 (127.0.0.11, also the resolver), ns2 (127.0.0.12, a
/// copy of example.com that lacks one TXT), ns3 (127.0.0.13, lame: does not serve
/// example.org), ns4 (127.0.0.14, nothing listens); HTTP on 127.0.0.21-27; TLS on
/// 127.0.0.31-32.
struct Fixture {
    ns_port: u16,
    http_port: u16,
    tls_port: u16,
    _servers: Vec<hickory_server::Server<Catalog>>,
    _tasks: Vec<JoinHandle<()>>,
    _tls: Vec<certsweep::fleet::Server>,
    _swallow: Option<std::net::UdpSocket>,
}

impl Fixture {
    /// No servers of its own: for a resolver (or a silent port) at `port` on loopback.
    fn resolver_only(port: u16) -> Fixture {
        Fixture {
            ns_port: port,
            http_port: 1,
            tls_port: 1,
            _servers: vec![],
            _tasks: vec![],
            _tls: vec![],
            _swallow: None,
        }
    }

    /// No servers of its own: for HTTP servers a test runs on `port` (plain and TLS).
    fn http_only(port: u16) -> Fixture {
        Fixture {
            ns_port: 53,
            http_port: port,
            tls_port: port,
            ..Fixture::resolver_only(53)
        }
    }
}

async fn fixture() -> Fixture {
    let example_com = |with_half: bool| {
        let mut r = vec![
            rec("example.com.", RData::NS(NS(name("ns1.example.com.")))),
            rec("example.com.", RData::NS(NS(name("ns2.example.com.")))),
            a("ns1.example.com.", [127, 0, 0, 11]),
            a("ns2.example.com.", [127, 0, 0, 12]),
            a("ns3.example.com.", [127, 0, 0, 13]),
            a("ns4.example.com.", [127, 0, 0, 14]),
            a("ns5.example.com.", [127, 0, 0, 15]),
            a("ok.example.com.", [127, 0, 0, 21]),
            caa("ok.example.com.", 0, "issue", "letsencrypt.org"),
            a("missing.example.com.", [127, 0, 0, 22]),
            a("odd-port.example.com.", [127, 0, 0, 23]),
            a("loop.example.com.", [127, 0, 0, 24]),
            a("to-https.example.com.", [127, 0, 0, 25]),
            a("to-443.example.com.", [127, 0, 0, 26]),
            a("denied.example.com.", [127, 0, 0, 21]),
            caa("denied.example.com.", 0, "issue", "otherca.example"),
            a("critical.example.com.", [127, 0, 0, 21]),
            caa("critical.example.com.", 128, "tbs", "unknown"),
            caa("critical.example.com.", 0, "issue", "letsencrypt.org"),
            caa("wild.example.com.", 0, "issue", "letsencrypt.org"),
            caa("wild.example.com.", 0, "issuewild", ";"),
            a("alias.example.com.", [127, 0, 0, 21]),
            a("alpn-ok.example.com.", [127, 0, 0, 31]),
            a("alpn-none.example.com.", [127, 0, 0, 32]),
            rec(
                "gone.example.com.",
                RData::CNAME(CNAME(name("nowhere.example.com."))),
            ),
            rec(
                "loop1.example.com.",
                RData::CNAME(CNAME(name("loop2.example.com."))),
            ),
            rec(
                "loop2.example.com.",
                RData::CNAME(CNAME(name("loop1.example.com."))),
            ),
            a("waf.example.com.", [127, 0, 0, 27]),
            a("slow.example.com.", [127, 0, 0, 28]),
            a("refused.example.com.", [127, 0, 0, 29]),
            a("cdn.example.com.", [127, 0, 0, 30]),
            a("firewalled.example.com.", [127, 0, 0, 33]),
            a("reset.example.com.", [127, 0, 0, 34]),
            a("hop.example.com.", [127, 0, 0, 35]),
            txt("_acme-challenge.bloat.example.com.", "bloat-value"),
            txt("_acme-challenge.ok.example.com.", "good-value"),
            txt("_acme-challenge.ok.example.com.", "stale-value"),
            // Typed whole into an editor that appends the zone.
            txt(
                "_acme-challenge.doubled.example.com.example.com.",
                "doubled-value",
            ),
            rec(
                "_acme-challenge.alias.example.com.",
                RData::CNAME(CNAME(name("target.example.com."))),
            ),
            txt("target.example.com.", "delegated-value"),
            // The challenge name is its own zone (NS-delegated): discovery must start at it.
            rec(
                "_acme-challenge.deleg.example.com.",
                RData::NS(NS(name("ns1.example.com."))),
            ),
        ];
        // Old challenge values piling up: the answer no longer fits 1232 bytes of UDP.
        for i in 0..30 {
            r.push(txt(
                "_acme-challenge.bloat.example.com.",
                &format!("stale-{i:02}-{}", "x".repeat(50)),
            ));
        }
        // dns-persist-01: standing records naming the CA and the account.
        let persist = |label: &str, value: &str| {
            txt(&format!("_validation-persist.{label}.example.com."), value)
        };
        r.push(persist(
            "persist",
            &format!("{LE}; accounturi={ACCOUNT}; policy=wildcard"),
        ));
        r.push(persist("narrow", &format!("{LE}; accounturi={ACCOUNT}")));
        r.push(persist(
            "narrow",
            &format!("digicert.com; accounturi={ACCOUNT}; policy=wildcard"),
        ));
        r.push(persist(
            "otheraccount",
            &format!("{LE}; accounturi={ACCOUNT}9"),
        ));
        r.push(persist(
            "otherca",
            &format!("digicert.com; accounturi={ACCOUNT}"),
        ));
        r.push(persist("broken", &format!("{LE}; accounturi={ACCOUNT};")));
        r.push(persist("methods", &format!("{LE}; accounturi={ACCOUNT}")));
        r.push(caa(
            "methods.example.com.",
            0,
            "issue",
            "letsencrypt.org; validationmethods=dns-01",
        ));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        r.push(persist(
            "ending",
            &format!(
                "{LE}; accounturi={ACCOUNT}; persistUntil={}",
                now + 5 * 86_400
            ),
        ));
        r.push(persist(
            "ended",
            &format!("{LE}; accounturi={ACCOUNT}; persistUntil={}", now - 86_400),
        ));
        if with_half {
            r.push(txt("_acme-challenge.half.example.com.", "half-value"));
            r.push(persist("halfway", &format!("{LE}; accounturi={ACCOUNT}")));
        }
        r
    };
    let ns1_zones = [
        Zone {
            origin: "com.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "org.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "edu.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "net.",
            serial: 1,
            records: vec![],
        },
        // The record just published on ns1 (serial 8); ns2 still serves serial 7.
        Zone {
            origin: "example.net.",
            serial: 8,
            records: vec![
                rec("example.net.", RData::NS(NS(name("ns1.example.com.")))),
                rec("example.net.", RData::NS(NS(name("ns2.example.com.")))),
                txt("_acme-challenge.moved.example.net.", "moved-value"),
            ],
        },
        // One of the two nameservers (ns5) swallows every question.
        Zone {
            origin: "example.edu.",
            serial: 1,
            records: ["a", "b", "c", "d", "e"]
                .iter()
                .map(|l| txt(&format!("_acme-challenge.{l}.example.edu."), "edu-value"))
                .chain([
                    rec("example.edu.", RData::NS(NS(name("ns1.example.com.")))),
                    rec("example.edu.", RData::NS(NS(name("ns5.example.com.")))),
                ])
                .collect(),
        },
        Zone {
            origin: "example.com.",
            serial: 7,
            records: example_com(true),
        },
        Zone {
            origin: "_acme-challenge.deleg.example.com.",
            serial: 3,
            records: vec![
                rec(
                    "_acme-challenge.deleg.example.com.",
                    RData::NS(NS(name("ns1.example.com."))),
                ),
                txt("_acme-challenge.deleg.example.com.", "deleg-value"),
            ],
        },
        // No parent zone for .info here: the CAA climb ends in REFUSED at the TLD.
        Zone {
            origin: "example.info.",
            serial: 1,
            records: vec![a("x.example.info.", [127, 0, 0, 21])],
        },
        Zone {
            origin: "example.org.",
            serial: 1,
            records: vec![
                rec("example.org.", RData::NS(NS(name("ns1.example.com.")))),
                rec("example.org.", RData::NS(NS(name("ns3.example.com.")))),
                rec("example.org.", RData::NS(NS(name("ns4.example.com.")))),
                txt("_acme-challenge.lame.example.org.", "lame-value"),
            ],
        },
    ];
    let ns2_zones = [
        Zone {
            origin: "example.com.",
            serial: 7,
            records: example_com(false),
        },
        Zone {
            origin: "example.net.",
            serial: 7,
            records: vec![
                rec("example.net.", RData::NS(NS(name("ns1.example.com.")))),
                rec("example.net.", RData::NS(NS(name("ns2.example.com.")))),
            ],
        },
    ];
    let ns3_zones = [Zone {
        origin: "com.",
        serial: 1,
        records: vec![],
    }];

    // One port for all nameservers (the port authoritative servers are asked on), its
    // sockets held from the moment it is found; at 127.0.0.15 UDP bound and never read:
    // questions to it time out (no ICMP error comes back).
    let (ns_port, mut bound, mut swallow) = one_port_on(&[11, 12, 13], &[15]);
    let swallow = swallow.remove(0);
    let mut servers = Vec::new();
    for zones in [&ns1_zones[..], &ns2_zones[..], &ns3_zones[..]] {
        let (udp, tcp) = bound.remove(0);
        servers.push(dns_serving(udp, tcp, zones).await);
    }

    let (http_port, mut http) = listeners(&[21, 22, 23, 24, 25, 26, 27, 30, 35, 34, 33, 28]).await;
    let (tls_port, mut tls) = listeners(&[25, 26, 31, 32]).await;
    let mut tasks = Vec::new();
    // 127.0.0.28 accepts and never answers.
    let slow = http.pop().unwrap();
    // 127.0.0.33 drops SYNs (a full accept queue): what a firewall looks like.
    let firewalled = http.pop().unwrap();
    let hole = certsweep::fleet::blackhole_of(firewalled).await.unwrap();
    // 127.0.0.34 accepts and resets at once.
    let resetting = http.pop().unwrap();
    tasks.push(tokio::spawn(async move {
        let _hole = hole;
        while let Ok((tcp, _)) = resetting.accept().await {
            // Linger zero: close with RST (it does not block when the time is zero).
            let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
            drop(tcp);
        }
    }));
    tasks.push(tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = slow.accept().await {
            held.push(tcp);
        }
    }));
    let handlers: [Handler; 9] = [
        challenge_ok,
        not_found,
        redirect_odd_port,
        redirect_loop,
        redirect_https,
        redirect_http_443,
        waf_testcookie,
        cdn_cached_404,
        redirect_to_ok,
    ];
    for (l, h) in http.drain(..).zip(handlers) {
        tasks.push(http_on(l, h).await);
    }
    let mut tls = tls.drain(..);
    // 127.0.0.25's TLS port speaks plain HTTP; 127.0.0.26's is nginx's HTTPS port answering
    // a plain request.
    tasks.push(http_on(tls.next().unwrap(), not_found).await);
    tasks.push(http_on(tls.next().unwrap(), nginx_https_port).await);
    let (c, k) = alpn_cert("alpn-ok.example.com", KEY_AUTH);
    let alpn_ok = tls_on(tls.next().unwrap(), c, k, vec![b"acme-tls/1".to_vec()]).await;
    let (c, k) = plain_cert("alpn-none.example.com");
    let alpn_none = tls_on(
        tls.next().unwrap(),
        c,
        k,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    )
    .await;
    Fixture {
        ns_port,
        http_port,
        tls_port,
        _servers: servers,
        _tasks: tasks,
        _tls: vec![alpn_ok, alpn_none],
        _swallow: Some(swallow),
    }
}

fn args(f: &Fixture, domains: &std::path::Path) -> DcvArgs {
    DcvArgs {
        domains: Some(domains.display().to_string()),
        inventory: vec![],
        inventory_map: None,
        method: "http-01".into(),
        ca_domain: vec!["letsencrypt.org".into()],
        account_uri: None,
        resolver: Some(format!("127.0.0.11:{}", f.ns_port)),
        http_port: f.http_port,
        tls_port: f.tls_port,
        ns_port: f.ns_port,
        timeout: Duration::from_secs(3),
        // Generous for a loaded CI machine; only silent servers ever wait it out.
        dns_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(30),
        concurrency: 16,
        per_address: 4,
        allow_private: true,
        report: None,
        jsonl: None,
        junit: None,
        bom: false,
        quiet: true,
        wait: None,
        exclude: vec![],
    }
}

fn file(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content.as_bytes()).unwrap();
    f
}

fn find<'a>(out: &'a [Outcome], domain: &str, method: Method) -> &'a Outcome {
    out.iter()
        .find(|o| o.domain == domain && o.method == method)
        .unwrap_or_else(|| panic!("no outcome for {domain} {method}"))
}

/// Each of `want`'s domains checked by `method` is ready (no check named), or not ready
/// with the check named among those that failed.
fn assert_outcomes(out: &[Outcome], want: &[(String, Option<&'static str>)], method: Method) {
    for (domain, outcome) in want {
        let o = find(out, domain, method);
        let failed = ids(o);
        match outcome {
            None => assert_eq!(o.verdict, Verdict::Ready, "{domain}: {o:#?}"),
            Some(id) => assert!(
                o.verdict == Verdict::NotReady && failed.contains(id),
                "{domain}: want {id}, got {failed:?}: {o:#?}"
            ),
        }
    }
}

fn ids(o: &Outcome) -> Vec<&'static str> {
    o.failed_ids()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_cases() {
    let f = fixture().await;
    let domains = file(&format!(
        "domain,method,token,expected\n\
         ok.example.com,http-01,tok,{KEY_AUTH}\n\
         ok.example.com,http-01,tok,wrong.value\n\
         OK.example.com,http-01,tok,{KEY_AUTH}\n\
         missing.example.com,http-01,tok,{KEY_AUTH}\n\
         odd-port.example.com,http-01,tok,{KEY_AUTH}\n\
         loop.example.com,http-01,tok,{KEY_AUTH}\n\
         to-https.example.com,http-01,tok,{KEY_AUTH}\n\
         to-443.example.com,http-01,tok,{KEY_AUTH}\n\
         gone.example.com,http-01,,\n\
         loop1.example.com,http-01,,\n\
         waf.example.com,http-01,tok,\n\
         refused.example.com,http-01,,\n\
         x.example.info,http-01,,\n\
         cdn.example.com,http-01,,\n\
         www.unregistered-example.com,http-01,,\n\
         denied.example.com,http-01,,{KEY_AUTH}\n\
         nxdomain.example.com,http-01,,\n\
         *.example.com,http-01,,\n\
         192.0.2.7,http-01,,\n"
    ));
    let (summary, out) = certsweep::dcv_command::check_all(&args(&f, domains.path()), true)
        .await
        .unwrap();
    assert_eq!(summary.bad_lines, 0);
    // Its resolver answers (a silent nameserver of a zone is no resolver's fault).
    assert_eq!(summary.resolver_unheard, None);

    let ok: Vec<&Outcome> = out
        .iter()
        .filter(|o| o.domain == "ok.example.com")
        .collect();
    // A row repeated exactly collapses to the first; one expecting another value is a
    // check of its own (two orders pending for one name).
    assert_eq!(ok.len(), 2, "{ok:#?}");
    assert_eq!(summary.duplicates, 1);
    let (ready, other): (Vec<&Outcome>, Vec<&Outcome>) =
        ok.iter().partition(|o| o.verdict == Verdict::Ready);
    assert_eq!((ready.len(), other.len()), (1, 1), "{ok:#?}");
    assert!(other[0].source.ends_with(":3"), "{}", other[0].source);
    let ok = ready[0];
    assert_eq!(ok.verdict, Verdict::Ready, "{ok:#?}");
    assert_eq!(ok.addresses, ["127.0.0.21"]);
    assert_eq!(ok.evidence[0].result, "200 key authorization matches");
    assert_eq!(
        ok.caa.as_deref(),
        Some("ok.example.com: 0 issue \"letsencrypt.org\"")
    );

    let missing = find(&out, "missing.example.com", Method::Http01);
    assert_eq!(missing.verdict, Verdict::NotReady);
    assert_eq!(ids(missing), ["http_unexpected_status"]);
    assert!(missing.checks[0].message.starts_with("[127.0.0.22] Invalid response from http://missing.example.com/.well-known/acme-challenge/tok: 404"));

    let odd = find(&out, "odd-port.example.com", Method::Http01);
    assert_eq!(ids(odd), ["http_bad_redirect"]);
    assert!(
        odd.checks[0].message.contains("port 8080"),
        "{}",
        odd.checks[0].message
    );

    let lp = find(&out, "loop.example.com", Method::Http01);
    assert_eq!(ids(lp), ["http_redirect_loop"]);

    let https = find(&out, "to-https.example.com", Method::Http01);
    assert_eq!(ids(https), ["http_not_tls"]);
    assert_eq!(https.evidence[0].hops.len(), 2, "{:?}", https.evidence);

    let p443 = find(&out, "to-443.example.com", Method::Http01);
    assert_eq!(ids(p443), ["http_on_https_port"]);

    let gone = find(&out, "gone.example.com", Method::Http01);
    assert_eq!(ids(gone), ["cname_dangling"]);
    let nx = find(&out, "nxdomain.example.com", Method::Http01);
    assert_eq!(ids(nx), ["dns_nxdomain"]);
    let wild = find(&out, "*.example.com", Method::Http01);
    assert_eq!(ids(wild), ["wildcard_needs_dns01"]);
    let ip = find(&out, "192.0.2.7", Method::Http01);
    assert_eq!(ids(ip), ["ident_is_ip"]);
    // The CA's CAA lookup fails on the loop too.
    assert_eq!(
        ids(find(&out, "loop1.example.com", Method::Http01)),
        ["caa_lookup_failed", "cname_loop"]
    );
    assert_eq!(
        ids(find(&out, "waf.example.com", Method::Http01)),
        ["http_waf_block"]
    );
    let refused = find(&out, "refused.example.com", Method::Http01);
    assert_eq!(ids(refused), ["http_connect_refused"]);
    assert!(refused.checks[0]
        .message
        .starts_with("[127.0.0.29] Connection refused"));
    let info = find(&out, "x.example.info", Method::Http01);
    assert_eq!(ids(info), ["caa_lookup_failed"]);
    assert!(
        info.checks[0].message.contains("CAA lookup of info."),
        "{}",
        info.checks[0].message
    );
    let unreg = find(&out, "www.unregistered-example.com", Method::Http01);
    assert_eq!(ids(unreg), ["domain_not_registered"]);
    assert!(unreg.checks[0]
        .message
        .starts_with("unregistered-example.com does not exist"));

    // The token comes from the key authorization when the row has none: the file is found
    // (the only finding is CAA's).
    let derived = find(&out, "denied.example.com", Method::Http01);
    assert_eq!(ids(derived), ["caa_forbids_ca"], "{derived:#?}");
    assert_eq!(derived.evidence[0].result, "200 key authorization matches");

    // Through a CDN with a cached 404: reachable, so ready, with both warnings.
    let cdn = find(&out, "cdn.example.com", Method::Http01);
    assert_eq!(cdn.verdict, Verdict::Ready, "{cdn:#?}");
    let warned: Vec<&str> = cdn.checks.iter().map(|c| c.id).collect();
    assert!(
        warned.contains(&"http_cdn_proxy") && warned.contains(&"http_cdn_cached"),
        "{warned:?}"
    );
    // 15 and the second ok.example.com row, which expects another value.
    assert_eq!(summary.not_ready, 16);
    assert_eq!(summary.ready, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_read_timeout() {
    let f = fixture().await;
    let domains = file("slow.example.com\n");
    let mut a = args(&f, domains.path());
    a.timeout = Duration::from_millis(300);
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    assert_eq!(ids(&out[0]), ["http_read_timeout"], "{:#?}", out[0]);

    // A firewalled address times out on connect; a resetting one is named as such.
    let domains = file("firewalled.example.com\nreset.example.com\n");
    let mut b = args(&f, domains.path());
    b.timeout = Duration::from_millis(300);
    let (_, out) = certsweep::dcv_command::check_all(&b, true).await.unwrap();
    let fw = find(&out, "firewalled.example.com", Method::Http01);
    assert_eq!(ids(fw), ["http_connect_timeout"], "{fw:#?}");
    assert!(fw.checks[0].message.contains("likely firewall"));
    let rs = find(&out, "reset.example.com", Method::Http01);
    assert_eq!(ids(rs), ["http_reset"], "{rs:#?}");

    // The hard per-domain deadline cuts the same probe short: could not tell.
    a.timeout = Duration::from_secs(5);
    a.deadline = Duration::from_millis(300);
    let (summary, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    assert_eq!(out[0].verdict, Verdict::Unknown, "{:#?}", out[0]);
    assert_eq!(ids(&out[0]), ["deadline"]);
    assert_eq!(summary.unknown, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_is_given_up_and_the_run_goes_on() {
    // /dev/full refuses every write (ENOSPC): the JSON lines and the summary remain.
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let f = fixture().await;
    let domains = file(&format!(
        "domain,token,expected\nok.example.com,tok,{KEY_AUTH}\nmissing.example.com,tok,{KEY_AUTH}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("dcv.jsonl");
    let mut a = args(&f, domains.path());
    let junit = dir.path().join("dcv.xml");
    a.report = Some("/dev/full".into());
    a.jsonl = Some(jsonl.clone());
    a.junit = Some(junit.clone());
    let (summary, _) = certsweep::dcv_command::check_all(&a, false)
        .await
        .expect("the run goes on");
    assert_eq!(summary.outputs_lost.len(), 1, "{summary}");
    assert!(
        summary.outputs_lost[0].contains("writing /dev/full"),
        "{summary}"
    );
    assert!(summary.to_string().contains("given up"), "{summary}");
    assert_eq!((summary.ready, summary.not_ready), (1, 1), "{summary}");
    let written = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 2, "{xml}");
    // The JUnit file given up instead, the others whole.
    let report = dir.path().join("dcv.csv");
    a.report = Some(report.clone());
    a.junit = Some("/dev/full".into());
    let (summary, _) = certsweep::dcv_command::check_all(&a, false)
        .await
        .expect("the run goes on");
    assert_eq!(summary.outputs_lost.len(), 1, "{summary}");
    let rows = std::fs::read_to_string(&report).unwrap();
    assert_eq!(rows.lines().count(), 3, "{rows}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_is_no_pass() {
    // The binary, one domain at a time, against a resolver that takes questions and never
    // answers; Ctrl-C arrives with the first question. The domain in progress finishes
    // (`unknown`: nothing failed), the second is never started, and the exit code is not
    // 0: a pipeline that orders the certificate on a pass must not order it on a run that
    // checked half its domains (it exited 0).
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let domains = file("www.example.com\nmail.example.com\n");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("dcv.csv");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args([
            "dcv",
            "--method",
            "dns-01",
            "--concurrency",
            "1",
            "--domains",
        ])
        .arg(domains.path())
        .args(["--resolver", &format!("127.0.0.1:{port}")])
        .args(["--dns-timeout", "200ms", "--report"])
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let (_, from) = silent.recv_from(&mut buf).await.unwrap();
    assert!(from.ip().is_loopback());
    let out = support::stop_and_wait(child, "INT").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Ctrl-C: stopping"), "{stderr}");
    assert!(stderr.contains("(interrupted)"), "{stderr}");
    let csv = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(
        rows[0].starts_with("www.example.com,dns-01,unknown,"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_down_is_unknown_not_not_ready() {
    // Nothing answers on this port: our lookups fail, which says nothing about the CA's.
    // Held open, so that the questions are taken in and never answered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let domains = file("www.example.com\nmail.example.com\napi.example.org\n");
    let f = Fixture::resolver_only(port);
    let mut a = args(&f, domains.path());
    a.resolver = Some(format!("127.0.0.1:{port}"));
    a.dns_timeout = Duration::from_millis(200);
    a.concurrency = 3;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("dcv.xml");
    a.junit = Some(junit.clone());
    let (summary, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    assert_eq!(out.len(), 3);
    // Unknown is neither a pass nor a failure: skipped, with why.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"3\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<skipped message=\"").count(), 3, "{xml}");
    assert!(xml.contains("did not answer"), "{xml}");
    for o in &out {
        assert_eq!(o.verdict, Verdict::Unknown, "{o:#?}");
        assert_eq!(ids(o), ["caa_lookup_failed", "dns_lookup_failed"]);
    }
    assert_eq!(summary.not_ready, 0);
    // A resolver that timed out on the first questions is asked one question at a time,
    // and those waiting for it fail with it (each domain would wait out its timeouts to
    // say the same); the summary says the resolver is the cause.
    let not_asked = format!("not asked: the resolver 127.0.0.1:{port} is not answering");
    let told: Vec<&certsweep::dcv::Check> = out
        .iter()
        .flat_map(|o| &o.checks)
        .filter(|c| c.message.contains(&not_asked))
        .collect();
    assert!(!told.is_empty(), "{out:#?}");
    // Our resolver's silence is not blamed on the zone's nameservers.
    for c in told.iter().filter(|c| c.id == "caa_lookup_failed") {
        assert!(
            c.message.contains("the resolver used here did not answer")
                && !c.message.contains("nameservers"),
            "{c:#?}"
        );
    }
    assert_eq!(summary.resolver_unheard, Some(format!("127.0.0.1:{port}")));
    assert!(
        summary.to_string().contains(&format!(
            "dns: the resolver (127.0.0.1:{port}) answered no question"
        )),
        "{summary}"
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_failing_dnssec_validation_is_named_apart_from_a_failing_one() {
    // A validating resolver: bad.example.net's signatures have expired (it answers with
    // checking disabled); broken.example.net fails either way; www.example.net is fine.
    let zones = [Zone {
        origin: "example.net.",
        serial: 1,
        records: vec![
            a("www.example.net.", [127, 0, 0, 21]),
            a("bad.example.net.", [127, 0, 0, 21]),
            a("broken.example.net.", [127, 0, 0, 21]),
            txt("_acme-challenge.bad.example.net.", "x"),
        ],
    }];
    let (addr, _resolver) =
        validating_here(&zones, &["bad.example.net."], &["broken.example.net."]).await;
    let f = Fixture::resolver_only(addr.port());
    let domains = file(
        "domain,method\n\
         bad.example.net,http-01\n\
         bad.example.net,dns-01\n\
         broken.example.net,http-01\n",
    );
    let mut a = args(&f, domains.path());
    a.resolver = Some(addr.to_string());
    a.dns_timeout = Duration::from_millis(500);
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    for method in [Method::Http01, Method::Dns01] {
        let o = find(&out, "bad.example.net", method);
        assert_eq!(o.verdict, Verdict::NotReady, "{o:#?}");
        assert!(ids(o).contains(&"dnssec_bogus"), "{method}: {:?}", ids(o));
        assert!(!ids(o).contains(&"dns_lookup_failed"), "{:?}", ids(o));
        let c = o.checks.iter().find(|c| c.id == "dnssec_bogus").unwrap();
        assert!(
            c.message
                .contains("(Extended DNS Error 7 Signature Expired (RRSIG expired 2026-01-01))"),
            "{}",
            c.message
        );
    }
    // The CAA lookup fails validation too: a CA refuses to issue without it.
    let caa = find(&out, "bad.example.net", Method::Http01);
    assert!(
        caa.checks
            .iter()
            .any(|c| c.id == "dnssec_bogus" && c.message.starts_with("the CAA lookup of")),
        "{:#?}",
        caa.checks
    );
    // SERVFAIL with checking disabled too: the nameservers, not DNSSEC.
    let o = find(&out, "broken.example.net", Method::Http01);
    assert!(ids(o).contains(&"dns_lookup_failed"), "{:?}", ids(o));
    assert!(!ids(o).contains(&"dnssec_bogus"), "{:?}", ids(o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caa_cases() {
    let f = fixture().await;
    let domains = file("ok.example.com\ndenied.example.com\ncritical.example.com\n");
    let (_, out) = certsweep::dcv_command::check_all(&args(&f, domains.path()), true)
        .await
        .unwrap();
    // Without a token the path is random and a 404 shows it reaches the server.
    assert_eq!(
        find(&out, "ok.example.com", Method::Http01).verdict,
        Verdict::Ready
    );
    let denied = find(&out, "denied.example.com", Method::Http01);
    assert_eq!(ids(denied), ["caa_forbids_ca"]);
    assert!(denied.checks[0].message.contains("otherca.example"));
    let critical = find(&out, "critical.example.com", Method::Http01);
    assert_eq!(ids(critical), ["caa_critical_unknown"]);

    // Without --ca-domain, CAA is reported and does not decide.
    let mut a = args(&f, domains.path());
    a.ca_domain.clear();
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    let denied = find(&out, "denied.example.com", Method::Http01);
    assert_eq!(denied.verdict, Verdict::Ready);
    assert!(denied.checks.iter().any(|c| c.id == "caa_not_judged"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_cases() {
    let f = fixture().await;
    let domains = file(
        "domain,method,expected\n\
         ok.example.com,dns-01,good-value\n\
         *.ok.example.com,dns-01,stale-value\n\
         half.example.com,dns-01,half-value\n\
         alias.example.com,dns-01,delegated-value\n\
         deleg.example.com,dns-01,deleg-value\n\
         lame.example.org,dns-01,lame-value\n\
         *.wild.example.com,dns-01,\n\
         absent.example.com,dns-01,some-value\n\
         doubled.example.com,dns-01,doubled-value\n\
         bloat.example.com,dns-01,bloat-value\n\
         a.example.edu,dns-01,edu-value\n\
         b.example.edu,dns-01,edu-value\n\
         c.example.edu,dns-01,edu-value\n\
         d.example.edu,dns-01,edu-value\n\
         e.example.edu,dns-01,edu-value\n\
         moved.example.net,dns-01,moved-value\n",
    );
    let (_, out) = certsweep::dcv_command::check_all(&args(&f, domains.path()), true)
        .await
        .unwrap();

    // The apex and its wildcard (one order) each expect their value at one name: neither
    // is an old challenge to remove (bloat.example.com below has real ones).
    for name in ["ok.example.com", "*.ok.example.com"] {
        let o = find(&out, name, Method::Dns01);
        assert_eq!(o.verdict, Verdict::Ready, "{o:#?}");
        assert!(
            !o.checks.iter().any(|c| c.id == "txt_stale_values"),
            "{name}: {:?}",
            o.checks
        );
    }
    let ok = find(&out, "ok.example.com", Method::Dns01);
    assert_eq!(
        ok.evidence.len(),
        2,
        "both nameservers asked: {:?}",
        ok.evidence
    );

    let half = find(&out, "half.example.com", Method::Dns01);
    assert_eq!(ids(half), ["txt_not_propagated"]);
    assert!(
        half.checks[0]
            .message
            .contains("ns2.example.com/127.0.0.12"),
        "{}",
        half.checks[0].message
    );

    // The nameservers serve two versions of the zone: the change has not reached ns2, and
    // that is said beside the missing value. Where they agree (half.example.com above), not.
    let moved = find(&out, "moved.example.net", Method::Dns01);
    assert_eq!(ids(moved), ["txt_not_propagated"], "{moved:#?}");
    let versions = &moved
        .checks
        .iter()
        .find(|c| c.id == "ns_soa_mismatch")
        .expect("the two versions told")
        .message;
    assert!(
        versions.contains("ns1.example.com/127.0.0.11: 8")
            && versions.contains("ns2.example.com/127.0.0.12: 7"),
        "{versions}"
    );
    assert!(!half.checks.iter().any(|c| c.id == "ns_soa_mismatch"));

    let alias = find(&out, "alias.example.com", Method::Dns01);
    assert_eq!(alias.verdict, Verdict::Ready, "{alias:#?}");
    assert!(alias
        .checks
        .iter()
        .any(|c| c.id == "dns01_cname_delegation"));

    let deleg = find(&out, "deleg.example.com", Method::Dns01);
    assert_eq!(deleg.verdict, Verdict::Ready, "{deleg:#?}");
    assert_eq!(deleg.evidence.len(), 1);
    assert!(
        deleg.evidence[0].result.contains("SOA 3"),
        "{:?}",
        deleg.evidence
    );

    let lame = find(&out, "lame.example.org", Method::Dns01);
    assert_eq!(ids(lame), ["ns_lame", "ns_unreachable"], "{lame:#?}");

    let wild = find(&out, "*.wild.example.com", Method::Dns01);
    assert_eq!(ids(wild), ["caa_forbids_ca"]);

    // 31 values do not fit in UDP: the answer is fetched again over TCP.
    let bloat = find(&out, "bloat.example.com", Method::Dns01);
    assert_eq!(bloat.verdict, Verdict::Ready, "{bloat:#?}");
    let stale = bloat
        .checks
        .iter()
        .find(|c| c.id == "txt_stale_values")
        .unwrap();
    assert!(
        stale.message.contains("30 other TXT value(s)"),
        "{}",
        stale.message
    );

    // A nameserver that swallows questions is reported for every domain of its zone, also
    // once it is no longer asked.
    for l in ["a", "b", "c", "d", "e"] {
        let o = find(&out, &format!("{l}.example.edu"), Method::Dns01);
        assert_eq!(ids(o), ["ns_unreachable"], "{o:#?}");
        assert!(o.checks[0].message.contains("ns5.example.com/127.0.0.15"));
    }

    let absent = find(&out, "absent.example.com", Method::Dns01);
    assert_eq!(ids(absent), ["txt_absent"]);

    // Not where the CA looks, and said where it is.
    let doubled = find(&out, "doubled.example.com", Method::Dns01);
    assert_eq!(doubled.verdict, Verdict::NotReady);
    assert_eq!(ids(doubled), ["txt_absent"], "{doubled:#?}");
    let hint = doubled
        .checks
        .iter()
        .find(|c| c.id == "txt_double_label")
        .expect("the doubled name told");
    assert!(
        hint.message
            .contains("at _acme-challenge.doubled.example.com.example.com:"),
        "{}",
        hint.message
    );
    // Nothing of the kind where nothing was placed.
    assert!(!absent.checks.iter().any(|c| c.id == "txt_double_label"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_persist01_cases() {
    let f = fixture().await;
    let domains = file(&format!(
        "domain,method,expected\n\
         persist.example.com,dns-persist-01,\n\
         *.persist.example.com,dns-persist-01,\n\
         narrow.example.com,dns-persist-01,\n\
         *.narrow.example.com,dns-persist-01,\n\
         otheraccount.example.com,dns-persist-01,\n\
         otheraccount.example.com,dns-persist-01,{ACCOUNT}9\n\
         otherca.example.com,dns-persist-01,\n\
         broken.example.com,dns-persist-01,\n\
         methods.example.com,dns-persist-01,\n\
         ending.example.com,dns-persist-01,\n\
         ended.example.com,dns-persist-01,\n\
         halfway.example.com,dns-persist-01,\n\
         nothing.example.com,dns-persist-01,\n"
    ));
    let mut a = args(&f, domains.path());
    a.account_uri = Some(ACCOUNT.into());
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    let row = |d: &str| {
        out.iter()
            .find(|o| o.domain == d && o.method == Method::DnsPersist01)
            .unwrap_or_else(|| panic!("no outcome for {d}"))
    };
    let message = |o: &Outcome, id: &str| {
        o.checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id}: {o:#?}"))
            .message
            .clone()
    };

    for d in [
        "persist.example.com",
        "*.persist.example.com",
        "narrow.example.com",
    ] {
        let o = row(d);
        assert_eq!(o.verdict, Verdict::Ready, "{o:#?}");
        assert_eq!(
            o.evidence.len(),
            2,
            "both nameservers asked: {:?}",
            o.evidence
        );
    }
    // The evidence quotes a record to its end, where its policy and persistUntil are.
    assert!(
        row("persist.example.com").evidence[0]
            .result
            .contains(&format!("{ACCOUNT}; policy=wildcard\"")),
        "{:?}",
        row("persist.example.com").evidence
    );
    // The record without policy=wildcard is this CA's; another CA's with it does not help.
    let narrow = row("*.narrow.example.com");
    assert_eq!(ids(narrow), ["dns_persist_not_wildcard"]);
    assert!(
        message(narrow, "dns_persist_not_wildcard").contains("add policy=wildcard"),
        "{narrow:#?}"
    );
    // Line 6: the account from --account-uri.
    let other = out
        .iter()
        .find(|o| o.domain == "otheraccount.example.com" && o.source.ends_with(":6"))
        .unwrap();
    assert_eq!(ids(other), ["dns_persist_account_mismatch"]);
    assert!(
        message(other, "dns_persist_account_mismatch").contains(&format!(
            "names account {ACCOUNT}9 where {ACCOUNT} will order"
        )),
        "{other:#?}"
    );
    // Line 7: the row's expected column is the account that orders.
    let own = out
        .iter()
        .find(|o| o.domain == "otheraccount.example.com" && o.source.ends_with(":7"))
        .unwrap();
    assert_eq!(own.verdict, Verdict::Ready, "{own:#?}");
    let ca = row("otherca.example.com");
    assert_eq!(ids(ca), ["dns_persist_other_ca"]);
    assert!(message(ca, "dns_persist_other_ca")
        .contains("name digicert.com, not letsencrypt.org: add a record naming letsencrypt.org"));
    assert_eq!(ids(row("broken.example.com")), ["dns_persist_malformed"]);
    assert!(
        message(row("broken.example.com"), "dns_persist_malformed").contains(&format!(
            "{ACCOUNT};\": an empty parameter or a trailing semicolon"
        ))
    );
    // CAA's validationmethods reads the method's own name.
    assert_eq!(ids(row("methods.example.com")), ["caa_method_excluded"]);
    let ending = row("ending.example.com");
    assert_eq!(ending.verdict, Verdict::Ready, "{ending:#?}");
    assert!(message(ending, "dns_persist_expiring").contains("raise persistUntil"));
    assert_eq!(ids(row("ended.example.com")), ["dns_persist_expired"]);
    let half = row("halfway.example.com");
    assert_eq!(ids(half), ["txt_not_propagated"]);
    assert!(
        message(half, "txt_not_propagated").contains("on 1 of 2 nameserver addresses of example.com; missing or different on ns2.example.com/127.0.0.12"),
        "{half:#?}"
    );
    assert_eq!(ids(row("nothing.example.com")), ["txt_absent"]);
    assert!(message(row("nothing.example.com"), "txt_absent")
        .contains("_validation-persist.nothing.example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_cases() {
    let f = fixture().await;
    let domains = file(&format!(
        "domain,method,expected\n\
         alpn-ok.example.com,tls-alpn-01,{KEY_AUTH}\n\
         alpn-none.example.com,tls-alpn-01,{KEY_AUTH}\n\
         missing.example.com,tls-alpn-01,{KEY_AUTH}\n"
    ));
    let (_, out) = certsweep::dcv_command::check_all(&args(&f, domains.path()), true)
        .await
        .unwrap();
    let ok = find(&out, "alpn-ok.example.com", Method::TlsAlpn01);
    assert_eq!(ok.verdict, Verdict::Ready, "{ok:#?}");
    let none = find(&out, "alpn-none.example.com", Method::TlsAlpn01);
    assert_eq!(ids(none), ["alpn_not_negotiated"]);
    let missing = find(&out, "missing.example.com", Method::TlsAlpn01);
    assert_eq!(ids(missing), ["tls_unreachable"]);

    // The right responder for another order: the digest does not match.
    let other = file("domain,method,expected\nalpn-ok.example.com,tls-alpn-01,other.key\n");
    let (_, out) = certsweep::dcv_command::check_all(&args(&f, other.path()), true)
        .await
        .unwrap();
    assert_eq!(ids(&out[0]), ["alpn_digest_mismatch"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_ca_rules_without_allow_private() {
    let f = fixture().await;
    let domains = file("ok.example.com\nhost.corp.internal\n");
    let mut a = args(&f, domains.path());
    a.allow_private = false;
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    assert_eq!(
        ids(find(&out, "ok.example.com", Method::Http01)),
        ["dns_reserved_address"]
    );
    assert_eq!(
        ids(find(&out, "host.corp.internal", Method::Http01)),
        ["ident_not_public"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_address_that_answers_wrong_fails() {
    if !support::have_ipv6_loopback() {
        eprintln!("skipped: no [::1]");
        return;
    }
    // ok.example.com has A 127.0.0.21 (right answer) and, here, AAAA ::1 answering 404.
    let l6 = TcpListener::bind("[::1]:0").await.unwrap();
    let port = l6.local_addr().unwrap().port();
    let l4 = match TcpListener::bind(("127.0.0.41", port)).await {
        Ok(l) => l,
        Err(_) => return,
    };
    let _t6 = http_on(l6, not_found).await;
    let _t4 = http_on(l4, challenge_ok).await;
    let dns_addr: SocketAddr = "127.0.0.51:0".parse().unwrap();
    let udp = UdpSocket::bind(dns_addr).await.unwrap();
    let dns_addr = udp.local_addr().unwrap();
    let zones = [
        Zone {
            origin: "net.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "example.net.",
            serial: 1,
            records: vec![
                a("dual.example.net.", [127, 0, 0, 41]),
                rec(
                    "dual.example.net.",
                    RData::AAAA(AAAA(std::net::Ipv6Addr::LOCALHOST)),
                ),
            ],
        },
    ];
    let mut dns = hickory_server::Server::new(catalog(&zones).await);
    dns.register_socket(udp);
    let domains = file(&format!(
        "domain,token,expected\ndual.example.net,tok,{KEY_AUTH}\n"
    ));
    let mut a = args(&Fixture::http_only(port), domains.path());
    a.resolver = Some(dns_addr.to_string());
    a.ca_domain.clear();
    let (_, out) = certsweep::dcv_command::check_all(&a, true).await.unwrap();
    let o = &out[0];
    assert_eq!(o.addresses, ["::1", "127.0.0.41"]);
    assert_eq!(ids(o), ["http_unexpected_status"], "{o:#?}");
    assert!(o.checks[0].message.starts_with("[::1]"), "{o:#?}");
    assert!(o.checks.iter().any(|c| c.id == "http_ip_discrepancy"));
    assert_eq!(o.verdict, Verdict::NotReady);
    drop(dns);
}

#[test]
fn cli_exit_code_and_csv_columns() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(fixture());
    let domains = file(&format!(
        "domain,token,expected\nok.example.com,tok,{KEY_AUTH}\nmissing.example.com,tok,{KEY_AUTH}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("dcv.csv");
    let jsonl = dir.path().join("dcv.jsonl");
    let junit = dir.path().join("dcv.xml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args(["dcv", "--domains"])
        .arg(domains.path())
        .args(["--resolver", &format!("127.0.0.11:{}", f.ns_port)])
        .args([
            "--http-port",
            &f.http_port.to_string(),
            "--ns-port",
            &f.ns_port.to_string(),
        ])
        .args([
            "--allow-private",
            "--ca-domain",
            "letsencrypt.org",
            "--report",
        ])
        .arg(&report)
        .arg("--jsonl")
        .arg(&jsonl)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&report).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "domain,method,verdict,failed_checks,reason,warnings,addresses,evidence,caa,checked_at,elapsed_ms,source"
    );
    assert!(csv.contains("ok.example.com,http-01,ready,"), "{csv}");
    assert!(
        csv.contains("missing.example.com,http-01,not_ready,http_unexpected_status,"),
        "{csv}"
    );
    let j = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(j.lines().count(), 2);
    for l in j.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["checks"].is_array());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 ready, 1 not_ready, 0 unknown"),
        "{stderr}"
    );
    // The JUnit report: the domain not ready fails with the blocking check, the ready one
    // passes.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\""),
        "{xml}"
    );
    let case = |name: &str| {
        let at = xml
            .find(&format!("name=\"{name} http-01\""))
            .unwrap_or_else(|| panic!("{name}: {xml}"));
        let end = xml[at..].find("</testcase>").unwrap() + at;
        xml[at..end].to_string()
    };
    assert!(
        case("missing.example.com")
            .contains("<failure message=\"http_unexpected_status\" type=\"not_ready\">"),
        "{xml}"
    );
    assert!(!case("ok.example.com").contains("<failure"), "{xml}");
    drop(f);
}

#[test]
fn an_input_with_no_domain_is_an_input_error() {
    // It used to exit 0 with "0 checked: 0 ready, 0 not_ready".
    for (input, says) in [
        ("# none yet\n", "the input names none"),
        (
            "bad domain\nalso bad\n",
            "2 bad input line(s) and nothing else",
        ),
    ] {
        let f = file(input);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .args(["dcv", "--quiet", "--domains"])
            .arg(f.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input:?}: {stderr}");
        assert!(stderr.contains(says), "{input:?}: {stderr}");
    }
}

#[test]
fn wait_checks_again_while_a_domain_is_not_ready_and_keeps_the_last_answer() {
    // A name no CA accepts stays not ready: checked again until the wait is over, from
    // standard input each time, then exit 1 as the last run said.
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args(["dcv", "--quiet", "--domains", "-", "--wait", "3s"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"bad..example.com\nbad domain\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // At least once more, however slow the machine (a run takes milliseconds here).
    let again = stderr.matches("not ready; running again in").count();
    assert!(again >= 1, "{stderr}");
    // Every run read the domain (kept from standard input): none found the input empty.
    assert!(!stderr.contains("names none"), "{stderr}");
    // And what it says of a bad line names standard input, as without --wait.
    assert!(stderr.contains("skipped -:2"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_exclude_list_holds_is_not_touched_and_left_unknown() {
    let f = fixture().await;
    let domains = file(&format!(
        "domain,method,token,expected\n\
         ok.example.com,http-01,tok,{KEY_AUTH}\n\
         hop.example.com,http-01,tok,{KEY_AUTH}\n\
         missing.example.com,http-01,tok,\n\
         ok.example.com,dns-01,,good-value\n"
    ));
    // Without the list: the redirect to ok.example.com's server finds the file.
    let (_, out) = certsweep::dcv_command::check_all(&args(&f, domains.path()), true)
        .await
        .unwrap();
    let hop = find(&out, "hop.example.com", Method::Http01);
    assert_eq!(hop.verdict, Verdict::Ready, "{hop:#?}");
    // With it: an address on it is not probed, a redirect to it not followed, a name on
    // it not checked; none of them can be told, so none is ready or not.
    let exclude = file("127.0.0.21\nmissing.example.com\n127.0.0.12\n");
    let mut with = args(&f, domains.path());
    with.exclude = vec![exclude.path().to_path_buf()];
    let (summary, out) = certsweep::dcv_command::check_all(&with, true)
        .await
        .unwrap();
    assert_eq!((summary.ready, summary.not_ready), (0, 0));
    let said = |domain: &str| {
        let o = find(&out, domain, Method::Http01);
        assert_eq!(o.verdict, Verdict::Unknown, "{o:#?}");
        let c: Vec<&str> = o
            .checks
            .iter()
            .filter(|c| c.id == "excluded")
            .map(|c| c.message.as_str())
            .collect();
        assert_eq!(c.len(), 1, "{o:#?}");
        c[0].to_string()
    };
    assert_eq!(
        said("ok.example.com"),
        "[127.0.0.21] not probed: the address is on the --exclude list; a CA's validation will reach it"
    );
    assert_eq!(
        said("hop.example.com"),
        format!(
            "[127.0.0.35] not probed: http://ok.example.com/.well-known/acme-challenge/tok (127.0.0.21:{}) is on the --exclude list, so it was not fetched; a CA's validation will reach it",
            f.http_port
        )
    );
    assert_eq!(
        said("missing.example.com"),
        "missing.example.com is on the --exclude list: not checked"
    );
    // A nameserver on it is not asked for the TXT record: what it serves is not known.
    let txt = find(&out, "ok.example.com", Method::Dns01);
    assert_eq!(txt.verdict, Verdict::Unknown, "{txt:#?}");
    let c: Vec<&str> = txt
        .checks
        .iter()
        .filter(|c| c.id == "excluded")
        .map(|c| c.message.as_str())
        .collect();
    assert_eq!(
        c,
        ["nameserver ns2.example.com/127.0.0.12 of zone example.com not asked: it is on the --exclude list; the CA asks it"]
    );
}

/// What a generated chain's server answers at `host/path`: a status and a Location.
type Answers = std::collections::HashMap<String, (u16, Option<String>)>;

/// The generated redirect chains' answers (a handler is a plain function).
static CHAINS: std::sync::LazyLock<std::sync::Mutex<Answers>> =
    std::sync::LazyLock::new(Default::default);

fn chained(host_path: &str) -> (u16, Vec<(&'static str, String)>, String) {
    // The Host header may carry the port.
    let (host, path) = host_path.split_once('/').unwrap_or((host_path, ""));
    let host = host.split(':').next().unwrap_or(host);
    let key = format!("{host}/{path}");
    let answer = CHAINS.lock().unwrap().get(&key).cloned();
    match answer {
        Some((200, _)) => (200, vec![], KEY_AUTH.to_string()),
        Some((status, location)) => (
            status,
            location.map(|l| vec![("location", l)]).unwrap_or_default(),
            String::new(),
        ),
        None => (404, vec![], String::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_redirect_chains_are_followed_as_the_ca_follows_them() {
    // Chains of 0 to 12 redirects across four hosts, now and then with one fault (a status
    // CAs do not follow, no Location, another scheme, another port, a host ending in
    // .well-known, a path over 2000 bytes, a way back to a URL already visited): the
    // outcome must be boulder's, worked out here from its rules (at most 10 redirects;
    // 301, 302, 307, 308 only; http or https; ports 80 and 443; loops refused).
    let (port, listeners) = listeners(&[61, 62, 63, 64]).await;
    let mut tasks = Vec::new();
    for l in listeners {
        tasks.push(http_on(l, chained).await);
    }
    let udp = UdpSocket::bind("127.0.0.65:0").await.unwrap();
    let dns_addr = udp.local_addr().unwrap();
    let mut rng = support::XorShift::new(0x0dc5_7ed1_7ec7_0001u64);
    let mut below = |n: u64| rng.below(n);
    let mut records = Vec::new();
    for h in 0..4u8 {
        records.push(a(&format!("r{h}.example.net."), [127, 0, 0, 61 + h]));
    }
    let mut rows = String::from("domain,token,expected\n");
    // domain → the failing check expected, or none (ready).
    let mut want: Vec<(String, Option<&'static str>)> = Vec::new();
    let mut table = std::collections::HashMap::new();
    for j in 0..48u64 {
        let domain = format!("d{j}.example.net");
        records.push(a(&format!("{domain}."), [127, 0, 0, 61 + (j % 4) as u8]));
        rows.push_str(&format!("{domain},tok,{KEY_AUTH}\n"));
        let start = format!("http://{domain}/.well-known/acme-challenge/tok");
        let hops = below(13);
        // The hop (a redirect) that carries the fault, if any, and which fault.
        let fault = (below(3) == 0 && hops > 0).then(|| (below(hops), below(7)));
        let mut visited = vec![start.clone()];
        let mut url = start;
        let mut outcome = None;
        for i in 0..=hops {
            let key = url.strip_prefix("http://").unwrap_or(&url).to_string();
            if i == hops {
                table.insert(key, (200, None));
                break;
            }
            let next = format!("http://r{}.example.net/j{j}/h{}", below(4), i + 1);
            let (status, location) = match fault.filter(|&(at, _)| at == i) {
                Some((_, 0)) => ([300, 303][below(2) as usize], Some(next.clone())),
                Some((_, 1)) => (302, None),
                Some((_, 2)) => (301, Some(next.replace("http://", "ftp://"))),
                Some((_, 3)) => (
                    302,
                    Some(next.replace(".example.net/", ".example.net:8080/")),
                ),
                Some((_, 4)) => (307, Some(format!("http://x.well-known/j{j}"))),
                Some((_, 5)) => (
                    308,
                    Some(format!("http://r0.example.net/{}", "p".repeat(2001))),
                ),
                Some(_) => (
                    301,
                    Some(visited[below(visited.len() as u64) as usize].clone()),
                ),
                None => ([301, 302, 307, 308][below(4) as usize], Some(next.clone())),
            };
            table.insert(key, (status, location.clone()));
            // boulder's reading of this answer, the i-th redirect (0-based).
            let bad = match (status, &location) {
                (300 | 303, _) | (_, None) => true,
                (_, Some(l)) => {
                    !(l.starts_with("http://") || l.starts_with("https://"))
                        || l.contains(":8080/")
                        || l.contains(".well-known/j")
                        || l.splitn(4, '/').nth(3).map_or(0, |p| p.len() + 1) > 2000
                }
            };
            if bad {
                outcome = Some("http_bad_redirect");
                break;
            }
            if i == 10 {
                outcome = Some("http_too_many_redirects");
                break;
            }
            let l = location.unwrap_or_default();
            if visited.contains(&l) {
                outcome = Some("http_redirect_loop");
                break;
            }
            visited.push(l.clone());
            url = l;
        }
        want.push((domain, outcome));
    }
    CHAINS.lock().unwrap().extend(table);
    let zones = [
        Zone {
            origin: "net.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "example.net.",
            serial: 1,
            records,
        },
    ];
    let mut dns = hickory_server::Server::new(catalog(&zones).await);
    dns.register_socket(udp);
    let domains = file(&rows);
    let mut args = args(&Fixture::http_only(port), domains.path());
    args.resolver = Some(dns_addr.to_string());
    args.ca_domain.clear();
    let (_, out) = certsweep::dcv_command::check_all(&args, true)
        .await
        .unwrap();
    assert_outcomes(&out, &want, Method::Http01);
    drop((dns, tasks));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_txt_records_on_some_nameservers_are_ready_only_on_all() {
    // Three authoritative nameservers of one zone (the first also answering the resolver's
    // questions), each holding a domain's challenge value or not, some beside an old one:
    // ready only when every nameserver has it; not propagated when some have it (whatever
    // the resolver saw: the CA may ask any of them); absent, or another value, when none
    // has it.
    let (port, mut bound, _) = one_port_on(&[81, 82, 83], &[]);
    let mut rng = support::XorShift::new(0x7a7f_e0a0_0ad5_0001u64);
    let mut below = |n: u64| rng.below(n);
    let zone_head = || {
        let mut r = Vec::new();
        for k in 1..=3u8 {
            r.push(rec(
                "example.net.",
                RData::NS(NS(name(&format!("ns{k}.example.net.")))),
            ));
            r.push(a(&format!("ns{k}.example.net."), [127, 0, 0, 80 + k]));
        }
        r
    };
    let mut views = [zone_head(), zone_head(), zone_head()];
    let mut rows = String::from("domain,method,expected\n");
    let mut want: Vec<(String, Option<&'static str>)> = Vec::new();
    for j in 0..40u64 {
        let domain = format!("d{j}.example.net");
        let value = format!("value-{j}");
        let on: Vec<bool> = (0..3).map(|_| below(4) != 0).collect();
        let stale = below(4) == 0;
        for (k, view) in views.iter_mut().enumerate() {
            if on[k] {
                view.push(txt(&format!("_acme-challenge.{domain}."), &value));
            }
            if stale {
                view.push(txt(&format!("_acme-challenge.{domain}."), "old-value"));
            }
        }
        rows.push_str(&format!("{domain},dns-01,{value}\n"));
        let outcome = match (on.iter().any(|x| *x), on.iter().all(|x| *x)) {
            (_, true) => None,
            // On some nameservers: whatever the resolver saw, the CA may ask another.
            (true, false) => Some("txt_not_propagated"),
            // On none: with an old value there, another value is seen.
            (false, _) if stale => Some("txt_wrong"),
            (false, _) => Some("txt_absent"),
        };
        want.push((domain, outcome));
    }
    let mut servers = Vec::new();
    for (k, view) in views.into_iter().enumerate() {
        let mut zones = vec![Zone {
            origin: "example.net.",
            serial: 5,
            records: view,
        }];
        if k == 0 {
            zones.push(Zone {
                origin: "net.",
                serial: 1,
                records: vec![],
            });
        }
        let (udp, tcp) = bound.remove(0);
        servers.push(dns_serving(udp, tcp, &zones).await);
    }
    let domains = file(&rows);
    let mut args = args(&Fixture::resolver_only(port), domains.path());
    args.resolver = Some(format!("127.0.0.81:{port}"));
    args.ca_domain.clear();
    let (_, out) = certsweep::dcv_command::check_all(&args, true)
        .await
        .unwrap();
    assert_outcomes(&out, &want, Method::Dns01);
    drop(servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_caa_trees_are_climbed_to_the_first_set_as_the_ca_climbs() {
    // Names one to three labels under example.net, CAA sets here and there on the way up
    // (this CA's, another's, none allowed), for the name or its wildcard: the set that
    // speaks is the first one found climbing from the name to the zone, and it allows
    // this CA or forbids it (the DNS-01 value is in place everywhere, so CAA alone
    // decides).
    let ip = |h: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 0, h));
    let (udp, tcp) = udp_and_tcp(ip(91));
    let port = udp.local_addr().unwrap().port();
    let mut rng = support::XorShift::new(0xcaa7_1ee5_0000_0001u64);
    let mut below = |n: u64| rng.below(n);
    const LABELS: [&str; 3] = ["a", "b", "c"];
    const SETS: [&str; 4] = ["letsencrypt.org", "otherca.example", ";", ""];
    let mut records = vec![
        rec("example.net.", RData::NS(NS(name("ns1.example.net.")))),
        a("ns1.example.net.", [127, 0, 0, 91]),
    ];
    // The CAA `issue` value at each name given one (an empty one: no CAA there).
    let mut caa_at: std::collections::HashMap<String, &str> = Default::default();
    let mut rows = String::from("domain,method,expected\n");
    let mut want = Vec::new();
    for j in 0..40u64 {
        let depth = 1 + below(3) as usize;
        let mut labels: Vec<String> = (0..depth)
            .map(|_| LABELS[below(3) as usize].to_string())
            .collect();
        labels.insert(0, format!("d{j}"));
        // `d7.b.a.example.net`: d7 under b under a.
        let fqdn = format!("{}.example.net", labels.join("."));
        // Sets on the way up, decided once per name (names are shared between domains).
        let mut up = fqdn.clone();
        loop {
            caa_at
                .entry(up.clone())
                .or_insert_with(|| SETS[below(SETS.len() as u64) as usize]);
            if up == "example.net" {
                break;
            }
            up = up
                .split_once('.')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default();
        }
        let wildcard = below(4) == 0;
        let domain = if wildcard {
            format!("*.{fqdn}")
        } else {
            fqdn.clone()
        };
        records.push(txt(&format!("_acme-challenge.{fqdn}."), &format!("v{j}")));
        rows.push_str(&format!("{domain},dns-01,v{j}\n"));
        // The first name with a set, climbing; its `issue` value allows letsencrypt.org only
        // when it names it.
        let mut up = fqdn.clone();
        let allowed = loop {
            match caa_at.get(&up).copied() {
                Some(v) if !v.is_empty() => break v == "letsencrypt.org",
                _ if up == "example.net" => break true,
                _ => {
                    up = up
                        .split_once('.')
                        .map(|(_, r)| r.to_string())
                        .unwrap_or_default();
                }
            }
        };
        want.push((domain, allowed));
    }
    for (at, value) in &caa_at {
        if !value.is_empty() {
            records.push(caa(&format!("{at}."), 0, "issue", value));
        }
    }
    let zones = [
        Zone {
            origin: "net.",
            serial: 1,
            records: vec![],
        },
        Zone {
            origin: "example.net.",
            serial: 3,
            records,
        },
    ];
    let server = dns_serving(udp, tcp, &zones).await;
    let domains = file(&rows);
    let mut args = args(&Fixture::resolver_only(port), domains.path());
    args.resolver = Some(format!("127.0.0.91:{port}"));
    let (_, out) = certsweep::dcv_command::check_all(&args, true)
        .await
        .unwrap();
    for (domain, allowed) in &want {
        let o = find(&out, domain, Method::Dns01);
        let failed = ids(o);
        if *allowed {
            assert_eq!(o.verdict, Verdict::Ready, "{domain}: {o:#?}");
        } else {
            assert!(
                o.verdict == Verdict::NotReady && failed.contains(&"caa_forbids_ca"),
                "{domain}: want caa_forbids_ca, got {failed:?}: {o:#?}"
            );
        }
    }
    drop(server);
}
