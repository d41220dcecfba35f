//! A tiny HTTP/1.1 service with no dependencies: `GET /` answers a greeting with the
//! package version, `GET /health` answers 200. It listens on `$PORT` (default 8080) on all
//! interfaces, one thread per connection. It is what `cargo xtask demo` and the end-to-end
//! tests build into an image, push and deploy.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!("hello {VERSION}");
        return;
    }
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    let addr = listen_addr(&args).unwrap_or_else(|| format!("0.0.0.0:{port}"));
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hello: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("hello {VERSION} listening on {addr}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || handle(stream));
    }
}

/// `--listen ADDR` overrides `$PORT`.
fn listen_addr(args: &[String]) -> Option<String> {
    let at = args.iter().position(|a| a == "--listen")?;
    args.get(at + 1).cloned()
}

fn handle(mut stream: TcpStream) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers; the body of a GET is ignored.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET", "/") => (
            "200 OK",
            format!("Hello from cargo ecs! (hello {VERSION})\n"),
        ),
        ("GET", "/health") => ("200 OK", "ok\n".to_string()),
        ("GET", _) => ("404 Not Found", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "method not allowed\n".to_string()),
    };
    eprintln!("{method} {path} -> {status}");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
