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
}

/// Parses ISO 8601 (any fraction or offset), `YYYY-MM-DD HH:MM:SS` (UTC), date-only, epoch
/// seconds or milliseconds, and slash dates when `slash` declares their order.
pub fn parse_date(raw: &str, slash: Option<SlashOrder>) -> Result<Option<When>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
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
    // RFC 3339 wants a zone; CLM exports often omit it and mean UTC, or use a space.
    let spaced = t.replacen(' ', "T", 1);
    let zoned = if spaced.ends_with('Z') || has_offset(&spaced) {
        spaced.clone()
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
    let numeric = t.trim_end_matches(".0");
    if !numeric.is_empty() && numeric.chars().all(|c| c.is_ascii_digit()) {
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
    if t.contains('/') {
        return parse_slash(t, slash).map(Some);
    }
    Err(format!(
        "date \"{raw}\" is not in a known format (ISO 8601, YYYY-MM-DD HH:MM:SS, epoch)"
    ))
}

fn has_offset(s: &str) -> bool {
    // …T10:07:06+05:30 or -0400 after the time part.
    s.rsplit_once('T')
        .map(|(_, time)| time.contains('+') || time.contains('-'))
        .unwrap_or(false)
}

fn parse_slash(t: &str, order: Option<SlashOrder>) -> Result<When, String> {
    let (date_part, time_part) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim())),
        None => (t, None),
    };
    let parts: Vec<&str> = date_part.split('/').collect();
    let [a, b, y] = parts.as_slice() else {
        return Err(format!("date \"{t}\" is not a/b/yyyy"));
    };
    let (a, b, y): (u8, u8, i32) = match (a.parse(), b.parse(), y.parse()) {
        (Ok(a), Ok(b), Ok(y)) => (a, b, y),
        _ => return Err(format!("date \"{t}\" is not a/b/yyyy")),
    };
    let order = order.ok_or_else(|| {
        format!("date \"{t}\" is a slash date: day-first or month-first must be declared (inventory map `date_order`)")
    })?;
    let (day, month) = match order {
        SlashOrder::DayFirst => (a, b),
        SlashOrder::MonthFirst => (b, a),
    };
    let month = time::Month::try_from(month).map_err(|_| format!("date \"{t}\": bad month"))?;
    let date = Date::from_calendar_date(y, month, day).map_err(|e| format!("date \"{t}\": {e}"))?;
    match time_part {
        None => Ok(When {
            unix: date.midnight().assume_utc().unix_timestamp(),
            date_only: true,
        }),
        Some(tp) => {
            let tm = time::Time::parse(tp, &format_description!("[hour]:[minute]:[second]"))
                .or_else(|_| time::Time::parse(tp, &format_description!("[hour]:[minute]")))
                .map_err(|_| format!("date \"{t}\": bad time of day"))?;
            Ok(When {
                unix: PrimitiveDateTime::new(date, tm)
                    .assume_utc()
                    .unix_timestamp(),
                date_only: false,
            })
        }
    }
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
    }

    #[test]
    fn slash_dates_need_an_order() {
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
    fn bad_dates() {
        assert!(parse_date("next tuesday", None).is_err());
        assert!(parse_date("2026-13-01", None).is_err());
        assert!(parse_date("12345", None).is_err());
    }

    #[test]
    fn date_only_tolerance() {
        let w = parse_date("2026-07-28", None).unwrap().unwrap();
        assert!(w.agrees(1_785_233_226));
        assert!(!w.agrees(1_785_233_226 + 3 * 86_400));
    }
}
