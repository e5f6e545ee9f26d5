//! Any bytes a client may send as a request frame: decoding must answer or refuse, never
//! panic or abort.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = potok_broker::api::parse_frame(bytes::Bytes::copy_from_slice(data));
});
