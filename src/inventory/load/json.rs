//! JSON inventories: a CERTInext page, an array, JSON lines, other platforms' nested
//! objects (flattened by dotted path), read whole or, when large, record by record.

use super::*;
use serde_json::value::RawValue;

/// serde_json's message with its position as a column: the error's line is the file line
/// already (a JSON line's own position always says line 1).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let msg = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    format!("not valid JSON at column {}: {msg}", e.column())
}

type Row = Vec<(String, String)>;

fn json_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Null => Some(String::new()),
        serde_json::Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| match x {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(";"),
        ),
        serde_json::Value::Object(_) => None,
    }
}

/// A JSON record's fields, nested objects flattened to dotted paths
/// (`CertificateDetails.Serial`, as Venafi and ACM nest the certificate's facts) and an array
/// of objects to one `;`-list per member (`instances.hostname`: `a;b`).
fn json_row(v: &serde_json::Value) -> Option<Row> {
    let obj = v.as_object()?;
    let mut row = Row::new();
    flatten_into(&mut row, "", obj);
    Some(row)
}

fn flatten_into(row: &mut Row, prefix: &str, obj: &serde_json::Map<String, serde_json::Value>) {
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten_into(row, &path, inner),
            serde_json::Value::Array(items) if items.iter().any(|x| x.is_object()) => {
                // Each member's fields, joined across the members in their order.
                let mut members = Row::new();
                for item in items.iter().filter_map(|x| x.as_object()) {
                    let mut one = Row::new();
                    flatten_into(&mut one, &path, item);
                    for (key, value) in one {
                        match members.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, all)) => {
                                all.push(';');
                                all.push_str(&value);
                            }
                            None => members.push((key, value)),
                        }
                    }
                }
                row.extend(members);
            }
            _ => {
                if let Some(s) = json_scalar(v) {
                    row.push((path, s));
                }
            }
        }
    }
}

