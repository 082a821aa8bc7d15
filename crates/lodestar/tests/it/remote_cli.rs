//! A remote model end to end: one lodestar serves a tiny chat model over its OpenAI API; a
//! second home registers it with `models add-remote` (key from an environment variable) and
//! answers a knowledge question through it with `ask --model`.

use crate::support::{lodestar_in, run, WARRANTY};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn lodestar(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut c = lodestar_in(home);
    c.args(args).env("LODESTAR_MODELS", home.join("no-models")).env("LODESTAR_NO_EMBED", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

#[test]
fn a_registered_remote_model_answers_through_the_openai_api() {
    let dir = tempfile::tempdir().unwrap();
    let server_home = dir.path().join("server");
    let client_home = dir.path().join("client");
    std::fs::create_dir_all(&server_home).unwrap();
    std::fs::create_dir_all(client_home.join("kb/policy")).unwrap();
    let model = dir.path().join("tiny.gguf");
    lodestar_infer::testing::write_tiny_chat_model(&model, 11);
    let (ok, _, err) =
        lodestar(&server_home, &["user", "add", "gpu-client", "--role", "ops", "--clearance", "内部"], &[]);
    assert!(ok, "{err}");
    let (ok, key, err) =
        lodestar(&server_home, &["user", "key", "create", "gpu-client", "--name", "other-lodestar"], &[]);
    assert!(ok, "{err}");
    let key = key.trim().to_string();

    let mut server = Command::new(env!("CARGO_BIN_EXE_lodestar"))
        .arg("--home")
        .arg(&server_home)
        .args(["serve", "--bind", "127.0.0.1:0", "--model", model.to_str().unwrap()])
        .env("LODESTAR_MODELS", server_home.join("no-models"))
        .env("LODESTAR_NO_EMBED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_string();
    // wait until the model is loaded and the application answers
    assert!(lines.any(|l| l.unwrap().contains("ready on")), "the server did not get ready");

    std::fs::write(client_home.join("kb/policy/warranty.md"), WARRANTY).unwrap();
    let (ok, _, err) = lodestar(&client_home, &["kb", "add", client_home.join("kb").to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    let v1 = format!("{url}/v1");
    let (ok, out, err) = lodestar(
        &client_home,
        &["models", "add-remote", "gpu", "--url", &v1, "--model", "tiny", "--api-key-env", "GPU_KEY"],
        &[],
    );
    assert!(ok, "{err}{out}");
    let (ok, out, _) = lodestar(&client_home, &["models", "list", "--json"], &[]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let remote = list.as_array().unwrap().iter().find(|m| m["remote"] == true).unwrap();
    assert_eq!((remote["name"].as_str(), remote["url"].as_str()), (Some("gpu"), Some(v1.as_str())));
    assert!(!out.contains(&key), "the key is never stored");

    // without the key: a clear error naming the variable, not the key
    let (ok, _, err) = lodestar(&client_home, &["ask", "全钢胎质保期是多久？", "--model", "gpu", "--json"], &[]);
    assert!(!ok && err.contains("GPU_KEY"), "{err}");
    // with it: answered through the remote model, cited from the local knowledge base
    let (ok, out, err) =
        lodestar(&client_home, &["ask", "全钢胎质保期是多久？", "--model", "gpu", "--json"], &[("GPU_KEY", &key)]);
    assert!(ok, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["citations"][0]["doc"], "policy/warranty.md", "{v}");
    assert_eq!(v["needs_review"], true);

    // plain generation through it
    let (ok, out, err) = lodestar(
        &client_home,
        &["generate", "hello", "--model", "gpu", "--max-tokens", "8", "--json"],
        &[("GPU_KEY", &key)],
    );
    assert!(ok, "{err}{out}");
    let g: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(g["model"], "gpu");
    assert!(g["stats"]["generated_tokens"].as_u64().unwrap() > 0, "{g}");

    // and benchmarked through it
    let (ok, out, err) = lodestar(
        &client_home,
        &["bench", "llm", "--model", "gpu", "--prompt-tokens", "64", "--gen-tokens", "8", "--reps", "1", "--json"],
        &[("GPU_KEY", &key)],
    );
    assert!(ok, "{err}{out}");
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(b[0]["prompt_tokens"].as_u64().unwrap() > 0 && b[0]["ttft_ms"].as_f64().unwrap() > 0.0, "{b}");
    assert!(b[0]["device"].as_str().unwrap().starts_with("remote http://127.0.0.1"), "{b}");

    // the serving side saw the request as the key's user
    let (_, audit, _) = lodestar(&server_home, &["audit", "export", "--since", "2000-01-01"], &[]);
    assert!(audit.contains(",gpu-client,completion,"), "{audit}");
    let (ok, _, _) = lodestar(&client_home, &["models", "remove", "gpu"], &[]);
    assert!(ok);
    let _ = server.kill();
    let _ = server.wait();
}

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(bin)).find(|p| p.is_file())
}

/// The same through llama.cpp's own server when `llama-server` is on the PATH (build it with
/// `scripts/llamacpp-baseline.sh --server`) and a real Qwen GGUF is installed (llama.cpp does not
/// load the tiny test model); skipped, saying so, otherwise.
#[test]
fn llama_cpp_server_as_a_remote_model() {
    let Some(server_bin) = which("llama-server") else {
        eprintln!("skipped: llama_cpp_server_as_a_remote_model needs llama-server on the PATH (scripts/llamacpp-baseline.sh --server builds it)");
        return;
    };
    let models = lodestar_core::home::models_dir();
    let Some(model) = ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"].iter().find_map(|m| {
        std::fs::read_dir(models.join(m))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "gguf"))
    }) else {
        eprintln!(
            "skipped: llama_cpp_server_as_a_remote_model needs an installed Qwen GGUF in {} (lodestar models fetch)",
            models.display()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("kb/policy")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(server_bin)
        .args([
            "-m",
            model.to_str().unwrap(),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            "4096",
            "-t",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("llama-server.log")).unwrap())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let ready = loop {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /health HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200")
        });
        if ok || t.elapsed() > std::time::Duration::from_secs(60) {
            break ok;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !ready {
        let _ = server.kill();
        let log = std::fs::read_to_string(dir.path().join("llama-server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        panic!(
            "llama-server did not become healthy on port {port}:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    std::fs::write(home.join("kb/policy/warranty.md"), WARRANTY).unwrap();
    let (ok, _, err) = lodestar(&home, &["kb", "add", home.join("kb").to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    let url = format!("http://127.0.0.1:{port}/v1");
    let (ok, _, err) = lodestar(&home, &["models", "add-remote", "llama", "--url", &url, "--model", "tiny"], &[]);
    assert!(ok, "{err}");
    let (ok, out, err) = lodestar(&home, &["ask", "全钢胎质保期是多久？", "--model", "llama", "--json"], &[]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["citations"][0]["doc"], "policy/warranty.md", "{v}");
}
