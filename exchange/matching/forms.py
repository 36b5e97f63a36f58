"""The filter form of the "Partner finden" page."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField

from .services import GERMAN_STATES, SIZE_BAND_LABELS


class PartnerFilterForm(FlaskForm):
    """Filters for the partner ranking, sent as GET query arguments."""

    class Meta:
        # A GET search form changes nothing, and its URL must be bookmarkable.
        csrf = False

    # Choices are not checked by WTForms: the matching service refuses unknown values
    # with a German message that the page shows.
    stadt = SelectField(_l("Stadt"), validate_choice=False)
    kind = SelectField(_l("Art der Passung"), validate_choice=False, choices=[
        SelectChoice("", _l("Beide (kombiniert)")),
        SelectChoice("transfer", _l("Wissenstransfer")),
        SelectChoice("joint", _l("Gemeinsames Projekt")),
    ])
    topic = SelectField(_l("Thema"), validate_choice=False)
    state = SelectField(_l("Bundesland"), validate_choice=False,
                        choices=[SelectChoice("", _l("Alle Bundesländer"))]
                        + [SelectChoice(state) for state in GERMAN_STATES])
    size_band = SelectField(_l("Größenklasse"), validate_choice=False,
                            choices=[SelectChoice("", _l("Alle Größen"))]
                            + [SelectChoice(band, label)
                               for band, label in SIZE_BAND_LABELS.items()])
    include_active = BooleanField(_l("Auch Städte einbeziehen, mit denen wir zum Thema schon ein "
                                     "aktives Projekt haben"))
