//! Message text made safe to print. Log messages are arbitrary: a container can write escape
//! sequences that move the cursor, retitle the window or hide text. On a terminal we strip
//! them (CSI, OSC, DCS/SOS/PM/APC strings, other escapes, C0/C1 controls except tab and
//! newline, bidi overrides); everywhere we trim the trailing newline the awslogs driver keeps.
//! Invalid UTF-8 never reaches here: the SDK hands us `String`s and [`lossy`] covers bytes.

use std::borrow::Cow;

/// Bytes → text, invalid UTF-8 replaced by U+FFFD.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The message without its trailing line break(s).
pub fn trim_newline(message: &str) -> &str {
    message.trim_end_matches(['\n', '\r'])
}

fn is_plain(c: char) -> bool {
    !(c.is_control() || is_bidi_control(c)) || c == '\t' || c == '\n'
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Removes terminal control sequences and control characters (keeps `\t` and `\n`).
pub fn for_terminal(message: &str) -> Cow<'_, str> {
    if message.chars().all(is_plain) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // ESC, intermediates (0x20–0x2F), then one final byte.
                Some(' '..='/') => {
                    while matches!(chars.peek(), Some(' '..='/')) {
                        chars.next();
                    }
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_plain(c) => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Control Sequence: parameters and intermediates (0x20–0x3F), then a final byte 0x40–0x7E.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !(' '..='?').contains(&c) {
            return;
        }
    }
}

/// OSC/DCS/SOS/PM/APC: up to BEL or the string terminator (ESC \ or U+009C).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        let s = "héllo wörld ✓ 日本語\tend";
        assert!(matches!(for_terminal(s), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_are_stripped() {
        assert_eq!(for_terminal("\x1b[31mred\x1b[0m ok"), "red ok");
        assert_eq!(for_terminal("a\x1b]0;pwned title\x07b"), "ab");
        assert_eq!(
            for_terminal("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"),
            "alinkb"
        );
        assert_eq!(for_terminal("clear\x1b[2J\x1b[Hscreen"), "clearscreen");
        assert_eq!(for_terminal("x\x1b(By"), "xy");
        assert_eq!(for_terminal("over\rwrite\x08\x07"), "overwrite");
        assert_eq!(for_terminal("c1\u{9b}31mred"), "c1red");
        assert_eq!(for_terminal("bidi \u{202e}evil\u{202c}"), "bidi evil");
        assert_eq!(
            for_terminal("keep\ttabs\nand lines"),
            "keep\ttabs\nand lines"
        );
        // A truncated sequence at the end swallows nothing after it, and never panics.
        assert_eq!(for_terminal("end\x1b"), "end");
        assert_eq!(for_terminal("end\x1b["), "end");
        assert_eq!(for_terminal("end\x1b]title"), "end");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(lossy(b"ok \xff\xfe done"), "ok \u{fffd}\u{fffd} done");
    }

    #[test]
    fn trailing_newlines_go() {
        assert_eq!(trim_newline("line\n"), "line");
        assert_eq!(trim_newline("line\r\n"), "line");
        assert_eq!(trim_newline("two\nlines"), "two\nlines");
    }

    proptest::proptest! {
        #[test]
        fn output_has_no_escape_or_control(s in "\\PC*|[\\x00-\\x7f\\u{80}-\\u{9f}]*") {
            let out = for_terminal(&s);
            proptest::prop_assert!(out.chars().all(is_plain));
        }
    }
}
