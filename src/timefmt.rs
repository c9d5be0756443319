//! Time formatting shared by every report.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC with whole seconds, e.g. `2026-11-29T03:23:32Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// RFC 3339 of Unix seconds; out-of-range values are written as the bare number.
pub fn rfc3339_unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .map(rfc3339)
        .unwrap_or_else(|_| secs.to_string())
}

/// Unix seconds of an RFC 3339 time, as [`rfc3339`] writes it.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Now, as Unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A length of time as a person says it, for "expires in ..." and "expired ... ago": whole
/// days from two days up, else hours (`9 days`, `1 day`, `5 hours`, `less than an hour`).
/// Counting whole days alone said "expires in 0 days" of a certificate with hours left and
/// "expired 1 days ago" of one that lapsed this morning. Negative lengths count as none.
pub fn span(secs: i64) -> String {
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;
    match secs.max(0) {
        s if s >= 2 * DAY => format!("{} days", s / DAY),
        s if s >= DAY => "1 day".into(),
        s if s >= 2 * HOUR => format!("{} hours", s / HOUR),
        s if s >= HOUR => "1 hour".into(),
        _ => "less than an hour".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_read_as_a_person_says_them() {
        assert_eq!(span(9 * 86_400 + 5), "9 days");
        assert_eq!(span(2 * 86_400), "2 days");
        assert_eq!(span(86_400 + 7_200), "1 day");
        assert_eq!(span(5 * 3_600 + 59), "5 hours");
        assert_eq!(span(3_600), "1 hour");
        assert_eq!(span(59), "less than an hour");
        assert_eq!(span(-10), "less than an hour");
    }
}
