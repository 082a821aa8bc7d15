//! `lodestar serve` as a user starts it: a child process on a loopback port over a home with
//! imported exports and a knowledge base. The answer's JSON equals `lodestar ask --json` for the
//! same question; feedback reaches `feedback stats`; the audit export holds the login and the
//! question; `user disable` ends a session; SIGTERM stops the server cleanly.

use crate::support::{lodestar_in, outcome, succeeded, WARRANTY};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n";
const TARGETS: &str = "月份,国家,品类,目标销量,目标金额,币种\n2026-09,俄罗斯,全钢,160,50000,USD\n";

fn lodestar(home: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut c = lodestar_in(home);
    c.args(args).env("LODESTAR_MODELS", home.join("no-models")).env("LODESTAR_NO_EMBED", "1");
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("run lodestar");
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    outcome(&child.wait_with_output().unwrap())
}

fn ok(home: &Path, args: &[&str]) -> String {
    succeeded(args, lodestar(home, args, None))
}

fn without_run_fields(mut v: serde_json::Value) -> serde_json::Value {
    for k in ["timings_ms", "conversation_id", "message_id"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

#[test]
fn serve_answers_like_ask_records_feedback_and_audit_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("sales.csv"), SALES).unwrap();
    std::fs::write(home.join("targets.csv"), TARGETS).unwrap();
    ok(home, &["import", home.join("targets.csv").to_str().unwrap(), home.join("sales.csv").to_str().unwrap()]);
    std::fs::create_dir_all(home.join("kb/policy")).unwrap();
    std::fs::write(home.join("kb/policy/warranty.md"), WARRANTY).unwrap();
    ok(home, &["kb", "add", home.join("kb").to_str().unwrap()]);
    let (added, out, err) = lodestar(
        home,
        &["user", "add", "li", "--role", "ops", "--clearance", "敏感", "--password-stdin"],
        Some("li-pass\n"),
    );
    assert!(added, "{err}{out}");

    let q = "全钢胎质保期是多久？";
    let cli: serde_json::Value =
        serde_json::from_str(&ok(home, &["ask", q, "--json", "--no-model", "--as", "li"])).unwrap();

    let mut server = Command::new(env!("CARGO_BIN_EXE_lodestar"))
        .arg("--home")
        .arg(home)
        .args(["serve", "--no-model", "--bind", "127.0.0.1:0"])
        .env("LODESTAR_MODELS", home.join("no-models"))
        .env("LODESTAR_NO_EMBED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{first}"));
    let base = url.trim_end_matches('/').to_string();
    // the address is taken at once; the application answers once loaded
    let health = |b: &str| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { reqwest::get(format!("{b}/health")).await.map(|r| r.status().as_u16()).unwrap_or(0) })
    };
    let mut ready = false;
    for line in lines.by_ref() {
        if line.unwrap().contains("ready on") {
            ready = true;
            break;
        }
    }
    assert!(ready, "the server did not get ready");
    assert_eq!(health(&base), 200);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": "li", "password": "li-pass"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let me: serde_json::Value = r.json().await.unwrap();
        let csrf = me["csrf_token"].as_str().unwrap().to_string();
        let post = |path: &str, body: serde_json::Value| {
            http.post(format!("{base}{path}")).header("cookie", &cookie).header("x-csrf-token", &csrf).json(&body)
        };
        let done: serde_json::Value =
            post("/api/ask", serde_json::json!({"question": q})).send().await.unwrap().json().await.unwrap();
        assert_eq!(without_run_fields(done.clone()), without_run_fields(cli.clone()), "server vs CLI");
        let r = post("/api/feedback", serde_json::json!({"message_id": done["message_id"], "rating": "up"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        let stats: serde_json::Value = serde_json::from_str(&ok(home, &["feedback", "stats", "--json"])).unwrap();
        assert_eq!((stats["rated"].as_i64(), stats["up"].as_i64()), (Some(1), Some(1)));
        assert_eq!(stats["usable_rate"], "1");
        let csv = ok(home, &["feedback", "export", "--format", "csv"]);
        assert!(csv.contains(q) && csv.contains(",up,"), "{csv}");
        let today = chrono::Local::now().format("%Y-%m-%d").to_string();
        let audit = ok(home, &["audit", "export", "--since", &today]);
        for action in [",li,login,", ",li,question,", ",li,answer,", ",li,feedback,"] {
            assert!(audit.contains(action), "`{action}` missing from the audit export:\n{audit}");
        }

        // disabling the account ends its session at once
        ok(home, &["user", "disable", "li"]);
        let r = http.get(format!("{base}/api/me")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 401);
    });

    // SIGTERM: a clean stop
    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}
