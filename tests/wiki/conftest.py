"""Wiki fixtures: topics of the story (the session `login` is in tests/conftest.py)."""
import pytest


@pytest.fixture
def topics(make_topic):
    """Three story topics: eakte, dms, mobilitaet."""
    return {
        "eakte": make_topic("eakte", "eAkte", aliases=("E-Akte",)),
        "dms": make_topic("dms", "Dokumentenmanagement"),
        "mobilitaet": make_topic("mobilitaet", "Mobilität"),
    }