/// The paging facts of a page object's keys, if it has them: CERTInext V2's (Spring's)
/// `page`/`number`, `totalPages`, `totalElements`; V1's `currentPage`, `noOfPages`,
/// `totalNoOfResults`; Venafi's record counts (`TotalCount`, `count`).
fn page_of(
    file: &str,
    keys: &std::collections::HashMap<String, &RawValue>,
    records: usize,
) -> Option<Page> {
    let num = |names: &[&str]| {
        names.iter().find_map(|k| {
            let v: serde_json::Value = serde_json::from_str(keys.get(*k)?.get()).ok()?;
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let numbered = num(&["page", "number", "currentPage"]).zip(num(&["totalPages", "noOfPages"]));
    // Spring's page says whether it is the first one, and numbers from 0 by default.
    let first = keys
        .get("first")
        .and_then(|v| serde_json::from_str::<bool>(v.get()).ok());
    let base = match (numbered, first) {
        (Some((n, _)), Some(true)) => Some(n),
        (Some(_), _) if !keys.contains_key("page") && keys.contains_key("number") => Some(0),
        _ => None,
    };
    let total_records = num(&[
        "totalElements",
        "totalNoOfResults",
        "totalCount",
        "TotalCount",
        "count",
    ]);
    (numbered.is_some() || total_records.is_some()).then(|| Page {
        file: file.into(),
        numbered,
        base,
        total_records,
        records,
    })
}

/// Records with the file line each begins on.
type LinedRecords<'t> = Vec<(u64, &'t RawValue)>;

/// An object's members, their values unparsed.
type Members<'t> = std::collections::HashMap<String, &'t RawValue>;

/// Whether a JSON value is an array of objects (or an empty array): a list of records.
fn is_object_list(v: &RawValue) -> bool {
    v.get()
        .strip_prefix('[')
        .map(str::trim_start)
        .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(']'))
}

/// The list of records of an object no known page shape names, and the object holding it
/// (for its paging facts): its one member that is an array of objects (Azure Key Vault's
/// `value`, DigiCert's `orders`, ACM's `CertificateSummaryList`), looked for through
/// wrappers of one object (`{"result": {"items": [...]}}`). None when the object is a
/// record itself (a field certsweep reads at its top: a certificate's details beside a
/// list of its domains) or holds no list; an error when it holds several.
fn unnamed_list<'t>(
    mut obj: Members<'t>,
    opts: &ReadOptions,
) -> Result<Option<(Members<'t>, &'t RawValue)>, String> {
    for _ in 0..4 {
        let is_record = obj.iter().any(|(k, v)| {
            opts.field_of(k).is_some() && !is_object_list(v) && !v.get().starts_with('{')
        });
        if is_record {
            return Ok(None);
        }
        let mut lists: Vec<(&String, &'t RawValue)> = obj
            .iter()
            .filter(|(_, v)| is_object_list(v))
            .map(|(k, v)| (k, *v))
            .collect();
        if lists.len() > 1 {
            // An empty list beside the records (`errors: []`) is no rival.
            lists.retain(|(_, v)| !v.get()[1..].trim_start().starts_with(']'));
        }
        match lists[..] {
            [(_, list)] => return Ok(Some((obj, list))),
            [] => {}
            _ => {
                let mut names: Vec<&str> = lists.iter().map(|(k, _)| k.as_str()).collect();
                names.sort_unstable();
                return Err(format!(
                    "the JSON object holds several lists of objects ({}), none under a name certsweep knows (content, data, certificates, ordersArray): give the list of certificates alone",
                    names.join(", ")
                ));
            }
        }
        let mut objects = obj.values().filter(|v| v.get().starts_with('{'));
        match (objects.next(), objects.next()) {
            (Some(inner), None) => match serde_json::from_str(inner.get()) {
                Ok(inner) => obj = inner,
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// The records of a JSON document: a top-level array, the array under a CERTInext page's
/// `content` (or `ordersArray`, `orderDetails.ordersArray`, `data`), another object's one
/// list of objects ([`unnamed_list`]), or one object. Read as raw slices first so that an
/// error names the line a person finds the record on, not its place in the array. A page
/// object's paging facts go to `pages`. The inner error is one of the whole document.
fn document_records<'t>(
    file: &str,
    top: &'t RawValue,
    opts: &ReadOptions,
    pages: &mut Vec<Page>,
) -> Result<Result<Vec<&'t RawValue>, String>, serde_json::Error> {
    let items: Vec<&RawValue> = match top.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str(top.get())?,
        Some(b'{') => {
            let obj: std::collections::HashMap<String, &RawValue> =
                serde_json::from_str(top.get())?;
            let details: Option<std::collections::HashMap<String, &RawValue>> = obj
                .get("orderDetails")
                .and_then(|d| serde_json::from_str(d.get()).ok());
            let nested = || details.as_ref()?.get("ordersArray").copied();
            let list = obj
                .get("content")
                .or_else(|| obj.get("ordersArray"))
                .copied()
                .or_else(nested)
                .or_else(|| {
                    // Venafi TPP and TLS Protect Cloud list pages.
                    ["data", "Certificates", "certificates"]
                        .iter()
                        .find_map(|k| obj.get(*k).copied())
                })
                .filter(|l| l.get().starts_with('['));
            match list {
                Some(l) => {
                    let items: Vec<&RawValue> = serde_json::from_str(l.get())?;
                    pages.extend(
                        page_of(file, &obj, items.len())
                            .or_else(|| page_of(file, details.as_ref()?, items.len())),
                    );
                    items
                }
                None => match unnamed_list(obj, opts) {
                    Ok(Some((holder, l))) => {
                        let items: Vec<&RawValue> = serde_json::from_str(l.get())?;
                        pages.extend(page_of(file, &holder, items.len()));
                        items
                    }
                    Ok(None) => vec![top],
                    Err(reason) => return Ok(Err(reason)),
                },
            }
        }
        _ => {
            return Ok(Err(
                "JSON is neither an object nor an array of records".into()
            ))
        }
    };
    Ok(Ok(items))
}

/// Each of `items` (slices of `text`, in its order) with the file line it begins on.
fn lined<'t>(text: &str, items: Vec<&'t RawValue>) -> LinedRecords<'t> {
    // Records come in file order: count newlines once, up to each record's start.
    let (base, mut at, mut line) = (text.as_ptr() as usize, 0usize, 1u64);
    let mut rows = Vec::with_capacity(items.len());
    for raw in items {
        let offset = (raw.get().as_ptr() as usize)
            .saturating_sub(base)
            .min(text.len());
        if offset >= at {
            line += text.as_bytes()[at..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            at = offset;
        }
        rows.push((line, raw));
    }
    rows
}

/// The JSON documents of a text, each with the line it begins on: the whole text when it is
/// one document; else the documents one after another, JSON lines or pretty-printed ones as
/// a shell loop of `aws acm describe-certificate`, `vault read -format=json` or `curl` over
/// an API's pages writes them, a broken one named and those after it read (see
/// [`after_breaks`]); else (a line that does not parse among JSON lines) the lines that do,
/// with an error for each that does not. `Err`: the text is one broken document, and where
/// it broke.
fn documents<'t>(
    file: &str,
    text: &'t str,
    errors: &mut Vec<InventoryError>,
) -> Result<LinedRecords<'t>, serde_json::Error> {
    let whole = match serde_json::from_str::<&RawValue>(text) {
        Ok(top) => return Ok(vec![(1, top)]),
        Err(e) => e,
    };
    let (docs, breaks) = after_breaks(text);
    let pretty = docs.iter().any(|d| d.get().contains('\n'));
    if breaks.is_empty() || pretty {
        errors.extend(breaks.into_iter().map(|(start, line, e)| {
            InventoryError::new(
                file,
                line,
                format!(
                    "{}: the document from line {start} is not read",
                    json_reason(&e)
                ),
            )
        }));
        return match docs.is_empty() {
            true => Err(whole),
            false => Ok(lined(text, docs)),
        };
    }
    // JSON lines: one object a line. When no line reads as a JSON object or list, the file
    // is one broken document: one error where it broke, not one per line.
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<&RawValue>(line) {
            Ok(v) => rows.push((i as u64 + 1, v)),
            Err(e) => bad.push(InventoryError::new(file, i as u64 + 1, json_reason(&e))),
        }
    }
    // A line of a pretty-printed document can read as JSON alone (a string in a list, a
    // closing number): JSON lines have an object or list on some line.
    if !rows.iter().any(|(_, v)| v.get().starts_with(['{', '['])) {
        return Err(whole);
    }
    errors.extend(bad);
    Ok(rows)
}

