//! The listeners a broker serves clients on (`listeners` without the controller's) and what
//! each advertises (`advertised.listeners`, by name), as Kafka reads them: several named
//! listeners such as `INTERNAL://:19092,EXTERNAL://:9092`, each with a security protocol
//! from `listener.security.protocol.map`, and `inter.broker.listener.name` saying which
//! one other brokers use.

use std::collections::BTreeMap;

use crate::config::{all_listeners, ConfigError, Listener};

/// Kafka's default `listener.security.protocol.map`: each protocol names a listener of its own.
const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientListeners {
    /// Bound for clients, in the order of `listeners`.
    pub bound: Vec<Listener>,
    /// What each bound listener advertises, in the same order and with the same names.
    pub advertised: Vec<Listener>,
    /// The listener other brokers reach this one on (`inter.broker.listener.name`).
    pub inter_broker: String,
}

impl ClientListeners {
    pub fn read(
        properties: &BTreeMap<String, String>,
        controller_names: &[String],
    ) -> Result<ClientListeners, ConfigError> {
        let for_clients = |key| -> Result<Vec<Listener>, ConfigError> {
            Ok(all_listeners(properties, key)?
                .into_iter()
                .filter(|l| !controller_names.contains(&l.name))
                .collect())
        };
        let bound = for_clients("listeners")?;
        if bound.is_empty() {
            return Err(ConfigError::Missing("listeners"));
        }
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_string(),
            value: properties.get(key).cloned().unwrap_or_default(),
            reason,
        };
        for (i, listener) in bound.iter().enumerate() {
            if bound[..i].iter().any(|l| l.name == listener.name) {
                return Err(invalid(
                    "listeners",
                    format!("the listener name {} is used twice", listener.name),
                ));
            }
        }
        check_protocols(properties, &bound)?;
        let mut announced = for_clients("advertised.listeners")?;
        if let Some(stray) = announced
            .iter()
            .find(|a| !bound.iter().any(|l| l.name == a.name))
        {
            return Err(invalid(
                "advertised.listeners",
                format!(
                    "{} is not one of the listeners ({}); advertise only listeners the broker binds",
                    stray.name,
                    names(&bound)
                ),
            ));
        }
        let advertised = bound
            .iter()
            .map(
                |listener| match announced.iter().position(|a| a.name == listener.name) {
                    Some(at) => announced.swap_remove(at),
                    None => advertise_bind_address(listener),
                },
            )
            .collect();
        let inter_broker = match properties.get("inter.broker.listener.name") {
            Some(name) if bound.iter().any(|l| &l.name == name) => name.clone(),
            Some(name) => {
                return Err(invalid(
                    "inter.broker.listener.name",
                    format!("{name} is not one of the listeners ({})", names(&bound)),
                ))
            }
            None => bound
                .iter()
                .find(|l| l.name == "PLAINTEXT")
                .unwrap_or(&bound[0])
                .name
                .clone(),
        };
        Ok(ClientListeners {
            bound,
            advertised,
            inter_broker,
        })
    }

    /// What the inter-broker listener advertises.
    pub fn inter_broker_advertised(&self) -> &Listener {
        self.advertised
            .iter()
            .find(|l| l.name == self.inter_broker)
            .unwrap_or(&self.advertised[0])
    }
}

/// A listener without an advertised entry advertises where it binds, with `localhost` for
/// every interface.
fn advertise_bind_address(listener: &Listener) -> Listener {
    let mut advertised = listener.clone();
    if advertised.host.is_empty() || advertised.host == "0.0.0.0" {
        advertised.host = "localhost".to_string();
    }
    advertised
}

fn names(listeners: &[Listener]) -> String {
    listeners
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every client listener needs a protocol, and Potok speaks PLAINTEXT only so far.
fn check_protocols(
    properties: &BTreeMap<String, String>,
    bound: &[Listener],
) -> Result<(), ConfigError> {
    let key = "listener.security.protocol.map";
    let text = properties
        .get(key)
        .map_or(DEFAULT_PROTOCOL_MAP, String::as_str);
    let mut map = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, protocol)) = pair.split_once(':') else {
            return Err(ConfigError::Invalid {
                key: key.to_string(),
                value: text.to_string(),
                reason: format!("'{pair}' is not LISTENER_NAME:PROTOCOL"),
            });
        };
        map.insert(name.trim().to_string(), protocol.trim().to_uppercase());
    }
    for listener in bound {
        match map.get(&listener.name).map(String::as_str) {
            Some("PLAINTEXT") => {}
            Some(protocol) => {
                return Err(ConfigError::Invalid {
                    key: key.to_string(),
                    value: text.to_string(),
                    reason: format!(
                    "listener {} uses {protocol}, which Potok does not support yet; use PLAINTEXT",
                    listener.name
                ),
                })
            }
            None => {
                return Err(ConfigError::Invalid {
                    key: key.to_string(),
                    value: text.to_string(),
                    reason: format!(
                        "listener {0} has no security protocol: add {0}:PLAINTEXT",
                        listener.name
                    ),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ClientListeners, ConfigError> {
        let properties = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientListeners::read(&properties, &["CONTROLLER".to_string()])
    }

    #[test]
    fn named_listeners_advertise_by_name_and_default_to_their_bind_address() {
        let listeners = read(&[
            (
                "listeners",
                "INTERNAL://:19092,EXTERNAL://:9092,CONTROLLER://:9093",
            ),
            (
                "advertised.listeners",
                "EXTERNAL://localhost:9094,INTERNAL://kafka3:19092",
            ),
            (
                "listener.security.protocol.map",
                "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ),
            ("inter.broker.listener.name", "INTERNAL"),
        ])
        .unwrap();
        let advertised: Vec<String> = listeners
            .advertised
            .iter()
            .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
            .collect();
        assert_eq!(
            advertised,
            ["INTERNAL://kafka3:19092", "EXTERNAL://localhost:9094"]
        );
        assert_eq!(listeners.inter_broker_advertised().host, "kafka3");
        let defaulted = read(&[("listeners", "PLAINTEXT://0.0.0.0:9092")]).unwrap();
        assert_eq!(defaulted.advertised[0].host, "localhost");
        assert_eq!(defaulted.inter_broker, "PLAINTEXT");
    }

    #[test]
    fn what_kafka_refuses_is_refused_with_the_key_named() {
        let refused = |pairs: &[(&str, &str)]| read(pairs).unwrap_err().to_string();
        assert!(refused(&[("listeners", "INTERNAL://:19092")]).contains("add INTERNAL:PLAINTEXT"));
        assert!(refused(&[("listeners", "SSL://:9093")]).contains("does not support yet"));
        assert!(refused(&[("listeners", "PLAINTEXT://:1,PLAINTEXT://:2")]).contains("used twice"));
        assert!(refused(&[
            ("listeners", "PLAINTEXT://:9092"),
            ("advertised.listeners", "EXTERNAL://x:1"),
        ])
        .contains("EXTERNAL is not one of the listeners"));
        assert!(refused(&[
            ("listeners", "PLAINTEXT://:9092"),
            ("inter.broker.listener.name", "INTERNAL"),
        ])
        .contains("inter.broker.listener.name"));
        assert!(refused(&[("listeners", "CONTROLLER://:9093")]).contains("listeners"));
    }
}
