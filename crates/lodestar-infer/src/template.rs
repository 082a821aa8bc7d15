//! Chat templates (对话模板), chosen from the GGUF's `tokenizer.chat_template` metadata.
//!
//! Rather than running a Jinja engine, the template text is classified into the family it
//! implements (ChatML for Qwen, Llama 3 headers, Llama 2 `[INST]`) and rendered in Rust; the
//! Qwen2.5 template's default system prompt is honoured when the template carries one.

use lodestar_core::model::{ChatMessage, ChatRole};

/// A chat prompt format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` … `<|im_start|>assistant\n`.
    ChatMl {
        /// System prompt inserted when the conversation has none (Qwen's default), if the template has one.
        default_system: Option<String>,
    },
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`.
    Llama3,
    /// `<s>[INST] <<SYS>>…<</SYS>> user [/INST] answer </s>`.
    Llama2,
}

const QWEN_DEFAULT_SYSTEM: &str = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

impl ChatTemplate {
    /// Classifies a GGUF chat template (or picks the architecture's default when absent).
    pub fn detect(template: Option<&str>, arch: &str) -> Self {
        match template {
            Some(t) if t.contains("<|im_start|>") => {
                let default_system =
                    if t.contains(QWEN_DEFAULT_SYSTEM) { Some(QWEN_DEFAULT_SYSTEM.to_string()) } else { None };
                ChatTemplate::ChatMl { default_system }
            }
            Some(t) if t.contains("<|start_header_id|>") => ChatTemplate::Llama3,
            Some(t) if t.contains("[INST]") => ChatTemplate::Llama2,
            _ => match arch {
                "llama" => ChatTemplate::Llama3,
                _ => ChatTemplate::ChatMl { default_system: None },
            },
        }
    }

    /// The family a GGUF chat template implements, `None` when it is none lodestar renders.
    pub fn recognize(template: &str) -> Option<Self> {
        if template.contains("<|im_start|>") || template.contains("<|start_header_id|>") || template.contains("[INST]")
        {
            Some(Self::detect(Some(template), ""))
        } else {
            None
        }
    }

    /// `chatml`, `llama3` or `llama2`.
    pub fn family(&self) -> &'static str {
        match self {
            ChatTemplate::ChatMl { .. } => "chatml",
            ChatTemplate::Llama3 => "llama3",
            ChatTemplate::Llama2 => "llama2",
        }
    }

    /// Strings that end an assistant turn in this format (used as extra stop tokens).
    pub fn end_of_turn_markers(&self) -> &'static [&'static str] {
        match self {
            ChatTemplate::ChatMl { .. } => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::Llama3 => &["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"],
            ChatTemplate::Llama2 => &["</s>"],
        }
    }

    /// Renders the conversation followed by the opening of the assistant's reply.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        let role = |r: ChatRole| match r {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        };
        let mut s = String::new();
        match self {
            ChatTemplate::ChatMl { default_system } => {
                if let Some(d) = default_system {
                    if messages.first().is_none_or(|m| m.role != ChatRole::System) {
                        s.push_str(&format!("<|im_start|>system\n{d}<|im_end|>\n"));
                    }
                }
                for m in messages {
                    s.push_str(&format!("<|im_start|>{}\n{}<|im_end|>\n", role(m.role), m.content));
                }
                s.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Llama3 => {
                s.push_str("<|begin_of_text|>");
                for m in messages {
                    s.push_str(&format!(
                        "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                        role(m.role),
                        m.content.trim()
                    ));
                }
                s.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            ChatTemplate::Llama2 => {
                let mut system: Option<&str> = None;
                let mut first_user = true;
                for m in messages {
                    match m.role {
                        ChatRole::System => system = Some(&m.content),
                        ChatRole::User => {
                            s.push_str("<s>[INST] ");
                            if first_user {
                                if let Some(sys) = system {
                                    s.push_str(&format!("<<SYS>>\n{sys}\n<</SYS>>\n\n"));
                                }
                                first_user = false;
                            }
                            s.push_str(m.content.trim());
                            s.push_str(" [/INST]");
                        }
                        ChatRole::Assistant => {
                            s.push_str(&format!(" {} </s>", m.content.trim()));
                        }
                    }
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_like_the_qwen_template() {
        let t = ChatTemplate::detect(Some("{% ... %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>"), "qwen2");
        let msgs = [ChatMessage::system("S"), ChatMessage::user("你好")];
        assert_eq!(
            t.render(&msgs),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n"
        );
        // No system message: the template's default system prompt is inserted.
        let r = t.render(&[ChatMessage::user("hi")]);
        assert!(r.starts_with("<|im_start|>system\nYou are Qwen"));
        assert!(r.ends_with("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
    }

    #[test]
    fn llama3_and_fallbacks() {
        let t = ChatTemplate::detect(Some("<|start_header_id|>"), "llama");
        assert_eq!(
            t.render(&[ChatMessage::user("hi")]),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        assert_eq!(ChatTemplate::detect(None, "qwen2"), ChatTemplate::ChatMl { default_system: None });
        assert_eq!(ChatTemplate::detect(Some("[INST]"), "llama"), ChatTemplate::Llama2);
    }
}
