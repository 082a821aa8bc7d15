//! `lodestar kb add` / `search` / `index stats` / `kb list|remove` end to end through the binary,
//! with the embedding model switched off (`LODESTAR_NO_EMBED=1`) so the test is hermetic.

use crate::support::{json, lodestar_in, run};
use std::path::Path;

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home).args(args).env("LODESTAR_NO_EMBED", "1"))
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn add_search_list_remove() {
    let home = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "product/spec-12-00r24.md",
        "---\nkb: product\ntitle: 12.00R24 矿山短途重载 BM260\nsensitivity: 公开\n---\n\n# 12.00R24 矿山短途重载 BM260\n\n## 适用工况\n\n露天煤矿短途重载，耐切割配方。\n",
    );
    write(
        src.path(),
        "policy/price.md",
        "---\nkb: policy\ntitle: 区域指导价\nsensitivity: 机密\n---\n\n## 全钢\n\n12.00R24 BM260 区域指导价 420 美元。\n",
    );
    let (ok, out, err) = lodestar(home.path(), &["--json", "kb", "add", src.path().to_str().unwrap()]);
    assert!(ok, "{err}");
    let rep = json(&out);
    assert_eq!(rep["added"], 2);

    // Search as the administrator: both documents, BM25 only (no model), and the fallback is said.
    let (ok, out, err) = lodestar(home.path(), &["search", "12.00r24", "--json"]);
    assert!(ok, "{err}");
    let res = json(&out);
    assert_eq!(res["mode"], "bm25");
    assert!(res["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("BM25")));
    let hits = res["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    for h in hits {
        for field in ["doc", "title", "kb", "chunk_id", "score", "snippet", "section", "sensitivity"] {
            assert!(!h[field].is_null(), "hit lacks {field}: {h}");
        }
        assert!(h["ranks"]["bm25"].as_u64().is_some());
        assert!(h["ranks"]["vector"].is_null());
    }

    // A viewer with clearance 公开 never sees the 机密 price document.
    let (ok, _, err) = lodestar(home.path(), &["user", "add", "viewer1", "--role", "viewer", "--clearance", "公开"]);
    assert!(ok, "{err}");
    let (ok, out, err) =
        lodestar(home.path(), &["--as", "viewer1", "search", "12.00R24 区域指导价", "--k", "50", "--json"]);
    assert!(ok, "{err}");
    let res = json(&out);
    let docs: Vec<&str> = res["hits"].as_array().unwrap().iter().map(|h| h["doc"].as_str().unwrap()).collect();
    assert_eq!(docs, vec!["product/spec-12-00r24.md"]);

    // Stats and list.
    let (ok, out, _) = lodestar(home.path(), &["index", "stats", "--json"]);
    assert!(ok);
    let st = json(&out);
    assert_eq!(st["documents"], 2);
    assert_eq!(st["bm25_docs"], st["chunks"]);
    let (ok, out, _) = lodestar(home.path(), &["kb", "list", "--kb", "policy", "--json"]);
    assert!(ok);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);

    // Remove, and the document is gone from search.
    let (ok, _, err) = lodestar(home.path(), &["kb", "remove", "policy/price.md"]);
    assert!(ok, "{err}");
    let (_, out, _) = lodestar(home.path(), &["search", "区域指导价", "--json"]);
    assert!(json(&out)["hits"].as_array().unwrap().iter().all(|h| h["doc"] != "policy/price.md"));
}
