//! libFuzzer entry point; the checks live in `vp2730_fuzz::patch_bodies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vp2730_fuzz::patch_bodies(data));
