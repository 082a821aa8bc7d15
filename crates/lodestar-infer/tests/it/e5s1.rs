//! E5S1 → BERT safetensors conversion on a tiny file written by the test.

use lodestar_core::model::{EmbedKind, Embedder};
use lodestar_infer::bert::BertEmbedder;
use lodestar_infer::e5s1::{convert, E5s1};

const H: usize = 32;
const FF: usize = 64;
const LAYERS: usize = 1;
const MAXPOS: usize = 16;

/// One Q4_0 block with scale 0.25 (f16 0x3400) whose 32 weights are all `(q − 8) × 0.25`.
fn q4_block(q: u8) -> Vec<u8> {
    let mut b = vec![0x00, 0x34];
    b.extend(std::iter::repeat_n((q & 0x0F) | (q << 4), 16));
    b
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn tiny_e5s1() -> (Vec<u8>, usize) {
    let pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁passage", ":", "▁query", "▁tyre", "a", "b", "c"];
    let n = pieces.len();
    // Tensors: (name, dtype, element count, bytes).
    let mut tensors: Vec<(String, u8, usize, Vec<u8>)> = Vec::new();
    // Word embedding row i (32 weights = one block) uses nibble q = i % 16.
    let word: Vec<u8> = (0..n).flat_map(|i| q4_block((i % 16) as u8)).collect();
    tensors.push(("emb.word".into(), 1, n * H, word));
    let small = |k: usize, s: f32| -> Vec<f32> { (0..k).map(|i| ((i * 37 % 17) as f32 - 8.0) * s).collect() };
    tensors.push(("emb.pos".into(), 0, MAXPOS * H, f32_bytes(&small(MAXPOS * H, 0.01))));
    tensors.push(("emb.type".into(), 0, H, f32_bytes(&small(H, 0.01))));
    tensors.push(("emb.ln.w".into(), 0, H, f32_bytes(&[1.0; H])));
    tensors.push(("emb.ln.b".into(), 0, H, f32_bytes(&[0.0; H])));
    for l in 0..LAYERS {
        for (nm, rows, cols) in [("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FF, H), ("fo", H, FF)] {
            let blocks: Vec<u8> = (0..rows * cols / 32).flat_map(|b| q4_block((b * 5 % 16) as u8)).collect();
            tensors.push((format!("l{l}.{nm}.w"), 1, rows * cols, blocks));
            tensors.push((format!("l{l}.{nm}.b"), 0, rows, f32_bytes(&small(rows, 0.001))));
        }
        for nm in ["aln", "oln"] {
            tensors.push((format!("l{l}.{nm}.w"), 0, H, f32_bytes(&[1.0; H])));
            tensors.push((format!("l{l}.{nm}.b"), 0, H, f32_bytes(&[0.0; H])));
        }
    }
    let mut b = Vec::new();
    b.extend_from_slice(b"E5S1");
    b.extend_from_slice(&1u32.to_le_bytes());
    for v in [H, LAYERS, 2, FF, n, MAXPOS, 1] {
        b.extend_from_slice(&(v as i32).to_le_bytes());
    }
    b.extend_from_slice(&1e-12f32.to_le_bytes());
    b.extend_from_slice(&32i32.to_le_bytes());
    b.extend_from_slice(&(n as i32).to_le_bytes());
    for id in [0i32, 2, 1, 3] {
        b.extend_from_slice(&id.to_le_bytes());
    }
    let blob: Vec<u8> = pieces.iter().flat_map(|p| p.as_bytes().to_vec()).collect();
    b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    let mut off = 0u32;
    b.extend_from_slice(&off.to_le_bytes());
    for p in pieces {
        off += p.len() as u32;
        b.extend_from_slice(&off.to_le_bytes());
    }
    for i in 0..n {
        b.extend_from_slice(&(if i < 4 { 0.0f32 } else { -1.0 - i as f32 * 0.1 }).to_le_bytes());
    }
    b.extend_from_slice(&blob);
    // Normalization: tab → space (U+0009 → U+0020), U+0007 removed.
    let mut nm = Vec::new();
    nm.extend_from_slice(&9u32.to_le_bytes());
    nm.push(1);
    nm.extend_from_slice(&32u32.to_le_bytes());
    nm.extend_from_slice(&7u32.to_le_bytes());
    nm.push(0);
    b.extend_from_slice(&2i32.to_le_bytes());
    b.extend_from_slice(&(nm.len() as u32).to_le_bytes());
    b.extend_from_slice(&nm);
    // Directory, then data (offsets are absolute).
    let dir_len: usize = 4 + tensors.iter().map(|(name, ..)| 2 + name.len() + 1 + 4 + 8 + 8).sum::<usize>();
    let mut data_off = b.len() + dir_len;
    b.extend_from_slice(&(tensors.len() as i32).to_le_bytes());
    for (name, dt, count, bytes) in &tensors {
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.push(*dt);
        b.extend_from_slice(&(*count as u32).to_le_bytes());
        b.extend_from_slice(&(data_off as u64).to_le_bytes());
        b.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        data_off += bytes.len();
    }
    for (.., bytes) in &tensors {
        b.extend_from_slice(bytes);
    }
    (b, n)
}

#[test]
fn parses_converts_and_embeds() {
    let (bytes, n) = tiny_e5s1();
    let parsed = E5s1::parse(&bytes).unwrap();
    assert_eq!(parsed.config.hidden_size, H);
    assert_eq!(parsed.tokenizer.vocab_size(), n);
    // Row 5 of the word embedding: nibble 5 → (5 − 8) × 0.25 = −0.75 for all 32 weights.
    let word = parsed.tensor_f32("emb.word").unwrap();
    assert!(word[5 * H..6 * H].iter().all(|&x| x == -0.75));
    // Row 10: nibble 10 → (10 − 8) × 0.25 = 0.5.
    assert!(word[10 * H..11 * H].iter().all(|&x| x == 0.5));
    // "passage: tyre\tabc" → normalized "passage: tyre abc" → ▁passage : ▁tyre ▁ a b c.
    assert_eq!(parsed.tokenizer.encode("passage: tyre\tabc"), vec![0, 5, 6, 8, 4, 9, 10, 11, 2]);

    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("tiny-e5.bin");
    std::fs::write(&src, &bytes).unwrap();
    let out = tmp.path().join("e5");
    convert(&src, &out).unwrap();
    let st = candle_core::safetensors::load(out.join("model.safetensors"), &candle_core::Device::Cpu).unwrap();
    let w = st["embeddings.word_embeddings.weight"].to_vec2::<f32>().unwrap();
    assert_eq!(w.len(), n);
    assert!(w[5].iter().all(|&x| x == -0.75));
    assert_eq!(st["encoder.layer.0.intermediate.dense.weight"].dims(), &[FF, H]);

    let e = BertEmbedder::load(&out, "tiny-e5", &candle_core::Device::Cpu).unwrap();
    assert_eq!(e.dim(), H);
    let v = e.embed(&["tyre abc"], EmbedKind::Passage).unwrap();
    let norm = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert_eq!(e.count_tokens("tyre abc", EmbedKind::Passage), 9);
}

#[test]
fn truncated_file_is_an_error() {
    let (bytes, _) = tiny_e5s1();
    assert!(E5s1::parse(&bytes[..200]).is_err());
    assert!(E5s1::parse(b"NOPE0000").is_err());
}
