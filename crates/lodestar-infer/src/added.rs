//! Models a user brings (`lodestar models add FILE.gguf`): a GGUF chat model is inspected before
//! it is registered — architecture, tokenizer, chat template and quantization types — so that a
//! file lodestar cannot run is refused with the reason, not at the first question. The registry
//! is `added.toml` in the model folder, shared by every home like the installed models; the file
//! stays where it is (its sha256 is recorded at registration and shown by `models list`).

use crate::error::{InferError, Result};
use crate::llm::{Arch, LlmConfig};
use crate::template::ChatTemplate;
use crate::tokenizer::BpeTokenizer;
use candle_core::quantized::gguf_file;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a GGUF chat model's header says (nothing of its weights is read).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgufInfo {
    /// `qwen2`, `qwen3` or `llama`.
    pub arch: String,
    /// The type of most weight elements (`Q4_K`, `Q8_0`, …).
    pub quant: String,
    /// Tensors per type.
    pub tensor_types: BTreeMap<String, usize>,
    /// Weight elements (parameters).
    pub parameters: u64,
    /// Context length the model was trained for (`<arch>.context_length`).
    pub context_length: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Chat-template family: `chatml`, `llama3` or `llama2`.
    pub template: String,
    /// Tokens in the vocabulary.
    pub vocab: usize,
    /// Size of the GGUF file in bytes.
    pub size_bytes: u64,
}

/// The architectures lodestar's engine implements.
pub const SUPPORTED_ARCHS: [&str; 3] = ["qwen2", "qwen3", "llama"];

/// Tensors every supported architecture needs (block 0 stands for all blocks).
const REQUIRED_TENSORS: [&str; 10] = [
    "token_embd.weight",
    "output_norm.weight",
    "blk.0.attn_norm.weight",
    "blk.0.attn_q.weight",
    "blk.0.attn_k.weight",
    "blk.0.attn_v.weight",
    "blk.0.attn_output.weight",
    "blk.0.ffn_gate.weight",
    "blk.0.ffn_up.weight",
    "blk.0.ffn_down.weight",
];

fn refuse(path: &Path, why: impl std::fmt::Display) -> InferError {
    InferError::Format(format!("{} cannot be used as a chat model: {why}", path.display()))
}

/// Reads and checks a GGUF chat model's header. Refuses, naming what is missing or unsupported:
/// a file that is not GGUF, a quantization type the engine cannot run, an architecture other than
/// qwen2 / qwen3 / llama, a tokenizer other than byte-level BPE, no chat template (or one of an
/// unknown family), missing tensors or an inconsistent attention shape.
pub fn inspect_gguf(path: &Path) -> Result<GgufInfo> {
    let mut f = std::fs::File::open(path).map_err(|e| InferError::io(path, e))?;
    let size_bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    let content = gguf_file::Content::read(&mut f).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("dtype") {
            refuse(
                path,
                format!(
                    "it uses a quantization type the engine cannot run ({msg}); supported: F32, F16, BF16, \
                     Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K"
                ),
            )
        } else {
            refuse(path, format!("not a readable GGUF file ({msg})"))
        }
    })?;
    let md = &content.metadata;
    let arch = md
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .ok_or_else(|| refuse(path, "no general.architecture in its metadata"))?;
    if Arch::parse(&arch).is_err() {
        return Err(refuse(
            path,
            format!("architecture `{arch}` is not supported (lodestar runs {})", SUPPORTED_ARCHS.join(", ")),
        ));
    }
    let tokenizer = BpeTokenizer::from_gguf_metadata(md).map_err(|e| refuse(path, e))?;
    let template_text = md
        .get("tokenizer.chat_template")
        .and_then(|v| v.to_string().ok())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            refuse(
                path,
                "no chat template (tokenizer.chat_template) in its metadata, so the conversation format is unknown",
            )
        })?;
    let template = match ChatTemplate::recognize(template_text) {
        Some(t) => t,
        None => {
            return Err(refuse(
                path,
                "its chat template is none of the formats lodestar renders (ChatML <|im_start|>, Llama 3 \
                 <|start_header_id|>, Llama 2 [INST])",
            ))
        }
    };
    let cfg = LlmConfig::from_metadata(md).map_err(|e| refuse(path, e))?;
    let missing: Vec<&str> =
        REQUIRED_TENSORS.iter().copied().filter(|t| !content.tensor_infos.contains_key(*t)).collect();
    if !missing.is_empty() {
        return Err(refuse(path, format!("tensors missing: {}", missing.join(", "))));
    }
    let mut tensor_types: BTreeMap<String, usize> = BTreeMap::new();
    let mut elements: BTreeMap<String, u64> = BTreeMap::new();
    let mut parameters = 0u64;
    for info in content.tensor_infos.values() {
        let ty = dtype_name(info.ggml_dtype);
        let n = info.shape.elem_count() as u64;
        parameters += n;
        *tensor_types.entry(ty.clone()).or_default() += 1;
        *elements.entry(ty).or_default() += n;
    }
    let quant = elements.iter().max_by_key(|(_, n)| **n).map(|(t, _)| t.clone()).unwrap_or_default();
    Ok(GgufInfo {
        arch,
        quant,
        tensor_types,
        parameters,
        context_length: cfg.context_length,
        layers: cfg.n_layer,
        template: template.family().to_string(),
        vocab: tokenizer.vocab_size(),
        size_bytes,
    })
}

