//! Raw DNS questions: one exchange with one server through hickory-net's client, keeping
//! the response code, the AA bit and every section (a stub resolver hides them), UDP first
//! and TCP when the answer is truncated. Shared by the sweep's resolver and the DCV checks.

use hickory_resolver::net::client::Client;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::FirstAnswer;
use hickory_resolver::net::DnsHandle;
use hickory_resolver::proto::op::{DnsRequestOptions, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The system's nameservers (`/etc/resolv.conf`) and its search list.
pub fn system_servers() -> Result<(Vec<SocketAddr>, Vec<Name>), String> {
    let (cfg, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?;
    let mut out = Vec::new();
    for ns in cfg.name_servers() {
        let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
        let sa = SocketAddr::new(ns.ip, port);
        if !out.contains(&sa) {
            out.push(sa);
        }
    }
    if out.is_empty() {
        return Err("the system resolver configuration names no nameserver; use --resolver".into());
    }
    let mut search: Vec<Name> = cfg.search().to_vec();
    if let Some(d) = cfg.domain() {
        if !search.contains(d) {
            search.push(d.clone());
        }
    }
    Ok((out, search))
}

/// A DNS response, reduced to what the callers read.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Response code.
    pub rcode: ResponseCode,
    /// The AA bit: the server answered from its own zone.
    pub authoritative: bool,
    /// The AD bit: a validating resolver found the answer DNSSEC-authentic (asked for by
    /// setting it in the question, RFC 6840).
    pub authentic: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (SOA of negative answers, referrals).
    pub authorities: Vec<Record>,
    /// The Extended DNS Error an error answer carried (RFC 8914), as `code (text)`: why a
    /// validating resolver said SERVFAIL ("6 DNSSEC Bogus", "7 Signature Expired").
    pub ede: Option<String>,
}

/// The Extended DNS Error of an answer that is an error (read only then: answers that
/// succeed, the sweep's, are not searched for it).
fn extended_error(msg: &hickory_resolver::proto::op::Message) -> Option<String> {
    use hickory_resolver::proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    if msg.metadata.response_code == ResponseCode::NoError {
        return None;
    }
    let Some(EdnsOption::Unknown(_, data)) = msg.edns.as_ref()?.option(EdnsCode::Unknown(15))
    else {
        return None;
    };
    let code = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
    let name = match code {
        1 => "Unsupported DNSKEY Algorithm",
        2 => "Unsupported DS Digest Type",
        5 => "DNSSEC Indeterminate",
        6 => "DNSSEC Bogus",
        7 => "Signature Expired",
        8 => "Signature Not Yet Valid",
        9 => "DNSKEY Missing",
        10 => "RRSIGs Missing",
        12 => "NSEC Missing",
        _ => "",
    };
    let text = String::from_utf8_lossy(&data[2..]);
    let text = text.trim_matches(char::from(0)).trim();
    Some(match (name, text) {
        ("", "") => format!("{code}"),
        (n, "") => format!("{code} {n}"),
        ("", t) => format!("{code} ({t})"),
        (n, t) => format!("{code} {n} ({t})"),
    })
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No response within the timeout (every attempt).
    Timeout,
    /// A network or protocol error.
    Network(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timed out"),
            Failure::Network(m) => f.write_str(m),
        }
    }
}

/// A `--resolver` as written: `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when none). Port 0
/// and the unspecified address are refused: questions to them go nowhere, and every name
/// would wait out its timeouts.
pub fn parse_server(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    let addr = t.parse::<SocketAddr>().ok().or_else(|| {
        t.trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    });
    match addr {
        None => Err(format!("\"{s}\" is not IP or IP:PORT")),
        Some(a) if a.port() == 0 => Err(format!("\"{s}\": port 0 cannot be asked")),
        Some(a) if a.ip().is_unspecified() => {
            Err(format!("\"{s}\" is the unspecified address, no server's"))
        }
        Some(a) => Ok(a),
    }
}

/// Sends one question to `server` (UDP, then TCP when the answer is truncated), with RD set
/// to `recursion`.
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let first = exchange(server, name, rtype, recursion, timeout, false).await?;
    if first.1 {
        // Truncated: a CA retries over TCP, and so does this; large TXT or CAA sets need it.
        return exchange(server, name, rtype, recursion, timeout, true)
            .await
            .map(|a| a.0);
    }
    Ok(first.0)
}

