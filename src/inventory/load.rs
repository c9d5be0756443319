//! Reading inventory files: detects CERTInext orders reports (JSON page, array, JSON lines
//! or CSV) and generic CLM CSV exports from their content, maps headers by alias, and turns
//! every row into a [`Record`] or an [`InventoryError`] naming file, line and field.

use super::date::{parse_date, slash_kind, SlashKind, SlashOrder, When};
use super::record::{DeployStatus, PerTarget, Record, RecordStatus};
use super::serial::{parse_serial, SerialBase};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

mod ca_database;
mod json;
mod workbook;
use json::{load_json, stream_json};

/// A row (or file) that could not be used.
pub type InventoryError = crate::model::LineError;

/// Which kind of export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// CERTInext orders report: decimal serials, CERTInext statuses.
    Certinext,
    /// Any other CLM export.
    Generic,
    /// OpenSSL's CA database (`index.txt`): hex serials, whatever a map says for the
    /// exports beside it.
    CaDatabase,
}

/// A normalized field an input column maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Serial,
    NotAfter,
    NotBefore,
    Cn,
    Sans,
    Sha1,
    Sha256,
    Fingerprint,
    Status,
    OrderStatus,
    Issuer,
    RecordId,
    OrderId,
    RequestId,
    RenewalOf,
    RenewedBy,
    Targets,
    Host,
    Port,
    Bot,
    Connector,
    Owner,
    Dcv,
    OrderDate,
    Group,
    Pem,
    ChainPem,
    KeyType,
    DeployStatus,
    IdentityId,
    RevokedAt,
    RevocationReason,
}

impl Field {
    /// The names an `--inventory-map` file uses for the fields.
    pub(crate) const NAMES: &'static [(&'static str, Field)] = &[
        ("serial", Field::Serial),
        ("not_after", Field::NotAfter),
        ("not_before", Field::NotBefore),
        ("cn", Field::Cn),
        ("sans", Field::Sans),
        ("sha1", Field::Sha1),
        ("sha256", Field::Sha256),
        ("fingerprint", Field::Fingerprint),
        ("status", Field::Status),
        ("order_status", Field::OrderStatus),
        ("issuer", Field::Issuer),
        ("record_id", Field::RecordId),
        ("order_id", Field::OrderId),
        ("request_id", Field::RequestId),
        ("renewal_of", Field::RenewalOf),
        ("renewed_by", Field::RenewedBy),
        ("targets", Field::Targets),
        ("host", Field::Host),
        ("port", Field::Port),
        ("provisioning_bot", Field::Bot),
        ("ca_connector", Field::Connector),
        ("owner", Field::Owner),
        ("dcv_method", Field::Dcv),
        ("order_date", Field::OrderDate),
        ("group", Field::Group),
        ("pem", Field::Pem),
        ("chain_pem", Field::ChainPem),
        ("key_type", Field::KeyType),
        ("deploy_status", Field::DeployStatus),
        ("identity_id", Field::IdentityId),
        ("revoked_at", Field::RevokedAt),
        ("revocation_reason", Field::RevocationReason),
    ];
}

/// Header aliases, matched case- and punctuation-insensitively.
fn field_of(header: &str) -> Option<Field> {
    Some(match crate::csvlines::key(header).as_str() {
        "serialnumber"
        | "serial"
        | "serialno"
        | "certificateserialnumber"
        | "ceritficateserialnumber"
        | "certificatedetailsserial"
        | "certificateserial"
        | "certserial"
        | "certserialnumber"
        | "serialnumberhex"
        | "serialhex"
        | "x509serial" => Field::Serial,
        "validto"
        | "expirydate"
        | "expires"
        | "notafter"
        | "expiry"
        | "expiration"
        | "expirationdate"
        | "certificateexpirydate"
        | "validtill"
        | "expiresat"
        | "validityend"
        | "validuntil"
        | "expireson"
        | "notvalidafter"
        | "enddate"
        | "certificateexpiration"
        // Windows CA's database view (certutil -view csv).
        | "certificateexpirationdate" => Field::NotAfter,
        "validfrom"
        | "notbefore"
        | "issuedat"
        | "validitystart"
        | "issuedate"
        | "notvalidbefore"
        | "startdate"
        | "issuedon"
        | "certificateeffectivedate" => Field::NotBefore,
        "commonname" | "cn" | "domain" | "domainname" | "subjectcn" | "issuedcn" | "fqdn"
        | "issuedcommonname" => Field::Cn,
        // A subject distinguished name: its CN is taken (`cn_of`).
        "subject" | "subjectdn" | "subjectname" | "issueddn" | "issueddistinguishedname" => {
            Field::Cn
        }
        "sans"
        | "san"
        | "subjectalternativenames"
        | "subjectalternativename"
        | "dnsnames"
        | "alternativenames"
        | "additionaldomains"
        | "subjectaltnamedns"
        | "subjectalternativenamedns"
        | "subjectaltnameelementsvalue"
        | "dnsname"
        // PowerShell's certificate provider.
        | "dnsnamelist" => Field::Sans,
        "thumbprint"
        | "sha1"
        | "sha1thumbprint"
        | "sha1fingerprint"
        | "thumbprintsha1"
        | "sha1hash"
        | "certificatethumbprint"
        | "certthumbprint"
        | "certificatehash"
        // Azure Key Vault.
        | "x509thumbprinthex" => Field::Sha1,
        "sha256" | "sha256fingerprint" | "fingerprint256" | "sha256thumbprint"
        | "thumbprintsha256" | "sha256hash" => Field::Sha256,
        "fingerprint" => Field::Fingerprint,
        "status"
        | "certificatestatus"
        | "certificatestate"
        | "certificatestatusid"
        | "versiontype"
        // Keyfactor Command (its word, or its number beside it).
        | "certstatestring"
        | "certstate"
        // Windows CA: "20 -- Issued", "21 -- Revoked".
        | "requestdisposition" => Field::Status,
        "orderstatus" | "orderstatusid" => Field::OrderStatus,
        "issuer"
        | "issuerca"
        | "issuerdn"
        | "issuercn"
        | "certificateauthority"
        | "certificateauthorityname"
        // TLS Protect Cloud's issuing CA object.
        | "cacertname" => Field::Issuer,
        "certificateid" | "certid" | "recordid" | "id" => Field::RecordId,
        // DigiCert's CSV writes "Order #".
        "orderid" | "ordernumber" | "order" | "orderno" => Field::OrderId,
        "requestnumber" | "requestid" | "certificaterequestid" | "certrequestid" => {
            Field::RequestId
        }
        "renewalof" | "renewedfrom" | "replaces" | "priorcertsn" | "renewaloforderid" => {
            Field::RenewalOf
        }
        "renewedby" | "replacedby" | "renewedto" | "renewedorderid" => Field::RenewedBy,
        "deploymentendpoints"
        | "targets"
        | "deploymenttargets"
        | "deploymenttarget"
        | "endpoints" => Field::Targets,
        // Keyfactor Command's SSL locations are found by address (its discovery scans
        // address and port); the sweep asks each for the certificate's name.
        "host" | "server" | "hostname" | "ssllocationsipaddress" => Field::Host,
        "port" => Field::Port,
        "provisioningbot" | "bot" => Field::Bot,
        "caconnector" | "connector" => Field::Connector,
        "owner" => Field::Owner,
        "dcvmethod" | "dcv" => Field::Dcv,
        "orderdate" | "createdat" | "requested" => Field::OrderDate,
        "groupnumber" | "group" => Field::Group,
        // Azure Key Vault's certificate bundle: `cer`, the DER in base64.
        "certificatepem" | "pem" | "certificate" | "endentitycertificate" | "cer" => Field::Pem,
        // A Kubernetes TLS secret (`kubectl get secret -o json`): `data.tls.crt`, the chain
        // its ingress serves, base64 of the PEM.
        "chainpem" | "chain" | "fullchain" | "fullchainpem" | "certificatechain" | "tlscrt"
        | "datatlscrt" => Field::ChainPem,
        "keytype" | "keyalgorithm" | "publickeyalgorithm" | "keyalg" => Field::KeyType,
        "deploymentstatus" | "deploystatus" | "provisioningstatus" | "installationstatus"
        | "deploymentstate" => Field::DeployStatus,
        // The platform's certificate object, which keeps its id across renewals (Venafi's
        // managedCertificateId and Guid, an ACM ARN).
        "identityid"
        | "managedcertificateid"
        | "guid"
        | "certificateguid"
        | "certificatearn"
        | "arn"
        | "lineageid" => Field::IdentityId,
        // When the CA revoked it, where the export gives no status saying so (HashiCorp
        // Vault's `revocation_time`, 0 when not revoked) or beside one (ACM's RevokedAt,
        // a Windows CA's Revocation Date, Keyfactor's RevocationEffDate); a yes/no column.
        "revocationtime"
        | "revocationtimerfc3339"
        | "revokedat"
        | "revokedon"
        | "revocationdate"
        | "dateofrevocation"
        | "revocationeffdate"
        | "revoked" => Field::RevokedAt,
        "revocationreason" | "revokedreason" | "reasonforrevocation" | "crlreason" => {
            Field::RevocationReason
        }
        _ => return None,
    })
}

/// Options for reading.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Order of slash dates, when declared.
    pub slash: Option<SlashOrder>,
    /// Column names, serial base, date writing and status words of an export no built-in
    /// profile knows (`--inventory-map`).
    pub map: Option<std::sync::Arc<super::map::InventoryMap>>,
    /// The password of PKCS#12 stores given as inventories
    /// ([`crate::stores::PKCS12_PASSWORD_ENV`]).
    pub pkcs12_password: Option<crate::stores::Password>,
}

impl ReadOptions {
    /// The field a column feeds: the map's word first, then the built-in aliases. A column
    /// the map names `ignore` feeds nothing.
    fn field_of(&self, header: &str) -> Option<Field> {
        if let Some(m) = &self.map {
            if let Some(f) = m.column(header) {
                return f;
            }
        }
        field_of(header)
    }
}

/// All records of the files, and every row that could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Usable records.
    pub records: Vec<Record>,
    /// Unusable rows and files.
    pub errors: Vec<InventoryError>,
    /// Status words no platform this reads uses, on records with a certificate, and on how
    /// many: read as pending (never what an endpoint should serve), to be told, since a
    /// renewal with such a word would go unseen.
    pub unknown_statuses: Vec<(String, usize)>,
    /// The pages of a paged API export among the files (CERTInext's orders report gives
    /// at most 100 records a page).
    pub pages: Vec<Page>,
    /// What is wrong with the files together: pages of a paged export missing or given
    /// twice. A renewal recorded only on a missing page cannot be seen.
    pub warnings: Vec<String>,
    /// Files that could not be read to their end (not found, a read error), each with where
    /// and why: unlike a bad row, a file's unread records are unknown, and verdicts judged
    /// without them (a renewal among them) would be wrong.
    pub unread: Vec<String>,
}

/// One page of a paged API export, as its own paging facts say.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The file it was read from.
    pub file: String,
    /// Its number, as the export counts (CERTInext from 1, Spring's default from 0), and
    /// the pages in the export, when it numbers them.
    pub numbered: Option<(u64, u64)>,
    /// The number of the export's first page, when the page says (Spring's `first`, or its
    /// `number`, which counts from 0).
    pub base: Option<u64>,
    /// Records in the export, when it says.
    pub total_records: Option<u64>,
    /// Records on this page.
    pub records: usize,
}

/// What a renewal recorded on a part of an export not given means.
const UNSEEN: &str = "a renewal recorded only there cannot be seen (endpoints would look current, or unmanaged, wrongly)";

/// The pages missing from, or given twice among, the pages of the files: an export's pages
/// share their totals, and are numbered from 0 when one is numbered 0 or a page says so,
/// from 1 when one is numbered as the count of pages or a page says so, else from 1 as
/// CERTInext's are (and a missing last page may be the missing page 0 of an export counting
/// from 0: both are said). An export that only counts its records (Venafi's) is missing some
/// when its files hold fewer.
fn page_warnings(pages: &[Page]) -> Vec<String> {
    let mut out = Vec::new();
    let mut counted: Vec<u64> = pages
        .iter()
        .filter(|p| p.numbered.is_none())
        .filter_map(|p| p.total_records)
        .collect();
    counted.sort_unstable();
    counted.dedup();
    for total in counted {
        let given: Vec<&Page> = pages
            .iter()
            .filter(|p| p.numbered.is_none() && p.total_records == Some(total))
            .collect();
        let held: u64 = given.iter().map(|p| p.records as u64).sum();
        if held < total {
            let files: Vec<&str> = given.iter().map(|p| p.file.as_str()).collect();
            out.push(format!(
                "{} {} {held} of the {total} records the export counts: the others are not among the --inventory files; {UNSEEN}: export every page",
                files.join(", "),
                if files.len() == 1 { "holds" } else { "hold" },
            ));
        }
    }
    let mut exports: Vec<(u64, Option<u64>)> = pages
        .iter()
        .filter_map(|p| Some((p.numbered?.1, p.total_records)))
        .collect();
    exports.sort();
    exports.dedup();
    for (total_pages, total_records) in exports {
        let given: Vec<(u64, &Page)> = pages
            .iter()
            .filter_map(|p| match p.numbered {
                Some((n, of)) if (of, p.total_records) == (total_pages, total_records) => {
                    Some((n, p))
                }
                _ => None,
            })
            .collect();
        let said = given.iter().find_map(|(_, p)| p.base);
        let first = if given.iter().any(|(n, _)| *n == 0) {
            0
        } else if given.iter().any(|(n, _)| *n == total_pages) {
            1
        } else {
            said.unwrap_or(1)
        };
        let unsure = first == 1 && said.is_none() && !given.iter().any(|(n, _)| *n == total_pages);
        let of = |n: u64| -> Vec<&str> {
            given
                .iter()
                .filter(|(m, _)| *m == n)
                .map(|(_, p)| p.file.as_str())
                .collect()
        };
        let missing: Vec<u64> = (first..first.saturating_add(total_pages))
            .filter(|n| of(*n).is_empty())
            .collect();
        let mut files: Vec<&str> = given.iter().map(|(_, p)| p.file.as_str()).collect();
        // A file may hold several pages (an API's pages fetched by a loop into one file).
        files.dedup();
        let holding = if files.len() == given.len() {
            if files.len() == 1 {
                "is a page"
            } else {
                "are pages"
            }
            .to_string()
        } else {
            let mut numbers: Vec<u64> = given.iter().map(|(n, _)| *n).collect();
            numbers.sort_unstable();
            numbers.dedup();
            let verb = if files.len() == 1 { "holds" } else { "hold" };
            match numbers.as_slice() {
                [one] => format!("{verb} page {one}"),
                _ => format!("{verb} pages {}", ranges(&numbers)),
            }
        };
        let records = total_records.map_or(String::new(), |n| format!(", {n} records"));
        if !missing.is_empty() {
            // Counted from 1 with no page to show it: the last page missing may be page 0.
            let or_first = if unsure && missing.last() == Some(&total_pages) {
                let also: Vec<u64> = std::iter::once(0)
                    .chain(missing.iter().copied().filter(|n| *n != total_pages))
                    .collect();
                format!(
                    " (or {} {}, if the export numbers its pages from 0)",
                    if also.len() == 1 { "page" } else { "pages" },
                    ranges(&also)
                )
            } else {
                String::new()
            };
            out.push(format!(
                "{} {holding} of an export of {total_pages} pages{records}: {} {} {} among the --inventory files{or_first}; {UNSEEN}: give every page",
                files.join(", "),
                if missing.len() == 1 { "page" } else { "pages" },
                ranges(&missing),
                if missing.len() == 1 { "is not" } else { "are not" },
            ));
        }
        for n in first..first.saturating_add(total_pages) {
            let twice = of(n);
            if twice.len() > 1 {
                out.push(format!(
                    "page {n} of an export of {total_pages} pages is given {} times ({}): an API asked for a page past the last answers with the last one again",
                    twice.len(),
                    twice.join(", ")
                ));
            }
        }
    }
    out
}

