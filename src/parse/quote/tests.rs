//! Table tests of the splitter, one row per posting style and client habit,
//! and the own-mail tests: postdesk's text quoted back in a staff reply
//! never comes out as new text.

use super::{marker_line, marker_refs, split_quoted, split_reply};
use crate::parse::html::html_to_text;

/// (text, expected new text, expected history) for `split_quoted`.
const SPLITS: &[(&str, &str, &str)] = &[
    ("Thanks, fixed.", "Thanks, fixed.", ""),
    // Top-posting, attribution in each client's words.
    (
        "Thanks!\n\nOn Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\n> Is it fixed?\n>\n",
        "Thanks!",
        "On Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\n> Is it fixed?\n>",
    ),
    (
        "Thanks!\n\nOn Mon, Jan 2, 2023 at 10:00 AM Bob Example <\nbob@example.org> wrote:\n\n> Is it fixed?\n",
        "Thanks!",
        "On Mon, Jan 2, 2023 at 10:00 AM Bob Example <\nbob@example.org> wrote:\n\n> Is it fixed?",
    ),
    (
        "Thanks!\n\nOn Nov 30, 2011, at 12:47 PM, Somebody <\n416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@somebody.domain.com>\nwrote:\n\nOld text, not quoted.\n",
        "Thanks!",
        "On Nov 30, 2011, at 12:47 PM, Somebody <\n416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@somebody.domain.com>\nwrote:\n\nOld text, not quoted.",
    ),
    (
        "Merci.\n\nLe lun. 2 janv. 2023 à 10:00, Bob <bob@example.org> a écrit\u{a0}:\n> Alors ?\n",
        "Merci.",
        "Le lun. 2 janv. 2023 à 10:00, Bob <bob@example.org> a écrit\u{a0}:\n> Alors ?",
    ),
    (
        "Danke.\n\nAm 02.01.2023 um 10:00 schrieb Bob <bob@example.org>:\n> Und?\n",
        "Danke.",
        "Am 02.01.2023 um 10:00 schrieb Bob <bob@example.org>:\n> Und?",
    ),
    (
        "Grazie.\n\nIl giorno lun 2 gen 2023 alle ore 10:00 Bob <bob@example.org> ha scritto:\n> Allora?\n",
        "Grazie.",
        "Il giorno lun 2 gen 2023 alle ore 10:00 Bob <bob@example.org> ha scritto:\n> Allora?",
    ),
    // Date first, address and colon, no verb (Gmail in Russian).
    (
        "Спасибо.\n\nпн, 2 нояб. 2026 г. в 10:04, Анна <anna@example.org>:\n> Работает?\n",
        "Спасибо.",
        "пн, 2 нояб. 2026 г. в 10:04, Анна <anna@example.org>:\n> Работает?",
    ),
    // Name first, date last (Thunderbird in Finnish).
    (
        "Kiitos.\n\nAnna kirjoitti 2.11.2026 klo 10.04:\n> Toimiiko?\n",
        "Kiitos.",
        "Anna kirjoitti 2.11.2026 klo 10.04:\n> Toimiiko?",
    ),
    // No colon, unquoted history after it: still history to the end.
    (
        "Done.\n\nOn Mon, 2 Nov 2026 at 10:04, Ann wrote\n\nIs it done?\n",
        "Done.",
        "On Mon, 2 Nov 2026 at 10:04, Ann wrote\n\nIs it done?",
    ),
    // Dashed.
    (
        "Done.\n\n---- On Mon, 02 Nov 2026 10:04:00 +0100 Ann wrote ----\n\nIs it done?",
        "Done.",
        "---- On Mon, 02 Nov 2026 10:04:00 +0100 Ann wrote ----\n\nIs it done?",
    ),
    (
        "Done.\n\n---- Ann wrote ----\n\n> Is it done?",
        "Done.",
        "---- Ann wrote ----\n\n> Is it done?",
    ),
    // Attribution sharing the line with the reply.
    (
        "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi",
        "reply",
        "On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi",
    ),
    // "Original message" separators.
    (
        "Done.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\nTo: Desk\nSubject: Help\n\nIs it fixed?\n",
        "Done.",
        "-----Original Message-----\nFrom: Bob\nSent: Monday\nTo: Desk\nSubject: Help\n\nIs it fixed?",
    ),
    (
        "Fait.\n-----Message d'origine-----\nDe : Bob",
        "Fait.",
        "-----Message d'origine-----\nDe : Bob",
    ),
    (
        "Erledigt.\n-----Ursprüngliche Nachricht-----\nVon: Bob",
        "Erledigt.",
        "-----Ursprüngliche Nachricht-----\nVon: Bob",
    ),
    (
        "Fatto.\n-----Messaggio originale-----\nDa: Bob",
        "Fatto.",
        "-----Messaggio originale-----\nDa: Bob",
    ),
    (
        "Klart.\n\n-----Ursprungligt meddelande-----\nFrån: Bob\n",
        "Klart.",
        "-----Ursprungligt meddelande-----\nFrån: Bob",
    ),
    (
        "Valmis.\n\n-----Alkuperäinen viesti-----\nLähettäjä: Bob\n",
        "Valmis.",
        "-----Alkuperäinen viesti-----\nLähettäjä: Bob",
    ),
    // Outlook header blocks, with and without a rule above, in several languages.
    (
        "Done.\n\nFrom: Bob <bob@example.org>\nSent: Monday, January 2, 2023 10:00\nTo: Desk\nSubject: Help\n\nOld.",
        "Done.",
        "From: Bob <bob@example.org>\nSent: Monday, January 2, 2023 10:00\nTo: Desk\nSubject: Help\n\nOld.",
    ),
    (
        "Fait.\n\nDe : Bob\nEnvoyé : lundi 2 janvier 2023 10:00\nÀ : Desk\nObjet : Aide\n\nVieux.",
        "Fait.",
        "De : Bob\nEnvoyé : lundi 2 janvier 2023 10:00\nÀ : Desk\nObjet : Aide\n\nVieux.",
    ),
    (
        "Fait.\n\nDe\u{a0}: Bob\nEnvoyé le\u{a0}: lundi 2 janvier 2023 10:00\nÀ\u{a0}: Desk\nObjet\u{a0}: Aide\n\nVieux.",
        "Fait.",
        "De\u{a0}: Bob\nEnvoyé le\u{a0}: lundi 2 janvier 2023 10:00\nÀ\u{a0}: Desk\nObjet\u{a0}: Aide\n\nVieux.",
    ),
    (
        "Erledigt.\n\nVon: Bob\nGesendet: Montag, 2. Januar 2023 10:00\nAn: Desk\nBetreff: Hilfe\n",
        "Erledigt.",
        "Von: Bob\nGesendet: Montag, 2. Januar 2023 10:00\nAn: Desk\nBetreff: Hilfe",
    ),
    (
        "Fatto.\n\nDa: Bob\nInviato: lunedì 2 gennaio 2023 10:00\nA: Desk\nOggetto: Aiuto\n",
        "Fatto.",
        "Da: Bob\nInviato: lunedì 2 gennaio 2023 10:00\nA: Desk\nOggetto: Aiuto",
    ),
    (
        "Listo.\n\nDe: Bob <bob@example.org>\nEnviado el: lunes, 2 de enero de 2023 10:00\nPara: Desk\nAsunto: Ayuda\n",
        "Listo.",
        "De: Bob <bob@example.org>\nEnviado el: lunes, 2 de enero de 2023 10:00\nPara: Desk\nAsunto: Ayuda",
    ),
    (
        "Gotowe.\n\nOd: Bob <bob@example.org>\nWysłano: poniedziałek, 2 stycznia 2023 10:00\nDo: Desk\nTemat: Pomoc\n",
        "Gotowe.",
        "Od: Bob <bob@example.org>\nWysłano: poniedziałek, 2 stycznia 2023 10:00\nDo: Desk\nTemat: Pomoc",
    ),
    (
        "Готово.\n\nОт: Bob <bob@example.org>\nОтправлено: 2 января 2023 г. 10:00\nКому: Desk\nТема: Помощь\n",
        "Готово.",
        "От: Bob <bob@example.org>\nОтправлено: 2 января 2023 г. 10:00\nКому: Desk\nТема: Помощь",
    ),
    (
        "Hi\n\n  *From:* bob@example.com [mailto:\n  bob@example.com]\n  *Sent:* Wednesday, June 27, 2012 3:05 PM\n  *To:* travis@example.com\n  *Subject:* Hello\n",
        "Hi",
        "  *From:* bob@example.com [mailto:\n  bob@example.com]\n  *Sent:* Wednesday, June 27, 2012 3:05 PM\n  *To:* travis@example.com\n  *Subject:* Hello",
    ),
    (
        "Done.\n\n________________________________\nFrom: Bob\nSent: Monday\nTo: Desk\n\nOld.",
        "Done.",
        "________________________________\nFrom: Bob\nSent: Monday\nTo: Desk\n\nOld.",
    ),
    (
        "Done.\n\n==========\nFrom: Bob <bob@example.org>\nDate: Monday\n\nOld.",
        "Done.",
        "==========\nFrom: Bob <bob@example.org>\nDate: Monday\n\nOld.",
    ),
    // Forwards: the writer's words are new; a bare forward is all new.
    (
        "FYI\n\nBegin forwarded message:\n\nFrom: Bob\nSubject: Help\n",
        "FYI",
        "Begin forwarded message:\n\nFrom: Bob\nSubject: Help",
    ),
    (
        "See below.\n\n---------- Forwarded message ---------\nFrom: Bob\n",
        "See below.",
        "---------- Forwarded message ---------\nFrom: Bob",
    ),
    (
        "---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\nDate: Mon, 2 Nov 2026\nSubject: Error\nTo: Ann <ann@example.org>\n\nDisk full.",
        "---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\nDate: Mon, 2 Nov 2026\nSubject: Error\nTo: Ann <ann@example.org>\n\nDisk full.",
        "",
    ),
    // "Sent from my iPhone" ends the new text and is not part of it.
    (
        "Yes.\n\nSent from my iPhone\n\nOn 2 Nov 2026, at 10:04, Bob <bob@example.org> wrote:\n\n> Is it fixed?",
        "Yes.",
        "Sent from my iPhone\n\nOn 2 Nov 2026, at 10:04, Bob <bob@example.org> wrote:\n\n> Is it fixed?",
    ),
    (
        "Oui.\n\nEnvoyé de mon iPhone\n\n> Le 2 nov. 2026 à 10:04, Bob <bob@example.org> a écrit :\n> \n> Alors ?",
        "Oui.",
        "Envoyé de mon iPhone\n\n> Le 2 nov. 2026 à 10:04, Bob <bob@example.org> a écrit :\n> \n> Alors ?",
    ),
    (
        "> Und?\n\nJa.\n\nVon meinem iPhone gesendet",
        "Ja.",
        "> Und?\n\nVon meinem iPhone gesendet",
    ),
    (
        "Yes.\n\nBob wrote:\n> Is it fixed?\n",
        "Yes.",
        "Bob wrote:\n> Is it fixed?",
    ),
    (
        "Yes.\n\n> Is it fixed?\n> Really?\n\n",
        "Yes.",
        "> Is it fixed?\n> Really?",
    ),
    // Bottom-posting: one quote, then the answer, with no context.
    (
        "On Mon, Bob wrote:\n> Is it fixed?\nYes.\n",
        "Yes.",
        "On Mon, Bob wrote:\n> Is it fixed?",
    ),
    (
        "On 04/19/2011 07:10 AM, Roman wrote:\n\n>\n> Test\n\nTest reply\n\n-- \nAnn",
        "Test reply\n\n-- \nAnn",
        "On 04/19/2011 07:10 AM, Roman wrote:\n\n>\n> Test",
    ),
    // Top-posted with the signature under the quote: both parts, no context.
    (
        "Test reply\n\nOn 04/19/2011 07:10 AM, Roman wrote:\n\n> Test\n\nRegards, Ann",
        "Test reply\n\nRegards, Ann",
        "On 04/19/2011 07:10 AM, Roman wrote:\n\n> Test",
    ),
    // Inline answers: each with the last lines of the quote it answers.
    (
        "> Is it fixed?\nYes.\n> And the toner?\nAlso.\n",
        "> Is it fixed?\nYes.\n\n> And the toner?\nAlso.",
        "> Is it fixed?\n> And the toner?",
    ),
    (
        "Hi Bob,\n\nOn Mon, 2 Nov 2026 at 10:04, Bob <bob@example.org> wrote:\n> Hello,\n>\n> 1. Is the server up?\n> 2. Did you renew the certificate?\n\nYes, since this morning.\n\n> 3. Anything else?\n> 4. The invoice?\n\nSent today.\n\n> Thanks,\n> Bob\n",
        "Hi Bob,\n\n> 1. Is the server up?\n> 2. Did you renew the certificate?\nYes, since this morning.\n\n> 3. Anything else?\n> 4. The invoice?\nSent today.",
        "On Mon, 2 Nov 2026 at 10:04, Bob <bob@example.org> wrote:\n> Hello,\n>\n> 1. Is the server up?\n> 2. Did you renew the certificate?\n\n> 3. Anything else?\n> 4. The invoice?\n\n> Thanks,\n> Bob",
    ),
    // Only history: nothing new, and nothing lost.
    ("> Is it fixed?\n> Really?", "", "> Is it fixed?\n> Really?"),
    (
        "-----Original Message-----\nFrom: Bob",
        "",
        "-----Original Message-----\nFrom: Bob",
    ),
    // A list footer under the quote does not make the reply bottom-posted.
    (
        "Yes.\n\n> Is it fixed?\n_______________________________________________\nhelp mailing list\nhttps://lists.example/listinfo/help\n",
        "Yes.",
        "> Is it fixed?\n_______________________________________________\nhelp mailing list\nhttps://lists.example/listinfo/help",
    ),
    (
        "Yes.\n\n> Is it fixed?\n\n-- \nYou received this message because you are subscribed to the Google Groups \"help\" group.\nTo unsubscribe from this group, send an email to help+unsubscribe@example.org.",
        "Yes.",
        "> Is it fixed?\n\n-- \nYou received this message because you are subscribed to the Google Groups \"help\" group.\nTo unsubscribe from this group, send an email to help+unsubscribe@example.org.",
    ),
    (
        "Yes.\n\n> Is it fixed?\n\nThis e-mail and any attachments are confidential and intended solely for the addressee. If you are not the intended recipient, please delete it.",
        "Yes.",
        "> Is it fixed?\n\nThis e-mail and any attachments are confidential and intended solely for the addressee. If you are not the intended recipient, please delete it.",
    ),
    // A request that mentions a footer word is still an answer.
    (
        "> Anything else?\n\nPlease unsubscribe me.",
        "Please unsubscribe me.",
        "> Anything else?",
    ),
    // Quoted history the client re-wrapped: an unquoted tail of a long quoted line.
    (
        "Fine.\n\nOn Mon, 2 Nov 2026 at 10:04, Bob <bob@example.org> wrote:\n> The backup job failed again last night with the same error as on\nmonday, see the log\n> Can you check?\n",
        "Fine.",
        "On Mon, 2 Nov 2026 at 10:04, Bob <bob@example.org> wrote:\n> The backup job failed again last night with the same error as on\nmonday, see the log\n> Can you check?",
    ),
    // Not markers: a From line without the rest of a block, "wrote:" without quotes.
    (
        "From: the printer, smoke.\nTo be honest I wrote: help!",
        "From: the printer, smoke.\nTo be honest I wrote: help!",
        "",
    ),
    (
        "Invitation for an interview:\n\nDate: Wednesday 3, October 2011\nTime: 7 : 00am\nAddress: 130 Fox St\n\nPlease bring in your ID.",
        "Invitation for an interview:\n\nDate: Wednesday 3, October 2011\nTime: 7 : 00am\nAddress: 130 Fox St\n\nPlease bring in your ID.",
        "",
    ),
    (
        "On 3 May our server went down.\nNo backup since.",
        "On 3 May our server went down.\nNo backup since.",
        "",
    ),
    (
        "Visit us now for assistance...\n>>> >>>  http://www.domain.com <<<\nVisit our site by clicking the link above",
        "Visit us now for assistance...\n>>> >>>  http://www.domain.com <<<\nVisit our site by clicking the link above",
        "",
    ),
];

