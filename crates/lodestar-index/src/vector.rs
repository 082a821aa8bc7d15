//! Vector retrieval (向量检索): L2-normalized passage embeddings, an HNSW graph (hnsw_rs) for
//! large candidate sets and an exact scan for small ones, both restricted to the chunks a filter
//! allows *during* the search.
//!
//! Persistence: vectors are stored in `vectors.bin` (model name, dimension, then per graph slot:
//! chunk id + f32s, tombstones included so graph ids stay valid), and the HNSW graph is dumped
//! beside it (`vectors.hnsw.graph` / `.data`, hnsw_rs's own format) with a marker file naming the
//! slot count it belongs to. At open the dumped graph is reloaded when the marker matches (at
//! 50,000 chunks rebuilding took 60–110 s on 2 cores); otherwise it is rebuilt from the vectors.
//! Removed chunks are tombstoned and skipped by the filter until the next compaction.

use crate::{IndexError, Result};
use hnsw_rs::prelude::{Distance, FilterT, Hnsw};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

/// Below this many allowed vectors the search is an exact scan (exact and fast enough).
pub const EXACT_SCAN_MAX: usize = 16_384;
const MAGIC: &[u8; 6] = b"LVEC01";
/// Slot-ordered format (graph ids stay valid across save and load).
const MAGIC2: &[u8; 6] = b"LVEC02";
/// Basename of the dumped graph files beside `vectors.bin`.
const GRAPH_BASENAME: &str = "vectors";

/// Cosine distance on normalized vectors, clamped at 0 (hnsw_rs's `DistDot` asserts on rounding).
#[derive(Debug, Clone, Copy, Default)]
pub struct CosineDistance;

impl Distance<f32> for CosineDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// Dot product of two equal-length vectors (cosine for L2-normalized ones).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            s[i] += x[i] * y[i];
        }
    }
    let mut t: f32 = s.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// Scales a vector to unit length (no-op for a zero vector).
pub fn normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Vectors by chunk id plus the HNSW graph over them.
pub struct VectorIndex {
    model: String,
    dim: usize,
    /// Slot → chunk id (`None` = removed).
    slots: Vec<Option<String>>,
    slot_of: HashMap<String, usize>,
    /// Slot-major vectors (`dim` floats per slot).
    data: Vec<f32>,
    hnsw: Hnsw<'static, f32, CosineDistance>,
    /// Graph parameters.
    m: usize,
    ef_construction: usize,
    /// Whether the graph was reloaded from its dump (rather than rebuilt) at load.
    graph_reloaded: bool,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("model", &self.model)
            .field("dim", &self.dim)
            .field("len", &self.len())
            .finish()
    }
}

impl VectorIndex {
    /// An empty index for `model`'s `dim`-long vectors, sized for about `capacity` vectors.
    pub fn new(model: &str, dim: usize, capacity: usize) -> Self {
        let (m, ef_construction) = (16, 100);
        Self {
            model: model.to_string(),
            dim,
            slots: Vec::new(),
            slot_of: HashMap::new(),
            data: Vec::new(),
            hnsw: Hnsw::new(m, capacity.max(1024), 16, ef_construction, CosineDistance),
            m,
            ef_construction,
            graph_reloaded: false,
        }
    }

    /// Whether the graph was reloaded from its dump at load (rather than rebuilt).
    pub fn graph_reloaded(&self) -> bool {
        self.graph_reloaded
    }

