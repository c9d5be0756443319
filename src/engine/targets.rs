//! Target lists, read lazily: plain lines or a CSV with a `host` column.
//!
//! Plain lines: `host`, `host:port`, `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]:port`,
//! `host@IP[:port]` (pin the address, keep SNI = host), CIDR blocks (every address, no SNI),
//! any of the single-endpoint forms as a URL (`smtp://host`, `https://host:8443/path`),
//! `# comments` and blank lines. A line that cannot be used becomes a [`TargetError`] naming
//! file, line and reason; reading goes on.

use super::starttls::StarttlsChoice;
use crate::csvlines::{tracked, Lines, Tracked};
use ipnet::IpNet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;

/// Largest CIDR block accepted on one line (a /8 of IPv4).
pub const MAX_CIDR_ADDRESSES: u128 = 1 << 24;

/// One usable line of a target list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A DNS name, resolved at sweep time unless pinned to an address.
    Name {
        /// A-label (punycode), lowercase, no trailing dot.
        name: String,
        /// TCP port.
        port: u16,
        /// Address to connect to instead of resolving (`host@IP`).
        pin: Option<IpAddr>,
        /// SNI to send when it differs from the name (CSV `sni` column).
        sni: Option<String>,
        /// Free label carried into the reports.
        label: Option<String>,
        /// Whether it speaks a plaintext protocol before TLS (CSV `starttls` column); the
        /// sweep's `--starttls` when not given.
        starttls: Option<StarttlsChoice>,
    },
    /// A bare address: connect without SNI unless one is given.
    Addr {
        /// The address.
        ip: IpAddr,
        /// TCP port.
        port: u16,
        /// SNI to send (CSV `sni` column), none by default.
        sni: Option<String>,
        /// Free label carried into the reports.
        label: Option<String>,
        /// Whether it speaks a plaintext protocol before TLS (CSV `starttls` column); the
        /// sweep's `--starttls` when not given.
        starttls: Option<StarttlsChoice>,
    },
    /// Every address of a block, without SNI unless one is given (`name@block`, a CSV
    /// `sni` column): a pool's subnet asked for the pool's name.
    Cidr {
        /// The block.
        net: IpNet,
        /// TCP port.
        port: u16,
        /// SNI to send to every address.
        sni: Option<String>,
    },
}

impl Target {
    fn port_mut(&mut self) -> &mut u16 {
        match self {
            Target::Name { port, .. } | Target::Addr { port, .. } | Target::Cidr { port, .. } => {
                port
            }
        }
    }
}

/// The port a target is given while a list's targets are read for several default ports
/// ([`TargetReader::with_ports`], [`on_ports`]): no target can name it (0 is refused), so
/// a target with it named none.
pub const NO_PORT: u16 = 0;

/// `ports` without repeats, in their order: the ports a target that names none is scanned
/// on.
pub fn distinct_ports(ports: &[u16]) -> impl Iterator<Item = u16> + '_ {
    ports
        .iter()
        .enumerate()
        .filter(|(i, p)| !ports[..*i].contains(p))
        .map(|(_, &p)| p)
}

/// `t`, read with the default port [`NO_PORT`], on each of `ports` when it named none
/// (`--port 443,8443`), else as it is.
pub fn on_ports(mut t: Target, ports: &[u16], out: &mut Vec<Target>) {
    if *t.port_mut() != NO_PORT {
        out.push(t);
        return;
    }
    for p in distinct_ports(ports) {
        let mut one = t.clone();
        *one.port_mut() = p;
        out.push(one);
    }
    if ports.is_empty() {
        *t.port_mut() = 443;
        out.push(t);
    }
}

/// The places a list read for several ports named with a port of their own that is one of
/// them (`host:8443`, `10.0.0.5:8443`, a CSV `port` cell, beside `--port 443,8443`): there
/// the port was asked for, not merely tried as every name is on each port of the sweep.
/// Filled by the reader ([`TargetReader::named_ports`]), read once the sweep is over.
#[derive(Debug, Default)]
pub struct NamedPorts {
    /// Names and addresses with their port, hashed ([`place_key`]); 6 bytes each. Made at
    /// the first: most lists name none (its buckets alone are 96 KiB).
    places: Option<super::seen::Seen>,
    /// Blocks with their port: a block's addresses are not kept one by one.
    blocks: Vec<(IpNet, u16)>,
}

/// The key of a name or an address on a port in [`NamedPorts`].
fn place_key(place: Result<&str, IpAddr>, port: u16) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one((place, port))
}

impl NamedPorts {
    fn add(&mut self, t: &Target) {
        let key = match t {
            Target::Name { name, port, .. } => place_key(Ok(name), *port),
            Target::Addr { ip, port, .. } => place_key(Err(*ip), *port),
            Target::Cidr { net, port, .. } => return self.blocks.push((*net, *port)),
        };
        self.places.get_or_insert_with(Default::default).insert(key);
    }

    /// Whether a target named the endpoint's port for its host or its address, as a
    /// deployment endpoint in the records can ([`crate::verdict::Identities::placed_on_port`]).
    pub fn names(&self, o: &crate::model::Observation) -> bool {
        let placed = |key| self.places.as_ref().is_some_and(|p| p.contains(key));
        placed(place_key(Ok(&o.host), o.port))
            || o.ip.is_some_and(|ip| {
                placed(place_key(Err(ip), o.port))
                    || (self.blocks.iter()).any(|&(net, port)| port == o.port && net.contains(&ip))
            })
    }
}

/// A target line that could not be used.
pub type TargetError = crate::model::LineError;

/// The longest target line read (a host name is at most 253 bytes): past it the line is
/// reported and skipped without being held, so a binary file given by mistake costs no
/// memory.
pub const MAX_LINE: usize = 4096;

/// Input quoted in an error, cut to a readable length.
fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    const KEEP: usize = 100;
    match s.char_indices().nth(KEEP) {
        None => s.into(),
        Some((cut, _)) => format!("{}... ({} bytes)", &s[..cut], s.len()).into(),
    }
}

/// Converts a host name to its A-label form, lowercased, without a trailing dot.
pub fn normalize_host(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("empty host name".into());
    }
    if let Some(bad) = trimmed.chars().find(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '/' | '\\' | '@' | ',' | '"' | '\'' | '[' | ']' | ':' | '#'
            )
    }) {
        // The two slips seen in hand-made lists get the fix with the fault.
        let hint = match bad {
            ',' | '\t' => ": a CSV target list needs a header line naming a `host` column",
            c if c.is_whitespace() => ": write host:port",
            _ => "",
        };
        return Err(format!(
            "host name \"{}\" contains \"{}\"{hint}",
            shown(raw),
            bad.escape_default()
        ));
    }
    // A wildcard is a certificate's pattern, not a name a server answers to: asked as one,
    // DNS may even answer it (a wildcard record matches the label "*"), and the handshake
    // would send "*.example.com" as SNI.
    if trimmed.contains('*') {
        return Err(format!(
            "host name \"{}\" is a wildcard; list the names it covers",
            shown(raw)
        ));
    }
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| {
        format!(
            "host name \"{}\" is not a valid (internationalised) domain name",
            shown(raw)
        )
    })?;
    if ascii.len() > 253 {
        return Err(format!(
            "host name \"{}\" is longer than 253 characters",
            shown(raw)
        ));
    }
    if ascii.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(format!(
            "host name \"{}\" has an empty or over-long label",
            shown(raw)
        ));
    }
    // The IDNA mapping passes control characters and most ASCII punctuation through; no
    // resolver or SNI takes them, and a list cut from a binary file or a terminal holds them.
    // Underscores stay: internal names (and SRV-style labels) use them, and DNS answers them.
    if let Some(bad) = ascii
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "host name \"{}\" contains {}, which no host name holds",
            shown(&raw.escape_debug().to_string()),
            if bad.is_ascii_graphic() {
                format!("\"{bad}\"")
            } else {
                format!("the control character U+{:04X}", u32::from(bad))
            }
        ));
    }
    if ascii
        .split('.')
        .any(|l| l.starts_with('-') || l.ends_with('-'))
    {
        return Err(format!(
            "host name \"{}\" has a label starting or ending with \"-\"",
            shown(raw)
        ));
    }
    Ok(ascii)
}

/// A port as written in a target list or on the command line: 1-65535 (0 cannot be
/// connected to).
pub fn parse_port(s: &str) -> Result<u16, String> {
    let t = s.trim();
    // A whole number written as a decimal: pandas writes a number column that has an
    // empty cell as floats ("443.0"), and so do some spreadsheet exports.
    let t = match t.split_once('.') {
        Some((n, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => n,
        _ => t,
    };
    match t.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("bad port \"{}\" (1-65535)", shown(s))),
        Ok(p) => Ok(p),
    }
}

/// Parses one plain line (already stripped of comments and trimmed, non-empty): one of the
/// forms above, or the same written as a URL, `scheme://target[/path]`, whose scheme says
/// the dialogue before TLS and the default port (`smtp://mail.example.com`,
/// `ldaps://dc1.example.com`, `https://www.example.com:8443/login`; see
/// [`super::starttls::scheme`]). A URL names one endpoint, never a CIDR block.
pub fn parse_line(line: &str, default_port: u16) -> Result<Target, String> {
    parse_target(line, default_port, None)
}

