//! A remote model end to end: one lodestar serves a tiny chat model over its OpenAI API; a
//! second home registers it with `models add-remote` (key from an environment variable) and
//! answers a knowledge question through it with `ask --model`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn lodestar(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lodestar"));
    c.arg("--home").arg(home).args(args).env("LODESTAR_MODELS", home.join("no-models")).env("LODESTAR_NO_EMBED", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run lodestar");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const WARRANTY: &str = "---\nkb: policy\ntitle: 质保政策\nsensitivity: 内部\n---\n# 质保政策\n## 全钢胎\n全钢胎质保期为 36 个月，长途干线 15 万公里。\n";

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

    // the serving side saw the request as the key's user
    let (_, audit, _) = lodestar(&server_home, &["audit", "export", "--since", "2000-01-01"], &[]);
    assert!(audit.contains(",gpu-client,completion,"), "{audit}");
    let (ok, _, _) = lodestar(&client_home, &["models", "remove", "gpu"], &[]);
    assert!(ok);
    let _ = server.kill();
    let _ = server.wait();
}
