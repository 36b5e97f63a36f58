"""The filter form of the "Partner finden" page."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

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
        ("", _l("Beide (kombiniert)")),
        ("transfer", _l("Wissenstransfer")),
        ("joint", _l("Gemeinsames Projekt")),
    ])
    topic = SelectField(_l("Thema"), validate_choice=False)
    state = SelectField(_l("Bundesland"), validate_choice=False,
                        choices=[("", _l("Alle Bundesländer"))] + [(s, s) for s in GERMAN_STATES])
    size_band = SelectField(_l("Größenklasse"), validate_choice=False,
                            choices=[("", _l("Alle Größen"))] + list(SIZE_BAND_LABELS.items()))
    include_active = BooleanField(_l("Auch Städte einbeziehen, mit denen wir zum Thema schon ein "
                                     "aktives Projekt haben"))
