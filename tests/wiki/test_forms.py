"""Wiki forms: options are declared the way WTForms 3.3 wants (no deprecated tuples)."""
import warnings

from wtforms import SelectChoice

from exchange.wiki.forms import ActionForm, ExperienceForm


def test_forms_build_without_deprecation_warnings(app, topics):
    with app.test_request_context(), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        form = ExperienceForm()
        ActionForm()
        html = str(form.kind()) + str(form.status()) + str(form.topics())
    for field in (form.kind, form.status, form.topics):
        assert field.choices and all(isinstance(c, SelectChoice) for c in field.choices)
    assert '<option value="practice">Bewährte Praxis</option>' in html
    assert '<option value="mobilitaet">Mobilität</option>' in html
