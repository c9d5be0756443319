//! The records report: one row per identity, against where its versions were seen.

use super::*;

/// Endpoints listed in one cell of the records report. A wildcard on thousands of endpoints
/// made cells of 100,000 characters, which spreadsheets cut at 32,767; every endpoint is in
/// the endpoint report anyway.
pub(super) const PLACES_IN_A_CELL: usize = 200;

/// The first `max` of `items` joined by `sep`, and how many more there are.
fn capped<S: AsRef<str>>(items: &[S], max: usize, sep: &str) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut out = shown.join(sep);
    if items.len() > max {
        out.push_str(&format!("{sep}... ({} more)", items.len() - max));
    }
    out
}

/// One row per identity for `--records-report`.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRow {
    /// Names of the newest certificate.
    pub names: String,
    /// Records in the identity.
    pub versions: usize,
    /// Newest certificate's record id.
    pub newest_record_id: String,
    /// Its order number.
    pub newest_order_id: String,
    /// Its canonical serial.
    pub newest_serial: String,
    /// Its notAfter.
    pub newest_not_after: String,
    /// Endpoints serving it.
    pub deployed_at: String,
    /// Endpoints serving older versions.
    pub stale_at: String,
    /// Record-level findings.
    pub findings: String,
    /// What to do next.
    pub next_step: String,
    /// The platform's id for the certificate across its renewals, when the records give one
    /// (of the newest version, else of any). After the first columns, as it came later.
    pub identity_id: String,
    /// Who owns the certificate, as the records say (of the version shown, else of any).
    #[serde(default)]
    pub owner: String,
    /// The provisioning bot that deploys it (of the version shown, else of any): where to
    /// look when its deployment is missing.
    #[serde(default)]
    pub provisioning_bot: String,
}

/// Summarises identities against where their certificates were seen, sorted by names.
pub fn identity_rows(ids: &Identities, serving: &Serving, p: &Policy) -> Vec<IdentityRow> {
    let mut rows = Vec::new();
    let pushed: Result<(), std::convert::Infallible> = each_identity_row(ids, serving, p, |r| {
        rows.push(r);
        Ok(())
    });
    match pushed {
        Ok(()) => rows,
    }
}