/// [`parse_line`], with `port` (a CSV row's own) for a line that names none, over a URL
/// scheme's.
fn parse_target(line: &str, default_port: u16, port: Option<u16>) -> Result<Target, String> {
    let Some((scheme, rest)) = line.split_once("://") else {
        return parse_plain(line, port.unwrap_or(default_port));
    };
    let (choice, scheme_port) = super::starttls::scheme(scheme)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("no host in \"{}\"", shown(line)));
    }
    if authority.parse::<IpAddr>().is_ok()
        && rest[authority.len()..]
            .strip_prefix('/')
            .is_some_and(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "\"{}\" reads as a CIDR block, which a URL cannot name; list the block with --starttls",
            shown(line)
        ));
    }
    let mut target = parse_plain(authority, port.or(scheme_port).unwrap_or(default_port))?;
    match &mut target {
        Target::Name { starttls, .. } | Target::Addr { starttls, .. } => *starttls = Some(choice),
        Target::Cidr { .. } => {
            return Err(format!("\"{}\" names a CIDR block", shown(line)));
        }
    }
    Ok(target)
}

/// Parses one plain line that is not a URL.
fn parse_plain(line: &str, default_port: u16) -> Result<Target, String> {
    if let Some((host, addr)) = line.split_once('@') {
        let name = normalize_host(host)?;
        if addr.contains('/') {
            let (net, port) = parse_block(addr, default_port)?;
            return Ok(Target::Cidr {
                net,
                port,
                sni: Some(name),
            });
        }
        let (ip, port) = parse_addr_port(addr, default_port)?;
        return Ok(Target::Name {
            name,
            port,
            pin: Some(ip),
            sni: None,
            label: None,
            starttls: None,
        });
    }
    if line.contains('/') {
        let (net, port) = parse_block(line, default_port)?;
        return Ok(Target::Cidr {
            net,
            port,
            sni: None,
        });
    }
    if line.starts_with('[') || line.parse::<IpAddr>().is_ok() || looks_like_ipv4_port(line) {
        let (ip, port) = parse_addr_port(line, default_port)?;
        return Ok(Target::Addr {
            ip,
            port,
            sni: None,
            label: None,
            starttls: None,
        });
    }
    // No name has two colons: an IPv6 address that does not parse (with a zone index, or a
    // port written without brackets), which the split at the last colon would misname as
    // a bad port.
    if line.matches(':').count() > 1 {
        return Err(bad_ip(line));
    }
    let (host, port) = match line.rsplit_once(':') {
        Some((h, p)) => (h, parse_port(p)?),
        None => (line, default_port),
    };
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("bad IP address \"{}\"", shown(host)));
    }
    Ok(Target::Name {
        name: normalize_host(host)?,
        port,
        pin: None,
        sni: None,
        label: None,
        starttls: None,
    })
}

/// A CIDR block, with a port after it or not: `10.0.0.0/28`, `10.0.0.0/28:8443`,
/// `2001:db8::/120`, `[2001:db8::/120]:8443`.
fn parse_block(s: &str, default_port: u16) -> Result<(IpNet, u16), String> {
    let s = s.trim();
    let bad = || {
        let addr = s
            .trim_start_matches('[')
            .split('/')
            .next()
            .unwrap_or_default();
        if addr.parse::<IpAddr>().is_ok() {
            format!("bad CIDR block \"{}\"", shown(s))
        } else {
            // `host:port/login` is a URL without its scheme more often than a typo.
            format!(
                "\"{}\" is no CIDR block (no address before the \"/\"); a path needs the URL's scheme, https://{}",
                shown(s),
                shown(s)
            )
        }
    };
    let (block, port) = if let Some(rest) = s.strip_prefix('[') {
        let (block, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        (block, port)
    } else {
        match s.rsplit_once(':') {
            // An IPv4 block's port; an IPv6 block's last group has no '/' after it.
            Some((block, p)) if block.contains('/') && !block.contains(':') => {
                (block, parse_port(p)?)
            }
            _ => (s, default_port),
        }
    };
    let net: IpNet = block.parse().map_err(|_| bad())?;
    let size: u128 = 1u128 << (net.max_prefix_len() - net.prefix_len()).min(127);
    if size > MAX_CIDR_ADDRESSES {
        return Err(format!(
            "CIDR block \"{}\" has {size} addresses; split it (at most {MAX_CIDR_ADDRESSES} a line)",
            shown(s)
        ));
    }
    let net = net.trunc();
    if net.network().is_unspecified() {
        return Err(format!(
            "CIDR block \"{}\" holds {}, {UNSPECIFIED}",
            shown(s),
            net.network()
        ));
    }
    Ok((net, port))
}

/// Why an unspecified address is no target: CMDB and inventory exports write `0.0.0.0` for
/// "no address", and blocklists answer it for names they block, but a connection to it
/// reaches the machine certsweep runs on, whose certificate would be reported as the
/// target's.
const UNSPECIFIED: &str = "the unspecified address (a placeholder for \"no address\"), not a server's: connecting to it would reach this machine";

/// `ip` as a target's address: any but the unspecified one ([`UNSPECIFIED`]).
fn usable(ip: IpAddr) -> Result<IpAddr, String> {
    if ip.is_unspecified() {
        return Err(format!("{ip} is {UNSPECIFIED}"));
    }
    Ok(ip)
}

fn looks_like_ipv4_port(s: &str) -> bool {
    s.rsplit_once(':')
        .map(|(h, _)| h.parse::<std::net::Ipv4Addr>().is_ok())
        .unwrap_or(false)
}

/// The error of an address that does not parse, saying why where it can tell.
fn bad_ip(s: &str) -> String {
    let why = if s.contains('%') {
        ": zone indexes (%interface) are not supported; a link-local address cannot be scanned"
    } else if s.matches(':').count() > 1 {
        " (an IPv6 address with a port is written [IPv6]:port)"
    } else {
        ""
    };
    format!("bad IP address \"{}\"{why}", shown(s))
}

/// `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]`, `[IPv6]:port`.
fn parse_addr_port(s: &str, default_port: u16) -> Result<(IpAddr, u16), String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("bad address \"{}\": missing \"]\"", shown(s)))?;
        let ip: IpAddr = ip.parse().map_err(|_| bad_ip(ip))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => default_port,
            None => return Err(format!("bad address \"{}\"", shown(s))),
        };
        return Ok((usable(ip)?, port));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((usable(ip)?, default_port));
    }
    let (ip, port) = s.rsplit_once(':').ok_or_else(|| bad_ip(s))?;
    let ip: IpAddr = ip.parse().map_err(|_| bad_ip(ip))?;
    Ok((usable(ip)?, parse_port(port)?))
}

fn strip_comment(line: &str) -> &str {
    let cut = if line.trim_start().starts_with('#') {
        0
    } else {
        line.find(" #")
            .or_else(|| line.find("\t#"))
            .unwrap_or(line.len())
    };
    line[..cut].trim()
}

/// Column positions of a CSV target list.
#[derive(Debug, Clone, Default)]
struct CsvColumns {
    /// The delimiter the header was written with.
    delimiter: u8,
    /// None in a list of addresses alone (a CMDB's `IP Address` column).
    host: Option<usize>,
    port: Option<usize>,
    ip: Option<usize>,
    sni: Option<usize>,
    label: Option<usize>,
    starttls: Option<usize>,
}

/// What one bounded line read found.
pub(crate) enum Line {
    /// A line (possibly the last, without a newline) is in the buffer.
    Read,
    /// A line read whole that was not UTF-8: read as Windows-1252
    /// ([`crate::csvlines::text_of`]).
    ReadNotUtf8,
    /// The input ended.
    End,
    /// A line longer than [`MAX_LINE`], skipped up to its newline; its length in bytes.
    TooLong(usize),
}

/// Reads one line into `buf` like `read_line`, but never holds more than [`MAX_LINE`] bytes
/// of it: a longer line is consumed in place and reported.
pub(crate) fn read_bounded_line(r: &mut dyn BufRead, buf: &mut String) -> io::Result<Line> {
    // The line is read into `buf`'s own allocation, so a long list reuses one buffer as
    // `read_line` did.
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    let n = r.take(MAX_LINE as u64 + 1).read_until(b'\n', &mut bytes)?;
    if n == 0 {
        return Ok(Line::End);
    }
    if n > MAX_LINE && bytes.last() != Some(&b'\n') {
        let mut len = n;
        loop {
            let chunk = r.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    r.consume(i + 1);
                    len += i;
                    break;
                }
                None => {
                    let k = chunk.len();
                    r.consume(k);
                    len += k;
                }
            }
        }
        return Ok(Line::TooLong(len));
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            *buf = text;
            Ok(Line::Read)
        }
        Err(e) => {
            *buf = crate::csvlines::text_of(e.as_bytes()).0.into_owned();
            Ok(Line::ReadNotUtf8)
        }
    }
}

enum Mode {
    Plain,
    Csv(
        CsvColumns,
        Box<csv::Reader<Tracked<Box<dyn BufRead + Send>>>>,
        Lines,
    ),
}

/// Lines (or CSV rows) of a list read as Windows-1252, shared with whoever tells of them.
pub type NotUtf8 = std::sync::Arc<std::sync::atomic::AtomicU64>;

/// Where and why a list stopped being read before its end (a read error: the targets after
/// it were never seen), shared with whoever tells of it.
pub type Unread = std::sync::Arc<std::sync::OnceLock<String>>;

/// A lazy reader of a target list; yields one item per usable or bad line.
pub struct TargetReader {
    file: String,
    default_port: u16,
    lines: Box<dyn BufRead + Send>,
    line_no: u64,
    mode: Option<Mode>,
    buf: String,
    /// The further targets of a CSV row whose `ip` cell lists several addresses.
    pending: Vec<Target>,
    not_utf8: NotUtf8,
    unread: Unread,
    /// The line of the CSV header or of the last row read.
    csv_line: u64,
    /// The delimiter an Excel `sep=` first line named.
    sep: Option<u8>,
    /// The default ports when there are several ([`TargetReader::with_ports`]).
    ports: Vec<u16>,
    /// The further ports of the target just given, which named none.
    spread: Vec<Target>,
    /// The targets that named one of `ports` themselves.
    named: std::sync::Arc<std::sync::Mutex<NamedPorts>>,
}

