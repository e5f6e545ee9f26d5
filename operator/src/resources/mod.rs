//! The custom resources of group `potok.dev`, version `v1alpha1`, as Rust types: what a user
//! declares and what the operator reports back.
//!
//! - [`cluster`]: `KafkaCluster`, the coordinators, brokers, ksql servers and console of one
//!   cluster.
//! - [`topic`]: `Topic`, one Kafka topic of a cluster.
//! - [`ksql_stream`]: `KsqlStream`, one CREATE STREAM or CREATE TABLE statement on a
//!   cluster's ksql server.
//!
//! Each type derives its CustomResourceDefinition (printed by `potok-operator crds`,
//! committed under `crds/`). Admission rules live in the schema as CEL
//! (`x-kubernetes-validations`), so the API server refuses a bad resource before any
//! reconciler sees it; each resource module repeats its rules in Rust (`validate`,
//! `validate_update`) with the same messages for the local runtime, which has no API server.

pub mod cluster;
pub mod ksql_stream;
pub mod topic;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

pub use cluster::{KafkaCluster, KafkaClusterSpec, KafkaClusterStatus};
pub use ksql_stream::{KsqlStream, KsqlStreamSpec, KsqlStreamStatus};
pub use topic::{Topic, TopicSpec, TopicStatus};

/// The CustomResourceDefinitions of every Potok resource.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![KafkaCluster::crd(), Topic::crd(), KsqlStream::crd()];
    for version in crds.iter_mut().flat_map(|crd| crd.spec.versions.iter_mut()) {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            drop_unsigned_formats(schema);
        }
    }
    crds
}

/// Removes schemars' `uint16` / `uint32` formats, which the API server does not know (it
/// warns on every apply); `minimum: 0` says the same.
fn drop_unsigned_formats(schema: &mut JSONSchemaProps) {
    if schema
        .format
        .as_deref()
        .is_some_and(|f| f.starts_with("uint"))
    {
        schema.format = None;
    }
    for property in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        drop_unsigned_formats(property);
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(items)) => drop_unsigned_formats(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => {
            items.iter_mut().for_each(drop_unsigned_formats)
        }
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = schema.additional_properties.as_mut() {
        drop_unsigned_formats(values);
    }
}

/// The CustomResourceDefinitions as one multi-document YAML stream, ready for
/// `kubectl apply -f -`.
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|crd| serde_yaml::to_string(crd).expect("a CRD always serializes to YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed CRDs, which `kubectl apply` and the Helm-less install use.
    const COMMITTED: &str = include_str!("../../../crds/potok.dev.yaml");

    #[test]
    fn the_committed_crds_are_what_the_code_generates() {
        assert!(
            COMMITTED == crds_yaml(),
            "crds/potok.dev.yaml is stale: the resource types changed. Regenerate it with\n  \
             cargo run -p potok-operator -- crds > crds/potok.dev.yaml\nand commit it."
        );
    }

    /// The API server estimates `string(number)` in a message expression as unbounded and
    /// refuses the whole CRD; CEL evaluation in tests does not see it.
    #[test]
    fn no_message_expression_turns_a_number_into_a_string() {
        for line in COMMITTED
            .lines()
            .filter(|l| l.contains("messageExpression"))
        {
            assert!(!line.contains("string("), "{line}");
        }
    }

    #[test]
    fn every_crd_is_namespaced_in_the_potok_category_with_a_status_subresource() {
        for crd in crds() {
            assert_eq!(crd.spec.group, "potok.dev");
            assert_eq!(crd.spec.scope, "Namespaced");
            let categories = crd.spec.names.categories.clone().unwrap_or_default();
            assert_eq!(categories, ["potok"], "{}", crd.spec.names.kind);
            let version = &crd.spec.versions[0];
            assert_eq!(version.name, "v1alpha1");
            let subresources = version.subresources.as_ref().unwrap();
            assert!(subresources.status.is_some(), "{}", crd.spec.names.kind);
            assert!(crd.spec.names.short_names.is_some());
        }
    }
}

/// The CEL rules of a resource's schema evaluated as the API server would (with the
/// `cel-interpreter` behind kube's `cel` feature), so tests can hold them to the Rust rules.
#[cfg(test)]
pub(crate) mod cel {
    use kube::CustomResourceExt;
    use serde::Serialize;

    /// The messages of the rules `new` breaks: on creation when `old` is `None`, else on an
    /// update from `old`.
    pub fn broken_rules<K: CustomResourceExt + Serialize>(new: &K, old: Option<&K>) -> Vec<String> {
        let outcome = match old {
            None => kube::core::cel::validate_cel(new),
            Some(old) => kube::core::cel::validate_cel_update(new, old),
        };
        match outcome {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_vec().into_iter().map(|e| e.message).collect(),
        }
    }

    /// `Err(message)` as a list of broken rules, to compare with what the CEL rules report.
    pub fn as_broken(outcome: Result<(), String>) -> Vec<String> {
        outcome.err().into_iter().collect()
    }
}
