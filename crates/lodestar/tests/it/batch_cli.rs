//! `lodestar batch` as ops run it: a batch of chat requests on a tiny model, killed with SIGKILL
//! after some items are committed and run again — every `custom_id` gets exactly one result, the
//! first run's results are not recomputed, files on disk are complete — and bad input files.

use crate::support::{lodestar_in, run, succeeded};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home).args(args).env("LODESTAR_MODELS", home.join("no-models")).env("LODESTAR_NO_EMBED", "1"))
}

fn ok(home: &Path, args: &[&str]) -> String {
    succeeded(args, lodestar(home, args))
}

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n";

fn line(id: &str, n: usize) -> String {
    serde_json::json!({
        "custom_id": id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "tiny", "max_tokens": 400, "messages": [{"role": "user", "content": format!("hello {n}")}]}
    })
    .to_string()
}

fn completed(db: &Path) -> Vec<(String, String, String)> {
    let s = lodestar_store::Store::open(db).unwrap();
    let mut st = s
        .conn()
        .prepare("SELECT custom_id, finished_at, response FROM batch_items WHERE status = 'completed' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_killed_run_resumes_without_duplicates_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let model = home.join("tiny.gguf");
    lodestar_infer::testing::write_tiny_chat_model(&model, 7);
    let n = 16;
    let reqs: Vec<String> = (0..n).map(|i| line(&format!("req-{i:02}"), i)).collect();
    std::fs::write(home.join("requests.jsonl"), reqs.join("\n")).unwrap();
    let model_arg = model.to_str().unwrap();
    let id =
        ok(home, &["batch", "submit", "--file", home.join("requests.jsonl").to_str().unwrap(), "--model", model_arg]);
    let id = id.trim().to_string();
    assert!(id.starts_with("batch_"), "{id}");
    // a profiles batch after it: its files must be complete on disk whatever happens
    std::fs::write(home.join("sales.csv"), SALES).unwrap();
    ok(home, &["import", home.join("sales.csv").to_str().unwrap()]);
    let pid = ok(home, &["batch", "submit", "profiles", "--top", "2", "--month", "2026-09", "--no-model"]);
    let pid = pid.trim().to_string();

    // first run: killed with SIGKILL once a few items are committed
    let db = home.join("lodestar.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lodestar"))
        .arg("--home")
        .arg(home)
        .args(["batch", "run", "--parallel", "3"])
        .env("LODESTAR_MODELS", home.join("no-models"))
        .env("LODESTAR_NO_EMBED", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let done = completed(&db).len();
        if done >= 3 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed ({done} done)");
        assert!(t.elapsed() < Duration::from_secs(120), "no item committed in 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first = completed(&db);
    assert!(first.len() < n + 2, "everything finished before the kill; nothing to resume");

    // second run (one item at a time): finishes exactly the rest
    ok(home, &["batch", "run"]);
    let all = completed(&db);
    for (cid, at, resp) in &first {
        let again = all.iter().find(|(c, _, _)| c == cid).unwrap();
        assert_eq!((&again.1, &again.2), (at, resp), "{cid} was recomputed");
    }
    let results = ok(home, &["batch", "results", &id]);
    let mut ids: Vec<String> = results
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["response"]["status_code"], 200, "{l}");
            assert_eq!(v["response"]["body"]["object"], "chat.completion");
            assert!(v["response"]["body"]["usage"]["completion_tokens"].as_i64().unwrap() > 0);
            v["custom_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), n, "one result per request");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no duplicates");
    let st: serde_json::Value = serde_json::from_str(&ok(home, &["batch", "status", &id, "--json"])).unwrap();
    assert_eq!(st["status"], "completed");
    assert_eq!(st["request_counts"]["total"], n);
    assert_eq!(st["request_counts"]["completed"], n);

    // the profile files are complete: Markdown with all seven sections, docx a whole zip archive
    let st: serde_json::Value = serde_json::from_str(&ok(home, &["batch", "status", &pid, "--json"])).unwrap();
    assert_eq!(st["request_counts"]["completed"], 2);
    let out = ok(home, &["batch", "results", &pid]);
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for f in v["response"]["body"]["files"].as_array().unwrap() {
            let p = Path::new(f.as_str().unwrap());
            let bytes = std::fs::read(p).unwrap();
            if p.extension().is_some_and(|e| e == "md") {
                assert!(String::from_utf8(bytes).unwrap().contains("七、开发优先级"), "{}", p.display());
            } else {
                // end of central directory record: the archive was written to the end
                assert!(bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x05, 0x06]), "{}", p.display());
            }
        }
    }
    let drafts: serde_json::Value = serde_json::from_str(&ok(home, &["draft", "list", "--json"])).unwrap();
    assert_eq!(drafts.as_array().unwrap().len(), 2, "one draft per profile item, none twice");
    let report = ok(home, &["batch", "report", &pid]);
    assert!(report.contains("待复核初稿"), "{report}");

    // resubmitting the same requests redoes nothing
    let again =
        ok(home, &["batch", "submit", "--file", home.join("requests.jsonl").to_str().unwrap(), "--model", model_arg]);
    let st: serde_json::Value = serde_json::from_str(&ok(home, &["batch", "status", again.trim(), "--json"])).unwrap();
    assert_eq!(st["status"], "completed");
}