async fn exchange(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
    tcp: bool,
) -> Result<(Answer, bool), Failure> {
    let provider = TokioRuntimeProvider::default();
    let (client, bg) = if tcp {
        let (stream, handle) = TcpClientStream::new(server, None, Some(timeout), provider);
        let stream = match tokio::time::timeout(timeout, stream).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(e)) => return Err(Failure::Network(format!("TCP to {server}: {e}"))),
            Ok(Ok(s)) => s,
        };
        let (c, bg) = Client::<TokioRuntimeProvider>::with_timeout(stream, handle, timeout);
        (c, tokio::spawn(bg))
    } else {
        let stream = UdpClientStream::builder(server, provider)
            .with_timeout(Some(timeout))
            .build();
        let (c, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
        (c, tokio::spawn(bg))
    };
    let mut opts = DnsRequestOptions::default();
    opts.recursion_desired = recursion;
    opts.use_edns = true;
    // The size Let's Encrypt's resolvers advertise: answers larger than this come truncated
    // and need TCP, which is part of what is being checked.
    opts.edns_payload_len = 1232;
    let fut = client
        .lookup(Query::query(name.clone(), rtype), opts)
        .first_answer();
    let result = tokio::time::timeout(timeout + Duration::from_millis(200), fut).await;
    bg.abort();
    let resp = match result {
        Err(_) => return Err(Failure::Timeout),
        Ok(Err(e)) => {
            let text = e.to_string();
            return Err(if text.contains("timed out") || text.contains("timeout") {
                Failure::Timeout
            } else {
                Failure::Network(text)
            });
        }
        Ok(Ok(r)) => r,
    };
    let msg = resp.into_message();
    let truncated = msg.metadata.truncation;
    Ok((
        Answer {
            rcode: msg.metadata.response_code,
            authoritative: msg.metadata.authoritative,
            authentic: msg.metadata.authentic_data,
            ede: extended_error(&msg),
            answers: msg.answers,
            authorities: msg.authorities,
        },
        truncated,
    ))
}

/// The name as an absolute DNS name.
pub fn fqdn(ascii: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(ascii).map_err(|e| format!("{ascii}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

/// Questions to recursive servers over a few long-lived UDP sockets, answers matched to
/// questions by id, server and question. Asking through a fresh socket per question (what a
/// stub resolver does to randomise source ports) costs a socket, a bind, two epoll
/// registrations and a close per question: about a sixth of a sweep's CPU (BENCHMARKS.md).
/// The sockets' ports are random and so are ids; answers from another address or for another
/// question are dropped. Each socket is read by a task of the runtime, which takes every
/// answer waiting when it runs; enlarged receive buffers keep a burst from overflowing while
/// the workers are busy with handshakes. (A reader thread per socket took each answer the
/// moment it came, but cost two context switches per wakeup, usually preempting a worker:
/// 1.5-2.5 switches per endpoint against 0.8-1.3 now, and 0.02 ms more CPU per endpoint
/// on the 5,000-endpoint fleet, with the same wall time.)
///
/// Questions are not sent one system call each: each goes to its socket's outbox and its
/// task yields once, and then one flush sends all that wait ([`UdpMux::flush`]) with
/// sendmmsg(2): a name's A and AAAA together, and those of the other names looked up
/// meanwhile. Each datagram to a resolver on this machine woke it, and it took the CPU from
/// the sweep at once; now it is woken once per call (~47 questions on average on the
/// 5,000-endpoint fleet: 210 calls instead of 10,000, a fifth fewer context switches; the
/// sweep's CPU within a percent or two; the DCV checks, many questions a row, a third
/// faster: BENCHMARKS.md).
pub struct UdpMux {
    v4: Vec<Lane>,
    v6: Vec<Lane>,
    /// Dropped with the mux, which tells the readers to stop.
    _stop: tokio::sync::watch::Sender<()>,
    pending: std::sync::Mutex<std::collections::HashMap<u16, Pending>>,
    /// Questions asked so far: each one's [`Pending::seq`].
    asked: AtomicU64,
}

/// Sockets per address family.
const MUX_SOCKETS: usize = 1;
/// Receive buffer asked for each socket (the kernel may cap it at `net.core.rmem_max`).
const MUX_RCVBUF: usize = 1 << 20;

struct Pending {
    /// Which question holds the id (ids are reused): its [`Asked`] removes only its own.
    seq: u64,
    server: SocketAddr,
    name: Name,
    rtype: RecordType,
    /// The answer, or why the question could not be sent.
    tx: tokio::sync::oneshot::Sender<Result<hickory_resolver::proto::op::Message, Failure>>,
}

/// A question's entry among the pending ones, removed when the question's future goes,
/// whatever ends it: its answer (which took it already), its error, its timeout, or its task
/// dropped while it waited (a stop), which used to leave it behind for the rest of the run.
struct Asked<'a> {
    pending: &'a std::sync::Mutex<std::collections::HashMap<u16, Pending>>,
    id: u16,
    seq: u64,
}

impl Drop for Asked<'_> {
    fn drop(&mut self) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.get(&self.id).is_some_and(|p| p.seq == self.seq) {
            pending.remove(&self.id);
        }
    }
}

/// One shared socket and the questions waiting to go out through it.
struct Lane {
    sock: std::sync::Arc<tokio::net::UdpSocket>,
    outbox: std::sync::Mutex<Outbox>,
}

/// Questions encoded and not sent yet, and whether a flush is sending them.
#[derive(Default)]
struct Outbox {
    queue: Vec<Outgoing>,
    /// One flush at a time sends, so that the turns between its system calls are turns for
    /// the resolver too; the others leave their questions to it.
    flushing: bool,
}

/// A question encoded and waiting in a [`Lane`]'s outbox.
struct Outgoing {
    id: u16,
    /// Its [`Pending::seq`].
    seq: u64,
    server: SocketAddr,
    bytes: Vec<u8>,
}

