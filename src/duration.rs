//! Durations as people write them on a command line: `3s`, `500ms`, `2m`, `1h`, `7d`.

use std::time::Duration;

/// Parses `500ms`, `3s`, `1.5s`, `2m`, `1h`, `7d`; a bare number means seconds.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration (try 500ms, 3s, 2m, 1h, 7d)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        other => {
            return Err(format!(
                "unknown unit \"{other}\" in \"{s}\" (ms, s, m, h, d)"
            ))
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("\"{s}\" is not a valid duration"));
    }
    // Bounded so that every later use (deadlines added to the clock, day counts as i64)
    // stays in range: an absurd value is a usage error, not a panic mid-sweep.
    if secs > MAX.as_secs_f64() {
        return Err(format!(
            "\"{s}\" is too long (at most {}d)",
            MAX.as_secs() / 86_400
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The longest duration accepted: ten years.
pub const MAX: Duration = Duration::from_secs(3650 * 86_400);

/// Like [`parse`], for timeouts and deadlines, where zero would fail every endpoint at once.
pub fn parse_positive(s: &str) -> Result<Duration, String> {
    let d = parse(s)?;
    if d.is_zero() {
        return Err(format!("\"{}\" must be longer than zero", s.trim()));
    }
    Ok(d)
}

/// Short human form: `500ms`, `3s`, `1.5s`, `2m`.
pub fn display(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_writings() {
        assert_eq!(parse("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse("7").unwrap(), Duration::from_secs(7));
        assert!(parse("3x").is_err());
        assert!(parse("").is_err());
        assert!(parse("ms").is_err());
    }

    #[test]
    fn absurd_lengths_are_errors_not_panics() {
        // Found by fuzzing: these used to panic in Duration::from_secs_f64 or, later, when
        // the deadline was added to the clock.
        for s in [
            "99999999999999999999999",
            "9999999999999999999",
            "1000000000d",
            "3651d",
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.contains("too long"), "{s}: {e}");
        }
        assert_eq!(parse("3650d").unwrap(), MAX);
        assert!(parse_positive("0s")
            .unwrap_err()
            .contains("longer than zero"));
        assert!(parse_positive("0.0001ms").is_ok());
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(display(Duration::from_millis(500)), "500ms");
        assert_eq!(display(Duration::from_secs(3)), "3s");
        assert_eq!(display(Duration::from_secs(120)), "2m");
    }
}
