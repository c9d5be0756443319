//! `certsweep demo`: a fleet on loopback with a CERTInext orders report, swept by the real
//! engine and judged by the real verdict code, through the same path as `scan --inventory`.

use crate::cli::{Cli, Command, DemoArgs};
use crate::fleet::{self, ChainKind, Leaf, LeafSpec, Pki, Server};
use crate::Error;
use clap::Parser;
use std::net::{IpAddr, SocketAddr};
use time::OffsetDateTime;

fn ymdhms(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(&f).unwrap_or_default()
}

struct Order<'a> {
    order: &'a str,
    domain: &'a str,
    leaf: Option<&'a Leaf>,
    status: &'a str,
    ordered: OffsetDateTime,
}

fn order_json(o: &Order<'_>) -> serde_json::Value {
    serde_json::json!({
        "orderNumber": o.order,
        // A draft order has a request number only (CERTInext leaves orderNumber empty).
        "requestNumber": match o.order {
            "" => "REQ-2001".to_string(),
            order => format!("REQ-{}", order.trim_start_matches("ORD-")),
        },
        "domainName": o.domain,
        "certificateSerialNumber": o.leaf.map(|l| l.serial_dec.clone()).unwrap_or_default(),
        "certificateExpiryDate": o.leaf.map(|l| ymdhms(l.not_after)).unwrap_or_default(),
        "certificateStatus": o.status,
        "orderStatus": if o.leaf.is_some() { "Order Fulfilled" } else { "Order Accepted" },
        "issuerCA": o
            .leaf
            .and_then(|l| crate::cert::cert_info(&l.chain[0]).ok())
            .and_then(|c| c.issuer_cn)
            .unwrap_or_else(|| "certsweep Demo Issuing CA 1".into()),
        "orderDate": ymdhms(o.ordered),
        "groupNumber": "GRP-100",
        "productCode": "SSL-DV",
        "tags": ["demo"]
    })
}

/// Starts one endpoint serving `leaf` and returns its target row (`host,ip,port,starttls`).
async fn serve(
    name: &str,
    leaf: &Leaf,
    bind: SocketAddr,
    servers: &mut Vec<Server>,
) -> Result<String, Error> {
    let s = fleet::serve_tls(bind, leaf, &[], None).await.map_err(rt)?;
    Ok(row(name, s, "", servers))
}

/// The target row of `name` at `server`'s address, the server kept running.
fn row(name: &str, server: Server, starttls: &str, servers: &mut Vec<Server>) -> String {
    let line = format!(
        "{name},{},{},{starttls}\n",
        server.addr.ip(),
        server.addr.port()
    );
    servers.push(server);
    line
}

fn rt(e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("demo fleet: {e}"))
}

/// The demo's certificates: one PKI for most, a three-level one for the portal.
struct Certs {
    pki: Pki,
    group: Pki,
    www: Leaf,
    api_old: Leaf,
    api_new: Leaf,
    shop_old: Leaf,
    shop_new: Leaf,
    app_old: Leaf,
    app_new: Leaf,
    legacy: Leaf,
    mail: Leaf,
    vpn: Leaf,
    sso: Leaf,
    intranet: Leaf,
    checkout: Leaf,
    pay: Leaf,
    blog: Leaf,
    status: Leaf,
    cdn_old: Leaf,
    cdn_re: Leaf,
    new_old: Leaf,
    new_new: Leaf,
    portal: Leaf,
    edge_ec: Leaf,
    edge_rsa: Leaf,
}

