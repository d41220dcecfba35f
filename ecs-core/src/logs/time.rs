//! `--since` / `--until`: a duration ago (`90s`, `15m`, `2h`, `1d`, `1w`, also combined as
//! `1h30m`) or an RFC3339 time. Pure: the caller passes "now".

use jiff::Timestamp;

use super::LogsError;

/// Reads a `--since`/`--until` value as milliseconds since the epoch.
pub fn parse_when(flag: &'static str, value: &str, now: Timestamp) -> Result<i64, LogsError> {
    let bad = || LogsError::BadTime {
        flag,
        value: value.to_string(),
    };
    let v = value.trim();
    if v.is_empty() {
        return Err(bad());
    }
    if v == "now" {
        return Ok(now.as_millisecond());
    }
    let out_of_range = |reason| LogsError::TimeOutOfRange {
        flag,
        value: value.to_string(),
        reason,
    };
    if let Some(ms) = digits_and_units(v) {
        // A well-formed duration whose number does not fit is out of range, not "invalid".
        let Some(ms) = ms else {
            return Err(out_of_range("the duration is too long"));
        };
        return match now.as_millisecond().checked_sub(ms) {
            Some(t) if t >= 0 => Ok(t),
            _ => Err(out_of_range("that is before 1970")),
        };
    }
    let t = v
        .parse::<Timestamp>()
        .map(Timestamp::as_millisecond)
        .map_err(|_| bad())?;
    if t < 0 {
        return Err(out_of_range("that is before 1970"));
    }
    Ok(t)
}

/// `Some(Some(ms))` for a duration, `Some(None)` for one that has the shape of a duration
/// but overflows, `None` for anything else.
fn digits_and_units(v: &str) -> Option<Option<i64>> {
    if let Some(ms) = parse_ago(v) {
        return Some(Some(ms));
    }
    let w = v.strip_suffix("ago").map(str::trim_end).unwrap_or(v);
    let shaped = !w.is_empty()
        && w.starts_with(|c: char| c.is_ascii_digit())
        && w.ends_with(['s', 'm', 'h', 'd', 'w'])
        && w.chars().all(|c| c.is_ascii_digit() || "smhdw".contains(c));
    shaped.then_some(None)
}

/// `90s`, `15m`, `2h`, `1d`, `1w`, `1h30m` (optionally followed by ` ago`) → milliseconds.
fn parse_ago(v: &str) -> Option<i64> {
    let v = v.strip_suffix("ago").map(str::trim_end).unwrap_or(v);
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut any = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.is_empty() {
            return None;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let unit_ms: i64 = match c {
            's' => 1_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit_ms)?)?;
        any = true;
    }
    if !digits.is_empty() || !any {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn far_past_and_overflowing_durations_are_out_of_range() {
        for v in [
            "2000000000000000ms",
            "9999999999999w",
            "60000d",
            "1969-12-31T23:59:59Z",
        ] {
            match parse_when("--since", v, now()) {
                Err(LogsError::TimeOutOfRange { .. }) => {}
                other => panic!("{v}: {other:?}"),
            }
        }
        // Garbage stays "invalid", not "out of range".
        assert!(matches!(
            parse_when("--since", "5x", now()),
            Err(LogsError::BadTime { .. })
        ));
        assert!(parse_when("--since", "1970-01-01T00:00:00Z", now()).is_ok());
    }

    #[test]
    fn durations_are_ago() {
        let n = now().as_millisecond();
        assert_eq!(parse_when("--since", "90s", now()).unwrap(), n - 90_000);
        assert_eq!(parse_when("--since", "15m", now()).unwrap(), n - 900_000);
        assert_eq!(parse_when("--since", "2h", now()).unwrap(), n - 7_200_000);
        assert_eq!(parse_when("--since", "1d", now()).unwrap(), n - 86_400_000);
        assert_eq!(
            parse_when("--since", "1h30m", now()).unwrap(),
            n - 5_400_000
        );
        assert_eq!(parse_when("--since", "500ms", now()).unwrap(), n - 500);
        assert_eq!(
            parse_when("--since", "2h ago", now()).unwrap(),
            n - 7_200_000
        );
        assert_eq!(parse_when("--until", "now", now()).unwrap(), n);
    }

    #[test]
    fn rfc3339_is_absolute() {
        assert_eq!(
            parse_when("--since", "2024-05-01T11:00:00Z", now()).unwrap(),
            now().as_millisecond() - 3_600_000
        );
        assert_eq!(
            parse_when("--since", "2024-05-01T13:00:00+02:00", now()).unwrap(),
            now().as_millisecond() - 3_600_000
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_flag() {
        for bad in ["", "10", "m", "10x", "yesterday", "1h30", "-5m"] {
            match parse_when("--until", bad, now()) {
                Err(LogsError::BadTime { flag, value }) => {
                    assert_eq!(flag, "--until");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
