#!/usr/bin/env python3
"""Composes the replies of tests/replies/own/: for each language, the way
each mail client writes a reply (its attribution line or header block, its
quoting, its "Sent from" line, its HTML structure), top-posted, bottom-posted
and inline, plain text and HTML, with the new text a person sees beside it.

The client formats are written down here once, from what the clients send
(Gmail web and mobile, Thunderbird, Outlook desktop / on the web / mobile,
Apple Mail and iPhone, Yahoo, mutt). Run it from this folder to rewrite the
cases; it deletes nothing it did not write.

    python3 compose.py
"""

import html
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# name, address of the person quoted; the writer signs as "Bob".
LANGS = {
    "en": dict(
        who="Ann Example", addr="ann@example.org",
        greet="Hi Ann,", sign="Thanks,\nBob",
        answer="The backup ran again last night and finished at 03:12.\nYou should see the new archive in the usual folder.",
        original="Hello,\n\nThe nightly backup failed again with a timeout.\nCan you have a look before Friday?\n\nRegards,\nAnn",
        q1="Is the server up again?", a1="Yes, since 9:00 this morning.",
        q2="And did you renew the certificate?", a2="Not yet, it expires in December.",
        gmail="On Mon, Nov 2, 2026 at 10:04 AM {n} <{a}> wrote:",
        gmail_mobile="On Mon, 2 Nov 2026, 10:04 {n}, <{a}> wrote:",
        tb="On 02/11/2026 10:04, {n} wrote:",
        apple="On 2 Nov 2026, at 10:04, {n} <{a}> wrote:",
        yahoo="On Monday, November 2, 2026 at 10:04:12 AM GMT+1, {n} <{a}> wrote:",
        labels=("From", "Sent", "To", "Cc", "Subject"), date="Monday, November 2, 2026 10:04 AM",
        orig="-----Original Message-----", subject="RE: Backup failed",
        iphone="Sent from my iPhone", outlook_app="Get Outlook for iOS<https://aka.ms/o0ukef>",
    ),
    "fr": dict(
        who="Anne Exemple", addr="anne@example.fr",
        greet="Bonjour Anne,", sign="Merci,\nBob",
        answer="La sauvegarde a de nouveau tourné cette nuit et s'est terminée à 03h12.\nVous devriez voir la nouvelle archive dans le dossier habituel.",
        original="Bonjour,\n\nLa sauvegarde de nuit a encore échoué sur un délai dépassé.\nPouvez-vous regarder avant vendredi ?\n\nCordialement,\nAnne",
        q1="Le serveur est-il de nouveau joignable ?", a1="Oui, depuis 9h ce matin.",
        q2="Et avez-vous renouvelé le certificat ?", a2="Pas encore, il expire en décembre.",
        gmail="Le lun. 2 nov. 2026 à 10:04, {n} <{a}> a écrit\u202f:",
        gmail_mobile="Le lun. 2 nov. 2026, 10:04, {n} <{a}> a écrit :",
        tb="Le 02/11/2026 à 10:04, {n} a écrit\u00a0:",
        apple="Le 2 nov. 2026 à 10:04, {n} <{a}> a écrit :",
        yahoo="Le lundi 2 novembre 2026 à 10:04:12 UTC+1, {n} <{a}> a écrit :",
        labels=("De\u00a0", "Envoyé\u00a0", "À\u00a0", "Cc\u00a0", "Objet\u00a0"), date="lundi 2 novembre 2026 10:04",
        labels_mobile=("De\u00a0", "Envoyé le\u00a0", "À\u00a0", "Cc\u00a0", "Objet\u00a0"),
        orig="-----Message d'origine-----", subject="RE: Échec de la sauvegarde",
        iphone="Envoyé de mon iPhone", outlook_app="Obtenir Outlook pour iOS<https://aka.ms/o0ukef>",
    ),
    "de": dict(
        who="Anna Beispiel", addr="anna@beispiel.de",
        greet="Hallo Anna,", sign="Danke,\nBob",
        answer="Die Sicherung lief heute Nacht wieder und war um 03:12 fertig.\nDas neue Archiv liegt im gewohnten Ordner.",
        original="Hallo,\n\ndie nächtliche Sicherung ist wieder mit einer Zeitüberschreitung abgebrochen.\nKönnen Sie bis Freitag nachsehen?\n\nGrüße\nAnna",
        q1="Ist der Server wieder erreichbar?", a1="Ja, seit heute 9 Uhr.",
        q2="Und haben Sie das Zertifikat erneuert?", a2="Noch nicht, es läuft im Dezember ab.",
        gmail="Am Mo., 2. Nov. 2026 um 10:04 Uhr schrieb {n} <{a}>:",
        gmail_mobile="{n} <{a}> schrieb am Mo., 2. Nov. 2026, 10:04:",
        tb="Am 02.11.26 um 10:04 schrieb {n}:",
        apple="Am 02.11.2026 um 10:04 schrieb {n} <{a}>:",
        yahoo="Am Montag, 2. November 2026 um 10:04:12 MEZ hat {n} <{a}> Folgendes geschrieben:",
        labels=("Von", "Gesendet", "An", "Cc", "Betreff"), date="Montag, 2. November 2026 10:04",
        orig="-----Ursprüngliche Nachricht-----", subject="AW: Sicherung fehlgeschlagen",
        iphone="Von meinem iPhone gesendet", outlook_app="Outlook für iOS<https://aka.ms/o0ukef> beziehen",
    ),
    "it": dict(
        who="Anna Esempio", addr="anna@esempio.it",
        greet="Ciao Anna,", sign="Grazie,\nBob",
        answer="Il backup è ripartito stanotte ed è terminato alle 03:12.\nTrovi il nuovo archivio nella solita cartella.",
        original="Buongiorno,\n\nil backup notturno è fallito di nuovo per un timeout.\nPotete controllare entro venerdì?\n\nCordiali saluti,\nAnna",
        q1="Il server è di nuovo raggiungibile?", a1="Sì, dalle 9 di stamattina.",
        q2="E avete rinnovato il certificato?", a2="Non ancora, scade a dicembre.",
        gmail="Il giorno lun 2 nov 2026 alle ore 10:04 {n} <{a}> ha scritto:",
        gmail_mobile="Il lun 2 nov 2026, 10:04 {n} <{a}> ha scritto:",
        tb="Il 02/11/2026 10:04, {n} ha scritto:",
        apple="Il giorno 2 nov 2026, alle ore 10:04, {n} <{a}> ha scritto:",
        yahoo="Il lunedì 2 novembre 2026 alle ore 10:04:12 CET, {n} <{a}> ha scritto:",
        labels=("Da", "Inviato", "A", "Cc", "Oggetto"), date="lunedì 2 novembre 2026 10:04",
        orig="-----Messaggio originale-----", subject="R: Backup fallito",
        iphone="Inviato da iPhone", outlook_app="Scarica Outlook per iOS<https://aka.ms/o0ukef>",
    ),
    "es": dict(
        who="Ana Ejemplo", addr="ana@ejemplo.es",
        greet="Hola Ana,", sign="Gracias,\nBob",
        answer="La copia de seguridad volvió a ejecutarse anoche y terminó a las 03:12.\nEncontrará el nuevo archivo en la carpeta de siempre.",
        original="Hola:\n\nLa copia nocturna ha vuelto a fallar por tiempo de espera.\n¿Pueden revisarlo antes del viernes?\n\nUn saludo,\nAna",
        q1="¿Vuelve a responder el servidor?", a1="Sí, desde las 9 de esta mañana.",
        q2="¿Y renovaron el certificado?", a2="Todavía no, caduca en diciembre.",
        gmail="El lun, 2 nov 2026 a las 10:04, {n} (<{a}>) escribió:",
        gmail_mobile="El lun., 2 de nov. de 2026 10:04, {n} <{a}> escribió:",
        tb="El 2/11/26 a las 10:04, {n} escribió:",
        apple="El 2 nov 2026, a las 10:04, {n} <{a}> escribió:",
        yahoo="El lunes, 2 de noviembre de 2026, 10:04:12 CET, {n} <{a}> escribió:",
        labels=("De", "Enviado el", "Para", "CC", "Asunto"), date="lunes, 2 de noviembre de 2026 10:04",
        orig="-----Mensaje original-----", subject="RE: Fallo de la copia",
        iphone="Enviado desde mi iPhone", outlook_app="Obtener Outlook para iOS<https://aka.ms/o0ukef>",
    ),
    "pt": dict(
        who="Ana Exemplo", addr="ana@exemplo.com.br",
        greet="Olá Ana,", sign="Obrigado,\nBob",
        answer="O backup rodou de novo esta noite e terminou às 03:12.\nO novo arquivo está na pasta de sempre.",
        original="Olá,\n\nO backup noturno falhou de novo por tempo esgotado.\nVocês podem verificar até sexta?\n\nAtenciosamente,\nAna",
        q1="O servidor voltou?", a1="Sim, desde as 9h de hoje.",
        q2="E vocês renovaram o certificado?", a2="Ainda não, ele vence em dezembro.",
        gmail="Em seg., 2 de nov. de 2026 às 10:04, {n} <{a}> escreveu:",
        gmail_mobile="Em seg, 2 de nov de 2026 10:04, {n} <{a}> escreveu:",
        tb="Em 02/11/2026 10:04, {n} escreveu:",
        apple="Em 2 de nov. de 2026, à(s) 10:04, {n} <{a}> escreveu:",
        yahoo="Em segunda-feira, 2 de novembro de 2026 10:04:12 BRT, {n} <{a}> escreveu:",
        labels=("De", "Enviada em", "Para", "Cc", "Assunto"), date="segunda-feira, 2 de novembro de 2026 10:04",
        orig="-----Mensagem original-----", subject="RE: Falha no backup",
        iphone="Enviado do meu iPhone", outlook_app="Obter o Outlook para iOS<https://aka.ms/o0ukef>",
    ),
    "nl": dict(
        who="Anne Voorbeeld", addr="anne@voorbeeld.nl",
        greet="Hoi Anne,", sign="Bedankt,\nBob",
        answer="De back-up is vannacht opnieuw gedraaid en was om 03:12 klaar.\nHet nieuwe archief staat in de gebruikelijke map.",
        original="Hallo,\n\nDe nachtelijke back-up is weer mislukt door een time-out.\nKunnen jullie voor vrijdag kijken?\n\nMet vriendelijke groet,\nAnne",
        q1="Is de server weer bereikbaar?", a1="Ja, sinds 9 uur vanochtend.",
        q2="En is het certificaat vernieuwd?", a2="Nog niet, het verloopt in december.",
        gmail="Op ma 2 nov 2026 om 10:04 schreef {n} <{a}>:",
        gmail_mobile="Op ma 2 nov. 2026 10:04 schreef {n} <{a}>:",
        tb="Op 02-11-2026 om 10:04 schreef {n}:",
        apple="Op 2 nov. 2026, om 10:04 heeft {n} <{a}> het volgende geschreven:",
        yahoo="Op maandag 2 november 2026 10:04:12 CET schreef {n} <{a}>:",
        labels=("Van", "Verzonden", "Aan", "CC", "Onderwerp"), date="maandag 2 november 2026 10:04",
        orig="-----Oorspronkelijk bericht-----", subject="RE: Back-up mislukt",
        iphone="Verstuurd vanaf mijn iPhone", outlook_app="Outlook voor iOS<https://aka.ms/o0ukef> downloaden",
    ),
    "pl": dict(
        who="Anna Przykład", addr="anna@przyklad.pl",
        greet="Dzień dobry,", sign="Dziękuję,\nBob",
        answer="Kopia zapasowa wykonała się ponownie tej nocy i zakończyła o 03:12.\nNowe archiwum jest w tym samym folderze co zwykle.",
        original="Dzień dobry,\n\nNocna kopia zapasowa znowu nie powiodła się z powodu przekroczenia czasu.\nCzy mogą Państwo sprawdzić to przed piątkiem?\n\nPozdrawiam,\nAnna",
        q1="Czy serwer znowu działa?", a1="Tak, od 9:00 rano.",
        q2="A czy certyfikat został odnowiony?", a2="Jeszcze nie, wygasa w grudniu.",
        gmail="pon., 2 lis 2026 o 10:04 {n} <{a}> napisał(a):",
        gmail_mobile="pon., 2 lis 2026, 10:04 użytkownik {n} <{a}> napisał:",
        tb="W dniu 2.11.2026 o 10:04, {n} pisze:",
        apple="Wiadomość napisana przez {n} <{a}> w dniu 02.11.2026, o godz. 10:04:",
        yahoo="W poniedziałek, 2 listopada 2026 10:04:12 CET, {n} <{a}> napisał(-a):",
        labels=("Od", "Wysłano", "Do", "DW", "Temat"), date="poniedziałek, 2 listopada 2026 10:04",
        orig="-----Wiadomość oryginalna-----", subject="RE: Błąd kopii",
        iphone="Wysłane z iPhone'a", outlook_app="Pobierz aplikację Outlook dla systemu iOS<https://aka.ms/o0ukef>",
    ),
    "sv": dict(
        who="Anna Exempel", addr="anna@exempel.se",
        greet="Hej Anna,", sign="Tack,\nBob",
        answer="Säkerhetskopian körde igen i natt och blev klar 03:12.\nDet nya arkivet ligger i den vanliga mappen.",
        original="Hej,\n\nNattens säkerhetskopia misslyckades igen med en tidsgräns.\nKan ni titta på det före fredag?\n\nMed vänliga hälsningar,\nAnna",
        q1="Är servern uppe igen?", a1="Ja, sedan klockan 9 i morse.",
        q2="Och har ni förnyat certifikatet?", a2="Inte än, det går ut i december.",
        gmail="Den mån 2 nov. 2026 kl 10:04 skrev {n} <{a}>:",
        gmail_mobile="Den mån 2 nov. 2026 10:04 skrev {n} <{a}>:",
        tb="Den 2026-11-02 kl. 10:04, skrev {n}:",
        apple="2 nov. 2026 kl. 10:04 skrev {n} <{a}>:",
        yahoo="Den måndag 2 november 2026 10:04:12 CET, {n} <{a}> skrev:",
        labels=("Från", "Skickat", "Till", "Kopia", "Ämne"), date="den 2 november 2026 10:04",
        orig="-----Ursprungligt meddelande-----", subject="SV: Säkerhetskopian misslyckades",
        iphone="Skickat från min iPhone", outlook_app="Hämta Outlook för iOS<https://aka.ms/o0ukef>",
    ),
    "da": dict(
        who="Anne Eksempel", addr="anne@eksempel.dk",
        greet="Hej Anne,", sign="Tak,\nBob",
        answer="Sikkerhedskopien kørte igen i nat og var færdig kl. 03.12.\nDet nye arkiv ligger i den sædvanlige mappe.",
        original="Hej,\n\nNattens sikkerhedskopi fejlede igen med en timeout.\nKan I kigge på det inden fredag?\n\nVenlig hilsen\nAnne",
        q1="Kører serveren igen?", a1="Ja, siden kl. 9 i morges.",
        q2="Og har I fornyet certifikatet?", a2="Ikke endnu, det udløber i december.",
        gmail="Den man. 2. nov. 2026 kl. 10.04 skrev {n} <{a}>:",
        gmail_mobile="man. 2. nov. 2026 kl. 10.04 skrev {n} <{a}>:",
        tb="Den 02.11.2026 kl. 10.04 skrev {n}:",
        apple="Den 2. nov. 2026 kl. 10.04 skrev {n} <{a}>:",
        yahoo="Den mandag den 2. november 2026 10.04.12 CET skrev {n} <{a}>:",
        labels=("Fra", "Sendt", "Til", "Cc", "Emne"), date="2. november 2026 10:04",
        orig="-----Oprindelig meddelelse-----", subject="SV: Sikkerhedskopi fejlede",
        iphone="Sendt fra min iPhone", outlook_app="Hent Outlook til iOS<https://aka.ms/o0ukef>",
    ),
    "no": dict(
        who="Anne Eksempel", addr="anne@eksempel.no",
        greet="Hei Anne,", sign="Takk,\nBob",
        answer="Sikkerhetskopien kjørte igjen i natt og var ferdig 03:12.\nDet nye arkivet ligger i den vanlige mappen.",
        original="Hei,\n\nNattens sikkerhetskopi feilet igjen med tidsavbrudd.\nKan dere se på det før fredag?\n\nMed vennlig hilsen\nAnne",
        q1="Er serveren oppe igjen?", a1="Ja, siden klokka 9 i morges.",
        q2="Og har dere fornyet sertifikatet?", a2="Ikke ennå, det utløper i desember.",
        gmail="man. 2. nov. 2026 kl. 10:04 skrev {n} <{a}>:",
        gmail_mobile="man. 2. nov. 2026, 10:04 skrev {n} <{a}>:",
        tb="Den 02.11.2026 10:04, skrev {n}:",
        apple="2. nov. 2026 kl. 10:04 skrev {n} <{a}>:",
        yahoo="mandag 2. november 2026, 10:04:12 CET skrev {n} <{a}>:",
        labels=("Fra", "Sendt", "Til", "Kopi", "Emne"), date="mandag 2. november 2026 10:04",
        orig="-----Opprinnelig melding-----", subject="SV: Sikkerhetskopi feilet",
        iphone="Sendt fra min iPhone", outlook_app="Få Outlook for iOS<https://aka.ms/o0ukef>",
    ),
    "fi": dict(
        who="Anna Esimerkki", addr="anna@esimerkki.fi",
        greet="Hei Anna,", sign="Kiitos,\nBob",
        answer="Varmuuskopiointi ajettiin uudelleen yöllä ja se valmistui klo 03.12.\nUusi arkisto on tavallisessa kansiossa.",
        original="Hei,\n\nYön varmuuskopiointi epäonnistui taas aikakatkaisuun.\nVoisitteko katsoa ennen perjantaita?\n\nTerveisin\nAnna",
        q1="Toimiiko palvelin taas?", a1="Kyllä, aamu yhdeksästä lähtien.",
        q2="Entä uusittiinko varmenne?", a2="Ei vielä, se vanhenee joulukuussa.",
        gmail="ma 2.11.2026 klo 10.04 {n} ({a}) kirjoitti:",
        gmail_mobile="ma 2. marrask. 2026 klo 10.04 {n} <{a}> kirjoitti:",
        tb="{n} kirjoitti 2.11.2026 klo 10.04:",
        apple="{n} <{a}> kirjoitti 2.11.2026 kello 10.04:",
        yahoo="maanantai 2. marraskuuta 2026 klo 10.04.12 UTC+2 {n} <{a}> kirjoitti:",
        labels=("Lähettäjä", "Lähetetty", "Vastaanottaja", "Kopio", "Aihe"), date="maanantai 2. marraskuuta 2026 10.04",
        orig="-----Alkuperäinen viesti-----", subject="VS: Varmuuskopiointi epäonnistui",
        iphone="Lähetetty iPhonesta", outlook_app="Hanki Outlook for iOS<https://aka.ms/o0ukef>",
    ),
    "ru": dict(
        who="Анна Пример", addr="anna@primer.ru",
        greet="Здравствуйте, Анна,", sign="Спасибо,\nБоб",
        answer="Резервное копирование снова прошло этой ночью и завершилось в 03:12.\nНовый архив лежит в обычной папке.",
        original="Здравствуйте,\n\nНочное резервное копирование снова упало по тайм-ауту.\nМожете посмотреть до пятницы?\n\nС уважением,\nАнна",
        q1="Сервер снова доступен?", a1="Да, с 9 утра.",
        q2="А сертификат продлили?", a2="Ещё нет, он истекает в декабре.",
        gmail="пн, 2 нояб. 2026 г. в 10:04, {n} <{a}>:",
        gmail_mobile="пн, 2 нояб. 2026 г., 10:04 {n} <{a}>:",
        tb="02.11.2026 10:04, {n} пишет:",
        apple="2 нояб. 2026 г., в 10:04, {n} <{a}> написал(а):",
        yahoo="понедельник, 2 ноября 2026 г., 10:04:12 GMT+3, {n} <{a}> написал(-а):",
        labels=("От", "Отправлено", "Кому", "Копия", "Тема"), date="2 ноября 2026 г. 10:04",
        orig="-----Исходное сообщение-----", subject="RE: Ошибка резервного копирования",
        iphone="Отправлено с iPhone", outlook_app="Скачайте Outlook для iOS<https://aka.ms/o0ukef>",
    ),
}

