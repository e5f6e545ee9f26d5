//! Values of SQL types at run time. A value does not carry its type: the planner knows every
//! column's type, and a row is just the values in schema order.

use crate::decimal::Decimal;

/// One value; NULL is a value of every type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Integer(i32),
    Bigint(i64),
    Double(f64),
    Decimal(Decimal),
    String(String),
    Bytes(Vec<u8>),
    /// Milliseconds since the epoch, UTC.
    Timestamp(i64),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i32),
    Array(Vec<Value>),
    /// Entries in insertion order; keys are unique.
    Map(Vec<(Value, Value)>),
    /// Fields in the order of the STRUCT type, with their names.
    Struct(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Appends an unambiguous text form of the value, so rows can key maps (values hold
    /// doubles, which do not hash); much cheaper than `Debug` on the per-record path.
    pub fn write_identity(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Value::Null => write!(out, "n;"),
            Value::Boolean(b) => write!(out, "o{};", u8::from(*b)),
            Value::Integer(i) => write!(out, "i{i};"),
            Value::Bigint(i) => write!(out, "l{i};"),
            Value::Double(d) => write!(out, "d{};", d.to_bits()),
            Value::Decimal(d) => write!(out, "m{d};"),
            Value::String(text) => write!(out, "s{}:{text}", text.len()),
            Value::Bytes(bytes) => write!(out, "y{}:{bytes:?}", bytes.len()),
            Value::Timestamp(t) => write!(out, "t{t};"),
            Value::Date(d) => write!(out, "a{d};"),
            Value::Time(t) => write!(out, "h{t};"),
            Value::Array(items) => {
                let _ = write!(out, "[{}:", items.len());
                items.iter().for_each(|item| item.write_identity(out));
                Ok(())
            }
            Value::Map(entries) => {
                let _ = write!(out, "{{{}:", entries.len());
                for (key, value) in entries {
                    key.write_identity(out);
                    value.write_identity(out);
                }
                Ok(())
            }
            Value::Struct(fields) => {
                let _ = write!(out, "({}:", fields.len());
                for (name, value) in fields {
                    let _ = write!(out, "{}:{name}", name.len());
                    value.write_identity(out);
                }
                Ok(())
            }
        };
    }
}

/// A row: values in the order of a schema's columns.
pub type Row = Vec<Value>;

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(values: &[Value]) -> String {
        let mut out = String::new();
        values.iter().for_each(|v| v.write_identity(&mut out));
        out
    }

    #[test]
    fn identities_tell_values_apart() {
        let pairs = [
            (
                vec![Value::String("a;".into())],
                vec![Value::String("a".into()), Value::Null],
            ),
            (vec![Value::Integer(1)], vec![Value::Bigint(1)]),
            (
                vec![Value::String("ab".into()), Value::String("c".into())],
                vec![Value::String("a".into()), Value::String("bc".into())],
            ),
        ];
        for (left, right) in pairs {
            assert_ne!(identity(&left), identity(&right));
        }
        assert_eq!(
            identity(&[Value::Double(1.5)]),
            identity(&[Value::Double(1.5)])
        );
    }
}