#[test]
fn parallel_items_get_the_results_they_get_one_at_a_time() {
    // The same seven requests (different lengths and prompts) as two batches: one run with
    // `--parallel 3` (its model calls decoded together), the other one item at a time. Every
    // request's text, token count and finish reason are the same in both.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let model = home.join("tiny.gguf");
    lodestar_infer::testing::write_tiny_chat_model(&model, 11);
    let lengths = [40, 7, 25, 60, 3, 33, 18];
    let body = |n: usize| {
        serde_json::json!({"model": "tiny", "max_tokens": lengths[n],
            "messages": [{"role": "user", "content": format!("radial truck {} #{n}", "hello ".repeat(n))}]})
    };
    let file = |prefix: &str| {
        let p = home.join(format!("{prefix}.jsonl"));
        let lines: Vec<String> = (0..7)
            .map(|n| serde_json::json!({"custom_id": format!("{prefix}-{n}"), "method": "POST", "url": "/v1/chat/completions", "body": body(n)}).to_string())
            .collect();
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    };
    let model_arg = model.to_str().unwrap();
    let par = ok(home, &["batch", "submit", "--file", file("par").to_str().unwrap(), "--model", model_arg]);
    let seq = ok(home, &["batch", "submit", "--file", file("seq").to_str().unwrap(), "--model", model_arg]);
    let (par, seq) = (par.trim().to_string(), seq.trim().to_string());
    let sum: serde_json::Value =
        serde_json::from_str(&ok(home, &["--json", "batch", "run", &par, "--parallel", "3"])).unwrap();
    assert_eq!(sum["completed"], 7, "{sum}");
    assert_eq!(sum["failed"], 0, "{sum}");
    ok(home, &["batch", "run", &seq]);
    let answers = |id: &str| -> Vec<(String, String, i64, String)> {
        let mut v: Vec<(String, String, i64, String)> = ok(home, &["batch", "results", id])
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let b = &v["response"]["body"];
                let n = v["custom_id"].as_str().unwrap().rsplit('-').next().unwrap().to_string();
                (
                    n,
                    b["choices"][0]["message"]["content"].as_str().unwrap().to_string(),
                    b["usage"]["completion_tokens"].as_i64().unwrap(),
                    b["choices"][0]["finish_reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (answers(&par), answers(&seq));
    assert_eq!(a.len(), 7);
    assert!(a.iter().any(|x| x.2 > 5), "some request generates more than a few tokens");
    let distinct: std::collections::HashSet<&String> = a.iter().map(|x| &x.1).collect();
    assert!(distinct.len() > 2, "the requests give different texts");
    assert_eq!(a, b, "parallel and one-at-a-time results differ");
    let st: serde_json::Value = serde_json::from_str(&ok(home, &["batch", "status", &par, "--json"])).unwrap();
    assert_eq!(st["status"], "completed");
}

#[test]
fn bad_input_files_queue_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let good = line("a", 1);
    let text = format!("{good}\n{{not json\n{good}\n");
    std::fs::write(home.join("bad.jsonl"), text).unwrap();
    let (okay, out, err) = lodestar(home, &["batch", "submit", "--file", home.join("bad.jsonl").to_str().unwrap()]);
    assert!(!okay, "{out}");
    assert!(err.contains("line 2: not a JSON object") && err.contains("line 3: duplicate custom_id `a`"), "{err}");
    let (_, out, _) = lodestar(home, &["batch", "status", "--json"]);
    assert_eq!(out.trim(), "[]", "nothing queued");
}