DESK = "support@desk.example"


def quote(text, prefix="> "):
    return "\n".join(prefix.rstrip() if not l else prefix + l for l in text.split("\n"))


def attr(l, key):
    return l[key].format(n=l["who"], a=l["addr"])


def new_top(l):
    return f"{l['greet']}\n\n{l['answer']}\n\n{l['sign']}"


def header_block(l, labels=None, bold=False):
    f, s, t, c, subj = labels or l["labels"]
    b = (lambda x: f"*{x}:*") if bold else (lambda x: f"{x}:")
    return "\n".join([
        f"{b(f)} {l['who']} <{l['addr']}>",
        f"{b(s)} {l['date']}",
        f"{b(t)} Support <{DESK}>",
        f"{b(c)} Carl <carl@example.org>",
        f"{b(subj)} {l['subject']}",
    ])


def older(l):
    """An older mail of the thread, as Outlook leaves it under the original."""
    return f"{header_block(l)}\n\n{l['answer']}"


# ---------------------------------------------------------------- plain text
def plain_cases(l):
    top = new_top(l)
    q = quote(l["original"])
    inline_q = (f"{l['greet']}\n\n{attr(l, 'tb')}\n> {l['q1']}\n\n{l['a1']}\n\n> {l['q2']}\n\n{l['a2']}\n\n"
                f"> {l['sign'].splitlines()[0]}\n> {l['who']}\n\n{l['sign']}")
    # Every answer between quotes gets the quote's last lines, the sign-off too.
    inline_expected = (f"{l['greet']}\n\n> {l['q1']}\n{l['a1']}\n\n> {l['q2']}\n{l['a2']}\n\n"
                       f"> {l['sign'].splitlines()[0]}\n> {l['who']}\n{l['sign']}")
    return {
        "gmail-top": (f"{top}\n\n{attr(l, 'gmail')}\n\n{q}\n", top),
        # Gmail's plain text wraps a long attribution before the address.
        "gmail-top-wrapped": (f"{top}\n\n{attr(l, 'gmail').replace(' <', ' <' + chr(10), 1)}\n\n{q}\n", top),
        "gmail-mobile-top": (f"{top}\n\n{attr(l, 'gmail_mobile')}\n\n{q}\n", top),
        "thunderbird-top": (f"{top}\n\n-- \nBob Support\nDesk Example Ltd\n\n{attr(l, 'tb')}\n{q}\n",
                            f"{top}\n\n-- \nBob Support\nDesk Example Ltd"),
        "thunderbird-bottom": (f"{attr(l, 'tb')}\n{q}\n\n{l['answer']}\n\n{l['sign']}\n\n-- \nBob Support\n",
                               f"{l['answer']}\n\n{l['sign']}\n\n-- \nBob Support"),
        "thunderbird-inline": (inline_q, inline_expected),
        "outlook-desktop-top": (f"{top}\n\n{header_block(l)}\n\n{l['original']}\n\n{older(l)}\n", top),
        "outlook-desktop-original-message": (f"{top}\n\n{l['orig']}\n{header_block(l)}\n\n{l['original']}\n", top),
        "outlook-web-top": (f"{top}\n\n________________________________\n{header_block(l)}\n\n{l['original']}\n", top),
        "outlook-mobile-top": (f"{top}\n\n{l['outlook_app']}\n________________________________\n"
                               f"{header_block(l, l.get('labels_mobile'))}\n\n{l['original']}\n", top),
        "outlook-in-gmail-bold": (f"{top}\n\n{header_block(l, bold=True)}\n\n{l['original']}\n", top),
        "apple-mail-top": (f"{top}\n\n> {attr(l, 'apple')}\n> \n{q}\n", top),
        "iphone-top": (f"{top}\n\n{l['iphone']}\n\n> {attr(l, 'apple')}\n> \n{q}\n", top),
        "iphone-bottom": (f"> {attr(l, 'apple')}\n> \n{q}\n\n{l['answer']}\n\n{l['iphone']}\n", l["answer"]),
        "yahoo-top": (f"{top}\n\n\n{attr(l, 'yahoo')}\n\n\n{l['original']}\n", top),
        "mutt-inline": (f"* {l['who']} <{l['addr']}> [2026-11-02 10:04 +0100]:\n> {l['q1']}\n\n{l['a1']}\n\n"
                        f"> {l['q2']}\n\n{l['a2']}\n\n-- \nBob\n",
                        f"> {l['q1']}\n{l['a1']}\n\n> {l['q2']}\n{l['a2']}\n\n-- \nBob"),
        "mutt-bottom": (f"On Mon, Nov 02, 2026 at 10:04:00AM +0100, {l['who']} wrote:\n{q}\n\n{l['answer']}\n",
                        l["answer"]),
    }


