//! source: where raw mail comes from. Each source hands over raw bytes with
//! a source id and removes a message only after intake has committed it.

pub mod maildir;
pub mod mbox;