impl TargetReader {
    /// Opens `path` (`-` for standard input).
    pub fn open(path: &str, default_port: u16) -> io::Result<Self> {
        let inner: Box<dyn Read + Send> = if path == "-" {
            crate::wait::stdin()?
        } else {
            let f = File::open(Path::new(path))?;
            // Opening a directory succeeds; only reading it fails, which would look like a
            // bad first line.
            if f.metadata()?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a directory, not a target list",
                ));
            }
            Box::new(f)
        };
        Ok(Self::from_reader(path, inner, default_port))
    }

    /// Reads from any reader; `name` is used in error messages.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>, default_port: u16) -> Self {
        // A list kept in a workbook is read as the CSV text of its sheet with a header.
        let r = crate::sheet::text_or_sheet(r, |row| {
            matches!(csv_header(&row.join(","), None), Some(Ok(_)))
        });
        // A list saved as Excel's "Unicode Text" is UTF-16: read as UTF-8 as it streams.
        let text = crate::utf16::Utf8Text::new(r);
        // Lines ended by a lone CR (Excel for Mac's "CSV (Macintosh)") are lines too.
        let text = crate::csvlines::LoneCr::new(BufReader::new(text));
        TargetReader {
            file: name.to_string(),
            default_port,
            lines: Box::new(BufReader::with_capacity(64 * 1024, text)),
            line_no: 0,
            mode: None,
            buf: String::new(),
            pending: Vec::new(),
            not_utf8: NotUtf8::default(),
            unread: Unread::default(),
            csv_line: 0,
            sep: None,
            ports: Vec::new(),
            spread: Vec::new(),
            named: Default::default(),
        }
    }

    /// The same reading each target that names no port on every one of `ports`, in their
    /// order (`--port 443,8443,636`: a subnet's TLS services found on any of them). One port
    /// is the default port as given to [`TargetReader::open`].
    pub fn with_ports(mut self, ports: &[u16]) -> Self {
        if ports.len() > 1 {
            self.default_port = NO_PORT;
            self.ports = ports.to_vec();
        }
        self
    }

    /// The count of lines (or CSV rows) that were not UTF-8 and were read as Windows-1252
    /// ([`crate::csvlines::text_of`]), to be told after the sweep.
    pub fn not_utf8(&self) -> NotUtf8 {
        NotUtf8::clone(&self.not_utf8)
    }

    /// Set when a read error ended the list before its end ([`Unread`]).
    pub fn unread(&self) -> Unread {
        Unread::clone(&self.unread)
    }

    /// The places the list named with one of the several ports of [`TargetReader::with_ports`]
    /// as their own, complete once the list has been read to its end.
    pub fn named_ports(&self) -> std::sync::Arc<std::sync::Mutex<NamedPorts>> {
        std::sync::Arc::clone(&self.named)
    }

    /// Ends the reading at a read error, which will not recover; the error is reported as
    /// line `line`'s.
    fn stop_reading(&mut self, line: u64, e: &dyn std::fmt::Display) {
        let _ = self.unread.set(format!("{}:{line}: {e}", self.file));
        self.mode = Some(Mode::Plain);
        self.lines = Box::new(io::empty());
    }

    fn count_not_utf8(&self) {
        self.not_utf8
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn err(&self, line: u64, field: Option<&str>, reason: String) -> TargetError {
        TargetError {
            file: self.file.clone(),
            line,
            field: field.map(str::to_string),
            reason,
        }
    }

    fn next_plain(&mut self) -> Option<Result<Target, TargetError>> {
        loop {
            self.buf.clear();
            match read_bounded_line(&mut self.lines, &mut self.buf) {
                Ok(Line::End) => return None,
                Ok(Line::Read) => {}
                Ok(Line::ReadNotUtf8) => self.count_not_utf8(),
                Ok(Line::TooLong(len)) => {
                    self.line_no += 1;
                    let reason = format!(
                        "line of {len} bytes is not a target (at most {MAX_LINE}; a binary file?)"
                    );
                    return Some(Err(self.err(self.line_no, None, reason)));
                }
                Err(e) => {
                    self.line_no += 1;
                    let reason = if e.kind() == io::ErrorKind::InvalidData {
                        "line is not valid UTF-8".to_string()
                    } else {
                        format!("read error: {e}")
                    };
                    let err = self.err(self.line_no, None, reason);
                    if e.kind() != io::ErrorKind::InvalidData {
                        self.stop_reading(self.line_no, &e);
                    }
                    return Some(Err(err));
                }
            }
            self.line_no += 1;
            let line = strip_comment(self.buf.trim_start_matches('\u{feff}'));
            let line = crate::csvlines::unquoted(line).to_string();
            if line.is_empty() {
                continue;
            }
            if self.mode.is_none() {
                // Excel's `sep=;` line names the header's delimiter.
                if self.sep.is_none() {
                    if let Some((d, _)) = crate::csvlines::sep_directive(line.as_bytes()) {
                        self.sep = Some(d);
                        continue;
                    }
                }
                if let Some(cols) = csv_header(&line, self.sep) {
                    let cols = match cols {
                        Ok(c) => c,
                        Err(reason) => {
                            self.mode = Some(Mode::Plain);
                            self.lines = Box::new(io::empty());
                            return Some(Err(self.err(self.line_no, None, reason)));
                        }
                    };
                    let rest = std::mem::replace(&mut self.lines, Box::new(io::empty()));
                    let (rest, lines) = tracked(rest, self.line_no + 1, Some(b'#'), cols.delimiter);
                    let rdr = csv::ReaderBuilder::new()
                        .has_headers(false)
                        .flexible(true)
                        .comment(Some(b'#'))
                        .delimiter(cols.delimiter)
                        .from_reader(rest);
                    self.mode = Some(Mode::Csv(cols, Box::new(rdr), lines));
                    self.csv_line = self.line_no;
                    return self.next_csv();
                }
                self.mode = Some(Mode::Plain);
                if lone_header(&line) {
                    continue;
                }
            }
            return Some(
                parse_line(&line, self.default_port).map_err(|r| self.err(self.line_no, None, r)),
            );
        }
    }

    fn next_csv(&mut self) -> Option<Result<Target, TargetError>> {
        let Some(Mode::Csv(cols, rdr, lines)) = &mut self.mode else {
            return None;
        };
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        // A failing reader does not recover. The error has no position:
                        // the line is the one after the last row read.
                        let line = self.csv_line + 1;
                        let err = self.err(line, None, format!("read error: {io}"));
                        self.stop_reading(line, io);
                        return Some(Err(err));
                    }
                    let line = lines.of(e.position());
                    return Some(Err(self.err(line, None, format!("bad CSV: {e}"))));
                }
            }
            let line = lines.of(rec.position());
            self.csv_line = line;
            let mut not_utf8 = false;
            let cells: Vec<std::borrow::Cow<'_, str>> = rec
                .iter()
                .map(|raw| {
                    let (text, decoded) = crate::csvlines::text_of(raw);
                    not_utf8 |= decoded;
                    text
                })
                .collect();
            if cells.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            // The last record, holding every row after the quote in one cell: none of them.
            if let Some(u) = lines.swallowed(rec.position()) {
                return Some(Err(u.error(&self.file)));
            }
            let cols = cols.clone();
            if not_utf8 {
                self.count_not_utf8();
            }
            return Some(
                self.csv_target(&cols, &cells, line)
                    .map(|(first, mut more)| {
                        // Popped from the back: the row's order.
                        more.reverse();
                        self.pending = more;
                        first
                    }),
            );
        }
    }

    fn csv_target(
        &self,
        cols: &CsvColumns,
        rec: &[std::borrow::Cow<'_, str>],
        line: u64,
    ) -> Result<(Target, Vec<Target>), TargetError> {
        // A cell saying there is none (`N/A`, `-`, ...) is an empty one, except a host's:
        // a single-label name may be any word.
        let cell = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(|cell| cell.trim())
                .filter(|s| !s.is_empty())
        };
        let get = |i: Option<usize>| cell(i).filter(|s| !crate::csvlines::says_none(s));
        let host = cell(cols.host);
        let port_given = match get(cols.port) {
            Some(p) => Some(parse_port(p).map_err(|r| self.err(line, Some("port"), r))?),
            None => None,
        };
        // A load balancer pool's members, or a CMDB host's addresses: each is an endpoint
        // asked with the row's name.
        let pins: Vec<IpAddr> = match get(cols.ip) {
            Some(ips) => ips
                .split([';', ',', '|', ' ', '\n'])
                .filter(|ip| !ip.trim().is_empty() && !crate::csvlines::says_none(ip))
                .map(|ip| {
                    ip.trim()
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<IpAddr>()
                        .map_err(|_| bad_ip(ip.trim()))
                        .and_then(usable)
                        .map_err(|r| self.err(line, Some("ip"), r))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let pin = pins.first().copied();
        let target = match (host, pin) {
            (Some(host), _) => self.csv_one(cols, host, line, port_given, pin, &get)?,
            // No name: each address is scanned as a bare one, with the row's SNI if any.
            (None, Some(ip)) => {
                self.csv_one(cols, &ip.to_string(), line, port_given, None, &get)?
            }
            (None, None) => {
                let (field, reason) = match (cols.host, cols.ip) {
                    (Some(_), Some(_)) => ("host", "empty host and ip"),
                    (Some(_), None) => ("host", "empty host"),
                    (None, _) => ("ip", "empty ip"),
                };
                return Err(self.err(line, Some(field), reason.into()));
            }
        };
        let mut more = Vec::new();
        for &ip in pins.iter().skip(1) {
            let mut t = target.clone();
            match &mut t {
                Target::Name { pin, .. } => *pin = Some(ip),
                Target::Addr { ip: at, .. } => *at = ip,
                Target::Cidr { .. } => continue,
            }
            more.push(t);
        }
        Ok((target, more))
    }

    /// The target of a CSV row with the address `pin` (its `ip` cell's first).
    fn csv_one<'r>(
        &self,
        cols: &CsvColumns,
        host: &str,
        line: u64,
        port_given: Option<u16>,
        pin: Option<IpAddr>,
        get: &dyn Fn(Option<usize>) -> Option<&'r str>,
    ) -> Result<Target, TargetError> {
        let port = port_given.unwrap_or(self.default_port);
        let sni = match get(cols.sni) {
            Some(s) => Some(normalize_host(s).map_err(|r| self.err(line, Some("sni"), r))?),
            None => None,
        };
        // Written into every report row of the target: its control characters escaped.
        let label = get(cols.label).map(|l| crate::model::visible(l).into_owned());
        let starttls = match get(cols.starttls) {
            Some(s) => {
                Some(StarttlsChoice::parse(s).map_err(|r| self.err(line, Some("starttls"), r))?)
            }
            None => None,
        };
        if host.contains("://") {
            // A URL (a deployment map's form): its port, else the row's, else its scheme's;
            // its scheme's dialogue unless the row's starttls column says otherwise; the
            // other columns apply as to a name.
            let target = parse_target(host, self.default_port, port_given)
                .map_err(|r| self.err(line, Some("host"), r))?;
            return Ok(match target {
                Target::Name {
                    name,
                    port,
                    pin: url_pin,
                    starttls: scheme,
                    ..
                } => Target::Name {
                    name,
                    port,
                    pin: pin.or(url_pin),
                    sni,
                    label,
                    starttls: starttls.or(scheme),
                },
                Target::Addr {
                    ip,
                    port,
                    starttls: scheme,
                    ..
                } => Target::Addr {
                    ip: pin.unwrap_or(ip),
                    port,
                    sni,
                    label,
                    starttls: starttls.or(scheme),
                },
                cidr @ Target::Cidr { .. } => cidr,
            });
        }
        if host.contains('/') {
            // A pool's subnet, asked for the row's `sni` (its name) at every address.
            if pin.is_some() {
                return Err(self.err(
                    line,
                    Some("ip"),
                    "an ip column cannot pin a CIDR block".into(),
                ));
            }
            let (net, port) =
                parse_block(host, port).map_err(|r| self.err(line, Some("host"), r))?;
            return Ok(Target::Cidr { net, port, sni });
        }
        let bare = host.trim_matches(|c| c == '[' || c == ']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let ip = usable(ip).map_err(|r| self.err(line, Some("host"), r))?;
            return Ok(Target::Addr {
                ip: pin.unwrap_or(ip),
                port,
                sni,
                label,
                starttls,
            });
        }
        let name = normalize_host(host).map_err(|r| self.err(line, Some("host"), r))?;
        Ok(Target::Name {
            name,
            port,
            pin,
            sni,
            label,
            starttls,
        })
    }
}

/// A target list column's role from its header: the documented names, and the ones CMDB and
/// spreadsheet exports use for them (`Hostname`, `FQDN`, `IP Address`), matched case- and
/// punctuation-insensitively.
fn column_role(header: &str) -> Option<(&'static str, Rank)> {
    let k = crate::csvlines::key(header);
    Some(match k.as_str() {
        "host" | "hostname" | "fqdn" | "dnsname" | "server" | "servername" | "domain" => {
            ("host", Rank::Named)
        }
        // Names a list may give its hosts, but also a label's column: a host column of the
        // names above wins over them.
        "name" | "target" | "endpoint" | "url" | "uri" => ("host", Rank::Loose),
        "ip" | "ipaddress" | "address" | "ipv4" | "ipv6" => ("ip", Rank::Named),
        "port" => ("port", Rank::Named),
        "sni" => ("sni", Rank::Named),
        "label" => ("label", Rank::Named),
        "starttls" => ("starttls", Rank::Named),
        _ => return None,
    })
}

/// How surely a header names its column's role: of two columns with one role, the surer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Rank {
    Named,
    Loose,
}

