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

/// Runs the demo: starts the fleet, writes `report.csv` and `records.csv` to `--out`.
pub async fn run_demo(args: DemoArgs) -> Result<u8, Error> {
    if std::fs::metadata(&args.out).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::Usage(format!(
            "--out {} is a file: name a directory (report.csv and records.csv are written into it)",
            args.out.display()
        )));
    }
    let pki = Pki::new("certsweep Demo").map_err(rt)?;
    let now = OffsetDateTime::now_utc();
    let ago = |d: i64| now - time::Duration::days(d);
    let issue = |names: &[&str], serial: u64, days_ago: i64, days_left: i64, chain: ChainKind| {
        pki.issue(&LeafSpec::new(names, serial, days_ago, days_left).with_chain(chain))
            .map_err(rt)
    };
    let full = ChainKind::Full;
    let www = issue(&["www.acme.example"], 0x1001, 60, 305, full)?;
    let api_old = issue(&["api.acme.example"], 0x0901, 350, 15, full)?;
    let api_new = issue(&["api.acme.example"], 0x1101, 10, 355, full)?;
    let shop_old = issue(&["shop.acme.example"], 0x0902, 300, 65, full)?;
    let shop_new = issue(&["shop.acme.example"], 0x1102, 5, 360, full)?;
    // Behind one address, a load balancer in TCP mode before three nodes; the third kept
    // the old certificate, which only some connections see.
    let app_old = issue(&["app.acme.example"], 0x0903, 330, 35, full)?;
    let app_new = issue(&["app.acme.example"], 0x1103, 9, 356, full)?;
    let legacy = issue(&["legacy.acme.example"], 0x0501, 400, -5, full)?;
    let mail = issue(&["mail.acme.example"], 0x0801, 353, 12, full)?;
    let vpn = issue(&["vpn.acme.example"], 0x0950, 100, 265, full)?;
    // Issued according to the records, but the CA revoked it three days ago (a key
    // compromise reported to the CA): the server staples the CA's word.
    let mut sso = issue(&["sso.acme.example"], 0x1007, 50, 315, full)?;
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
    let intranet = issue(&["intranet.acme.example"], 0x7777, 30, 335, full)?;
    let checkout = issue(&["checkout.acme.example"], 0x1004, 20, 345, full)?;
    let pay = issue(&["pay.acme.example"], 0x1003, 20, 345, full)?;
    let blog = issue(&["blog.acme.example"], 0x1005, 40, 325, ChainKind::LeafOnly)?;
    let status_cert = issue(&["status.acme.example"], 0x1006, 40, 325, full)?;
    let cdn_old = issue(&["cdn.acme.example"], 0x0700, 90, 275, full)?;
    let cdn_re = issue(&["cdn.acme.example"], 0x0701, 30, 275, full)?;
    let new_old = issue(&["new.acme.example"], 0x0990, 360, 5, full)?;
    // A three-level hierarchy whose policy CA ends in 45 days, under a leaf valid 300 more:
    // current, but its chain breaks long before its renewal is due.
    let group = Pki::three_level("certsweep Demo Group", 45).map_err(rt)?;
    let portal = group
        .issue(&LeafSpec::new(&["portal.acme.example"], 0x1008, 20, 300))
        .map_err(rt)?;
    // One certificate per key type on one server, the RSA one renewed later.
    let edge_ec = issue(&["edge.acme.example"], 0x0601, 45, 320, full)?;
    let edge_rsa = pki
        .issue(&LeafSpec::new(&["edge.acme.example"], 0x1201, 20, 345).with_rsa())
        .map_err(rt)?;
    let new_new = pki
        .issue(&LeafSpec {
            not_before: now - time::Duration::hours(2),
            ..LeafSpec::new(&["new.acme.example"], 0x1199, 0, 365)
        })
        .map_err(rt)?;

    let orders = [
        Order {
            order: "ORD-1001",
            domain: "www.acme.example",
            leaf: Some(&www),
            status: "Certificate Downloaded",
            ordered: ago(60),
        },
        Order {
            order: "ORD-0901",
            domain: "api.acme.example",
            leaf: Some(&api_old),
            status: "Certificate Downloaded",
            ordered: ago(350),
        },
        Order {
            order: "ORD-1101",
            domain: "api.acme.example",
            leaf: Some(&api_new),
            status: "Certificate Generated",
            ordered: ago(10),
        },
        Order {
            order: "ORD-0902",
            domain: "shop.acme.example",
            leaf: Some(&shop_old),
            status: "Certificate Downloaded",
            ordered: ago(300),
        },
        Order {
            order: "ORD-1102",
            domain: "shop.acme.example",
            leaf: Some(&shop_new),
            status: "Certificate Downloaded",
            ordered: ago(5),
        },
        Order {
            order: "ORD-0903",
            domain: "app.acme.example",
            leaf: Some(&app_old),
            status: "Certificate Downloaded",
            ordered: ago(330),
        },
        Order {
            order: "ORD-1103",
            domain: "app.acme.example",
            leaf: Some(&app_new),
            status: "Certificate Downloaded",
            ordered: ago(9),
        },
        Order {
            order: "ORD-0501",
            domain: "legacy.acme.example",
            leaf: Some(&legacy),
            status: "Certificate Expired",
            ordered: ago(400),
        },
        Order {
            order: "ORD-0801",
            domain: "mail.acme.example",
            leaf: Some(&mail),
            status: "Certificate Downloaded",
            ordered: ago(353),
        },
        Order {
            order: "ORD-0950",
            domain: "vpn.acme.example",
            leaf: Some(&vpn),
            status: "Certificate Revoked",
            ordered: ago(100),
        },
        Order {
            order: "ORD-1007",
            domain: "sso.acme.example",
            leaf: Some(&sso),
            status: "Certificate Downloaded",
            ordered: ago(50),
        },
        Order {
            order: "ORD-1003",
            domain: "pay.acme.example",
            leaf: Some(&pay),
            status: "Certificate Downloaded",
            ordered: ago(20),
        },
        Order {
            order: "ORD-1004",
            domain: "checkout.acme.example",
            leaf: Some(&checkout),
            status: "Certificate Downloaded",
            ordered: ago(20),
        },
        Order {
            order: "ORD-1005",
            domain: "blog.acme.example",
            leaf: Some(&blog),
            status: "Certificate Downloaded",
            ordered: ago(40),
        },
        Order {
            order: "ORD-1006",
            domain: "status.acme.example",
            leaf: Some(&status_cert),
            status: "Certificate Downloaded",
            ordered: ago(40),
        },
        Order {
            order: "ORD-0700",
            domain: "cdn.acme.example",
            leaf: Some(&cdn_old),
            status: "Certificate Downloaded",
            ordered: ago(90),
        },
        Order {
            order: "ORD-0700R001",
            domain: "cdn.acme.example",
            leaf: Some(&cdn_re),
            status: "Certificate Downloaded",
            ordered: ago(30),
        },
        Order {
            order: "ORD-0601",
            domain: "edge.acme.example",
            leaf: Some(&edge_ec),
            status: "Certificate Downloaded",
            ordered: ago(45),
        },
        Order {
            order: "ORD-1201",
            domain: "edge.acme.example",
            leaf: Some(&edge_rsa),
            status: "Certificate Downloaded",
            ordered: ago(20),
        },
        Order {
            order: "ORD-1008",
            domain: "portal.acme.example",
            leaf: Some(&portal),
            status: "Certificate Downloaded",
            ordered: ago(20),
        },
        Order {
            order: "ORD-0990",
            domain: "new.acme.example",
            leaf: Some(&new_old),
            status: "Certificate Downloaded",
            ordered: ago(360),
        },
        Order {
            order: "ORD-1199",
            domain: "new.acme.example",
            leaf: Some(&new_new),
            status: "Certificate Generated",
            ordered: now - time::Duration::hours(2),
        },
        Order {
            order: "",
            domain: "beta.acme.example",
            leaf: None,
            status: "Pending for Approver",
            ordered: ago(1),
        },
        Order {
            order: "ORD-1010",
            domain: "old-promo.acme.example",
            leaf: None,
            status: "Rejected due to Order Cancellation",
            ordered: ago(3),
        },
    ];
    let report = serde_json::json!({
        "content": orders.iter().map(order_json).collect::<Vec<_>>(),
        "page": 1, "size": 100, "totalElements": orders.len(), "totalPages": 1
    });

    let lo: IpAddr = IpAddr::from([127, 0, 0, 1]);
    let any = SocketAddr::new(lo, 0);
    let mut servers: Vec<Server> = Vec::new();
    let mut targets = String::from("host,ip,port,starttls\n");
    targets += &serve("www.acme.example", &www, any, &mut servers).await?;
    targets += &serve("api.acme.example", &api_old, any, &mut servers).await?;
    let shop1 = fleet::serve_tls(any, &shop_new, &[], None)
        .await
        .map_err(rt)?;
    let shop_port = shop1.addr.port();
    targets += &row("shop.acme.example", shop1, "", &mut servers);
    // The second load-balancer member: same name and port, another address, old file.
    let member2 = SocketAddr::new(IpAddr::from([127, 0, 0, 2]), shop_port);
    targets += &serve("shop.acme.example", &shop_old, member2, &mut servers).await?;
    // Connections reach the nodes in turn: the first two get the renewal, the third (one
    // of --samples 3) the old file.
    let app = fleet::serve_tls_round_robin(any, &[Some(&app_new), Some(&app_new), Some(&app_old)])
        .await
        .map_err(rt)?;
    targets += &row("app.acme.example", app, "", &mut servers);
    targets += &serve("legacy.acme.example", &legacy, any, &mut servers).await?;
    // A mail server: its certificate comes after SMTP's STARTTLS.
    let smtp = fleet::serve_smtp(any, "mail.acme.example", &mail)
        .await
        .map_err(rt)?;
    targets += &row("mail.acme.example", smtp, "smtp", &mut servers);
    targets += &serve("vpn.acme.example", &vpn, any, &mut servers).await?;
    targets += &serve("sso.acme.example", &sso, any, &mut servers).await?;
    targets += &serve("intranet.acme.example", &intranet, any, &mut servers).await?;
    targets += &serve("pay.acme.example", &checkout, any, &mut servers).await?;
    targets += &serve("blog.acme.example", &blog, any, &mut servers).await?;
    targets += &serve("cdn.acme.example", &cdn_re, any, &mut servers).await?;
    targets += &serve("new.acme.example", &new_old, any, &mut servers).await?;
    targets += &serve("portal.acme.example", &portal, any, &mut servers).await?;
    let edge = fleet::serve_tls_key_types(any, &[&edge_ec, &edge_rsa])
        .await
        .map_err(rt)?;
    targets += &row("edge.acme.example", edge, "", &mut servers);
    let refused = fleet::refused_addr(lo).await.map_err(rt)?;
    targets += &format!("status.acme.example,{},{},\n", refused.ip(), refused.port());

    let work = tempfile::tempdir().map_err(rt)?;
    let inv = work.path().join("certinext-orders.json");
    let tgt = work.path().join("targets.csv");
    let ca = work.path().join("demo-root.pem");
    let write = |p: &std::path::Path, s: &str| std::fs::write(p, s).map_err(rt);
    write(&inv, &serde_json::to_string_pretty(&report).map_err(rt)?)?;
    write(&tgt, &targets)?;
    write(&ca, &(pki.root_pem() + &group.root_pem()))?;
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

    println!(
        "{:<24} {:<22} {:<21} {:<18} {:<18} also",
        "host", "endpoint", "status", "serial", "expected"
    );
    for v in &outcome.verdicts {
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
