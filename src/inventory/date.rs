//! Dates as CLM exports write them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// How to read `a/b/yyyy` dates, which are ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashOrder {
    /// Day first (dd/mm/yyyy).
    DayFirst,
    /// Month first (mm/dd/yyyy).
    MonthFirst,
}

impl std::fmt::Display for SlashOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            SlashOrder::DayFirst => "day-first",
            SlashOrder::MonthFirst => "month-first",
        })
    }
}

/// A parsed instant; `date_only` when the source gave no time of day (compare ±1 day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    /// Unix seconds, UTC.
    pub unix: i64,
    /// The source gave only a date.
    pub date_only: bool,
}

impl When {
    /// Whether two instants agree, with a day of tolerance if either is date-only.
    pub fn agrees(&self, unix: i64) -> bool {
        let tol = if self.date_only { 86_400 + 1 } else { 1 };
        (self.unix - unix).abs() <= tol
    }

    /// The value read as the local time of a machine `offset` seconds east of UTC, when its
    /// writing `raw` gives a time of day and names no zone (PowerShell's `Export-Csv` and
    /// `certutil` write the exporting machine's local time); otherwise as it is.
    pub fn at_offset(self, raw: &str, offset: i64) -> When {
        if offset == 0 || self.date_only || names_zone(raw) {
            return self;
        }
        When {
            unix: self.unix - offset,
            ..self
        }
    }

    /// The last second the value can mean: the end of its day when only a date was given
    /// (a notAfter written `2026-05-28` may be any time that day).
    pub fn last_second(&self) -> i64 {
        if self.date_only {
            self.unix + 86_399
        } else {
            self.unix
        }
    }
}

/// Parses ISO 8601 (any fraction or offset, `+05:30` or `+0530`), `YYYY-MM-DD HH:MM:SS`
/// (UTC, or with a `UTC`/`GMT` word), date-only, epoch seconds or milliseconds, Excel serial
/// dates, ASN.1's `20260728100706Z` and `260728100706Z`, OpenSSL's `Jul 28 10:07:06 2026 GMT`, RFC 2822 (`Tue, 28 Jul 2026 10:07:06 GMT`),
/// `28-Jul-2026`, `Jul 28, 2026`, dotted dates (`28.07.2026`, day first as every locale that writes them
/// does; `2026.07.28`), `2026/07/28`, and slash dates (with a 24- or 12-hour time) in the
/// order `slash` declares, or without it when their own numbers settle it (a day over 12).
pub fn parse_date(raw: &str, slash: Option<SlashOrder>) -> Result<Option<When>, String> {
    let t = raw.trim();
    // `N/A`, `-`, `TBD`: an order not yet issued has no dates, and exports say so in words.
    if t.is_empty() || crate::csvlines::says_none(t) {
        return Ok(None);
    }
    // A zone word after a date and time (SQL, Python, OpenSSL write them): UTC all the same.
    for word in [" UTC", " GMT", " utc", " gmt"] {
        if let Some(rest) = t.strip_suffix(word).filter(|r| r.contains(':')) {
            return parse_date(rest, slash)
                .map_err(|_| format!("date \"{raw}\" is not in a known format ({KNOWN})"));
        }
    }
    let full = |unix| {
        Ok(Some(When {
            unix,
            date_only: false,
        }))
    };
    if let Ok(d) = OffsetDateTime::parse(t, &Rfc3339) {
        return full(d.unix_timestamp());
    }
    // RFC 3339 wants a zone; CLM exports often omit it and mean UTC, or use a space (before
    // the offset too: Java's `yyyy-MM-dd HH:mm:ss Z`, Go's `2026-07-28 10:07:06 +0000 UTC`).
    let spaced = offset_joined(&t.replacen(' ', "T", 1));
    let zoned = if spaced.ends_with('Z') {
        spaced.clone()
    } else if has_offset(&spaced) {
        colon_offset(&spaced)
    } else {
        format!("{spaced}Z")
    };
    if let Ok(d) = OffsetDateTime::parse(&zoned, &Rfc3339) {
        return full(d.unix_timestamp());
    }
    let no_secs = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    if let Ok(d) = PrimitiveDateTime::parse(spaced.trim_end_matches('Z'), &no_secs) {
        return full(d.assume_utc().unix_timestamp());
    }
    if let Ok(d) = Date::parse(t, &format_description!("[year]-[month]-[day]")) {
        return Ok(Some(When {
            unix: d.midnight().assume_utc().unix_timestamp(),
            date_only: true,
        }));
    }
    if let Some(w) = excel_serial(t) {
        return Ok(Some(w));
    }
    if let Some(w) = asn1_time(t) {
        return w.map(Some).map_err(|e| format!("date \"{raw}\": {e}"));
    }
    if let Some(numeric) = whole_number(t) {
        let n: i64 = numeric
            .parse()
            .map_err(|_| format!("date \"{raw}\" is out of range"))?;
        return match numeric.len() {
            9 | 10 => full(n),
            12 | 13 => full(n / 1000),
            _ => Err(format!(
                "date \"{raw}\" is a number but not epoch seconds or milliseconds"
            )),
        };
    }
    if let Some(w) = written_out(t) {
        return Ok(Some(w));
    }
    if let Some(w) = year_first_or_dotted(t) {
        return w.map(Some);
    }
    if t.contains('/') {
        return parse_slash(t, slash).map(Some);
    }
    // ISO's shape with numbers no calendar has (`2027-13-45`): say which, not that the
    // writing is unknown.
    let head = t.get(..10).unwrap_or(t);
    let shape = head.len() == 10
        && head
            .bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 4 | 7) == (b == b'-') && (b == b'-' || b.is_ascii_digit()));
    if shape {
        if let Err(e) = Date::parse(head, &format_description!("[year]-[month]-[day]")) {
            return Err(format!("date \"{raw}\": {e}"));
        }
    }
    Err(format!("date \"{raw}\" is not in a known format ({KNOWN})"))
}

