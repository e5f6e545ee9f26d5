//! Kafka's topic name rules (`org.apache.kafka.common.internals.Topic`), with its messages:
//! the broker refuses with them, the operator checks a Topic's name against them.

/// Kafka's limit: 249 characters, so that `<topic>-<partition>` still fits a file name.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".to_string());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".to_string());
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Kafka refuses a topic whose name equals an existing one once '.' and '_' are unified,
/// because their metric names would collide.
pub fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kafka_legal_names() {
        assert!(validate_topic_name("payments.v1_raw-2").is_ok());
    }

    #[test]
    fn refuses_illegal_names_with_kafka_messages() {
        assert!(validate_topic_name("")
            .unwrap_err()
            .contains("can't be empty"));
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("bad/name")
            .unwrap_err()
            .contains("contains a character other than"));
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
    }

    #[test]
    fn dot_and_underscore_collide() {
        assert!(collides("a.b", "a_b"));
        assert!(!collides("a.b", "a.b"));
    }
}
