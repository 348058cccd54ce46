//! Replays every input kept under `fuzz/regressions/<target>/` (crashes the
//! fuzzers found, once fixed, and hand-written edge cases) through its
//! harness, plus the seed corpora under `fuzz/seeds/<target>/`.

use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let mut n = 0;
    for dir in ["regressions", "seeds"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("read input");
            eprintln!("{target}: {}", f.display());
            harness(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn router_inputs() {
    assert!(replay("router", vp2730_fuzz::router) > 0);
}

#[test]
fn auth_header_inputs() {
    assert!(replay("auth_header", vp2730_fuzz::auth_header) > 0);
}

#[test]
fn patch_bodies_inputs() {
    assert!(replay("patch_bodies", vp2730_fuzz::patch_bodies) > 0);
}

#[test]
fn hal_protocol_inputs() {
    assert!(replay("hal_protocol", vp2730_fuzz::hal_protocol) > 0);
}

#[test]
fn hal_uart_link_inputs() {
    assert!(replay("hal_uart_link", vp2730_fuzz::hal_uart_link) > 0);
}
