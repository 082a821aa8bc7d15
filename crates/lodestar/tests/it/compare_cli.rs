//! `lodestar models add` and `lodestar bench compare` end to end through the binary, on tiny
//! random-weight GGUF models written here: registration and its refusals, then a comparison of
//! two models over all four suites whose report files, figures, deltas and charts are checked.

use lodestar_infer::testing::{rewrite_gguf, write_tiny_gguf, GgufValue, TinyDType};
use std::path::Path;
use std::process::Command;

fn lodestar(home: &Path, models: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lodestar"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env("LODESTAR_MODELS", models)
        .env("RAYON_NUM_THREADS", "1")
        .env("CANDLE_NUM_THREADS", "1")
        .output()
        .expect("run lodestar");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn models_add_checks_the_file_and_compare_reports_two_models() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, models, files) = (tmp.path().join("home"), tmp.path().join("models"), tmp.path().join("files"));
    std::fs::create_dir_all(&files).unwrap();
    let a = files.join("Tiny-A.gguf");
    let b = files.join("tiny-b.gguf");
    write_tiny_gguf(&a, "qwen2", 4096, TinyDType::Q8_0, 11);
    write_tiny_gguf(&b, "llama", 4096, TinyDType::Q4_0, 12);

    // refusals: an architecture the engine does not run, and no chat template
    let gemma = files.join("gemma.gguf");
    rewrite_gguf(&a, &gemma, |md| {
        for (k, v) in md.iter_mut() {
            if k == "general.architecture" {
                *v = GgufValue::String("gemma2".into());
            }
        }
    });
    let (ok, out, err) = lodestar(&home, &models, &["models", "add", gemma.to_str().unwrap()]);
    assert!(!ok, "an unsupported architecture was accepted: {out}");
    assert!(err.contains("architecture `gemma2` is not supported"), "{err}");
    assert!(err.contains("qwen2, qwen3, llama"), "the refusal names what is supported: {err}");
    let bare = files.join("no-template.gguf");
    rewrite_gguf(&a, &bare, |md| md.retain(|(k, _)| k != "tokenizer.chat_template"));
    let (ok, _, err) = lodestar(&home, &models, &["models", "add", bare.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("no chat template (tokenizer.chat_template)"), "{err}");
    let garbage = files.join("garbage.gguf");
    std::fs::write(&garbage, b"not a model at all").unwrap();
    let (ok, _, err) = lodestar(&home, &models, &["models", "add", garbage.to_str().unwrap()]);
    assert!(!ok && err.contains("not a readable GGUF file"), "{err}");

    // registration: default name from the file, or --name; a taken name is refused
    let (ok, out, err) = lodestar(&home, &models, &["models", "add", a.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("added `tiny-a`: qwen2 Q8_0"), "{out}");
    let (ok, _, err) = lodestar(&home, &models, &["models", "add", b.to_str().unwrap(), "--name", "tiny-llama"]);
    assert!(ok, "{err}");
    let (ok, _, err) = lodestar(&home, &models, &["models", "add", b.to_str().unwrap(), "--name", "tiny-a"]);
    assert!(!ok && err.contains("already added"), "{err}");
    let (ok, _, err) = lodestar(&home, &models, &["models", "add", b.to_str().unwrap(), "--name", "qwen-1.5b"]);
    assert!(!ok && err.contains("built-in model's name"), "{err}");
    let (ok, out, err) = lodestar(&home, &models, &["--json", "models", "list"]);
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let added: Vec<&serde_json::Value> = list.as_array().unwrap().iter().filter(|m| m["kind"] == "added").collect();
    assert_eq!(added.len(), 2, "{out}");
    let llama = added.iter().find(|m| m["name"] == "tiny-llama").unwrap();
    assert_eq!(llama["arch"], "llama");
    assert_eq!(llama["quant"], "Q4_0");
    assert_eq!(llama["sha256"].as_str().unwrap().len(), 64);

    // a small qa set: two metric, two knowledge, one unanswerable question of the repository's set
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let qa = std::fs::read_to_string(repo.join("tests/eval/qa.jsonl")).unwrap();
    let mut picked = Vec::new();
    for (cat, n) in [("metric", 2), ("knowledge", 2), ("unanswerable", 1)] {
        let lines: Vec<&str> = qa
            .lines()
            .filter(|l| {
                let refusal = l.contains("\"expect_refusal\": true");
                l.contains(&format!("\"category\": \"{cat}\"")) && refusal == (cat == "unanswerable")
            })
            .take(n)
            .collect();
        assert_eq!(lines.len(), n, "{cat}");
        picked.extend(lines);
    }
    let set = files.join("qa-small.jsonl");
    std::fs::write(&set, picked.join("\n")).unwrap();

    let out_dir = tmp.path().join("report");
    let (ok, out, err) = lodestar(
        &home,
        &models,
        &[
            "bench",
            "compare",
            "--models",
            "tiny-a,tiny-llama",
            "--baseline",
            "tiny-a",
            "--suites",
            "speed,qa,minutes,drafts",
            "--reps",
            "2",
            "--prompt-tokens",
            "32,64",
            "--gen-tokens",
            "6",
            "--batch",
            "2",
            "--draft-customers",
            "2",
            "--set",
            set.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(ok, "bench compare failed: {err}\n{out}");
    for f in [
        "report.json",
        "report.md",
        "report.html",
        "qa.tiny-a.jsonl",
        "minutes.tiny-llama.jsonl",
        "drafts.tiny-a.jsonl",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing; stderr:\n{err}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["baseline"], "tiny-a");
    let models_json = report["models"].as_array().unwrap();
    assert_eq!(models_json.len(), 2);
    let expected = [
        "speed.load_ms",
        "speed.prefill_32_tok_s",
        "speed.prefill_64_tok_s",
        "speed.decode_32_tok_s",
        "speed.decode_64_tok_s",
        "speed.decode_64_tok_s_sd",
        "speed.batch2_decode_tok_s",
        "speed.peak_rss_mb",
        "speed.ttft_p50_ms",
        "speed.ttft_p95_ms",
        "qa.metric_number_exactness",
        "qa.fact_coverage",
        "qa.refusal_correctness",
        "qa.guard_flags",
        "qa.passed",
        "qa.cat.metric.passed",
        "qa.cat.knowledge.passed",
        "minutes.item_recall",
        "minutes.item_precision",
        "minutes.rules.item_recall",
        "minutes.item_recall_vs_rules",
        // shares of model prose exist only when a model wrote some (tiny random models rarely
        // do); the counts are always there
        "drafts.numbers",
        "drafts.ai_paragraphs",
        "drafts.missing_marked_share",
        "drafts.seconds_per_profile",
    ];
    for m in models_json {
        assert!(m["errors"].as_array().unwrap().is_empty(), "{}: {}", m["model"]["name"], m["errors"]);
        for k in expected {
            assert!(m["figures"][k].is_number(), "{} lacks {k}: {}", m["model"]["name"], m["figures"]);
        }
        // the metric answers come from the rule engine, whatever the model
        assert_eq!(m["figures"]["qa.metric_number_exactness"], 1.0);
        // the speed suite ran in a child process of its own: memory of the tiny model only
        assert!(m["figures"]["speed.peak_rss_mb"].as_f64().unwrap() < 2048.0);
    }
    // deltas: tiny-llama − tiny-a for every figure, worked out here from the two models' figures
    let (fa, fb) = (&models_json[0]["figures"], &models_json[1]["figures"]);
    let deltas = report["deltas"]["tiny-llama"].as_object().unwrap();
    assert!(deltas.len() >= expected.len());
    for k in expected {
        let want = fb[k].as_f64().unwrap() - fa[k].as_f64().unwrap();
        let got = deltas[k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{k}: delta {got}, by hand {want}");
    }
    assert!(report["deltas"].get("tiny-a").is_none(), "no delta of the baseline against itself");
    // every suite's model-independent figure: the rules alone are the same for both models
    assert_eq!(fa["minutes.rules.item_recall"], fb["minutes.rules.item_recall"]);

    // HTML: self-contained, an SVG per chart, one per chosen kind of figure
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    let charts = html.matches("<div class=chart>").count();
    assert!(charts >= 6, "{charts} charts");
    assert_eq!(html.matches("<div class=chart><svg").count(), charts, "each chart is an inline SVG");
    for title in [
        "Decode speed",
        "Prefill speed",
        "Time to first token",
        "Answer quality (qa set)",
        "Minutes extraction",
        "Drafts grounding",
    ] {
        assert!(html.contains(&format!("<title>{title}")), "chart `{title}` missing");
    }
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src="),
        "external or active content"
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("| figure | tiny-a | tiny-llama | Δ tiny-llama |"), "{md}");
    assert!(md.contains("## Machine and build") && md.contains("Q4_0"));
    // the per-sample log has one line per question with the answer and its scores
    let log = std::fs::read_to_string(out_dir.join("qa.tiny-llama.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 5);
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert!(first["answer"].is_string() && first["score"]["numbers_expected"].is_number());
}