/// The digits of a number written as a count (epoch seconds or milliseconds), with a
/// fraction as a float writes it (`1785233226.512`, Python's `time.time()`;
/// `1785233226512.0`): the whole ones. `None` for anything else.
fn whole_number(t: &str) -> Option<&str> {
    let whole = match t.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        _ => t,
    };
    (!whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit())).then_some(whole)
}

/// Whether a date's writing says its zone: an offset after the time of day, `Z`, `UTC` or
/// `GMT`, or a count of seconds since the epoch (UTC by its definition). Excel's serial
/// dates do not: a spreadsheet has no zone.
pub fn names_zone(raw: &str) -> bool {
    let t = raw.trim();
    if excel_serial(t).is_some() {
        return false;
    }
    if whole_number(t).is_some() {
        return true;
    }
    if t.ends_with(['Z', 'z']) {
        return true;
    }
    let upper = t.to_ascii_uppercase();
    if upper.split([' ', ',']).any(|w| w == "UTC" || w == "GMT") {
        return true;
    }
    // An offset follows the time of day (`…T10:07:06+05:30`, `… 10:07:06 -0400`); a date's
    // own hyphens come before it.
    t.find(':')
        .is_some_and(|clock| t[clock..].contains(['+', '-']))
}

/// The writings named when a date is none of them.
const KNOWN: &str = "ISO 8601, YYYY-MM-DD HH:MM:SS, epoch, Excel serial, 20260728100706Z, 28-Jul-2026, Jul 28, 2026, Jul 28 10:07:06 2026, 28.07.2026, dd/mm/yyyy or mm/dd/yyyy";

/// An ISO 8601 basic offset (`+0530`) written the extended way RFC 3339 wants (`+05:30`).
fn colon_offset(s: &str) -> String {
    let b = s.as_bytes();
    let n = b.len();
    if n > 5 && matches!(b[n - 5], b'+' | b'-') && b[n - 4..].iter().all(u8::is_ascii_digit) {
        format!("{}:{}", &s[..n - 2], &s[n - 2..])
    } else {
        s.to_string()
    }
}