impl Certs {
    /// Issues them, dated from `now`.
    fn issue(now: OffsetDateTime) -> Result<Self, Error> {
        let pki = Pki::new("certsweep Demo").map_err(rt)?;
        let issue = |names: &[&str], serial: u64, days_ago: i64, days_left: i64| {
            pki.issue(&LeafSpec::new(names, serial, days_ago, days_left))
                .map_err(rt)
        };
        // Issued according to the records, but the CA revoked it three days ago (a key
        // compromise reported to the CA): the server staples the CA's word.
        let mut sso = issue(&["sso.acme.example"], 0x1007, 50, 315)?;
        let now_unix = now.unix_timestamp();
        sso.ocsp = Some(
            pki.staple(
                &sso,
                fleet::StapleSays::Revoked(now_unix - 3 * 86_400),
                now_unix - 3_600,
                now_unix + 3 * 86_400,
            )
            .map_err(rt)?,
        );
        // A three-level hierarchy whose policy CA ends in 45 days, under a leaf valid 300
        // more: current, but its chain breaks long before its renewal is due.
        let group = Pki::three_level("certsweep Demo Group", 45).map_err(rt)?;
        let portal = group
            .issue(&LeafSpec::new(&["portal.acme.example"], 0x1008, 20, 300))
            .map_err(rt)?;
        Ok(Certs {
            www: issue(&["www.acme.example"], 0x1001, 60, 305)?,
            api_old: issue(&["api.acme.example"], 0x0901, 350, 15)?,
            api_new: issue(&["api.acme.example"], 0x1101, 10, 355)?,
            shop_old: issue(&["shop.acme.example"], 0x0902, 300, 65)?,
            shop_new: issue(&["shop.acme.example"], 0x1102, 5, 360)?,
            // Behind one address, a load balancer in TCP mode before three nodes; the third
            // kept the old certificate, which only some connections see.
            app_old: issue(&["app.acme.example"], 0x0903, 330, 35)?,
            app_new: issue(&["app.acme.example"], 0x1103, 9, 356)?,
            legacy: issue(&["legacy.acme.example"], 0x0501, 400, -5)?,
            mail: issue(&["mail.acme.example"], 0x0801, 353, 12)?,
            vpn: issue(&["vpn.acme.example"], 0x0950, 100, 265)?,
            sso,
            intranet: issue(&["intranet.acme.example"], 0x7777, 30, 335)?,
            checkout: issue(&["checkout.acme.example"], 0x1004, 20, 345)?,
            pay: issue(&["pay.acme.example"], 0x1003, 20, 345)?,
            blog: pki
                .issue(
                    &LeafSpec::new(&["blog.acme.example"], 0x1005, 40, 325)
                        .with_chain(ChainKind::LeafOnly),
                )
                .map_err(rt)?,
            status: issue(&["status.acme.example"], 0x1006, 40, 325)?,
            cdn_old: issue(&["cdn.acme.example"], 0x0700, 90, 275)?,
            cdn_re: issue(&["cdn.acme.example"], 0x0701, 30, 275)?,
            new_old: issue(&["new.acme.example"], 0x0990, 360, 5)?,
            // Renewed two hours ago: within the grace period.
            new_new: pki
                .issue(&LeafSpec {
                    not_before: now - time::Duration::hours(2),
                    ..LeafSpec::new(&["new.acme.example"], 0x1199, 0, 365)
                })
                .map_err(rt)?,
            portal,
            // One certificate per key type on one server, the RSA one renewed later.
            edge_ec: issue(&["edge.acme.example"], 0x0601, 45, 320)?,
            edge_rsa: pki
                .issue(&LeafSpec::new(&["edge.acme.example"], 0x1201, 20, 345).with_rsa())
                .map_err(rt)?,
            group,
            pki,
        })
    }

