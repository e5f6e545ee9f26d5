//! `key=value` arguments as Kafka's tools accept them (`--property`, `--config`, ...).

/// Splits `key=value` at the first `=`; `None` when there is no `=`.
pub(crate) fn split_pair(pair: &str) -> Option<(String, String)> {
    let (key, value) = pair.split_once('=')?;
    Some((key.trim().to_owned(), value.trim().to_owned()))
}

/// Parses Java-style booleans (`Boolean.parseBoolean`: only "true", any case, is true).
pub(crate) fn java_bool(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_first_equals() {
        assert_eq!(split_pair(" a = b=c "), Some(("a".into(), "b=c".into())));
        assert_eq!(split_pair("novalue"), None);
    }

    #[test]
    fn booleans_follow_java() {
        assert!(java_bool("TRUE"));
        assert!(!java_bool("yes"));
    }
}