/// A date with the month's English name: OpenSSL's `Jul 28 10:07:06 2026` (`-enddate`, its
/// zone word already gone), RFC 2822's `Tue, 28 Jul 2026 10:07:06 +0000`, Java's
/// `Tue Jul 28 10:07:06 UTC 2026`, and the spreadsheet's `28-Jul-2026` (with a time after
/// it or not).
fn written_out(t: &str) -> Option<When> {
    use time::format_description::well_known::Rfc2822;
    // The time crate reads an offset `-00MM` as `+00MM`, the sign going with the hour
    // (time-rs/time#522): such an offset is read as `+0000` and its minutes added here.
    let (t2822, west) = match t.rsplit_once(' ') {
        Some((head, zone))
            if zone.len() == 5
                && zone.starts_with("-00")
                && zone[3..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            let minutes: i64 = zone[3..].parse().unwrap_or(0);
            (
                std::borrow::Cow::Owned(format!("{head} +0000")),
                minutes * 60,
            )
        }
        _ => (std::borrow::Cow::Borrowed(t), 0),
    };
    if let Ok(d) = OffsetDateTime::parse(&t2822, &Rfc2822) {
        return Some(When {
            unix: d.unix_timestamp() + west,
            date_only: false,
        });
    }
    // OpenSSL pads a one-digit day with a space ("Jul  8").
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = |d: PrimitiveDateTime| When {
        unix: d.assume_utc().unix_timestamp(),
        date_only: false,
    };
    let openssl = format_description!(
        "[month repr:short case_sensitive:false] [day padding:none] [hour]:[minute]:[second] [year]"
    );
    if let Ok(d) = PrimitiveDateTime::parse(&t, &openssl) {
        return Some(at(d));
    }
    // Java's Date.toString (keytool -list -v: "Tue Jul 28 10:07:06 UTC 2026"), in UTC only:
    // other zone abbreviations are ambiguous (IST is India's, Ireland's and Israel's).
    let words: Vec<&str> = t.split(' ').collect();
    if let [w, m, d, clock, "UTC" | "GMT", y] = words[..] {
        let java = format_description!(
            "[weekday repr:short case_sensitive:false] [month repr:short case_sensitive:false] [day padding:none] [hour]:[minute]:[second] [year]"
        );
        if let Ok(d) = PrimitiveDateTime::parse(&format!("{w} {m} {d} {clock} {y}"), &java) {
            return Some(at(d));
        }
    }
    let rfc2822_in_gmt = format_description!(
        "[weekday repr:short case_sensitive:false], [day padding:none] [month repr:short case_sensitive:false] [year] [hour]:[minute]:[second]"
    );
    if let Ok(d) = PrimitiveDateTime::parse(&t, &rfc2822_in_gmt) {
        return Some(at(d));
    }
    // US long dates of reports and spreadsheets: `Jul 28, 2026`, `July 28, 2026`, a time
    // after them or not (`Jul 28, 2026, 10:07 AM`).
    if let [m, d, y, clock @ ..] = &words[..] {
        if let Some(d) = d.strip_suffix(',') {
            let us = [
                format_description!(
                    "[month repr:short case_sensitive:false] [day padding:none] [year]"
                ),
                format_description!(
                    "[month repr:long case_sensitive:false] [day padding:none] [year]"
                ),
            ];
            let y = y.trim_end_matches(',');
            if let Some(date) = us
                .iter()
                .find_map(|f| Date::parse(&format!("{m} {d} {y}"), f).ok())
            {
                let clock = clock.join(" ");
                return with_clock(date, (!clock.is_empty()).then_some(clock.as_str())).ok();
            }
        }
    }
    let (date, clock_part) = match t.split_once(' ') {
        Some((d, c)) => (d, Some(c)),
        None => (t.as_str(), None),
    };
    let dmy =
        format_description!("[day padding:none]-[month repr:short case_sensitive:false]-[year]");
    let date = Date::parse(date, &dmy).ok()?;
    with_clock(date, clock_part).ok()
}

/// `2026/07/28` and `2026.07.28` (year first: one reading only) and `28.07.2026` (dotted
/// dates are day first wherever they are written), with a time of day after a space or
/// not. `None` when the value is none of them; an error when it is one with impossible
/// numbers.
fn year_first_or_dotted(t: &str) -> Option<Result<When, String>> {
    let (date, clock_part) = match t.split_once(' ') {
        Some((d, c)) => (d, Some(c.trim())),
        None => (t, None),
    };
    let sep = if date.contains('.') { '.' } else { '/' };
    let parts: Vec<&str> = date.trim_end_matches('.').split(sep).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let (year, month, day) = if digits(a, 4..=4) && digits(c, 1..=2) {
        (a, b, c)
    } else if sep == '.' && digits(a, 1..=2) && digits(c, 4..=4) {
        (c, b, a)
    } else {
        return None;
    };
    if !digits(month, 1..=4) {
        return None;
    }
    // The digits are checked: only the calendar can refuse them.
    let number = |s: &str| s.parse::<u16>().unwrap_or(u16::MAX);
    let read = || -> Result<When, String> {
        let month = u8::try_from(number(month))
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .ok_or("bad month")?;
        let day = u8::try_from(number(day)).map_err(|e| e.to_string())?;
        let date = Date::from_calendar_date(i32::from(number(year)), month, day)
            .map_err(|e| e.to_string())?;
        with_clock(date, clock_part)
    };
    Some(read().map_err(|e| format!("date \"{t}\": {e}")))
}

/// `date` at the time of day `clock` (24-hour or 12-hour, with or without seconds), or at
/// midnight as a date-only value.
fn with_clock(date: Date, clock: Option<&str>) -> Result<When, String> {
    let Some(tp) = clock else {
        return Ok(When {
            unix: date.midnight().assume_utc().unix_timestamp(),
            date_only: true,
        });
    };
    // US spreadsheets write a 12-hour time ("12/25/2027 10:07:06 PM").
    let tm = [
        format_description!("[hour padding:none]:[minute]:[second]"),
        format_description!("[hour padding:none]:[minute]"),
        format_description!(
            "[hour repr:12 padding:none]:[minute]:[second] [period case_sensitive:false]"
        ),
        format_description!("[hour repr:12 padding:none]:[minute] [period case_sensitive:false]"),
    ]
    .iter()
    .find_map(|f| time::Time::parse(tp, f).ok())
    .ok_or_else(|| "bad time of day".to_string())?;
    Ok(When {
        unix: PrimitiveDateTime::new(date, tm)
            .assume_utc()
            .unix_timestamp(),
        date_only: false,
    })
}

