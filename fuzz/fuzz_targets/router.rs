//! libFuzzer entry point; the checks live in `vp2730_fuzz::router`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vp2730_fuzz::router(data));
