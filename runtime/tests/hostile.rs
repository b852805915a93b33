//! A hostile or broken license API below HTTP's level, which wiremock cannot play: a body cut short
//! before its Content-Length, an answer that drips one byte a second, a server that accepts the
//! connection and never writes. Each ends in one clear error line and a documented exit code within
//! the deadline (3 s here, each request 1 s), with no panic.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// What the raw server does once it has read a request.
#[derive(Debug, Clone, Copy)]
enum Misbehaviour {
    /// Headers promising 100 bytes, 11 of them, then the connection closed.
    Truncated,
    /// Headers, then one byte of body a second, for a minute.
    Drip,
    /// Nothing at all, for a minute.
    Silent,
}

/// Serves `how` to every connection on a loopback port; returns the API URL.
async fn serve(how: Misbehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
                match how {
                    Misbehaviour::Truncated => {
                        let _ = socket.write_all(format!("{head}{{\"valid\":tr").as_bytes()).await;
                        let _ = socket.shutdown().await;
                    }
                    Misbehaviour::Drip => {
                        let _ = socket.write_all(head.as_bytes()).await;
                        for _ in 0..60 {
                            if socket.write_all(b" ").await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    Misbehaviour::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    url
}

async fn ends_clearly(how: Misbehaviour) {
    let url = serve(how).await;
    let rig = Rig::new();
    let (out, took) = finish(rig.run(&url, &["true"])).await;
    let shown = text(&out);
    assert!(
        [69, 76].contains(&code(&out)),
        "{how:?}: exit {} is not 69 (unreachable) or 76 (contract breach): {shown}",
        code(&out)
    );
    assert!(
        took < Duration::from_secs(6),
        "{how:?}: took {took:?} for a 3 s deadline"
    );
    assert!(!shown.contains("panicked"), "{how:?}: {shown}");
    let errors: Vec<&str> = shown.lines().filter(|l| l.contains("failed to")).collect();
    assert_eq!(errors.len(), 1, "{how:?}: one error line, got: {shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_cut_short_ends_clearly_within_the_deadline() {
    ends_clearly(Misbehaviour::Truncated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_dripping_one_byte_a_second_ends_clearly_within_the_deadline() {
    ends_clearly(Misbehaviour::Drip).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_accepts_and_never_writes_ends_clearly_within_the_deadline() {
    ends_clearly(Misbehaviour::Silent).await;
}