/// `s` without the space before a trailing offset (`… +0530`, `… -04:00`).
fn offset_joined(s: &str) -> String {
    match s.rsplit_once(' ') {
        Some((head, tail))
            if matches!(tail.as_bytes().first(), Some(b'+' | b'-'))
                && matches!(tail.len(), 5 | 6)
                && tail[1..].bytes().filter(|b| *b != b':').count() == 4
                && tail[1..].bytes().all(|b| b.is_ascii_digit() || b == b':') =>
        {
            format!("{head}{tail}")
        }
        _ => s.to_string(),
    }
}

fn has_offset(s: &str) -> bool {
    // …T10:07:06+05:30 or -0400 after the time part.
    s.rsplit_once('T')
        .map(|(_, time)| time.contains('+') || time.contains('-'))
        .unwrap_or(false)
}

/// Excel's serial dates (days since 1899-12-30, a fraction for the time of day), as a
/// spreadsheet saved to CSV without a date format writes them. Only 1970 to 2099
/// (25,569 to 73,050), so that no other number passes for one.
fn excel_serial(t: &str) -> Option<When> {
    let (days, fraction) = match t.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if days.len() != 5 || !digits(days) || !fraction.is_none_or(digits) {
        return None;
    }
    let days: i64 = days.parse().ok()?;
    if !(25_569..=73_050).contains(&days) {
        return None;
    }
    let seconds = match fraction {
        Some(f) => (format!("0.{f}").parse::<f64>().ok()? * 86_400.0).round() as i64,
        None => 0,
    };
    Some(When {
        unix: (days - 25_569) * 86_400 + seconds,
        date_only: seconds == 0,
    })
}

/// A certificate's own writing of a time, as LDAP directories, OpenSSL's CA database
/// (`index.txt`) and ASN.1 dumps give it: GeneralizedTime `20260728100706Z` (a fraction
/// may follow the seconds) and UTCTime `260728100706Z` (years 50 to 99 are 19xx, as
/// RFC 5280 reads them). `None` when the value is neither; an error when it is one with
/// impossible numbers.
fn asn1_time(t: &str) -> Option<Result<When, String>> {
    let body = t.strip_suffix('Z')?;
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || (body.contains('.') && fraction.is_empty()) {
        return None;
    }
    let full = match whole.len() {
        14 => whole.to_string(),
        12 if fraction.is_empty() => {
            let century = if whole[..2] >= *"50" { "19" } else { "20" };
            format!("{century}{whole}")
        }
        _ => return None,
    };
    let f = format_description!("[year][month][day][hour][minute][second]");
    Some(
        PrimitiveDateTime::parse(&full, &f)
            .map(|d| When {
                unix: d.assume_utc().unix_timestamp(),
                date_only: false,
            })
            .map_err(|e| e.to_string()),
    )
}

/// The numbers of an `a/b/yyyy` date (a time of day may follow after a space).
fn slash_numbers(t: &str) -> Option<(u8, u8, i32)> {
    let date_part = t.split_once(' ').map_or(t, |(d, _)| d);
    let mut parts = date_part.split('/');
    let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, y.parse().ok()?))
}

/// What a value's own numbers say of the order of slash dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashKind {
    /// Not a slash date read either way (another writing, or numbers no date has).
    Other,
    /// A first number over 12 can only be a day (day-first), a second one only a day
    /// (month-first).
    Settles(SlashOrder),
    /// Both numbers 12 or under: a date either way, its order has to come from elsewhere.
    Open,
}

/// Reads a value's slash numbers once, for what they say of the order.
pub fn slash_kind(raw: &str) -> SlashKind {
    match slash_numbers(raw.trim()) {
        Some((a, b, _)) if a > 12 && b <= 12 => SlashKind::Settles(SlashOrder::DayFirst),
        Some((a, b, _)) if b > 12 && a <= 12 => SlashKind::Settles(SlashOrder::MonthFirst),
        Some((a, b, _)) if (1..=12).contains(&a) && (1..=12).contains(&b) => SlashKind::Open,
        _ => SlashKind::Other,
    }
}

/// The order a slash date's own numbers settle ([`SlashKind::Settles`]).
pub fn slash_evidence(raw: &str) -> Option<SlashOrder> {
    match slash_kind(raw) {
        SlashKind::Settles(order) => Some(order),
        _ => None,
    }
}