#[test]
fn split_quoted_table() {
    for &(text, new, quoted) in SPLITS {
        for text in [text.to_string(), text.replace('\n', "\r\n")] {
            let (got_new, got_quoted) = split_quoted(&text);
            assert_eq!(
                (got_new.as_str(), got_quoted.as_str()),
                (new, quoted),
                "{text:?}"
            );
        }
    }
}

/// New text of replies in the clients' own words, per language:
/// (text, expected new text).
const LANGUAGES: &[(&str, &str)] = &[
    (
        "Ok.\n\nEl lun, 2 nov 2026 a las 10:04, Ana (<ana@example.org>) escribió:\n> ¿Funciona?",
        "Ok.",
    ),
    (
        "Ok.\n\nEm seg., 2 de nov. de 2026 às 10:04, Ana <ana@example.org> escreveu:\n> Funciona?",
        "Ok.",
    ),
    (
        "Ok.\n\nOp ma 2 nov 2026 om 10:04 schreef Ana <ana@example.org>:\n> Werkt het?",
        "Ok.",
    ),
    (
        "Ok.\n\nOp 2 nov. 2026, om 10:04 heeft Ana <ana@example.org> het volgende geschreven:\n\n> Werkt het?",
        "Ok.",
    ),
    (
        "Ok.\n\npon., 2 lis 2026 o 10:04 Ana <ana@example.org> napisał(a):\n> Działa?",
        "Ok.",
    ),
    (
        "Ok.\n\nW dniu 2.11.2026 o 10:04, Ana pisze:\n> Działa?",
        "Ok.",
    ),
    (
        "Ok.\n\nDen mån 2 nov. 2026 kl 10:04 skrev Ana <ana@example.org>:\n> Fungerar det?",
        "Ok.",
    ),
    (
        "Ok.\n\nDen man. 2. nov. 2026 kl. 10.04 skrev Ana <ana@example.org>:\n> Virker det?",
        "Ok.",
    ),
    (
        "Ok.\n\nman. 2. nov. 2026 kl. 10:04 skrev Ana <ana@example.org>:\n> Virker det?",
        "Ok.",
    ),
    (
        "Ok.\n\nma 2.11.2026 klo 10.04 Ana (ana@example.org) kirjoitti:\n> Toimiiko?",
        "Ok.",
    ),
    (
        "Ok.\n\n2 нояб. 2026 г., в 10:04, Ана <ana@example.org> написал(а):\n\n> Работает?",
        "Ok.",
    ),
    ("Ok.\n\n02.11.2026 10:04, Ана пишет:\n> Работает?", "Ok."),
    (
        "Ok.\n\n> Wiadomość napisana przez Ana <ana@example.org> w dniu 02.11.2026, o godz. 10:04:\n> \n> Działa?",
        "Ok.",
    ),
    (
        "Ok.\n\nOn Monday, November 2, 2026, 10:04:00 AM GMT+1, Ana <ana@example.org> wrote:\n\n\nDoes it work?",
        "Ok.",
    ),
    (
        "Ok.\n\n* Ana <ana@example.org> [2026-11-02 10:04]:\n> Does it work?",
        "Ok.",
    ),
    (
        "Ok.\n\nQuoting Ana <ana@example.org>:\n\n> Does it work?",
        "Ok.",
    ),
    (
        "Ok.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Ana <ana@example.org>\nSent: Monday, November 2, 2026 10:04:00 AM\nTo: support@desk.example <support@desk.example>\nSubject: Help\n\nDoes it work?",
        "Ok.",
    ),
    (
        "Ok.\n\nObtenir Outlook pour iOS<https://aka.ms/o0ukef>\n________________________________\nDe : Ana <ana@example.org>\nEnvoyé : lundi, novembre 2, 2026 10:04 AM\nÀ : support@desk.example\nObjet : Aide\n\nÇa marche ?",
        "Ok.",
    ),
    (
        "Ok.\n\n-------- Original message --------\nFrom: Ana <ana@example.org>\nDate: 11/2/26 10:04 (GMT+01:00)\nTo: support@desk.example\nSubject: Help\n\nDoes it work?",
        "Ok.",
    ),
    (
        "Ok.\n\n-------- Message d'origine --------\nDe : Ana <ana@example.org>\nDate : 02/11/2026 10:04 (GMT+01:00)\nÀ : support@desk.example\nObjet : Aide\n\nÇa marche ?",
        "Ok.",
    ),
    (
        "Ok.\n\n-------- Originalnachricht --------\nVon: Ana <ana@example.org>\nDatum: 02.11.26 10:04 (GMT+01:00)\nAn: support@desk.example\nBetreff: Hilfe\n\nGeht es?",
        "Ok.",
    ),
];

