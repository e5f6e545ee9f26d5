//! Settings from environment variables, named as Confluent's container images name them,
//! so the compose file of a `cp-kafka` or `cp-ksqldb-server` container configures Potok's
//! servers too: `KAFKA_ADVERTISED_LISTENERS` sets `advertised.listeners`,
//! `KSQL_KSQL_SERVICE_ID` sets `ksql.service.id`.
//!
//! After the prefix the name is lower-cased and its underscores read as Confluent's images
//! read them: `_` is `.`, `__` is `_`, `___` is `-`. Variables the images read themselves
//! (JVM, JMX and logging options) are not properties and are skipped. Every other variable
//! with the prefix must name a setting the server knows and hold a value it accepts: a
//! container started with a misspelled name or a bad value would otherwise run on a default
//! nobody chose, so both stop the server at start with the variable named.
//!
//! Precedence, in both servers: the properties file, then the environment, then
//! `--override` flags ([`layered`]).

use std::collections::BTreeMap;

use thiserror::Error;

/// One server's variables: Confluent's prefix, and the variables its images read
/// themselves rather than turn into properties.
#[derive(Debug, Clone, Copy)]
pub struct Convention {
    pub prefix: &'static str,
    /// Skipped variables; a name ending in `*` stands for every variable starting so.
    pub read_by_the_image: &'static [&'static str],
    /// The server in messages: "broker", "ksql server".
    pub server: &'static str,
}

/// `cp-kafka`'s variables (its `kafka.properties.template` excludes the JVM and logging
/// options; `KAFKA_JMX_*` and `KAFKA_DEBUG` are read by `kafka-run-class`).
pub const KAFKA: Convention = Convention {
    prefix: "KAFKA_",
    read_by_the_image: &[
        "KAFKA_HEAP_OPTS",
        "KAFKA_JVM_PERFORMANCE_OPTS",
        "KAFKA_OPTS",
        "KAFKA_GC_LOG_OPTS",
        "KAFKA_JMX_*",
        "KAFKA_LOG4J_*",
        "KAFKA_TOOLS_LOG4J_LOGLEVEL",
        "KAFKA_VERSION",
        "KAFKA_DEBUG",
        "KAFKA_HOME",
    ],
    server: "broker",
};

/// `cp-ksqldb-server`'s variables (the JVM, JMX, logging and classpath options are read by
/// `ksql-run-class`).
pub const KSQL: Convention = Convention {
    prefix: "KSQL_",
    read_by_the_image: &[
        "KSQL_HEAP_OPTS",
        "KSQL_JVM_PERFORMANCE_OPTS",
        "KSQL_OPTS",
        "KSQL_JMX_*",
        "KSQL_LOG4J_*",
        "KSQL_CLASSPATH",
    ],
    server: "ksql server",
};

/// What a server knows of its settings, to check those the environment sets.
pub trait Catalog {
    /// Whether `property` is a setting of this server.
    fn knows(&self, property: &str) -> bool;
    /// Checks a value as the server would at start: the reason it would refuse it.
    fn check(&self, property: &str, value: &str) -> Result<(), String>;
    /// Every setting known by its full name, to suggest one for a misspelled name.
    fn names(&self) -> Vec<&str>;
}

/// A property set by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub variable: String,
    pub property: String,
    pub value: String,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EnvironmentError {
    #[error("environment variable {variable} names no property: write the property after the prefix, as in {example}")]
    NoName { variable: String, example: String },
    #[error("environment variable {variable} is not a property name: {reason}")]
    Malformed { variable: String, reason: String },
    #[error("environment variable {variable} sets '{property}', which is not a {server} setting; {hint}")]
    Unknown {
        variable: String,
        property: String,
        server: &'static str,
        hint: String,
    },
    #[error("environment variable {variable} sets '{property}' to '{value}', which is refused: {reason}")]
    Invalid {
        variable: String,
        property: String,
        value: String,
        reason: String,
    },
}

