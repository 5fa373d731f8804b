//! The store as the decision stages see it: thread's `Known` and
//! identify's `Directory`, answered by indexed reads.

use crate::domain::{AccountId, Address, Language, SenderPattern, TicketId};
use crate::identify::{AccountFacts, Directory, Grant, SenderRule};
use crate::store::{Reader, StoreError};
use crate::thread::Known;

impl Known for Reader<'_> {
    type Error = StoreError;

    fn ticket_exists(&self, id: TicketId) -> Result<bool, StoreError> {
        Reader::ticket_exists(self, id)
    }

    fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        Reader::received_ticket_of(self, message_id)
    }

    fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        Reader::sent_ticket_of(self, message_id)
    }

    fn merged_into(&self, id: TicketId) -> Result<Option<TicketId>, StoreError> {
        Reader::merged_into(self, id)
    }
}

/// The store's indexed lookups, as identify asks for them.
impl Directory for Reader<'_> {
    type Error = StoreError;

    fn grants(&self, address: &Address) -> Result<Vec<Grant>, StoreError> {
        let rows = self.sender_rules(address)?;
        // A row that no longer parses (a hand-edited database) lets nobody in.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let account = AccountId::parse(&r.account).ok()?;
                let rule = match r.kind.as_str() {
                    "primary" => SenderRule::Primary(Address::parse(&r.pattern).ok()?),
                    _ => SenderRule::Authorized(SenderPattern::parse(&r.pattern).ok()?),
                };
                Some(Grant { account, rule })
            })
            .collect())
    }

    fn account(&self, id: &AccountId) -> Result<Option<AccountFacts>, StoreError> {
        Ok(self.account_brief(id.as_str())?.and_then(|b| {
            Some(AccountFacts {
                id: AccountId::parse(&b.id).ok()?,
                parent: b.parent.as_deref().and_then(|p| AccountId::parse(p).ok()),
                priority: b.priority,
                require_authentication: b.require_authentication,
                language: b.language.as_deref().and_then(Language::from_code),
            })
        }))
    }

    fn ticket_account(&self, ticket: TicketId) -> Result<Option<Option<AccountId>>, StoreError> {
        Ok(Reader::ticket_account(self, ticket)?
            .map(|a| a.and_then(|id| AccountId::parse(&id).ok())))
    }

    fn is_participant(&self, ticket: TicketId, who: &Address) -> Result<bool, StoreError> {
        Reader::is_participant(self, ticket, who)
    }

    fn sent_on_ticket(&self, ticket: TicketId, ids: &[String]) -> Result<bool, StoreError> {
        Reader::sent_on_ticket(self, ticket, ids)
    }

    fn confirmation_sent(&self, ids: &[String]) -> Result<bool, StoreError> {
        Reader::confirmation_sent(self, ids)
    }

    fn sent_to_staff(&self, ids: &[String], to: &[Address]) -> Result<bool, StoreError> {
        Reader::sent_to_staff(self, ids, to)
    }
}
