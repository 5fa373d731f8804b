//! parse: raw bytes → `Inbound`. The only module that imports mail-parser.
//! (Interface placeholder while the parse stage is written; replaced wholesale.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{MailClass, Mailbox};

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    pub max_size: usize,
    pub max_depth: usize,
    pub max_parts: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalRef {
    pub message_id: Option<String>,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Inbound {
    pub message_id: String,
    pub message_id_derived: bool,
    pub content_hash: String,
    pub size: usize,
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub date: Option<DateTime<Utc>>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub return_path: Option<String>,
    pub text: String,
    pub new_text: String,
    pub quoted: String,
    pub attachments: Vec<Attachment>,
    pub class: MailClass,
    pub original: Option<OriginalRef>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("message of {size} bytes is over the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("not a mail message: {0}")]
    NotAMessage(String),
}

pub fn parse(_raw: &[u8], _limits: &ParseLimits) -> Result<Inbound, ParseError> {
    todo!()
}

pub fn content_hash(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(raw))
}

pub fn split_quoted(text: &str) -> (String, String) {
    (text.to_string(), String::new())
}