impl Convention {
    fn read_by_the_image(&self, variable: &str) -> bool {
        self.read_by_the_image
            .iter()
            .any(|name| match name.strip_suffix('*') {
                Some(start) => variable.starts_with(start),
                None => variable == *name,
            })
    }

    /// The property `variable` sets: `None` for another prefix or a variable the images
    /// read themselves.
    pub fn property(&self, variable: &str) -> Result<Option<String>, EnvironmentError> {
        let Some(name) = variable.strip_prefix(self.prefix) else {
            return Ok(None);
        };
        if self.read_by_the_image(variable) {
            return Ok(None);
        }
        if name.is_empty() {
            return Err(EnvironmentError::NoName {
                variable: variable.to_string(),
                example: format!("{}NODE_ID for node.id", self.prefix),
            });
        }
        let malformed = |reason: String| EnvironmentError::Malformed {
            variable: variable.to_string(),
            reason,
        };
        if let Some(bad) = name
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '_')
        {
            return Err(malformed(format!(
                "'{bad}' is not a letter, digit or underscore"
            )));
        }
        if name.starts_with('_') || name.ends_with('_') {
            return Err(malformed(
                "it starts or ends with an underscore, which maps to no property name".into(),
            ));
        }
        let mut property = String::with_capacity(name.len());
        for (index, run) in runs(name).enumerate() {
            if index % 2 == 0 {
                property.push_str(&run.to_ascii_lowercase());
                continue;
            }
            property.push(match run.len() {
                1 => '.',
                2 => '_',
                3 => '-',
                n => {
                    return Err(malformed(format!(
                        "{n} underscores in a row; use _ for '.', __ for '_', ___ for '-'"
                    )))
                }
            });
        }
        Ok(Some(property))
    }

    /// The variable that sets `property`: `num.partitions` is `KAFKA_NUM_PARTITIONS`.
    pub fn variable(&self, property: &str) -> String {
        let mut variable = self.prefix.to_string();
        for c in property.chars() {
            match c {
                '.' => variable.push('_'),
                '_' => variable.push_str("__"),
                '-' => variable.push_str("___"),
                c => variable.push(c.to_ascii_uppercase()),
            }
        }
        variable
    }
}

/// `name` cut into alternating runs of non-underscores and underscores, starting with a
/// non-underscore run.
fn runs(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = name;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let end = rest
            .find(|c: char| (c == '_') != (first == '_'))
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

/// The settings `variables` give a server under `convention`, in the order of their
/// names; the first refused variable, in that order, is the error.
pub fn read(
    convention: &Convention,
    variables: impl IntoIterator<Item = (String, String)>,
    catalog: &dyn Catalog,
) -> Result<Vec<Setting>, EnvironmentError> {
    let variables: BTreeMap<String, String> = variables.into_iter().collect();
    let mut settings = Vec::new();
    for (variable, value) in variables {
        let Some(property) = convention.property(&variable)? else {
            continue;
        };
        if !catalog.knows(&property) {
            return Err(EnvironmentError::Unknown {
                hint: unknown_hint(convention, &property, catalog),
                variable,
                property,
                server: convention.server,
            });
        }
        let refused = if value.trim().is_empty() {
            Err("the value is empty; unset the variable to keep the setting's default".into())
        } else {
            catalog.check(&property, &value)
        };
        if let Err(reason) = refused {
            return Err(EnvironmentError::Invalid {
                variable,
                property,
                value,
                reason,
            });
        }
        settings.push(Setting {
            variable,
            property,
            value,
        });
    }
    Ok(settings)
}

fn unknown_hint(convention: &Convention, property: &str, catalog: &dyn Catalog) -> String {
    let prefix = convention.prefix;
    match closest(property, catalog.names()) {
        Some(known) => format!(
            "did you mean {} ({known})?",
            convention.variable(known)
        ),
        None => format!(
            "every {prefix}* variable but the JVM and logging options is read as a {} setting (_ for '.', __ for '_'); unset it, or write a setting Potok does not know in the properties file",
            convention.server
        ),
    }
}

/// The known name nearest `property` by edit distance, when near enough to be a typo.
fn closest<'a>(property: &str, names: Vec<&'a str>) -> Option<&'a str> {
    let most = (property.len() / 4).clamp(1, 3);
    names
        .into_iter()
        .map(|name| (edit_distance(property, name), name))
        .filter(|(distance, _)| *distance <= most)
        .min()
        .map(|(_, name)| name)
}

