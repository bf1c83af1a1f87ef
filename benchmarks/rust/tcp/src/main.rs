//! Tokio baseline for kio's `demo/tcp_demo`: an HTTP/1.1 "Hello, World!" server.
//!
//! Same bytes on the wire as tcp_demo for `GET` of any path:
//!
//! ```text
//! HTTP/1.1 200 OK\r\nContent-Length: 13\r\nDate: <IMF-fixdate>\r\nContent-Type: text/plain\r\n\r\nHello, World!
//! ```
//!
//! * keep-alive; `Connection: close` is honoured after the response;
//! * pipelining: every complete request in a read gets one response, in order, and all responses
//!   produced from one read go out in one `write_all`;
//! * request bodies with `Content-Length` are skipped; `Transfer-Encoding` (chunked uploads) and
//!   header sections over 8 KiB close the connection (the baseline is not an HTTP implementation,
//!   only the request framing wrk and the other benchmark clients need);
//! * one `SO_REUSEPORT` listener per worker, `TCP_NODELAY` on every connection;
//! * the `Date` header is cached per thread and reformatted when the second changes.
//!
//! Usage: `tokio_server [--port 8080] [--workers N] [--flavor current|multi]`
//!
//! `--flavor current` (the default) runs N independent current-thread runtimes, one per thread,
//! each with its own listener: the kernel spreads connections over the listeners and a connection
//! stays on the thread that accepted it: no work stealing, no cross-thread wake-ups, the same
//! architecture as kio. `--flavor multi` is the default `#[tokio::main]` multi-thread
//! work-stealing runtime with N workers. Measured with tools/bench-http
//! (benchmarks/results/tokio-flavors), the current-thread setup used the same or less server CPU
//! per request, so it is the baseline.

use std::cell::RefCell;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const BODY: &[u8] = b"Hello, World!";
const HEAD_PREFIX: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nDate: ";
const HEAD_SUFFIX: &[u8] = b"\r\nContent-Type: text/plain\r\n\r\n";
const HEAD_SUFFIX_CLOSE: &[u8] = b"\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
/// Largest request header section accepted (kio's default limit too).
const MAX_HEAD: usize = 8 * 1024;
const INITIAL_BUF: usize = 4 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavor {
    Current,
    Multi,
}

struct Args {
    port: u16,
    workers: usize,
    flavor: Flavor,
}

fn usage() -> ! {
    eprintln!("usage: tokio_server [--port 8080] [--workers N (default: all CPUs)] [--flavor current|multi]");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        port: 8080,
        workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        flavor: Flavor::Current,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--port" => args.port = value().parse().unwrap_or_else(|_| usage()),
            "--workers" => args.workers = value().parse().unwrap_or_else(|_| usage()),
            "--flavor" => {
                args.flavor = match value().as_str() {
                    "current" => Flavor::Current,
                    "multi" => Flavor::Multi,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    if args.workers == 0 {
        usage();
    }
    args
}

// ---- Date header -------------------------------------------------------------------------------

/// Formats `secs` since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7), 29 bytes.
fn format_http_date(secs: u64, out: &mut [u8; 29]) {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from a day count: shift the epoch to 0000-03-01 so leap days end each cycle.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    let two = |v: u64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    out[0..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    out[5..7].copy_from_slice(&two(day as u64));
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    out[11] = b' ';
    let y = year as u64;
    out[12..16].copy_from_slice(&[
        b'0' + (y / 1000 % 10) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
    ]);
    out[16] = b' ';
    out[17..19].copy_from_slice(&two(hh));
    out[19] = b':';
    out[20..22].copy_from_slice(&two(mm));
    out[22] = b':';
    out[23..25].copy_from_slice(&two(ss));
    out[25..29].copy_from_slice(b" GMT");
}

thread_local! {
    /// (second it was formatted for, the formatted date), per thread.
    static DATE: RefCell<(u64, [u8; 29])> = RefCell::new((u64::MAX, [0u8; 29]));
}

/// Appends `count` responses to `out`, all with the current (cached) Date; with `close_last` the
/// last one carries `Connection: close` (as kio's does when the client asked to close).
fn append_responses(out: &mut Vec<u8>, count: usize, close_last: bool) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != now {
            cached.0 = now;
            format_http_date(now, &mut cached.1);
        }
        out.reserve(count * (HEAD_PREFIX.len() + 29 + HEAD_SUFFIX.len() + BODY.len()) + 19);
        for i in 0..count {
            out.extend_from_slice(HEAD_PREFIX);
            out.extend_from_slice(&cached.1);
            if close_last && i + 1 == count {
                out.extend_from_slice(HEAD_SUFFIX_CLOSE);
            } else {
                out.extend_from_slice(HEAD_SUFFIX);
            }
            out.extend_from_slice(BODY);
        }
    });
}

// ---- Request framing ---------------------------------------------------------------------------

