//! Behaviour of the knowledge index end to end on small hand-written documents, with the fake
//! embedder so the vector path runs without a model.

use lodestar_core::{KbId, Principal, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_index::testing::FakeEmbedder;
use lodestar_index::{AddOptions, DocChange, KnowledgeIndex, SearchMode, SearchRequest};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn dicts() -> Dictionaries {
    Dictionaries::builtin().expect("builtin dictionaries")
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn doc(kb: &str, title: &str, sens: &str, body: &str) -> String {
    format!("---\nkb: {kb}\ntitle: {title}\nsensitivity: {sens}\ndate: 2026-09-01\ncountry: RU\n---\n\n# {title}\n\n{body}\n")
}

fn user(clearance: Sensitivity, kbs: Vec<KbId>) -> Principal {
    Principal { name: "u".into(), role: Role::Sales, clearance, kbs }
}

/// Four documents about the same contract at the four sensitivity levels.
fn corpus(src: &Path) {
    for (i, sens) in ["公开", "内部", "敏感", "机密"].iter().enumerate() {
        write(
            src,
            &format!("policy/level-{i}.md"),
            &doc(
                "policy",
                &format!("回款说明 {sens}"),
                sens,
                "## 付款\n\n合同 BC-RU-2026-0815 的尾款 70% 见提单副本付款，预付 30%。",
            ),
        );
    }
    write(
        src,
        "product/spec-315.md",
        &doc("product", "315/80R22.5 驱动轮 BD177", "公开", "## 参数\n\n| 项目 | 参数 |\n|---|---|\n| 规格 | 315/80R22.5 |\n| 层级 | 20PR |\n\n## 卖点\n\n长途干线驱动轮，冬季牵引力强。"),
    );
    write(
        src,
        "customer/C001.md",
        "---\nkb: customer\ntitle: 客户档案：西伯利亚物流\nsensitivity: 敏感\ncountry: RU\ncustomer: C001\n---\n\n# 客户档案\n\n## 付款条件\n\n西伯利亚物流标准付款条件为 30% 预付，70% 见提单。\n",
    );
}

#[test]
fn permission_filter_never_returns_a_chunk_above_clearance() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    corpus(src.path());
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), Some(Arc::new(FakeEmbedder::default()))).unwrap();
    let rep = ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    assert_eq!(rep.added, 6, "{rep:?}");
    for clearance in Sensitivity::ALL {
        for mode in [SearchMode::Hybrid, SearchMode::Bm25, SearchMode::Vector] {
            let mut req = SearchRequest::new("BC-RU-2026-0815 尾款 付款条件 西伯利亚物流", user(clearance, vec![]));
            req.k = 1000; // far more than the corpus: nothing above clearance may still appear
            req.mode = mode;
            let res = ix.search(&req).unwrap();
            assert!(res.hits.iter().all(|h| h.sensitivity <= clearance), "{clearance:?} {mode:?}: {:?}", res.hits);
            // The policy documents at or below the clearance are all found (one per level ≤ clearance).
            let policy = res.hits.iter().filter(|h| h.kb == KbId::Policy).count();
            assert_eq!(policy, clearance.rank() as usize + 1, "{clearance:?} {mode:?}");
        }
    }
    // Knowledge bases not granted are invisible too.
    let mut req = SearchRequest::new("315/80R22.5 西伯利亚物流 尾款", user(Sensitivity::Secret, vec![KbId::Product]));
    req.k = 100;
    let res = ix.search(&req).unwrap();
    assert!(!res.hits.is_empty());
    assert!(res.hits.iter().all(|h| h.kb == KbId::Product), "{:?}", res.hits);
    // Asking for a base the user is not granted gives nothing, not an error.
    req.kbs = vec![KbId::Customer];
    assert!(ix.search(&req).unwrap().hits.is_empty());
}

