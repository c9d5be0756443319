//! The sweep: targets → endpoints → handshakes → observations, with bounded concurrency,
//! per-endpoint deadlines, retries and an optional global connection rate.
//!
//! Memory is bounded by the concurrency, never by the inventory: targets arrive through a
//! bounded channel from a reader thread, each endpoint task holds a semaphore permit, and
//! results leave through a bounded channel as soon as they are complete.

use super::handshake::{legacy_fallback, probe, Attempt, Timeouts, TlsClient};
use super::resolve::Dns;
use super::starttls::StarttlsChoice;
use super::targets::{Target, TargetError};
use crate::model::{
    ErrorClass, ErrorInfo, Finding, KeyFamily, Observation, OtherKey, RevocationInfo, Sampled,
    Samples, SecondLook, StapledApart, Starttls, Timings,
};
use crate::timefmt::{now_unix, rfc3339};
use crate::trust::{Reached, TrustJudge};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex, Semaphore};

/// An endpoint's TLSA records, and whether the resolver said they are DNSSEC-authentic.
type TlsaRecords<'a> = Option<&'a crate::dane::Published>;

/// A chain's leaf facts, trust judgement and revocation query ([`Engine::judged`]).
type Judged = (
    Option<crate::model::CertInfo>,
    crate::trust::TrustReport,
    Option<crate::revocation::Query>,
);

/// How long a name's lookup counts among the lookups in flight (`min(concurrency, 256)` at
/// once) before it is taken for slow and lets another name's question go: well above a
/// resolver's answer from its cache or a live zone's (milliseconds to a few hundred), well
/// below one for a zone whose servers are gone (seconds).
const SLOW_LOOKUP: Duration = Duration::from_secs(1);

/// Slow lookups in flight at once, beside the others: the names of dead zones stop pacing
/// the live ones, while the resolver, which asks those zones' servers again for each of
/// them, gets at most this many more at once (their questions are asked again every 3 s).
pub const SLOW_LOOKUPS: usize = 1024;

/// How a sweep behaves.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Endpoints in flight at most.
    pub concurrency: usize,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// TLS handshake timeout.
    pub handshake_timeout: Duration,
    /// Time for the plaintext dialogue before TLS on STARTTLS endpoints.
    pub starttls_timeout: Duration,
    /// Hard limit for one endpoint, retries included; the task is cancelled past it.
    pub deadline: Duration,
    /// Extra attempts after a timeout or reset.
    pub retries: u32,
    /// New connections per second, globally.
    pub rate: Option<f64>,
    /// Keep the presented chain as PEM in the observation.
    pub pem: bool,
    /// Scan only the first address of each name.
    pub first_ip: bool,
    /// Connections in flight to any one address: a load balancer that serves thousands of
    /// names on one address gets them a few hundred at a time, not all at once.
    pub per_address: usize,
    /// Which endpoints speak a plaintext protocol before TLS, unless a target says.
    pub starttls: StarttlsChoice,
    /// Asked after each certificate whether to look again offering only one key family.
    pub second_look: Option<Arc<dyn SecondLook>>,
    /// Addresses and names never to connect to (`--exclude`).
    pub exclude: Option<Arc<super::exclude::Exclusions>>,
    /// Asks the CA's revocation list of every leaf (`--crl`).
    pub crl: Option<Arc<crate::crl::CrlCheck>>,
    /// Asks the CA's OCSP responder about every leaf (`--ocsp`).
    pub ocsp: Option<Arc<crate::ocsp::OcspCheck>>,
    /// Connections made to every endpoint that presented a certificate, the first one
    /// included (`--samples`): more than one sees the nodes behind a load balancer.
    pub samples: u32,
    /// Asks each named endpoint that presented a certificate for its TLSA records and
    /// judges them (`--dane`).
    pub dane: bool,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            concurrency: 1000,
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            starttls_timeout: Duration::from_secs(15),
            deadline: Duration::from_secs(12),
            retries: 0,
            rate: None,
            pem: false,
            first_ip: false,
            per_address: 256,
            starttls: StarttlsChoice::Auto,
            second_look: None,
            exclude: None,
            crl: None,
            ocsp: None,
            samples: 1,
            dane: false,
        }
    }
}

/// Bounds the connections in flight per address; an address's entry goes when its last
/// connection ends, so the map stays as small as the set of addresses in flight.
struct AddressLimits {
    per: usize,
    map: Arc<std::sync::Mutex<HashMap<std::net::IpAddr, Arc<Semaphore>>>>,
}

/// One connection's turn at an address.
struct Turn {
    ip: std::net::IpAddr,
    sem: Arc<Semaphore>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    map: Arc<std::sync::Mutex<HashMap<std::net::IpAddr, Arc<Semaphore>>>>,
}

impl AddressLimits {
    fn new(per: usize) -> Self {
        AddressLimits {
            per: per.max(1),
            map: Arc::default(),
        }
    }

    async fn acquire(&self, ip: std::net::IpAddr) -> Turn {
        let sem = {
            let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(ip)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per)))
                .clone()
        };
        let permit = sem.clone().acquire_owned().await.ok();
        Turn {
            ip,
            sem,
            permit,
            map: self.map.clone(),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.permit.take();
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // The map's handle and ours: nobody else holds or waits for this address.
        if Arc::strong_count(&self.sem) == 2 {
            m.remove(&self.ip);
        }
    }
}

/// What the sweep emits, in completion order.
#[derive(Debug)]
pub enum Event {
    /// One endpoint is done.
    Observed(Box<Observation>),
    /// A target line could not be used.
    BadTarget(TargetError),
}

/// Counters the progress display reads while the sweep runs.
#[derive(Debug, Default)]
pub struct Counters {
    /// Usable target lines read.
    pub targets_read: AtomicU64,
    /// Targets whose every endpoint is finished.
    pub targets_done: AtomicU64,
    /// Exact duplicate targets collapsed.
    pub duplicates: AtomicU64,
    /// Endpoints named again by another target (a pin to an address the name resolves to,
    /// an address written twice in different forms), scanned once.
    pub duplicate_endpoints: AtomicU64,
    /// Endpoints started.
    pub endpoints_started: AtomicU64,
    /// Names resolved whose addresses are not all connecting yet.
    pub names_waiting: AtomicU64,
    /// The most names that were ever waiting so at once (bounded by the concurrency).
    pub names_waiting_peak: AtomicU64,
    /// The most lookups that were ever slow at once (bounded by [`SLOW_LOOKUPS`]).
    pub slow_lookups_peak: AtomicU64,
    /// Connection attempts beyond each endpoint's first (`--retries`), counted as their
    /// backoff starts.
    pub retries: AtomicU64,
    /// Targets not resolved nor scanned, their name on the `--exclude` list.
    pub excluded_names: AtomicU64,
    /// Endpoints not scanned, their address on the `--exclude` list.
    pub excluded_addresses: AtomicU64,
}

/// Stops the sweep from starting new connections (Ctrl-C).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Cancel {
    /// Asks the sweep to stop starting new work.
    pub fn cancel(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }

    /// Completes once [`Cancel::cancel`] is called (at once if it was).
    pub async fn cancelled(&self) {
        let notified = self.0 .1.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a cancel in between is not missed.
        notified.as_mut().enable();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

/// One (name, address, port) to scan.
#[derive(Debug, Clone)]
struct Endpoint {
    host: String,
    ip: IpAddr,
    port: u16,
    sni: Option<String>,
    label: Option<String>,
    starttls: Option<Starttls>,
    /// `--starttls auto` found no protocol for the port: a greeting sent instead of TLS
    /// may name one.
    detect: bool,
    /// For an address of a CIDR target, the block's number in the sweep's
    /// [`super::seen::Blocks`]: its addresses are not remembered by the endpoint filter, whose
    /// memory would then grow with the block (a /8 is 16 million addresses, 100 MB of it).
    block: Option<u32>,
}

impl Endpoint {
    /// How a client reaches it: by its name (the SNI sent), or by its address alone.
    fn reached(&self) -> Reached<'_> {
        match &self.sni {
            Some(name) => Reached::Name(name),
            None => Reached::Address(self.ip),
        }
    }
}

/// A name to look up, and what each of its endpoints carries.
struct NameJob {
    name: String,
    port: u16,
    sni: Option<String>,
    label: Option<String>,
    starttls: Option<Starttls>,
    /// `--starttls auto` found no protocol for the port.
    detect: bool,
}