#[test]
fn split_languages() {
    for &(text, new) in LANGUAGES {
        assert_eq!(split_quoted(text).0, new, "{text:?}");
    }
}

/// A staff notification as postdesk sends it: the customer's words, an
/// internal note in the history, the command help, the marker.
const NOTIFICATION: &str = "Ann replied on ticket #42.

The printer still smokes when I print more than ten pages in a row, even
after the cleaning you suggested on Monday.

Ticket #42
  Subject:      Printer smokes
  Status:       in-progress

Reply to this mail to answer the customer; keep [ACME #42] in the subject.
Lines at the top of your reply act on the ticket and are not sent:
#status STATUS, #close, #reject, #reopen, #hold, #type TYPE,
#priority high|normal, #assign NAME, #account ID, #merge NUMBER,
#drop ADDRESS, and #note (the whole reply stays internal).

History:

2026-11-02 09:00 Alice (internal note):
  Discount negotiated with their purchasing, do not mention it to the
  customer before the contract is signed.

--
ACME Support <support@acme.example>
[ref abcdefgh2345]";

/// Words of the notification that must never come out as new text.
const SECRETS: &[&str] = &[
    "Discount negotiated",
    "purchasing",
    "do not mention",
    "#merge",
];

fn quoted(text: &str, width: usize) -> String {
    rewrap(text, width)
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Re-fills each paragraph of `text` to `width` columns, as a client does.
fn rewrap(text: &str, width: usize) -> String {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut line = String::new();
        let mut lines = Vec::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
        out.push(lines.join("\n"));
    }
    out.join("\n\n")
}

fn assert_no_secret(new: &str, case: &str) {
    for secret in SECRETS {
        assert!(
            !new.contains(secret),
            "{case}: {secret:?} leaked into {new:?}"
        );
    }
}

/// Staff replies to the notification, as each posting style and client
/// writes them: (case, reply text, words that must be in the new text).
/// Pasted text with no head and no quote marks is told from ours only with
/// ours at hand: without, all above the marker is taken for ours.
type StaffReply = (&'static str, String, &'static [&'static str]);

fn staff_replies() -> Vec<StaffReply> {
    let attribution = "On Mon, 2 Nov 2026 at 10:04, ACME Support <support@acme.example> wrote:";
    let q = quoted(NOTIFICATION, 76);
    let q72 = quoted(NOTIFICATION, 72);
    let mut paragraphs = NOTIFICATION.split("\n\n");
    let first = quoted(paragraphs.next().unwrap_or_default(), 76);
    let second = quoted(paragraphs.next().unwrap_or_default(), 76);
    let rest = quoted(&paragraphs.collect::<Vec<_>>().join("\n\n"), 76);
    vec![
        (
            "top",
            format!("#close\nFixed, new fuser sent.\n\n{attribution}\n{q}\n"),
            &["#close", "new fuser"][..],
        ),
        (
            "bottom",
            format!("{attribution}\n{q}\n\n#close\nFixed, new fuser sent.\n"),
            &["#close", "new fuser"][..],
        ),
        (
            "bottom, 72 columns",
            format!("{attribution}\n{q72}\n\n#close\nFixed, new fuser sent.\n"),
            &["#close", "new fuser"][..],
        ),
        (
            "inline",
            format!(
                "{attribution}\n{first}\n\nThanks for the update.\n\n{second}\n\nWe are sending a new fuser.\n\n{rest}\n"
            ),
            &["new fuser", "update"][..],
        ),
        (
            "pasted without quote marks, re-wrapped",
            format!("Fixed, new fuser sent.\n\n{}\n", rewrap(NOTIFICATION, 72)),
            &["new fuser"][..],
        ),
        (
            "Outlook, header block and unquoted history",
            format!(
                "Fixed, new fuser sent.\n\nFrom: ACME Support <support@acme.example>\nSent: Monday, November 2, 2026 10:04\nTo: Alice <alice@acme.example>\nSubject: [ACME #42] Printer smokes\n\n{NOTIFICATION}\n"
            ),
            &["new fuser"][..],
        ),
        (
            "Outlook bottom-posted, unquoted history ended by the marker",
            format!(
                "From: ACME Support <support@acme.example>\nSent: Monday, November 2, 2026 10:04\nTo: Alice <alice@acme.example>\nSubject: [ACME #42] Printer smokes\n\n{NOTIFICATION}\n\n#close\nFixed, new fuser sent.\n"
            ),
            &["#close", "new fuser"][..],
        ),
    ]
}

#[test]
fn own_mail_never_comes_out_as_new_text() {
    for (case, reply, keep) in staff_replies() {
        for ours in [&[NOTIFICATION][..], &[]] {
            let (new, _) = split_reply(&reply, ours);
            let case = format!("{case} ({} mails of ours)", ours.len());
            assert_no_secret(&new, &case);
            if ours.is_empty() && case.starts_with("pasted") {
                continue;
            }
            for word in keep {
                assert!(new.contains(word), "{case}: {word:?} lost from {new:?}");
            }
        }
    }
}

#[test]
fn inline_context_is_never_our_text() {
    let reply = format!(
        "> {}\n\nWhich discount?\n\n> {}\n\nNone that I know of.\n",
        "Discount negotiated with their purchasing, do not mention it to the",
        "customer before the contract is signed."
    );
    // Without ours, the context is shown (it is the customer's mail, say).
    let (new, _) = split_reply(&reply, &[]);
    assert!(new.contains("> Discount negotiated"), "{new:?}");
    // With ours, never.
    let (new, _) = split_reply(&reply, &[NOTIFICATION]);
    assert_no_secret(&new, "inline below ours");
    assert_eq!(new, "Which discount?\n\nNone that I know of.");
}

#[test]
fn html_quote_of_our_mail_is_history() {
    let escaped = NOTIFICATION
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>\n");
    for html in [
        // Gmail.
        format!(
            "<div dir=\"ltr\">#close<br>Fixed, new fuser sent.</div><br><div class=\"gmail_quote\">\
             <div dir=\"ltr\" class=\"gmail_attr\">Le lun. 2 nov. 2026 à 10:04, ACME &lt;support@acme.example&gt; a écrit&nbsp;:<br></div>\
             <blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\">{escaped}</blockquote></div>"
        ),
        // Outlook on the web, with our mail after its header block.
        format!(
            "<div>#close</div><div>Fixed, new fuser sent.</div><div id=\"appendonsend\"></div>\
             <hr style=\"display:inline-block;width:98%\" tabindex=\"-1\"><div id=\"divRplyFwdMsg\" dir=\"ltr\">\
             <font face=\"Calibri, sans-serif\"><b>Van:</b> ACME<br><b>Verzonden:</b> maandag 2 november 2026 10:04<br>\
             <b>Aan:</b> Alice<br><b>Onderwerp:</b> [ACME #42]</font><div>&nbsp;</div></div><div>{escaped}</div>"
        ),
        // Thunderbird, bottom-posted.
        format!(
            "<div class=\"moz-cite-prefix\">Am 02.11.26 um 10:04 schrieb ACME:<br></div>\
             <blockquote type=\"cite\" cite=\"mid:x@acme.example\"><pre class=\"moz-quote-pre\">{NOTIFICATION}</pre></blockquote>\
             <p>#close<br>Fixed, new fuser sent.</p>"
        ),
    ] {
        let text = html_to_text(&html);
        for ours in [&[NOTIFICATION][..], &[]] {
            let (new, _) = split_reply(&text, ours);
            assert_no_secret(&new, &html);
            assert!(
                new.contains("#close") && new.contains("new fuser"),
                "{text}\n=> {new:?}"
            );
        }
    }
}

#[test]
fn short_common_lines_of_ours_stay_the_writers() {
    let ours = "Hello,\n\nThanks for your message.\n\nThanks,\nACME Support\n[ref abcdefgh2345]";
    let reply = "Hello,\n\nThanks\n\nThanks for your message.\n\nAnn";
    assert_eq!(split_reply(reply, &[ours]).0, reply);
}

#[test]
fn a_pasted_run_of_ours_is_history_even_without_marks() {
    let reply = format!(
        "Please close it.\n\n{}\n\nAnn",
        rewrap(NOTIFICATION, 60).replace("[ref abcdefgh2345]", "")
    );
    let (new, _) = split_reply(&reply, &[NOTIFICATION]);
    assert_eq!(new, "Please close it.\n\nAnn");
}

#[test]
fn markers_in_replies() {
    let reply = format!("Thanks\n\n> {}\n> [ref\n> abcdefgh2345]", "Old words");
    assert_eq!(marker_refs(&reply), vec!["abcdefgh2345"]);
    assert_eq!(
        marker_refs(&marker_line("bbbbbbbb3333")),
        vec!["bbbbbbbb3333"]
    );
    // An unquoted marker with our text above it and no head: that text is ours.
    let (new, _) = split_reply(
        "Our words, the internal note.\n[ref abcdefgh2345]\n\nMy answer.",
        &[],
    );
    assert_eq!(new, "My answer.");
}

#[test]
fn huge_texts_stay_linear() {
    let line = "> the same quoted line of a long history, again and again\n";
    let text = format!("Fine.\n\n{}\nthe end\n", line.repeat(200_000));
    let started = std::time::Instant::now();
    let (new, quoted) = split_quoted(&text);
    assert_eq!(new, "Fine.\n\nthe end");
    assert!(quoted.len() > 10_000_000);
    // Generous for debug builds on a shared machine; quadratic work would take minutes.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// Random mixes of the pieces the splitter looks for: it never panics, and
/// every line of the new text is (part of) a line of the input, or a `> `
/// context line quoting text of the input.
#[test]
fn odd_input_never_panics_and_invents_nothing() {
    const BITS: &[&str] = &[
        "> ",
        ">>",
        "On 2 Nov 2026 at 10:04, ",
        "wrote:",
        "[ref ",
        "abcdefgh2345",
        "]",
        "From: ",
        "Sent: ",
        "Subject: ",
        "\n",
        "\n",
        "\r\n",
        "é",
        "—",
        "____",
        "<",
        "&#91;",
        "-- ",
        "Sent from my iPhone",
        "ёж",
        " On ",
        "\u{a0}",
        ":",
        "itojun> ",
        "word ",
        "-----Original Message-----",
        "\t",
        "写道：",
        "🙂",
        "Begin forwarded message:",
    ];
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    for _ in 0..3000 {
        let mut piece =
            |n: usize| -> String { (0..n).map(|_| BITS[next() % BITS.len()]).collect() };
        let (text, ours) = (piece(60), piece(40));
        let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
        for (new, _) in [split_reply(&text, &[&ours]), split_quoted(&text)] {
            // Blank lines separate the blocks of new text.
            for line in new.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                let context = line
                    .strip_prefix("> ")
                    .is_some_and(|rest| text.contains(rest));
                // A line cut at a mid-line attribution is part of a line.
                let own = lines.contains(&line) || text.contains(line);
                assert!(own || context, "{line:?} not from {text:?}");
            }
        }
        let _ = marker_refs(&text);
    }
}

/// A short answer that opens like an attribution ("On it.", "On my way!")
/// above the real one is the reply, never joined into the attribution
/// below it: the answer must not vanish.
#[test]
fn a_short_answer_that_opens_like_an_attribution_is_kept() {
    for answer in [
        "On it.",
        "On my way!",
        "Am Montag erledigt.",
        "Le 3 c'est bon.",
    ] {
        let text = format!(
            "{answer}\n\nOn Mon, 16 Nov 2026 at 10:00, Test Desk <support@desk.example> wrote:\n> Your ticket.\n"
        );
        let (new, _) = split_reply(&text, &[]);
        assert_eq!(new.trim(), answer, "{text}");
    }
}