/// A document given up: the lines it starts on and breaks on, and the parser's error.
type Break = (u64, u64, serde_json::Error);

/// The documents of a text written one after another, read past broken ones: a document
/// that does not parse (a loop interrupted mid-write, an error page between answers) is
/// given up from its start to the next line that opens a document at its first column,
/// where JSON writers (jq, the AWS and Vault CLIs, `json.dumps(indent=…)`) put each
/// document's first brace and nothing else; the documents from there on are read. Also
/// returns each break.
fn after_breaks(text: &str) -> (Vec<&RawValue>, Vec<Break>) {
    let (mut docs, mut breaks) = (Vec::new(), Vec::new());
    let mut from = 0;
    // Newlines before `counted`, counted once as the breaks move through the text (a file
    // of many broken documents must not be counted again from its start for each).
    let (mut counted, mut newlines) = (0usize, 0u64);
    let mut lines_to = |end: usize| {
        newlines += memchr::memchr_iter(b'\n', &text.as_bytes()[counted..end]).count() as u64;
        counted = end;
        newlines
    };
    while from < text.len() {
        let rest = &text[from..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
        let e = loop {
            match stream.next() {
                None => return (docs, breaks),
                Some(Ok(doc)) => docs.push(doc),
                Some(Err(e)) => break e,
            }
        };
        let at = stream.byte_offset();
        let skipped = rest[at..].len() - rest[at..].trim_start().len();
        let start = from + at + skipped;
        // The parser counts lines from where this stream began.
        let broke = lines_to(from) + e.line() as u64;
        breaks.push((1 + lines_to(start), broke, e));
        // The next line after the broken document's first that begins with `{` or `[`.
        let next = text[start..]
            .match_indices('\n')
            .map(|(i, _)| start + i + 1)
            .find(|&i| matches!(text.as_bytes().get(i), Some(b'{' | b'[')));
        match next {
            Some(i) => from = i,
            None => break,
        }
    }
    (docs, breaks)
}

/// Builds the record of one JSON record's text, which begins on `line` of `file`.
fn json_record(
    file: &Arc<str>,
    line: u64,
    raw: &str,
    opts: &ReadOptions,
    slash: &mut SlashDates,
    out: &mut Loaded,
) {
    let row = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| json_row(&v));
    let Some(row) = row else {
        out.errors.push(InventoryError::new(
            &**file,
            line,
            "record is not a JSON object",
        ));
        return;
    };
    let headers: Vec<&str> = row.iter().map(|(k, _)| k.as_str()).collect();
    let profile = detect(&headers);
    // HashiCorp Vault's answer wraps the certificate's `data` with the API call's own
    // `request_id` and `lease_id`: the request's id, new on every read, is no record's.
    let vault = headers.contains(&"lease_id") && headers.iter().any(|h| h.starts_with("data."));
    let mut cells: Vec<(Option<Field>, &str, &str)> = row
        .iter()
        .filter(|(k, _)| !(vault && k == "request_id"))
        .map(|(k, v)| (opts.field_of(k), k.as_str(), v.as_str()))
        .collect();
    // A nested field no alias names by its path goes by its own name (`Certificate.NotAfter`
    // as `NotAfter`), unless a field named by its path already gives that one: an `id`
    // inside a sub-object must not become the record's id.
    // Of two nested fields with one name, the shallower: ACM's `Certificate.DomainName`, not
    // `Certificate.DomainValidationOptions.DomainName`.
    let by_path: Vec<Field> = cells.iter().filter_map(|c| c.0).collect();
    let depth = |path: &str| path.matches('.').count();
    let mut by_leaf: Vec<(Field, usize)> = Vec::new();
    for (field, path, _) in cells.iter_mut() {
        if let (None, Some((_, leaf))) = (*field, path.rsplit_once('.')) {
            *field = opts.field_of(leaf).filter(|f| !by_path.contains(f));
            if let Some(f) = *field {
                match by_leaf.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, d)) => *d = (*d).min(depth(path)),
                    None => by_leaf.push((f, depth(path))),
                }
            }
        }
    }
    for (field, path, _) in cells.iter_mut() {
        if let Some(f) = *field {
            if by_leaf.contains(&(f, depth(path))) || by_path.contains(&f) {
                continue;
            }
            *field = None;
        }
    }
    if cells.iter().all(|c| c.0.is_none()) {
        // Another platform's shape: read as a record, it would be one of nothing, counted as
        // read and silently useless (a CSV without a serial column is refused the same way).
        let mut keys: Vec<&str> = cells.iter().map(|c| c.1).collect();
        let more = keys.len().saturating_sub(12);
        keys.truncate(12);
        let value = |name: &str| cells.iter().find(|c| c.1 == name).map(|c| c.2);
        let reason = if keys.is_empty() {
            "record is an empty object".to_string()
        } else if value("kind") == Some("Secret") {
            // `kubectl get secrets -o json` lists every secret: service account tokens,
            // registry credentials, passwords.
            format!(
                "a Kubernetes secret of type {}, with no certificate (tls.crt): list the TLS secrets only (kubectl get secrets --field-selector type=kubernetes.io/tls)",
                crate::model::visible_string(value("type").unwrap_or("?").to_string())
            )
        } else {
            let mut keys = crate::model::visible_string(keys.join(", "));
            if more > 0 {
                keys.push_str(&format!(" and {more} more"));
            }
            format!(
                "record has none of the fields certsweep reads (its fields: {keys}): name them in an --inventory-map"
            )
        };
        out.errors.push(InventoryError::new(&**file, line, reason));
        return;
    }
    push_built(build(file, line, &cells, profile, opts, slash), slash, out);
}