/// `1, 3-5, 9` for sorted numbers.
fn ranges(ns: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = ns.get(i) {
        let mut end = start;
        while ns.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// Reads every file (`-` is standard input); a file that cannot be read at all is one error,
/// the rest goes on.
pub fn load_files(paths: &[impl AsRef<Path>], opts: &ReadOptions) -> Loaded {
    let mut out = Loaded::default();
    for p in paths {
        let p = p.as_ref();
        let name = p.display().to_string();
        // `-` is standard input, for an export piped straight from the platform's API.
        let read = if p.as_os_str() == "-" {
            crate::wait::stdin().and_then(|input| load_stream(&name, input, opts, &mut out))
        } else if p.is_dir() {
            // Not read file by file: a report written into it by an earlier run would be
            // taken for records.
            Err(io::Error::other(format!(
                "it is a directory: give the exports in it (`--inventory {}/*.json`: several files after one flag)",
                name.trim_end_matches('/')
            )))
        } else {
            load_path(&name, p, opts, &mut out)
        };
        match read {
            Ok(()) => {}
            Err(e) => {
                out.unread.push(format!("{name}: {e}"));
                out.errors
                    .push(InventoryError::new(name, 0, format!("cannot read: {e}")));
            }
        }
    }
    out.unknown_statuses = unknown_statuses(&out.records, opts);
    let pages = page_warnings(&out.pages);
    out.warnings.extend(pages);
    let unmatched = issued_without_certificate(&out.records, opts);
    out.warnings.extend(unmatched);
    out
}

impl Loaded {
    /// What stops a run whose files could not all be read to their end ([`Loaded::unread`]):
    /// a bad row is skipped, but the records of a file not read are unknown, and verdicts
    /// without them (a renewal among them) would be wrong.
    pub fn not_read_whole(&self) -> Option<String> {
        (!self.unread.is_empty()).then(|| {
            format!(
                "cannot read the inventory to its end ({}): its records would be missing from every verdict",
                self.unread.join("; ")
            )
        })
    }
}

/// Files with records that say issued but give no serial, fingerprint or certificate. Such a
/// record is read as not yet issued (a CERTInext row before its certificate exists looks so)
/// and matches no served certificate; an export that leaves these fields out altogether (AWS
/// ACM's `list-certificates`) would otherwise read as one whose certificates are all still
/// to come, and the records report would call them missing.
fn issued_without_certificate(records: &[Record], opts: &ReadOptions) -> Vec<String> {
    let mut per_file: Vec<(&str, usize)> = Vec::new();
    for r in records {
        let raw = &*r.status_raw;
        let says = opts
            .map
            .as_ref()
            .and_then(|m| m.status(raw))
            .or_else(|| RecordStatus::known(raw));
        if r.serial.is_none()
            && r.sha1.is_none()
            && r.sha256.is_none()
            && r.status == RecordStatus::Pending
            && says == Some(RecordStatus::Issued)
        {
            match per_file.iter_mut().find(|(f, _)| *f == &*r.file) {
                Some((_, n)) => *n += 1,
                None => per_file.push((&r.file, 1)),
            }
        }
    }
    per_file
        .into_iter()
        .map(|(file, n)| {
            let (has, match_) = if n == 1 {
                ("has", "it matches")
            } else {
                ("have", "they match")
            };
            format!(
                "{file}: {} marked issued {has} no serial, fingerprint or certificate: read as not issued yet, {match_} no certificate a server presents; if the export leaves these out (AWS ACM's list-certificates does), export them with one (describe-certificate, get-certificate)",
                crate::report::summary::n(n as u64, "record", "records")
            )
        })
        .collect()
}

/// The status words of certificate-bearing records that neither the built-in words nor the
/// map know, with how many records have each, most frequent first.
fn unknown_statuses(records: &[Record], opts: &ReadOptions) -> Vec<(String, usize)> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in records {
        let raw = &*r.status_raw;
        if r.serial.is_some()
            && r.status == RecordStatus::Pending
            && RecordStatus::known(raw).is_none()
            && opts.map.as_ref().and_then(|m| m.status(raw)).is_none()
        {
            *counts.entry(raw).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(w, n)| (w.to_string(), n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// JSON files from this size on are read record by record ([`stream_json`]): it spares their
/// text (a 68 MB page: peak 204 → 178 MB) but reads a third slower (1.3 → 1.8 s), a price
/// not worth paying for the usual API page.
const STREAM_JSON_FROM: u64 = 16 << 20;

/// Reads one file. CSV is streamed, never held whole beside its records (a 200,000-record
/// export is 31 MB of text), in two passes when the file can be read twice (its rows first,
/// so the records are allocated once); large JSON is streamed too, other JSON parsed from
/// the whole text.
fn load_path(name: &str, path: &Path, opts: &ReadOptions, out: &mut Loaded) -> io::Result<()> {
    load_path_streaming(name, path, opts, out, STREAM_JSON_FROM)
}

/// [`load_path`], streaming JSON files of `stream_from` bytes and more.
fn load_path_streaming(
    name: &str,
    path: &Path,
    opts: &ReadOptions,
    out: &mut Loaded,
    stream_from: u64,
) -> io::Result<()> {
    let mut f = File::open(path)?;
    let (head, bom, csv) = sniff(&mut f)?;
    if crate::utf16::byte_order(&head).is_some() {
        return load_utf16(name, head, f, opts, out);
    }
    if csv && ca_database::is_ca_database(&head[bom..]) {
        return load_rest(name, head, bom, csv, f, opts, out);
    }
    if csv && f.rewind().is_ok() {
        let rows = count_rows(&mut f)?;
        let (delimiter, from) = csv_start(&head[bom..]);
        f.seek(SeekFrom::Start((bom + from) as u64))?;
        load_csv(name, BufReader::new(f), rows, delimiter, opts, out);
        return Ok(());
    }
    let json = matches!(first_byte(&head[bom..]), Some(b'{' | b'['));
    let large = f
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() >= stream_from);
    if json && large && f.seek(SeekFrom::Start(bom as u64)).is_ok() {
        if stream_json(name, &mut f, opts, out) {
            return Ok(());
        }
        // Another shape: read the whole text after all, from the start.
        f.rewind()?;
        let mut whole = Vec::new();
        f.read_to_end(&mut whole)?;
        load_bytes(name, &whole, opts, out);
        return Ok(());
    }
    // Read on from where the sniffing stopped: JSON, or a pipe given as a path.
    load_rest(name, head, bom, csv, f, opts, out)
}

/// Reads an export from a stream that can be read only once (standard input).
fn load_stream(
    name: &str,
    mut input: impl Read,
    opts: &ReadOptions,
    out: &mut Loaded,
) -> io::Result<()> {
    let (head, bom, csv) = sniff(&mut input)?;
    if crate::utf16::byte_order(&head).is_some() {
        return load_utf16(name, head, input, opts, out);
    }
    load_rest(name, head, bom, csv, input, opts, out)
}

/// Reads a UTF-16 export (its start already read into `head`) whole: such files come from
/// a spreadsheet, not from an API's million-row page ([`load_bytes`] decodes it).
fn load_utf16(
    name: &str,
    mut head: Vec<u8>,
    mut rest: impl Read,
    opts: &ReadOptions,
    out: &mut Loaded,
) -> io::Result<()> {
    rest.read_to_end(&mut head)?;
    load_bytes(name, &head, opts, out);
    Ok(())
}

/// The first 64 KiB of an input, the length of its byte order mark, and whether it is CSV
/// (its first byte other than white space opens no JSON).
fn sniff(input: &mut impl Read) -> io::Result<(Vec<u8>, usize, bool)> {
    let mut head = Vec::new();
    input.take(64 * 1024).read_to_end(&mut head)?;
    let bom = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let csv = matches!(first_byte(&head[bom..]), Some(b) if b != b'{' && b != b'[')
        && !is_pem(&head[bom..])
        && !is_der(&head)
        && !crate::stores::is_pkcs12(&head)
        && !crate::stores::is_java_keystore(&head)
        && !crate::sheet::is_workbook(&head);
    Ok((head, bom, csv))
}

/// Whether the bytes open a DER structure longer than 127 bytes (a certificate saved in
/// binary, Windows' "DER encoded binary X.509 (.CER)"): a SEQUENCE tag and a long-form
/// length, which no text begins with (0x81-0x84 after `0` is no UTF-8).
fn is_der(bytes: &[u8]) -> bool {
    matches!(bytes, [0x30, 0x81..=0x84, ..])
}

/// Whether the text is PEM (certificates, as a deployment pipeline has them at hand).
fn is_pem(text: &[u8]) -> bool {
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| text[i..].starts_with(b"-----BEGIN "))
}

/// What the start of a file given as a target list says it is when it is certainly no
/// target list but a certificate or an export (passed with `--targets` by mistake): PEM, a
/// PKCS#12 store, JSON. `None` for anything a target list may be (`[::1]:443` opens with
/// `[` too, but no JSON array goes on with a `:` or a digit).
pub fn not_a_target_list(head: &[u8]) -> Option<&'static str> {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    if is_pem(head) {
        return Some("it holds PEM certificates");
    }
    if crate::stores::is_pkcs12(head) {
        return Some("it is a PKCS#12 store");
    }
    if ca_database::is_ca_database(head) {
        return Some("it is an OpenSSL CA database (index.txt)");
    }
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let json = match head[start] {
        b'{' => true,
        b'[' => matches!(
            first_byte(&head[start + 1..]),
            None | Some(b'{' | b'"' | b']')
        ),
        _ => false,
    };
    json.then_some("it is JSON, as CLM exports are")
}

/// [`not_a_target_list`], or a CSV whose header names a serial number column and, read as a
/// target list, gave nothing usable: what an inventory export passed with `--targets` is.
pub fn looks_like_records(head: &[u8]) -> Option<&'static str> {
    if let Some(why) = not_a_target_list(head) {
        return Some(why);
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let header = String::from_utf8_lossy(head);
    let header = header.lines().find(|l| !l.trim().is_empty())?;
    header
        .split([',', ';', '\t'])
        .any(|h| field_of(h.trim().trim_matches('"')) == Some(Field::Serial))
        .then_some("its header names a serial number column, as CLM exports do")
}

/// The first byte other than white space: `{` or `[` opens JSON, anything else is CSV.
fn first_byte(text: &[u8]) -> Option<u8> {
    text.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Reads what [`sniff`] saw and the rest of the input.
fn load_rest(
    name: &str,
    mut head: Vec<u8>,
    bom: usize,
    csv: bool,
    mut rest: impl Read,
    opts: &ReadOptions,
    out: &mut Loaded,
) -> io::Result<()> {
    if csv && ca_database::is_ca_database(&head[bom..]) {
        let input = io::Cursor::new(&head[bom..]).chain(rest);
        ca_database::load_ca_database(name, BufReader::new(input), opts, out);
    } else if csv {
        let (delimiter, from) = csv_start(&head[bom..]);
        let input = io::Cursor::new(&head[bom + from..]).chain(rest);
        load_csv(name, BufReader::new(input), 0, delimiter, opts, out);
    } else {
        rest.read_to_end(&mut head)?;
        load_bytes(name, &head, opts, out);
    }
    Ok(())
}

/// Rows of a CSV text (at most; blank lines count), for sizing the records: newlines
/// outside quotes, as a PEM cell's lines are one row. A stray quote only makes the guess
/// wrong, never the reading.
#[derive(Default)]
struct RowCount {
    rows: usize,
    quoted: bool,
}

impl RowCount {
    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => self.rows += 1,
                _ => {}
            }
        }
    }

    fn of(text: &[u8]) -> usize {
        let mut c = RowCount::default();
        c.feed(text);
        c.rows + 1
    }
}

fn count_rows(r: &mut impl Read) -> io::Result<usize> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut count = RowCount::default();
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(count.rows + 1),
            Ok(k) => count.feed(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads one file's content.
pub fn load_bytes(file: &str, bytes: &[u8], opts: &ReadOptions, out: &mut Loaded) {
    match crate::utf16::to_utf8(bytes) {
        Some(Ok(text)) => return load_bytes(file, &text, opts, out),
        Some(Err(at)) => {
            return out.errors.push(InventoryError::new(
                file,
                at.line,
                format!("{at}: export the file again"),
            ))
        }
        None => {}
    }
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let first = first_byte(bytes);
    let err = |line: u64, reason: String| InventoryError::new(file, line, reason);
    match first {
        None => out
            .errors
            .push(err(1, "the file is empty: no records".into())),
        Some(b'{' | b'[') => match std::str::from_utf8(bytes) {
            Ok(text) => load_json(file, text, opts, out),
            Err(e) => {
                let line = crate::model::line_at(bytes, e.valid_up_to());
                out.errors
                    .push(err(line, "not UTF-8: export the file as UTF-8".into()));
            }
        },
        Some(b'-') if is_pem(bytes) => load_pem(file, bytes, opts, out),
        Some(_) if crate::sheet::is_workbook(bytes) => {
            workbook::load_workbook(file, bytes, opts, out)
        }
        Some(_) if crate::stores::is_pkcs12(bytes) => {
            let password = opts.pkcs12_password.as_ref().map(|p| p.0.as_str());
            match crate::stores::pkcs12_certificates(bytes, password) {
                Ok(ders) => load_pem(file, pem_of(ders).as_bytes(), opts, out),
                Err(why) => out.errors.push(err(1, why)),
            }
        }
        Some(_) if crate::stores::is_java_keystore(bytes) => {
            match crate::stores::java_keystore_certificates(bytes) {
                Ok(ders) => load_pem(file, pem_of(ders).as_bytes(), opts, out),
                Err(why) => out.errors.push(err(1, why)),
            }
        }
        Some(_) if is_der(bytes) => {
            // Read as the PEM it would be, so that one path makes records of certificates:
            // a certificate, or the ones a PKCS#7 bundle (`.p7b`) carries.
            let ders = match x509_parser::parse_x509_certificate(bytes) {
                Ok(_) => Some(vec![bytes.to_vec()]),
                Err(_) => crate::stores::pkcs7_certificates(bytes),
            };
            match ders {
                Some(ders) => load_pem(file, pem_of(ders).as_bytes(), opts, out),
                None => out.errors.push(err(
                    1,
                    "binary (DER) content that is neither an X.509 certificate nor a PKCS#7 bundle of certificates".into(),
                )),
            }
        }
        Some(b'V' | b'R' | b'E') if ca_database::is_ca_database(bytes) => {
            ca_database::load_ca_database(file, bytes, opts, out)
        }
        Some(_) => {
            let (delimiter, from) = csv_start(bytes);
            load_csv(
                file,
                &bytes[from..],
                RowCount::of(bytes),
                delimiter,
                opts,
                out,
            )
        }
    }
}

/// Certificates in DER as the PEM text [`load_pem`] reads, so that one path makes records
/// of certificates however they were given.
fn pem_of(ders: Vec<Vec<u8>>) -> String {
    ders.into_iter()
        .map(|d| pem::encode(&pem::Pem::new("CERTIFICATE", d)))
        .collect()
}

/// A CSV text's delimiter, and the byte its reading starts at: past Excel's `sep=`
/// directive when it has one ([`crate::csvlines::sep_directive`]).
fn csv_start(text: &[u8]) -> (u8, usize) {
    crate::csvlines::sep_directive(text).unwrap_or_else(|| (crate::csvlines::delimiter(text), 0))
}

/// Reads a PEM file: each end-entity certificate in it (not a CA, and one that issued none
/// of the others, so a full chain gives its leaf) is a record of an issued certificate, named by the file
/// line its block begins on; a PKCS#7 block's certificates count as if they were written
/// out where it begins. Other blocks (a private key beside the certificate) are
/// skipped unread. For checking a deployment against the certificate it deployed.
fn load_pem(file: &str, bytes: &[u8], opts: &ReadOptions, out: &mut Loaded) {
    let shared: Arc<str> = file.into();
    let err = |line: u64, reason: String| InventoryError::new(file, line, reason);
    // (line, the block's text) of every certificate block.
    let mut blocks: Vec<(u64, String)> = Vec::new();
    let mut open: Option<(u64, String)> = None;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end();
        match &mut open {
            None if line == "-----BEGIN CERTIFICATE-----" || line == "-----BEGIN PKCS7-----" => {
                open = Some((i as u64 + 1, format!("{line}\n")));
            }
            None => {}
            Some((at, text)) => {
                text.push_str(line);
                text.push('\n');
                if line == "-----END CERTIFICATE-----" {
                    blocks.extend(open.take());
                } else if line == "-----END PKCS7-----" {
                    let at = *at;
                    let certs = pem::parse(text.as_bytes())
                        .ok()
                        .and_then(|p| crate::stores::pkcs7_certificates(p.contents()));
                    match certs {
                        Some(certs) => blocks.extend(
                            certs
                                .into_iter()
                                .map(|d| (at, pem::encode(&pem::Pem::new("CERTIFICATE", d)))),
                        ),
                        None => out.errors.push(err(
                            at,
                            "PKCS7 block that is no bundle of certificates".into(),
                        )),
                    }
                    open = None;
                }
            }
        }
    }
    if let Some((line, _)) = open {
        out.errors
            .push(err(line, "certificate block without its END line".into()));
    }
    let parsed: Vec<(u64, &str, Option<Vec<u8>>)> = blocks
        .iter()
        .map(|(line, text)| {
            let der = pem::parse(text.as_bytes()).ok().map(|p| p.into_contents());
            (*line, text.as_str(), der)
        })
        .collect();
    let certs: Vec<Option<x509_parser::certificate::X509Certificate<'_>>> = parsed
        .iter()
        .map(|(_, _, der)| {
            der.as_deref()
                .and_then(|d| x509_parser::parse_x509_certificate(d).ok())
                .map(|(_, c)| c)
        })
        .collect();
    let issued_another = |i: usize| {
        certs
            .iter()
            .enumerate()
            .any(|(j, other)| match (&certs[i], other) {
                (Some(me), Some(other)) => {
                    j != i && other.issuer().as_raw() == me.subject().as_raw()
                }
                _ => false,
            })
    };
    let mut found = false;
    for (i, (line, text, _)) in parsed.iter().enumerate() {
        if certs[i].is_none() {
            out.errors
                .push(err(*line, "certificate block does not parse".into()));
            continue;
        }
        // A CA certificate is no endpoint's certificate, even one that issued none of the
        // others here (a root in a CA bundle given by mistake), unless it is the file's only
        // certificate and a server's own (`openssl req -x509` marks what it makes a CA).
        let ca = certs[i].as_ref().is_some_and(|c| c.is_ca())
            && !(certs.len() == 1
                && certs[i]
                    .as_ref()
                    .is_some_and(crate::cert::is_self_signed_server));
        if issued_another(i) || ca {
            continue;
        }
        found = true;
        // Its issuer's certificate beside it, if the file holds it: what a TLSA record for
        // the CA pins.
        let issuer = (0..certs.len()).find(|&j| match (&certs[i], &certs[j]) {
            (Some(me), Some(other)) => j != i && other.subject().as_raw() == me.issuer().as_raw(),
            _ => false,
        });
        let mut cells = vec![(Some(Field::Pem), "certificate", *text)];
        if let Some(j) = issuer {
            cells.push((Some(Field::ChainPem), "chain", parsed[j].1));
        }
        // A PEM block has no date columns: its dates are the certificate's own.
        let mut no_columns = SlashDates::default();
        push_built(
            build(
                &shared,
                *line,
                &cells,
                Profile::Generic,
                opts,
                &mut no_columns,
            ),
            &mut no_columns,
            out,
        );
    }
    if !found && out.errors.iter().all(|e| e.file != file) {
        out.errors
            .push(err(1, "no end-entity certificate in the PEM file".into()));
    }
}

/// The fields of a header row's columns; `Err` says why the row names no column that
/// identifies a certificate (serial, fingerprint or the certificate itself).
fn header_fields(names: &[String], opts: &ReadOptions) -> Result<Vec<Option<Field>>, String> {
    let fields: Vec<Option<Field>> = names.iter().map(|h| opts.field_of(h)).collect();
    let has = |f: Field| fields.contains(&Some(f));
    if has(Field::Serial)
        || has(Field::Sha1)
        || has(Field::Sha256)
        || has(Field::Fingerprint)
        || has(Field::Pem)
        || has(Field::ChainPem)
    {
        Ok(fields)
    } else {
        Err(format!(
            "no serial or fingerprint column (looked for Serial Number, SerialNumber, Serial, certificateSerialNumber, Thumbprint, SHA1, SHA256, Fingerprint); columns are: {}",
            names.join(", ")
        ))
    }
}

fn detect(headers: &[&str]) -> Profile {
    let has = |n: &str| headers.iter().any(|h| crate::csvlines::key(h) == n);
    if has("ordernumber")
        && (has("certificateserialnumber") || has("ceritficateserialnumber") || has("domainname"))
        || has("certificateserialnumber") && has("certificateexpirydate")
    {
        Profile::Certinext
    } else {
        Profile::Generic
    }
}

/// Reads CSV records from `input`, which has about `rows` rows.
fn load_csv(
    file: &str,
    input: impl io::BufRead,
    rows: usize,
    delimiter: u8,
    opts: &ReadOptions,
    out: &mut Loaded,
) {
    let shared: Arc<str> = file.into();
    // The vector is made once instead of doubled and copied (a 200,000-record export: 15 MB
    // less peak RSS, a quarter less time).
    out.records.reserve(rows);
    // Lines ended by a lone CR (Excel for Mac's "CSV (Macintosh)") are lines too.
    let input = crate::csvlines::LoneCr::new(input);
    let (input, mut line_of) = crate::csvlines::tracked(input, 1, None, delimiter);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(input);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.push(InventoryError::new(
                file,
                1,
                format!("cannot read the header row: {e}"),
            ));
            return;
        }
    };
    if let Some(u) = line_of.swallowed(None) {
        out.errors.push(u.error(file));
        return;
    }
    // Cells read as Windows-1252 ([`crate::csvlines::text_of`]), told once for the file.
    let mut legacy = 0u64;
    let mut names = Vec::new();
    for h in headers.iter() {
        let (name, decoded) = crate::csvlines::text_of(h);
        legacy += u64::from(decoded);
        names.push(name.into_owned());
    }
    let fields = match header_fields(&names, opts) {
        Ok(f) => f,
        Err(reason) => {
            out.errors.push(InventoryError::new(file, 1, reason));
            return;
        }
    };
    let header_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let profile = detect(&header_refs);
    let mut rec = csv::ByteRecord::new();
    let mut any = false;
    let errors_from = out.errors.len();
    let mut slash = SlashDates::default();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = line_of.of(e.position());
                // A read error ends the file (it would repeat); a malformed row only itself.
                let stop = matches!(e.kind(), csv::ErrorKind::Io(_));
                out.errors.push(InventoryError {
                    file: file.into(),
                    line,
                    field: None,
                    reason: if stop {
                        format!("cannot read on: {e}")
                    } else {
                        format!("bad CSV row: {e}")
                    },
                });
                if stop {
                    out.unread.push(format!("{file}:{line}: {e}"));
                    break;
                }
                continue;
            }
        }
        let line = line_of.of(rec.position());
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        // Every row after the quote is in this record's cell: it is none of the rows written.
        if let Some(u) = line_of.swallowed(rec.position()) {
            out.errors.push(u.error(file));
            continue;
        }
        any = true;
        let texts: Vec<std::borrow::Cow<'_, str>> = rec
            .iter()
            .map(|raw| {
                let (text, decoded) = crate::csvlines::text_of(raw);
                legacy += u64::from(decoded);
                text
            })
            .collect();
        let cells: Vec<(Option<Field>, &str, &str)> = texts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let header = header_refs.get(i).copied().unwrap_or("");
                (fields.get(i).copied().flatten(), header, &**v)
            })
            .collect();
        push_built(
            build(&shared, line, &cells, profile, opts, &mut slash),
            &mut slash,
            out,
        );
    }
    let nothing = (!any).then_some("header only: no records");
    finish_text(file, out, (slash, errors_from), (legacy, "cell"), nothing);
}

/// The end of a text export's reading: its slash dates settled (`slash`, for the records
/// from `errors_from` on), its `legacy` count of `unit`s read as Windows-1252 told once,
/// and `nothing`'s reason when it gave no record.
fn finish_text(
    file: &str,
    out: &mut Loaded,
    (slash, errors_from): (SlashDates, usize),
    (legacy, unit): (u64, &str),
    nothing: Option<&str>,
) {
    slash.finish(file, out, errors_from);
    if legacy > 0 {
        out.warnings
            .push(crate::csvlines::not_utf8_note(file, legacy, unit));
    }
    if let Some(reason) = nothing {
        out.errors.push(InventoryError::new(file, 1, reason));
    }
}

/// A `;`-list of deployment statuses that pairs with the record's targets one by one (a
/// JSON list of instances, flattened), as each target's own status.
fn per_target(targets: &[String], statuses: Option<&str>) -> Option<PerTarget> {
    // Most records have one status or none: no list to pair, and nothing allocated.
    let statuses = statuses.filter(|s| s.contains(';') && targets.len() > 1)?;
    let statuses: Vec<&str> = statuses.split(';').map(str::trim).collect();
    (statuses.len() > 1 && statuses.len() == targets.len()).then(|| {
        targets
            .iter()
            .zip(statuses)
            .map(|(t, s)| (t.clone(), s.into()))
            .collect()
    })
}

/// `value` after the first of `labels` it begins with, letter case aside.
fn after_label<'a>(value: &'a str, labels: &[&str]) -> Option<&'a str> {
    labels.iter().find_map(|l| {
        value
            .get(..l.len())
            .filter(|head| head.eq_ignore_ascii_case(l))
            .map(|_| &value[l.len()..])
    })
}

/// The common name in a subject distinguished name (`CN=www.x.com, O=Acme` as Windows and
/// most exports write it, `/C=US/CN=www.x.com` as OpenSSL's old form does), else the value.
fn cn_of(value: &str) -> &str {
    // OpenSSL's `-subject` output keeps its label: `subject=CN = www.x.com, O = Acme`.
    let dn = after_label(value, &["subject=", "subject:"]).unwrap_or(value);
    dn.split([',', '/', ';', '+'])
        .map(str::trim)
        .find_map(|rdn| {
            let (k, v) = rdn.split_once('=')?;
            // A value may be quoted (`CN="www.x.com"`, as RFC 1779 and .NET allow).
            k.trim()
                .eq_ignore_ascii_case("cn")
                .then(|| v.trim().trim_matches('"').trim())
        })
        .unwrap_or(value)
}

/// A name as certificates write it: lower case, no trailing dot, an internationalised one
/// as its A-label (`bücher.example` → `xn--bcher-kva.example`), so that it compares with
/// the names of served certificates and the targets, which are A-labels. Exports often show
/// the Unicode form their user interface displays. A `*.` and a `:port` (a deployment
/// endpoint) are kept; a name IDNA refuses stays as written, lower-cased.
fn dns_name(raw: &str) -> String {
    let name = raw.trim().trim_end_matches('.');
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    let (wild, rest) = match name.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", name),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (rest, None),
    };
    match idna::domain_to_ascii(host.trim_end_matches('.')) {
        Ok(ascii) => match port {
            Some(p) => format!("{wild}{ascii}:{p}"),
            None => format!("{wild}{ascii}"),
        },
        Err(_) => name.to_lowercase(),
    }
}

