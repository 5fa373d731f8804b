//! TEMPORARY stand-in for the transport layer (being written separately).
use crate::types::Address;
pub struct Envelope {
    pub from: Option<Address>,
    pub to: Vec<Address>,
}
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
impl DeliverError {
    pub fn is_transient(&self) -> bool {
        true
    }
}
pub enum Transport {
    Maildir(std::path::PathBuf),
}
impl Transport {
    pub fn from_config(cfg: &crate::config::Transport) -> Result<Transport, DeliverError> {
        match cfg {
            crate::config::Transport::Maildir { path } => Ok(Transport::Maildir(path.clone())),
            _ => Err(std::io::Error::other("x").into()),
        }
    }
    pub fn describe(&self) -> String {
        "maildir".into()
    }
    pub async fn send(&self, _env: &Envelope, raw: &[u8], key: &str) -> Result<(), DeliverError> {
        let Transport::Maildir(p) = self;
        for d in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(p.join(d))?;
        }
        let name: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(p.join("tmp").join(&name), raw)?;
        std::fs::rename(p.join("tmp").join(&name), p.join("new").join(&name))?;
        Ok(())
    }
}