/// Whether a line is one header word of a one-column list (`Hostname`, `FQDN`, `URL`,
/// `IP Address`): a spreadsheet's column of targets saved as text. Such a line is no target.
fn lone_header(line: &str) -> bool {
    // `line` is unquoted already (`csvlines::unquoted`).
    !line.contains([',', ';', '\t']) && matches!(column_role(line), Some(("host" | "ip", _)))
}

/// Recognises a CSV header line: separated by commas (or the semicolons or tabs of a
/// spreadsheet's export) with a host or an ip column ([`column_role`]).
fn csv_header(line: &str, sep: Option<u8>) -> Option<Result<CsvColumns, String>> {
    let delimiters = match sep {
        Some(d) => vec![char::from(d)],
        None => vec![',', ';', '\t'],
    };
    let (delimiter, fields) = delimiters.into_iter().find_map(|d| {
        let fields: Vec<Option<(&'static str, Rank)>> = line
            .split(d)
            .map(|f| column_role(f.trim().trim_matches('"')))
            .collect();
        let has = |role: &str| fields.iter().flatten().any(|(r, _)| *r == role);
        (fields.len() > 1 && (has("host") || has("ip"))).then_some((d as u8, fields))
    })?;
    // Of the columns of one role, the surest, then the first (a list with both Hostname
    // and FQDN takes the first; one with Name and Hostname, Hostname).
    let pos = |name: &str| {
        fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.filter(|(r, _)| *r == name).map(|(_, rank)| (rank, i)))
            .min()
            .map(|(_, i)| i)
    };
    let host = pos("host");
    Some(Ok(CsvColumns {
        delimiter,
        host,
        port: pos("port"),
        ip: pos("ip"),
        sni: pos("sni"),
        label: pos("label"),
        starttls: pos("starttls"),
    }))
}