/// The most questions sent at a time: one system call, then the flush yields. A resolver in
/// this process (a test's) reads its socket only when the thread is yielded, into a receive
/// buffer of 256 small datagrams by default; one on this machine is woken by the call.
const BATCH: usize = 128;

impl Lane {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a flush: clears [`Outbox::flushing`], and if the flush was dropped before it was
/// over (its question's task cancelled by a deadline or Ctrl-C), sends what waits at once,
/// without waiting for turns or room, so that no other question is left unsent.
struct Flushing<'a> {
    mux: &'a UdpMux,
    lane: &'a Lane,
    over: bool,
}

impl Drop for Flushing<'_> {
    fn drop(&mut self) {
        if self.over {
            // Cleared already, and perhaps set since by the next flush.
            return;
        }
        let mut rest = std::mem::take(&mut self.lane.outbox().queue);
        while !rest.is_empty() {
            if self.mux.send_some(self.lane, &mut rest, true) {
                break;
            }
        }
        let mut outbox = self.lane.outbox();
        rest.append(&mut outbox.queue);
        outbox.queue = rest;
        outbox.flushing = false;
    }
}

/// Sends `batch` in one system call, or its first questions; how many went (at least the
/// first, or the first's error).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_batch(sock: &tokio::net::UdpSocket, batch: &[Outgoing]) -> std::io::Result<usize> {
    use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let slices: Vec<[IoSlice<'_>; 1]> = batch.iter().map(|o| [IoSlice::new(&o.bytes)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = batch
        .iter()
        .map(|o| Some(SockaddrStorage::from(o.server)))
        .collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(batch.len(), None);
    let sent = sendmmsg(
        sock.as_raw_fd(),
        &mut headers,
        &slices,
        &addrs,
        [],
        MsgFlags::empty(),
    )
    .map_err(std::io::Error::from)?;
    Ok(sent.count())
}

/// Sends the first of `batch`; how many went (one), or its error.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_batch(sock: &tokio::net::UdpSocket, batch: &[Outgoing]) -> std::io::Result<usize> {
    match batch.first() {
        Some(o) => sock.try_send_to(&o.bytes, o.server).map(|_| 1),
        None => Ok(0),
    }
}