    /// The CERTInext orders report of them, as of `now`.
    fn orders(&self, now: OffsetDateTime) -> Vec<Order<'_>> {
        const DOWNLOADED: &str = "Certificate Downloaded";
        let o = |order, domain, leaf, status, days_ago: i64| Order {
            order,
            domain,
            leaf,
            status,
            ordered: now - time::Duration::days(days_ago),
        };
        let c = self;
        let mut orders = vec![
            o("ORD-1001", "www.acme.example", Some(&c.www), DOWNLOADED, 60),
            o(
                "ORD-0901",
                "api.acme.example",
                Some(&c.api_old),
                DOWNLOADED,
                350,
            ),
            o(
                "ORD-1101",
                "api.acme.example",
                Some(&c.api_new),
                "Certificate Generated",
                10,
            ),
            o(
                "ORD-0902",
                "shop.acme.example",
                Some(&c.shop_old),
                DOWNLOADED,
                300,
            ),
            o(
                "ORD-1102",
                "shop.acme.example",
                Some(&c.shop_new),
                DOWNLOADED,
                5,
            ),
            o(
                "ORD-0903",
                "app.acme.example",
                Some(&c.app_old),
                DOWNLOADED,
                330,
            ),
            o(
                "ORD-1103",
                "app.acme.example",
                Some(&c.app_new),
                DOWNLOADED,
                9,
            ),
            o(
                "ORD-0501",
                "legacy.acme.example",
                Some(&c.legacy),
                "Certificate Expired",
                400,
            ),
            o(
                "ORD-0801",
                "mail.acme.example",
                Some(&c.mail),
                DOWNLOADED,
                353,
            ),
            o(
                "ORD-0950",
                "vpn.acme.example",
                Some(&c.vpn),
                "Certificate Revoked",
                100,
            ),
            o("ORD-1007", "sso.acme.example", Some(&c.sso), DOWNLOADED, 50),
            o("ORD-1003", "pay.acme.example", Some(&c.pay), DOWNLOADED, 20),
            o(
                "ORD-1004",
                "checkout.acme.example",
                Some(&c.checkout),
                DOWNLOADED,
                20,
            ),
            o(
                "ORD-1005",
                "blog.acme.example",
                Some(&c.blog),
                DOWNLOADED,
                40,
            ),
            o(
                "ORD-1006",
                "status.acme.example",
                Some(&c.status),
                DOWNLOADED,
                40,
            ),
            o(
                "ORD-0700",
                "cdn.acme.example",
                Some(&c.cdn_old),
                DOWNLOADED,
                90,
            ),
            o(
                "ORD-0700R001",
                "cdn.acme.example",
                Some(&c.cdn_re),
                DOWNLOADED,
                30,
            ),
            o(
                "ORD-0601",
                "edge.acme.example",
                Some(&c.edge_ec),
                DOWNLOADED,
                45,
            ),
            o(
                "ORD-1201",
                "edge.acme.example",
                Some(&c.edge_rsa),
                DOWNLOADED,
                20,
            ),
            o(
                "ORD-1008",
                "portal.acme.example",
                Some(&c.portal),
                DOWNLOADED,
                20,
            ),
            o(
                "ORD-0990",
                "new.acme.example",
                Some(&c.new_old),
                DOWNLOADED,
                360,
            ),
        ];
        orders.push(Order {
            ordered: now - time::Duration::hours(2),
            ..o(
                "ORD-1199",
                "new.acme.example",
                Some(&c.new_new),
                "Certificate Generated",
                0,
            )
        });
        orders.push(o("", "beta.acme.example", None, "Pending for Approver", 1));
        orders.push(o(
            "ORD-1010",
            "old-promo.acme.example",
            None,
            "Rejected due to Order Cancellation",
            3,
        ));
        orders
    }

    /// Starts the fleet on loopback; its target list (`host,ip,port,starttls`), and the
    /// servers and the refused port, which stop when dropped.
    async fn serve(&self) -> Result<(String, (Vec<Server>, fleet::Refused)), Error> {
        let c = self;
        let lo: IpAddr = IpAddr::from([127, 0, 0, 1]);
        let any = SocketAddr::new(lo, 0);
        let mut servers: Vec<Server> = Vec::new();
        let mut targets = String::from("host,ip,port,starttls\n");
        targets += &serve("www.acme.example", &c.www, any, &mut servers).await?;
        targets += &serve("api.acme.example", &c.api_old, any, &mut servers).await?;
        let shop1 = fleet::serve_tls(any, &c.shop_new, &[], None)
            .await
            .map_err(rt)?;
        let shop_port = shop1.addr.port();
        targets += &row("shop.acme.example", shop1, "", &mut servers);
        // The second load-balancer member: same name and port, another address, old file.
        let member2 = SocketAddr::new(IpAddr::from([127, 0, 0, 2]), shop_port);
        targets += &serve("shop.acme.example", &c.shop_old, member2, &mut servers).await?;
        // Connections reach the nodes in turn: the first two get the renewal, the third
        // (one of --samples 3) the old file.
        let nodes = [Some(&c.app_new), Some(&c.app_new), Some(&c.app_old)];
        let app = fleet::serve_tls_round_robin(any, &nodes)
            .await
            .map_err(rt)?;
        targets += &row("app.acme.example", app, "", &mut servers);
        targets += &serve("legacy.acme.example", &c.legacy, any, &mut servers).await?;
        // A mail server: its certificate comes after SMTP's STARTTLS.
        let smtp = fleet::serve_smtp(any, "mail.acme.example", &c.mail)
            .await
            .map_err(rt)?;
        targets += &row("mail.acme.example", smtp, "smtp", &mut servers);
        for (name, leaf) in [
            ("vpn.acme.example", &c.vpn),
            ("sso.acme.example", &c.sso),
            ("intranet.acme.example", &c.intranet),
            // The certificate of another name: hostname_mismatch.
            ("pay.acme.example", &c.checkout),
            ("blog.acme.example", &c.blog),
            ("cdn.acme.example", &c.cdn_re),
            ("new.acme.example", &c.new_old),
            ("portal.acme.example", &c.portal),
        ] {
            targets += &serve(name, leaf, any, &mut servers).await?;
        }
        let edge = fleet::serve_tls_key_types(any, &[&c.edge_ec, &c.edge_rsa])
            .await
            .map_err(rt)?;
        targets += &row("edge.acme.example", edge, "", &mut servers);
        let refused = fleet::refused_addr(lo).await.map_err(rt)?;
        targets += &format!(
            "status.acme.example,{},{},\n",
            refused.addr.ip(),
            refused.addr.port()
        );
        Ok((targets, (servers, refused)))
    }
}