/// Length of the header section at the start of `buf` (through the empty line), if complete.
fn head_len(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        // "\r\n\r\n": this LF ends an empty line.
        if nl >= 3 && &buf[nl - 3..nl] == b"\r\n\r" {
            return Some(nl + 1);
        }
        i = nl + 1;
    }
    None
}

struct HeadInfo {
    content_length: usize,
    close: bool,
    unsupported: bool,
}

/// Strips optional whitespace (SP / HTAB) around a header value.
fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Reads the few headers that affect framing: Content-Length, Transfer-Encoding, Connection.
fn scan_head(head: &[u8]) -> HeadInfo {
    let mut info = HeadInfo { content_length: 0, close: false, unsupported: false };
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            Some(b'c') | Some(b'C') => {
                if starts_with_ignore_case(line, b"content-length:") {
                    let v = trim(&line[15..]);
                    match std::str::from_utf8(v).ok().and_then(|s| s.parse::<usize>().ok()) {
                        Some(n) => info.content_length = n,
                        None => info.unsupported = true,
                    }
                } else if starts_with_ignore_case(line, b"connection:") {
                    info.close = trim(&line[11..]).eq_ignore_ascii_case(b"close");
                }
            }
            Some(b't') | Some(b'T') => {
                if starts_with_ignore_case(line, b"transfer-encoding:") {
                    info.unsupported = true;
                }
            }
            _ => {}
        }
    }
    info
}

// ---- Server ------------------------------------------------------------------------------------

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; INITIAL_BUF];
    let mut filled = 0usize;
    let mut body_left = 0usize; // request body bytes still to discard
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;

        let mut start = 0usize;
        let mut responses = 0usize;
        let mut close = false; // stop after this batch
        let mut close_asked = false; // the last request said `Connection: close`
        loop {
            if body_left > 0 {
                let k = body_left.min(filled - start);
                start += k;
                body_left -= k;
                if body_left > 0 {
                    break;
                }
            }
            let len = match head_len(&buf[start..filled]) {
                Some(len) => len,
                None => break,
            };
            let info = scan_head(&buf[start..start + len]);
            if info.unsupported {
                close = true;
                break;
            }
            responses += 1;
            start += len;
            body_left = info.content_length;
            if info.close {
                close = true;
                close_asked = true;
                break;
            }
        }
        if responses > 0 {
            append_responses(&mut out, responses, close_asked);
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return Ok(());
        }
        // Keep the partial request (if any) at the front of the buffer.
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            if buf.len() >= MAX_HEAD {
                return Ok(()); // header section too large
            }
            buf.resize(buf.len() * 2, 0);
        }
    }
}

fn listen(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    socket.listen(4096)
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    let _ = serve(stream).await;
                });
            }
            // EMFILE and friends: keep serving the connections we have.
            Err(e) => {
                eprintln!("tokio_server: accept: {e}");
                tokio::task::yield_now().await;
            }
        }
    }
}

fn run_current_thread(port: u16) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
    rt.block_on(async move {
        let listener = listen(port).expect("listen");
        accept_loop(listener).await
    });
}

fn main() {
    let args = parse_args();
    eprintln!(
        "tokio_server: listening on 0.0.0.0:{} ({} worker{}, {:?} flavor)",
        args.port,
        args.workers,
        if args.workers == 1 { "" } else { "s" },
        args.flavor
    );
    match args.flavor {
        Flavor::Current => {
            let port = args.port;
            let threads: Vec<_> = (1..args.workers)
                .map(|i| {
                    std::thread::Builder::new()
                        .name(format!("tokio-worker-{i}"))
                        .spawn(move || run_current_thread(port))
                        .expect("thread")
                })
                .collect();
            run_current_thread(port); // worker 0 is the main thread
            for t in threads {
                let _ = t.join();
            }
        }
        Flavor::Multi => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.workers)
                .enable_io()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut loops = Vec::new();
                for _ in 0..args.workers {
                    let listener = listen(args.port).expect("listen");
                    loops.push(tokio::spawn(accept_loop(listener)));
                }
                for l in loops {
                    let _ = l.await;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date() {
        let mut d = [0u8; 29];
        format_http_date(784_111_777, &mut d); // RFC 9110's example
        assert_eq!(&d, b"Sun, 06 Nov 1994 08:49:37 GMT");
        format_http_date(951_782_400, &mut d); // leap day
        assert_eq!(&d, b"Tue, 29 Feb 2000 00:00:00 GMT");
        format_http_date(0, &mut d);
        assert_eq!(&d, b"Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn framing() {
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nGET";
        let l1 = head_len(two).unwrap();
        assert_eq!(l1, 27);
        let l2 = head_len(&two[l1..]).unwrap();
        assert_eq!(l2, 28);
        assert_eq!(head_len(&two[l1 + l2..]), None);
        let info = scan_head(b"POST / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 5\r\nConnection: close\r\n\r\n");
        assert_eq!(info.content_length, 5);
        assert!(info.close && !info.unsupported);
        assert!(scan_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unsupported);
    }
}