/// How far a streamed JSON text has been read: newlines so far, and the last byte.
type ReadSoFar = std::rc::Rc<std::cell::Cell<(u64, u8)>>;

/// A reader that counts the newlines read through it, for the line a streamed record
/// begins on.
struct Lined<R> {
    inner: R,
    read: ReadSoFar,
}

impl<R: Read> Read for Lined<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(&last) = buf[..n].last() {
            let seen = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            self.read.set((self.read.get().0 + seen, last));
        }
        Ok(n)
    }
}

/// Where streamed records go, and what is needed to build them.
struct JsonSink<'a> {
    file: Arc<str>,
    opts: &'a ReadOptions,
    out: &'a mut Loaded,
    read: ReadSoFar,
    records: usize,
    slash: SlashDates,
}

impl JsonSink<'_> {
    /// One record whose text was just read (the reader stands at its last byte).
    fn record(&mut self, raw: &RawValue) {
        let text = raw.get();
        let inside = text.bytes().filter(|b| *b == b'\n').count() as u64;
        let (newlines, last) = self.read.get();
        // A number's end is found by reading the byte after it, which may be a newline.
        let past = text.ends_with(|c: char| c.is_ascii_digit()) && last == b'\n';
        // Never below the reader's count, but a bad line beats a panic.
        let line = newlines.saturating_sub(inside + u64::from(past)) + 1;
        self.records += 1;
        json_record(&self.file, line, text, self.opts, &mut self.slash, self.out);
    }
}

