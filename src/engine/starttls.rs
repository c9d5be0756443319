//! The plaintext dialogues that come before TLS on STARTTLS ports (SMTP, LMTP, IMAP, POP3,
//! FTP, NNTP, ManageSieve, LDAP, XMPP) and on database and remote-desktop ports that negotiate TLS in their own
//! protocol (PostgreSQL, MySQL, RDP), and which ports and targets need one.
//!
//! A dialogue reads the server's greeting, asks for TLS the way its protocol does and returns
//! once the server agreed: the next bytes on the connection are the TLS handshake. Each
//! answer is read only as far as it goes (a server sends nothing after agreeing until the
//! ClientHello comes); bytes beyond it are refused, not dropped, since the handshake would
//! otherwise start mid-stream on a server that is broken or under attack (the STARTTLS
//! command injection of CVE-2011-0411 and its kin).

use crate::model::Starttls;
use std::io;
use tokio::net::TcpStream;
use x509_parser::asn1_rs::{Any, Class, Enumerated, FromBer, Integer, OctetString};
use x509_parser::nom;

/// Whether and how a target speaks before TLS: the `--starttls` option, or a target list's
/// `starttls` column for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StarttlsChoice {
    /// By the port: the well-known STARTTLS ports (25, 587, 143, 110, 21, 389, 3268, 5222,
    /// 5269, 119, 4190, 5432, 3306, 3389) get their protocol's dialogue, every other port TLS
    /// from the first byte, and then a dialogue if the server sent a greeting instead.
    #[default]
    Auto,
    /// TLS from the first byte on every port.
    Off,
    /// This protocol's dialogue whatever the port.
    Use(Starttls),
}

impl StarttlsChoice {
    /// Reads `auto`, `off` (or `none`) or a protocol name, any case.
    pub fn parse(s: &str) -> Result<StarttlsChoice, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(StarttlsChoice::Auto),
            "off" | "none" => Ok(StarttlsChoice::Off),
            other => Starttls::parse(other)
                .map(StarttlsChoice::Use)
                .ok_or_else(|| {
                    format!(
                        "unknown STARTTLS protocol \"{}\" (auto, off, {})",
                        crate::model::readable(s),
                        Starttls::ALL.map(Starttls::as_str).join(", ")
                    )
                }),
        }
    }

    /// The dialogue an endpoint on `port` gets.
    pub fn for_port(self, port: u16) -> Option<Starttls> {
        match self {
            StarttlsChoice::Auto => Starttls::for_port(port),
            StarttlsChoice::Off => None,
            StarttlsChoice::Use(p) => Some(p),
        }
    }
}

/// What a URL scheme says of a target (`smtp://mail.example.com`): its dialogue before TLS
/// and its default port. Implicit-TLS schemes (`https`, `smtps`, `ldaps`, ...) turn the
/// dialogue off; `tls` and `ssl` take the sweep's `--port`.
pub fn scheme(name: &str) -> Result<(StarttlsChoice, Option<u16>), String> {
    use StarttlsChoice::{Off, Use};
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "https" => (Off, Some(443)),
        "tls" | "ssl" => (Off, None),
        "smtps" => (Off, Some(465)),
        "imaps" => (Off, Some(993)),
        "pop3s" => (Off, Some(995)),
        "ldaps" => (Off, Some(636)),
        "ftps" => (Off, Some(990)),
        "xmpps" => (Off, Some(5223)),
        "nntps" => (Off, Some(563)),
        "submission" => (Use(Starttls::Smtp), Some(587)),
        "postgresql" => (Use(Starttls::Postgres), Some(5432)),
        "http" => {
            return Err(
                "http:// is plain HTTP, which has no certificate (https:// for the TLS port)"
                    .into(),
            )
        }
        other => match Starttls::parse(other) {
            Some(p) => (Use(p), p.default_port()),
            None => {
                return Err(format!(
                    "unknown scheme \"{}://\"",
                    crate::model::readable(name)
                ))
            }
        },
    })
}

/// Whether the server has the first word (a greeting) rather than the client.
pub fn server_speaks_first(proto: Starttls) -> bool {
    match proto {
        Starttls::Smtp
        | Starttls::Lmtp
        | Starttls::Imap
        | Starttls::Pop3
        | Starttls::Ftp
        | Starttls::Nntp
        | Starttls::Sieve
        | Starttls::Mysql => true,
        Starttls::Ldap
        | Starttls::Xmpp
        | Starttls::XmppServer
        | Starttls::Postgres
        | Starttls::Rdp => false,
    }
}