/// Hands `each` one row per identity, sorted by names, made one at a time: a records report
/// of 200,000 identities held whole (rows, their strings, the sort's buffer) was a quarter
/// of the comparison's peak memory.
pub fn each_identity_row<E>(
    ids: &Identities,
    serving: &Serving,
    p: &Policy,
    mut each: impl FnMut(IdentityRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut order: Vec<(String, usize)> = (0..ids.members.len())
        .filter_map(|id| {
            let (shown, _) = shown_version(ids, id, p.now)?;
            Some((ids.records[shown].names().join(";"), id))
        })
        .collect();
    // By names, then identity: the order a stable sort of the rows by names gave.
    order.sort_unstable();
    let mut takeover = Takeover::default();
    for (names, id) in order {
        if let Some(row) = identity_row(ids, serving, p, id, names, &mut takeover) {
            each(row)?;
        }
    }
    Ok(())
}

/// The version an identity's row describes, and whether it is eligible as the newest: the
/// newest eligible one, else (all revoked, cancelled, pending or not yet valid) the latest.
fn shown_version(ids: &Identities, id: usize, now: i64) -> Option<(usize, bool)> {
    if let Some(newest) = ids.newest(id, None, now) {
        return Some((newest, true));
    }
    ids.members[id]
        .iter()
        .max_by_key(|&&m| (ids.records[m].issued_key(), ids.rank[m]))
        .map(|&latest| (latest, false))
}

/// Per name, the certificates that may take over from another identity's (see
/// [`Identities::takeover_candidates`]), found once for all the rows.
#[derive(Default)]
struct Takeover(std::collections::HashMap<String, Vec<usize>>);

impl Takeover {
    /// Another identity's certificate taking over from `ri` at `name`.
    fn of(&mut self, ids: &Identities, ri: usize, name: &str, now: i64) -> Option<usize> {
        // Looked up before inserting: the name is copied only once.
        if !self.0.contains_key(name) {
            self.0
                .insert(name.to_string(), ids.takeover_candidates(name, now));
        }
        ids.replacement_among(ri, self.0.get(name)?)
    }
}

/// One identity's row; `names` is its shown version's names, joined.
fn identity_row(
    ids: &Identities,
    serving_all: &Serving,
    p: &Policy,
    id: usize,
    names: String,
    takeover: &mut Takeover,
) -> Option<IdentityRow> {
    let members = &ids.members[id];
    let (shown, eligible) = shown_version(ids, id, p.now)?;
    // The shown version's, else any version's: an export may fill them on one row only.
    let first_of = |field: fn(&Record) -> Option<&str>| {
        std::iter::once(shown)
            .chain(members.iter().copied())
            .find_map(|m| field(&ids.records[m]))
            .unwrap_or_default()
            .to_string()
    };
    let identity_id = first_of(|r| r.identity_id.as_deref());
    let owner = first_of(|r| r.owner.as_deref());
    let provisioning_bot = first_of(|r| r.provisioning_bot.as_deref());
    if !eligible {
        return Some(no_valid_version_row(
            ids,
            serving_all,
            id,
            names,
            [identity_id, owner, provisioning_bot],
        ));
    }
    let newest = shown;
    let e = &ids.records[newest];
    let serial = e
        .serial
        .as_ref()
        .map(|s| s.canonical.clone())
        .unwrap_or_default();
    let at = placed(ids, serving_all, p, id, newest, &serial);
    let mut row = RowJudging {
        ids,
        serving: serving_all,
        p,
        newest,
        e,
        names: e.name_set(),
        // Renewed: some version is provably older than the newest (a tie is no renewal).
        renewed: members.iter().any(|&m| ids.is_newer(newest, m)),
        at,
        findings: Vec::new(),
        next: String::from("Nothing to do."),
    };
    row.tied();
    row.expiry(takeover);
    let (young, said) = row.deployment_running();
    row.seen_where();
    row.later_served();
    row.records_say(said);
    row.pending(young);
    row.served_untrusted();
    row.expiry_seen();
    row.said_expired();
    row.revoked_by_ca();
    let RowJudging {
        at, findings, next, ..
    } = row;
    Some(IdentityRow {
        names,
        versions: members.len(),
        newest_record_id: e.record_id.to_string(),
        newest_order_id: e.order_id.as_deref().unwrap_or_default().to_string(),
        newest_serial: serial,
        newest_not_after: e
            .not_after
            .map(|w| rfc3339_unix(w.unix))
            .unwrap_or_default(),
        deployed_at: capped(&at.deployed, PLACES_IN_A_CELL, ";"),
        stale_at: capped(&at.stale, PLACES_IN_A_CELL, ";"),
        findings: findings.join(";"),
        next_step: next,
        identity_id,
        owner,
        provisioning_bot,
    })
}

/// The findings and next step of an identity's row with a usable newest version, decided
/// stage by stage; a later stage's step replaces an earlier one's where it says so.
struct RowJudging<'a> {
    ids: &'a Identities,
    serving: &'a Serving,
    p: &'a Policy,
    /// The newest usable version's record number, and the record.
    newest: usize,
    e: &'a Record,
    /// Its names.
    names: Vec<&'a str>,
    /// Whether some version is provably older than the newest.
    renewed: bool,
    /// Where the versions are served.
    at: Placed<'a>,
    findings: Vec<&'static str>,
    next: String,
}

