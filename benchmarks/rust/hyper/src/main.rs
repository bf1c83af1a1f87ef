//! hyper 0.14 baseline for kio's `demo/tcp_demo`: the ecosystem's real HTTP/1.1 stack answering
//! "Hello, World!" for any request.
//!
//! On the wire (hyper writes its header names in lower case and adds `date` itself):
//!
//! ```text
//! HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\ndate: <IMF-fixdate>\r\n\r\nHello, World!
//! ```
//!
//! The same byte count as tcp_demo's response; only the header names' case and order differ.
//! hyper is a full HTTP/1.1 implementation (request bodies, chunked, `Connection: close`,
//! HTTP/1.0), with `http1_pipeline_flush(true)`: the responses to every request of one read are
//! written together, as kio does.
//!
//! Architecture: N independent current-thread Tokio runtimes, one per thread, each with its own
//! `SO_REUSEPORT` listener (like benchmarks/rust/tcp's `--flavor current` and like kio): a
//! connection stays on the thread that accepted it. `TCP_NODELAY` on every connection.
//!
//! Usage: `hyper_server [--port 8080] [--workers N]`

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Request, Response};
use tokio::net::{TcpListener, TcpSocket};

fn usage() -> ! {
    eprintln!("usage: hyper_server [--port 8080] [--workers N (default: all CPUs)]");
    std::process::exit(2);
}

fn parse_args() -> (u16, usize) {
    let mut port = 8080u16;
    let mut workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--workers" => workers = value().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if workers == 0 {
        usage();
    }
    (port, workers)
}

async fn hello(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut resp = Response::new(Body::from("Hello, World!"));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn listen(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    socket.listen(4096)
}

fn run_current_thread(port: u16) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
    rt.block_on(async move {
        let listener = listen(port).expect("listen");
        let mut http = Http::new();
        http.http1_only(true).http1_keep_alive(true).pipeline_flush(true);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let conn = http.serve_connection(stream, service_fn(hello));
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                // EMFILE and friends: keep serving the connections we have.
                Err(e) => {
                    eprintln!("hyper_server: accept: {e}");
                    tokio::task::yield_now().await;
                }
            }
        }
    });
}

fn main() {
    let (port, workers) = parse_args();
    eprintln!(
        "hyper_server: listening on 0.0.0.0:{port} ({workers} worker{}, hyper 0.14, current-thread runtimes)",
        if workers == 1 { "" } else { "s" }
    );
    let threads: Vec<_> = (1..workers)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("hyper-worker-{i}"))
                .spawn(move || run_current_thread(port))
                .expect("thread")
        })
        .collect();
    run_current_thread(port); // worker 0 is the main thread
    for t in threads {
        let _ = t.join();
    }
}