/// Why a dialogue did not lead to TLS.
#[derive(Debug)]
pub enum Refusal {
    /// The connection failed or closed.
    Io(io::Error),
    /// The server answered, but not as the protocol goes on to TLS; the text quotes it.
    Answer(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Io(e) => write!(f, "{e}"),
            Refusal::Answer(text) => f.write_str(text),
        }
    }
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// The most a dialogue reads: greetings and capability lists are a few hundred bytes, and a
/// server that talks on and on must not make the sweep hold it.
const MAX_DIALOGUE: usize = 64 * 1024;

/// The most lines one SMTP or FTP reply, or the untagged IMAP lines before an answer, may
/// have.
const MAX_LINES: usize = 256;

/// The name certsweep gives itself in SMTP's EHLO: `.invalid` is reserved for names that
/// must not resolve (RFC 2606), so no server mistakes it for a real client.
const EHLO: &[u8] = b"EHLO certsweep.invalid\r\n";

/// LMTP's greeting command, otherwise the same dialogue as SMTP's.
const LHLO: &[u8] = b"LHLO certsweep.invalid\r\n";

/// LDAPMessage { messageID 1, ExtendedRequest { requestName 1.3.6.1.4.1.1466.20037 } }, the
/// StartTLS operation of RFC 4511 4.14, in BER.
const LDAP_START_TLS: [u8; 31] = [
    0x30, 0x1d, // SEQUENCE, 29 bytes
    0x02, 0x01, 0x01, // messageID 1
    0x77, 0x18, // [APPLICATION 23] ExtendedRequest, 24 bytes
    0x80, 0x16, // [0] requestName, 22 bytes:
    b'1', b'.', b'3', b'.', b'6', b'.', b'1', b'.', b'4', b'.', b'1', b'.', b'1', b'4', b'6', b'6',
    b'.', b'2', b'0', b'0', b'3', b'7',
];

/// PostgreSQL's SSLRequest: length 8, then the code 80877103.
const POSTGRES_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// MySQL's CLIENT_SSL capability flag.
const MYSQL_CLIENT_SSL: u16 = 0x0800;

/// MySQL's SSLRequest packet: header (payload length 32, sequence 1), then the client's
/// capabilities (CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION), the largest
/// packet (16 MiB), character set utf8mb4 and 23 reserved zero bytes.
const MYSQL_SSL_REQUEST: [u8; 36] = [
    0x20, 0x00, 0x00, 0x01, // header
    0x00, 0x8a, 0x00, 0x00, // capabilities
    0x00, 0x00, 0x00, 0x01, // max packet size
    0x2d, // character set
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// RDP's connection request (MS-RDPBCGR 2.2.1.1): TPKT header, X.224 Connection Request,
/// RDP_NEG_REQ asking for TLS or CredSSP (PROTOCOL_SSL | PROTOCOL_HYBRID). Both start with
/// a TLS handshake; offering CredSSP too keeps servers that require NLA from refusing.
const RDP_CONNECTION_REQUEST: [u8; 19] = [
    0x03, 0x00, 0x00, 0x13, // TPKT, 19 bytes
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR
    0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, // RDP_NEG_REQ
];

/// Runs `proto`'s dialogue on a fresh connection. `name` is the name the server is asked
/// for (XMPP's stream `to`; the address when the target has no name). `stage` always says
/// what is being waited for ("greeting", "answer to STARTTLS"), so a caller whose timeout
/// cuts the dialogue can say where.
pub async fn upgrade(
    tcp: &TcpStream,
    proto: Starttls,
    name: &str,
    stage: &mut &'static str,
) -> Result<(), Refusal> {
    let mut talk = Talk {
        tcp,
        buf: Vec::new(),
    };
    match proto {
        Starttls::Smtp => smtp(&mut talk, EHLO, stage).await,
        Starttls::Lmtp => smtp(&mut talk, LHLO, stage).await,
        Starttls::Nntp => nntp(&mut talk, stage).await,
        Starttls::Sieve => sieve(&mut talk, stage).await,
        Starttls::Imap => imap(&mut talk, stage).await,
        Starttls::Pop3 => pop3(&mut talk, stage).await,
        Starttls::Ftp => ftp(&mut talk, stage).await,
        Starttls::Ldap => ldap(&mut talk, stage).await,
        Starttls::Xmpp => xmpp(&mut talk, "jabber:client", name, stage).await,
        Starttls::XmppServer => xmpp(&mut talk, "jabber:server", name, stage).await,
        Starttls::Postgres => postgres(&mut talk, stage).await,
        Starttls::Mysql => mysql(&mut talk, stage).await,
        Starttls::Rdp => rdp(&mut talk, stage).await,
    }?;
    talk.done()
}

/// SMTP, or LMTP with `hello` = LHLO.
async fn smtp(
    t: &mut Talk<'_>,
    hello: &'static [u8],
    stage: &mut &'static str,
) -> Result<(), Refusal> {
    let lmtp = hello == LHLO;
    let verb = if lmtp { "LHLO" } else { "EHLO" };
    *stage = "greeting";
    t.expect(220, "the greeting is not 220").await?;
    *stage = if lmtp {
        "answer to LHLO"
    } else {
        "answer to EHLO"
    };
    t.send(hello).await?;
    let (code, lines) = t.coded_reply().await?;
    if code != 250 {
        return Err(answer(&format!("{verb} was refused"), &lines));
    }
    let offered = lines.iter().any(|l| {
        l.get(4..)
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|kw| kw.eq_ignore_ascii_case("STARTTLS"))
    });
    if !offered {
        return Err(answer(
            &format!("the server does not offer STARTTLS; its {verb} answer"),
            &lines,
        ));
    }
    *stage = "answer to STARTTLS";
    t.send(b"STARTTLS\r\n").await?;
    t.expect(220, "STARTTLS was refused").await
}