impl UdpMux {
    /// Binds the sockets the servers need and starts reading answers on the current runtime;
    /// the readers stop when the last handle is dropped.
    pub fn bind(servers: &[SocketAddr]) -> std::io::Result<std::sync::Arc<Self>> {
        let open = |any: SocketAddr| -> std::io::Result<Lane> {
            let s = std::net::UdpSocket::bind(any)?;
            // Best effort: a smaller buffer only means more retries under a burst.
            let _ = socket2::SockRef::from(&s).set_recv_buffer_size(MUX_RCVBUF);
            s.set_nonblocking(true)?;
            Ok(Lane {
                sock: std::sync::Arc::new(tokio::net::UdpSocket::from_std(s)?),
                outbox: Default::default(),
            })
        };
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        if servers.iter().any(|s| s.is_ipv4()) {
            for _ in 0..MUX_SOCKETS {
                v4.push(open(SocketAddr::from(([0, 0, 0, 0], 0)))?);
            }
        }
        if servers.iter().any(|s| s.is_ipv6()) {
            for _ in 0..MUX_SOCKETS {
                v6.push(open(SocketAddr::from(([0u16; 8], 0)))?);
            }
        }
        let (stop, stopped) = tokio::sync::watch::channel(());
        let mux = std::sync::Arc::new(UdpMux {
            v4,
            v6,
            _stop: stop,
            pending: Default::default(),
            asked: AtomicU64::new(0),
        });
        let readers: Vec<(bool, usize)> = (0..mux.v4.len())
            .map(|i| (false, i))
            .chain((0..mux.v6.len()).map(|i| (true, i)))
            .collect();
        for (v6, i) in readers {
            let weak = std::sync::Arc::downgrade(&mux);
            let sock = if v6 {
                mux.v6[i].sock.clone()
            } else {
                mux.v4[i].sock.clone()
            };
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_535];
                loop {
                    let got = tokio::select! {
                        got = sock.recv_from(&mut buf) => got,
                        // Only ever an error: the sender goes with the mux.
                        _ = stopped.changed() => return,
                    };
                    let Some(me) = weak.upgrade() else { return };
                    if let Ok((n, from)) = got {
                        me.deliver(&buf[..n], from);
                    }
                }
            });
        }
        Ok(mux)
    }

    /// Sends what waits in `lane`'s outbox, unless another flush is at it, [`BATCH`]
    /// questions at a time, yielding between them.
    async fn flush(&self, lane: &Lane) {
        {
            let mut outbox = lane.outbox();
            if outbox.flushing || outbox.queue.is_empty() {
                return;
            }
            outbox.flushing = true;
        }
        let mut flushing = Flushing {
            mux: self,
            lane,
            over: false,
        };
        loop {
            let mut batch = {
                let mut outbox = lane.outbox();
                let first = outbox.queue.len().min(BATCH);
                let rest = outbox.queue.split_off(first);
                std::mem::replace(&mut outbox.queue, rest)
            };
            let full = self.send_some(lane, &mut batch, false);
            {
                // What was not sent goes first next time; the flush is over only with
                // nothing left, decided under the lock a question is added under.
                let mut outbox = lane.outbox();
                batch.append(&mut outbox.queue);
                outbox.queue = batch;
                if outbox.queue.is_empty() {
                    outbox.flushing = false;
                    flushing.over = true;
                    return;
                }
            }
            if full {
                if lane.sock.writable().await.is_err() {
                    return;
                }
            } else {
                tokio::task::yield_now().await;
            }
        }
    }

    /// Sends `batch` (one system call while all goes well), removing what went and what
    /// failed (its question fails with the socket's error); whether the socket was full.
    /// `direct` tries the socket whatever the runtime last saw of it (a flush's end cannot
    /// wait to hear it is writable); otherwise a socket not yet seen writable counts as full.
    fn send_some(&self, lane: &Lane, batch: &mut Vec<Outgoing>, direct: bool) -> bool {
        while !batch.is_empty() {
            let sent = if direct {
                send_batch(&lane.sock, batch)
            } else {
                lane.sock.try_io(tokio::io::Interest::WRITABLE, || {
                    send_batch(&lane.sock, batch)
                })
            };
            match sent {
                Ok(n) => {
                    batch.drain(..n.clamp(1, batch.len()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(e) => {
                    let o = batch.remove(0);
                    self.fail(
                        o.id,
                        o.seq,
                        Failure::Network(format!("UDP to {}: {e}", o.server)),
                    );
                }
            }
        }
        false
    }

    /// The question `id` (the `seq`th asked) was not sent: it fails with `why`.
    fn fail(&self, id: u16, seq: u64, why: Failure) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.get(&id).is_some_and(|p| p.seq == seq) {
            if let Some(p) = pending.remove(&id) {
                let _ = p.tx.send(Err(why));
            }
        }
    }

    fn deliver(&self, bytes: &[u8], from: SocketAddr) {
        let Ok(msg) = hickory_resolver::proto::op::Message::from_vec(bytes) else {
            return;
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let id = msg.metadata.id;
        let matches = pending.get(&id).is_some_and(|p| {
            p.server == from
                && msg
                    .queries
                    .first()
                    .is_some_and(|q| q.query_type() == p.rtype && q.name() == &p.name)
        });
        if matches {
            if let Some(p) = pending.remove(&id) {
                let _ = p.tx.send(Ok(msg));
            }
        }
    }

    /// One question (RD set to `recursion`, CD to `unchecked`); TCP (a fresh connection)
    /// when the answer is truncated, except for an unchecked question, whose answer counts
    /// for having come. A server of a family without a socket here is asked the plain way
    /// (never with CD set: that question fails).
    pub async fn query(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        recursion: bool,
        unchecked: bool,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        use hickory_resolver::proto::op::{Edns, Message, MessageType, OpCode};
        let (tx, rx) = tokio::sync::oneshot::channel();
        let seq = self.asked.fetch_add(1, Ordering::Relaxed);
        let id = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let mut id: u16 = super::random::question_id();
            while pending.contains_key(&id) {
                id = id.wrapping_add(1);
            }
            pending.insert(
                id,
                Pending {
                    seq,
                    server,
                    name: name.clone(),
                    rtype,
                    tx,
                },
            );
            id
        };
        let asked = Asked {
            pending: &self.pending,
            id,
            seq,
        };
        let socks = if server.is_ipv6() { &self.v6 } else { &self.v4 };
        let Some(lane) = socks.get(usize::from(id) % socks.len().max(1)) else {
            drop(asked);
            if unchecked {
                return Err(Failure::Network(format!(
                    "no socket here to ask {server} with checking disabled"
                )));
            }
            // Boxed, as the other rare paths below: inline, a TCP exchange's state would
            // be part of every question's future, which every name lookup and endpoint
            // task in flight holds.
            return Box::pin(query(server, name, rtype, recursion, timeout)).await;
        };
        // The message is dropped once encoded: alive across the awaits below, it would be
        // part of every question's future.
        let encoded = {
            let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
            msg.add_query(Query::query(name.clone(), rtype));
            msg.metadata.recursion_desired = recursion;
            msg.metadata.checking_disabled = unchecked;
            msg.metadata.authentic_data = true;
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            msg.set_edns(edns);
            msg.to_vec()
        };
        let bytes = match encoded {
            Ok(b) => b,
            Err(e) => {
                return Err(Failure::Network(format!("cannot encode the question: {e}")));
            }
        };
        lane.outbox().queue.push(Outgoing {
            id,
            seq,
            server,
            bytes,
        });
        // One turn first, so that what other tasks ask meanwhile (this name's other family,
        // the other names' questions) goes in the same system call.
        tokio::task::yield_now().await;
        self.flush(lane).await;
        let resp = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(m))) => m,
            // Not sent: the flush said why (and took the question).
            Ok(Ok(Err(e))) => return Err(e),
            _ => return Err(Failure::Timeout),
        };
        if resp.metadata.truncation && !unchecked {
            return Box::pin(exchange(server, name, rtype, recursion, timeout, true))
                .await
                .map(|a| a.0);
        }
        Ok(Answer {
            rcode: resp.metadata.response_code,
            authoritative: resp.metadata.authoritative,
            authentic: resp.metadata.authentic_data,
            ede: extended_error(&resp),
            answers: resp.answers,
            authorities: resp.authorities,
        })
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The failure of a question not asked because `server` does not answer at all.
fn not_answering(server: SocketAddr) -> Failure {
    Failure::Network(format!(
        "not asked: the resolver {server} is not answering (its last questions and a liveness check timed out)"
    ))
}