#[test]
fn spec_codes_and_customer_aliases_find_their_documents() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    corpus(src.path());
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), None).unwrap();
    ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    let admin = Principal::local_admin();
    // Written with a space and lower case: the spec still matches as one token.
    let res = ix.search(&SearchRequest::new("315/80 r22.5", admin.clone())).unwrap();
    assert_eq!(res.mode, "bm25");
    assert!(res.warnings.iter().any(|w| w.contains("no embedding model")), "{:?}", res.warnings);
    assert_eq!(res.hits[0].doc, "product/spec-315.md");
    // A table chunk keeps its header row.
    let table = res.hits.iter().find(|h| h.section == "参数").expect("table chunk");
    assert!(table.text.starts_with("| 项目 | 参数 |"), "{}", table.text);
    // English and Cyrillic names reach the Chinese-only customer file.
    for q in ["Sibir Logistics payment terms", "Сибирь Логистик условия оплаты"] {
        let res = ix.search(&SearchRequest::new(q, admin.clone())).unwrap();
        assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("customer/C001.md"), "{q}");
    }
    // Country / customer filters.
    let mut req = SearchRequest::new("付款条件", admin.clone());
    req.customer = Some("C002".into());
    let res = ix.search(&req).unwrap();
    assert!(res.hits.iter().all(|h| h.customer.as_deref() != Some("C001")));
    req.customer = None;
    req.country = Some("KZ".into());
    assert!(ix.search(&req).unwrap().hits.is_empty(), "every test document is tagged RU");
}

#[test]
fn reingest_replaces_only_changed_chunks_and_index_survives_restart() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    corpus(src.path());
    let emb: Arc<dyn lodestar_core::Embedder> = Arc::new(FakeEmbedder::default());
    let path = src.path().join("product/spec-315.md");
    let (before_ids, kept) = {
        let mut ix = KnowledgeIndex::open(home.path(), &dicts(), Some(emb.clone())).unwrap();
        ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
        let ids: Vec<String> = ix.chunks_of("product/spec-315.md").iter().map(|c| c.chunk_id.clone()).collect();
        assert_eq!(ids.len(), 2, "two sections → two chunks");
        // Same content again: nothing changes.
        let rep = ix.add_paths(std::slice::from_ref(&path), &AddOptions::default()).unwrap();
        assert_eq!((rep.unchanged, rep.chunks_added, rep.chunks_removed), (1, 0, 0));
        // Change only the 卖点 section.
        let text = std::fs::read_to_string(&path).unwrap().replace("冬季牵引力强", "冬季牵引力强，油耗降低 2%");
        std::fs::write(&path, text).unwrap();
        let rep = ix.add_paths(std::slice::from_ref(&path), &AddOptions::default()).unwrap();
        assert_eq!(rep.docs[0].change, DocChange::Updated);
        assert_eq!((rep.chunks_added, rep.chunks_removed, rep.chunks_embedded), (1, 1, 1));
        let after: Vec<String> = ix.chunks_of("product/spec-315.md").iter().map(|c| c.chunk_id.clone()).collect();
        assert_eq!(after[0], ids[0], "unchanged table chunk keeps its id");
        assert_ne!(after[1], ids[1]);
        assert!(ix.chunk(&ids[1]).is_none(), "old chunk is gone");
        let res = ix.search(&SearchRequest::new("冬季牵引力", Principal::local_admin())).unwrap();
        assert_eq!(res.mode, "hybrid");
        assert!(res.hits.iter().all(|h| h.chunk_id != ids[1]));
        assert!(res.hits.iter().any(|h| h.text.contains("油耗降低 2%")));
        (ids, after)
    };
    // Restart: everything comes back from disk, including vectors.
    let ix = KnowledgeIndex::open(home.path(), &dicts(), Some(emb)).unwrap();
    let st = ix.stats();
    assert_eq!(st.documents, 6);
    assert_eq!(st.bm25_docs as usize, st.chunks);
    assert_eq!(st.vectors, st.chunks);
    let res = ix.search(&SearchRequest::new("油耗降低", Principal::local_admin())).unwrap();
    assert_eq!(res.mode, "hybrid");
    assert_eq!(res.hits[0].chunk_id, kept[1]);
    assert_ne!(before_ids[1], kept[1]);
    // Removal.
    let mut ix = ix;
    assert_eq!(ix.remove("product/spec-315.md").unwrap(), vec!["product/spec-315.md".to_string()]);
    let res = ix.search(&SearchRequest::new("315/80R22.5", Principal::local_admin())).unwrap();
    assert!(res.hits.iter().all(|h| h.doc != "product/spec-315.md"));
    assert_eq!(ix.remove("policy").unwrap().len(), 4);
    assert!(ix.remove("nothing/here.md").is_err());
}

