//! Tests of `poq_ml::llm`: the OpenAI-compatible backend against a server started here.

use poq_ml::llm::{ChatMessage, GenerationParams, Generator, OpenAiChat};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// Serves one request on 127.0.0.1 with `status` and `body`; sends back what it got.
fn serve_once(status: &'static str, body: &'static str) -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.to_ascii_lowercase().starts_with("content-length:") {
                length = line[15..].trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut request_body = vec![0u8; length];
        reader.read_exact(&mut request_body).unwrap();
        let mut stream = stream;
        write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        tx.send((head, String::from_utf8(request_body).unwrap())).unwrap();
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn chat_completion_round_trip() {
    let (base, rx) = serve_once(
        "200 OK",
        r#"{"choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}}], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}"#,
    );
    let mut client = OpenAiChat::new(
        &format!("{base}/v1/"),
        "tiny-model",
        Some("secret".into()),
        Duration::from_secs(10),
    );
    assert_eq!(client.name(), "tiny-model");
    let params = GenerationParams {
        max_tokens: 16,
        temperature: 0.0,
        seed: Some(7),
    };
    let g = client
        .generate(&[ChatMessage::user("Capital of France?")], &params)
        .unwrap();
    assert_eq!(g.text, "Paris.");
    assert_eq!((g.prompt_tokens, g.completion_tokens), (Some(12), Some(3)));
    assert!(g.latency_ms >= 0.0);
    let (head, body) = rx.recv().unwrap();
    assert!(head.starts_with("POST /v1/chat/completions HTTP/1.1"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("authorization: bearer secret"),
        "{head}"
    );
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["model"], "tiny-model");
    assert_eq!(sent["messages"][0]["content"], "Capital of France?");
    assert_eq!(sent["max_tokens"], 16);
    assert_eq!(sent["seed"], 7);
}

#[test]
fn server_errors_are_reported_with_status_and_body() {
    let (base, _rx) = serve_once("500 Internal Server Error", r#"{"error": "model not loaded"}"#);
    let mut client = OpenAiChat::new(&base, "m", None, Duration::from_secs(10));
    let err = client
        .generate(&[ChatMessage::user("hi")], &GenerationParams::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("500") && err.contains("model not loaded"), "{err}");
    let (base, _rx) = serve_once("200 OK", r#"{"choices": []}"#);
    let mut client = OpenAiChat::new(&base, "m", None, Duration::from_secs(10));
    let err = client
        .generate(&[ChatMessage::user("hi")], &GenerationParams::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no choices"), "{err}");
    // Nothing listens on this port any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut client = OpenAiChat::new(&format!("http://127.0.0.1:{port}"), "m", None, Duration::from_secs(5));
    assert!(
        client
            .generate(&[ChatMessage::user("hi")], &GenerationParams::default())
            .is_err()
    );
}
