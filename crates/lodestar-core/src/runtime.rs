//! How the local models run (运行选项): device, prompt and decoding kernels, attention precision,
//! the e5 integer kernels, and whether search uses the embedding model at all.
//!
//! One [`RuntimeOptions`] value is resolved once at start-up by the CLI and handed to
//! `lodestar-infer` with [`set`]; the loaders read it with [`current`]. Its sources, later ones
//! winning:
//!
//! 1. the defaults (the fast paths, which are also the ones the real-model references hold on);
//! 2. the home's `config.toml`, section `[runtime]` (keys as the fields below);
//! 3. the environment overrides, read here and nowhere else ([`RuntimeOptions::with_env`]):
//!
//!    | variable | values | field |
//!    |---|---|---|
//!    | `LODESTAR_DEVICE` | `cpu` (anything else: auto) | [`device`](RuntimeOptions::device) |
//!    | `LODESTAR_PREFILL` | `quant`, `f32`, `f32-cached` | [`prefill`](RuntimeOptions::prefill) |
//!    | `LODESTAR_DECODE` | `tensor` (anything else: plain) | [`decode`](RuntimeOptions::decode) |
//!    | `LODESTAR_F16_ATTN` | `0` off, anything else on | [`f16_attention`](RuntimeOptions::f16_attention) |
//!    | `LODESTAR_E5_QUANT` | `0` off, anything else on | [`e5_integer`](RuntimeOptions::e5_integer) |
//!    | `LODESTAR_NO_EMBED` | set, not empty and not `0`: off | [`embed`](RuntimeOptions::embed) |
//!
//! 4. the command line: `--runtime KEY=VALUE` (repeatable, same keys and values as the section).
//!
//! A program that never calls [`set`] (a test, a benchmark binary) gets the defaults with the
//! environment overrides, as the variables always behaved.

use serde::{Deserialize, Serialize};
use std::sync::RwLock;

/// Where the models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// The first CUDA GPU when the binary is built with `cuda` and one is present, else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
}

/// How a chat model multiplies prompt rows by its quantized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrefillMode {
    /// Our integer kernels over the quantized blocks (llama.cpp's rounding; the real-model greedy
    /// references hold on this path). With the Q5_0 kernels it is as fast as the dequantized f32
    /// path on a 2-core CPU (0.5B, 512-token prompt: 108.6 vs 120.1 tok/s; 1024: 107.0 vs 107.5),
    /// and needs no extra memory.
    #[default]
    #[serde(rename = "quant")]
    Quantized,
    /// Weights dequantized to f32 for each prompt chunk and multiplied with a dense GEMM.
    F32,
    /// Like `F32` but the dequantized weights are kept (fast, about 4 bytes per weight of memory).
    F32Cached,
}

impl PrefillMode {
    /// `quant`, `f32` or `f32-cached`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "quant" => Some(PrefillMode::Quantized),
            "f32" => Some(PrefillMode::F32),
            "f32-cached" => Some(PrefillMode::F32Cached),
            _ => None,
        }
    }
}

/// Which code path decodes single tokens (and runs prompt chunks) on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecodePath {
    /// The plain-vector / plain-slice path (`forward_one`, `forward_rows`).
    #[default]
    Plain,
    /// candle's tensor path (`forward_reference`), the one tests hold the plain path to.
    Tensor,
}

/// The run-time switches of the local models. See the [module](self) for where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct RuntimeOptions {
    /// Device of the models.
    pub device: DeviceChoice,
    /// Prompt-processing kernels of the chat models.
    pub prefill: PrefillMode,
    /// Decoding path of the chat models on the CPU.
    pub decode: DecodePath,
    /// Attention scores and values rounded through f16 as llama.cpp does (default on).
    pub f16_attention: bool,
    /// e5's linear layers on the integer kernels when their weights are exact 4-bit blocks
    /// (default on; off: f32 through candle's tensors).
    pub e5_integer: bool,
    /// Search uses the embedding model when it is installed (default on; off: BM25 only).
    pub embed: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            prefill: PrefillMode::Quantized,
            decode: DecodePath::Plain,
            f16_attention: true,
            e5_integer: true,
            embed: true,
        }
    }
}

impl RuntimeOptions {
    /// `self` with the `LODESTAR_*` environment overrides applied (the table in the
    /// [module](self) doc). The one place these variables are read.
    pub fn with_env(self) -> Self {
        self.with_vars(|k| std::env::var(k).ok())
    }