/// The shapes [`stream_json`] reads: an array of records, or a page object whose
/// `content` is one; any other shape is refused, for the whole text's reader.
struct Streamed<'s, 'a>(&'s mut JsonSink<'a>);

impl<'de> serde::de::Visitor<'de> for Streamed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records or a page with `content`")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.0.record(&raw);
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        let mut content = None;
        // The page's scalars, kept for its paging facts.
        let mut kept: Vec<(String, Box<RawValue>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "content" if content.is_none() => {
                    let before = self.0.records;
                    map.next_value_seed(ListOf(&mut *self.0))?;
                    content = Some(self.0.records - before);
                }
                // Shapes the whole-text reader chooses among by precedence.
                "content" | "ordersArray" | "orderDetails" | "data" => {
                    return Err(A::Error::custom("another page shape"))
                }
                "page" | "number" | "totalPages" | "totalElements" | "totalCount" | "count" => {
                    kept.push((key, map.next_value::<Box<RawValue>>()?));
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let Some(records) = content else {
            return Err(A::Error::custom("no content"));
        };
        let keys = kept.iter().map(|(k, v)| (k.clone(), &**v)).collect();
        self.0
            .out
            .pages
            .extend(page_of(&self.0.file, &keys, records));
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Streamed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A page's `content`: an array of records, nothing else.
struct ListOf<'s, 'a>(&'s mut JsonSink<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for ListOf<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(Streamed(self.0))
    }
}

/// Reads a JSON export record by record from `f`, never holding its text whole (a 68 MB
/// CERTInext page held as text beside its records was a third of the peak): an array of
/// records, or a page whose `content` is one. False, with nothing added, for any other shape,
/// a file that does not parse or has no records: the whole-text reader decides those (page
/// shapes by precedence, JSON lines, one error where a broken document breaks).
pub(super) fn stream_json(name: &str, f: &mut File, opts: &ReadOptions, out: &mut Loaded) -> bool {
    let (records, errors, pages) = (out.records.len(), out.errors.len(), out.pages.len());
    let read: ReadSoFar = Default::default();
    let reader = Lined {
        inner: BufReader::new(&mut *f),
        read: read.clone(),
    };
    let mut sink = JsonSink {
        file: name.into(),
        opts,
        out,
        read,
        records: 0,
        slash: SlashDates::default(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let read = serde::de::DeserializeSeed::deserialize(Streamed(&mut sink), &mut de)
        .and_then(|()| de.end());
    if read.is_ok() && sink.records > 0 {
        sink.slash.finish(name, sink.out, errors);
        return true;
    }
    out.records.truncate(records);
    out.errors.truncate(errors);
    out.pages.truncate(pages);
    false
}

pub(super) fn load_json(file: &str, text: &str, opts: &ReadOptions, out: &mut Loaded) {
    let errors_from = out.errors.len();
    // One copy of the file's name for all its records.
    let shared: Arc<str> = file.into();
    let docs = match documents(file, text, &mut out.errors) {
        Ok(docs) => docs,
        Err(whole) => {
            out.errors.push(InventoryError::new(
                file,
                whole.line() as u64,
                json_reason(&whole),
            ));
            return;
        }
    };
    // Each record is parsed into a tree only when its turn comes, so a large export is not
    // held as text, as trees and as records at once.
    let mut items = Vec::new();
    for (line, doc) in docs {
        match document_records(file, doc, opts, &mut out.pages) {
            Ok(Ok(records)) => items.extend(records),
            Ok(Err(reason)) => out.errors.push(InventoryError::new(file, line, reason)),
            Err(e) => out
                .errors
                .push(InventoryError::new(file, line, json_reason(&e))),
        }
    }
    let rows = lined(text, items);
    if rows.is_empty() && out.errors.len() == errors_from {
        out.errors
            .push(InventoryError::new(file, 1, "no records in the file"));
    }
    out.records.reserve(rows.len());
    let mut slash = SlashDates::default();
    for (line, raw) in rows {
        json_record(&shared, line, raw.get(), opts, &mut slash, out);
    }
    slash.finish(file, out, errors_from);
}
