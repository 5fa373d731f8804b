//! A customer account as the operator declares it: in the config, an
//! accounts file or on the command line.

use super::{AccountId, Address, Language, SenderPattern};

/// One account as declared in the config, given on the command line or
/// imported from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub id: AccountId,
    pub name: String,
    pub primary: Address,
    pub authorized: Vec<SenderPattern>,
    /// `None`: `service.default_language`.
    pub language: Option<Language>,
    /// The ISP account managing this one.
    pub parent: Option<AccountId>,
    /// Receive a copy of every mail about the account's tickets.
    pub delegates: Vec<Address>,
    pub priority: bool,
    /// `None`: `intake.require_authentication`.
    pub require_authentication: Option<bool>,
    /// The support PIN's slow hash (`postdesk pin-hash`), for a declared
    /// account; `None`: whatever `account set --pin` set.
    pub pin_hash: Option<String>,
    /// The account's OpenPGP public key file (ASCII-armoured): signatures
    /// by it are checked, and mail to an address in its user ids about an
    /// encrypted ticket is encrypted to it. Read from the config only;
    /// `None` for an account of the database.
    pub openpgp_key: Option<std::path::PathBuf>,
    /// The account's S/MIME certificate file (PEM): a good signature by
    /// it, for an address it names, proves the sender.
    pub smime_cert: Option<std::path::PathBuf>,
}