    /// [`Self::with_env`] over any variable lookup.
    pub fn with_vars(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(v) = var("LODESTAR_DEVICE") {
            self.device = if v.eq_ignore_ascii_case("cpu") { DeviceChoice::Cpu } else { DeviceChoice::Auto };
        }
        if let Some(v) = var("LODESTAR_PREFILL") {
            // an unknown value meant the default
            self.prefill = PrefillMode::parse(&v).unwrap_or_default();
        }
        if let Some(v) = var("LODESTAR_DECODE") {
            self.decode = if v == "tensor" { DecodePath::Tensor } else { DecodePath::Plain };
        }
        if let Some(v) = var("LODESTAR_F16_ATTN") {
            self.f16_attention = v != "0";
        }
        if let Some(v) = var("LODESTAR_E5_QUANT") {
            self.e5_integer = v != "0";
        }
        if var("LODESTAR_NO_EMBED").is_some_and(|v| !v.is_empty() && v != "0") {
            self.embed = false;
        }
        self
    }

    /// Applies one `KEY=VALUE` setting (the `--runtime` flag; keys and values as in `[runtime]`).
    pub fn apply(&mut self, setting: &str) -> Result<(), String> {
        let (key, value) =
            setting.split_once('=').ok_or_else(|| format!("`{setting}`: expected KEY=VALUE (e.g. prefill=f32)"))?;
        let (key, value) = (key.trim(), value.trim());
        let toml_value: toml::Value = match value {
            "true" | "on" => toml::Value::Boolean(true),
            "false" | "off" => toml::Value::Boolean(false),
            v => toml::Value::String(v.to_string()),
        };
        let mut value = toml::Value::try_from(*self).map_err(|e| e.to_string())?;
        let Some(table) = value.as_table_mut() else { return Err("runtime options are not a table".into()) };
        if !table.contains_key(key) {
            let keys: Vec<&str> = table.keys().map(|k| k.as_str()).collect();
            return Err(format!("unknown runtime option `{key}` (one of: {})", keys.join(", ")));
        }
        table.insert(key.to_string(), toml_value);
        *self = value.try_into().map_err(|e: toml::de::Error| format!("`{setting}`: {}", e.message()))?;
        Ok(())
    }
}

static CURRENT: RwLock<Option<RuntimeOptions>> = RwLock::new(None);

/// Sets the process's runtime options (the CLI does, once, before any model loads).
pub fn set(options: RuntimeOptions) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(options);
}

/// The process's runtime options: those given to [`set`], else the defaults with the
/// environment overrides.
pub fn current() -> RuntimeOptions {
    let set = *CURRENT.read().unwrap_or_else(|e| e.into_inner());
    set.unwrap_or_else(|| RuntimeOptions::default().with_env())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_as_the_variables_always_read() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let d = RuntimeOptions::default();
        assert_eq!(d.with_vars(env(&[])), d);
        let o = d.with_vars(env(&[
            ("LODESTAR_DEVICE", "CPU"),
            ("LODESTAR_PREFILL", "f32-cached"),
            ("LODESTAR_DECODE", "tensor"),
            ("LODESTAR_F16_ATTN", "0"),
            ("LODESTAR_E5_QUANT", "0"),
            ("LODESTAR_NO_EMBED", "1"),
        ]));
        assert_eq!(o.device, DeviceChoice::Cpu);
        assert_eq!(o.prefill, PrefillMode::F32Cached);
        assert_eq!(o.decode, DecodePath::Tensor);
        assert!(!o.f16_attention && !o.e5_integer && !o.embed);
        let o =
            d.with_vars(env(&[("LODESTAR_PREFILL", "bogus"), ("LODESTAR_NO_EMBED", "0"), ("LODESTAR_DECODE", "x")]));
        assert_eq!(o, d);
    }

    #[test]
    fn config_section_and_flags() {
        let c: crate::config::Config = toml::from_str("[runtime]\nprefill = \"f32\"\nembed = false\n").unwrap();
        assert_eq!(c.runtime.prefill, PrefillMode::F32);
        assert!(!c.runtime.embed && c.runtime.f16_attention);
        let mut o = RuntimeOptions::default();
        o.apply("device=cpu").unwrap();
        o.apply("f16_attention=off").unwrap();
        o.apply("decode = tensor").unwrap();
        assert_eq!((o.device, o.f16_attention, o.decode), (DeviceChoice::Cpu, false, DecodePath::Tensor));
        assert!(o.apply("speed=fast").unwrap_err().contains("unknown runtime option"));
        assert!(o.apply("prefill=f64").is_err());
        assert!(o.apply("prefill").is_err());
    }
}
