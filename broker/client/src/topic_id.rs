//! Kafka's text form of topic ids: the 16 bytes in URL-safe base64 without padding
//! (`org.apache.kafka.common.Uuid#toString`), e.g. `vXf9sLIkS5yPmXJ2sU8JrQ`.

use uuid::Uuid;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Formats `id` as Kafka prints topic ids.
pub fn to_kafka_string(id: &Uuid) -> String {
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_uuid_is_all_a() {
        assert_eq!(to_kafka_string(&Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
    }

    #[test]
    fn matches_base64url_without_padding() {
        // python3: base64.urlsafe_b64encode(bytes.fromhex("fbfffe00...0bff")).rstrip(b"=")
        let id = Uuid::parse_str("fbfffe00-0102-0304-0506-0708090a0bff").unwrap();
        assert_eq!(to_kafka_string(&id), "-__-AAECAwQFBgcICQoL_w");
    }
}