/// Asks questions over the shared sockets of a [`UdpMux`], bound on first use, or over a
/// fresh socket per question when they cannot be had. The one place that choice is made,
/// for the sweep's resolver and the DCV checks alike.
pub struct Questions {
    servers: Vec<SocketAddr>,
    /// What each of `servers` has done in this run, in the same order.
    heard: Vec<Heard>,
    /// The clock [`Heard::down_until`] counts from.
    started: std::time::Instant,
    mux: tokio::sync::OnceCell<Option<std::sync::Arc<UdpMux>>>,
}

/// What a configured server has done in this run. A resolver that stops answering (down,
/// filtered, not listening where the configuration says) would make every name of a large
/// list wait out its timeouts, minutes of learning nothing, and a dead first server of
/// several would cost every question two timeouts. After a few timeouts in a row, whether
/// it is alive is asked apart ([`Questions::alive`]): the root's NS, which a live resolver
/// answers at once from its cache or refuses, whatever its upstreams do (a question for a
/// name could be one whose zone is down, and a live resolver would be taken for a dead
/// one). One such check is in flight at a time; the questions waiting for it
/// are asked if it is answered and fail if it times out, and so do, without waiting, those
/// that come within a timeout after it did. Any answer ends it, and a server that answered
/// once in the run is never checked again: its later timeouts are its upstreams', and its
/// questions are asked (a resolver that dies mid-run costs timeouts, not wrong answers).
#[derive(Default)]
struct Heard {
    /// Timeouts since its last answer.
    in_row: AtomicU32,
    /// Whether it answered at all in this run.
    ever: AtomicBool,
    /// Liveness checks that timed out: a question waiting for one fails when this moves.
    failed_probes: AtomicU64,
    /// Until when (ns since [`Questions::started`]) a question fails without waiting: a
    /// liveness check timed out less than a timeout before.
    down_until: AtomicU64,
    /// Held while a liveness check is in flight.
    probe: tokio::sync::Mutex<()>,
    /// How fast its questions may go ([`Pace`]).
    pace: std::sync::Mutex<Pace>,
}

/// The pace of one configured server's questions. Unlimited until the server is seen
/// losing questions: one that timed out and was answered when asked again. A resolver that
/// limits the questions it takes (a cloud's, at 1,024 packets a second per host; one with
/// response-rate limiting) drops the rest, and a sweep asking a thousand names at once
/// lost some of them twice, so live names came out as `dns_error`. Each loss (at most one a
/// second) halves the rate, from what was sent in the last second; a second without one,
/// once a timeout has passed since the last cut, raises it by a fifth, until it is
/// unlimited again.
#[derive(Debug)]
struct Pace {
    /// Questions a second; infinite while no loss was seen.
    rate: f64,
    /// When the next question may go, while the rate is limited.
    next: std::time::Instant,
    /// The second being counted and the questions sent in it; those of the last whole one.
    second: (std::time::Instant, u32),
    last_second: u32,
    /// When the rate was last cut and last raised.
    cut_at: Option<std::time::Instant>,
    raised_at: std::time::Instant,
}

/// The least rate a cut leaves: the losses of a few slow names must not stall a sweep.
const PACE_FLOOR: f64 = 200.0;
/// Above this, the rate is unlimited again.
const PACE_CEILING: f64 = 100_000.0;

impl Default for Pace {
    fn default() -> Self {
        let now = std::time::Instant::now();
        Pace {
            rate: f64::INFINITY,
            next: now,
            second: (now, 0),
            last_second: 0,
            cut_at: None,
            raised_at: now,
        }
    }
}

impl Pace {
    /// Counts a question sent at `now`; when it may go, if later than `now`.
    fn reserve(&mut self, now: std::time::Instant) -> Option<std::time::Instant> {
        if now.duration_since(self.second.0) >= Duration::from_secs(1) {
            self.last_second = self.second.1;
            self.second = (now, 0);
        }
        self.second.1 = self.second.1.saturating_add(1);
        if !self.rate.is_finite() {
            return None;
        }
        let at = self.next.max(now);
        self.next = at + Duration::from_secs_f64(1.0 / self.rate);
        (at > now).then_some(at)
    }

    /// A question sent at `sent` and lost (timed out, then answered at `now`): the rate is
    /// halved, once for all the questions sent before a cut (their losses tell of the
    /// rate before it), and at most once a second.
    fn lost(&mut self, sent: std::time::Instant, now: std::time::Instant) {
        if self
            .cut_at
            .is_some_and(|c| sent < c || now.duration_since(c) < Duration::from_secs(1))
        {
            return;
        }
        let sent = f64::from(self.last_second.max(self.second.1));
        let base = if self.rate.is_finite() {
            self.rate
        } else {
            sent
        };
        self.rate = (base / 2.0).max(PACE_FLOOR);
        self.next = now;
        self.cut_at = Some(now);
    }

