//! Certificates behind a plaintext protocol's way to TLS (STARTTLS and its kin): in-process
//! servers on loopback speak each protocol's side of the dialogue, then TLS.

mod support;

use certsweep::fleet::{self, LeafSpec, Pki};
use certsweep::model::{ErrorClass, Finding, Observation, Starttls};
use std::net::SocketAddr;
use std::sync::Arc;
use support::sweeping::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How a test server behaves before TLS.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Smtp,
    /// EHLO's answer lists no STARTTLS.
    SmtpWithoutStarttls,
    /// STARTTLS answered 454.
    SmtpRefusing,
    /// Sends a line more after agreeing, before the handshake.
    SmtpInjecting,
    Imap,
    /// Authenticated before TLS: STARTTLS is not allowed.
    ImapPreauth,
    Pop3,
    Ftp,
    Ldap,
    /// StartTLS refused with protocolError.
    LdapRefusing,
    /// Serves `xmpp.test` only: a stream to any other name gets host-unknown.
    Xmpp,
    /// The same for servers: `s2s.test` on a `jabber:server` stream.
    XmppServer,
    Lmtp,
    Nntp,
    /// A mode-switching server (INN's innd): STARTTLS only after MODE READER.
    NntpTransit,
    Sieve,
    Postgres,
    /// ssl = off: SSLRequest answered "N".
    PostgresWithoutSsl,
    Mysql,
    /// A greeting without the CLIENT_SSL capability.
    MysqlWithoutSsl,
    /// The scanner's host is not in the grants: an ERR packet instead of a greeting.
    MysqlBlocking,
    /// Chooses CredSSP (NLA), which starts with TLS as plain TLS does.
    Rdp,
    /// Standard RDP security only: RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER.
    RdpRefusing,
    /// Chooses standard RDP security (protocol 0), as xrdp with security_layer=rdp does.
    RdpStandard,
}

/// A MySQL 8 initial handshake packet, with or without the CLIENT_SSL capability.
fn mysql_greeting(ssl: bool) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"8.0.36\0");
    p.extend_from_slice(&7u32.to_le_bytes()); // connection id
    p.extend_from_slice(b"abcdefgh\0"); // scramble, filler
    let caps: u32 = 0x0008_a20f | if ssl { 0x0800 } else { 0 };
    p.extend_from_slice(&caps.to_le_bytes()[..2]);
    p.push(0xff); // character set
    p.extend_from_slice(&2u16.to_le_bytes()); // status
    p.extend_from_slice(&caps.to_le_bytes()[2..]);
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    let mut packet = (p.len() as u32).to_le_bytes()[..3].to_vec();
    packet.push(0);
    packet.extend(p);
    packet
}

/// TPKT, X.224 Connection Confirm, then an RDP negotiation answer of `kind` (2 response,
/// 3 failure) carrying `value`.
fn rdp_confirm(kind: u8, value: u32) -> Vec<u8> {
    let mut p = vec![
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00,
    ];
    p.extend_from_slice(&[kind, 0x00, 0x08, 0x00]);
    p.extend_from_slice(&value.to_le_bytes());
    p
}

/// RFC 4511 ExtendedResponse { resultCode, matchedDN "", diagnosticMessage } in message 1.
fn ldap_response(code: u8, diagnostic: &[u8]) -> Vec<u8> {
    let mut op = vec![0x0a, 0x01, code, 0x04, 0x00, 0x04, diagnostic.len() as u8];
    op.extend_from_slice(diagnostic);
    let mut content = vec![0x02, 0x01, 0x01, 0x78, op.len() as u8];
    content.extend(op);
    let mut message = vec![0x30, content.len() as u8];
    message.extend(content);
    message
}

