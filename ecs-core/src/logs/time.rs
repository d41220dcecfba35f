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
    if let Some(ms) = parse_ago(v) {
        return now.as_millisecond().checked_sub(ms).ok_or_else(bad);
    }
    v.parse::<Timestamp>()
        .map(Timestamp::as_millisecond)
        .map_err(|_| bad())
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
        for bad in [
            "",
            "10",
            "m",
            "10x",
            "yesterday",
            "1h30",
            "-5m",
            "99999999999999999999d",
        ] {
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