#[test]
fn raising_sensitivity_in_front_matter_hides_unchanged_text() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = write(src.path(), "ops/memo.md", &doc("ops", "备忘", "公开", "## 内容\n\n展会报价底线为指导价的 92%。"));
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), None).unwrap();
    ix.add_paths(std::slice::from_ref(&p), &AddOptions::default()).unwrap();
    let viewer = user(Sensitivity::Public, vec![]);
    assert_eq!(ix.search(&SearchRequest::new("报价底线", viewer.clone())).unwrap().hits.len(), 1);
    std::fs::write(&p, doc("ops", "备忘", "机密", "## 内容\n\n展会报价底线为指导价的 92%。")).unwrap();
    ix.add_paths(&[p], &AddOptions::default()).unwrap();
    assert!(ix.search(&SearchRequest::new("报价底线", viewer)).unwrap().hits.is_empty());
}

#[test]
fn folder_name_and_flags_give_kb_and_sensitivity() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    write(src.path(), "运营材料知识库/plain.txt", "培训材料：新员工第一周熟悉 CRM。");
    write(src.path(), "misc/note.txt", "随手记录：展会物料清单。");
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), None).unwrap();
    let rep = ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    assert_eq!(rep.added, 1);
    assert_eq!(rep.skipped.len(), 1, "no kb for misc/note.txt: {rep:?}");
    let opts = AddOptions { kb: Some(KbId::Ops), sensitivity: Some(Sensitivity::Sensitive) };
    let rep = ix.add_paths(&[src.path().join("misc")], &opts).unwrap();
    assert_eq!(rep.added, 1);
    let docs = ix.documents();
    let plain = docs.iter().find(|d| d.doc == "ops/plain.txt").expect("folder-named kb");
    assert_eq!(plain.sensitivity, Sensitivity::Internal, "default level");
    let note = docs.iter().find(|d| d.doc == "ops/note.txt").expect("flag kb");
    assert_eq!(note.sensitivity, Sensitivity::Sensitive);
}

#[test]
fn english_question_finds_chinese_policy_through_the_glossary() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "policy/credit.md",
        &doc(
            "policy",
            "信用管理办法",
            "内部",
            "## 额度审批\n\n超过 50 万美元的信用额度由总经理审批，财务部在 5 个工作日内答复。",
        ),
    );
    write(
        src.path(),
        "policy/storage.md",
        &doc("policy", "港口费用规定", "内部", "## 滞港\n\n货到港后客户未提货产生的滞港费和仓储费由客户承担。"),
    );
    // A third document sharing none of the words, so BM25 has something to leave out.
    write(src.path(), "ops/training.md", &doc("ops", "新人培训", "公开", "## 安排\n\n新员工第一周学习产品知识。"));
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), None).unwrap();
    ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    let admin = Principal::local_admin();
    // Without the glossary the English words match nothing in these Chinese documents.
    let res = ix
        .search(&SearchRequest::new("Who approves credit limits, and within how many working days?", admin.clone()))
        .unwrap();
    assert!(res.expanded_terms.iter().any(|t| t == "信用额度"), "{:?}", res.expanded_terms);
    assert!(res.expanded_terms.iter().any(|t| t == "工作日"), "{:?}", res.expanded_terms);
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("policy/credit.md"));
    assert!(res.hits.iter().all(|h| h.doc != "ops/training.md"), "{:?}", res.hits);
    let res =
        ix.search(&SearchRequest::new("Who pays the demurrage and storage fees at the port?", admin.clone())).unwrap();
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("policy/storage.md"));
    // A Chinese question is not expanded.
    let res = ix.search(&SearchRequest::new("信用额度谁审批", admin)).unwrap();
    assert!(res.expanded_terms.is_empty());
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("policy/credit.md"));
}