/// The names of a list as exports write it: `;`, `,`, `|`, spaces or lines between them,
/// PowerShell's braces (`{www.x.com, x.com}`), and the type labels of OpenSSL
/// (`DNS:www.x.com, IP Address:10.0.0.5`) and Windows' certutil (`DNS Name=www.x.com`).
/// An address is written the way the targets write it (`2001:DB8:0::5` as `2001:db8::5`);
/// e-mail addresses, URIs and the other kinds of subject alternative name are no names an
/// endpoint is reached by, and are left out.
fn names_list(s: &str) -> Vec<String> {
    const DNS: [&str; 5] = ["dns name=", "dns name:", "dnsname=", "dnsname:", "dns:"];
    const IP: [&str; 5] = [
        "ip address=",
        "ip address:",
        "ipaddress=",
        "ipaddress:",
        "ip:",
    ];
    const OTHER: [&str; 12] = [
        "email:",
        "email=",
        "rfc822 name=",
        "rfc822name:",
        "uri:",
        "url=",
        "othername:",
        "other name:",
        "dirname:",
        "directory address:",
        "registered id",
        "principal name=",
    ];
    let name = |n: &str| match n.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => dns_name(n),
    };
    let mut names = Vec::new();
    for entry in s.split([';', ',', '\n', '|', '{', '}']) {
        let e = entry.trim();
        if let Some(n) = after_label(e, &DNS).or_else(|| after_label(e, &IP)) {
            names.push(name(n.trim()));
        } else if after_label(e, &OTHER).is_none() {
            names.extend(e.split_whitespace().map(name));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn hex_only(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_hexdigit()).collect()
}

/// How a file's slash dates are read when no order is declared. The first value whose own
/// numbers settle the order (a day over 12) settles it for the file: exports write all their
/// dates one way. Values that read either way before it are read day-first for now and
/// corrected, or refused, when the file ends.
#[derive(Default)]
struct SlashDates {
    /// The order, and the line and value that settled it.
    settled: Option<(SlashOrder, u64, Box<str>)>,
    /// Open readings of the row being built.
    row: Vec<OpenDate>,
    /// Open readings of records already read, with the record's index in `Loaded::records`.
    open: Vec<(usize, OpenDate)>,
}

/// A slash date read day-first before the file settled its order.
struct OpenDate {
    field: Field,
    header: Box<str>,
    raw: Box<str>,
    month_first: When,
}

impl SlashDates {
    /// Reads one value of a date field, in the declared order if there is one.
    /// Every reading is taken as the local time `offset` seconds east of UTC where the
    /// value names no zone ([`When::at_offset`]).
    fn read(
        &mut self,
        raw: &str,
        (declared, offset): (Option<SlashOrder>, i64),
        line: u64,
        field: Field,
        header: &str,
    ) -> Result<Option<When>, String> {
        let read_at =
            |raw: &str, order| parse_date(raw, order).map(|w| w.map(|w| w.at_offset(raw, offset)));
        if declared.is_some() {
            return read_at(raw, declared);
        }
        let kind = slash_kind(raw);
        if let SlashKind::Settles(own) = kind {
            match &self.settled {
                Some((order, at, was)) if *order != own => {
                    return Err(format!(
                        "date \"{raw}\" is {own}, but \"{was}\" on line {at} is {order}: the file writes slash dates both ways; declare date_order in an inventory map"
                    ))
                }
                Some(_) => {}
                None => self.settled = Some((own, line, raw.into())),
            }
            return read_at(raw, Some(own));
        }
        if kind == SlashKind::Open {
            if let Some((order, ..)) = &self.settled {
                return read_at(raw, Some(*order));
            }
            let day_first = read_at(raw, Some(SlashOrder::DayFirst))?;
            if let Some(month_first) = read_at(raw, Some(SlashOrder::MonthFirst))? {
                self.row.push(OpenDate {
                    field,
                    header: header.into(),
                    raw: raw.into(),
                    month_first,
                });
            }
            return Ok(day_first);
        }
        read_at(raw, None)
    }

    /// Files the row's open readings under the record it became, or forgets them when the
    /// row was refused. A certificate PEM's own dates replace the columns', so an open
    /// reading they replaced is no longer open.
    fn row_done(&mut self, record: Option<(usize, &Record)>) {
        for o in self.row.drain(..) {
            if let Some((i, rec)) = record {
                let replaced =
                    rec.from_pem && matches!(o.field, Field::NotAfter | Field::NotBefore);
                if !replaced {
                    self.open.push((i, o));
                }
            }
        }
    }

    /// At the end of a file whose errors begin at `errors_from`: corrects the open readings to the order the file settled, or refuses
    /// their records when nothing settled it.
    fn finish(self, file: &str, out: &mut Loaded, errors_from: usize) {
        if self.open.is_empty() {
            return;
        }
        match self.settled {
            Some((SlashOrder::DayFirst, ..)) => {}
            Some((SlashOrder::MonthFirst, ..)) => {
                for (i, o) in self.open {
                    if let Some(rec) = out.records.get_mut(i) {
                        let slot = match o.field {
                            Field::NotAfter => &mut rec.not_after,
                            Field::NotBefore => &mut rec.not_before,
                            _ => &mut rec.order_date,
                        };
                        *slot = Some(o.month_first);
                    }
                }
            }
            None => {
                let mut refused = Vec::new();
                for (i, o) in self.open {
                    if refused.last() == Some(&i) {
                        continue;
                    }
                    let Some(rec) = out.records.get(i) else {
                        continue;
                    };
                    refused.push(i);
                    out.errors.push(InventoryError {
                        file: file.into(),
                        line: rec.line,
                        field: Some(o.header.into()),
                        reason: format!(
                            "date \"{}\" reads as a date day-first and month-first, and no date in the file has a day over 12 to settle which: declare date_order in an inventory map",
                            o.raw
                        ),
                    });
                }
                let mut index = 0;
                let mut next = refused.iter().peekable();
                out.records.retain(|_| {
                    let keep = next.peek() != Some(&&index);
                    if !keep {
                        next.next();
                    }
                    index += 1;
                    keep
                });
                // The refusals are reported in file order among the file's other errors.
                out.errors[errors_from..].sort_by_key(|e| e.line);
            }
        }
    }
}

/// Adds a built row to the records or the errors.
fn push_built(result: Result<Record, InventoryError>, slash: &mut SlashDates, out: &mut Loaded) {
    match result {
        Ok(r) => {
            slash.row_done(Some((out.records.len(), &r)));
            out.records.push(r);
        }
        Err(e) => {
            slash.row_done(None);
            out.errors.push(e);
        }
    }
}

/// Whether `v` may hold a control character: a C0 one or DEL (single bytes) or a C1 one
/// (its UTF-8 starts with 0xC2). Without an early exit, so that the loop runs on vectors.
fn may_hold_control(v: &str) -> bool {
    v.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == 0x7F) | (b == 0xC2)
    })
}

/// Revocation dates before this (1990-01-01) are placeholders for none (see
/// `Row::revocation`).
const PLACEHOLDER_BEFORE: i64 = 631_152_000;

/// One row's cells, with the fields they were mapped to, and where the row is.
struct Row<'a> {
    file: &'a Arc<str>,
    line: u64,
    /// (field, header, value) per cell.
    cells: &'a [(Option<Field>, &'a str, &'a str)],
}

impl<'a> Row<'a> {
    /// The first non-empty cell of `f`: its header and trimmed value.
    fn get(&self, f: Field) -> Option<(&'a str, &'a str)> {
        self.cells
            .iter()
            .find(|(k, _, v)| *k == Some(f) && !v.trim().is_empty())
            .map(|(_, h, v)| (*h, v.trim()))
    }

    fn val(&self, f: Field) -> Option<String> {
        self.get(f).map(|(_, v)| v.to_string())
    }

    /// An error in field `f`, named by its header as the file has it.
    fn err(&self, f: Field, reason: String) -> InventoryError {
        InventoryError {
            file: self.file.to_string(),
            line: self.line,
            field: Some(
                self.get(f)
                    .map(|(h, _)| h.to_string())
                    .unwrap_or_else(|| format!("{f:?}")),
            ),
            reason,
        }
    }