/// What one sweep (one [`Engine::start`]) keeps beside the engine: an engine may run
/// several sweeps (a benchmark's rounds), each seeing every endpoint afresh.
struct SweepRun {
    counters: Arc<Counters>,
    /// The endpoints started, so that two targets naming one endpoint (a pinned `host@IP`
    /// and the name resolving to that address, `::1` and `[::1]:443`) give one row. 6 bytes
    /// an endpoint (see [`super::seen::Seen`]); the addresses of CIDR targets are not kept.
    endpoints: std::sync::Mutex<super::seen::Seen>,
    /// The CIDR targets begun, so that an address also named alone or by an earlier
    /// overlapping block gives one row.
    blocks: std::sync::Mutex<super::seen::Blocks>,
    /// Whether any block was begun: until one is, an endpoint named alone needs no look at
    /// them (most sweeps have none, and this is every endpoint's path).
    any_blocks: AtomicBool,
}

impl SweepRun {
    /// Whether `ep` is started for the first time in this sweep.
    fn first_time(&self, ep: &Endpoint) -> bool {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            &ep.host,
            ep.ip,
            ep.port,
            &ep.sni,
            &ep.label,
            ep.starttls,
            ep.detect,
        )
            .hash(&mut h);
        let hash = h.finish();
        // A poisoned lock only means another task panicked while inserting; the sets are
        // still sets.
        let blocks = || {
            self.blocks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut seen = self
            .endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match ep.block {
            Some(k) => !seen.contains(hash) && !blocks().covers(ep.ip, shared(ep), k),
            None => {
                if !seen.insert(hash) {
                    return false;
                }
                drop(seen);
                // Only a bare address can be one of a block's endpoints (their host is the
                // address, and they have no label).
                !self.any_blocks.load(Ordering::Acquire)
                    || ep.label.is_some()
                    || ep.host.parse::<IpAddr>() != Ok(ep.ip)
                    || !blocks().covers(ep.ip, shared(ep), u32::MAX)
            }
        }
    }

    /// Registers a CIDR target about to be expanded; its number for its endpoints.
    fn block(&self, net: &ipnet::IpNet, ep: &Endpoint) -> u32 {
        let k = self
            .blocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(net, shared(ep));
        self.any_blocks.store(true, Ordering::Release);
        k
    }
}

/// What the endpoints of one CIDR target have in common besides the block.
fn shared(ep: &Endpoint) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (ep.port, &ep.sni, ep.starttls, ep.detect).hash(&mut h);
    h.finish()
}

/// Marks a target done when the last of its endpoint tasks drops its handle.
struct TargetDone(Arc<SweepRun>);