#[test]
fn a_named_code_brings_its_own_document_first_in_hybrid_search() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // The guide matches the question's words best; the spec sheet is about the spec (its title
    // carries the code) and words its body a little differently.
    write(
        src.path(),
        "product/guide.md",
        &doc("product", "矿山花纹选型指南", "公开", "## 选型\n\n矿山花纹选型看路况，矿山花纹推荐耐切割配方。"),
    );
    write(
        src.path(),
        "product/spec-315.md",
        &doc("product", "315/80R22.5 驱动轮 BD177", "公开", "## 卖点\n\n矿山花纹耐切割，矿区短途重载，选型看路况。"),
    );
    write(src.path(), "ops/training.md", &doc("ops", "新人培训", "公开", "## 安排\n\n新员工第一周学习产品知识。"));
    let emb: Arc<dyn lodestar_core::Embedder> = Arc::new(FakeEmbedder::default());
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), Some(emb)).unwrap();
    ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    let q = "315/80R22.5 矿山花纹选型";
    let mut req = SearchRequest::new(q, Principal::local_admin());
    req.per_doc = Some(1);
    let hybrid = ix.search(&req).unwrap();
    assert_eq!(hybrid.mode, "hybrid");
    assert_eq!(
        hybrid.hits[0].doc,
        "product/spec-315.md",
        "{:?}",
        hybrid.hits.iter().map(|h| &h.doc).collect::<Vec<_>>()
    );
    // BM25 alone goes by the words: the guide first.
    req.mode = SearchMode::Bm25;
    assert_eq!(ix.search(&req).unwrap().hits[0].doc, "product/guide.md");
    // The same question without the code: the guide first in hybrid search too.
    let mut plain = SearchRequest::new("矿山花纹选型", Principal::local_admin());
    plain.per_doc = Some(1);
    assert_eq!(ix.search(&plain).unwrap().hits[0].doc, "product/guide.md");
}

#[test]
fn colloquial_chinese_dates_in_english_and_named_codes_reach_the_right_chunk() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "product/loader.md",
        &doc("product", "装载机轮胎选型", "公开", "## 选型\n\n装载机作业推荐 L3 花纹。"),
    );
    write(src.path(), "ops/other.md", &doc("ops", "展会物料", "公开", "## 物料\n\n展台需要准备轮胎样品和海报。"));
    // Two monthly reports alike but for the month; the August one repeats the question's words.
    write(
        src.path(),
        "meeting/2026-07.md",
        &doc("meeting", "北部战区 2026 年 7 月经营分析报告", "内部", "## 问题\n\n达成率偏低。"),
    );
    write(
        src.path(),
        "meeting/2026-08.md",
        &doc(
            "meeting",
            "北部战区 2026 年 8 月经营分析报告",
            "内部",
            "## 问题\n\n达成率偏低，主要问题是发运延误和回款问题。",
        ),
    );
    // A long table naming many sizes once each, and short chunks full of the question's other word.
    let mut table = String::from(
        "## 产品线\n\n| 规格 | 吨位 | 车型 | 花纹深度 | 额定负荷 | 标准轮辋 |\n|---|---|---|---|---|---|\n",
    );
    for (i, s) in ["59/80R63", "53/80R63", "50/80R57", "46/90R57", "40.00R57", "37.00R57", "36.00R51", "33.00R51"]
        .iter()
        .enumerate()
    {
        table.push_str(&format!(
            "| {s} | {} 吨 | 自卸车 CAT 79{i}F、Komatsu 9{i}0E | {} mm | 约 {},500 kg | {i}/5.0 |\n",
            100 + 30 * i,
            60 + 4 * i,
            30 + 9 * i
        ));
    }
    write(src.path(), "product/guide.md", &doc("product", "巨胎选型指南", "公开", &table));
    for i in 0..4 {
        write(
            src.path(),
            &format!("product/short-{i}.md"),
            &doc(
                "product",
                &format!("规格说明 {i}"),
                "公开",
                &format!("## 简介\n\n用于 {} 吨级矿卡，吨级覆盖中型矿山。", 90 + i),
            ),
        );
    }
    let mut ix = KnowledgeIndex::open(home.path(), &dicts(), None).unwrap();
    ix.add_paths(&[src.path().to_path_buf()], &AddOptions::default()).unwrap();
    let admin = Principal::local_admin();
    // 铲车 is not in any document; synonyms.csv adds the documents' 装载机.
    let res = ix.search(&SearchRequest::new("铲车用啥花纹", admin.clone())).unwrap();
    assert!(res.expanded_terms.iter().any(|t| t == "装载机"), "{:?}", res.expanded_terms);
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("product/loader.md"), "{:?}", res.hits);
    // `July 2026` is searched as the reports write it: 2026 年 7 月.
    let res =
        ix.search(&SearchRequest::new("What were the main problems in the July 2026 report?", admin.clone())).unwrap();
    assert!(res.expanded_terms.iter().any(|t| t == "2026 年 7 月"), "{:?}", res.expanded_terms);
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("meeting/2026-07.md"), "{:?}", res.hits);
    // The size the question names outweighs the common word in short chunks.
    let res = ix.search(&SearchRequest::new("53/80R63 多少吨级", admin)).unwrap();
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("product/guide.md"), "{:?}", res.hits);
}
