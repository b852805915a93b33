//! The license API's answers as the entrypoint parses them: any bytes give a typed answer or a one-line
//! reason, never a panic.
#![no_main]

use coditect_runtime::api::model::{Coded, HeartbeatAck, Refusal, Session, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse::<Session>(data).and_then(Session::check) {
        Ok(session) => assert!(!session.session_id.is_empty()),
        Err(reason) => assert!(!reason.contains('\n')),
    }
    let _ = parse::<Refusal>(data);
    let _ = parse::<HeartbeatAck>(data);
    let _ = parse::<Coded>(data);
});