# ---------------------------------------------------------------------- HTML
def h(text):
    return html.escape(text, quote=False)


def divs(text):
    """Text as Gmail/Apple lay it out: one <div> per line, <div><br></div> for blank lines."""
    return "".join(f"<div>{h(line)}</div>" if line else "<div><br></div>" for line in text.split("\n"))


def brs(text):
    return "<br>\n".join(h(line) for line in text.split("\n"))


def html_cases(l):
    top = new_top(l)
    o = l["original"]
    f, s, t, c, subj = l["labels"]
    outlook_head = (f"<b>{h(f)}:</b> {h(l['who'])} &lt;{h(l['addr'])}&gt;<br>\n<b>{h(s)}:</b> {h(l['date'])}<br>\n"
                    f"<b>{h(t)}:</b> Support &lt;{DESK}&gt;<br>\n<b>{h(subj)}:</b> {h(l['subject'])}")
    return {
        "gmail-top": (
            f'<div dir="ltr">{divs(top)}</div><br><div class="gmail_quote gmail_quote_container">'
            f'<div dir="ltr" class="gmail_attr">{h(attr(l, "gmail"))}<br></div>'
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
            f'<div dir="ltr">{divs(o)}</div></blockquote></div>\n', top),
        "outlook-desktop-top": (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta name=Generator content="Microsoft Word 15 (filtered medium)">'
            '<style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang=EN-US><div class=WordSection1>'
            + "".join(f'<p class=MsoNormal>{h(x) if x else "<o:p>&nbsp;</o:p>"}<o:p></o:p></p>\n' for x in top.split("\n"))
            + '<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n'
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
            f'<p class=MsoNormal>{outlook_head}<o:p></o:p></p></div>\n<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n'
            + "".join(f'<p class=MsoNormal>{h(x)}<o:p></o:p></p>\n' for x in o.split("\n"))
            + '</div></body></html>\n', top),
        "outlook-web-top": (
            f'<html><head></head><body><div style="font-family:Aptos,sans-serif">{divs(top)}</div>'
            '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
            f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">{outlook_head}</font>'
            f'<div>&nbsp;</div></div><div>{divs(o)}</div></body></html>\n', top),
        "apple-mail-top": (
            f'<html><body style="overflow-wrap: break-word;">{divs(top)}<div><br><blockquote type="cite">'
            f'<div>{h(attr(l, "apple"))}</div><br class="Apple-interchange-newline"><div>{divs(o)}</div></blockquote></div></body></html>\n', top),
        "iphone-top": (
            f'<html><body dir="auto"><div dir="ltr">{brs(top)}</div><div dir="ltr"><br></div><div dir="ltr">{h(l["iphone"])}</div>'
            f'<div dir="ltr"><br><blockquote type="cite">{h(attr(l, "apple"))}<br><br></blockquote></div>'
            f'<blockquote type="cite"><div dir="ltr">{brs(o)}</div></blockquote></body></html>\n', top),
        "thunderbird-top": (
            f'<html><body><p>{brs(top)}</p>\n<div class="moz-cite-prefix">{h(attr(l, "tb"))}<br></div>\n'
            f'<blockquote type="cite" cite="mid:abc@example.org">{brs(o)}</blockquote>\n</body></html>\n', top),
        "thunderbird-bottom": (
            f'<html><body><div class="moz-cite-prefix">{h(attr(l, "tb"))}<br></div>\n'
            f'<blockquote type="cite" cite="mid:abc@example.org">{brs(o)}</blockquote>\n<p>{brs(l["answer"])}</p><p>{brs(l["sign"])}</p>\n</body></html>\n',
            f"{l['answer']}\n\n{l['sign']}"),
        "thunderbird-inline": (
            f'<html><body><p>{h(l["greet"])}</p><div class="moz-cite-prefix">{h(attr(l, "tb"))}<br></div>\n'
            f'<blockquote type="cite">{h(l["q1"])}</blockquote>\n<p>{h(l["a1"])}</p>\n'
            f'<blockquote type="cite">{h(l["q2"])}</blockquote>\n<p>{h(l["a2"])}</p>\n<p>{brs(l["sign"])}</p></body></html>\n',
            f"{l['greet']}\n\n> {l['q1']}\n{l['a1']}\n\n> {l['q2']}\n{l['a2']}\n\n{l['sign']}"),
        "yahoo-top": (
            f'<html><head></head><body><div class="ydp1a2b3c4dyahoo-style-wrap" style="font-family:Helvetica">{divs(top)}</div>'
            f'<div id="ydp9f8e7d6cyahoo_quoted_1234567890" class="ydp9f8e7d6cyahoo_quoted"><div style="font-family:Helvetica;font-size:13px;color:#26282a;">'
            f'<div>{h(attr(l, "yahoo"))}</div><div><br></div><div><br></div><div><div dir="ltr">{divs(o)}</div></div></div></div></body></html>\n', top),
    }


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)


def main():
    count = 0
    for code, l in LANGS.items():
        for style, (text, expected) in plain_cases(l).items():
            write(f"{code}/{style}.txt", text)
            write(f"{code}/{style}.expected", expected + "\n")
            count += 1
        for style, (text, expected) in html_cases(l).items():
            write(f"{code}/html-{style}.html", text)
            write(f"{code}/html-{style}.expected", expected + "\n")
            count += 1
    print(f"{count} cases")


if __name__ == "__main__":
    main()