impl Iterator for TargetReader {
    type Item = Result<Target, TargetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(t) = self.spread.pop() {
            return Some(Ok(t));
        }
        let next = match self.pending.pop() {
            Some(t) => Some(Ok(t)),
            None => match self.mode {
                Some(Mode::Csv(..)) => self.next_csv(),
                _ => self.next_plain(),
            },
        };
        if self.ports.is_empty() {
            return next;
        }
        // Several default ports: a target that named none on the first, the others waiting
        // in turn (taken from the end); one that named its own port as it is.
        let Some(Ok(mut t)) = next else { return next };
        let port = *t.port_mut();
        if port != NO_PORT {
            if self.ports.contains(&port) {
                // A poisoned lock only means a reader of it panicked; the set is whole.
                let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
                named.add(&t);
            }
            return Some(Ok(t));
        }
        let mut each = Vec::with_capacity(self.ports.len());
        on_ports(t, &self.ports, &mut each);
        let first = each.remove(0);
        self.spread.extend(each.into_iter().rev());
        Some(Ok(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(text: &str, ports: &[u16]) -> Vec<String> {
        TargetReader::from_reader("t", Box::new(io::Cursor::new(text.to_string())), ports[0])
            .with_ports(ports)
            .map(|t| match t {
                Ok(Target::Name {
                    name, port, pin, ..
                }) => match pin {
                    Some(ip) => format!("{name}@{ip}:{port}"),
                    None => format!("{name}:{port}"),
                },
                Ok(Target::Addr { ip, port, .. }) => format!("{ip}:{port}"),
                Ok(Target::Cidr { net, port, .. }) => format!("{net}:{port}"),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn several_default_ports_give_each_target_without_one_every_port() {
        let lines = "a.example\nb.example:8080\n10.0.0.0/31\nsmtp://mx.example\nbad:0\n";
        assert_eq!(
            on(lines, &[443, 8443, 443]),
            [
                "a.example:443",
                "a.example:8443",
                "b.example:8080",
                "10.0.0.0/31:443",
                "10.0.0.0/31:8443",
                "mx.example:25",
                "t:5: bad port \"0\" (1-65535)",
            ]
        );
        // A CSV row's addresses, each on every port; a row's own port stands.
        let csv = "host,ip,port\nc.example,192.0.2.1 192.0.2.2,\nd.example,,636\n";
        assert_eq!(
            on(csv, &[443, 8443]),
            [
                "c.example@192.0.2.1:443",
                "c.example@192.0.2.1:8443",
                "c.example@192.0.2.2:443",
                "c.example@192.0.2.2:8443",
                "d.example:636",
            ]
        );
        // One port: as before.
        assert_eq!(on("a.example\n", &[8443]), ["a.example:8443"]);
    }

    #[test]
    fn the_places_a_list_names_with_one_of_the_sweeps_ports_are_kept() {
        let lines = "a.example\nb.example:8443\n10.0.0.5:443\n10.1.0.0/30:8443\n\
                     c.example:636\nd.example@192.0.2.7:8443\n";
        let mut reader =
            TargetReader::from_reader("t", Box::new(io::Cursor::new(lines.to_string())), 443)
                .with_ports(&[443, 8443]);
        let named = reader.named_ports();
        assert_eq!(reader.by_ref().filter(Result::is_ok).count(), 7);
        let named = named.lock().unwrap();
        let at = |host: &str, ip: Option<&str>, port: u16| {
            let ip = ip.map(|i| i.parse::<IpAddr>().unwrap());
            let error = crate::model::ErrorInfo {
                class: crate::model::ErrorClass::ConnectRefused,
                message: String::new(),
            };
            let o = crate::model::Observation::failed(host.into(), ip, port, None, None, error);
            named.names(&o)
        };
        // Named with its port: the name on any address, the address, the block's addresses.
        assert!(at("b.example", Some("192.0.2.1"), 8443));
        assert!(at("b.example", None, 8443));
        assert!(at("10.0.0.5", Some("10.0.0.5"), 443));
        assert!(at("10.1.0.2", Some("10.1.0.2"), 8443));
        assert!(at("d.example", Some("192.0.2.7"), 8443));
        // Tried on each port of the sweep, or named on another port, or not on one of them.
        assert!(!at("a.example", Some("192.0.2.1"), 443));
        assert!(!at("a.example", Some("192.0.2.1"), 8443));
        assert!(!at("b.example", Some("192.0.2.1"), 443));
        assert!(!at("10.0.0.5", Some("10.0.0.5"), 8443));
        assert!(!at("10.1.0.2", Some("10.1.0.2"), 443));
        assert!(!at("10.1.0.9", Some("10.1.0.9"), 8443));
        assert!(!at("c.example", None, 636));
        assert!(!at("d.example", Some("192.0.2.7"), 443));
    }

    fn read(text: &str) -> Vec<Result<Target, TargetError>> {
        TargetReader::from_reader("t.txt", Box::new(io::Cursor::new(text.to_string())), 443)
            .collect()
    }

    /// Gives `data`, then fails at every read, as a file on a storage that went away does.
    struct FailingAfter(io::Cursor<Vec<u8>>);

    impl Read for FailingAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("the disk went away")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_ends_the_list_once_and_says_where() {
        // Plain lines and a CSV list: the targets before it, one error naming the line, then
        // the end, and the place kept for the run's summary and exit code.
        for (text, first_error_line) in [
            ("a.example\nb.example\n", 3),
            ("host,port\na.example,443\nb.example,8443\n", 4),
        ] {
            let reader = TargetReader::from_reader(
                "t.txt",
                Box::new(FailingAfter(io::Cursor::new(text.as_bytes().to_vec()))),
                443,
            );
            let unread = reader.unread();
            let out: Vec<_> = reader.take(10).collect();
            assert_eq!(out.len(), 3, "{text}: {out:?}");
            assert!(out[..2].iter().all(Result::is_ok), "{out:?}");
            let e = out[2].as_ref().unwrap_err();
            assert!(e.reason.contains("the disk went away"), "{e}");
            assert_eq!(
                unread.get().map(String::as_str),
                Some(format!("t.txt:{first_error_line}: the disk went away").as_str()),
                "{text}"
            );
        }
    }

    #[test]
    fn an_overlong_line_is_skipped_without_being_held() {
        // A binary file or a list without newlines given by mistake: one error, the next
        // line still read; the message quotes nothing of it (it used to print the whole
        // line, and a 200 MB line took 1 GB of memory).
        let text = format!("{}\nexample.com\n", "a".repeat(10_000_000));
        let out = read(&text);
        assert_eq!(out.len(), 2);
        let e = out[0].as_ref().unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.contains("10000000 bytes"), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
        assert!(matches!(&out[1], Ok(Target::Name { name, .. }) if name == "example.com"));
        // Within the limit, a bad name is quoted, cut to a readable length.
        let long = format!("{} x", "b".repeat(300));
        let e = read(&long).remove(0).unwrap_err();
        assert!(e.reason.contains("... (302 bytes)"), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
        // The last line without a newline, at the limit, is read.
        let edge = "c".repeat(MAX_LINE - 4) + ".com";
        let e = read(&edge).remove(0).unwrap_err();
        assert!(e.reason.contains("longer than 253"), "{e}");
    }

    #[test]
    fn plain_lines_of_every_form() {
        let out = read(
            "# fleet\n\nexample.com\nexample.com:8443\n192.0.2.1\n192.0.2.1:444\n[2001:db8::1]:8443\n\
             2001:db8::2\nwww.example.com@192.0.2.9:8443\n10.0.0.0/30\nBücher.example # idn\n",
        );
        let t: Vec<Target> = out.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(t.len(), 9);
        assert!(
            matches!(&t[0], Target::Name { name, port: 443, pin: None, .. } if name == "example.com")
        );
        assert!(matches!(&t[1], Target::Name { port: 8443, .. }));
        assert!(matches!(
            &t[2],
            Target::Addr {
                port: 443,
                sni: None,
                ..
            }
        ));
        assert!(matches!(&t[3], Target::Addr { port: 444, .. }));
        assert!(matches!(&t[4], Target::Addr { ip, port: 8443, .. } if ip.is_ipv6()));
        assert!(matches!(&t[5], Target::Addr { ip, port: 443, .. } if ip.is_ipv6()));
        assert!(
            matches!(&t[6], Target::Name { name, port: 8443, pin: Some(ip), .. } if name == "www.example.com" && ip.to_string() == "192.0.2.9")
        );
        assert!(matches!(&t[7], Target::Cidr { net, .. } if net.to_string() == "10.0.0.0/30"));
        assert!(matches!(&t[8], Target::Name { name, .. } if name == "xn--bcher-kva.example"));
    }

    #[test]
    fn bad_lines_are_reported_with_line_numbers_and_reading_goes_on() {
        let out = read("good.example\nbad.example:99999\n300.1.2.3:443\n[::1\nok.example:8443\n");
        assert!(out[0].is_ok());
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("bad port"), "{e}");
        let e = out[2].as_ref().unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("bad IP"), "{e}");
        assert_eq!(out[3].as_ref().unwrap_err().line, 4);
        assert!(out[4].is_ok());
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn an_ip_cell_saying_there_is_none_leaves_the_name_to_be_resolved() {
        // A CMDB export's placeholders: the rows were refused ("bad IP address \"N/A\"").
        let out = read(
            "host,ip,port,sni\napp1.example,N/A,N/A,-\napp2.example,#N/A,,\napp3.example,-,,\n,n/a,,\n",
        );
        for (i, name) in ["app1.example", "app2.example", "app3.example"]
            .iter()
            .enumerate()
        {
            assert!(
                matches!(&out[i], Ok(Target::Name { name: n, pin: None, port: 443, sni: None, .. }) if n == name),
                "{:?}",
                out[i]
            );
        }
        // With no host either, the row names nothing.
        assert_eq!(out[3].as_ref().unwrap_err().line, 5);
    }

    #[test]
    fn a_port_written_as_a_whole_decimal_is_that_port() {
        assert_eq!(parse_port("443.0"), Ok(443));
        assert_eq!(parse_port(" 8443.00 "), Ok(8443));
        for bad in ["443.5", "443.", ".0", "0.0", "65536.0", "443.0.0", "4e2"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        let out = read("host,port\nwww.example,443.0\n");
        assert!(
            matches!(&out[0], Ok(Target::Name { port: 443, .. })),
            "{out:?}"
        );
    }

    #[test]
    fn the_unspecified_address_is_no_target() {
        // Inventories write 0.0.0.0 for "no address"; a connection to it reaches this
        // machine, whose certificate would be reported as the target's.
        let out =
            read("0.0.0.0\n[::]:443\nwww.example@0.0.0.0:8443\n0.0.0.0/30\nhttps://0.0.0.0/\n");
        let reasons: Vec<String> = out
            .iter()
            .map(|r| r.as_ref().unwrap_err().reason.clone())
            .collect();
        let tail = "the unspecified address (a placeholder for \"no address\"), not a server's: connecting to it would reach this machine";
        assert_eq!(
            reasons,
            [
                format!("0.0.0.0 is {tail}"),
                format!(":: is {tail}"),
                format!("0.0.0.0 is {tail}"),
                format!("CIDR block \"0.0.0.0/30\" holds 0.0.0.0, {tail}"),
                format!("0.0.0.0 is {tail}"),
            ]
        );
        let out = read("host,ip\napp1.example,0.0.0.0\n0.0.0.0,\napp2.example,192.0.2.7\n");
        let e = out[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (2, Some("ip")), "{e}");
        let e = out[1].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (3, Some("host")), "{e}");
        assert!(out[2].is_ok());
    }

    #[test]
    fn an_ipv6_address_that_does_not_parse_is_named_as_one() {
        // Split at the last colon as a name's port, these were "bad port \"1%eth0\"".
        let out = read("fe80::1%eth0\n[fe80::1%eth0]:443\n2001:db8::g1:443\n");
        let reasons: Vec<String> = out
            .iter()
            .map(|r| r.as_ref().unwrap_err().reason.clone())
            .collect();
        assert_eq!(
            reasons,
            [
                "bad IP address \"fe80::1%eth0\": zone indexes (%interface) are not supported; a link-local address cannot be scanned",
                "bad IP address \"fe80::1%eth0\": zone indexes (%interface) are not supported; a link-local address cannot be scanned",
                "bad IP address \"2001:db8::g1:443\" (an IPv6 address with a port is written [IPv6]:port)",
            ]
        );
    }

    #[test]
    fn a_port_after_a_space_or_comma_is_told_how_to_write_it() {
        let out = read("a.example 443\nb.example,443\n");
        let e = out[0].as_ref().unwrap_err();
        assert!(e.reason.ends_with("contains \" \": write host:port"), "{e}");
        let e = out[1].as_ref().unwrap_err();
        assert!(
            e.reason
                .contains("needs a header line naming a `host` column"),
            "{e}"
        );
    }

    #[test]
    fn the_sample_lists_read_whole_and_the_workbook_as_its_csv() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/");
        let read_file = |name: &str| -> Vec<Result<Target, TargetError>> {
            TargetReader::open(&format!("{dir}{name}"), 443)
                .unwrap()
                .collect()
        };
        let plain = read_file("sample.txt");
        assert!(plain.iter().all(Result::is_ok), "{plain:?}");
        assert_eq!(plain.len(), 11);
        let csv: Vec<Target> = read_file("sample.csv")
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        let sheet: Vec<Target> = read_file("sample.xlsx")
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sheet, csv);
        assert_eq!(csv.len(), 9);
    }

    #[test]
    fn a_host_list_kept_in_a_workbook_is_read_with_its_rows() {
        // A title above the header; a bad port on the spreadsheet's row 4.
        let bytes = crate::sheet::test_workbook(
            0,
            &[
                &["DMZ hosts", "", ""],
                &["Hostname", "Port", "IP Address"],
                &["www.example.com", "8443", "192.0.2.5\n192.0.2.6"],
                &["api.example.com", "99999", ""],
            ],
        );
        let out: Vec<_> =
            TargetReader::from_reader("hosts.xlsx", Box::new(std::io::Cursor::new(bytes)), 443)
                .collect();
        let pins: Vec<String> = out
            .iter()
            .filter_map(|t| match t {
                Ok(Target::Name {
                    name, port, pin, ..
                }) => Some(format!("{name}:{port}@{pin:?}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            pins,
            [
                "www.example.com:8443@Some(192.0.2.5)",
                "www.example.com:8443@Some(192.0.2.6)"
            ]
        );
        let e = out.iter().find_map(|t| t.as_ref().err()).unwrap();
        assert_eq!((e.line, e.field.as_deref()), (4, Some("port")));
        let mut broken = TargetReader::from_reader(
            "x.xlsx",
            Box::new(std::io::Cursor::new(b"PK\x03\x04".to_vec())),
            443,
        );
        let e = broken.next().unwrap().unwrap_err();
        assert!(e.reason.contains("no readable workbook"), "{e}");
        assert!(broken.next().is_none());
    }

    #[test]
    fn a_csv_quote_never_closed_is_one_bad_line_where_it_opened() {
        let out = read("host,port\na.example,443\n\"b.example,443\nc.example,443\n");
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(&out[0], Ok(Target::Name { name, .. }) if name == "a.example"));
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.reason
                .contains("never closed: line 4 was read as part of one cell"),
            "{e}"
        );
    }

    #[test]
    fn names_no_resolver_takes_are_bad_lines() {
        // Bytes cut from a binary file or a terminal, punctuation, a hyphen at a label's
        // edge: each was a dns_error row (the control characters written into the reports).
        let out = read(
            "\u{0}\u{1}bin.example\nfoo\u{7f}.example\nshop!.example\n-lead.example\nend-.example\n\
             _acme-challenge.example\nok_under.example\nbücher.example\n",
        );
        let why = |i: usize| out[i].as_ref().unwrap_err().reason.clone();
        assert!(
            why(0).contains("the control character U+0000"),
            "{}",
            why(0)
        );
        assert!(why(0).contains("\\0\\u{1}bin.example"), "{}", why(0));
        assert!(why(1).contains("U+007F"), "{}", why(1));
        assert!(why(2).contains("contains \"!\""), "{}", why(2));
        assert!(
            why(3).contains("starting or ending with \"-\""),
            "{}",
            why(3)
        );
        assert!(
            why(4).contains("starting or ending with \"-\""),
            "{}",
            why(4)
        );
        assert_eq!(out[2].as_ref().unwrap_err().line, 3);
        for (i, name) in [
            (5, "_acme-challenge.example"),
            (6, "ok_under.example"),
            (7, "xn--bcher-kva.example"),
        ] {
            assert!(
                matches!(&out[i], Ok(Target::Name { name: n, .. }) if n == name),
                "{:?}",
                out[i]
            );
        }
    }

    #[test]
    fn a_wildcard_is_a_bad_line_not_a_name_to_resolve() {
        let out = read("*.example.com\nwww.example.com@192.0.2.1\n");
        let e = out[0].as_ref().unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.contains("is a wildcard"), "{e}");
        assert!(out[1].is_ok());
        let csv = read(
            "host,sni
192.0.2.1,*.example.com
*.example.com,
",
        );
        let e = csv[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (2, Some("sni")));
        let e = csv[1].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (3, Some("host")));
    }

    #[test]
    fn a_list_saved_as_unicode_text_is_read_as_it_streams() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "host\tport\nwww.example.com\t8443\napi.example.com\t443\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        // Then a lone surrogate: the lines before it are targets, the break an error.
        bytes.extend(0xDC00u16.to_le_bytes());
        let out: Vec<_> =
            TargetReader::from_reader("u.txt", Box::new(io::Cursor::new(bytes)), 443).collect();
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(
            matches!(&out[0], Ok(Target::Name { name, port: 8443, .. }) if name == "www.example.com"),
            "{out:?}"
        );
        assert!(
            matches!(&out[1], Ok(Target::Name { port: 443, .. })),
            "{out:?}"
        );
        let e = out[2].as_ref().unwrap_err();
        assert!(e.to_string().contains("not valid UTF-16"), "{e}");
    }

    /// Each target read as (name or address, port) and each bad line as its line number.
    fn summary(out: &[Result<Target, TargetError>]) -> Vec<Result<(String, u16), u64>> {
        out.iter()
            .map(|r| match r {
                Ok(Target::Name { name, port, .. }) => Ok((name.clone(), *port)),
                Ok(Target::Addr { ip, port, .. }) => Ok((ip.to_string(), *port)),
                Ok(other) => Ok((format!("{other:?}"), 0)),
                Err(e) => Err(e.line),
            })
            .collect()
    }

    #[test]
    fn lines_ended_by_a_lone_cr_are_lines() {
        // Excel for Mac's "CSV (Macintosh)" and old Mac text end lines with a CR alone: a
        // plain list was read as one line of all its targets, a CSV list as its header.
        let plain = [
            "# edge",
            "a.example",
            "b.example:8443",
            "",
            "bad:port",
            "192.0.2.1",
        ];
        let csv = [
            "host,port",
            "a.example,443",
            "# old",
            "b.example,8443",
            "c.example,x",
        ];
        for nl in ["\n", "\r\n", "\r"] {
            let want = [
                Ok(("a.example".to_string(), 443)),
                Ok(("b.example".to_string(), 8443)),
                Err(5),
                Ok(("192.0.2.1".to_string(), 443)),
            ];
            assert_eq!(summary(&read(&(plain.join(nl) + nl))), want, "{nl:?}");
            let want = [
                Ok(("a.example".to_string(), 443)),
                Ok(("b.example".to_string(), 8443)),
                Err(5),
            ];
            assert_eq!(summary(&read(&csv.join(nl))), want, "{nl:?}");
        }
    }

    #[test]
    fn lines_not_in_utf8_are_read_as_windows_1252_and_counted() {
        // Excel's plain "CSV" on Windows: an IDN or a label with an umlaut was a bad line.
        for text in [
            &b"b\xfccher.example\nplain.example\n"[..],
            &b"host;label\nb\xfccher.example;B\xfcro\nplain.example;web\n"[..],
        ] {
            let reader = TargetReader::from_reader("w.csv", Box::new(io::Cursor::new(text)), 443);
            let count = reader.not_utf8();
            let out: Vec<_> = reader.collect();
            assert_eq!(
                summary(&out),
                [
                    Ok(("xn--bcher-kva.example".to_string(), 443)),
                    Ok(("plain.example".to_string(), 443))
                ],
                "{text:?}"
            );
            assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 1);
            if let Ok(Target::Name { label: Some(l), .. }) = &out[0] {
                assert_eq!(l, "B\u{fc}ro");
            }
        }
    }