impl RowJudging<'_> {
    /// Versions no date or link orders against the newest.
    fn tied(&mut self) {
        if !self.at.tied.is_empty() {
            self.findings.push("newest_ambiguous");
            self.next = "Versions tie on dates and no renewal link orders them: confirm in the CLM which is the newest (or export issue dates or renewal links).".into();
        }
    }

    /// Expired or expiring: renewed in the records but blocked, replaced by other
    /// identities' certificates, or not renewed.
    fn expiry(&mut self, takeover: &mut Takeover) {
        let RowJudging {
            ids, p, newest, e, ..
        } = *self;
        let left = e.not_after.map(|w| w.last_second() - p.now);
        // A later version that cannot be deployed (revoked, cancelled, pending, not valid
        // yet): named, as on the endpoints' rows, instead of "no renewal".
        let in_window = match (left, e.not_after) {
            (Some(l), Some(na)) => {
                l <= p
                    .renewal_window
                    .of(e.not_before.map(|w| w.unix), na.last_second())
            }
            _ => false,
        };
        // Only an identity near or past expiry is told of a blocked renewal: the lookup waits.
        let blocked = self.names.first().filter(|_| in_window).and_then(|&name| {
            let b = ids.unusable_later(newest, name, p.now)?;
            let expires = e.not_after.map_or(i64::MAX, |w| w.unix);
            Some(blocked_renewal(
                &ids.records[b],
                name,
                expires,
                expires < p.now,
                p.now,
            ))
        });
        // Its names, near or past its expiry, each with another identity's later certificate
        // that covers it (as the endpoints' rows name it): a SAN certificate split per name,
        // dedicated ones folded into a wildcard. Told instead of "renew it".
        // Every name, or none told: a name on thousands of certificates (an autodiscover SAN)
        // always has some later one, which replaces nothing of this identity's.
        let replaced: Option<Vec<(&str, usize)>> = (in_window && blocked.is_none())
            .then(|| {
                (self.names.iter())
                    .map(|&n| Some((n, takeover.of(ids, newest, n, p.now)?)))
                    .collect::<Option<Vec<_>>>()
            })
            .flatten()
            .filter(|all| !all.is_empty());
        let by = replaced
            .iter()
            .flatten()
            .map(|&(n, k)| format!("{n} by record {}", ids.records[k].record_id))
            .collect::<Vec<_>>()
            .join(", ");
        let every_name = replaced.is_some();
        if matches!(left, Some(l) if l < 0) {
            self.findings.push("newest_expired");
            self.next = "The newest certificate has expired: renew it.".into();
            if every_name {
                self.findings.push("replacement_in_records");
                self.next = format!("The newest certificate has expired, and later certificates of the records cover its names ({by}): deploy them wherever it is still served; renew it only if it is meant to stay.");
            }
        } else if every_name {
            self.findings.push("replacement_in_records");
            self.next = format!("Expiring, and later certificates of the records cover its names ({by}): deploy them wherever it is served before it expires, or renew it if it is meant to stay.");
        } else if in_window && blocked.is_none() {
            self.findings.push("expiring_no_renewal");
            self.next = "Expiring with no renewal in the records: check auto-renew, DCV and approvals, then renew.".into();
        }
        if let Some((f, more, step)) = blocked {
            self.findings.push(f);
            self.next = format!(
                "{}{more} {step}",
                if left.is_some_and(|l| l < 0) {
                    "The newest usable certificate has expired."
                } else {
                    "Expiring."
                }
            );
        }
    }

    /// When the renewal may still be deploying (its issue time, within the grace), and else
    /// what the records say of its deployment where it is missing.
    fn deployment_running(&self) -> (Option<i64>, Option<(&'static str, String)>) {
        let RowJudging { e, p, .. } = *self;
        // With a status per endpoint, that of an endpoint left with an older version (the
        // record's merged one would call a deployment failed there because it failed
        // elsewhere).
        let deployment = match self.at.first_stale.map(place_host_port) {
            Some((host, Some(port))) => e.deployment_at(host, port),
            _ => (e.deploy_status, e.deploy_status_raw.as_deref()),
        };
        // As the endpoints' verdicts say (deployment_pending): too early to call it failed.
        let young = e.issued_at().filter(|&t| {
            self.renewed
                && !self.at.stale.is_empty()
                && !self.at.stale_failing
                && t > p.now - p.grace_secs
                && deployment_may_be_running(deployment.0)
        });
        let said = deployment_said(e, deployment, p).filter(|_| young.is_none());
        (young, said)
    }

    /// Where the newest is served and where older versions are.
    fn seen_where(&mut self) {
        let (deployed, stale) = (&self.at.deployed, &self.at.stale);
        let scanned = if deployed.is_empty() {
            self.serving.scanned(&self.names)
        } else {
            0
        };
        if deployed.is_empty() && scanned == 0 && stale.is_empty() {
            // Seen nowhere because looked for nowhere: no advice about provisioning.
            self.findings.push("not_scanned");
            if self.serving.all_excluded(&self.names) {
                self.next =
                    "Its names are on the --exclude list: nothing is said of its deployment."
                        .into();
            } else if self.next == "Nothing to do." || self.renewed {
                self.next = "None of its names was scanned in this sweep: add its endpoints to the targets to verify its deployment.".into();
            }
        } else if deployed.is_empty() && self.renewed {
            self.findings.push("renewed_seen_nowhere");
            self.next = "Renewed, but no scanned endpoint serves the new certificate: check the provisioning bot and deployment profile, re-run provisioning.".into();
        } else if deployed.is_empty() {
            self.findings.push("served_nowhere");
            if self.next == "Nothing to do." {
                self.next = format!(
                    "Served at none of the {scanned} scanned endpoint(s) of its names: see their rows in the endpoint report (deploy or bind it there, or make them reachable), then verify again."
                );
            }
        }
        if !stale.is_empty() {
            self.findings.push("older_versions_served");
            if deployed.is_empty() {
                self.next = "Older versions are served and the new one nowhere: re-run provisioning and reload the services, then verify again.".into();
            } else {
                self.next = "Some endpoints still serve older versions: re-run provisioning on them and reload, then verify again.".into();
            }
        }
    }

    /// A version later than the newest usable one served somewhere.
    fn later_served(&mut self) {
        let later = &self.at.later;
        let Some(&(_, m)) = later.first() else { return };
        let r = &self.ids.records[m];
        let places: Vec<String> = later.iter().map(|(at, _)| at.clone()).collect();
        let status = r.status_shown();
        // Its names' endpoints serve that one: the newest usable one is not missing there.
        self.findings.retain(|f| *f != "served_nowhere");
        self.findings.push("later_version_served");
        let said = if matches!(r.status, RecordStatus::Pending) {
            format!(
                "A version later than the newest usable one is served at {} (record {}, \"{status}\" in the records): it was issued, so correct its status in the CLM (or the platform may order it again).",
                capped(&places, PLACES_IN_A_CELL, ", "),
                r.record_id
            )
        } else {
            format!(
                "A version later than the newest usable one, which the records show as \"{status}\", is served at {} (record {}): see those endpoints' rows for what to do.",
                capped(&places, PLACES_IN_A_CELL, ", "),
                r.record_id
            )
        };
        // Beside older versions served elsewhere, whose step stands.
        self.next = if self.at.stale.is_empty() {
            said
        } else {
            format!("{} {said}", self.next)
        };
    }

    /// What the records say of the deployment: why it is missing, or that it is not, while
    /// they say so.
    fn records_say(&mut self, said: Option<(&'static str, String)>) {
        let RowJudging { e, p, .. } = *self;
        let missing = (self.findings.iter())
            .any(|f| matches!(*f, "renewed_seen_nowhere" | "older_versions_served"));
        if let (true, Some((finding, step))) = (missing, said) {
            self.findings.push(finding);
            self.next = step;
            return;
        }
        let deployed = &self.at.deployed;
        if deployed.is_empty() || !self.at.stale.is_empty() || self.next != "Nothing to do." {
            return;
        }
        // Served wherever its names were scanned, while the records say it was not
        // deployed: the platform's state is wrong, and its next renewal starts from it.
        let issued = e.issued_at();
        let not_deployed = |status: Option<DeployStatus>| {
            matches!(
                status,
                Some(DeployStatus::Failed | DeployStatus::RolledBack | DeployStatus::NotDeployed)
            ) || (matches!(
                status,
                Some(DeployStatus::Pending | DeployStatus::ConfigPending)
            ) && issued.is_some_and(|t| t <= p.now - p.grace_secs))
        };
        // With a status per endpoint, only endpoints said not to have it count, and only
        // when each of them was scanned serving it: an unscanned failed one proves nothing.
        let outdated = match &e.deploy_by_target {
            Some(per) => {
                let against: Vec<&str> = per
                    .iter()
                    .filter(|(_, raw)| not_deployed(DeployStatus::from_raw(raw)))
                    .map(|(t, _)| t.as_str())
                    .collect();
                !against.is_empty()
                    && against.iter().all(|t| {
                        deployed.iter().any(|at| {
                            let (host, port) = place_host_port(at);
                            port.is_some_and(|port| target_names(t, host, port))
                        })
                    })
            }
            None => not_deployed(e.deploy_status),
        };
        if let (true, Some(raw)) = (outdated, e.deploy_status_raw.as_deref()) {
            self.findings.push("deploy_status_outdated");
            self.next = format!("Served wherever its names were scanned, but the records show its deployment as \"{raw}\": correct the deployment status in the CLM (a manual installation, or a bot that reported wrongly).");
        }
    }

    /// Renewed less than the grace period ago (`young`, its issue time).
    fn pending(&mut self, young: Option<i64>) {
        if let Some(t) = young {
            self.findings.push("deployment_pending");
            self.next = format!(
                "Renewed less than the grace period ago (issued {}): provisioning may still be running; verify again after {}.",
                rfc3339_unix(t),
                rfc3339_unix(t + self.p.grace_secs)
            );
        }
    }

    /// Served while the record calls it expired, its date not passed (the certificate's,
    /// unless `records_expiry_differs` says otherwise).
    fn said_expired(&mut self) {
        let e = self.e;
        let valid = e.not_after.is_some_and(|w| self.p.now < w.unix);
        let differs = self.findings.contains(&"records_expiry_differs");
        if e.status == RecordStatus::Expired && valid && !differs && !self.at.deployed.is_empty() {
            self.findings.push("records_say_expired");
            let step = format!(
                "Served, and valid until {}, while record {} shows it as \"{}\": correct its status in the CLM (synchronize or import it again), which otherwise stops renewing it",
                e.not_after.map(|w| rfc3339_unix(w.unix)).unwrap_or_default(),
                e.record_id,
                e.status_shown()
            );
            self.next = if self.next == "Nothing to do." {
                format!("{step}.")
            } else {
                format!("{} {step}.", self.next)
            };
        }
    }

    /// Served, its certificate ending on another date than the record says: the CLM's
    /// renewal follows the record.
    fn expiry_seen(&mut self) {
        if let Some(until) = self.serving.expiry_seen(self.ids, self.newest) {
            self.findings.push("records_expiry_differs");
            let e = self.e;
            let said = e
                .not_after
                .map(|w| rfc3339_unix(w.unix))
                .unwrap_or_default();
            let step = format!(
                "The certificate served ends {until}, not {said} as record {} says: correct the record (import the certificate again, or fix the inventory), as the CLM's renewal follows it",
                e.record_id
            );
            self.next = if self.next == "Nothing to do." {
                format!("{step}.")
            } else {
                format!("{} {step}.", self.next)
            };
        }
    }

    /// Deployed, but where clients refuse the chain: the deployment is not done there.
    fn served_untrusted(&mut self) {
        let n = self.serving.untrusted_at(self.ids, self.newest);
        if n > 0 {
            self.findings.push("served_untrusted");
            // Refused for the certificate itself: who refuses it, why, and the reissue.
            let words = match self.serving.reissue(self.ids, self.newest) {
                Some(Finding::CaDistrusted) => Some((
                    "Chrome refuses",
                    "it was issued under a root Chrome has distrusted for certificates logged since a day before it",
                    "order its replacement from a CA Chrome trusts, deploy it",
                )),
                Some(Finding::ValidityTooLong) => Some((
                    "Chrome and Apple refuse",
                    "it is valid for longer than they accept of a public CA's certificate",
                    "order its replacement, deploy it",
                )),
                Some(Finding::KeyUsageIncompatible) => Some((
                    "Chrome, Edge and Java clients refuse",
                    "its Key Usage lacks what the handshake needs",
                    "reissue it with the key usage digitalSignature (and keyEncipherment for an RSA key), deploy the new one",
                )),
                Some(Finding::WeakKey) => Some((
                    "clients refuse",
                    "its key, or the key of a CA of its chain, is too small for them",
                    "reissue it with a key of 2048 bits or more (RSA) or ECDSA P-256, under a CA renewed with one where the CA's key is the small one, deploy the new one",
                )),
                Some(Finding::CtMissing) => Some((
                    "browsers refuse",
                    "it embeds fewer Certificate Transparency timestamps than they require",
                    "reissue it with CT logging on, deploy the new one",
                )),
                _ => None,
            };
            if let (true, Some((who, why, fix))) = (self.next == "Nothing to do.", words) {
                self.next = format!(
                    "Served at {n} endpoint(s) where {who} it: {why} (see the endpoint report), which no chain fixes: {fix}, then verify again."
                );
            } else if self.next == "Nothing to do." {
                self.next = format!(
                    "Served at {n} endpoint(s) where clients refuse it (usually a missing intermediate; or deployed before its notBefore): see their untrusted rows in the endpoint report, install the full chain there (or put the previous certificate back until it is valid), then verify again."
                );
            }
        }
    }

    /// The CA's word, stapled where it is served: whatever the export says.
    fn revoked_by_ca(&mut self) {
        let e = self.e;
        if let Some((when, source)) = self.serving.revoked_by_ca(self.ids, self.newest) {
            self.findings.push("revoked_by_ca");
            self.next = format!(
                "The CA revoked the newest certificate (on {when}, says {source}), while the records show it {}: order a replacement (with a new key if the key was compromised), deploy it, and record the revocation in the CLM.",
                if e.status_raw.is_empty() { "usable".to_string() } else { format!("as \"{}\"", e.status_raw) }
            );
        }
    }
}

/// Where an identity's versions are served, against `newest` (serial `serial`).
struct Placed<'a> {
    /// Versions no date or link orders against the newest, sorted.
    tied: Vec<usize>,
    /// Endpoints serving the newest (or a version tied with it).
    deployed: Vec<String>,
    /// Endpoints left with an older version (`host:port@ip (serial ...)`).
    stale: Vec<String>,
    /// The first of those, as served (`host:port@ip`).
    first_stale: Option<&'a str>,
    /// One of them serves an expired or revoked version, or one clients refuse: an outage.
    stale_failing: bool,
    /// Endpoints serving a version later than the newest usable one, and its record.
    later: Vec<(String, usize)>,
}

