//! Kafka's topic include list: `--topic` is a regular expression matched against whole
//! topic names (commas act as alternation, quotes and spaces are dropped), and internal
//! topics can be excluded.

use regex::Regex;

/// Topics Kafka itself owns (`org.apache.kafka.common.internals.Topic.isInternal`).
const INTERNAL_TOPICS: [&str; 3] = [
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

pub(crate) fn is_internal(topic: &str) -> bool {
    INTERNAL_TOPICS.contains(&topic)
}

/// A compiled include list.
#[derive(Debug)]
pub(crate) struct TopicFilter {
    pattern: Regex,
}

impl TopicFilter {
    pub(crate) fn new(raw: &str) -> Result<TopicFilter, String> {
        let cleaned = raw.trim().replace(',', "|").replace(' ', "");
        let cleaned = cleaned
            .trim_start_matches(['"', '\''])
            .trim_end_matches(['"', '\'']);
        let pattern = Regex::new(&format!("^(?:{cleaned})$"))
            .map_err(|_| format!("{raw} is an invalid regex."))?;
        Ok(TopicFilter { pattern })
    }

    pub(crate) fn allows(&self, topic: &str, exclude_internal: bool) -> bool {
        self.pattern.is_match(topic) && !(exclude_internal && is_internal(topic))
    }
}

/// The sorted topics an optional include list selects.
pub(crate) fn select(
    mut topics: Vec<String>,
    include: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<String>, String> {
    topics.sort();
    let filter = include.map(TopicFilter::new).transpose()?;
    Ok(topics
        .into_iter()
        .filter(|t| match &filter {
            Some(f) => f.allows(t, exclude_internal),
            None => !(exclude_internal && is_internal(t)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_names_and_alternatives() {
        let topics = vec![
            "b".into(),
            "a".into(),
            "ab".into(),
            "__consumer_offsets".into(),
        ];
        assert_eq!(select(topics.clone(), Some("a"), false).unwrap(), ["a"]);
        assert_eq!(
            select(topics.clone(), Some("a.*"), false).unwrap(),
            ["a", "ab"]
        );
        assert_eq!(
            select(topics.clone(), Some("a, b"), false).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            select(topics.clone(), None, true).unwrap(),
            ["a", "ab", "b"]
        );
        assert_eq!(
            select(topics, Some("__.*"), true).unwrap(),
            Vec::<String>::new()
        );
    }
}