    #[test]
    fn cmdb_columns_addresses_alone_and_one_column_lists() {
        let out = |text: &str| summary(&read(text));
        let ok = |name: &str, port: u16| Ok::<_, u64>((name.to_string(), port));
        // Addresses alone: each bare, several in a cell; a row without one is a bad row.
        assert_eq!(
            out("IP Address,Port\n192.0.2.1,8443\n\"192.0.2.2; 192.0.2.3\",8444\n,9\n"),
            [
                ok("192.0.2.1", 8443),
                ok("192.0.2.2", 8444),
                ok("192.0.2.3", 8444),
                Err(4)
            ]
        );
        let e = read("IP Address,Port\n,9\n").remove(0).unwrap_err();
        assert_eq!(e.to_string(), "t.txt:2: field ip: empty ip");
        // An empty host beside an address: the address, asked for the row's SNI.
        let rows = read("host,ip,sni\n,192.0.2.7,www.example.com\nx.example,,\n");
        assert!(
            matches!(&rows[0], Ok(Target::Addr { sni: Some(s), .. }) if s == "www.example.com"),
            "{rows:?}"
        );
        assert_eq!(summary(&rows)[1], ok("x.example", 443));
        let e = read("host,ip,sni\n,,www.example.com\n")
            .remove(0)
            .unwrap_err();
        assert_eq!(e.to_string(), "t.txt:2: field host: empty host and ip");
        // Excel's `sep=` line names the delimiter and is no target; lines keep their numbers.
        assert_eq!(
            out("sep=;\nhost;port\na.example;8443\nb.example;x\n"),
            [ok("a.example", 8443), Err(4)]
        );
        // Looser names for the host column, which a surer one beats wherever it stands.
        assert_eq!(out("Name,Port\na.example,8443\n"), [ok("a.example", 8443)]);
        assert_eq!(
            out("name,hostname,port\nweb,b.example,8443\n"),
            [ok("b.example", 8443)]
        );
        assert_eq!(
            out("Endpoint;Port\nc.example;8443\n"),
            [ok("c.example", 8443)]
        );
        // One column saved as text: its header word is no target, quoted cells are cells.
        for text in [
            "Hostname\na.example\n\"b.example:8443\"\n",
            "\"FQDN\"\r\na.example\r\nb.example:8443\r\n",
            "URL\nhttps://a.example/\nhttps://b.example:8443/x\n",
        ] {
            assert_eq!(
                out(text),
                [ok("a.example", 443), ok("b.example", 8443)],
                "{text:?}"
            );
        }
        assert_eq!(out("IP Address\n192.0.2.1\n"), [ok("192.0.2.1", 443)]);
        // Only the first line can be a header: a later `hostname` is a target.
        assert_eq!(out("a.example\nhostname\n")[1], ok("hostname", 443));
    }

