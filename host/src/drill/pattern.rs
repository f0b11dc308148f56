//! CloudWatch Logs *term* filter patterns (`ERROR`, `"out of memory"`,
//! `?ERROR ?FATAL`, `ERROR -retrying`): a line that should match, and a local
//! matcher used only when the endpoint cannot run `TestMetricFilter` (moto).
//! JSON (`{ $.level = ... }`), space-delimited (`[...]`) and regex (`%...%`)
//! patterns are left to AWS.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermPattern {
    /// Every one must appear.
    all: Vec<String>,
    /// At least one must appear (when any).
    any: Vec<String>,
    /// None may appear.
    none: Vec<String>,
}

impl TermPattern {
    /// `None` for the pattern kinds only AWS evaluates.
    pub fn parse(pattern: &str) -> Option<TermPattern> {
        let trimmed = pattern.trim();
        if trimmed.starts_with(['{', '[', '%']) {
            return None;
        }
        let mut parsed = TermPattern {
            all: Vec::new(),
            any: Vec::new(),
            none: Vec::new(),
        };
        for (prefix, term) in terms(trimmed)? {
            match prefix {
                Some('?') => parsed.any.push(term),
                Some('-') => parsed.none.push(term),
                _ => parsed.all.push(term),
            }
        }
        Some(parsed)
    }

    /// Case-sensitive substring semantics, as CloudWatch applies term patterns.
    pub fn matches(&self, line: &str) -> bool {
        self.all.iter().all(|t| line.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| line.contains(t.as_str())))
            && !self.none.iter().any(|t| line.contains(t.as_str()))
    }

    /// A log line the pattern matches, tagged so it is recognisable as a drill.
    /// `None` when the exclusions make every such line impossible.
    pub fn sample(&self, tag: &str) -> Option<String> {
        let mut words: Vec<&str> = self.all.iter().map(String::as_str).collect();
        if let Some(first) = self.any.first() {
            words.push(first);
        }
        let line = format!("{} ({tag})", words.join(" ")).trim().to_owned();
        self.matches(&line).then_some(line)
    }
}

/// Split into (prefix, term), honouring double quotes.
fn terms(pattern: &str) -> Option<Vec<(Option<char>, String)>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let prefix = if c == '?' || c == '-' {
            chars.next();
            Some(c)
        } else {
            None
        };
        let mut term = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                term.push(c);
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                term.push(c);
                chars.next();
            }
        }
        if !term.is_empty() {
            out.push((prefix, term));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::TermPattern;

    #[test]
    fn term_patterns_match_like_cloudwatch() {
        let p = TermPattern::parse("ERROR").unwrap();
        assert!(p.matches("2024 ERROR boom"));
        assert!(!p.matches("2024 error boom"), "case-sensitive");
        let p = TermPattern::parse("ERROR -retrying").unwrap();
        assert!(p.matches("ERROR x") && !p.matches("ERROR retrying"));
        let p = TermPattern::parse("?ERROR ?FATAL").unwrap();
        assert!(p.matches("FATAL x") && !p.matches("WARN x"));
        let p = TermPattern::parse("\"out of memory\" Task").unwrap();
        assert!(p.matches("Task ran out of memory") && !p.matches("Task out memory"));
        assert!(TermPattern::parse("").unwrap().matches("anything"));
        assert!(TermPattern::parse("{ $.level = \"ERROR\" }").is_none());
        assert!(TermPattern::parse("\"unterminated").is_none());
    }

    #[test]
    fn samples_match_their_pattern() {
        for pattern in ["ERROR", "?ERROR ?FATAL", "\"out of memory\" -ok", ""] {
            let p = TermPattern::parse(pattern).unwrap();
            let line = p.sample("blueprint drill").unwrap();
            assert!(p.matches(&line), "{pattern:?}: {line:?}");
        }
        let impossible = TermPattern::parse("ERROR -drill").unwrap();
        assert_eq!(impossible.sample("blueprint drill"), None);
    }
}