    /// An answer at `now`: a limited rate grows by a fifth a second once a question's
    /// timeout (`timeout`) has passed since the last cut without another.
    fn answered(&mut self, now: std::time::Instant, timeout: Duration) {
        if !self.rate.is_finite() {
            return;
        }
        let calm = self.cut_at.is_none_or(|c| now.duration_since(c) >= timeout);
        if calm && now.duration_since(self.raised_at) >= Duration::from_secs(1) {
            self.rate *= 1.2;
            self.raised_at = now;
            if self.rate > PACE_CEILING {
                self.rate = f64::INFINITY;
            }
        }
    }
}

impl Heard {
    fn suspect(&self) -> bool {
        self.in_row.load(Ordering::Relaxed) >= SUSPECT_AFTER
    }

    fn answered(&self) {
        self.in_row.store(0, Ordering::Relaxed);
        self.down_until.store(0, Ordering::Release);
        self.ever.store(true, Ordering::Relaxed);
    }

    /// A question of its sent at `sent` was lost ([`Pace::lost`]).
    fn lost(&self, sent: std::time::Instant) {
        self.pace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lost(sent, std::time::Instant::now());
    }
}

/// What [`Questions::gate`] lets a question to a suspect server do.
enum Gate {
    /// Be asked: the server is alive.
    Ask,
    /// Fail without being asked: the server does not answer at all.
    Silent,
    /// Fail with this error of the liveness check.
    Fail(Failure),
}

/// Timeouts in a row after which a configured server's liveness is asked apart.
const SUSPECT_AFTER: u32 = 3;