async fn nntp(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    let greeting = t.line().await?;
    if !(greeting.starts_with("200") || greeting.starts_with("201")) {
        return Err(answer("the greeting is not 200 or 201", &[greeting]));
    }
    *stage = "answer to STARTTLS";
    t.send(b"STARTTLS\r\n").await?;
    let mut line = t.line().await?;
    if line.starts_with("401") {
        // A mode-switching server (INN's innd, which answers "401 MODE-READER") offers
        // STARTTLS only to readers (RFC 3977 3.4.2, RFC 4642 2.2.2): switch, then ask again.
        *stage = "answer to MODE READER";
        t.send(b"MODE READER\r\n").await?;
        let reader = t.line().await?;
        if !(reader.starts_with("200") || reader.starts_with("201")) {
            return Err(answer("MODE READER was refused", &[line, reader]));
        }
        *stage = "answer to STARTTLS";
        t.send(b"STARTTLS\r\n").await?;
        line = t.line().await?;
    }
    if !line.starts_with("382") {
        return Err(answer("STARTTLS was refused", &[line]));
    }
    Ok(())
}

async fn sieve(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    // The greeting is the capability list, one quoted name a line, ended by an OK.
    let mut capabilities = Vec::new();
    let mut offered = false;
    loop {
        let line = t.line().await?;
        if starts_with_ci(&line, "OK") {
            break;
        }
        if starts_with_ci(&line, "NO") || starts_with_ci(&line, "BYE") {
            return Err(answer("the server refused the connection", &[line]));
        }
        offered |= starts_with_ci(&line, "\"STARTTLS\"");
        capabilities.push(line);
        if capabilities.len() >= MAX_LINES {
            return Err(answer("a greeting of too many lines", &capabilities[..3]));
        }
    }
    if !offered {
        return Err(answer(
            "the server does not offer STARTTLS; its capabilities",
            &capabilities,
        ));
    }
    *stage = "answer to STARTTLS";
    t.send(b"STARTTLS\r\n").await?;
    let line = t.line().await?;
    if !starts_with_ci(&line, "OK") {
        return Err(answer("STARTTLS was refused", &[line]));
    }
    Ok(())
}

