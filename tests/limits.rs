//! Connection-level limits (issue 6, `[server]` in config/default.toml),
//! over real TLS: the connection cap refuses at accept and never stalls the
//! connections already accepted, and its slots come back when clients go
//! (bmcweb's users found sockets stuck after 201 connections); a client that
//! never finishes its TLS handshake or its request head (slowloris) is cut
//! off after its timeout, as is an idle keep-alive connection; none of them
//! slows anybody else down.

mod common;

use common::*;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const CAP: usize = 6;

fn config() -> String {
    format!(
        "[server]\nmax_connections = {CAP}\ntls_handshake_timeout_ms = 1000\n\
         header_read_timeout_ms = 1500\n"
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A TLS connection, or why there is none.
async fn connect(addr: SocketAddr) -> Result<TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("localhost").expect("name");
    tokio::time::timeout(Duration::from_secs(5), tls_connector().connect(name, tcp))
        .await
        .map_err(|_| "TLS handshake hung".to_string())?
        .map_err(|e| format!("TLS handshake: {e}"))
}

/// One keep-alive GET of `/api/v2.0/ping` on `s`; the status line.
async fn ping(s: &mut TlsStream<TcpStream>) -> Result<String, String> {
    s.write_all(b"GET /api/v2.0/ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // `{}` is the whole body of ping.
    while !buf.ends_with(b"{}") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .map_err(|_| "no answer within 5 s".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// Waits until the server closes `s` (EOF or reset); how long that took.
async fn closed_within(s: &mut TlsStream<TcpStream>, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(t.elapsed()), s.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => {} // a 408 or the like before the close
        }
    }
}

#[test]
fn the_connection_cap_refuses_at_accept_never_stalls_and_gives_slots_back() {
    let d = Daemon::start_with_config(&config());
    let rt = runtime();
    rt.block_on(async {
        // Fill the cap with live keep-alive connections.
        let mut held = Vec::new();
        for i in 0..CAP {
            let mut s = connect(d.addr)
                .await
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            assert_eq!(ping(&mut s).await.as_deref(), Ok("HTTP/1.1 200 OK"));
            held.push(s);
        }
        // One more: refused at accept, promptly.
        let t = Instant::now();
        let extra = connect(d.addr).await;
        assert!(extra.is_err(), "connection over the cap was accepted");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "refusal took {:?}",
            t.elapsed()
        );
        // The accepted ones are not stalled.
        for (i, s) in held.iter_mut().enumerate() {
            assert_eq!(ping(s).await.as_deref(), Ok("HTTP/1.1 200 OK"), "held {i}");
        }
        // Clients leave: their slots come back, over and over (no slot is
        // kept by a connection the client closed).
        for round in 0..4 {
            for s in held.drain(..) {
                drop(s);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            for i in 0..CAP {
                let s = loop {
                    let attempt = match connect(d.addr).await {
                        Ok(mut s) => ping(&mut s).await.map(|_| s),
                        Err(e) => Err(e),
                    };
                    match attempt {
                        Ok(s) => break s,
                        // The server may not have seen the close yet.
                        Err(_) if Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                        Err(e) => panic!("round {round}, connection {i}: slot not freed: {e}"),
                    }
                };
                held.push(s);
            }
        }
    });
    // The held connections are gone with the runtime: their slots come back.
    assert!(
        wait_until(Duration::from_secs(5), || {
            rt.block_on(async {
                match connect(d.addr).await {
                    Ok(mut s) => ping(&mut s).await.is_ok(),
                    Err(_) => false,
                }
            })
        }),
        "slots not freed after the clients left"
    );
}

#[test]
fn slow_and_silent_clients_are_cut_off_without_slowing_others() {
    let d = Daemon::start_with_config(&config());
    let rt = runtime();
    rt.block_on(async {
        // A TCP connection that never starts TLS: closed after the
        // handshake timeout (1 s).
        let mut tcp = TcpStream::connect(d.addr).await.expect("connect");
        let t = Instant::now();
        let mut b = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut b)).await;
        assert!(
            matches!(r, Ok(Ok(0)) | Ok(Err(_))),
            "silent TCP connection still open after 5 s"
        );
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );

        // Slowloris: a request head trickled in a byte every 300 ms never
        // completes; the connection is closed once the header read timeout
        // (1.5 s) is over, while another client is served at full speed.
        let mut slow = connect(d.addr).await.expect("slow client");
        let mut fast = connect(d.addr).await.expect("fast client");
        let head =
            b"GET /api/v2.0/ping HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
        let t = Instant::now();
        let mut cut = None;
        for (i, byte) in head.iter().enumerate() {
            if slow.write_all(&[*byte]).await.is_err() || slow.flush().await.is_err() {
                cut = Some(t.elapsed());
                break;
            }
            if i % 3 == 0 {
                let ft = Instant::now();
                assert_eq!(ping(&mut fast).await.as_deref(), Ok("HTTP/1.1 200 OK"));
                assert!(
                    ft.elapsed() < Duration::from_secs(1),
                    "fast client waited {:?}",
                    ft.elapsed()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let cut = match cut {
            Some(c) => c,
            None => closed_within(&mut slow, Duration::from_secs(10))
                .await
                .map(|c| c + t.elapsed())
                .expect("slowloris connection never closed"),
        };
        assert!(cut < Duration::from_secs(8), "slowloris cut after {cut:?}");

        // An idle keep-alive connection is closed after the same timeout.
        let mut idle = connect(d.addr).await.expect("idle client");
        assert_eq!(ping(&mut idle).await.as_deref(), Ok("HTTP/1.1 200 OK"));
        let gone = closed_within(&mut idle, Duration::from_secs(10)).await;
        let gone = gone.expect("idle keep-alive connection never closed");
        assert!(gone >= Duration::from_millis(1000), "closed after {gone:?}");
    });
    assert_eq!(d.request("GET", "/ping", None, None).status, 200);
}