impl Questions {
    /// Questions to `servers` (the sockets are made for their address families).
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Questions {
            heard: servers.iter().map(|_| Heard::default()).collect(),
            started: std::time::Instant::now(),
            servers,
            mux: tokio::sync::OnceCell::new(),
        }
    }

    /// The servers given at creation.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// One recursive question over the servers given, `rounds` rounds, until one answers.
    /// With `next_on_servfail`, a SERVFAIL from one of several servers asks the next (another
    /// may know better); without it, it is the answer (DCV reads it). A server that timed
    /// out three times in a row, having answered nothing in this run, is asked once a
    /// liveness check (the root's NS, with and
    /// without recursion) says it is alive, and passed by (or, the last one, its question
    /// failed) while one says it is not.
    pub async fn ask_servers(
        &self,
        name: &Name,
        rtype: RecordType,
        rounds: usize,
        timeout: Duration,
        next_on_servfail: bool,
    ) -> Result<Answer, Failure> {
        let mut last = None;
        // Servers found not answering in this lookup, a bit each (a resolver configuration
        // has a few; past 64 a server is simply asked again): no allocation per question.
        let mut silent: u64 = 0;
        // Servers this question timed out at: an answer from one of them later shows a
        // question lost on the way ([`Pace`]), sent when the first one was.
        let mut timed_out: u64 = 0;
        let first_sent = std::time::Instant::now();
        for round in 0..rounds {
            // Retries of lost questions spread over a second: all sent again at once, a
            // burst's losses met the same limit again.
            if round > 0 && timed_out != 0 {
                let jitter = u64::from(super::random::question_id()) % 1000;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            for (i, (s, h)) in self.servers.iter().zip(&self.heard).enumerate() {
                let bit = u32::try_from(i).map_or(0, |i| 1u64.checked_shl(i).unwrap_or(0));
                // A suspect server is passed by only once it failed a liveness check, never
                // for timeouts alone: those can be slow names, and the next server may
                // answer otherwise (one that refuses what the first resolves).
                if silent & bit != 0 {
                    continue;
                }
                let Some(answer) = self.ask_configured(*s, h, name, rtype, timeout).await else {
                    silent |= bit;
                    last = Some(not_answering(*s));
                    continue;
                };
                if timed_out & bit != 0
                    && answer
                        .as_ref()
                        .is_ok_and(|a| a.rcode != ResponseCode::ServFail)
                {
                    h.lost(first_sent);
                }
                match answer {
                    Ok(a)
                        if next_on_servfail
                            && a.rcode == ResponseCode::ServFail
                            && self.servers.len() > 1 =>
                    {
                        last = Some(Failure::Network(format!("{s} answered SERVFAIL")));
                    }
                    Ok(a) => return Ok(a),
                    Err(Failure::Timeout) => {
                        timed_out |= bit;
                        last = Some(Failure::Timeout);
                    }
                    Err(e) => last = Some(e),
                }
            }
            // Another round would wait for servers found not answering at all.
            if silent.count_ones() as usize == self.servers.len() {
                break;
            }
        }
        Err(last.unwrap_or(Failure::Timeout))
    }

    /// One question to a configured server, kept track of in `h`; `None` when the server
    /// is suspect and did not answer a liveness question either (the question is not sent).
    async fn ask_configured(
        &self,
        server: SocketAddr,
        h: &Heard,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
    ) -> Option<Result<Answer, Failure>> {
        // A server that answered in this run is alive, whatever its silence since: that is
        // its upstreams' (a dnsmasq whose upstream is gone answers its own names and forwards
        // the rest, the liveness question too, into silence). Its questions are asked.
        if h.suspect() && !h.ever.load(Ordering::Relaxed) {
            // Boxed: inline, the lock's and the liveness questions' state would be part of
            // every name lookup's future (and of every endpoint's task): +9 MB of peak RSS
            // at 1,000 in flight, for a path a live resolver never takes.
            match Box::pin(self.gate(server, h, timeout)).await {
                Gate::Ask => {}
                Gate::Silent => return None,
                Gate::Fail(e) => return Some(Err(e)),
            }
        }
        let at = h
            .pace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(std::time::Instant::now());
        if let Some(at) = at {
            tokio::time::sleep_until(at.into()).await;
        }
        let answer = self.ask(server, name, rtype, true, timeout).await;
        match &answer {
            Ok(_) => {
                h.answered();
                h.pace
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .answered(std::time::Instant::now(), timeout);
            }
            Err(Failure::Timeout) => {
                h.in_row.fetch_add(1, Ordering::Relaxed);
            }
            Err(Failure::Network(_)) => {}
        }
        Some(answer)
    }

    /// Whether a question may go to `server`, which timed out a few times in a row: waits
    /// for the liveness check in flight, or makes it ([`Heard`]).
    async fn gate(&self, server: SocketAddr, h: &Heard, timeout: Duration) -> Gate {
        if self.now() < h.down_until.load(Ordering::Acquire) {
            return Gate::Silent;
        }
        let failed = h.failed_probes.load(Ordering::Acquire);
        let _probe = h.probe.lock().await;
        if !h.suspect() {
            // Answered while this question waited.
            return Gate::Ask;
        }
        if h.failed_probes.load(Ordering::Acquire) != failed {
            // One timed out while this question waited for it.
            return Gate::Silent;
        }
        match self.alive(server, timeout).await {
            Ok(true) => {
                h.answered();
                Gate::Ask
            }
            Ok(false) => {
                let until = self.now().saturating_add(nanos(timeout));
                h.down_until.store(until, Ordering::Release);
                h.failed_probes.fetch_add(1, Ordering::Release);
                Gate::Silent
            }
            Err(e) => Gate::Fail(e),
        }
    }

    /// Whether `server` answers the liveness question ([`Heard`]): the root's NS asked
    /// twice at once, without recursion (answered from the cache or refused, whatever the
    /// upstreams do) and with it (answered from the root priming every recursive resolver
    /// does, for one that ignores questions without recursion), so that neither one lost
    /// packet nor one resolver's policy makes a live server dead. Any answer, REFUSED
    /// included, is life.
    async fn alive(&self, server: SocketAddr, timeout: Duration) -> Result<bool, Failure> {
        let root = Name::root();
        let (a, b) = tokio::join!(
            self.ask(server, &root, RecordType::NS, false, timeout),
            self.ask(server, &root, RecordType::NS, true, timeout)
        );
        match (a, b) {
            (Ok(_), _) | (_, Ok(_)) => Ok(true),
            (Err(Failure::Network(m)), _) | (_, Err(Failure::Network(m))) => {
                Err(Failure::Network(m))
            }
            (Err(Failure::Timeout), Err(Failure::Timeout)) => Ok(false),
        }
    }

    /// Nanoseconds since these questions began.
    fn now(&self) -> u64 {
        nanos(self.started.elapsed())
    }

    /// The servers given, when they were asked and none of them ever answered: the run's
    /// DNS failures are then the resolver's, not the names'.
    pub fn unheard(&self) -> Option<String> {
        let asked = self
            .heard
            .iter()
            .any(|h| h.in_row.load(Ordering::Relaxed) > 0);
        let answered = self.heard.iter().any(|h| h.ever.load(Ordering::Relaxed));
        (asked && !answered).then(|| {
            let list: Vec<String> = self.servers.iter().map(ToString::to_string).collect();
            list.join(", ")
        })
    }

    /// The shared sockets, bound on first use; `None` when they cannot be had.
    async fn mux(&self) -> Option<&std::sync::Arc<UdpMux>> {
        self.mux
            .get_or_init(|| async { UdpMux::bind(&self.servers).ok() })
            .await
            .as_ref()
    }

    /// One question to `server` (which need not be one of the servers given), RD set to
    /// `recursion`.
    pub async fn ask(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        recursion: bool,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        match self.mux().await {
            Some(m) => {
                m.query(server, name, rtype, recursion, false, timeout)
                    .await
            }
            None => Box::pin(query(server, name, rtype, recursion, timeout)).await,
        }
    }

    /// One recursive question with checking disabled (CD): a validating resolver answers
    /// it without validating DNSSEC, which tells a zone whose signatures fail from one
    /// that fails otherwise. Only over the shared sockets.
    pub async fn ask_unchecked(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        match self.mux().await {
            Some(m) => m.query(server, name, rtype, true, true, timeout).await,
            None => Err(Failure::Network(
                "no socket here to ask with checking disabled".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_question_halves_the_pace_once_per_cut_and_calm_raises_it_back() {
        use std::time::Instant;
        let mut p = Pace::default();
        let t0: Instant = p.second.0;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Unlimited: 3,000 questions in the first second go at once.
        for i in 0..3000 {
            assert_eq!(p.reserve(at(i / 3)), None);
        }
        assert!(p.rate.is_infinite());
        // A loss: half of what went in the last second.
        p.reserve(at(1000));
        p.lost(at(10), at(3500));
        assert_eq!(p.rate, 1500.0);
        // Questions now go 1/1500 s apart.
        let first = p.reserve(at(3500));
        assert_eq!(first, None);
        let second = p.reserve(at(3500)).expect("paced");
        assert_eq!(
            second.duration_since(at(3500)),
            Duration::from_secs_f64(1.0 / 1500.0)
        );
        // Losses of questions sent before the cut, or within a second of it, tell nothing new.
        p.lost(at(3000), at(3600));
        p.lost(at(3550), at(4000));
        assert_eq!(p.rate, 1500.0);
        // One sent after it, a second later: halved again, never under the floor.
        p.lost(at(3600), at(4600));
        assert_eq!(p.rate, 750.0);
        for k in 0..5 {
            p.lost(at(4700 + 1000 * k), at(5700 + 1000 * k));
        }
        assert_eq!(p.rate, PACE_FLOOR);
        // Calm for a timeout after the last cut: a fifth more a second, then unlimited.
        let timeout = Duration::from_secs(3);
        p.answered(at(10_000), timeout);
        assert_eq!(p.rate, PACE_FLOOR);
        p.answered(at(12_800), timeout);
        assert_eq!(p.rate, PACE_FLOOR * 1.2);
        p.answered(at(13_300), timeout);
        assert_eq!(p.rate, PACE_FLOOR * 1.2);
        for k in 0..40 {
            p.answered(at(14_000 + 1000 * k), timeout);
        }
        assert!(p.rate.is_infinite());
        assert_eq!(p.reserve(at(60_000)), None);
    }

    #[tokio::test]
    async fn a_flush_dropped_midway_sends_the_rest_before_it_goes() {
        use futures_util::FutureExt;
        // A question's task cancelled while its flush waits for its next turn: the questions
        // it had yet to send, others' among them, go at once rather than wait for another
        // question to come (which at a sweep's end none may).
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = server.local_addr().unwrap();
        let mux = UdpMux::bind(&[at]).unwrap();
        let lane = &mux.v4[0];
        lane.sock.writable().await.unwrap();
        let n = BATCH + 72;
        for id in 0..n {
            lane.outbox().queue.push(Outgoing {
                id: u16::try_from(id).unwrap(),
                seq: id as u64,
                server: at,
                bytes: vec![0; 40],
            });
        }
        // One turn: a batch goes, then the flush yields, and is dropped.
        assert!(mux.flush(lane).now_or_never().is_none());
        let mut buf = [0u8; 512];
        server.set_nonblocking(true).unwrap();
        let outbox = lane.outbox();
        assert!(outbox.queue.is_empty() && !outbox.flushing);
        let mut got = 0;
        while server.recv_from(&mut buf).is_ok() {
            got += 1;
        }
        assert_eq!(got, n);
    }

    #[tokio::test(start_paused = true)]
    async fn a_question_dropped_while_it_waits_leaves_nothing_behind() {
        // A resolver that never answers; the question's task is dropped (a stop) while it
        // waits for the answer, long before its own timeout.
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = server.local_addr().unwrap();
        let mux = UdpMux::bind(&[at]).unwrap();
        let name = fqdn("a.test").unwrap();
        let waiting = mux.query(
            at,
            &name,
            RecordType::A,
            true,
            false,
            Duration::from_secs(30),
        );
        // The clock moves only once nothing else can run: the question is out by then.
        let stopped = tokio::time::timeout(Duration::from_millis(50), waiting).await;
        assert!(stopped.is_err());
        server.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        assert!(server.recv_from(&mut buf).is_ok(), "the question was sent");
        assert!(mux.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn a_resolver_is_an_address_with_a_port_that_can_be_asked() {
        let ok = |s: &str| parse_server(s).map(|a| a.to_string());
        assert_eq!(ok("10.0.0.53"), Ok("10.0.0.53:53".into()));
        assert_eq!(ok(" 10.0.0.53:5353 "), Ok("10.0.0.53:5353".into()));
        assert_eq!(ok("[2001:db8::53]"), Ok("[2001:db8::53]:53".into()));
        assert_eq!(ok("2001:db8::53"), Ok("[2001:db8::53]:53".into()));
        assert_eq!(ok("[2001:db8::53]:5353"), Ok("[2001:db8::53]:5353".into()));
        assert_eq!(
            ok("dns.example"),
            Err("\"dns.example\" is not IP or IP:PORT".into())
        );
        assert_eq!(
            ok("127.0.0.1:0"),
            Err("\"127.0.0.1:0\": port 0 cannot be asked".into())
        );
        assert_eq!(
            ok("0.0.0.0"),
            Err("\"0.0.0.0\" is the unspecified address, no server's".into())
        );
    }
}