/// Runs the demo: starts the fleet, writes `report.csv` and `records.csv` to `--out`.
pub async fn run_demo(args: DemoArgs) -> Result<u8, Error> {
    if std::fs::metadata(&args.out).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::Usage(format!(
            "--out {} is a file: name a directory (report.csv and records.csv are written into it)",
            args.out.display()
        )));
    }
    let now = OffsetDateTime::now_utc();
    let certs = Certs::issue(now)?;
    let orders = certs.orders(now);
    let report = serde_json::json!({
        "content": orders.iter().map(order_json).collect::<Vec<_>>(),
        "page": 1, "size": 100, "totalElements": orders.len(), "totalPages": 1
    });
    let (targets, servers) = certs.serve().await?;

    let work = tempfile::tempdir().map_err(rt)?;
    let inv = work.path().join("certinext-orders.json");
    let tgt = work.path().join("targets.csv");
    let ca = work.path().join("demo-root.pem");
    let write = |p: &std::path::Path, s: &str| std::fs::write(p, s).map_err(rt);
    write(&inv, &serde_json::to_string_pretty(&report).map_err(rt)?)?;
    write(&tgt, &targets)?;
    write(&ca, &(certs.pki.root_pem() + &certs.group.root_pem()))?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::Runtime(format!("--out {}: {e}", args.out.display())))?;
    let report_csv = args.out.join("report.csv");
    let records_csv = args.out.join("records.csv");
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let cli = Cli::parse_from([
        "certsweep".to_string(),
        "scan".into(),
        "--targets".into(),
        s(&tgt),
        "--inventory".into(),
        s(&inv),
        "--ca-file".into(),
        s(&ca),
        "--no-public-roots".into(),
        "--connect-timeout".into(),
        "2s".into(),
        "--handshake-timeout".into(),
        "2s".into(),
        "--samples".into(),
        "3".into(),
        "--report".into(),
        s(&report_csv),
        "--records-report".into(),
        s(&records_csv),
        "--quiet".into(),
    ]);
    let Command::Scan(scan_args) = cli.command else {
        return Err(Error::Runtime("demo: internal argument error".into()));
    };
    let outcome = crate::scan::compare(&scan_args, true).await?;
    drop(servers);
    print_verdicts(&outcome.verdicts);
    if !args.quiet {
        crate::say_part!("{}", outcome.summary_text());
        crate::say!(
            "wrote {} (one row per endpoint, with next_step) and {} (one row per certificate identity)",
            report_csv.display(),
            records_csv.display()
        );
    }
    Ok(0)
}

/// One line per endpoint on stdout: where, its status, the serial served and expected,
/// and what else holds.
fn print_verdicts(verdicts: &[crate::verdict::Verdict]) {
    println!(
        "{:<24} {:<22} {:<21} {:<18} {:<18} also",
        "host", "endpoint", "status", "serial", "expected"
    );
    for v in verdicts {
        let o = &v.observation;
        // What else holds, beside the status (which `findings` repeats).
        let also: Vec<&str> = v
            .findings
            .iter()
            .map(String::as_str)
            .filter(|f| *f != v.status.as_str())
            .collect();
        println!(
            "{:<24} {:<22} {:<21} {:<18} {:<18} {}",
            o.host,
            format!(
                "{}:{}{}",
                o.ip.map(|i| i.to_string()).unwrap_or_default(),
                o.port,
                o.starttls.map(|p| format!(" {p}")).unwrap_or_default()
            ),
            v.status.as_str(),
            o.cert.as_ref().map(|c| c.serial.as_str()).unwrap_or("-"),
            v.expected
                .as_ref()
                .and_then(|e| e.serial.as_deref())
                .unwrap_or("-"),
            also.join(","),
        );
    }
}