/// Levenshtein distance over bytes (property names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The properties a server runs with: the file's, then the environment's, then the
/// `--override` flags', each later one replacing an earlier value.
pub fn layered(
    file: impl IntoIterator<Item = (String, String)>,
    environment: &[Setting],
    overrides: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    let mut properties: BTreeMap<String, String> = file.into_iter().collect();
    for setting in environment {
        properties.insert(setting.property.clone(), setting.value.clone());
    }
    properties.extend(overrides);
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knows a few broker names; `num.partitions` must be a positive number.
    struct Known;

    impl Catalog for Known {
        fn knows(&self, property: &str) -> bool {
            self.names().contains(&property) || property.starts_with("listener.name.")
        }

        fn check(&self, property: &str, value: &str) -> Result<(), String> {
            match property {
                "num.partitions" => match value.parse::<i32>() {
                    Ok(n) if n > 0 => Ok(()),
                    _ => Err("expected a positive number".into()),
                },
                _ => Ok(()),
            }
        }

        fn names(&self) -> Vec<&str> {
            vec![
                "node.id",
                "advertised.listeners",
                "listener.security.protocol.map",
                "controller.quorum.voters",
                "log.dirs",
                "process.roles",
                "num.partitions",
                "ksql.service.id",
            ]
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_map_as_confluents_images_map_them() {
        let cases = [
            ("KAFKA_NODE_ID", "node.id"),
            ("KAFKA_ADVERTISED_LISTENERS", "advertised.listeners"),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "listener.security.protocol.map",
            ),
            ("KAFKA_CONTROLLER_QUORUM_VOTERS", "controller.quorum.voters"),
            ("KAFKA_LOG_DIRS", "log.dirs"),
            ("KAFKA_PROCESS_ROLES", "process.roles"),
            (
                "KAFKA_LISTENER_NAME_INTERNAL_SASL__ENABLED__MECHANISMS",
                "listener.name.internal.sasl_enabled_mechanisms",
            ),
            ("KAFKA_A___B", "a-b"),
        ];
        for (variable, property) in cases {
            assert_eq!(
                KAFKA.property(variable).unwrap().as_deref(),
                Some(property),
                "{variable}"
            );
            assert_eq!(KAFKA.variable(property), variable);
        }
        assert_eq!(
            KSQL.property("KSQL_KSQL_SERVICE_ID").unwrap().as_deref(),
            Some("ksql.service.id")
        );
        assert_eq!(
            KSQL.property("KSQL_BOOTSTRAP_SERVERS").unwrap().as_deref(),
            Some("bootstrap.servers")
        );
        assert_eq!(KSQL.property("KAFKA_NODE_ID").unwrap(), None);
        assert_eq!(KAFKA.property("PATH").unwrap(), None);
    }

    #[test]
    fn the_images_own_variables_are_skipped() {
        for variable in [
            "KAFKA_HEAP_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS",
            "KAFKA_OPTS",
            "KAFKA_JMX_PORT",
            "KAFKA_JMX_HOSTNAME",
            "KAFKA_LOG4J_ROOT_LOGLEVEL",
            "KAFKA_LOG4J_LOGGERS",
            "KAFKA_VERSION",
            "KAFKA_GC_LOG_OPTS",
            "KAFKA_DEBUG",
        ] {
            assert_eq!(KAFKA.property(variable).unwrap(), None, "{variable}");
        }
        for variable in [
            "KSQL_HEAP_OPTS",
            "KSQL_JVM_PERFORMANCE_OPTS",
            "KSQL_OPTS",
            "KSQL_JMX_OPTS",
            "KSQL_LOG4J_OPTS",
            "KSQL_CLASSPATH",
        ] {
            assert_eq!(KSQL.property(variable).unwrap(), None, "{variable}");
        }
        let read = read(
            &KAFKA,
            vars(&[("KAFKA_HEAP_OPTS", "-Xmx1G"), ("KAFKA_NODE_ID", "1")]),
            &Known,
        )
        .unwrap();
        assert_eq!(
            read,
            vec![Setting {
                variable: "KAFKA_NODE_ID".into(),
                property: "node.id".into(),
                value: "1".into(),
            }]
        );
    }

    #[test]
    fn malformed_names_are_refused_with_the_variable_named() {
        for (variable, says) in [
            ("KAFKA_", "names no property"),
            ("KAFKA__NODE_ID", "starts or ends with an underscore"),
            ("KAFKA_NODE_ID_", "starts or ends with an underscore"),
            ("KAFKA_NODE____ID", "4 underscores in a row"),
            ("KAFKA_NODE.ID", "'.' is not a letter"),
        ] {
            let error = KAFKA.property(variable).unwrap_err().to_string();
            assert!(error.contains(variable), "{error}");
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn unknown_settings_are_refused_with_a_hint() {
        let error = read(&KAFKA, vars(&[("KAFKA_NOT_A_SETTING", "1")]), &Known).unwrap_err();
        let EnvironmentError::Unknown { hint, .. } = &error else {
            panic!("{error:?}");
        };
        assert!(hint.contains("properties file"), "{hint}");
        assert!(error.to_string().starts_with(
            "environment variable KAFKA_NOT_A_SETTING sets 'not.a.setting', which is not a broker setting;"
        ));
        let error = read(&KAFKA, vars(&[("KAFKA_NUM_PARTITON", "3")]), &Known)
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with("did you mean KAFKA_NUM_PARTITIONS (num.partitions)?"),
            "{error}"
        );
        let families = read(
            &KAFKA,
            vars(&[("KAFKA_LISTENER_NAME_INTERNAL_SSL_CLIENT_AUTH", "none")]),
            &Known,
        );
        assert!(families.is_ok());
    }

    #[test]
    fn values_the_server_would_refuse_name_the_variable() {
        for bad in ["abc", "0"] {
            let error = read(&KAFKA, vars(&[("KAFKA_NUM_PARTITIONS", bad)]), &Known)
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                format!("environment variable KAFKA_NUM_PARTITIONS sets 'num.partitions' to '{bad}', which is refused: expected a positive number")
            );
        }
        let error = read(&KAFKA, vars(&[("KAFKA_LOG_DIRS", " ")]), &Known)
            .unwrap_err()
            .to_string();
        assert!(error.contains("the value is empty"), "{error}");
    }

    #[test]
    fn errors_come_in_the_order_of_the_names() {
        let error = read(
            &KAFKA,
            vars(&[("KAFKA_ZZZ", "1"), ("KAFKA_NUM_PARTITIONS", "x")]),
            &Known,
        )
        .unwrap_err();
        assert!(matches!(error, EnvironmentError::Invalid { .. }), "{error}");
    }

    #[test]
    fn the_environment_sits_between_the_file_and_the_overrides() {
        let environment = read(
            &KAFKA,
            vars(&[("KAFKA_NODE_ID", "2"), ("KAFKA_NUM_PARTITIONS", "5")]),
            &Known,
        )
        .unwrap();
        let properties = layered(
            vars(&[
                ("node.id", "1"),
                ("num.partitions", "1"),
                ("log.dirs", "/a"),
            ]),
            &environment,
            vars(&[("node.id", "3")]),
        );
        assert_eq!(properties["node.id"], "3");
        assert_eq!(properties["num.partitions"], "5");
        assert_eq!(properties["log.dirs"], "/a");
    }

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("num.partitions", "num.partitions"), 0);
        assert_eq!(edit_distance("num.partiton", "num.partitions"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            closest("log.dir", vec!["log.dirs", "node.id"]),
            Some("log.dirs")
        );
        assert_eq!(closest("zookeeper.connect", vec!["log.dirs"]), None);
    }
}