/// The server's side of the dialogue; `Some` when TLS is to follow.
async fn dialogue(kind: Kind, tcp: TcpStream) -> std::io::Result<Option<TcpStream>> {
    let mut s = BufReader::new(tcp);
    let mut line = String::new();
    macro_rules! say {
        ($text:expr) => {
            s.get_mut().write_all($text.as_ref()).await?
        };
    }
    macro_rules! hear {
        () => {{
            line.clear();
            s.read_line(&mut line).await?;
            line.trim_end().to_string()
        }};
    }
    match kind {
        Kind::Lmtp => {
            say!("220 lmtp.test LMTP ready\r\n");
            assert!(hear!().starts_with("LHLO "));
            say!("250-lmtp.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
            assert_eq!(hear!(), "STARTTLS");
            say!("220 2.0.0 go ahead\r\n");
        }
        Kind::Nntp => {
            say!("200 news.test InterNetNews server ready\r\n");
            assert_eq!(hear!(), "STARTTLS");
            say!("382 Continue with TLS negotiation\r\n");
        }
        Kind::NntpTransit => {
            // As INN 2.7 answers a peer listed in incoming.conf.
            say!("200 news.test InterNetNews server INN 2.7.1 ready (transit mode)\r\n");
            assert_eq!(hear!(), "STARTTLS");
            say!("401 MODE-READER\r\n");
            assert_eq!(hear!(), "MODE READER");
            say!("200 news.test InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n");
            assert_eq!(hear!(), "STARTTLS");
            say!("382 Continue with TLS negotiation\r\n");
        }
        Kind::Sieve => {
            say!(concat!(
                "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n",
                "\"SIEVE\" \"fileinto reject envelope\"\r\n",
                "\"STARTTLS\"\r\n",
                "\"VERSION\" \"1.0\"\r\n",
                "OK \"Dovecot ready.\"\r\n"
            ));
            assert_eq!(hear!(), "STARTTLS");
            say!("OK \"Begin TLS negotiation now.\"\r\n");
        }
        Kind::Smtp | Kind::SmtpWithoutStarttls | Kind::SmtpRefusing | Kind::SmtpInjecting => {
            say!("220-mail.test ESMTP\r\n220 ready\r\n");
            if !hear!().starts_with("EHLO ") {
                say!("500 5.5.2 Error: bad syntax\r\n");
                return Ok(None);
            }
            if kind == Kind::SmtpWithoutStarttls {
                say!("250-mail.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
                return Ok(None);
            }
            say!("250-mail.test\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
            assert_eq!(hear!(), "STARTTLS");
            match kind {
                Kind::SmtpRefusing => {
                    say!("454 4.7.0 TLS not available due to local problem\r\n");
                    return Ok(None);
                }
                Kind::SmtpInjecting => say!("220 2.0.0 go ahead\r\n250 injected\r\n"),
                _ => say!("220 2.0.0 go ahead\r\n"),
            }
        }
        Kind::Imap | Kind::ImapPreauth => {
            if kind == Kind::ImapPreauth {
                say!("* PREAUTH [CAPABILITY IMAP4rev1] logged in as admin\r\n");
                return Ok(None);
            }
            say!("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
            let command = hear!();
            let tag = command.split(' ').next().unwrap_or_default().to_string();
            assert_eq!(command, format!("{tag} STARTTLS"));
            say!(format!(
                "* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK Begin TLS now\r\n"
            ));
        }
        Kind::Pop3 => {
            say!("+OK POP3 ready\r\n");
            assert_eq!(hear!(), "STLS");
            say!("+OK Begin TLS\r\n");
        }
        Kind::Ftp => {
            say!("220-Welcome\r\n220 FTP ready\r\n");
            assert_eq!(hear!(), "AUTH TLS");
            say!("234 AUTH TLS successful\r\n");
        }
        Kind::Ldap | Kind::LdapRefusing => {
            let mut request = [0u8; 31];
            s.read_exact(&mut request).await?;
            assert!(request.ends_with(b"1.3.6.1.4.1.1466.20037"), "{request:?}");
            if kind == Kind::LdapRefusing {
                say!(ldap_response(2, b"unsupported extended operation"));
                return Ok(None);
            }
            say!(ldap_response(0, b""));
        }
        Kind::Xmpp | Kind::XmppServer => {
            let mut header = Vec::new();
            s.read_until(b'>', &mut header).await?; // <?xml ...?>
            s.read_until(b'>', &mut header).await?; // <stream:stream ...>
            let header = String::from_utf8_lossy(&header).into_owned();
            let head = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' id='c2s1' from='xmpp.test' \
                 version='1.0'>";
            let (namespace, to) = if kind == Kind::Xmpp {
                ("xmlns='jabber:client'", "to='xmpp.test'")
            } else {
                ("xmlns='jabber:server'", "to='s2s.test'")
            };
            if !header.contains(to) || !header.contains(namespace) {
                say!(format!(
                    "{head}<stream:error><host-unknown \
                     xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
                ));
                return Ok(None);
            }
            say!(format!(
                "{head}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>\
                 <required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                 <mechanism>PLAIN</mechanism></mechanisms></stream:features>"
            ));
            let mut ask = Vec::new();
            s.read_until(b'>', &mut ask).await?;
            assert!(ask.starts_with(b"<starttls"), "{ask:?}");
            say!("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        }
        Kind::MysqlBlocking => {
            let mut p = vec![0xff, 0x6a, 0x04]; // ER_HOST_NOT_PRIVILEGED
            p.extend_from_slice(b"Host '127.0.0.1' is not allowed to connect to this MySQL server");
            let mut packet = (p.len() as u32).to_le_bytes()[..3].to_vec();
            packet.push(0);
            packet.extend(p);
            say!(packet);
            return Ok(None);
        }
        Kind::Mysql | Kind::MysqlWithoutSsl => {
            say!(mysql_greeting(kind == Kind::Mysql));
            if kind == Kind::MysqlWithoutSsl {
                return Ok(None);
            }
            // The ClientHello follows the SSLRequest unanswered: read the request alone.
            let mut request = [0u8; 36];
            s.get_mut().read_exact(&mut request).await?;
            if request[..4] != [32, 0, 0, 1] {
                // Not an SSLRequest (a ClientHello sent first): the server gives up.
                return Ok(None);
            }
            let caps = u32::from_le_bytes(request[4..8].try_into().unwrap());
            assert_ne!(caps & 0x0800, 0, "CLIENT_SSL asked for");
        }
        Kind::Rdp | Kind::RdpRefusing | Kind::RdpStandard => {
            let mut request = [0u8; 19];
            s.read_exact(&mut request).await?;
            assert_eq!(&request[..2], &[3, 0]);
            assert_eq!(request[5], 0xe0, "X.224 connection request");
            let asked = u32::from_le_bytes(request[15..19].try_into().unwrap());
            assert_ne!(asked & 1, 0, "PROTOCOL_SSL asked for");
            if kind == Kind::RdpRefusing {
                say!(rdp_confirm(3, 2));
                return Ok(None);
            }
            if kind == Kind::RdpStandard {
                say!(rdp_confirm(2, 0));
                return Ok(None);
            }
            say!(rdp_confirm(2, 2));
        }
        Kind::Postgres | Kind::PostgresWithoutSsl => {
            let mut request = [0u8; 8];
            s.read_exact(&mut request).await?;
            assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
            if kind == Kind::PostgresWithoutSsl {
                say!("N");
                return Ok(None);
            }
            say!("S");
        }
    }
    // The client speaks TLS only once told to: nothing of its handshake can have been read.
    assert!(s.buffer().is_empty());
    Ok(Some(s.into_inner()))
}

/// A server of `kind` on loopback presenting `leaf` once its dialogue is done.
async fn serve(kind: Kind, leaf: &fleet::Leaf) -> SocketAddr {
    serve_at(kind, leaf, "127.0.0.1:0".parse().unwrap()).await
}

/// A server of `kind` on `at`. It offers ALPN, so a client that offered `h2` to a mail
/// server would get it back.
async fn serve_at(kind: Kind, leaf: &fleet::Leaf, at: SocketAddr) -> SocketAddr {
    let mut config = leaf.server_config().unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = fleet::listen(at).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Some(tcp)) = dialogue(kind, tcp).await {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut buf = [0u8; 256];
                        while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_yields_the_certificate_behind_its_dialogue() {
    let pki = Pki::new("Mail").unwrap();
    let cases = [
        (Kind::Smtp, Starttls::Smtp, "smtp.test"),
        (Kind::Imap, Starttls::Imap, "imap.test"),
        (Kind::Pop3, Starttls::Pop3, "pop3.test"),
        (Kind::Ftp, Starttls::Ftp, "ftp.test"),
        (Kind::Ldap, Starttls::Ldap, "ldap.test"),
        (Kind::Xmpp, Starttls::Xmpp, "xmpp.test"),
        (Kind::XmppServer, Starttls::XmppServer, "s2s.test"),
        (Kind::Lmtp, Starttls::Lmtp, "lmtp.test"),
        (Kind::Nntp, Starttls::Nntp, "nntp.test"),
        (Kind::NntpTransit, Starttls::Nntp, "inn.test"),
        (Kind::Sieve, Starttls::Sieve, "sieve.test"),
        (Kind::Postgres, Starttls::Postgres, "postgres.test"),
        (Kind::Mysql, Starttls::Mysql, "mysql.test"),
        (Kind::Rdp, Starttls::Rdp, "rdp.test"),
    ];
    // The target list names each one's protocol in its starttls column (any case).
    let mut targets = "host,ip,port,starttls\n".to_string();
    let mut leaves = Vec::new();
    for (i, (kind, proto, name)) in cases.iter().enumerate() {
        let mut spec = LeafSpec::new(&[name], 5001 + i as u64, 10, 80);
        if *proto == Starttls::Rdp {
            // As Windows makes an RDP host's certificate: RDP clients do not hold its key
            // usage to the key exchange, so it is no finding there.
            use rcgen::KeyUsagePurpose::{DataEncipherment, KeyEncipherment};
            spec.key_usages = vec![KeyEncipherment, DataEncipherment];
        }
        let leaf = pki.issue(&spec).unwrap();
        let addr = serve(*kind, &leaf).await;
        targets.push_str(&format!(
            "{name},127.0.0.1,{},{}\n",
            addr.port(),
            proto.as_str().to_uppercase()
        ));
        leaves.push(leaf);
    }
    let obs = run_sweep_trusting(&pki, targets).await;
    let m = by_key(&obs);
    for ((_, proto, name), leaf) in cases.iter().zip(&leaves) {
        let o = m[&format!("{name}@127.0.0.1")];
        assert!(o.error.is_none(), "{name}: {:?}", o.error);
        assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex, "{name}");
        assert_eq!(o.starttls, Some(*proto), "{name}");
        assert_eq!(o.chain.len(), 2, "{name}");
        let tls = o.tls.as_ref().unwrap();
        assert_eq!(tls.version, "TLSv1.3", "{name}");
        assert_eq!(
            tls.alpn, None,
            "{name}: no web ALPN offered to a {proto} server"
        );
        assert!(o.findings.is_empty(), "{name}: {:?}", o.findings);
        assert!(o.timings.starttls_ms.is_some() && o.timings.handshake_ms.is_some());
        let row = certsweep::report::csv::ScanRow::from_observation(o, 0);
        assert_eq!(row.starttls, proto.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_starttls_errors_that_quote_the_server() {
    let pki = Pki::new("Refusing").unwrap();
    let leaf = valid_leaf(&pki, "xmpp.test", 5101);
    let cases: [(Kind, &str, &str, &str); 11] = [
        (
            Kind::SmtpWithoutStarttls,
            "smtp",
            "plain.test",
            "SMTP STARTTLS: the server does not offer STARTTLS; its EHLO answer: \"250-mail.test / 250-PIPELINING / 250 8BITMIME\"",
        ),
        (
            Kind::SmtpRefusing,
            "smtp",
            "busy.test",
            "SMTP STARTTLS: STARTTLS was refused: \"454 4.7.0 TLS not available due to local problem\"",
        ),
        (
            Kind::SmtpInjecting,
            "smtp",
            "inject.test",
            "SMTP STARTTLS: the server sent more after agreeing to TLS, before the handshake: \"250 injected\"",
        ),
        (
            Kind::ImapPreauth,
            "imap",
            "preauth.test",
            "IMAP STARTTLS: the server authenticated the connection before TLS, so it cannot start TLS: \"* PREAUTH [CAPABILITY IMAP4rev1] logged in as admin\"",
        ),
        (
            Kind::LdapRefusing,
            "ldap",
            "dir.test",
            "LDAP STARTTLS: StartTLS was refused with resultCode 2 (protocolError: StartTLS not supported): \"unsupported extended operation\"",
        ),
        (
            Kind::PostgresWithoutSsl,
            "postgres",
            "db.test",
            "PostgreSQL STARTTLS: the server does not accept TLS (it answered the SSLRequest with \"N\"; ssl = off)",
        ),
        (
            Kind::MysqlWithoutSsl,
            "mysql",
            "plaindb.test",
            "MySQL STARTTLS: the server (version \"8.0.36\") does not offer TLS (no CLIENT_SSL capability)",
        ),
        (
            Kind::MysqlBlocking,
            "mysql",
            "granted.test",
            "MySQL STARTTLS: the server refused the connection: \"Host '127.0.0.1' is not allowed to connect to this MySQL server\"",
        ),
        (
            Kind::RdpRefusing,
            "rdp",
            "desk.test",
            "RDP STARTTLS: the server refused TLS with failure code 2 (SSL_NOT_ALLOWED_BY_SERVER: standard RDP security only)",
        ),
        (
            Kind::RdpStandard,
            "rdp",
            "olddesk.test",
            "RDP STARTTLS: the server chose standard RDP security (protocol 0), no TLS",
        ),
        // The stream is opened for the name asked for: a server that does not serve it says so.
        (
            Kind::Xmpp,
            "xmpp",
            "other.test",
            "XMPP STARTTLS: the server closed the stream: \"<stream:error><host-unknown",
        ),
    ];
    let mut targets = "host,ip,port,starttls\n".to_string();
    for (kind, proto, name, _) in &cases {
        let addr = serve(*kind, &leaf).await;
        targets.push_str(&format!("{name},127.0.0.1,{},{proto}\n", addr.port()));
    }
    let obs = run_sweep_trusting(&pki, targets).await;
    let m = by_key(&obs);
    for (_, proto, name, message) in &cases {
        let o: &Observation = m[&format!("{name}@127.0.0.1")];
        assert!(o.cert.is_none(), "{name}");
        assert_eq!(o.error_class(), Some(ErrorClass::StarttlsError), "{name}");
        let got = &o.error.as_ref().unwrap().message;
        assert!(got.starts_with(message), "{name}: {got}");
        assert_eq!(o.starttls.map(|p| p.as_str()), Some(*proto), "{name}");
        // One connection: a refusal is an answer, not something to try again.
        assert_eq!(o.attempts, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out_saying_what_was_awaited() {
    let tarpit = fleet::serve_tarpit("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // --starttls applies to every target without a column of its own.
    let obs = run_sweep(
        format!("quiet.test@{}\n", tarpit.addr),
        &[
            "--starttls",
            "pop3",
            "--starttls-timeout",
            "300ms",
            // The dialogue has its own limit, not the handshake's.
            "--handshake-timeout",
            "100ms",
        ],
    )
    .await;
    assert_eq!(obs.len(), 1);
    let o = &obs[0];
    assert_eq!(o.error_class(), Some(ErrorClass::TlsTimeout));
    assert_eq!(
        o.error.as_ref().unwrap().message,
        "connected, but no greeting from the POP3 server within 300ms"
    );
    assert_eq!(o.starttls, Some(Starttls::Pop3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_known_ports_get_their_dialogue_unless_told_otherwise() {
    // Port 587 (SMTP submission) on an address of its own; skipped where it cannot be bound.
    let pki = Pki::new("Ports").unwrap();
    let leaf = valid_leaf(&pki, "submit.test", 5201);
    let at: SocketAddr = "127.0.0.87:587".parse().unwrap();
    let Ok(probe) = std::net::TcpListener::bind(at) else {
        eprintln!("skipped: cannot listen on {at}");
        return;
    };
    drop(probe);
    let addr = serve_at(Kind::Smtp, &leaf, at).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let trusting = ["--ca-file", ca.as_str(), "--no-public-roots"];
    let obs = run_sweep(format!("submit.test@{addr}\n"), &trusting).await;
    assert!(obs[0].error.is_none(), "{:?}", obs[0].error);
    assert_eq!(obs[0].cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert_eq!(obs[0].starttls, Some(Starttls::Smtp));
    // Off: a ClientHello is sent first, which the SMTP server takes for a bad command.
    let mut off = trusting.to_vec();
    off.extend(["--starttls", "off", "--handshake-timeout", "2s"]);
    let obs = run_sweep(format!("submit.test@{addr}\n"), &off).await;
    assert!(obs[0].cert.is_none());
    assert_eq!(obs[0].starttls, None);
    assert_eq!(obs[0].error_class(), Some(ErrorClass::TlsError));
    // A target's own column wins over the option.
    let obs = run_sweep(
        "host,ip,port,starttls\nsubmit.test,127.0.0.87,587,auto\n".to_string(),
        &off,
    )
    .await;
    assert_eq!(obs[0].cert.as_ref().unwrap().serial, leaf.serial_hex);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_mail_server_is_read_after_the_dialogue_too() {
    use openssl::ssl::SslVersion;
    use std::io::{BufRead, Write};
    // The server side of SMTP's dialogue, on the blocking stream OpenSSL then takes over.
    fn smtp(stream: &mut std::net::TcpStream) -> std::io::Result<()> {
        let mut r = std::io::BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        stream.write_all(b"220 old.test ESMTP\r\n")?;
        r.read_line(&mut line)?;
        stream.write_all(b"250-old.test\r\n250 STARTTLS\r\n")?;
        line.clear();
        r.read_line(&mut line)?;
        assert_eq!(line, "STARTTLS\r\n");
        stream.write_all(b"220 go ahead\r\n")
    }
    let pki = Pki::new("OldMail").unwrap();
    let leaf = valid_leaf(&pki, "old.test", 5301);
    let addr = support::openssl::openssl_server(
        &leaf,
        SslVersion::TLS1,
        "ECDHE-ECDSA-AES128-SHA",
        Some(smtp),
    );
    let dir = tempfile::tempdir().unwrap();
    let obs = run_sweep(
        format!("old.test@{addr}\n"),
        &[
            "--ca-file",
            &root_file(&pki, &dir),
            "--no-public-roots",
            "--starttls",
            "smtp",
        ],
    )
    .await;
    let o = &obs[0];
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert_eq!(o.tls.as_ref().unwrap().version, "TLSv1.0");
    assert_eq!(o.findings, vec![Finding::LegacyTls]);
    assert_eq!(o.starttls, Some(Starttls::Smtp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_answer_to_the_client_hello_is_quoted_with_what_it_suggests() {
    // An SMTP server on a port that does not say so, and a plain HTTP server (hyper).
    let pki = Pki::new("Plain").unwrap();
    let leaf = valid_leaf(&pki, "mx.test", 5401);
    let smtp = serve(Kind::Smtp, &leaf).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let _web = support::dcvfix::http_on(listener, |_| (200, vec![], "hello".into())).await;
    // Told not to speak before TLS, so the greeting is only quoted.
    let obs = run_sweep(
        format!("mx.test@{smtp}\nweb.test@{http}\n"),
        &["--starttls", "off"],
    )
    .await;
    let m = by_key(&obs);
    for (key, said) in [
        (
            "mx.test@127.0.0.1",
            "the server answered in plain text, \"220-mail.test ESMTP\" (an SMTP greeting: give the target starttls=smtp)",
        ),
        (
            "web.test@127.0.0.1",
            "the server answered in plain text, \"HTTP/1.1 400 Bad Request\" (plain HTTP: the port does not serve HTTPS)",
        ),
    ] {
        let o = m[key];
        assert_eq!(o.error_class(), Some(ErrorClass::TlsError), "{key}");
        let message = &o.error.as_ref().unwrap().message;
        assert!(message.ends_with(said), "{key}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_in_a_plain_list_says_the_protocol() {
    let pki = Pki::new("Url").unwrap();
    let leaf = valid_leaf(&pki, "mx.test", 5501);
    let imap = serve(Kind::Imap, &leaf).await;
    let obs = run_sweep_trusting(&pki, format!("imap://mx.test@{imap}/INBOX\n")).await;
    assert_eq!(obs.len(), 1);
    assert!(obs[0].error.is_none(), "{:?}", obs[0].error);
    assert_eq!(obs[0].cert.as_ref().unwrap().serial, leaf.serial_hex);
    assert_eq!(obs[0].starttls, Some(Starttls::Imap));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_speaks_the_protocol_a_greeting_names_on_a_port_it_does_not_know() {
    let pki = Pki::new("Detect").unwrap();
    let leaves: Vec<_> = ["mx.test", "files.test", "db.test", "plainmx.test"]
        .iter()
        .enumerate()
        .map(|(i, n)| valid_leaf(&pki, n, 5601 + i as u64))
        .collect();
    let smtp = serve(Kind::Smtp, &leaves[0]).await;
    let ftp = serve(Kind::Ftp, &leaves[1]).await;
    let mysql = serve(Kind::Mysql, &leaves[2]).await;
    let bare = serve(Kind::SmtpWithoutStarttls, &leaves[3]).await;
    let (obs, counters) = sweep_counted(
        format!("mx.test@{smtp}\nfiles.test@{ftp}\ndb.test@{mysql}\nplainmx.test@{bare}\n"),
        &[],
    )
    .await;
    let m = by_key(&obs);
    for (key, leaf, proto) in [
        ("mx.test@127.0.0.1", &leaves[0], Starttls::Smtp),
        ("files.test@127.0.0.1", &leaves[1], Starttls::Ftp),
        ("db.test@127.0.0.1", &leaves[2], Starttls::Mysql),
    ] {
        let o = m[key];
        assert!(o.error.is_none(), "{key}: {:?}", o.error);
        assert_eq!(o.cert.as_ref().unwrap().serial, leaf.serial_hex, "{key}");
        assert_eq!(o.starttls, Some(proto), "{key}");
        // The extra connection is not a retry of a flaky endpoint.
        assert_eq!(o.attempts, 1, "{key}");
    }
    assert_eq!(
        counters.retries.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // A greeting whose dialogue then fails: the first error stands, with both answers.
    let o = m["plainmx.test@127.0.0.1"];
    assert!(o.cert.is_none());
    assert_eq!(o.starttls, None);
    assert_eq!(o.error_class(), Some(ErrorClass::TlsError));
    let message = &o.error.as_ref().unwrap().message;
    assert!(
        message.contains("(an SMTP greeting: give the target starttls=smtp); tried on another connection: SMTP STARTTLS: the server does not offer STARTTLS"),
        "{message}"
    );
    // Told a protocol (or off, above), nothing is guessed.
    let obs = run_sweep(format!("mx.test@{smtp}\n"), &["--starttls", "pop3"]).await;
    assert_eq!(obs[0].error_class(), Some(ErrorClass::StarttlsError));
    assert_eq!(obs[0].starttls, Some(Starttls::Pop3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_scanned_alike_are_one_whatever_way_they_are_written() {
    // Port 587 speaks SMTP by default, which is what submission:// and smtp:// say too;
    // an explicit off is another scan. Nothing listens on this address: refusals are quick.
    let (obs, counters) = sweep_counted(
        "mx.test@127.0.0.93:587\nsubmission://mx.test@127.0.0.93\nsmtp://mx.test@127.0.0.93:587\ntls://mx.test@127.0.0.93:587\n"
            .to_string(),
        &[],
    )
    .await;
    assert_eq!(obs.len(), 2, "{obs:#?}");
    assert_eq!(
        counters
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    let mut spoken: Vec<_> = obs.iter().map(|o| o.starttls).collect();
    spoken.sort();
    assert_eq!(spoken, vec![None, Some(Starttls::Smtp)]);
}

/// A mail server whose TLSA records fail DNSSEC validation: senders that validate DANE
/// defer delivery (RFC 7672, section 2.2), so `--dane` says `dane_bogus`, whether the
/// validating resolver says why (an Extended DNS Error) or only answers once checking is
/// disabled. A question that fails otherwise (lame nameservers), or a web server's, is told
/// in the facts alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tlsa_records_that_fail_dnssec_validation_stop_mail_and_are_told() {
    use hickory_server::proto::op::Edns;
    use support::dcvfix::{
        a, asked_name, catalog, filtered_here, servfail_saying, tlsa, Act, Decide, Zone,
    };
    let pki = Pki::new("DaneBogus").unwrap();
    let names = ["expired.test", "quiet.test", "lame.test", "www.test"];
    let leaf = pki.issue(&LeafSpec::new(&names, 5803, 1, 60)).unwrap();
    let smtp = serve(Kind::Smtp, &leaf).await;
    let web = fleet::serve_tls(SocketAddr::from(([127, 0, 0, 1], 0)), &leaf, &[], None)
        .await
        .unwrap();
    let mut records: Vec<_> = names
        .iter()
        .map(|n| a(&format!("{n}."), [127, 0, 0, 1]))
        .collect();
    for (n, port) in [
        ("expired", smtp.port()),
        ("quiet", smtp.port()),
        ("lame", smtp.port()),
        ("www", web.addr.port()),
    ] {
        records.push(tlsa(
            &format!("_{port}._tcp.{n}.test."),
            3,
            1,
            1,
            key_pin(&leaf),
        ));
    }
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records,
    };
    // A validating resolver: expired.test's and www.test's records fail validation and it
    // says so (Extended DNS Error 7); quiet.test's fail without a word; lame.test's
    // nameservers fail whatever is asked.
    let act: Decide = Box::new(|request| {
        let q = asked_name(request);
        let cd = request.metadata.checking_disabled;
        if q.starts_with('_') && (q.ends_with("expired.test.") || q.ends_with("www.test.")) && !cd {
            servfail_saying(7, "RRSIG expired")
        } else if q.starts_with('_')
            && ((q.ends_with("quiet.test.") && !cd) || q.ends_with("lame.test."))
        {
            Act::Servfail(Some(Edns::new()))
        } else {
            Act::Answer
        }
    });
    let (dns, _server) = filtered_here(catalog(&[zone]).await, act);
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let targets = format!(
        "smtp://expired.test:{0}\nsmtp://quiet.test:{0}\nsmtp://lame.test:{0}\nwww.test:{1}\n",
        smtp.port(),
        web.addr.port()
    );
    let dns = dns.to_string();
    let obs = dane_sweep(targets, &dns, &ca, &[]).await;
    let by_host: std::collections::HashMap<&str, &Observation> =
        obs.iter().map(|o| (o.host.as_str(), o)).collect();
    let error = |h: &str| by_host[h].dane.as_deref().unwrap().error.clone().unwrap();
    for (h, said) in [
        (
            "expired.test",
            "was answered Server Failure (7 Signature Expired (RRSIG expired))",
        ),
        (
            "quiet.test",
            "answered once checking is disabled (CD): its DNSSEC validation fails",
        ),
    ] {
        assert_eq!(by_host[h].findings, [Finding::DaneBogus], "{h}");
        assert!(error(h).ends_with(said), "{}", error(h));
    }
    for h in ["lame.test", "www.test"] {
        assert!(
            by_host[h].findings.is_empty(),
            "{h}: {:?}",
            by_host[h].findings
        );
        assert!(
            error(h).contains("was answered Server Failure"),
            "{}",
            error(h)
        );
    }
}

/// DANE for mail (RFC 7672) uses only the DANE usages: a mail server whose TLSA record pins
/// its key with the PKIX-EE usage publishes nothing its senders use (`dane_unusable`),
/// where the same record at a web server's name matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkix_usage_at_a_mail_server_is_no_record_its_senders_use() {
    use support::dcvfix::{a, dns_here, tlsa, Zone};
    let pki = Pki::new("DanePkix").unwrap();
    let leaf = valid_leaf(&pki, "mx.test", 5801);
    let smtp = serve(Kind::Smtp, &leaf).await;
    let www = valid_leaf(&pki, "www.test", 5802);
    let web = fleet::serve_tls(SocketAddr::from(([127, 0, 0, 1], 0)), &www, &[], None)
        .await
        .unwrap();
    // PKIX-EE (1), the key (1), by SHA-256 (1).
    let pkix_ee = |owner: String, leaf: &fleet::Leaf| tlsa(&owner, 1, 1, 1, key_pin(leaf));
    let zone = Zone {
        origin: "test.",
        serial: 1,
        records: vec![
            a("mx.test.", [127, 0, 0, 1]),
            a("www.test.", [127, 0, 0, 1]),
            pkix_ee(format!("_{}._tcp.mx.test.", smtp.port()), &leaf),
            pkix_ee(format!("_{}._tcp.www.test.", web.addr.port()), &www),
        ],
    };
    let (dns, _dns_server) = dns_here(&[zone]).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = root_file(&pki, &dir);
    let dns = dns.to_string();
    let targets = format!(
        "smtp://mx.test:{}\nwww.test:{}\n",
        smtp.port(),
        web.addr.port()
    );
    let obs = dane_sweep(targets, &dns, &ca, &[]).await;
    let by_host: std::collections::HashMap<&str, &Observation> =
        obs.iter().map(|o| (o.host.as_str(), o)).collect();
    let mx = by_host["mx.test"];
    assert_eq!(mx.starttls, Some(Starttls::Smtp));
    assert_eq!(mx.findings, [Finding::DaneUnusable]);
    let d = mx.dane.as_deref().unwrap();
    assert_eq!(d.matched, None);
    assert_eq!(d.unusable.len(), 1);
    assert!(
        d.unusable[0].starts_with("1 1 1 ") && d.unusable[0].contains("PKIX usage"),
        "{d:?}"
    );
    assert!(d.shown().starts_with("none of 1 record(s) usable: 1 1 1 "));
    let www = by_host["www.test"];
    assert!(www.findings.is_empty(), "{:?}", www.findings);
    assert!(www.dane.as_deref().unwrap().matched.is_some());
}
