//! The ceiling: a bare hyper 1 + rustls HTTP/1.1 keep-alive server that
//! answers every request with `200 hello world`. It runs as its own process
//! (`vp2730-bench hello-server`), on a default multi-thread tokio runtime
//! like the daemon's, so the two are measured under the same conditions.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves until the process is killed. Prints
/// `hello listening on https://ADDR` once ready, like the daemon.
pub fn serve(listen: &str) -> std::process::ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let acceptor = crate::tls::hello_acceptor();
        let listener = TcpListener::bind(listen).await.expect("bind");
        println!(
            "hello listening on https://{}",
            listener.local_addr().expect("local address")
        );
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            b"hello world",
                        ))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    })
}
