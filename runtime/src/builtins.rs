//! Functions that generated code calls for the flow language's builtins.

/// `split`: the record's words, split on runs of whitespace, empty strings dropped.
pub fn split(line: String) -> std::vec::IntoIter<String> {
    line.split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// `split(sep)`: the record cut at every `sep`, empty pieces kept (as Java's `split` keeps
/// inner ones).
pub fn split_on(line: String, sep: &str) -> std::vec::IntoIter<String> {
    line.split(sep)
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// `parse_int`: the record as a whole number (surrounding spaces allowed), or nothing.
pub fn parse_int(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// `parse_float`: the record as a floating-point number (surrounding spaces allowed), or
/// nothing.
pub fn parse_float(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// `env("NAME", "default")`: an environment variable, or the default when it is unset.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_drops_empty_words_and_split_on_keeps_them() {
        let w: Vec<String> = split("  the\tquick  brown\u{3000}fox ".into()).collect();
        assert_eq!(w, ["the", "quick", "brown", "fox"]);
        let p: Vec<String> = split_on("a,,b".into(), ",").collect();
        assert_eq!(p, ["a", "", "b"]);
    }

    #[test]
    fn numbers_parse_or_give_nothing() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        assert_eq!(parse_int("4.2"), None);
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_float("2.5"), Some(2.5));
        assert_eq!(parse_float("x"), None);
    }
}