    /// A control character in a cell certsweep reads is a file cut from a binary or read
    /// in the wrong encoding: a name holding one matched nothing and was written raw into
    /// the reports.
    fn refuse_control_characters(&self) -> Result<(), InventoryError> {
        for (field, header, v) in self.cells {
            // A byte test first (every cell of every row passes here): C0 controls and DEL
            // are single bytes, C1 controls start with 0xC2.
            if field.is_none() || !may_hold_control(v) {
                continue;
            }
            if let Some(c) = v
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err(InventoryError {
                    file: self.file.to_string(),
                    line: self.line,
                    field: Some(header.to_string()),
                    reason: format!(
                        "value \"{}\" holds the control character U+{:04X}: export the file as text (UTF-8)",
                        v.escape_debug(),
                        u32::from(c)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The status as written, and as read (through `--inventory-map`'s words).
    fn status(&self, opts: &ReadOptions) -> (String, RecordStatus) {
        // A status given as a word and as a number (Keyfactor's CertStateString beside its
        // CertState): the word, since numbers mean other things on other platforms
        // (CERTInext's status id 1 is a pending setup, Keyfactor's 1 is active).
        let status_word = self
            .cells
            .iter()
            .filter(|(k, _, v)| *k == Some(Field::Status) && !v.trim().is_empty())
            .map(|(_, _, v)| v.trim())
            .find(|v| !v.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string);
        let status_raw = status_word
            .or_else(|| self.val(Field::Status))
            .unwrap_or_default();
        let mapped = |raw: &str| {
            opts.map
                .as_ref()
                .and_then(|m| m.status(raw))
                .unwrap_or_else(|| RecordStatus::from_raw(raw))
        };
        let mut status = mapped(&status_raw);
        if status == RecordStatus::Unknown || status == RecordStatus::Pending {
            // CERTInext: the order status speaks when the certificate status is silent.
            if let Some(os) = self.val(Field::OrderStatus) {
                let o = mapped(&os);
                if o == RecordStatus::Cancelled
                    || (status == RecordStatus::Unknown && o != RecordStatus::Issued)
                {
                    status = o;
                }
            }
        }
        (status_raw, status)
    }

    /// When and why the certificate was revoked (`revoked 2026-05-01T08:30:00Z
    /// (keyCompromise)`), when a revocation column says it was; `None` when it says it was
    /// not (empty, `0` as Vault writes, `false`, `no`). The time is for the reports only: a
    /// slash date that reads either way is shown as written.
    fn revocation(
        &self,
        map: Option<&super::map::InventoryMap>,
        declared: Option<SlashOrder>,
        offset: i64,
    ) -> Result<Option<String>, InventoryError> {
        let Some((_, v)) = self.get(Field::RevokedAt) else {
            return Ok(None);
        };
        let k = crate::csvlines::key(v);
        if crate::csvlines::says_none(v)
            || matches!(k.as_str(), "0" | "false" | "no" | "notrevoked")
        {
            return Ok(None);
        }
        let shown = |w: When| {
            let t = crate::timefmt::rfc3339_unix(w.at_offset(v, offset).unix);
            match w.date_only {
                true => format!(" {}", &t[..10]),
                false => format!(" {t}"),
            }
        };
        let at = if matches!(k.as_str(), "true" | "yes" | "y" | "revoked") {
            String::new()
        } else {
            let open = declared.is_none() && super::date::slash_open(v);
            let read = match map.and_then(|m| m.own_format(v)) {
                Some(w) => Ok(Some(w)),
                // A date reading either way has its year either way: enough for the test
                // below; it is shown as written.
                None => parse_date(v, declared.or(open.then_some(SlashOrder::DayFirst))),
            };
            match read {
                // A date before any certificate in use is a placeholder for none: epoch 0
                // (Vault's "not revoked" as a time), .NET's DateTime.MinValue (0001-01-01)
                // and OLE's zero date (1899-12-30) that Windows tools write for a null.
                Ok(Some(w)) if w.unix < PLACEHOLDER_BEFORE => return Ok(None),
                Ok(Some(_)) if open => format!(" {v}"),
                Ok(Some(w)) => shown(w),
                Ok(None) => return Ok(None),
                Err(r) => return Err(self.err(Field::RevokedAt, r)),
            }
        };
        let why = self
            .val(Field::RevocationReason)
            .filter(|r| !crate::csvlines::says_none(r))
            .map_or(String::new(), |r| format!(" ({r})"));
        Ok(Some(format!("revoked{at}{why}")))
    }

    /// The SHA-1 (uppercase) and SHA-256 (lowercase) fingerprints, from their own columns
    /// or a fingerprint column of either length.
    fn fingerprints(&self) -> Result<(Option<String>, Option<String>), InventoryError> {
        let mut sha1 = self.val(Field::Sha1).map(|s| hex_only(&s).to_uppercase());
        let mut sha256 = self.val(Field::Sha256).map(|s| hex_only(&s).to_lowercase());
        if let Some(fp) = self.val(Field::Fingerprint) {
            let h = hex_only(&fp);
            match h.len() {
                40 => sha1 = sha1.or(Some(h.to_uppercase())),
                64 => sha256 = sha256.or(Some(h.to_lowercase())),
                _ => {
                    return Err(self.err(
                        Field::Fingerprint,
                        format!("fingerprint \"{fp}\" is neither SHA-1 nor SHA-256"),
                    ))
                }
            }
        }
        Ok((sha1, sha256))
    }

    /// The deployment endpoints: a targets column's, then the hosts with their ports.
    fn targets(&self) -> Result<Vec<String>, InventoryError> {
        let mut targets: Vec<String> = self
            .val(Field::Targets)
            .map(|t| names_list(&t))
            .unwrap_or_default();
        if let Some(host) = self.val(Field::Host) {
            let hosts = names_list(&host);
            // One port for every host, or one each (a JSON list of instances, flattened).
            let ports: Vec<u16> = match self.val(Field::Port) {
                Some(p) => p
                    .split(';')
                    .map(|one| {
                        one.trim()
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| self.err(Field::Port, format!("bad port \"{p}\"")))
                    })
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            if ports.len() > 1 && ports.len() != hosts.len() {
                return Err(self.err(
                    Field::Port,
                    format!("{} ports for {} hosts", ports.len(), hosts.len()),
                ));
            }
            for (i, h) in hosts.into_iter().enumerate() {
                targets.push(match ports.get(i).or(ports.first()) {
                    Some(p) => crate::model::host_port(&h, *p),
                    None => h,
                });
            }
        }
        Ok(targets)
    }
}

fn build(
    file: &Arc<str>,
    line: u64,
    cells: &[(Option<Field>, &str, &str)],
    profile: Profile,
    opts: &ReadOptions,
    slash: &mut SlashDates,
) -> Result<Record, InventoryError> {
    let row = Row { file, line, cells };
    let get = |f: Field| row.get(f);
    let val = |f: Field| row.val(f);
    let err = |f: Field, reason: String| row.err(f, reason);
    row.refuse_control_characters()?;
    let base = match (opts.map.as_ref().and_then(|m| m.serial_base), profile) {
        (_, Profile::CaDatabase) => SerialBase::Hex,
        (Some(b), _) => b,
        (None, Profile::Certinext) => SerialBase::Dec,
        (None, Profile::Generic) => SerialBase::Auto,
    };
    let serial_raw = val(Field::Serial).unwrap_or_default();
    let serial = parse_serial(&serial_raw, base).map_err(|r| err(Field::Serial, r))?;
    let map = opts.map.as_deref();
    let declared = opts.slash.or(map.and_then(|m| m.slash));
    let offset = map.and_then(|m| m.date_offset).unwrap_or(0);
    let mut date = |f: Field| -> Result<Option<When>, InventoryError> {
        let Some((header, v)) = get(f) else {
            return Ok(None);
        };
        if let Some(w) = map.and_then(|m| m.own_format(v)) {
            return Ok(Some(w.at_offset(v, offset)));
        }
        slash
            .read(v, (declared, offset), line, f, header)
            .map_err(|r| err(f, r))
    };
    let not_after = date(Field::NotAfter)?;
    let not_before = date(Field::NotBefore)?;
    let order_date = date(Field::OrderDate)?;
    let (mut status_raw, mut status) = row.status(opts);
    if let Some(revoked) = row.revocation(map, declared, offset)? {
        // The date and reason say more than the platform's word for it; another word beside
        // a revocation date (`Active`) is kept in front, the revocation having the last say.
        status_raw = match status_raw.is_empty() || status == RecordStatus::Revoked {
            true => revoked,
            false => format!("{status_raw}, {revoked}"),
        };
        status = RecordStatus::Revoked;
    }
    let (sha1, sha256) = row.fingerprints()?;
    let targets = row.targets()?;
    let deploy_by_target = per_target(&targets, get(Field::DeployStatus).map(|(_, v)| v));
    let order_id = val(Field::OrderId);
    let request_id = val(Field::RequestId);
    let record_id = val(Field::RecordId)
        .or_else(|| order_id.clone())
        .or_else(|| request_id.clone())
        .unwrap_or_else(|| format!("{file}:{line}"));
    let text = |f: Field| get(f).map(|(_, v)| Box::<str>::from(v));
    let mut rec = Record {
        file: Arc::clone(file),
        line,
        record_id: record_id.into(),
        order_id: order_id.map(Into::into),
        request_id: request_id.map(Into::into),
        serial_raw: serial_raw.into(),
        serial,
        sha1: sha1.map(Into::into),
        sha256: sha256.map(Into::into),
        cn: get(Field::Cn).map(|(_, c)| dns_name(cn_of(c)).into()),
        sans: val(Field::Sans).map(|s| names_list(&s)).unwrap_or_default(),
        issuer: text(Field::Issuer),
        not_before,
        not_after,
        order_date,
        status,
        status_raw: status_raw.into(),
        renewal_of: text(Field::RenewalOf),
        renewed_by: text(Field::RenewedBy),
        targets,
        provisioning_bot: text(Field::Bot),
        deploy_status: get(Field::DeployStatus).and_then(|(_, v)| DeployStatus::from_raw(v)),
        deploy_status_raw: text(Field::DeployStatus),
        deploy_by_target,
        identity_id: text(Field::IdentityId),
        ca_connector: text(Field::Connector),
        owner: text(Field::Owner),
        dcv_method: text(Field::Dcv),
        group: text(Field::Group),
        from_pem: false,
        spki_sha256: None,
        issuer_spki_sha256: None,
        // Other key types (Ed25519, DSA) are no key family a client's offer can single out.
        key_family: get(Field::KeyType).and_then(|(_, v)| key_family(v)),
        extended_key_usage: None,
    };
    spread_listed_names(&mut rec);
    let chain = val(Field::ChainPem);
    if let Some(p) = val(Field::Pem) {
        apply_pem(&mut rec, &p, chain.as_deref()).map_err(|r| err(Field::Pem, r))?;
    } else if let Some(p) = chain {
        apply_chain_pem(&mut rec, &p).map_err(|r| err(Field::ChainPem, r))?;
    }
    if rec.serial.is_none()
        && rec.sha1.is_none()
        && rec.sha256.is_none()
        && rec.status == RecordStatus::Issued
    {
        // An issued row with no serial cannot be matched; CERTInext leaves both empty only
        // while no certificate exists, so treat it as pending rather than reject it.
        rec.status = RecordStatus::Pending;
    }
    Ok(rec)
}

/// A name column listing several names (`a.example.com, b.example.com`: a multi-domain
/// order's domain cell) is no one name: the first is the CN, and all of them are SANs
/// beside any the row gives. Kept as one, it matched no certificate and was scanned as a
/// bad target.
fn spread_listed_names(rec: &mut Record) {
    let Some(cn) = rec.cn.as_deref() else {
        return;
    };
    // A distinguished name with no CN in it (`O=Acme, C=US`) is no list of names.
    if !cn.contains([',', ';', ' ', '|']) || cn.contains('=') {
        return;
    }
    let names = names_list(cn);
    // A person's or a device's name (`John Doe`, a client certificate's CN in a CA's
    // database) is no list of host names: its words were swept as hosts.
    if !names.iter().all(|n| n.contains(['.', ':'])) {
        return;
    }
    let Some(first) = names.first() else {
        return;
    };
    rec.cn = Some(first.as_str().into());
    for n in names {
        if !rec.sans.contains(&n) {
            rec.sans.push(n);
        }
    }
}

/// The key family a key type column names: `RSA`, `RSA 2048`, `rsaEncryption`; `EC`,
/// `ECDSA`, `ECC`, `EC P-256`, `prime256v1`, `secp384r1`.
fn key_family(v: &str) -> Option<crate::model::KeyFamily> {
    use crate::model::KeyFamily;
    let k = v.trim().to_ascii_lowercase();
    // A public key algorithm column may hold the OID or its name: rsaEncryption
    // (1.2.840.113549.1.1.1), RSASSA-PSS (…1.1.10), id-ecPublicKey (1.2.840.10045.2.1).
    let rsa = ["rsa", "1.2.840.113549.1.1."];
    let ec = [
        "ec",
        "elliptic",
        "id-ecpublickey",
        "prime",
        "secp",
        "nistp",
        "p-",
        "1.2.840.10045.",
    ];
    if rsa.iter().any(|p| k.starts_with(p)) {
        Some(KeyFamily::Rsa)
    } else if ec.iter().any(|p| k.starts_with(p)) {
        Some(KeyFamily::Ecdsa)
    } else {
        None
    }
}

/// Takes the certificate's own fields from the PEM in the row; the PEM wins.
/// The certificate cell, and the chain cell beside it if any: the certificate is the
/// first; the others (a full chain in either cell) may hold its issuer.
fn apply_pem(rec: &mut Record, pem_text: &str, chain: Option<&str>) -> Result<(), String> {
    let text = certificate_text(pem_text);
    let parsed =
        pem::parse(text.as_bytes()).map_err(|e| format!("certificate PEM does not parse: {e}"))?;
    apply_der(rec, parsed.contents())?;
    // Only a help for DANE's advice: what does not parse here is no error of the record's.
    let mut others: Vec<Vec<u8>> = pem_certificates(&text).unwrap_or_default();
    if let Some(c) = chain {
        others.extend(pem_certificates(&certificate_text(c)).unwrap_or_default());
    }
    rec.issuer_spki_sha256 = issuer_key(parsed.contents(), &others);
    Ok(())
}

/// The certificates (DER) of a PEM text, other blocks (a key) left out.
fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, pem::PemError> {
    Ok(pem::parse_many(text.as_bytes())?
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect())
}

/// SHA-256 of the key of the certificate among `others` that issued `leaf`: its subject is
/// the leaf's issuer, and its key the one the leaf names as its authority's (a CA renewed
/// with a new key keeps its name); without key identifiers to compare, its key verifies
/// the leaf's signature (a check per record that the identifiers spare large inventories).
fn issuer_key(leaf: &[u8], others: &[Vec<u8>]) -> Option<Box<[u8; 32]>> {
    let (_, leaf) = x509_parser::parse_x509_certificate(leaf).ok()?;
    let authority = crate::cert::authority_key_id(&leaf);
    others.iter().find_map(|der| {
        let (_, ca) = x509_parser::parse_x509_certificate(der).ok()?;
        let named = ca.subject().as_raw() == leaf.issuer().as_raw();
        let issued = named
            && match (authority, crate::cert::subject_key_id(&ca)) {
                (Some(a), Some(s)) => a == s,
                _ => leaf.verify_signature(Some(ca.public_key())).is_ok(),
            };
        issued.then(|| {
            let digest = ring::digest::digest(&ring::digest::SHA256, ca.public_key().raw);
            <[u8; 32]>::try_from(digest.as_ref()).ok().map(Box::new)
        })?
    })
}

/// A certificate cell as PEM text, however the export carries it: PEM (with its line breaks
/// written `\n` in a one-line cell), base64 of the PEM text (a Kubernetes secret's
/// `tls.crt`, values kept base64 by their API), or base64 of the DER (Azure Key Vault's
/// `cer`, a PEM body without its lines around it). What none of these reads is given back
/// as it is, for the PEM parser's error.
fn certificate_text(cell: &str) -> String {
    let text = cell.replace("\\n", "\n");
    if text.contains("-----BEGIN") {
        return text;
    }
    use base64::Engine as _;
    let compact: String = text.split_whitespace().collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(compact.as_bytes()));
    let Ok(bytes) = decoded else {
        return text;
    };
    if let Ok(pem_text) = std::str::from_utf8(&bytes) {
        if pem_text.contains("-----BEGIN") {
            return pem_text.to_string();
        }
    }
    match x509_parser::parse_x509_certificate(&bytes) {
        Ok(_) => pem_of(vec![bytes]),
        Err(_) => text,
    }
}

/// A chain without a separate certificate field: its leaf is the certificate that issued
/// none of the others (download outputs order chains either way).
fn apply_chain_pem(rec: &mut Record, pem_text: &str) -> Result<(), String> {
    let text = certificate_text(pem_text);
    let certs = pem_certificates(&text).map_err(|e| format!("chain PEM does not parse: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the chain (PEM, or base64 of PEM or DER)".into());
    }
    let parsed: Vec<_> = certs
        .iter()
        .map(|d| x509_parser::parse_x509_certificate(d).map(|(_, c)| c))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a certificate in the chain does not parse: {e}"))?;
    let leaf = (0..parsed.len()).find(|&i| {
        !parsed
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.issuer().as_raw() == parsed[i].subject().as_raw())
    });
    let i = leaf.ok_or("no end-entity certificate in the chain")?;
    apply_der(rec, &certs[i])?;
    rec.issuer_spki_sha256 = issuer_key(&certs[i], &certs);
    Ok(())
}

fn apply_der(rec: &mut Record, der: &[u8]) -> Result<(), String> {
    let info = crate::cert::cert_info(der).map_err(|e| e.to_string())?;
    rec.serial = Some(super::serial::Serial {
        canonical: info.serial.clone(),
        alternative: None,
    });
    rec.not_before = Some(When {
        unix: info.not_before_unix,
        date_only: false,
    });
    rec.not_after = Some(When {
        unix: info.not_after_unix,
        date_only: false,
    });
    if let Some(cn) = &info.subject_cn {
        rec.cn = Some(cn.to_ascii_lowercase().into());
    }
    if !info.sans.is_empty() {
        rec.sans = info.sans.clone();
    }
    rec.issuer = Some(info.issuer_cn.as_deref().unwrap_or(&info.issuer).into());
    rec.sha1 = Some(info.sha1.as_str().into());
    rec.sha256 = Some(info.sha256.as_str().into());
    rec.spki_sha256 = data_encoding::HEXLOWER
        .decode(info.spki_sha256.as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Box::new);
    rec.key_family = crate::model::KeyFamily::of_key_type(&info.key_type);
    rec.extended_key_usage = info.extended_key_usage;
    rec.from_pem = true;
    Ok(())
}

/// A private CA's database listing two client certificates (a person, a mailbox) beside a
/// server's (`vpn.x.com`), read: for the tests of what records name.
#[cfg(test)]
pub(crate) fn clients_beside_a_server() -> Loaded {
    let mut out = Loaded::default();
    load_bytes(
        "index.txt",
        b"V\t271120000000Z\t\t01\tunknown\t/CN=John Doe/emailAddress=jd@x.com\n\
          V\t271120000000Z\t\t02\tunknown\t/CN=alice@x.com\n\
          V\t271120000000Z\t\t03\tunknown\t/CN=vpn.x.com\n",
        &ReadOptions::default(),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &[u8]) -> Loaded {
        let mut out = Loaded::default();
        load_bytes(name, text, &ReadOptions::default(), &mut out);
        out
    }

    /// [`load`] with the PKCS#12 password the environment would give.
    fn load_with_password(name: &str, bytes: &[u8], password: Option<&str>) -> Loaded {
        let opts = ReadOptions {
            pkcs12_password: password.map(|p| crate::stores::Password(p.into())),
            ..ReadOptions::default()
        };
        let mut out = Loaded::default();
        load_bytes(name, bytes, &opts, &mut out);
        out
    }

    /// The canonical serials of the records read, in their order.
    fn serials(out: &Loaded) -> Vec<&str> {
        out.records
            .iter()
            .filter_map(|r| r.serial.as_ref().map(|s| s.canonical.as_str()))
            .collect()
    }

    #[test]
    fn a_name_cell_listing_several_names_gives_each_of_them() {
        let out = load(
            "m.csv",
            b"Certificate ID,Common Name,SANs,Serial Number,Valid To\n\
              A,\"a.example.com, b.example.com\",,0A,2027-01-01\n\
              B,a.example.com; c.example.com,c.example.com;d.example.com,0B,2027-01-01\n\
              C,\"CN=www.example.com, O=Acme\",,0C,2027-01-01\n\
              D,\"O=Acme, C=US\",,0D,2027-01-01\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let names = |i: usize| {
            let r = &out.records[i];
            (r.cn.as_deref().map(str::to_string), r.sans.join(" "))
        };
        assert_eq!(
            names(0),
            (
                Some("a.example.com".into()),
                "a.example.com b.example.com".into()
            )
        );
        assert_eq!(
            names(1),
            (
                Some("a.example.com".into()),
                "c.example.com d.example.com a.example.com".into()
            )
        );
        assert_eq!(names(2), (Some("www.example.com".into()), String::new()));
        // A distinguished name without a CN stays what it was.
        assert_eq!(names(3).1, "");
    }

    #[test]
    fn a_workbook_cut_short_keeps_its_records_and_is_told_as_not_read_whole() {
        use std::io::{Cursor, Write};
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["Common Name", "Serial Number"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for r in 1..=40u32 {
            sheet.write_string(r, 0, format!("h{r}.example")).unwrap();
            sheet.write_string(r, 1, format!("{r:X}")).unwrap();
        }
        let whole = book.save_to_buffer().unwrap();
        // The same workbook with its sheet's XML cut inside row 31 (a copy that stopped).
        let mut from = zip::ZipArchive::new(Cursor::new(whole)).unwrap();
        let mut to = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..from.len() {
            let mut entry = from.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let text = String::from_utf8(data).unwrap();
                let cut = text.find("<row r=\"31\"").unwrap() + 20;
                data = text.as_bytes()[..cut].to_vec();
            }
            to.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            to.write_all(&data).unwrap();
        }
        let cut = to.finish().unwrap().into_inner();
        let mut out = Loaded::default();
        load_bytes("cut.xlsx", &cut, &ReadOptions::default(), &mut out);
        // Rows 2-29: row 30 is not taken, as a row is known whole only once the next begins.
        assert_eq!(out.records.len(), 28, "{:?}", out.errors);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(
            out.errors[0]
                .to_string()
                .starts_with("cut.xlsx: sheet Sheet1: "),
            "{}",
            out.errors[0]
        );
        assert_eq!(out.unread.len(), 1, "{:?}", out.unread);
    }

    #[test]
    fn an_excel_export_is_read_by_the_rows_the_spreadsheet_shows() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let date_only = Format::new().set_num_format("dd.mm.yyyy");
        let stamp = Format::new().set_num_format("dd.mm.yyyy hh:mm");
        // A title and a blank row above the header, as "Export to Excel" writes them.
        sheet
            .write_string(0, 0, "Certificate inventory, exported 2026-11-30")
            .unwrap();
        for (c, h) in [
            "Certificate ID",
            "Common Name",
            "Serial Number",
            "Valid To",
            "Status",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(2, c as u16, *h).unwrap();
        }
        let date = ExcelDateTime::from_ymd(2027, 1, 2).unwrap();
        let at = ExcelDateTime::from_ymd(2027, 3, 4)
            .unwrap()
            .and_hms(5, 6, 7)
            .unwrap();
        // Row 4: text serial, date cell; row 5: a serial typed as a number, a date and time;
        // row 6: blank; row 7: a long serial the workbook rounded.
        sheet.write_string(3, 0, "C-1").unwrap();
        sheet.write_string(3, 1, "a.example").unwrap();
        sheet.write_string(3, 2, "0A").unwrap();
        sheet
            .write_datetime_with_format(3, 3, &date, &date_only)
            .unwrap();
        sheet.write_string(3, 4, "Issued").unwrap();
        sheet.write_string(4, 0, "C-2").unwrap();
        sheet.write_string(4, 1, "b.example").unwrap();
        sheet.write_number(4, 2, 1234).unwrap();
        sheet.write_datetime_with_format(4, 3, &at, &stamp).unwrap();
        sheet.write_string(4, 4, "Issued").unwrap();
        sheet.write_string(6, 0, "C-3").unwrap();
        sheet.write_string(6, 1, "c.example").unwrap();
        sheet
            .write_number(6, 2, 1.059_041_285_977_560_9e36)
            .unwrap();
        sheet
            .write_datetime_with_format(6, 3, &date, &date_only)
            .unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let out = load("inv.xlsx", &bytes);
        let got: Vec<(&str, String, i64, bool)> = out
            .records
            .iter()
            .map(|r| {
                let na = r.not_after.unwrap();
                (
                    &*r.record_id,
                    r.serial_hex().unwrap_or("").to_string(),
                    na.unix,
                    na.date_only,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("C-1", "A".to_string(), day("2027-01-02"), true),
                // 1234 as written, read as the export's serials are (hex unless it says).
                (
                    "C-2",
                    "1234".to_string(),
                    day("2027-03-04") + 5 * 3600 + 6 * 60 + 7,
                    false
                ),
            ]
        );
        assert_eq!(out.records[0].line, 4);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(
            (out.errors[0].line, out.errors[0].field.as_deref()),
            (7, Some("Serial Number"))
        );
        assert!(
            out.errors[0].reason.contains("rounded"),
            "{}",
            out.errors[0]
        );
        // Through a path too, and a workbook naming no serial column is told so.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.xlsx");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            load_files(&[&path], &ReadOptions::default()).records,
            load(&path.display().to_string(), &bytes).records
        );
        let mut other = Workbook::new();
        other
            .add_worksheet()
            .write_string(0, 0, "Hostname")
            .unwrap();
        let out = load("none.xlsx", &other.save_to_buffer().unwrap());
        assert!(out.records.is_empty());
        assert!(
            out.errors[0]
                .reason
                .contains("no serial or fingerprint column"),
            "{}",
            out.errors[0]
        );
        let out = load("broken.xlsx", b"PK\x03\x04 not really");
        assert!(
            out.errors[0].reason.contains("no readable workbook"),
            "{}",
            out.errors[0]
        );
    }

    #[test]
    fn a_control_character_in_a_read_cell_is_a_bad_row() {
        // A name with a NUL matched nothing and came out raw in the records report; an
        // unread column (Notes) may hold anything.
        let text = b"Certificate ID,Common Name,Serial Number,Valid To,Notes\n\
                     C-1,d\x00.test,0B,2027-01-01,\n\
                     C-2,e.test,0C,2027-01-01,bell \x07\n";
        let out = load("inv.csv", text);
        let ids: Vec<&str> = out.records.iter().map(|r| &*r.record_id).collect();
        assert_eq!(ids, ["C-2"]);
        assert_eq!(
            out.errors[0].to_string(),
            "inv.csv:2: field Common Name: value \"d\\0.test\" holds the control character U+0000: export the file as text (UTF-8)"
        );
    }

    #[test]
    fn a_quote_never_closed_is_a_bad_row_not_a_record_of_the_rows_after_it() {
        // The csv reader took rows 3-4 as part of the Common Name cell of row 2, without an
        // error: one record named "a.test,0b,2027-01-01 c.test,0c,2027-01-01".
        let text = "Certificate ID,Common Name,Serial Number,Valid To\n\
                    C-0,z.test,0A,2027-01-01\n\
                    C-1,\"a.test,0B,2027-01-01\n\
                    C-2,b.test,0C,2027-01-01\n\
                    C-3,c.test,0D,2027-01-01\n";
        let out = load("inv.csv", text.as_bytes());
        let ids: Vec<&str> = out.records.iter().map(|r| &*r.record_id).collect();
        assert_eq!(ids, ["C-0"]);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(
            out.errors[0].to_string(),
            "inv.csv:3: a quote (\") opened on this line is never closed: lines 4-5 were read as part of one cell, so their rows were not read; close it (a quote inside a quoted cell is written twice, \"\")"
        );
        // In the header: nothing is read.
        let out = load("inv.csv", b"Certificate ID,\"Serial\nC-1,0A\n");
        assert!(out.records.is_empty());
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].line, 1);
    }

    #[test]
    fn a_serial_written_as_a_json_number_keeps_every_digit() {
        // Smallstep-style decimal serials, or an export made with jq's tonumber: as a
        // double the 37 digits lost their last 20 (the row was refused, quoting
        // "1.0590412859775609e+36").
        let j = r#"[{"serialNumber": 1059041285977560915727303152512546186,
                      "notAfter": "2027-01-01", "commonName": "a.x.com"}]"#;
        let out = load("inv.json", j.as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let s = out.records[0].serial.as_ref().expect("a serial");
        assert_eq!(
            s.alternative.as_deref(),
            Some("CBF6C447C5DD7069619AE762F4358A"),
            "the decimal reading is the certificate's serial"
        );
    }