    /// The embedding model the vectors come from.
    pub fn model(&self) -> &str {
        &self.model
    }
    /// Length of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Live vectors.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }
    /// Whether the index holds no live vectors.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }
    /// Whether a vector is stored for chunk `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.slot_of.contains_key(id)
    }
    /// The stored vector of chunk `id`.
    pub fn get(&self, id: &str) -> Option<&[f32]> {
        self.slot_of.get(id).map(|&s| &self.data[s * self.dim..(s + 1) * self.dim])
    }
    /// The chunk ids with a live vector (in no particular order).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.slot_of.keys().map(String::as_str)
    }

    /// Adds or replaces one vector (normalized here).
    pub fn insert(&mut self, id: &str, v: &[f32]) -> Result<()> {
        self.insert_many(&[(id.to_string(), v.to_vec())])
    }

    /// Adds many vectors, building the graph in parallel.
    pub fn insert_many(&mut self, items: &[(String, Vec<f32>)]) -> Result<()> {
        let mut new_slots = Vec::with_capacity(items.len());
        for (id, v) in items {
            if v.len() != self.dim {
                return Err(IndexError::Invalid(format!(
                    "vector for {id} has {} dimensions, the index {}",
                    v.len(),
                    self.dim
                )));
            }
            self.remove(id);
            let slot = self.slots.len();
            self.slots.push(Some(id.clone()));
            self.slot_of.insert(id.clone(), slot);
            let mut v = v.clone();
            normalize(&mut v);
            self.data.extend_from_slice(&v);
            new_slots.push(slot);
        }
        let refs: Vec<(&[f32], usize)> =
            new_slots.iter().map(|&s| (&self.data[s * self.dim..(s + 1) * self.dim], s)).collect();
        if refs.len() > 64 {
            self.hnsw.parallel_insert_slice(&refs);
        } else {
            for r in refs {
                self.hnsw.insert_slice(r);
            }
        }
        Ok(())
    }

    /// Tombstones a vector.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.slot_of.remove(id) {
            Some(s) => {
                self.slots[s] = None;
                true
            }
            None => false,
        }
    }

    /// Rebuilds slots and graph without the tombstones.
    pub fn compact(&mut self) -> Result<()> {
        let items: Vec<(String, Vec<f32>)> = self
            .slot_of
            .iter()
            .map(|(id, &s)| (id.clone(), self.data[s * self.dim..(s + 1) * self.dim].to_vec()))
            .collect();
        let mut fresh = VectorIndex::new(&self.model, self.dim, items.len());
        fresh.m = self.m;
        fresh.ef_construction = self.ef_construction;
        fresh.insert_many(&items)?;
        *self = fresh;
        Ok(())
    }

    /// Share of slots that are tombstones.
    pub fn dead_ratio(&self) -> f64 {
        if self.slots.is_empty() {
            0.0
        } else {
            1.0 - self.slot_of.len() as f64 / self.slots.len() as f64
        }
    }

    /// Slot → chunk id (`None` = removed); slots are what [`VectorIndex::search_slots`] filters on.
    pub fn slot_ids(&self) -> &[Option<String>] {
        &self.slots
    }

    /// Nearest `k` chunk ids by cosine similarity among those `allow` accepts.
    pub fn search(&self, query: &[f32], k: usize, allow: &dyn Fn(&str) -> bool) -> Vec<(String, f32)> {
        let slots = &self.slots;
        self.search_slots(query, k, &|s: usize| slots[s].as_deref().is_some_and(allow))
    }

    /// Like [`VectorIndex::search`] with the filter on slot numbers (no id lookups: the fast path).
    pub fn search_slots(&self, query: &[f32], k: usize, allow: &dyn Fn(usize) -> bool) -> Vec<(String, f32)> {
        if k == 0 || query.len() != self.dim || self.slot_of.is_empty() {
            return Vec::new();
        }
        let mut q = query.to_vec();
        normalize(&mut q);
        let mut mask = vec![false; self.slots.len()];
        let mut allowed = 0usize;
        for (s, id) in self.slots.iter().enumerate() {
            if id.is_some() && allow(s) {
                mask[s] = true;
                allowed += 1;
            }
        }
        if allowed == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(usize, f32)> = if allowed <= EXACT_SCAN_MAX {
            mask.iter()
                .enumerate()
                .filter(|(_, &m)| m)
                .map(|(s, _)| (s, dot(&q, &self.data[s * self.dim..(s + 1) * self.dim])))
                .collect()
        } else {
            let ef = (k * 2).max(64);
            if allowed == self.slots.len() {
                // Everything allowed and no tombstones: the unfiltered graph search.
                self.hnsw.search_filter(&q, k, ef, None)
            } else {
                let filter = SlotFilter(&mask);
                self.hnsw.search_filter(&q, k, ef, Some(&filter as &dyn FilterT))
            }
            .into_iter()
            .map(|n| (n.d_id, 1.0 - n.distance))
            .collect()
        };
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored.into_iter().filter_map(|(s, sc)| self.slots[s].clone().map(|id| (id, sc))).collect()
    }

    /// Writes `vectors.bin` (atomically: temp file + rename) and dumps the graph beside it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| IndexError::Io { path: path.into(), source };
        let tmp = path.with_extension("bin.tmp");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        w.write_all(MAGIC2).map_err(io)?;
        w.write_all(&(self.dim as u32).to_le_bytes()).map_err(io)?;
        w.write_all(&(self.model.len() as u32).to_le_bytes()).map_err(io)?;
        w.write_all(self.model.as_bytes()).map_err(io)?;
        w.write_all(&(self.slots.len() as u64).to_le_bytes()).map_err(io)?;
        for (s, id) in self.slots.iter().enumerate() {
            // a tombstone is written with an empty id (its vector is kept: the graph links it)
            let id = id.as_deref().unwrap_or("");
            w.write_all(&(id.len() as u32).to_le_bytes()).map_err(io)?;
            w.write_all(id.as_bytes()).map_err(io)?;
            for x in &self.data[s * self.dim..(s + 1) * self.dim] {
                w.write_all(&x.to_le_bytes()).map_err(io)?;
            }
        }
        w.flush().map_err(io)?;
        drop(w);
        // The old marker goes first: a crash between here and the new marker means a rebuild.
        let marker = graph_marker_path(path);
        let _ = std::fs::remove_file(&marker);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent() {
            use hnsw_rs::api::AnnT;
            if self.hnsw.file_dump(dir, GRAPH_BASENAME).is_ok() {
                std::fs::write(&marker, self.marker_text())
                    .map_err(|source| IndexError::Io { path: marker, source })?;
            }
        }
        Ok(())
    }

    fn marker_text(&self) -> String {
        ix_marker(self.slots.len(), self.dim, &self.model)
    }

    /// Reads `vectors.bin`; reloads the dumped graph when its marker matches, else rebuilds it.
    /// `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(IndexError::Io { path: path.into(), source }),
        };
        let corrupt = |m: &str| IndexError::Corrupt { path: path.into(), message: m.to_string() };
        let mut r = std::io::Cursor::new(bytes.as_slice());
        let mut magic = [0u8; 6];
        r.read_exact(&mut magic).map_err(|_| corrupt("truncated header"))?;
        let slot_ordered = match &magic {
            m if m == MAGIC2 => true,
            m if m == MAGIC => false,
            _ => return Err(corrupt("not a lodestar vector file")),
        };
        let mut u32b = [0u8; 4];
        let mut u64b = [0u8; 8];
        let mut read_u32 = |r: &mut std::io::Cursor<&[u8]>| -> Result<u32> {
            r.read_exact(&mut u32b).map_err(|_| corrupt("truncated"))?;
            Ok(u32::from_le_bytes(u32b))
        };
        let dim = read_u32(&mut r)? as usize;
        let name_len = read_u32(&mut r)? as usize;
        let mut name = vec![0u8; name_len];
        r.read_exact(&mut name).map_err(|_| corrupt("truncated model name"))?;
        r.read_exact(&mut u64b).map_err(|_| corrupt("truncated count"))?;
        let n = u64::from_le_bytes(u64b) as usize;
        if dim == 0 || dim > 65_536 || n > bytes.len() / (dim * 4).max(1) {
            return Err(corrupt("implausible dimension or count"));
        }
        let model = String::from_utf8_lossy(&name).into_owned();
        let mut items: Vec<(String, Vec<f32>)> = Vec::with_capacity(n);
        let mut fb = vec![0u8; dim * 4];
        for _ in 0..n {
            let id_len = read_u32(&mut r)? as usize;
            if id_len > 4096 {
                return Err(corrupt("implausible id length"));
            }
            let mut id = vec![0u8; id_len];
            r.read_exact(&mut id).map_err(|_| corrupt("truncated id"))?;
            r.read_exact(&mut fb).map_err(|_| corrupt("truncated vector"))?;
            let v: Vec<f32> = fb.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            items.push((String::from_utf8_lossy(&id).into_owned(), v));
        }
        if slot_ordered {
            let mut ix = VectorIndex::new(&model, dim, n);
            if std::fs::read_to_string(graph_marker_path(path)).ok().as_deref() == Some(&ix_marker(n, dim, &model)) {
                if let Some(h) = path.parent().and_then(load_graph) {
                    for (s, (id, v)) in items.into_iter().enumerate() {
                        ix.data.extend_from_slice(&v);
                        if id.is_empty() {
                            ix.slots.push(None);
                        } else {
                            ix.slot_of.insert(id.clone(), s);
                            ix.slots.push(Some(id));
                        }
                    }
                    ix.hnsw = h;
                    ix.graph_reloaded = true;
                    return Ok(Some(ix));
                }
            }
            items.retain(|(id, _)| !id.is_empty());
            ix.insert_many(&items)?;
            return Ok(Some(ix));
        }
        let mut ix = VectorIndex::new(&model, dim, n);
        ix.insert_many(&items)?;
        Ok(Some(ix))
    }
}

