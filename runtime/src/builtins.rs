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
}