    #[test]
    fn csv_with_semicolons_or_tabs_from_a_spreadsheet() {
        for text in [
            "Host;Port;Label\nwww.example.com;8443;web\n",
            "host\tport\tlabel\nwww.example.com\t8443\tweb\n",
        ] {
            let out = read(text);
            assert_eq!(out.len(), 1, "{text:?}: {out:?}");
            assert!(
                matches!(&out[0], Ok(Target::Name { name, port: 8443, label: Some(l), .. }) if name == "www.example.com" && l == "web"),
                "{text:?}: {out:?}"
            );
        }
    }

    #[test]
    fn csv_from_a_cmdb_names_its_columns_its_own_way() {
        let out = read("Hostname,IP Address,Port,Owner\nwww.example.com,192.0.2.5,8443,ops\n");
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            matches!(&out[0], Ok(Target::Name { name, port: 8443, pin: Some(_), .. }) if name == "www.example.com"),
            "{out:?}"
        );
        let out = read("FQDN;Port\napi.example.com;443\n");
        assert!(
            matches!(&out[0], Ok(Target::Name { name, port: 443, .. }) if name == "api.example.com"),
            "{out:?}"
        );
    }

    #[test]
    fn csv_with_header() {
        let out = read(
            "host,port,ip,sni,label\nwww.example.com,8443,192.0.2.5,,web\n192.0.2.6,,,api.example.com,api\nx.example,abc,,,\ny.example,,,,\"rack\u{1b}[2J 7\"\n",
        );
        // A label goes into the reports: a terminal escape in it is shown, not obeyed.
        assert!(
            matches!(&out[3], Ok(Target::Name { label: Some(l), .. }) if l == "rack\\u{1b}[2J 7"),
            "{:?}",
            out[3]
        );
        assert!(
            matches!(&out[0], Ok(Target::Name { name, port: 8443, pin: Some(_), label: Some(l), .. }) if name == "www.example.com" && l == "web")
        );
        assert!(
            matches!(&out[1], Ok(Target::Addr { port: 443, sni: Some(s), .. }) if s == "api.example.com")
        );
        let e = out[2].as_ref().unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(e.field.as_deref(), Some("port"));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn generated_lists_read_back_to_the_targets_they_were_written_from() {
        // Targets written every way a list holds them (plain lines in each form, or CSV with
        // header aliases in any order, three delimiters, quoting, comments and blank lines
        // around) must read back to the same targets, in order, and nothing else.
        let mut rng = crate::testrng::XorShift::new(0x2545_F491_4F6C_DD1Du64);
        let mut next = |n: u64| rng.below(n);
        let labels = ["www", "api", "Shop", "xn--bcher-kva", "bücher", "a-b", "x1"];
        let tlds = ["example", "Example.COM", "test", "co.uk"];
        for round in 0..2_000 {
            let csv = next(2) == 0;
            let delim = [",", ";", "\t"][next(3) as usize];
            // Columns in a random order under one of their names.
            let mut cols: Vec<(&str, &str)> = vec![
                (
                    "host",
                    ["host", "Hostname", "FQDN", "DNS Name", "Server"][next(5) as usize],
                ),
                ("port", ["port", "Port"][next(2) as usize]),
                ("ip", ["ip", "IP Address", "Address"][next(3) as usize]),
                ("sni", ["sni", "SNI"][next(2) as usize]),
                ("label", ["label", "Label"][next(2) as usize]),
            ];
            for i in (1..cols.len()).rev() {
                cols.swap(i, next(i as u64 + 1) as usize);
            }
            let mut text = String::new();
            if csv {
                let header: Vec<&str> = cols.iter().map(|c| c.1).collect();
                text.push_str(&header.join(delim));
                text.push('\n');
            }
            let mut want: Vec<Target> = Vec::new();
            let mut ported: Vec<bool> = Vec::new();
            for _ in 0..1 + next(8) {
                if next(6) == 0 {
                    text.push_str(if csv { "\n" } else { "# a comment\n\n" });
                }
                let name = format!(
                    "{}.{}{}",
                    labels[next(labels.len() as u64) as usize],
                    tlds[next(tlds.len() as u64) as usize],
                    if next(5) == 0 { "." } else { "" }
                );
                let ascii = normalize_host(&name).expect("a good name");
                let port = (next(3) > 0).then(|| [443u16, 8443, 25, 636][next(4) as usize]);
                let v4: IpAddr = [192, 0, 2, next(250) as u8 + 1].into();
                let v6: IpAddr = format!("2001:db8::{:x}", next(0xfff) + 1)
                    .parse()
                    .expect("an address");
                let addr = if next(3) == 0 { v6 } else { v4 };
                let written_addr = |port: Option<u16>| match (addr, port) {
                    (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
                    (a, Some(p)) => format!("{a}:{p}"),
                    (a, None) => a.to_string(),
                };
                let at = port.unwrap_or(443);
                ported.push(port.is_some());
                if !csv {
                    let (line, t) = match next(4) {
                        0 => (
                            port.map_or(name.clone(), |p| format!("{name}:{p}")),
                            Target::Name {
                                name: ascii,
                                port: at,
                                pin: None,
                                sni: None,
                                label: None,
                                starttls: None,
                            },
                        ),
                        1 => (
                            format!("{name}@{}", written_addr(port)),
                            Target::Name {
                                name: ascii,
                                port: at,
                                pin: Some(addr),
                                sni: None,
                                label: None,
                                starttls: None,
                            },
                        ),
                        2 => (
                            written_addr(port),
                            Target::Addr {
                                ip: addr,
                                port: at,
                                sni: None,
                                label: None,
                                starttls: None,
                            },
                        ),
                        _ => {
                            let net: IpNet = match addr {
                                IpAddr::V4(a) => format!("{a}/30"),
                                IpAddr::V6(a) => format!("{a}/126"),
                            }
                            .parse()
                            .expect("a block");
                            // With a port after it, and asked for a name, or not.
                            let block = match (net, port) {
                                (IpNet::V6(n), Some(p)) => format!("[{n}]:{p}"),
                                (n, Some(p)) => format!("{n}:{p}"),
                                (n, None) => n.to_string(),
                            };
                            let named = next(2) == 0;
                            (
                                match named {
                                    true => format!("{name}@{block}"),
                                    false => block,
                                },
                                Target::Cidr {
                                    net: net.trunc(),
                                    port: at,
                                    sni: named.then_some(ascii),
                                },
                            )
                        }
                    };
                    let pad = ["", " ", "\t"][next(3) as usize];
                    let comment = if next(4) == 0 { " # note" } else { "" };
                    text.push_str(&format!("{pad}{line}{pad}{comment}\n"));
                    want.push(t);
                    continue;
                }
                let by_address = next(4) == 0;
                let pin = (!by_address && next(3) == 0).then_some(addr);
                let sni = (next(4) == 0).then(|| format!("sni.{}", tlds[0]));
                let label = (next(2) == 0).then(|| {
                    ["web", "pool a, b", "say \"hi\"", "x;y"][next(4) as usize].to_string()
                });
                let quote_all = next(5) == 0;
                let cell = |v: &str| {
                    if v.contains([',', ';', '\t', '"']) || quote_all {
                        format!("\"{}\"", v.replace('"', "\"\""))
                    } else {
                        v.to_string()
                    }
                };
                let cells: Vec<String> = cols
                    .iter()
                    .map(|(role, _)| match *role {
                        "host" if by_address => cell(&addr.to_string()),
                        "host" => cell(&name),
                        "port" => port.map(|p| p.to_string()).unwrap_or_default(),
                        "ip" => pin.map(|a| cell(&a.to_string())).unwrap_or_default(),
                        "sni" => sni.as_deref().map(&cell).unwrap_or_default(),
                        _ => label.as_deref().map(&cell).unwrap_or_default(),
                    })
                    .collect();
                text.push_str(&cells.join(delim));
                text.push('\n');
                let sni = sni.map(|s| normalize_host(&s).expect("a good name"));
                want.push(match by_address {
                    true => Target::Addr {
                        ip: addr,
                        port: at,
                        sni,
                        label,
                        starttls: None,
                    },
                    false => Target::Name {
                        name: ascii,
                        port: at,
                        pin,
                        sni,
                        label,
                        starttls: None,
                    },
                });
            }
            let got: Vec<Target> = read(&text)
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| panic!("round {round}: {e}\n{text}")))
                .collect();
            assert_eq!(got, want, "round {round}\n{text}");
            several_ports_read_back(&text, &want, &ported, round);
        }
    }

    /// `text`, read for ports 443 and 8443, gives each of `want` that named no port
    /// (`ported`) on both, the others as they are; and the places named with either port
    /// are those [`NamedPorts`] knows.
    fn several_ports_read_back(text: &str, want: &[Target], ported: &[bool], round: usize) {
        let ports = [443u16, 8443];
        let mut reader =
            TargetReader::from_reader("t.txt", Box::new(io::Cursor::new(text.to_string())), 443)
                .with_ports(&ports);
        let named = reader.named_ports();
        let got: Vec<Target> = reader
            .by_ref()
            .map(|r| r.unwrap_or_else(|e| panic!("round {round}: {e}\n{text}")))
            .collect();
        let mut expected = Vec::new();
        for (t, &has_port) in want.iter().zip(ported) {
            if has_port {
                expected.push(t.clone());
                continue;
            }
            for p in ports {
                let mut one = t.clone();
                *one.port_mut() = p;
                expected.push(one);
            }
        }
        assert_eq!(got, expected, "round {round}\n{text}");
        let named = named.lock().expect("not poisoned");
        let listed: Vec<&Target> = (want.iter().zip(ported))
            .filter(|(t, &has_port)| {
                let (Target::Name { port, .. }
                | Target::Addr { port, .. }
                | Target::Cidr { port, .. }) = t;
                has_port && ports.contains(port)
            })
            .map(|(t, _)| t)
            .collect();
        for t in &expected {
            let (host, ip, port) = match t {
                Target::Name {
                    name, pin, port, ..
                } => (name.clone(), *pin, *port),
                Target::Addr { ip, port, .. } => (ip.to_string(), Some(*ip), *port),
                Target::Cidr { net, port, .. } => (net.addr().to_string(), Some(net.addr()), *port),
            };
            let says = listed.iter().any(|u| match u {
                Target::Name { name, port: p, .. } => *p == port && *name == host,
                Target::Addr { ip: a, port: p, .. } => *p == port && Some(*a) == ip,
                Target::Cidr { net, port: p, .. } => {
                    *p == port && ip.is_some_and(|ip| net.contains(&ip))
                }
            });
            let error = crate::model::ErrorInfo {
                class: crate::model::ErrorClass::ConnectRefused,
                message: String::new(),
            };
            let o = crate::model::Observation::failed(host, ip, port, None, None, error);
            assert_eq!(named.names(&o), says, "round {round}: {t:?}\n{text}");
        }
    }

    #[test]
    fn a_block_is_asked_for_a_name_given_with_it() {
        // A pool's subnet asked for the pool's name: `name@block`, or a CSV row's sni.
        let out = read(
            "www.example.com@10.1.0.0/30\nwww.example.com@10.1.0.0/30:8443\n[2001:db8::/126]:8443\n",
        );
        let got: Vec<String> = out
            .iter()
            .map(|t| match t {
                Ok(Target::Cidr { net, port, sni }) => format!("{net} {port} {sni:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "10.1.0.0/30 443 Some(\"www.example.com\")",
                "10.1.0.0/30 8443 Some(\"www.example.com\")",
                "2001:db8::/126 8443 None",
            ]
        );
        let out =
            read("host,port,sni,ip\n10.1.0.0/30,8443,www.example.com,\n10.2.0.0/30,,,10.2.0.1\n");
        assert!(
            matches!(&out[0], Ok(Target::Cidr { port: 8443, sni: Some(s), .. }) if s == "www.example.com")
        );
        let e = out[1].as_ref().expect_err("a pinned block");
        assert_eq!((e.line, e.field.as_deref()), (3, Some("ip")));
    }

    #[test]
    fn an_ip_cell_listing_a_pools_members_gives_an_endpoint_each() {
        // A load balancer pool export: the name, its members' addresses in one cell. Before,
        // the row was refused ("bad IP address").
        let out = read(
            "host,port,ip,label\n\
             www.example.com,8443,\"192.0.2.5, 192.0.2.6;[2001:db8::7]\",pool-a\n\
             api.example.com,,192.0.2.9,\n\
             bad.example.com,,\"192.0.2.5, 192.0.2.300\",\n",
        );
        let pins: Vec<(String, u16, Option<IpAddr>)> = out
            .iter()
            .filter_map(|t| match t {
                Ok(Target::Name {
                    name, port, pin, ..
                }) => Some((name.clone(), *port, *pin)),
                _ => None,
            })
            .collect();
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("an address"));
        assert_eq!(
            pins,
            [
                ("www.example.com".into(), 8443, ip("192.0.2.5")),
                ("www.example.com".into(), 8443, ip("192.0.2.6")),
                ("www.example.com".into(), 8443, ip("2001:db8::7")),
                ("api.example.com".into(), 443, ip("192.0.2.9")),
            ]
        );
        // One bad address refuses the row, naming it.
        let e = out[4].as_ref().expect_err("a bad row");
        assert_eq!((e.line, e.field.as_deref()), (4, Some("ip")));
        assert!(e.reason.contains("192.0.2.300"), "{e}");
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn csv_errors_name_the_line_an_editor_shows() {
        // CRLF, a comment, blank lines and a quoted multi-line label before the bad rows.
        let out = read(concat!(
            "# exported 2026-11-29\r\n",
            "host,port,label\r\n",
            "a.example,443,\"two\r\nlines\"\r\n",
            "b.example,99999,\r\n",
            "\r\n",
            "# retired\r\n",
            "c.example,0,\r\n",
        ));
        assert!(out[0].is_ok());
        let lines: Vec<u64> = out[1..]
            .iter()
            .map(|r| r.as_ref().unwrap_err().line)
            .collect();
        assert_eq!(lines, [5, 8]);
    }

    #[test]
    fn csv_starttls_column_names_the_dialogue_per_target() {
        use crate::model::Starttls;
        let out = read(
            "host,port,starttls\nmail.example.com,25,\nmail.example.com,2525,SMTP\nmail.example.com,465,off\n192.0.2.7,389,auto\nx.example,25,smtps\n",
        );
        assert!(matches!(
            &out[0],
            Ok(Target::Name {
                port: 25,
                starttls: None,
                ..
            })
        ));
        assert!(matches!(
            &out[1],
            Ok(Target::Name {
                port: 2525,
                starttls: Some(StarttlsChoice::Use(Starttls::Smtp)),
                ..
            })
        ));
        assert!(matches!(
            &out[2],
            Ok(Target::Name {
                starttls: Some(StarttlsChoice::Off),
                ..
            })
        ));
        assert!(matches!(
            &out[3],
            Ok(Target::Addr {
                port: 389,
                starttls: Some(StarttlsChoice::Auto),
                ..
            })
        ));
        let e = out[4].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (6, Some("starttls")));
        assert!(
            e.reason.contains("unknown STARTTLS protocol \"smtps\""),
            "{e}"
        );
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn urls_name_one_endpoint_with_their_schemes_dialogue_and_port() {
        use crate::model::Starttls;
        use StarttlsChoice::{Off, Use};
        let t = |s: &str| parse_line(s, 443);
        assert_eq!(
            t("smtp://mail.example.com"),
            Ok(Target::Name {
                name: "mail.example.com".into(),
                port: 25,
                pin: None,
                sni: None,
                label: None,
                starttls: Some(Use(Starttls::Smtp)),
            })
        );
        assert!(matches!(
            t("https://www.example.com:8443/login?next=/#top"),
            Ok(Target::Name {
                port: 8443,
                starttls: Some(Off),
                ..
            })
        ));
        assert!(matches!(
            t("LDAPS://dc1.example.com"),
            Ok(Target::Name {
                port: 636,
                starttls: Some(Off),
                ..
            })
        ));
        assert!(matches!(
            t("submission://mx.example.com"),
            Ok(Target::Name {
                port: 587,
                starttls: Some(Use(Starttls::Smtp)),
                ..
            })
        ));
        assert!(matches!(
            t("xmpp-server://chat.example.com"),
            Ok(Target::Name {
                port: 5269,
                starttls: Some(Use(Starttls::XmppServer)),
                ..
            })
        ));
        // tls:// keeps --port; the pinned and bracketed forms work inside a URL too.
        assert!(matches!(
            t("tls://app.example.com"),
            Ok(Target::Name { port: 443, .. })
        ));
        assert!(matches!(
            t("imap://mail.example.com@192.0.2.7"),
            Ok(Target::Name {
                port: 143,
                pin: Some(_),
                starttls: Some(Use(Starttls::Imap)),
                ..
            })
        ));
        assert!(matches!(
            t("postgresql://[2001:db8::5]/db"),
            Ok(Target::Addr {
                port: 5432,
                starttls: Some(Use(Starttls::Postgres)),
                ..
            })
        ));
        assert!(t("http://www.example.com")
            .unwrap_err()
            .contains("plain HTTP"));
        assert!(t("gopher://x.example")
            .unwrap_err()
            .contains("unknown scheme \"gopher://\""));
        assert!(t("smtp:///path").unwrap_err().contains("no host"));
        assert!(t("smtp://10.0.0.0/30").unwrap_err().contains("CIDR block"));
        assert!(t("smtp://mail.example.com:99999")
            .unwrap_err()
            .contains("bad port"));
    }

    #[test]
    fn a_csv_host_may_be_a_url_whose_columns_still_apply() {
        use crate::model::Starttls;
        let out = read(
            "host,port,ip,label,starttls\nsmtp://mx.example.com,,192.0.2.9,mx,\nsmtp://mx2.example.com:2525,,,,off\nhttps://[2001:db8::7]/,8443,,,\nhttp://www.example.com,,,,\n",
        );
        assert!(matches!(
            &out[0],
            Ok(Target::Name { port: 25, pin: Some(_), label: Some(l), starttls: Some(StarttlsChoice::Use(Starttls::Smtp)), .. }) if l == "mx"
        ));
        assert!(matches!(
            &out[1],
            Ok(Target::Name {
                port: 2525,
                starttls: Some(StarttlsChoice::Off),
                ..
            })
        ));
        // The row's port over the scheme's 443.
        assert!(matches!(
            &out[2],
            Ok(Target::Addr {
                port: 8443,
                starttls: Some(StarttlsChoice::Off),
                ..
            })
        ));
        let e = out[3].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (5, Some("host")));
        assert!(e.reason.contains("plain HTTP"), "{e}");
    }

    #[test]
    fn oversized_cidr_is_refused() {
        let out = read("10.0.0.0/7\n");
        assert!(out[0].as_ref().unwrap_err().reason.contains("split it"));
    }
}