async fn imap(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    let greeting = t.line().await?;
    if starts_with_ci(&greeting, "* PREAUTH") {
        // RFC 3501 6.2.1: STARTTLS is only allowed before authentication.
        return Err(answer(
            "the server authenticated the connection before TLS, so it cannot start TLS",
            &[greeting],
        ));
    }
    if !starts_with_ci(&greeting, "* OK") {
        return Err(answer("the greeting is not \"* OK\"", &[greeting]));
    }
    *stage = "answer to STARTTLS";
    t.send(b"C1 STARTTLS\r\n").await?;
    for _ in 0..MAX_LINES {
        let line = t.line().await?;
        if line.starts_with("* ") {
            // Untagged data (a CAPABILITY, an alert) may come before the answer.
            continue;
        }
        if starts_with_ci(&line, "C1 OK") {
            return Ok(());
        }
        return Err(answer("STARTTLS was refused", &[line]));
    }
    Err(Refusal::Answer(format!(
        "no answer to STARTTLS among {MAX_LINES} lines"
    )))
}

async fn pop3(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    let greeting = t.line().await?;
    if !starts_with_ci(&greeting, "+OK") {
        return Err(answer("the greeting is not \"+OK\"", &[greeting]));
    }
    *stage = "answer to STLS";
    t.send(b"STLS\r\n").await?;
    let line = t.line().await?;
    if !starts_with_ci(&line, "+OK") {
        return Err(answer("STLS was refused", &[line]));
    }
    Ok(())
}

async fn ftp(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    t.expect(220, "the greeting is not 220").await?;
    *stage = "answer to AUTH TLS";
    t.send(b"AUTH TLS\r\n").await?;
    t.expect(234, "AUTH TLS was refused").await
}

async fn ldap(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "answer to the StartTLS request";
    t.send(&LDAP_START_TLS).await?;
    loop {
        match Any::from_ber(&t.buf) {
            Err(nom::Err::Incomplete(_)) => t.fill().await?,
            Err(e) => {
                return Err(Refusal::Answer(format!(
                    "the answer is not an LDAP message ({e})"
                )))
            }
            Ok((rest, message)) => {
                let used = t.buf.len() - rest.len();
                let outcome = ldap_result(message.data);
                t.buf.drain(..used);
                return outcome;
            }
        }
    }
}

/// Reads an LDAPMessage's content: messageID, then an ExtendedResponse whose resultCode must
/// be success (0).
fn ldap_result(content: &[u8]) -> Result<(), Refusal> {
    let bad = |what: &str| Refusal::Answer(format!("the answer is not an LDAP {what}"));
    let (rest, _id) = Integer::from_ber(content).map_err(|_| bad("message"))?;
    let (_, op) = Any::from_ber(rest).map_err(|_| bad("message"))?;
    if op.class() != Class::Application || op.tag().0 != 24 {
        return Err(bad("extended response"));
    }
    let (rest, code) = Enumerated::from_ber(op.data).map_err(|_| bad("extended response"))?;
    if code.0 == 0 {
        return Ok(());
    }
    let diagnostic = OctetString::from_ber(rest)
        .ok()
        .and_then(|(rest, _matched_dn)| OctetString::from_ber(rest).ok())
        .map(|(_, d)| String::from_utf8_lossy(d.as_cow()).into_owned())
        .filter(|d| !d.is_empty());
    let name = match code.0 {
        1 => " (operationsError)",
        2 => " (protocolError: StartTLS not supported)",
        51 => " (busy)",
        52 => " (unavailable)",
        53 => " (unwillingToPerform)",
        _ => "",
    };
    Err(Refusal::Answer(format!(
        "StartTLS was refused with resultCode {}{name}{}",
        code.0,
        diagnostic
            .map(|d| format!(": \"{}\"", crate::model::readable(&d)))
            .unwrap_or_default()
    )))
}

/// XMPP on a stream of `namespace` (`jabber:client`, `jabber:server`) to `name`.
async fn xmpp(
    t: &mut Talk<'_>,
    namespace: &str,
    name: &str,
    stage: &mut &'static str,
) -> Result<(), Refusal> {
    *stage = "stream features";
    // `name` is an A-label or an address, so it needs no XML escaping.
    let header = format!(
        "<?xml version='1.0'?><stream:stream to='{name}' version='1.0' xml:lang='en' \
         xmlns='{namespace}' xmlns:stream='http://etherx.jabber.org/streams'>"
    );
    t.send(header.as_bytes()).await?;
    // Element matching on the text is enough here: the server's first stanzas are its stream
    // header and features, and only the presence of two elements matters.
    let features_end = loop {
        if let Some(e) = find(&t.buf, b"<stream:error") {
            return Err(answer("the server closed the stream", &[t.text_from(e)]));
        }
        if let Some(end) = find_any(&t.buf, &[b"</stream:features>", b"<stream:features/>"]) {
            break end;
        }
        t.fill().await?;
    };
    if find(&t.buf[..features_end], b"<starttls").is_none() {
        return Err(answer(
            "the server does not offer STARTTLS; its stream features",
            &[t.text_from(0)],
        ));
    }
    t.buf.drain(..features_end);
    *stage = "answer to <starttls/>";
    t.send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await?;
    loop {
        if let Some(p) = find(&t.buf, b"<proceed") {
            let after = &t.buf[p..];
            let end = find(after, b"/>")
                .map(|e| e + 2)
                .or_else(|| find(after, b"</proceed>").map(|e| e + 10));
            if let Some(end) = end {
                t.buf.drain(..p + end);
                return Ok(());
            }
        } else if find_any(&t.buf, &[b"<failure", b"<stream:error"]).is_some() {
            return Err(answer("STARTTLS was refused", &[t.text_from(0)]));
        }
        t.fill().await?;
    }
}