fn ix_marker(slots: usize, dim: usize, model: &str) -> String {
    format!("slots={slots} dim={dim} model={model}\n")
}

fn graph_marker_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("graph.ok")
}

/// Reloads the dumped graph. hnsw_rs ties the graph's lifetime to its loader, which is leaked
/// (a few bytes, once per index open) so the graph can live as long as the index.
fn load_graph(dir: &Path) -> Option<Hnsw<'static, f32, CosineDistance>> {
    let io: &'static mut hnsw_rs::hnswio::HnswIo =
        Box::leak(Box::new(hnsw_rs::hnswio::HnswIo::new(dir, GRAPH_BASENAME)));
    io.load_hnsw::<f32, CosineDistance>().ok()
}

struct SlotFilter<'a>(&'a [bool]);

impl FilterT for SlotFilter<'_> {
    fn hnsw_filter(&self, id: &usize) -> bool {
        self.0.get(*id).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize, dim: usize) -> Vec<f32> {
        let mut v = vec![0.0; dim];
        v[i % dim] = 1.0;
        v[(i * 7 + 3) % dim] += 0.5;
        v
    }

    #[test]
    fn exact_and_filtered() {
        let mut ix = VectorIndex::new("t", 16, 10);
        for i in 0..16 {
            ix.insert(&format!("c{i}"), &unit(i, 16)).unwrap();
        }
        let q = unit(5, 16);
        let all = ix.search(&q, 3, &|_| true);
        assert_eq!(all[0].0, "c5");
        let no5 = ix.search(&q, 3, &|id| id != "c5");
        assert!(no5.iter().all(|(id, _)| id != "c5"));
        ix.remove("c5");
        assert!(ix.search(&q, 16, &|_| true).iter().all(|(id, _)| id != "c5"));
    }

    #[test]
    fn hnsw_path_respects_filter_and_roundtrips() {
        // More than EXACT_SCAN_MAX vectors so that the graph path runs.
        let dim = 8;
        let n = EXACT_SCAN_MAX + 500;
        let mut ix = VectorIndex::new("t", dim, n);
        let items: Vec<(String, Vec<f32>)> = (0..n)
            .map(|i| {
                // Distinct pseudo-random vectors (a multiplicative hash of (i, d)).
                let v: Vec<f32> = (0..dim)
                    .map(|d| ((((i * dim + d) as u64).wrapping_mul(0x9E3779B97F4A7C15) >> 40) % 1000) as f32 - 500.0)
                    .collect();
                (format!("c{i}"), v)
            })
            .collect();
        ix.insert_many(&items).unwrap();
        let q = items[10].1.clone();
        let even = |id: &str| id[1..].parse::<usize>().is_ok_and(|x| x % 2 == 0);
        let hits = ix.search(&q, 50, &even);
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|(id, _)| even(id)));
        assert_eq!(hits[0].0, "c10");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vectors.bin");
        ix.save(&p).unwrap();
        let back = VectorIndex::load(&p).unwrap().unwrap();
        assert_eq!(back.len(), n);
        assert_eq!(back.search(&q, 1, &|_| true)[0].0, "c10");
        // the graph came back from its dump, and a tombstone survives the round trip
        assert!(dir.path().join("vectors.graph.ok").exists());
        assert!(back.graph_reloaded());
        let mut back = back;
        assert!(back.remove("c10"));
        back.save(&p).unwrap();
        let again = VectorIndex::load(&p).unwrap().unwrap();
        assert_eq!(again.len(), n - 1);
        assert!(!again.contains("c10"));
        let top = &again.search(&q, 1, &|_| true)[0].0;
        assert_ne!(top, "c10");
        // the same hits whether the graph was reloaded or rebuilt from the vectors
        let same_even = again.search(&items[12].1, 5, &even);
        std::fs::remove_file(dir.path().join("vectors.graph.ok")).unwrap();
        let rebuilt = VectorIndex::load(&p).unwrap().unwrap();
        assert!(!rebuilt.graph_reloaded());
        assert_eq!(rebuilt.search(&items[12].1, 1, &even)[0].0, same_even[0].0);
        assert_eq!(same_even[0].0, "c12");
    }
}
