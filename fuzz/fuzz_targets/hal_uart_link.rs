//! libFuzzer entry point; the checks live in `vp2730_fuzz::hal_uart_link`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vp2730_fuzz::hal_uart_link(data));
