//! Shared by the tests that run the `simweb` binary as a user would.

use std::process::{Command, Output};

/// Runs the binary with `args`, without a `SIMWEB_DATA` from the environment. The
/// sandbox engines are compiled into the cache first (once per process), as `make run`
/// does with `simweb sandbox prepare`.
pub fn simweb(args: &[&str]) -> Output {
    simweb_testkit::prepare_sandbox();
    Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(args)
        .env_remove("SIMWEB_DATA")
        .output()
        .expect("running simweb")
}

/// A stand-in for an OpenAI-compatible chat server on 127.0.0.1 (no LLM runs here):
/// every `POST …/chat/completions` is answered with `answer(request body)` as the
/// assistant's message. Returns the base URL (`http://addr/v1`).
pub fn chat_server(answer: impl Fn(&serde_json::Value) -> String + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let request: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let content = answer(&request);
            let reply = serde_json::json!({
                "id": "x", "object": "chat.completion", "model": "stand-in",
                "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": content.len() / 4, "total_tokens": 100},
            })
            .to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    format!("http://{addr}/v1")
}
