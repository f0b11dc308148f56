//! Reference tokens: how a value known only after apply travels through a guest.
//!
//! A constructor returns each output as a token string
//! `U+E000 <node> U+E001 <output> U+E002`. The guest passes it around or embeds it
//! in a larger string with its language's own interpolation; the host scans every
//! string prop for tokens. The delimiters are Unicode private-use code points, so a
//! token cannot collide with text a user would write, and anything that looks like
//! half a token is reported rather than passed through to an API.

use std::fmt;

const START: char = '\u{E000}';
const SEP: char = '\u{E001}';
const END: char = '\u{E002}';

/// A reference to one output of one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub node: String,
    pub output: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.node, self.output)
    }
}

/// A string prop split into literal text and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Ref(Reference),
}

/// The token a constructor hands back for `node.output`.
pub fn make(node: &str, output: &str) -> String {
    format!("{START}{node}{SEP}{output}{END}")
}

/// Whether `s` carries anything token-like (a quick filter before parsing).
pub fn has_token_chars(s: &str) -> bool {
    s.contains([START, SEP, END])
}

/// The node names of the well-formed tokens in `s`, in order, without
/// allocating: one pass over `s` (metering and dependencies use it; validation
/// parses with [`parse`] and reports malformed tokens).
pub fn referenced_nodes(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find(START)?;
            let body = &rest[start + START.len_utf8()..];
            // The token ends at the first END; a START before it means this one
            // was cut: skip to that START.
            let end = body.find([START, END])?;
            if body[end..].starts_with(START) {
                rest = &body[end..];
                continue;
            }
            let inner = &body[..end];
            rest = &body[end + END.len_utf8()..];
            if let Some((node, output)) = inner.split_once(SEP)
                && !node.is_empty()
                && !output.is_empty()
                && !output.contains(SEP)
            {
                return Some(node);
            }
        }
    })
}

/// Split a string into literal parts and references. Fails on anything that is not
/// a well-formed token: an unterminated token, a stray delimiter, an empty name.
pub fn parse(s: &str) -> Result<Vec<Part>, String> {
    if !has_token_chars(s) {
        return Ok(vec![Part::Text(s.to_owned())]);
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find([START, SEP, END]) {
        let delimiter = rest[start..].chars().next().unwrap_or(START);
        if delimiter != START {
            return Err("a stray reference delimiter (was a token cut apart?)".into());
        }
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let body_start = start + START.len_utf8();
        let end = rest[body_start..]
            .find(END)
            .map(|i| body_start + i)
            .ok_or("an unterminated reference token (was a token cut apart?)")?;
        let body = &rest[body_start..end];
        let (node, output) = body
            .split_once(SEP)
            .ok_or("a malformed reference token (no output name)")?;
        if node.is_empty() || output.is_empty() || has_token_chars(output) || node.contains(START) {
            return Err("a malformed reference token".into());
        }
        parts.push(Part::Ref(Reference {
            node: node.to_owned(),
            output: output.to_owned(),
        }));
        rest = &rest[end + END.len_utf8()..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

/// Human form of a string prop: references as `${node.output}`, a literal `${` as
/// `$${` (Terraform's escape), so the rendering is unambiguous.
pub fn display(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(&text.replace("${", "$${")),
            Part::Ref(r) => {
                out.push_str("${");
                out.push_str(&r.to_string());
                out.push('}');
            }
        }
    }
    out
}

/// Human form of a raw string that may hold tokens; malformed ones are shown as-is
/// (validation reports them).
pub fn display_str(s: &str) -> String {
    match parse(s) {
        Ok(parts) => display(&parts),
        Err(_) => s.escape_default().to_string(),
    }
}

/// [`display_str`] made safe for a terminal ([`crate::text::escape`]).
pub fn display_str_escaped(s: &str) -> String {
    crate::text::escape(&display_str(s)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_strings_are_one_text_part() {
        assert_eq!(
            parse("hello ${x}").unwrap(),
            vec![Part::Text("hello ${x}".into())]
        );
    }

    #[test]
    fn interpolation_round_trips() {
        let s = format!(
            "https://events.pagerduty.com/integration/{}/enqueue",
            make("integration", "integration_key")
        );
        let parts = parse(&s).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[1],
            Part::Ref(Reference {
                node: "integration".into(),
                output: "integration_key".into()
            })
        );
        assert_eq!(
            display(&parts),
            "https://events.pagerduty.com/integration/${integration.integration_key}/enqueue"
        );
    }

    #[test]
    fn adjacent_tokens_parse() {
        let s = format!("{}{}", make("a", "id"), make("b", "arn"));
        assert_eq!(parse(&s).unwrap().len(), 2);
    }

    #[test]
    fn cut_tokens_are_errors() {
        let token = make("a", "id");
        let cut: String = token.chars().take(3).collect();
        assert!(parse(&cut).is_err());
        let tail: String = token.chars().skip(2).collect();
        assert!(parse(&tail).is_err());
        assert!(parse(&format!("{START}{END}")).is_err());
        assert!(parse(&format!("{START}a{END}")).is_err());
    }

    #[test]
    fn referenced_nodes_agree_with_parse() {
        let s = format!(
            "x{}y{}{}",
            make("a", "id"),
            make("b.c", "arn"),
            make("a", "x")
        );
        assert_eq!(referenced_nodes(&s).collect::<Vec<_>>(), ["a", "b.c", "a"]);
        let token = make("a", "id");
        let cut: String = token.chars().take(3).collect();
        let s = format!("{cut}{}", make("b", "id"));
        assert_eq!(referenced_nodes(&s).collect::<Vec<_>>(), ["b"]);
        assert_eq!(referenced_nodes("plain").count(), 0);
    }

    #[test]
    fn literal_dollar_brace_is_escaped_in_display() {
        assert_eq!(display_str("cost: ${5}"), "cost: $${5}");
    }
}