/// [`Placed`] for identity `id`, whose newest usable version is record `newest`.
fn placed<'a>(
    ids: &'a Identities,
    serving_all: &'a Serving,
    p: &Policy,
    id: usize,
    newest: usize,
    serial: &str,
) -> Placed<'a> {
    let members = &ids.members[id];
    // Versions no date or link orders against the newest count as deployed too: which of
    // them is the newest cannot be told, and the endpoints serving them are judged current.
    let mut tied: Vec<usize> = ids.tied(newest, p.now).collect();
    tied.sort_unstable();
    let mut deployed: Vec<String> = serving_all.places(ids, newest).cloned().collect();
    for &m in &tied {
        deployed.extend(serving_all.places(ids, m).cloned());
    }
    let mut stale = Vec::new();
    // The first endpoint left with an older version, for what the records say of the
    // deployment there.
    let mut first_stale: Option<&str> = None;
    // Some endpoint serves an older version that has expired or was revoked, or with a
    // chain clients refuse: an outage, no grace.
    let mut stale_failing = false;
    // Served versions later than the newest usable one that the records do not allow (still
    // "Pending" in a CLM that lags, revoked, cancelled, valid only later): not older
    // versions to replace by the newest, which would roll those endpoints back.
    let mut later = Vec::new();
    for &m in members {
        if m == newest || tied.binary_search(&m).is_ok() {
            continue;
        }
        if ids.is_newer(m, newest) && !ids.eligible(m, p.now) {
            let r = &ids.records[m];
            if let Some(s) = &r.serial {
                for at in serving_all.places(ids, m) {
                    later.push((format!("{at} (serial {})", s.canonical), m));
                }
            }
            continue;
        }
        // A second record of the newest certificate itself is no older version.
        if let Some(s) = ids.records[m]
            .serial
            .as_ref()
            .filter(|s| s.canonical != serial)
        {
            for at in serving_all.places(ids, m) {
                // Served beside the newest, to the other key type, and the newest of its
                // own kind: both are deployed there (see `renewal_served_beside`). A later
                // version of its kind that has expired (the lookup prefers a live one, so
                // then every later one has) is nothing to deploy, as on the endpoint's row.
                // One expired or revoked itself fails its clients: it is to be replaced.
                // Where samples saw the nodes differ, the older one is a node left behind.
                let failing = ids.records[m].expired_at(p.now)
                    || ids.records[m].status == RecordStatus::Revoked;
                let beside = deployed.contains(at)
                    && !failing
                    && !serving_all.nodes_differ.contains(at)
                    && ids
                        .renewal_beside(m, None, newest, place_host(at), p.now)
                        .is_none_or(|k| ids.records[k].expired_at(p.now));
                if !beside {
                    stale.push(format!("{at} (serial {})", s.canonical));
                    first_stale.get_or_insert(at.as_str());
                    // Revoked too (by the records or the CA): the endpoint's verdict
                    // gives no grace then either.
                    stale_failing |= failing
                        || serving_all.untrusted_at(ids, m) > 0
                        || serving_all.revoked_by_ca(ids, m).is_some();
                }
            }
        }
    }
    Placed {
        tied,
        deployed,
        stale,
        first_stale,
        stale_failing,
        later,
    }
}

