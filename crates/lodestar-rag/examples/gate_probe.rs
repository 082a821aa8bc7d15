//! Shows retrieval hits and the evidence gate for a question (development aid):
//! `cargo run -p lodestar-rag --example gate_probe -- INDEX_DIR "问题"`.
use std::sync::Arc;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dicts = Arc::new(lodestar_dict::Dictionaries::builtin().expect("dicts"));
    let ix = lodestar_index::KnowledgeIndex::open(std::path::Path::new(&args[0]), &dicts, None).expect("index");
    let r = lodestar_rag::adapters::IndexRetriever::new(ix);
    let p = lodestar_core::Principal::local_admin();
    use lodestar_rag::Retriever;
    for q in &args[1..] {
        let hits = r.search(q, &p, &[], 8).expect("search");
        let a = lodestar_rag::Assistant::new(dicts.clone(), None, None, None);
        let route = lodestar_rag::Router::new(&dicts).route(q, lodestar_core::Month { year: 2026, month: 10 });
        let units = lodestar_rag::route::content_segments(q);
        println!("{q} {units:?}");
        for h in &hits {
            let kept = !a.evidence_hits(q, &route, vec![h.clone()]).is_empty();
            let hay = format!("{} {} {}", h.title, h.section, h.text);
            let flat: Vec<String> = units.iter().flatten().cloned().collect();
            println!(
                "  {} {:.4} {} {} ov={:.2}",
                if kept { "KEEP" } else { "drop" },
                h.score,
                h.doc,
                h.section,
                lodestar_rag::prompt::overlap(&flat, &hay)
            );
        }
    }
}