async fn postgres(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "answer to the SSLRequest";
    t.send(&POSTGRES_SSL_REQUEST).await?;
    t.fill().await?;
    match t.buf[0] {
        b'S' => {
            t.buf.drain(..1);
            Ok(())
        }
        b'N' => Err(Refusal::Answer(
            "the server does not accept TLS (it answered the SSLRequest with \"N\"; ssl = off)"
                .into(),
        )),
        b'E' => Err(answer(
            "the server answered the SSLRequest with an error",
            &[t.text_from(1)],
        )),
        other => Err(Refusal::Answer(format!(
            "the answer to the SSLRequest is not PostgreSQL's (first byte 0x{other:02x})"
        ))),
    }
}

async fn mysql(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "greeting";
    let packet = t
        .packet(4, |h| {
            usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16
        })
        .await?;
    let payload = &packet[4..];
    if payload.first() == Some(&0xff) {
        // An ERR packet: code, then the message (no SQL state before authentication).
        let text = String::from_utf8_lossy(payload.get(3..).unwrap_or_default()).into_owned();
        return Err(answer("the server refused the connection", &[text]));
    }
    if payload.first() != Some(&10) {
        return Err(Refusal::Answer(
            "the greeting is not a MySQL handshake (protocol 10)".into(),
        ));
    }
    // protocol version, server version (NUL-terminated), connection id (4), scramble (8),
    // filler (1), then the capability flags' lower half.
    let version_end = payload[1..].iter().position(|b| *b == 0).map(|p| p + 1);
    let flags = version_end
        .and_then(|v| payload.get(v + 14..v + 16))
        .map(|f| u16::from_le_bytes([f[0], f[1]]));
    let version = version_end
        .map(|v| String::from_utf8_lossy(&payload[1..v]).into_owned())
        .unwrap_or_default();
    match flags {
        None => Err(Refusal::Answer(
            "the greeting is cut short of its capability flags".into(),
        )),
        Some(f) if f & MYSQL_CLIENT_SSL == 0 => Err(Refusal::Answer(format!(
            "the server (version \"{}\") does not offer TLS (no CLIENT_SSL capability)",
            crate::model::readable(&version)
        ))),
        Some(_) => {
            // The server answers an SSLRequest with its half of the TLS handshake.
            t.send(&MYSQL_SSL_REQUEST).await?;
            Ok(())
        }
    }
}