/// The row of an identity with no version issued and valid: still told, so that nothing
/// in the records goes unreported, with where its versions are still served.
/// `[identity_id, owner, provisioning_bot]` as the identity's records give them.
fn no_valid_version_row(
    ids: &Identities,
    serving: &Serving,
    id: usize,
    names: String,
    [identity_id, owner, provisioning_bot]: [String; 3],
) -> IdentityRow {
    let members = &ids.members[id];
    // No eligible version: the identity still gets its row, so nothing in the records
    // goes unreported.
    let mut served = Vec::new();
    for &m in members {
        if let Some(s) = &ids.records[m].serial {
            for at in serving.places(ids, m) {
                served.push(format!("{at} (serial {})", s.canonical));
            }
        }
    }
    let statuses: Vec<String> = members
        .iter()
        .map(|&m| {
            let r = &ids.records[m];
            format!(
                "{} {}",
                r.record_id,
                format!("{:?}", r.status).to_lowercase()
            )
        })
        .collect();
    IdentityRow {
        names,
        versions: members.len(),
        newest_record_id: String::new(),
        newest_order_id: String::new(),
        newest_serial: String::new(),
        newest_not_after: String::new(),
        deployed_at: String::new(),
        stale_at: capped(&served, PLACES_IN_A_CELL, ";"),
        findings: "no_valid_certificate".into(),
        next_step: format!(
            "No version is issued and valid ({}): order or approve a replacement{}.",
            statuses.join(", "),
            if served.is_empty() {
                ""
            } else {
                ", then replace it where it is still served"
            }
        ),
        identity_id,
        owner,
        provisioning_bot,
    }
}