    #[test]
    fn internationalised_names_and_endpoints_become_a_labels() {
        assert_eq!(dns_name(" BÜCHER.Example. "), "xn--bcher-kva.example");
        assert_eq!(dns_name("*.bücher.example"), "*.xn--bcher-kva.example");
        assert_eq!(
            dns_name("bücher.example:8443"),
            "xn--bcher-kva.example:8443"
        );
        assert_eq!(dns_name("WWW.Example.COM."), "www.example.com");
        // What IDNA refuses stays as written, for the row's own checks to name.
        assert_eq!(dns_name("Bücher.xn--a.example"), "bücher.xn--a.example");
        let mut out = Loaded::default();
        let csv = "Serial,Valid To,Common Name,SANs,Deployment Endpoints\n\
                   01,2027-01-01,CN=Bücher.example,bücher.example;www.bücher.example,www.bücher.example:8443\n";
        load_bytes("inv.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let r = &out.records[0];
        assert_eq!(r.cn.as_deref(), Some("xn--bcher-kva.example"));
        assert_eq!(
            r.sans,
            ["xn--bcher-kva.example", "www.xn--bcher-kva.example"]
        );
        assert_eq!(r.targets, ["www.xn--bcher-kva.example:8443"]);
    }

    /// What the generated exports are checked by: each record's serial, expiry, names
    /// (sorted) and status. A decimal serial outside CERTInext reads both ways (its expiry
    /// settles which when a certificate is seen): with `decimal`, the decimal reading, the
    /// other one.
    fn read_back(out: &Loaded, decimal: bool) -> Vec<(String, i64, Vec<String>, RecordStatus)> {
        out.records
            .iter()
            .map(|r| {
                let mut names = r.names();
                names.sort();
                let serial = r.serial.as_ref().map(|s| match (&s.alternative, decimal) {
                    (Some(alt), true) => alt.clone(),
                    _ => s.canonical.clone(),
                });
                (
                    serial.unwrap_or_default(),
                    r.not_after.map(|w| w.unix).unwrap_or_default(),
                    names,
                    r.status,
                )
            })
            .collect()
    }

    #[test]
    fn generated_exports_read_back_to_the_records_they_were_written_from() {
        // Records written as spreadsheets and platforms write them (header aliases in any
        // order, commas, semicolons or tabs, quoting, any supported date writing, slash dates
        // either way with the file's order settled by its first row, UTF-8 with or without a
        // byte order mark, UTF-16) must read back to the same serial, expiry,
        // names and status.
        use time::format_description::well_known::{Rfc2822, Rfc3339};
        use time::macros::format_description;
        let mut rng = crate::testrng::XorShift::new(0x9E37_79B9_7F4A_7C15u64);
        let mut next = |n: u64| rng.below(n);
        let serial_h = [
            "Serial Number",
            "serial",
            "SerialNumber",
            "Certificate Serial Number",
        ];
        let expiry_h = [
            "Valid To",
            "Expiry Date",
            "NotAfter",
            "Expires",
            "Valid Until",
            "Expires On",
        ];
        let names_h = [
            "SANs",
            "Subject Alternative Names",
            "DNS Names",
            "DnsNameList",
        ];
        let status_h = ["Status", "Certificate Status", "Cert State"];
        let words = [
            ("Issued", RecordStatus::Issued),
            ("Active", RecordStatus::Issued),
            ("In Use", RecordStatus::Issued),
            ("Revoked", RecordStatus::Revoked),
            ("Expired", RecordStatus::Expired),
            ("Pending for Approver", RecordStatus::Pending),
            ("Superseded", RecordStatus::Superseded),
            ("Cancelled", RecordStatus::Cancelled),
        ];
        for round in 0..400 {
            let delimiter = [',', ';', '\t'][next(3) as usize];
            let columns = [
                serial_h[next(4) as usize],
                expiry_h[next(6) as usize],
                names_h[next(4) as usize],
                status_h[next(3) as usize],
            ];
            // Columns in any order.
            let mut order = [0usize, 1, 2, 3];
            for k in (1..4).rev() {
                order.swap(k, next(k as u64 + 1) as usize);
            }
            // Quoted when it must be, and now and then when it need not.
            let quote = |v: &str, anyway: bool| {
                if v.contains([delimiter, '"', ',', '\n']) || anyway {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            };
            let header: Vec<String> = order.iter().map(|&c| columns[c].to_string()).collect();
            let mut text = header.join(&delimiter.to_string()) + "\n";
            // One date writing per file, as an export has.
            let writing = next(9);
            let mut want = Vec::new();
            for row in 0..1 + next(6) {
                let serial: String = (0..8 + next(12))
                    .map(|_| format!("{:02X}", 1 + next(255)))
                    .collect();
                let mut at = 1_780_000_000 + next(900 * 86_400) as i64;
                let mut t = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
                // Slash dates read both ways until a day over 12 settles the file's order:
                // the first row has one.
                if row == 0 && writing >= 7 && t.day() <= 12 {
                    at += i64::from(13 - t.day()) * 86_400;
                    t = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
                }
                let day = at - at.rem_euclid(86_400);
                let (date, unix) = match writing {
                    0 => (t.format(&Rfc3339).unwrap(), at),
                    1 => (t.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).unwrap(), at),
                    2 => (t.format(format_description!("[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT")).unwrap(), at),
                    3 => (t.format(&Rfc2822).unwrap(), at),
                    4 => (t.format(format_description!("[day].[month].[year]")).unwrap(), day),
                    5 => (t.format(format_description!("[day padding:none]-[month repr:short]-[year]")).unwrap(), day),
                    6 => (t.format(format_description!("[year]/[month]/[day] [hour]:[minute]")).unwrap(), at - at.rem_euclid(60)),
                    // A UK or Indian spreadsheet, and a US one with a 12-hour time.
                    7 => (t.format(format_description!("[day]/[month]/[year] [hour]:[minute]")).unwrap(), at - at.rem_euclid(60)),
                    _ => (t.format(format_description!("[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]")).unwrap(), at),
                };
                let names: Vec<String> = (0..1 + next(3))
                    .map(|k| format!("h{round}-{row}-{k}.example.com"))
                    .collect();
                let names_cell = match next(3) {
                    0 => names.join(";"),
                    1 => names.join(", "),
                    _ => format!("{{{}}}", names.join(", ")),
                };
                let (word, status) = words[next(words.len() as u64) as usize];
                let cells = [serial.clone(), date, names_cell, word.to_string()];
                let anyway: Vec<bool> = (0..4).map(|_| next(4) == 0).collect();
                let line: Vec<String> =
                    order.iter().map(|&c| quote(&cells[c], anyway[c])).collect();
                text.push_str(&(line.join(&delimiter.to_string()) + "\n"));
                let mut sorted = names.clone();
                sorted.sort();
                want.push((
                    serial.trim_start_matches('0').to_string(),
                    unix,
                    sorted,
                    status,
                ));
            }
            let bytes: Vec<u8> = match next(3) {
                0 => text.clone().into_bytes(),
                1 => [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
                _ => {
                    let mut b = vec![0xFF, 0xFE];
                    for u in text.encode_utf16() {
                        b.extend(u.to_le_bytes());
                    }
                    b
                }
            };
            let out = load("gen.csv", &bytes);
            assert!(
                out.errors.is_empty(),
                "round {round}: {:?}\n{text}",
                out.errors
            );
            let got = read_back(&out, false);
            assert_eq!(got, want, "round {round}\n{text}");
        }
    }

    #[test]
    fn generated_json_exports_read_back_to_the_records_they_were_written_from() {
        // Records written as platforms' APIs return them (a plain array, a page's
        // `content`, JSON lines; field names of several platforms, the certificate's facts
        // nested in an object or not, names as an array or a list in a string, serials as
        // hex or a decimal number, expiries as ISO text or epoch seconds) must read back to
        // the same serial, expiry, names and status.
        use time::format_description::well_known::Rfc3339;
        let mut rng = crate::testrng::XorShift::new(0x2545_F491_4F6C_DD1Du64);
        let mut next = |n: u64| rng.below(n);
        let serial_k = [
            "serialNumber",
            "certificateSerialNumber",
            "Serial",
            "serial_number",
        ];
        let expiry_k = [
            "notAfter",
            "validityEnd",
            "expiresAt",
            "ValidTo",
            "valid_till",
        ];
        let names_k = ["SANs", "subjectAlternativeNames", "dnsNames", "DnsNameList"];
        let words = [
            ("Issued", RecordStatus::Issued),
            ("Certificate Downloaded", RecordStatus::Issued),
            ("ACTIVE", RecordStatus::Issued),
            ("Revoked", RecordStatus::Revoked),
            ("EXPIRED", RecordStatus::Expired),
            ("Pending for Approver", RecordStatus::Pending),
        ];
        let quoted = |v: &str| serde_json::Value::String(v.to_string()).to_string();
        for round in 0..400 {
            let keys = (
                serial_k[next(4) as usize],
                expiry_k[next(5) as usize],
                names_k[next(4) as usize],
            );
            // The certificate's facts under an object of their own, as Venafi's and ACM's.
            let nested = next(3) == 0;
            let decimal = next(3) == 0;
            let epoch = next(3) == 0;
            let mut objects = Vec::new();
            let mut want = Vec::new();
            for row in 0..1 + next(6) {
                let value: u128 = (u128::from(next(u64::MAX)) << 32) | u128::from(next(1 << 32));
                let value = value.max(1 << 70);
                let serial = if decimal {
                    value.to_string()
                } else {
                    format!("\"{value:X}\"")
                };
                let at = 1_780_000_000 + next(900 * 86_400) as i64;
                let t = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
                let expiry = if epoch {
                    at.to_string()
                } else {
                    quoted(&t.format(&Rfc3339).unwrap())
                };
                let names: Vec<String> = (0..1 + next(3))
                    .map(|k| format!("h{round}-{row}-{k}.example.com"))
                    .collect();
                let names_v = match next(2) {
                    0 => format!(
                        "[{}]",
                        names
                            .iter()
                            .map(|n| quoted(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => quoted(&names.join(";")),
                };
                let (word, status) = words[next(words.len() as u64) as usize];
                let facts = format!(
                    "\"{}\": {serial}, \"{}\": {expiry}, \"{}\": {names_v}",
                    keys.0, keys.1, keys.2
                );
                objects.push(match nested {
                    true => format!(
                        "{{\"id\": \"r{row}\", \"status\": {}, \"CertificateDetails\": {{{facts}}}}}",
                        quoted(word)
                    ),
                    false => format!("{{\"id\": \"r{row}\", \"status\": {}, {facts}}}", quoted(word)),
                });
                let mut sorted = names.clone();
                sorted.sort();
                want.push((format!("{value:X}"), at, sorted, status));
            }
            let text = match next(3) {
                0 => format!("[\n{}\n]", objects.join(",\n")),
                1 => format!(
                    "{{\"content\": [\n{}\n], \"page\": 1, \"totalPages\": 1}}",
                    objects.join(",\n")
                ),
                _ => objects.join("\n") + "\n",
            };
            let out = load("gen.json", text.as_bytes());
            assert!(
                out.errors.is_empty(),
                "round {round}: {:?}\n{text}",
                out.errors
            );
            let got = read_back(&out, decimal);
            assert_eq!(got, want, "round {round}\n{text}");
        }
    }

    #[test]
    fn windows_ca_and_powershell_exports_are_read() {
        // certutil -view csv on a Windows CA (a few of its columns).
        let out = load(
            "ca.csv",
            b"Request Disposition,Serial Number,Certificate Effective Date,Certificate Expiration Date,Issued Distinguished Name,Certificate Hash\n\
              20 -- Issued,61000000a1,2026-01-05 10:00,2027-01-05 10:00,\"CN=intranet.corp.example, OU=IT, O=Acme\",a1 b2 c3 d4 e5 f6 a1 b2 c3 d4 e5 f6 a1 b2 c3 d4 e5 f6 a1 b2\n\
              21 -- Revoked,61000000a2,2026-01-05 10:00,2027-01-05 10:00,\"CN=old.corp.example, O=Acme\",\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let r = &out.records[0];
        assert_eq!(r.status, RecordStatus::Issued);
        assert_eq!(r.cn.as_deref(), Some("intranet.corp.example"));
        assert_eq!(r.not_after.map(|w| w.unix), Some(1_799_143_200));
        assert_eq!(r.not_before.map(|w| w.unix), Some(1_767_607_200));
        assert_eq!(
            r.sha1.as_deref(),
            Some("A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4E5F6A1B2")
        );
        assert_eq!(out.records[1].status, RecordStatus::Revoked);
        // PowerShell's certificate provider (Get-ChildItem Cert:\ | Export-Csv).
        let out = load(
            "ps.csv",
            b"Subject,SerialNumber,NotAfter,Thumbprint,DnsNameList\n\
              \"CN=www.example.com, O=Acme\",0A0B,2027-01-05T10:00:00Z,A1B2,\"{www.example.com, example.com}\"\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let r = &out.records[0];
        assert_eq!(r.cn.as_deref(), Some("www.example.com"));
        assert_eq!(r.names(), ["example.com", "www.example.com"]);
        // certutil's SAN writing.
        assert_eq!(
            names_list("DNS Name=www.x.com, DNS Name=x.com"),
            ["www.x.com", "x.com"]
        );
        // With addresses and other kinds of name, as certutil and OpenSSL write them: the
        // addresses kept (as targets write them), the rest left out.
        for (list, want) in [
            (
                "DNS Name=www.x.com, IP Address=10.0.0.5",
                &["www.x.com", "10.0.0.5"][..],
            ),
            (
                "DNS:www.x.com, IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:5",
                &["www.x.com", "10.0.0.5", "2001:db8::5"],
            ),
            (
                "DNS:www.x.com, email:a@x.com, URI:https://x.com/, othername: UPN::a@x.com",
                &["www.x.com"],
            ),
            (
                "DNS Name=www.x.com\nRFC822 Name=admin@x.com\nURL=https://x.com\nOther Name:Principal Name=a@x.com",
                &["www.x.com"],
            ),
            ("IP:10.0.0.5", &["10.0.0.5"]),
            ("www.x.com 2001:DB8::7;x.com", &["www.x.com", "2001:db8::7", "x.com"]),
        ] {
            assert_eq!(names_list(list), want, "{list}");
        }
        assert_eq!(cn_of("/C=US/O=Acme/CN=old.example.com"), "old.example.com");
        assert_eq!(cn_of("www.example.com"), "www.example.com");
        assert_eq!(
            cn_of("O=\"Acme, Inc.\", CN=\"www.example.com\", C=US"),
            "www.example.com"
        );
        assert_eq!(
            cn_of("subject=CN = www.example.com, O = Acme"),
            "www.example.com"
        );
    }

    #[test]
    fn generated_name_lists_read_back_to_their_names_and_addresses() {
        let mut rng = crate::testrng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: u64| rng.below(n);
        for round in 0..3_000u32 {
            // (written, read): a name in any letter case, an address in any writing.
            let mut entries: Vec<(String, Option<String>)> = Vec::new();
            for _ in 0..1 + next(6) {
                let label = format!("h{}", next(1000));
                let entry = match next(7) {
                    0 => (
                        format!("{label}.Example.COM"),
                        Some(format!("{label}.example.com")),
                    ),
                    1 => (format!("*.{label}.x.org"), Some(format!("*.{label}.x.org"))),
                    2 => {
                        let ip = format!("10.{}.{}.{}", next(256), next(256), next(256));
                        (ip.clone(), Some(ip))
                    }
                    3 => {
                        let g = next(0xffff) + 1;
                        (
                            format!("2001:DB8:0:0:0:0:0:{g:X}"),
                            Some(format!("2001:db8::{g:x}")),
                        )
                    }
                    4 => (format!("admin@{label}.x.org"), None),
                    5 => (format!("https://{label}.x.org/p"), None),
                    _ => (format!("bücher{}.example", next(10)), None),
                };
                entries.push(entry);
            }
            let style = next(4);
            let mut want = Vec::new();
            let written: Vec<String> = entries
                .iter()
                .filter_map(|(w, read)| {
                    let is_ip = w.parse::<std::net::IpAddr>().is_ok();
                    let (dns, ip, mail, uri) = match style {
                        0 => ("DNS:", "IP Address:", "email:", "URI:"),
                        1 => ("DNS Name=", "IP Address=", "RFC822 Name=", "URL="),
                        _ => ("", "", "", ""),
                    };
                    let label = if w.contains('@') {
                        mail
                    } else if w.contains("://") {
                        uri
                    } else if is_ip {
                        ip
                    } else {
                        dns
                    };
                    // Unlabelled lists hold names and addresses only.
                    if label.is_empty() && read.is_none() && !w.starts_with("bücher") {
                        return None;
                    }
                    match read {
                        Some(r) => want.push(r.clone()),
                        None if w.starts_with("bücher") => want.push(dns_name(w)),
                        None => {}
                    }
                    Some(format!("{label}{w}"))
                })
                .collect();
            let sep = [", ", ";", " | ", "\n"][next(4) as usize];
            let mut list = written.join(sep);
            if style == 3 {
                list = format!("{{{}}}", written.join(", "));
            }
            assert_eq!(names_list(&list), want, "round {round}: {list:?}");
        }
    }

    #[test]
    fn certinext_page_object() {
        let json = r#"{"content":[
          {"orderNumber":"ORD1","requestNumber":"REQ1","domainName":"shop.example.com",
           "certificateSerialNumber":"1059041285977560915727303152512546186",
           "certificateExpiryDate":"2026-07-28 10:07:06","certificateStatus":"Certificate Downloaded",
           "orderStatus":"Order Fulfilled","issuerCA":"emSign SSL CA - G1","orderDate":"2025-07-28 09:00:00",
           "groupNumber":"G1","productCode":"DV","tags":["web","prod"]},
          {"orderNumber":"","requestNumber":"REQ2","domainName":"new.example.com",
           "certificateSerialNumber":"","certificateExpiryDate":"","certificateStatus":"Pending for Approver"}
        ],"page":1,"size":100,"totalElements":2,"totalPages":1}"#;
        let l = load("orders.json", json.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.records.len(), 2);
        let r = &l.records[0];
        assert_eq!(
            r.serial.as_ref().unwrap().canonical,
            "CBF6C447C5DD7069619AE762F4358A"
        );
        assert_eq!(r.status, RecordStatus::Issued);
        assert_eq!(r.cn.as_deref(), Some("shop.example.com"));
        assert_eq!(&*r.record_id, "ORD1");
        assert_eq!(r.not_after.unwrap().unix, 1_785_233_226);
        assert_eq!(l.records[1].status, RecordStatus::Pending);
        assert!(l.records[1].serial.is_none());
        assert_eq!(&*l.records[1].record_id, "REQ2");
    }

    #[test]
    fn missing_and_repeated_pages_of_a_paged_export_are_told() {
        let page = |n: u64, of: u64| {
            format!(
                r#"{{"content": [{{"orderNumber": "O{n}", "certificateSerialNumber": "{}",
                    "certificateExpiryDate": "2027-01-01", "domainName": "h{n}.example"}}],
                    "page": {n}, "size": 1, "totalElements": {of}, "totalPages": {of}}}"#,
                n + 10
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let (p1, p2, p4, p5) = (
            file("p1.json", &page(1, 5)),
            file("p2.json", &page(2, 5)),
            file("p4.json", &page(4, 5)),
            file("p5.json", &page(5, 5)),
        );
        let again = file("p6.json", &page(5, 5));
        let shown = |p: &std::path::Path| p.display().to_string();
        let w = load_files(&[&p1, &p2, &p4, &p5, &again], &ReadOptions::default()).warnings;
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with(&format!(
                "{}, {}, {}, {}, {} are pages of an export of 5 pages, 5 records: page 3 is not among",
                shown(&p1),
                shown(&p2),
                shown(&p4),
                shown(&p5),
                shown(&again)
            )),
            "{}",
            w[0]
        );
        assert!(
            w[1].starts_with(&format!(
                "page 5 of an export of 5 pages is given 2 times ({}, {})",
                shown(&p5),
                shown(&again)
            )),
            "{}",
            w[1]
        );
        let w = load_files(&[&p1], &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": pages 2-5 are not among the --inventory files (or pages 0, 2-4, if the export numbers its pages from 0);"),
            "{w:?}"
        );
        // Counted from 0 (Spring's `number`, or a page 0 among them) or shown to count from 1
        // (page 5 of 5 among them): one reading.
        let (p0, p3) = (file("p0.json", &page(0, 5)), file("p3.json", &page(3, 5)));
        let w = load_files(&[&p0, &p1, &p2, &p3], &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": page 4 is not among the --inventory files;"),
            "{w:?}"
        );
        let w = load_files(&[&p1, &p2, &p3, &p5], &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": page 4 is not among the --inventory files;"),
            "{w:?}"
        );
        let spring = |n: u64| page(n, 5).replace("\"page\"", "\"number\"");
        let springs: Vec<_> = (1..5)
            .map(|n| file(&format!("s{n}.json"), &spring(n)))
            .collect();
        let w = load_files(&springs, &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": page 0 is not among the --inventory files;"),
            "{w:?}"
        );
        let w = load_files(&[&p1, &p2, &p3], &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": pages 4-5 are not among the --inventory files (or pages 0, 4, if the export numbers its pages from 0);"),
            "{w:?}"
        );
        // Spring's `first` on page 1: counted from 1.
        let first = file(
            "f1.json",
            &page(1, 5).replace("\"size\"", "\"first\": true, \"size\""),
        );
        let w = load_files(&[&first, &p2, &p3], &ReadOptions::default()).warnings;
        assert!(
            w[0].contains(": pages 4-5 are not among the --inventory files;"),
            "{w:?}"
        );
        // Every page, or a lone page that is the whole export: nothing to say.
        assert!(
            load_files(&[&p1, &p2, &p3, &p4, &p5], &ReadOptions::default())
                .warnings
                .is_empty()
        );
        let whole = file("whole.json", &page(1, 1));
        assert!(load_files(&[&whole], &ReadOptions::default())
            .warnings
            .is_empty());
        // CERTInext's V1 report nests its paging with the orders; Spring counts from 0.
        let v1 = file(
            "v1.json",
            r#"{"orderDetails": {"noOfPages": 2, "totalNoOfResults": 150, "pageSize": 100, "currentPage": 1,
               "ordersArray": [{"orderNumber": "O1", "certificateSerialNumber": "10",
                                "certificateExpiryDate": "2027-01-01", "domainName": "a.example"}]}}"#,
        );
        let l = load_files(&[&v1], &ReadOptions::default());
        assert_eq!(l.records.len(), 1);
        assert!(
            l.warnings[0].contains("export of 2 pages, 150 records: page 2 is not among"),
            "{:?}",
            l.warnings
        );
        let zero = file(
            "zero.json",
            &page(0, 2).replace("\"page\": 0", "\"number\": 0"),
        );
        let w = load_files(&[&zero], &ReadOptions::default()).warnings;
        assert!(w[0].contains(": page 1 is not among"), "{w:?}");
        assert_eq!(ranges(&[1, 3, 4, 5, 9]), "1, 3-5, 9");
        // Venafi counts the records of a search, not its pages.
        let counted = |name: &str, serial: &str, count: u64| {
            file(
                name,
                &format!(
                    r#"{{"count": {count}, "certificates": [{{"serialNumber": "{serial}",
                       "validityEnd": "2027-01-01T00:00:00.000+00:00",
                       "subjectAlternativeNamesByType": {{"dNSName": ["v{serial}.example"]}}}}]}}"#
                ),
            )
        };
        let (a, b) = (counted("va.json", "0A", 3), counted("vb.json", "0B", 3));
        let w = load_files(&[&a, &b], &ReadOptions::default()).warnings;
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with(&format!(
                "{}, {} hold 2 of the 3 records the export counts",
                shown(&a),
                shown(&b)
            )),
            "{w:?}"
        );
        let c = counted("vc.json", "0C", 3);
        assert!(load_files(&[&a, &b, &c], &ReadOptions::default())
            .warnings
            .is_empty());
        let whole = counted("vwhole.json", "0D", 1);
        assert!(load_files(&[&whole], &ReadOptions::default())
            .warnings
            .is_empty());
    }

    #[test]
    fn json_errors_name_the_file_line_of_the_record() {
        // Record 2 of a pretty-printed page begins on line 5: that is where a person looks.
        let page = "{\"content\": [\n\
            {\"orderNumber\": \"A\", \"domainName\": \"a.example\",\n\
             \"certificateSerialNumber\": \"255\", \"certificateExpiryDate\": \"2026-01-01\"},\n\
            \n\
            {\"orderNumber\": \"B\", \"domainName\": \"b.example\",\n\
             \"certificateSerialNumber\": \"12Z\", \"certificateExpiryDate\": \"2026-01-01\"}\n\
            ]}\n";
        let l = load("page.json", page.as_bytes());
        assert_eq!(l.records.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors[0].line, 5, "{}", l.errors[0]);
        // The same in a top-level array.
        let array = format!("[\n{}", &page[page.find('{').map_or(0, |i| i + 14)..]);
        let array = array.replace("]}", "]");
        let l = load("array.json", array.as_bytes());
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors[0].line, 5, "{}", l.errors[0]);
    }

    #[test]
    fn a_broken_json_document_is_one_error_where_it_breaks() {
        // Used to be one error per line (each line tried as a JSON line), all at "line 1".
        let doc =
            "{\"content\": [\n  {\"orderNumber\": \"A\",\n   \"domainName\" \"a.example\"}\n]}\n";
        let l = load("broken.json", doc.as_bytes());
        assert!(l.records.is_empty());
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors[0].line, 3);
        assert!(
            l.errors[0]
                .reason
                .starts_with("not valid JSON at column 17: expected `:`"),
            "{}",
            l.errors[0]
        );
        // JSON lines: the broken line is named with its column, the others are read.
        let jl = "{\"orderNumber\":\"A\",\"domainName\":\"x.example\",\"certificateSerialNumber\":\"255\"}\n\
                  {\"orderNumber\":\"B\",\"domainName\" \"y.example\"}\n\
                  {\"orderNumber\":\"C\",\"domainName\":\"z.example\",\"certificateSerialNumber\":\"256\"}\n";
        let l = load("orders.jsonl", jl.as_bytes());
        assert_eq!(l.records.len(), 2);
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors[0].line, 2);
        assert!(l.errors[0].reason.contains("column 33"), "{}", l.errors[0]);
        assert!(!l.errors[0].reason.contains("line 1"), "{}", l.errors[0]);
    }

    #[test]
    fn certinext_csv_and_json_lines() {
        let csv = "orderNumber,requestNumber,domainName,certificateSerialNumber,certificateExpiryDate,certificateStatus,orderStatus\n\
                   ORD9,R9,a.example.com,4660,2026-09-02T18:31:25Z,Certificate Generated,Order Fulfilled\n";
        let l = load("orders.csv", csv.as_bytes());
        assert_eq!(l.records[0].serial.as_ref().unwrap().canonical, "1234");
        let jl = "{\"orderNumber\":\"A\",\"domainName\":\"x.example\",\"certificateSerialNumber\":\"255\",\"certificateExpiryDate\":\"2026-01-01\"}\n\
                  {\"orderNumber\":\"B\",\"domainName\":\"y.example\",\"certificateSerialNumber\":\"256\",\"certificateExpiryDate\":\"2026-01-01\"}\n";
        let l = load("orders.jsonl", jl.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.records[1].serial.as_ref().unwrap().canonical, "100");
    }

    #[test]
    fn generic_csv_aliases() {
        let csv = "Certificate ID,Common Name,Subject Alternative Names,Serial Number,Valid From,Valid To,Status,Issuer,Renewal Of,Deployment Endpoints,Provisioning Bot,CA Connector,Owner,SHA1\n\
                   C2,www.example.com,www.example.com;example.com,00:AB:CD,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,Active,Corp CA,C1,www.example.com:443;10.0.0.5:8443,bot-7,adcs,team-web,aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd\n";
        let l = load("inv.csv", csv.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let r = &l.records[0];
        assert_eq!(&*r.record_id, "C2");
        assert_eq!(r.serial.as_ref().unwrap().canonical, "ABCD");
        assert_eq!(
            r.names(),
            vec!["example.com".to_string(), "www.example.com".to_string()]
        );
        assert_eq!(r.renewal_of.as_deref(), Some("C1"));
        assert_eq!(r.targets, vec!["www.example.com:443", "10.0.0.5:8443"]);
        // An IPv6 host with its port, as a target's parser reads it back (without brackets
        // the port would be read as the address's last group).
        let csv = "Certificate ID,Serial Number,Host,Port\n\
                   C3,0A,2001:db8::5,8443\n";
        let l = load("inv.csv", csv.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.records[0].targets, ["[2001:db8::5]:8443"]);
        assert_eq!(r.provisioning_bot.as_deref(), Some("bot-7"));
        assert_eq!(
            r.sha1.as_deref(),
            Some("AABBCCDDEEFF00112233445566778899AABBCCDD")
        );
        // Other tools' spellings of the matching columns.
        let csv = "Cert Serial Number,Thumbprint (SHA-1),SHA256 Hash,Expires\n0x0A,aabbccddeeff00112233445566778899aabbccdd,00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,2027-01-01\n";
        let l = load("other.csv", csv.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let r = &l.records[0];
        assert_eq!(r.serial_hex(), Some("A"));
        assert!(r.sha1.is_some() && r.sha256.is_some(), "{r:?}");
        // DigiCert's and GlobalSign's order and expiry columns.
        let csv = "Order #,Serial Number,Certificate Expiration,Common Name
1234567,0B,2027-02-01,c.example
";
        let l = load("dc.csv", csv.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let r = &l.records[0];
        assert_eq!(r.order_id.as_deref(), Some("1234567"));
        assert!(r.not_after.is_some(), "{r:?}");
    }

    #[test]
    fn malformed_files_name_file_line_and_field() {
        let csv = "Serial Number,Valid To,Common Name\nZZ12,2027-01-01,a.example\n0A,not a date,b.example\n0B,2027-01-01,c.example\n";
        let l = load("bad.csv", csv.as_bytes());
        assert_eq!(l.records.len(), 1);
        assert_eq!(l.errors.len(), 2);
        assert_eq!(l.errors[0].to_string(), "bad.csv:2: field Serial Number: serial \"ZZ12\" contains \"Z\", not a hex or decimal digit");
        assert_eq!(l.errors[1].line, 3);
        assert_eq!(l.errors[1].field.as_deref(), Some("Valid To"));

        let l = load("cols.csv", b"Name,Expiry\na,2027-01-01\n");
        assert!(
            l.errors[0]
                .reason
                .contains("no serial or fingerprint column"),
            "{}",
            l.errors[0]
        );

        let l = load("empty.csv", b"   \n");
        assert_eq!(
            l.errors[0].to_string(),
            "empty.csv:1: the file is empty: no records"
        );

        // Excel's plain "CSV" on Windows writes Windows-1252: read so, and said once (an
        // umlaut in any cell made the row unreadable).
        let l = load(
            "latin1.csv",
            b"Serial;G\xfcltig bis;Common Name;Owner\n0A;2027-01-01;caf\xe9.example;M\xfcller\n0B;2027-01-01;ok.example;IT \x80\n",
        );
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.records.len(), 2);
        assert_eq!(l.records[0].cn.as_deref(), Some("xn--caf-dma.example"));
        assert_eq!(l.records[0].owner.as_deref(), Some("M\u{fc}ller"));
        assert_eq!(l.records[1].owner.as_deref(), Some("IT \u{20ac}"));
        assert_eq!(
            l.warnings,
            ["latin1.csv: 4 cells not in UTF-8, read as Windows-1252 (Excel's plain \"CSV\" on Windows); if the file is in another encoding, save it as UTF-8 (\"CSV UTF-8\")"]
        );

        let l = load("broken.json", b"{\"content\": [");
        assert_eq!(l.errors[0].line, 1);
        assert!(l.errors[0].reason.contains("JSON"));
    }

    #[test]
    fn files_and_pipes_read_as_the_same_bytes_in_memory() {
        // CSV is streamed from a file, and JSON (an array, or a page's `content`) record by
        // record, other JSON read whole; a pipe given as a path is read whole whatever it
        // holds. Records, errors and their lines must not depend on it.
        let mut long = String::from("Serial Number,Valid To,Common Name\n");
        for i in 0..3000 {
            // Over the 64 KiB read to tell CSV from JSON.
            long.push_str(&format!("{:X},2027-01-01,h{i}.example\n", i + 1));
        }
        long.push_str("ZZ,2027-01-01,bad.example\n");
        let rec = |n: u32, extra: &str| {
            format!(
                "{{\n    \"orderNumber\": \"O{n}\",\n    \"certificateSerialNumber\": \"{}\",\n    \"certificateExpiryDate\": \"2027-01-01 00:00:00\",\n    \"domainName\": \"h{n}.example\"{extra}\n  }}",
                n + 10
            )
        };
        let array = format!(
            "[\r\n  {},\n  {},\n\n  {}, 7\n]\n",
            rec(1, ""),
            rec(2, ",\n    \"certificateExpiryDate\": \"not a date\""),
            rec(
                3,
                ",\n    \"note\": \"a \\\"quoted\\\" {brace} and \\n escape\""
            ),
        );
        let page = |before: &str, after: &str| {
            format!(
                "{{\"page\": 0, \"totalPages\": \"3\", {before}\"content\": [\n  {},\n  {}\n],\n\"size\": 2{after}}}",
                rec(4, ""),
                rec(5, ",\n    \"orderStatus\": [1, {\"x\": \"}\"}]")
            )
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("array.json", array.clone().into_bytes()),
            ("bom-array.json", [b"\xEF\xBB\xBF".to_vec(), array.into_bytes()].concat()),
            ("page2.json", page("", "").into_bytes()),
            // Shapes the whole text decides: another list first or after, a broken page,
            // JSON lines, nothing, one record.
            ("data-first.json", page("\"data\": [], ", "").into_bytes()),
            ("orders-after.json", page("", ", \"ordersArray\": [{\"a\": 1}]").into_bytes()),
            ("broken.json", page("", "").replace("\"size\": 2", "\"size\": 2,,").into_bytes()),
            ("lines.json", format!("{}\n{}\n", rec(6, "").replace('\n', ""), rec(7, "").replace('\n', "")).into_bytes()),
            ("empty.json", b"[ ]".to_vec()),
            ("one.json", rec(8, "").into_bytes()),
            ("content-object.json", b"{\"content\": {\"orderNumber\": \"O9\"}}".to_vec()),
            // Another platform's page: its one list of objects.
            (
                "value.json",
                b"{\"value\": [{\"serialNumber\": \"0A\"},\n{\"serialNumber\": \"ZZ\"}], \"nextLink\": null}".to_vec(),
            ),
            (
                "bom.csv",
                b"\xEF\xBB\xBFSerial Number,Valid To,SANs\r\n0A,2027-01-01,\"a.example\r\nb.example\"\r\nZZ,2027-01-01,c.example\r\n0B,2027-01-01,d.example\r\n".to_vec(),
            ),
            ("long.csv", long.into_bytes()),
            // Excel's `sep=` directive before the header.
            (
                "sep.csv",
                b"sep=;\r\nSerial Number;Valid To;SANs\r\n0A;2027-01-01;\"a.example\r\nb.example\"\r\nZZ;2027-01-01;c.example\r\n0B;2027-01-01;d.example\r\n".to_vec(),
            ),
            // Excel for Mac's "CSV (Macintosh)": lines end with a lone CR.
            (
                "mac.csv",
                b"Serial Number,Valid To,SANs\r0A,2027-01-01,\"a.example\rb.example\"\rZZ,2027-01-01,c.example\r0B,2027-01-01,d.example\r".to_vec(),
            ),
            (
                "page.json",
                b" {\"content\": [{\"orderNumber\": \"O1\", \"certificateSerialNumber\": \"10\", \"certificateExpiryDate\": \"2027-01-01 00:00:00\", \"domainName\": \"a.example\"}]}".to_vec(),
            ),
            ("blank.csv", b"  \n\n".to_vec()),
            ("latin1.csv", b"Serial,Common Name\n0A,caf\xe9.example\n".to_vec()),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let shown = path.display().to_string();
            let expected = load(&shown, bytes);
            let read = load_files(&[&path], &ReadOptions::default());
            assert_eq!(read.records, expected.records, "{name}");
            assert_eq!(read.errors, expected.errors, "{name}");
            // Streamed whatever its size.
            let mut streamed = Loaded::default();
            let opts = ReadOptions::default();
            load_path_streaming(&shown, &path, &opts, &mut streamed, 0).unwrap();
            assert_eq!(streamed.records, expected.records, "{name} streamed");
            assert_eq!(streamed.errors, expected.errors, "{name} streamed");
            assert_eq!(streamed.pages, expected.pages, "{name} streamed");
            assert_eq!(read.pages, expected.pages, "{name}");
            if *name == "page2.json" {
                assert_eq!(
                    expected
                        .pages
                        .iter()
                        .map(|p| (p.numbered, p.records))
                        .collect::<Vec<_>>(),
                    [(Some((0, 3)), 2)]
                );
            }

            let fifo = dir.path().join(format!("{name}.fifo"));
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo");
            let writer = {
                let (fifo, bytes) = (fifo.clone(), bytes.clone());
                std::thread::spawn(move || std::fs::write(fifo, bytes))
            };
            let shown = fifo.display().to_string();
            let expected = load(&shown, bytes);
            let piped = load_files(&[&fifo], &ReadOptions::default());
            writer.join().unwrap().unwrap();
            assert_eq!(piped.records, expected.records, "{name} through a pipe");
            assert_eq!(piped.errors, expected.errors, "{name} through a pipe");
        }
        // The array and the page were streamed, the other shapes read whole.
        for (name, streams) in [
            ("array.json", true),
            ("page2.json", true),
            ("data-first.json", false),
            ("orders-after.json", false),
            ("broken.json", false),
            ("lines.json", false),
            ("empty.json", false),
            ("one.json", false),
            ("content-object.json", false),
        ] {
            let mut f = File::open(dir.path().join(name)).unwrap();
            let mut out = Loaded::default();
            let streamed = stream_json(name, &mut f, &ReadOptions::default(), &mut out);
            assert_eq!(streamed, streams, "{name}");
            assert!(streams || (out.records.is_empty() && out.errors.is_empty()));
        }
        let mut a = Loaded::default();
        let path = dir.path().join("array.json");
        load_path_streaming("a", &path, &ReadOptions::default(), &mut a, 0).unwrap();
        let lines = |v: Vec<u64>| v;
        assert_eq!(lines(a.records.iter().map(|r| r.line).collect()), [2, 16]);
        assert_eq!(lines(a.errors.iter().map(|e| e.line).collect()), [8, 22]);
        for (name, first) in [("bom.csv", 2), ("mac.csv", 2), ("sep.csv", 3)] {
            let l = load_files(&[dir.path().join(name)], &ReadOptions::default());
            assert_eq!(l.records.len(), 2, "{name}");
            assert_eq!(l.records[0].sans, ["a.example", "b.example"], "{name}");
            assert_eq!(
                (l.records[0].line, l.errors[0].line, l.records[1].line),
                (first, first + 2, first + 3),
                "{name}"
            );
        }
    }

    #[test]
    fn rows_are_counted_outside_quotes_to_size_the_records() {
        assert_eq!(RowCount::of(b"h\na\nb"), 3);
        assert_eq!(
            RowCount::of(b"h,p\n1,\"-----BEGIN\nx\n-----END\"\n2,\"say \"\"hi\"\"\n\"\n"),
            4
        );
        let mut c = RowCount::default();
        for chunk in [&b"h,p\n1,\"a"[..], b"\nb\"", b"\n"] {
            c.feed(chunk);
        }
        assert_eq!(c.rows, 2);
    }

    #[test]
    fn csv_lines_are_the_lines_an_editor_shows() {
        // A PEM-sized quoted cell of 20 lines, CRLF and LF, blank lines, a bad row last.
        let pem = format!(
            "\"{}\"",
            vec!["MIIBeDCCAR+gAwIBAgIUMxvRe419yzVRsV96/5CT4nC9wEEw"; 20].join("\n")
        );
        for nl in ["\n", "\r\n", "\r"] {
            let text = [
                "",
                "Serial Number,Valid To,Notes",
                &format!("0A,2027-01-01,{pem}"),
                "0B,2027-01-01,x",
                "",
                "",
                &format!("0C,2027-01-01,{pem}"),
                "ZZ,2027-01-01,y",
                "",
            ]
            .join(nl);
            let l = load("lines.csv", text.as_bytes());
            let lines: Vec<u64> = l.records.iter().map(|r| r.line).collect();
            assert_eq!(lines, [3, 23, 26], "{nl:?}");
            assert_eq!(l.errors.len(), 1, "{nl:?}");
            assert_eq!(l.errors[0].line, 46, "{nl:?}: {}", l.errors[0]);
        }
    }

    #[test]
    fn the_streaming_json_reader_agrees_with_the_whole_text_on_cut_and_spliced_pages() {
        // Every prefix of a page, and the page with each byte dropped: streamed or not, the
        // same records and errors (mostly the whole-text reader's, after a fallback).
        let page = include_bytes!("../../targets/certinext-orders.json");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let mut inputs: Vec<Vec<u8>> = (0..page.len()).map(|n| page[..n].to_vec()).collect();
        inputs.extend((0..page.len()).map(|i| [&page[..i], &page[i + 1..]].concat()));
        for input in inputs {
            std::fs::write(&path, &input).unwrap();
            let expected = load("p", &input);
            let mut streamed = Loaded::default();
            load_path_streaming("p", &path, &ReadOptions::default(), &mut streamed, 0).unwrap();
            assert_eq!(
                streamed.records,
                expected.records,
                "{}",
                String::from_utf8_lossy(&input)
            );
            assert_eq!(
                streamed.errors,
                expected.errors,
                "{}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    fn day(iso: &str) -> i64 {
        parse_date(iso, None).unwrap().unwrap().unix
    }

    fn not_after_of(out: &Loaded, cn: &str) -> i64 {
        let r = out.records.iter().find(|r| r.cn.as_deref() == Some(cn));
        r.and_then(|r| r.not_after).map(|w| w.unix).unwrap_or(-1)
    }

    #[test]
    fn slash_dates_take_the_order_a_day_over_12_settles_in_the_file() {
        // The first row reads either way; the second settles day-first for the file.
        let dm = load(
            "dm.csv",
            b"Serial,Expiry Date,Valid From,CN\n\
              01,03/04/2027,03/04/2026,a.example.com\n\
              02,25/12/2027,25/12/2026,b.example.com\n\
              03,05/06/2027 9:30 PM,,c.example.com\n",
        );
        assert!(dm.errors.is_empty(), "{:?}", dm.errors);
        assert_eq!(not_after_of(&dm, "a.example.com"), day("2027-04-03"));
        assert_eq!(
            dm.records[0].not_before.map(|w| w.unix),
            Some(day("2026-04-03"))
        );
        assert_eq!(not_after_of(&dm, "b.example.com"), day("2027-12-25"));
        assert_eq!(
            not_after_of(&dm, "c.example.com"),
            day("2027-06-05") + 21 * 3600 + 1800
        );
        // The same rows month-first: the open reading is corrected when the file ends.
        let md = load(
            "md.csv",
            b"Serial,Expiry Date,Valid From,CN\n\
              01,03/04/2027,03/04/2026,a.example.com\n\
              02,12/25/2027,12/25/2026,b.example.com\n\
              03,05/06/2027,,c.example.com\n",
        );
        assert!(md.errors.is_empty(), "{:?}", md.errors);
        assert_eq!(not_after_of(&md, "a.example.com"), day("2027-03-04"));
        assert_eq!(
            md.records[0].not_before.map(|w| w.unix),
            Some(day("2026-03-04"))
        );
        assert_eq!(not_after_of(&md, "b.example.com"), day("2027-12-25"));
        assert_eq!(not_after_of(&md, "c.example.com"), day("2027-05-06"));
        // JSON too, the order date included; records keep their file order.
        let json = load(
            "orders.json",
            br#"[{"serial":"01","cn":"a.example.com","orderDate":"02/01/2026"},
                 {"serial":"02","cn":"b.example.com","notAfter":"01/31/2027"}]"#,
        );
        assert!(json.errors.is_empty(), "{:?}", json.errors);
        assert_eq!(json.records[0].cn.as_deref(), Some("a.example.com"));
        assert_eq!(
            json.records[0].order_date.map(|w| w.unix),
            Some(day("2026-02-01"))
        );
    }

    #[test]
    fn slash_dates_nothing_settles_are_refused_by_file_line_and_field() {
        let out = load(
            "open.csv",
            b"Serial,Expiry Date,CN,Fingerprint\n\
              01,03/04/2027,a.example.com,\n\
              02,2027-05-01,b.example.com,abc\n\
              03,2027-05-01,c.example.com,\n\
              04,11/12/2027,d.example.com,\n",
        );
        let found: Vec<(u64, Option<&str>)> = out
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (2, Some("Expiry Date")),
                (3, Some("Fingerprint")),
                (5, Some("Expiry Date"))
            ]
        );
        assert!(
            out.errors[0].reason.contains("03/04/2027"),
            "{}",
            out.errors[0].reason
        );
        assert!(out.errors[0].reason.contains("date_order"));
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.records[0].cn.as_deref(), Some("c.example.com"));
    }

    #[test]
    fn a_file_writing_slash_dates_both_ways_is_named() {
        let out = load(
            "mixed.csv",
            b"Serial,Expiry Date,CN\n\
              01,25/12/2027,a.example.com\n\
              02,12/25/2027,b.example.com\n\
              03,01/02/2027,c.example.com\n",
        );
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        let e = &out.errors[0];
        assert_eq!((e.line, e.field.as_deref()), (3, Some("Expiry Date")));
        assert!(
            e.reason.contains("\"25/12/2027\" on line 2 is day-first"),
            "{}",
            e.reason
        );
        // The order the file settled first still reads the rest.
        assert_eq!(not_after_of(&out, "c.example.com"), day("2027-02-01"));
    }

    #[test]
    fn the_sample_exports_load_whole() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/");
        for (name, records) in [
            ("certinext-orders.json", 3),
            ("inventory-generic.csv", 2),
            ("venafi-tpp-certificates.json", 2),
            ("tls-protect-cloud.json", 2),
            ("inventory-excel-de.csv", 2),
            ("openssl-index.txt", 4),
        ] {
            let bytes = std::fs::read(format!("{dir}{name}")).expect("sample");
            let out = load(name, &bytes);
            assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
            assert_eq!(out.records.len(), records, "{name}");
        }
        let de = load(
            "de",
            &std::fs::read(format!("{dir}inventory-excel-de.csv")).expect("sample"),
        );
        // 03/04/2026 is the 3rd of April: 25/11/2026 in the file settles day-first.
        assert_eq!(
            de.records[0].not_before.map(|w| w.unix),
            Some(day("2026-04-03"))
        );
        assert_eq!(
            de.records[1].deploy_status,
            Some(DeployStatus::ConfigPending)
        );
        let cloud = load(
            "c",
            &std::fs::read(format!("{dir}tls-protect-cloud.json")).expect("sample"),
        );
        assert_eq!(
            cloud.records[0].targets,
            ["shop.example.com:443", "shop2.example.com:8443"]
        );
        assert_eq!(cloud.records[1].status, RecordStatus::Superseded);
    }

    #[test]
    fn excel_unicode_text_is_utf16_with_tabs() {
        let text = "Serial Number\tValid To\tCommon Name\r\n0E\t2027-03-01\tbücher.x.com\r\n";
        for little in [true, false] {
            let mut bytes = if little {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for u in text.encode_utf16() {
                bytes.extend(if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                });
            }
            let out = load("unicode.txt", &bytes);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            assert_eq!(out.records[0].serial_hex(), Some("E"));
            // Decoded, then kept as certificates write the name.
            assert_eq!(out.records[0].cn.as_deref(), Some("xn--bcher-kva.x.com"));
            // From a stream too.
            let mut streamed = Loaded::default();
            load_stream("-", &bytes[..], &ReadOptions::default(), &mut streamed).expect("read");
            assert_eq!(streamed.records.len(), 1, "{:?}", streamed.errors);
        }
        // A lone surrogate: the file is refused where it breaks, not read as garbage.
        let mut bad = vec![0xFF, 0xFE];
        for u in "Serial\n".encode_utf16().chain([0xD800, 0x41]) {
            bad.extend(u.to_le_bytes());
        }
        let out = load("bad.txt", &bad);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].line, 2);
        assert!(
            out.errors[0]
                .reason
                .starts_with("not valid UTF-16 at byte 16 (line 2): export the file again"),
            "{}",
            out.errors[0].reason
        );
    }

    #[test]
    fn semicolon_and_tab_separated_exports_are_read_by_their_header() {
        // Excel in a locale with the decimal comma saves CSV with semicolons; "text" exports
        // use tabs. Both were one column and "no serial column".
        let semi = load(
            "de.csv",
            b"Serial Number;Valid To;Subject Alternative Names;Status\n\
              0A1B;2027-03-01;\"a.x.com,b.x.com\";Issued\n",
        );
        assert!(semi.errors.is_empty(), "{:?}", semi.errors);
        assert_eq!(semi.records[0].serial_hex(), Some("A1B"));
        assert_eq!(semi.records[0].sans, ["a.x.com", "b.x.com"]);
        let tabs = load(
            "export.txt",
            b"Serial Number\tValid To\tCommon Name\n0C\t2027-03-01\tc.x.com\n",
        );
        assert!(tabs.errors.is_empty(), "{:?}", tabs.errors);
        assert_eq!(tabs.records[0].cn.as_deref(), Some("c.x.com"));
        // A comma file whose cells hold semicolons stays a comma file.
        let comma = load(
            "c.csv",
            b"Serial,SANs,Valid To\n0D,d.x.com;e.x.com,2027-03-01\n",
        );
        assert!(comma.errors.is_empty(), "{:?}", comma.errors);
        assert_eq!(comma.records[0].sans, ["d.x.com", "e.x.com"]);
        assert_eq!(crate::csvlines::delimiter(b"\"a;b;c\",d\n"), b',');
    }

    #[test]
    fn the_one_list_of_another_platforms_page_is_its_records() {
        // A list under a name no profile knows was read as one record of every member's
        // fields joined ("serial \"0A;0B\" contains \";\""), or, with one member, by luck.
        let serials = |l: &Loaded| -> Vec<String> {
            l.records
                .iter()
                .filter_map(|r| r.serial_hex().map(str::to_string))
                .collect()
        };
        for (name, text) in [
            // Azure Key Vault's list: `value` and `nextLink`.
            (
                "kv.json",
                r#"{"value": [{"serialNumber": "0A", "commonName": "a.example"},
                              {"serialNumber": "0B", "commonName": "b.example"}],
                    "nextLink": null}"#,
            ),
            // DigiCert's orders, the certificate's facts nested; paging in an object.
            (
                "digicert.json",
                r#"{"orders": [{"id": 1, "certificate": {"serial_number": "0A", "common_name": "a.example"}},
                               {"id": 2, "certificate": {"serial_number": "0B", "common_name": "b.example"}}],
                    "page": {"total": 2, "limit": 1000, "offset": 0}}"#,
            ),
            // Behind a wrapper of one object, an empty list beside it.
            (
                "wrapped.json",
                r#"{"result": {"items": [{"serialNumber": "0A"},
                                         {"serialNumber": "0B"}],
                               "errors": []}}"#,
            ),
        ] {
            let l = load(name, text.as_bytes());
            assert!(l.errors.is_empty(), "{name}: {:?}", l.errors);
            assert_eq!(serials(&l), ["A", "B"], "{name}");
            assert_eq!(l.records[1].line, 2, "{name}");
        }
        // A record with a list of its own (its domains) is still one record.
        let one = load(
            "order.json",
            br#"{"serialNumber": "0C", "domains": [{"name": "a.example"}, {"name": "b.example"}]}"#,
        );
        assert!(one.errors.is_empty(), "{:?}", one.errors);
        assert_eq!(serials(&one), ["C"]);
        // Two lists of objects: which holds the certificates is not guessed.
        let two = load(
            "two.json",
            br#"{"certs": [{"serialNumber": "0A"}], "revoked": [{"serialNumber": "0B"}]}"#,
        );
        assert!(two.records.is_empty());
        assert_eq!(two.errors.len(), 1, "{:?}", two.errors);
        assert!(
            two.errors[0]
                .reason
                .contains("several lists of objects (certs, revoked)"),
            "{}",
            two.errors[0]
        );
        // An empty list: no records, said so.
        let empty = load("empty.json", br#"{"value": [], "nextLink": null}"#);
        assert!(empty.records.is_empty());
        assert_eq!(empty.errors[0].reason, "no records in the file");
        // A record of fields certsweep does not read is an error at its line, not a
        // record of nothing counted as read.
        let other = load(
            "other.json",
            b"[{\"serialNumber\": \"0A\"},\n {\"sn\": \"0B\", \"kind\": \"leaf\"},\n {}]",
        );
        assert_eq!(serials(&other), ["A"]);
        let errors: Vec<String> = other.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            [
                "other.json:2: record has none of the fields certsweep reads (its fields: kind, sn): name them in an --inventory-map",
                "other.json:3: record is an empty object",
            ]
        );
    }

    #[test]
    fn a_revocation_column_makes_the_record_revoked_with_when_and_why() {
        let status = |l: &Loaded| -> Vec<(RecordStatus, String)> {
            l.records
                .iter()
                .map(|r| (r.status, r.status_raw.to_string()))
                .collect()
        };
        // HashiCorp Vault's `vault read -format=json pki/cert/<serial>`: no status at all,
        // `revocation_time` 0 unless revoked.
        let vault = |serial: &str, time: u64, rfc: &str| {
            format!(
                "{{\"request_id\": \"r-{serial}\", \"lease_id\": \"\", \"data\": {{\"serial_number\": \"{serial}\", \"revocation_time\": {time}, \"revocation_time_rfc3339\": \"{rfc}\"}}}}\n"
            )
        };
        let l = load(
            "vault.json",
            [
                vault("0a:01", 0, ""),
                vault("0a:02", 1_764_000_000, "2025-11-24T16:00:00Z"),
            ]
            .concat()
            .as_bytes(),
        );
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(
            status(&l),
            [
                (RecordStatus::Unknown, String::new()),
                (RecordStatus::Revoked, "revoked 2025-11-24T16:00:00Z".into())
            ]
        );
        // The API call's request id is no record id: the file line is.
        assert_eq!(&*l.records[1].record_id, "vault.json:2");
        // A Windows CA's `certutil -view csv`: the disposition says revoked, the date and
        // reason say when and why (a slash date reading either way, shown as written);
        // EMPTY where there is none.
        let l = load(
            "adcs.csv",
            b"\"Serial Number\",\"Request Disposition\",\"Revocation Date\",\"Revocation Reason\"\n\
              \"0a01\",\"20 -- Issued\",\"EMPTY\",\"EMPTY\"\n\
              \"0a02\",\"21 -- Revoked\",\"5/1/2026 8:30 AM\",\"0x1 -- Key Compromise\"\n",
        );
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(
            status(&l),
            [
                (RecordStatus::Issued, "20 -- Issued".into()),
                (
                    RecordStatus::Revoked,
                    "revoked 5/1/2026 8:30 AM (0x1 -- Key Compromise)".into()
                )
            ]
        );
        // A revocation date beside another word: revoked, the word kept; a yes/no column; a
        // date only; a value that is no date named by its column.
        let l = load(
            "other.csv",
            b"Serial,Status,Revoked At,Revoked\n\
              01,Active,2026-05-01,\n\
              02,Active,,Yes\n\
              03,Active,,No\n\
              04,Active,soonish,\n\
              05,Active,0001-01-01T00:00:00,\n\
              06,Active,1/1/0001 12:00:00 AM,\n\
              07,Active,1899-12-30,\n",
        );
        assert_eq!(
            status(&l),
            [
                (RecordStatus::Revoked, "Active, revoked 2026-05-01".into()),
                (RecordStatus::Revoked, "Active, revoked".into()),
                (RecordStatus::Issued, "Active".into()),
                // .NET's DateTime.MinValue and OLE's zero date, written for no date.
                (RecordStatus::Issued, "Active".into()),
                (RecordStatus::Issued, "Active".into()),
                (RecordStatus::Issued, "Active".into()),
            ]
        );
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(
            (l.errors[0].line, l.errors[0].field.as_deref()),
            (5, Some("Revoked At"))
        );
    }

    /// `aws acm describe-certificate` as a shell loop writes it: one pretty-printed
    /// document per certificate, one after another.
    fn acm_document(arn: &str, name: &str, serial: &str, status: &str) -> String {
        format!(
            "{{\n    \"Certificate\": {{\n        \"CertificateArn\": \"{arn}\",\n        \"DomainName\": \"{name}\",\n        \"SubjectAlternativeNames\": [\n            \"{name}\"\n        ],\n        \"Serial\": \"{serial}\",\n        \"NotAfter\": \"2027-06-01T12:00:00+00:00\",\n        \"Status\": \"{status}\"\n    }}\n}}\n"
        )
    }

    #[test]
    fn broken_json_documents_are_given_up_and_those_after_them_read() {
        let doc = |n: u8| {
            acm_document(
                &format!("arn:{n}"),
                "a.example.com",
                &format!("0a:{n:02}"),
                "ISSUED",
            )
        };
        let reasons = |l: &Loaded| -> Vec<(u64, String)> {
            l.errors
                .iter()
                .map(|e| (e.line, e.reason.clone()))
                .collect()
        };
        // The first one broken: the file was refused whole.
        let text = [doc(1).replace("\"Serial\":", "\"Serial\""), doc(2), doc(3)].concat();
        let l = load("acm.json", text.as_bytes());
        assert_eq!(serials(&l), ["A02", "A03"], "{:?}", l.errors);
        assert_eq!(l.records[0].line, 13);
        let r = reasons(&l);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].0 == 8 && r[0].1.ends_with("the document from line 1 is not read"),
            "{r:?}"
        );
        // A document cut short at a line's end, the next written after it: the break is
        // found only at the next one's brace, which begins it nonetheless.
        let cut = &doc(1)[..doc(1).find("        \"NotAfter\"").expect("NotAfter")];
        let text = [cut, &doc(2), &doc(3), &doc(4)].concat();
        let l = load("acm.json", text.as_bytes());
        assert_eq!(serials(&l), ["A02", "A03", "A04"], "{:?}", l.errors);
        assert_eq!(reasons(&l).len(), 1);
        assert!(reasons(&l)[0]
            .1
            .ends_with("the document from line 1 is not read"));
        // An error page between two answers, and two broken ones in a row.
        let text = [
            doc(1),
            "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>\n".into(),
            doc(2).replace("\"Status\":", "\"Status\""),
            doc(3).replace("}\n}\n", "}\n"),
            doc(4),
        ]
        .concat();
        let l = load("acm.json", text.as_bytes());
        assert_eq!(serials(&l), ["A01", "A04"], "{:?}", l.errors);
        let starts: Vec<u64> = reasons(&l)
            .iter()
            .map(|(_, why)| {
                why.rsplit("from line ")
                    .next()
                    .and_then(|t| t.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        assert_eq!(starts, [13, 16, 28], "{:?}", l.errors);
        assert_eq!(l.records[1].line, 39);
        // Nothing readable at all is still one broken file, named where it breaks.
        let l = load(
            "acm.json",
            doc(1).replace("\"Serial\":", "\"Serial\"").as_bytes(),
        );
        assert!(l.records.is_empty());
        assert_eq!(reasons(&l).len(), 1, "{:?}", l.errors);
        assert_eq!(reasons(&l)[0].0, 8);
    }

    #[test]
    fn json_documents_one_after_another_are_each_read_as_a_file_would_be() {
        // Was refused whole: "trailing characters" after the first document.
        let text = [
            acm_document("arn:1", "a.example.com", "0a:01", "ISSUED"),
            acm_document("arn:2", "b.example.com", "0a:02", "ISSUED"),
        ]
        .concat();
        let l = load("acm.json", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<(&str, Option<&str>, u64)> = l
            .records
            .iter()
            .map(|r| {
                (
                    r.identity_id.as_deref().unwrap_or(""),
                    r.serial_hex(),
                    r.line,
                )
            })
            .collect();
        assert_eq!(got, [("arn:1", Some("A01"), 1), ("arn:2", Some("A02"), 13)]);
        // Pages of an API fetched by a loop of curl into one file: each page's records and
        // its paging facts, so a missing page is still told.
        let page = |n: u64, serial: &str| {
            format!(
                "{{\"page\": {n}, \"totalPages\": 3, \"content\": [\n  {{\"orderNumber\": \"O{n}\", \"domainName\": \"p{n}.example.com\", \"certificateSerialNumber\": \"{serial}\"}}\n]}}\n"
            )
        };
        let l = load(
            "pages.json",
            [page(1, "255"), page(3, "256")].concat().as_bytes(),
        );
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(serials(&l), ["FF", "100"]);
        assert_eq!(l.records[1].line, 5);
        assert_eq!(l.pages.len(), 2);
        let w = page_warnings(&l.pages);
        assert!(
            w.len() == 1
                && w[0].starts_with(
                    "pages.json holds pages 1, 3 of an export of 3 pages: page 2 is not among"
                ),
            "{w:?}"
        );
        // A broken document: those before it are read, the break is named where it is.
        let text = [
            acm_document("arn:1", "a.example.com", "0a:01", "ISSUED"),
            acm_document("arn:2", "b.example.com", "0a:02", "ISSUED")
                .replace("\"Serial\":", "\"Serial\""),
            acm_document("arn:3", "c.example.com", "0a:03", "ISSUED"),
        ]
        .concat();
        let l = load("acm.json", text.as_bytes());
        // Read as a large file is (streamed, then whole after the first document), the same.
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("acm.json");
        std::fs::write(&path, &text).expect("written");
        let mut streamed = Loaded::default();
        load_path_streaming("acm.json", &path, &ReadOptions::default(), &mut streamed, 0)
            .expect("read");
        assert_eq!(
            (&streamed.records, &streamed.errors),
            (&l.records, &l.errors)
        );
        // The broken one is named where it breaks and given up; the one after it is read.
        assert_eq!(serials(&l), ["A01", "A03"]);
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
        assert_eq!(l.errors[0].line, 20, "{}", l.errors[0]);
        assert!(
            l.errors[0]
                .reason
                .ends_with("the document from line 13 is not read"),
            "{}",
            l.errors[0]
        );
        assert_eq!(l.records[1].line, 25);
    }

    #[test]
    fn nested_json_of_venafi_and_acm_is_read_by_path_then_by_name() {
        // Venafi TPP's GET Certificates/{guid}: the facts under CertificateDetails.
        let tpp = load(
            "tpp.json",
            br#"{"CertificateDetails": {"CN": "www.x.com",
                   "Serial": "6D007AAF80B115C1BE51B6F94E0000007AAF80",
                   "ValidFrom": "2027-01-13T14:36:29.0000000Z",
                   "ValidTo": "2028-01-13T14:36:29.0000000Z",
                   "Thumbprint": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
                   "Issuer": "CN=Corp CA, O=Corp", "SubjectAltNameDNS": ["www.x.com", "x.com"]},
                 "DN": "\\VED\\Policy\\Certificates\\www.x.com",
                 "Guid": "{7c4f0a5e-0000-4a4a-9999-123456789abc}",
                 "Consumers": ["\\VED\\Policy\\Apps\\web"]}"#,
        );
        assert!(tpp.errors.is_empty(), "{:?}", tpp.errors);
        let r = &tpp.records[0];
        assert_eq!(
            r.serial_hex(),
            Some("6D007AAF80B115C1BE51B6F94E0000007AAF80")
        );
        assert_eq!(r.cn.as_deref(), Some("www.x.com"));
        assert_eq!(r.sans, ["www.x.com", "x.com"]);
        assert_eq!(
            r.not_after.map(|w| w.unix),
            Some(day("2028-01-13") + 52_589)
        );
        assert_eq!(
            r.sha1.as_deref(),
            Some("A94A8FE5CCB19BA61C4C0873D391E987982FBBD3")
        );
        assert_eq!(
            r.identity_id.as_deref(),
            Some("{7c4f0a5e-0000-4a4a-9999-123456789abc}")
        );
        // TLS Protect Cloud's list: instances become targets, host and port pairwise; an id
        // inside ca_cert is not the record's.
        let cloud = load(
            "cloud.json",
            br#"{"count": 1, "certificates": [{"id": "c1", "managedCertificateId": "m1",
                 "serialNumber": "0A1B", "validityEnd": "2027-07-10T00:05:39.000+00:00",
                 "subjectAlternativeNamesByType": {"dNSName": ["api.x.com"]},
                 "ca_cert": {"id": "zzz", "name": "Corp CA"},
                 "instances": [{"hostname": "10.0.0.5", "port": 443, "deploymentStatus": "DEPLOYED"},
                               {"hostname": "api.x.com", "port": 8443, "deploymentStatus": "FAILED"}]}]}"#,
        );
        assert!(cloud.errors.is_empty(), "{:?}", cloud.errors);
        let r = &cloud.records[0];
        assert_eq!(&*r.record_id, "c1");
        assert_eq!(r.identity_id.as_deref(), Some("m1"));
        assert_eq!(r.sans, ["api.x.com"]);
        assert_eq!(r.issuer.as_deref(), Some("Corp CA"));
        assert_eq!(r.targets, ["10.0.0.5:443", "api.x.com:8443"]);
        assert_eq!(r.deploy_status, Some(DeployStatus::Failed));
        // ACM's DescribeCertificate: the certificate's own DomainName, not a validation's.
        let acm = load(
            "acm.json",
            br#"{"Certificate": {"CertificateArn": "arn:aws:acm:eu-west-1:1:certificate/abc",
                 "DomainName": "shop.x.com", "SubjectAlternativeNames": ["shop.x.com", "www.shop.x.com"],
                 "DomainValidationOptions": [{"DomainName": "other.x.com", "ValidationStatus": "SUCCESS"}],
                 "Serial": "07:71:71:f4:aa", "Issuer": "Amazon", "Status": "ISSUED",
                 "NotBefore": 1450137600.0, "NotAfter": 1481760000.0}}"#,
        );
        assert!(acm.errors.is_empty(), "{:?}", acm.errors);
        let r = &acm.records[0];
        assert_eq!(r.cn.as_deref(), Some("shop.x.com"));
        assert_eq!(r.serial_hex(), Some("77171F4AA"));
        assert_eq!(r.status, RecordStatus::Issued);
        assert_eq!(r.not_after.map(|w| w.unix), Some(1_481_760_000));
        assert_eq!(
            r.identity_id.as_deref(),
            Some("arn:aws:acm:eu-west-1:1:certificate/abc")
        );
        // Keyfactor Command's GET /Certificates: its SSL locations become targets.
        let kf = load(
            "keyfactor.json",
            br#"[{"Id": 42, "SerialNumber": "61000000A1", "NotAfter": "2027-01-05T10:00:00Z",
                  "IssuedCN": "web.x.com", "CertState": 1, "CertStateString": "Active",
                  "SubjectAltNameElements": [{"Value": "web.x.com", "Type": 2}],
                  "SSLLocations": [{"IPAddress": "10.0.0.7", "Port": 443, "NetworkName": "dmz"},
                                   {"IPAddress": "10.0.0.8", "Port": 8443, "NetworkName": "dmz"}]}]"#,
        );
        assert!(kf.errors.is_empty(), "{:?}", kf.errors);
        let r = &kf.records[0];
        assert_eq!(r.sans, ["web.x.com"]);
        assert_eq!(r.status, RecordStatus::Issued);
        assert_eq!(r.targets, ["10.0.0.7:443", "10.0.0.8:8443"]);
        // Instances that do not pair up are named.
        let bad = load(
            "bad.json",
            br#"[{"serial": "01", "instances": [{"hostname": "a.x.com", "port": 443},
                                                {"hostname": "b.x.com"}, {"hostname": "c.x.com", "port": 8443}]}]"#,
        );
        assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
        assert_eq!(bad.errors[0].field.as_deref(), Some("instances.port"));
        assert!(bad.errors[0].reason.contains("2 ports for 3 hosts"));
    }

    #[test]
    fn a_certificate_pem_makes_open_slash_dates_beside_it_moot() {
        let pki = crate::fleet::Pki::new("Slash").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["p.example.com"],
                0x52,
                1,
                90,
            ))
            .unwrap();
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", leaf.chain[0].to_vec()));
        let rows = serde_json::json!([{"notAfter": "03/04/2027", "pem": pem}]);
        let out = load("pem.json", rows.to_string().as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.records.len(), 1);
        assert!(out.records[0].from_pem);
    }

    #[test]
    fn a_certificate_saved_in_binary_is_read_as_its_pem() {
        let pki = crate::fleet::Pki::new("Der").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["iis.example.com"],
                0x52,
                1,
                90,
            ))
            .unwrap();
        let out = load("site.cer", &leaf.chain[0]);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.records.len(), 1);
        let r = &out.records[0];
        assert_eq!(
            r.serial.as_ref().map(|s| s.canonical.as_str()),
            Some("8A0000000000000052")
        );
        assert_eq!(r.names(), ["iis.example.com"]);
        // Binary that is no certificate is said to be so, not read as CSV.
        let mut junk = leaf.chain[0].to_vec();
        junk.truncate(40);
        let out = load("site.cer", &junk);
        assert!(out.records.is_empty());
        assert!(
            out.errors[0]
                .reason
                .starts_with("binary (DER) content that is neither an X.509 certificate"),
            "{:?}",
            out.errors
        );
    }

    /// A PKCS#12 store as OpenSSL writes it (another implementation than the reader's):
    /// the leaf with its key and the chain, the certificates encrypted with `cert_pbe`
    /// (OpenSSL 3's default AES, or the 3DES of older Windows exports).
    pub(crate) fn test_pfx(
        leaf: &crate::fleet::Leaf,
        password: &str,
        cert_pbe: Option<openssl::nid::Nid>,
    ) -> Vec<u8> {
        use openssl::{pkcs12::Pkcs12, pkey::PKey, stack::Stack, x509::X509};
        let key = PKey::private_key_from_der(leaf.key.secret_der()).unwrap();
        let mut ca = Stack::new().unwrap();
        for c in &leaf.chain[1..] {
            ca.push(X509::from_der(c).unwrap()).unwrap();
        }
        let mut builder = Pkcs12::builder();
        builder
            .name("www")
            .pkey(&key)
            .cert(&X509::from_der(&leaf.chain[0]).unwrap())
            .ca(ca);
        if let Some(nid) = cert_pbe {
            builder.cert_algorithm(nid).key_algorithm(nid);
        }
        builder.build2(password).unwrap().to_der().unwrap()
    }

    #[test]
    fn a_pkcs12_store_gives_its_end_entity_certificate_with_the_password_from_the_environment() {
        // What IIS, a Windows export and Java's keytool deploy: the leaf, its key and chain.
        let pki = crate::fleet::Pki::new("Pfx").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["iis.example.com"],
                0x54,
                1,
                90,
            ))
            .unwrap();
        let with =
            |password: Option<&str>, bytes: &[u8]| load_with_password("site.pfx", bytes, password);
        let triple_des = openssl::nid::Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC;
        for (how, pfx) in [
            ("OpenSSL 3", test_pfx(&leaf, "s3cret", None)),
            ("3DES", test_pfx(&leaf, "s3cret", Some(triple_des))),
        ] {
            let out = with(Some("s3cret"), &pfx);
            assert!(out.errors.is_empty(), "{how}: {:?}", out.errors);
            assert_eq!(serials(&out), ["8A0000000000000054"], "{how}");
            assert_eq!(out.records[0].names(), ["iis.example.com"], "{how}");
            // Without the password, or with another: said, with where it goes.
            for (password, says) in [
                (None, "with a password: give it in the environment variable CERTSWEEP_PKCS12_PASSWORD"),
                (Some("wrong"), "that the password in CERTSWEEP_PKCS12_PASSWORD does not open"),
            ] {
                let out = with(password, &pfx);
                assert!(out.records.is_empty(), "{how}");
                assert_eq!(out.errors.len(), 1, "{how}: {:?}", out.errors);
                assert!(out.errors[0].reason.contains(says), "{how}: {:?}", out.errors);
            }
        }
        // Exported without a password: read without one, also while the environment holds
        // another store's.
        for password in [None, Some("s3cret")] {
            let out = with(password, &test_pfx(&leaf, "", None));
            assert!(out.errors.is_empty(), "{password:?}: {:?}", out.errors);
            assert_eq!(out.records.len(), 1);
        }
    }

    #[test]
    fn a_java_keystore_gives_its_end_entity_certificates_without_a_password() {
        // keytool's JKS and JCEKS stores (tests/fixtures/jks): a key entry with its chain,
        // and in the JKS one the root as a trusted certificate. No password is needed:
        // the certificates are stored in the clear.
        for (name, bytes) in [
            (
                "www.jks",
                &include_bytes!("../../tests/fixtures/jks/www.jks")[..],
            ),
            (
                "www.jceks",
                &include_bytes!("../../tests/fixtures/jks/www.jceks")[..],
            ),
        ] {
            let out = load(name, bytes);
            assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
            assert_eq!(serials(&out), ["BC0FFEE01"], "{name}");
            assert_eq!(out.records[0].names(), ["bc.example", "www.bc.example"]);
            // Cut short: named, with how to get a PEM instead.
            let out = load(name, &bytes[..bytes.len() - 30]);
            assert!(out.records.is_empty());
            assert!(
                out.errors[0]
                    .reason
                    .contains("cannot be read (cut short at byte")
                    && out.errors[0].reason.contains("keytool -exportcert"),
                "{name}: {:?}",
                out.errors
            );
        }
        // JCEKS stores with secret keys (serialized Java objects that nothing delimits),
        // after the key entry and on both sides of it: passed by.
        for (name, bytes) in [
            (
                "secret.jceks",
                &include_bytes!("../../tests/fixtures/jks/secret.jceks")[..],
            ),
            (
                "mixed.jceks",
                &include_bytes!("../../tests/fixtures/jks/mixed.jceks")[..],
            ),
        ] {
            let out = load(name, bytes);
            assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
            assert_eq!(serials(&out), ["BC0FFEE01"], "{name}");
        }
        // A store cut inside a secret key: named with the key's alias.
        let bytes = include_bytes!("../../tests/fixtures/jks/secret.jceks");
        let out = load("secret.jceks", &bytes[..bytes.len() - 30]);
        assert!(
            out.errors[0].reason.starts_with(
                "a Java KeyStore (JCEKS) whose secret key \"aes\" cannot be read past (cut short at byte 2100)"
            ),
            "{:?}",
            out.errors
        );
    }

    #[test]
    fn a_pkcs12_store_in_ber_as_bouncycastle_and_ejbca_write_it_is_read() {
        // Written by BouncyCastle 1.72's "PKCS12" and "PKCS12-3DES-3DES" keystores
        // (tests/fixtures/pkcs12/Mk.java): indefinite lengths outside, a SHA-1 MAC, the
        // certificates under RC2 or 3DES, a leaf with its two CAs.
        for (name, bytes) in [
            (
                "rc2.p12",
                &include_bytes!("../../tests/fixtures/pkcs12/bouncycastle-rc2.p12")[..],
            ),
            (
                "3des.p12",
                &include_bytes!("../../tests/fixtures/pkcs12/bouncycastle-3des.p12")[..],
            ),
        ] {
            let out = load_with_password(name, bytes, Some("changeit"));
            assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
            assert_eq!(serials(&out), ["BC0FFEE01"], "{name}");
            assert_eq!(out.records[0].names(), ["bc.example", "www.bc.example"]);
            // The MAC still tells a wrong or missing password.
            for (password, says) in [
                (None, "with a password: give it in the environment variable CERTSWEEP_PKCS12_PASSWORD"),
                (Some("wrong"), "that the password in CERTSWEEP_PKCS12_PASSWORD does not open"),
            ] {
                let out = load_with_password(name, bytes, password);
                assert!(out.records.is_empty(), "{name}");
                assert_eq!(out.errors.len(), 1, "{name}: {:?}", out.errors);
                assert!(out.errors[0].reason.contains(says), "{name}: {:?}", out.errors);
            }
            // A damaged store is named as one, with the reader's reason.
            let cut = &bytes[..bytes.len() / 2];
            let out = load_with_password(name, cut, Some("changeit"));
            assert!(
                out.errors[0]
                    .reason
                    .contains("PKCS#12 store (.pfx, .p12) that cannot be read"),
                "{name}: {:?}",
                out.errors
            );
        }
    }

    /// A certs-only PKCS#7 bundle of `ders`, as `openssl crl2pkcs7 -nocrl` or a Windows
    /// `.p7b` export makes it.
    #[test]
    fn a_pkcs7_bundle_gives_its_end_entity_certificate_binary_or_pem() {
        let pki = crate::fleet::Pki::new("P7b").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["p7.example.com"],
                0x53,
                1,
                90,
            ))
            .unwrap();
        let bundle = crate::stores::p7b(&[&leaf.chain[1], &leaf.chain[0]]);
        let serial = |out: &Loaded| -> Vec<String> {
            out.records
                .iter()
                .filter_map(|r| r.serial.as_ref().map(|s| s.canonical.clone()))
                .collect()
        };
        // Binary, as Windows exports it: the leaf, not the intermediate beside it.
        let out = load("chain.p7b", &bundle);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(serial(&out), ["8A0000000000000053"]);
        // PEM, after a key block: named by the line its block begins on.
        let text = format!(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
            pem::encode(&pem::Pem::new("PKCS7", bundle.clone()))
        );
        let out = load("chain.p7b", text.as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(serial(&out), ["8A0000000000000053"]);
        assert_eq!(out.records[0].record_id.as_ref(), "chain.p7b:4");
        // A PKCS7 block of something else is named.
        let text = pem::encode(&pem::Pem::new("PKCS7", vec![0x30, 0x03, 0x02, 0x01, 0x01]));
        let out = load("bad.p7b", text.as_bytes());
        assert!(out.records.is_empty());
        assert_eq!(out.errors[0].line, 1);
        assert!(
            out.errors[0].reason.starts_with("PKCS7 block"),
            "{:?}",
            out.errors
        );
    }

    #[test]
    fn a_pem_file_gives_its_end_entity_certificates_as_records() {
        // What a deployment pipeline has at hand: the full chain it deployed, maybe with its
        // key in the same file.
        let pki = crate::fleet::Pki::new("Pem").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["www.example.com"],
                0x51,
                1,
                90,
            ))
            .unwrap();
        let block = |der: &[u8]| pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
        let text = format!(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}{}\
             -----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
            block(&leaf.chain[1]),
            block(&leaf.chain[0]),
        );
        // Lines of the certificate blocks: the intermediate's, the leaf's, the broken one's.
        let begins: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == "-----BEGIN CERTIFICATE-----")
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let out = load("fullchain.pem", text.as_bytes());
        assert_eq!(out.records.len(), 1, "{:?}", out.errors);
        let r = &out.records[0];
        assert_eq!(
            r.serial.as_ref().map(|s| s.canonical.as_str()),
            Some(leaf.serial_hex.as_str())
        );
        assert_eq!(r.line, begins[1]);
        assert_eq!(&*r.record_id, format!("fullchain.pem:{}", begins[1]));
        assert_eq!(r.sans, ["www.example.com"]);
        assert_eq!(
            r.issuer_spki_sha256,
            Some(Box::new(key_hash(&leaf.chain[1])))
        );
        // Its purposes: the test leaves are for serverAuth alone.
        assert_eq!(r.extended_key_usage, Some(1));
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].line, begins[2]);
        // The sample in targets/: its leaf, not its CA.
        let sample = include_bytes!("../../targets/fullchain.pem");
        let out = load("fullchain.pem", sample);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(serials(&out), ["E85F3A2"]);
        // Its key's hash, which a renewal's TLSA record is looked for by.
        assert!(out.records[0].spki_sha256.is_some());
        // The same chain in a Kubernetes TLS secret, as `kubectl get secrets -o json`
        // lists it.
        let out = load(
            "k8s-tls-secrets.json",
            include_bytes!("../../targets/k8s-tls-secrets.json"),
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(
            out.records[0].serial.as_ref().map(|s| s.canonical.as_str()),
            Some("E85F3A2")
        );
        // Its PKCS#12 twin (certificates only, no password), as `openssl pkcs12 -export
        // -nokeys` writes it.
        let out = load(
            "fullchain.p12",
            include_bytes!("../../targets/fullchain.p12"),
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.records.len(), 1);
        assert_eq!(
            out.records[0].serial.as_ref().map(|s| s.canonical.as_str()),
            Some("E85F3A2")
        );
        // A file with no certificate says so.
        let out = load(
            "key.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        assert!(out.records.is_empty());
        assert_eq!(
            out.errors[0].reason,
            "no end-entity certificate in the PEM file"
        );
        // Nor does a CA bundle.
        let ca = pki.root_pem();
        let out = load("roots.pem", ca.as_bytes());
        assert!(out.records.is_empty());
        assert_eq!(
            out.errors[0].reason,
            "no end-entity certificate in the PEM file"
        );
        // A server's self-signed certificate as `openssl req -x509 -subj /CN=host` makes it,
        // marked as a CA: the record, when it is the file's only certificate and named as a
        // host.
        let self_signed = |cn: &str| {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().pem()
        };
        let out = load("internal.pem", self_signed("wiki.corp.example").as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.records[0].cn.as_deref(), Some("wiki.corp.example"));
        let two = self_signed("wiki.corp.example") + &self_signed("git.corp.example");
        // A root named like a host, its key usage saying it signs certificates.
        let root = {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "ca.corp.example");
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().pem()
        };
        for (name, text) in [
            ("root.pem", self_signed("Corp Root CA")),
            ("two.pem", two),
            ("host-named-root.pem", root),
        ] {
            let out = load(name, text.as_bytes());
            assert!(out.records.is_empty(), "{name}");
            assert_eq!(
                out.errors[0].reason,
                "no end-entity certificate in the PEM file"
            );
        }
    }

    #[test]
    fn records_marked_issued_without_anything_to_match_them_by_are_told() {
        // AWS ACM's list-certificates: names, dates and status, no serial.
        let list = serde_json::json!({"CertificateSummaryList": [
            {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/a", "DomainName": "a.example",
             "Status": "ISSUED", "NotAfter": "2027-01-31T23:59:59+00:00"},
            {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/b", "DomainName": "b.example",
             "Status": "ISSUED", "NotAfter": "2027-02-28T23:59:59+00:00"},
            {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/c", "DomainName": "c.example",
             "Status": "PENDING_VALIDATION"}
        ]});
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acm.json");
        std::fs::write(&path, list.to_string()).unwrap();
        let out = load_files(&[&path], &ReadOptions::default());
        assert_eq!(out.records.len(), 3);
        assert!(out
            .records
            .iter()
            .all(|r| r.status == RecordStatus::Pending));
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].starts_with(&format!(
                "{}: 2 records marked issued have no serial, fingerprint or certificate",
                path.display()
            )),
            "{:?}",
            out.warnings
        );
        // A CERTInext row before issuance says pending: nothing to tell.
        let path = dir.path().join("orders.json");
        std::fs::write(
            &path,
            r#"[{"orderNumber": "O1", "domainName": "a.example", "certificateSerialNumber": "",
                 "certificateStatus": "Pending for Approver"}]"#,
        )
        .unwrap();
        assert!(load_files(&[&path], &ReadOptions::default())
            .warnings
            .is_empty());
    }

    #[test]
    fn certificates_kept_in_base64_by_their_api_are_read() {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let pki = crate::fleet::Pki::new("B64").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["shop.example.com"],
                0x79,
                10,
                80,
            ))
            .unwrap();
        let chain: String = leaf
            .chain
            .iter()
            .rev()
            .map(|d| pem::encode(&pem::Pem::new("CERTIFICATE", d.to_vec())))
            .collect();
        // `kubectl get secrets -o json`: a list of TLS secrets, `data.tls.crt` the chain's
        // PEM in base64 (intermediate first here); the key beside it is never read.
        let secrets = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "shop-tls", "namespace": "shop"},
            "data": {"tls.crt": b64(chain.as_bytes()), "tls.key": b64(b"secret")}
        }]});
        // Another secret in the list: named for what it is, with how to list TLS ones.
        let mut with_token = secrets.clone();
        with_token["items"].as_array_mut().unwrap().push(
            serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "default-token"}, "data": {"token": "AAAA"}}),
        );
        let out = load("all-secrets.json", with_token.to_string().as_bytes());
        assert_eq!(out.records.len(), 1);
        assert!(
            out.errors[0].reason.starts_with(
                "a Kubernetes secret of type kubernetes.io/service-account-token, with no certificate"
            ),
            "{:?}",
            out.errors
        );
        // Azure Key Vault's certificate (`az keyvault certificate show`): `cer`, the DER.
        let vault = serde_json::json!({
            "id": "https://v.vault.azure.net/certificates/shop/0a1b",
            "cer": b64(&leaf.chain[0]),
            "x509ThumbprintHex": "00",
            "attributes": {"enabled": true}
        });
        for (name, doc) in [("secrets.json", secrets), ("vault.json", vault)] {
            let out = load(name, doc.to_string().as_bytes());
            assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
            assert_eq!(out.records.len(), 1, "{name}");
            assert_eq!(
                out.records[0].serial.as_ref().map(|s| s.canonical.clone()),
                Some(leaf.serial_hex.clone()),
                "{name}"
            );
            assert_eq!(out.records[0].sans, ["shop.example.com"], "{name}");
        }
        // Base64 of nothing that is a certificate: said, not an empty chain.
        let row = serde_json::json!([{"orderNumber": "O", "chainPem": b64(b"hello")}]);
        let out = load("x.json", row.to_string().as_bytes());
        assert!(
            out.errors[0].reason.contains("no certificate in the chain"),
            "{:?}",
            out.errors
        );
    }

    /// SHA-256 of a certificate's key.
    fn key_hash(der: &[u8]) -> [u8; 32] {
        let (_, x) = x509_parser::parse_x509_certificate(der).unwrap();
        let d = ring::digest::digest(&ring::digest::SHA256, x.public_key().raw);
        d.as_ref().try_into().unwrap()
    }

    #[test]
    fn the_issuers_key_is_read_from_the_chain_beside_the_certificate() {
        // What a `2 1 1` TLSA record for the renewal's CA would pin: its key, when the row
        // carries the CA's certificate, in the certificate cell or a chain cell beside it.
        let pki = crate::fleet::Pki::new("IssuerKey").unwrap();
        let renewed = crate::fleet::Pki::new("IssuerKey").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["a.example.com"],
                0x78,
                10,
                80,
            ))
            .unwrap();
        let block = |der: &[u8]| {
            pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec())).replace("\r\n", "\\n")
        };
        let (l, i) = (block(&leaf.chain[0]), block(&leaf.chain[1]));
        // The same CA name with another key (a CA renewed with a new key) issued nothing
        // here.
        let same_name = block(&renewed.intermediate.cert);
        let rows = [
            (format!("{l}{i}"), String::new()),
            (l.clone(), i.clone()),
            (l.clone(), format!("{same_name}{i}")),
            (l.clone(), String::new()),
            (l.clone(), same_name.clone()),
            (l.clone(), "not a chain".into()),
        ];
        let mut csv = String::from("Certificate ID,Certificate,Chain\n");
        for (n, (cert, chain)) in rows.iter().enumerate() {
            csv.push_str(&format!("R{n},\"{cert}\",\"{chain}\"\n"));
        }
        let out = load("i.csv", csv.as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let keys: Vec<Option<[u8; 32]>> = out
            .records
            .iter()
            .map(|r| r.issuer_spki_sha256.as_deref().copied())
            .collect();
        let k = Some(key_hash(&leaf.chain[1]));
        assert_eq!(keys, [k, k, k, None, None, None]);
        assert!(out.records.iter().all(|r| r.spki_sha256.is_some()));
    }

    #[test]
    fn chain_pem_alone_gives_the_leaf() {
        let pki = crate::fleet::Pki::new("Chain").unwrap();
        let leaf = pki
            .issue(&crate::fleet::LeafSpec::new(
                &["shop.example.com"],
                0x77,
                10,
                80,
            ))
            .unwrap();
        // Intermediate first, then the leaf: the order of download outputs varies.
        let mut chain = String::new();
        for der in leaf.chain.iter().rev() {
            chain.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec())));
        }
        let row = serde_json::json!([{
            "orderNumber": "ORD9", "domainName": "shop.example.com",
            "certificateSerialNumber": "", "chainPem": chain
        }]);
        let out = load("c.json", row.to_string().as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let r = &out.records[0];
        assert!(r.from_pem);
        assert_eq!(
            r.serial.as_ref().map(|s| s.canonical.clone()),
            Some(leaf.serial_hex.clone())
        );
        assert_eq!(r.sans, ["shop.example.com"]);
        assert_eq!(
            r.issuer_spki_sha256,
            Some(Box::new(key_hash(&leaf.chain[1])))
        );
        assert_eq!(r.key_family, Some(crate::model::KeyFamily::Ecdsa));
        use crate::model::KeyFamily::{Ecdsa, Rsa};
        for (v, want) in [
            ("RSA 2048", Some(Rsa)),
            ("rsaEncryption", Some(Rsa)),
            ("1.2.840.113549.1.1.1", Some(Rsa)),
            ("RSASSA-PSS", Some(Rsa)),
            ("ECC", Some(Ecdsa)),
            ("ECDSA_P256", Some(Ecdsa)),
            ("Elliptic Curve (P-256)", Some(Ecdsa)),
            ("id-ecPublicKey", Some(Ecdsa)),
            ("1.2.840.10045.2.1", Some(Ecdsa)),
            ("nistp384", Some(Ecdsa)),
            ("Ed25519", None),
            ("DSA", None),
        ] {
            assert_eq!(key_family(v), want, "{v}");
        }
        // An RSA leaf's PEM gives its key type over a column that says otherwise.
        let rsa = pki
            .issue(&crate::fleet::LeafSpec::new(&["rsa.example.com"], 0x78, 10, 80).with_rsa())
            .unwrap();
        let row = serde_json::json!([{
            "orderNumber": "ORD8", "domainName": "rsa.example.com",
            "certificatePem": rsa.pem, "keyAlgorithm": "EC"
        }]);
        let out = load("r.json", row.to_string().as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(
            out.records[0].key_family,
            Some(crate::model::KeyFamily::Rsa)
        );
    }

    #[test]
    fn certificates_and_exports_are_told_from_target_lists() {
        use super::{looks_like_records, not_a_target_list};
        let pem = b"\n-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert_eq!(not_a_target_list(pem), Some("it holds PEM certificates"));
        for json in [
            &b"{\"content\": []}"[..],
            b"[\n  {\"a\": 1}]",
            b"\xef\xbb\xbf[]",
            b"[ \"x\" ]",
        ] {
            assert_eq!(
                not_a_target_list(json),
                Some("it is JSON, as CLM exports are")
            );
        }
        // Target lists, whatever they open with.
        for list in [
            &b"[::1]:443\n"[..],
            b"[2001:db8::1]:8443\n",
            b"www.example.com\n",
            b"host,port\na.example,443\n",
            b"Hostname,Serial Number\na.example,0A\n",
            b"",
        ] {
            assert_eq!(
                not_a_target_list(list),
                None,
                "{}",
                String::from_utf8_lossy(list)
            );
        }
        // A CSV export: said once the list gave nothing usable.
        assert!(looks_like_records(b"Certificate ID;Common Name;Serial Number\n").is_some());
        assert!(looks_like_records(b"\"certificateSerialNumber\",\"domainName\"\n").is_some());
        assert_eq!(looks_like_records(b"Name,Owner\nx,y\n"), None);
    }
}