/// Whether the value is a slash date that reads as a date either way ([`SlashKind::Open`]).
pub fn slash_open(raw: &str) -> bool {
    slash_kind(raw) == SlashKind::Open
}

fn parse_slash(t: &str, order: Option<SlashOrder>) -> Result<When, String> {
    let time_part = t.split_once(' ').map(|(_, rest)| rest.trim());
    let Some((a, b, y)) = slash_numbers(t) else {
        return Err(format!("date \"{t}\" is not a/b/yyyy"));
    };
    let order = order.or_else(|| slash_evidence(t)).ok_or_else(|| {
        format!("date \"{t}\" is a slash date: day-first or month-first must be declared (inventory map `date_order`)")
    })?;
    let (day, month) = match order {
        SlashOrder::DayFirst => (a, b),
        SlashOrder::MonthFirst => (b, a),
    };
    let month = time::Month::try_from(month).map_err(|_| format!("date \"{t}\": bad month"))?;
    let date = Date::from_calendar_date(y, month, day).map_err(|e| format!("date \"{t}\": {e}"))?;
    with_clock(date, time_part).map_err(|e| format!("date \"{t}\": {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(raw: &str) -> (i64, bool) {
        let w = parse_date(raw, None).unwrap().unwrap();
        (w.unix, w.date_only)
    }

    #[test]
    fn every_writing() {
        let t = 1_785_233_226; // 2026-07-28T10:07:06Z
        assert_eq!(u("2026-07-28 10:07:06"), (t, false));
        assert_eq!(u("2026-07-28T10:07:06Z"), (t, false));
        assert_eq!(u("2026-07-28T10:07:06"), (t, false));
        assert_eq!(u("2026-07-28T10:07:06.0000000Z"), (t, false));
        assert_eq!(u("2026-07-28T10:07:06.123+00:00"), (t, false));
        assert_eq!(u("2026-07-28T15:37:06+05:30"), (t, false));
        assert_eq!(u("2026-07-28T06:07:06-04:00"), (t, false));
        assert_eq!(u("1785233226"), (t, false));
        assert_eq!(u("1785233226000"), (t, false));
        assert_eq!(u("1785233226.0"), (t, false));
        assert_eq!(u("2026-07-28"), (t - 36_426, true));
        assert_eq!(parse_date("", None).unwrap(), None);
        // An order not yet issued, as exports write its dates: it was refused.
        for none in ["N/A", "#N/A", "-", "TBD", "null"] {
            assert_eq!(parse_date(none, None), Ok(None), "{none}");
        }
    }

    #[test]
    fn open_slash_dates_need_an_order() {
        assert!(parse_date("03/04/2026", None)
            .unwrap_err()
            .contains("declared"));
        let dm = parse_date("03/04/2026", Some(SlashOrder::DayFirst))
            .unwrap()
            .unwrap();
        let md = parse_date("04/03/2026", Some(SlashOrder::MonthFirst))
            .unwrap()
            .unwrap();
        assert_eq!(dm, md);
        assert!(dm.date_only);
        assert!(parse_date("31/31/2026", Some(SlashOrder::DayFirst)).is_err());
    }

    #[test]
    fn a_slash_date_with_a_day_over_12_settles_its_own_order() {
        assert_eq!(slash_evidence("25/12/2027"), Some(SlashOrder::DayFirst));
        assert_eq!(
            slash_evidence("12/25/2027 10:07"),
            Some(SlashOrder::MonthFirst)
        );
        assert_eq!(slash_evidence("03/04/2027"), None);
        assert_eq!(slash_evidence("31/31/2027"), None);
        assert_eq!(slash_evidence("2027-12-25"), None);
        assert!(slash_open("03/04/2027") && slash_open("3/4/2027 10:07:06"));
        assert!(!slash_open("25/12/2027") && !slash_open("0/4/2027") && !slash_open("x"));
        let dm = parse_date("25/12/2027", None).unwrap().unwrap();
        let md = parse_date("12/25/2027", None).unwrap().unwrap();
        assert_eq!(dm, md);
        // A declared order still wins: 25 is no month.
        assert!(parse_date("25/12/2027", Some(SlashOrder::MonthFirst)).is_err());
    }

    #[test]
    fn twelve_hour_times_after_slash_dates() {
        let mf = Some(SlashOrder::MonthFirst);
        let t = |raw: &str| parse_date(raw, mf).unwrap().unwrap().unix;
        let evening = parse_date("25/12/2027 22:07:06", Some(SlashOrder::DayFirst))
            .unwrap()
            .unwrap();
        assert_eq!(t("12/25/2027 10:07:06 PM"), evening.unix);
        assert_eq!(t("12/25/2027 10:07:06 pm"), evening.unix);
        assert_eq!(t("12/25/2027 10:07 PM"), evening.unix - 6);
        assert_eq!(t("12/25/2027 12:00 AM"), t("12/25/2027"));
        assert_eq!(t("12/25/2027 12:00 PM"), t("12/25/2027") + 43_200);
        assert_eq!(t("12/25/2027 9:05 AM"), t("12/25/2027 09:05"));
        assert_eq!(t("12/25/2027 9:05"), t("12/25/2027") + 9 * 3600 + 300);
        assert!(
            !parse_date("12/25/2027 10:07 PM", mf)
                .unwrap()
                .unwrap()
                .date_only
        );
        assert!(parse_date("12/25/2027 13:07 PM", mf).is_err());
    }

    #[test]
    fn excel_serial_dates() {
        let t = 1_785_233_226; // 2026-07-28T10:07:06Z
        assert_eq!(u("46231"), (t - 36_426, true));
        assert_eq!(u("46231.0"), (t - 36_426, true));
        assert_eq!(u("46231.421597222"), (t, false));
        assert_eq!(u("25569"), (0, true));
        // Outside 1970-2099 a five-digit number is no date.
        assert!(parse_date("25568", None).is_err());
        assert!(parse_date("73051", None).is_err());
        assert!(parse_date("46231.", None).is_err());
        assert!(parse_date("46231.5x", None).is_err());
    }

    #[test]
    fn writings_of_other_tools_and_locales() {
        let t = 1_785_233_226; // 2026-07-28T10:07:06Z
        let day = t - 36_426;
        // ISO 8601's basic offset; zone words after a date and time.
        assert_eq!(u("2026-07-28T06:07:06-0400"), (t, false));
        assert_eq!(u("2026-07-28T15:37:06+0530"), (t, false));
        assert_eq!(u("2026-07-28 10:07:06 UTC"), (t, false));
        assert_eq!(u("2026-07-28T10:07:06 GMT"), (t, false));
        // An offset after a space (Java's `Z` pattern), Go's time.String, Python's str().
        assert_eq!(u("2026-07-28 15:37:06 +0530"), (t, false));
        assert_eq!(u("2026-07-28 06:07:06 -04:00"), (t, false));
        assert_eq!(u("2026-07-28 10:07:06 +0000 UTC"), (t, false));
        assert_eq!(u("2026-07-28 15:37:06+05:30"), (t, false));
        // US long dates: `Jul 28, 2026`, `July 28, 2026`, with a time or not.
        assert_eq!(u("Jul 28, 2026"), (day, true));
        assert_eq!(u("July 28, 2026"), (day, true));
        assert_eq!(u("Jul 28, 2026, 10:07:06 AM"), (t, false));
        assert_eq!(u("July 28, 2026 10:07:06"), (t, false));
        assert!(parse_date("Jul 32, 2026", None).is_err());
        // OpenSSL (`x509 -enddate`), with its space-padded day too; RFC 2822.
        assert_eq!(u("Jul 28 10:07:06 2026 GMT"), (t, false));
        assert_eq!(u("Jul  8 10:07:06 2026 GMT"), (t - 20 * 86_400, false));
        assert_eq!(u("Tue, 28 Jul 2026 10:07:06 GMT"), (t, false));
        assert_eq!(u("Tue, 28 Jul 2026 12:07:06 +0200"), (t, false));
        // West of Greenwich by less than an hour (the time crate alone reads it east).
        assert_eq!(u("Tue, 28 Jul 2026 09:52:06 -0015"), (t, false));
        // Java (keytool -list -v), in UTC; another zone's abbreviation is no instant.
        assert_eq!(u("Tue Jul 28 10:07:06 UTC 2026"), (t, false));
        // A certificate's own writing (LDAP, OpenSSL's index.txt).
        assert_eq!(u("20260728100706Z"), (t, false));
        assert_eq!(u("260728100706Z"), (t, false));
        assert_eq!(u("990728100706Z").0, t - 27 * 365 * 86_400 - 7 * 86_400);
        assert!(parse_date("20261328100706Z", None)
            .unwrap_err()
            .contains("20261328100706Z"));
        assert!(parse_date("Tue Jul 28 15:37:06 IST 2026", None).is_err());
        // Spreadsheets: a month's name, dotted dates (day first), year first.
        assert_eq!(u("28-Jul-2026"), (day, true));
        assert_eq!(u("28-jul-2026 10:07:06"), (t, false));
        assert_eq!(u("28.07.2026"), (day, true));
        assert_eq!(u("28.07.2026 10:07"), (t - 6, false));
        assert_eq!(u("2026.07.28."), (day, true));
        assert_eq!(u("2026/07/28 10:07:06"), (t, false));
        assert_eq!(u("2026/7/28"), (day, true));
        // Impossible numbers in such a writing say so.
        assert!(parse_date("31.02.2026", None)
            .unwrap_err()
            .contains("31.02.2026"));
        assert!(parse_date("2026/13/01", None)
            .unwrap_err()
            .contains("bad month"));
        // Not dates, still: an epoch with a fraction, a dotted version number.
        assert_eq!(u("1785233226.0"), (t, false));
        assert_eq!(u("1785233226.512"), (t, false));
        assert_eq!(u("1785233226512.25"), (t, false));
        assert_eq!(u("1785233226.00"), (t, false));
        assert!(parse_date("1.2.3", None).is_err());
    }

    #[test]
    fn a_time_without_a_zone_is_read_at_the_declared_offset() {
        let t = 1_785_233_226; // 2026-07-28T10:07:06Z
        let ist = 5 * 3600 + 1800;
        let at = |raw: &str| {
            parse_date(raw, Some(SlashOrder::MonthFirst))
                .unwrap()
                .unwrap()
                .at_offset(raw, ist)
        };
        // Local times of a machine in India: 15:37:06 there is 10:07:06 UTC.
        for local in [
            "2026-07-28 15:37:06",
            "2026-07-28T15:37:06",
            "7/28/2026 3:37:06 PM",
            "28-Jul-2026 15:37:06",
            "28.07.2026 15:37:06",
            "Jul 28, 2026, 3:37:06 PM",
        ] {
            assert_eq!(at(local).unix, t, "{local}");
        }
        // Writings that name their zone, or none of a time of day, are as they say.
        for zoned in [
            "2026-07-28T10:07:06Z",
            "2026-07-28 15:37:06 +05:30",
            "2026-07-28T06:07:06-04:00",
            "2026-07-28 10:07:06 UTC",
            "Tue, 28 Jul 2026 10:07:06 GMT",
            "Jul 28 10:07:06 2026 GMT",
            "1785233226",
            "1785233226.512",
            "20260728100706Z",
        ] {
            assert_eq!(at(zoned).unix, t, "{zoned}");
        }
        let day = at("2026-07-28");
        assert!(day.date_only);
        assert_eq!(day.unix, t - 36_426);
        // Excel's serial dates have no zone: local too.
        assert!(!names_zone("46231.5"));
    }

    #[test]
    fn bad_dates() {
        assert!(parse_date("next tuesday", None).is_err());
        let e = parse_date("2026-13-01", None).unwrap_err();
        assert!(e.contains("month") && !e.contains("known format"), "{e}");
        let e = parse_date("2026-02-30 10:00:00", None).unwrap_err();
        assert!(e.contains("day") && !e.contains("known format"), "{e}");
        assert!(parse_date("12345", None).is_err());
    }

    #[test]
    fn date_only_tolerance() {
        let w = parse_date("2026-07-28", None).unwrap().unwrap();
        assert!(w.agrees(1_785_233_226));
        assert!(!w.agrees(1_785_233_226 + 3 * 86_400));
    }

    /// `d` written with `format`, a description the time crate reads.
    fn written(d: OffsetDateTime, format: &str) -> String {
        let f = time::format_description::parse_borrowed::<2>(format).expect("a description");
        d.format(&f).expect("formattable")
    }

    #[test]
    fn generated_instants_read_back_in_every_writing() {
        use time::UtcOffset;
        // 1974 (epoch seconds have 9 digits) to 2099 (Excel serials end there).
        let (from, to) = (131_000_000i64, 4_102_444_799i64);
        for seed in 1..=3_000u64 {
            let mut rng = crate::testrng::XorShift::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let unix = from + rng.below((to - from) as u64) as i64;
            let d = OffsetDateTime::from_unix_timestamp(unix).expect("in range");
            let midnight = d.date().midnight().assume_utc().unix_timestamp();
            let no_secs = unix - i64::from(d.second());
            // An offset a zone has: whole hours, or half and three quarters past.
            let minutes = rng.below(27 * 4) as i32 * 15 - 12 * 60;
            let off = UtcOffset::from_whole_seconds(minutes * 60).expect("an offset");
            let local = d.to_offset(off);
            let ms = rng.below(1000);
            let excel_days = unix.div_euclid(86_400) + 25_569;
            let excel_secs = unix.rem_euclid(86_400);
            let full = |raw: String| (raw, unix, false);
            let mut cases: Vec<(String, i64, bool)> = vec![
                full(written(d, "[year]-[month]-[day] [hour]:[minute]:[second]")),
                full(written(d, "[year]-[month]-[day]T[hour]:[minute]:[second]Z")),
                full(format!(
                    "{}.{ms:03}Z",
                    written(d, "[year]-[month]-[day]T[hour]:[minute]:[second]")
                )),
                full(written(
                    local,
                    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]",
                )),
                full(written(
                    local,
                    "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]",
                )),
                full(written(d, "[year]-[month]-[day] [hour]:[minute]:[second] UTC")),
                full(written(d, "[year]-[month]-[day] [hour]:[minute]:[second] +0000 UTC")),
                (written(d, "[year]-[month]-[day]"), midnight, true),
                (written(d, "[year]-[month]-[day] [hour]:[minute]"), no_secs, false),
                full(unix.to_string()),
                (format!("{}", unix * 1000 + ms as i64), unix, false),
                // As floats write them.
                (format!("{unix}.{ms:03}"), unix, false),
                (format!("{}.5", unix * 1000 + ms as i64), unix, false),
                full(written(
                    d,
                    "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT",
                )),
                full(written(
                    d,
                    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
                )),
                full(written(
                    local,
                    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]",
                )),
                full(written(
                    d,
                    "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]",
                )),
                (written(d, "[day]-[month repr:short]-[year]"), midnight, true),
                full(written(
                    d,
                    "[day]-[month repr:short]-[year] [hour]:[minute]:[second]",
                )),
                (
                    written(d, "[month repr:short] [day padding:none], [year]"),
                    midnight,
                    true,
                ),
                (
                    written(
                        d,
                        "[month repr:long] [day padding:none], [year], [hour repr:12 padding:none]:[minute] [period]",
                    ),
                    no_secs,
                    false,
                ),
                (written(d, "[day].[month].[year]"), midnight, true),
                full(written(d, "[day].[month].[year] [hour]:[minute]:[second]")),
                (written(d, "[year].[month].[day]."), midnight, true),
                full(written(d, "[year]/[month]/[day] [hour]:[minute]:[second]")),
                full(written(d, "[year][month][day][hour][minute][second]Z")),
                full(format!(
                    "{}.{ms:03}Z",
                    written(d, "[year][month][day][hour][minute][second]")
                )),
                (
                    written(d, "[year]/[month padding:none]/[day padding:none]"),
                    midnight,
                    true,
                ),
            ];
            // UTCTime has two digits of year, 1950 to 2049.
            if d.year() < 2050 {
                cases.push(full(written(
                    d,
                    "[year repr:last_two][month][day][hour][minute][second]Z",
                )));
            }
            // Excel: a whole day is a date; a time of day is the day's fraction.
            if excel_secs == 0 {
                cases.push((excel_days.to_string(), unix, true));
            } else {
                let fraction = excel_secs as f64 / 86_400.0;
                let text = format!("{fraction:.10}");
                cases.push((
                    format!("{excel_days}{}", text.trim_start_matches('0')),
                    unix,
                    false,
                ));
            }
            for (raw, want, date_only) in &cases {
                let got = parse_date(raw, None);
                assert_eq!(
                    got,
                    Ok(Some(When {
                        unix: *want,
                        date_only: *date_only
                    })),
                    "seed {seed}: \"{raw}\" (of {d})"
                );
            }
            // Slash dates: read in the declared order, and in none when a day over 12
            // settles it; otherwise refused for want of one.
            let slash_orders = [
                (SlashOrder::DayFirst, "[day]/[month]/[year]"),
                (
                    SlashOrder::MonthFirst,
                    "[month padding:none]/[day padding:none]/[year]",
                ),
            ];
            for (order, date) in slash_orders {
                let clocks = [
                    ("", midnight, true),
                    (" [hour]:[minute]:[second]", unix, false),
                    (" [hour]:[minute]", no_secs, false),
                    (
                        " [hour repr:12 padding:none]:[minute]:[second] [period]",
                        unix,
                        false,
                    ),
                ];
                let (clock, want, date_only) = clocks[rng.below(4) as usize];
                let raw = written(d, &format!("{date}{clock}"));
                let want = Ok(Some(When {
                    unix: want,
                    date_only,
                }));
                assert_eq!(
                    parse_date(&raw, Some(order)),
                    want,
                    "seed {seed}: \"{raw}\""
                );
                let undeclared = parse_date(&raw, None);
                if d.day() > 12 {
                    assert_eq!(undeclared, want, "seed {seed}: \"{raw}\"");
                    assert_eq!(slash_evidence(&raw), Some(order), "seed {seed}: \"{raw}\"");
                } else if d.day() != u8::from(d.month()) {
                    assert!(
                        undeclared.as_ref().is_err_and(|e| e.contains("declared")),
                        "seed {seed}: \"{raw}\": {undeclared:?}"
                    );
                    assert!(slash_open(&raw), "seed {seed}: \"{raw}\"");
                }
            }
        }
    }
}
