"""Curated German word parts of administrative and digitalisation language, for compound splitting.

The decompounder accepts a part of a compound only if it is a known word: these, the
words of topic names and aliases, and (on a full rebuild) frequent words of the corpus.
Words are written naturally; the analyzer folds and stems them itself. Three-letter
parts are only accepted from this list (Amt, Akt, Rat ...), never from the corpus, so
chance splits like "Vers-ion" cannot happen.
"""

CURATED_PARTS = """
abfall abgabe abläufe ablauf abrechnung abstimmung abteilung adresse akte akten aktion
amt ämter analyse anbieter angebot anlage anliegen anmeldung anschluss antrag anträge
anwendung arbeit arbeiten arbeitsplatz arbeitsplätze archiv archivierung aufgabe aufbau
auftrag ausbau ausbildung ausschreibung ausweis auto automatisierung bahn bau bauamt
bauantrag bedarf behörde behörden beratung bereich bericht bescheinigung beschaffung beschreibung beteiligung betrieb
betreuung bezirk bildung bibliothek breitband brief bürger bürgerin bürgeramt bürgerbüro buchung
büro bund cloud computer daten datenbank datenschutz dezernat dienst dienste dienstleistung
digital digitalisierung dokument dokumente dokumenten dokumentenmanagement einführung
einwohner einwohnermeldeamt energie entwicklung erfahrung erfahrungen fach fachverfahren
fahrzeug fahrrad faktor familie feuerwehr finanz finanzen förderung formular fortbildung
forum freigabe führung gebäude gebühr geld gemeinde gemeinderat genehmigung gesetz
gesundheit gewerbe glasfaser grundschule gruppe haushalt heim hilfe hochschule homeoffice
infrastruktur innovation integration informatik information informationssicherheit
jugend kalender kanal karte kinder kita klima kommune kommunikation kompetenz konzept
kooperation kosten kraft kreis kultur kunde kunden labor land landes lage lebenslage
leistung leitung lernen lizenz lotse lotsen management meldung mitarbeiter mitarbeitende
mobil mobilität modell modul monitoring nachweis netz netzwerk nutzer nutzung online
ordnung ordnungsamt organisation park parken partner pass platz personal pflege pilot plan
planung plattform politik portal post praxis projekt projekte prozess prozesse prüfung
qualifizierung rat rathaus raum recht rechnung referat register regel schule schulung
schutz service sicherheit signatur smart software sozial stadt städte stadtrat stadtwerke
standard stelle steuer strategie straße struktur system systeme team technik telefon
termin test ticket umsetzung umwelt unterstützung vereinbarung verfahren verkehr verein vergabe
verwaltung vorgang vorlage wahl wasser web website werkzeug wissen wohnung workflow
zentrale zentrum zugang zulassung zusammenarbeit zuständigkeit
akt amt bau rat weg
"""


def curated_words() -> list[str]:
    """The curated parts as a list of words."""
    return CURATED_PARTS.split()