async fn rdp(t: &mut Talk<'_>, stage: &mut &'static str) -> Result<(), Refusal> {
    *stage = "answer to the connection request";
    t.send(&RDP_CONNECTION_REQUEST).await?;
    let packet = t
        .packet(4, |h| {
            usize::from(u16::from_be_bytes([h[2], h[3]])).saturating_sub(4)
        })
        .await?;
    if packet[0] != 3 {
        return Err(Refusal::Answer(
            "the answer is not a TPKT packet (not an RDP server)".into(),
        ));
    }
    // TPKT (4), X.224 Connection Confirm (7), then RDP_NEG_RSP or RDP_NEG_FAILURE (8).
    let tpdu = &packet[4..];
    if tpdu.get(1).map(|c| c & 0xf0) != Some(0xd0) {
        return Err(Refusal::Answer(
            "the answer is not an X.224 connection confirm".into(),
        ));
    }
    let Some(neg) = tpdu.get(7..15) else {
        return Err(Refusal::Answer(
            "the server offers only standard RDP security, no TLS".into(),
        ));
    };
    let value = u32::from_le_bytes([neg[4], neg[5], neg[6], neg[7]]);
    match neg[0] {
        // PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX: TLS comes next.
        0x02 if matches!(value, 1 | 2 | 8) => Ok(()),
        0x02 if value == 0 => Err(Refusal::Answer(
            "the server chose standard RDP security (protocol 0), no TLS".into(),
        )),
        0x02 => Err(Refusal::Answer(format!(
            "the server chose protocol {value}, which does not start with TLS"
        ))),
        0x03 => {
            let why = match value {
                1 => " (SSL_REQUIRED_BY_SERVER)",
                2 => " (SSL_NOT_ALLOWED_BY_SERVER: standard RDP security only)",
                3 => " (SSL_CERT_NOT_ON_SERVER: no certificate configured)",
                4 => " (INCONSISTENT_FLAGS)",
                5 => " (HYBRID_REQUIRED_BY_SERVER)",
                6 => " (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)",
                _ => "",
            };
            Err(Refusal::Answer(format!(
                "the server refused TLS with failure code {value}{why}"
            )))
        }
        other => Err(Refusal::Answer(format!(
            "the negotiation answer has unknown type {other}"
        ))),
    }
}

/// One connection's plaintext exchange: what was read and not yet used sits in `buf`.
struct Talk<'a> {
    tcp: &'a TcpStream,
    buf: Vec<u8>,
}

impl Talk<'_> {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        super::write_all(self.tcp, bytes).await
    }

    /// Reads what the server sent next (at least one byte).
    async fn fill(&mut self) -> Result<(), Refusal> {
        if self.buf.len() >= MAX_DIALOGUE {
            return Err(Refusal::Answer(format!(
                "the server sent over {} KiB without the expected answer",
                MAX_DIALOGUE / 1024
            )));
        }
        let start = self.buf.len();
        self.buf.resize(MAX_DIALOGUE.min(start + 4096), 0);
        let read = super::read_some(self.tcp, &mut self.buf[start..]).await;
        let got = read.as_ref().map_or(0, |n| *n);
        self.buf.truncate(start + got);
        match read {
            Err(e) => Err(e.into()),
            Ok(0) => Err(Refusal::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ))),
            Ok(_) => Ok(()),
        }
    }

    /// A length-prefixed packet, header included: `header` bytes, of which `length` reads
    /// how many follow. The packet is taken out of what was read.
    async fn packet(
        &mut self,
        header: usize,
        length: impl Fn(&[u8]) -> usize,
    ) -> Result<Vec<u8>, Refusal> {
        while self.buf.len() < header {
            self.fill().await?;
        }
        let total = header + length(&self.buf[..header]);
        if total > MAX_DIALOGUE {
            return Err(Refusal::Answer(format!(
                "the server announced a packet of {total} bytes"
            )));
        }
        while self.buf.len() < total {
            self.fill().await?;
        }
        Ok(self.buf.drain(..total).collect())
    }

    /// The next line, without its line end.
    async fn line(&mut self) -> Result<String, Refusal> {
        loop {
            if let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            self.fill().await?;
        }
    }

    /// An SMTP or FTP reply: lines `NNN-text` up to the last, `NNN text`; its code and lines.
    async fn coded_reply(&mut self) -> Result<(u16, Vec<String>), Refusal> {
        let mut lines = Vec::new();
        while lines.len() < MAX_LINES {
            let line = self.line().await?;
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok());
            let Some(code) = code else {
                lines.push(line);
                return Err(answer("the answer is not a numbered reply", &lines));
            };
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line);
            if !more {
                return Ok((code, lines));
            }
        }
        Err(answer(
            &format!("a reply of over {MAX_LINES} lines"),
            &lines[..3],
        ))
    }

    /// The next SMTP or FTP reply must have code `want`; else `what`, quoting it.
    async fn expect(&mut self, want: u16, what: &str) -> Result<(), Refusal> {
        let (code, lines) = self.coded_reply().await?;
        if code == want {
            Ok(())
        } else {
            Err(answer(what, &lines))
        }
    }

    /// The dialogue is over: nothing may be left unread, as it would come before the TLS
    /// handshake's first byte.
    fn done(&self) -> Result<(), Refusal> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(answer(
                "the server sent more after agreeing to TLS, before the handshake",
                &[self.text_from(0)],
            ))
        }
    }

    fn text_from(&self, at: usize) -> String {
        String::from_utf8_lossy(self.buf.get(at..).unwrap_or_default()).into_owned()
    }
}