/// The usual name of a tensor type (`Q4_K`, `Q8_0`, `F16`).
pub fn dtype_name(t: candle_core::quantized::GgmlDType) -> String {
    let raw = format!("{t:?}").to_uppercase();
    // candle spells the k-quants Q4K, Q6K: llama.cpp and the model cards say Q4_K, Q6_K
    match raw.strip_suffix('K') {
        Some(head) if head.starts_with('Q') && head.len() == 2 => format!("{head}_K"),
        _ => raw,
    }
}

/// One registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedModel {
    /// The name the model is registered under (what `--model` takes).
    pub name: String,
    /// Absolute path of the GGUF file.
    pub path: PathBuf,
    /// `qwen2`, `qwen3` or `llama`.
    pub arch: String,
    /// The type of most weight elements (`Q4_K`, `Q8_0`, …).
    pub quant: String,
    /// Size of the GGUF file in bytes.
    pub size_bytes: u64,
    /// sha256 of the GGUF file at registration, hex.
    pub sha256: String,
    /// Weight elements (parameters).
    pub parameters: u64,
    /// Context length from the GGUF metadata.
    pub context_length: usize,
    /// Chat-template family: `chatml`, `llama3` or `llama2`.
    pub template: String,
    /// When the model was added (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub added_at: String,
}

/// The registry of added models (`<models>/added.toml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddedModels {
    /// The registered models (`[[model]]` tables).
    #[serde(default, rename = "model")]
    pub models: Vec<AddedModel>,
}

impl AddedModels {
    /// The registry file of a model folder.
    pub fn path(models_dir: &Path) -> PathBuf {
        models_dir.join("added.toml")
    }

    /// Reads the registry (empty when there is none).
    pub fn load(models_dir: &Path) -> Result<Self> {
        let p = Self::path(models_dir);
        match std::fs::read_to_string(&p) {
            Ok(s) => toml::from_str(&s).map_err(|e| InferError::Manifest(format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(InferError::io(&p, e)),
        }
    }

    /// Writes the registry (atomically: a temporary file renamed over the old one).
    pub fn save(&self, models_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(models_dir).map_err(|e| InferError::io(models_dir, e))?;
        let p = Self::path(models_dir);
        let tmp = p.with_extension("toml.tmp");
        let text = toml::to_string_pretty(self).map_err(|e| InferError::Manifest(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| InferError::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| InferError::io(&p, e))
    }

    /// The model registered under `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&AddedModel> {
        self.models.iter().find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// Removes `name`; false when it was not registered.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.models.len();
        self.models.retain(|m| !m.name.eq_ignore_ascii_case(name));
        self.models.len() != before
    }
}

/// The default registration name of a file: its stem, lower-cased, spaces as dashes.
pub fn default_name(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("model").trim().to_lowercase().replace(' ', "-")
}

/// Inspects `file` and registers it as `name` in `models_dir`'s registry. Refuses a name taken by
/// a built-in model (or alias) or an added one, and a file that [`inspect_gguf`] refuses.
pub fn add(models_dir: &Path, file: &Path, name: Option<&str>) -> Result<AddedModel> {
    let file = std::fs::canonicalize(file).map_err(|e| InferError::io(file, e))?;
    let info = inspect_gguf(&file)?;
    let name = name.map(str::to_string).unwrap_or_else(|| default_name(&file));
    if name.is_empty() || name.contains(['/', '\\', ',']) || name.ends_with(".gguf") {
        return Err(InferError::Manifest(format!("`{name}` cannot be a model name (no slashes, commas or .gguf)")));
    }
    let manifest = crate::Manifest::builtin()?;
    if manifest.resolve(Some(&name), crate::Role::Chat).is_ok()
        || manifest.resolve(Some(&name), crate::Role::Embed).is_ok()
    {
        return Err(InferError::Manifest(format!("`{name}` is a built-in model's name; choose another with --name")));
    }
    let mut reg = AddedModels::load(models_dir)?;
    if reg.get(&name).is_some() {
        return Err(InferError::Manifest(format!(
            "a model named `{name}` is already added (`lodestar models remove {name}` first, or --name)"
        )));
    }
    let sha256 = crate::store::sha256_file(&file, None)?;
    let m = AddedModel {
        name,
        path: file,
        arch: info.arch,
        quant: info.quant,
        size_bytes: info.size_bytes,
        sha256,
        parameters: info.parameters,
        context_length: info.context_length,
        template: info.template,
        added_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    reg.models.push(m.clone());
    reg.save(models_dir)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_types_by_their_usual_names() {
        use candle_core::quantized::GgmlDType;
        assert_eq!(dtype_name(GgmlDType::Q4K), "Q4_K");
        assert_eq!(dtype_name(GgmlDType::Q6K), "Q6_K");
        assert_eq!(dtype_name(GgmlDType::Q8_0), "Q8_0");
        assert_eq!(dtype_name(GgmlDType::F16), "F16");
    }

    #[test]
    fn default_names_come_from_the_file() {
        assert_eq!(default_name(Path::new("/m/Qwen2.5-3B-Instruct-Q4_K_M.gguf")), "qwen2.5-3b-instruct-q4_k_m");
    }
}