impl Drop for TargetDone {
    fn drop(&mut self) {
        self.0.counters.targets_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// The engine: TLS client, trust store, resolver and limits.
pub struct Engine {
    tls: TlsClient,
    trust: Arc<TrustJudge>,
    /// Stapled OCSP responses, their checked signatures remembered across endpoints.
    staples: crate::ocsp::StapleJudge,
    chain_entries: crate::cert::ChainEntries,
    dns: Arc<Dns>,
    cfg: SweepConfig,
    connections: Arc<Semaphore>,
    /// Lookups in flight that have not yet taken [`SLOW_LOOKUP`] (see `resolve_and_launch`).
    lookups: Arc<Semaphore>,
    /// Lookups in flight that have ([`SLOW_LOOKUPS`]).
    slow_lookups: Arc<Semaphore>,
    /// Names being resolved or resolved and waiting for connection slots.
    ahead: Arc<Semaphore>,
    /// How many `ahead` slots the dispatcher takes at a time (see `dispatch`).
    ahead_burst: u32,
    per_address: AddressLimits,
    rate: Option<Mutex<tokio::time::Interval>>,
    counters: Arc<Counters>,
}

impl Engine {
    /// The `--exclude` lists the engine honours, if any.
    pub fn exclusions(&self) -> Option<Arc<super::exclude::Exclusions>> {
        self.cfg.exclude.clone()
    }

    /// Builds an engine; call inside a tokio runtime.
    pub fn new(
        tls: TlsClient,
        trust: Arc<TrustJudge>,
        dns: Arc<Dns>,
        cfg: SweepConfig,
    ) -> Arc<Self> {
        let concurrency = cfg.concurrency.max(1);
        let rate = cfg.rate.filter(|r| *r > 0.0).map(|r| {
            let mut iv = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Mutex::new(iv)
        });
        Arc::new(Engine {
            tls,
            trust,
            staples: Default::default(),
            chain_entries: Default::default(),
            dns,
            connections: Arc::new(Semaphore::new(concurrency)),
            // Lookups are cheap and the resolver multiplexes them; a separate, smaller bound
            // keeps a slow DNS server from holding connection slots.
            lookups: Arc::new(Semaphore::new(concurrency.clamp(1, 256))),
            slow_lookups: Arc::new(Semaphore::new(SLOW_LOOKUPS)),
            ahead: Arc::new(Semaphore::new(concurrency)),
            ahead_burst: u32::try_from((concurrency / 16).clamp(1, 32)).unwrap_or(1),
            per_address: AddressLimits::new(cfg.per_address),
            rate,
            counters: Arc::new(Counters::default()),
            cfg,
        })
    }

    /// The revocation lists `--crl` fetched (none without it), as
    /// [`crate::crl::CrlCheck::lists_read`] tells them.
    pub fn crl_lists(&self) -> Vec<(String, Result<usize, String>)> {
        self.cfg
            .crl
            .as_ref()
            .map(|c| c.lists_read())
            .unwrap_or_default()
    }

    /// The OCSP responders `--ocsp` asked (none without it), with what each answered, and
    /// how many certificates checked named none (`None` without `--ocsp`).
    pub fn ocsp_responders(&self) -> (Vec<(String, crate::ocsp::ResponderTally)>, Option<usize>) {
        match &self.cfg.ocsp {
            Some(c) => (c.responders_asked(), Some(c.without_responder())),
            None => (Vec::new(), None),
        }
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Names whose A or AAAA question failed while the other gave addresses (see
    /// [`Dns::half_answered`]).
    pub fn dns_half_answered(&self) -> u64 {
        self.dns.half_answered()
    }

    /// The resolver's addresses when it was asked and never answered ([`Dns::unheard`]).
    pub fn dns_unheard(&self) -> Option<String> {
        self.dns.unheard()
    }

    /// Runs the sweep over `targets`, read on a separate thread so that a slow or blocking
    /// source (stdin) never stalls the runtime. Returns the stream of events; it ends when
    /// every started endpoint is done.
    pub fn start<I>(self: &Arc<Self>, targets: I, cancel: Cancel) -> mpsc::Receiver<Event>
    where
        I: Iterator<Item = Result<Target, TargetError>> + Send + 'static,
    {
        let (events_tx, events_rx) = mpsc::channel::<Event>(1024);
        const QUEUED: usize = 1024;
        let (targets_tx, mut targets_rx) = mpsc::channel(QUEUED);
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            for item in targets {
                let item = match targets_tx.try_send(item) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                    Err(mpsc::error::TrySendError::Full(item)) => item,
                };
                // Full: wait until half the queue is free rather than for one slot, so the
                // sweep wakes this thread once per 512 targets instead of once per target.
                let Ok(mut room) = runtime.block_on(targets_tx.reserve_many(QUEUED / 2)) else {
                    break;
                };
                if let Some(slot) = room.next() {
                    slot.send(item);
                }
            }
        });
        let me = self.clone();
        let run = Arc::new(SweepRun {
            counters: self.counters.clone(),
            endpoints: Default::default(),
            blocks: Default::default(),
            any_blocks: AtomicBool::new(false),
        });
        tokio::spawn(async move {
            let mut seen = super::seen::Seen::default();
            let mut ahead = None;
            while let Some(item) = targets_rx.recv().await {
                if cancel.is_cancelled() {
                    break;
                }
                let target = match item {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = events_tx.send(Event::BadTarget(e)).await;
                        continue;
                    }
                };
                // Exact duplicates collapse; `Seen` keeps 6 bytes per distinct target. The
                // dialogue is compared as it will be spoken: `smtp://mx` and `mx:25` are one.
                let mut target = target;
                me.settle_starttls(&mut target);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                target.hash(&mut h);
                if !seen.insert(h.finish()) {
                    me.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if me.excluded_name(&target) {
                    me.counters.excluded_names.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                me.counters.targets_read.fetch_add(1, Ordering::Relaxed);
                let done = Arc::new(TargetDone(run.clone()));
                me.dispatch(target, done, &events_tx, &cancel, &mut ahead)
                    .await;
            }
        });
        events_rx
    }

    async fn dispatch(
        self: &Arc<Self>,
        target: Target,
        done: Arc<TargetDone>,
        tx: &mpsc::Sender<Event>,
        cancel: &Cancel,
        ahead_pool: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        match target {
            Target::Addr {
                ip,
                port,
                sni,
                label,
                starttls,
            } => {
                let (starttls, detect) = self.starttls(starttls, port);
                let ep = Endpoint {
                    host: ip.to_string(),
                    ip,
                    port,
                    sni,
                    label,
                    starttls,
                    detect,
                    block: None,
                };
                self.launch(ep, None, done, tx.clone(), cancel).await;
            }
            Target::Cidr { net, port, sni } => {
                let (starttls, detect) = self.starttls(None, port);
                let like = |ip: IpAddr, block| Endpoint {
                    host: ip.to_string(),
                    ip,
                    port,
                    sni: sni.clone(),
                    label: None,
                    starttls,
                    detect,
                    block,
                };
                let k = done.0.block(&net, &like(net.network(), None));
                for ip in net_addrs(&net) {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let ep = like(ip, Some(k));
                    self.launch(ep, None, done.clone(), tx.clone(), cancel)
                        .await;
                }
            }
            Target::Name {
                name,
                port,
                pin: Some(ip),
                sni,
                label,
                starttls,
            } => {
                let (starttls, detect) = self.starttls(starttls, port);
                let ep = Endpoint {
                    sni: Some(sni.unwrap_or_else(|| name.clone())),
                    host: name,
                    ip,
                    port,
                    label,
                    starttls,
                    detect,
                    block: None,
                };
                self.launch(ep, None, done, tx.clone(), cancel).await;
            }
            Target::Name {
                name,
                port,
                pin: None,
                sni,
                label,
                starttls,
            } => {
                let (starttls, detect) = self.starttls(starttls, port);
                // Held until every address of the name has its connection slot, so that when
                // answers come faster than handshakes finish, resolved names waiting for a
                // slot stay bounded by the concurrency instead of growing with the inventory.
                //
                // Slots are taken a burst at a time, so that names are resolved in bursts:
                // questions sent back to back wake the DNS server once for the burst instead
                // of once per name, and its answers come back together.
                let ahead = match ahead_pool.as_mut().and_then(|p| p.split(1)) {
                    Some(one) => one,
                    None => {
                        let Ok(mut burst) = self
                            .ahead
                            .clone()
                            .acquire_many_owned(self.ahead_burst)
                            .await
                        else {
                            return;
                        };
                        let one = burst.split(1);
                        *ahead_pool = Some(burst);
                        let Some(one) = one else { return };
                        one
                    }
                };
                let Ok(permit) = self.lookups.clone().acquire_owned().await else {
                    return;
                };
                let job = NameJob {
                    name,
                    port,
                    sni,
                    label,
                    starttls,
                    detect,
                };
                let held = (permit, ahead, done);
                tokio::spawn(self.clone().resolve_and_launch(
                    job,
                    held,
                    tx.clone(),
                    cancel.clone(),
                ));
            }
        }
    }

    /// Looks the job's name up and launches an endpoint for each address (the first only with
    /// `--first-ip`), or sends the lookup's failure as the name's observation. `held`: its
    /// place among the lookups in flight, its place ahead of the connections, and its
    /// target's completion.
    async fn resolve_and_launch(
        self: Arc<Self>,
        NameJob {
            name,
            port,
            sni,
            label,
            starttls,
            detect,
        }: NameJob,
        (permit, ahead, done): (
            tokio::sync::OwnedSemaphorePermit,
            tokio::sync::OwnedSemaphorePermit,
            Arc<TargetDone>,
        ),
        tx: mpsc::Sender<Event>,
        cancel: Cancel,
    ) {
        let t0 = Instant::now();
        let mut permit = Some(permit);
        // A name whose answer is slow (a zone whose servers are gone: the resolver tries
        // them, then says SERVFAIL, or the question times out) gives its place to the next
        // name's question: a list with thousands of stale names would otherwise hold every
        // place for seconds each and pace the live names' lookups by them. Slow ones are
        // bounded apart ([`SLOW_LOOKUPS`]), and each still holds its `ahead` slot.
        let mut slow = None;
        let answer = {
            let lookup = self.dns.lookup(&name);
            tokio::pin!(lookup);
            match tokio::time::timeout(SLOW_LOOKUP, &mut lookup).await {
                Ok(answer) => answer,
                // Its place traded for one among the slow lookups once there is one.
                Err(_) => tokio::select! {
                    answer = &mut lookup => answer,
                    Ok(place) = self.slow_lookups.clone().acquire_owned() => {
                        permit = None;
                        slow = Some(place);
                        let now_slow =
                            SLOW_LOOKUPS.saturating_sub(self.slow_lookups.available_permits());
                        self.counters
                            .slow_lookups_peak
                            .fetch_max(now_slow as u64, Ordering::Relaxed);
                        lookup.await
                    }
                },
            }
        };
        let dns_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
        drop((permit, slow));
        let _ahead = ahead;
        let waiting = self.counters.names_waiting.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters
            .names_waiting_peak
            .fetch_max(waiting, Ordering::Relaxed);
        match answer {
            Err(error) => {
                let sni = Some(sni.unwrap_or_else(|| name.clone()));
                let mut obs = Observation::failed(name, None, port, sni, label, error);
                obs.timings.dns_ms = dns_ms;
                let _ = tx.send(Event::Observed(Box::new(obs))).await;
                drop(done);
            }
            Ok(ips) => {
                let n = if self.cfg.first_ip { 1 } else { ips.len() };
                for ip in ips.into_iter().take(n) {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let ep = Endpoint {
                        host: name.clone(),
                        ip,
                        port,
                        sni: Some(sni.clone().unwrap_or_else(|| name.clone())),
                        label: label.clone(),
                        starttls,
                        detect,
                        block: None,
                    };
                    self.launch(ep, dns_ms, done.clone(), tx.clone(), &cancel)
                        .await;
                }
            }
        }
        self.counters.names_waiting.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether the target's name (or a bare address's SNI) is on the `--exclude` list:
    /// then it is not even resolved.
    fn excluded_name(&self, target: &Target) -> bool {
        let Some(x) = &self.cfg.exclude else {
            return false;
        };
        match target {
            Target::Name { name, sni, .. } => {
                x.name(name) || sni.as_deref().is_some_and(|s| x.name(s))
            }
            Target::Addr { sni, .. } | Target::Cidr { sni, .. } => {
                sni.as_deref().is_some_and(|s| x.name(s))
            }
        }
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.cfg.connect_timeout,
            starttls: self.cfg.starttls_timeout,
            handshake: self.cfg.handshake_timeout,
        }
    }

    /// Writes into `target` the dialogue choice it will be scanned with (its own, else the
    /// sweep's, resolved by its port), so that targets that will be scanned alike compare
    /// equal.
    fn settle_starttls(&self, target: &mut Target) {
        if let Target::Name { port, starttls, .. } | Target::Addr { port, starttls, .. } = target {
            let settled = match self.starttls(*starttls, *port) {
                (Some(proto), _) => StarttlsChoice::Use(proto),
                (None, true) => StarttlsChoice::Auto,
                (None, false) => StarttlsChoice::Off,
            };
            *starttls = Some(settled);
        }
    }

    /// The dialogue an endpoint on `port` gets (the target's choice, else the sweep's), and
    /// whether a greeting may still name one (`auto` on a port it does not know).
    fn starttls(&self, target: Option<StarttlsChoice>, port: u16) -> (Option<Starttls>, bool) {
        let choice = target.unwrap_or(self.cfg.starttls);
        let proto = choice.for_port(port);
        (proto, choice == StarttlsChoice::Auto && proto.is_none())
    }

    async fn launch(
        self: &Arc<Self>,
        ep: Endpoint,
        dns_ms: Option<f64>,
        done: Arc<TargetDone>,
        tx: mpsc::Sender<Event>,
        cancel: &Cancel,
    ) {
        // Wherever the address came from (a resolved name, a pin, a block): a list of what
        // must not be touched holds for all of them.
        if self.cfg.exclude.as_ref().is_some_and(|x| x.address(ep.ip)) {
            self.counters
                .excluded_addresses
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        if !done.0.first_time(&ep) {
            self.counters
                .duplicate_endpoints
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Ok(permit) = self.connections.clone().acquire_owned().await else {
            return;
        };
        // A stop may come while this endpoint waits for its slot or its --rate turn (up to
        // --concurrency resolved names wait here): it is not started then, and the turns of
        // those waiting are not waited out one by one (at --rate 10, a thousand of them would
        // hold a stopped sweep for a hundred seconds).
        if self.rate_turn(cancel).await.is_none() || cancel.is_cancelled() {
            return;
        }
        self.counters
            .endpoints_started
            .fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            // Borrowed by both: the task holds one copy of the endpoint while it runs.
            let obs = guarded(&ep, me.scan(&ep, dns_ms, &cancel)).await;
            // The permit is released only once the result is handed over, so a slow writer
            // slows the sweep instead of piling results up in memory.
            let _ = tx.send(Event::Observed(Box::new(obs))).await;
            drop(permit);
            drop(done);
        });
    }

    async fn scan(&self, ep: &Endpoint, dns_ms: Option<f64>, cancel: &Cancel) -> Observation {
        let (mut obs, queries) = self.connect_and_observe(ep, dns_ms, cancel).await;
        // After the connections: the endpoint's address slot is free while the lists and
        // the responders' answers come.
        if self.cfg.crl.is_some() || self.cfg.ocsp.is_some() {
            // Boxed: the checks' futures (an HTTP exchange each) would otherwise sit in
            // every endpoint's task, a thousand in flight, with or without the options.
            Box::pin(self.revocation(&mut obs, queries, cancel)).await;
        }
        obs
    }

    /// What the CA's list (`--crl`) and responder (`--ocsp`) say of each certificate the
    /// endpoint presented, recorded on `obs`.
    async fn revocation(&self, obs: &mut Observation, queries: RevocationQueries, cancel: &Cancel) {
        let ask = |q: crate::revocation::Query| async move {
            let crl = async {
                let c = self.cfg.crl.as_ref()?;
                let stopped = || crate::crl::stopped(&q);
                Some(unless_stopped(c.check(&q, now_unix()), stopped, cancel).await)
            };
            let ocsp = async {
                let c = self.cfg.ocsp.as_ref()?;
                let stopped = || crate::ocsp::stopped(&q);
                Some(unless_stopped(c.check(&q, now_unix()), stopped, cancel).await)
            };
            let (crl, ocsp) = tokio::join!(crl, ocsp);
            Said { crl, ocsp }
        };
        if let Some(q) = queries.first {
            ask(q)
                .await
                .apply(&mut obs.findings, &mut obs.crl, &mut obs.ocsp_responder);
        }
        // The second look's certificate, served to the other key type's clients, may be
        // revoked on its own.
        if let (Some(q), Some(other)) = (queries.other, obs.other_key.as_deref_mut()) {
            ask(q).await.apply(
                &mut other.findings,
                &mut other.crl,
                &mut other.ocsp_responder,
            );
        }
        // So may another node's (`--samples`): an old certificate put back by a rollback
        // is often one revoked since.
        for (i, q) in queries.nodes {
            let said = ask(q).await;
            if let Some(x) = obs.samples.as_deref_mut().and_then(|s| s.others.get_mut(i)) {
                said.apply(&mut x.findings, &mut x.crl, &mut x.ocsp_responder);
            }
        }
    }

    /// The endpoint's observation, and the queries for its leaves' revocation when `--crl`
    /// or `--ocsp` asks.
    async fn connect_and_observe(
        &self,
        ep: &Endpoint,
        dns_ms: Option<f64>,
        cancel: &Cancel,
    ) -> (Observation, RevocationQueries) {
        let scan_time = rfc3339(time::OffsetDateTime::now_utc());
        // Waiting for the address's turn is not the endpoint's fault: the deadline starts after.
        let _turn = self.per_address.acquire(ep.ip).await;
        let mut deadline = tokio::time::Instant::now() + self.cfg.deadline;
        let (mut attempt, attempts) = self.with_retries(ep, &mut deadline, cancel).await;
        // Once the retries are spent: a greeting sent instead of TLS may name the protocol
        // to speak first, and a server that refused the modern hellos gets a legacy one.
        let mut starttls = ep.starttls;
        if let (true, Some(proto)) = (ep.detect, attempt.greeting) {
            if self
                .speak_the_greeting(ep, proto, &mut attempt, &mut deadline, cancel)
                .await
            {
                starttls = Some(proto);
            }
        }
        if attempt.fallback.is_some() {
            self.legacy(ep, starttls, &mut attempt, attempts, &mut deadline, cancel)
                .await;
        }
        explain_failure(ep, &mut attempt, attempts);
        let start = self
            .first_presented(ep, starttls, &mut attempt, &mut deadline, cancel)
            .await;
        // `--dane`: the TLSA records of the name clients reach the endpoint by, judged on
        // the chain as served, within the endpoint's deadline. Boxed, as the other rare
        // paths: its question's state would otherwise widen every endpoint's task.
        let tlsa = match &ep.sni {
            Some(name) if self.cfg.dane && !attempt.chain.is_empty() => {
                let mail = matches!(starttls, Some(Starttls::Smtp | Starttls::Lmtp));
                Box::pin(self.tlsa(name, ep.port, mail, deadline)).await
            }
            _ => Ok(None),
        };
        let dane = dane_judged(&tlsa, &attempt.chain);
        // What the other nodes present is judged against the same records.
        let tlsa = tlsa.as_ref().ok().and_then(Option::as_ref);
        // The samples compare the other nodes' stapling of this certificate with this one's.
        let first_staple = match self.cfg.samples {
            0 | 1 => Vec::new(),
            _ => attempt.ocsp.clone(),
        };
        let (mut obs, first) = self.observe(ep, starttls, scan_time, dns_ms, attempt, attempts);
        if let Some((info, findings)) = dane {
            obs.findings.extend(findings);
            obs.findings.sort();
            obs.findings.dedup();
            obs.dane = Some(Box::new(info));
        }
        let mut queries = RevocationQueries {
            first,
            other: None,
            nodes: Vec::new(),
        };
        // A certificate read by the legacy hello came from a server the modern one does not
        // reach: a restricted modern hello would not reach it either, nor would a sample.
        let modern = !obs.findings.iter().any(|f| {
            matches!(
                f,
                Finding::LegacyTls | Finding::UncommonTls | Finding::OversizedChain
            )
        });
        if self.cfg.samples > 1 && obs.cert.is_some() && modern {
            // Boxed for the reason the second look is.
            queries.nodes = Box::pin(self.sample(
                ep,
                starttls,
                &mut obs,
                (start, tlsa, &first_staple),
                &mut deadline,
                cancel,
            ))
            .await;
        } else if start.failed > 1 {
            // No connection got a certificate: the observation says why the first did not,
            // the samples that it was every one.
            obs.samples = Some(Box::new(start));
        }
        let Some(look) = &self.cfg.second_look else {
            return (obs, queries);
        };
        if obs.cert.is_some() && modern {
            if let Some(family) = look.wanted(&obs) {
                // Boxed as the other rare paths, so that its state never sets the width of
                // every endpoint's task (inline it is no wider than the first connection's
                // today: 4,864 bytes either way, by the size test below).
                if let Some((other, query)) =
                    Box::pin(self.other_key(ep, starttls, (family, tlsa), &mut deadline, cancel))
                        .await
                {
                    obs.other_key = Some(other);
                    queries.other = query;
                }
            }
        }
        (obs, queries)
    }

    /// `--samples`: the first connection may have reached a node that fails its
    /// handshakes (an alert, a hang-up) or, behind a balancer that forwards connections
    /// (IPVS, a Kubernetes service, a cloud network load balancer), one whose service is
    /// down and refuses them, while the others behind the address serve; the next
    /// connections are made until one presents a certificate, which `attempt` becomes; and
    /// after a handshake that timed out (a node whose service hangs), but only once: a
    /// second timeout ends it, so that a dead address is not held N timeouts long. Not
    /// after a failed handshake with a bare address (refused without a name, every time), a
    /// server that answered in plaintext, or a connect that timed out (nothing answers at
    /// the address itself: what `--retries` is for). The samples counted so far.
    async fn first_presented(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        attempt: &mut Attempt,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> Samples {
        let mut start = Samples {
            connections: 1,
            same: 1,
            failed: 0,
            error: None,
            others: Vec::new(),
            staples: Vec::new(),
            staples_fine: 0,
            chains_fine: 0,
        };
        if self.cfg.samples > 1 && node_failed(ep, attempt) {
            start.same = 0;
            start.failed = 1;
            start.error = attempt.error.clone();
            // Boxed, as the other rare paths.
            if let Some(found) =
                Box::pin(self.sample_until_presented(ep, starttls, &mut start, deadline, cancel))
                    .await
            {
                *attempt = found;
                start.same = 1;
            }
        }
        start
    }

    /// The first handshake and the retries `--retries` allows, within the hard limit
    /// `deadline` covering the attempts and their backoff; returns the last attempt and the
    /// count. Waiting for a `--rate` turn before a retry, like the wait for the first one,
    /// is not the endpoint's doing and extends the deadline.
    async fn with_retries(
        &self,
        ep: &Endpoint,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> (Attempt, u32) {
        let addr = std::net::SocketAddr::new(ep.ip, ep.port);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let probed = tokio::time::timeout_at(
                *deadline,
                probe(
                    &self.tls,
                    addr,
                    ep.sni.as_deref(),
                    ep.starttls,
                    self.timeouts(),
                ),
            )
            .await;
            let Ok(a) = probed else {
                return (self.past_deadline(""), attempts);
            };
            if a.retry_may_help && attempts <= self.cfg.retries && !cancel.is_cancelled() {
                let backoff = Duration::from_millis(200u64 << attempts.min(5));
                if let Some(turn) = self.wait_to_retry(backoff, *deadline, cancel).await {
                    *deadline += turn;
                    continue;
                }
            }
            return (a, attempts);
        }
    }

    /// The second look [`SecondLook`] asked for: one handshake offering only `family`'s
    /// signature algorithms, after a --rate turn, within the endpoint's deadline, without
    /// retries (a refusal is the usual answer of a server with one key type); with `--dane`,
    /// its chain judged against the endpoint's TLSA records (`tlsa`). `None` when the sweep
    /// is stopped meanwhile.
    async fn other_key(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        (family, tlsa): (KeyFamily, TlsaRecords<'_>),
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> Option<(Box<OtherKey>, Option<crate::revocation::Query>)> {
        let tls = self.tls.only(family);
        let (a, _) = self
            .another_connection(&tls, ep, starttls, deadline, cancel)
            .await?;
        let (cert, mut report, query) = self.judged(&a.chain, &a.ocsp, ep, a.tls.as_ref());
        // Its staple, as the first connection's: a server staples per certificate.
        let ocsp = cert.as_ref().and_then(|c| {
            let (info, more) = self.judge_staple(&a.ocsp, &a.chain, c);
            report.findings.extend(more);
            report.findings.sort();
            info.map(Box::new)
        });
        // DANE clients of that key type get this chain: the records must name it too.
        let dane = match tlsa {
            Some(published) if cert.is_some() => {
                crate::dane::judge(published, &a.chain).map(|(info, more)| {
                    report.findings.extend(more);
                    report.findings.sort();
                    Box::new(info)
                })
            }
            _ => None,
        };
        let other = Box::new(OtherKey {
            trust_detail: report.detail,
            error: a.error,
            dane,
            ocsp,
            ..OtherKey::new(family, cert, report.findings)
        });
        Some((other, query))
    }

    /// The TLSA records of `port` for `name` as a DANE client finds them, within the
    /// endpoint's deadline: at the target of the name's alias (CNAME) first, then at the
    /// name (RFC 7671, section 7). `None` when there are none, an error when a question
    /// failed.
    async fn tlsa(
        &self,
        name: &str,
        port: u16,
        mail: bool,
        deadline: tokio::time::Instant,
    ) -> Result<Option<crate::dane::Published>, crate::dane::Unanswered> {
        // An alias that cannot be told (its question failed) leaves the name's own records.
        let alias = tokio::time::timeout_at(deadline, self.dns.alias_target(name)).await;
        if let Ok(Some((target, chain_authentic))) = alias {
            if let Some(mut found) = self.tlsa_at(&target, port, mail, deadline).await? {
                found.authentic &= chain_authentic;
                found.at_alias = Some(format!("_{port}._tcp.{target}"));
                return Ok(Some(found));
            }
        }
        self.tlsa_at(name, port, mail, deadline).await
    }

    /// The TLSA records of `port` at `name` and whether the resolver said they are
    /// DNSSEC-authentic ([`Engine::tlsa`]).
    async fn tlsa_at(
        &self,
        name: &str,
        port: u16,
        mail: bool,
        deadline: tokio::time::Instant,
    ) -> Result<Option<crate::dane::Published>, crate::dane::Unanswered> {
        use hickory_resolver::proto::op::ResponseCode;
        let asked = tokio::time::timeout_at(deadline, self.dns.tlsa(port, name)).await;
        let Ok(answer) = asked else {
            return Err(format!(
                "the TLSA question for _{port}._tcp.{name}: no answer within the per-endpoint deadline"
            )
            .into());
        };
        match answer? {
            a if a.rcode == ResponseCode::NoError => {
                let records = crate::dane::records(&a);
                if records.is_empty() {
                    return Ok(None);
                }
                // Records it did not vouch for mean nothing to DANE clients only when the
                // resolver validates; one cut off from the root, or a test's, tells nothing.
                let validates = match a.authentic {
                    true => true,
                    false => {
                        let asked = tokio::time::timeout_at(deadline, self.dns.validates());
                        asked.await.ok().flatten() == Some(true)
                    }
                };
                Ok(Some(crate::dane::Published {
                    records,
                    authentic: a.authentic,
                    at_alias: None,
                    resolver_validates: validates,
                    mail,
                }))
            }
            a if a.rcode == ResponseCode::NXDomain => Ok(None),
            a => {
                let mut why = format!(
                    "the TLSA question for _{port}._tcp.{name} was answered {}{}",
                    a.rcode,
                    a.ede
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
                // A mail server's records that fail DNSSEC validation: senders that validate
                // DANE defer to it. Not every validating resolver says why it failed, so
                // the question is asked again with checking disabled.
                let said = a.ede.as_deref().is_some_and(crate::dane::dnssec_failure);
                let bogus = mail
                    && a.rcode == ResponseCode::ServFail
                    && (said
                        || {
                            let unchecked = self.dns.tlsa_unchecked(port, name);
                            let answered = tokio::time::timeout_at(deadline, unchecked).await;
                            if answered == Ok(true) {
                                why.push_str(", and answered once checking is disabled (CD): its DNSSEC validation fails");
                            }
                            answered == Ok(true)
                        });
                Err(crate::dane::Unanswered { why, bogus })
            }
        }
    }

    /// One more connection to the endpoint with `tls` (the second look's, a sample's), after
    /// a --rate turn, within the endpoint's deadline, without retries: its attempt, and
    /// whether the deadline cut it. `None` when the sweep is stopped.
    async fn another_connection(
        &self,
        tls: &TlsClient,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> Option<(Attempt, bool)> {
        if cancel.is_cancelled() {
            return None;
        }
        *deadline += self.rate_turn(cancel).await?;
        let addr = std::net::SocketAddr::new(ep.ip, ep.port);
        let probed = tokio::time::timeout_at(
            *deadline,
            probe(tls, addr, ep.sni.as_deref(), starttls, self.timeouts()),
        )
        .await;
        let cut = probed.is_err();
        Some((
            probed.unwrap_or_else(|_| self.past_deadline("what was left of ")),
            cut,
        ))
    }

    /// Connections for `--samples` after a first one that got no certificate, until one
    /// presents one (its attempt) or the samples are spent; `s` counts them.
    async fn sample_until_presented(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        s: &mut Samples,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> Option<Attempt> {
        let timed_out =
            |e: Option<&ErrorInfo>| e.is_some_and(|e| e.class == ErrorClass::TlsTimeout);
        let after_timeout = timed_out(s.error.as_ref());
        while s.connections < self.cfg.samples {
            let (a, cut) = self
                .another_connection(&self.tls, ep, starttls, deadline, cancel)
                .await?;
            s.connections += 1;
            if !a.chain.is_empty() {
                return Some(a);
            }
            s.failed += 1;
            // Two hangs in a row: the address hangs, not one node behind it.
            if cut || (after_timeout && timed_out(a.error.as_ref())) {
                break;
            }
        }
        None
    }

    /// `--samples`: the rest of the connections (`s` counts those made), to see whether
    /// every node behind the address presents the observation's certificate. A connection
    /// the deadline cuts is counted as failed and ends the sampling; with `--dane`, each
    /// other certificate is judged against the endpoint's TLSA records (`tlsa`, and
    /// whether they are DNSSEC-authentic). A node with the first connection's certificate
    /// but another staple (`first_staple`, the first's) has that staple judged too. The
    /// queries for the other certificates' revocation when `--crl` or `--ocsp` asks, by
    /// their place in `others`.
    async fn sample(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        obs: &mut Observation,
        (mut s, tlsa, first_staple): (Samples, TlsaRecords<'_>, &[u8]),
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> Vec<(usize, crate::revocation::Query)> {
        let mut queries = Vec::new();
        let Some(mine) = obs.cert.as_ref().map(|c| c.sha256.clone()) else {
            return queries;
        };
        while s.connections < self.cfg.samples {
            let Some((a, cut)) = self
                .another_connection(&self.tls, ep, starttls, deadline, cancel)
                .await
            else {
                break;
            };
            s.connections += 1;
            // The node serves the first connection's leaf: counted, and only its staple, if
            // it is another, judged (a node whose stapling is stuck fails must-staple
            // clients while the others serve them); unless it sends it with another chain
            // that clients refuse where they take the first one's (a node whose chain file
            // lacks the intermediate): that node is apart, as one with another leaf is.
            let mut chain_apart = false;
            // Judged once: a chain found worse is recorded from this judgement.
            let mut judged = None;
            if a.chain
                .first()
                .is_some_and(|leaf| crate::cert::sha256_hex(leaf) == mine)
            {
                let (worse, better, j) = self.same_leaf_compared(&a, obs, ep);
                judged = j;
                if !worse {
                    s.same += 1;
                    s.chains_fine += u32::from(better);
                    if a.ocsp != first_staple {
                        self.staple_apart(&a, obs, &mut s);
                    }
                    continue;
                }
                chain_apart = true;
            }
            let judged =
                judged.unwrap_or_else(|| self.judged(&a.chain, &a.ocsp, ep, a.tls.as_ref()));
            if let Some(q) = self.count_apart(a, judged, chain_apart, tlsa, &mut s) {
                queries.push(q);
            }
            if cut {
                break;
            }
        }
        if !s.others.is_empty() || s.chains_fine > 0 {
            obs.findings.push(Finding::BackendsDiffer);
        }
        for apart in &s.staples {
            obs.findings.extend(&apart.findings);
        }
        if s.failed > 0 {
            obs.findings.push(Finding::BackendsFailing);
        }
        obs.findings.sort();
        obs.findings.dedup();
        obs.samples = Some(Box::new(s));
        queries
    }

    /// A sampled connection `a` that presented the observation's leaf: whether its chain
    /// makes findings the first connection's did not (worse) and whether it lacks some of
    /// the first chain's (better), with the judgement when the chains differ.
    fn same_leaf_compared(
        &self,
        a: &Attempt,
        obs: &Observation,
        ep: &Endpoint,
    ) -> (bool, bool, Option<Judged>) {
        let same_chain = a.chain.len() == obs.chain.len()
            && a.chain
                .iter()
                .zip(&obs.chain)
                .skip(1)
                .all(|(der, seen)| crate::cert::sha256_hex(der) == seen.sha256);
        if same_chain {
            return (false, false, None);
        }
        let j = self.judged(&a.chain, &a.ocsp, ep, a.tls.as_ref());
        let report = &j.1;
        let worse = report.findings.iter().any(|f| !obs.findings.contains(f));
        let better = obs
            .findings
            .iter()
            .any(|f| f.of_the_chain() && !report.findings.contains(f));
        (worse, better, Some(j))
    }

    /// A sampled connection `a` apart from the first (no certificate, another one, or the
    /// same leaf with a worse chain: `chain_apart`), counted in `s`: a failure, one more
    /// sighting of a certificate already apart, or a new one, judged as the first
    /// connection's is (its staple, and with `--dane` the TLSA records). The revocation
    /// query of a new one, by its place in `s.others`, when `--crl` or `--ocsp` asks.
    fn count_apart(
        &self,
        a: Attempt,
        (cert, report, query): Judged,
        chain_apart: bool,
        tlsa: TlsaRecords<'_>,
        s: &mut Samples,
    ) -> Option<(usize, crate::revocation::Query)> {
        let Some(c) = cert else {
            s.failed += 1;
            if s.error.is_none() {
                s.error = a.error.or_else(|| {
                    report.detail.map(|message| ErrorInfo {
                        class: ErrorClass::TlsError,
                        message,
                    })
                });
            }
            return None;
        };
        if let Some(o) = s.others.iter_mut().find(|o| {
            o.cert.sha256 == c.sha256
                && o.chain_apart == chain_apart
                && (!chain_apart || o.trust_detail == report.detail)
        }) {
            o.seen += 1;
            return None;
        }
        let query = query.map(|q| (s.others.len(), q));
        let mut findings = report.findings;
        // Its staple, as the first connection's: a node put back on an old
        // certificate may staple the CA's word that it is revoked.
        let (ocsp, more) = self.judge_staple(&a.ocsp, &a.chain, &c);
        findings.extend(more);
        findings.sort();
        // A node serving another key than the TLSA records pin fails the
        // clients that validate DANE it gets, whatever the first one did.
        let dane = tlsa.and_then(|published| {
            let (info, more) = crate::dane::judge(published, &a.chain)?;
            findings.extend(more);
            findings.sort();
            Some(Box::new(info))
        });
        s.others.push(Sampled {
            cert: c,
            seen: 1,
            findings,
            trust_detail: report.detail,
            ocsp: ocsp.map(Box::new),
            crl: None,
            ocsp_responder: None,
            dane,
            chain_apart,
        });
        query
    }

    /// `staple` (empty: none) as sent with `chain`, judged for its leaf `cert` now; its
    /// signature checked with the issuer the chain holds, else a trusted one of its name.
    fn judge_staple(
        &self,
        staple: &[u8],
        chain: &[rustls::pki_types::CertificateDer<'static>],
        cert: &crate::model::CertInfo,
    ) -> (Option<crate::model::OcspInfo>, Vec<Finding>) {
        let trusted =
            |leaf: &x509_parser::prelude::X509Certificate<'_>| self.trust.trusted_issuer_key(leaf);
        self.staples
            .judge(staple, chain, cert, (now_unix(), &trusted))
    }

    /// A sampled connection's staple for the observation's own certificate, judged: kept in
    /// `s.staples` when it makes findings the first connection's did not.
    fn staple_apart(&self, a: &Attempt, obs: &Observation, s: &mut Samples) {
        let Some(cert) = obs.cert.as_ref() else {
            return;
        };
        let (ocsp, findings) = self.judge_staple(&a.ocsp, &a.chain, cert);
        // The first connection's staple fault, which this node's staple does not have:
        // then it is the first one's node that staples apart.
        let first_fault = |f: &Finding| {
            matches!(
                f,
                Finding::OcspStale | Finding::OcspInvalid | Finding::MustStapleMissing
            )
        };
        if obs
            .findings
            .iter()
            .any(|f| first_fault(f) && !findings.contains(f))
        {
            s.staples_fine += 1;
        }
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| !obs.findings.contains(f))
            .collect();
        if findings.is_empty() {
            return;
        }
        match s.staples.iter_mut().find(|x| x.findings == findings) {
            Some(x) => x.seen += 1,
            None => s.staples.push(StapledApart {
                seen: 1,
                ocsp: ocsp.map(Box::new),
                findings,
            }),
        }
    }

    /// The attempt a connection the endpoint's deadline cut short ends with; `part` words
    /// which part of the deadline it had.
    fn past_deadline(&self, part: &str) -> Attempt {
        Attempt {
            error: Some(ErrorInfo {
                class: ErrorClass::TlsTimeout,
                message: format!(
                    "no result within {part}the per-endpoint deadline of {}",
                    crate::duration::display(self.cfg.deadline)
                ),
            }),
            ..Attempt::default()
        }
    }

    /// The facts of `chain`'s leaf and the trust judgement of `chain` for `ep` as it was
    /// reached by a handshake that negotiated `tls` (with `staple`, the OCSP response sent
    /// with it, empty for none, whose SCTs count for Certificate Transparency), and, when `--crl` or `--ocsp` asks, the
    /// query for the leaf's revocation, read from the same parse: no leaf facts when there
    /// is no chain, or when the leaf cannot be parsed (then the detail says why).
    fn judged(
        &self,
        chain: &[rustls::pki_types::CertificateDer<'static>],
        staple: &[u8],
        ep: &Endpoint,
        tls: Option<&crate::model::TlsInfo>,
    ) -> Judged {
        let Some(leaf) = chain.first() else {
            return (None, Default::default(), None);
        };
        let query = |x: &x509_parser::certificate::X509Certificate<'_>| {
            (self.cfg.crl.is_some() || self.cfg.ocsp.is_some()).then(|| {
                crate::revocation::Query::of_leaf(x, chain, |leaf| {
                    self.trust.trusted_issuer_key(leaf)
                })
            })
        };
        match crate::cert::cert_info_and(leaf, query) {
            Ok((info, query)) => {
                let key_use = crate::trust::KeyUse::of(tls, ep.starttls);
                // Read only for a public CA's leaf embedding too few SCTs.
                let stapled_scts = || crate::ocsp::stapled_sct_logs(staple, leaf);
                let report = self.trust.judge_handshake(
                    chain,
                    &info,
                    ep.reached(),
                    (now_unix(), key_use, &stapled_scts),
                );
                (Some(info), report, query)
            }
            Err(e) => {
                let report = crate::trust::TrustReport {
                    detail: Some(e.to_string()),
                    ..Default::default()
                };
                (None, report, None)
            }
        }
    }

    /// `--starttls auto` on a port it knows no protocol for: a server that answered the
    /// ClientHello with a greeting of `proto` gets that dialogue on one more connection (an
    /// SMTP server on 2525, MySQL on 3307), with a --rate turn, within the deadline. Its
    /// result replaces `attempt` when the dialogue went through (true); else the first error
    /// stands, with what the dialogue got.
    async fn speak_the_greeting(
        &self,
        ep: &Endpoint,
        proto: Starttls,
        attempt: &mut Attempt,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) -> bool {
        if cancel.is_cancelled() {
            return false;
        }
        let Some(turn) = self.rate_turn(cancel).await else {
            return false;
        };
        *deadline += turn;
        let addr = std::net::SocketAddr::new(ep.ip, ep.port);
        let second = tokio::time::timeout_at(
            *deadline,
            probe(
                &self.tls,
                addr,
                ep.sni.as_deref(),
                Some(proto),
                self.timeouts(),
            ),
        )
        .await;
        match second {
            Ok(a) if a.reached_tls() => {
                *attempt = a;
                true
            }
            Ok(a) => {
                if let (Some(first), Some(e)) = (&mut attempt.error, a.error) {
                    first
                        .message
                        .push_str(&format!("; tried on another connection: {}", e.message));
                }
                false
            }
            Err(_) => false,
        }
    }

    /// A legacy handshake for a server that refused or hung up on the modern ones, tried
    /// again after a timeout while --retries has tries left (`attempts` used some). Its
    /// connections wait for a --rate turn like any other, and a legacy try the deadline cuts
    /// leaves the attempt as it was.
    async fn legacy(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        attempt: &mut Attempt,
        attempts: u32,
        deadline: &mut tokio::time::Instant,
        cancel: &Cancel,
    ) {
        if cancel.is_cancelled() {
            return;
        }
        let addr = std::net::SocketAddr::new(ep.ip, ep.port);
        let mut tries = 0;
        while let Some(turn) = self.rate_turn(cancel).await {
            *deadline += turn;
            tries += 1;
            let tried = tokio::time::timeout_at(
                *deadline,
                legacy_fallback(attempt, addr, ep.sni.as_deref(), starttls, self.timeouts()),
            )
            .await;
            let Ok(Err(miss)) = tried else { break };
            let retried = attempts - 1 + tries - 1;
            if miss.retry_may_help && retried < self.cfg.retries && !cancel.is_cancelled() {
                let backoff = Duration::from_millis(200u64 << (retried + 1).min(5));
                if let Some(turn) = self.wait_to_retry(backoff, *deadline, cancel).await {
                    *deadline += turn;
                    continue;
                }
            }
            attempt.note_legacy_miss(&miss, tries);
            break;
        }
    }

    /// Waits out a retry's backoff (0.4 s, 0.8 s, ... up to 6.4 s) and, with `--rate`, its
    /// turn among new connections. `None` when the sweep is stopped meanwhile (Ctrl-C starts
    /// no new connection; the last failure stands) or when the backoff would pass the
    /// endpoint's deadline; otherwise how long the `--rate` turn took.
    async fn wait_to_retry(
        &self,
        backoff: Duration,
        deadline: tokio::time::Instant,
        cancel: &Cancel,
    ) -> Option<Duration> {
        if tokio::time::Instant::now() + backoff >= deadline {
            return None;
        }
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = cancel.cancelled() => return None,
        }
        self.rate_turn(cancel).await
    }

    /// Waits for this connection's turn under `--rate` (at once without it) and says how
    /// long that took; `None` when the sweep is stopped meanwhile.
    async fn rate_turn(&self, cancel: &Cancel) -> Option<Duration> {
        let Some(rate) = &self.rate else {
            return Some(Duration::ZERO);
        };
        let start = tokio::time::Instant::now();
        tokio::select! {
            _ = async { rate.lock().await.tick().await } => Some(start.elapsed()),
            _ = cancel.cancelled() => None,
        }
    }

    /// The observation of `ep`, scanned after `starttls`'s dialogue (the endpoint's own, or
    /// the one a greeting named).
    fn observe(
        &self,
        ep: &Endpoint,
        starttls: Option<Starttls>,
        scan_time: String,
        dns_ms: Option<f64>,
        attempt: Attempt,
        attempts: u32,
    ) -> (Observation, Option<crate::revocation::Query>) {
        let mut obs = Observation {
            scan_time,
            host: ep.host.clone(),
            ip: Some(ep.ip),
            port: ep.port,
            sni: ep.sni.clone(),
            label: ep.label.clone(),
            starttls,
            cert: None,
            chain: Vec::new(),
            pem: None,
            tls: attempt.tls,
            findings: Vec::new(),
            trust_detail: None,
            chain_expires: None,
            timings: Timings {
                dns_ms,
                connect_ms: attempt.connect_ms,
                starttls_ms: attempt.starttls_ms,
                handshake_ms: attempt.handshake_ms,
            },
            error: attempt.error,
            attempts,
            other_key: None,
            samples: None,
            ocsp: None,
            crl: None,
            ocsp_responder: None,
            dane: None,
            previous: None,
        };
        let chain = attempt.chain;
        let mut query = None;
        if !chain.is_empty() {
            let report;
            (obs.cert, report, query) = self.judged(&chain, &attempt.ocsp, ep, obs.tls.as_ref());
            (obs.findings, obs.trust_detail) = (report.findings, report.detail);
            obs.chain_expires = report.chain_expires;
            if obs.cert.is_some() {
                if attempt.uncommon {
                    obs.findings.push(Finding::UncommonTls);
                } else if attempt.legacy {
                    obs.findings.push(Finding::LegacyTls);
                } else if let Some(len) = attempt.oversized_chain {
                    obs.findings.push(Finding::OversizedChain);
                    // What trust was judged on: an intermediate past what was read may be
                    // what a trust finding misses.
                    let read = format!(
                        "the server's Certificate message is {len} bytes; its first {} certificates were read",
                        chain.len()
                    );
                    obs.trust_detail = Some(match obs.trust_detail.take() {
                        Some(d) => format!("{d} ({read})"),
                        None => read,
                    });
                }
            }
            if let Some(cert) = &obs.cert {
                let (ocsp, findings) = self.judge_staple(&attempt.ocsp, &chain, cert);
                if !findings.is_empty() {
                    obs.findings.extend(findings);
                    obs.findings.sort();
                    obs.findings.dedup();
                }
                obs.ocsp = ocsp.map(Box::new);
            }
            // The leaf was just parsed for its facts; only the rest of the chain needs it.
            obs.chain = chain
                .iter()
                .enumerate()
                .map(|(i, c)| match (i, &obs.cert) {
                    (0, Some(info)) => crate::model::ChainEntry {
                        subject: info.subject.clone(),
                        issuer: info.issuer.clone(),
                        sha256: info.sha256.clone(),
                    },
                    _ => self.chain_entries.get(c),
                })
                .collect();
            if self.cfg.pem {
                obs.pem = Some(
                    chain
                        .iter()
                        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.to_vec())))
                        .collect(),
                );
            }
        }
        (obs, query)
    }
}

/// What the revocation checks asked for said of one certificate: the CA's list (`--crl`)
/// and its OCSP responder (`--ocsp`), each with the finding it makes.
struct Said {
    crl: Option<Checked>,
    ocsp: Option<Checked>,
}

/// What one revocation check says of a certificate, and the finding it makes.
type Checked = (RevocationInfo, Option<Finding>);

/// A revocation check's answer, or what it says of a sweep stopped before the answer came.
async fn unless_stopped(
    check: impl std::future::Future<Output = Checked>,
    stopped: impl FnOnce() -> Checked,
    cancel: &Cancel,
) -> Checked {
    tokio::select! {
        c = check => c,
        _ = cancel.cancelled() => stopped(),
    }
}

impl Said {
    /// Records it on a certificate's findings and revocation fields.
    fn apply(
        self,
        findings: &mut Vec<Finding>,
        crl: &mut Option<Box<RevocationInfo>>,
        ocsp: &mut Option<Box<RevocationInfo>>,
    ) {
        for (said, slot) in [(self.crl, crl), (self.ocsp, ocsp)] {
            if let Some((info, finding)) = said {
                findings.extend(finding);
                *slot = Some(Box::new(info));
            }
        }
        findings.sort();
        findings.dedup();
    }
}

/// The revocation queries of an endpoint's leaves (`--crl`, `--ocsp`): the one it
/// presented, and the second look's.
struct RevocationQueries {
    first: Option<crate::revocation::Query>,
    other: Option<crate::revocation::Query>,
    /// The other nodes' certificates (`--samples`), by their place in `samples.others`.
    nodes: Vec<(usize, crate::revocation::Query)>,
}

/// Runs one endpoint's scan so that a panic in it (a bug, say a certificate a parser chokes
/// on) becomes that endpoint's `internal_error` row. Without this the runtime swallowed the
/// panic: the row was missing from every report and the sweep still exited 0.
fn guarded<'a>(
    who: &'a Endpoint,
    scan: impl std::future::Future<Output = Observation> + 'a,
) -> impl std::future::Future<Output = Observation> + 'a {
    use futures_util::FutureExt;
    // Not an `async fn`, for the reason `catch_panic` gives.
    crate::catch_panic(scan).map(move |r| {
        r.unwrap_or_else(|what| {
            let error = ErrorInfo {
                class: ErrorClass::Internal,
                message: format!(
                    "certsweep failed on this endpoint ({what}): a bug, please report it with the endpoint"
                ),
            };
            let mut obs = Observation::failed(
                who.host.clone(),
                Some(who.ip),
                who.port,
                who.sni.clone(),
                who.label.clone(),
                error,
            );
            obs.starttls = who.starttls;
            obs
        })
    })
}

/// Every address of a block, network and broadcast included (a scanner asks, it does not
/// assume what is deployed where).
fn net_addrs(net: &ipnet::IpNet) -> Box<dyn Iterator<Item = IpAddr> + Send> {
    match net {
        ipnet::IpNet::V4(n) => {
            let start = u32::from(n.network());
            let end = u32::from(n.broadcast());
            Box::new((start..=end).map(|a| IpAddr::from(std::net::Ipv4Addr::from(a))))
        }
        ipnet::IpNet::V6(n) => {
            let start = u128::from(n.network());
            let end = u128::from(n.broadcast());
            Box::new((start..=end).map(|a| IpAddr::from(std::net::Ipv6Addr::from(a))))
        }
    }
}

/// Adds to a failed attempt's message what the user needs to read it: that a bare address
/// refused a handshake without a name (a server holding certificates only for names answers
/// so, which a CIDR sweep meets at every CDN edge and Kubernetes gateway), and how many
/// attempts were made.
fn explain_failure(ep: &Endpoint, attempt: &mut Attempt, attempts: u32) {
    let presented = !attempt.chain.is_empty();
    let unnamed =
        crate::model::unnamed_refusal(ep.sni.as_deref(), presented, attempt.error.as_ref());
    let Some(e) = &mut attempt.error else { return };
    if unnamed {
        e.message.push_str(
            "; no name (SNI) was sent, and a server that holds certificates only for names refuses a handshake without one so (CDN edges and name-only virtual hosts with an alert; Envoy, Istio and other gateways by closing the connection): list it as NAME@ADDRESS to ask for one",
        );
    }
    if attempts > 1 {
        e.message.push_str(&format!(" ({attempts} attempts)"));
    }
}

/// Whether a failed first connection may have met one failing node of several behind the
/// address, so that `--samples` connects again (see the caller for which failures do not).
fn node_failed(ep: &Endpoint, attempt: &Attempt) -> bool {
    attempt.chain.is_empty()
        && attempt.greeting.is_none()
        && match attempt.error.as_ref().map(|e| e.class) {
            Some(ErrorClass::ConnectRefused | ErrorClass::TlsTimeout) => true,
            Some(ErrorClass::TlsAlert | ErrorClass::TlsError) => ep.sni.is_some(),
            _ => false,
        }
}

/// The served chain judged against the endpoint's TLSA records (`--dane`). A question that
/// fails is told in the facts; at a mail server, one that fails DNSSEC validation is
/// [`Finding::DaneBogus`] too, as senders that validate DANE defer delivery then (a question
/// that fails otherwise, a timeout or lame nameservers, may be this host's DNS alone).
fn dane_judged(
    tlsa: &Result<Option<crate::dane::Published>, crate::dane::Unanswered>,
    chain: &[rustls_pki_types::CertificateDer<'_>],
) -> Option<(crate::model::DaneInfo, Vec<Finding>)> {
    match tlsa {
        Ok(Some(published)) => crate::dane::judge(published, chain),
        Ok(None) => None,
        Err(e) => Some((
            crate::model::DaneInfo::failed(e.why.clone()),
            e.bogus.then_some(Finding::DaneBogus).into_iter().collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            host: "odd.example".into(),
            ip: IpAddr::from([127, 0, 0, 9]),
            port: 8443,
            sni: Some("odd.example".into()),
            label: Some("edge".into()),
            starttls: None,
            detect: false,
            block: None,
        }
    }

    /// An endpoint's task lives as long as its connections, a thousand at once by default:
    /// its state is the largest of what any of its awaits holds. The rare paths (the
    /// revocation checks, the samples, the second look, DANE) are boxed so that every
    /// endpoint does not carry them; one left inline (the revocation checks: 18 KiB) would
    /// multiply the sweep's task memory, which no test of behaviour sees.
    #[tokio::test]
    async fn an_endpoints_task_stays_small() {
        use clap::Parser;
        let argv = ["certsweep", "scan", "--resolver", "127.0.0.1:9"];
        let crate::cli::Command::Scan(args) = crate::cli::Cli::parse_from(argv).command else {
            panic!("not a scan");
        };
        let (engine, _) = crate::scan::build_engine(&args).unwrap();
        let ep = endpoint();
        let cancel = Cancel::default();
        // Made, never polled: its size is its type's.
        let size = std::mem::size_of_val(&engine.scan(&ep, None, &cancel));
        // 4,864 bytes when written (debug and release alike).
        assert!(size <= 6 * 1024, "an endpoint's task holds {size} bytes");
    }

    #[tokio::test]
    async fn a_panicking_scan_becomes_the_endpoints_internal_error_row() {
        let obs = guarded(&endpoint(), async {
            if endpoint().port == 8443 {
                panic!("parser choked on the chain");
            }
            Observation::failed(
                String::new(),
                None,
                0,
                None,
                None,
                ErrorInfo {
                    class: ErrorClass::TlsError,
                    message: String::new(),
                },
            )
        })
        .await;
        assert_eq!(obs.error_class(), Some(ErrorClass::Internal));
        assert_eq!(
            (
                obs.host.as_str(),
                obs.ip,
                obs.port,
                obs.sni.as_deref(),
                obs.label.as_deref()
            ),
            (
                "odd.example",
                Some(IpAddr::from([127, 0, 0, 9])),
                8443,
                Some("odd.example"),
                Some("edge")
            )
        );
        let message = obs.error.map(|e| e.message).unwrap_or_default();
        assert!(message.contains("parser choked on the chain"), "{message}");
    }

    #[tokio::test]
    async fn a_scan_that_returns_is_passed_through() {
        let obs = guarded(&endpoint(), async {
            Observation::failed(
                "h".into(),
                None,
                1,
                None,
                None,
                ErrorInfo {
                    class: ErrorClass::ConnectRefused,
                    message: "refused".into(),
                },
            )
        })
        .await;
        assert_eq!(obs.error_class(), Some(ErrorClass::ConnectRefused));
        assert_eq!(obs.host, "h");
    }
}
