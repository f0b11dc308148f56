//! Text a guest controls, made safe to print on a terminal.
//!
//! A guest chooses node names, kinds, log lines, its info, error strings and prop
//! values. Printed raw, a name could carry terminal escape sequences (erase or
//! rewrite the lines of a plan a person is about to approve), bidirectional
//! overrides (show text in another order than it is stored) or megabytes of
//! text. Everything guest-controlled that reaches a terminal goes through
//! [`escape`] (or [`escape_cut`] where a length bound applies).
//!
//! This is its own module rather than part of `graph::token::display_str` because
//! it applies to more than props (log lines, guest errors, findings, drill
//! details) and to text that holds no reference tokens; `display_str` calls it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest guest-controlled text shown in one place (a name in an error, a
/// finding detail) before it is cut with `…`.
pub const MAX_SHOWN: usize = 256;

/// Whether `c` must not reach a terminal as itself: C0 and C1 controls and DEL
/// (escape sequences, carriage return, backspace, NUL...), the bidirectional
/// marks, embeddings, overrides and isolates (Unicode TR#9, "Trojan Source",
/// CVE-2021-42574), zero-width and line/paragraph separators, the BOM, and
/// unassigned-use interlinear annotation characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `s` with every unsafe character (see [`is_unsafe`]) written as a Rust-style
/// escape (`\u{1b}`, `\n`, `\0`, `\u{202e}`). A backslash is left as it is
/// (regular expressions and paths in props stay readable): text that spells an
/// escape is shown as those harmless characters. Borrowed when nothing changes.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`escape`], but at most `max` characters of `s` are shown, followed by
/// `…(N bytes)` when it was longer.
pub fn escape_cut(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => escape(s),
        Some((at, _)) => {
            let mut out = escape(&s[..at]).into_owned();
            let _ = write!(out, "…({} bytes)", s.len());
            Cow::Owned(out)
        }
    }
}

/// Multi-line text (an error listing problems, a plan): keeps `\n` as a line
/// break and escapes every other unsafe character.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\n' {
            out.push(c);
        } else if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// An error and its causes, joined with `: `, each said once: a cause whose
/// words its error already holds (an error that words its cause, or a typed
/// error that wraps another without words of its own) is not repeated.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary.
pub fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    &s[..at]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("svc-a_1.x"), Cow::Borrowed(_)));
        assert!(matches!(escape("Zürich ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        let shown = escape("a\u{1b}[2Kb\0c\u{202e}d\re\u{9b}f");
        assert_eq!(shown, "a\\u{1b}[2Kb\\0c\\u{202e}d\\re\\u{9b}f");
        assert!(!shown.chars().any(is_unsafe));
    }

    #[test]
    fn backslashes_stay_as_they_are() {
        assert!(matches!(escape("^ERROR\\s+\\d"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keep_newlines_only() {
        assert_eq!(escape_lines("a\nb\u{1b}c"), "a\nb\\u{1b}c");
        assert!(matches!(escape_lines("a\\b\nc"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_with_its_size() {
        let long = "é".repeat(1000);
        let shown = escape_cut(&long, 10);
        assert_eq!(shown, format!("{}…(2000 bytes)", "é".repeat(10)));
        assert_eq!(escape_cut("short", 10), "short");
    }

    #[test]
    fn cut_bytes_respects_char_boundaries() {
        assert_eq!(cut_bytes("aé", 2), "a");
        assert_eq!(cut_bytes("abc", 5), "abc");
    }
}