/// A refusal quoting the server's lines.
fn answer(what: &str, lines: &[String]) -> Refusal {
    let quoted = lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" / ");
    let quoted = crate::model::visible(&quoted);
    Refusal::Answer(format!("{what}: \"{}\"", crate::model::readable(&quoted)))
}

fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Where the first of `needles` ends in `hay`.
fn find_any(hay: &[u8], needles: &[&[u8]]) -> Option<usize> {
    needles
        .iter()
        .filter_map(|n| find(hay, n).map(|p| p + n.len()))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_lines_are_quoted_without_their_control_characters() {
        // A terminal escape in a banner would repaint the summary of whoever reads it.
        let Refusal::Answer(text) = answer(
            "the greeting is not 220",
            &["554 \u{1b}[2Jgo away\u{7}".to_string()],
        ) else {
            panic!("an answer")
        };
        assert_eq!(
            text,
            "the greeting is not 220: \"554 \\u{1b}[2Jgo away\\u{7}\""
        );
    }

    #[test]
    fn choices_read_any_case_and_name_the_protocols_on_error() {
        assert_eq!(StarttlsChoice::parse("AUTO"), Ok(StarttlsChoice::Auto));
        assert_eq!(StarttlsChoice::parse("none"), Ok(StarttlsChoice::Off));
        assert_eq!(
            StarttlsChoice::parse("Smtp"),
            Ok(StarttlsChoice::Use(Starttls::Smtp))
        );
        let e = StarttlsChoice::parse("smtps").unwrap_err();
        assert!(
            e.contains("\"smtps\"") && e.contains("imap") && e.contains("postgres"),
            "{e}"
        );
        assert_eq!(StarttlsChoice::Auto.for_port(587), Some(Starttls::Smtp));
        assert_eq!(StarttlsChoice::Auto.for_port(465), None);
        assert_eq!(StarttlsChoice::Auto.for_port(443), None);
        assert_eq!(StarttlsChoice::Off.for_port(25), None);
        assert_eq!(
            StarttlsChoice::Use(Starttls::Ldap).for_port(10389),
            Some(Starttls::Ldap)
        );
    }

    #[test]
    fn the_ldap_request_is_well_formed_ber() {
        let (rest, msg) = Any::from_ber(&LDAP_START_TLS).unwrap();
        assert!(rest.is_empty());
        let (rest, id) = Integer::from_ber(msg.data).unwrap();
        assert_eq!(id.as_u32().unwrap(), 1);
        let (rest2, op) = Any::from_ber(rest).unwrap();
        assert!(rest2.is_empty());
        assert_eq!((op.class(), op.tag().0), (Class::Application, 23));
        assert_eq!(&op.data[2..], b"1.3.6.1.4.1.1466.20037");
    }

    #[test]
    fn ldap_answers_are_read_for_their_result_code() {
        // ExtendedResponse { resultCode, matchedDN "", diagnosticMessage } in a message 1.
        fn response(code: u8, diagnostic: &[u8]) -> Vec<u8> {
            let mut op = vec![0x0a, 0x01, code, 0x04, 0x00, 0x04, diagnostic.len() as u8];
            op.extend_from_slice(diagnostic);
            let mut content = vec![0x02, 0x01, 0x01, 0x78, op.len() as u8];
            content.extend(op);
            let mut m = vec![0x30, content.len() as u8];
            m.extend(content);
            m
        }
        let ok = response(0, b"");
        let (_, m) = Any::from_ber(&ok).unwrap();
        assert!(ldap_result(m.data).is_ok());
        let no = response(2, b"unsupported extended operation");
        let (_, m) = Any::from_ber(&no).unwrap();
        match ldap_result(m.data) {
            Err(Refusal::Answer(text)) => assert_eq!(
                text,
                "StartTLS was refused with resultCode 2 (protocolError: StartTLS not supported): \"unsupported extended operation\""
            ),
            other => panic!("{other:?}"),
        }
        // Truncated: more must be read, not an error.
        assert!(matches!(
            Any::from_ber(&ok[..ok.len() - 1]),
            Err(nom::Err::Incomplete(_))
        ));
    }
}
